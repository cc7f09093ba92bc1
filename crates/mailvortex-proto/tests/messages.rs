//! Messages end to end: sealing, erasure coding, tampering, reply blocks, descriptors.

mod common;

use common::{NOW, TestNode, network, rng};
use mailvortex_proto::Error;
use mailvortex_proto::descriptor::{PeerType, UncheckedDescriptor};
use mailvortex_proto::level::{LevelName, Redundancy};
use mailvortex_proto::message::{
    Envelope, MessageContent, OpenedShard, Receipt, SHARD_LEN, SenderKeys, open_shard, rebuild,
    seal_message,
};
use mailvortex_proto::packet::{DeliverKind, PAYLOAD_LEN, Routing};
use mailvortex_proto::send::prepare_message;
use mailvortex_proto::surb::{build_reply, create_surb, open_reply};
use proptest::prelude::*;

fn envelope(body: Vec<u8>) -> Envelope {
    Envelope {
        created_at: NOW,
        level: LevelName::Standard,
        content: MessageContent {
            subject: "Lunch on Friday?".into(),
            file_name: None,
            body,
        },
        sender_descriptor: None,
        receipt_surb: None,
        reply_surb: None,
    }
}

fn sender_keys(n: &TestNode) -> SenderKeys<'_> {
    SenderKeys {
        node_id: n.descriptor.node_id,
        epoch: &n.epoch,
    }
}

fn open_all(recipient: &TestNode, payloads: &[Box<[u8; PAYLOAD_LEN]>]) -> Vec<OpenedShard> {
    payloads
        .iter()
        .map(|p| open_shard(&recipient.epoch, &p[..]).expect("authentic shard"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any k of n shards rebuild the message; k - 1 fail cleanly.
    #[test]
    fn any_k_of_n_rebuild(len in 0usize..(5 * SHARD_LEN), seed in any::<u64>(), drop_seed in any::<u64>()) {
        let (sender, recipient, _) = network(0);
        let body: Vec<u8> = (0..len).map(|i| (i as u64 ^ seed) as u8).collect();
        let env = envelope(body);
        let sealed = seal_message(sender_keys(&sender), &recipient.epoch.public, &env, Redundancy { num: 2, den: 1 }, &mut rng(seed)).expect("seal");
        prop_assert!(sealed.n > sealed.k);
        let mut shards = open_all(&recipient, &sealed.payloads);
        // Drop n - k shards chosen by drop_seed.
        let mut r = drop_seed;
        while shards.len() > sealed.k {
            r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let i = (r >> 33) as usize % shards.len();
            shards.remove(i);
        }
        let msg = rebuild(&shards).expect("k shards suffice");
        prop_assert_eq!(&msg.envelope, &env);
        prop_assert_eq!(msg.sender.node_id, sender.descriptor.node_id);
        shards.pop();
        let short = rebuild(&shards);
        let is_not_enough = matches!(short, Err(Error::NotEnoughShards { .. }));
        prop_assert!(is_not_enough);
    }

    /// A flipped payload bit anywhere is caught by the recipient, at the latest.
    #[test]
    fn payload_tampering_is_caught(bit in 0usize..(PAYLOAD_LEN * 8), seed in any::<u64>()) {
        let (sender, mut recipient, mut relays) = network(2);
        let sealed = seal_message(sender_keys(&sender), &recipient.epoch.public, &envelope(b"hi".to_vec()), Redundancy { num: 1, den: 1 }, &mut rng(seed)).expect("seal");
        let hops = vec![relays[0].hop(), relays[1].hop(), recipient.hop()];
        let mut packet = mailvortex_proto::packet::build_packet(&hops, &sealed.payloads[0], &mut rng(seed ^ 1)).expect("build");
        drop(hops);
        // A relay tampers with the payload it forwards.
        let Routing::Forward(f) = relays[0].process(&packet).expect("hop 0") else { panic!() };
        packet = f.packet;
        let off = mailvortex_proto::packet::HEADER_LEN + bit / 8;
        packet[off] ^= 1 << (bit % 8);
        let Routing::Forward(f) = relays[1].process(&packet).expect("payload is not checked per hop") else { panic!() };
        let Routing::Deliver { payload, .. } = recipient.process(&f.packet).expect("header intact") else { panic!() };
        let res = open_shard(&recipient.epoch, &payload);
        prop_assert!(matches!(res, Err(Error::EndToEndAuth(_)) | Err(Error::Malformed { .. }) | Err(Error::WeakKey)), "{:?}", res.err());
    }
}

#[test]
fn a_tampered_shard_becomes_an_erasure() {
    let (sender, recipient, _) = network(0);
    let env = envelope(vec![42; 3 * SHARD_LEN]);
    let mut sealed = seal_message(
        sender_keys(&sender),
        &recipient.epoch.public,
        &env,
        Redundancy { num: 2, den: 1 },
        &mut rng(3),
    )
    .expect("seal");
    sealed.payloads[0][500] ^= 1;
    let good: Vec<_> = sealed
        .payloads
        .iter()
        .filter_map(|p| open_shard(&recipient.epoch, &p[..]).ok())
        .collect();
    assert_eq!(good.len(), sealed.n - 1);
    assert_eq!(rebuild(&good).expect("rebuilt").envelope, env);
}

#[test]
fn only_the_recipient_can_open_and_knows_the_sender() {
    let (sender, recipient, relays) = network(1);
    let sealed = seal_message(
        sender_keys(&sender),
        &recipient.epoch.public,
        &envelope(b"x".to_vec()),
        Redundancy { num: 1, den: 1 },
        &mut rng(4),
    )
    .expect("seal");
    assert!(matches!(
        open_shard(&relays[0].epoch, &sealed.payloads[0][..]),
        Err(Error::EndToEndAuth(_))
    ));
    let msg = rebuild(&open_all(&recipient, &sealed.payloads)).expect("rebuild");
    assert!(msg.sender_matches(&sender.descriptor));
    assert!(!msg.sender_matches(&relays[0].descriptor));
}

#[test]
fn shards_of_two_messages_do_not_mix() {
    let (sender, recipient, _) = network(0);
    let r = Redundancy { num: 3, den: 2 };
    let a = seal_message(
        sender_keys(&sender),
        &recipient.epoch.public,
        &envelope(vec![1; 2 * SHARD_LEN]),
        r,
        &mut rng(5),
    )
    .expect("a");
    let b = seal_message(
        sender_keys(&sender),
        &recipient.epoch.public,
        &envelope(vec![1; 2 * SHARD_LEN]),
        r,
        &mut rng(6),
    )
    .expect("b");
    let mut mixed = open_all(&recipient, &a.payloads[..2]);
    mixed.extend(open_all(&recipient, &b.payloads[..1]));
    assert!(matches!(rebuild(&mixed), Err(Error::InconsistentShard(_))));
}

#[test]
fn prepare_message_then_travel_every_level() {
    for level in LevelName::ALL {
        let (sender, mut recipient, mut relays) = network(12);
        let params = level.params();
        let descs: Vec<_> = relays.iter().map(|r| &r.descriptor).collect();
        let env = envelope(vec![9; SHARD_LEN + 10]);
        let prepared = prepare_message(
            sender_keys(&sender),
            "a.test",
            &recipient.descriptor,
            &env,
            &params,
            &descs,
            NOW,
            &mut rng(7),
        )
        .expect("prepare");
        assert_eq!(prepared.packets.len(), prepared.n);
        assert_eq!(
            prepared.paths.len(),
            usize::from(params.paths_for(prepared.n)),
            "{level}: one path per packet where the level asks for it"
        );
        let mut shards = Vec::new();
        for p in prepared.packets {
            let mut packet = p.packet;
            let mut at = p.first_hop.clone();
            for _ in 0..params.relays_per_path {
                let relay = relays
                    .iter_mut()
                    .find(|r| r.descriptor.address == at)
                    .expect("known relay");
                let Routing::Forward(f) = relay.process(&packet).expect("relay") else {
                    panic!()
                };
                at = f.next_address;
                packet = f.packet;
            }
            assert_eq!(at, recipient.descriptor.address);
            let Routing::Deliver {
                kind: DeliverKind::Message,
                payload,
            } = recipient.process(&packet).expect("deliver")
            else {
                panic!()
            };
            shards.push(open_shard(&recipient.epoch, &payload).expect("shard"));
        }
        assert_eq!(rebuild(&shards).expect("message").envelope, env, "{level}");
    }
}

#[test]
fn receipt_travels_back_through_a_reply_block() {
    let (mut sender, mut recipient, mut relays) = network(3);
    // The sender builds a reply block relay0 -> relay1 -> itself and puts it in the envelope.
    let hops = vec![relays[0].hop(), relays[1].hop(), sender.hop()];
    let (surb, secret) = create_surb(&hops, &mut rng(8)).expect("surb");
    drop(hops);
    let mut env = envelope(b"please confirm".to_vec());
    env.receipt_surb = Some(surb);
    let sealed = seal_message(
        sender_keys(&sender),
        &recipient.epoch.public,
        &env,
        Redundancy { num: 1, den: 1 },
        &mut rng(9),
    )
    .expect("seal");
    let msg = rebuild(&open_all(&recipient, &sealed.payloads)).expect("message");
    // The recipient answers with a receipt, knowing only the reply block.
    let receipt = Receipt {
        message_id: msg.message_id,
        shards_received: 1,
    };
    let surb = msg.envelope.receipt_surb.expect("surb travelled");
    let (first, packet) = build_reply(&surb, &receipt.encode(), &mut rng(10)).expect("reply");
    assert_eq!(first, relays[0].descriptor.address);
    let Routing::Forward(f) = relays[0].process(&packet).expect("r0") else {
        panic!()
    };
    // A second use of the same reply block is a replay at the first hop.
    let (_, again) = build_reply(&surb, &receipt.encode(), &mut rng(11)).expect("reply");
    assert_eq!(
        relays[0].process(&again).expect_err("single use"),
        Error::Replay
    );
    let Routing::Forward(f) = relays[1].process(&f.packet).expect("r1") else {
        panic!()
    };
    let Routing::Deliver {
        kind: DeliverKind::Reply(id),
        payload,
    } = sender.process(&f.packet).expect("back home")
    else {
        panic!()
    };
    assert_eq!(id, secret.id);
    let content = open_reply(&secret, &payload).expect("open");
    assert_eq!(Receipt::decode(&content).expect("receipt"), receipt);
    let _ = &mut recipient;
}

#[test]
fn descriptors_check_signature_and_expiry() {
    let n = TestNode::new(9, "carol@c.test", PeerType::Stealth);
    let parsed = UncheckedDescriptor::decode(&n.signed).expect("parse");
    assert!(parsed.clone().check(NOW).is_ok());
    assert!(matches!(
        parsed.clone().check(NOW + 365 * 86_400),
        Err(Error::Expired { .. })
    ));
    for i in [1usize, 40, n.signed.len() - 1] {
        let mut bad = n.signed.clone();
        bad[i] ^= 1;
        let res = UncheckedDescriptor::decode(&bad).and_then(|d| d.check(NOW));
        assert!(
            matches!(res, Err(Error::BadSignature(_) | Error::Malformed { .. })),
            "byte {i}: {res:?}"
        );
    }
    let mut long = n.signed.clone();
    long.push(0);
    assert!(matches!(
        UncheckedDescriptor::decode(&long),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        UncheckedDescriptor::decode(&n.signed[..n.signed.len() - 1]),
        Err(Error::Malformed { .. })
    ));
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = UncheckedDescriptor::decode(&bytes);
        let _ = Envelope::decode(&bytes);
        let _ = Receipt::decode(&bytes);
        let _ = mailvortex_proto::surb::Surb::decode(&bytes);
        let _ = mailvortex_proto::surb::SurbSecret::decode(&bytes);
    }
}
