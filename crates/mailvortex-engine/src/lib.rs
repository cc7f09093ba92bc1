//! # mailvortex-engine: a MailVortex node on the user's own mail accounts
//!
//! One typed API ([`Node`]) for every front end: the `mailvortex` command line, the desktop
//! app (a thin Tauri shell) and the local IMAP/SMTP bridge. It runs the protocol core over
//! real SMTP (lettre) and IMAP (async-imap), or over an in-process provider for the demo.
//!
//! ## Concepts
//! - A node lives in a home directory: `config.json` (no secrets), `vault/` (identity, epoch
//!   keys, passwords, encrypted under a key in the OS keychain or a passphrase), and
//!   `store.sqlite` (outbox, replay tags, shards, peers, delivery history; received messages
//!   encrypted at rest).
//! - [`Node::send`] seals and queues; [`Node::run`] moves mail; [`Node::subscribe`] streams
//!   [`events::Event`]s for status displays.
//! - Every delay reads [`clock::Clock`], which can run faster than real time.
//!
//! ## What this crate must never do
//! - Delete or alter a mail that is not a carrier whose effect is already committed: ordinary
//!   mail is only ever read with `BODY.PEEK[]`.
//! - Write a secret to disk unencrypted, or log a secret, a far-end address, a subject or content.
//! - Send more from an account than its daily budget.
//! - Deliver to an address that is not a known MailVortex node (unless the operator opts in).

pub mod api;
pub mod clock;
pub mod config;
pub mod directory;
pub mod error;
pub mod events;
pub mod human;
pub mod keys;
pub mod level_figures;
pub mod localnet;
pub mod node;
pub mod transport;

pub use api::{
    MessageStatus, ReceivedMessageView, ReceivedSummary, RelayHealth, SendRequest, TimelineEntry,
};
pub use clock::Clock;
pub use config::{AccountConfig, NodeConfig, ServerConfig};
pub use directory::{PeerSummary, RelayListImport, SkippedRelay};
pub use error::{AccountCheckError, EngineError, Result};
pub use events::{Event, Narration, StepKind};
pub use human::human_duration;
pub use level_figures::{
    LevelDescription, LevelFigures, figures_for, level_descriptions, level_figures, mails_for,
};
pub use node::default_templates_toml;
pub use node::{
    AccountCheck, CANCELLED, CreateOptions, MAX_ATTEMPTS, Node, NodeOptions, RetryReason,
    TransportChoice, reply_subject,
};
pub use transport::memory::MemoryProvider;
pub use transport::tls::Security;
