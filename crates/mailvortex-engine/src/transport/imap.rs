//! Reading the account's inbox with async-imap: TLS always, IDLE with a polling fallback,
//! reconnect on the next call after any failure. Mails are fetched with `BODY.PEEK[]`, so the
//! user's ordinary mail is never marked read; only carriers are ever deleted.

use std::time::Duration;

use async_imap::Session;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use zeroize::Zeroizing;

use super::tls::{Security, client_config};
use super::{IncomingMail, MailReceiver, TransportError};

type ImapSession = Session<TlsStream<TcpStream>>;

/// Where and how to read mail.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// Server host name (checked against its certificate).
    pub host: String,
    /// Port (993 TLS, 143 STARTTLS, or the test harness's).
    pub port: u16,
    /// Implicit TLS or STARTTLS.
    pub security: Security,
    /// Login name.
    pub username: String,
    /// Extra trusted CA (PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// Connect to this IP instead of resolving `host`.
    pub connect_ip: Option<String>,
}

/// An IMAP inbox reader for one account.
pub struct ImapReceiver {
    settings: ImapSettings,
    password: Zeroizing<String>,
    session: Option<ImapSession>,
    uid_validity: u32,
    idle_supported: bool,
}

impl std::fmt::Debug for ImapReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ImapReceiver({}:{})",
            self.settings.host, self.settings.port
        )
    }
}

fn temp(context: &str) -> impl Fn(async_imap::error::Error) -> TransportError + '_ {
    move |e| match e {
        async_imap::error::Error::No(ref t) | async_imap::error::Error::Bad(ref t)
            if context == "login" =>
        {
            TransportError::Auth(t.clone())
        }
        other => TransportError::Temporary(format!("{context}: {other}")),
    }
}

impl ImapReceiver {
    /// Connects and logs in once, so configuration errors show at start.
    pub async fn connect(
        settings: ImapSettings,
        password: Zeroizing<String>,
    ) -> Result<Self, TransportError> {
        let mut r = ImapReceiver {
            settings,
            password,
            session: None,
            uid_validity: 0,
            idle_supported: false,
        };
        r.session().await?;
        Ok(r)
    }

    /// Logs out politely (errors ignored: the connection is dropped either way).
    pub async fn logout(mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
        }
    }

    async fn open(&mut self) -> Result<ImapSession, TransportError> {
        let s = &self.settings;
        let addr = format!("{}:{}", s.connect_ip.as_deref().unwrap_or(&s.host), s.port);
        let tcp = tokio::time::timeout(Duration::from_secs(30), TcpStream::connect(&addr))
            .await
            .map_err(|_| TransportError::Temporary(format!("connect to {addr} timed out")))?
            .map_err(|e| TransportError::Temporary(format!("connect to {addr}: {e}")))?;
        let tcp = match s.security {
            Security::Tls => tcp,
            Security::Starttls => starttls_upgrade(tcp).await?,
        };
        let config = client_config(s.ca_pem.as_deref())?;
        let name =
            ServerName::try_from(s.host.clone()).map_err(|e| TransportError::Tls(e.to_string()))?;
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| TransportError::Tls(format!("TLS with {}: {e}", s.host)))?;
        let mut client = async_imap::Client::new(tls);
        if s.security == Security::Tls {
            // Implicit TLS: the greeting comes inside TLS.
            let _greeting = client
                .read_response()
                .await
                .map_err(|e| TransportError::Temporary(format!("greeting: {e}")))?
                .ok_or_else(|| TransportError::Temporary("no greeting".into()))?;
        }
        let mut session = client
            .login(&s.username, self.password.as_str())
            .await
            .map_err(|(e, _)| temp("login")(e))?;
        let caps = session.capabilities().await.map_err(temp("capabilities"))?;
        self.idle_supported = caps.has_str("IDLE");
        let mailbox = session.select("INBOX").await.map_err(temp("select"))?;
        self.uid_validity = mailbox.uid_validity.unwrap_or(0);
        Ok(session)
    }

    async fn session(&mut self) -> Result<&mut ImapSession, TransportError> {
        if self.session.is_none() {
            let s = self.open().await?;
            self.session = Some(s);
        }
        self.session
            .as_mut()
            .ok_or_else(|| TransportError::Temporary("no session".into()))
    }

    fn fail<T>(&mut self, e: TransportError) -> Result<T, TransportError> {
        self.session = None;
        Err(e)
    }
}

/// Plain IMAP greeting, then `STARTTLS`; returns the socket ready for the TLS handshake.
async fn starttls_upgrade(tcp: TcpStream) -> Result<TcpStream, TransportError> {
    let io = |e: std::io::Error| TransportError::Temporary(format!("STARTTLS: {e}"));
    let mut reader = BufReader::new(tcp);
    let mut line = String::new();
    reader.read_line(&mut line).await.map_err(io)?;
    if !line.starts_with("* OK") {
        return Err(TransportError::Temporary("unexpected IMAP greeting".into()));
    }
    reader
        .get_mut()
        .write_all(b"S1 STARTTLS\r\n")
        .await
        .map_err(io)?;
    loop {
        line.clear();
        if reader.read_line(&mut line).await.map_err(io)? == 0 {
            return Err(TransportError::Temporary(
                "connection closed during STARTTLS".into(),
            ));
        }
        if line.starts_with("S1 OK") {
            break;
        }
        if line.starts_with("S1 ") {
            return Err(TransportError::Tls("server refused STARTTLS".into()));
        }
    }
    if !reader.buffer().is_empty() {
        return Err(TransportError::Tls(
            "data after STARTTLS (possible injection)".into(),
        ));
    }
    Ok(reader.into_inner())
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl MailReceiver for ImapReceiver {
    fn generation(&self) -> u32 {
        self.uid_validity
    }

    fn list(&mut self) -> BoxFuture<'_, Result<Vec<u32>, TransportError>> {
        Box::pin(async move {
            let session = self.session().await?;
            match session.uid_search("ALL").await {
                Ok(set) => {
                    let mut v: Vec<u32> = set.into_iter().collect();
                    v.sort_unstable();
                    Ok(v)
                }
                Err(e) => self.fail(temp("search")(e)),
            }
        })
    }

    fn fetch(&mut self, uids: &[u32]) -> BoxFuture<'_, Result<Vec<IncomingMail>, TransportError>> {
        let set = uid_set(uids);
        Box::pin(async move {
            if set.is_empty() {
                return Ok(Vec::new());
            }
            let session = self.session().await?;
            let result: Result<Vec<IncomingMail>, TransportError> = async {
                let mut stream = session
                    .uid_fetch(&set, "(UID BODY.PEEK[])")
                    .await
                    .map_err(temp("fetch"))?;
                let mut out = Vec::new();
                while let Some(item) = stream.next().await {
                    let fetch = item.map_err(temp("fetch"))?;
                    if let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) {
                        out.push(IncomingMail {
                            uid,
                            raw: body.to_vec(),
                        });
                    }
                }
                Ok(out)
            }
            .await;
            match result {
                Ok(v) => Ok(v),
                Err(e) => self.fail(e),
            }
        })
    }

    fn delete(&mut self, uids: &[u32]) -> BoxFuture<'_, Result<(), TransportError>> {
        let set = uid_set(uids);
        Box::pin(async move {
            if set.is_empty() {
                return Ok(());
            }
            let session = self.session().await?;
            let result: Result<(), TransportError> = async {
                {
                    let mut s = session
                        .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                        .await
                        .map_err(temp("store"))?;
                    while let Some(r) = s.next().await {
                        r.map_err(temp("store"))?;
                    }
                }
                {
                    // UID EXPUNGE (UIDPLUS) removes only these mails, never others the user deleted.
                    let s = session.uid_expunge(&set).await.map_err(temp("expunge"))?;
                    futures::pin_mut!(s);
                    while let Some(r) = s.next().await {
                        r.map_err(temp("expunge"))?;
                    }
                }
                Ok(())
            }
            .await;
            match result {
                Ok(()) => Ok(()),
                Err(e) => self.fail(e),
            }
        })
    }

    fn wait(&mut self, max: Duration) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            self.session().await?;
            let Some(session) = self.session.take() else {
                return Ok(());
            };
            if !self.idle_supported {
                self.session = Some(session);
                tokio::time::sleep(max).await;
                return Ok(());
            }
            let mut idle = session.idle();
            if let Err(e) = idle.init().await {
                return Err(TransportError::Temporary(format!("idle: {e}")));
            }
            let (wait, _stop) = idle.wait_with_timeout(max);
            let waited = wait.await;
            match idle.done().await {
                Ok(session) => self.session = Some(session),
                Err(e) => return Err(TransportError::Temporary(format!("idle done: {e}"))),
            }
            waited
                .map(|_| ())
                .map_err(|e| TransportError::Temporary(format!("idle: {e}")))
        })
    }
}
