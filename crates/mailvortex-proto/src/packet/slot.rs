//! The routing slot: what one hop learns about itself.
//!
//! Layout (SLOT_LEN = 160 bytes):
//! ```text
//! 0      command            u8   0x01 relay, 0x02 deliver
//! 1..5   delay_ms           u32  mixing delay before forwarding (0 for deliver)
//! 5      difficulty         u8   puzzle difficulty the sender solved for
//! 6..14  puzzle_nonce       u64
//! relay:   14..46 next alpha, 46..62 next mac, 62 address length (1..=96), 63..159 address, zero padded
//! deliver: 14 kind (0 message, 1 reply), 15..31 reply id (zero for messages)
//! the rest: zero
//! ```
//!
//! A relay slot with command 0x03 is two slots long (PROVEN_SLOT_LEN = 320 bytes): the relay
//! layout above, then the next hop's 144-byte [`AddressProof`] and 16 zero bytes. It lets a
//! relay forward to a node it does not know (the recipient, or a reply block's creator).

use crate::address_proof::{ADDRESS_PROOF_LEN, AddressProof};
use crate::codec::{Reader, Writer};
use crate::descriptor::{MAX_ADDRESS_LEN, validate_address};
use crate::error::DecodeError;

use super::SLOT_LEN;

/// Length of a relay slot that carries the next hop's address proof (command 0x03).
pub const PROVEN_SLOT_LEN: usize = 2 * SLOT_LEN;

/// Command byte of a relay slot with an address proof.
pub(crate) const COMMAND_RELAY_PROVEN: u8 = 0x03;

/// What the hop must do.
// Relay is the common variant (every hop but the last); boxing its proof would add an
// allocation per hop for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Forward to the next hop after the delay.
    Relay {
        /// The next hop's alpha.
        next_alpha: [u8; 32],
        /// The next hop's header MAC.
        next_mac: [u8; 16],
        /// The next hop's mail address.
        next_address: String,
        /// The next hop's address proof (command 0x03), for a next hop the relay may not know.
        proof: Option<AddressProof>,
    },
    /// This node is the destination.
    Deliver(DeliverKind),
}

/// What kind of packet ends here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverKind {
    /// A shard of a forward message.
    Message,
    /// A reply through one of our reply blocks, with the block's id.
    Reply([u8; 16]),
}

/// One decoded slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingSlot {
    /// Instruction.
    pub command: Command,
    /// Mixing delay asked of this hop.
    pub delay_ms: u32,
    /// Puzzle difficulty the sender solved.
    pub difficulty: u8,
    /// Puzzle solution.
    pub puzzle_nonce: u64,
}

impl RoutingSlot {
    /// Encoded length: [`PROVEN_SLOT_LEN`] for a relay slot with a proof, else [`SLOT_LEN`].
    pub fn encoded_len(&self) -> usize {
        match &self.command {
            Command::Relay { proof: Some(_), .. } => PROVEN_SLOT_LEN,
            _ => SLOT_LEN,
        }
    }

    /// The encoding, [`Self::encoded_len`] bytes at the front of the returned buffer.
    pub(crate) fn encode(&self) -> [u8; PROVEN_SLOT_LEN] {
        let mut w = Writer::with_capacity(PROVEN_SLOT_LEN);
        match &self.command {
            Command::Relay {
                next_alpha,
                next_mac,
                next_address,
                proof,
            } => {
                w.u8(if proof.is_some() {
                    COMMAND_RELAY_PROVEN
                } else {
                    0x01
                })
                .u32(self.delay_ms)
                .u8(self.difficulty)
                .u64(self.puzzle_nonce);
                w.put(next_alpha).put(next_mac);
                let addr = next_address.as_bytes();
                let mut padded = [0u8; MAX_ADDRESS_LEN];
                let n = addr.len().min(MAX_ADDRESS_LEN);
                padded[..n].copy_from_slice(&addr[..n]);
                w.u8(n as u8).put(&padded).u8(0);
                if let Some(p) = proof {
                    w.put(&p.encode());
                }
            }
            Command::Deliver(kind) => {
                w.u8(0x02)
                    .u32(self.delay_ms)
                    .u8(self.difficulty)
                    .u64(self.puzzle_nonce);
                match kind {
                    DeliverKind::Message => w.u8(0).put(&[0u8; 16]),
                    DeliverKind::Reply(id) => w.u8(1).put(id),
                };
            }
        }
        let mut out = [0u8; PROVEN_SLOT_LEN];
        let bytes = w.as_slice();
        out[..bytes.len()].copy_from_slice(bytes);
        out
    }

    /// Decodes a slot from the front of `bytes` (at least [`PROVEN_SLOT_LEN`] bytes, or
    /// [`SLOT_LEN`] when the command is not 0x03); returns it and its length.
    pub(crate) fn decode_prefix(bytes: &[u8]) -> Result<(Self, usize), DecodeError> {
        let len = if bytes.first() == Some(&COMMAND_RELAY_PROVEN) {
            PROVEN_SLOT_LEN
        } else {
            SLOT_LEN
        };
        let slot = Self::decode(bytes.get(..len).ok_or(DecodeError::Truncated {
            needed: len - bytes.len(),
        })?)?;
        Ok((slot, len))
    }

    /// Decodes exactly one slot (all of `bytes`).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let command_byte = r.u8()?;
        let delay_ms = r.u32()?;
        let difficulty = r.u8()?;
        let puzzle_nonce = r.u64()?;
        let command = match command_byte {
            0x01 | COMMAND_RELAY_PROVEN => {
                let next_alpha = r.array()?;
                let next_mac = r.array()?;
                let n = usize::from(r.u8()?);
                let padded = r.take(MAX_ADDRESS_LEN)?;
                if n == 0 || n > MAX_ADDRESS_LEN || padded[n..].iter().any(|b| *b != 0) {
                    return Err(DecodeError::InvalidValue {
                        field: "next address",
                        reason: "bad length or padding",
                    });
                }
                let next_address = core::str::from_utf8(&padded[..n])
                    .map_err(|_| DecodeError::InvalidValue {
                        field: "next address",
                        reason: "not UTF-8",
                    })?
                    .to_string();
                if validate_address(&next_address).is_err() {
                    return Err(DecodeError::InvalidValue {
                        field: "next address",
                        reason: "not a mail address",
                    });
                }
                let proof = if command_byte == COMMAND_RELAY_PROVEN {
                    if r.u8()? != 0 {
                        return Err(DecodeError::InvalidValue {
                            field: "slot",
                            reason: "reserved bytes not zero",
                        });
                    }
                    let before = r.remaining();
                    let p = AddressProof::decode(&mut r)?;
                    debug_assert_eq!(before - r.remaining(), ADDRESS_PROOF_LEN);
                    Some(p)
                } else {
                    None
                };
                Command::Relay {
                    next_alpha,
                    next_mac,
                    next_address,
                    proof,
                }
            }
            0x02 => {
                let kind = match r.u8()? {
                    0 => {
                        if r.array::<16>()? != [0; 16] {
                            return Err(DecodeError::InvalidValue {
                                field: "reply id",
                                reason: "must be zero for messages",
                            });
                        }
                        DeliverKind::Message
                    }
                    1 => DeliverKind::Reply(r.array()?),
                    _ => {
                        return Err(DecodeError::InvalidValue {
                            field: "deliver kind",
                            reason: "unknown",
                        });
                    }
                };
                Command::Deliver(kind)
            }
            _ => {
                return Err(DecodeError::InvalidValue {
                    field: "command",
                    reason: "unknown",
                });
            }
        };
        if r.take(r.remaining())?.iter().any(|b| *b != 0) {
            return Err(DecodeError::InvalidValue {
                field: "slot",
                reason: "reserved bytes not zero",
            });
        }
        Ok(RoutingSlot {
            command,
            delay_ms,
            difficulty,
            puzzle_nonce,
        })
    }
}
