//! End-to-end messages: encryption, erasure coding into shards, and rebuilding.
//!
//! The whole message is sealed once with XSalsa20-Poly1305 under a key both ends derive from
//! two X25519 exchanges (sender ephemeral × recipient epoch key, sender epoch key × recipient
//! epoch key). Either end could have computed it, so the recipient knows who wrote the message
//! but cannot prove it to anyone (no signature over content: deniable). The ciphertext is cut
//! into `k` shards and Reed-Solomon coded into `n`; any `k` rebuild it. Every shard carries a
//! Poly1305 tag so tampered shards are dropped as erasures before decoding.

use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, Error};
use crate::identity::{EpochPublic, EpochSecret, NodeId};
use crate::kdf::{self, E2E_ANON, E2E_MESSAGE, E2E_SHARD};
use crate::level::{LevelName, Redundancy};
use crate::packet::PAYLOAD_LEN;
use crate::surb::Surb;

/// Bytes of a shard payload that are not shard data.
pub const SHARD_OVERHEAD: usize = 32 + SENDER_BOX_LEN + 16 + 2 + 2 + 2 + 4 + 16;
/// Bytes of message ciphertext per shard.
pub const SHARD_LEN: usize = PAYLOAD_LEN - SHARD_OVERHEAD;
/// Largest message (sealed envelope) this version carries: 64 MiB.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024 * 1024;
const SENDER_BOX_LEN: usize = 32 + 4 + 32 + 16;
const ENVELOPE_VERSION: u8 = 1;

/// The sending end: its node and current epoch key (a static X25519 key).
#[derive(Debug, Clone, Copy)]
pub struct SenderKeys<'a> {
    /// The sender's node id.
    pub node_id: NodeId,
    /// The sender's epoch key.
    pub epoch: &'a EpochSecret,
}

/// What the sender writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageContent {
    /// Subject line.
    pub subject: String,
    /// File name when the body is an attached file.
    pub file_name: Option<String>,
    /// The body bytes (text or file).
    pub body: Vec<u8>,
}

/// Everything sealed end to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// When the sender created the message (unix seconds).
    pub created_at: u64,
    /// Level the sender chose.
    pub level: LevelName,
    /// The content.
    pub content: MessageContent,
    /// The sender's signed descriptor, so a first-time recipient can check who wrote it.
    pub sender_descriptor: Option<Vec<u8>>,
    /// A reply block for the end-to-end receipt.
    pub receipt_surb: Option<Surb>,
    /// A reply block the recipient may use to answer.
    pub reply_surb: Option<Surb>,
}

impl Envelope {
    /// Canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let c = &self.content;
        if c.subject.len() > 4096
            || c.file_name
                .as_ref()
                .is_some_and(|f| f.len() > 255 || f.is_empty())
        {
            return Err(Error::InvalidArgument(
                "subject at most 4096 bytes, file name 1 to 255 bytes",
            ));
        }
        if self
            .sender_descriptor
            .as_ref()
            .is_some_and(|d| d.len() > 65_535)
        {
            return Err(Error::InvalidArgument("descriptor too long"));
        }
        let mut w = Writer::with_capacity(c.body.len() + 4096);
        w.u8(ENVELOPE_VERSION)
            .u64(self.created_at)
            .u8(self.level.code());
        w.bytes_u16(c.subject.as_bytes());
        w.bytes_u8(c.file_name.as_deref().unwrap_or("").as_bytes());
        w.bytes_u32(&c.body);
        w.bytes_u16(self.sender_descriptor.as_deref().unwrap_or(&[]));
        for surb in [&self.receipt_surb, &self.reply_surb] {
            match surb {
                Some(s) => w.bytes_u16(&s.encode()),
                None => w.bytes_u16(&[]),
            };
        }
        Ok(w.into_vec())
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_inner(bytes).map_err(Error::malformed("envelope"))
    }

    fn decode_inner(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = r.u8()?;
        if v != ENVELOPE_VERSION {
            return Err(DecodeError::UnsupportedVersion(v));
        }
        let created_at = r.u64()?;
        let level = LevelName::from_code(r.u8()?).ok_or(DecodeError::InvalidValue {
            field: "level",
            reason: "unknown",
        })?;
        let subject = r.str_u16("subject")?.to_string();
        let file_name = r.str_u8("file name")?;
        let file_name = (!file_name.is_empty()).then(|| file_name.to_string());
        let body = r.bytes_u32()?.to_vec();
        let desc = r.bytes_u16()?;
        let sender_descriptor = (!desc.is_empty()).then(|| desc.to_vec());
        let mut surbs = [None, None];
        for slot in &mut surbs {
            let b = r.bytes_u16()?;
            if !b.is_empty() {
                *slot = Some(Surb::decode_inner(b)?);
            }
        }
        r.finish()?;
        let [receipt_surb, reply_surb] = surbs;
        Ok(Envelope {
            created_at,
            level,
            content: MessageContent {
                subject,
                file_name,
                body,
            },
            sender_descriptor,
            receipt_surb,
            reply_surb,
        })
    }
}

/// A sealed, erasure-coded message: one end-to-end payload per shard.
pub struct SealedMessage {
    /// Random message id (also the receipt's reference).
    pub message_id: [u8; 16],
    /// Shards needed to rebuild.
    pub k: usize,
    /// Shards made.
    pub n: usize,
    /// `n` payloads of [`PAYLOAD_LEN`] bytes, shard index order.
    pub payloads: Vec<Box<[u8; PAYLOAD_LEN]>>,
}

impl core::fmt::Debug for SealedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SealedMessage(k={}, n={})", self.k, self.n)
    }
}

fn message_keys(
    dh_eph: &[u8; 32],
    dh_static: &[u8; 32],
    eph: &[u8; 32],
    sender_key: &[u8; 32],
    recipient_key: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(kdf::derive(
        E2E_MESSAGE,
        dh_eph,
        &[dh_static, eph, sender_key, recipient_key],
    ))
}

fn shard_tag(k_msg: &[u8; 32], message_id: &[u8; 16], index: u16, data: &[u8]) -> [u8; 16] {
    use poly1305::Poly1305;
    use poly1305::universal_hash::{KeyInit as _, UniversalHash};
    let key = kdf::derive(E2E_SHARD, k_msg, &[message_id, &index.to_be_bytes()]);
    let mut mac = Poly1305::new((&key).into());
    mac.update_padded(data);
    mac.finalize().into()
}

/// The part every shard payload shares.
struct ShardHead<'a> {
    eph_pub: [u8; 32],
    sender_box: &'a [u8],
    message_id: [u8; 16],
    k: u16,
    n: u16,
    ct_len: u32,
    k_msg: &'a [u8; 32],
}

impl ShardHead<'_> {
    /// Shard `index`'s payload: header fields, `data` (SHARD_LEN bytes), then the tag.
    fn payload(&self, index: u16, data: &[u8]) -> Result<Box<[u8; PAYLOAD_LEN]>, Error> {
        let mut p = Box::new([0u8; PAYLOAD_LEN]);
        let fields: [&[u8]; 8] = [
            &self.eph_pub,
            self.sender_box,
            &self.message_id,
            &self.k.to_be_bytes(),
            &self.n.to_be_bytes(),
            &index.to_be_bytes(),
            &self.ct_len.to_be_bytes(),
            data,
        ];
        let mut at = 0;
        for f in fields {
            let end = at + f.len();
            if end > PAYLOAD_LEN - 16 {
                return Err(Error::InvalidArgument("shard layout"));
            }
            p[at..end].copy_from_slice(f);
            at = end;
        }
        if at != PAYLOAD_LEN - 16 {
            return Err(Error::InvalidArgument("shard layout"));
        }
        let tag = shard_tag(self.k_msg, &self.message_id, index, &p[..at]);
        p[at..].copy_from_slice(&tag);
        Ok(p)
    }
}

fn assemble(head: &ShardHead<'_>, shards: &[&[u8]]) -> Result<Vec<Box<[u8; PAYLOAD_LEN]>>, Error> {
    shards
        .iter()
        .enumerate()
        .map(|(index, data)| head.payload(index as u16, data))
        .collect()
}

/// Seals `envelope` for `recipient` and erasure-codes it with `redundancy`.
///
/// Random values are drawn in this order: 32 bytes (`fill_bytes`) for the ephemeral X25519
/// secret, 24 bytes for the message nonce, 16 bytes for the message id.
pub fn seal_message<R: RngCore + CryptoRng>(
    sender: SenderKeys<'_>,
    recipient: &EpochPublic,
    envelope: &Envelope,
    redundancy: Redundancy,
    rng: &mut R,
) -> Result<SealedMessage, Error> {
    seal_message_with(sender, recipient, envelope, redundancy, rng, false)
}

/// [`seal_message`]; with `parallel` (and the feature) the shard payloads are built on all cores.
pub(crate) fn seal_message_with<R: RngCore + CryptoRng>(
    sender: SenderKeys<'_>,
    recipient: &EpochPublic,
    envelope: &Envelope,
    redundancy: Redundancy,
    rng: &mut R,
    parallel: bool,
) -> Result<SealedMessage, Error> {
    let plaintext = Zeroizing::new(envelope.encode()?);
    if plaintext.len() > MAX_MESSAGE_LEN {
        return Err(Error::InvalidArgument("message larger than 64 MiB"));
    }
    let eph = StaticSecret::random_from_rng(&mut *rng);
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let recipient_key = PublicKey::from(recipient.key);
    let dh_eph = eph.diffie_hellman(&recipient_key);
    let dh_static = sender.epoch.secret.diffie_hellman(&recipient_key);
    if !dh_eph.was_contributory() || !dh_static.was_contributory() {
        return Err(Error::WeakKey);
    }
    let sender_key = sender.epoch.public.key;
    let k_msg = message_keys(
        dh_eph.as_bytes(),
        dh_static.as_bytes(),
        &eph_pub,
        &sender_key,
        &recipient.key,
    );
    // Sender reference, sealed to the recipient's epoch key alone.
    let k_anon = Zeroizing::new(kdf::derive(
        E2E_ANON,
        dh_eph.as_bytes(),
        &[&eph_pub, &recipient.key],
    ));
    let mut sender_ref = Writer::with_capacity(68);
    sender_ref
        .put(sender.node_id.as_bytes())
        .u32(sender.epoch.public.epoch)
        .put(&sender_key);
    let sender_box = XSalsa20Poly1305::new((&*k_anon).into())
        .encrypt(&Nonce::default(), sender_ref.as_slice())
        .map_err(|_| Error::InvalidArgument("sealing failed"))?;
    // The message itself: nonce || tag || ciphertext, with room for the shard padding.
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let sealed_len = 24 + 16 + plaintext.len();
    let mut ciphertext = Vec::with_capacity(sealed_len.div_ceil(SHARD_LEN).max(1) * SHARD_LEN);
    ciphertext.extend_from_slice(&nonce);
    crate::packet::secretbox_seal(&k_msg, &nonce, &plaintext, &mut ciphertext)?;
    let ct_len =
        u32::try_from(ciphertext.len()).map_err(|_| Error::InvalidArgument("message too large"))?;
    let k = ciphertext.len().div_ceil(SHARD_LEN);
    let n = redundancy.total_shards(k);
    ciphertext.resize(k * SHARD_LEN, 0);
    let originals: Vec<&[u8]> = ciphertext.chunks(SHARD_LEN).collect();
    let recovery = if n > k {
        reed_solomon_simd::encode(k, n - k, &originals)
            .map_err(|_| Error::InvalidArgument("erasure coding failed"))?
    } else {
        Vec::new()
    };
    let mut message_id = [0u8; 16];
    rng.fill_bytes(&mut message_id);
    let (k16, n16) = (u16::try_from(k), u16::try_from(n));
    let (Ok(k16), Ok(n16)) = (k16, n16) else {
        return Err(Error::InvalidArgument("too many shards"));
    };
    let shards: Vec<&[u8]> = originals
        .iter()
        .copied()
        .chain(recovery.iter().map(Vec::as_slice))
        .collect();
    let head = ShardHead {
        eph_pub,
        sender_box: &sender_box,
        message_id,
        k: k16,
        n: n16,
        ct_len,
        k_msg: &k_msg,
    };
    #[cfg(feature = "parallel")]
    let payloads = if parallel {
        use rayon::prelude::*;
        shards
            .par_iter()
            .enumerate()
            .map(|(index, data)| head.payload(index as u16, data))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        assemble(&head, &shards)?
    };
    #[cfg(not(feature = "parallel"))]
    let payloads = {
        let _ = parallel;
        assemble(&head, &shards)?
    };
    Ok(SealedMessage {
        message_id,
        k,
        n,
        payloads,
    })
}

/// Who wrote a message, as the recipient learned it (authenticated by the key exchange).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderRef {
    /// The sender's node id.
    pub node_id: NodeId,
    /// The sender epoch the message was sealed with.
    pub epoch: u32,
    /// That epoch's X25519 key.
    pub epoch_key: [u8; 32],
}

/// One authenticated shard.
pub struct OpenedShard {
    /// Message id.
    pub message_id: [u8; 16],
    /// Shard index (`< n`; `< k` are data shards).
    pub index: u16,
    /// Shards needed.
    pub k: u16,
    /// Shards made.
    pub n: u16,
    /// Length of the message ciphertext.
    pub ciphertext_len: u32,
    /// Who sent it.
    pub sender: SenderRef,
    data: Vec<u8>,
    k_msg: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for OpenedShard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "OpenedShard({}/{} of k={})", self.index, self.n, self.k)
    }
}

/// Authenticates a delivered message payload with the recipient epoch key that opened its packet.
pub fn open_shard(recipient: &EpochSecret, payload: &[u8]) -> Result<OpenedShard, Error> {
    if payload.len() != PAYLOAD_LEN {
        return Err(Error::Malformed {
            what: "shard",
            source: DecodeError::InvalidValue {
                field: "length",
                reason: "not a payload",
            },
        });
    }
    let mut r = Reader::new(payload);
    let fail = Error::malformed("shard");
    let eph_pub: [u8; 32] = r.array().map_err(fail)?;
    let sender_box = r.take(SENDER_BOX_LEN).map_err(Error::malformed("shard"))?;
    let dh_eph = recipient.secret.diffie_hellman(&PublicKey::from(eph_pub));
    if !dh_eph.was_contributory() {
        return Err(Error::WeakKey);
    }
    let k_anon = Zeroizing::new(kdf::derive(
        E2E_ANON,
        dh_eph.as_bytes(),
        &[&eph_pub, &recipient.public.key],
    ));
    let sender_ref = XSalsa20Poly1305::new((&*k_anon).into())
        .decrypt(&Nonce::default(), sender_box)
        .map_err(|_| Error::EndToEndAuth("sender reference"))?;
    let mut sr = Reader::new(&sender_ref);
    let sender = (|| -> Result<SenderRef, DecodeError> {
        let s = SenderRef {
            node_id: NodeId(sr.array()?),
            epoch: sr.u32()?,
            epoch_key: sr.array()?,
        };
        Ok(s)
    })()
    .map_err(Error::malformed("sender reference"))?;
    let dh_static = recipient
        .secret
        .diffie_hellman(&PublicKey::from(sender.epoch_key));
    if !dh_static.was_contributory() {
        return Err(Error::WeakKey);
    }
    let k_msg = message_keys(
        dh_eph.as_bytes(),
        dh_static.as_bytes(),
        &eph_pub,
        &sender.epoch_key,
        &recipient.public.key,
    );
    let header = (|| -> Result<_, DecodeError> {
        Ok((r.array::<16>()?, r.u16()?, r.u16()?, r.u16()?, r.u32()?))
    })()
    .map_err(Error::malformed("shard"))?;
    let (message_id, k, n, index, ciphertext_len) = header;
    let data = r
        .take(SHARD_LEN)
        .map_err(Error::malformed("shard"))?
        .to_vec();
    let tag: [u8; 16] = r.array().map_err(Error::malformed("shard"))?;
    let expected = shard_tag(&k_msg, &message_id, index, &payload[..PAYLOAD_LEN - 16]);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &tag[..])) {
        return Err(Error::EndToEndAuth("shard"));
    }
    if k == 0
        || n < k
        || index >= n
        || (ciphertext_len as usize).div_ceil(SHARD_LEN) != usize::from(k)
    {
        return Err(Error::InconsistentShard("shard counts"));
    }
    Ok(OpenedShard {
        message_id,
        index,
        k,
        n,
        ciphertext_len,
        sender,
        data,
        k_msg,
    })
}

/// A message rebuilt and authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Message id.
    pub message_id: [u8; 16],
    /// Who wrote it.
    pub sender: SenderRef,
    /// What it says.
    pub envelope: Envelope,
}

/// Rebuilds a message from at least `k` of its shards (any order, duplicates ignored).
pub fn rebuild(shards: &[OpenedShard]) -> Result<ReceivedMessage, Error> {
    let first = shards
        .first()
        .ok_or(Error::NotEnoughShards { needed: 1, have: 0 })?;
    let (k, n) = (usize::from(first.k), usize::from(first.n));
    let mut by_index: Vec<Option<&[u8]>> = vec![None; n];
    for s in shards {
        if s.message_id != first.message_id
            || s.k != first.k
            || s.n != first.n
            || s.ciphertext_len != first.ciphertext_len
            || s.sender != first.sender
            || *s.k_msg != *first.k_msg
        {
            return Err(Error::InconsistentShard("shards from different messages"));
        }
        by_index[usize::from(s.index)] = Some(&s.data);
    }
    let have = by_index.iter().filter(|s| s.is_some()).count();
    if have < k {
        return Err(Error::NotEnoughShards { needed: k, have });
    }
    let mut ciphertext = Vec::with_capacity(k * SHARD_LEN);
    if by_index[..k].iter().all(Option::is_some) {
        for s in by_index[..k].iter().flatten() {
            ciphertext.extend_from_slice(s);
        }
    } else {
        let originals = by_index[..k]
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i, s)));
        let recovery = by_index[k..]
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i, s)));
        let restored = reed_solomon_simd::decode(k, n - k, originals, recovery)
            .map_err(|_| Error::InconsistentShard("erasure decoding failed"))?;
        for (i, s) in by_index[..k].iter().enumerate() {
            match s {
                Some(s) => ciphertext.extend_from_slice(s),
                None => ciphertext.extend_from_slice(
                    restored
                        .get(&i)
                        .ok_or(Error::InconsistentShard("erasure decoding incomplete"))?,
                ),
            }
        }
    }
    ciphertext.truncate(first.ciphertext_len as usize);
    if ciphertext.len() < 24 + 16 {
        return Err(Error::InconsistentShard("ciphertext too short"));
    }
    let (nonce, body) = ciphertext.split_at(24);
    let plaintext = Zeroizing::new(
        XSalsa20Poly1305::new((&*first.k_msg).into())
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| Error::EndToEndAuth("message"))?,
    );
    Ok(ReceivedMessage {
        message_id: first.message_id,
        sender: first.sender,
        envelope: Envelope::decode(&plaintext)?,
    })
}

impl ReceivedMessage {
    /// Checks that `descriptor` (checked) belongs to the sender and lists the epoch key used.
    pub fn sender_matches(&self, descriptor: &crate::descriptor::Descriptor) -> bool {
        descriptor.node_id == self.sender.node_id
            && descriptor
                .epochs
                .iter()
                .any(|e| e.epoch == self.sender.epoch && e.key == self.sender.epoch_key)
    }
}

/// An end-to-end receipt, sent back through the receipt reply block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The message it acknowledges.
    pub message_id: [u8; 16],
    /// Distinct shards the recipient held when it rebuilt the message.
    pub shards_received: u16,
}

impl Receipt {
    const TAG: u8 = 0x52; // 'R'

    /// Encoding (reply content).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(19);
        w.u8(Self::TAG)
            .put(&self.message_id)
            .u16(self.shards_received);
        w.into_vec()
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let inner = (|| -> Result<Receipt, DecodeError> {
            if r.u8()? != Self::TAG {
                return Err(DecodeError::InvalidValue {
                    field: "receipt",
                    reason: "wrong tag",
                });
            }
            let rc = Receipt {
                message_id: r.array()?,
                shards_received: r.u16()?,
            };
            Ok(rc)
        })();
        let rc = inner.map_err(Error::malformed("receipt"))?;
        r.finish().map_err(Error::malformed("receipt"))?;
        Ok(rc)
    }
}
