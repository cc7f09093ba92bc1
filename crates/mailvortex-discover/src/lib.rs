//! Finds a user's IMAP and SMTP settings, so that setting up MailVortex needs no more than
//! an address and a password.
//!
//! Two ways, both returning typed [`DiscoveredAccount`]s that say where they were found:
//!
//! * **Local profiles** ([`scan_local`]): the accounts already set up in Thunderbird (also
//!   its Snap and Flatpak), Evolution (also Flatpak and Snap), GNOME Online Accounts, Geary and
//!   KMail, read from their settings files under a [`LocalRoots`] the caller gives. Windows and
//!   macOS Thunderbird locations are covered too. Entries that exist but cannot be used (POP3,
//!   switched off, no address) are listed in [`LocalScan::skipped`] with the reason.
//! * **From an address** ([`Discoverer`], [`discover_address`]): the provider's autoconfig
//!   server, the domain's `.well-known` autoconfig file, Thunderbird's ISP database and DNS SRV
//!   records (RFC 6186, RFC 8314), asked at once; if none of them gives both servers, probing
//!   of common host names and ports, implicit TLS before STARTTLS, in parallel with short
//!   timeouts ([`probe`]). Every URL template, the DNS server, the timeouts and an extra CA are
//!   set in a [`DiscoveryConfig`], so tests run against loopback servers. Providers that need
//!   an app password or OAuth2 get an [`AuthHint`] with a plain explanation and a link.
//!
//! The parsers ([`profiles::prefs::Prefs::parse`], [`keyfile::KeyFile::parse`],
//! [`autoconfig::parse`] and the per-program `accounts_from_*` functions) are pure functions
//! over text; they accept anything and never panic.
//!
//! # What this crate must never do
//!
//! * **Read a password**, token or key: it opens only the settings files it names and refuses
//!   `logins.json`, `key4.db`, keyrings and wallets by name ([`profiles::is_secret_file`]).
//!   A password reaches this crate only inside the caller's [`probe::LoginCheck`].
//! * **Write anything**: no file, cache or setting is created or changed.
//! * **Contact a server without being asked**: [`scan_local`] is file-only, building a
//!   [`Discoverer`] contacts nothing, and only [`Discoverer::discover`],
//!   [`discover_address`], [`probe::probe`] and [`probe::check_server`] open connections,
//!   each only to the URLs, DNS server and hosts of its configuration. Plain-text HTTP is
//!   never used, and probing never tries unencrypted ports.
//! * Send a password to more than one server at a time: with a login check, probed servers
//!   are tried one after the other.
//!
//! # Intended call sequence
//!
//! ```no_run
//! use mailvortex_discover::{DiscoveryConfig, Discoverer, LocalRoots, scan_local};
//!
//! # async fn run() -> Result<(), mailvortex_discover::Error> {
//! // 1. With the user's consent, look at the mail programs already set up (files only).
//! if let Some(roots) = LocalRoots::from_env() {
//!     let local = scan_local(&roots);
//!     for a in &local.accounts {
//!         println!("{} found in {}", a.address, a.source);
//!     }
//! }
//! // 2. Or start from an address: autoconfig, .well-known, ISPDB and SRV at once, then probing.
//! let discoverer = Discoverer::new(DiscoveryConfig::default())?;
//! let found = discoverer.discover("jo@example.org").await?;
//! if let Some(best) = found.best() {
//!     println!("IMAP {:?}, SMTP {:?}", best.imap, best.smtp);
//!     if let Some(hint) = &best.needs {
//!         println!("{} {}", hint.explanation, hint.link.as_deref().unwrap_or(""));
//!     }
//! }
//! for step in &found.steps {
//!     println!("{:?} {}: {:?}", step.kind, step.what, step.outcome);
//! }
//! // 3. The caller checks the login with the password (the engine: `Node::check_account`),
//! //    or passes that check to `discover_with_login` so that probing keeps the first server
//! //    that accepts it.
//! # Ok(())
//! # }
//! ```

pub mod autoconfig;
pub mod discover;
pub mod error;
mod hints;
pub mod keyfile;
pub mod model;
pub mod probe;
pub mod profiles;
pub mod srv;
pub mod tls;

use std::pin::Pin;

pub use discover::{
    AddressDiscovery, Discoverer, DiscoveryConfig, Dns, Step, StepOutcome, discover_address,
};
pub use error::Error;
pub use model::{
    AuthHint, AuthHintKind, DiscoveredAccount, Protocol, Security, ServerSetting, Skipped, Source,
    SourceKind, dedupe,
};
pub use probe::{LoginAttempt, LoginCheck, ProbeConfig, ProbeReport};
pub use profiles::{LocalRoots, LocalScan, Platform, scan_local};

/// A boxed future, for the object-safe traits ([`srv::SrvResolver`], [`probe::LoginCheck`]).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
