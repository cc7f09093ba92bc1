//! Node descriptors: the signed record that tells others how to reach a node.
//!
//! Parsing gives an [`UncheckedDescriptor`]; only [`UncheckedDescriptor::check`] (signature,
//! expiry, epoch-key signatures) turns it into a [`Descriptor`] that routing may use.

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, Error};
use crate::identity::{EpochPublic, Identity, NodeId};

use crate::address_proof::{AddressProof, DESCRIPTOR_SIG_CONTEXT, body_hash, signed_message};
/// Wire version of descriptors.
pub const DESCRIPTOR_VERSION: u8 = 1;
/// Longest mail address a descriptor (and a packet header) can carry, in bytes.
pub const MAX_ADDRESS_LEN: usize = 96;
/// Most epoch keys one descriptor lists.
pub const MAX_EPOCHS: usize = 4;

/// How a node takes part (the thesis's three peer types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerType {
    /// Sends and receives only; relays nothing but its own mail.
    Passive,
    /// Like passive, and never answers unknown senders (no descriptor requests, no receipts).
    Stealth,
    /// Publicly known; relays for anyone who pays the puzzle.
    Public,
}

impl PeerType {
    fn to_byte(self) -> u8 {
        match self {
            PeerType::Passive => 0,
            PeerType::Stealth => 1,
            PeerType::Public => 2,
        }
    }

    fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            0 => Ok(PeerType::Passive),
            1 => Ok(PeerType::Stealth),
            2 => Ok(PeerType::Public),
            _ => Err(DecodeError::InvalidValue {
                field: "peer type",
                reason: "unknown",
            }),
        }
    }

    /// Whether route planners may pick this node as a relay.
    pub fn relays(self) -> bool {
        matches!(self, PeerType::Public)
    }

    /// The lower-case name used in CLI and JSON.
    pub fn name(self) -> &'static str {
        match self {
            PeerType::Passive => "passive",
            PeerType::Stealth => "stealth",
            PeerType::Public => "public",
        }
    }
}

/// What a node accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Packets per day the node will relay or receive.
    pub packets_per_day: u32,
    /// Largest message (bytes) the node accepts for final delivery.
    pub max_message_bytes: u64,
}

/// The content of a descriptor.
///
/// Equality compares the content only, not [`Descriptor::address_proof`].
#[derive(Debug, Clone, Eq)]
pub struct Descriptor {
    /// The node's identity key.
    pub node_id: NodeId,
    /// The mail address packets for this node are sent to.
    pub address: String,
    /// Role of the node.
    pub peer_type: PeerType,
    /// Leading zero bits the node requires of each packet's puzzle.
    pub puzzle_difficulty: u8,
    /// What the node accepts.
    pub limits: Limits,
    /// When the descriptor was issued (unix seconds).
    pub issued_at: u64,
    /// When it stops being valid.
    pub expires_at: u64,
    /// Signed epoch keys, oldest first.
    pub epochs: Vec<EpochPublic>,
    /// The proof of the address from the descriptor's signature: set by
    /// [`UncheckedDescriptor::check`], `None` on a descriptor built to be signed. Not encoded
    /// (it is part of the signature). Senders write it into the last relay's slot.
    pub address_proof: Option<AddressProof>,
}

impl PartialEq for Descriptor {
    fn eq(&self, other: &Self) -> bool {
        self.node_id == other.node_id
            && self.address == other.address
            && self.peer_type == other.peer_type
            && self.puzzle_difficulty == other.puzzle_difficulty
            && self.limits == other.limits
            && self.issued_at == other.issued_at
            && self.expires_at == other.expires_at
            && self.epochs == other.epochs
    }
}

/// A parsed descriptor whose signatures and validity are not checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncheckedDescriptor {
    body: Descriptor,
    signature: [u8; 64],
}

/// Checks a mail address's shape: `local@domain`, ASCII or UTF-8, no spaces, bounded length.
pub fn validate_address(address: &str) -> Result<(), Error> {
    let ok = address.len() <= MAX_ADDRESS_LEN
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        && matches!(address.rsplit_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(
            "mail address must be local@domain, at most 96 bytes",
        ))
    }
}

/// The provider of a mail address: its domain, lower-cased.
pub fn provider_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

impl Descriptor {
    fn encode_body(&self, w: &mut Writer) {
        w.u8(DESCRIPTOR_VERSION)
            .put(&self.node_id.0)
            .bytes_u8(self.address.as_bytes())
            .u8(self.peer_type.to_byte())
            .u8(self.puzzle_difficulty)
            .u32(self.limits.packets_per_day)
            .u64(self.limits.max_message_bytes)
            .u64(self.issued_at)
            .u64(self.expires_at)
            .u8(u8::try_from(self.epochs.len()).unwrap_or(u8::MAX));
        for e in &self.epochs {
            e.encode(w);
        }
    }

    /// Signs the descriptor with the node's identity and returns its canonical encoding.
    pub fn sign(&self, identity: &Identity) -> Result<Vec<u8>, Error> {
        if identity.node_id() != self.node_id {
            return Err(Error::InvalidArgument(
                "descriptor node id is not the signing identity",
            ));
        }
        validate_address(&self.address)?;
        if self.epochs.is_empty() || self.epochs.len() > MAX_EPOCHS {
            return Err(Error::InvalidArgument(
                "a descriptor lists 1 to 4 epoch keys",
            ));
        }
        if self.puzzle_difficulty > crate::puzzle::MAX_DIFFICULTY {
            return Err(Error::InvalidArgument(
                "puzzle difficulty above the maximum",
            ));
        }
        if self.epochs.iter().any(|e| e.valid_until <= e.valid_from) {
            return Err(Error::InvalidArgument(
                "an epoch key with an empty validity window",
            ));
        }
        if self.expires_at <= self.issued_at {
            return Err(Error::InvalidArgument(
                "descriptor expires before it is issued",
            ));
        }
        let mut w = Writer::with_capacity(256 + self.epochs.len() * EpochPublic::LEN);
        self.encode_body(&mut w);
        let signature = identity.sign(DESCRIPTOR_SIG_CONTEXT, &self.signed_message(w.as_slice()));
        w.put(&signature);
        Ok(w.into_vec())
    }

    /// What the signature covers after the context: the fields a relay checks in an address
    /// proof, then the hash of the whole body (Section 5.2).
    fn signed_message(&self, body: &[u8]) -> Vec<u8> {
        signed_message(
            &self.node_id,
            &self.address,
            self.issued_at,
            self.expires_at,
            &body_hash(body),
        )
    }

    /// The mail provider (domain) of this node.
    pub fn provider(&self) -> String {
        provider_of(&self.address)
    }

    /// The epoch key a sender should use at `now`: the newest one valid at `now`.
    pub fn epoch_for(&self, now: u64) -> Option<&EpochPublic> {
        self.epochs
            .iter()
            .filter(|e| e.is_valid_at(now))
            .max_by_key(|e| e.epoch)
    }
}

impl UncheckedDescriptor {
    /// Parses a canonical descriptor encoding (strict: no trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_inner(bytes).map_err(Error::malformed("descriptor"))
    }

    fn decode_inner(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != DESCRIPTOR_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let node_id = NodeId(r.array()?);
        let address = r.str_u8("address")?.to_string();
        if validate_address(&address).is_err() {
            return Err(DecodeError::InvalidValue {
                field: "address",
                reason: "not a mail address",
            });
        }
        let peer_type = PeerType::from_byte(r.u8()?)?;
        let puzzle_difficulty = r.u8()?;
        if puzzle_difficulty > crate::puzzle::MAX_DIFFICULTY {
            return Err(DecodeError::InvalidValue {
                field: "puzzle difficulty",
                reason: "above maximum",
            });
        }
        let limits = Limits {
            packets_per_day: r.u32()?,
            max_message_bytes: r.u64()?,
        };
        let issued_at = r.u64()?;
        let expires_at = r.u64()?;
        let count = usize::from(r.u8()?);
        if count == 0 || count > MAX_EPOCHS {
            return Err(DecodeError::InvalidValue {
                field: "epoch count",
                reason: "must be 1 to 4",
            });
        }
        let mut epochs = Vec::with_capacity(count);
        for _ in 0..count {
            epochs.push(EpochPublic::decode(&mut r)?);
        }
        let signature = r.array()?;
        r.finish()?;
        Ok(UncheckedDescriptor {
            body: Descriptor {
                node_id,
                address,
                peer_type,
                puzzle_difficulty,
                limits,
                issued_at,
                expires_at,
                epochs,
                address_proof: None,
            },
            signature,
        })
    }

    /// The claimed node id (unverified).
    pub fn claimed_node_id(&self) -> NodeId {
        self.body.node_id
    }

    /// Verifies the signature, `issued_at <= now < expires_at`, and every epoch key's signature.
    pub fn check(mut self, now: u64) -> Result<Descriptor, Error> {
        let mut w = Writer::new();
        self.body.encode_body(&mut w);
        let hash = body_hash(w.as_slice());
        crate::identity::verify(
            &self.body.node_id,
            DESCRIPTOR_SIG_CONTEXT,
            &signed_message(
                &self.body.node_id,
                &self.body.address,
                self.body.issued_at,
                self.body.expires_at,
                &hash,
            ),
            &self.signature,
            "descriptor",
        )?;
        if !(self.body.issued_at <= now && now < self.body.expires_at) {
            return Err(Error::Expired {
                what: "descriptor",
                from: self.body.issued_at,
                until: self.body.expires_at,
                now,
            });
        }
        for e in &self.body.epochs {
            e.verify_signature(&self.body.node_id)?;
        }
        self.body.address_proof = Some(AddressProof {
            node_id: self.body.node_id,
            issued_at: self.body.issued_at,
            expires_at: self.body.expires_at,
            body_hash: hash,
            signature: self.signature,
        });
        Ok(self.body)
    }

    /// Skips every check. Only for inspecting a descriptor that failed [`Self::check`].
    pub fn dangerously_assume_checked(self) -> Descriptor {
        self.body
    }
}
