//! Durations as people read them, for the details of a message's timeline (front ends show
//! them as they are).

/// A duration in ms in human terms: `850 ms`, `42 s`, `4 min 12 s`, `3 h 5 min`, `2 d 4 h`.
pub fn human_duration(ms: i64) -> String {
    if ms < 0 {
        return format!("-{}", human_duration(ms.saturating_neg()));
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
        assert_eq!(human_duration(850), "850 ms");
        assert_eq!(human_duration(42_000), "42 s");
        assert_eq!(human_duration(252_000), "4 min 12 s");
        assert_eq!(human_duration(3 * 3_600_000 + 5 * 60_000), "3 h 5 min");
        assert_eq!(human_duration(2 * 86_400_000 + 4 * 3_600_000), "2 d 4 h");
        assert_eq!(human_duration(-1500), "-1 s");
        assert!(human_duration(i64::MIN).starts_with('-'));
    }
}
