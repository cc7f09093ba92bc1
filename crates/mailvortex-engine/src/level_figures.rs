//! What each level measured in the anonymity simulator, for the level slider of every front
//! end (the app's level descriptions, `mailvortex levels`).
//!
//! The figures come from `docs/anonymity/levels.json`, written by
//! `cargo run --release -p mailvortex-sim -- reference` and embedded at build time, so a build
//! always describes the level table it was measured with. Never edit the numbers by hand:
//! change the level table, regenerate (docs/anonymity/README.md), commit both.

use mailvortex_proto::level::LevelName;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

const LEVELS_JSON: &str = include_str!("../../../docs/anonymity/levels.json");

/// The measured figures of one level (reference scenario: 1000 users, a global passive
/// adversary who sees every e-mail of every provider; see docs/anonymity/README.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelFigures {
    /// Level name.
    pub level: String,
    /// Mean sender entropy, bits.
    pub sender_entropy_bits: f64,
    /// Perfect anonymity among all users, bits.
    pub ideal_bits: f64,
    /// How many people a message hides among (`2^entropy`).
    pub crowd: f64,
    /// How often the observer's best guess of the sender is right.
    pub top_guess_right: f64,
    /// The same for an observer who links the packets of one message.
    pub linked_top_guess_right: f64,
    /// Share of a user's regular correspondents the observer names after a week.
    pub correspondents_found_7d: f64,
    /// A random guess's score on the same measure.
    pub random_guess_7d: f64,
    /// Median delivery time, minutes.
    pub latency_median_min: f64,
    /// 95th percentile of the delivery time, minutes.
    pub latency_p95_min: f64,
    /// Share delivered within 24 hours (5 % of relays down, 1 % of mail lost).
    pub delivered_24h: f64,
}

#[derive(Deserialize)]
struct LevelsFile {
    levels: Vec<LevelFigures>,
}

/// The figures of every level, weakest first.
pub fn level_figures() -> Result<Vec<LevelFigures>> {
    let file: LevelsFile = serde_json::from_str(LEVELS_JSON)
        .map_err(|e| EngineError::Invalid(format!("embedded level figures: {e}")))?;
    Ok(file.levels)
}

/// The figures of one level (`None` if the level was not measured).
pub fn figures_for(level: LevelName) -> Result<Option<LevelFigures>> {
    Ok(level_figures()?
        .into_iter()
        .find(|f| f.level == level.as_str()))
}

/// "49 min", "1.8 h", "26 h".
fn duration(minutes: f64) -> String {
    if !minutes.is_finite() {
        "more than a day".into()
    } else if minutes < 90.0 {
        format!("{minutes:.0} min")
    } else if minutes < 600.0 {
        format!("{:.1} h", minutes / 60.0)
    } else {
        format!("{:.0} h", minutes / 60.0)
    }
}

/// "100 %", "99.99 %", "48 %", "7.2 %".
fn percent(x: f64) -> String {
    if x >= 0.99995 {
        "100 %".into()
    } else if x >= 0.995 {
        format!("{:.2} %", 100.0 * x)
    } else if x >= 0.1 {
        format!("{:.0} %", 100.0 * x)
    } else {
        format!("{:.1} %", 100.0 * x)
    }
}

impl LevelFigures {
    /// What the level hides, measured, in plain words (one or two sentences).
    pub fn hiding(&self) -> String {
        let users = self.ideal_bits.exp2().round();
        if self.sender_entropy_bits < 1.0 {
            format!(
                "Someone watching all mail providers can tell who sent a message (their best \
                 guess is right {} of the time): this hides you from your provider and casual \
                 observers, not from them.",
                percent(self.top_guess_right)
            )
        } else {
            format!(
                "Against someone watching all mail providers, a message hides you among about \
                 {:.0} of {users:.0} people (their best guess is right {} of the time); \
                 after a week of writing to the same people they can name {} of them (a \
                 random guess: {}).",
                self.crowd,
                percent(self.top_guess_right),
                percent(self.correspondents_found_7d),
                percent(self.random_guess_7d)
            )
        }
    }

    /// How long delivery takes, measured ("Usually arrives within 49 min, ...").
    pub fn timing(&self) -> String {
        format!(
            "Usually arrives within {}, 19 in 20 within {}; {} within a day.",
            duration(self.latency_median_min),
            duration(self.latency_p95_min),
            percent(self.delivered_24h)
        )
    }

    /// One plain-language paragraph for a level picker.
    pub fn summary(&self) -> String {
        format!("{} {}", self.hiding(), self.timing())
    }
}

/// A level as a level picker shows it: a title and three plain sentences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelDescription {
    /// The level.
    pub level: String,
    /// 0 for direct up to 4 for maximum.
    pub index: usize,
    /// "Standard".
    pub title: String,
    /// What it hides, and from whom (measured).
    pub hides: String,
    /// How long delivery takes (measured).
    pub takes: String,
    /// What it costs: mails from the user's account.
    pub costs: String,
}

/// Mails leaving the sender's account for a message of `bytes` bytes at `level` (its
/// packets; the receipt comes from the recipient's account).
pub fn mails_for(level: LevelName, bytes: usize) -> usize {
    let k = bytes.div_ceil(mailvortex_proto::message::SHARD_LEN).max(1);
    level.params().redundancy.total_shards(k)
}

/// The picker's texts for every level, weakest first.
pub fn level_descriptions() -> Result<Vec<LevelDescription>> {
    let figures = level_figures()?;
    Ok(LevelName::ALL
        .iter()
        .enumerate()
        .map(|(index, &level)| {
            let f = figures.iter().find(|f| f.level == level.as_str());
            let lead = if level == LevelName::Direct {
                "What you write and the subject are hidden from both mail providers, but \
                 not that you two are writing to each other."
            } else {
                "Neither mail provider nor the helpers on the way learn that you two are \
                 writing to each other, or what you write."
            };
            let hides = match f {
                Some(f) => format!("{lead} {}", f.hiding()),
                None => lead.to_string(),
            };
            let takes = f.map_or_else(|| "Not measured yet.".to_string(), LevelFigures::timing);
            let params = level.params();
            let short = mails_for(level, 1000);
            let big = mails_for(level, 1_000_000);
            let mut costs = format!(
                "A short note sends {short} {} from your account, 1 MB about {big}.",
                if short == 1 { "mail" } else { "mails" }
            );
            if params.cover_packets_per_day > 0 {
                costs.push_str(&format!(
                    " While you use it, {} background mails a day make your real ones \
                     harder to spot.",
                    params.cover_packets_per_day
                ));
            }
            let name = level.as_str();
            LevelDescription {
                level: name.to_string(),
                index,
                title: format!("{}{}", name[..1].to_uppercase(), &name[1..]),
                hides,
                takes,
                costs,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_has_sane_figures() {
        let all = level_figures().expect("embedded file parses");
        let names: Vec<&str> = all.iter().map(|f| f.level.as_str()).collect();
        let expected: Vec<&str> = LevelName::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(names, expected, "one entry per level, weakest first");
        for f in &all {
            assert!((0.0..=f.ideal_bits + 1e-9).contains(&f.sender_entropy_bits));
            assert!((0.0..=1.0).contains(&f.top_guess_right));
            assert!((0.0..=1.0).contains(&f.delivered_24h));
            assert!(f.latency_median_min > 0.0 && f.latency_p95_min >= f.latency_median_min);
            assert!(!f.summary().is_empty());
        }
        // Stronger levels hide better and take longer.
        for w in all.windows(2) {
            assert!(
                w[1].sender_entropy_bits >= w[0].sender_entropy_bits,
                "{}",
                w[1].level
            );
            assert!(
                w[1].latency_median_min >= w[0].latency_median_min,
                "{}",
                w[1].level
            );
        }
        let standard = figures_for(LevelName::Standard)
            .expect("parse")
            .expect("standard");
        assert!(standard.summary().contains("hides you among about"));
    }

    #[test]
    fn the_picker_says_what_each_level_hides_takes_and_costs() {
        let all = level_descriptions().expect("descriptions");
        assert_eq!(all.len(), LevelName::ALL.len());
        for (i, d) in all.iter().enumerate() {
            assert_eq!(d.index, i);
            assert!(d.takes.starts_with("Usually arrives within"), "{d:?}");
            assert!(d.costs.starts_with("A short note sends"), "{d:?}");
            for word in ["key", "onion", "entropy", "packet", "shard"] {
                let text = format!("{} {} {}", d.hides, d.takes, d.costs).to_lowercase();
                assert!(!text.contains(word), "{word} in {d:?}");
            }
        }
        assert_eq!(all[0].title, "Direct");
        assert!(all[0].hides.contains("not that you two"));
        assert!(all[2].hides.contains("hides you among about"));
        // More protection costs more mails for a big message.
        assert!(
            mails_for(LevelName::Maximum, 1_000_000) >= mails_for(LevelName::Direct, 1_000_000)
        );
        assert!(mails_for(LevelName::Direct, 1) >= 1);
    }
}
