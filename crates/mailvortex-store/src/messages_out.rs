//! Sent messages and their delivery timeline.

use rusqlite::{OptionalExtension, Row, params};

use crate::db::Store;
use crate::error::{SqlContext, StoreError};
use crate::types::{DeliveryState, MessageId, hex};

/// A message to record as sent.
#[derive(Clone, Debug)]
pub struct NewMessageOut<'a> {
    /// Its id.
    pub message_id: MessageId,
    /// Recipient mail address.
    pub to_address: &'a str,
    /// Anonymity level (as named by the protocol crate).
    pub level: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// Now (unix ms).
    pub created_ms: i64,
}

/// A sent message with its current state (the newest event's state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageOut {
    /// Its id.
    pub message_id: MessageId,
    /// Recipient mail address.
    pub to_address: String,
    /// Anonymity level.
    pub level: String,
    /// Size in bytes.
    pub size: u64,
    /// Creation time (unix ms).
    pub created_ms: i64,
    /// State of the newest event (by time, then insertion order).
    pub state: DeliveryState,
}

/// One event of a delivery timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// New state.
    pub state: DeliveryState,
    /// When (unix ms).
    pub at_ms: i64,
    /// Free text (an error, the number of packets, ...).
    pub detail: Option<String>,
}

fn row_to_message(r: &Row<'_>) -> rusqlite::Result<MessageOut> {
    let size: i64 = r.get(3)?;
    Ok(MessageOut {
        message_id: r.get(0)?,
        to_address: r.get(1)?,
        level: r.get(2)?,
        size: u64::try_from(size).unwrap_or(0),
        created_ms: r.get(4)?,
        state: r.get(5)?,
    })
}

const COLUMNS: &str = "message_id, to_address, level, size, created_ms, state";

impl Store {
    /// Records a new sent message with a first `queued` event at
    /// `created_ms`. Returns `false` (and changes nothing) if the id exists.
    pub fn create_message_out(&self, m: &NewMessageOut<'_>) -> Result<bool, StoreError> {
        self.write_tx("messages_out.create", |tx| create_on(tx, m))
    }

    /// Appends an event to a message's timeline and updates its state to the
    /// newest event's.
    pub fn record_delivery_event(
        &self,
        message_id: &MessageId,
        state: DeliveryState,
        at_ms: i64,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write_tx("messages_out.record_event", |tx| {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM messages_out WHERE message_id = ?1",
                    [message_id],
                    |r| r.get(0),
                )
                .optional()
                .ctx("messages_out.record_event")?;
            if exists.is_none() {
                return Err(StoreError::NotFound {
                    what: "sent message",
                    id: hex(message_id),
                });
            }
            tx.execute(
                "INSERT INTO delivery_events (message_id, state, at_ms, detail)
                 VALUES (?1, ?2, ?3, ?4)",
                params![message_id, state, at_ms, detail],
            )
            .ctx("messages_out.record_event")?;
            tx.execute(
                "UPDATE messages_out SET state = (
                     SELECT state FROM delivery_events WHERE message_id = ?1
                     ORDER BY at_ms DESC, id DESC LIMIT 1)
                 WHERE message_id = ?1",
                [message_id],
            )
            .ctx("messages_out.record_event")?;
            Ok(())
        })
    }

    /// One sent message.
    pub fn message_out(&self, message_id: &MessageId) -> Result<Option<MessageOut>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM messages_out WHERE message_id = ?1");
        self.conn
            .query_row(&sql, [message_id], row_to_message)
            .optional()
            .ctx("messages_out.get")
    }

    /// Sent messages, newest first, at most `limit`.
    pub fn messages_out(&self, limit: u32) -> Result<Vec<MessageOut>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM messages_out ORDER BY created_ms DESC, message_id LIMIT ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql).ctx("messages_out.list")?;
        let rows = stmt
            .query_map([limit], row_to_message)
            .ctx("messages_out.list")?;
        rows.collect::<Result<_, _>>().ctx("messages_out.list")
    }

    /// The timeline of a message, oldest first (ties in insertion order).
    pub fn delivery_timeline(
        &self,
        message_id: &MessageId,
    ) -> Result<Vec<DeliveryEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT state, at_ms, detail FROM delivery_events
                 WHERE message_id = ?1 ORDER BY at_ms, id",
            )
            .ctx("messages_out.timeline")?;
        let rows = stmt
            .query_map([message_id], |r| {
                Ok(DeliveryEvent {
                    state: r.get(0)?,
                    at_ms: r.get(1)?,
                    detail: r.get(2)?,
                })
            })
            .ctx("messages_out.timeline")?;
        rows.collect::<Result<_, _>>().ctx("messages_out.timeline")
    }

    /// Deletes a sent message and its timeline; returns whether it existed.
    pub fn delete_message_out(&self, message_id: &MessageId) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "DELETE FROM messages_out WHERE message_id = ?1",
                [message_id],
            )
            .ctx("messages_out.delete")?;
        Ok(n == 1)
    }
}

pub(crate) fn create_on(
    tx: &rusqlite::Connection,
    m: &NewMessageOut<'_>,
) -> Result<bool, StoreError> {
    let size = i64::try_from(m.size).map_err(|_| StoreError::InvalidInput {
        what: "message size above i64::MAX",
    })?;

    let n = tx
        .execute(
            "INSERT INTO messages_out (message_id, to_address, level, size, created_ms, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'queued')
                     ON CONFLICT (message_id) DO NOTHING",
            params![m.message_id, m.to_address, m.level, size, m.created_ms],
        )
        .ctx("messages_out.create")?;
    if n == 0 {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO delivery_events (message_id, state, at_ms, detail)
                 VALUES (?1, 'queued', ?2, NULL)",
        params![m.message_id, m.created_ms],
    )
    .ctx("messages_out.create")?;
    Ok(true)
}
