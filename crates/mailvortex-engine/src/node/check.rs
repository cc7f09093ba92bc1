//! Trying an account's servers before it is saved: log in on IMAP (and open the inbox) and on
//! SMTP, so that a wrong password, a dead server or an untrusted certificate shows at set-up
//! with a message saying which, not hours later in the daemon's log.

use std::time::Duration;

use zeroize::Zeroizing;

use super::{Node, TransportChoice};
use crate::config::{AccountConfig, ServerConfig};
use crate::error::{AccountCheckError, EngineError, Result};
use crate::transport::TransportError;
use crate::transport::imap::{ImapReceiver, ImapSettings};
use crate::transport::smtp::{SmtpSender, SmtpSettings};

/// How long one server may take to let us in.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// What [`Node::check_account`] tried, all with success.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountCheck {
    /// `host:port` of the IMAP server logged in to, if the account has one.
    pub imap: Option<String>,
    /// `host:port` of the SMTP server logged in to, if the account has one.
    pub smtp: Option<String>,
    /// Nothing was tried: the node runs on the in-process provider (demo, local network).
    pub in_process: bool,
}

impl Node {
    /// Logs in to the account's IMAP server (opening the inbox) and SMTP server with
    /// `password`, then logs out; nothing is stored. Checks the account's shape first, as
    /// [`Node::add_account`] does. A refused login, a server that cannot be reached and a
    /// certificate that is not trusted each give their own [`AccountCheckError`].
    pub async fn check_account(
        &self,
        account: &AccountConfig,
        password: &Zeroizing<String>,
    ) -> Result<AccountCheck> {
        validate_account(account)?;
        if matches!(self.inner.transport, TransportChoice::Memory(_)) {
            return Ok(AccountCheck {
                imap: None,
                smtp: None,
                in_process: true,
            });
        }
        let ca_pem = match &account.ca_file {
            Some(p) => Some(crate::transport::tls::load_ca_pem(p)?),
            None => None,
        };
        let mut out = AccountCheck {
            imap: None,
            smtp: None,
            in_process: false,
        };
        if let Some(imap) = &account.imap {
            let settings = ImapSettings {
                host: imap.host.clone(),
                port: imap.port,
                security: imap.security,
                username: account.username.clone(),
                ca_pem: ca_pem.clone(),
                connect_ip: imap.connect_ip.clone(),
            };
            let r = within(ImapReceiver::connect(settings, password.clone())).await;
            let receiver = r.map_err(|e| explain("IMAP", imap, &account.username, e))?;
            receiver.logout().await;
            out.imap = Some(format!("{}:{}", imap.host, imap.port));
        }
        if let Some(smtp) = &account.smtp {
            let settings = SmtpSettings {
                host: smtp.host.clone(),
                port: smtp.port,
                security: smtp.security,
                username: account.username.clone(),
                ca_pem,
                connect_ip: smtp.connect_ip.clone(),
            };
            let explain_smtp = |e| explain("SMTP", smtp, &account.username, e);
            let sender = SmtpSender::new(&settings, password.clone()).map_err(explain_smtp)?;
            within(sender.check()).await.map_err(explain_smtp)?;
            out.smtp = Some(format!("{}:{}", smtp.host, smtp.port));
        }
        tracing::info!(account = %account.name, "account servers accept the login");
        Ok(out)
    }
}

async fn within<T>(
    f: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    tokio::time::timeout(CHECK_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| {
            Err(TransportError::Temporary(format!(
                "connect to the server: no answer within {} s",
                CHECK_TIMEOUT.as_secs()
            )))
        })
}

/// Turns a transport failure into what the user can act on.
fn explain(
    protocol: &'static str,
    server: &ServerConfig,
    username: &str,
    e: TransportError,
) -> EngineError {
    let host = server.host.clone();
    let port = server.port;
    let certificate = |d: &str| {
        let l = d.to_ascii_lowercase();
        l.contains("certificate") || l.contains("unknownissuer")
    };
    let err = match e {
        TransportError::Auth(detail) => AccountCheckError::LoginRefused {
            protocol,
            username: username.to_string(),
            host,
            detail,
        },
        TransportError::Tls(d) | TransportError::Temporary(d) | TransportError::Permanent(d)
            if certificate(&d) =>
        {
            let detail = d
                .strip_prefix(&format!("TLS with {host}: "))
                .unwrap_or(&d)
                .to_string();
            AccountCheckError::Untrusted { host, detail }
        }
        TransportError::Temporary(d) if d.starts_with("connect to ") => {
            // "connect to ADDR: cause" or "connect to ADDR timed out"
            let rest = &d["connect to ".len()..];
            let detail = match rest.split_once(": ") {
                Some((_, cause)) => cause.to_string(),
                None if rest.ends_with("timed out") => "timed out".to_string(),
                None => rest.to_string(),
            };
            AccountCheckError::Connect {
                host,
                port,
                via: server.connect_ip.clone(),
                detail,
            }
        }
        other => AccountCheckError::Server {
            protocol,
            host,
            port,
            detail: other.to_string(),
        },
    };
    EngineError::AccountCheck(err)
}

/// The checks [`Node::add_account`] and [`Node::check_account`] share.
pub(crate) fn validate_account(account: &AccountConfig) -> Result<()> {
    mailvortex_proto::descriptor::validate_address(&account.address)?;
    if account.name.is_empty()
        || account.name.len() > 64
        || account
            .name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(EngineError::Invalid(
            "account name: 1 to 64 characters, no spaces".into(),
        ));
    }
    if account.imap.is_none() && account.smtp.is_none() {
        return Err(EngineError::Invalid(
            "an account needs IMAP, SMTP or both".into(),
        ));
    }
    if let Some(ca) = &account.ca_file {
        crate::transport::tls::load_ca_pem(ca)?;
    }
    Ok(())
}
