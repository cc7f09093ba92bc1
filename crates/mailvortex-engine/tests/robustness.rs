//! Bad input and bad weather over the in-process provider: ordinary mail is never touched,
//! replays and tampered carriers are rejected, a period of temporary SMTP failures loses
//! nothing, and no account ever exceeds its daily send budget.

use std::time::Duration;

use mailvortex_engine::localnet::LocalNetwork;
use mailvortex_engine::{Clock, Event, Node, SendRequest};
use mailvortex_proto::level::LevelName;

struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<mailvortex_engine::Result<()>>>,
}

fn start(net: &LocalNetwork) -> Running {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let handles = net
        .nodes()
        .map(|n| {
            let n = n.clone();
            let rx = rx.clone();
            tokio::spawn(async move { n.run(rx).await })
        })
        .collect();
    Running { stop, handles }
}

impl Running {
    async fn shutdown(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
    }
}

async fn wait_state(node: &Node, id: &str, state: &str, secs: u64) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let s = node.status(id).expect("status").state;
        if s == state || tokio::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn send(node: &Node, level: LevelName, body: &str) -> String {
    node.send(SendRequest {
        to: "bob@b.example".into(),
        subject: "s".into(),
        body: body.as_bytes().to_vec(),
        file_name: None,
        level,
    })
    .expect("send")
}

const ORDINARY: &str =
    "From: friend@x.example\r\nTo: bob@b.example\r\nSubject: dinner\r\n\r\nSee you at eight.\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_and_tampering_are_rejected_and_ordinary_mail_is_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LocalNetwork::create(dir.path(), 4, 2, Clock::scaled(5000.0)).expect("net");
    let bob = &net.users[1];
    net.provider
        .deliver("bob@b.example", ORDINARY.as_bytes().to_vec());
    let mut bob_events = bob.subscribe();
    let running = start(&net);
    let id = send(&net.users[0], LevelName::Fast, "first");
    assert_eq!(
        wait_state(&net.users[0], &id, "delivered", 60).await,
        "delivered"
    );

    // Replay every carrier bob ever received, and a tampered copy of one.
    let to_bob: Vec<_> = net
        .provider
        .submissions()
        .into_iter()
        .filter(|m| m.to == "bob@b.example")
        .collect();
    assert!(!to_bob.is_empty());
    for m in &to_bob {
        net.provider.deliver("bob@b.example", m.raw.clone());
    }
    let mut tampered = to_bob[0].raw.clone();
    let cte = tampered
        .windows(6)
        .rposition(|w| w.eq_ignore_ascii_case(b"base64"))
        .expect("base64 part");
    let body_start = cte
        + tampered[cte..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("part body")
        + 4;
    // Flip characters near the start of the base64 attachment, inside the packet header
    // (keeping them base64). The attachment is a PDF or ZIP file whose packet starts
    // within its first 200 bytes; 400 base64 characters are 300 bytes, so the flips miss
    // the container's own header (changing that would make the mail "not a carrier") and
    // the padding at the end.
    let mut flipped = 0;
    for b in tampered[body_start..].iter_mut().skip(400).take(4000) {
        if b.is_ascii_alphabetic() && flipped < 40 {
            *b ^= 0x20;
            flipped += 1;
        }
    }
    net.provider.deliver("bob@b.example", tampered);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (mut replays, mut unauthenticated) = (0, 0);
    while tokio::time::Instant::now() < deadline && (replays < to_bob.len() || unauthenticated == 0)
    {
        if let Ok(Ok(Event::PacketRejected { reason })) =
            tokio::time::timeout(Duration::from_millis(200), bob_events.recv()).await
        {
            if reason.contains("replay") {
                replays += 1;
            } else if reason.contains("did not authenticate") {
                unauthenticated += 1;
            }
        }
    }
    assert_eq!(replays, to_bob.len(), "every replayed carrier is rejected");
    assert_eq!(
        unauthenticated, 1,
        "the tampered carrier is dropped and logged"
    );
    // Exactly one copy of the message; the ordinary mail is still there, untouched.
    assert_eq!(bob.inbox().expect("inbox").len(), 1);
    let inbox = net.provider.inbox("bob@b.example");
    assert!(
        inbox.iter().any(|m| m == ORDINARY.as_bytes()),
        "ordinary mail must stay"
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_smtp_failures_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LocalNetwork::create(dir.path(), 4, 2, Clock::scaled(5000.0)).expect("net");
    net.provider.set_tempfail(true);
    let running = start(&net);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            send(
                &net.users[0],
                LevelName::Fast,
                &format!("during the outage {i}"),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(net.provider.submissions().is_empty());
    net.provider.set_tempfail(false);
    for id in &ids {
        assert_eq!(
            wait_state(&net.users[0], id, "delivered", 120).await,
            "delivered"
        );
    }
    assert_eq!(net.users[1].inbox().expect("inbox").len(), 3);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_send_budget_is_never_exceeded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LocalNetwork::create(dir.path(), 4, 2, Clock::scaled(50.0)).expect("net");
    let alice = &net.users[0];
    let mut c = alice.config();
    c.accounts[0].daily_send_budget = 3;
    // Budgets are account settings: re-add the account with the lower budget.
    alice
        .add_account(
            c.accounts[0].clone(),
            zeroize::Zeroizing::new("unused".into()),
        )
        .expect("account");
    let running = start(&net);
    // Direct needs one packet per message: five messages, three allowed per day.
    for i in 0..5 {
        send(alice, LevelName::Direct, &format!("m{i}"));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let from_alice = net
        .provider
        .submissions()
        .iter()
        .filter(|m| m.from == "alice@a.example")
        .count();
    assert_eq!(from_alice, 3, "exactly the budget, no more");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_can_be_asked_for_its_descriptor_and_stealth_nodes_stay_silent() {
    use mailvortex_proto::descriptor::PeerType;
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LocalNetwork::create(dir.path(), 4, 2, Clock::scaled(5000.0)).expect("net");
    let dave = net
        .stranger(
            &dir.path().join("dave"),
            "dave@d.example",
            PeerType::Passive,
        )
        .expect("dave");
    let eve = net
        .stranger(&dir.path().join("eve"), "eve@e.example", PeerType::Stealth)
        .expect("eve");
    let mut running = start(&net);
    for n in [&dave, &eve] {
        let n = n.clone();
        let rx = running.stop.subscribe();
        running
            .handles
            .push(tokio::spawn(async move { n.run(rx).await }));
    }
    dave.request_descriptor("bob@b.example").expect("ask bob");
    dave.request_descriptor("eve@e.example").expect("ask eve");
    let knows = |n: &Node, a: &str| n.peers().expect("peers").iter().any(|p| p.address == a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline && !knows(&dave, "bob@b.example") {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(knows(&dave, "bob@b.example"), "bob answered");
    assert!(knows(&net.users[1], "dave@d.example"), "bob learned dave");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !knows(&dave, "eve@e.example"),
        "a stealth node never answers strangers"
    );
    assert!(
        !net.provider
            .submissions()
            .iter()
            .any(|m| m.from == "eve@e.example"),
        "eve sent nothing at all"
    );
    running.shutdown().await;
}

/// Packets that vanish downstream (here: relays that are not running, which the sender cannot
/// tell from relays that refuse them) show in bounded time: once the level's receipt deadline
/// passes, the message is "retry" with the reason, attempt 2 of 3, and a due time; when the
/// relays come back, the retry over fresh paths is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_attempt_is_retried_after_the_level_deadline_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LocalNetwork::create(dir.path(), 6, 2, Clock::scaled(2000.0)).expect("network");
    let (alice, bob) = (&net.users[0], &net.users[1]);
    // Fast mailboxes: one second per mail hop (poll plus transit), 2000 protocol seconds.
    alice
        .update_config(|c| {
            c.poll_seconds = 1;
            c.mail_transit_seconds = 0;
        })
        .expect("config");
    let level = LevelName::Fast.params();
    let wait = alice.receipt_wait_ms(&level);
    let hops = 2 * (u64::from(level.relays_per_path) + 1);
    assert_eq!(wait, level.receipt_deadline_ms(0.99, 2_000_000));
    assert!(wait >= hops * 2_000_000);

    // Only the two ends run: the packets wait in the relays' mailboxes.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut handles: Vec<_> = [alice, bob]
        .into_iter()
        .map(|n| {
            let (n, rx) = (n.clone(), rx.clone());
            tokio::spawn(async move { n.run(rx).await })
        })
        .collect();
    let id = send(alice, LevelName::Fast, "lost on the way, then found");
    let s = alice.status(&id).expect("status");
    assert_eq!(
        (s.attempt, s.max_attempts),
        (1, mailvortex_engine::MAX_ATTEMPTS)
    );
    assert!(s.receipt_due_ms.is_some(), "{s:?}");
    assert_eq!(wait_state(alice, &id, "sent", 20).await, "sent");
    let sent_at = std::time::Instant::now();
    // The retry's packets leave at once (state "sent" again), so watch the attempt count.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let s = loop {
        let s = alice.status(&id).expect("status");
        if s.attempt >= 2 || std::time::Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let waited = sent_at.elapsed();
    assert_eq!(s.attempt, 2, "{s:?}");
    let retry = s
        .timeline
        .iter()
        .find(|e| e.state == "retry")
        .unwrap_or_else(|| panic!("no retry step: {s:?}"));
    let detail = retry.detail.as_deref().unwrap_or("");
    assert!(
        detail.starts_with("attempt 2 of 3: no receipt within") && detail.contains("fresh paths"),
        "{s:?}"
    );
    // Real time: the deadline (in protocol ms) over the clock factor, give or take the
    // protocol minute of the duty loop.
    let expected = Duration::from_secs_f64(wait as f64 / 2000.0 / 1000.0);
    assert!(
        waited + Duration::from_secs(2) >= expected && waited <= expected + Duration::from_secs(15),
        "retried after {waited:?}, deadline {expected:?}"
    );

    // The relays come back: the second attempt (or the first, now moving) is delivered.
    for r in &net.relays {
        let (n, rx) = (r.clone(), rx.clone());
        handles.push(tokio::spawn(async move { n.run(rx).await }));
    }
    assert_eq!(wait_state(alice, &id, "delivered", 120).await, "delivered");
    let s = alice.status(&id).expect("status");
    assert!(s.receipt_due_ms.is_none(), "{s:?}");
    assert_eq!(bob.inbox().expect("inbox").len(), 1, "exactly once");
    let _ = stop.send(true);
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
    }
}
