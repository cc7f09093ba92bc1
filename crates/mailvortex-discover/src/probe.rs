//! Finding servers by trying them: common host names (`imap.`, `smtp.`, `mail.` and the bare
//! domain) on the standard ports, implicit TLS (993, 465) before STARTTLS (143, 587), all at
//! once, each within a short timeout. Without a password a server counts as found when the
//! TLS handshake succeeds with a trusted certificate and it greets as a mail server should
//! (IMAP `* OK`, SMTP `220`), after STARTTLS where that applies. With a [`LoginCheck`] the
//! servers that passed are then tried one after the other in order of preference and the
//! first that accepts the login wins: logins are not sent in parallel, so a password goes to
//! as few servers as possible and a provider does not see a burst of failed logins.
//!
//! Plain-text ports are never probed. Every attempt is reported with what failed and where.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::BoxFuture;
use crate::model::{Protocol, Security, ServerSetting};

/// What to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// IMAP host templates, `{domain}` replaced by the mail domain, most preferred first.
    pub imap_hosts: Vec<String>,
    /// SMTP host templates.
    pub smtp_hosts: Vec<String>,
    /// IMAP ports with their security, most preferred first.
    pub imap_ports: Vec<(u16, Security)>,
    /// SMTP ports with their security, most preferred first.
    pub smtp_ports: Vec<(u16, Security)>,
    /// The most one attempt (connect, TLS, greeting, STARTTLS) may take.
    pub timeout: Duration,
    /// Connect to this address instead of resolving the host names (the names are still used
    /// for TLS): for tests against loopback servers.
    pub connect_to: Option<IpAddr>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|h| h.to_string()).collect();
        ProbeConfig {
            imap_hosts: s(&["imap.{domain}", "mail.{domain}", "{domain}"]),
            smtp_hosts: s(&["smtp.{domain}", "mail.{domain}", "{domain}"]),
            imap_ports: vec![(993, Security::Tls), (143, Security::StartTls)],
            smtp_ports: vec![(465, Security::Tls), (587, Security::StartTls)],
            timeout: Duration::from_secs(5),
            connect_to: None,
        }
    }
}

/// One server to try.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Candidate {
    /// IMAP or SMTP.
    pub protocol: Protocol,
    /// Host, port, security.
    pub server: ServerSetting,
}

/// The servers to try for `domain`, in order of preference: by port (so implicit TLS on
/// every host comes before STARTTLS on any), then by host. Pure.
pub fn candidates(domain: &str, cfg: &ProbeConfig) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let sides = [
        (Protocol::Imap, &cfg.imap_hosts, &cfg.imap_ports),
        (Protocol::Smtp, &cfg.smtp_hosts, &cfg.smtp_ports),
    ];
    for (protocol, hosts, ports) in sides {
        for (port, security) in ports {
            if *security == Security::Plain {
                continue;
            }
            for h in hosts {
                let c = Candidate {
                    protocol,
                    server: ServerSetting::new(&h.replace("{domain}", domain), *port, *security),
                };
                if !c.server.host.is_empty() && !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// The step an attempt was at when it ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Resolving the name or opening the TCP connection.
    Connect,
    /// The TLS handshake.
    Tls,
    /// Waiting for the server's greeting.
    Greeting,
    /// Asking for STARTTLS.
    StartTls,
}

impl Stage {
    fn from_u8(v: u8) -> Stage {
        match v {
            1 => Stage::Tls,
            2 => Stage::Greeting,
            3 => Stage::StartTls,
            _ => Stage::Connect,
        }
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum ProbeFailure {
    /// The host name does not resolve.
    NoSuchHost(String),
    /// Nothing listens on the port (connection refused).
    Refused,
    /// The host cannot be reached (network unreachable, reset, …).
    Unreachable(String),
    /// No progress within the timeout.
    Timeout(Stage),
    /// The certificate is not trusted (wrong name, unknown issuer, expired).
    Untrusted(String),
    /// Another TLS failure.
    Tls(String),
    /// The server's greeting is not that of an IMAP / SMTP server.
    NotMailServer(String),
    /// The server greeted with a refusal (`* BYE`, `554`).
    Rejected(String),
    /// The server does not offer STARTTLS, or refused it.
    NoStartTls(String),
    /// The server sent data right after agreeing to STARTTLS, before TLS began (a sign of a
    /// tampering middlebox): refused.
    PlaintextInjection,
}

impl std::fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeFailure::NoSuchHost(e) => write!(f, "no such host ({e})"),
            ProbeFailure::Refused => write!(f, "nothing answers on this port (connection refused)"),
            ProbeFailure::Unreachable(e) => write!(f, "cannot be reached ({e})"),
            ProbeFailure::Timeout(s) => write!(
                f,
                "no answer in time (while {})",
                match s {
                    Stage::Connect => "connecting",
                    Stage::Tls => "starting TLS",
                    Stage::Greeting => "waiting for the greeting",
                    Stage::StartTls => "asking for STARTTLS",
                }
            ),
            ProbeFailure::Untrusted(e) => write!(f, "its certificate is not trusted ({e})"),
            ProbeFailure::Tls(e) => write!(f, "TLS failed ({e})"),
            ProbeFailure::NotMailServer(g) => {
                write!(f, "not a mail server of this kind (it said {g:?})")
            }
            ProbeFailure::Rejected(g) => write!(f, "the server refused the connection ({g:?})"),
            ProbeFailure::NoStartTls(e) => write!(f, "STARTTLS not available ({e})"),
            ProbeFailure::PlaintextInjection => {
                write!(
                    f,
                    "the server sent data before TLS started; refused for safety"
                )
            }
        }
    }
}

/// One server tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeAttempt {
    /// What was tried.
    pub candidate: Candidate,
    /// The server's greeting when it passed.
    pub greeting: Option<String>,
    /// Why it failed, when it did.
    pub failure: Option<ProbeFailure>,
    /// How long it took, in milliseconds.
    pub elapsed_ms: u64,
}

/// A login tried with a [`LoginCheck`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginReport {
    /// The server.
    pub candidate: Candidate,
    /// The login name tried.
    pub username: String,
    /// `None` when it was accepted; the checker's words when not.
    pub failure: Option<String>,
}

/// Everything a probe did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// The chosen IMAP server, if any passed.
    pub imap: Option<ServerSetting>,
    /// The chosen SMTP server, if any passed.
    pub smtp: Option<ServerSetting>,
    /// The login name that worked (only with a [`LoginCheck`]).
    pub username: Option<String>,
    /// Every server tried, in order of preference.
    pub attempts: Vec<ProbeAttempt>,
    /// Every login tried, in the order tried.
    pub logins: Vec<LoginReport>,
    /// Wall time of the whole probe, in milliseconds.
    pub elapsed_ms: u64,
}

/// A login to try on a server that passed the greeting check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// IMAP or SMTP.
    pub protocol: Protocol,
    /// The server.
    pub server: ServerSetting,
    /// The login name.
    pub username: String,
}

/// Tries a login; the engine passes one that calls `Node::check_account` with the password.
/// `Err` carries a reason for the user.
pub trait LoginCheck: Send + Sync {
    /// Tries `attempt`.
    fn check(&self, attempt: LoginAttempt) -> BoxFuture<'_, Result<(), String>>;
}

impl<F, Fut> LoginCheck for F
where
    F: Fn(LoginAttempt) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn check(&self, attempt: LoginAttempt) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(self(attempt))
    }
}

const MAX_LINE: usize = 8192;
const MAX_LINES: usize = 64;

async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<String> {
    let mut buf = Vec::new();
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            if buf.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            break;
        }
        if let Some(i) = avail.iter().position(|b| *b == b'\n') {
            buf.extend_from_slice(&avail[..=i]);
            r.consume(i + 1);
            break;
        }
        let n = avail.len();
        buf.extend_from_slice(avail);
        r.consume(n);
        if buf.len() > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "line too long",
            ));
        }
    }
    buf.truncate(MAX_LINE);
    Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
}

/// An SMTP reply: its code and lines (text after the code).
async fn smtp_reply<R: AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<(u16, Vec<String>), ProbeFailure> {
    let mut lines = Vec::new();
    for _ in 0..MAX_LINES {
        let line = read_line(r).await.map_err(io_fail)?;
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            return Err(ProbeFailure::NotMailServer(short(&line)));
        };
        let sep = line.as_bytes().get(3).copied();
        lines.push(line.get(4..).unwrap_or("").to_string());
        if sep != Some(b'-') {
            return Ok((code, lines));
        }
    }
    Err(ProbeFailure::NotMailServer("endless reply".into()))
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

fn io_fail(e: std::io::Error) -> ProbeFailure {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => ProbeFailure::Refused,
        std::io::ErrorKind::UnexpectedEof => {
            ProbeFailure::NotMailServer("closed the connection".into())
        }
        _ => ProbeFailure::Unreachable(e.to_string()),
    }
}

async fn greeting<R: AsyncBufRead + Unpin>(
    protocol: Protocol,
    r: &mut R,
) -> Result<String, ProbeFailure> {
    match protocol {
        Protocol::Imap => {
            let line = read_line(r).await.map_err(io_fail)?;
            let up = line.to_ascii_uppercase();
            if up.starts_with("* OK") || up.starts_with("* PREAUTH") {
                Ok(short(&line))
            } else if up.starts_with("* BYE") {
                Err(ProbeFailure::Rejected(short(&line)))
            } else {
                Err(ProbeFailure::NotMailServer(short(&line)))
            }
        }
        Protocol::Smtp => {
            let (code, lines) = smtp_reply(r).await?;
            let text = short(&format!("{code} {}", lines.join(" ")));
            match code {
                220 => Ok(text),
                400..=599 => Err(ProbeFailure::Rejected(text)),
                _ => Err(ProbeFailure::NotMailServer(text)),
            }
        }
    }
}

async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    protocol: Protocol,
    r: &mut BufReader<S>,
) -> Result<(), ProbeFailure> {
    match protocol {
        Protocol::Imap => {
            r.get_mut()
                .write_all(b"a1 STARTTLS\r\n")
                .await
                .map_err(io_fail)?;
            for _ in 0..MAX_LINES {
                let line = read_line(r).await.map_err(io_fail)?;
                if let Some(rest) = line.strip_prefix("a1 ") {
                    return if rest.to_ascii_uppercase().starts_with("OK") {
                        Ok(())
                    } else {
                        Err(ProbeFailure::NoStartTls(short(&line)))
                    };
                }
            }
            Err(ProbeFailure::NoStartTls("no answer to STARTTLS".into()))
        }
        Protocol::Smtp => {
            r.get_mut()
                .write_all(b"EHLO localhost\r\n")
                .await
                .map_err(io_fail)?;
            let (code, lines) = smtp_reply(r).await?;
            if code != 250 {
                return Err(ProbeFailure::NoStartTls(format!("EHLO answered {code}")));
            }
            if !lines
                .iter()
                .any(|l| l.trim().eq_ignore_ascii_case("STARTTLS"))
            {
                return Err(ProbeFailure::NoStartTls(
                    "the server does not offer it".into(),
                ));
            }
            r.get_mut()
                .write_all(b"STARTTLS\r\n")
                .await
                .map_err(io_fail)?;
            let (code, lines) = smtp_reply(r).await?;
            if code == 220 {
                Ok(())
            } else {
                Err(ProbeFailure::NoStartTls(short(&format!(
                    "{code} {}",
                    lines.join(" ")
                ))))
            }
        }
    }
}

async fn goodbye<S: AsyncWrite + Unpin>(protocol: Protocol, s: &mut S) {
    let bye: &[u8] = match protocol {
        Protocol::Imap => b"a9 LOGOUT\r\n",
        Protocol::Smtp => b"QUIT\r\n",
    };
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let _ = s.write_all(bye).await;
        let _ = s.shutdown().await;
    })
    .await;
}

async fn connect(
    server: &ServerSetting,
    connect_to: Option<IpAddr>,
) -> Result<TcpStream, ProbeFailure> {
    let addrs: Vec<SocketAddr> = match connect_to {
        Some(ip) => vec![SocketAddr::new(ip, server.port)],
        None => tokio::net::lookup_host((server.host.as_str(), server.port))
            .await
            .map_err(|e| ProbeFailure::NoSuchHost(e.to_string()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(ProbeFailure::NoSuchHost("no address".into()));
    }
    let mut last = ProbeFailure::Refused;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = io_fail(e),
        }
    }
    Err(last)
}

async fn tls_handshake(
    tls: &Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ProbeFailure> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| ProbeFailure::Tls(format!("{host:?} is not a valid server name")))?;
    TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| {
            let (untrusted, text) = crate::tls::describe_io_error(&e);
            if untrusted {
                ProbeFailure::Untrusted(text)
            } else {
                ProbeFailure::Tls(text)
            }
        })
}

async fn check_inner(
    protocol: Protocol,
    server: &ServerSetting,
    tls: &Arc<ClientConfig>,
    connect_to: Option<IpAddr>,
    stage: &AtomicU8,
) -> Result<String, ProbeFailure> {
    let tcp = connect(server, connect_to).await?;
    match server.security {
        Security::Tls => {
            stage.store(1, Ordering::Relaxed);
            let stream = tls_handshake(tls, &server.host, tcp).await?;
            stage.store(2, Ordering::Relaxed);
            let mut r = BufReader::new(stream);
            let g = greeting(protocol, &mut r).await?;
            goodbye(protocol, r.get_mut()).await;
            Ok(g)
        }
        Security::StartTls => {
            stage.store(2, Ordering::Relaxed);
            let mut r = BufReader::new(tcp);
            let g = greeting(protocol, &mut r).await?;
            stage.store(3, Ordering::Relaxed);
            starttls(protocol, &mut r).await?;
            if !r.buffer().is_empty() {
                return Err(ProbeFailure::PlaintextInjection);
            }
            stage.store(1, Ordering::Relaxed);
            let mut stream = tls_handshake(tls, &server.host, r.into_inner()).await?;
            goodbye(protocol, &mut stream).await;
            Ok(g)
        }
        Security::Plain => {
            stage.store(2, Ordering::Relaxed);
            let mut r = BufReader::new(tcp);
            let g = greeting(protocol, &mut r).await?;
            goodbye(protocol, r.get_mut()).await;
            Ok(g)
        }
    }
}

/// Checks one server without a password: connect, TLS (or greeting then STARTTLS then TLS),
/// greeting; all within `timeout`. Returns the greeting.
pub async fn check_server(
    protocol: Protocol,
    server: &ServerSetting,
    tls: &Arc<ClientConfig>,
    timeout: Duration,
    connect_to: Option<IpAddr>,
) -> Result<String, ProbeFailure> {
    let stage = AtomicU8::new(0);
    match tokio::time::timeout(
        timeout,
        check_inner(protocol, server, tls, connect_to, &stage),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(ProbeFailure::Timeout(Stage::from_u8(
            stage.load(Ordering::Relaxed),
        ))),
    }
}

/// Probes `domain` without a password: every candidate at once, the first (in order of
/// preference) that passes the greeting check wins for each protocol.
pub async fn probe(domain: &str, cfg: &ProbeConfig, tls: &Arc<ClientConfig>) -> ProbeReport {
    probe_inner(domain, cfg, tls, None).await
}

/// Probes `domain`, then tries `login` with each of `usernames` on the servers that passed,
/// one at a time in order of preference; the first accepted login wins.
pub async fn probe_with_login(
    domain: &str,
    cfg: &ProbeConfig,
    tls: &Arc<ClientConfig>,
    usernames: &[String],
    login: &dyn LoginCheck,
) -> ProbeReport {
    probe_inner(domain, cfg, tls, Some((usernames, login))).await
}

async fn probe_inner(
    domain: &str,
    cfg: &ProbeConfig,
    tls: &Arc<ClientConfig>,
    login: Option<(&[String], &dyn LoginCheck)>,
) -> ProbeReport {
    let start = Instant::now();
    let cands = candidates(domain, cfg);
    tracing::debug!(domain, candidates = cands.len(), "probing");
    let runs = cands.iter().map(|c| async move {
        let t = Instant::now();
        let r = check_server(c.protocol, &c.server, tls, cfg.timeout, cfg.connect_to).await;
        let elapsed_ms = u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (greeting, failure) = match r {
            Ok(g) => (Some(g), None),
            Err(f) => (None, Some(f)),
        };
        ProbeAttempt {
            candidate: c.clone(),
            greeting,
            failure,
            elapsed_ms,
        }
    });
    let attempts = futures::future::join_all(runs).await;
    let mut report = ProbeReport {
        attempts,
        ..ProbeReport::default()
    };
    for protocol in [Protocol::Imap, Protocol::Smtp] {
        let passed: Vec<ServerSetting> = report
            .attempts
            .iter()
            .filter(|a| a.candidate.protocol == protocol && a.failure.is_none())
            .map(|a| a.candidate.server.clone())
            .collect();
        let chosen = match login {
            None => passed.into_iter().next(),
            Some((usernames, check)) => {
                let mut users: Vec<String> = report.username.iter().cloned().collect();
                users.extend(
                    usernames
                        .iter()
                        .filter(|u| Some(*u) != report.username.as_ref())
                        .cloned(),
                );
                let mut won = None;
                'servers: for server in passed {
                    for u in &users {
                        let attempt = LoginAttempt {
                            protocol,
                            server: server.clone(),
                            username: u.clone(),
                        };
                        let r = check.check(attempt).await;
                        report.logins.push(LoginReport {
                            candidate: Candidate {
                                protocol,
                                server: server.clone(),
                            },
                            username: u.clone(),
                            failure: r.clone().err(),
                        });
                        if r.is_ok() {
                            report.username.get_or_insert_with(|| u.clone());
                            won = Some(server);
                            break 'servers;
                        }
                    }
                }
                won
            }
        };
        match protocol {
            Protocol::Imap => report.imap = chosen,
            Protocol::Smtp => report.smtp = chosen,
        }
    }
    report.elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_put_implicit_tls_first_and_skip_plain() {
        let mut cfg = ProbeConfig::default();
        cfg.imap_ports.push((110, Security::Plain));
        let c = candidates("Example.org", &cfg);
        let imap: Vec<String> = c
            .iter()
            .filter(|c| c.protocol == Protocol::Imap)
            .map(|c| c.server.to_string())
            .collect();
        assert_eq!(
            imap,
            [
                "imap.example.org:993 (TLS)",
                "mail.example.org:993 (TLS)",
                "example.org:993 (TLS)",
                "imap.example.org:143 (STARTTLS)",
                "mail.example.org:143 (STARTTLS)",
                "example.org:143 (STARTTLS)",
            ]
        );
        assert_eq!(c.len(), 12);
    }
}
