//! The engine's error type. Each variant says what the user (or the front end) can do.

use thiserror::Error;

/// What went wrong in the engine.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The node home does not exist or holds no node.
    #[error("no MailVortex node in {0} (create one with `mailvortex init`)")]
    NoNode(String),
    /// A node already exists there.
    #[error("a MailVortex node already exists in {0}")]
    NodeExists(String),
    /// The secret vault could not be opened; nothing was changed.
    #[error(transparent)]
    Vault(#[from] mailvortex_vault::VaultError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] mailvortex_store::StoreError),
    /// A protocol rule was broken (bad descriptor, unknown level...).
    #[error(transparent)]
    Protocol(#[from] mailvortex_proto::Error),
    /// Mail could not be moved.
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
    /// An account's servers refused it or could not be reached at set-up; nothing was saved.
    #[error(transparent)]
    AccountCheck(#[from] AccountCheckError),
    /// A carrier mail could not be built.
    #[error(transparent)]
    Carrier(#[from] mailvortex_carrier::CarrierError),
    /// The recipient is not a MailVortex user we know.
    #[error(
        "{0} is not a known MailVortex user: import their invite first (final delivery only goes to MailVortex users)"
    )]
    UnknownRecipient(String),
    /// No account is configured for this job.
    #[error("no account configured {0}: add one with `mailvortex account add`")]
    NoAccount(&'static str),
    /// Not found.
    #[error("{0} not found")]
    NotFound(String),
    /// Bad input from the caller.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl EngineError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
        move |source| EngineError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A stable code for front ends to branch on (never on the text).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::NoNode(_) => "no_node",
            EngineError::NodeExists(_) => "node_exists",
            EngineError::Vault(_) => "vault",
            EngineError::Store(_) => "store",
            EngineError::Protocol(_) => "protocol",
            EngineError::Transport(_) => "transport",
            EngineError::AccountCheck(e) => e.code(),
            EngineError::Carrier(_) => "carrier",
            EngineError::UnknownRecipient(_) => "unknown_recipient",
            EngineError::NoAccount(_) => "no_account",
            EngineError::NotFound(_) => "not_found",
            EngineError::Invalid(_) => "invalid",
            EngineError::Io { .. } => "io",
        }
    }
}

/// Why an account's servers did not let us in ([`crate::Node::check_account`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AccountCheckError {
    /// The server refused the login name and password.
    #[error("{protocol} login refused for {username} at {host}: wrong password? ({detail})")]
    LoginRefused {
        /// IMAP or SMTP.
        protocol: &'static str,
        /// The login name tried.
        username: String,
        /// The server.
        host: String,
        /// The server's answer.
        detail: String,
    },
    /// No connection could be opened (nothing listens, host down or unreachable, timeout).
    #[error("cannot connect to {host}:{port}{}: {detail}", via.as_ref().map(|ip| format!(" (at {ip})")).unwrap_or_default())]
    Connect {
        /// The server.
        host: String,
        /// Its port.
        port: u16,
        /// The address connected to instead of resolving the host (`--connect-ip`).
        via: Option<String>,
        /// The cause.
        detail: String,
    },
    /// The server's certificate is not trusted (or does not name the host).
    #[error(
        "certificate of {host} is not trusted: {detail} (for a server with its own CA, give its certificate with --ca-file)"
    )]
    Untrusted {
        /// The server.
        host: String,
        /// What TLS said.
        detail: String,
    },
    /// Anything else the server did wrong.
    #[error("{protocol} server {host}:{port} trouble: {detail}")]
    Server {
        /// IMAP or SMTP.
        protocol: &'static str,
        /// The server.
        host: String,
        /// Its port.
        port: u16,
        /// What went wrong.
        detail: String,
    },
}

impl AccountCheckError {
    /// A stable code for front ends.
    pub fn code(&self) -> &'static str {
        match self {
            AccountCheckError::LoginRefused { .. } => "login_refused",
            AccountCheckError::Connect { .. } => "cannot_connect",
            AccountCheckError::Untrusted { .. } => "untrusted_certificate",
            AccountCheckError::Server { .. } => "server_trouble",
        }
    }
}

/// Result alias.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
