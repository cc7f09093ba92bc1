//! Discovery from a mail address: autoconfig, the .well-known file and the ISP database over
//! HTTPS, and DNS SRV records, all at once; then, if none of them gave both servers, probing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::autoconfig::{self, Fetcher};
use crate::model::{DiscoveredAccount, Protocol, Source, SourceKind, dedupe, normalize_address};
use crate::probe::{self, LoginCheck, ProbeConfig, ProbeReport};
use crate::srv::{self, HickorySrvResolver, ServiceAnswer, SrvResolver};
use crate::{Error, tls};

/// Which DNS to ask for SRV records.
#[derive(Clone, Default)]
pub enum Dns {
    /// The system's resolvers.
    #[default]
    System,
    /// One DNS server (UDP/TCP), e.g. a test server on loopback.
    Server(SocketAddr),
    /// A resolver of the caller's.
    Custom(Arc<dyn SrvResolver>),
    /// No SRV lookups.
    Off,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dns::System => f.write_str("System"),
            Dns::Server(a) => write!(f, "Server({a})"),
            Dns::Custom(_) => f.write_str("Custom"),
            Dns::Off => f.write_str("Off"),
        }
    }
}

/// Everything discovery may contact, and how. Every URL is a template with `{domain}` and
/// `{email}` (percent-encoded); `None` skips that step.
#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// The provider's autoconfig server.
    pub autoconfig_url: Option<String>,
    /// The domain's .well-known file.
    pub well_known_url: Option<String>,
    /// Thunderbird's ISP database (tells Mozilla's server which domain is looked up).
    pub ispdb_url: Option<String>,
    /// Where SRV records come from.
    pub dns: Dns,
    /// Probing of common hosts; `None` skips it.
    pub probe: Option<ProbeConfig>,
    /// The most one HTTPS fetch may take.
    pub http_timeout: Duration,
    /// The most one DNS lookup may take.
    pub dns_timeout: Duration,
    /// The largest autoconfig file accepted.
    pub max_response_bytes: usize,
    /// A PEM CA to trust besides (or, with `builtin_roots: false`, instead of) the web PKI.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Trust the web PKI roots (`webpki-roots`).
    pub builtin_roots: bool,
    /// Use the proxy named by `HTTPS_PROXY` and the like.
    pub system_proxy: bool,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            autoconfig_url: Some(
                "https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={email}".into(),
            ),
            well_known_url: Some(
                "https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml".into(),
            ),
            ispdb_url: Some("https://autoconfig.thunderbird.net/v1.1/{domain}".into()),
            dns: Dns::System,
            probe: Some(ProbeConfig::default()),
            http_timeout: Duration::from_secs(8),
            dns_timeout: Duration::from_secs(4),
            max_response_bytes: 256 * 1024,
            extra_ca_pem: None,
            builtin_roots: true,
            system_proxy: true,
        }
    }
}

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "kebab-case")]
pub enum StepOutcome {
    /// It gave settings.
    Found,
    /// It answered that it has nothing (404, no SRV records, target ".").
    NotFound(String),
    /// It did not work (timeout, bad certificate, malformed file).
    Failed(String),
}

/// One thing discovery asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Which method.
    pub kind: SourceKind,
    /// The URL or DNS name asked.
    pub what: String,
    /// How it ended.
    pub outcome: StepOutcome,
}

/// What discovery from an address found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressDiscovery {
    /// The address, normalised.
    pub address: String,
    /// Settings found, best first, duplicates merged (autoconfig, .well-known, ISPDB, SRV,
    /// probing).
    pub accounts: Vec<DiscoveredAccount>,
    /// Every step taken, in order of preference.
    pub steps: Vec<Step>,
    /// The probe's full report, when probing ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeReport>,
}

impl AddressDiscovery {
    /// The best account, if any.
    pub fn best(&self) -> Option<&DiscoveredAccount> {
        self.accounts.first()
    }
}

/// Splits and checks an address; returns (normalised address, lower-case domain).
pub fn split_address(address: &str) -> Result<(String, String), Error> {
    let a = normalize_address(address);
    let bad = || Error::InvalidAddress(address.to_string());
    let (local, domain) = a.rsplit_once('@').ok_or_else(bad)?;
    let domain_ok = !domain.is_empty()
        && domain.len() <= 253
        && !domain.starts_with(['.', '-'])
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c.is_control()) || !domain_ok
    {
        return Err(bad());
    }
    Ok((a.clone(), domain.to_string()))
}

/// A prepared discoverer: the TLS configuration, HTTP client and resolver built once.
pub struct Discoverer {
    config: DiscoveryConfig,
    tls: Arc<rustls::ClientConfig>,
    fetcher: Fetcher,
    /// `None`: SRV lookups are off; `Err`: the resolver could not be set up (reported as a
    /// failed step, so the other methods still run).
    resolver: Option<Result<Arc<dyn SrvResolver>, String>>,
}

impl std::fmt::Debug for Discoverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discoverer")
            .field("config", &self.config)
            .finish()
    }
}

impl Discoverer {
    /// Builds the clients; contacts nothing.
    pub fn new(config: DiscoveryConfig) -> Result<Discoverer, Error> {
        let tls = tls::client_config(config.extra_ca_pem.as_deref(), config.builtin_roots)?;
        let fetcher = Fetcher::new(
            &tls,
            config.http_timeout,
            config.max_response_bytes,
            config.system_proxy,
        )?;
        let arc = |r: HickorySrvResolver| Arc::new(r) as Arc<dyn SrvResolver>;
        let resolver = match &config.dns {
            Dns::System => Some(
                HickorySrvResolver::system(config.dns_timeout)
                    .map(arc)
                    .map_err(|e| e.to_string()),
            ),
            Dns::Server(a) => Some(
                HickorySrvResolver::with_nameserver(*a, config.dns_timeout)
                    .map(arc)
                    .map_err(|e| e.to_string()),
            ),
            Dns::Custom(r) => Some(Ok(r.clone())),
            Dns::Off => None,
        };
        Ok(Discoverer {
            config,
            tls,
            fetcher,
            resolver,
        })
    }

    /// The TLS configuration (for [`probe::check_server`] on settings found elsewhere).
    pub fn tls(&self) -> &Arc<rustls::ClientConfig> {
        &self.tls
    }

    /// Discovers the settings for `address` without a password (probing checks greetings).
    pub async fn discover(&self, address: &str) -> Result<AddressDiscovery, Error> {
        self.run(address, None).await
    }

    /// As [`Discoverer::discover`], but probing confirms servers with `login` (see
    /// [`probe::probe_with_login`]); usernames tried are the address, then its local part.
    pub async fn discover_with_login(
        &self,
        address: &str,
        login: &dyn LoginCheck,
    ) -> Result<AddressDiscovery, Error> {
        self.run(address, Some(login)).await
    }

    async fn fetch_step(
        &self,
        kind: SourceKind,
        url: String,
        address: &str,
    ) -> (Step, Option<DiscoveredAccount>) {
        let step = |outcome| Step {
            kind,
            what: url.clone(),
            outcome,
        };
        match self.fetcher.get(&url).await {
            Err(autoconfig::FetchFailure::NotFound(c)) => {
                (step(StepOutcome::NotFound(format!("HTTP {c}"))), None)
            }
            Err(e) => (step(StepOutcome::Failed(e.to_string())), None),
            Ok(body) => match autoconfig::parse(&body) {
                Err(e) => (step(StepOutcome::Failed(e)), None),
                Ok(file) => {
                    match autoconfig::to_account(&file, address, Source::new(kind, url.clone())) {
                        Ok(a) => (step(StepOutcome::Found), Some(a)),
                        Err(e) => (step(StepOutcome::NotFound(e)), None),
                    }
                }
            },
        }
    }

    async fn srv_step(
        &self,
        address: &str,
        domain: &str,
    ) -> (Vec<Step>, Option<DiscoveredAccount>) {
        let resolver = match &self.resolver {
            None => return (vec![], None),
            Some(Err(e)) => {
                let step = Step {
                    kind: SourceKind::Srv,
                    what: format!("SRV records of {domain}"),
                    outcome: StepOutcome::Failed(e.clone()),
                };
                return (vec![step], None);
            }
            Some(Ok(r)) => r,
        };
        let answers = srv::lookup_all(resolver.as_ref(), domain, self.config.dns_timeout).await;
        let mut steps = Vec::new();
        let mut imap = None;
        let mut smtp = None;
        for (svc, protocol, _, answer) in answers {
            let what = format!("{svc}.{domain}");
            let outcome = match answer {
                ServiceAnswer::Offered(s) => {
                    let slot = match protocol {
                        Protocol::Imap => &mut imap,
                        Protocol::Smtp => &mut smtp,
                    };
                    if slot.is_none() {
                        *slot = Some(s);
                    }
                    StepOutcome::Found
                }
                ServiceAnswer::NotOffered => StepOutcome::NotFound(
                    "the domain says it does not offer this (target \".\")".into(),
                ),
                ServiceAnswer::None => StepOutcome::NotFound("no SRV record".into()),
                ServiceAnswer::Failed(e) => StepOutcome::Failed(e),
            };
            steps.push(Step {
                kind: SourceKind::Srv,
                what,
                outcome,
            });
        }
        if imap.is_none() && smtp.is_none() {
            return (steps, None);
        }
        let mut a = DiscoveredAccount::new(
            address,
            Source::new(
                SourceKind::Srv,
                format!("_imaps/_imap/_submissions/_submission._tcp.{domain}"),
            ),
        );
        for (p, s) in [(Protocol::Imap, &imap), (Protocol::Smtp, &smtp)] {
            if let Some(s) = s
                && !srv::within_domain(&s.host, domain)
            {
                a.notes.push(format!(
                    "DNS names {} as the {} server, which is outside {domain}: make sure it \
                     belongs to your provider before you type your password",
                    s.host,
                    p.name()
                ));
            }
        }
        a.needs = imap.as_ref().and_then(|s| crate::hints::for_host(&s.host));
        a.imap = imap;
        a.smtp = smtp;
        (steps, Some(a))
    }

    async fn run(
        &self,
        address: &str,
        login: Option<&dyn LoginCheck>,
    ) -> Result<AddressDiscovery, Error> {
        let (address, domain) = split_address(address)?;
        let c = &self.config;
        let fetch = |kind, t: &Option<String>| {
            let url = t
                .as_ref()
                .map(|t| autoconfig::fill_url(t, &address, &domain));
            let address = address.clone();
            async move {
                match url {
                    Some(u) => Some(self.fetch_step(kind, u, &address).await),
                    None => None,
                }
            }
        };
        let (auto, wk, ispdb, (srv_steps, srv_acct)) = tokio::join!(
            fetch(SourceKind::Autoconfig, &c.autoconfig_url),
            fetch(SourceKind::WellKnown, &c.well_known_url),
            fetch(SourceKind::Ispdb, &c.ispdb_url),
            self.srv_step(&address, &domain),
        );
        let mut steps = Vec::new();
        let mut accounts = Vec::new();
        for (step, acct) in [auto, wk, ispdb].into_iter().flatten() {
            steps.push(step);
            accounts.extend(acct);
        }
        steps.extend(srv_steps);
        accounts.extend(srv_acct);
        for s in &steps {
            tracing::debug!(kind = ?s.kind, what = %s.what, outcome = ?s.outcome, "discovery step");
        }
        let mut probe_report = None;
        if !accounts.iter().any(DiscoveredAccount::is_complete)
            && let Some(pc) = &c.probe
        {
            let (local, _) = address.rsplit_once('@').unwrap_or((&address, ""));
            let report = match login {
                None => probe::probe(&domain, pc, &self.tls).await,
                Some(check) => {
                    let users = vec![address.clone(), local.to_string()];
                    probe::probe_with_login(&domain, pc, &self.tls, &users, check).await
                }
            };
            let hosts: Vec<String> = pc
                .imap_hosts
                .iter()
                .chain(&pc.smtp_hosts)
                .map(|h| h.replace("{domain}", &domain))
                .collect();
            let found = report.imap.is_some() || report.smtp.is_some();
            steps.push(Step {
                kind: SourceKind::Probe,
                what: hosts.join(", "),
                outcome: if found {
                    StepOutcome::Found
                } else {
                    StepOutcome::NotFound(format!(
                        "no server answered as expected ({} tried)",
                        report.attempts.len()
                    ))
                },
            });
            if found {
                let mut a = DiscoveredAccount::new(
                    &address,
                    Source::new(SourceKind::Probe, hosts.join(", ")),
                );
                a.imap = report.imap.clone();
                a.smtp = report.smtp.clone();
                a.username = report.username.clone();
                a.needs = a
                    .imap
                    .as_ref()
                    .and_then(|s| crate::hints::for_host(&s.host));
                if login.is_none() {
                    a.notes.push(
                        "Found by trying common server names; the login is checked when you \
                         type your password"
                            .into(),
                    );
                }
                accounts.push(a);
            }
            tracing::debug!(
                domain = %domain,
                attempts = report.attempts.len(),
                imap = ?report.imap,
                smtp = ?report.smtp,
                "probe finished"
            );
            probe_report = Some(report);
        }
        // Complete accounts before partial ones, each group in order of preference.
        let mut accounts = dedupe(accounts);
        accounts.sort_by_key(|a| !a.is_complete());
        Ok(AddressDiscovery {
            address,
            accounts,
            steps,
            probe: probe_report,
        })
    }
}

/// One-shot discovery: builds a [`Discoverer`] from `config` and runs it for `address`.
pub async fn discover_address(
    address: &str,
    config: DiscoveryConfig,
) -> Result<AddressDiscovery, Error> {
    Discoverer::new(config)?.discover(address).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_before_any_url_is_built() {
        assert_eq!(
            split_address(" Jo.Doe@Example.ORG ").expect("ok"),
            ("Jo.Doe@example.org".to_string(), "example.org".to_string())
        );
        for bad in [
            "no-at",
            "@example.org",
            "a@",
            "a@exa mple.org",
            "a@example.org/evil",
            "a@example.org?x",
            "a@.example.org",
            "a@ex..org",
            "a b@example.org",
        ] {
            assert!(split_address(bad).is_err(), "{bad}");
        }
        assert!(split_address("zoë@bücher.example").is_ok());
    }
}
