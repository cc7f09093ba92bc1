//! The published experiments: the reference scenario for every level and the trade-off
//! sweeps, run across threads (each run is single-threaded and deterministic, so the thread
//! count never changes a figure).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use mailvortex_proto::level::LevelName;
use serde::Serialize;

use crate::engine;
use crate::metrics::RunResult;
use crate::model::{LevelOverrides, MINUTE, Scenario, SizeMix};

/// One run to do: a scenario, the sweep it belongs to and its position on that sweep's x axis.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Sweep name (or "reference").
    pub group: String,
    /// Value of the swept parameter.
    pub x: f64,
    /// The scenario.
    pub scenario: Scenario,
}

/// A finished job.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Sweep name (or "reference").
    pub group: String,
    /// Value of the swept parameter.
    pub x: f64,
    /// The scenario.
    pub scenario: Scenario,
    /// What it measured.
    pub result: RunResult,
}

/// The reference scenario for every level and every seed.
pub fn reference_jobs(seeds: &[u64]) -> Vec<Job> {
    let mut jobs = Vec::new();
    // Slowest first, so that two threads finish together.
    for level in LevelName::ALL.iter().rev() {
        for seed in seeds {
            jobs.push(Job {
                group: "reference".to_string(),
                x: f64::from(level.code()),
                scenario: Scenario::reference(*level, *seed),
            });
        }
    }
    jobs
}

fn standard(seed: u64, label: String, f: impl FnOnce(&mut Scenario)) -> Scenario {
    let mut sc = Scenario::reference(LevelName::Standard, seed);
    sc.label = label;
    f(&mut sc);
    sc
}

fn with(o: impl FnOnce(&mut LevelOverrides)) -> LevelOverrides {
    let mut v = LevelOverrides::default();
    o(&mut v);
    v
}

/// The trade-off sweeps around the default level (`Standard`), one seed each.
pub fn sweep_jobs(seed: u64) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut add = |group: &str, x: f64, sc: Scenario| {
        jobs.push(Job {
            group: group.to_string(),
            x,
            scenario: sc,
        });
    };
    for d in [5u64, 10, 15, 30, 45, 60, 90] {
        let sc = standard(seed, format!("delay {d} min"), |s| {
            s.overrides = with(|o| o.mean_delay_ms = Some(d * MINUTE));
        });
        add("delay", d as f64, sc);
    }
    for c in [0u32, 20, 60, 150, 300] {
        let sc = standard(seed, format!("cover {c}/day"), |s| {
            s.overrides = with(|o| o.cover_packets_per_day = Some(c));
        });
        add("cover", f64::from(c), sc);
    }
    for l in [2u8, 3, 4, 5] {
        let sc = standard(seed, format!("{l} relays"), |s| {
            s.overrides = with(|o| o.relays_per_path = Some(l));
        });
        add("layers", f64::from(l), sc);
    }
    for p in [1u64, 5, 15, 30] {
        let sc = standard(seed, format!("poll {p} min"), |s| s.poll_ms = p * MINUTE);
        add("poll", p as f64, sc);
    }
    for u in [0.4, 0.7, 0.95] {
        let sc = standard(seed, format!("relay load {:.0} %", u * 100.0), |s| {
            s.relay_utilisation = u;
        });
        add("utilisation", u, sc);
    }
    for q in [500u32, 2000] {
        let sc = standard(seed, format!("quota {q}/day"), |s| s.quota_per_day = q);
        add("quota", f64::from(q), sc);
    }
    for m in [1u32, 2, 4] {
        let sc = standard(seed, format!("{m} accounts per relay node"), |s| {
            s.accounts_per_relay = m;
        });
        add("pooled", f64::from(m), sc);
    }
    for (x, mix) in [(0.0, SizeMix::Realistic), (1.0, SizeMix::SinglePacket)] {
        let sc = standard(seed, format!("sizes {mix:?}"), |s| s.size_mix = mix);
        add("sizes", x, sc);
    }
    for paths in [1u8, 2, 3] {
        let sc = standard(seed, format!("{paths} parallel paths"), |s| {
            s.overrides = with(|o| o.parallel_paths = Some(paths));
        });
        add("paths", f64::from(paths), sc);
    }
    for ppp in [1u16, 2, 4, 8, 32] {
        let sc = standard(seed, format!("{ppp} packets per path"), |s| {
            s.overrides = with(|o| o.packets_per_path = Some(ppp));
        });
        add("spread", f64::from(ppp), sc);
    }
    for gap_s in [0u64, 60, 300] {
        let sc = standard(seed, format!("pacing {gap_s} s"), |s| {
            s.overrides = with(|o| o.pacing_gap_ms = Some(gap_s * 1000));
        });
        add("pacing", gap_s as f64, sc);
    }
    for f in [0.0, 0.1, 0.2] {
        let sc = standard(seed, format!("{:.0} % colluding relays", f * 100.0), |s| {
            s.colluding_fraction = f;
        });
        add("colluding", f, sc);
    }
    // The prototype's setting (mixnets.md §5): one-packet messages without redundancy, receipts,
    // cover, loss or failures, 3 × 40 relay accounts, 15-minute delays.
    let proto = standard(seed, "prototype setting".to_string(), |s| {
        s.size_mix = SizeMix::SinglePacket;
        s.overrides = with(|o| {
            o.redundancy = Some((1, 1));
            o.cover_packets_per_day = Some(0);
        });
        s.receipts = false;
        s.loss = 0.0;
        s.relay_down_fraction = 0.0;
        s.relay_accounts = Some(120);
        s.quota_per_day = 1_000_000; // the prototype did not enforce quotas
    });
    add("calibration", 0.0, proto.clone());
    // The same with the planner seeing every relay instead of a sample (checks the sampling).
    let mut full = proto;
    full.label = "prototype setting, planner sees all relays".to_string();
    full.planner_sample = 0;
    add("calibration", 1.0, full);
    jobs
}

/// Candidate parameter sets for `Standard` that aim at the targets.
pub fn candidate_jobs(seed: u64) -> Vec<Job> {
    let mut jobs = Vec::new();
    let sets: [(&str, u64, u32, u8, u64); 4] = [
        ("D 20 min", 20, 20, 3, 5),
        ("D 30 min", 30, 20, 3, 5),
        ("4 relays, D 15 min", 15, 20, 4, 5),
        ("4 relays, D 20 min, cover 60", 20, 60, 4, 5),
    ];
    for (i, (label, d, c, l, poll)) in sets.into_iter().enumerate() {
        let sc = standard(seed, label.to_string(), |s| {
            s.overrides = with(|o| {
                o.mean_delay_ms = Some(d * MINUTE);
                o.cover_packets_per_day = Some(c);
                o.relays_per_path = Some(l);
            });
            s.poll_ms = poll * MINUTE;
        });
        jobs.push(Job {
            group: "candidates".to_string(),
            x: i as f64,
            scenario: sc,
        });
    }
    jobs
}

/// Combinations for `Standard` (one packet per path, from the level table) with the changes
/// the sweeps point to, over the full window: one-packet messages (what size still costs),
/// 2000-send accounts, relay nodes mixing four accounts in one pool, and more relays or longer
/// delays.
pub fn combined_jobs(seed: u64) -> Vec<Job> {
    // (label, one-packet messages, quota, accounts per relay node, delay min, relays)
    let sets: [(&str, bool, u32, u32, u64, u8); 7] = [
        ("standard", false, 500, 1, 15, 3),
        ("standard + one-packet messages", true, 500, 1, 15, 3),
        ("standard + quota 2000", false, 2000, 1, 15, 3),
        ("standard + quota 2000, 4 relays", false, 2000, 1, 15, 4),
        (
            "standard + quota 2000, 4 relays, D 30 min",
            false,
            2000,
            1,
            30,
            4,
        ),
        ("standard + relay nodes of 4 accounts", false, 500, 4, 15, 3),
        (
            "standard + relay nodes of 4 accounts, D 20 min",
            false,
            500,
            4,
            20,
            3,
        ),
    ];
    sets.into_iter()
        .enumerate()
        .map(|(i, (label, single, quota, pooled, d, relays))| Job {
            group: "combined".to_string(),
            x: i as f64,
            scenario: standard(seed, label.to_string(), |s| {
                s.overrides = with(|o| {
                    o.mean_delay_ms = Some(d * MINUTE);
                    o.relays_per_path = Some(relays);
                });
                if single {
                    s.size_mix = SizeMix::SinglePacket;
                }
                s.quota_per_day = quota;
                s.accounts_per_relay = pooled;
            }),
        })
        .collect()
}

/// Runs `jobs` on `threads` threads; results come back in job order. Identical scenarios
/// (apart from their label) run once.
pub fn run_parallel(jobs: Vec<Job>, threads: usize, progress: bool) -> Vec<Record> {
    // Deduplicate.
    let key = |sc: &Scenario| {
        let mut s = sc.clone();
        s.label.clear();
        serde_json::to_string(&s).unwrap_or_default()
    };
    let mut unique: Vec<Scenario> = Vec::new();
    let mut which: Vec<usize> = Vec::with_capacity(jobs.len());
    for j in &jobs {
        let k = key(&j.scenario);
        match unique.iter().position(|u| key(u) == k) {
            Some(i) => which.push(i),
            None => {
                unique.push(j.scenario.clone());
                which.push(unique.len() - 1);
            }
        }
    }
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<RunResult>>> = Mutex::new(vec![None; unique.len()]);
    let total = unique.len();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(sc) = unique.get(i) else { break };
                    let r = engine::run(sc);
                    if progress {
                        eprintln!(
                            "[{}/{}] {} seed {}: {:.1} s",
                            i + 1,
                            total,
                            sc.label,
                            sc.seed,
                            r.runtime_s
                        );
                    }
                    let mut guard = out.lock().unwrap_or_else(|e| e.into_inner());
                    guard[i] = Some(r);
                }
            });
        }
    });
    let results = out.into_inner().unwrap_or_else(|e| e.into_inner());
    jobs.into_iter()
        .zip(which)
        .map(|(j, i)| {
            let mut result = results[i].clone().unwrap_or_default();
            result.label = j.scenario.label.clone();
            Record {
                group: j.group,
                x: j.x,
                scenario: j.scenario,
                result,
            }
        })
        .collect()
}
