//! Anonymity levels: what each notch of the sender's slider promises, as plain numbers.
//!
//! A level fixes the number of relays per path, how many parallel paths a message's packets
//! spread over, the erasure-coding redundancy, the mean mixing delay per hop and the cover
//! traffic rate. The figures behind the defaults are in docs/anonymity/.

use core::fmt;
use core::str::FromStr;

use crate::error::Error;

/// The named levels, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum LevelName {
    /// End-to-end encrypted straight to the recipient; no relays, no mixing.
    Direct,
    /// Two relays, short delays: hides who talks to whom from providers, weakly from a global observer.
    Fast,
    /// Three relays over two paths, 15-minute mean delays and cover traffic: the default.
    #[default]
    Standard,
    /// Four relays over two paths, longer delays, more cover.
    Strong,
    /// Five relays over three paths, hour-scale delays, the most cover.
    Maximum,
}

impl LevelName {
    /// Every level, weakest first.
    pub const ALL: [LevelName; 5] = [
        LevelName::Direct,
        LevelName::Fast,
        LevelName::Standard,
        LevelName::Strong,
        LevelName::Maximum,
    ];

    /// The level's parameters.
    pub fn params(self) -> LevelParams {
        match self {
            LevelName::Direct => LevelParams {
                name: self,
                relays_per_path: 0,
                parallel_paths: 1,
                redundancy: Redundancy { num: 1, den: 1 },
                mean_delay_ms: 0,
                cover_packets_per_day: 0,
                packets_per_path: 0,
            },
            LevelName::Fast => LevelParams {
                name: self,
                relays_per_path: 2,
                parallel_paths: 1,
                redundancy: Redundancy { num: 5, den: 4 },
                mean_delay_ms: 60_000,
                cover_packets_per_day: 0,
                packets_per_path: 0,
            },
            LevelName::Standard => LevelParams {
                name: self,
                relays_per_path: 3,
                // At least two paths, and every packet of a bigger message on a path of its
                // own (`packets_per_path: 1`): the simulator showed this cuts the p95 latency
                // from 5.2 h to under 2 h (a lost relay no longer stalls a message) and adds
                // 2.8 bits of sender entropy, at no extra sends (docs/anonymity).
                parallel_paths: 2,
                redundancy: Redundancy { num: 4, den: 3 },
                mean_delay_ms: 15 * 60_000,
                cover_packets_per_day: 20,
                packets_per_path: 1,
            },
            LevelName::Strong => LevelParams {
                name: self,
                relays_per_path: 4,
                parallel_paths: 2,
                redundancy: Redundancy { num: 3, den: 2 },
                mean_delay_ms: 30 * 60_000,
                cover_packets_per_day: 40,
                packets_per_path: 1,
            },
            LevelName::Maximum => LevelParams {
                name: self,
                relays_per_path: 5,
                parallel_paths: 3,
                redundancy: Redundancy { num: 2, den: 1 },
                mean_delay_ms: 60 * 60_000,
                cover_packets_per_day: 80,
                packets_per_path: 1,
            },
        }
    }

    /// The lower-case name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LevelName::Direct => "direct",
            LevelName::Fast => "fast",
            LevelName::Standard => "standard",
            LevelName::Strong => "strong",
            LevelName::Maximum => "maximum",
        }
    }

    /// The wire code of the level (carried end-to-end so receipts can be matched).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Parses a wire code.
    pub fn from_code(code: u8) -> Option<Self> {
        LevelName::ALL.get(usize::from(code)).copied()
    }
}

impl fmt::Display for LevelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LevelName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        LevelName::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or(Error::InvalidArgument(
                "level must be direct, fast, standard, strong or maximum",
            ))
    }
}

/// Erasure-coding redundancy as an exact fraction `n/k = num/den` (no floats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redundancy {
    /// Numerator (`num >= den`).
    pub num: u16,
    /// Denominator (non-zero).
    pub den: u16,
}

impl Redundancy {
    /// Total shards for `k` data shards: `ceil(k * num / den)`, at least `k`, plus one recovery
    /// shard whenever the fraction exceeds 1 so that small messages are protected too.
    pub fn total_shards(&self, k: usize) -> usize {
        let den = usize::from(self.den.max(1));
        let n = (k * usize::from(self.num)).div_ceil(den).max(k);
        if self.num > self.den && n == k {
            k + 1
        } else {
            n
        }
    }
}

/// Everything a level promises, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelParams {
    /// Which level this is.
    pub name: LevelName,
    /// Relays on each path (the recipient is one more hop).
    pub relays_per_path: u8,
    /// Paths a message's packets are spread over (each with its own relays where possible).
    pub parallel_paths: u8,
    /// Shards sent per data shard.
    pub redundancy: Redundancy,
    /// Mean of the exponential mixing delay each relay applies, in milliseconds.
    pub mean_delay_ms: u64,
    /// Cover packets (loops and drops) per day a node sends at this level.
    pub cover_packets_per_day: u32,
    /// Most packets of one message a single path carries; a bigger message is spread over
    /// more paths (`0`: no limit, always `parallel_paths`). A message's packets crowded on
    /// one path dominate every relay on it and point back at their sender: with one packet
    /// per path, standard gains 2.8 bits (docs/anonymity). See [`LevelParams::paths_for`].
    pub packets_per_path: u16,
}

impl LevelParams {
    /// Hops per path including the recipient.
    pub fn hops(&self) -> usize {
        usize::from(self.relays_per_path) + 1
    }

    /// Paths a message of `packets` packets is spread over: `parallel_paths`, or more when
    /// `packets_per_path` would be exceeded (at most 255). Direct sends have one path.
    pub fn paths_for(&self, packets: usize) -> u8 {
        let base = self.parallel_paths.max(1);
        if self.relays_per_path == 0 || self.packets_per_path == 0 {
            return base;
        }
        let needed = packets.div_ceil(usize::from(self.packets_per_path));
        u8::try_from(needed).unwrap_or(u8::MAX).max(base)
    }

    /// How long a sender waits for the receipt of one attempt before it tries again: the
    /// `quantile` of the round trip's mixing delays (a message out over `relays_per_path`
    /// relays, its receipt back over as many) plus `per_hop_ms` for each of the round trip's
    /// `2 × (relays_per_path + 1)` mail hops (a provider's transit and a mailbox poll). The
    /// simulator's timeout (`mailvortex-sim`) is the same sum, computed in floating point.
    pub fn receipt_deadline_ms(&self, quantile: f64, per_hop_ms: u64) -> u64 {
        let relays = u32::from(self.relays_per_path);
        let mixing = erlang_quantile(2 * relays, self.mean_delay_ms as f64, quantile);
        let hops = 2 * u64::from(relays + 1);
        (mixing as u64).saturating_add(hops.saturating_mul(per_hop_ms))
    }
}

/// The `q`-quantile of the sum of `k` independent exponential delays of mean `mean` (an
/// Erlang distribution): how long `k` mixing delays take at most, in `q` of the cases.
pub fn erlang_quantile(k: u32, mean: f64, q: f64) -> f64 {
    if k == 0 || mean <= 0.0 || q.is_nan() || q <= 0.0 {
        return 0.0;
    }
    let q = q.min(1.0 - 1e-12);
    let cdf = |x: f64| {
        let y = x / mean;
        let mut term = 1.0;
        let mut sum = 1.0;
        for i in 1..k {
            term *= y / f64::from(i);
            sum += term;
        }
        1.0 - (-y).exp() * sum
    };
    let (mut lo, mut hi) = (0.0, mean * (f64::from(k) * 10.0 + 50.0));
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_quantiles() {
        // One exponential: the median is mean·ln 2.
        assert!((erlang_quantile(1, 10.0, 0.5) - 10.0 * 2f64.ln()).abs() < 1e-6);
        // Sum of two: P(X ≤ x) = 1 − e^{−x}(1 + x); at x = 1.6783 it is 0.5.
        assert!((erlang_quantile(2, 1.0, 0.5) - 1.678_347).abs() < 1e-4);
        assert_eq!(erlang_quantile(0, 10.0, 0.99), 0.0);
    }

    #[test]
    fn receipt_deadlines_cover_mixing_and_mail_hops() {
        for l in LevelName::ALL {
            let p = l.params();
            let hops = 2 * (u64::from(p.relays_per_path) + 1);
            let without_mail = p.receipt_deadline_ms(0.99, 0);
            // The 99th percentile of 2r delays is beyond their mean.
            assert!(without_mail >= 2 * u64::from(p.relays_per_path) * p.mean_delay_ms);
            assert_eq!(
                p.receipt_deadline_ms(0.99, 1000),
                without_mail + hops * 1000,
                "{l:?}"
            );
            if p.relays_per_path > 0 {
                assert!(p.receipt_deadline_ms(0.5, 0) < without_mail, "{l:?}");
            } else {
                assert_eq!(without_mail, 0, "direct: no mixing");
            }
        }
    }

    #[test]
    fn levels_grow_monotonically() {
        let mut prev: Option<LevelParams> = None;
        for l in LevelName::ALL {
            let p = l.params();
            assert_eq!(l.as_str().parse::<LevelName>(), Ok(l));
            assert_eq!(LevelName::from_code(l.code()), Some(l));
            if let Some(q) = prev {
                assert!(p.relays_per_path > q.relays_per_path);
                assert!(p.mean_delay_ms > q.mean_delay_ms);
                assert!(p.parallel_paths >= q.parallel_paths);
                assert!(p.cover_packets_per_day >= q.cover_packets_per_day);
            }
            assert!(p.hops() <= crate::packet::MAX_HOPS);
            prev = Some(p);
        }
    }

    #[test]
    fn big_messages_spread_over_more_paths() {
        let standard = LevelName::Standard.params();
        assert_eq!(standard.paths_for(1), 2);
        assert_eq!(standard.paths_for(2), 2);
        assert_eq!(standard.paths_for(43), 43);
        assert_eq!(standard.paths_for(2000), u8::MAX);
        let fast = LevelName::Fast.params();
        assert_eq!(fast.paths_for(43), 1);
        assert_eq!(LevelName::Direct.params().paths_for(43), 1);
        let mut p = standard;
        p.packets_per_path = 4;
        assert_eq!(p.paths_for(9), 3);
    }

    #[test]
    fn redundancy_is_exact() {
        let r = Redundancy { num: 4, den: 3 };
        assert_eq!(r.total_shards(3), 4);
        assert_eq!(r.total_shards(1), 2);
        assert_eq!(r.total_shards(32), 43);
        assert_eq!(Redundancy { num: 1, den: 1 }.total_shards(5), 5);
        assert_eq!(Redundancy { num: 2, den: 1 }.total_shards(800), 1600);
    }
}
