//! Message preparation benchmarks: `prepare_message` for 1 MiB and 25 MiB at every level
//! (puzzle difficulty 0, so no puzzle is solved), the primitives the Maximum level is made of,
//! timed alone in the same run, and `gpg --encrypt` / `age` of the same 1 MiB as processes.
//!
//! `CARGO_TARGET_DIR=/work/target cargo bench -p mailvortex-proto --bench prepare [--features parallel,simd]`
//! `BENCH_SKIP_25MIB=1` skips the 25 MiB group (about a minute per level at Maximum).

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{ExternalTools, MIB, PrimitiveCount, SendFixture, body, envelope};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mailvortex_proto::level::LevelName;
use mailvortex_proto::packet::PAYLOAD_LEN;

fn prepare_1mib(c: &mut Criterion) {
    let fx = SendFixture::new();
    let data = body(MIB);
    let mut g = c.benchmark_group("prepare_1MiB");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Bytes(MIB as u64));
    for level in LevelName::ALL {
        let params = level.params();
        let env = envelope(level, data.clone());
        let mut seed = 0u64;
        g.bench_function(BenchmarkId::new("sequential", level), |b| {
            b.iter(|| {
                seed += 1;
                fx.prepare(black_box(&env), &params, seed)
            })
        });
        #[cfg(feature = "parallel")]
        g.bench_function(BenchmarkId::new("parallel", level), |b| {
            b.iter(|| {
                seed += 1;
                fx.prepare_parallel(black_box(&env), &params, seed)
            })
        });
    }
    g.finish();
}

fn prepare_25mib(c: &mut Criterion) {
    if std::env::var_os("BENCH_SKIP_25MIB").is_some() {
        return;
    }
    let fx = SendFixture::new();
    let data = body(25 * MIB);
    let mut g = c.benchmark_group("prepare_25MiB");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(25 * MIB as u64));
    for level in LevelName::ALL {
        let params = level.params();
        let env = envelope(level, data.clone());
        let mut seed = 0u64;
        g.bench_function(BenchmarkId::new("sequential", level), |b| {
            b.iter(|| {
                seed += 1;
                fx.prepare(black_box(&env), &params, seed)
            })
        });
        #[cfg(feature = "parallel")]
        g.bench_function(BenchmarkId::new("parallel", level), |b| {
            b.iter(|| {
                seed += 1;
                fx.prepare_parallel(black_box(&env), &params, seed)
            })
        });
    }
    g.finish();
}

/// Maximum, 1 MiB, against exactly the X25519 and XSalsa20 work it does, in the same group.
fn maximum_vs_primitives(c: &mut Criterion) {
    let fx = SendFixture::new();
    let params = LevelName::Maximum.params();
    let env = envelope(LevelName::Maximum, body(MIB));
    let count = PrimitiveCount::of(&fx.prepare(&env, &params, 0), &params, &env);
    let plain = env.encode().expect("encode");
    let mut payload = vec![0u8; PAYLOAD_LEN];
    let mut header = vec![0u8; common::HEADER_STREAM_LEN];
    let mut g = c.benchmark_group("maximum_1MiB_vs_primitives");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let mut seed = 0u64;
    g.bench_function("prepare_message", |b| {
        b.iter(|| {
            seed += 1;
            fx.prepare(black_box(&env), &params, seed)
        })
    });
    g.bench_function(
        format!(
            "primitives_{}keygen_{}dh_{}MB_xsalsa20",
            count.keygens(),
            count.dhs(),
            count.stream_bytes() / 1_000_000
        ),
        |b| b.iter(|| count.run(black_box(&plain), &mut payload, &mut header)),
    );
    g.finish();
}

/// gpg and age as processes on the same 1 MiB, next to Maximum (parallel when built with
/// the feature) and Direct.
fn against_tools(c: &mut Criterion) {
    let fx = SendFixture::new();
    let data = body(MIB);
    let tools = ExternalTools::new(&data);
    let mut g = c.benchmark_group("vs_gpg_age_1MiB");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    if tools.gpg_recipient.is_some() {
        g.bench_function("gpg_encrypt", |b| {
            b.iter(|| assert!(tools.gpg_encrypt(false)))
        });
        g.bench_function("gpg_encrypt_empty_startup", |b| {
            b.iter(|| assert!(tools.gpg_encrypt(true)))
        });
    } else {
        eprintln!("gpg not found: apt-get install -y gnupg");
    }
    if tools.age_recipient.is_some() {
        g.bench_function("age_encrypt", |b| {
            b.iter(|| assert!(tools.age_encrypt(false)))
        });
        g.bench_function("age_encrypt_empty_startup", |b| {
            b.iter(|| assert!(tools.age_encrypt(true)))
        });
    } else {
        eprintln!("age not found: apt-get install -y age");
    }
    let max = LevelName::Maximum.params();
    let max_env = envelope(LevelName::Maximum, data.clone());
    let direct = LevelName::Direct.params();
    let direct_env = envelope(LevelName::Direct, data);
    let mut seed = 0u64;
    g.bench_function("mailvortex_maximum_sequential", |b| {
        b.iter(|| {
            seed += 1;
            fx.prepare(&max_env, &max, seed)
        })
    });
    #[cfg(feature = "parallel")]
    g.bench_function("mailvortex_maximum_parallel", |b| {
        b.iter(|| {
            seed += 1;
            fx.prepare_parallel(&max_env, &max, seed)
        })
    });
    g.bench_function("mailvortex_direct_sequential", |b| {
        b.iter(|| {
            seed += 1;
            fx.prepare(&direct_env, &direct, seed)
        })
    });
    #[cfg(feature = "parallel")]
    g.bench_function("mailvortex_direct_parallel", |b| {
        b.iter(|| {
            seed += 1;
            fx.prepare_parallel(&direct_env, &direct, seed)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = prepare_1mib, maximum_vs_primitives, against_tools, prepare_25mib
}
criterion_main!(benches);
