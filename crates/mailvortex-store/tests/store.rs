//! Functional tests of every table's API, with fixed times.

use mailvortex_store::{
    DeliveryState, NewMessageIn, NewMessageOut, NewPacket, OutboxState, PacketKind, ShardAccept,
    Store, StoreError, StoreKey,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KEY: [u8; 32] = [0x42; 32];
const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn key() -> StoreKey {
    StoreKey::from_bytes(KEY)
}

fn open(dir: &tempfile::TempDir) -> Result<Store, StoreError> {
    Store::open(dir.path().join("node.sqlite"), key())
}

fn packet<'a>(account: &'a str, not_before_ms: i64, bytes: &'a [u8]) -> NewPacket<'a> {
    NewPacket {
        message_id: Some([1; 16]),
        kind: PacketKind::Message,
        account,
        to_address: "relay@example.org",
        packet: bytes,
        not_before_ms,
        created_ms: T0,
    }
}

#[test]
fn migrates_from_empty_and_reopens_idempotently() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open(&dir)?;
    let version = store.schema_version()?;
    assert!(version >= 1);
    store.kv_set("k", b"v")?;
    drop(store);
    for _ in 0..3 {
        let store = open(&dir)?;
        assert_eq!(store.schema_version()?, version);
        assert_eq!(store.kv_get("k")?, Some(b"v".to_vec()));
    }
    // Settings that durability depends on.
    let raw = rusqlite::Connection::open(dir.path().join("node.sqlite"))?;
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(dir.path().join("node.sqlite"))?
            .permissions()
            .mode();
        assert_eq!(m & 0o777, 0o600);
    }
    Ok(())
}

#[test]
fn newer_schema_is_refused_without_changes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let v = open(&dir)?.schema_version()?;
    let raw = rusqlite::Connection::open(dir.path().join("node.sqlite"))?;
    raw.pragma_update(None, "user_version", v + 1)?;
    drop(raw);
    match open(&dir) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (v + 1, v));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    Ok(())
}

#[test]
fn wrong_key_is_a_typed_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open(&dir)?;
    store.insert_message_in(&NewMessageIn {
        message_id: [7; 16],
        from_node_id: None,
        received_ms: T0,
        body: b"hello",
    })?;
    drop(store);
    let err = Store::open(
        dir.path().join("node.sqlite"),
        StoreKey::from_bytes([0x43; 32]),
    );
    assert!(matches!(err, Err(StoreError::WrongKey)), "{err:?}");
    // The right key still works and the row is intact.
    let store = open(&dir)?;
    let m = store.message_in(&[7; 16])?.ok_or("message lost")?;
    assert_eq!(&m.body[..], b"hello");
    Ok(())
}

#[test]
fn outbox_due_ordering_retry_and_failure() -> TestResult {
    let store = Store::open_in_memory(key())?;
    let late = store.enqueue(&packet("a@x", T0 + 30, b"late"))?;
    let early = store.enqueue(&packet("a@x", T0 + 10, b"early"))?;
    let tie = store.enqueue(&packet("b@x", T0 + 10, b"tie"))?;
    let future = store.enqueue(&NewPacket {
        message_id: None,
        kind: PacketKind::Relay,
        ..packet("a@x", T0 + HOUR, b"relay")
    })?;
    assert!(early < tie && late < early, "ids are increasing");

    let ids = |v: Vec<mailvortex_store::OutboxPacket>| v.iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(store.due(T0, 10)?), Vec::<i64>::new());
    assert_eq!(ids(store.due(T0 + 10, 10)?), [early, tie]);
    assert_eq!(ids(store.due(T0 + 30, 10)?), [early, tie, late]);
    assert_eq!(ids(store.due(T0 + 30, 2)?), [early, tie]);
    assert_eq!(store.next_due_ms()?, Some(T0 + 10));

    // Attempt 1 on `early` fails temporarily: back in the queue, later.
    assert_eq!(store.mark_sending(early)?, 1);
    assert_eq!(
        ids(store.due(T0 + 30, 10)?),
        [tie, late],
        "sending rows are not due"
    );
    store.mark_retry(early, "451 try later", T0 + 60)?;
    let p = store.outbox_packet(early)?.ok_or("row gone")?;
    assert_eq!(
        (
            p.state,
            p.attempts,
            p.not_before_ms,
            p.last_error.as_deref()
        ),
        (OutboxState::Queued, 1, T0 + 60, Some("451 try later"))
    );
    assert_eq!(ids(store.due(T0 + 60, 10)?), [tie, late, early]);

    // Attempt 2 fails for good.
    assert_eq!(store.mark_sending(early)?, 2);
    store.mark_failed(early, "550 no such user")?;
    assert_eq!(
        store.outbox_packet(early)?.map(|p| p.state),
        Some(OutboxState::Failed)
    );

    // `tie` is sent: packet bytes erased, send logged.
    store.mark_sending(tie)?;
    store.mark_sent(tie, T0 + 61)?;
    let p = store.outbox_packet(tie)?.ok_or("row gone")?;
    assert_eq!((p.state, p.packet.len()), (OutboxState::Sent, 0));
    assert_eq!(store.sends_since("b@x", T0)?, 1);

    // Wrong transitions are typed errors.
    assert!(matches!(
        store.mark_sent(tie, T0),
        Err(StoreError::WrongState { .. })
    ));
    assert!(matches!(
        store.mark_retry(late, "x", T0),
        Err(StoreError::WrongState { .. })
    ));
    assert!(matches!(
        store.mark_sending(9999),
        Err(StoreError::NotFound { .. })
    ));

    // Crash recovery: `sending` goes back to `queued`.
    store.mark_sending(late)?;
    assert_eq!(store.recover_interrupted()?, 1);
    assert_eq!(
        store.outbox_packet(late)?.map(|p| p.state),
        Some(OutboxState::Queued)
    );

    let relay = store.outbox_packet(future)?.ok_or("row gone")?;
    assert_eq!((relay.kind, relay.message_id), (PacketKind::Relay, None));
    assert_eq!(
        store.prune_outbox(T0 + 1)?,
        2,
        "sent and failed rows pruned"
    );
    Ok(())
}

#[test]
fn withdrawn_packets_never_leave_but_one_in_flight_is_kept() -> TestResult {
    let store = Store::open_in_memory(key())?;
    let a = store.enqueue(&packet("a@x", T0, b"one"))?;
    let b = store.enqueue(&packet("a@x", T0, b"two"))?;
    let other = store.enqueue(&NewPacket {
        message_id: Some([2; 16]),
        ..packet("a@x", T0, b"other message")
    })?;
    assert_eq!(store.mark_sending(a)?, 1);
    assert_eq!(store.withdraw_queued(&[1; 16], "cancelled")?, 1);
    // `a` is being handed over; `b` is withdrawn; the other message is untouched.
    assert_eq!(store.unsent_packets(&[1; 16])?, 1);
    let due: Vec<i64> = store.due(T0 + HOUR, 10)?.iter().map(|p| p.id).collect();
    assert_eq!(due, [other]);
    let withdrawn = store.outbox_packet(b)?.ok_or("packet b")?;
    assert_eq!(withdrawn.last_error.as_deref(), Some("cancelled"));
    assert_eq!(store.withdraw_queued(&[1; 16], "cancelled")?, 0);
    Ok(())
}

#[test]
fn send_budget_window() -> TestResult {
    let store = Store::open_in_memory(key())?;
    for t in [T0 - 2 * DAY, T0 - DAY - 1, T0 - DAY, T0 - HOUR, T0] {
        store.record_send("alice@example.org", t)?;
    }
    store.record_send("bob@example.org", T0)?;
    let since = T0 - DAY;
    assert_eq!(store.sends_since("alice@example.org", since)?, 3);
    assert_eq!(store.sends_since("bob@example.org", since)?, 1);
    assert_eq!(store.sends_since("carol@example.org", since)?, 0);
    assert_eq!(
        store.sends_per_account_since(since)?,
        [
            ("alice@example.org".to_owned(), 3),
            ("bob@example.org".to_owned(), 1)
        ]
    );
    assert_eq!(store.prune_sends(since)?, 2);
    assert_eq!(store.sends_since("alice@example.org", 0)?, 3);
    Ok(())
}

#[test]
fn shards_insert_if_absent_list_count_delete() -> TestResult {
    let store = Store::open_in_memory(key())?;
    let (m1, m2) = ([1u8; 16], [2u8; 16]);
    assert!(store.insert_shard(&m1, 3, b"three", T0)?);
    assert!(store.insert_shard(&m1, 0, b"zero", T0 + 1)?);
    assert!(
        !store.insert_shard(&m1, 3, b"other", T0 + 2)?,
        "duplicate ignored"
    );
    assert!(store.insert_shard(&m2, 0, b"m2", T0 + 5 * HOUR)?);
    assert_eq!(store.shard_count(&m1)?, 2);
    let shards = store.shards(&m1)?;
    let got: Vec<(u32, &[u8])> = shards.iter().map(|s| (s.index, &s.data[..])).collect();
    assert_eq!(got, [(0, &b"zero"[..]), (3, &b"three"[..])]);
    // m1's newest shard is older than T0 + HOUR, m2's is not.
    assert_eq!(store.prune_stale_shards(T0 + HOUR)?, 2);
    assert_eq!(store.shard_count(&m1)?, 0);
    assert_eq!(store.delete_shards(&m2)?, 1);
    Ok(())
}

#[test]
fn replay_tags_and_accept_operations() -> TestResult {
    let store = Store::open_in_memory(key())?;
    assert!(store.check_and_insert_replay_tag(5, &[9; 32])?);
    assert!(!store.check_and_insert_replay_tag(5, &[9; 32])?);
    assert!(
        store.check_and_insert_replay_tag(6, &[9; 32])?,
        "tags are per epoch"
    );

    let fwd = NewPacket {
        message_id: None,
        kind: PacketKind::Relay,
        ..packet("relay@x", T0 + HOUR, b"onion")
    };
    let id = store
        .accept_relay(6, &[1; 32], &fwd)?
        .ok_or("fresh tag refused")?;
    assert_eq!(store.accept_relay(6, &[1; 32], &fwd)?, None);
    assert_eq!(
        store.outbox_packet(id)?.map(|p| p.packet),
        Some(b"onion".to_vec())
    );
    assert_eq!(
        store.due(T0 + HOUR, 10)?.len(),
        1,
        "the replay enqueued nothing"
    );

    let m = [3u8; 16];
    assert_eq!(
        store.accept_shard(6, &[2; 32], &m, 0, b"s0", T0)?,
        ShardAccept::New { count: 1 }
    );
    assert_eq!(
        store.accept_shard(6, &[2; 32], &m, 1, b"s1", T0)?,
        ShardAccept::Replayed
    );
    assert_eq!(
        store.accept_shard(6, &[3; 32], &m, 0, b"s0", T0)?,
        ShardAccept::Duplicate { count: 1 }
    );
    assert_eq!(
        store.accept_shard(6, &[4; 32], &m, 1, b"s1", T0)?,
        ShardAccept::New { count: 2 }
    );

    assert_eq!(store.prune_replay_tags(6)?, 1, "only epoch 5 pruned");
    assert!(
        store.check_and_insert_replay_tag(5, &[9; 32])?,
        "pruned tag is fresh again"
    );
    assert!(!store.check_and_insert_replay_tag(6, &[9; 32])?);
    Ok(())
}

#[test]
fn peers_upsert_and_counters() -> TestResult {
    let store = Store::open_in_memory(key())?;
    let (a, b) = ([0xaa; 32], [0x01; 32]);
    assert!(store.upsert_peer(&a, "a@relay.example", b"desc-a1", T0)?);
    assert!(store.upsert_peer(&b, "b@relay.example", b"desc-b", T0)?);
    store.record_peer_success(&a, T0 + 1)?;
    store.record_peer_failure(&a, T0 + HOUR)?;
    store.record_peer_failure(&a, T0 + 10)?; // never shortens the avoidance
    assert!(!store.upsert_peer(&a, "a2@relay.example", b"desc-a2", T0 + 2)?);
    let p = store.peer(&a)?.ok_or("peer lost")?;
    assert_eq!(
        (
            p.address.as_str(),
            &p.descriptor[..],
            p.imported_ms,
            p.last_seen_ms
        ),
        ("a2@relay.example", &b"desc-a2"[..], T0 + 2, Some(T0 + 1))
    );
    assert_eq!(
        (p.successes, p.failures, p.avoided_until_ms),
        (1, 2, T0 + HOUR)
    );
    let all: Vec<_> = store.peers()?.into_iter().map(|p| p.node_id).collect();
    assert_eq!(all, [b, a], "ordered by node id");
    let usable: Vec<_> = store
        .usable_peers(T0 + 5)?
        .into_iter()
        .map(|p| p.node_id)
        .collect();
    assert_eq!(usable, [b]);
    assert_eq!(store.usable_peers(T0 + HOUR)?.len(), 2);
    assert!(matches!(
        store.record_peer_success(&[0; 32], T0),
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.delete_peer(&b)?);
    assert!(!store.delete_peer(&b)?);
    Ok(())
}

#[test]
fn sent_message_timeline() -> TestResult {
    let store = Store::open_in_memory(key())?;
    let id = [5u8; 16];
    let m = NewMessageOut {
        message_id: id,
        to_address: "bob@example.org",
        level: "strong",
        size: 1234,
        created_ms: T0,
    };
    assert!(store.create_message_out(&m)?);
    assert!(!store.create_message_out(&m)?, "idempotent");
    store.record_delivery_event(&id, DeliveryState::Retry, T0 + 10, Some("451"))?;
    store.record_delivery_event(&id, DeliveryState::Sent, T0 + 20, None)?;
    // An event that arrives late but happened earlier does not win.
    store.record_delivery_event(&id, DeliveryState::Retry, T0 + 15, Some("late log"))?;
    assert_eq!(
        store.message_out(&id)?.map(|m| m.state),
        Some(DeliveryState::Sent)
    );
    store.record_delivery_event(&id, DeliveryState::Delivered, T0 + 30, None)?;
    let timeline: Vec<_> = store
        .delivery_timeline(&id)?
        .into_iter()
        .map(|e| (e.state, e.at_ms))
        .collect();
    assert_eq!(
        timeline,
        [
            (DeliveryState::Queued, T0),
            (DeliveryState::Retry, T0 + 10),
            (DeliveryState::Retry, T0 + 15),
            (DeliveryState::Sent, T0 + 20),
            (DeliveryState::Delivered, T0 + 30),
        ]
    );
    let listed = store.messages_out(10)?;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].size, listed[0].state),
        (1234, DeliveryState::Delivered)
    );
    assert!(matches!(
        store.record_delivery_event(&[6; 16], DeliveryState::Sent, T0, None),
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.delete_message_out(&id)?);
    assert!(store.delivery_timeline(&id)?.is_empty(), "events cascade");
    Ok(())
}

#[test]
fn received_messages_sealed_idempotent_and_unswappable() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = open(&dir)?;
    let (a, b) = ([0xa0; 16], [0xb0; 16]);
    let new = |id, body| NewMessageIn {
        message_id: id,
        from_node_id: Some([0xcc; 32]),
        received_ms: T0,
        body,
    };
    assert!(store.insert_message_in(&new(a, b"body of a"))?);
    assert!(
        !store.insert_message_in(&new(a, b"different"))?,
        "idempotent"
    );
    assert!(store.insert_shard(&b, 0, b"shard", T0)?);
    assert!(store.complete_inbound(&NewMessageIn {
        received_ms: T0 + 1,
        ..new(b, b"body of b")
    })?);
    assert_eq!(store.shard_count(&b)?, 0, "shards deleted with completion");

    let list = store.messages_in()?;
    assert_eq!(
        list.iter().map(|m| m.message_id).collect::<Vec<_>>(),
        [b, a]
    );
    assert!(!list[0].read);
    store.set_message_in_read(&a, true)?;
    let got = store.message_in(&a)?.ok_or("missing")?;
    assert_eq!((&got.body[..], got.meta.read), (&b"body of a"[..], true));
    assert!(store.message_in(&[0; 16])?.is_none());
    drop(store);

    // Copy a's sealed blob into b's row: the binding check catches it.
    let raw = rusqlite::Connection::open(dir.path().join("node.sqlite"))?;
    raw.execute(
        "UPDATE messages_in SET sealed = (SELECT sealed FROM messages_in WHERE message_id = ?1)
         WHERE message_id = ?2",
        [&a[..], &b[..]],
    )?;
    drop(raw);
    let store = open(&dir)?;
    assert!(matches!(
        store.message_in(&b),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(store.message_in(&a)?.is_some());
    assert!(store.delete_message_in(&b)?);
    Ok(())
}

#[test]
fn kv_round_trip() -> TestResult {
    let store = Store::open_in_memory(key())?;
    assert_eq!(store.kv_get("x")?, None);
    store.kv_set("x", b"1")?;
    store.kv_set("x", b"2")?;
    assert_eq!(store.kv_get("x")?, Some(b"2".to_vec()));
    assert!(store.kv_delete("x")?);
    assert!(!store.kv_delete("x")?);
    Ok(())
}

#[test]
fn hot_queries_use_indexes() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(open(&dir)?);
    let raw = rusqlite::Connection::open(dir.path().join("node.sqlite"))?;
    let plan = |sql: &str| -> rusqlite::Result<String> {
        let mut stmt = raw.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(3))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.join(" | "))
    };
    for (sql, index) in [
        (
            "SELECT id FROM outbox WHERE state = 'queued' AND not_before_ms <= 5 ORDER BY not_before_ms, id LIMIT 10",
            "outbox_due",
        ),
        (
            "SELECT count(*) FROM sends WHERE account = 'a' AND sent_ms >= 5",
            "sends_account_time",
        ),
        (
            "SELECT count(*) FROM inbound_shards WHERE message_id = x'00'",
            "sqlite_autoindex_inbound_shards",
        ),
        (
            "SELECT state FROM delivery_events WHERE message_id = x'00' ORDER BY at_ms, id",
            "delivery_events_message",
        ),
    ] {
        let p = plan(sql)?;
        assert!(p.contains(index), "{sql}\n  plan: {p}");
        assert!(!p.contains("TEMP B-TREE"), "{sql}\n  sorts: {p}");
    }
    Ok(())
}
