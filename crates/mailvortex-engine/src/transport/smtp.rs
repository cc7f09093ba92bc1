//! Sending through the account's SMTP server with lettre (TLS always, certificates verified).

use futures::future::BoxFuture;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use zeroize::Zeroizing;

use super::tls::Security;
use super::{MailSender, OutgoingMail, TransportError};

/// Where and how to submit mail.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Server host name (also checked against its certificate).
    pub host: String,
    /// Port (465 for TLS, 587 for STARTTLS, or the test harness's).
    pub port: u16,
    /// Implicit TLS or STARTTLS.
    pub security: Security,
    /// Login name.
    pub username: String,
    /// Extra trusted CA (PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// Connect to this IP instead of resolving `host` (test harness on loopback).
    pub connect_ip: Option<String>,
}

/// A lettre transport bound to one account.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpSender")
    }
}

impl SmtpSender {
    /// Prepares the transport (connections are opened per send, pooled by lettre).
    pub fn new(
        settings: &SmtpSettings,
        password: Zeroizing<String>,
    ) -> Result<Self, TransportError> {
        let mut tls = TlsParameters::builder(settings.host.clone());
        if let Some(pem) = &settings.ca_pem {
            let cert =
                Certificate::from_pem(pem).map_err(|e| TransportError::Tls(e.to_string()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| TransportError::Tls(e.to_string()))?;
        let server = settings
            .connect_ip
            .clone()
            .unwrap_or_else(|| settings.host.clone());
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server)
            .port(settings.port)
            .tls(match settings.security {
                Security::Tls => Tls::Wrapper(tls),
                Security::Starttls => Tls::Required(tls),
            })
            .credentials(Credentials::new(
                settings.username.clone(),
                password.to_string(),
            ))
            .timeout(Some(std::time::Duration::from_secs(60)));
        Ok(SmtpSender {
            transport: builder.build(),
        })
    }
}

impl MailSender for SmtpSender {
    fn send(&self, mail: OutgoingMail) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let from = mail
                .from
                .parse()
                .map_err(|_| TransportError::Permanent("bad sender address".into()))?;
            let to = mail
                .to
                .parse()
                .map_err(|_| TransportError::Permanent("bad recipient address".into()))?;
            let envelope = Envelope::new(Some(from), vec![to])
                .map_err(|e| TransportError::Permanent(e.to_string()))?;
            match self.transport.send_raw(&envelope, &mail.raw).await {
                Ok(_) => Ok(()),
                Err(e) => Err(classify(&e)),
            }
        })
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> TransportError {
    // Error texts from lettre carry server replies, never message content.
    let text = e.to_string();
    if e.is_permanent() {
        if text.contains("535") || text.to_ascii_lowercase().contains("authentication") {
            TransportError::Auth(text)
        } else {
            TransportError::Permanent(text)
        }
    } else if text.to_ascii_lowercase().contains("certificate") {
        TransportError::Tls(text)
    } else {
        TransportError::Temporary(text)
    }
}
