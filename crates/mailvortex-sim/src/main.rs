//! `mailvortex-sim`: runs the published anonymity experiments and writes docs/anonymity/.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};
use mailvortex_proto::level::LevelName;
use mailvortex_sim::experiments::{self, Job};
use mailvortex_sim::model::{DAY, Scenario};
use mailvortex_sim::{engine, report};

#[derive(Parser)]
#[command(
    version,
    about = "MailVortex anonymity simulator: measures the levels against a global passive adversary"
)]
struct Cli {
    /// Where the tables, JSON and SVG figures go.
    #[arg(long, default_value = "docs/anonymity", global = true)]
    out: PathBuf,
    /// Worker threads (runs are independent and deterministic; this changes no figure).
    #[arg(long, default_value_t = default_threads(), global = true)]
    threads: usize,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The reference scenario (1000 users) for every level and seed: results.md, results.json, levels.svg.
    Reference {
        /// Seeds, comma-separated (one seed fits the ten-minute budget on two cores; the
        /// spread over seeds is small, see docs/anonymity/README.md).
        #[arg(long, value_delimiter = ',', default_values_t = vec![1u64])]
        seeds: Vec<u64>,
    },
    /// Trade-off sweeps around the default level: sweeps.md, sweeps.json, sweep_*.svg.
    Sweep {
        /// Seed of every sweep run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Measurement window of the sweep runs, in days (candidates always use 7).
        #[arg(long, default_value_t = 2)]
        days: u64,
    },
    /// Combinations of the changes the sweeps point to, 7-day window: combined.md, combined.json.
    Combined {
        /// Seed of every run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// `reference`, `sweep` and `combined` with the default options.
    All,
    /// A tiny run of every level (what the test suite checks), printed as a table.
    Smoke,
    /// One reference run of one level, printed (for exploring and profiling; writes nothing).
    One {
        /// The level.
        #[arg(long, default_value = "standard")]
        level: String,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Measurement window in days.
        #[arg(long, default_value_t = 7)]
        days: u64,
        /// Override: most packets of a message per path.
        #[arg(long)]
        packets_per_path: Option<u16>,
        /// Override: mean gap between a message's packets at the sender, seconds.
        #[arg(long)]
        pacing_s: Option<u64>,
        /// Override: parallel paths.
        #[arg(long)]
        paths: Option<u8>,
        /// Override: relays per path.
        #[arg(long)]
        relays: Option<u8>,
        /// Override: mean mixing delay per hop, minutes.
        #[arg(long)]
        delay_min: Option<u64>,
        /// Override: cover loops per user per day.
        #[arg(long)]
        cover: Option<u32>,
        /// Override: redundancy as num/den, e.g. 3/2.
        #[arg(long)]
        redundancy: Option<String>,
        /// Sends per account per day.
        #[arg(long)]
        quota: Option<u32>,
        /// Mail accounts each relay node mixes in one pool.
        #[arg(long)]
        accounts_per_relay: Option<u32>,
    },
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

fn reference(cli: &Cli, seeds: &[u64], command: &str) -> Result<f64> {
    let t = Instant::now();
    let records = experiments::run_parallel(experiments::reference_jobs(seeds), cli.threads, true);
    let elapsed = t.elapsed().as_secs_f64();
    report::write_reference(&cli.out, &records, elapsed, command)?;
    eprintln!(
        "reference: {elapsed:.0} s, written to {}",
        cli.out.display()
    );
    Ok(elapsed)
}

fn sweep(cli: &Cli, seed: u64, days: u64, command: &str) -> Result<f64> {
    let t = Instant::now();
    let mut jobs: Vec<Job> = experiments::sweep_jobs(seed);
    jobs.extend(experiments::candidate_jobs(seed));
    for j in &mut jobs {
        if j.group != "candidates" {
            j.scenario.window_ms = days * DAY;
        }
    }
    // Longest runs first keeps both threads busy to the end.
    let records = experiments::run_parallel(jobs, cli.threads, true);
    let elapsed = t.elapsed().as_secs_f64();
    report::write_sweeps(&cli.out, "sweeps", &records, elapsed, command)?;
    eprintln!("sweep: {elapsed:.0} s, written to {}", cli.out.display());
    Ok(elapsed)
}

fn combined(cli: &Cli, seed: u64, command: &str) -> Result<f64> {
    let t = Instant::now();
    let records = experiments::run_parallel(experiments::combined_jobs(seed), cli.threads, true);
    let elapsed = t.elapsed().as_secs_f64();
    report::write_sweeps(&cli.out, "combined", &records, elapsed, command)?;
    eprintln!("combined: {elapsed:.0} s, written to {}", cli.out.display());
    Ok(elapsed)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.cmd {
        Cmd::Reference { seeds } => {
            let cmd = format!(
                "cargo run --release -p mailvortex-sim -- reference --seeds {}",
                seeds
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            );
            reference(&cli, seeds, &cmd)?;
        }
        Cmd::Sweep { seed, days } => {
            let cmd = format!(
                "cargo run --release -p mailvortex-sim -- sweep --seed {seed} --days {days}"
            );
            sweep(&cli, *seed, *days, &cmd)?;
        }
        Cmd::Combined { seed } => {
            let cmd = format!("cargo run --release -p mailvortex-sim -- combined --seed {seed}");
            combined(&cli, *seed, &cmd)?;
        }
        Cmd::All => {
            let cmd = "cargo run --release -p mailvortex-sim -- all";
            let a = reference(&cli, &[1], cmd)?;
            let b = sweep(&cli, 1, 2, cmd)?;
            let c = combined(&cli, 1, cmd)?;
            eprintln!("total: {:.0} s", a + b + c);
        }
        Cmd::One {
            level,
            seed,
            days,
            packets_per_path,
            pacing_s,
            paths,
            relays,
            delay_min,
            cover,
            redundancy,
            quota,
            accounts_per_relay,
        } => {
            let level: LevelName = level
                .parse()
                .map_err(|e| anyhow::anyhow!("unknown level {level:?}: {e}"))?;
            let mut sc = Scenario::reference(level, *seed);
            sc.window_ms = days * DAY;
            let o = &mut sc.overrides;
            o.packets_per_path = *packets_per_path;
            o.pacing_gap_ms = pacing_s.map(|s| s * 1000);
            o.parallel_paths = *paths;
            o.relays_per_path = *relays;
            o.mean_delay_ms = delay_min.map(|m| m * 60_000);
            o.cover_packets_per_day = *cover;
            if let Some(r) = redundancy {
                let (num, den) = r
                    .split_once('/')
                    .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                    .ok_or_else(|| anyhow::anyhow!("redundancy must look like 3/2"))?;
                o.redundancy = Some((num, den));
            }
            if let Some(q) = quota {
                sc.quota_per_day = *q;
            }
            if let Some(m) = accounts_per_relay {
                sc.accounts_per_relay = *m;
            }
            let t = Instant::now();
            let r = engine::run(&sc);
            println!(
                "{}: {:.2} bits (p5 {:.2}; linked {:.2}, p5 {:.2}, top guess {:.1} %), \
                 precision {:.3}, latency {:.0} / {:.0} min, delivered {:.4}, {} events, {:.1} s",
                level.as_str(),
                r.sender.mean_bits,
                r.sender.p5_bits,
                r.sender_linked.mean_bits,
                r.sender_linked.p5_bits,
                100.0 * r.sender_linked_guess.top1,
                r.disclosure.precision_window,
                r.latency.median_min,
                r.latency.p95_min,
                r.delivery.within_24h,
                r.events,
                t.elapsed().as_secs_f64()
            );
        }
        Cmd::Smoke => {
            println!("level      bits  p5    prec  median  p95   delivered");
            for level in LevelName::ALL {
                let r = engine::run(&Scenario::smoke(level, 1));
                println!(
                    "{:<10} {:>5.2} {:>5.2} {:>5.2} {:>6.0} {:>6.0} {:>8.4}",
                    level.as_str(),
                    r.sender.mean_bits,
                    r.sender.p5_bits,
                    r.disclosure.precision_window,
                    r.latency.median_min,
                    r.latency.p95_min,
                    r.delivery.within_24h
                );
            }
        }
    }
    Ok(())
}
