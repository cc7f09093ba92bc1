//! Onion packets: fixed-size, layered, one X25519 operation per hop.
//!
//! A packet is `header || payload`, always [`PACKET_LEN`] bytes. The header is
//! `version (1) || alpha (32) || mac (16) || beta (MAX_HOPS * SLOT_LEN)`:
//! `alpha` is a fresh X25519 public key for this hop only, `mac` a Poly1305 tag over
//! `version || alpha || beta`, and `beta` the layered routing block. Each hop's slot carries
//! the *next* hop's `alpha` and `mac`, so a relay does exactly one scalar multiplication and
//! every header byte changes at every hop (no linkable group element is re-used: the
//! unlinkability that Sphinx gets from blinding, at half the public-key cost).
//! The payload is XORed with one XSalsa20 keystream per hop; its integrity is end to end
//! (see [`crate::message`]). The byte layout and key schedule are in docs/spec.

mod build;
mod hop;
mod slot;
mod stream;

#[cfg(feature = "parallel")]
pub(crate) use build::{Drawn, build_header_with};
pub use build::{HopSpec, PacketBuilder, build_header, build_packet};

pub use hop::{EpochKeyring, Forward, OpenedPacket, Routing, open_packet};
pub use slot::{Command, DeliverKind, PROVEN_SLOT_LEN, RoutingSlot};

/// Wire version of packets.
pub const PACKET_VERSION: u8 = 0x01;
/// Most hops a route can have, the recipient included.
pub const MAX_HOPS: usize = 8;
/// Bytes of routing information per hop.
pub const SLOT_LEN: usize = 160;
/// Length of the layered routing block.
pub const BETA_LEN: usize = MAX_HOPS * SLOT_LEN;
/// Length of a header.
pub const HEADER_LEN: usize = 1 + 32 + 16 + BETA_LEN;
/// Length of a payload: 32 KiB.
pub const PAYLOAD_LEN: usize = 32 * 1024;
/// Length of every packet on the wire.
pub const PACKET_LEN: usize = HEADER_LEN + PAYLOAD_LEN;

// XSalsa20 keystreams of the layers (nonce zero: every key is used for one packet-hop).
pub(crate) use stream::{secretbox_seal, xor_keystream, xor_keystream_into, xor_keystreams};

/// The crate's own XSalsa20 (layer keystream, nonce zero) and secretbox, exposed only so the
/// benchmarks can time the primitives exactly as the protocol code runs them. Not an API.
#[doc(hidden)]
pub mod bench_primitives {
    /// XORs the layer keystream of `key` into `buf`.
    pub fn xor_keystream(key: &[u8; 32], buf: &mut [u8]) {
        super::stream::xor_keystream(key, buf);
    }

    /// Appends `tag || ciphertext` (NaCl secretbox) of `plaintext` to `out`.
    pub fn secretbox_seal(
        key: &[u8; 32],
        nonce: &[u8; 24],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), crate::Error> {
        super::stream::secretbox_seal(key, nonce, plaintext, out)
    }
}

/// Poly1305 tag of the header fields (key used once: each hop secret is unique).
pub(crate) fn header_mac(key: &[u8; 32], alpha: &[u8; 32], beta: &[u8]) -> [u8; 16] {
    use poly1305::Poly1305;
    use poly1305::universal_hash::{KeyInit, UniversalHash};
    let mut mac = Poly1305::new(key.into());
    // Version and alpha form exactly three 16-byte blocks with a zero pad; beta is a multiple of 16.
    let mut first = [0u8; 48];
    first[0] = PACKET_VERSION;
    first[1..33].copy_from_slice(alpha);
    mac.update_padded(&first);
    mac.update_padded(beta);
    mac.finalize().into()
}

/// The per-hop keys derived from one X25519 output.
pub(crate) struct HopKeys {
    pub(crate) header_mac: [u8; 32],
    pub(crate) header_stream: [u8; 32],
    pub(crate) payload_stream: [u8; 32],
    pub(crate) replay_tag: [u8; 32],
}

impl HopKeys {
    pub(crate) fn hop_secret(dh: &[u8; 32], alpha: &[u8; 32], epoch_key: &[u8; 32]) -> [u8; 32] {
        crate::kdf::derive(crate::kdf::HOP_SECRET, dh, &[alpha, epoch_key])
    }

    pub(crate) fn mac_key(hop_secret: &[u8; 32]) -> [u8; 32] {
        crate::kdf::derive(crate::kdf::HEADER_MAC, hop_secret, &[])
    }

    pub(crate) fn derive(hop_secret: &[u8; 32]) -> Self {
        Self::derive_with_mac_key(hop_secret, Self::mac_key(hop_secret))
    }

    /// [`HopKeys::derive`] when the MAC key (`mac_key(hop_secret)`) is already known.
    pub(crate) fn derive_with_mac_key(hop_secret: &[u8; 32], header_mac: [u8; 32]) -> Self {
        use crate::kdf::{HEADER_STREAM, PAYLOAD_STREAM, REPLAY_TAG, derive};
        HopKeys {
            header_mac,
            header_stream: derive(HEADER_STREAM, hop_secret, &[]),
            payload_stream: derive(PAYLOAD_STREAM, hop_secret, &[]),
            replay_tag: derive(REPLAY_TAG, hop_secret, &[]),
        }
    }
}

impl Drop for HopKeys {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.header_mac.zeroize();
        self.header_stream.zeroize();
        self.payload_stream.zeroize();
        self.replay_tag.zeroize();
    }
}
