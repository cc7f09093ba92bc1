//! Prints digests of everything the crate puts on the wire for fixed seeds, plus the RNG
//! state after each call. Run before and after a performance change: the output must match.
//! `cargo run --release -p mailvortex-proto --example wire_digest [--features parallel]`

#[path = "../benches/common/mod.rs"]
mod common;

use blake2::{Blake2b512, Digest};
use common::{Node, SendFixture, body, envelope, network, rng};
use mailvortex_proto::identity::EpochPublic;
use mailvortex_proto::level::{LevelName, Redundancy};
use mailvortex_proto::message::{open_shard, rebuild, seal_message};
use mailvortex_proto::packet::{
    DeliverKind, HopSpec, PAYLOAD_LEN, Routing, build_header, build_packet, open_packet,
};
use mailvortex_proto::surb::{build_reply, create_surb, open_reply};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;

fn d(label: &str, parts: &[&[u8]], r: Option<&mut ChaCha20Rng>) {
    let mut h = Blake2b512::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let after = r.map(|r| r.next_u64()).unwrap_or(0);
    println!(
        "{label:40} {} rng_after={after:016x}",
        hex::encode(&h.finalize()[..16])
    );
}

fn main() {
    let (_, mut recipient, mut relays) = network(8);
    // Packets over 1..=8 hops, with delays and puzzles.
    for hops_n in 1..=8usize {
        let route: Vec<&Node> = relays[..hops_n - 1]
            .iter()
            .chain(std::iter::once(&recipient))
            .collect();
        let mut hops: Vec<HopSpec<'_>> = route.iter().map(|n| n.hop()).collect();
        for (i, h) in hops.iter_mut().enumerate() {
            h.delay_ms = 777 * i as u32;
            h.difficulty = (i % 3) as u8 * 3;
        }
        let mut r = rng(40 + hops_n as u64);
        let mut payload = [0u8; PAYLOAD_LEN];
        rng(hops_n as u64).fill_bytes(&mut payload);
        let p = build_packet(&hops, &payload, &mut r).expect("build");
        d(&format!("build_packet hops={hops_n}"), &[&p], Some(&mut r));
        let mut r = rng(50 + hops_n as u64);
        let b = build_header(&hops, DeliverKind::Reply([9; 16]), &mut r).expect("hdr");
        let mut keys = Vec::new();
        for k in &b.payload_keys {
            keys.extend_from_slice(k);
        }
        d(
            &format!("build_header hops={hops_n}"),
            &[&b.header, &keys],
            Some(&mut r),
        );
        // Walk it.
        let mut packet = p;
        for (i, n) in route.iter().enumerate() {
            let opened = open_packet(&n.keyring(), &packet).expect("open");
            let tag = *opened.replay_tag();
            match opened.into_routing() {
                Routing::Forward(f) => {
                    d(
                        &format!("  hop {i} forward"),
                        &[
                            &tag,
                            f.next_address.as_bytes(),
                            &f.delay_ms.to_be_bytes(),
                            &f.packet,
                        ],
                        None,
                    );
                    packet = f.packet;
                }
                Routing::Deliver { payload: out, .. } => {
                    d(&format!("  hop {i} deliver"), &[&tag, &out], None);
                    assert_eq!(out, payload);
                }
            }
        }
    }
    // Weak key: error path RNG consumption.
    {
        let weak = EpochPublic {
            epoch: 1,
            valid_from: 0,
            valid_until: u64::MAX,
            key: [0; 32],
            signature: [0; 64],
        };
        let mut hops: Vec<HopSpec<'_>> = vec![relays[0].hop(), relays[1].hop(), recipient.hop()];
        hops[1].epoch = &weak;
        let mut r = rng(77);
        let e = build_packet(&hops, &[1; PAYLOAD_LEN], &mut r).expect_err("weak");
        d("weak key", &[format!("{e:?}").as_bytes()], Some(&mut r));
    }
    // Reply blocks.
    {
        let hops = vec![relays[0].hop(), relays[1].hop(), recipient.hop()];
        let mut r = rng(88);
        let (surb, secret) = create_surb(&hops, &mut r).expect("surb");
        d(
            "create_surb",
            &[&surb.encode(), &secret.encode()],
            Some(&mut r),
        );
        let mut r = rng(89);
        let (_, reply) = build_reply(&surb, b"thanks", &mut r).expect("reply");
        d("build_reply", &[&reply], Some(&mut r));
        let mut packet = reply;
        for n in [&relays[0], &relays[1], &recipient] {
            match open_packet(&n.keyring(), &packet)
                .expect("open")
                .into_routing()
            {
                Routing::Forward(f) => packet = f.packet,
                Routing::Deliver { payload, .. } => {
                    let c = open_reply(&secret, &payload).expect("open reply");
                    d("open_reply", &[&c], None);
                }
            }
        }
    }
    // Sealing.
    let fx = SendFixture::new();
    for (len, red) in [
        (10usize, (1u16, 1u16)),
        (100_000, (3, 2)),
        (1 << 20, (2, 1)),
    ] {
        let env = envelope(LevelName::Standard, body(len));
        let mut r = rng(len as u64);
        let s = seal_message(
            fx.sender_keys(),
            &fx.recipient.epochs[0].public,
            &env,
            Redundancy {
                num: red.0,
                den: red.1,
            },
            &mut r,
        )
        .expect("seal");
        let mut all = Vec::new();
        for p in &s.payloads {
            all.extend_from_slice(&p[..]);
        }
        d(
            &format!("seal_message len={len}"),
            &[&s.message_id, &all],
            Some(&mut r),
        );
        let shards: Vec<_> = s
            .payloads
            .iter()
            .skip(s.n - s.k)
            .map(|p| open_shard(&fx.recipient.epochs[0], &p[..]).expect("shard"))
            .collect();
        let m = rebuild(&shards).expect("rebuild");
        assert_eq!(m.envelope, env);
    }
    // Whole messages at every level.
    for level in LevelName::ALL {
        for len in [5000usize, 300_000] {
            let params = level.params();
            let env = envelope(level, body(len));
            let relays_d: Vec<_> = fx.relays.iter().map(|r| &r.descriptor).collect();
            let mut r = rng(1000 + len as u64);
            let p = mailvortex_proto::send::prepare_message(
                fx.sender_keys(),
                "a.test",
                &fx.recipient.descriptor,
                &env,
                &params,
                &relays_d,
                common::NOW,
                &mut r,
            )
            .expect("prepare");
            let mut all = Vec::new();
            for o in &p.packets {
                all.extend_from_slice(&o.shard_index.to_be_bytes());
                all.extend_from_slice(&(o.path as u64).to_be_bytes());
                all.extend_from_slice(o.first_hop.as_bytes());
                all.extend_from_slice(&o.packet);
            }
            d(
                &format!("prepare {level} len={len}"),
                &[&p.message_id, &all],
                Some(&mut r),
            );
            #[cfg(feature = "parallel")]
            {
                let mut r = rng(1000 + len as u64);
                let q = mailvortex_proto::send::prepare_message_parallel(
                    fx.sender_keys(),
                    "a.test",
                    &fx.recipient.descriptor,
                    &env,
                    &params,
                    &relays_d,
                    common::NOW,
                    &mut r,
                )
                .expect("prepare");
                let mut all = Vec::new();
                for o in &q.packets {
                    all.extend_from_slice(&o.shard_index.to_be_bytes());
                    all.extend_from_slice(&(o.path as u64).to_be_bytes());
                    all.extend_from_slice(o.first_hop.as_bytes());
                    all.extend_from_slice(&o.packet);
                }
                d(
                    &format!("prepare_parallel {level} len={len}"),
                    &[&q.message_id, &all],
                    Some(&mut r),
                );
            }
        }
    }
    // Grace period open.
    recipient.add_grace_key(5);
    let p = common::packet_for(&[&relays[0], &recipient], 3);
    let _ = open_packet(&relays[0].keyring(), &p).expect("relay");
    relays[0].add_grace_key(6);
    let o = open_packet(&relays[0].keyring(), &p).expect("grace");
    d("grace open", &[o.replay_tag()], None);
}
