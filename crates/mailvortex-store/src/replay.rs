//! Replay protection, and the two "accept" operations that tie a replay tag
//! to the effect of the packet in one transaction.
//!
//! Why the combined operations: if the tag were committed first and the
//! process crashed before the packet's effect (a forwarded packet, a stored
//! shard) was committed, the mail — not yet deleted from the IMAP server —
//! would be fetched again after restart, rejected as a replay, and lost.

use rusqlite::{Connection, params};

use crate::db::Store;
use crate::error::{SqlContext, StoreError};
use crate::outbox::{NewPacket, enqueue_on};
use crate::shards::{insert_shard_on, shard_count_on};
use crate::types::{MessageId, ReplayTag};

/// Result of [`Store::accept_shard`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardAccept {
    /// The replay tag was seen before: nothing was stored.
    Replayed,
    /// Fresh tag, but this (message, index) shard was already stored.
    Duplicate {
        /// Distinct shards now stored for the message.
        count: u32,
    },
    /// Stored.
    New {
        /// Distinct shards now stored for the message.
        count: u32,
    },
}

fn insert_tag_on(conn: &Connection, epoch: u32, tag: &ReplayTag) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO replay_tags (epoch, tag) VALUES (?1, ?2)
             ON CONFLICT (epoch, tag) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![epoch, tag]))
        .ctx("replay.check_and_insert")?;
    Ok(n == 1)
}

impl Store {
    /// Records `(epoch, tag)`; returns `true` if it was fresh, `false` if it
    /// was already recorded (a replay). Atomic across connections and
    /// processes: of concurrent callers with the same tag exactly one gets
    /// `true`.
    pub fn check_and_insert_replay_tag(
        &self,
        epoch: u32,
        tag: &ReplayTag,
    ) -> Result<bool, StoreError> {
        insert_tag_on(&self.conn, epoch, tag)
    }

    /// Deletes the tags of epochs `< min_epoch` (their keys are retired, so
    /// their packets cannot be processed any more). Returns how many.
    pub fn prune_replay_tags(&self, min_epoch: u32) -> Result<usize, StoreError> {
        self.conn
            .execute("DELETE FROM replay_tags WHERE epoch < ?1", [min_epoch])
            .ctx("replay.prune")
    }

    /// A relay hop: if the tag is fresh, records it and enqueues the
    /// forwarded packet in one transaction and returns the outbox id;
    /// returns `None` for a replay (nothing stored). Only after this returns
    /// may the incoming mail be deleted.
    pub fn accept_relay(
        &self,
        epoch: u32,
        tag: &ReplayTag,
        forward: &NewPacket<'_>,
    ) -> Result<Option<i64>, StoreError> {
        self.write_tx("replay.accept_relay", |tx| {
            if !insert_tag_on(tx, epoch, tag)? {
                return Ok(None);
            }
            enqueue_on(tx, forward).map(Some)
        })
    }

    /// The final hop: if the tag is fresh, records it and stores the shard in
    /// one transaction. Only after this returns may the incoming mail be
    /// deleted.
    pub fn accept_shard(
        &self,
        epoch: u32,
        tag: &ReplayTag,
        message_id: &MessageId,
        index: u32,
        shard: &[u8],
        received_ms: i64,
    ) -> Result<ShardAccept, StoreError> {
        self.write_tx("replay.accept_shard", |tx| {
            if !insert_tag_on(tx, epoch, tag)? {
                return Ok(ShardAccept::Replayed);
            }
            let new = insert_shard_on(tx, &self.key, message_id, index, shard, received_ms)?;
            let count = shard_count_on(tx, message_id)?;
            Ok(if new {
                ShardAccept::New { count }
            } else {
                ShardAccept::Duplicate { count }
            })
        })
    }
}
