//! Peers: invite links (`mailvortex:` URIs, also shown as QR codes) and descriptor import.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mailvortex_proto::descriptor::{Descriptor, UncheckedDescriptor};

use crate::error::{EngineError, Result};

/// URI scheme of invites.
pub const INVITE_SCHEME: &str = "mailvortex:";

/// The invite link for a signed descriptor.
pub fn invite_uri(signed_descriptor: &[u8]) -> String {
    format!(
        "{INVITE_SCHEME}{}",
        URL_SAFE_NO_PAD.encode(signed_descriptor)
    )
}

/// Parses an invite link (surrounding whitespace allowed) into checked descriptor bytes.
pub fn parse_invite(uri: &str, now: u64) -> Result<(Descriptor, Vec<u8>)> {
    let body = uri
        .trim()
        .strip_prefix(INVITE_SCHEME)
        .ok_or_else(|| EngineError::Invalid("an invite starts with mailvortex:".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body.trim_start_matches("//"))
        .map_err(|_| EngineError::Invalid("the invite is damaged (not base64url)".into()))?;
    let d = check_descriptor(&bytes, now)
        .map_err(|e| EngineError::Invalid(format!("the invite is damaged or expired: {e}")))?;
    Ok((d, bytes))
}

/// Checks signed descriptor bytes.
pub fn check_descriptor(bytes: &[u8], now: u64) -> Result<Descriptor> {
    Ok(UncheckedDescriptor::decode(bytes)?.check(now)?)
}

/// What the user sees about a peer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeerSummary {
    /// Node id (hex).
    pub node_id: String,
    /// Mail address.
    pub address: String,
    /// passive, stealth or public.
    pub peer_type: String,
    /// Whether it was new.
    pub new: bool,
}

/// What a relay list import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RelayListImport {
    /// The relays stored (new or updated).
    pub imported: Vec<PeerSummary>,
    /// Entries left out on purpose (this node's own descriptor).
    pub skipped: Vec<SkippedRelay>,
}

/// A relay list entry left out of an import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedRelay {
    /// Node id (hex).
    pub node_id: String,
    /// Mail address.
    pub address: String,
    /// Why it was left out.
    pub reason: String,
}

impl PeerSummary {
    pub(crate) fn of(d: &Descriptor, new: bool) -> Self {
        PeerSummary {
            node_id: d.node_id.to_hex(),
            address: d.address.clone(),
            peer_type: d.peer_type.name().into(),
            new,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_invites_are_refused() {
        assert!(parse_invite("https://x", 0).is_err());
        assert!(parse_invite("mailvortex:!!!", 0).is_err());
        assert!(parse_invite("mailvortex:AAAA", 0).is_err());
    }
}
