//! A period of SMTP 4xx answers and IMAP server restarts, while messages are in flight
//! through the relays: nothing is lost or duplicated, every receipt comes back.

use std::time::{Duration, Instant};

use mailvortex_e2e::net::{NetOptions, Network, Sent};
use mailvortex_e2e::{exclusive, poll, progress, rng};

#[test]
fn smtp_tempfail_period_and_imap_restarts_lose_nothing() {
    let _serial = exclusive();
    let mut rng = rng("faults");
    let mut opts = NetOptions::new("fault", "127.0.24");
    // Longer mixing delays (15 protocol minutes = 3 s per hop at "standard") keep the
    // messages in flight while the faults happen.
    opts.time_factor = 300.0;
    let net = Network::start(&opts);
    let mut sent: Vec<Sent> = Vec::new();
    for (i, level) in ["standard", "fast", "strong"].iter().enumerate() {
        let file = net.payload(&format!("fault-{i}.bin"), 768 * 1024, None, &mut rng);
        sent.push(net.send(&file, &format!("fault test {i}"), level));
    }
    // The provider whose relays hold the most packets in their mixing delay right now:
    // they will submit while its SMTP refuses.
    let domain = poll(
        "packets held by relays",
        Duration::from_secs(120),
        Duration::from_millis(100),
        || {
            let mut held: Vec<(String, usize)> = Vec::new();
            for r in &net.relays {
                let queued = r.events.count(|e| e.kind() == "packet_queued_for_relay");
                let relayed = r.events.count(|e| e.kind() == "packet_relayed");
                let domain = r.address.split('@').nth(1).unwrap_or("").to_string();
                match held.iter_mut().find(|(d, _)| *d == domain) {
                    Some(h) => h.1 += queued.saturating_sub(relayed),
                    None => held.push((domain, queued.saturating_sub(relayed))),
                }
            }
            held.sort_by_key(|h| std::cmp::Reverse(h.1));
            match held.first() {
                Some((d, n)) if *n > 0 => Ok(d.clone()),
                _ => Err(format!("held per provider: {held:?}")),
            }
        },
    );

    let marks: Vec<usize> = net.nodes().iter().map(|n| n.events.len()).collect();
    net.harness.fault(&["smtp-tempfail", "on", &domain]);
    let on = Instant::now();
    progress(net.started, format!("SMTP tempfail on at {domain}"));
    let (mut node_saw, mut queue_saw) = (None::<String>, None::<String>);
    poll(
        "a node and a provider queue hit by the 451",
        Duration::from_secs(90),
        Duration::from_millis(200),
        || {
            if node_saw.is_none() {
                node_saw = net.nodes().iter().zip(&marks).find_map(|(n, m)| {
                    n.events
                        .snapshot()
                        .iter()
                        .skip(*m)
                        .find(|e| {
                            e.kind() == "transport_trouble"
                                && e.field("detail").is_some_and(|d| d.contains("451"))
                        })
                        .map(|e| format!("{}: {}", n.name, e.field("detail").unwrap_or("")))
                });
            }
            if queue_saw.is_none() {
                queue_saw = net.harness.queued().into_iter().find(|q| q.contains("451"));
            }
            match (&node_saw, &queue_saw) {
                (Some(_), Some(_)) if on.elapsed() > Duration::from_secs(5) => Ok(()),
                _ => Err(format!(
                    "node: {node_saw:?}, deferred in a queue: {queue_saw:?}"
                )),
            }
        },
    );
    progress(
        net.started,
        format!("seen: {}", node_saw.unwrap_or_default()),
    );
    progress(
        net.started,
        format!(
            "deferred: {}",
            queue_saw
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect::<String>()
        ),
    );
    net.harness.fault(&["smtp-tempfail", "off", &domain]);
    progress(net.started, "SMTP tempfail off");

    // 2. Restart Dovecot at every provider while packets are still moving.
    for (domain, _) in net.harness.providers() {
        net.harness.fault(&["imap-restart", &domain]);
        progress(net.started, format!("IMAP of {domain} restarted"));
        std::thread::sleep(Duration::from_millis(1500));
    }
    let still_in_flight = sent
        .iter()
        .filter(|s| !net.alice.events.any(|e| e.is("message_delivered", &s.id)))
        .count();
    progress(
        net.started,
        format!(
            "{still_in_flight} of {} messages were still in flight during the restarts",
            sent.len()
        ),
    );
    assert!(
        still_in_flight > 0,
        "the faults came too late to matter; lower the time factor"
    );

    net.await_delivery(&sent, Duration::from_secs(600));
    for s in &sent {
        net.verify_received(s);
    }
    net.verify_exactly_once(&sent);
    // A mail fetched and processed but not yet deleted when Dovecot went down is fetched
    // again: that copy must be rejected as a replay. Nothing else may be rejected.
    net.assert_no_rejections(true);
    let troubles = net.events_where(|e| e.kind() == "transport_trouble").len();
    progress(
        net.started,
        format!("done; {troubles} transport troubles reported and survived"),
    );
}
