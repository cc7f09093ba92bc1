//! The figures: entropy, min-entropy, percentiles, precision@k, and the result of one run.

use serde::Serialize;

/// Shannon entropy and min-entropy (both in bits) of a non-negative vector, normalised first.
/// An all-zero vector gives `(0, 0)`.
pub fn entropy_bits(v: &[f32]) -> (f64, f64) {
    let total: f64 = v.iter().map(|x| f64::from(*x).max(0.0)).sum();
    if total <= 0.0 {
        return (0.0, 0.0);
    }
    let mut h = 0.0;
    let mut max = 0.0f64;
    for x in v {
        let p = f64::from(*x).max(0.0) / total;
        if p > 0.0 {
            h -= p * p.log2();
            max = max.max(p);
        }
    }
    (h.max(0.0), -max.log2())
}

/// The `q`-quantile (0..=1) of `values` with linear interpolation; `NaN` when empty.
/// Infinite values (undelivered messages) are allowed and sort last.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    if lo == hi {
        return v[lo];
    }
    if v[hi].is_infinite() {
        // Interpolating towards an undelivered message gives "not within the run".
        return v[hi];
    }
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Mean of `values` (`NaN` when empty).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        f64::NAN
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Precision@k for one recipient: rank candidates (everyone but `me`) by `scores`, take the top
/// `k` where `k` is the number of true correspondents, and return (fraction of them that are true,
/// the random-guess expectation `k / candidates`). `None` when there is no true correspondent.
/// Ties are broken by index, so the result is deterministic.
pub fn precision_at_k(scores: &[f32], truth: &[bool], me: usize) -> Option<(f64, f64)> {
    let k = truth
        .iter()
        .enumerate()
        .filter(|(i, t)| **t && *i != me)
        .count();
    if k == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).filter(|i| *i != me).collect();
    let candidates = idx.len();
    idx.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
    let hits = idx[..k].iter().filter(|i| truth[**i]).count();
    Some((hits as f64 / k as f64, k as f64 / candidates as f64))
}

pub use mailvortex_proto::level::erlang_quantile;

/// Anonymity figures over messages.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Anonymity {
    /// Messages measured.
    pub messages: usize,
    /// Mean Shannon entropy, bits.
    pub mean_bits: f64,
    /// 5th percentile of the Shannon entropy, bits.
    pub p5_bits: f64,
    /// 5th percentile of the min-entropy, bits.
    pub p5_min_bits: f64,
    /// Degree of anonymity: mean entropy / log2(users).
    pub degree: f64,
    /// Mean entropy of one-packet messages.
    pub mean_bits_single: f64,
    /// Mean entropy of multi-packet messages.
    pub mean_bits_multi: f64,
}

impl Anonymity {
    /// Figures from per-message `(entropy, min-entropy, multi-packet)` triples.
    pub fn from_samples(samples: &[(f64, f64, bool)], users: usize) -> Self {
        let h: Vec<f64> = samples.iter().map(|s| s.0).collect();
        let m: Vec<f64> = samples.iter().map(|s| s.1).collect();
        let single: Vec<f64> = samples.iter().filter(|s| !s.2).map(|s| s.0).collect();
        let multi: Vec<f64> = samples.iter().filter(|s| s.2).map(|s| s.0).collect();
        let max = (users.max(2) as f64).log2();
        Anonymity {
            messages: samples.len(),
            mean_bits: mean(&h),
            p5_bits: percentile(&h, 0.05),
            p5_min_bits: percentile(&m, 0.05),
            degree: mean(&h) / max,
            mean_bits_single: mean(&single),
            mean_bits_multi: mean(&multi),
        }
    }
}

/// How often the adversary's posterior points at the true sender (per message, the best of its
/// sampled packets). Complements entropy, which measures the adversary's uncertainty but not
/// whether it is right.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Guessing {
    /// Mean posterior probability of the true sender.
    pub mean_p_true: f64,
    /// Fraction of messages whose true sender is the adversary's top candidate.
    pub top1: f64,
    /// Random guess: 1 / users.
    pub baseline: f64,
}

impl Guessing {
    /// Figures from per-message `(P(true sender), top guess right)` pairs.
    pub fn from_samples(samples: &[(f64, bool)], users: usize) -> Self {
        Guessing {
            mean_p_true: mean(&samples.iter().map(|g| g.0).collect::<Vec<_>>()),
            top1: samples.iter().filter(|g| g.1).count() as f64 / samples.len().max(1) as f64,
            baseline: 1.0 / users.max(1) as f64,
        }
    }
}

/// Long-term correspondent discovery.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Disclosure {
    /// Mean precision@k after the first measured day.
    pub precision_day: f64,
    /// Random-guess precision for the same k.
    pub baseline_day: f64,
    /// Mean precision@k after the whole window (7 days in the reference).
    pub precision_window: f64,
    /// Random-guess precision for the same k.
    pub baseline_window: f64,
    /// Mean number of true correspondents per recipient over the window.
    pub mean_k_window: f64,
}

/// End-to-end latency of messages created in the window (undelivered ones count as infinite).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Median, minutes.
    pub median_min: f64,
    /// 95th percentile, minutes.
    pub p95_min: f64,
    /// Median of one-packet messages, minutes.
    pub median_single_min: f64,
    /// Median of multi-packet messages, minutes.
    pub median_multi_min: f64,
    /// 95th percentile of multi-packet messages, minutes.
    pub p95_multi_min: f64,
}

/// Reliability.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Delivery {
    /// Messages created in the window.
    pub messages: usize,
    /// Fraction rebuilt by the recipient within 24 h.
    pub within_24h: f64,
    /// Fraction rebuilt by the end of the run.
    pub eventually: f64,
    /// Fraction of messages that needed at least one retransmission.
    pub retransmitted: f64,
    /// Attempts the route planner could not serve.
    pub plan_failures: u64,
}

/// Traffic and its cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Traffic {
    /// Wire bytes of all e-mails sent in the window per byte of real message body delivered.
    pub bytes_per_byte: f64,
    /// E-mails sent in the window per real message created in it.
    pub emails_per_message: f64,
    /// E-mails of first transmissions.
    pub real_emails: u64,
    /// E-mails of retransmissions.
    pub retransmit_emails: u64,
    /// E-mails carrying receipts.
    pub receipt_emails: u64,
    /// E-mails carrying cover loops.
    pub cover_emails: u64,
    /// E-mails lost in transit (random loss).
    pub lost_in_transit: u64,
    /// Packets lost to relay failures.
    pub lost_to_failures: u64,
}

/// Daily sends per account against the quota (all complete days of the run).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Quota {
    /// The quota.
    pub quota: u32,
    /// Relay accounts.
    pub relays: usize,
    /// Highest daily sends of any relay.
    pub relay_max: u32,
    /// Mean daily sends per relay.
    pub relay_mean: f64,
    /// 99th percentile over relay-days.
    pub relay_p99: f64,
    /// Relay-days that hit the quota.
    pub relay_days_at_quota: u64,
    /// Relay sends that had to wait for the next day.
    pub relay_deferred: u64,
    /// Highest daily sends of any user account.
    pub user_max: u32,
    /// Mean daily sends per user account.
    pub user_mean: f64,
    /// User sends that had to wait for the next day.
    pub user_deferred: u64,
}

/// The effective level parameters of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Params {
    /// Relays per path.
    pub relays_per_path: u8,
    /// Parallel paths (at least).
    pub parallel_paths: u8,
    /// Most packets of a message per path (0: no limit).
    pub packets_per_path: u16,
    /// Redundancy numerator/denominator.
    pub redundancy: (u16, u16),
    /// Mean delay per hop, minutes.
    pub mean_delay_min: f64,
    /// Cover loops per user per day.
    pub cover_per_day: u32,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunResult {
    /// Scenario label.
    pub label: String,
    /// Level name.
    pub level: String,
    /// Seed.
    pub seed: u64,
    /// Effective level parameters.
    pub params: Params,
    /// Users.
    pub users: usize,
    /// Mean packets of a message's first transmission.
    pub packets_per_message: f64,
    /// Retransmission timeout, minutes.
    pub timeout_min: f64,
    /// Sender anonymity against the adversary.
    pub sender: Anonymity,
    /// How often the adversary's sender posterior is right.
    pub sender_guess: Guessing,
    /// Sender anonymity against the adversary that links a message's packets and multiplies
    /// their posteriors (equal to `sender` for one-packet messages).
    pub sender_linked: Anonymity,
    /// How often the linking adversary is right.
    pub sender_linked_guess: Guessing,
    /// Receiver anonymity against the adversary.
    pub receiver: Anonymity,
    /// Long-term correspondent discovery.
    pub disclosure: Disclosure,
    /// Latency.
    pub latency: Latency,
    /// Delivery.
    pub delivery: Delivery,
    /// Traffic.
    pub traffic: Traffic,
    /// Quotas.
    pub quota: Quota,
    /// Events processed.
    pub events: u64,
    /// Wall-clock seconds of the run.
    pub runtime_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn entropy_of_hand_computed_cases() {
        assert_eq!(entropy_bits(&[0.0, 1.0, 0.0]), (0.0, 0.0));
        let (h, m) = entropy_bits(&[0.25; 4]);
        assert!(close(h, 2.0) && close(m, 2.0));
        // (1/2, 1/4, 1/4): H = 1.5 bits, min-entropy 1 bit.
        let (h, m) = entropy_bits(&[0.5, 0.25, 0.25]);
        assert!(close(h, 1.5) && close(m, 1.0));
        // Unnormalised input is normalised first.
        let (h, _) = entropy_bits(&[2.0, 1.0, 1.0]);
        assert!(close(h, 1.5));
        assert_eq!(entropy_bits(&[0.0, 0.0]), (0.0, 0.0));
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(close(percentile(&v, 0.5), 3.0));
        assert!(close(percentile(&v, 0.25), 2.0));
        assert!(close(percentile(&v, 0.1), 1.4));
        assert!(percentile(&[1.0, f64::INFINITY], 1.0).is_infinite());
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn precision_at_k_by_hand() {
        // Recipient 0; true correspondents 1 and 3; scores rank 1, 2, 3, 4.
        let scores = [9.0, 0.9, 0.8, 0.7, 0.1];
        let truth = [false, true, false, true, false];
        let (p, base) = precision_at_k(&scores, &truth, 0).expect("has correspondents");
        assert!(close(p, 0.5), "top-2 = {{1, 2}}: one of two right");
        assert!(close(base, 2.0 / 4.0));
        let perfect = [0.0, 5.0, 0.0, 4.0, 0.0];
        assert_eq!(precision_at_k(&perfect, &truth, 0), Some((1.0, 0.5)));
        assert_eq!(precision_at_k(&scores, &[false; 5], 0), None);
    }

    #[test]
    fn anonymity_summary() {
        let s = [(2.0, 1.0, false), (4.0, 3.0, true)];
        let a = Anonymity::from_samples(&s, 16);
        assert!(close(a.mean_bits, 3.0) && close(a.degree, 0.75));
        assert!(close(a.mean_bits_single, 2.0) && close(a.mean_bits_multi, 4.0));
    }
}
