//! Single-use reply blocks (SURBs).
//!
//! The creator builds a header for a route that ends at itself and hands out the header,
//! the first hop's address and a fresh reply key. The replier seals its content with the
//! reply key into a full-size payload and sends `header || payload` to the first hop: to a
//! relay this is a forward packet like any other. The creator keeps a [`SurbSecret`] to undo
//! the relays' layers. Single use: the first hop's replay tag is the same for every use, so a
//! second use is rejected there; the creator also forgets the secret after one reply.

use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::descriptor::validate_address;
use crate::error::{DecodeError, Error};
use crate::packet::{
    DeliverKind, HEADER_LEN, HopSpec, PACKET_LEN, PAYLOAD_LEN, build_header, xor_keystreams,
};

/// Most content bytes a reply carries.
pub const REPLY_CAPACITY: usize = PAYLOAD_LEN - 24 - 16 - 4;

/// What the replier gets.
#[derive(Clone, PartialEq, Eq)]
pub struct Surb {
    /// Where to send the reply packet.
    pub first_hop: String,
    /// The prepared header, [`HEADER_LEN`] bytes.
    pub header: Vec<u8>,
    /// Key that seals the reply content.
    pub key: [u8; 32],
}

impl core::fmt::Debug for Surb {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Surb(first hop {})", self.first_hop)
    }
}

/// What the creator keeps.
#[derive(Clone)]
pub struct SurbSecret {
    /// Identifies the block in the delivered slot.
    pub id: [u8; 16],
    /// Reply key.
    pub key: [u8; 32],
    /// Payload keystream keys of every hop, the creator's own last. Each hop XORs its
    /// keystream into the payload, so XORing them all again restores what the replier sent.
    pub payload_keys: Vec<[u8; 32]>,
}

impl core::fmt::Debug for SurbSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SurbSecret({} hops)", self.payload_keys.len())
    }
}

impl Drop for SurbSecret {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.key.zeroize();
        for k in &mut self.payload_keys {
            k.zeroize();
        }
    }
}

impl SurbSecret {
    /// Encoding for the creator's encrypted store.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        w.put(&self.id)
            .put(&self.key)
            .u8(self.payload_keys.len() as u8);
        for k in &self.payload_keys {
            w.put(k);
        }
        Zeroizing::new(w.into_vec())
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let inner = (|| -> Result<SurbSecret, DecodeError> {
            let id = r.array()?;
            let key = r.array()?;
            let n = usize::from(r.u8()?);
            if n == 0 || n > crate::packet::MAX_HOPS {
                return Err(DecodeError::InvalidValue {
                    field: "relay count",
                    reason: "too many",
                });
            }
            let mut keys = Vec::with_capacity(n);
            for _ in 0..n {
                keys.push(r.array()?);
            }
            Ok(SurbSecret {
                id,
                key,
                payload_keys: keys,
            })
        })();
        let s = inner.map_err(Error::malformed("reply block secret"))?;
        r.finish().map_err(Error::malformed("reply block secret"))?;
        Ok(s)
    }
}

impl Surb {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(HEADER_LEN + 128);
        w.bytes_u8(self.first_hop.as_bytes())
            .put(&self.header)
            .put(&self.key);
        w.into_vec()
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_inner(bytes).map_err(Error::malformed("reply block"))
    }

    pub(crate) fn decode_inner(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let first_hop = r.str_u8("first hop")?.to_string();
        if validate_address(&first_hop).is_err() {
            return Err(DecodeError::InvalidValue {
                field: "first hop",
                reason: "not a mail address",
            });
        }
        let header = r.take(HEADER_LEN)?.to_vec();
        let key = r.array()?;
        r.finish()?;
        Ok(Surb {
            first_hop,
            header,
            key,
        })
    }
}

/// Creates a reply block for `hops`, whose last hop MUST be the creator itself.
pub fn create_surb<R: RngCore + CryptoRng>(
    hops: &[HopSpec<'_>],
    rng: &mut R,
) -> Result<(Surb, SurbSecret), Error> {
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    let builder = build_header(hops, DeliverKind::Reply(id), rng)?;
    let payload_keys = builder.payload_keys.clone();
    let first_hop = hops
        .first()
        .map(|h| h.address.to_string())
        .unwrap_or_default();
    Ok((
        Surb {
            first_hop,
            header: builder.header.clone(),
            key,
        },
        SurbSecret {
            id,
            key,
            payload_keys,
        },
    ))
}

/// Builds the reply packet for `surb` carrying `content`; returns the first hop and the packet.
pub fn build_reply<R: RngCore + CryptoRng>(
    surb: &Surb,
    content: &[u8],
    rng: &mut R,
) -> Result<(String, Vec<u8>), Error> {
    if content.len() > REPLY_CAPACITY {
        return Err(Error::InvalidArgument("reply content too long"));
    }
    let mut plain = Zeroizing::new(vec![0u8; PAYLOAD_LEN - 24 - 16]);
    plain[..4].copy_from_slice(&(content.len() as u32).to_be_bytes());
    plain[4..4 + content.len()].copy_from_slice(content);
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let sealed = XSalsa20Poly1305::new((&surb.key).into())
        .encrypt(&Nonce::from(nonce), plain.as_slice())
        .map_err(|_| Error::InvalidArgument("sealing failed"))?;
    let mut packet = Vec::with_capacity(PACKET_LEN);
    packet.extend_from_slice(&surb.header);
    packet.extend_from_slice(&nonce);
    packet.extend_from_slice(&sealed);
    debug_assert_eq!(packet.len(), PACKET_LEN);
    Ok((surb.first_hop.clone(), packet))
}

/// Recovers the reply content from the payload [`crate::packet::Routing::Deliver`] returned.
pub fn open_reply(secret: &SurbSecret, payload: &[u8]) -> Result<Vec<u8>, Error> {
    if payload.len() != PAYLOAD_LEN {
        return Err(Error::Malformed {
            what: "reply",
            source: DecodeError::InvalidValue {
                field: "length",
                reason: "not a payload",
            },
        });
    }
    let mut p = payload.to_vec();
    xor_keystreams(&secret.payload_keys, &mut p);
    let (nonce, sealed) = p.split_at(24);
    let plain = Zeroizing::new(
        XSalsa20Poly1305::new((&secret.key).into())
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| Error::EndToEndAuth("reply"))?,
    );
    let len = u32::from_be_bytes([plain[0], plain[1], plain[2], plain[3]]) as usize;
    if len > REPLY_CAPACITY || plain[4 + len..].iter().any(|b| *b != 0) {
        return Err(Error::Malformed {
            what: "reply",
            source: DecodeError::InvalidValue {
                field: "length",
                reason: "bad padding",
            },
        });
    }
    Ok(plain[4..4 + len].to_vec())
}
