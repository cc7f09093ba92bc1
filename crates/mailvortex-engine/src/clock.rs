//! Time for the engine: a clock that can run faster than real time.
//!
//! Every mixing delay, retry timeout and epoch computation reads this clock, so a test or
//! the demo can run a 15-minute mixing delay in a second by choosing a time factor.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Protocol time: unix milliseconds, advancing `factor` times faster than real time.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

#[derive(Debug)]
struct ClockInner {
    start_real: Instant,
    start_unix_ms: u64,
    factor: f64,
}

impl Clock {
    /// Real time.
    pub fn system() -> Self {
        Self::scaled(1.0)
    }

    /// Time running `factor` times faster than real time (factor ≥ 1 speeds up delays).
    pub fn scaled(factor: f64) -> Self {
        let start_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            inner: Arc::new(ClockInner {
                start_real: Instant::now(),
                start_unix_ms,
                factor: factor.max(1e-6),
            }),
        }
    }

    /// Time running `factor` times faster than real time from `origin_unix_ms` on: protocol
    /// time equals real time at the origin. Processes given the same origin and factor agree
    /// on protocol time (a node restarted, or a `send` next to a running daemon), which a
    /// clock anchored at each process's own start ([`Clock::scaled`]) cannot.
    pub fn scaled_since(factor: f64, origin_unix_ms: u64) -> Self {
        let factor = factor.max(1e-6);
        let now_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let elapsed_ms = now_unix_ms.saturating_sub(origin_unix_ms) as f64;
        Clock {
            inner: Arc::new(ClockInner {
                start_real: Instant::now(),
                start_unix_ms: origin_unix_ms + (elapsed_ms * factor) as u64,
                factor,
            }),
        }
    }

    /// The speed-up factor.
    pub fn factor(&self) -> f64 {
        self.inner.factor
    }

    /// Protocol time now, in unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        let elapsed = self.inner.start_real.elapsed().as_secs_f64() * 1000.0 * self.inner.factor;
        self.inner.start_unix_ms + elapsed as u64
    }

    /// Protocol time now, in unix seconds.
    pub fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// The real duration that `protocol_ms` of protocol time takes.
    pub fn real_duration(&self, protocol_ms: u64) -> Duration {
        Duration::from_secs_f64(protocol_ms as f64 / 1000.0 / self.inner.factor)
    }

    /// Sleeps for `protocol_ms` of protocol time.
    pub async fn sleep(&self, protocol_ms: u64) {
        tokio::time::sleep(self.real_duration(protocol_ms)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_time_runs_faster() {
        let c = Clock::scaled(1000.0);
        assert_eq!(c.real_duration(15 * 60_000), Duration::from_millis(900));
        let a = c.now_ms();
        std::thread::sleep(Duration::from_millis(20));
        assert!(c.now_ms() - a >= 19_000);
    }

    #[test]
    fn clocks_with_one_origin_agree() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let origin = now - 10_000;
        let a = Clock::scaled_since(100.0, origin);
        std::thread::sleep(Duration::from_millis(30));
        let b = Clock::scaled_since(100.0, origin);
        let (ta, tb) = (a.now_ms(), b.now_ms());
        assert!(ta.abs_diff(tb) < 1_000, "{ta} vs {tb}");
        assert!(ta >= origin + 999_000);
    }
}
