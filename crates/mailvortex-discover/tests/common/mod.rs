//! Real servers on loopback for the network tests: a test CA (rcgen), an HTTPS server
//! (hyper over tokio-rustls), IMAP/SMTP greeters over TLS and STARTTLS, silent and closed
//! ports, and a UDP DNS server answering SRV queries (hickory-proto's wire format).

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_rustls::TlsAcceptor;

/// Host names the test certificate is valid for.
pub const NAMES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "example.test",
    "imap.example.test",
    "smtp.example.test",
    "mail.example.test",
    "autoconfig.example.test",
];

/// A CA and a server certificate it signed.
pub struct Pki {
    /// The CA certificate, PEM: what the client is told to trust.
    pub ca_pem: Vec<u8>,
    /// A TLS server configuration with the signed certificate.
    pub server: Arc<ServerConfig>,
}

impl Pki {
    pub fn new(ca_name: &str) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, ca_name);
        let ca_key = KeyPair::generate().expect("ca key");
        let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
        let issuer = Issuer::new(ca, ca_key);
        let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
        let leaf = CertificateParams::new(names).expect("leaf params");
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf cert");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone()];
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        Pki {
            ca_pem: ca_cert.pem().into_bytes(),
            server: Arc::new(server),
        }
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server.clone())
    }
}

/// One path the HTTPS server answers.
#[derive(Clone)]
pub struct Route {
    pub path: String,
    pub status: u16,
    pub body: String,
}

pub fn route(path: &str, status: u16, body: &str) -> Route {
    Route {
        path: path.to_string(),
        status,
        body: body.to_string(),
    }
}

/// An HTTPS server on 127.0.0.1; unknown paths get 404. Returns its port and the log of
/// requested URIs (path and query).
pub async fn https_server(pki: &Pki, routes: Vec<Route>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let acceptor = pki.acceptor();
    let routes = Arc::new(routes);
    let log2 = log.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let routes = routes.clone();
            let log = log2.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let routes = routes.clone();
                    let log = log.clone();
                    async move {
                        log.lock().expect("log").push(req.uri().to_string());
                        let (status, body) = routes
                            .iter()
                            .find(|r| r.path == req.uri().path())
                            .map(|r| (r.status, r.body.clone()))
                            .unwrap_or((404, "not found".into()));
                        let resp = Response::builder()
                            .status(status)
                            .header("content-type", "application/xml")
                            .body(Full::new(Bytes::from(body)))
                            .expect("response");
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (port, log)
}

/// How a test mail server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// IMAP over TLS from the first byte.
    ImapTls,
    /// IMAP greeting, STARTTLS, TLS.
    ImapStartTls,
    /// IMAP greeting, but STARTTLS is refused.
    ImapStartTlsRefused,
    /// Plain IMAP, no TLS.
    ImapPlain,
    /// IMAP that greets with BYE.
    ImapBye,
    /// SMTP over TLS from the first byte.
    SmtpTls,
    /// SMTP greeting (multi-line), EHLO with STARTTLS, TLS.
    SmtpStartTls,
    /// SMTP whose EHLO does not offer STARTTLS.
    SmtpNoStartTls,
    /// Answers like a web server.
    Http,
    /// Accepts and never says anything.
    Silent,
}

/// A mail server on 127.0.0.1 with `behaviour`; returns its port and a counter of accepted
/// connections.
pub async fn mail_server(pki: &Pki, behaviour: Behaviour) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let acceptor = pki.acceptor();
    let c2 = count.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            c2.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = serve(tcp, acceptor, behaviour).await;
            });
        }
    });
    (port, count)
}

/// A port on 127.0.0.1 with nothing listening (bound, then closed).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

async fn answer_until_bye<S: AsyncRead + AsyncWrite + Unpin>(
    s: S,
    imap: bool,
) -> std::io::Result<()> {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        if imap {
            if let Some(tag) = l.split(' ').next()
                && l.to_ascii_uppercase().ends_with("LOGOUT")
            {
                r.get_mut()
                    .write_all(format!("* BYE logging out\r\n{tag} OK LOGOUT done\r\n").as_bytes())
                    .await?;
                return Ok(());
            }
            r.get_mut().write_all(b"* BAD unexpected\r\n").await?;
        } else {
            if l.eq_ignore_ascii_case("QUIT") {
                r.get_mut().write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            r.get_mut().write_all(b"250 ok\r\n").await?;
        }
    }
}

async fn serve(tcp: TcpStream, acceptor: TlsAcceptor, b: Behaviour) -> std::io::Result<()> {
    let imap_hello: &[u8] = b"* OK [CAPABILITY IMAP4rev1 STARTTLS] test IMAP ready\r\n";
    match b {
        Behaviour::Silent => {
            let _keep = tcp;
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            Ok(())
        }
        Behaviour::Http => {
            let mut tcp = tcp;
            tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await?;
            Ok(())
        }
        Behaviour::ImapTls => {
            let mut tls = acceptor.accept(tcp).await?;
            tls.write_all(imap_hello).await?;
            answer_until_bye(tls, true).await
        }
        Behaviour::ImapPlain => {
            let mut tcp = tcp;
            tcp.write_all(b"* OK plain IMAP ready\r\n").await?;
            answer_until_bye(tcp, true).await
        }
        Behaviour::ImapBye => {
            let mut tcp = tcp;
            tcp.write_all(b"* BYE too many connections\r\n").await?;
            Ok(())
        }
        Behaviour::ImapStartTls | Behaviour::ImapStartTlsRefused => {
            let mut r = BufReader::new(tcp);
            r.get_mut().write_all(imap_hello).await?;
            let mut line = String::new();
            r.read_line(&mut line).await?;
            let tag = line.split(' ').next().unwrap_or("*").to_string();
            if b == Behaviour::ImapStartTlsRefused
                || !line.to_ascii_uppercase().contains("STARTTLS")
            {
                r.get_mut()
                    .write_all(format!("{tag} BAD not now\r\n").as_bytes())
                    .await?;
                return Ok(());
            }
            r.get_mut()
                .write_all(format!("{tag} OK Begin TLS negotiation now\r\n").as_bytes())
                .await?;
            let tls = acceptor.accept(r.into_inner()).await?;
            answer_until_bye(tls, true).await
        }
        Behaviour::SmtpTls => {
            let mut tls = acceptor.accept(tcp).await?;
            tls.write_all(b"220 smtp.example.test ESMTP test\r\n")
                .await?;
            answer_until_bye(tls, false).await
        }
        Behaviour::SmtpStartTls | Behaviour::SmtpNoStartTls => {
            let mut r = BufReader::new(tcp);
            r.get_mut()
                .write_all(b"220-smtp.example.test ESMTP test\r\n220 ready\r\n")
                .await?;
            let mut line = String::new();
            r.read_line(&mut line).await?;
            let ext: &[u8] = if b == Behaviour::SmtpStartTls {
                b"250-smtp.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
            } else {
                b"250-smtp.example.test\r\n250 PIPELINING\r\n"
            };
            r.get_mut().write_all(ext).await?;
            line.clear();
            r.read_line(&mut line).await?;
            if !line.trim().eq_ignore_ascii_case("STARTTLS") {
                r.get_mut().write_all(b"502 no\r\n").await?;
                return Ok(());
            }
            r.get_mut().write_all(b"220 go ahead\r\n").await?;
            let tls = acceptor.accept(r.into_inner()).await?;
            answer_until_bye(tls, false).await
        }
    }
}

/// SRV answers by query name (lower case, with the trailing dot): `(priority, weight, port,
/// target)`; names not listed get NXDOMAIN.
pub type Zone = HashMap<String, Vec<(u16, u16, u16, String)>>;

/// A DNS server on 127.0.0.1 (UDP) answering SRV queries from `zone`; returns its address
/// and the log of query names.
pub async fn dns_server(zone: Zone) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
    use hickory_proto::rr::rdata::SRV;
    use hickory_proto::rr::{Name, RData, Record};

    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
    let addr = sock.local_addr().expect("addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut resp = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
            resp.metadata.recursion_desired = q.metadata.recursion_desired;
            resp.metadata.recursion_available = true;
            resp.metadata.authoritative = true;
            for query in &q.queries {
                let name = query.name().to_ascii().to_lowercase();
                log2.lock().expect("log").push(name.clone());
                resp.add_query(query.clone());
                match zone.get(&name) {
                    Some(records) => {
                        for (p, w, port, target) in records {
                            let t = Name::from_ascii(target).expect("target name");
                            resp.add_answer(Record::from_rdata(
                                query.name().clone(),
                                60,
                                RData::SRV(SRV::new(*p, *w, *port, t)),
                            ));
                        }
                    }
                    None => resp.metadata.response_code = ResponseCode::NXDomain,
                }
            }
            if let Ok(bytes) = resp.to_vec() {
                let _ = sock.send_to(&bytes, peer).await;
            }
        }
    });
    (addr, log)
}
