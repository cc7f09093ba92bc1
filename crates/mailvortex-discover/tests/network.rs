//! Discovery against real servers on loopback: autoconfig files over HTTPS (hyper + rustls
//! with a test CA), SRV records from a UDP DNS server, and IMAP/SMTP servers greeting over
//! TLS and STARTTLS, silent ports and closed ports. Nothing leaves 127.0.0.1.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Behaviour, Pki, Zone, closed_port, dns_server, https_server, mail_server, route};
use mailvortex_discover::probe::{self, ProbeFailure, Stage};
use mailvortex_discover::{
    AuthHintKind, Discoverer, DiscoveryConfig, Dns, LoginAttempt, ProbeConfig, Protocol, Security,
    ServerSetting, SourceKind, StepOutcome,
};

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example Test Mail</displayName>
    <incomingServer type="imap">
      <hostname>imap.example.test</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.test</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>"#;

const OAUTH_ONLY: &str = r#"<clientConfig version="1.1">
  <emailProvider id="bigmail.test">
    <domain>bigmail.test</domain>
    <displayName>BigMail</displayName>
    <incomingServer type="imap">
      <hostname>imap.bigmail.test</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>OAuth2</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.bigmail.test</hostname><port>465</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>OAuth2</authentication>
    </outgoingServer>
    <documentation url="https://help.bigmail.test/app-passwords">
      <descr lang="en">App passwords</descr>
    </documentation>
  </emailProvider>
  <oAuth2><issuer>accounts.bigmail.test</issuer><scope>mail</scope>
    <authURL>https://accounts.bigmail.test/auth</authURL>
    <tokenURL>https://accounts.bigmail.test/token</tokenURL></oAuth2>
</clientConfig>"#;

/// A configuration pointing every HTTPS step at `port` on loopback, trusting only `pki`.
fn http_config(pki: &Pki, port: u16) -> DiscoveryConfig {
    DiscoveryConfig {
        autoconfig_url: Some(format!(
            "https://127.0.0.1:{port}/mail/config-v1.1.xml?emailaddress={{email}}"
        )),
        well_known_url: Some(format!(
            "https://127.0.0.1:{port}/.well-known/autoconfig/mail/config-v1.1.xml"
        )),
        ispdb_url: Some(format!("https://127.0.0.1:{port}/v1.1/{{domain}}")),
        dns: Dns::Off,
        probe: None,
        http_timeout: Duration::from_secs(5),
        extra_ca_pem: Some(pki.ca_pem.clone()),
        builtin_roots: false,
        system_proxy: false,
        ..DiscoveryConfig::default()
    }
}

fn outcome(d: &mailvortex_discover::AddressDiscovery, kind: SourceKind) -> StepOutcome {
    d.steps
        .iter()
        .find(|s| s.kind == kind)
        .map(|s| s.outcome.clone())
        .unwrap_or_else(|| panic!("no {kind:?} step in {:?}", d.steps))
}

#[tokio::test]
async fn autoconfig_server_gives_the_settings() {
    let pki = Pki::new("test CA");
    let (port, log) = https_server(&pki, vec![route("/mail/config-v1.1.xml", 200, XML)]).await;
    let d = Discoverer::new(http_config(&pki, port))
        .expect("discoverer")
        .discover("Jo.Doe+tag@Example.TEST")
        .await
        .expect("discover");
    assert_eq!(d.address, "Jo.Doe+tag@example.test");
    assert_eq!(d.accounts.len(), 1);
    let a = &d.accounts[0];
    assert_eq!(a.source.kind, SourceKind::Autoconfig);
    assert_eq!(
        a.imap,
        Some(ServerSetting::new("imap.example.test", 993, Security::Tls))
    );
    assert_eq!(
        a.smtp,
        Some(ServerSetting::new(
            "smtp.example.test",
            587,
            Security::StartTls
        ))
    );
    assert_eq!(a.username.as_deref(), Some("Jo.Doe+tag@example.test"));
    assert_eq!(a.needs, None);
    assert_eq!(outcome(&d, SourceKind::Autoconfig), StepOutcome::Found);
    assert_eq!(
        outcome(&d, SourceKind::WellKnown),
        StepOutcome::NotFound("HTTP 404".into())
    );
    assert_eq!(
        outcome(&d, SourceKind::Ispdb),
        StepOutcome::NotFound("HTTP 404".into())
    );
    let log = log.lock().expect("log").clone();
    assert!(
        log.contains(&"/mail/config-v1.1.xml?emailaddress=Jo.Doe%2Btag%40example.test".to_string()),
        "{log:?}"
    );
    assert!(log.contains(&"/v1.1/example.test".to_string()), "{log:?}");
}

#[tokio::test]
async fn well_known_and_ispdb_agree_and_are_merged() {
    let pki = Pki::new("test CA");
    let (port, _) = https_server(
        &pki,
        vec![
            route("/mail/config-v1.1.xml", 500, "oops"),
            route("/.well-known/autoconfig/mail/config-v1.1.xml", 200, XML),
            route("/v1.1/example.test", 200, XML),
        ],
    )
    .await;
    let d = Discoverer::new(http_config(&pki, port))
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    assert_eq!(d.accounts.len(), 1, "{:?}", d.accounts);
    let a = &d.accounts[0];
    assert_eq!(a.source.kind, SourceKind::WellKnown);
    assert_eq!(a.also_found.len(), 1);
    assert_eq!(a.also_found[0].kind, SourceKind::Ispdb);
    assert_eq!(
        outcome(&d, SourceKind::Autoconfig),
        StepOutcome::Failed("the server answered HTTP 500".into())
    );
}

#[tokio::test]
async fn malformed_xml_is_reported_and_the_next_source_used() {
    let pki = Pki::new("test CA");
    let (port, _) = https_server(
        &pki,
        vec![
            route("/mail/config-v1.1.xml", 200, "<clientConfig><emailProvider><incomingServer type=\"imap\"><hostname>x</incomingServer>"),
            route("/.well-known/autoconfig/mail/config-v1.1.xml", 200, "<html><body>Welcome to nginx!</body></html>"),
            route("/v1.1/example.test", 200, XML),
        ],
    )
    .await;
    let d = Discoverer::new(http_config(&pki, port))
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    match outcome(&d, SourceKind::Autoconfig) {
        StepOutcome::Failed(e) => assert!(e.starts_with("malformed XML"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        outcome(&d, SourceKind::WellKnown),
        StepOutcome::Failed(_)
    ));
    assert_eq!(d.accounts.len(), 1);
    assert_eq!(d.accounts[0].source.kind, SourceKind::Ispdb);
}

#[tokio::test]
async fn an_oauth2_only_provider_gets_an_explanation_and_a_link() {
    let pki = Pki::new("test CA");
    let (port, _) = https_server(&pki, vec![route("/v1.1/bigmail.test", 200, OAUTH_ONLY)]).await;
    let d = Discoverer::new(http_config(&pki, port))
        .expect("discoverer")
        .discover("jo@bigmail.test")
        .await
        .expect("discover");
    let a = d.best().expect("account");
    assert_eq!(a.source.kind, SourceKind::Ispdb);
    assert_eq!(
        a.imap,
        Some(ServerSetting::new("imap.bigmail.test", 993, Security::Tls))
    );
    let h = a.needs.as_ref().expect("hint");
    assert_eq!(h.kind, AuthHintKind::OAuth2);
    assert_eq!(h.provider.as_deref(), Some("BigMail"));
    assert!(
        h.explanation
            .contains("BigMail only allows signing in through its own web page")
    );
    assert_eq!(
        h.link.as_deref(),
        Some("https://help.bigmail.test/app-passwords")
    );
}

#[tokio::test]
async fn a_pop3_only_provider_is_not_a_result() {
    let pki = Pki::new("test CA");
    let pop = XML.replace("type=\"imap\"", "type=\"pop3\"");
    let (port, _) = https_server(&pki, vec![route("/mail/config-v1.1.xml", 200, &pop)]).await;
    let d = Discoverer::new(http_config(&pki, port))
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    assert!(d.accounts.is_empty());
    assert_eq!(
        outcome(&d, SourceKind::Autoconfig),
        StepOutcome::NotFound("the provider offers only POP3; MailVortex needs IMAP".into())
    );
}

#[tokio::test]
async fn an_untrusted_https_certificate_is_a_failed_step() {
    let pki = Pki::new("test CA");
    let other = Pki::new("someone else's CA");
    let (port, log) = https_server(&pki, vec![route("/mail/config-v1.1.xml", 200, XML)]).await;
    let mut cfg = http_config(&pki, port);
    cfg.extra_ca_pem = Some(other.ca_pem.clone());
    let d = Discoverer::new(cfg)
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    assert!(d.accounts.is_empty());
    match outcome(&d, SourceKind::Autoconfig) {
        StepOutcome::Failed(e) => assert!(e.to_lowercase().contains("certificate"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(
        log.lock().expect("log").is_empty(),
        "no request got through"
    );
}

#[tokio::test]
async fn a_silent_https_server_times_out() {
    let pki = Pki::new("test CA");
    let (port, _) = mail_server(&pki, Behaviour::Silent).await;
    let mut cfg = http_config(&pki, port);
    cfg.http_timeout = Duration::from_millis(800);
    let t = Instant::now();
    let d = Discoverer::new(cfg)
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    // Three fetches in parallel: about one timeout, not three.
    assert!(
        t.elapsed() < Duration::from_millis(2000),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(
        outcome(&d, SourceKind::Autoconfig),
        StepOutcome::Failed("no answer in time".into())
    );
}

fn srv(p: u16, w: u16, port: u16, target: &str) -> (u16, u16, u16, String) {
    (p, w, port, target.to_string())
}

#[tokio::test]
async fn srv_records_from_a_dns_server_on_loopback() {
    let mut zone = Zone::new();
    zone.insert(
        "_imaps._tcp.example.test.".into(),
        vec![
            srv(20, 0, 993, "backup.example.test."),
            srv(10, 5, 993, "imap.example.test."),
        ],
    );
    zone.insert(
        "_imap._tcp.example.test.".into(),
        vec![srv(0, 0, 143, "imap.example.test.")],
    );
    zone.insert(
        "_submissions._tcp.example.test.".into(),
        vec![srv(0, 0, 0, ".")],
    );
    zone.insert(
        "_submission._tcp.example.test.".into(),
        vec![srv(0, 1, 587, "smtp.provider.test.")],
    );
    let (dns, log) = dns_server(zone).await;
    let cfg = DiscoveryConfig {
        autoconfig_url: None,
        well_known_url: None,
        ispdb_url: None,
        dns: Dns::Server(dns),
        dns_timeout: Duration::from_secs(3),
        probe: None,
        system_proxy: false,
        ..DiscoveryConfig::default()
    };
    let d = Discoverer::new(cfg)
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    let a = d.best().expect("account");
    assert_eq!(a.source.kind, SourceKind::Srv);
    assert_eq!(
        a.imap,
        Some(ServerSetting::new("imap.example.test", 993, Security::Tls))
    );
    assert_eq!(
        a.smtp,
        Some(ServerSetting::new(
            "smtp.provider.test",
            587,
            Security::StartTls
        ))
    );
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("smtp.provider.test") && n.contains("outside example.test")),
        "{:?}",
        a.notes
    );
    let by_name = |n: &str| {
        d.steps
            .iter()
            .find(|s| s.what == n)
            .map(|s| s.outcome.clone())
            .expect("step")
    };
    assert!(
        matches!(by_name("_submissions._tcp.example.test"), StepOutcome::NotFound(m) if m.contains("target \".\""))
    );
    assert_eq!(by_name("_submission._tcp.example.test"), StepOutcome::Found);
    let mut asked = log.lock().expect("log").clone();
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), 4, "{asked:?}");
}

#[tokio::test]
async fn no_srv_records_is_not_found_not_a_failure() {
    let (dns, _) = dns_server(Zone::new()).await;
    let cfg = DiscoveryConfig {
        autoconfig_url: None,
        well_known_url: None,
        ispdb_url: None,
        dns: Dns::Server(dns),
        probe: None,
        system_proxy: false,
        ..DiscoveryConfig::default()
    };
    let d = Discoverer::new(cfg)
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    assert!(d.accounts.is_empty());
    assert_eq!(d.steps.len(), 4);
    assert!(
        d.steps
            .iter()
            .all(|s| s.outcome == StepOutcome::NotFound("no SRV record".into())),
        "{:?}",
        d.steps
    );
}

fn tls_for(pki: &Pki) -> Arc<rustls::ClientConfig> {
    mailvortex_discover::tls::client_config(Some(&pki.ca_pem), false).expect("tls")
}

fn probe_config(
    imap: Vec<(u16, Security)>,
    smtp: Vec<(u16, Security)>,
    timeout: Duration,
) -> ProbeConfig {
    ProbeConfig {
        imap_hosts: vec!["imap.{domain}".into()],
        smtp_hosts: vec!["smtp.{domain}".into()],
        imap_ports: imap,
        smtp_ports: smtp,
        timeout,
        connect_to: Some([127, 0, 0, 1].into()),
    }
}

#[tokio::test]
async fn probing_prefers_tls_times_out_in_parallel_and_says_why_each_failed() {
    let pki = Pki::new("test CA");
    let (imap_tls, _) = mail_server(&pki, Behaviour::ImapTls).await;
    let (imap_starttls, _) = mail_server(&pki, Behaviour::ImapStartTls).await;
    let (silent_a, _) = mail_server(&pki, Behaviour::Silent).await;
    let (silent_b, _) = mail_server(&pki, Behaviour::Silent).await;
    let (silent_c, _) = mail_server(&pki, Behaviour::Silent).await;
    let closed = closed_port().await;
    let (smtp_starttls, _) = mail_server(&pki, Behaviour::SmtpStartTls).await;
    let timeout = Duration::from_millis(1500);
    // The configured order is the preference (TLS ports first, as in the default); a silent
    // TLS port comes before the working one, and a STARTTLS server that also works comes after.
    let cfg = probe_config(
        vec![
            (silent_a, Security::Tls),
            (imap_tls, Security::Tls),
            (imap_starttls, Security::StartTls),
        ],
        vec![
            (silent_b, Security::Tls),
            (closed, Security::Tls),
            (silent_c, Security::StartTls),
            (smtp_starttls, Security::StartTls),
        ],
        timeout,
    );
    let t = Instant::now();
    let report = probe::probe("example.test", &cfg, &tls_for(&pki)).await;
    let took = t.elapsed();
    assert_eq!(
        report.imap,
        Some(ServerSetting::new(
            "imap.example.test",
            imap_tls,
            Security::Tls
        ))
    );
    assert_eq!(
        report.smtp,
        Some(ServerSetting::new(
            "smtp.example.test",
            smtp_starttls,
            Security::StartTls
        ))
    );
    // Three silent ports, each given 1.5 s: all ran at once.
    assert!(took >= timeout, "{took:?}");
    assert!(
        took < timeout + Duration::from_millis(1200),
        "{took:?} is more than one timeout"
    );
    let ports: Vec<u16> = report
        .attempts
        .iter()
        .map(|a| a.candidate.server.port)
        .collect();
    assert_eq!(
        ports,
        [
            silent_a,
            imap_tls,
            imap_starttls,
            silent_b,
            closed,
            silent_c,
            smtp_starttls
        ]
    );
    let fail = |port: u16| {
        report
            .attempts
            .iter()
            .find(|a| a.candidate.server.port == port)
            .and_then(|a| a.failure.clone())
    };
    assert_eq!(fail(silent_a), Some(ProbeFailure::Timeout(Stage::Tls)));
    assert_eq!(fail(silent_b), Some(ProbeFailure::Timeout(Stage::Tls)));
    assert_eq!(fail(silent_c), Some(ProbeFailure::Timeout(Stage::Greeting)));
    assert_eq!(fail(closed), Some(ProbeFailure::Refused));
    assert_eq!(fail(imap_tls), None);
    assert_eq!(fail(imap_starttls), None);
    let greeting = report.attempts[1].greeting.as_deref().expect("greeting");
    assert!(greeting.starts_with("* OK"), "{greeting}");
    let smtp_greeting = report.attempts[6].greeting.as_deref().expect("greeting");
    assert!(smtp_greeting.starts_with("220 "), "{smtp_greeting}");
    assert!(report.logins.is_empty());
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["attempts"][4]["failure"]["kind"], "refused");
}

#[tokio::test]
async fn probe_failures_are_told_apart() {
    let pki = Pki::new("test CA");
    let stranger = Pki::new("unknown CA");
    let (untrusted, _) = mail_server(&stranger, Behaviour::ImapTls).await;
    let (refused_starttls, _) = mail_server(&pki, Behaviour::ImapStartTlsRefused).await;
    let (bye, _) = mail_server(&pki, Behaviour::ImapBye).await;
    let (http, _) = mail_server(&pki, Behaviour::Http).await;
    let (no_starttls, _) = mail_server(&pki, Behaviour::SmtpNoStartTls).await;
    let (smtps, _) = mail_server(&pki, Behaviour::SmtpTls).await;
    let cfg = probe_config(
        vec![
            (untrusted, Security::Tls),
            (refused_starttls, Security::StartTls),
            (bye, Security::StartTls),
            (http, Security::StartTls),
        ],
        vec![(no_starttls, Security::StartTls), (smtps, Security::Tls)],
        Duration::from_secs(5),
    );
    let report = probe::probe("example.test", &cfg, &tls_for(&pki)).await;
    let fail = |port: u16| {
        report
            .attempts
            .iter()
            .find(|a| a.candidate.server.port == port)
            .and_then(|a| a.failure.clone())
            .expect("a failure")
    };
    assert!(
        matches!(fail(untrusted), ProbeFailure::Untrusted(_)),
        "{:?}",
        fail(untrusted)
    );
    assert!(matches!(fail(refused_starttls), ProbeFailure::NoStartTls(m) if m.contains("BAD")));
    assert!(matches!(fail(bye), ProbeFailure::Rejected(m) if m.starts_with("* BYE")));
    assert!(matches!(fail(http), ProbeFailure::NotMailServer(m) if m.starts_with("HTTP/1.1")));
    assert!(
        matches!(fail(no_starttls), ProbeFailure::NoStartTls(m) if m.contains("does not offer"))
    );
    assert_eq!(report.imap, None);
    // The later SMTPS candidate still wins for SMTP.
    assert_eq!(
        report.smtp,
        Some(ServerSetting::new(
            "smtp.example.test",
            smtps,
            Security::Tls
        ))
    );
    for a in &report.attempts {
        if let Some(f) = &a.failure {
            assert!(!f.to_string().is_empty());
        }
    }
}

#[tokio::test]
async fn check_server_on_a_plain_setting_from_a_profile() {
    let pki = Pki::new("test CA");
    let (plain, _) = mail_server(&pki, Behaviour::ImapPlain).await;
    let server = ServerSetting::new("imap.example.test", plain, Security::Plain);
    let g = probe::check_server(
        Protocol::Imap,
        &server,
        &tls_for(&pki),
        Duration::from_secs(5),
        Some([127, 0, 0, 1].into()),
    )
    .await
    .expect("greeting");
    assert_eq!(g, "* OK plain IMAP ready");
}

#[tokio::test]
async fn with_a_login_check_the_first_server_that_accepts_wins_one_at_a_time() {
    let pki = Pki::new("test CA");
    let (imap_tls, _) = mail_server(&pki, Behaviour::ImapTls).await;
    let (imap_starttls, _) = mail_server(&pki, Behaviour::ImapStartTls).await;
    let (smtps, _) = mail_server(&pki, Behaviour::SmtpTls).await;
    let cfg = probe_config(
        vec![
            (imap_tls, Security::Tls),
            (imap_starttls, Security::StartTls),
        ],
        vec![(smtps, Security::Tls)],
        Duration::from_secs(5),
    );
    // Accepts only the local part, and on IMAP only on the STARTTLS port; records the
    // calls and how many ran at the same time.
    let calls: Arc<Mutex<Vec<(Protocol, u16, String)>>> = Arc::default();
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let max_running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (c, r, m) = (calls.clone(), running.clone(), max_running.clone());
    let check = move |a: LoginAttempt| {
        let (c, r, m) = (c.clone(), r.clone(), m.clone());
        async move {
            use std::sync::atomic::Ordering::SeqCst;
            let now = r.fetch_add(1, SeqCst) + 1;
            m.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            c.lock()
                .expect("calls")
                .push((a.protocol, a.server.port, a.username.clone()));
            r.fetch_sub(1, SeqCst);
            let ok = a.username == "jo"
                && (a.protocol == Protocol::Smtp || a.server.port == imap_starttls);
            if ok {
                Ok(())
            } else {
                Err("authentication failed".to_string())
            }
        }
    };
    let users = vec!["jo@example.test".to_string(), "jo".to_string()];
    let report =
        probe::probe_with_login("example.test", &cfg, &tls_for(&pki), &users, &check).await;
    assert_eq!(
        report.imap,
        Some(ServerSetting::new(
            "imap.example.test",
            imap_starttls,
            Security::StartTls
        ))
    );
    assert_eq!(
        report.smtp,
        Some(ServerSetting::new(
            "smtp.example.test",
            smtps,
            Security::Tls
        ))
    );
    assert_eq!(report.username.as_deref(), Some("jo"));
    let calls = calls.lock().expect("calls").clone();
    assert_eq!(
        calls,
        vec![
            (Protocol::Imap, imap_tls, "jo@example.test".to_string()),
            (Protocol::Imap, imap_tls, "jo".to_string()),
            (Protocol::Imap, imap_starttls, "jo@example.test".to_string()),
            (Protocol::Imap, imap_starttls, "jo".to_string()),
            // SMTP starts with the login that worked on IMAP.
            (Protocol::Smtp, smtps, "jo".to_string()),
        ]
    );
    assert_eq!(max_running.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(report.logins.len(), 5);
    assert_eq!(
        report.logins[0].failure.as_deref(),
        Some("authentication failed")
    );
    assert_eq!(report.logins[4].failure, None);
}

#[tokio::test]
async fn the_whole_chain_falls_back_to_probing() {
    let pki = Pki::new("test CA");
    let (http_port, _) = https_server(&pki, vec![]).await;
    let (dns, _) = dns_server(Zone::new()).await;
    let (imap, _) = mail_server(&pki, Behaviour::ImapStartTls).await;
    let (smtp, _) = mail_server(&pki, Behaviour::SmtpTls).await;
    let closed = closed_port().await;
    let mut cfg = http_config(&pki, http_port);
    cfg.dns = Dns::Server(dns);
    cfg.probe = Some(ProbeConfig {
        imap_hosts: vec!["imap.{domain}".into(), "mail.{domain}".into()],
        smtp_hosts: vec!["smtp.{domain}".into()],
        imap_ports: vec![(closed, Security::Tls), (imap, Security::StartTls)],
        smtp_ports: vec![(smtp, Security::Tls)],
        timeout: Duration::from_secs(3),
        connect_to: Some([127, 0, 0, 1].into()),
    });
    let d = Discoverer::new(cfg)
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    let kinds: Vec<SourceKind> = d.steps.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            SourceKind::Autoconfig,
            SourceKind::WellKnown,
            SourceKind::Ispdb,
            SourceKind::Srv,
            SourceKind::Srv,
            SourceKind::Srv,
            SourceKind::Srv,
            SourceKind::Probe,
        ]
    );
    assert_eq!(outcome(&d, SourceKind::Probe), StepOutcome::Found);
    let a = d.best().expect("account");
    assert_eq!(a.source.kind, SourceKind::Probe);
    assert_eq!(
        a.imap,
        Some(ServerSetting::new(
            "imap.example.test",
            imap,
            Security::StartTls
        ))
    );
    assert_eq!(
        a.smtp,
        Some(ServerSetting::new("smtp.example.test", smtp, Security::Tls))
    );
    assert_eq!(a.username, None);
    let report = d.probe.as_ref().expect("probe report");
    // imap. and mail. on both ports, smtp. on one.
    assert_eq!(report.attempts.len(), 5);
}

#[tokio::test]
async fn nothing_is_contacted_for_an_invalid_address() {
    let err = Discoverer::new(DiscoveryConfig {
        dns: Dns::Off,
        ..DiscoveryConfig::default()
    })
    .expect("discoverer")
    .discover("jo@example.test/../../etc")
    .await
    .expect_err("invalid");
    assert!(matches!(err, mailvortex_discover::Error::InvalidAddress(_)));
}

/// A resolver of the caller's: here one whose DNS server always fails.
struct BrokenDns;

impl mailvortex_discover::srv::SrvResolver for BrokenDns {
    fn lookup_srv<'a>(
        &'a self,
        _name: &'a str,
    ) -> mailvortex_discover::BoxFuture<'a, Result<Vec<mailvortex_discover::srv::SrvRecord>, String>>
    {
        Box::pin(async { Err("SERVFAIL".to_string()) })
    }
}

#[tokio::test]
async fn a_failing_dns_is_reported_and_autoconfig_still_counts() {
    let pki = Pki::new("test CA");
    let (port, _) = https_server(&pki, vec![route("/mail/config-v1.1.xml", 200, XML)]).await;
    let mut cfg = http_config(&pki, port);
    cfg.dns = Dns::Custom(Arc::new(BrokenDns));
    let d = Discoverer::new(cfg)
        .expect("discoverer")
        .discover("jo@example.test")
        .await
        .expect("discover");
    let srv: Vec<&StepOutcome> = d
        .steps
        .iter()
        .filter(|s| s.kind == SourceKind::Srv)
        .map(|s| &s.outcome)
        .collect();
    assert_eq!(srv.len(), 4);
    assert!(
        srv.iter()
            .all(|o| **o == StepOutcome::Failed("SERVFAIL".into()))
    );
    assert_eq!(
        d.best().map(|a| a.source.kind),
        Some(SourceKind::Autoconfig)
    );
}
