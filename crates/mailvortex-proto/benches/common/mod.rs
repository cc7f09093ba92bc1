//! Shared fixtures for the benchmarks and the `bench_table` example: deterministic nodes,
//! envelopes, and the primitives the protocol is built from, timed alone.
//!
//! Included with `#[path = ...] mod common;` by `benches/*.rs` and `examples/bench_table.rs`,
//! so some items are unused in each of them.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mailvortex_proto::descriptor::{Descriptor, Limits, PeerType, UncheckedDescriptor};
use mailvortex_proto::identity::{EpochSecret, Identity};
use mailvortex_proto::level::{LevelName, LevelParams};
use mailvortex_proto::message::{Envelope, MessageContent, SenderKeys};
use mailvortex_proto::packet::{
    BETA_LEN, EpochKeyring, HopSpec, PACKET_LEN, PAYLOAD_LEN, SLOT_LEN, build_packet,
};
use mailvortex_proto::send::{PreparedMessage, prepare_message};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// The fixed "now" of every fixture (unix seconds).
pub const NOW: u64 = 1_800_000_000;
/// 1 MiB.
pub const MIB: usize = 1 << 20;

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A node with one (or, after [`Node::add_grace_key`], two) live epoch keys.
pub struct Node {
    pub identity: Identity,
    pub epochs: Vec<EpochSecret>,
    pub descriptor: Descriptor,
}

impl Node {
    pub fn new(seed: u64, address: &str, peer_type: PeerType) -> Self {
        let mut r = rng(seed);
        let identity = Identity::generate(&mut r);
        let epoch = identity.new_epoch_key(&mut r, 1, NOW - 3600, NOW + 7 * 86_400);
        let descriptor = Descriptor {
            node_id: identity.node_id(),
            address: address.to_string(),
            peer_type,
            puzzle_difficulty: 0,
            limits: Limits {
                packets_per_day: 2000,
                max_message_bytes: 64 << 20,
            },
            issued_at: NOW - 3600,
            expires_at: NOW + 30 * 86_400,
            epochs: vec![epoch.public.clone()],
            address_proof: None,
        };
        let signed = descriptor.sign(&identity).expect("sign");
        let descriptor = UncheckedDescriptor::decode(&signed)
            .expect("decode")
            .check(NOW)
            .expect("check");
        Node {
            identity,
            epochs: vec![epoch],
            descriptor,
        }
    }

    /// Adds a second live key, as during an epoch change. Packets for the *old* key are then
    /// only opened after a failed try with the new one (newest first).
    pub fn add_grace_key(&mut self, seed: u64) {
        let mut r = rng(seed);
        let e = self
            .identity
            .new_epoch_key(&mut r, 2, NOW - 60, NOW + 14 * 86_400);
        self.epochs.insert(0, e);
    }

    pub fn hop(&self) -> HopSpec<'_> {
        // The packet is addressed to the oldest key, so during a grace period every key is tried.
        let epoch = &self.epochs[self.epochs.len() - 1];
        HopSpec {
            node_id: self.descriptor.node_id,
            address: &self.descriptor.address,
            epoch: &epoch.public,
            delay_ms: 1000,
            difficulty: 0,
            proof: None,
        }
    }

    pub fn keyring(&self) -> EpochKeyring<'_> {
        EpochKeyring {
            node_id: self.descriptor.node_id,
            epochs: &self.epochs,
            min_difficulty: 0,
        }
    }
}

/// A sender, a recipient and `relays` public relays on distinct providers.
pub fn network(relays: usize) -> (Node, Node, Vec<Node>) {
    let sender = Node::new(1, "alice@a.test", PeerType::Passive);
    let recipient = Node::new(2, "bob@b.test", PeerType::Passive);
    let relays = (0..relays)
        .map(|i| {
            Node::new(
                100 + i as u64,
                &format!("relay{i}@r{i}.test"),
                PeerType::Public,
            )
        })
        .collect();
    (sender, recipient, relays)
}

/// Pseudo-random, incompressible bytes (like an attachment), the same on every run.
pub fn body(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng(0xB0D7).fill_bytes(&mut v);
    v
}

pub fn envelope(level: LevelName, body: Vec<u8>) -> Envelope {
    Envelope {
        created_at: NOW,
        level,
        content: MessageContent {
            subject: "Quarterly figures".into(),
            file_name: Some("figures.bin".into()),
            body,
        },
        sender_descriptor: None,
        receipt_surb: None,
        reply_surb: None,
    }
}

/// Everything `prepare_message` needs; relays have puzzle difficulty 0 so no puzzle is solved.
pub struct SendFixture {
    pub sender: Node,
    pub recipient: Node,
    pub relays: Vec<Node>,
}

impl SendFixture {
    pub fn new() -> Self {
        let (sender, recipient, relays) = network(16);
        SendFixture {
            sender,
            recipient,
            relays,
        }
    }

    pub fn sender_keys(&self) -> SenderKeys<'_> {
        SenderKeys {
            node_id: self.sender.descriptor.node_id,
            epoch: &self.sender.epochs[0],
        }
    }

    pub fn prepare(&self, env: &Envelope, level: &LevelParams, seed: u64) -> PreparedMessage {
        let relays: Vec<&Descriptor> = self.relays.iter().map(|r| &r.descriptor).collect();
        prepare_message(
            self.sender_keys(),
            "a.test",
            &self.recipient.descriptor,
            env,
            level,
            &relays,
            NOW,
            &mut rng(seed),
        )
        .expect("prepare")
    }

    #[cfg(feature = "parallel")]
    pub fn prepare_parallel(
        &self,
        env: &Envelope,
        level: &LevelParams,
        seed: u64,
    ) -> PreparedMessage {
        let relays: Vec<&Descriptor> = self.relays.iter().map(|r| &r.descriptor).collect();
        mailvortex_proto::send::prepare_message_parallel(
            self.sender_keys(),
            "a.test",
            &self.recipient.descriptor,
            env,
            level,
            &relays,
            NOW,
            &mut rng(seed),
        )
        .expect("prepare")
    }
}

/// A packet addressed to `relays[0]` along `relays` then `recipient` (one hop per node).
pub fn packet_for(route: &[&Node], seed: u64) -> Vec<u8> {
    let hops: Vec<HopSpec<'_>> = route.iter().map(|n| n.hop()).collect();
    build_packet(&hops, &[0x5a; PAYLOAD_LEN], &mut rng(seed)).expect("build")
}

/// A random blob of [`PACKET_LEN`] bytes with the right version byte (so it reaches the MAC).
pub fn junk(seed: u64) -> Vec<u8> {
    let mut j = vec![0u8; PACKET_LEN];
    rng(seed).fill_bytes(&mut j);
    j[0] = mailvortex_proto::packet::PACKET_VERSION;
    j
}

// ---------------------------------------------------------------------------------------------
// The primitives alone.

/// Bytes of header keystream a sender makes per hop.
pub const HEADER_STREAM_LEN: usize = BETA_LEN + SLOT_LEN;

/// Fixed-base X25519 key generation (what a sender does per hop for the packet's `alpha`).
pub fn x25519_keygen(seed: [u8; 32]) -> [u8; 32] {
    let s = x25519_dalek::StaticSecret::from(seed);
    x25519_dalek::PublicKey::from(&s).to_bytes()
}

/// One variable-base X25519 operation (what a hop does per packet per live key).
pub fn x25519_dh(secret: &x25519_dalek::StaticSecret, public: [u8; 32]) -> [u8; 32] {
    secret
        .diffie_hellman(&x25519_dalek::PublicKey::from(public))
        .to_bytes()
}

/// XORs the XSalsa20 keystream of `key` (nonce zero) into `buf`, with the crate's own code
/// (the `salsa20` crate, or its SIMD version with the `simd` feature), as per layer.
pub fn xsalsa20(key: &[u8; 32], buf: &mut [u8]) {
    mailvortex_proto::packet::bench_primitives::xor_keystream(key, buf);
}

/// XSalsa20 with the `salsa20` crate (the reference the SIMD version is checked against).
pub fn xsalsa20_reference(key: &[u8; 32], buf: &mut [u8]) {
    use salsa20::XSalsa20;
    use salsa20::cipher::{KeyIvInit, StreamCipher};
    XSalsa20::new(key.into(), &[0u8; 24].into()).apply_keystream(buf);
}

/// XSalsa20-Poly1305 (NaCl secretbox) over `plain`, with the crate's own code.
pub fn secretbox(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plain.len() + 16);
    mailvortex_proto::packet::bench_primitives::secretbox_seal(key, &[7u8; 24], plain, &mut out)
        .expect("seal");
    out
}

/// What `prepare_message` does in public-key and stream-cipher work, counted from its output.
#[derive(Debug, Clone, Copy)]
pub struct PrimitiveCount {
    /// Packets made.
    pub packets: usize,
    /// Hops per packet (relays + recipient).
    pub hops: usize,
    /// Bytes sealed end to end (the encoded envelope).
    pub sealed_bytes: usize,
}

impl PrimitiveCount {
    pub fn of(prepared: &PreparedMessage, level: &LevelParams, env: &Envelope) -> Self {
        PrimitiveCount {
            packets: prepared.packets.len(),
            hops: level.hops(),
            sealed_bytes: env.encode().expect("encode").len(),
        }
    }

    /// Fixed-base key generations: one per hop per packet, plus the message's ephemeral key.
    pub fn keygens(&self) -> usize {
        self.packets * self.hops + 1
    }

    /// Variable-base X25519: one per hop per packet, plus the message's two.
    pub fn dhs(&self) -> usize {
        self.packets * self.hops + 2
    }

    /// XSalsa20 bytes: header keystreams, payload layers and the message secretbox.
    pub fn stream_bytes(&self) -> usize {
        self.packets * self.hops * (HEADER_STREAM_LEN + PAYLOAD_LEN) + self.sealed_bytes
    }

    /// Does exactly the counted primitive work once (on throwaway data) and returns a checksum.
    pub fn run(&self, plain: &[u8], payload: &mut [u8], header: &mut [u8]) -> u8 {
        let secret = x25519_dalek::StaticSecret::from([9u8; 32]);
        let mut acc = 0u8;
        let mut seed = [1u8; 32];
        for i in 0..self.packets * self.hops {
            seed[0] = i as u8;
            seed[1] = (i >> 8) as u8;
            let alpha = x25519_keygen(seed);
            let shared = x25519_dh(&secret, alpha);
            xsalsa20(&shared, &mut header[..HEADER_STREAM_LEN]);
            xsalsa20(&shared, &mut payload[..PAYLOAD_LEN]);
            acc ^= header[0] ^ payload[PAYLOAD_LEN - 1];
        }
        let eph = x25519_keygen(seed);
        acc ^= x25519_dh(&secret, eph)[0];
        acc ^= x25519_dh(&secret, [9u8; 32])[0];
        acc ^= secretbox(&[3u8; 32], plain)[0];
        acc
    }
}

// ---------------------------------------------------------------------------------------------
// gpg and age as processes.

/// A throwaway gpg home with one encryption key, and an age identity, in a temp dir.
pub struct ExternalTools {
    pub dir: PathBuf,
    pub gpg_recipient: Option<String>,
    pub age_recipient: Option<String>,
    pub input: PathBuf,
    pub empty: PathBuf,
}

fn tool_exists(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

impl ExternalTools {
    /// Sets up both tools on `input` (written to a file). Tools that are missing are `None`.
    pub fn new(input: &[u8]) -> Self {
        let dir = std::env::temp_dir().join(format!("mv-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("gnupg")).expect("temp dir");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ =
                std::fs::set_permissions(dir.join("gnupg"), std::fs::Permissions::from_mode(0o700));
        }
        let input_path = dir.join("input.bin");
        std::fs::write(&input_path, input).expect("write input");
        let empty = dir.join("empty.bin");
        std::fs::write(&empty, b"").expect("write empty");
        let mut t = ExternalTools {
            gpg_recipient: None,
            age_recipient: None,
            input: input_path,
            empty,
            dir,
        };
        if tool_exists("gpg") {
            let uid = "MailVortex Bench <bench@mv.test>";
            let ok = Command::new("gpg")
                .env("GNUPGHOME", t.dir.join("gnupg"))
                .args([
                    "--batch",
                    "--quiet",
                    "--passphrase",
                    "",
                    "--quick-generate-key",
                    uid,
                    "default",
                    "default",
                    "never",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                t.gpg_recipient = Some("bench@mv.test".into());
            }
        }
        if tool_exists("age-keygen") {
            let key = t.dir.join("age.key");
            let out = Command::new("age-keygen")
                .arg("-o")
                .arg(&key)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output();
            if let Ok(out) = out {
                // age-keygen prints "Public key: age1..." on stderr when writing to a file.
                let text = String::from_utf8_lossy(&out.stderr).to_string();
                let text = if text.contains("age1") {
                    text
                } else {
                    std::fs::read_to_string(&key).unwrap_or_default()
                };
                t.age_recipient = text
                    .split_whitespace()
                    .find(|w| w.starts_with("age1"))
                    .map(str::to_string);
            }
        }
        t
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `gpg --encrypt` of `input` (or the empty file) to the throwaway key, default settings.
    pub fn gpg_encrypt(&self, empty: bool) -> bool {
        let Some(r) = &self.gpg_recipient else {
            return false;
        };
        let input: &Path = if empty { &self.empty } else { &self.input };
        Command::new("gpg")
            .env("GNUPGHOME", self.dir.join("gnupg"))
            .args(["--batch", "--yes", "--quiet", "--trust-model", "always"])
            .args(["--encrypt", "-r", r, "-o"])
            .arg(self.out("out.gpg"))
            .arg(input)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `age -r` of `input` (or the empty file).
    pub fn age_encrypt(&self, empty: bool) -> bool {
        let Some(r) = &self.age_recipient else {
            return false;
        };
        let input: &Path = if empty { &self.empty } else { &self.input };
        Command::new("age")
            .args(["-r", r, "-o"])
            .arg(self.out("out.age"))
            .arg(input)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub fn gpg_version(&self) -> String {
        version_line("gpg")
    }

    pub fn age_version(&self) -> String {
        version_line("age")
    }
}

fn version_line(tool: &str) -> String {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default()
}

impl Drop for ExternalTools {
    fn drop(&mut self) {
        // gpg-agent may hold the socket dir; it exits by itself when the home vanishes.
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.dir.join("gnupg"))
            .args(["--kill", "gpg-agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
