//! Packet-layer benchmarks: creation, per-hop processing (against `sphinx-packet` and one bare
//! X25519 operation, in the same run), junk rejection, puzzles.
//!
//! `CARGO_TARGET_DIR=/work/target cargo bench -p mailvortex-proto --bench packets`
//! The one-table summary with every ratio is `examples/bench_table.rs`.

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{Node, junk, network, packet_for, rng};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mailvortex_proto::identity::NodeId;
use mailvortex_proto::packet::{HopSpec, PAYLOAD_LEN, build_packet, open_packet};
use mailvortex_proto::puzzle::Challenge;
use rand_core::RngCore;

/// sphinx-packet's own fixtures: a route of `hops` mix nodes and one destination.
mod sphinx {
    use sphinx_packet::constants::{DESTINATION_ADDRESS_LENGTH, IDENTIFIER_LENGTH};
    use sphinx_packet::header::delays::Delay;
    use sphinx_packet::route::{Destination, DestinationAddressBytes, Node, NodeAddressBytes};
    use sphinx_packet::{SphinxPacket, SphinxPacketBuilder};
    // sphinx-packet 0.8 is built on x25519-dalek 3 (ours on 2): use its re-exported types.
    mod x3 {
        pub(super) use sphinx_packet::crypto::{PrivateKey as StaticSecret, PublicKey};
    }

    /// A packet of `payload_size` payload bytes for a 3-hop route, and the first hop's key.
    pub(super) fn packet(payload_size: usize) -> (Vec<u8>, x3::StaticSecret) {
        let mut secrets = Vec::new();
        let route: Vec<Node> = (0..3u8)
            .map(|i| {
                let sk = x3::StaticSecret::from([i + 1; 32]);
                let pk = x3::PublicKey::from(&sk);
                secrets.push(sk);
                Node::new(NodeAddressBytes::from_bytes([i + 10; 32]), pk)
            })
            .collect();
        let destination = Destination::new(
            DestinationAddressBytes::from_bytes([3u8; DESTINATION_ADDRESS_LENGTH]),
            [4u8; IDENTIFIER_LENGTH],
        );
        let delays: Vec<Delay> = (0..3).map(|_| Delay::new_from_millis(1000)).collect();
        let message = vec![0x5au8; payload_size - sphinx_packet::payload::PAYLOAD_OVERHEAD_SIZE];
        let p: SphinxPacket = SphinxPacketBuilder::new()
            .with_payload_size(payload_size)
            .build_packet(message, &route, &destination, &delays)
            .expect("sphinx build");
        (p.to_bytes(), secrets.swap_remove(0))
    }

    /// One hop's processing of an already parsed packet (what a mix node does per packet).
    pub(super) fn process(
        p: SphinxPacket,
        sk: &x3::StaticSecret,
    ) -> sphinx_packet::ProcessedPacket {
        p.process(sk).expect("sphinx process")
    }

    pub(super) fn parse(bytes: &[u8]) -> SphinxPacket {
        SphinxPacket::from_bytes(bytes).expect("sphinx parse")
    }
}

/// sphinx-packet's default payload (`SphinxPacketBuilder` default), Nym's regular 2 KiB
/// packets, and ours (32 KiB, Nym's "extended 32" size).
const SPHINX_SIZES: [(&str, usize); 3] = [
    ("1KiB_default", 1024),
    ("2KiB", 2048),
    ("32KiB_same_as_ours", PAYLOAD_LEN),
];

fn creation(c: &mut Criterion) {
    let (_, recipient, relays) = network(5);
    let mut g = c.benchmark_group("packet_create");
    for hops_n in [1usize, 3, 6] {
        let route: Vec<&Node> = relays[..hops_n - 1]
            .iter()
            .chain(std::iter::once(&recipient))
            .collect();
        let hops: Vec<HopSpec<'_>> = route.iter().map(|n| n.hop()).collect();
        let payload = [0x5au8; PAYLOAD_LEN];
        let mut r = rng(1);
        g.bench_function(BenchmarkId::new("hops", hops_n), |b| {
            b.iter(|| build_packet(black_box(&hops), black_box(&payload), &mut r).expect("build"))
        });
    }
    g.finish();
}

fn per_hop(c: &mut Criterion) {
    let (_, recipient, relays) = network(2);
    let ours = packet_for(&[&relays[0], &relays[1], &recipient], 7);
    let keys = relays[0].keyring();
    let mut g = c.benchmark_group("per_hop");
    g.throughput(Throughput::Elements(1));
    g.bench_function("mailvortex_32KiB", |b| {
        b.iter(|| {
            open_packet(black_box(&keys), black_box(&ours))
                .expect("open")
                .into_routing()
        })
    });
    for (name, size) in SPHINX_SIZES {
        let (bytes, sk) = sphinx::packet(size);
        g.bench_function(format!("sphinx_{name}"), |b| {
            b.iter_batched(
                || sphinx::parse(&bytes),
                |p| sphinx::process(p, black_box(&sk)),
                BatchSize::SmallInput,
            )
        });
    }
    bare_x25519(&mut g);
    g.finish();
}

fn bare_x25519(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let sk = x25519_dalek::StaticSecret::from([7u8; 32]);
    let mut alpha = [0u8; 32];
    rng(3).fill_bytes(&mut alpha);
    g.bench_function("bare_x25519_dh", |b| {
        b.iter(|| common::x25519_dh(black_box(&sk), black_box(alpha)))
    });
}

fn junk_rejection(c: &mut Criterion) {
    let (_, mut one, _) = network(0);
    let blob = junk(11);
    let mut g = c.benchmark_group("junk");
    g.throughput(Throughput::Elements(1));
    g.bench_function("reject_one_key", |b| {
        b.iter(|| open_packet(black_box(&one.keyring()), black_box(&blob)).expect_err("junk"))
    });
    one.add_grace_key(12);
    g.bench_function("reject_two_keys_grace", |b| {
        b.iter(|| open_packet(black_box(&one.keyring()), black_box(&blob)).expect_err("junk"))
    });
    bare_x25519(&mut g);
    g.finish();
}

fn puzzles(c: &mut Criterion) {
    let node = NodeId([4; 32]);
    let mut g = c.benchmark_group("puzzle");
    let mut r = rng(5);
    for d in [8u8, 12, 16, 20] {
        if d >= 16 {
            g.sample_size(10).measurement_time(Duration::from_secs(20));
        }
        g.bench_function(BenchmarkId::new("solve_bits", d), |b| {
            b.iter(|| {
                let mut tag = [0u8; 32];
                r.fill_bytes(&mut tag);
                let ch = Challenge::new(&tag, &node, 1);
                ch.solve(d, r.next_u64())
            })
        });
    }
    g.sample_size(100).measurement_time(Duration::from_secs(5));
    let ch = Challenge::new(&[1; 32], &node, 1);
    let nonce = ch.solve(12, 0);
    g.bench_function("verify", |b| {
        b.iter(|| black_box(&ch).check(black_box(nonce), 12))
    });
    // What a hop actually does: derive the challenge from the replay tag, then check.
    g.bench_function("verify_with_challenge", |b| {
        b.iter(|| Challenge::new(black_box(&[1; 32]), &node, 1).check(black_box(nonce), 12))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = creation, per_hop, junk_rejection, puzzles
}
criterion_main!(benches);
