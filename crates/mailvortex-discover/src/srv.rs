//! DNS SRV records for mail (RFC 6186, RFC 8314): `_imaps._tcp` (IMAP with implicit TLS),
//! `_imap._tcp` (IMAP, used with STARTTLS), `_submissions._tcp` (submission with implicit
//! TLS) and `_submission._tcp` (submission, used with STARTTLS). A target of `.` means the
//! service is deliberately not offered. Implicit TLS is preferred when both are published
//! (RFC 8314 §5.1); within a service the lowest priority, then the highest weight, wins.
//!
//! A target outside the mail domain is kept but flagged: without DNSSEC, a forged answer could
//! send the user to someone else's server (RFC 6186 §6), so the user should confirm it.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use crate::model::{Protocol, Security, ServerSetting};
use crate::{BoxFuture, Error};

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Among equal priorities, higher is preferred.
    pub weight: u16,
    /// The port.
    pub port: u16,
    /// The host, without the trailing dot; empty for `.` (service not offered).
    pub target: String,
}

/// Looks up SRV records. `Ok(vec![])` means the name has none (NXDOMAIN or no data); `Err`
/// means the lookup failed (timeout, server failure), in words.
pub trait SrvResolver: Send + Sync {
    /// The SRV records of the fully-qualified `name` (e.g. `_imaps._tcp.example.org.`).
    fn lookup_srv<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<SrvRecord>, String>>;
}

/// [`SrvResolver`] over hickory-resolver.
#[derive(Clone)]
pub struct HickorySrvResolver {
    resolver: TokioResolver,
}

impl std::fmt::Debug for HickorySrvResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HickorySrvResolver")
    }
}

fn options(timeout: Duration) -> ResolverOpts {
    let mut o = ResolverOpts::default();
    o.timeout = timeout;
    o.attempts = 1;
    o
}

impl HickorySrvResolver {
    /// The system's resolvers (`/etc/resolv.conf`, the Windows registry).
    pub fn system(timeout: Duration) -> Result<Self, Error> {
        let mut b = TokioResolver::builder_tokio().map_err(|e| Error::Dns(e.to_string()))?;
        let o = b.options_mut();
        o.timeout = timeout;
        o.attempts = 1;
        let resolver = b.build().map_err(|e| Error::Dns(e.to_string()))?;
        Ok(HickorySrvResolver { resolver })
    }

    /// One DNS server at `server` (UDP, then TCP for truncated answers).
    pub fn with_nameserver(server: SocketAddr, timeout: Duration) -> Result<Self, Error> {
        let mut ns = NameServerConfig::udp_and_tcp(server.ip());
        for c in &mut ns.connections {
            c.port = server.port();
        }
        let config = ResolverConfig::from_parts(None, vec![], vec![ns]);
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options(timeout))
            .build()
            .map_err(|e| Error::Dns(e.to_string()))?;
        Ok(HickorySrvResolver { resolver })
    }
}

impl SrvResolver for HickorySrvResolver {
    fn lookup_srv<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Vec<SrvRecord>, String>> {
        Box::pin(async move {
            match self.resolver.srv_lookup(name).await {
                Ok(lookup) => Ok(lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::SRV(s) => Some(SrvRecord {
                            priority: s.priority,
                            weight: s.weight,
                            port: s.port,
                            target: s.target.to_ascii().trim_end_matches('.').to_string(),
                        }),
                        _ => None,
                    })
                    .collect()),
                Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(vec![]),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// The four service names, in order of preference per protocol.
pub const SERVICES: [(&str, Protocol, Security); 4] = [
    ("_imaps._tcp", Protocol::Imap, Security::Tls),
    ("_imap._tcp", Protocol::Imap, Security::StartTls),
    ("_submissions._tcp", Protocol::Smtp, Security::Tls),
    ("_submission._tcp", Protocol::Smtp, Security::StartTls),
];

/// What one service's records say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceAnswer {
    /// The best record's server.
    Offered(ServerSetting),
    /// The domain says the service is not offered (target `.`).
    NotOffered,
    /// No records.
    None,
    /// The lookup failed.
    Failed(String),
}

/// Reduces one service's records to an answer. Pure.
pub fn best(records: &[SrvRecord], security: Security) -> ServiceAnswer {
    if records.is_empty() {
        return ServiceAnswer::None;
    }
    let mut offered: Vec<&SrvRecord> = records
        .iter()
        .filter(|r| !r.target.is_empty() && r.target != "." && r.port != 0)
        .collect();
    if offered.is_empty() {
        return ServiceAnswer::NotOffered;
    }
    offered.sort_by_key(|r| (r.priority, std::cmp::Reverse(r.weight)));
    let r = offered[0];
    ServiceAnswer::Offered(ServerSetting::new(&r.target, r.port, security))
}

/// True when `host` is `domain` or below it.
pub fn within_domain(host: &str, domain: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    h == d || h.ends_with(&format!(".{d}"))
}

/// Looks up the four services for `domain` in parallel, each within `timeout`.
pub async fn lookup_all(
    resolver: &dyn SrvResolver,
    domain: &str,
    timeout: Duration,
) -> Vec<(&'static str, Protocol, Security, ServiceAnswer)> {
    let queries = SERVICES.iter().map(|(svc, proto, sec)| async move {
        let name = format!("{svc}.{domain}.");
        let answer = match tokio::time::timeout(timeout, resolver.lookup_srv(&name)).await {
            Ok(Ok(records)) => best(&records, *sec),
            Ok(Err(e)) => ServiceAnswer::Failed(e),
            Err(_) => ServiceAnswer::Failed("no answer in time".into()),
        };
        (*svc, *proto, *sec, answer)
    });
    futures::future::join_all(queries).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    #[test]
    fn lowest_priority_then_highest_weight() {
        let r = [
            rec(20, 0, 993, "b.example.org"),
            rec(10, 1, 993, "c.example.org"),
            rec(10, 5, 993, "a.example.org"),
        ];
        assert_eq!(
            best(&r, Security::Tls),
            ServiceAnswer::Offered(ServerSetting::new("a.example.org", 993, Security::Tls))
        );
        assert_eq!(
            best(&[rec(0, 0, 0, "")], Security::Tls),
            ServiceAnswer::NotOffered
        );
        assert_eq!(best(&[], Security::Tls), ServiceAnswer::None);
    }

    #[test]
    fn domain_check() {
        assert!(within_domain("mail.Example.org.", "example.org"));
        assert!(within_domain("example.org", "example.org"));
        assert!(!within_domain("badexample.org", "example.org"));
        assert!(!within_domain("mail.provider.net", "example.org"));
    }
}
