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

/// A duration in ms in human terms: `850 ms`, `42 s`, `4 min 12 s`, `3 h 5 min`, `2 d 4 h`.
pub(crate) fn duration(ms: i64) -> String {
    if ms < 0 {
        return format!("-{}", duration(ms.saturating_neg()));
    }
    let s = ms / 1000;
    match s {
        _ if ms < 1000 => format!("{ms} ms"),
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(42_000), "42 s");
        assert_eq!(duration(252_000), "4 min 12 s");
        assert_eq!(duration(3 * 3_600_000 + 5 * 60_000), "3 h 5 min");
        assert_eq!(duration(2 * 86_400_000 + 4 * 3_600_000), "2 d 4 h");
        assert_eq!(duration(-1500), "-1 s");
        assert!(duration(i64::MIN).starts_with('-'));
    }

    #[test]
    fn local_times_have_date_and_seconds() {
        let t = local_time(1_796_405_359_950);
        assert_eq!(t.len(), "2026-12-04 16:03:12".len(), "{t}");
        assert!(t.starts_with("2026-12-0"), "{t}");
        assert!(!local_time(i64::MAX).is_empty());
    }
}
