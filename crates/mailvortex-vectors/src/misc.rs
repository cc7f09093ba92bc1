//! Key derivation, puzzle, epoch-key and descriptor vectors.

use anyhow::ensure;
use mailvortex_proto::descriptor::{Descriptor, Limits, PeerType, UncheckedDescriptor};
use mailvortex_proto::kdf;
use mailvortex_proto::puzzle::{Challenge, difficulty_under_load};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::crypto::{challenge, fixed_seed, kdf as blake_kdf};
use crate::format::Vector;
use crate::nodes::{NOW, Node, current_epoch};
use crate::packet::expect_word;

/// Every label of the protocol, in the order of the spec's table.
const LABELS: [kdf::Label; 12] = [
    kdf::HOP_SECRET,
    kdf::HEADER_MAC,
    kdf::HEADER_STREAM,
    kdf::PAYLOAD_STREAM,
    kdf::REPLAY_TAG,
    kdf::PUZZLE,
    kdf::E2E_ANON,
    kdf::E2E_MESSAGE,
    kdf::E2E_SHARD,
    kdf::SURB_KEY,
    kdf::MESSAGE_ID,
    kdf::DESCRIPTOR_BODY,
];

/// `KDF(label, key, input)` for every label.
pub(crate) fn kdf_vector() -> anyhow::Result<Vector> {
    let mut v = Vector::new(
        "kdf.txt",
        "labelled key derivation: keyed BLAKE2b-256, label as personalisation, for every label",
        "kdf",
        "success",
    );
    let key = fixed_seed("kdf key");
    let input = b"MailVortex key derivation input";
    v.hx("key", &key);
    v.hx("input", input);
    for label in LABELS {
        let api = kdf::derive(label, &key, &[&input[..]]);
        ensure!(api == crate::crypto::kdf(label.0, &key, &[&input[..]])?);
        v.b(label.0, &api);
    }
    Ok(v)
}

/// One puzzle solved from a start value, and the load rule.
pub(crate) fn puzzle_vector() -> anyhow::Result<Vector> {
    let mut v = Vector::new(
        "puzzle.txt",
        "hashcash puzzle: challenge from (replay tag, node id, epoch), first nonce from start meeting the difficulty; difficulty under load",
        "puzzle",
        "success",
    );
    let replay_tag = fixed_seed("puzzle replay tag");
    let node = Node::new("puzzle node", "relay@puzzle.example", &[], 0).id();
    let epoch = current_epoch();
    let difficulty = 12u8;
    let start = ChaCha20Rng::from_seed(fixed_seed("puzzle start")).next_u64();
    let api = Challenge::new(&replay_tag, &node, epoch);
    let nonce = api.solve(difficulty, start);
    let ch = challenge(&replay_tag, node.as_bytes(), epoch)?;
    let work_hash = crate::crypto::kdf("mv1 puzzle", &ch, &[&nonce.to_be_bytes()])?;
    ensure!(api.work(nonce) >= difficulty);
    v.hx("replay tag", &replay_tag);
    v.hx("node id", node.as_bytes());
    v.h("epoch", epoch);
    v.h("difficulty", difficulty);
    v.h("start", start);
    v.b("challenge", &ch);
    v.b("nonce", &nonce.to_be_bytes());
    v.b("work hash", &work_hash);
    v.b("work", &[api.work(nonce)]);
    for (base, packets, capacity) in [
        (10u8, 50u64, 100u64),
        (10, 100, 100),
        (10, 101, 100),
        (10, 401, 100),
        (10, 0, 0),
        (10, 5, 0),
        (39, u64::MAX, 1),
    ] {
        v.b(
            &format!("load {base} {packets} {capacity}"),
            &[difficulty_under_load(base, packets, capacity)],
        );
    }
    Ok(v)
}

fn descriptor_node() -> Node {
    let e = current_epoch();
    Node::new("carol", "carol@c.example", &[e - 1, e, e + 1], 10)
}

/// The address proof of `node`'s descriptor (as [`descriptor_of`] makes it), as a sender
/// writes it into the previous hop's slot.
pub(crate) fn address_proof_of(
    node: &Node,
) -> anyhow::Result<mailvortex_proto::address_proof::AddressProof> {
    let signed = descriptor_of(node).sign(&node.identity)?;
    UncheckedDescriptor::decode(&signed)?
        .check(NOW)?
        .address_proof
        .ok_or_else(|| anyhow::anyhow!("a checked descriptor has an address proof"))
}

fn descriptor_of(node: &Node) -> Descriptor {
    Descriptor {
        node_id: node.id(),
        address: node.address.clone(),
        peer_type: PeerType::Public,
        puzzle_difficulty: node.min_difficulty,
        limits: Limits {
            packets_per_day: 2000,
            max_message_bytes: 64 << 20,
        },
        issued_at: NOW - 3600,
        expires_at: NOW + 14 * 86_400,
        epochs: node
            .epochs
            .iter()
            .map(|(_, _, s)| s.public.clone())
            .collect(),
        address_proof: None,
    }
}

/// A signed descriptor listing the previous, current and next epoch keys.
pub(crate) fn descriptor_vector() -> anyhow::Result<Vector> {
    let node = descriptor_node();
    let d = descriptor_of(&node);
    let signed = d.sign(&node.identity)?;
    let mut v = Vector::new(
        "descriptor.txt",
        "identity, three signed epoch keys (previous, current, next) and the signed descriptor",
        "descriptor",
        "success",
    );
    v.h("now", NOW);
    node.header(&mut v, 0, false);
    v.h("peer type", d.peer_type.name());
    v.h("puzzle difficulty", d.puzzle_difficulty);
    v.h("packets per day", d.limits.packets_per_day);
    v.h("max message bytes", d.limits.max_message_bytes);
    v.h("issued at", d.issued_at);
    v.h("expires at", d.expires_at);
    v.b("node 0 id", node.id().as_bytes());
    // The encodings, written out field by field.
    let mut body = vec![1u8];
    body.extend_from_slice(node.id().as_bytes());
    body.push(u8::try_from(d.address.len())?);
    body.extend_from_slice(d.address.as_bytes());
    body.push(2);
    body.push(d.puzzle_difficulty);
    body.extend_from_slice(&d.limits.packets_per_day.to_be_bytes());
    body.extend_from_slice(&d.limits.max_message_bytes.to_be_bytes());
    body.extend_from_slice(&d.issued_at.to_be_bytes());
    body.extend_from_slice(&d.expires_at.to_be_bytes());
    body.push(u8::try_from(d.epochs.len())?);
    for (e, _, s) in &node.epochs {
        let p = &s.public;
        let mut msg = b"mailvortex v1 epoch key".to_vec();
        msg.extend_from_slice(node.id().as_bytes());
        msg.extend_from_slice(&p.epoch.to_be_bytes());
        msg.extend_from_slice(&p.valid_from.to_be_bytes());
        msg.extend_from_slice(&p.valid_until.to_be_bytes());
        msg.extend_from_slice(&p.key);
        v.b(&format!("node 0 epoch {e} key"), &p.key);
        v.b(&format!("epoch {e} signed message"), &msg);
        v.b(&format!("epoch {e} signature"), &p.signature);
        p.verify_signature(&node.id())?;
        body.extend_from_slice(&p.epoch.to_be_bytes());
        body.extend_from_slice(&p.valid_from.to_be_bytes());
        body.extend_from_slice(&p.valid_until.to_be_bytes());
        body.extend_from_slice(&p.key);
        body.extend_from_slice(&p.signature);
    }
    ensure!(signed.len() == body.len() + 64 && signed[..body.len()] == body[..]);
    // The signature covers the address-proof fields and the hash of the whole body.
    let body_hash = blake_kdf("mv1 descr body", &[0u8; 32], &[&body])?;
    let mut msg = b"mailvortex v1 descriptor".to_vec();
    msg.extend_from_slice(node.id().as_bytes());
    msg.push(u8::try_from(d.address.len())?);
    msg.extend_from_slice(d.address.as_bytes());
    msg.extend_from_slice(&d.issued_at.to_be_bytes());
    msg.extend_from_slice(&d.expires_at.to_be_bytes());
    msg.extend_from_slice(&body_hash);
    v.b("descriptor body hash", &body_hash);
    v.b("descriptor signed message", &msg);
    v.b("descriptor signature", &signed[body.len()..]);
    v.b("descriptor", &signed);
    let checked = UncheckedDescriptor::decode(&signed)?.check(NOW)?;
    ensure!(checked == d);
    // The address proof a sender writes into the last relay's slot (command 0x03).
    let proof = checked
        .address_proof
        .ok_or_else(|| anyhow::anyhow!("no address proof"))?;
    let mut expected = node.id().as_bytes().to_vec();
    expected.extend_from_slice(&d.issued_at.to_be_bytes());
    expected.extend_from_slice(&d.expires_at.to_be_bytes());
    expected.extend_from_slice(&body_hash);
    expected.extend_from_slice(&signed[body.len()..]);
    ensure!(proof.encode()[..] == expected[..]);
    proof.verify(&d.address, NOW)?;
    ensure!(proof.verify("someone.else@example.org", NOW).is_err());
    v.b("address proof", &expected);
    let chosen = checked
        .epoch_for(NOW)
        .ok_or_else(|| anyhow::anyhow!("no epoch"))?;
    ensure!(chosen.epoch == current_epoch());
    v.b("epoch for now", &chosen.epoch.to_be_bytes());
    Ok(v)
}

/// `(file, description, expect, now, bytes, mutation)`.
type DescriptorFailure = (
    &'static str,
    &'static str,
    &'static str,
    u64,
    Vec<u8>,
    String,
);

/// Descriptor bytes that must be rejected by decoding and checking at `now`.
pub(crate) fn descriptor_failures() -> anyhow::Result<Vec<Vector>> {
    let node = descriptor_node();
    let d = descriptor_of(&node);
    let signed = d.sign(&node.identity)?;
    let last = signed.len() - 1;
    let mut flipped = signed.clone();
    flipped[last] ^= 0x01;
    let mut longer = signed.clone();
    longer.push(0);
    let mut version = signed.clone();
    version[0] = 2;
    let cases: [DescriptorFailure; 5] = [
        (
            "descriptor-expired.txt",
            "the descriptor of descriptor.txt checked at its expiry time",
            "expired",
            d.expires_at,
            signed.clone(),
            "none".into(),
        ),
        (
            "descriptor-bad-signature.txt",
            "the descriptor of descriptor.txt with the last signature bit flipped",
            "bad signature",
            NOW,
            flipped,
            format!("xor {last} 01"),
        ),
        (
            "descriptor-truncated.txt",
            "the descriptor of descriptor.txt without its last byte",
            "truncated",
            NOW,
            signed[..last].to_vec(),
            format!("truncate {last}"),
        ),
        (
            "descriptor-trailing-bytes.txt",
            "the descriptor of descriptor.txt with one byte appended",
            "trailing bytes",
            NOW,
            longer,
            "append 00".into(),
        ),
        (
            "descriptor-unsupported-version.txt",
            "the descriptor of descriptor.txt with version byte 0x02",
            "unsupported version",
            NOW,
            version,
            "set 0 02".into(),
        ),
    ];
    let mut out = Vec::new();
    for (file, description, expect, now, bytes, mutation) in cases {
        let err = match UncheckedDescriptor::decode(&bytes).and_then(|u| u.check(now)) {
            Ok(_) => anyhow::bail!("{file}: accepted"),
            Err(e) => e,
        };
        ensure!(expect_word(&err) == expect, "{file}: {err:?}");
        let mut v = Vector::new(file, description, "descriptor-check", expect);
        v.h("error", format!("{err:?}"));
        v.h("now", now);
        v.h("mutation", mutation);
        v.b("descriptor", &bytes);
        out.push(v);
    }
    Ok(out)
}

/// The address proof of descriptor.txt checked as a relay checks the proof in a slot: for
/// another address, at its expiry, and with a bit of its body hash flipped.
pub(crate) fn address_proof_failures() -> anyhow::Result<Vec<Vector>> {
    let node = descriptor_node();
    let proof = address_proof_of(&node)?.encode();
    let mut flipped = proof;
    flipped[48] ^= 0x01; // the first byte of body_hash
    let expires_at = descriptor_of(&node).expires_at;
    let cases = [
        (
            "address-proof-other-address.txt",
            "the address proof of descriptor.txt checked for an address in another case (byte for byte, Section 2.4)",
            "bad signature",
            "Carol@c.example",
            NOW,
            proof,
        ),
        (
            "address-proof-expired.txt",
            "the address proof of descriptor.txt checked at the descriptor's expiry time",
            "expired",
            "carol@c.example",
            expires_at,
            proof,
        ),
        (
            "address-proof-bad-body-hash.txt",
            "the address proof of descriptor.txt with one bit of its body hash flipped",
            "bad signature",
            "carol@c.example",
            NOW,
            flipped,
        ),
    ];
    let mut out = Vec::new();
    for (file, description, expect, address, now, bytes) in cases {
        let p = mailvortex_proto::address_proof::AddressProof {
            node_id: mailvortex_proto::identity::NodeId(bytes[..32].try_into()?),
            issued_at: u64::from_be_bytes(bytes[32..40].try_into()?),
            expires_at: u64::from_be_bytes(bytes[40..48].try_into()?),
            body_hash: bytes[48..80].try_into()?,
            signature: bytes[80..].try_into()?,
        };
        ensure!(p.encode() == bytes);
        let err = match p.verify(address, now) {
            Ok(()) => anyhow::bail!("{file}: accepted"),
            Err(e) => e,
        };
        ensure!(expect_word(&err) == expect, "{file}: {err:?}");
        let mut v = Vector::new(file, description, "address-proof-check", expect);
        v.h("error", format!("{err:?}"));
        v.h("now", now);
        v.h("address", address);
        v.b("address proof", &bytes);
        out.push(v);
    }
    Ok(out)
}

/// An epoch key checked after its window closed.
pub(crate) fn epoch_key_expired() -> anyhow::Result<Vector> {
    let e = current_epoch() - 1;
    let node = Node::new("dave", "dave@d.example", &[e], 0);
    let p = &node.epoch(e)?.public;
    let now = p.valid_until;
    let err = match p.verify(&node.id(), now) {
        Ok(()) => anyhow::bail!("expired epoch key accepted"),
        Err(err) => err,
    };
    ensure!(p.verify(&node.id(), now - 1).is_ok());
    let mut v = Vector::new(
        "epoch-key-expired.txt",
        "an epoch key verified at its valid_until: the window is half-open, so it is expired",
        "epoch-key",
        expect_word(&err),
    );
    v.h("error", format!("{err:?}"));
    v.h("now", now);
    node.header(&mut v, 0, false);
    node.body(&mut v, 0);
    v.b("epoch signature", &p.signature);
    Ok(v)
}
