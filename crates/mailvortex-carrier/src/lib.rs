#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod build;
mod builtin;
mod container;
mod date;
mod error;
mod extract;
pub mod templates;

pub use build::{CarrierParams, build_carrier};
pub use container::{ContainerError, open_container};
pub use date::MailDate;
pub use error::{CarrierError, TemplateError};
pub use extract::{extract_packets, is_candidate};
pub use templates::{AttachmentTemplate, CarrierTemplates, Theme};

/// Smallest decoded attachment a carrier has, in bytes (36 KiB).
///
/// Every carrier's attachment is a PDF or ZIP file whose length is drawn
/// at random (independently of the packet and of the template) from
/// roughly `MIN_ATTACHMENT_BYTES + 256 ..= MAX_ATTACHMENT_BYTES`, in steps
/// of one image row (150–260 bytes). See the crate documentation.
pub const MIN_ATTACHMENT_BYTES: usize = 36 * 1024;

/// Largest decoded attachment a carrier has, in bytes (48 KiB).
pub const MAX_ATTACHMENT_BYTES: usize = 48 * 1024;

/// Largest packet that can be carried (35 KiB): with the container's own
/// bytes it always fits into the smallest attachment length, so the length
/// never depends on the packet.
pub const MAX_PACKET_LEN: usize = 35 * 1024;

/// Smallest mail that can hold a carrier attachment: the base64 length of
/// [`MIN_ATTACHMENT_BYTES`], without any line breaks.
pub const MIN_CARRIER_BYTES: usize = MIN_ATTACHMENT_BYTES.div_ceil(3) * 4;

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
