//! # mailvortex-proto: the MailVortex protocol core
//!
//! Turns a message into fixed-size onion-encrypted packets for chosen routes and back,
//! without doing any I/O. The normative description is `docs/spec/mailvortex-protocol.md`.
//!
//! ## Which type for which job
//! - Keys: [`identity::Identity`] (long-term Ed25519), [`identity::EpochSecret`] (X25519, per epoch).
//! - Directory: [`descriptor::Descriptor`], parsed as [`descriptor::UncheckedDescriptor`] and checked.
//! - Sending: [`message::prepare_message`] → packets for the first hops.
//! - Relaying and receiving: [`packet::open_packet`] → replay check by the caller →
//!   [`packet::OpenedPacket::into_routing`].
//! - Receiving messages: [`message::open_shard`] per delivered payload, [`message::rebuild`] once
//!   `k` shards are in.
//! - Replies and receipts: [`surb`].
//! - Choosing routes: [`level`] and [`route`]. Paying for relaying: [`puzzle`].
//!
//! ## What this crate must never do
//! No sockets, files, clocks, threads or global randomness: time (`now`, unix seconds) and
//! randomness (`RngCore + CryptoRng`) come in as arguments, so everything is testable with
//! vectors and fuzzable. It never logs. Parsers never panic and reject trailing or missing bytes.
//!
//! ## Cargo features (none changes a byte of output)
//! - `parallel` (off by default): adds [`send::prepare_message_parallel`], which builds a message's packets on
//!   all cores with rayon's global thread pool. This is the only place the crate uses threads,
//!   and only with this feature. Every random value is still drawn from the caller's RNG on the
//!   calling thread, in the order [`send::prepare_message`] draws it, so both give the same
//!   bytes for the same RNG.
//! - `simd` (on by default): computes the XSalsa20 layers (and the message secretbox) eight blocks at a time
//!   with the `wide` crate's safe SIMD types; the same bytes as the `salsa20` crate (tested),
//!   about 2× faster on x86-64. Without it (`default-features = false`) the `salsa20` crate
//!   is used. See `docs/performance.md`.

pub mod address_proof;
pub mod codec;
pub mod descriptor;
pub mod error;
pub mod identity;
pub mod kdf;
pub mod level;
pub mod message;
pub mod packet;
pub mod puzzle;
pub mod relay_list;
pub mod route;
pub mod send;
pub mod surb;

pub use error::{DecodeError, Error};
