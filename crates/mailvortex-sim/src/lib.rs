//! # mailvortex-sim: how anonymous MailVortex really is
//!
//! A deterministic discrete-event simulator of MailVortex over a network of mail accounts with
//! a virtual clock. It runs the real route planner (`mailvortex_proto::route::plan_paths`), the
//! real level table (`mailvortex_proto::level`), the real delay law
//! (`mailvortex_proto::send::sample_delay_ms`) and the real shard and packet sizes, and measures
//! what a global passive adversary learns: sender and receiver entropy per message, long-term
//! correspondent discovery, latency, delivery, bytes per delivered byte and sends against
//! provider quotas. The `mailvortex-sim` binary writes the published figures to
//! `docs/anonymity/`.
//!
//! Modules: [`model`] (the world and its knobs), [`events`] (the virtual clock), [`engine`]
//! (the simulation), [`adversary`] (label propagation), [`metrics`] (the figures),
//! [`experiments`] (reference and sweeps, run in parallel), [`report`], [`plot`] and
//! [`summary`] (output; `summary` writes the per-level figures user interfaces show).
//!
//! ## What this crate must never do
//! It never touches the network, a mail account or a real key: everything is simulated, and
//! a run is a pure function of its scenario and seed. It measures levels; it never changes
//! them (the level table lives in `mailvortex-proto`, and sweeps only override copies).

pub mod adversary;
pub mod engine;
pub mod events;
pub mod experiments;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod report;
pub mod summary;
