//! Typed errors of this crate.

/// Why a carrier could not be built, or why a mail could not be examined.
///
/// For [`extract_packets`](crate::extract_packets) every error means the same
/// thing to a node: "this mail is not a carrier, leave it alone".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarrierError {
    /// A From/To address is not a plain ASCII `local@domain` address.
    #[error("invalid {field} address: {reason}")]
    InvalidAddress {
        /// `"From"` or `"To"`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A display name contains control characters or is too long.
    #[error("invalid {field} display name: {reason}")]
    InvalidDisplayName {
        /// `"From"` or `"To"`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The date or its UTC offset is out of range.
    #[error("invalid date: {reason}")]
    InvalidDate {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The packet to wrap is empty.
    #[error("packet is empty")]
    EmptyPacket,
    /// The packet is longer than [`MAX_PACKET_LEN`](crate::MAX_PACKET_LEN).
    #[error("packet of {len} bytes exceeds the maximum of {max} bytes")]
    PacketTooLarge {
        /// Length of the packet given.
        len: usize,
        /// [`MAX_PACKET_LEN`](crate::MAX_PACKET_LEN).
        max: usize,
    },
    /// `packet_len` given to [`extract_packets`](crate::extract_packets) is
    /// zero or larger than [`MAX_PACKET_LEN`](crate::MAX_PACKET_LEN).
    #[error("packet length {len} is not in 1..={max}")]
    InvalidPacketLength {
        /// Length asked for.
        len: usize,
        /// [`MAX_PACKET_LEN`](crate::MAX_PACKET_LEN).
        max: usize,
    },
    /// The MIME serialiser failed (only possible on allocation failure).
    #[error("mail could not be serialised: {0}")]
    Build(#[source] std::io::Error),
    /// The top-level header section is longer than the limit.
    #[error("header section is longer than {limit} bytes")]
    HeadersTooLarge {
        /// [`MAX_HEADER_BYTES`](crate::MAX_HEADER_BYTES).
        limit: usize,
    },
    /// The mail has more MIME parts than the limit.
    #[error("mail has more than {limit} MIME parts")]
    TooManyParts {
        /// [`MAX_PARTS`](crate::MAX_PARTS).
        limit: usize,
    },
    /// Multiparts are nested deeper than the limit.
    #[error("MIME multiparts are nested deeper than {limit} levels")]
    NestingTooDeep {
        /// [`MAX_DEPTH`](crate::MAX_DEPTH).
        limit: usize,
    },
    /// The input is not a mail at all (no header section could be parsed).
    #[error("malformed mail: {0}")]
    Malformed(&'static str),
}

/// Why a template set was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The text is not valid TOML or does not have the expected fields.
    #[error("template file is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    /// The templates could not be written as TOML.
    #[error("templates could not be written as TOML: {0}")]
    Serialize(#[from] toml::ser::Error),
    /// No theme at all, or too many.
    #[error("a template set needs 1 to {max} themes, found {found}")]
    ThemeCount {
        /// Themes found.
        found: usize,
        /// [`MAX_THEMES`](crate::templates::MAX_THEMES).
        max: usize,
    },
    /// One entry (or list) of one theme is invalid.
    #[error("{location}: {problem}")]
    Invalid {
        /// Where, e.g. `theme 2 ("photos"), subjects[3]`.
        location: String,
        /// What is wrong, e.g. `unknown placeholder {foo}`.
        problem: String,
    },
}
