//! A replayed carrier mail is rejected; a tampered one is dropped and logged. A copy of a
//! carrier that a relay really received is taken from the providers' archive (Dovecot's
//! lazy_expunge keeps the mails the nodes deleted) and submitted again over SMTP to the
//! relay's provider, as anyone who saw it on the way could.

use std::time::Duration;

use mailvortex_e2e::mail::{account_mails, as_submitted, smtp_send, tamper_base64};
use mailvortex_e2e::net::{NetOptions, Network};
use mailvortex_e2e::node::tail;
use mailvortex_e2e::{exclusive, progress, rng};

#[test]
fn replayed_carrier_is_rejected_and_tampered_one_dropped_and_logged() {
    let _serial = exclusive();
    let mut rng = rng("replay");
    let mut opts = NetOptions::new("replay", "127.0.25");
    opts.keep_expunged = true;
    let net = Network::start(&opts);
    let file = net.payload("replay.bin", 200 * 1024, None, &mut rng);
    let sent = net.send(&file, "replay test", "standard");
    net.await_delivery(std::slice::from_ref(&sent), Duration::from_secs(300));
    net.verify_received(&sent);

    // A relay that relayed something, and a carrier it received (now deleted from its
    // inbox by the relay, kept in the archive).
    let expunged = net
        .harness
        .expunged_folder()
        .expect("the harness keeps expunged mail");
    let (relay, carrier) = net
        .relays
        .iter()
        .filter(|r| r.events.any(|e| e.kind() == "packet_relayed"))
        .find_map(|r| {
            account_mails(&net.harness.maildir(&r.address), Some(expunged))
                .into_iter()
                .find(|m| m.expunged)
                .map(|m| (r, m))
        })
        .expect("no relay with an archived carrier");
    let raw = as_submitted(&std::fs::read(&carrier.path).expect("reading the archived carrier"));
    let from = carrier.from.clone().unwrap_or_default();
    let ip = net
        .harness
        .provider_ip(relay.address.split('@').nth(1).unwrap_or(""));
    let port = net.harness.smtp_port();
    progress(
        net.started,
        format!(
            "replaying {} (from {from}) to {}",
            carrier.path.display(),
            relay.name
        ),
    );

    // 1. Replay: rejected as a replay, nothing forwarded.
    let mark = relay.events.len();
    let queued_before = relay
        .events
        .count(|e| e.kind() == "packet_queued_for_relay");
    smtp_send(&ip, port, &from, &relay.address, &raw).expect("submitting the replay");
    let rejected = net.wait_event(
        relay,
        mark,
        Duration::from_secs(60),
        "packet_rejected (replay)",
        |e| e.kind() == "packet_rejected",
    );
    let reason = rejected.field("reason").unwrap_or("").to_string();
    assert!(
        reason.contains("replay"),
        "{}: the replay was rejected for another reason: {reason}",
        relay.name
    );
    progress(
        net.started,
        format!("{} rejected the replay: {reason}", relay.name),
    );

    // 2. Tampered copy (bytes of the packet header changed inside the base64): dropped
    //    (it does not authenticate) and logged.
    let mark = relay.events.len();
    let tampered = tamper_base64(&raw, 400, 6);
    smtp_send(&ip, port, &from, &relay.address, &tampered).expect("submitting the tampered copy");
    let rejected = net.wait_event(
        relay,
        mark,
        Duration::from_secs(60),
        "packet_rejected (tampered)",
        |e| e.kind() == "packet_rejected",
    );
    let reason = rejected.field("reason").unwrap_or("").to_string();
    assert!(
        reason.contains("did not authenticate"),
        "{}: the tampered copy was rejected for another reason: {reason}",
        relay.name
    );
    progress(
        net.started,
        format!("{} dropped the tampered copy: {reason}", relay.name),
    );
    let log = tail(relay.stderr_path(), 200);
    assert!(
        log.contains("carrier rejected") && log.contains("did not authenticate"),
        "{}'s log does not record the tampered carrier:\n{log}",
        relay.name
    );

    // 3. A replay to the recipient of a shard it already used changes nothing either.
    let bob_mail = account_mails(&net.harness.maildir(&net.bob.address), Some(expunged))
        .into_iter()
        .find(|m| m.expunged)
        .expect("an archived carrier of bob");
    let bob_ip = net
        .harness
        .provider_ip(net.bob.address.split('@').nth(1).unwrap_or(""));
    let bob_raw = as_submitted(&std::fs::read(&bob_mail.path).expect("reading bob's carrier"));
    smtp_send(
        &bob_ip,
        port,
        bob_mail.from.as_deref().unwrap_or(""),
        &net.bob.address,
        &bob_raw,
    )
    .expect("replaying to bob");

    // Settle: the copies are consumed (replay) or set aside (tampered); nothing new moves.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        relay
            .events
            .count(|e| e.kind() == "packet_queued_for_relay"),
        queued_before,
        "{} forwarded a replayed or tampered packet",
        relay.name
    );
    net.verify_exactly_once(std::slice::from_ref(&sent));
    net.assert_all_running();
    progress(net.started, "done: exactly one delivery");
}
