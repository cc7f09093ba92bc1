//! What a user does with a message after sending or receiving it (the desktop app's buttons):
//! a stopped message never leaves, a failed one goes out again on request and arrives once,
//! a reply reaches the sender anonymously; the outbox shows subjects, the helpers screen the
//! relays' health, and the default level is a setting.

use std::time::Duration;

use mailvortex_engine::localnet::LocalNetwork;
use mailvortex_engine::{Clock, EngineError, Node, SendRequest};
use mailvortex_proto::level::LevelName;

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

fn send(node: &Node, to: &str, subject: &str, body: &str, level: LevelName) -> String {
    node.send(SendRequest {
        to: to.into(),
        subject: subject.into(),
        body: body.as_bytes().to_vec(),
        file_name: None,
        level,
    })
    .expect("send")
}

struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<mailvortex_engine::Result<()>>>,
}

impl Running {
    fn start<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Running {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let handles = nodes
            .into_iter()
            .map(|n| {
                let (n, rx) = (n.clone(), rx.clone());
                tokio::spawn(async move { n.run(rx).await })
            })
            .collect();
        Running { stop, handles }
    }

    async fn shutdown(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_message_never_leaves_and_cannot_be_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LocalNetwork::create(dir.path(), 6, 2, Clock::scaled(2000.0)).expect("network");
    let (alice, bob) = (&net.users[0], &net.users[1]);
    let id = send(alice, "bob@b.example", "never", "stop me", LevelName::Fast);
    let s = alice.status(&id).expect("status");
    assert_eq!(s.subject.as_deref(), Some("never"));
    assert_eq!(s.state, "queued");

    let s = alice.cancel_message(&id).expect("cancel");
    assert_eq!(s.state, "failed");
    let last = s.timeline.last().expect("a step");
    let detail = last.detail.as_deref().unwrap_or("");
    assert!(
        detail.starts_with("cancelled at your request (") && !detail.starts_with("(0 "),
        "{s:?}"
    );
    assert!(s.receipt_due_ms.is_none());

    // Nothing left to send again, and a second stop is refused in plain words.
    let e = alice.retry_message(&id).expect_err("no retry after a stop");
    assert!(
        matches!(&e, EngineError::Invalid(m) if m.contains("can no longer be sent again")),
        "{e}"
    );

    // The whole network runs for a while: bob never gets it.
    let running = Running::start(net.nodes());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        bob.inbox().expect("inbox").is_empty(),
        "a stopped message arrived"
    );
    assert_eq!(alice.status(&id).expect("status").state, "failed");
    running.shutdown().await;

    // A delivered or unknown message cannot be stopped.
    let e = alice
        .cancel_message("00000000000000000000000000000000")
        .expect_err("unknown");
    assert!(matches!(e, EngineError::NotFound(_)), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_goes_out_again_on_request_then_the_reply_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = LocalNetwork::create(dir.path(), 4, 2, Clock::scaled(2000.0)).expect("network");
    let (alice, bob) = (&net.users[0], &net.users[1]);
    alice
        .update_config(|c| {
            c.poll_seconds = 1;
            c.mail_transit_seconds = 0;
        })
        .expect("config");
    let only_alice = Running::start([alice]);
    let id = send(
        alice,
        "bob@b.example",
        "Lunch?",
        "Friday at noon?",
        LevelName::Direct,
    );
    assert_eq!(wait_state(alice, &id, "failed", 90).await, "failed");
    let s = alice.status(&id).expect("status");
    assert_eq!(s.attempt, mailvortex_engine::MAX_ATTEMPTS, "{s:?}");
    only_alice.shutdown().await;

    // Bob and the relays are back; the user presses "Try again".
    let running = Running::start(net.nodes());
    let s = alice.retry_message(&id).expect("retry");
    assert_eq!((s.state.as_str(), s.attempt), ("retry", 1), "{s:?}");
    let step = s.timeline.last().expect("a step");
    assert!(
        step.detail
            .as_deref()
            .unwrap_or("")
            .starts_with("attempt 1 of 3: sent again at your request"),
        "{s:?}"
    );
    assert_eq!(wait_state(alice, &id, "delivered", 60).await, "delivered");
    let inbox = bob.inbox().expect("inbox");
    assert_eq!(inbox.len(), 1, "exactly once: {inbox:?}");
    let e = alice.retry_message(&id).expect_err("delivered");
    assert!(
        matches!(&e, EngineError::Invalid(m) if m.contains("already delivered")),
        "{e}"
    );

    // Bob answers at the standard level: alice gets "Re: Lunch?" from bob, anonymously.
    let reply = bob
        .reply(
            &inbox[0].message_id,
            b"Yes, see you".to_vec(),
            LevelName::Standard,
        )
        .expect("reply");
    assert_eq!(
        bob.status(&reply).expect("status").subject.as_deref(),
        Some("Re: Lunch?")
    );
    assert_eq!(wait_state(bob, &reply, "delivered", 60).await, "delivered");
    let got = alice.read(&reply).expect("alice has the reply");
    assert_eq!(got.summary.subject, "Re: Lunch?");
    assert_eq!(got.summary.from.as_deref(), Some("bob@b.example"));
    assert_eq!(got.body, b"Yes, see you");
    assert_eq!(got.level, "standard");
    running.shutdown().await;

    // The helpers screen: every relay alice knows, with its record.
    let relays = alice.relays().expect("relays");
    assert_eq!(relays.len(), net.relays.len(), "{relays:?}");
    assert!(relays.iter().all(|r| r.address.ends_with(".example")));
    assert!(alice.disk_usage() > 0);
}

#[test]
fn reply_subjects_and_the_default_level() {
    use mailvortex_engine::reply_subject;
    assert_eq!(reply_subject("Lunch?"), "Re: Lunch?");
    assert_eq!(reply_subject("Re: Lunch?"), "Re: Lunch?");
    assert_eq!(reply_subject("RE:Lunch?"), "RE:Lunch?");
    assert_eq!(reply_subject(""), "Re: ");

    let mut c = mailvortex_engine::NodeConfig::new("passive");
    assert_eq!(c.level_by_default(), LevelName::Standard);
    c.default_level = "strong".into();
    assert_eq!(c.level_by_default(), LevelName::Strong);
    c.default_level = "bogus".into();
    assert_eq!(c.level_by_default(), LevelName::Standard);
    // Files written before the setting existed read as standard.
    let mut v = serde_json::to_value(mailvortex_engine::NodeConfig::new("passive")).expect("json");
    v.as_object_mut().expect("object").remove("default_level");
    let old: mailvortex_engine::NodeConfig = serde_json::from_value(v).expect("old config");
    assert_eq!(old.default_level, "standard");
}
