//! Times and durations as people read them (the protocol's Unix milliseconds stay in `--json`).

use chrono::{Local, LocalResult, TimeZone};

/// A Unix time in ms as a local date-time, `2026-12-04 16:03:12`.
pub(crate) fn local_time(unix_ms: i64) -> String {
    match Local.timestamp_millis_opt(unix_ms) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        }
        LocalResult::None => format!("(time {unix_ms} ms)"),
    }
}

pub(crate) use mailvortex_engine::human_duration as duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_have_date_and_seconds() {
        let t = local_time(1_796_405_359_950);
        assert_eq!(t.len(), "2026-12-04 16:03:12".len(), "{t}");
        assert!(t.starts_with("2026-12-0"), "{t}");
        assert!(!local_time(i64::MAX).is_empty());
    }
}
