//! Crash atomicity (child processes that die mid-transaction), concurrent
//! replay checks, and encryption at rest as seen in the files on disk.
//!
//! The crash tests re-execute this test binary (`--exact <test name>`) with
//! `MAILVORTEX_STORE_CHILD` set; the child plays the crashing node.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use mailvortex_store::{NewMessageIn, NewMessageOut, NewPacket, PacketKind, Store, StoreKey};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const CHILD_ENV: &str = "MAILVORTEX_STORE_CHILD";
const DB_ENV: &str = "MAILVORTEX_STORE_DB";
const T0: i64 = 1_800_000_000_000;

fn key() -> StoreKey {
    StoreKey::from_bytes([0x17; 32])
}

fn relay_packet(bytes: &[u8]) -> NewPacket<'_> {
    NewPacket {
        message_id: None,
        kind: PacketKind::Relay,
        account: "relay@example.org",
        to_address: "next@example.net",
        packet: bytes,
        not_before_ms: T0,
        created_ms: T0,
    }
}

/// `Some(db path)` when running as the child of `test`.
fn child_role(test: &str) -> Option<PathBuf> {
    if std::env::var(CHILD_ENV).as_deref() == Ok(test) {
        std::env::var_os(DB_ENV).map(PathBuf::from)
    } else {
        None
    }
}

fn child_command(test: &str, db: &Path) -> Result<Command, std::io::Error> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .env(DB_ENV, db)
        .stdin(Stdio::null());
    Ok(cmd)
}

fn count(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<i64> {
    conn.query_row(sql, [], |r| r.get(0))
}

fn assert_healthy(conn: &rusqlite::Connection) -> TestResult {
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    assert_eq!(ok, "ok");
    assert_eq!(
        count(conn, "SELECT count(*) FROM pragma_foreign_key_check")?,
        0
    );
    Ok(())
}

fn file_len(p: &Path) -> u64 {
    fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// The child commits one packet, then writes 2 MB in a transaction that
/// spills into the WAL, then exits without committing.
#[test]
fn exit_mid_transaction_leaves_nothing_partial() -> TestResult {
    const NAME: &str = "exit_mid_transaction_leaves_nothing_partial";
    if let Some(db) = child_role(NAME) {
        let store = Store::open(&db, key())?;
        store.enqueue(&relay_packet(b"committed before the crash"))?;
        let wal = PathBuf::from(format!("{}-wal", db.display()));
        let before = file_len(&wal);
        let conn = rusqlite::Connection::open(&db)?;
        conn.execute_batch("PRAGMA cache_size = 8; PRAGMA cache_spill = ON; BEGIN IMMEDIATE;")?;
        let blob = vec![0xab_u8; 1024];
        for i in 0..2000 {
            conn.execute(
                "INSERT INTO outbox (kind, account, to_address, packet, not_before_ms, created_ms)
                 VALUES ('cover', 'a', 'b', ?1, ?2, ?2)",
                rusqlite::params![blob, i],
            )?;
        }
        println!("wal grew from {before} to {} bytes", file_len(&wal));
        std::io::stdout().flush()?;
        // Die without COMMIT, without ROLLBACK, without running destructors.
        std::process::exit(if file_len(&wal) > before + 1_000_000 {
            0
        } else {
            3
        });
    }

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("node.sqlite");
    let out = child_command(NAME, &db)?.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("wal grew"),
        "child failed or did not spill uncommitted pages into the WAL ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let store = Store::open(&db, key())?;
    let due = store.due(T0, 10_000)?;
    assert_eq!(due.len(), 1, "uncommitted rows are visible");
    assert_eq!(due[0].packet, b"committed before the crash");
    drop(store);
    assert_healthy(&rusqlite::Connection::open(&db)?)?;
    Ok(())
}

/// The child loops over multi-statement operations and prints "acked N"
/// after each returns; it is SIGKILLed at a random point. Everything acked
/// must be there, and no operation may be half done.
#[test]
fn killed_node_keeps_acked_work_and_no_half_operations() -> TestResult {
    const NAME: &str = "killed_node_keeps_acked_work_and_no_half_operations";
    if let Some(db) = child_role(NAME) {
        let store = Store::open(&db, key())?;
        let mut out = std::io::stdout().lock();
        for i in 0u32.. {
            let mut tag = [0u8; 32];
            tag[..4].copy_from_slice(&i.to_be_bytes());
            store
                .accept_relay(1, &tag, &relay_packet(&tag))?
                .ok_or("fresh tag refused")?;
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&i.to_be_bytes());
            store.create_message_out(&NewMessageOut {
                message_id: id,
                to_address: "bob@example.org",
                level: "strong",
                size: 100,
                created_ms: T0,
            })?;
            writeln!(out, "acked {i}")?;
            out.flush()?;
        }
        return Ok(());
    }

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("node.sqlite");
    let mut child = child_command(NAME, &db)?
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    // The test harness prints its own header first, and "test <name> ... "
    // without a newline before the child's first line.
    let acked = |l: &str| -> Option<i64> { l.split("acked ").nth(1)?.trim().parse().ok() };
    let first = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| acked(&l))
        .ok_or("the child acknowledged nothing")?;
    assert_eq!(first, 0);
    std::thread::sleep(Duration::from_millis(150));
    child.kill()?; // SIGKILL: no destructors, no rollback
    child.wait()?;
    let last_acked: i64 = lines
        .map_while(Result::ok)
        .filter_map(|l| acked(&l))
        .max()
        .unwrap_or(0);

    drop(Store::open(&db, key())?); // recovery through the normal path
    let conn = rusqlite::Connection::open(&db)?;
    assert_healthy(&conn)?;
    let tags = count(&conn, "SELECT count(*) FROM replay_tags")?;
    let packets = count(&conn, "SELECT count(*) FROM outbox")?;
    let messages = count(&conn, "SELECT count(*) FROM messages_out")?;
    let events = count(&conn, "SELECT count(*) FROM delivery_events")?;
    eprintln!("killed after ack {last_acked}: {tags} tags, {packets} packets, {messages} messages");
    assert!(
        packets > last_acked,
        "acked work lost: {packets} packets, acked {last_acked}"
    );
    assert_eq!(
        tags, packets,
        "a replay tag without its packet or vice versa"
    );
    assert_eq!(
        messages, events,
        "a message without its first event or vice versa"
    );
    assert!(messages == packets || messages + 1 == packets);
    Ok(())
}

#[test]
fn concurrent_replay_checks_accept_each_tag_once() -> TestResult {
    const THREADS: usize = 4;
    const TAGS: u32 = 120;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("node.sqlite");
    drop(Store::open(&db, key())?);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (db, barrier) = (db.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<Vec<u32>, String> {
                let store = Store::open(&db, key()).map_err(|e| e.to_string())?;
                barrier.wait();
                let mut fresh = Vec::new();
                // Every thread tries every tag, starting at a different place.
                for k in 0..TAGS {
                    let i = (k + t as u32 * 37) % TAGS;
                    let mut tag = [0u8; 32];
                    tag[..4].copy_from_slice(&i.to_be_bytes());
                    if store
                        .check_and_insert_replay_tag(9, &tag)
                        .map_err(|e| format!("{e:?}"))?
                    {
                        fresh.push(i);
                    }
                }
                Ok(fresh)
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        let fresh = h.join().map_err(|_| "thread panicked")??;
        all.extend(fresh);
    }
    all.sort_unstable();
    let expected: Vec<u32> = (0..TAGS).collect();
    assert_eq!(all, expected, "a tag was accepted twice or never");
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn db_files(db: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let p = format!("{}{suffix}", db.display());
            fs::read(&p).ok().map(|b| (p, b))
        })
        .collect()
}

#[test]
fn bodies_and_shards_never_reach_disk_in_plaintext() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("node.sqlite");
    let body = b"BODY-PLAINTEXT-MARKER: meet at the old mill at nine".repeat(20);
    let shard = b"SHARD-PLAINTEXT-MARKER: 0123456789".repeat(10);
    let control = b"KV-PLAINTEXT-CONTROL-MARKER";
    let scan = |stage: &str| -> TestResult {
        let files = db_files(&db);
        assert!(!files.is_empty());
        let mut control_seen = false;
        for (name, bytes) in &files {
            assert!(
                !contains(bytes, b"BODY-PLAINTEXT-MARKER"),
                "{stage}: body in {name}"
            );
            assert!(
                !contains(bytes, b"SHARD-PLAINTEXT-MARKER"),
                "{stage}: shard in {name}"
            );
            control_seen |= contains(bytes, control);
        }
        // The scan works: a plaintext column is found.
        assert!(
            control_seen,
            "{stage}: the control value was not found, the scan is broken"
        );
        Ok(())
    };

    let store = Store::open(&db, key())?;
    store.kv_set("control", control)?;
    let mid = [0x33; 16];
    store.accept_shard(1, &[1; 32], &mid, 0, &shard, T0)?;
    store.insert_shard(&mid, 1, &shard, T0)?;
    scan("shards in the WAL")?;
    store.complete_inbound(&NewMessageIn {
        message_id: mid,
        from_node_id: None,
        received_ms: T0,
        body: &body,
    })?;
    scan("message in the WAL")?;
    assert!(store.checkpoint()?);
    scan("after checkpoint")?;
    let got = store.message_in(&mid)?.ok_or("message missing")?;
    assert_eq!(&got.body[..], &body[..]);
    drop(store);
    scan("after close")?;
    Ok(())
}
