//! Nothing that a provider or a relay holds reveals who talks to whom or what they say:
//! every Maildir file of every account (also the mails the nodes already deleted, kept by
//! Dovecot's lazy_expunge), every Postfix and Dovecot log, the Postfix queues and the relays'
//! own homes are searched for the sender's and the recipient's address (outside their own
//! hop's envelope), the subject, the file name and the content, in plain text, base64 (all
//! three alignments), quoted-printable and URL encoding.

use std::time::Duration;

use mailvortex_e2e::leak::{LeakSpec, Places, check};
use mailvortex_e2e::net::{NetOptions, Network, Sent};
use mailvortex_e2e::{exclusive, poll, progress, rng};
use rand::Rng;

fn token(rng: &mut impl Rng) -> String {
    (0..10)
        .map(|_| {
            let c = rng.gen_range(0..36u8);
            (if c < 10 { b'0' + c } else { b'a' + c - 10 }) as char
        })
        .collect()
}

#[test]
fn no_address_subject_or_content_reaches_providers_or_relays() {
    let _serial = exclusive();
    let mut rng = rng("leaks");
    let mut opts = NetOptions::new("leak", "127.0.22");
    opts.keep_expunged = true;
    let net = Network::start(&opts);

    let tok = token(&mut rng);
    let subject = format!("Quarterly figures {tok} Ünïcødé draft");
    let marker = format!("MVXsecretBody{}", token(&mut rng));
    let file_tok = token(&mut rng);
    let mut sent: Vec<Sent> = Vec::new();
    for (level, size) in [
        ("standard", 1024 * 1024),
        ("fast", 256 * 1024),
        ("strong", 256 * 1024),
        ("maximum", 256 * 1024),
    ] {
        let file = net.payload(
            &format!("report-{file_tok}-{level}.txt"),
            size,
            Some(&marker),
            &mut rng,
        );
        sent.push(net.send(&file, &format!("{subject} ({level})"), level));
    }
    net.await_delivery(&sent, Duration::from_secs(600));
    for s in &sent {
        net.verify_received(s);
    }
    // Every mail has left the queues (so every mail is in some Maildir).
    poll(
        "empty Postfix queues",
        Duration::from_secs(120),
        Duration::from_millis(500),
        || {
            let q = net.harness.queued();
            if q.is_empty() {
                Ok(())
            } else {
                Err(format!("{} queued: {}", q.len(), q.join(" | ")))
            }
        },
    );

    let spec = LeakSpec {
        ends: vec![net.alice.address.clone(), net.bob.address.clone()],
        secrets: vec![
            ("the subject".into(), subject.clone()),
            ("the subject's token".into(), tok.clone()),
            ("the content marker".into(), marker.clone()),
            ("a content line".into(), format!("{marker} ")),
            ("the file name".into(), format!("report-{file_tok}")),
        ],
    };
    // Positive control: the same check finds the secrets in the original files.
    let control = check(
        &spec,
        &Places {
            maildirs: net.harness.path("no-such-dir"),
            expunged_folder: None,
            logs: net.harness.path("no-such-dir"),
            secret_only: vec![net.harness.path("payloads")],
        },
    );
    assert!(
        control
            .findings
            .iter()
            .any(|f| f.contains("content marker")),
        "the leak check cannot even find the content in the files that were sent: {control:?}"
    );

    let mut secret_only: Vec<_> = net
        .harness
        .providers()
        .iter()
        .map(|(d, _)| net.harness.path(format!("providers/{d}/spool")))
        .collect();
    for r in &net.relays {
        secret_only.push(r.home.clone());
        secret_only.push(r.stderr_path().to_path_buf());
    }
    let report = check(
        &spec,
        &Places {
            maildirs: net.harness.maildirs(),
            expunged_folder: net.harness.expunged_folder().map(String::from),
            logs: net.harness.logs(),
            secret_only,
        },
    );
    progress(
        net.started,
        format!(
            "leak check read {} mails ({} already expunged by the nodes), {} other files, {} logs ({} lines), {:.1} MB; {} mails name an end in their own envelope",
            report.mails,
            report.expunged_mails,
            report.other_files,
            report.logs,
            report.log_lines,
            report.bytes as f64 / 1e6,
            report.own_envelope_mentions
        ),
    );
    let packets: usize = sent.iter().map(|s| s.packets).sum();
    assert!(
        report.expunged_mails >= packets,
        "expected at least {packets} expunged carriers in the archive, found {}",
        report.expunged_mails
    );
    assert!(
        report.own_envelope_mentions > 0,
        "the check should see the ends' own first and last hops"
    );
    assert!(
        report.findings.is_empty(),
        "{} leaks:\n{}",
        report.findings.len(),
        report
            .findings
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
