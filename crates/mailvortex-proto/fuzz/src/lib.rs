//! The bodies of the fuzz targets, shared by the libFuzzer binaries (`fuzz_targets/`) and by
//! the stable-toolchain replay (`src/bin/replay.rs`, `tests/smoke.rs`).
//!
//! Every function takes the raw fuzzer input, must never panic on any input, and asserts the
//! properties the parsers promise (strict decoding re-encodes to the same bytes; a packet that
//! opens has the right length; a round trip returns what went in).

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use mailvortex_proto::identity::{EpochSecret, Identity, NodeId};
use mailvortex_proto::kdf::{self, HEADER_MAC, HEADER_STREAM, HOP_SECRET};
use mailvortex_proto::level::{LevelName, Redundancy};
use mailvortex_proto::message::{
    Envelope, MessageContent, Receipt, SenderKeys, open_shard, rebuild, seal_message,
};
use mailvortex_proto::packet::{
    BETA_LEN, DeliverKind, EpochKeyring, HEADER_LEN, HopSpec, PACKET_LEN, PACKET_VERSION,
    PAYLOAD_LEN, Routing, build_packet, open_packet as open,
};
use mailvortex_proto::surb::{
    REPLY_CAPACITY, Surb, SurbSecret, build_reply, create_surb, open_reply,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// The fixed "now" of the fixtures.
pub const NOW: u64 = 1_800_000_000;

/// A node with a fixed identity and epoch key.
pub struct Node {
    pub node_id: NodeId,
    pub address: String,
    pub epoch: EpochSecret,
}

impl Node {
    fn new(seed: u64, address: &str) -> Self {
        let mut r = ChaCha20Rng::seed_from_u64(seed);
        let identity = Identity::generate(&mut r);
        let epoch = identity.new_epoch_key(&mut r, 1, NOW - 3600, NOW + 86_400);
        Node {
            node_id: identity.node_id(),
            address: address.to_string(),
            epoch,
        }
    }

    pub fn hop(&self, delay_ms: u32) -> HopSpec<'_> {
        HopSpec {
            node_id: self.node_id,
            address: &self.address,
            epoch: &self.epoch.public,
            delay_ms,
            difficulty: 0,
            proof: None,
        }
    }

    pub fn keyring(&self) -> EpochKeyring<'_> {
        EpochKeyring {
            node_id: self.node_id,
            epochs: std::slice::from_ref(&self.epoch),
            min_difficulty: 0,
        }
    }
}

/// Sender, two relays and a recipient, plus one valid shard for the recipient.
pub struct Fixture {
    pub sender: Node,
    pub relays: [Node; 2],
    pub recipient: Node,
    pub shard: Vec<u8>,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let sender = Node::new(1, "alice@a.test");
        let recipient = Node::new(2, "bob@b.test");
        let relays = [Node::new(3, "r0@p0.test"), Node::new(4, "r1@p1.test")];
        let env = Envelope {
            created_at: NOW,
            level: LevelName::Standard,
            content: MessageContent {
                subject: "fuzz".into(),
                file_name: Some("f.txt".into()),
                body: b"a small body".to_vec(),
            },
            sender_descriptor: None,
            receipt_surb: None,
            reply_surb: None,
        };
        let sealed = seal_message(
            SenderKeys {
                node_id: sender.node_id,
                epoch: &sender.epoch,
            },
            &recipient.epoch.public,
            &env,
            Redundancy { num: 1, den: 1 },
            &mut ChaCha20Rng::seed_from_u64(5),
        )
        .expect("fixture seals");
        let shard = sealed.payloads[0].to_vec();
        Fixture {
            sender,
            relays,
            recipient,
            shard,
        }
    })
}

fn check_routing(routing: Routing) {
    match routing {
        Routing::Forward(f) => {
            assert_eq!(f.packet.len(), PACKET_LEN);
            assert!(!f.next_address.is_empty());
        }
        Routing::Deliver { payload, .. } => assert_eq!(payload.len(), PAYLOAD_LEN),
    }
}

/// Target `open_packet`: raw bytes offered to a relay with one fixed epoch key.
pub fn open_packet(data: &[u8]) {
    let f = fixture();
    if let Ok(opened) = open(&f.relays[0].keyring(), data) {
        // Only reachable with a forged MAC: still must route sanely.
        check_routing(opened.into_routing());
    }
}

/// XSalsa20 with nonce zero, as the protocol's layers (reference implementation).
fn keystream(key: &[u8; 32], buf: &mut [u8]) {
    use salsa20::XSalsa20;
    use salsa20::cipher::{KeyIvInit, StreamCipher};
    XSalsa20::new(key.into(), &[0u8; 24].into()).apply_keystream(buf);
}

/// Target `routing_slot`: a header that authenticates for the relay (the target computes the
/// MAC itself) around an arbitrary routing block, so `RoutingSlot` decoding, the puzzle check
/// and the forwarding are reached through `open_packet`.
/// Input: 32 bytes of ephemeral secret, then the plaintext routing block (up to `BETA_LEN`
/// bytes, zero padded), then the payload (zero padded).
pub fn routing_slot(data: &[u8]) {
    use poly1305::Poly1305;
    use poly1305::universal_hash::{KeyInit, UniversalHash};
    use x25519_dalek::{PublicKey, StaticSecret};
    if data.len() < 32 {
        return;
    }
    let f = fixture();
    let node = &f.relays[0];
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&data[..32]);
    let x = StaticSecret::from(seed);
    let alpha = PublicKey::from(&x).to_bytes();
    let epoch_key = node.epoch.public.key;
    let dh = x.diffie_hellman(&PublicKey::from(epoch_key));
    if !dh.was_contributory() {
        return;
    }
    let secret = kdf::derive(HOP_SECRET, dh.as_bytes(), &[&alpha, &epoch_key]);
    let rest = &data[32..];
    let mut beta = [0u8; BETA_LEN];
    let n = rest.len().min(BETA_LEN);
    beta[..n].copy_from_slice(&rest[..n]);
    keystream(&kdf::derive(HEADER_STREAM, &secret, &[]), &mut beta);
    let mac_key = kdf::derive(HEADER_MAC, &secret, &[]);
    let mut mac = Poly1305::new((&mac_key).into());
    let mut first = [0u8; 48];
    first[0] = PACKET_VERSION;
    first[1..33].copy_from_slice(&alpha);
    mac.update_padded(&first);
    mac.update_padded(&beta);
    let tag: [u8; 16] = mac.finalize().into();
    let mut packet = Vec::with_capacity(PACKET_LEN);
    packet.push(PACKET_VERSION);
    packet.extend_from_slice(&alpha);
    packet.extend_from_slice(&tag);
    packet.extend_from_slice(&beta);
    packet.extend_from_slice(&rest[n..rest.len().min(n + PAYLOAD_LEN)]);
    packet.resize(PACKET_LEN, 0);
    assert_eq!(packet.len(), HEADER_LEN + PAYLOAD_LEN);
    if let Ok(opened) = open(&node.keyring(), &packet) {
        check_routing(opened.into_routing());
    }
}

/// Target `descriptor`: `UncheckedDescriptor::decode`, then `check`.
pub fn descriptor(data: &[u8]) {
    if let Ok(d) = mailvortex_proto::descriptor::UncheckedDescriptor::decode(data) {
        let _ = d.claimed_node_id();
        let _ = d.check(NOW);
    }
}

/// Target `envelope`: strict decoding; what decodes re-encodes to the same bytes.
pub fn envelope(data: &[u8]) {
    if let Ok(e) = Envelope::decode(data) {
        // Encoding refuses some values decoding accepts (e.g. subjects over 4096 bytes).
        if let Ok(again) = e.encode() {
            assert_eq!(again, data, "envelope encoding is not canonical");
        }
    }
}

/// Target `surb`: `Surb::decode`; re-encodes to the same bytes.
pub fn surb(data: &[u8]) {
    if let Ok(s) = Surb::decode(data) {
        assert_eq!(s.encode(), data, "reply block encoding is not canonical");
    }
}

/// Target `surb_secret`: `SurbSecret::decode`; re-encodes to the same bytes.
pub fn surb_secret(data: &[u8]) {
    if let Ok(s) = SurbSecret::decode(data) {
        assert_eq!(
            &s.encode()[..],
            data,
            "reply secret encoding is not canonical"
        );
    }
}

/// Target `receipt`: `Receipt::decode`; re-encodes to the same bytes.
pub fn receipt(data: &[u8]) {
    if let Ok(r) = Receipt::decode(data) {
        assert_eq!(r.encode(), data, "receipt encoding is not canonical");
    }
}

/// Target `open_shard`. First byte 0: the rest is offered as a payload as is. Otherwise the
/// rest is a list of `(u16 position, u8 mask)` edits XORed into a valid shard; only an
/// unchanged shard may authenticate, and then it rebuilds the message.
pub fn open_shard_target(data: &[u8]) {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode == 0 {
        let _ = open_shard(&f.recipient.epoch, rest);
        return;
    }
    let mut shard = f.shard.clone();
    for e in rest.chunks_exact(3) {
        let pos = usize::from(u16::from_be_bytes([e[0], e[1]])) % PAYLOAD_LEN;
        shard[pos] ^= e[2];
    }
    match open_shard(&f.recipient.epoch, &shard) {
        Ok(s) => {
            assert_eq!(shard, f.shard, "a modified shard authenticated");
            let m = rebuild(&[s]).expect("the original shard rebuilds");
            assert_eq!(m.envelope.content.body, b"a small body");
        }
        Err(_) => assert_ne!(shard, f.shard, "the original shard was rejected"),
    }
}

/// The structured round trip's input.
#[derive(Debug, Arbitrary)]
pub struct RoundTrip {
    /// Payload bytes (padded or cut to `PAYLOAD_LEN`).
    pub payload: Vec<u8>,
    /// Relays before the recipient: 0, 1 or 2 (taken modulo 3).
    pub relays: u8,
    /// Delays asked of the relays.
    pub delays: [u32; 2],
    /// RNG seed for the packet.
    pub seed: u64,
    /// Also send a reply back through a reply block over the same relays.
    pub reply: Option<Vec<u8>>,
}

/// Target `round_trip`: an arbitrary payload through a route of up to 3 hops (relays, then
/// the recipient), checked hop by hop; optionally a reply back through a reply block.
pub fn round_trip(data: &[u8]) {
    let Ok(input) = RoundTrip::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let f = fixture();
    let relays = usize::from(input.relays % 3);
    let mut payload = [0u8; PAYLOAD_LEN];
    let n = input.payload.len().min(PAYLOAD_LEN);
    payload[..n].copy_from_slice(&input.payload[..n]);
    let mut hops: Vec<HopSpec<'_>> = (0..relays)
        .map(|i| f.relays[i].hop(input.delays[i]))
        .collect();
    hops.push(f.recipient.hop(0));
    let mut rng = ChaCha20Rng::seed_from_u64(input.seed);
    let mut packet = build_packet(&hops, &payload, &mut rng).expect("valid route");
    let mut tags = Vec::new();
    for i in 0..relays {
        let opened = open(&f.relays[i].keyring(), &packet).expect("relay opens");
        tags.push(*opened.replay_tag());
        match opened.into_routing() {
            Routing::Forward(fw) => {
                assert_eq!(fw.delay_ms, input.delays[i]);
                let next = if i + 1 < relays {
                    &f.relays[i + 1].address
                } else {
                    &f.recipient.address
                };
                assert_eq!(&fw.next_address, next);
                assert_eq!(fw.packet.len(), PACKET_LEN);
                packet = fw.packet;
            }
            Routing::Deliver { .. } => panic!("relay {i} got a deliver slot"),
        }
    }
    let opened = open(&f.recipient.keyring(), &packet).expect("recipient opens");
    tags.push(*opened.replay_tag());
    match opened.into_routing() {
        Routing::Deliver { kind, payload: out } => {
            assert_eq!(kind, DeliverKind::Message);
            assert_eq!(out[..], payload[..], "payload changed on the way");
        }
        Routing::Forward(_) => panic!("recipient was asked to forward"),
    }
    let mut unique = tags.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        tags.len(),
        "replay tags repeat within a packet"
    );

    let Some(content) = input.reply else {
        return;
    };
    // Reply block: the same relays, ending at the sender.
    let mut back: Vec<HopSpec<'_>> = (0..relays).map(|i| f.relays[i].hop(0)).collect();
    back.push(f.sender.hop(0));
    let (surb, secret) = create_surb(&back, &mut rng).expect("reply block");
    let reply = build_reply(&surb, &content, &mut rng);
    if content.len() > REPLY_CAPACITY {
        assert!(reply.is_err());
        return;
    }
    let (_, mut packet) = reply.expect("reply fits");
    for relay in f.relays.iter().take(relays) {
        match open(&relay.keyring(), &packet)
            .expect("relay opens reply")
            .into_routing()
        {
            Routing::Forward(fw) => packet = fw.packet,
            Routing::Deliver { .. } => panic!("relay got a deliver slot"),
        }
    }
    match open(&f.sender.keyring(), &packet)
        .expect("creator opens reply")
        .into_routing()
    {
        Routing::Deliver {
            kind: DeliverKind::Reply(id),
            payload,
        } => {
            assert_eq!(id, secret.id);
            assert_eq!(open_reply(&secret, &payload).expect("reply opens"), content);
        }
        _ => panic!("reply not delivered to its creator"),
    }
}

/// Every target by name, for the replay tool and the smoke test.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("open_packet", open_packet),
    ("routing_slot", routing_slot),
    ("descriptor", descriptor),
    ("envelope", envelope),
    ("surb", surb),
    ("surb_secret", surb_secret),
    ("receipt", receipt),
    ("open_shard", open_shard_target),
    ("round_trip", round_trip),
];

/// Valid inputs for each target (a seed corpus): real encodings the parsers accept.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    use mailvortex_proto::descriptor::{Descriptor, Limits, PeerType};
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let route = [f.relays[0].hop(10), f.relays[1].hop(20), f.recipient.hop(0)];
    let (surb, secret) = create_surb(&route, &mut rng).expect("surb");
    match target {
        "open_packet" => vec![
            build_packet(&route, &[1; PAYLOAD_LEN], &mut rng).expect("packet"),
            vec![PACKET_VERSION; PACKET_LEN],
            Vec::new(),
        ],
        "routing_slot" => {
            // secret || relay slot (command 1, delay, difficulty 0, nonce, alpha, mac, address).
            let mut relay = vec![9u8; 32];
            relay.extend_from_slice(&[1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            relay.extend_from_slice(&[3; 48]);
            relay.push(10);
            relay.extend_from_slice(b"r1@p1.test");
            relay.resize(32 + 160, 0);
            // secret || deliver slot (command 2, message).
            let mut deliver = vec![8u8; 32];
            deliver.push(2);
            deliver.resize(32 + 160, 0);
            vec![relay, deliver]
        }
        "descriptor" => {
            let mut r = ChaCha20Rng::seed_from_u64(1);
            let identity = Identity::generate(&mut r);
            let epoch = identity.new_epoch_key(&mut r, 1, NOW - 3600, NOW + 86_400);
            let d = Descriptor {
                node_id: identity.node_id(),
                address: "carol@c.test".into(),
                peer_type: PeerType::Public,
                puzzle_difficulty: 10,
                limits: Limits {
                    packets_per_day: 100,
                    max_message_bytes: 1 << 20,
                },
                issued_at: NOW - 3600,
                expires_at: NOW + 86_400,
                epochs: vec![epoch.public.clone()],
                address_proof: None,
            };
            vec![d.sign(&identity).expect("sign")]
        }
        "envelope" => {
            let e = Envelope {
                created_at: NOW,
                level: LevelName::Maximum,
                content: MessageContent {
                    subject: "seed".into(),
                    file_name: Some("a.bin".into()),
                    body: vec![0xab; 100],
                },
                sender_descriptor: Some(vec![1, 2, 3]),
                receipt_surb: Some(surb.clone()),
                reply_surb: None,
            };
            vec![e.encode().expect("encode")]
        }
        "surb" => vec![surb.encode()],
        "surb_secret" => vec![secret.encode().to_vec()],
        "receipt" => vec![
            Receipt {
                message_id: [5; 16],
                shards_received: 3,
            }
            .encode(),
        ],
        "open_shard" => {
            let mut raw = vec![0u8];
            raw.extend_from_slice(&f.shard);
            vec![raw, vec![1], vec![1, 0, 40, 0x80]]
        }
        "round_trip" => vec![vec![0u8; 64], (0..=255u8).collect()],
        _ => Vec::new(),
    }
}
