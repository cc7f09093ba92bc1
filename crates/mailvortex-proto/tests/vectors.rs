//! Replays every test vector in docs/spec/vectors (format: docs/spec/vectors/README.md).
//!
//! Each file is parsed here, independently of the generator (crates/mailvortex-vectors). The
//! operation is run again through this crate's API from the recorded inputs, with the recorded
//! ChaCha20Rng seeds, and every output is compared byte for byte. Intermediate values that the
//! API keeps private (hop secrets, stream keys, filler, message keys) are recomputed from the
//! primitives (BLAKE2b, X25519, XSalsa20, Poly1305) as the spec defines them. Failure vectors
//! must fail with exactly the recorded error. Every header line and body field must be used:
//! a field this test does not check is an error, so vectors and test cannot drift apart.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use blake2::digest::consts::U32;
use blake2::digest::{Digest, Mac};
use blake2::{Blake2b, Blake2bMac};
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use mailvortex_proto::address_proof::AddressProof;
use mailvortex_proto::descriptor::{Descriptor, Limits, PeerType, UncheckedDescriptor};
use mailvortex_proto::identity::{EpochPublic, EpochSecret, Identity, NodeId};
use mailvortex_proto::kdf;
use mailvortex_proto::level::{LevelName, Redundancy};
use mailvortex_proto::message::{
    Envelope, MessageContent, Receipt, SHARD_LEN, SenderKeys, open_shard, rebuild, seal_message,
};
use mailvortex_proto::packet::{
    Command, DeliverKind, EpochKeyring, HEADER_LEN, HopSpec, PAYLOAD_LEN, Routing, RoutingSlot,
    build_packet, open_packet,
};
use mailvortex_proto::puzzle::{Challenge, difficulty_under_load};
use mailvortex_proto::surb::{Surb, build_reply, create_surb, open_reply};
use mailvortex_proto::{DecodeError, Error};
use poly1305::Poly1305;
use poly1305::universal_hash::UniversalHash;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use salsa20::XSalsa20;
use salsa20::cipher::{KeyIvInit, StreamCipher};
use x25519_dalek::StaticSecret;

const SLOT: usize = 160;
/// A relay slot that carries the next hop's address proof (command 0x03) takes two slots.
const PROVEN_SLOT: usize = 2 * SLOT;
/// The routing block: 8 slots.
const BETA: usize = 8 * SLOT;
const HOPS: usize = 8;

// ---------------------------------------------------------------------------------------------
// The file format

/// One parsed vector file. Every lookup marks the line as used; `finish` rejects unused lines.
struct V {
    header: BTreeMap<String, String>,
    body: BTreeMap<String, Vec<u8>>,
    used: RefCell<BTreeSet<String>>,
}

fn split_line(line: &str) -> (&str, &str) {
    let (k, v) = line
        .split_once(':')
        .unwrap_or_else(|| panic!("line without ':': {line:.60}"));
    (k, v.strip_prefix(' ').unwrap_or(v))
}

impl V {
    fn parse(text: &str) -> V {
        assert!(!text.contains('\r'), "CR in file");
        assert!(text.ends_with('\n'), "no final newline");
        let (head, body) = text
            .split_once("\n\n")
            .expect("blank line after the header");
        let mut v = V {
            header: BTreeMap::new(),
            body: BTreeMap::new(),
            used: RefCell::new(BTreeSet::new()),
        };
        for line in head.lines() {
            let (k, val) = split_line(line);
            assert!(
                v.header.insert(k.into(), val.into()).is_none(),
                "header {k} twice"
            );
        }
        for line in body.lines() {
            let (k, val) = split_line(line);
            let bytes = hex::decode(val).unwrap_or_else(|e| panic!("{k}: bad hex: {e}"));
            assert!(
                val.bytes().all(|c| !c.is_ascii_uppercase()),
                "{k}: upper-case hex"
            );
            assert!(v.body.insert(k.into(), bytes).is_none(), "field {k} twice");
        }
        v
    }

    fn mark(&self, key: String) {
        self.used.borrow_mut().insert(key);
    }

    fn h_opt(&self, key: &str) -> Option<String> {
        let v = self.header.get(key).cloned();
        if v.is_some() {
            self.mark(format!("h:{key}"));
        }
        v
    }

    fn h(&self, key: &str) -> String {
        self.h_opt(key)
            .unwrap_or_else(|| panic!("header line `{key}` missing"))
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> T {
        self.h(key)
            .parse()
            .unwrap_or_else(|_| panic!("header `{key}` is not a number"))
    }

    fn hx(&self, key: &str) -> Vec<u8> {
        hex::decode(self.h(key)).unwrap_or_else(|_| panic!("header `{key}` is not hex"))
    }

    fn arr<const N: usize>(&self, key: &str) -> [u8; N] {
        self.hx(key)
            .try_into()
            .unwrap_or_else(|_| panic!("header `{key}` is not {N} bytes"))
    }

    fn b(&self, key: &str) -> Vec<u8> {
        self.mark(format!("b:{key}"));
        self.body
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("field `{key}` missing"))
    }

    fn has(&self, key: &str) -> bool {
        self.body.contains_key(key)
    }

    /// Compares a recomputed value with the recorded field.
    fn check(&self, key: &str, computed: &[u8]) {
        let recorded = self.b(key);
        if recorded != computed {
            let at = recorded
                .iter()
                .zip(computed)
                .position(|(a, b)| a != b)
                .unwrap_or(recorded.len().min(computed.len()));
            panic!(
                "field `{key}` differs at byte {at} (recorded {} bytes, computed {} bytes)",
                recorded.len(),
                computed.len()
            );
        }
    }

    /// Checks a large value recorded either in full or as a BLAKE2b-256 digest.
    fn check_full_or_digest(&self, key: &str, computed: &[u8]) {
        let digest_key = format!("{key} digest");
        match (self.has(key), self.has(&digest_key)) {
            (true, false) => self.check(key, computed),
            (false, true) => self.check(&digest_key, &digest(computed)),
            _ => panic!("exactly one of `{key}` and `{digest_key}` expected"),
        }
    }

    fn finish(&self) {
        let used = self.used.borrow();
        let unused: Vec<String> = self
            .header
            .keys()
            .map(|k| format!("h:{k}"))
            .chain(self.body.keys().map(|k| format!("b:{k}")))
            .filter(|k| !used.contains(k))
            .collect();
        assert!(unused.is_empty(), "lines not checked: {unused:?}");
    }

    /// The `expect` line: `success`, or a failure word matching `err` and the `error` line.
    fn expect_outcome(&self, err: Option<&Error>) {
        let expect = self.h("expect");
        match err {
            None => assert_eq!(expect, "success", "the operation succeeded"),
            Some(e) => {
                assert_eq!(expect, expect_word(e), "error {e:?}");
                assert_eq!(self.h("error"), format!("{e:?}"), "exact error");
            }
        }
    }
}

/// The fixed `expect` vocabulary (README). Exhaustive on purpose: a new error variant must
/// be given a word here, not fall into a catch-all.
fn expect_word(e: &Error) -> &'static str {
    match e {
        Error::BadMac => "bad mac",
        Error::Replay => "replay",
        Error::Expired { .. } => "expired",
        Error::BadPuzzle { .. } => "bad puzzle",
        Error::BadSignature(_) => "bad signature",
        Error::WeakKey => "weak key",
        Error::EndToEndAuth(_) => "end-to-end auth",
        Error::NotEnoughShards { .. } => "not enough shards",
        Error::Malformed { source, .. } => match source {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::TrailingBytes { .. } => "trailing bytes",
            DecodeError::UnsupportedVersion(_) => "unsupported version",
            DecodeError::InvalidValue { .. } => "invalid value",
            other => panic!("no expect word for {other:?}"),
        },
        other => panic!("no expect word for {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Primitives, as the spec defines them

fn digest(bytes: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(bytes).into()
}

/// `KDF(label, key, input)`: BLAKE2b-256 keyed with `key`, personalisation = label zero-padded.
fn kdf_spec(label: &str, key: &[u8; 32], input: &[&[u8]]) -> [u8; 32] {
    let mut persona = [0u8; 16];
    persona[..label.len()].copy_from_slice(label.as_bytes());
    let mut mac =
        Blake2bMac::<U32>::new_with_salt_and_personal(key, &[], &persona).expect("params");
    for part in input {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn keystream(key: &[u8; 32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    XSalsa20::new(key.into(), &[0u8; 24].into()).apply_keystream(&mut out);
    out
}

fn xor_into(a: &mut [u8], b: &[u8]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

fn poly1305_padded(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    let mut mac = <Poly1305 as KeyInit>::new(key.into());
    mac.update_padded(msg);
    mac.finalize().into()
}

fn x25519(secret: &[u8; 32], public: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, *public)
}

fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519(secret, &x25519_dalek::X25519_BASEPOINT_BYTES)
}

fn leading_zero_bits(h: &[u8; 32]) -> u32 {
    let mut bits = 0;
    for b in h {
        bits += b.leading_zeros();
        if *b != 0 {
            break;
        }
    }
    bits
}

fn repeat(pattern: &[u8], len: usize) -> Vec<u8> {
    pattern.iter().copied().cycle().take(len).collect()
}

fn secretbox(key: &[u8; 32], nonce: &[u8; 24], plain: &[u8]) -> Vec<u8> {
    XSalsa20Poly1305::new(key.into())
        .encrypt(Nonce::from_slice(nonce), plain)
        .expect("seal")
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b.try_into().expect("4 bytes"))
}

// ---------------------------------------------------------------------------------------------
// Nodes

struct Node {
    address: String,
    identity: Identity,
    /// `(epoch, secret, signed public key)`, as listed.
    epochs: Vec<(u32, [u8; 32], EpochPublic)>,
    min_difficulty: u8,
}

impl Node {
    fn id(&self) -> NodeId {
        self.identity.node_id()
    }

    fn epoch(&self, e: u32) -> &EpochPublic {
        &self
            .epochs
            .iter()
            .find(|x| x.0 == e)
            .unwrap_or_else(|| panic!("no epoch {e}"))
            .2
    }

    fn secret(&self, e: u32) -> EpochSecret {
        let (_, s, p) = self.epochs.iter().find(|x| x.0 == e).expect("epoch");
        EpochSecret::from_parts(*s, p.clone()).expect("parts")
    }

    /// The keyring at `now`: every key valid at `now`, newest first.
    fn live(&self, now: u64) -> Vec<EpochSecret> {
        let mut live: Vec<_> = self
            .epochs
            .iter()
            .filter(|(_, _, p)| p.is_valid_at(now))
            .collect();
        live.sort_by_key(|e| std::cmp::Reverse(e.0));
        live.into_iter()
            .map(|(_, s, p)| EpochSecret::from_parts(*s, p.clone()).expect("parts"))
            .collect()
    }
}

/// Loads `node N ...` header lines and checks `node N id` / `node N epoch E key`.
fn load_nodes(v: &V) -> Vec<Node> {
    let count = v
        .header
        .keys()
        .filter_map(|k| k.strip_prefix("node ")?.strip_suffix(" address"))
        .count();
    (0..count)
        .map(|n| {
            let seed: [u8; 32] = v.arr(&format!("node {n} identity seed"));
            let identity = Identity::from_secret_bytes(&seed);
            let prefix = format!("node {n} epoch ");
            let mut numbers: Vec<u32> = v
                .header
                .keys()
                .filter_map(|k| {
                    k.strip_prefix(&prefix)?
                        .strip_suffix(" secret")?
                        .parse()
                        .ok()
                })
                .collect();
            numbers.sort_unstable();
            let epochs = numbers
                .into_iter()
                .map(|e| {
                    let secret: [u8; 32] = v.arr(&format!("node {n} epoch {e} secret"));
                    let window = v.h(&format!("node {n} epoch {e} window"));
                    let (from, until) = window.split_once(' ').expect("window: FROM UNTIL");
                    let public = identity
                        .certify_epoch_key(
                            StaticSecret::from(secret),
                            e,
                            from.parse().expect("from"),
                            until.parse().expect("until"),
                        )
                        .public;
                    v.check(&format!("node {n} epoch {e} key"), &x25519_public(&secret));
                    (e, secret, public)
                })
                .collect();
            let node = Node {
                address: v.h(&format!("node {n} address")),
                identity,
                epochs,
                min_difficulty: v
                    .h_opt(&format!("node {n} min difficulty"))
                    .map_or(0, |d| d.parse().expect("difficulty")),
            };
            v.check(&format!("node {n} id"), node.id().as_bytes());
            node
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// kdf, puzzle, descriptors, epoch keys

fn run_kdf(v: &V) {
    let key: [u8; 32] = v.arr("key");
    let input = v.hx("input");
    for label in [
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
    ] {
        let api = kdf::derive(label, &key, &[&input]);
        assert_eq!(api, kdf_spec(label.0, &key, &[&input]), "{label:?}");
        v.check(label.0, &api);
    }
    v.expect_outcome(None);
}

fn run_puzzle(v: &V) {
    let tag: [u8; 32] = v.arr("replay tag");
    let node = NodeId(v.arr("node id"));
    let epoch: u32 = v.num("epoch");
    let difficulty: u8 = v.num("difficulty");
    let start: u64 = v.num("start");
    let challenge = Challenge::new(&tag, &node, epoch);
    let nonce = challenge.solve(difficulty, start);
    let spec = kdf_spec("mv1 puzzle", &tag, &[node.as_bytes(), &epoch.to_be_bytes()]);
    let work_hash = kdf_spec("mv1 puzzle", &spec, &[&nonce.to_be_bytes()]);
    v.check("challenge", &spec);
    v.check("nonce", &nonce.to_be_bytes());
    v.check("work hash", &work_hash);
    v.check("work", &[challenge.work(nonce)]);
    assert_eq!(
        u32::from(challenge.work(nonce)),
        leading_zero_bits(&work_hash)
    );
    for key in v.body.keys().filter(|k| k.starts_with("load ")) {
        let args: Vec<u64> = key[5..]
            .split(' ')
            .map(|x| x.parse().expect("load args"))
            .collect();
        let base = u8::try_from(args[0]).expect("base");
        v.check(key, &[difficulty_under_load(base, args[1], args[2])]);
    }
    v.expect_outcome(None);
}

fn peer_type(name: &str) -> PeerType {
    match name {
        "passive" => PeerType::Passive,
        "stealth" => PeerType::Stealth,
        "public" => PeerType::Public,
        other => panic!("peer type {other}"),
    }
}

fn verify_ed25519(node: &NodeId, msg: &[u8], sig: &[u8]) {
    let key = ed25519_dalek::VerifyingKey::from_bytes(&node.0).expect("key");
    let sig = ed25519_dalek::Signature::from_slice(sig).expect("signature");
    key.verify_strict(msg, &sig)
        .expect("Ed25519 signature verifies");
}

fn run_descriptor(v: &V) {
    let nodes = load_nodes(v);
    let node = &nodes[0];
    let now: u64 = v.num("now");
    let d = Descriptor {
        node_id: node.id(),
        address: node.address.clone(),
        peer_type: peer_type(&v.h("peer type")),
        puzzle_difficulty: v.num("puzzle difficulty"),
        limits: Limits {
            packets_per_day: v.num("packets per day"),
            max_message_bytes: v.num("max message bytes"),
        },
        issued_at: v.num("issued at"),
        expires_at: v.num("expires at"),
        epochs: node.epochs.iter().map(|(_, _, p)| p.clone()).collect(),
        address_proof: None,
    };
    for (e, _, p) in &node.epochs {
        let mut msg = b"mailvortex v1 epoch key".to_vec();
        msg.extend_from_slice(node.id().as_bytes());
        msg.extend_from_slice(&e.to_be_bytes());
        msg.extend_from_slice(&p.valid_from.to_be_bytes());
        msg.extend_from_slice(&p.valid_until.to_be_bytes());
        msg.extend_from_slice(&p.key);
        v.check(&format!("epoch {e} signed message"), &msg);
        v.check(&format!("epoch {e} signature"), &p.signature);
        verify_ed25519(&node.id(), &msg, &p.signature);
    }
    let signed = d.sign(&node.identity).expect("sign");
    v.check("descriptor", &signed);
    let (body, sig) = signed.split_at(signed.len() - 64);
    // Signed: the address-proof fields, then the hash of the whole body (spec 5.2).
    let body_hash = kdf_spec("mv1 descr body", &[0u8; 32], &[body]);
    v.check("descriptor body hash", &body_hash);
    let mut msg = b"mailvortex v1 descriptor".to_vec();
    msg.extend_from_slice(node.id().as_bytes());
    msg.push(d.address.len() as u8);
    msg.extend_from_slice(d.address.as_bytes());
    msg.extend_from_slice(&d.issued_at.to_be_bytes());
    msg.extend_from_slice(&d.expires_at.to_be_bytes());
    msg.extend_from_slice(&body_hash);
    v.check("descriptor signed message", &msg);
    v.check("descriptor signature", sig);
    verify_ed25519(&node.id(), &msg, sig);
    let checked = UncheckedDescriptor::decode(&signed)
        .and_then(|u| u.check(now))
        .expect("checks");
    assert_eq!(checked, d);
    let proof = checked
        .address_proof
        .expect("a checked descriptor has a proof");
    let mut expected = node.id().as_bytes().to_vec();
    expected.extend_from_slice(&d.issued_at.to_be_bytes());
    expected.extend_from_slice(&d.expires_at.to_be_bytes());
    expected.extend_from_slice(&body_hash);
    expected.extend_from_slice(sig);
    v.check("address proof", &expected);
    assert_eq!(proof.encode()[..], expected[..]);
    proof.verify(&d.address, now).expect("the proof verifies");
    let chosen = checked.epoch_for(now).expect("an epoch for now");
    v.check("epoch for now", &chosen.epoch.to_be_bytes());
    v.expect_outcome(None);
}

fn run_descriptor_check(v: &V) {
    let now: u64 = v.num("now");
    let _informative = v.h("mutation");
    let res = UncheckedDescriptor::decode(&v.b("descriptor")).and_then(|u| u.check(now));
    v.expect_outcome(res.as_ref().err());
}

fn run_epoch_key(v: &V) {
    let nodes = load_nodes(v);
    let now: u64 = v.num("now");
    let (_, _, p) = &nodes[0].epochs[0];
    v.check("epoch signature", &p.signature);
    v.expect_outcome(p.verify(&nodes[0].id(), now).err().as_ref());
}

// ---------------------------------------------------------------------------------------------
// Packets and reply blocks

struct HopCfg {
    node: usize,
    epoch: u32,
    delay_ms: u32,
    difficulty: u8,
    puzzle_node: usize,
    /// This hop's address proof, which the previous hop's slot carries.
    proof: Option<AddressProof>,
}

/// An address proof from its 144 bytes (spec 5.5): node id, issued at, expires at, body
/// hash, signature.
fn parse_proof(b: &[u8]) -> AddressProof {
    assert_eq!(b.len(), 144, "address proof length");
    AddressProof {
        node_id: NodeId(b[..32].try_into().expect("node id")),
        issued_at: u64::from_be_bytes(b[32..40].try_into().expect("issued at")),
        expires_at: u64::from_be_bytes(b[40..48].try_into().expect("expires at")),
        body_hash: b[48..80].try_into().expect("body hash"),
        signature: b[80..].try_into().expect("signature"),
    }
}

/// Bytes of the routing block hop `i` consumes.
fn slot_len(route: &[HopCfg], i: usize) -> usize {
    match route.get(i + 1) {
        Some(next) if next.proof.is_some() => PROVEN_SLOT,
        _ => SLOT,
    }
}

fn run_address_proof_check(v: &V) {
    let now: u64 = v.num("now");
    let proof = parse_proof(&v.b("address proof"));
    v.expect_outcome(proof.verify(&v.h("address"), now).err().as_ref());
}

fn load_route(v: &V) -> Vec<HopCfg> {
    v.h("route")
        .split(' ')
        .enumerate()
        .map(|(i, n)| {
            let node: usize = n.parse().expect("route");
            HopCfg {
                node,
                epoch: v.num(&format!("hop {i} epoch")),
                delay_ms: v.num(&format!("hop {i} delay ms")),
                difficulty: v.num(&format!("hop {i} difficulty")),
                puzzle_node: v
                    .h_opt(&format!("hop {i} puzzle node"))
                    .map_or(node, |p| p.parse().expect("puzzle node")),
                proof: v
                    .h_opt(&format!("hop {i} address proof"))
                    .map(|p| parse_proof(&hex::decode(p).expect("proof hex"))),
            }
        })
        .collect()
}

fn hop_specs<'a>(nodes: &'a [Node], route: &'a [HopCfg]) -> Vec<HopSpec<'a>> {
    route
        .iter()
        .map(|h| HopSpec {
            node_id: nodes[h.puzzle_node].id(),
            address: &nodes[h.node].address,
            epoch: nodes[h.node].epoch(h.epoch),
            delay_ms: h.delay_ms,
            difficulty: h.difficulty,
            proof: h.proof.as_ref(),
        })
        .collect()
}

/// What the header's creator derived for one hop.
struct SenderHop {
    replay_tag: [u8; 32],
    payload_key: [u8; 32],
    slot: Vec<u8>,
}

/// Recomputes the header from the random values in draw order (per hop a 32-byte X25519
/// secret, then per hop a u64 puzzle start, then the padding) and checks every recorded
/// intermediate value and the header itself.
fn check_sender_side(
    v: &V,
    rng: &mut ChaCha20Rng,
    nodes: &[Node],
    route: &[HopCfg],
    header: &[u8],
) -> Vec<SenderHop> {
    let n = route.len();
    let ephs: Vec<[u8; 32]> = route
        .iter()
        .map(|_| {
            let mut e = [0u8; 32];
            rng.fill_bytes(&mut e);
            e
        })
        .collect();
    let starts: Vec<u64> = route.iter().map(|_| rng.next_u64()).collect();
    let lens: Vec<usize> = (0..n).map(|i| slot_len(route, i)).collect();
    let consumed: usize = lens[..n - 1].iter().sum();
    assert!(consumed + SLOT <= BETA && HOPS * SLOT == BETA, "route fits");
    let mut padding = vec![0u8; BETA - consumed - SLOT];
    rng.fill_bytes(&mut padding);
    v.check("padding", &padding);

    let mut streams = Vec::new();
    let mut out = Vec::new();
    let mut keys = Vec::new();
    for (i, hop) in route.iter().enumerate() {
        let epoch_key = nodes[hop.node].epoch(hop.epoch).key;
        let alpha = x25519_public(&ephs[i]);
        let shared = x25519(&ephs[i], &epoch_key);
        let secret = kdf_spec("mv1 hop secret", &shared, &[&alpha, &epoch_key]);
        let mac_key = kdf_spec("mv1 header mac", &secret, &[]);
        let stream_key = kdf_spec("mv1 header strm", &secret, &[]);
        let payload_key = kdf_spec("mv1 payload strm", &secret, &[]);
        let replay_tag = kdf_spec("mv1 replay tag", &secret, &[]);
        let challenge = kdf_spec(
            "mv1 puzzle",
            &replay_tag,
            &[
                nodes[hop.puzzle_node].id().as_bytes(),
                &hop.epoch.to_be_bytes(),
            ],
        );
        v.check(&format!("hop {i} ephemeral secret"), &ephs[i]);
        v.check(&format!("hop {i} alpha"), &alpha);
        v.check(&format!("hop {i} shared secret"), &shared);
        v.check(&format!("hop {i} hop secret"), &secret);
        v.check(&format!("hop {i} header mac key"), &mac_key);
        v.check(&format!("hop {i} header stream key"), &stream_key);
        v.check(&format!("hop {i} payload stream key"), &payload_key);
        v.check(&format!("hop {i} replay tag"), &replay_tag);
        v.check(&format!("hop {i} challenge"), &challenge);
        v.check(&format!("hop {i} puzzle start"), &starts[i].to_be_bytes());
        streams.push(keystream(&stream_key, BETA + PROVEN_SLOT));
        keys.push((alpha, mac_key, replay_tag, payload_key, challenge));
    }
    // Filler: phi_0 = empty; phi_{i+1} = (phi_i || 0^L_i) XOR stream_i[1280 - |phi_i| .. 1280 + L_i].
    let mut filler = Vec::new();
    for (i, stream) in streams.iter().enumerate().take(n - 1) {
        let old = filler.len();
        filler.resize(old + lens[i], 0);
        xor_into(&mut filler, &stream[BETA - old..BETA + lens[i]]);
    }
    v.check("filler", &filler);
    // Unwrap the header hop by hop.
    assert_eq!(header[0], 1, "version");
    let mut alpha: [u8; 32] = header[1..33].try_into().expect("alpha");
    let mut mac: [u8; 16] = header[33..49].try_into().expect("mac");
    let mut beta = header[49..].to_vec();
    for (i, hop) in route.iter().enumerate() {
        let (k_alpha, mac_key, replay_tag, payload_key, challenge) = keys[i];
        assert_eq!(alpha, k_alpha, "hop {i}: alpha chain");
        let mut macced = vec![1u8];
        macced.extend_from_slice(&alpha);
        macced.extend_from_slice(&[0u8; 15]);
        macced.extend_from_slice(&beta);
        assert_eq!(
            poly1305_padded(&mac_key, &macced),
            mac,
            "hop {i}: header MAC"
        );
        v.check(&format!("hop {i} mac"), &mac);
        if i == n - 1 {
            assert_eq!(
                beta[BETA - filler.len()..],
                filler[..],
                "filler at the last hop"
            );
        }
        let mut dec = beta.clone();
        dec.extend_from_slice(&[0u8; PROVEN_SLOT]);
        xor_into(&mut dec, &streams[i]);
        let slot = dec[..lens[i]].to_vec();
        v.check(&format!("hop {i} slot"), &slot);
        let nonce = u64::from_be_bytes(slot[6..14].try_into().expect("nonce"));
        v.check(&format!("hop {i} puzzle nonce"), &nonce.to_be_bytes());
        let work = kdf_spec("mv1 puzzle", &challenge, &[&nonce.to_be_bytes()]);
        assert!(
            leading_zero_bits(&work) >= u32::from(hop.difficulty),
            "hop {i}: work"
        );
        let api = Challenge::new(&replay_tag, &nodes[hop.puzzle_node].id(), hop.epoch);
        assert_eq!(
            api.solve(hop.difficulty, starts[i]),
            nonce,
            "hop {i}: first solution"
        );
        if i + 1 < n {
            alpha = slot[14..46].try_into().expect("next alpha");
            mac = slot[46..62].try_into().expect("next mac");
        } else {
            assert_eq!(dec[SLOT..SLOT + padding.len()], padding[..], "padding");
        }
        beta = dec[lens[i]..lens[i] + BETA].to_vec();
        out.push(SenderHop {
            replay_tag,
            payload_key,
            slot,
        });
    }
    out
}

/// The slot the API decoded must be the recomputed plaintext slot.
fn check_slot(api: &RoutingSlot, plain: &[u8]) {
    assert_eq!(be32(&plain[1..5]), api.delay_ms);
    assert_eq!(plain[5], api.difficulty);
    assert_eq!(plain[6..14], api.puzzle_nonce.to_be_bytes());
    match &api.command {
        Command::Relay {
            next_alpha,
            next_mac,
            next_address,
            proof: None,
        } => {
            assert_eq!((plain[0], plain.len()), (0x01, SLOT));
            assert_eq!(plain[14..46], next_alpha[..]);
            assert_eq!(plain[46..62], next_mac[..]);
            let len = usize::from(plain[62]);
            assert_eq!(plain[63..63 + len], *next_address.as_bytes());
            assert!(
                plain[63 + len..].iter().all(|b| *b == 0),
                "padding after the address"
            );
        }
        Command::Deliver(kind) => {
            assert_eq!(plain[0], 0x02);
            match kind {
                DeliverKind::Message => assert!(plain[14..31].iter().all(|b| *b == 0)),
                DeliverKind::Reply(id) => assert_eq!((plain[14], &plain[15..31]), (1, &id[..])),
            }
            assert!(plain[31..].iter().all(|b| *b == 0), "reserved bytes");
        }
        Command::Relay {
            next_alpha,
            next_mac,
            next_address,
            proof: Some(proof),
        } => {
            assert_eq!((plain[0], plain.len()), (0x03, PROVEN_SLOT));
            assert_eq!(plain[14..46], next_alpha[..]);
            assert_eq!(plain[46..62], next_mac[..]);
            let len = usize::from(plain[62]);
            assert_eq!(plain[63..63 + len], *next_address.as_bytes());
            assert!(
                plain[63 + len..SLOT].iter().all(|b| *b == 0),
                "padding and reserved byte"
            );
            assert_eq!(parse_proof(&plain[SLOT..SLOT + 144]), *proof, "the proof");
            assert!(
                plain[SLOT + 144..].iter().all(|b| *b == 0),
                "trailing zeros"
            );
        }
    }
}

/// Changes the bytes a hop receives.
type Edit = Box<dyn Fn(&mut Vec<u8>)>;

enum Mutation {
    Bytes(Edit),
    Replay,
}

fn parse_mutation(text: &str) -> Mutation {
    let parts: Vec<&str> = text.split(' ').collect();
    let num = |s: &str| -> usize { s.parse().expect("mutation number") };
    let bytes = |s: &str| hex::decode(s).expect("mutation hex");
    match parts.as_slice() {
        ["xor", off, hx] => {
            let (off, b) = (num(off), bytes(hx));
            Mutation::Bytes(Box::new(move |p| xor_into(&mut p[off..off + b.len()], &b)))
        }
        ["set", off, hx] => {
            let (off, b) = (num(off), bytes(hx));
            Mutation::Bytes(Box::new(move |p| p[off..off + b.len()].copy_from_slice(&b)))
        }
        ["truncate", n] => {
            let n = num(n);
            Mutation::Bytes(Box::new(move |p| p.truncate(n)))
        }
        ["append", hx] => {
            let b = bytes(hx);
            Mutation::Bytes(Box::new(move |p| p.extend_from_slice(&b)))
        }
        ["replay"] => Mutation::Replay,
        _ => panic!("unknown mutation {text}"),
    }
}

type Outcome = Result<(DeliverKind, Vec<u8>), (usize, Error)>;

/// Walks `packet` along the route like the nodes would; checks what each hop receives.
/// Returns `None` if stopped after hop `stop_after`.
#[allow(clippy::too_many_arguments)]
fn travel(
    v: &V,
    nodes: &[Node],
    route: &[HopCfg],
    sender: &[SenderHop],
    mut packet: Vec<u8>,
    now: u64,
    replays: &mut BTreeSet<(usize, u32, [u8; 32])>,
    stop_after: Option<usize>,
    record: &str,
) -> Option<Outcome> {
    let mutation_hop: Option<usize> = v.h_opt("mutation hop").map(|h| h.parse().expect("hop"));
    let mutation = v.h_opt("mutation").map(|m| parse_mutation(&m));
    for (i, hop) in route.iter().enumerate() {
        let node = &nodes[hop.node];
        let mut input = packet.clone();
        let mut twice = false;
        let mutated = mutation_hop == Some(i);
        if mutated {
            match mutation.as_ref().expect("mutation line") {
                Mutation::Bytes(f) => f(&mut input),
                Mutation::Replay => twice = true,
            }
        }
        if !record.is_empty() {
            let key = format!("hop {i} packet");
            if mutated && !twice {
                v.check(&format!("{key} digest"), &digest(&packet));
                v.check(&format!("hop {i} input"), &input);
            } else {
                v.check_full_or_digest(&key, &packet);
            }
        }
        let live = node.live(now);
        let ring = EpochKeyring {
            node_id: node.id(),
            epochs: &live,
            min_difficulty: node.min_difficulty,
        };
        let opened = match open_packet(&ring, &input) {
            Ok(o) => o,
            Err(e) => return Some(Err((i, e))),
        };
        assert_eq!(
            *opened.replay_tag(),
            sender[i].replay_tag,
            "hop {i}: replay tag"
        );
        assert_eq!(opened.epoch(), hop.epoch, "hop {i}: epoch");
        check_slot(opened.slot(), &sender[i].slot);
        if !replays.insert((hop.node, opened.epoch(), *opened.replay_tag())) {
            return Some(Err((i, Error::Replay)));
        }
        if twice {
            let again = open_packet(&ring, &input).expect("a replay authenticates");
            assert!(!replays.insert((hop.node, again.epoch(), *again.replay_tag())));
            return Some(Err((i, Error::Replay)));
        }
        if stop_after == Some(i) {
            return None;
        }
        match opened.into_routing() {
            Routing::Forward(f) => {
                assert_eq!(f.next_address, nodes[route[i + 1].node].address);
                assert_eq!(f.delay_ms, hop.delay_ms);
                assert_eq!(f.proof, route[i + 1].proof, "hop {i}: the next hop's proof");
                if let Some(p) = &f.proof {
                    p.verify(&f.next_address, now).expect("the relay's check");
                }
                packet = f.packet;
            }
            Routing::Deliver { kind, payload } => {
                assert_eq!(i + 1, route.len(), "delivered before the end of the route");
                return Some(Ok((kind, payload)));
            }
        }
    }
    panic!("route ended without delivery")
}

fn expect_route_outcome(v: &V, outcome: &Outcome) {
    match outcome {
        Ok(_) => v.expect_outcome(None),
        Err((hop, e)) => {
            v.expect_outcome(Some(e));
            assert_eq!(v.num::<usize>("error hop"), *hop, "failing hop");
        }
    }
}

fn run_packet(v: &V) {
    let now: u64 = v.num("now");
    let seed: [u8; 32] = v.arr("rng seed");
    let payload = repeat(&v.hx("payload pattern"), PAYLOAD_LEN);
    let nodes = load_nodes(v);
    let route = load_route(v);
    let hops = hop_specs(&nodes, &route);
    let payload_arr: &[u8; PAYLOAD_LEN] = payload.as_slice().try_into().expect("payload");
    let packet =
        build_packet(&hops, payload_arr, &mut ChaCha20Rng::from_seed(seed)).expect("build");
    let sender = check_sender_side(
        v,
        &mut ChaCha20Rng::from_seed(seed),
        &nodes,
        &route,
        &packet[..HEADER_LEN],
    );
    // The payload layers: the sender XORs every hop's keystream.
    let mut layered = payload.clone();
    for h in &sender {
        xor_into(&mut layered, &keystream(&h.payload_key, PAYLOAD_LEN));
    }
    assert_eq!(packet[HEADER_LEN..], layered[..], "payload layers");
    let mut replays = BTreeSet::new();
    let outcome = travel(
        v,
        &nodes,
        &route,
        &sender,
        packet,
        now,
        &mut replays,
        None,
        "packet",
    )
    .expect("an outcome");
    expect_route_outcome(v, &outcome);
    if let Ok((kind, delivered)) = &outcome {
        assert_eq!(*kind, DeliverKind::Message);
        assert_eq!(delivered, &payload, "delivered payload");
        v.check("delivered payload digest", &digest(delivered));
    }
}

fn run_surb(v: &V) {
    let now: u64 = v.num("now");
    let surb_seed: [u8; 32] = v.arr("surb rng seed");
    let reply_seed: [u8; 32] = v.arr("reply rng seed");
    let nodes = load_nodes(v);
    let route = load_route(v);
    assert_eq!(
        route.last().map(|h| h.node),
        Some(0),
        "the creator is node 0"
    );
    let hops = hop_specs(&nodes, &route);
    let (surb, secret) = create_surb(&hops, &mut ChaCha20Rng::from_seed(surb_seed)).expect("surb");
    let mut rng = ChaCha20Rng::from_seed(surb_seed);
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    v.check("surb id", &id);
    v.check("surb key", &key);
    assert_eq!((secret.id, secret.key, surb.key), (id, key, key));
    let sender = check_sender_side(v, &mut rng, &nodes, &route, &surb.header);
    // SURB = u8 len || first hop || header || key; secret = id || key || u8 n || payload keys.
    let mut surb_bytes = vec![surb.first_hop.len() as u8];
    surb_bytes.extend_from_slice(surb.first_hop.as_bytes());
    surb_bytes.extend_from_slice(&surb.header);
    surb_bytes.extend_from_slice(&key);
    assert_eq!(surb.encode(), surb_bytes);
    v.check("surb", &surb_bytes);
    assert_eq!(Surb::decode(&surb_bytes).expect("decodes"), surb);
    let mut secret_bytes = [&id[..], &key[..], &[route.len() as u8]].concat();
    for h in &sender {
        secret_bytes.extend_from_slice(&h.payload_key);
    }
    assert_eq!(secret.encode()[..], secret_bytes[..]);
    v.check("surb secret", &secret_bytes);

    let receipt = Receipt {
        message_id: v.arr("receipt message id"),
        shards_received: v.num("receipt shards received"),
    };
    let content = receipt.encode();
    v.check("receipt", &content);
    assert_eq!(Receipt::decode(&content).expect("receipt"), receipt);
    let (first, reply) =
        build_reply(&surb, &content, &mut ChaCha20Rng::from_seed(reply_seed)).expect("reply");
    assert_eq!(first, nodes[route[0].node].address);
    let mut nonce = [0u8; 24];
    ChaCha20Rng::from_seed(reply_seed).fill_bytes(&mut nonce);
    v.check("reply nonce", &nonce);
    // The replier's payload: nonce || secretbox(key, nonce, u32 len || content || zeros).
    let mut plain = vec![0u8; PAYLOAD_LEN - 40];
    plain[..4].copy_from_slice(&(content.len() as u32).to_be_bytes());
    plain[4..4 + content.len()].copy_from_slice(&content);
    assert_eq!(
        reply[HEADER_LEN..],
        [&nonce[..], &secretbox(&key, &nonce, &plain)].concat()[..]
    );

    let mut replays = BTreeSet::new();
    let outcome = match v.h_opt("second reply rng seed") {
        None => travel(
            v,
            &nodes,
            &route,
            &sender,
            reply,
            now,
            &mut replays,
            None,
            "packet",
        ),
        Some(second) => {
            let second: [u8; 32] = hex::decode(second).expect("hex").try_into().expect("32");
            let none = travel(
                v,
                &nodes,
                &route,
                &sender,
                reply,
                now,
                &mut replays,
                Some(0),
                "packet",
            );
            assert!(none.is_none());
            let (_, again) =
                build_reply(&surb, &content, &mut ChaCha20Rng::from_seed(second)).expect("reply");
            assert_eq!(again[..HEADER_LEN], surb.header[..], "same header");
            v.check("second reply packet", &again);
            travel(
                v,
                &nodes,
                &route,
                &sender,
                again,
                now,
                &mut replays,
                None,
                "",
            )
        }
    }
    .expect("an outcome");
    expect_route_outcome(v, &outcome);
    if let Ok((kind, delivered)) = &outcome {
        assert_eq!(*kind, DeliverKind::Reply(id));
        v.check("delivered payload digest", &digest(delivered));
        let recovered = open_reply(&secret, delivered).expect("opens");
        assert_eq!(recovered, content);
        v.check("recovered content", &recovered);
    }
}

// ---------------------------------------------------------------------------------------------
// Messages

fn run_message(v: &V) {
    let nodes = load_nodes(v);
    let (sender, recipient) = (&nodes[0], &nodes[1]);
    let seed: [u8; 32] = v.arr("rng seed");
    let s_epoch = sender.secret(v.num("sender epoch"));
    let r_epoch = recipient.secret(v.num("recipient epoch"));
    let level: LevelName = v.h("level").parse().expect("level");
    let file_name = v.h("file name");
    let (num, den) = v
        .h("redundancy")
        .split_once('/')
        .map(|(a, b)| (a.parse().expect("num"), b.parse().expect("den")))
        .expect("redundancy NUM/DEN");
    let lost: Vec<usize> = v
        .h("lost")
        .split_whitespace()
        .map(|x| x.parse().expect("lost index"))
        .collect();
    let tamper = v.h_opt("tamper").map(|t| {
        let p: Vec<&str> = t.split(' ').collect();
        let x = hex::decode(p[2]).expect("tamper byte")[0];
        (
            p[0].parse::<usize>().expect("index"),
            p[1].parse::<usize>().expect("offset"),
            x,
        )
    });
    let opt = |k: &str| v.has(k).then(|| v.b(k));
    let descriptor = opt("envelope sender descriptor");
    if let Some(d) = &descriptor {
        let checked = UncheckedDescriptor::decode(d)
            .and_then(|u| u.check(v.num("created at")))
            .expect("the sender's descriptor checks");
        assert_eq!(checked.node_id, sender.id());
    }
    let surb = |k: &str| opt(k).map(|b| Surb::decode(&b).expect("reply block decodes"));
    let envelope = Envelope {
        created_at: v.num("created at"),
        level,
        content: MessageContent {
            subject: v.h("subject"),
            file_name: (!file_name.is_empty()).then_some(file_name),
            body: repeat(&v.hx("body pattern"), v.num("body length")),
        },
        sender_descriptor: descriptor,
        receipt_surb: surb("envelope receipt surb"),
        reply_surb: surb("envelope reply surb"),
    };
    let encoded = envelope.encode().expect("encode");
    v.check("envelope", &encoded);
    assert_eq!(Envelope::decode(&encoded).expect("decode"), envelope);
    let sealed = seal_message(
        SenderKeys {
            node_id: sender.id(),
            epoch: &s_epoch,
        },
        &r_epoch.public,
        &envelope,
        Redundancy { num, den },
        &mut ChaCha20Rng::from_seed(seed),
    )
    .expect("seal");

    // The same from the spec: draws are the ephemeral secret, the nonce, the message id.
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut eph = [0u8; 32];
    rng.fill_bytes(&mut eph);
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let mut message_id = [0u8; 16];
    rng.fill_bytes(&mut message_id);
    let (rk, sk) = (r_epoch.public.key, s_epoch.public.key);
    let eph_pub = x25519_public(&eph);
    let dh_eph = x25519(&eph, &rk);
    let dh_static = x25519(&s_epoch.secret_bytes(), &rk);
    assert_eq!(
        dh_static,
        x25519(&r_epoch.secret_bytes(), &sk),
        "both ends agree"
    );
    let k_anon = kdf_spec("mv1 e2e anon", &dh_eph, &[&eph_pub, &rk]);
    let k_msg = kdf_spec(
        "mv1 e2e message",
        &dh_eph,
        &[&dh_static, &eph_pub, &sk, &rk],
    );
    let sender_ref = [
        &sender.id().0[..],
        &s_epoch.public.epoch.to_be_bytes(),
        &sk[..],
    ]
    .concat();
    let sender_box = secretbox(&k_anon, &[0u8; 24], &sender_ref);
    let ciphertext = [&nonce[..], &secretbox(&k_msg, &nonce, &encoded)].concat();
    for (k, val) in [
        ("ephemeral secret", &eph[..]),
        ("ephemeral public", &eph_pub),
        ("dh ephemeral", &dh_eph),
        ("dh static", &dh_static),
        ("anon key", &k_anon),
        ("message key", &k_msg),
        ("sender reference", &sender_ref),
        ("sender box", &sender_box),
        ("nonce", &nonce),
        ("message id", &message_id),
        (
            "ciphertext length",
            &(ciphertext.len() as u32).to_be_bytes(),
        ),
        ("ciphertext digest", &digest(&ciphertext)),
    ] {
        v.check(k, val);
    }
    let k = ciphertext.len().div_ceil(SHARD_LEN);
    let n = Redundancy { num, den }.total_shards(k);
    assert_eq!((sealed.k, sealed.n, sealed.message_id), (k, n, message_id));
    v.check("k", &(k as u16).to_be_bytes());
    v.check("n", &(n as u16).to_be_bytes());
    let mut padded = ciphertext.clone();
    padded.resize(k * SHARD_LEN, 0);
    let originals: Vec<&[u8]> = padded.chunks(SHARD_LEN).collect();
    let recovery = if n > k {
        reed_solomon_simd::encode(k, n - k, &originals).expect("rs")
    } else {
        Vec::new()
    };
    for (i, data) in originals
        .iter()
        .copied()
        .chain(recovery.iter().map(Vec::as_slice))
        .enumerate()
    {
        let index = (i as u16).to_be_bytes();
        let mut p = [&eph_pub[..], &sender_box, &message_id].concat();
        for x in [(k as u16).to_be_bytes(), (n as u16).to_be_bytes(), index] {
            p.extend_from_slice(&x);
        }
        p.extend_from_slice(&(ciphertext.len() as u32).to_be_bytes());
        p.extend_from_slice(data);
        let tag_key = kdf_spec("mv1 e2e shard", &k_msg, &[&message_id, &index]);
        p.extend_from_slice(&poly1305_padded(&tag_key, &p));
        assert_eq!(p[..], sealed.payloads[i][..], "shard {i}");
        v.check(&format!("shard {i} tag key"), &tag_key);
        let key = format!("shard {i} payload");
        if lost.contains(&i) {
            v.check(&format!("{key} digest"), &digest(&p));
        } else {
            v.check(&key, &p);
        }
    }
    // The recipient opens what arrives, in index order, then rebuilds.
    let mut opened = Vec::new();
    let mut failure = None;
    for (i, p) in sealed.payloads.iter().enumerate() {
        if lost.contains(&i) {
            continue;
        }
        let mut p = p.to_vec();
        if let Some((t, off, x)) = tamper
            && t == i
        {
            p[off] ^= x;
        }
        match open_shard(&r_epoch, &p) {
            Ok(s) => opened.push(s),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let result = match failure {
        Some(e) => Err(e),
        None => rebuild(&opened),
    };
    v.expect_outcome(result.as_ref().err());
    if let Ok(msg) = result {
        assert_eq!(msg.envelope, envelope);
        assert_eq!(msg.message_id, message_id);
        assert_eq!(
            (msg.sender.node_id, msg.sender.epoch_key),
            (sender.id(), sk)
        );
        v.check(
            "rebuilt envelope digest",
            &digest(&msg.envelope.encode().expect("enc")),
        );
    }
}

// ---------------------------------------------------------------------------------------------

fn run(text: &str) -> String {
    let v = V::parse(text);
    let kind = v.h("kind");
    let _ = v.h("description");
    match kind.as_str() {
        "kdf" => run_kdf(&v),
        "puzzle" => run_puzzle(&v),
        "descriptor" => run_descriptor(&v),
        "descriptor-check" => run_descriptor_check(&v),
        "address-proof-check" => run_address_proof_check(&v),
        "epoch-key" => run_epoch_key(&v),
        "packet" => run_packet(&v),
        "surb" => run_surb(&v),
        "message" => run_message(&v),
        other => panic!("unknown kind {other}"),
    }
    v.finish();
    format!("{kind}/{}", v.h("expect"))
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn every_vector_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/spec/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for path in &files {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(path).expect("read");
        match catch_unwind(AssertUnwindSafe(|| run(&text))) {
            Ok(kind_expect) => {
                covered.insert(kind_expect);
            }
            Err(p) => failures.push(format!("{name}: {}", panic_text(&*p))),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail (regenerate with `cargo run -p mailvortex-vectors -- generate` only if the wire change is intended):\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    // The set of scenarios the spec promises must all be there.
    for required in [
        "kdf/success",
        "puzzle/success",
        "descriptor/success",
        "descriptor-check/expired",
        "descriptor-check/bad signature",
        "descriptor-check/truncated",
        "address-proof-check/bad signature",
        "address-proof-check/expired",
        "epoch-key/expired",
        "packet/success",
        "packet/bad mac",
        "packet/replay",
        "packet/bad puzzle",
        "packet/truncated",
        "packet/weak key",
        "surb/success",
        "surb/replay",
        "message/success",
        "message/end-to-end auth",
        "message/not enough shards",
    ] {
        assert!(covered.contains(required), "no vector for {required}");
    }
    for hops in [1, 2, 3, 4, 5, 8] {
        let suffix = if hops == 1 { "hop" } else { "hops" };
        assert!(
            files
                .iter()
                .any(|f| f.ends_with(format!("packet-{hops}-{suffix}.txt"))),
            "no {hops}-hop vector"
        );
    }
    for proven in ["packet-4-hops-proof.txt", "packet-7-hops-proof.txt"] {
        assert!(
            files.iter().any(|f| f.ends_with(proven)),
            "no {proven}: a route with an address proof"
        );
    }
}
