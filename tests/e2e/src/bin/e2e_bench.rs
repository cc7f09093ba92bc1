//! End-to-end delivery benchmark (not a test): alice → three relays → bob over the real
//! loopback providers, with zero mixing delay, for 1 MiB and 25 MiB; plus the peak RSS of
//! the relays while they relay 25 MiB.
//!
//! ```sh
//! sudo cargo run --release -p mailvortex-e2e --bin e2e_bench            # 1 MiB x3, 25 MiB x1
//! sudo cargo run --release -p mailvortex-e2e --bin e2e_bench -- --runs 5 --sizes 1,25
//! ```
//!
//! Zero mixing delay: `mailvortex send --level standard --mean-delay-ms 0` (a hidden option:
//! the standard level's three relays, no mixing delay). The network has exactly three
//! relays (relay1@a.test, relay2@b.test, relay3@c.test), so every packet crosses all three.
//! The daemons run in real time (`--time-factor 1`, the default here): IMAP IDLE, the
//! outbox's once-a-second look at the store and every timeout are as in production.
//! `--time-factor 1000` shrinks the 60-second IMAP poll to 60 ms (see docs/testing-e2e.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailvortex_e2e::net::{NetOptions, Network};
use mailvortex_e2e::node::{proc_status_kb, reset_peak_rss};

const MIB: usize = 1024 * 1024;

struct Row {
    size_mib: usize,
    run: usize,
    packets: usize,
    received: Duration,
    receipt: Duration,
    relay_peak_kb: Option<u64>,
    relay_peak_since_start_kb: Option<u64>,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "e2e_bench [--sizes 1,25] [--runs N (1 MiB runs; 25 MiB runs once)] [--time-factor F]"
        );
        return;
    }
    let sizes: Vec<usize> = arg(&args, "--sizes")
        .unwrap_or_else(|| "1,25".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = arg(&args, "--runs")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let factor: f64 = arg(&args, "--time-factor")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let _lock = mailvortex_e2e::exclusive();
    let mut opts = NetOptions::new("bench", "127.0.9");
    opts.relays = 3;
    opts.time_factor = factor;
    let net = Network::start(&opts);
    let mut rng = mailvortex_e2e::rng("bench");
    // Peak RSS of the relays from their start until now (the vault unlock, Argon2id with
    // 64 MiB, happens at start); later peaks are measured after resetting VmHWM.
    let startup_peak: Option<u64> = net
        .relays
        .iter()
        .filter_map(|r| r.pid())
        .filter_map(|p| proc_status_kb(p, "VmHWM"))
        .max();
    // Cold start, not in the table: the daemons' first SMTP session and first IDLE of each
    // mailbox. Printed for reference.
    let warm = net.payload("bench-warmup.bin", 64 * 1024, None, &mut rng);
    let sent = net.send_with(
        &warm,
        "bench warm-up",
        "standard",
        &["--mean-delay-ms", "0"],
    );
    let cold = net.await_delivery(std::slice::from_ref(&sent), Duration::from_secs(300))[0];
    eprintln!(
        "[bench] cold start (64 KiB warm-up, {} packets): delivered after {:.2} s, receipt after {:.2} s",
        sent.packets,
        cold.received.as_secs_f64(),
        cold.receipt.as_secs_f64()
    );
    let mut rows = Vec::new();
    for &size_mib in &sizes {
        let n = if size_mib >= 10 { 1 } else { runs };
        for run in 0..n {
            let file = net.payload(
                &format!("bench-{size_mib}-{run}.bin"),
                size_mib * MIB,
                None,
                &mut rng,
            );
            // Peak RSS of the relays while this message passes: reset VmHWM first (the
            // daemon's start-up, e.g. the 64 MiB Argon2id unlock, is not relaying).
            let pids: Vec<u32> = net.relays.iter().filter_map(|r| r.pid()).collect();
            let reset = pids.iter().all(|p| reset_peak_rss(*p));
            let sampling = Arc::new(AtomicBool::new(true));
            let peak = Arc::new(Mutex::new(0u64));
            let sampler = {
                let (sampling, peak, pids) = (sampling.clone(), peak.clone(), pids.clone());
                std::thread::spawn(move || {
                    while sampling.load(Ordering::Relaxed) {
                        for p in &pids {
                            if let Some(kb) = proc_status_kb(*p, "VmRSS") {
                                let mut m = peak.lock().unwrap_or_else(|e| e.into_inner());
                                *m = (*m).max(kb);
                            }
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
            };
            let sent = net.send_with(
                &file,
                &format!("bench {size_mib} MiB #{run}"),
                "standard",
                &["--mean-delay-ms", "0"],
            );
            let timeout = Duration::from_secs(if size_mib >= 10 { 3600 } else { 300 });
            let arrival = net.await_delivery(std::slice::from_ref(&sent), timeout)[0];
            sampling.store(false, Ordering::Relaxed);
            let _ = sampler.join();
            net.verify_received(&sent);
            let hwm = pids
                .iter()
                .filter_map(|p| proc_status_kb(*p, "VmHWM"))
                .max();
            let sampled = *peak.lock().unwrap_or_else(|e| e.into_inner());
            let relay_peak = if reset { hwm } else { Some(sampled) };
            let since = relay_peak.max(startup_peak);
            eprintln!(
                "[bench] {size_mib} MiB #{run}: {} packets, received after {:.2} s, receipt after {:.2} s, relay peak RSS {} kB (sampled {sampled} kB)",
                sent.packets,
                arrival.received.as_secs_f64(),
                arrival.receipt.as_secs_f64(),
                relay_peak.unwrap_or(0)
            );
            eprintln!(
                "[bench] timeline (s after send):\n{}",
                net.timeline(sent.started)
            );
            rows.push(Row {
                size_mib,
                run,
                packets: sent.packets,
                received: arrival.received,
                receipt: arrival.receipt,
                relay_peak_kb: if size_mib >= 10 { relay_peak } else { None },
                relay_peak_since_start_kb: if size_mib >= 10 { since } else { None },
            });
        }
    }
    print_table(&rows, factor);
}

fn print_table(rows: &[Row], factor: f64) {
    println!();
    println!(
        "MailVortex end-to-end benchmark: alice -> 3 relays -> bob, loopback Postfix+Dovecot, zero mixing delay"
    );
    println!(
        "(standard level with --mean-delay-ms 0, daemons at --time-factor {factor}; times from `mailvortex send` start)"
    );
    println!();
    println!(
        "| size | run | packets | delivered (s) | MB/min | receipt back (s) | relay peak RSS while relaying |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let mb = (r.size_mib * MIB) as f64 / 1e6;
        let rate = mb / (r.received.as_secs_f64() / 60.0);
        let rss = match (r.relay_peak_kb, r.relay_peak_since_start_kb) {
            (Some(p), Some(s)) => format!(
                "{:.1} MiB (peak since process start, incl. vault unlock: {:.1} MiB)",
                p as f64 / 1024.0,
                s as f64 / 1024.0
            ),
            (Some(p), None) => format!("{:.1} MiB", p as f64 / 1024.0),
            _ => "-".into(),
        };
        println!(
            "| {} MiB | {} | {} | {:.2} | {:.1} | {:.2} | {rss} |",
            r.size_mib,
            r.run + 1,
            r.packets,
            r.received.as_secs_f64(),
            rate,
            r.receipt.as_secs_f64()
        );
    }
    println!();
    println!("Targets: 1 MiB delivered in <= 3 s; relay peak RSS < 64 MiB; thesis: >= 1 MB/min.");
}
