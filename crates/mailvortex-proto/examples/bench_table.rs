//! Every performance target of mailvortex-proto in ONE table, measured in one run.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target cargo run --release -p mailvortex-proto --example bench_table --features parallel
//! ```
//! Options (environment): `BENCH_QUICK=1` shortens every measurement (for smoke runs);
//! `BENCH_SKIP_25MIB=1` skips the 25 MiB messages.
//!
//! Method: each figure is the median over several batches; things compared with each other
//! (ours vs sphinx-packet, ours vs bare X25519, ours vs its primitives, ours vs gpg/age) are
//! measured in interleaved rounds (one batch of each per round) so that background load hits
//! both sides alike. Criterion benches (`cargo bench -p mailvortex-proto`) measure the same
//! things with confidence intervals.

#[path = "../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{
    ExternalTools, MIB, Node, PrimitiveCount, SendFixture, body, envelope, junk, network,
    packet_for, rng,
};
use mailvortex_proto::identity::NodeId;
use mailvortex_proto::level::LevelName;
use mailvortex_proto::packet::{HopSpec, PACKET_LEN, PAYLOAD_LEN, build_packet, open_packet};
use mailvortex_proto::puzzle::Challenge;
use rand_core::RngCore;

// ---------------------------------------------------------------------------------------------
// A tiny harness.

fn quick() -> bool {
    std::env::var_os("BENCH_QUICK").is_some()
}

/// Something to time: `run(n)` does `n` iterations and returns how long the timed part took
/// (inputs it makes first, such as packet copies, are outside the clock).
struct Case<'a> {
    name: String,
    batch: usize,
    /// Returns (the case's own clock, wall time).
    run: Box<dyn FnMut(usize) -> (Duration, Duration) + 'a>,
    samples: Vec<f64>,
    wall_samples: Vec<f64>,
}

/// Time this thread has spent running on a CPU (`CLOCK_THREAD_CPUTIME_ID`), if available.
/// Single-threaded work is timed with it so that time spent preempted by other processes
/// (this machine is shared) does not count; multi-threaded work and processes use wall time.
fn cpu_now() -> Option<Duration> {
    cpu_time::ThreadTime::try_now()
        .ok()
        .map(|t| t.as_duration())
}

/// A clock for one measurement: this thread's CPU time where available, else wall time.
struct Clock {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Clock {
    fn start() -> Self {
        Clock {
            wall: Instant::now(),
            cpu: cpu_now(),
        }
    }

    fn cpu_elapsed(&self) -> Duration {
        match (self.cpu, cpu_now()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => self.wall.elapsed(),
        }
    }
}

impl<'a> Case<'a> {
    /// `run(n)` does `n` iterations on this thread; timed whole, in CPU time.
    fn new(name: impl Into<String>, mut run: impl FnMut(usize) + 'a) -> Self {
        Self::both(name, move |n| {
            let t = Clock::start();
            run(n);
            (t.cpu_elapsed(), t.wall.elapsed())
        })
    }

    /// `run(n)` does `n` iterations using other threads or processes; timed in wall time.
    fn wall(name: impl Into<String>, mut run: impl FnMut(usize) + 'a) -> Self {
        Self::both(name, move |n| {
            let t = Instant::now();
            run(n);
            let e = t.elapsed();
            (e, e)
        })
    }

    /// `run(n)` times itself (so it can prepare inputs first).
    fn with_setup(name: impl Into<String>, mut run: impl FnMut(usize) -> Duration + 'a) -> Self {
        Self::both(name, move |n| {
            let t = Instant::now();
            let d = run(n);
            (d, t.elapsed())
        })
    }

    fn both(name: impl Into<String>, run: impl FnMut(usize) -> (Duration, Duration) + 'a) -> Self {
        Case {
            name: name.into(),
            batch: 1,
            run: Box::new(run),
            samples: Vec::new(),
            wall_samples: Vec::new(),
        }
    }
}

/// Runs every case in interleaved rounds; returns the median seconds per iteration of each,
/// by each case's own clock.
fn measure(cases: &mut [Case<'_>], rounds: usize, batch_target: Duration) -> Vec<f64> {
    measure_both(cases, rounds, batch_target)
        .into_iter()
        .map(|(own, _, _)| own)
        .collect()
}

/// [`measure`], also returning the wall-time medians and minima.
fn measure_both(
    cases: &mut [Case<'_>],
    rounds: usize,
    batch_target: Duration,
) -> Vec<(f64, f64, f64)> {
    // Calibrate batch sizes so one batch takes about `batch_target`.
    for c in cases.iter_mut() {
        let mut n = 1usize;
        loop {
            let (_, dt) = (c.run)(n);
            if dt >= batch_target / 2 || n >= 1 << 20 {
                let per = dt.as_secs_f64() / n as f64;
                c.batch = ((batch_target.as_secs_f64() / per).ceil() as usize).max(1);
                break;
            }
            n *= 4;
        }
    }
    let rounds = if quick() { rounds.min(3) } else { rounds };
    for _ in 0..rounds {
        for c in cases.iter_mut() {
            let (own, wall) = (c.run)(c.batch);
            c.samples.push(own.as_secs_f64() / c.batch as f64);
            c.wall_samples.push(wall.as_secs_f64() / c.batch as f64);
        }
    }
    cases
        .iter()
        .map(|c| {
            let min = c.wall_samples.iter().copied().fold(f64::INFINITY, f64::min);
            (median(&c.samples), median(&c.wall_samples), min)
        })
        .collect()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn batch_ms(ms: u64) -> Duration {
    Duration::from_millis(if quick() { ms / 4 } else { ms })
}

// ---------------------------------------------------------------------------------------------
// Output.

struct Table {
    rows: Vec<[String; 5]>,
}

impl Table {
    fn section(&mut self, title: &str) {
        self.rows.push([
            format!("**{title}**"),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }

    fn row(&mut self, what: &str, time: f64, ratio: &str, target: &str, verdict: &str) {
        self.rows.push([
            what.to_string(),
            fmt_time(time),
            ratio.to_string(),
            target.to_string(),
            verdict.to_string(),
        ]);
        eprintln!("  {what}: {}", fmt_time(time));
    }

    fn print(&self) {
        let head = ["measurement", "time", "ratio / rate", "target", "met?"];
        println!("| {} |", head.join(" | "));
        println!(
            "|{}|",
            head.iter().map(|_| "---").collect::<Vec<_>>().join("|")
        );
        for r in &self.rows {
            println!("| {} |", r.join(" | "));
        }
    }
}

fn fmt_time(s: f64) -> String {
    if s.is_nan() {
        "n/a".into()
    } else if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.2} µs", s * 1e6)
    } else {
        format!("{:.1} ns", s * 1e9)
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

fn ratio_le(num: f64, den: f64, limit: f64) -> (String, &'static str) {
    let r = num / den;
    (format!("{r:.3}×"), verdict(r <= limit))
}

// ---------------------------------------------------------------------------------------------

mod sphinx {
    use sphinx_packet::constants::{DESTINATION_ADDRESS_LENGTH, IDENTIFIER_LENGTH};
    use sphinx_packet::crypto::{PrivateKey, PublicKey};
    use sphinx_packet::header::delays::Delay;
    use sphinx_packet::route::{Destination, DestinationAddressBytes, Node, NodeAddressBytes};
    use sphinx_packet::{SphinxPacket, SphinxPacketBuilder};

    pub(super) fn packet(payload_size: usize) -> (Vec<u8>, PrivateKey) {
        let mut secrets = Vec::new();
        let route: Vec<Node> = (0..3u8)
            .map(|i| {
                let sk = PrivateKey::from([i + 1; 32]);
                let pk = PublicKey::from(&sk);
                secrets.push(sk);
                Node::new(NodeAddressBytes::from_bytes([i + 10; 32]), pk)
            })
            .collect();
        let destination = Destination::new(
            DestinationAddressBytes::from_bytes([3u8; DESTINATION_ADDRESS_LENGTH]),
            [4u8; IDENTIFIER_LENGTH],
        );
        let delays: Vec<Delay> = (0..3).map(|_| Delay::new_from_millis(1000)).collect();
        let message = vec![0x5au8; payload_size - sphinx_packet::payload::PAYLOAD_OVERHEAD_SIZE];
        let p: SphinxPacket = SphinxPacketBuilder::new()
            .with_payload_size(payload_size)
            .build_packet(message, &route, &destination, &delays)
            .expect("sphinx build");
        (p.to_bytes(), secrets.swap_remove(0))
    }

    pub(super) fn parse(bytes: &[u8]) -> SphinxPacket {
        SphinxPacket::from_bytes(bytes).expect("sphinx parse")
    }
}

fn main() {
    let mut t = Table { rows: Vec::new() };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {cpu}, {} logical CPUs; load average at start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let on = |b: bool| if b { "on" } else { "off" };
    println!(
        "features: parallel {}, simd {}",
        on(cfg!(feature = "parallel")),
        on(cfg!(feature = "simd"))
    );
    println!(
        "clocks: single-threaded figures are this thread's on-CPU time ({}); parallel runs, gpg, \
         age and every row compared with them are wall time. Each figure is a median of batches.",
        if cpu_now().is_some() {
            "CLOCK_THREAD_CPUTIME_ID"
        } else {
            "not available here: wall time"
        }
    );
    println!();

    // --- primitives --------------------------------------------------------------------------
    eprintln!("primitives…");
    let sk = x25519_dalek::StaticSecret::from([7u8; 32]);
    let mut alpha = [0u8; 32];
    rng(3).fill_bytes(&mut alpha);
    let mut buf32k = vec![0u8; PAYLOAD_LEN];
    let mut hdr = vec![0u8; common::HEADER_STREAM_LEN];
    let prim = {
        let (sk, alpha) = (&sk, alpha);
        let buf = &mut buf32k;
        let hdr = &mut hdr;
        let mut cases = vec![
            Case::new("x25519 dh", move |n| {
                for _ in 0..n {
                    black_box(common::x25519_dh(black_box(sk), black_box(alpha)));
                }
            }),
            Case::new("x25519 keygen", move |n| {
                for i in 0..n {
                    black_box(common::x25519_keygen(black_box([i as u8 | 1; 32])));
                }
            }),
            Case::new("xsalsa20 32KiB", move |n| {
                for _ in 0..n {
                    common::xsalsa20(&[1; 32], black_box(&mut buf[..]));
                }
            }),
            Case::new("xsalsa20 32KiB reference", move |n| {
                let mut b = vec![0u8; PAYLOAD_LEN];
                for _ in 0..n {
                    common::xsalsa20_reference(&[1; 32], black_box(&mut b[..]));
                }
            }),
            Case::new("xsalsa20 1440B", move |n| {
                for _ in 0..n {
                    common::xsalsa20(&[1; 32], black_box(&mut hdr[..]));
                }
            }),
        ];
        measure(&mut cases, 15, batch_ms(20))
    };
    let (t_dh, t_keygen, t_x32k, t_x32k_ref, t_x1440) =
        (prim[0], prim[1], prim[2], prim[3], prim[4]);
    t.section("primitives (this machine)");
    t.row(
        "X25519 variable-base (x25519-dalek 2 `diffie_hellman`)",
        t_dh,
        &format!("{:.0}/s", 1.0 / t_dh),
        "",
        "",
    );
    t.row(
        "X25519 fixed-base keygen (`PublicKey::from`)",
        t_keygen,
        "",
        "",
        "",
    );
    t.row(
        if cfg!(feature = "simd") {
            "XSalsa20 over 32 KiB (crate's SIMD keystream, `simd`)"
        } else {
            "XSalsa20 over 32 KiB (crate's keystream = `salsa20` crate)"
        },
        t_x32k,
        &format!("{:.0} MB/s", PAYLOAD_LEN as f64 / t_x32k / 1e6),
        "",
        "",
    );
    t.row(
        "XSalsa20 over 32 KiB, `salsa20` 0.10 crate (reference)",
        t_x32k_ref,
        &format!("{:.0} MB/s", PAYLOAD_LEN as f64 / t_x32k_ref / 1e6),
        "",
        "",
    );
    t.row(
        "XSalsa20 over 1440 B (one header keystream)",
        t_x1440,
        "",
        "",
        "",
    );

    // --- packet creation ---------------------------------------------------------------------
    eprintln!("packet creation…");
    let (_, recipient, relays) = network(5);
    {
        let routes: Vec<Vec<HopSpec<'_>>> = [1usize, 3, 6]
            .iter()
            .map(|&h| {
                relays[..h - 1]
                    .iter()
                    .chain(std::iter::once(&recipient))
                    .map(Node::hop)
                    .collect()
            })
            .collect();
        let payload = [0x5au8; PAYLOAD_LEN];
        let mut cases: Vec<Case<'_>> = routes
            .iter()
            .map(|hops| {
                let mut r = rng(1);
                let payload = &payload;
                Case::new(format!("create {} hops", hops.len()), move |n| {
                    for _ in 0..n {
                        black_box(build_packet(hops, payload, &mut r).expect("build"));
                    }
                })
            })
            .collect();
        let res = measure(&mut cases, 15, batch_ms(30));
        t.section("packet creation (difficulty 0)");
        for (h, v) in [1, 3, 6].iter().zip(res) {
            t.row(&format!("build_packet, {h} hop(s)"), v, "", "", "");
        }
    }

    // --- per hop ------------------------------------------------------------------------------
    eprintln!("per hop…");
    {
        let ours = packet_for(&[&relays[0], &relays[1], &recipient], 7);
        let keys = relays[0].keyring();
        let sph: Vec<_> = [1024usize, 2048, PAYLOAD_LEN]
            .iter()
            .map(|&s| sphinx::packet(s))
            .collect();
        // Each iteration gets its own input buffer, made before the clock starts, for both.
        let mut cases = vec![Case::with_setup("ours", |n| {
            let inputs: Vec<Vec<u8>> = (0..n).map(|_| ours.clone()).collect();
            let t0 = Clock::start();
            for p in &inputs {
                black_box(open_packet(&keys, p).expect("open").into_routing());
            }
            t0.cpu_elapsed()
        })];
        for (bytes, sk) in &sph {
            cases.push(Case::with_setup("sphinx", move |n| {
                let inputs: Vec<_> = (0..n).map(|_| sphinx::parse(bytes)).collect();
                let t0 = Clock::start();
                for p in inputs {
                    black_box(p.process(sk).expect("process"));
                }
                t0.cpu_elapsed()
            }));
        }
        let (sk2, a2) = (&sk, alpha);
        cases.push(Case::new("x25519", move |n| {
            for _ in 0..n {
                black_box(common::x25519_dh(black_box(sk2), black_box(a2)));
            }
        }));
        let res = measure(&mut cases, 21, batch_ms(40));
        let ours_t = res[0];
        let sph_t: Vec<f64> = res[1..4].to_vec();
        let x_t = res[4];
        t.section("per-hop processing (3-hop packet, first hop, forward; input copy excluded)");
        let (r32, v32) = ratio_le(ours_t, sph_t[2], 0.5);
        t.row(
            "ours: open_packet + into_routing, 32 KiB payload",
            ours_t,
            &format!("{r32} of sphinx 32 KiB; {:.2}× bare X25519", ours_t / x_t),
            "≤ 0.5× sphinx-packet (same payload size)",
            v32,
        );
        t.row(
            "sphinx-packet 0.8 `process`, 32 KiB payload (same as ours)",
            sph_t[2],
            &format!("{:.2}× bare X25519", sph_t[2] / x_t),
            "",
            "",
        );
        t.row(
            "sphinx-packet 0.8 `process`, 2 KiB payload",
            sph_t[1],
            &format!("ours (32 KiB) = {:.2}× this", ours_t / sph_t[1]),
            "(transparency)",
            "",
        );
        t.row(
            "sphinx-packet 0.8 `process`, 1 KiB payload (crate default)",
            sph_t[0],
            &format!("ours (32 KiB) = {:.2}× this", ours_t / sph_t[0]),
            "(transparency)",
            "",
        );
        t.row("bare X25519 in the same rounds", x_t, "", "", "");
    }

    // --- junk -------------------------------------------------------------------------------
    eprintln!("junk…");
    {
        let (_, one, _) = network(0);
        let (_, mut two, _) = network(0);
        two.add_grace_key(12);
        let blob = junk(11);
        assert_eq!(blob.len(), PACKET_LEN);
        let (k1, k2) = (one.keyring(), two.keyring());
        let (sk2, a2) = (&sk, alpha);
        let blob = &blob;
        let mut cases = vec![
            Case::new("junk 1", move |n| {
                for _ in 0..n {
                    black_box(open_packet(black_box(&k1), black_box(blob)).expect_err("junk"));
                }
            }),
            Case::new("junk 2", move |n| {
                for _ in 0..n {
                    black_box(open_packet(black_box(&k2), black_box(blob)).expect_err("junk"));
                }
            }),
            Case::new("x25519", move |n| {
                for _ in 0..n {
                    black_box(common::x25519_dh(black_box(sk2), black_box(a2)));
                }
            }),
        ];
        let res = measure(&mut cases, 21, batch_ms(30));
        t.section("junk rejection (random PACKET_LEN blob, valid version byte)");
        let (r1, v1) = ratio_le(res[0], res[2], 1.2);
        t.row(
            "reject, one live epoch key",
            res[0],
            &format!("{r1} bare X25519"),
            "≤ 1.2× one bare X25519",
            v1,
        );
        let rate = 1.0 / res[0];
        t.row(
            "rejections per second, one core",
            res[0],
            &format!("{rate:.0}/s"),
            "≥ 20,000/s",
            verdict(rate >= 20_000.0),
        );
        t.row(
            "reject, two live keys (grace period)",
            res[1],
            &format!("{:.3}× bare X25519, {:.0}/s", res[1] / res[2], 1.0 / res[1]),
            "(report; 2 X25519 by design)",
            "",
        );
        t.row("bare X25519 in the same rounds", res[2], "", "", "");
    }

    // --- puzzles ----------------------------------------------------------------------------
    eprintln!("puzzles…");
    {
        let node = NodeId([4; 32]);
        t.section("puzzles (sender solves one per hop; hop verifies)");
        for d in [8u8, 12, 16, 20] {
            // Mean over many random challenges: solving time is geometric, so use the mean.
            let target = if quick() { 0.5 } else { 4.0 };
            let mut r = rng(u64::from(d));
            let start = Instant::now();
            let mut solved = 0u32;
            while start.elapsed().as_secs_f64() < target || solved < 8 {
                let mut tag = [0u8; 32];
                r.fill_bytes(&mut tag);
                black_box(Challenge::new(&tag, &node, 1).solve(d, r.next_u64()));
                solved += 1;
            }
            let mean = start.elapsed().as_secs_f64() / f64::from(solved);
            t.row(
                &format!("solve, {d} bits (mean of {solved})"),
                mean,
                &format!("expected 2^{d} hashes"),
                "",
                "",
            );
        }
        let ch = Challenge::new(&[1; 32], &node, 1);
        let nonce = ch.solve(12, 0);
        let mut cases = vec![
            Case::new("verify", |n| {
                for _ in 0..n {
                    black_box(black_box(&ch).check(black_box(nonce), 12));
                }
            }),
            Case::new("verify+challenge", |n| {
                for _ in 0..n {
                    black_box(
                        Challenge::new(black_box(&[1; 32]), &node, 1).check(black_box(nonce), 12),
                    );
                }
            }),
        ];
        let res = measure(&mut cases, 15, batch_ms(20));
        t.row("verify (one BLAKE2b)", res[0], "", "", "");
        t.row(
            "derive challenge + verify (what a hop does)",
            res[1],
            "",
            "",
            "",
        );
    }

    // --- messages ---------------------------------------------------------------------------
    eprintln!("messages…");
    let fx = SendFixture::new();
    let body1 = body(MIB);
    let mut level_1mib = Vec::new();
    t.section("prepare_message, 1 MiB body (difficulty 0: no puzzle work)");
    for level in LevelName::ALL {
        let params = level.params();
        let env = envelope(level, body1.clone());
        let (fx, env_r, params_r) = (&fx, &env, &params);
        let mut cases = vec![Case::new("seq", move |n| {
            for i in 0..n {
                black_box(fx.prepare(env_r, params_r, i as u64));
            }
        })];
        #[cfg(feature = "parallel")]
        cases.push(Case::wall("par", move |n| {
            for i in 0..n {
                black_box(fx.prepare_parallel(env_r, params_r, i as u64));
            }
        }));
        let both = measure_both(&mut cases, 9, batch_ms(150));
        drop(cases);
        let res: Vec<f64> = both.iter().map(|b| b.0).collect();
        let (seq_wall, seq_min) = (both[0].1, both[0].2);
        let par_min = both.get(1).map_or(f64::NAN, |b| b.2);
        let prepared = fx.prepare(&env, &params, 0);
        let count = PrimitiveCount::of(&prepared, &params, &env);
        let par = res.get(1).copied().unwrap_or(f64::NAN);
        t.row(
            &format!(
                "{level}: {} packets × {} hops, sequential",
                count.packets, count.hops
            ),
            res[0],
            "",
            "",
            "",
        );
        if cfg!(feature = "parallel") {
            t.row(
                &format!("{level}: parallel (rayon, {} threads)", rayon_threads()),
                par,
                &format!(
                    "speed-up {:.2}× (median wall), {:.2}× (best wall: {} vs {})",
                    seq_wall / par,
                    seq_min / par_min,
                    fmt_time(seq_min),
                    fmt_time(par_min)
                ),
                "",
                "",
            );
        }
        level_1mib.push((level, res[0], par, count, env));
    }

    // Maximum vs the sum of its own primitives.
    eprintln!("maximum vs primitives…");
    let (max_seq, max_par) = {
        let (_, seq, par, count, env) = level_1mib
            .iter()
            .find(|l| l.0 == LevelName::Maximum)
            .expect("maximum");
        let plain = env.encode().expect("encode");
        let mut payload = vec![0u8; PAYLOAD_LEN];
        let mut header = vec![0u8; common::HEADER_STREAM_LEN];
        let params = LevelName::Maximum.params();
        let (fx_r, env_r, params_r) = (&fx, env, &params);
        let (plain_r, count_r) = (&plain, *count);
        let (payload_r, header_r) = (&mut payload, &mut header);
        let mut cases = vec![
            Case::new("seq", move |n| {
                for i in 0..n {
                    black_box(fx_r.prepare(env_r, params_r, i as u64));
                }
            }),
            Case::new("prims", move |n| {
                for _ in 0..n {
                    black_box(count_r.run(plain_r, payload_r, header_r));
                }
            }),
        ];
        let res = measure(&mut cases, 11, batch_ms(150));
        t.section("Maximum, 1 MiB: overhead over its own primitives (same rounds)");
        t.row(
            &format!(
                "primitives alone (crate's own code): {} keygens + {} X25519 + {:.1} MB XSalsa20 (+ Poly1305 of the secretbox)",
                count.keygens(),
                count.dhs(),
                count.stream_bytes() as f64 / 1e6
            ),
            res[1],
            "",
            "",
            "",
        );
        let (r, v) = ratio_le(res[0], res[1], 1.5);
        t.row(
            "prepare_message Maximum 1 MiB, sequential",
            res[0],
            &format!("{r} of primitives"),
            "≤ 1.5× sum of primitives",
            v,
        );
        let est = count.keygens() as f64 * t_keygen
            + count.dhs() as f64 * t_dh
            + (count.packets * count.hops) as f64 * (t_x32k + t_x1440);
        t.row(
            "(cross-check: primitives from the single-op timings above)",
            est,
            &format!("prepare = {:.3}× this", res[0] / est),
            "",
            "",
        );
        let _ = seq;
        (res[0], *par)
    };

    // gpg and age, as processes, same input.
    eprintln!("gpg and age…");
    {
        let tools = ExternalTools::new(&body1);
        t.section("against gpg and age (processes, same 1 MiB random input, written to a file)");
        let direct = level_1mib
            .iter()
            .find(|l| l.0 == LevelName::Direct)
            .expect("direct");
        let max_params = LevelName::Maximum.params();
        let direct_params = LevelName::Direct.params();
        let max_env = &level_1mib
            .iter()
            .find(|l| l.0 == LevelName::Maximum)
            .expect("max")
            .4;
        let direct_env = &direct.4;
        let tools_r = &tools;
        let fx_r = &fx;
        let (mp, dp) = (&max_params, &direct_params);
        let cases = vec![
            Case::wall("gpg", move |n| {
                for _ in 0..n {
                    assert!(tools_r.gpg_encrypt(false), "gpg failed");
                }
            }),
            Case::wall("gpg empty", move |n| {
                for _ in 0..n {
                    assert!(tools_r.gpg_encrypt(true), "gpg failed");
                }
            }),
            Case::wall("age", move |n| {
                for _ in 0..n {
                    assert!(tools_r.age_encrypt(false), "age failed");
                }
            }),
            Case::wall("age empty", move |n| {
                for _ in 0..n {
                    assert!(tools_r.age_encrypt(true), "age failed");
                }
            }),
            Case::wall("max", move |n| {
                for i in 0..n {
                    #[cfg(feature = "parallel")]
                    black_box(fx_r.prepare_parallel(max_env, mp, i as u64));
                    #[cfg(not(feature = "parallel"))]
                    black_box(fx_r.prepare(max_env, mp, i as u64));
                }
            }),
            Case::wall("direct", move |n| {
                for i in 0..n {
                    black_box(fx_r.prepare(direct_env, dp, i as u64));
                }
            }),
        ];
        #[cfg(feature = "parallel")]
        let mut cases = cases;
        #[cfg(feature = "parallel")]
        cases.push(Case::wall("direct par", move |n| {
            for i in 0..n {
                black_box(fx_r.prepare_parallel(direct_env, dp, i as u64));
            }
        }));
        let have_gpg = tools.gpg_recipient.is_some();
        let have_age = tools.age_recipient.is_some();
        if !have_gpg || !have_age {
            eprintln!("gpg or age missing: apt-get install -y gnupg age");
        }
        // Drop the cases of missing tools (they would fail).
        let mut cases: Vec<Case<'_>> = cases
            .into_iter()
            .filter(|c| {
                (have_gpg || !c.name.starts_with("gpg")) && (have_age || !c.name.starts_with("age"))
            })
            .collect();
        let names: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
        let res = measure(&mut cases, 15, batch_ms(150));
        let get = |n: &str| {
            names
                .iter()
                .position(|x| x == n)
                .map_or(f64::NAN, |i| res[i])
        };
        let (gpg, gpg0, age, age0) = (get("gpg"), get("gpg empty"), get("age"), get("age empty"));
        let max_t = get("max");
        let direct_seq = get("direct");
        let direct_par = get("direct par");
        t.row(
            &format!(
                "gpg --encrypt 1 MiB ({}, default algorithms and compression)",
                tools.gpg_version()
            ),
            gpg,
            &format!("start-up (empty input) {}", fmt_time(gpg0)),
            "",
            "",
        );
        t.row(
            &format!("age -r 1 MiB ({})", tools.age_version()),
            age,
            &format!("start-up (empty input) {}", fmt_time(age0)),
            "",
            "",
        );
        let label = if cfg!(feature = "parallel") {
            "prepare Maximum 1 MiB, parallel (both cores)"
        } else {
            "prepare Maximum 1 MiB, sequential (build with --features parallel for both cores)"
        };
        let (r, v) = ratio_le(max_t, gpg, 0.5);
        t.row(
            label,
            max_t,
            &format!(
                "{r} gpg ({:.3}× gpg minus its start-up)",
                max_t / (gpg - gpg0)
            ),
            "≤ 0.5× gpg --encrypt",
            v,
        );
        let (r, v) = ratio_le(direct_seq, age, 1.0);
        t.row(
            "prepare Direct 1 MiB, sequential",
            direct_seq,
            &format!(
                "{r} age ({:.3}× age minus its start-up)",
                direct_seq / (age - age0)
            ),
            "≤ 1.0× age",
            v,
        );
        if cfg!(feature = "parallel") {
            let (r, v) = ratio_le(direct_par, age, 1.0);
            t.row(
                "prepare Direct 1 MiB, parallel",
                direct_par,
                &format!(
                    "{r} age ({:.3}× age minus its start-up)",
                    direct_par / (age - age0)
                ),
                "≤ 1.0× age",
                v,
            );
        }
        let _ = (max_seq, max_par);
    }

    // 25 MiB.
    if std::env::var_os("BENCH_SKIP_25MIB").is_none() {
        eprintln!("25 MiB…");
        t.section("prepare_message, 25 MiB body");
        let body25 = body(25 * MIB);
        for level in LevelName::ALL {
            let params = level.params();
            let env = envelope(level, body25.clone());
            let (fx_r, env_r, params_r) = (&fx, &env, &params);
            let mut cases = vec![Case::new("seq", move |n| {
                for i in 0..n {
                    black_box(fx_r.prepare(env_r, params_r, i as u64));
                }
            })];
            #[cfg(feature = "parallel")]
            cases.push(Case::wall("par", move |n| {
                for i in 0..n {
                    black_box(fx_r.prepare_parallel(env_r, params_r, i as u64));
                }
            }));
            let both = measure_both(&mut cases, 3, Duration::from_millis(1));
            let res: Vec<f64> = both.iter().map(|b| b.0).collect();
            t.row(&format!("{level}, sequential"), res[0], "", "", "");
            if cfg!(feature = "parallel") {
                t.row(
                    &format!("{level}, parallel"),
                    res[1],
                    &format!(
                        "speed-up {:.2}× (median wall), {:.2}× (best wall)",
                        both[0].1 / res[1],
                        both[0].2 / both[1].2
                    ),
                    "",
                    "",
                );
            }
        }
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    t.print();
    println!();
    println!(
        "load average at end: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn rayon_threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}
