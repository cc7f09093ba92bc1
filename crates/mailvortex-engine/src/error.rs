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
            EngineError::Carrier(_) => "carrier",
            EngineError::UnknownRecipient(_) => "unknown_recipient",
            EngineError::NoAccount(_) => "no_account",
            EngineError::NotFound(_) => "not_found",
            EngineError::Invalid(_) => "invalid",
            EngineError::Io { .. } => "io",
        }
    }
}

/// Result alias.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
