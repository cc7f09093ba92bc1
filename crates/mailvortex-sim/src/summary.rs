//! `docs/anonymity/levels.json`: the few figures per level that user interfaces show next to
//! the level slider (the engine embeds the file; see `mailvortex_engine::level_figures`).
//! The schema is a contract with the engine: add fields freely, never rename or drop one.

use std::fs;
use std::path::Path;

use anyhow::Result;
use mailvortex_proto::level::LevelName;
use serde::Serialize;

use crate::experiments::Record;
use crate::metrics::RunResult;

/// The file: where the figures come from and one entry per level, weakest first.
#[derive(Debug, Serialize)]
pub struct LevelsFile {
    /// The command that wrote it.
    pub generated_by: String,
    /// The scenario in one sentence.
    pub scenario: String,
    /// Per level.
    pub levels: Vec<LevelSummary>,
}

/// What one level measured (means over the seeds run).
#[derive(Debug, Serialize)]
pub struct LevelSummary {
    /// Level name (`mailvortex_proto::level::LevelName::as_str`).
    pub level: String,
    /// Mean sender entropy against a global passive adversary, bits.
    pub sender_entropy_bits: f64,
    /// Perfect anonymity: log2(users).
    pub ideal_bits: f64,
    /// `2^entropy`: how many people a message hides among.
    pub crowd: f64,
    /// How often the adversary's single best guess of the sender is right.
    pub top_guess_right: f64,
    /// The same for the adversary that links the packets of one message.
    pub linked_top_guess_right: f64,
    /// Share of a user's regular correspondents the adversary names after 7 days.
    pub correspondents_found_7d: f64,
    /// What a random guess would score on the same measure.
    pub random_guess_7d: f64,
    /// Median time from sending to the recipient holding the message, minutes.
    pub latency_median_min: f64,
    /// 95th percentile of that time, minutes.
    pub latency_p95_min: f64,
    /// Share of messages delivered within 24 hours (5 % of relays down, 1 % mail loss).
    pub delivered_24h: f64,
}

fn mean(runs: &[&RunResult], f: impl Fn(&RunResult) -> f64) -> f64 {
    runs.iter().map(|r| f(r)).sum::<f64>() / runs.len().max(1) as f64
}

/// The summary of the reference `records`.
pub fn levels_file(records: &[Record], command: &str) -> LevelsFile {
    let levels = LevelName::ALL
        .iter()
        .filter_map(|l| {
            let runs: Vec<&RunResult> = records
                .iter()
                .filter(|r| r.scenario.level == *l)
                .map(|r| &r.result)
                .collect();
            let users = runs.first()?.users;
            let bits = mean(&runs, |r| r.sender.mean_bits);
            Some(LevelSummary {
                level: l.as_str().to_string(),
                sender_entropy_bits: bits,
                ideal_bits: (users.max(2) as f64).log2(),
                crowd: bits.exp2(),
                top_guess_right: mean(&runs, |r| r.sender_guess.top1),
                linked_top_guess_right: mean(&runs, |r| r.sender_linked_guess.top1),
                correspondents_found_7d: mean(&runs, |r| r.disclosure.precision_window),
                random_guess_7d: mean(&runs, |r| r.disclosure.baseline_window),
                latency_median_min: mean(&runs, |r| r.latency.median_min),
                latency_p95_min: mean(&runs, |r| r.latency.p95_min),
                delivered_24h: mean(&runs, |r| r.delivery.within_24h),
            })
        })
        .collect();
    let scenario = records.first().map_or_else(String::new, |r| {
        format!(
            "{} users, {} messages per user per day, {} sends per account per day, \
             global passive adversary, {} days",
            r.scenario.users,
            r.scenario.msgs_per_user_per_day,
            r.scenario.quota_per_day,
            r.scenario.window_ms / 86_400_000
        )
    });
    LevelsFile {
        generated_by: command.to_string(),
        scenario,
        levels,
    }
}

/// Writes `levels.json` into `out`.
pub fn write_levels(out: &Path, records: &[Record], command: &str) -> Result<()> {
    let file = levels_file(records, command);
    fs::write(
        out.join("levels.json"),
        serde_json::to_string_pretty(&file)? + "\n",
    )?;
    Ok(())
}
