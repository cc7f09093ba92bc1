//! Labelled key derivation with keyed BLAKE2b (RFC 7693).
//!
//! `derive(label, key, input)` is BLAKE2b with a 32-byte output, `key` as the BLAKE2b key,
//! `label` as the 16-byte personalisation (ASCII, zero-padded) and `input` as the message.
//! Every derivation in the protocol has its own label; the list is in docs/spec.

use blake2::Blake2bMac;
use blake2::digest::consts::U32;
use blake2::digest::{Mac, Update};

/// A derivation label: at most 16 ASCII bytes, used as BLAKE2b personalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(pub &'static str);

/// Hop secret from the X25519 output.
pub const HOP_SECRET: Label = Label("mv1 hop secret");
/// Poly1305 key for the header MAC.
pub const HEADER_MAC: Label = Label("mv1 header mac");
/// XSalsa20 key for the routing block.
pub const HEADER_STREAM: Label = Label("mv1 header strm");
/// XSalsa20 key for the payload layer.
pub const PAYLOAD_STREAM: Label = Label("mv1 payload strm");
/// The per-hop replay tag.
pub const REPLAY_TAG: Label = Label("mv1 replay tag");
/// Puzzle challenge.
pub const PUZZLE: Label = Label("mv1 puzzle");
/// End-to-end: key for the sealed sender reference.
pub const E2E_ANON: Label = Label("mv1 e2e anon");
/// End-to-end: message key.
pub const E2E_MESSAGE: Label = Label("mv1 e2e message");
/// End-to-end: per-shard authenticator key.
pub const E2E_SHARD: Label = Label("mv1 e2e shard");
/// Reply block payload key.
pub const SURB_KEY: Label = Label("mv1 surb key");
/// Message identifier.
pub const MESSAGE_ID: Label = Label("mv1 message id");
/// Hash of a descriptor body (all-zero key), covered by the descriptor's signature.
pub const DESCRIPTOR_BODY: Label = Label("mv1 descr body");

/// Derives 32 bytes from `key` and `input` under `label`.
pub fn derive(label: Label, key: &[u8; 32], input: &[&[u8]]) -> [u8; 32] {
    let mut persona = [0u8; 16];
    let bytes = label.0.as_bytes();
    let n = bytes.len().min(16);
    persona[..n].copy_from_slice(&bytes[..n]);
    // Invariant: keys are at most 64 bytes, salt empty, persona exactly 16 bytes: both
    // lengths are valid for BLAKE2b, so construction cannot fail.
    let mut mac = match Blake2bMac::<U32>::new_with_salt_and_personal(key, &[], &persona) {
        Ok(mac) => mac,
        Err(_) => unreachable_invalid_length(),
    };
    for part in input {
        Update::update(&mut mac, part);
    }
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_invalid_length() -> ! {
    // `derive` takes a 32-byte key by type, which BLAKE2b always accepts.
    panic!("BLAKE2b key longer than 64 bytes: a bug in mailvortex-proto")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_separate_domains() {
        let k = [7u8; 32];
        assert_ne!(
            derive(HEADER_MAC, &k, &[b"x"]),
            derive(HEADER_STREAM, &k, &[b"x"])
        );
        assert_eq!(
            derive(HEADER_MAC, &k, &[b"ab", b"c"]),
            derive(HEADER_MAC, &k, &[b"abc"])
        );
        for l in [
            HOP_SECRET,
            HEADER_MAC,
            HEADER_STREAM,
            PAYLOAD_STREAM,
            REPLAY_TAG,
            PUZZLE,
            E2E_ANON,
            E2E_MESSAGE,
            E2E_SHARD,
            SURB_KEY,
            MESSAGE_ID,
            DESCRIPTOR_BODY,
        ] {
            assert!(l.0.len() <= 16 && l.0.is_ascii(), "{l:?}");
        }
    }
}
