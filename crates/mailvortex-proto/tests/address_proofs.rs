//! Address proofs: the last relay forwards to a recipient it never saw, on the strength of the
//! recipient's descriptor signature carried in its slot (command 0x03), and to nobody else.

mod common;

use common::{NOW, TestNode, network, rng};
use mailvortex_proto::Error;
use mailvortex_proto::descriptor::PeerType;
use mailvortex_proto::packet::{PAYLOAD_LEN, Routing, build_packet};
use mailvortex_proto::send::hops_for;

fn payload() -> Box<[u8; PAYLOAD_LEN]> {
    let mut p = Box::new([0u8; PAYLOAD_LEN]);
    for (i, b) in p.iter_mut().enumerate() {
        *b = (i * 7 + 3) as u8;
    }
    p
}

/// Routes a packet through every relay; returns what the last relay was told to do.
fn walk(relays: &mut [TestNode], recipient: &mut TestNode, packet: Vec<u8>) -> Routing {
    let mut packet = packet;
    let mut last_forward = None;
    let count = relays.len();
    for (i, relay) in relays.iter_mut().enumerate() {
        match relay.process(&packet).expect("relay opens") {
            Routing::Forward(f) => {
                if i + 1 < count {
                    assert!(f.proof.is_none(), "only the last relay gets a proof");
                }
                packet = f.packet.clone();
                last_forward = Some(f);
            }
            Routing::Deliver { .. } => panic!("relay {i} was told it is the destination"),
        }
    }
    let f = last_forward.expect("at least one relay");
    let proof = f.proof.expect("last relay sees the recipient's proof");
    proof
        .verify(&f.next_address, NOW)
        .expect("the proof verifies for the next address");
    assert_eq!(proof.node_id, recipient.descriptor.node_id);
    recipient.process(&f.packet).expect("recipient opens")
}

#[test]
fn every_route_length_delivers_with_a_proof() {
    for n in 1..=6 {
        let (_, mut recipient, mut relays) = network(n);
        let refs: Vec<_> = relays.iter().map(|r| &r.descriptor).collect();
        let hops = hops_for(&refs, &recipient.descriptor, NOW).expect("hops");
        assert!(hops.last().expect("destination").proof.is_some());
        let packet = build_packet(&hops, &payload(), &mut rng(n as u64)).expect("build");
        drop(hops);
        match walk(&mut relays, &mut recipient, packet) {
            Routing::Deliver { payload: p, .. } => assert_eq!(&p[..], &payload()[..], "n={n}"),
            Routing::Forward(_) => panic!("recipient was told to forward"),
        }
    }
}

#[test]
fn a_route_with_a_proof_has_at_most_six_relays() {
    let (_, recipient, relays) = network(7);
    let refs: Vec<_> = relays.iter().map(|r| &r.descriptor).collect();
    let hops = hops_for(&refs, &recipient.descriptor, NOW).expect("hops");
    let err = build_packet(&hops, &payload(), &mut rng(1)).expect_err("too long");
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    // Without the proof the same 8 hops still fit (the relay must then know the recipient).
    let mut plain = hops.clone();
    plain.last_mut().expect("destination").proof = None;
    build_packet(&plain, &payload(), &mut rng(1)).expect("8 hops without a proof");
}

#[test]
fn a_proof_binds_the_address_the_node_and_the_validity() {
    let bob = TestNode::new(2, "bob@b.test", PeerType::Passive);
    let proof = bob
        .descriptor
        .address_proof
        .expect("checked descriptors carry a proof");
    proof.verify("bob@b.test", NOW).expect("valid");
    assert!(matches!(
        proof.verify("victim@b.test", NOW),
        Err(Error::BadSignature("address proof"))
    ));
    assert!(matches!(
        proof.verify("bob@b.test", bob.descriptor.expires_at),
        Err(Error::Expired {
            what: "address proof",
            ..
        })
    ));
    let mut other = proof;
    other.node_id = TestNode::new(3, "mallory@m.test", PeerType::Passive)
        .descriptor
        .node_id;
    assert!(
        other.verify("bob@b.test", NOW).is_err(),
        "another node's key"
    );
    let mut later = proof;
    later.expires_at += 86_400;
    assert!(
        later.verify("bob@b.test", NOW).is_err(),
        "extended validity"
    );
    let mut body = proof;
    body.body_hash[0] ^= 1;
    assert!(
        body.verify("bob@b.test", NOW).is_err(),
        "another descriptor body"
    );
    // The encoding round-trips through a routing slot (checked by the routes above) and is
    // exactly 144 bytes.
    assert_eq!(proof.encode().len(), 144);
}
