//! Sending through the account's SMTP server with lettre (TLS always, certificates verified).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
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

/// One account's submission connection: lettre speaks SMTP over a socket we open ourselves, so
/// that it has `TCP_NODELAY` (without it, Nagle's algorithm holds the small end-of-data line
/// until the server's delayed ACK, about 40 ms per mail) and is kept open between mails (no TLS
/// handshake and AUTH per mail). It is checked with NOOP after a pause and reopened after errors.
pub struct SmtpSender {
    settings: SmtpSettings,
    credentials: Credentials,
    /// For STARTTLS (lettre upgrades the plain connection).
    tls: TlsParameters,
    /// For implicit TLS (the handshake is ours).
    rustls: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
    conn: tokio::sync::Mutex<Option<(AsyncSmtpConnection, Instant)>>,
}

/// How long one SMTP step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection idle longer than this is checked with NOOP before use.
const CHECK_AFTER: Duration = Duration::from_secs(2);
/// A connection idle longer than this is closed and a new one opened (servers drop idle clients).
const REOPEN_AFTER: Duration = Duration::from_secs(120);

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpSender")
    }
}

/// A TLS stream over TCP that lettre can use as its transport.
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

async fn step<T>(
    what: &str,
    f: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, TransportError> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(r) => r.map_err(|e| classify(&e)),
        Err(_) => Err(TransportError::Temporary(format!("SMTP {what} timed out"))),
    }
}

impl SmtpSender {
    /// Prepares the sender (the connection is opened at the first send and kept).
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
        Ok(SmtpSender {
            settings: settings.clone(),
            credentials: Credentials::new(settings.username.clone(), password.to_string()),
            tls,
            rustls: super::tls::client_config(settings.ca_pem.as_deref())?,
            conn: tokio::sync::Mutex::new(None),
        })
    }

    /// Opens a connection, logs in and quits: whether the server takes these credentials.
    pub async fn check(&self) -> Result<(), TransportError> {
        let mut conn = self.connect().await?;
        if tokio::time::timeout(Duration::from_secs(10), conn.quit())
            .await
            .is_err()
        {
            conn.abort().await;
        }
        Ok(())
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, TransportError> {
        let s = &self.settings;
        let addr = format!("{}:{}", s.connect_ip.as_deref().unwrap_or(&s.host), s.port);
        let tcp = tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(&addr))
            .await
            .map_err(|_| TransportError::Temporary(format!("connect to {addr} timed out")))?
            .map_err(|e| TransportError::Temporary(format!("connect to {addr}: {e}")))?;
        tcp.set_nodelay(true)
            .map_err(|e| TransportError::Temporary(format!("connect to {addr}: {e}")))?;
        let hello = ClientId::default();
        let mut conn = match s.security {
            Security::Tls => {
                let name = ServerName::try_from(s.host.clone())
                    .map_err(|e| TransportError::Tls(e.to_string()))?;
                let tls = tokio::time::timeout(
                    STEP_TIMEOUT,
                    TlsConnector::from(self.rustls.clone()).connect(name, tcp),
                )
                .await
                .map_err(|_| TransportError::Temporary("TLS handshake timed out".into()))?
                .map_err(|e| TransportError::Tls(format!("TLS with {}: {e}", s.host)))?;
                step(
                    "greeting",
                    AsyncSmtpConnection::connect_with_transport(Box::new(TlsTcp(tls)), &hello),
                )
                .await?
            }
            Security::Starttls => {
                let mut conn = step(
                    "greeting",
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello),
                )
                .await?;
                if !conn.can_starttls() {
                    return Err(TransportError::Tls(
                        "the server does not offer STARTTLS".into(),
                    ));
                }
                step("STARTTLS", conn.starttls(self.tls.clone(), &hello)).await?;
                conn
            }
        };
        step(
            "AUTH",
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &self.credentials),
        )
        .await?;
        Ok(conn)
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
            let mut slot = self.conn.lock().await;
            // Keep a connection only while it is fresh and answers.
            if let Some((conn, used)) = slot.as_mut() {
                let idle = used.elapsed();
                let alive = !conn.has_broken()
                    && idle < REOPEN_AFTER
                    && (idle < CHECK_AFTER
                        || tokio::time::timeout(Duration::from_secs(10), conn.test_connected())
                            .await
                            .unwrap_or(false));
                if !alive && let Some((mut c, _)) = slot.take() {
                    c.abort().await;
                }
            }
            let conn = match slot.as_mut() {
                Some((c, _)) => c,
                None => &mut slot.insert((self.connect().await?, Instant::now())).0,
            };
            let result = step("transaction", conn.send(&envelope, &mail.raw)).await;
            match &result {
                // A refused mail leaves the session usable; anything else ends it.
                Err(_) if conn.has_broken() => *slot = None,
                Err(TransportError::Temporary(t)) if t.contains("timed out") => *slot = None,
                _ => {
                    if let Some((_, used)) = slot.as_mut() {
                        *used = Instant::now();
                    }
                }
            }
            result.map(|_| ())
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
