//! End to end over the in-process provider: every level delivers, the receipt comes back,
//! and no provider-visible mail carries the far end's address, the subject or the content.

use std::time::Duration;

use mailvortex_engine::localnet::LocalNetwork;
use mailvortex_engine::{Clock, Event, SendRequest};
use mailvortex_proto::level::LevelName;

async fn wait_for(
    node: &mailvortex_engine::Node,
    id: &str,
    state: &str,
    limit: Duration,
) -> mailvortex_engine::MessageStatus {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let s = node.status(id).expect("status");
        if s.state == state || tokio::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_level_delivers_with_receipt_and_leaks_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 15-minute mean delays pass in about a second.
    let clock = Clock::scaled(2000.0);
    let net = LocalNetwork::create(dir.path(), 6, 2, clock).expect("network");
    let (alice, bob) = (&net.users[0], &net.users[1]);
    // Relays know the relay list only, as in a real deployment: the last relay reaches bob
    // (and the receipt's last relay alice) through the address proof in the route.
    for r in &net.relays {
        let peers = r.peers().expect("peers");
        assert!(!peers.is_empty());
        assert!(
            peers.iter().all(|p| p.peer_type == "public"),
            "a relay knows a user: {peers:?}"
        );
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    for n in net.nodes() {
        let n = n.clone();
        let rx = stop_rx.clone();
        handles.push(tokio::spawn(async move { n.run(rx).await }));
    }
    let mut events = alice.subscribe();
    let subject = "Quarterly numbers: do not forward";
    let secret_body = "The secret word is periwinkle-elephant-42.";
    let mut ids = Vec::new();
    for level in LevelName::ALL {
        let body = format!("{secret_body} level {level}").into_bytes();
        let id = alice
            .send(SendRequest {
                to: "bob@b.example".into(),
                subject: subject.into(),
                body,
                file_name: None,
                level,
            })
            .expect("send");
        ids.push((level, id));
    }
    for (level, id) in &ids {
        let s = wait_for(alice, id, "delivered", Duration::from_secs(60)).await;
        assert_eq!(s.state, "delivered", "{level}: {s:?}");
        let states: Vec<&str> = s.timeline.iter().map(|e| e.state.as_str()).collect();
        assert_eq!(states.first(), Some(&"queued"));
        assert!(states.contains(&"sent"));
        let got = bob.read(id).expect("bob has it");
        assert_eq!(got.summary.subject, subject);
        assert_eq!(
            got.body,
            format!("{secret_body} level {level}").into_bytes()
        );
        assert_eq!(got.summary.from.as_deref(), Some("alice@a.example"));
    }
    assert_eq!(bob.inbox().expect("inbox").len(), LevelName::ALL.len());
    let mut delivered = 0;
    while let Ok(e) = events.try_recv() {
        if matches!(e, Event::MessageDelivered { .. }) {
            delivered += 1;
        }
    }
    assert_eq!(delivered, LevelName::ALL.len());

    // What the providers saw.
    let seen = net.provider.submissions();
    assert!(!seen.is_empty());
    let problems = mailvortex_engine::localnet::leak_report(
        &seen,
        ["alice@a.example", "bob@b.example"],
        &["periwinkle", "quarterly numbers", "vortex"],
    );
    assert!(problems.is_empty(), "leaks: {problems:#?}");
    // Direct goes straight from alice to bob, every other level through relays.
    assert!(
        seen.iter()
            .any(|m| m.from == "alice@a.example" && m.to == "bob@b.example")
    );
    assert!(seen.iter().any(|m| m.from.starts_with("relay")));
    stop_tx.send(true).expect("stop");
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
    }
}
