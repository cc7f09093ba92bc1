//! Node identities and epoch keys.
//!
//! A node has one long-term Ed25519 identity key; its [`NodeId`] is the public key.
//! Packets are addressed to medium-term X25519 *epoch keys*, each signed by the identity
//! and valid for a window of time. Deleting an epoch's secret after its window gives
//! forward secrecy for every packet sent to that epoch.

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, Error};

/// Domain separator for epoch-key signatures.
const EPOCH_SIG_CONTEXT: &[u8] = b"mailvortex v1 epoch key";

/// A node's identity: its Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub [u8; 32]);

impl NodeId {
    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, as used in invites and logs.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, DecodeError> {
        let bad = DecodeError::InvalidValue {
            field: "node id",
            reason: "expected 64 hex digits",
        };
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad);
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad.clone())?;
        }
        Ok(NodeId(out))
    }

    /// A short form for humans (first 8 hex digits).
    pub fn short(&self) -> String {
        self.to_hex()[..8].to_string()
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.short())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The long-term Ed25519 signing key of a node. Never leaves the node.
pub struct Identity {
    signing: SigningKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({:?})", self.node_id())
    }
}

impl Identity {
    /// A fresh identity.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Identity {
            signing: SigningKey::generate(rng),
        }
    }

    /// Rebuilds an identity from its 32-byte secret seed (vault storage, test vectors).
    pub fn from_secret_bytes(seed: &[u8; 32]) -> Self {
        Identity {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte secret seed, for the encrypted vault only.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        NodeId(self.signing.verifying_key().to_bytes())
    }

    /// Signs `context || message` (the context is a fixed domain separator).
    pub(crate) fn sign(&self, context: &[u8], message: &[u8]) -> [u8; 64] {
        let mut buf = Vec::with_capacity(context.len() + message.len());
        buf.extend_from_slice(context);
        buf.extend_from_slice(message);
        self.signing.sign(&buf).to_bytes()
    }

    /// Creates and signs the epoch key for `epoch`, valid `valid_from..valid_until` (unix seconds).
    pub fn new_epoch_key<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        epoch: u32,
        valid_from: u64,
        valid_until: u64,
    ) -> EpochSecret {
        let secret = StaticSecret::random_from_rng(rng);
        self.certify_epoch_key(secret, epoch, valid_from, valid_until)
    }

    /// Signs an existing X25519 secret as the key of `epoch`.
    pub fn certify_epoch_key(
        &self,
        secret: StaticSecret,
        epoch: u32,
        valid_from: u64,
        valid_until: u64,
    ) -> EpochSecret {
        let key = PublicKey::from(&secret).to_bytes();
        let mut public = EpochPublic {
            epoch,
            valid_from,
            valid_until,
            key,
            signature: [0; 64],
        };
        public.signature = self.sign(EPOCH_SIG_CONTEXT, &public.signed_bytes(&self.node_id()));
        EpochSecret { secret, public }
    }
}

/// Verifies an Ed25519 signature by `node` over `context || message`.
pub(crate) fn verify(
    node: &NodeId,
    context: &[u8],
    message: &[u8],
    sig: &[u8; 64],
    what: &'static str,
) -> Result<(), Error> {
    let key = VerifyingKey::from_bytes(&node.0).map_err(|_| Error::BadSignature(what))?;
    let mut buf = Vec::with_capacity(context.len() + message.len());
    buf.extend_from_slice(context);
    buf.extend_from_slice(message);
    key.verify_strict(&buf, &Signature::from_bytes(sig))
        .map_err(|_| Error::BadSignature(what))
}

/// The public half of an epoch key, signed by the node's identity.
#[derive(Clone, PartialEq, Eq)]
pub struct EpochPublic {
    /// Epoch number (monotonic per node).
    pub epoch: u32,
    /// First second (unix time) at which packets may use this key.
    pub valid_from: u64,
    /// First second at which the key is no longer accepted; its secret is deleted then.
    pub valid_until: u64,
    /// X25519 public key.
    pub key: [u8; 32],
    /// Ed25519 signature by the node identity over [`EpochPublic::signed_bytes`].
    pub signature: [u8; 64],
}

impl fmt::Debug for EpochPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochPublic")
            .field("epoch", &self.epoch)
            .field("valid_from", &self.valid_from)
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

impl EpochPublic {
    /// Encoded length.
    pub const LEN: usize = 4 + 8 + 8 + 32 + 64;

    fn signed_bytes(&self, node: &NodeId) -> Vec<u8> {
        let mut w = Writer::with_capacity(84);
        w.put(&node.0)
            .u32(self.epoch)
            .u64(self.valid_from)
            .u64(self.valid_until)
            .put(&self.key);
        w.into_vec()
    }

    /// Checks the signature by `node` and that `now` lies in the validity window.
    pub fn verify(&self, node: &NodeId, now: u64) -> Result<(), Error> {
        self.verify_signature(node)?;
        if !self.is_valid_at(now) {
            return Err(Error::Expired {
                what: "epoch key",
                from: self.valid_from,
                until: self.valid_until,
                now,
            });
        }
        Ok(())
    }

    /// Checks only the signature.
    pub fn verify_signature(&self, node: &NodeId) -> Result<(), Error> {
        verify(
            node,
            EPOCH_SIG_CONTEXT,
            &self.signed_bytes(node),
            &self.signature,
            "epoch key",
        )
    }

    /// Whether `now` is inside `valid_from..valid_until`.
    pub fn is_valid_at(&self, now: u64) -> bool {
        self.valid_from <= now && now < self.valid_until
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u32(self.epoch)
            .u64(self.valid_from)
            .u64(self.valid_until)
            .put(&self.key)
            .put(&self.signature);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let epoch = r.u32()?;
        let valid_from = r.u64()?;
        let valid_until = r.u64()?;
        if valid_until <= valid_from {
            return Err(DecodeError::InvalidValue {
                field: "epoch validity",
                reason: "empty window",
            });
        }
        Ok(EpochPublic {
            epoch,
            valid_from,
            valid_until,
            key: r.array()?,
            signature: r.array()?,
        })
    }
}

/// An epoch key pair held by its node.
pub struct EpochSecret {
    pub(crate) secret: StaticSecret,
    /// The signed public half.
    pub public: EpochPublic,
}

impl fmt::Debug for EpochSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EpochSecret({:?})", self.public)
    }
}

impl EpochSecret {
    /// Rebuilds from the stored secret bytes and the signed public half.
    pub fn from_parts(secret: [u8; 32], public: EpochPublic) -> Result<Self, Error> {
        let secret = StaticSecret::from(secret);
        if PublicKey::from(&secret).to_bytes() != public.key {
            return Err(Error::InvalidArgument(
                "epoch secret does not match its public key",
            ));
        }
        Ok(EpochSecret { secret, public })
    }

    /// The secret bytes, for the encrypted vault only.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }
}

/// When epochs start and how long each key is accepted.
///
/// Epoch `n` starts at `n * length`; its key is accepted until `(n + 1) * length + grace`,
/// so during the first `grace` seconds of an epoch two keys are live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSchedule {
    /// Seconds between key rotations.
    pub length: u64,
    /// Seconds the previous key stays accepted after rotation (packets in flight).
    pub grace: u64,
}

impl Default for EpochSchedule {
    /// Weekly keys with a two-day grace period: mail-scale mixing delays fit, and replay
    /// state stays small.
    fn default() -> Self {
        EpochSchedule {
            length: 7 * 86_400,
            grace: 2 * 86_400,
        }
    }
}

impl EpochSchedule {
    /// The epoch current at `now`.
    pub fn epoch_at(&self, now: u64) -> u32 {
        u32::try_from(now / self.length.max(1)).unwrap_or(u32::MAX)
    }

    /// The validity window of epoch `n`.
    pub fn window(&self, epoch: u32) -> (u64, u64) {
        let start = u64::from(epoch).saturating_mul(self.length);
        (
            start,
            start.saturating_add(self.length).saturating_add(self.grace),
        )
    }
}
