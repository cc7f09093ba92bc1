//! Inbound shards awaiting reassembly, sealed at rest.
//!
//! Shards are stored encrypted under the [`StoreKey`](crate::StoreKey) like
//! received messages (binding: message id and shard index), because what a
//! shard contains depends on the erasure code and must not be assumed to be
//! ciphertext.

use rusqlite::{Connection, params};
use zeroize::Zeroizing;

use crate::db::Store;
use crate::error::{SqlContext, StoreError};
use crate::key::{DOMAIN_SHARD, StoreKey};
use crate::types::{MessageId, hex};

/// One stored shard, decrypted.
#[derive(Debug)]
pub struct InboundShard {
    /// Its index in the erasure code.
    pub index: u32,
    /// The shard bytes (wiped on drop).
    pub data: Zeroizing<Vec<u8>>,
    /// When it arrived (unix ms).
    pub received_ms: i64,
}

fn binding(message_id: &MessageId, index: u32) -> [u8; 20] {
    let mut b = [0u8; 20];
    b[..16].copy_from_slice(message_id);
    b[16..].copy_from_slice(&index.to_be_bytes());
    b
}

pub(crate) fn insert_shard_on(
    conn: &Connection,
    key: &StoreKey,
    message_id: &MessageId,
    index: u32,
    shard: &[u8],
    received_ms: i64,
) -> Result<bool, StoreError> {
    let sealed = key.seal(DOMAIN_SHARD, &binding(message_id, index), shard)?;
    let n = conn
        .prepare_cached(
            "INSERT INTO inbound_shards (message_id, shard_index, sealed, received_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (message_id, shard_index) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![message_id, index, sealed, received_ms]))
        .ctx("shards.insert")?;
    Ok(n == 1)
}

pub(crate) fn shard_count_on(conn: &Connection, message_id: &MessageId) -> Result<u32, StoreError> {
    conn.prepare_cached("SELECT count(*) FROM inbound_shards WHERE message_id = ?1")
        .and_then(|mut s| s.query_row([message_id], |r| r.get(0)))
        .ctx("shards.count")
}

pub(crate) fn delete_shards_on(
    conn: &Connection,
    message_id: &MessageId,
) -> Result<usize, StoreError> {
    conn.prepare_cached("DELETE FROM inbound_shards WHERE message_id = ?1")
        .and_then(|mut s| s.execute([message_id]))
        .ctx("shards.delete")
}

impl Store {
    /// Stores a shard unless one with the same (message, index) is already
    /// there. Returns whether it was new.
    pub fn insert_shard(
        &self,
        message_id: &MessageId,
        index: u32,
        shard: &[u8],
        received_ms: i64,
    ) -> Result<bool, StoreError> {
        insert_shard_on(&self.conn, &self.key, message_id, index, shard, received_ms)
    }

    /// All shards of a message, by index, decrypted.
    pub fn shards(&self, message_id: &MessageId) -> Result<Vec<InboundShard>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT shard_index, sealed, received_ms FROM inbound_shards
                 WHERE message_id = ?1 ORDER BY shard_index",
            )
            .ctx("shards.list")?;
        let rows = stmt
            .query_map([message_id], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?, r.get(2)?))
            })
            .ctx("shards.list")?;
        let mut out = Vec::new();
        for row in rows {
            let (index, sealed, received_ms) = row.ctx("shards.list")?;
            let data = self
                .key
                .open(DOMAIN_SHARD, &binding(message_id, index), &sealed)
                .map_err(|reason| StoreError::Corrupt {
                    what: format!("shard {index} of message {}", hex(message_id)),
                    reason,
                })?;
            out.push(InboundShard {
                index,
                data,
                received_ms,
            });
        }
        Ok(out)
    }

    /// Number of distinct shards stored for a message.
    pub fn shard_count(&self, message_id: &MessageId) -> Result<u32, StoreError> {
        shard_count_on(&self.conn, message_id)
    }

    /// Deletes all shards of a message; returns how many.
    pub fn delete_shards(&self, message_id: &MessageId) -> Result<usize, StoreError> {
        delete_shards_on(&self.conn, message_id)
    }

    /// Deletes the shards of every message whose newest shard arrived before
    /// `before_ms` (reassembly that will never complete). Returns how many
    /// shards were deleted.
    pub fn prune_stale_shards(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM inbound_shards WHERE message_id IN (
                     SELECT message_id FROM inbound_shards
                     GROUP BY message_id HAVING max(received_ms) < ?1)",
                [before_ms],
            )
            .ctx("shards.prune_stale")
    }
}
