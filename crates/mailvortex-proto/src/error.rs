//! The one error type of this crate.

use thiserror::Error;

/// Why decoding bytes failed. Decoding never panics; every malformed input maps to one of these.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a field was complete.
    #[error("input truncated: needed {needed} more bytes")]
    Truncated { needed: usize },
    /// The input has bytes after the last field.
    #[error("{count} trailing bytes after the end of the structure")]
    TrailingBytes { count: usize },
    /// A version byte this implementation does not speak.
    #[error("unsupported version {0:#04x}")]
    UnsupportedVersion(u8),
    /// A field holds a value outside its allowed range.
    #[error("invalid {field}: {reason}")]
    InvalidValue {
        field: &'static str,
        reason: &'static str,
    },
}

/// Everything that can go wrong in the protocol core.
///
/// Variants are sorted by who is at fault: malformed input, a peer that breaks the rules,
/// a local precondition the caller must fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that do not parse.
    #[error("malformed {what}: {source}")]
    Malformed {
        what: &'static str,
        source: DecodeError,
    },
    /// The header MAC does not verify: junk, tampering, or a packet for another node or epoch.
    #[error("header authentication failed (not for us, or tampered)")]
    BadMac,
    /// The packet's replay tag was seen before.
    #[error("replayed packet")]
    Replay,
    /// The packet's proof of work is missing or below the required difficulty.
    #[error("proof of work below difficulty: needed {needed} bits, got {got}")]
    BadPuzzle { needed: u8, got: u8 },
    /// A signature does not verify.
    #[error("bad signature on {0}")]
    BadSignature(&'static str),
    /// A key, epoch or descriptor is outside its validity window.
    #[error("{what} expired or not yet valid (valid {from}..{until}, now {now})")]
    Expired {
        what: &'static str,
        from: u64,
        until: u64,
        now: u64,
    },
    /// The X25519 exchange produced a non-contributory (low-order) result.
    #[error("non-contributory X25519 key")]
    WeakKey,
    /// The end-to-end authenticator of a shard or message failed.
    #[error("end-to-end authentication failed for {0}")]
    EndToEndAuth(&'static str),
    /// Not enough shards to rebuild a message.
    #[error("need {needed} shards to rebuild the message, have {have}")]
    NotEnoughShards { needed: usize, have: usize },
    /// Shards that disagree about the message they belong to.
    #[error("inconsistent shard: {0}")]
    InconsistentShard(&'static str),
    /// A route the caller asked for cannot be built.
    #[error("route: {0}")]
    Route(&'static str),
    /// The caller asked for something out of the protocol's range.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A reply block that is unknown, used up, or does not match.
    #[error("unknown or used reply block")]
    UnknownReplyBlock,
}

impl Error {
    pub(crate) fn malformed(what: &'static str) -> impl FnOnce(DecodeError) -> Error {
        move |source| Error::Malformed { what, source }
    }
}
