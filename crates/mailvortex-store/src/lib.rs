//! MailVortex durable state in SQLite: the outbox and relay delay queue, the
//! send log for per-account budgets, inbound shards awaiting reassembly,
//! replay tags, known peers, sent messages with their delivery timeline,
//! received messages (encrypted at rest) and a small settings table.
//!
//! # What this crate must never do
//!
//! * touch the network, or read the clock: every time is a parameter (unix
//!   milliseconds), so behaviour is deterministic and testable;
//! * report a write as done before it is durable (see below);
//! * write a received message body or a shard to disk unencrypted;
//! * hold secrets other than the [`StoreKey`] it is given (credentials live in
//!   `mailvortex-vault`; the `kv` table is plaintext).
//!
//! # Durability
//!
//! Rule for the engine: **never acknowledge or delete a mail before its effect
//! is durably stored.** Every public method is one SQLite transaction that is
//! durable when it returns `Ok`:
//!
//! * `journal_mode = WAL`: readers do not block the writer; a crash (process
//!   or power) rolls back uncommitted transactions, never a committed one.
//! * `synchronous = FULL` for the whole database (SQLite's setting is per
//!   connection, not per table): the WAL is fsynced at every commit.
//!   `NORMAL` would be consistent but could lose the last commits on power
//!   loss — after the engine had deleted the source mail. The cost is one
//!   fsync per commit, negligible at e-mail rates. Checkpoints run
//!   automatically (every 1000 pages); [`Store::checkpoint`] truncates the
//!   WAL when idle or before a backup.
//! * Multi-step effects are single transactions (`BEGIN IMMEDIATE`):
//!   [`Store::accept_relay`] (replay tag + forwarded packet),
//!   [`Store::accept_shard`] (replay tag + shard), [`Store::complete_inbound`]
//!   (message + deletion of its shards), [`Store::mark_sent`] (state + send
//!   log), [`Store::create_message_out`] (message + first event).
//! * `foreign_keys = ON`, `secure_delete = ON` (deleted rows are zeroed in
//!   the main file; copies may survive in the WAL until the next checkpoint),
//!   busy timeout [`BUSY_TIMEOUT`].
//!
//! # Schema
//!
//! Versioned by `PRAGMA user_version`; see the `migrations` module for the
//! SQL (all tables `STRICT`, surrogate ids `AUTOINCREMENT`):
//!
//! | table | key | purpose |
//! |---|---|---|
//! | `outbox` | `id` | packets to send: message id (16 B or NULL), kind (`message`/`relay`/`cover`), account, to_address, packet, not_before_ms, attempts, last_error, state (`queued`/`sending`/`sent`/`failed`), created_ms |
//! | `sends` | `id` | send log (account, sent_ms) for budgets |
//! | `inbound_shards` | `id`, unique (message_id, shard_index) | sealed shards, received_ms |
//! | `replay_tags` | (epoch, tag) | seen replay tags |
//! | `peers` | node_id | address, descriptor, imported/last-seen times, failures, successes, avoided_until_ms |
//! | `messages_out` | message_id | to_address, level, size, created_ms, state |
//! | `delivery_events` | `id` | message_id → messages_out (cascade), state, at_ms, detail |
//! | `messages_in` | message_id | from_node_id, received_ms, sealed body, read |
//! | `kv` | key | small plaintext settings |
//! | `store_key_check` | id = 1 | sealed constant: detects a wrong [`StoreKey`] at open |
//!
//! # Encryption at rest
//!
//! `messages_in.sealed` and `inbound_shards.sealed` are XSalsa20-Poly1305
//! (`crypto_secretbox`) under the [`StoreKey`], random nonce per row, with
//! the row's key inside the plaintext so rows cannot be swapped. Everything
//! else — addresses, peers, timelines, packet blobs (already onion-encrypted)
//! — is plaintext: whoever reads the file learns whom this node talks to.
//! Protect the node directory accordingly (the file is created 0600).

mod batch;
mod db;
mod error;
mod key;
mod kv;
mod messages_in;
mod messages_out;
mod migrations;
mod outbox;
mod peers;
mod replay;
mod shards;
mod types;

pub use crate::db::{BUSY_TIMEOUT, Store};
pub use crate::error::StoreError;
pub use crate::key::StoreKey;
pub use crate::messages_in::{MessageIn, MessageInMeta, NewMessageIn};
pub use crate::messages_out::{DeliveryEvent, MessageOut, NewMessageOut};
pub use crate::outbox::{NewPacket, OutboxPacket};
pub use crate::peers::PeerRecord;
pub use crate::replay::ShardAccept;
pub use crate::shards::InboundShard;
pub use crate::types::{DeliveryState, MessageId, NodeId, OutboxState, PacketKind, ReplayTag};
