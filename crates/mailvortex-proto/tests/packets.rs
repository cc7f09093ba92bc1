//! Property tests of the packet layer: routes, tampering, replays, junk.

mod common;

use common::{TestNode, network, rng};
use mailvortex_proto::Error;
use mailvortex_proto::packet::{DeliverKind, PACKET_LEN, PAYLOAD_LEN, Routing, build_packet};
use proptest::prelude::*;

/// Sends `payload` through `route` (indices into `relays`) to `recipient`; returns the final payload.
fn travel(
    relays: &mut [TestNode],
    route: &[usize],
    recipient: &mut TestNode,
    payload: &[u8; PAYLOAD_LEN],
    seed: u64,
) -> Result<Vec<u8>, Error> {
    let mut hops: Vec<_> = route.iter().map(|i| relays[*i].hop()).collect();
    hops.push(recipient.hop());
    for (i, h) in hops.iter_mut().enumerate() {
        h.delay_ms = 1000 * i as u32;
    }
    let mut packet = build_packet(&hops, payload, &mut rng(seed))?;
    drop(hops);
    for (step, i) in route.iter().enumerate() {
        assert_eq!(packet.len(), PACKET_LEN);
        match relays[*i].process(&packet)? {
            Routing::Forward(f) => {
                assert_eq!(f.delay_ms, 1000 * step as u32);
                let expected = route
                    .get(step + 1)
                    .map(|j| relays[*j].descriptor.address.clone())
                    .unwrap_or_else(|| recipient.descriptor.address.clone());
                assert_eq!(f.next_address, expected);
                packet = f.packet;
            }
            Routing::Deliver { .. } => panic!("relay {step} thought it was the destination"),
        }
    }
    match recipient.process(&packet)? {
        Routing::Deliver { kind, payload } => {
            assert_eq!(kind, DeliverKind::Message);
            Ok(payload)
        }
        Routing::Forward(_) => panic!("recipient was asked to forward"),
    }
}

fn route_strategy() -> impl Strategy<Value = Vec<usize>> {
    // 0 to 7 relays (1 to 8 hops), distinct, out of 8.
    Just((0..8usize).collect::<Vec<_>>())
        .prop_shuffle()
        .prop_flat_map(|v| (0..=7usize).prop_map(move |n| v[..n].to_vec()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_route_round_trips(route in route_strategy(), seed in any::<u64>(), fill in any::<u8>()) {
        let (_, mut recipient, mut relays) = network(8);
        let mut payload = [fill; PAYLOAD_LEN];
        payload[..8].copy_from_slice(&seed.to_be_bytes());
        let out = travel(&mut relays, &route, &mut recipient, &payload, seed).expect("delivered");
        prop_assert_eq!(&out[..], &payload[..]);
    }

    #[test]
    fn header_bit_flips_are_caught_at_the_next_hop(bit in 0usize..(mailvortex_proto::packet::HEADER_LEN * 8), seed in any::<u64>()) {
        let (_, recipient, relays) = network(3);
        let hops = vec![relays[0].hop(), relays[1].hop(), recipient.hop()];
        let mut packet = build_packet(&hops, &[7; PAYLOAD_LEN], &mut rng(seed)).expect("build");
        packet[bit / 8] ^= 1 << (bit % 8);
        let err = relays[0].open(&packet).expect_err("tampered header accepted");
        prop_assert!(matches!(err, Error::BadMac | Error::Malformed { .. } | Error::WeakKey), "{err:?}");
    }

    #[test]
    fn junk_never_panics_and_is_rejected(junk in proptest::collection::vec(any::<u8>(), 0..(PACKET_LEN + 10))) {
        let (_, recipient, _) = network(0);
        prop_assert!(recipient.open(&junk).is_err());
    }
}

#[test]
fn tampered_header_in_later_hop_is_caught_there() {
    let (_, mut recipient, mut relays) = network(3);
    let hops = vec![
        relays[0].hop(),
        relays[1].hop(),
        relays[2].hop(),
        recipient.hop(),
    ];
    let packet = build_packet(&hops, &[1; PAYLOAD_LEN], &mut rng(5)).expect("build");
    drop(hops);
    let Routing::Forward(mut f) = relays[0].process(&packet).expect("hop 0") else {
        panic!()
    };
    f.packet[200] ^= 0x80; // inside beta, seen by hop 1
    assert_eq!(
        relays[1]
            .process(&f.packet)
            .expect_err("caught")
            .to_string(),
        Error::BadMac.to_string()
    );
    let _ = &mut recipient;
}

#[test]
fn replays_are_rejected_and_fresh_packets_are_not() {
    let (_, recipient, mut relays) = network(2);
    let hops = vec![relays[0].hop(), relays[1].hop(), recipient.hop()];
    let p1 = build_packet(&hops, &[1; PAYLOAD_LEN], &mut rng(1)).expect("build");
    let p2 = build_packet(&hops, &[1; PAYLOAD_LEN], &mut rng(2)).expect("build");
    drop(hops);
    assert!(relays[0].process(&p1).is_ok());
    assert_eq!(relays[0].process(&p1).expect_err("replay"), Error::Replay);
    assert!(relays[0].process(&p2).is_ok());
}

#[test]
fn a_packet_for_another_node_is_junk() {
    let (_, recipient, relays) = network(2);
    let hops = vec![relays[0].hop(), recipient.hop()];
    let p = build_packet(&hops, &[1; PAYLOAD_LEN], &mut rng(1)).expect("build");
    assert_eq!(relays[1].open(&p).expect_err("not ours"), Error::BadMac);
    assert_eq!(recipient.open(&p).expect_err("not yet ours"), Error::BadMac);
}

#[test]
fn puzzles_are_enforced() {
    let (_, mut recipient, _) = network(0);
    recipient.min_difficulty = 8;
    let mut hop = recipient.hop();
    hop.difficulty = 4;
    let p = build_packet(&[hop], &[1; PAYLOAD_LEN], &mut rng(1)).expect("build");
    assert!(matches!(
        recipient.open(&p),
        Err(Error::BadPuzzle { needed: 8, .. })
    ));
    hop.difficulty = 9;
    let p = build_packet(&[hop], &[1; PAYLOAD_LEN], &mut rng(2)).expect("build");
    let opened = recipient.open(&p).expect("paid");
    assert_eq!(opened.slot().difficulty, 9);
}

#[test]
fn wrong_lengths_and_versions_are_malformed() {
    let (_, recipient, _) = network(0);
    let p = build_packet(&[recipient.hop()], &[1; PAYLOAD_LEN], &mut rng(1)).expect("build");
    assert!(matches!(
        recipient.open(&p[..p.len() - 1]),
        Err(Error::Malformed { .. })
    ));
    let mut longer = p.clone();
    longer.push(0);
    assert!(matches!(
        recipient.open(&longer),
        Err(Error::Malformed { .. })
    ));
    let mut v = p;
    v[0] = 2;
    assert!(matches!(recipient.open(&v), Err(Error::Malformed { .. })));
}
