//! Received messages, encrypted at rest under the [`StoreKey`](crate::StoreKey).

use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::db::Store;
use crate::error::{SqlContext, StoreError};
use crate::key::{DOMAIN_MESSAGE_IN, StoreKey};
use crate::shards::delete_shards_on;
use crate::types::{MessageId, NodeId, hex};

/// A received message to store.
#[derive(Clone, Debug)]
pub struct NewMessageIn<'a> {
    /// Its id.
    pub message_id: MessageId,
    /// The sender's node, if known.
    pub from_node_id: Option<NodeId>,
    /// Now (unix ms).
    pub received_ms: i64,
    /// The plaintext body (sealed before it is written).
    pub body: &'a [u8],
}

/// Metadata of a received message (no body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInMeta {
    /// Its id.
    pub message_id: MessageId,
    /// The sender's node, if known.
    pub from_node_id: Option<NodeId>,
    /// Arrival (unix ms).
    pub received_ms: i64,
    /// Whether the user has read it.
    pub read: bool,
}

/// A received message with its decrypted body.
#[derive(Debug)]
pub struct MessageIn {
    /// Its metadata.
    pub meta: MessageInMeta,
    /// The body (wiped on drop).
    pub body: Zeroizing<Vec<u8>>,
}

pub(crate) fn insert_on(
    conn: &Connection,
    key: &StoreKey,
    m: &NewMessageIn<'_>,
) -> Result<bool, StoreError> {
    let sealed = key.seal(DOMAIN_MESSAGE_IN, &m.message_id, m.body)?;
    let n = conn
        .prepare_cached(
            "INSERT INTO messages_in (message_id, from_node_id, received_ms, sealed)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (message_id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![m.message_id, m.from_node_id, m.received_ms, sealed]))
        .ctx("messages_in.insert")?;
    Ok(n == 1)
}

impl Store {
    /// Stores a received message (body sealed). Idempotent: a second insert
    /// of the same id changes nothing and returns `false`.
    pub fn insert_message_in(&self, m: &NewMessageIn<'_>) -> Result<bool, StoreError> {
        insert_on(&self.conn, &self.key, m)
    }

    /// Reassembly done: stores the message and deletes its shards in one
    /// transaction. Returns whether the message was new.
    pub fn complete_inbound(&self, m: &NewMessageIn<'_>) -> Result<bool, StoreError> {
        self.write_tx("messages_in.complete", |tx| {
            let new = insert_on(tx, &self.key, m)?;
            delete_shards_on(tx, &m.message_id)?;
            Ok(new)
        })
    }

    /// Metadata of all received messages, newest first.
    pub fn messages_in(&self) -> Result<Vec<MessageInMeta>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT message_id, from_node_id, received_ms, read FROM messages_in
                 ORDER BY received_ms DESC, message_id",
            )
            .ctx("messages_in.list")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MessageInMeta {
                    message_id: r.get(0)?,
                    from_node_id: r.get(1)?,
                    received_ms: r.get(2)?,
                    read: r.get(3)?,
                })
            })
            .ctx("messages_in.list")?;
        rows.collect::<Result<_, _>>().ctx("messages_in.list")
    }

    /// One received message, decrypted. A row that does not authenticate
    /// (modified, or copied from another row) is [`StoreError::Corrupt`].
    pub fn message_in(&self, message_id: &MessageId) -> Result<Option<MessageIn>, StoreError> {
        let row: Option<(Option<NodeId>, i64, bool, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT from_node_id, received_ms, read, sealed FROM messages_in
                 WHERE message_id = ?1",
                [message_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .ctx("messages_in.get")?;
        let Some((from_node_id, received_ms, read, sealed)) = row else {
            return Ok(None);
        };
        let body = self
            .key
            .open(DOMAIN_MESSAGE_IN, message_id, &sealed)
            .map_err(|reason| StoreError::Corrupt {
                what: format!("received message {}", hex(message_id)),
                reason,
            })?;
        Ok(Some(MessageIn {
            meta: MessageInMeta {
                message_id: *message_id,
                from_node_id,
                received_ms,
                read,
            },
            body,
        }))
    }

    /// Sets the read flag.
    pub fn set_message_in_read(
        &self,
        message_id: &MessageId,
        read: bool,
    ) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE messages_in SET read = ?2 WHERE message_id = ?1",
                params![message_id, read],
            )
            .ctx("messages_in.set_read")?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "received message",
                id: hex(message_id),
            });
        }
        Ok(())
    }

    /// Deletes a received message; returns whether it existed.
    pub fn delete_message_in(&self, message_id: &MessageId) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "DELETE FROM messages_in WHERE message_id = ?1",
                [message_id],
            )
            .ctx("messages_in.delete")?;
        Ok(n == 1)
    }
}
