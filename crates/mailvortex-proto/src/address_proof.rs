//! Address proofs: a relay's check that the next hop is a MailVortex node it does not know.
//!
//! A descriptor's signature covers `node_id`, `address`, `issued_at`, `expires_at` and a
//! hash of the whole descriptor body (Section 5.2 of the specification). Those four values and
//! the signature, 144 bytes, are the descriptor's [`AddressProof`]: with it alone a relay can
//! verify that the holder of `node_id` published a descriptor for `address` that is valid now,
//! without ever having seen the descriptor. A sender writes the recipient's proof into the last
//! relay's routing slot (command `0x03`), so a relay forwards to a recipient it was never
//! introduced to, and still to no address that no MailVortex node claims.

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, Error};
use crate::identity::NodeId;
use crate::kdf;

/// Signature context of descriptors (and so of address proofs).
pub(crate) const DESCRIPTOR_SIG_CONTEXT: &[u8] = b"mailvortex v1 descriptor";

/// Encoded length of an [`AddressProof`].
pub const ADDRESS_PROOF_LEN: usize = 32 + 8 + 8 + 32 + 64;

/// The part of a descriptor's signature a relay can check without the descriptor.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AddressProof {
    /// The node that signed the descriptor.
    pub node_id: NodeId,
    /// The descriptor's `issued_at`.
    pub issued_at: u64,
    /// The descriptor's `expires_at`.
    pub expires_at: u64,
    /// Hash of the whole descriptor body ([`body_hash`]).
    pub body_hash: [u8; 32],
    /// The descriptor's Ed25519 signature.
    pub signature: [u8; 64],
}

impl core::fmt::Debug for AddressProof {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "AddressProof({} valid {}..{})",
            self.node_id.short(),
            self.issued_at,
            self.expires_at
        )
    }
}

/// `KDF("mv1 descr body", 0^32, body)`: the hash of a descriptor body that its signature covers.
pub(crate) fn body_hash(body: &[u8]) -> [u8; 32] {
    kdf::derive(kdf::DESCRIPTOR_BODY, &[0u8; 32], &[body])
}

/// The message a descriptor signature covers (after the context string):
/// `node_id || len8(address) || u64 issued_at || u64 expires_at || body_hash`.
pub(crate) fn signed_message(
    node_id: &NodeId,
    address: &str,
    issued_at: u64,
    expires_at: u64,
    body_hash: &[u8; 32],
) -> Vec<u8> {
    let mut w = Writer::with_capacity(32 + 1 + address.len() + 16 + 32);
    w.put(&node_id.0)
        .bytes_u8(address.as_bytes())
        .u64(issued_at)
        .u64(expires_at)
        .put(body_hash);
    w.into_vec()
}

impl AddressProof {
    /// Checks that the proof's node signed a descriptor for exactly `address` that is valid
    /// at `now`: **bad signature** (`"address proof"`) or **expired** (`"address proof"`).
    pub fn verify(&self, address: &str, now: u64) -> Result<(), Error> {
        let message = signed_message(
            &self.node_id,
            address,
            self.issued_at,
            self.expires_at,
            &self.body_hash,
        );
        crate::identity::verify(
            &self.node_id,
            DESCRIPTOR_SIG_CONTEXT,
            &message,
            &self.signature,
            "address proof",
        )?;
        if !(self.issued_at <= now && now < self.expires_at) {
            return Err(Error::Expired {
                what: "address proof",
                from: self.issued_at,
                until: self.expires_at,
                now,
            });
        }
        Ok(())
    }

    /// The 144-byte encoding: `node_id || u64 issued_at || u64 expires_at || body_hash || signature`.
    pub fn encode(&self) -> [u8; ADDRESS_PROOF_LEN] {
        let mut w = Writer::with_capacity(ADDRESS_PROOF_LEN);
        w.put(&self.node_id.0)
            .u64(self.issued_at)
            .u64(self.expires_at)
            .put(&self.body_hash)
            .put(&self.signature);
        let mut out = [0u8; ADDRESS_PROOF_LEN];
        out.copy_from_slice(w.as_slice());
        out
    }

    /// Decodes the encoding of [`Self::encode`] from the front of `r`.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AddressProof {
            node_id: NodeId(r.array()?),
            issued_at: r.u64()?,
            expires_at: r.u64()?,
            body_hash: r.array()?,
            signature: r.array()?,
        })
    }
}
