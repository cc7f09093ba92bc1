//! Processing a packet at a hop: cheap rejection first, then replay and puzzle checks.
//!
//! The calling protocol is two steps so the caller can check replays in durable storage:
//! 1. [`open_packet`] authenticates the header (one X25519 operation and one MAC per live
//!    epoch key, newest first), checks the puzzle and returns an [`OpenedPacket`];
//! 2. the caller records [`OpenedPacket::replay_tag`] (rejecting it if already present) and
//!    only then calls [`OpenedPacket::into_routing`] to get the outgoing packet or the payload.

use subtle::ConstantTimeEq;
use x25519_dalek::PublicKey;

use crate::error::{DecodeError, Error};
use crate::identity::{EpochSecret, NodeId};
use crate::puzzle::Challenge;

use super::slot::{Command, DeliverKind, PROVEN_SLOT_LEN, RoutingSlot};
use super::{
    BETA_LEN, HEADER_LEN, HopKeys, PACKET_LEN, PACKET_VERSION, PAYLOAD_LEN, header_mac,
    xor_keystream, xor_keystream_into,
};

/// The live epoch secrets of a node, newest first, and what it requires of packets.
pub struct EpochKeyring<'a> {
    /// The node itself.
    pub node_id: NodeId,
    /// Epoch secrets currently accepted, newest first. Normally one; two during a grace period.
    pub epochs: &'a [EpochSecret],
    /// Minimum puzzle difficulty accepted now.
    pub min_difficulty: u8,
}

/// A packet whose header authenticated for this node.
#[derive(Debug)]
pub struct OpenedPacket {
    epoch: u32,
    replay_tag: [u8; 32],
    slot: RoutingSlot,
    /// For a relay slot: the outgoing packet, [`PACKET_LEN`] bytes, whose first
    /// `1 + 32 + 16` bytes (version, next alpha, next MAC) [`OpenedPacket::into_routing`]
    /// fills in. For a deliver slot: the payload, [`PAYLOAD_LEN`] bytes. Built in place so the
    /// 32 KiB payload is written once and never copied again.
    out: Vec<u8>,
}

/// What to do with an opened packet.
#[derive(Debug)]
pub enum Routing {
    /// Send `packet` to `next_address` after `delay_ms`.
    Forward(Forward),
    /// The packet ends here; `payload` has this node's layer removed.
    Deliver {
        /// Message shard or reply.
        kind: DeliverKind,
        /// The payload, [`PAYLOAD_LEN`] bytes.
        payload: Vec<u8>,
    },
}

/// A packet to pass on.
#[derive(Debug)]
pub struct Forward {
    /// The next hop's mail address.
    pub next_address: String,
    /// The next hop's address proof, when the sender included one: the relay checks it with
    /// [`crate::address_proof::AddressProof::verify`] before forwarding to a node it does not know.
    pub proof: Option<crate::address_proof::AddressProof>,
    /// How long to hold the packet first.
    pub delay_ms: u32,
    /// The packet for the next hop, [`PACKET_LEN`] bytes.
    pub packet: Vec<u8>,
}

/// Authenticates `packet` for this node. Junk costs one X25519 operation and one MAC per
/// live epoch key (one outside grace periods); no other work is done before the MAC passes.
pub fn open_packet(keys: &EpochKeyring<'_>, packet: &[u8]) -> Result<OpenedPacket, Error> {
    if packet.len() != PACKET_LEN {
        let e = if packet.len() < PACKET_LEN {
            DecodeError::Truncated {
                needed: PACKET_LEN - packet.len(),
            }
        } else {
            DecodeError::TrailingBytes {
                count: packet.len() - PACKET_LEN,
            }
        };
        return Err(Error::Malformed {
            what: "packet",
            source: e,
        });
    }
    if packet[0] != PACKET_VERSION {
        return Err(Error::Malformed {
            what: "packet",
            source: DecodeError::UnsupportedVersion(packet[0]),
        });
    }
    let mut alpha = [0u8; 32];
    alpha.copy_from_slice(&packet[1..33]);
    let mac = &packet[33..49];
    let beta = &packet[49..HEADER_LEN];
    let alpha_key = PublicKey::from(alpha);
    for epoch in keys.epochs {
        let dh = epoch.secret.diffie_hellman(&alpha_key);
        if !dh.was_contributory() {
            return Err(Error::WeakKey);
        }
        let secret = HopKeys::hop_secret(dh.as_bytes(), &alpha, &epoch.public.key);
        let mac_key = HopKeys::mac_key(&secret);
        let expected = header_mac(&mac_key, &alpha, beta);
        if bool::from(expected.ct_eq(mac)) {
            return finish_open(
                keys,
                epoch.public.epoch,
                HopKeys::derive_with_mac_key(&secret, mac_key),
                beta,
                &packet[HEADER_LEN..],
            );
        }
    }
    Err(Error::BadMac)
}

fn finish_open(
    keys: &EpochKeyring<'_>,
    epoch: u32,
    hop: HopKeys,
    beta: &[u8],
    payload: &[u8],
) -> Result<OpenedPacket, Error> {
    // Room for the longest slot (a relay slot with an address proof, two slots long).
    let mut routing = [0u8; BETA_LEN + PROVEN_SLOT_LEN];
    routing[..BETA_LEN].copy_from_slice(beta);
    xor_keystream(&hop.header_stream, &mut routing);
    let (slot, slot_len) =
        RoutingSlot::decode_prefix(&routing).map_err(Error::malformed("routing slot"))?;
    let challenge = Challenge::new(&hop.replay_tag, &keys.node_id, epoch);
    let got = challenge.work(slot.puzzle_nonce);
    let needed = keys.min_difficulty.max(slot.difficulty);
    if slot.difficulty < keys.min_difficulty || got < needed {
        return Err(Error::BadPuzzle {
            needed,
            got: got.min(slot.difficulty),
        });
    }
    let out = match slot.command {
        Command::Relay { .. } => {
            // version, alpha and MAC are written by `into_routing`; the rest now, in place.
            let mut out = vec![0u8; PACKET_LEN];
            out[1 + 32 + 16..HEADER_LEN].copy_from_slice(&routing[slot_len..slot_len + BETA_LEN]);
            xor_keystream_into(&hop.payload_stream, payload, &mut out[HEADER_LEN..]);
            out
        }
        Command::Deliver(_) => {
            let mut out = vec![0u8; PAYLOAD_LEN];
            xor_keystream_into(&hop.payload_stream, payload, &mut out);
            out
        }
    };
    Ok(OpenedPacket {
        epoch,
        replay_tag: hop.replay_tag,
        slot,
        out,
    })
}

impl OpenedPacket {
    /// The epoch whose key opened the packet.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The replay tag: store it (per epoch) and reject the packet if it was already stored.
    pub fn replay_tag(&self) -> &[u8; 32] {
        &self.replay_tag
    }

    /// The decoded routing slot.
    pub fn slot(&self) -> &RoutingSlot {
        &self.slot
    }

    /// What to do with the packet. Call only after the replay tag was recorded.
    pub fn into_routing(self) -> Routing {
        let mut out = self.out;
        match self.slot.command {
            Command::Relay {
                next_alpha,
                next_mac,
                next_address,
                proof,
            } => {
                debug_assert_eq!(out.len(), PACKET_LEN);
                out[0] = PACKET_VERSION;
                out[1..33].copy_from_slice(&next_alpha);
                out[33..49].copy_from_slice(&next_mac);
                Routing::Forward(Forward {
                    next_address,
                    proof,
                    delay_ms: self.slot.delay_ms,
                    packet: out,
                })
            }
            Command::Deliver(kind) => {
                debug_assert_eq!(out.len(), PAYLOAD_LEN);
                Routing::Deliver { kind, payload: out }
            }
        }
    }
}
