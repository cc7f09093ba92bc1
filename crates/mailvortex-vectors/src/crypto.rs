//! The key schedule recomputed from the spec, next to (not through) mailvortex-proto.
//!
//! The generator records intermediate values (hop secrets, stream keys, filler, message keys)
//! that the proto API keeps private. They are computed here from the primitives, and the
//! generator checks them against the bytes the API produced, so every recorded value is
//! confirmed by two computations.

use blake2::digest::consts::U32;
use blake2::digest::{Digest, Mac};
use blake2::{Blake2b, Blake2bMac};
use poly1305::Poly1305;
use poly1305::universal_hash::{KeyInit, UniversalHash};
use salsa20::XSalsa20;
use salsa20::cipher::{KeyIvInit, StreamCipher};

/// BLAKE2b-256, unkeyed: the digest used for large values in vector files.
pub(crate) fn digest(bytes: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(bytes).into()
}

/// A fixed 32-byte seed named by `tag` (the digest of the tag text).
pub(crate) fn fixed_seed(tag: &str) -> [u8; 32] {
    digest(format!("mailvortex vectors: {tag}").as_bytes())
}

/// Keyed BLAKE2b-256 with a 16-byte personalisation: the spec's `KDF(label, key, input)`.
pub(crate) fn kdf(label: &str, key: &[u8; 32], input: &[&[u8]]) -> anyhow::Result<[u8; 32]> {
    let mut persona = [0u8; 16];
    anyhow::ensure!(label.len() <= 16, "label too long");
    persona[..label.len()].copy_from_slice(label.as_bytes());
    let mut mac = Blake2bMac::<U32>::new_with_salt_and_personal(key, &[], &persona)
        .map_err(|_| anyhow::anyhow!("blake2b parameters"))?;
    for part in input {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// The first `len` bytes of the XSalsa20 keystream of `key` with the all-zero nonce.
pub(crate) fn keystream(key: &[u8; 32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut cipher = XSalsa20::new(key.into(), &[0u8; 24].into());
    cipher.apply_keystream(&mut out);
    out
}

/// XORs `b` into `a` (over the shorter length).
pub(crate) fn xor_into(a: &mut [u8], b: &[u8]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

/// Poly1305 of `msg` (zero-padded to 16-byte blocks, as the protocol only MACs such strings).
pub(crate) fn poly1305(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    let mut mac = Poly1305::new(key.into());
    mac.update_padded(msg);
    mac.finalize().into()
}

/// X25519 public key of a secret.
pub(crate) fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// X25519 shared value; fails on the all-zero output.
pub(crate) fn x25519(secret: &[u8; 32], public: &[u8; 32]) -> anyhow::Result<[u8; 32]> {
    let out = x25519_dalek::x25519(*secret, *public);
    anyhow::ensure!(out != [0u8; 32], "non-contributory X25519");
    Ok(out)
}

/// Every per-hop value derived from one ephemeral secret and the hop's epoch key.
#[derive(Debug, Clone)]
pub(crate) struct HopKeys {
    pub(crate) ephemeral: [u8; 32],
    pub(crate) alpha: [u8; 32],
    pub(crate) shared: [u8; 32],
    pub(crate) hop_secret: [u8; 32],
    pub(crate) mac_key: [u8; 32],
    pub(crate) stream_key: [u8; 32],
    pub(crate) payload_key: [u8; 32],
    pub(crate) replay_tag: [u8; 32],
}

impl HopKeys {
    /// The key schedule of one hop.
    pub(crate) fn new(ephemeral: [u8; 32], epoch_key: &[u8; 32]) -> anyhow::Result<Self> {
        let alpha = x25519_public(&ephemeral);
        let shared = x25519(&ephemeral, epoch_key)?;
        let hop_secret = kdf("mv1 hop secret", &shared, &[&alpha, epoch_key])?;
        Ok(HopKeys {
            ephemeral,
            alpha,
            shared,
            hop_secret,
            mac_key: kdf("mv1 header mac", &hop_secret, &[])?,
            stream_key: kdf("mv1 header strm", &hop_secret, &[])?,
            payload_key: kdf("mv1 payload strm", &hop_secret, &[])?,
            replay_tag: kdf("mv1 replay tag", &hop_secret, &[])?,
        })
    }
}

/// The header MAC: Poly1305 over `version || alpha || 0^15 || beta`.
pub(crate) fn header_mac(
    mac_key: &[u8; 32],
    version: u8,
    alpha: &[u8; 32],
    beta: &[u8],
) -> [u8; 16] {
    let mut msg = Vec::with_capacity(48 + beta.len());
    msg.push(version);
    msg.extend_from_slice(alpha);
    msg.extend_from_slice(&[0u8; 15]);
    msg.extend_from_slice(beta);
    poly1305(mac_key, &msg)
}

/// The puzzle challenge of a hop.
pub(crate) fn challenge(
    replay_tag: &[u8; 32],
    node_id: &[u8; 32],
    epoch: u32,
) -> anyhow::Result<[u8; 32]> {
    kdf("mv1 puzzle", replay_tag, &[node_id, &epoch.to_be_bytes()])
}

/// The payload of packet vectors: `pattern` repeated to `len` bytes.
pub(crate) fn repeat_pattern(pattern: &[u8], len: usize) -> Vec<u8> {
    pattern.iter().copied().cycle().take(len).collect()
}
