//! # mailvortex-e2e: MailVortex end to end, over real mail servers
//!
//! Support library for the tests in `tests/` and the benchmark `src/bin/e2e_bench.rs`:
//!
//! - [`harness::Harness`] starts real Postfix + Dovecot providers on loopback with
//!   `tests/harness/mailservers-up.sh` (in a short temporary directory), parses
//!   `harness.env`, injects faults and stops everything again;
//! - [`binary::mailvortex_bin`] finds the real `mailvortex` binary (a release build of
//!   `mailvortex-cli`, built on first use);
//! - [`node::Node`] is one MailVortex node: a home directory driven through the CLI, and a
//!   daemon (`mailvortex --json run`) as a child process whose JSON event lines are collected,
//!   which can be killed with SIGKILL and restarted;
//! - [`net::Network`] builds a whole network (alice, bob, relays), exchanges descriptors,
//!   sends files and checks that they arrive intact, with their receipt;
//! - [`mail`] reads the providers' Maildirs and submits raw mails over SMTP (replays);
//! - [`leak`] scans every mailbox and log for addresses, subjects and content.
//!
//! Every wait polls with a bounded timeout and fails with a message that says what was
//! awaited, what was seen, and where the logs are.

pub mod binary;
pub mod harness;
pub mod leak;
pub mod mail;
pub mod net;
pub mod node;

use std::time::{Duration, Instant};

use rand::SeedableRng;

/// Serialises the e2e tests across threads and processes (`cargo test` runs the tests of a
/// binary in parallel, nextest runs binaries in parallel): on this 2-core machine two mail
/// networks at once would only make both slow and their timing meaningless. Hold the returned
/// guard for the whole test.
pub fn exclusive() -> std::fs::File {
    let path = std::env::temp_dir().join("mailvortex-e2e.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let started = Instant::now();
    if file.try_lock().is_err() {
        eprintln!(
            "[e2e] waiting for another e2e test to finish (lock {})",
            path.display()
        );
        file.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        eprintln!(
            "[e2e] got the lock after {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    file
}

/// A seeded RNG for the random choices of a test (kill points, payloads). The seed is
/// `MVX_E2E_SEED` if set, otherwise fresh; it is printed so that a failure can be replayed.
pub fn rng(test: &str) -> rand_chacha::ChaCha8Rng {
    let seed = std::env::var("MVX_E2E_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| rand::random::<u64>() >> 1);
    eprintln!("[e2e] {test}: random seed {seed} (set MVX_E2E_SEED={seed} to repeat)");
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}

/// Whether to run the heavy variants in their quick form (`MVX_E2E_QUICK=1`): see
/// docs/testing-e2e.md.
pub fn quick() -> bool {
    std::env::var("MVX_E2E_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Prints a progress line with the time since `start` (visible with `--nocapture`, and in
/// the output of a failed test).
pub fn progress(start: Instant, what: impl std::fmt::Display) {
    eprintln!("[e2e {:7.1} s] {what}", start.elapsed().as_secs_f64());
}

/// Polls `check` every `every` until it returns `Some`, or panics after `timeout` with
/// `what` and the last diagnostic `check` left in its `Err`.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) => {
                if start.elapsed() > timeout {
                    panic!("timed out after {timeout:?} waiting for {what}; last state: {last}");
                }
            }
        }
        std::thread::sleep(every);
    }
}

/// Bytes as a short human size (`1.0 MiB`).
pub fn human(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    }
}
