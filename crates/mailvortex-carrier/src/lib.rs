#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod build;
mod builtin;
mod date;
mod error;
mod extract;
pub mod templates;

pub use build::{CarrierParams, build_carrier};
pub use date::MailDate;
pub use error::{CarrierError, TemplateError};
pub use extract::{extract_packets, is_candidate};
pub use templates::{AttachmentTemplate, CarrierTemplates, Theme};

/// The only decoded attachment sizes a carrier ever has, in bytes:
/// 36 KiB, 40 KiB and 48 KiB. Each carrier picks one uniformly at random
/// (independently of the template) and fills the space after the packet
/// with random bytes. See the crate documentation for why these values.
pub const ATTACHMENT_BUCKETS: [usize; 3] = [36 * 1024, 40 * 1024, 48 * 1024];

/// Largest packet that can be carried: the smallest bucket, so every bucket
/// is always possible and the bucket choice never depends on the packet.
pub const MAX_PACKET_LEN: usize = ATTACHMENT_BUCKETS[0];

/// Smallest mail that can hold a bucket-sized base64 attachment: the
/// base64 length of the smallest bucket, without any line breaks.
pub const MIN_CARRIER_BYTES: usize = ATTACHMENT_BUCKETS[0].div_ceil(3) * 4;

/// Larger mails are never parsed by [`extract_packets`] (`Ok(vec![])`).
/// A carrier is about 70 KB; this leaves room for relays' trace headers and
/// for several carriers in one mail.
pub const MAX_MAIL_BYTES: usize = 1024 * 1024;

/// Longest top-level header section [`extract_packets`] accepts.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Most MIME parts (multipart containers included) [`extract_packets`]
/// accepts in one mail.
pub const MAX_PARTS: usize = 64;

/// Deepest multipart nesting [`extract_packets`] accepts (a carrier has 1).
pub const MAX_DEPTH: usize = 8;

/// Most candidates [`extract_packets`] returns for one mail.
pub const MAX_CANDIDATES: usize = 8;
