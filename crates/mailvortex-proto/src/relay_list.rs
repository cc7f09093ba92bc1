//! Signed lists of public relays, importable from a file.
//!
//! A list is issued by a directory identity (any Ed25519 identity the importing user trusts)
//! and carries the relays' own signed descriptors, each of which is checked on import too.
//!
//! ```text
//! version u8 = 1 | signer node id [32] | issued_at u64 | expires_at u64
//! count u16 | count × (u16 length | descriptor bytes) | signature [64]
//! ```

use crate::codec::{Reader, Writer};
use crate::descriptor::{Descriptor, UncheckedDescriptor};
use crate::error::{DecodeError, Error};
use crate::identity::{Identity, NodeId};

const LIST_SIG_CONTEXT: &[u8] = b"mailvortex v1 relay list";
const LIST_VERSION: u8 = 1;

/// Encodes and signs a relay list.
pub fn sign_relay_list(
    signer: &Identity,
    descriptors: &[Vec<u8>],
    issued_at: u64,
    expires_at: u64,
) -> Result<Vec<u8>, Error> {
    if descriptors.len() > usize::from(u16::MAX)
        || descriptors.iter().any(|d| d.len() > usize::from(u16::MAX))
    {
        return Err(Error::InvalidArgument("relay list too long"));
    }
    let mut w = Writer::new();
    w.u8(LIST_VERSION)
        .put(signer.node_id().as_bytes())
        .u64(issued_at)
        .u64(expires_at)
        .u16(descriptors.len() as u16);
    for d in descriptors {
        w.bytes_u16(d);
    }
    let sig = signer.sign(LIST_SIG_CONTEXT, w.as_slice());
    w.put(&sig);
    Ok(w.into_vec())
}

/// A verified relay list.
#[derive(Debug, Clone)]
pub struct RelayList {
    /// Who signed it.
    pub signer: NodeId,
    /// The relays whose descriptors checked out.
    pub relays: Vec<(Descriptor, Vec<u8>)>,
    /// Entries that did not check out (bad signature, expired), with the reason.
    pub rejected: Vec<RejectedEntry>,
}

/// A list entry whose descriptor did not check out.
#[derive(Debug, Clone)]
pub struct RejectedEntry {
    /// Its position in the list (0-based).
    pub index: usize,
    /// The descriptor bytes as listed.
    pub descriptor: Vec<u8>,
    /// Why it was refused.
    pub error: Error,
}

/// Parses and verifies a list signed by `trusted_signer`, valid at `now`.
pub fn open_relay_list(
    bytes: &[u8],
    trusted_signer: &NodeId,
    now: u64,
) -> Result<RelayList, Error> {
    let mut r = Reader::new(bytes);
    let parsed = (|| -> Result<_, DecodeError> {
        let v = r.u8()?;
        if v != LIST_VERSION {
            return Err(DecodeError::UnsupportedVersion(v));
        }
        let signer = NodeId(r.array()?);
        let issued_at = r.u64()?;
        let expires_at = r.u64()?;
        let n = r.u16()?;
        let mut ds = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            ds.push(r.bytes_u16()?.to_vec());
        }
        let body_len = bytes.len() - r.remaining();
        let sig: [u8; 64] = r.array()?;
        Ok((signer, issued_at, expires_at, ds, body_len, sig))
    })()
    .map_err(Error::malformed("relay list"))?;
    r.finish().map_err(Error::malformed("relay list"))?;
    let (signer, issued_at, expires_at, ds, body_len, sig) = parsed;
    if signer != *trusted_signer {
        return Err(Error::BadSignature(
            "relay list (signed by an untrusted identity)",
        ));
    }
    crate::identity::verify(
        &signer,
        LIST_SIG_CONTEXT,
        &bytes[..body_len],
        &sig,
        "relay list",
    )?;
    if !(issued_at <= now && now < expires_at) {
        return Err(Error::Expired {
            what: "relay list",
            from: issued_at,
            until: expires_at,
            now,
        });
    }
    let mut relays = Vec::new();
    let mut rejected = Vec::new();
    for (index, d) in ds.into_iter().enumerate() {
        match UncheckedDescriptor::decode(&d).and_then(|u| u.check(now)) {
            Ok(desc) => relays.push((desc, d)),
            Err(error) => rejected.push(RejectedEntry {
                index,
                descriptor: d,
                error,
            }),
        }
    }
    Ok(RelayList {
        signer,
        relays,
        rejected,
    })
}
