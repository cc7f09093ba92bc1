//! The smoke scenario (50 users, 18 measured hours, no failures or loss) with sane bounds.

use mailvortex_proto::level::LevelName;
use mailvortex_sim::engine;
use mailvortex_sim::metrics::RunResult;
use mailvortex_sim::model::{LevelOverrides, MINUTE, Scenario, SizeMix};

fn run(level: LevelName) -> (Scenario, RunResult) {
    let sc = Scenario::smoke(level, 11);
    let r = engine::run(&sc);
    (sc, r)
}

#[test]
fn every_level_stays_within_sane_bounds() {
    for level in LevelName::ALL {
        let (sc, r) = run(level);
        let p = sc.params();
        let max_bits = (sc.users as f64).log2();
        assert!(
            r.delivery.messages > 500,
            "{level}: too few messages measured"
        );
        for a in [&r.sender, &r.receiver] {
            assert!(a.messages > 0, "{level}: nothing measured");
            assert!(
                a.mean_bits >= 0.0 && a.mean_bits <= max_bits + 1e-6,
                "{level}: {a:?}"
            );
            assert!(
                a.p5_min_bits <= a.p5_bits + 1e-9,
                "{level}: min-entropy above entropy"
            );
        }
        // Without failures or loss practically everything arrives within a day.
        assert!(
            r.delivery.within_24h > 0.99,
            "{level}: delivered {}",
            r.delivery.within_24h
        );
        // The quota is enforced for every account.
        assert!(r.quota.relay_max <= sc.quota_per_day && r.quota.user_max <= sc.quota_per_day);
        // Latency is at least roughly the sum of the mean delays (median of a sum of
        // exponentials is a bit below their mean sum).
        let mix_min = f64::from(p.relays_per_path) * p.mean_delay_ms as f64 / MINUTE as f64;
        assert!(
            r.latency.median_min >= 0.6 * mix_min,
            "{level}: median {} vs {mix_min}",
            r.latency.median_min
        );
        assert!(r.latency.p95_min >= r.latency.median_min);
        // Precision is a fraction and the random baseline is k / (N - 1).
        assert!((0.0..=1.0).contains(&r.disclosure.precision_window));
        assert!(r.disclosure.baseline_window > 0.0 && r.disclosure.baseline_window < 0.2);
        assert!(r.traffic.bytes_per_byte > 1.0);
        if level == LevelName::Direct {
            // A global observer sees who sends to whom: no anonymity at all.
            assert!(r.sender.mean_bits < 1e-9 && r.receiver.mean_bits < 1e-9);
            // (Receipts also reveal the reverse direction, so a few top guesses are contacts
            // that only received.)
            assert!(r.disclosure.precision_window > 0.95);
        } else {
            assert!(
                r.sender.mean_bits > 0.1,
                "{level}: relays should hide something"
            );
        }
    }
}

#[test]
fn longer_delays_give_more_entropy() {
    let delay = |m: u64| LevelOverrides {
        mean_delay_ms: Some(m * MINUTE),
        ..LevelOverrides::default()
    };
    let base = Scenario {
        overrides: delay(2),
        ..Scenario::smoke(LevelName::Standard, 5)
    };
    let slow = Scenario {
        overrides: LevelOverrides {
            mean_delay_ms: Some(30 * MINUTE),
            ..LevelOverrides::default()
        },
        ..base.clone()
    };
    let (a, b) = (engine::run(&base), engine::run(&slow));
    assert!(
        b.sender.mean_bits > a.sender.mean_bits + 0.2,
        "2 min: {} bits, 30 min: {} bits",
        a.sender.mean_bits,
        b.sender.mean_bits
    );
    assert!(b.latency.median_min > a.latency.median_min);
}

#[test]
fn same_seed_same_result() {
    let sc = Scenario::smoke(LevelName::Fast, 3);
    let strip = |mut r: RunResult| {
        r.runtime_s = 0.0;
        serde_json::to_string(&r).expect("json")
    };
    let a = strip(engine::run(&sc));
    let b = strip(engine::run(&sc));
    assert_eq!(a, b);
    let other = strip(engine::run(&Scenario { seed: 4, ..sc }));
    assert_ne!(a, other);
}

#[test]
fn one_packet_per_path_hides_big_messages_better_than_crowded_paths() {
    let scenario = |packets_per_path: u16| Scenario {
        size_mix: SizeMix::Realistic,
        overrides: LevelOverrides {
            packets_per_path: Some(packets_per_path),
            ..LevelOverrides::default()
        },
        ..Scenario::smoke(LevelName::Standard, 7)
    };
    let (spread, crowded) = (engine::run(&scenario(1)), engine::run(&scenario(32)));
    assert!(
        spread.sender.mean_bits > crowded.sender.mean_bits + 0.2,
        "one per path: {} bits, 32 per path: {} bits",
        spread.sender.mean_bits,
        crowded.sender.mean_bits
    );
    // The linking adversary is measured for every message that was measured at all.
    assert_eq!(spread.sender_linked.messages, spread.sender.messages);
    assert!(spread.sender_linked.mean_bits > 0.0);
}
