//! Load: packets opened in the last hour, and the puzzle difficulty that follows from it.

use std::collections::VecDeque;

use mailvortex_proto::puzzle::difficulty_under_load;

/// Bits of difficulty by which a packet may fall short of the advertised difficulty, so
/// senders holding a descriptor from before a load spike are not cut off at once.
const GRACE_BITS: u8 = 2;
const HOUR_MS: u64 = 3_600_000;

/// Arrival times of recent packets (protocol ms).
#[derive(Debug, Default)]
pub(crate) struct LoadMeter {
    arrivals: VecDeque<u64>,
}

impl LoadMeter {
    /// Records one packet.
    pub(crate) fn record(&mut self, now_ms: u64) {
        self.arrivals.push_back(now_ms);
        self.trim(now_ms);
    }

    fn trim(&mut self, now_ms: u64) {
        while self.arrivals.front().is_some_and(|t| t + HOUR_MS < now_ms) {
            self.arrivals.pop_front();
        }
    }

    /// Packets in the last hour.
    pub(crate) fn last_hour(&mut self, now_ms: u64) -> u64 {
        self.trim(now_ms);
        self.arrivals.len() as u64
    }
}

/// (advertised, required) difficulty for a node whose accounts may send `daily_budget` mails.
pub(crate) fn difficulties(base: u8, packets_last_hour: u64, daily_budget: u32) -> (u8, u8) {
    let advertised =
        difficulty_under_load(base, packets_last_hour, u64::from(daily_budget / 24).max(1));
    (advertised, advertised.saturating_sub(GRACE_BITS).max(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_raises_difficulty_with_grace() {
        assert_eq!(difficulties(10, 0, 2400), (10, 10));
        assert_eq!(difficulties(10, 150, 2400), (11, 10));
        assert_eq!(difficulties(10, 1000, 2400), (14, 12));
        let mut m = LoadMeter::default();
        for t in 0..10 {
            m.record(t * 1000);
        }
        assert_eq!(m.last_hour(10_000), 10);
        assert_eq!(m.last_hour(HOUR_MS + 5_500), 4);
    }
}
