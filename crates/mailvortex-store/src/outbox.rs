//! The outbox: packets waiting to be sent, and the send log for budgets.
//!
//! A relay's delay queue is the same table: forwarded packets are `Relay`
//! rows whose `not_before_ms` lies in the future.
//!
//! Life of a row: [`Store::enqueue`] (`queued`) → [`Store::due`] lists it once
//! `not_before_ms <= now` → [`Store::mark_sending`] (`sending`, `attempts + 1`,
//! *before* the SMTP attempt) → one of [`Store::mark_sent`],
//! [`Store::mark_retry`] (back to `queued` with a later `not_before_ms`) or
//! [`Store::mark_failed`]. After a crash, [`Store::recover_interrupted`]
//! puts `sending` rows back to `queued`: a packet may then be sent twice, so
//! receivers must be idempotent (replay tags, `insert_shard`).

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::db::Store;
use crate::error::{SqlContext, StoreError};
use crate::types::{MessageId, OutboxState, PacketKind};

/// A packet to enqueue.
#[derive(Clone, Debug)]
pub struct NewPacket<'a> {
    /// The message this packet belongs to (`None` for cover and relay traffic).
    pub message_id: Option<MessageId>,
    /// What the packet is.
    pub kind: PacketKind,
    /// The local account (e.g. its address) that must send it.
    pub account: &'a str,
    /// Recipient mail address.
    pub to_address: &'a str,
    /// The encoded packet.
    pub packet: &'a [u8],
    /// Not to be sent before this time (unix ms).
    pub not_before_ms: i64,
    /// Now (unix ms).
    pub created_ms: i64,
}

/// An outbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxPacket {
    /// Row id (never reused).
    pub id: i64,
    /// See [`NewPacket::message_id`].
    pub message_id: Option<MessageId>,
    /// See [`NewPacket::kind`].
    pub kind: PacketKind,
    /// Sending account.
    pub account: String,
    /// Recipient mail address.
    pub to_address: String,
    /// The packet (empty once sent).
    pub packet: Vec<u8>,
    /// Earliest send time (unix ms).
    pub not_before_ms: i64,
    /// Number of `mark_sending` calls so far.
    pub attempts: u32,
    /// Last error recorded by `mark_retry` / `mark_failed`.
    pub last_error: Option<String>,
    /// Current state.
    pub state: OutboxState,
    /// Creation time (unix ms).
    pub created_ms: i64,
}

const COLUMNS: &str = "id, message_id, kind, account, to_address, packet, not_before_ms, \
                       attempts, last_error, state, created_ms";

fn row_to_packet(r: &Row<'_>) -> rusqlite::Result<OutboxPacket> {
    Ok(OutboxPacket {
        id: r.get(0)?,
        message_id: r.get(1)?,
        kind: r.get(2)?,
        account: r.get(3)?,
        to_address: r.get(4)?,
        packet: r.get(5)?,
        not_before_ms: r.get(6)?,
        attempts: r.get(7)?,
        last_error: r.get(8)?,
        state: r.get(9)?,
        created_ms: r.get(10)?,
    })
}

pub(crate) fn enqueue_on(conn: &Connection, p: &NewPacket<'_>) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox (message_id, kind, account, to_address, packet, not_before_ms, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            p.message_id,
            p.kind,
            p.account,
            p.to_address,
            p.packet,
            p.not_before_ms,
            p.created_ms
        ])
    })
    .ctx("outbox.enqueue")?;
    Ok(conn.last_insert_rowid())
}

impl Store {
    /// Queues a packet; returns its row id.
    pub fn enqueue(&self, packet: &NewPacket<'_>) -> Result<i64, StoreError> {
        enqueue_on(&self.conn, packet)
    }

    /// Queued packets with `not_before_ms <= now_ms`, earliest first (ties by
    /// id), at most `limit`. Does not change anything.
    pub fn due(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxPacket>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox
             WHERE state = 'queued' AND not_before_ms <= ?1
             ORDER BY not_before_ms, id LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql).ctx("outbox.due")?;
        let rows = stmt
            .query_map(params![now_ms, limit], row_to_packet)
            .ctx("outbox.due")?;
        rows.collect::<Result<_, _>>().ctx("outbox.due")
    }

    /// Packets of `message_id` not sent yet (queued, or being sent).
    pub fn unsent_packets(&self, message_id: &MessageId) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM outbox
                 WHERE message_id = ?1 AND state IN ('queued', 'sending')",
                [&message_id[..]],
                |r| r.get::<_, i64>(0),
            )
            .ctx("outbox.unsent")
            .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// The earliest `not_before_ms` of any queued packet (when to wake up next).
    pub fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT min(not_before_ms) FROM outbox WHERE state = 'queued'",
                [],
                |r| r.get(0),
            )
            .ctx("outbox.next_due")
    }

    /// One outbox row.
    pub fn outbox_packet(&self, id: i64) -> Result<Option<OutboxPacket>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1");
        self.conn
            .query_row(&sql, [id], row_to_packet)
            .optional()
            .ctx("outbox.get")
    }

    /// `queued → sending`, incrementing `attempts` *before* the attempt.
    /// Returns the new attempt count.
    pub fn mark_sending(&self, id: i64) -> Result<u32, StoreError> {
        self.write_tx("outbox.mark_sending", |tx| {
            let n = tx
                .execute(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1
                     WHERE id = ?1 AND state = 'queued'",
                    [id],
                )
                .ctx("outbox.mark_sending")?;
            if n == 0 {
                return Err(transition_error(tx, id, "queued"));
            }
            tx.query_row("SELECT attempts FROM outbox WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .ctx("outbox.mark_sending")
        })
    }

    /// `sending → sent`: erases the packet bytes and logs the send for the
    /// account's budget, in one transaction.
    pub fn mark_sent(&self, id: i64, sent_ms: i64) -> Result<(), StoreError> {
        self.write_tx("outbox.mark_sent", |tx| {
            let account: Option<String> = tx
                .query_row(
                    "UPDATE outbox SET state = 'sent', packet = X''
                     WHERE id = ?1 AND state = 'sending' RETURNING account",
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .ctx("outbox.mark_sent")?;
            let Some(account) = account else {
                return Err(transition_error(tx, id, "sending"));
            };
            record_send_on(tx, &account, sent_ms)
        })
    }

    /// `sending → queued` with `not_before_ms = next_ms` and the error text.
    pub fn mark_retry(&self, id: i64, error: &str, next_ms: i64) -> Result<(), StoreError> {
        self.write_tx("outbox.mark_retry", |tx| {
            let n = tx
                .execute(
                    "UPDATE outbox SET state = 'queued', last_error = ?2, not_before_ms = ?3
                     WHERE id = ?1 AND state = 'sending'",
                    params![id, error, next_ms],
                )
                .ctx("outbox.mark_retry")?;
            if n == 0 {
                return Err(transition_error(tx, id, "sending"));
            }
            Ok(())
        })
    }

    /// `sending → failed` with the error text. The packet bytes are kept for
    /// inspection until [`Store::prune_outbox`].
    pub fn mark_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.write_tx("outbox.mark_failed", |tx| {
            let n = tx
                .execute(
                    "UPDATE outbox SET state = 'failed', last_error = ?2
                     WHERE id = ?1 AND state = 'sending'",
                    params![id, error],
                )
                .ctx("outbox.mark_failed")?;
            if n == 0 {
                return Err(transition_error(tx, id, "sending"));
            }
            Ok(())
        })
    }

    /// Withdraws the queued packets of `message_id` (the sender stopped the message): they
    /// become `failed` with `error` and never leave. Packets being handed to the mail server
    /// at this moment are not touched. Returns how many were withdrawn.
    pub fn withdraw_queued(
        &self,
        message_id: &MessageId,
        error: &str,
    ) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET state = 'failed', last_error = ?2
                 WHERE message_id = ?1 AND state = 'queued'",
                params![&message_id[..], error],
            )
            .ctx("outbox.withdraw_queued")
    }

    /// At start-up: every `sending` row (interrupted by a crash) goes back
    /// to `queued`. Returns how many.
    pub fn recover_interrupted(&self) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET state = 'queued' WHERE state = 'sending'",
                [],
            )
            .ctx("outbox.recover_interrupted")
    }

    /// Deletes `sent` and `failed` rows created before `before_ms`.
    pub fn prune_outbox(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM outbox WHERE state IN ('sent', 'failed') AND created_ms < ?1",
                [before_ms],
            )
            .ctx("outbox.prune")
    }

    /// Logs a send that did not go through the outbox (counts for budgets).
    pub fn record_send(&self, account: &str, sent_ms: i64) -> Result<(), StoreError> {
        record_send_on(&self.conn, account, sent_ms)
    }

    /// Number of sends by `account` with `sent_ms >= since_ms` (for daily
    /// budgets: `since_ms = now - 24 h`).
    pub fn sends_since(&self, account: &str, since_ms: i64) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM sends WHERE account = ?1 AND sent_ms >= ?2")
            .and_then(|mut s| s.query_row(params![account, since_ms], |r| r.get(0)))
            .ctx("sends.since")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Sends per account with `sent_ms >= since_ms`, by account name.
    pub fn sends_per_account_since(&self, since_ms: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT account, count(*) FROM sends WHERE sent_ms >= ?1
                 GROUP BY account ORDER BY account",
            )
            .ctx("sends.per_account")?;
        let rows = stmt
            .query_map([since_ms], |r| {
                let n: i64 = r.get(1)?;
                Ok((r.get(0)?, u64::try_from(n).unwrap_or(0)))
            })
            .ctx("sends.per_account")?;
        rows.collect::<Result<_, _>>().ctx("sends.per_account")
    }

    /// Deletes send-log entries older than `before_ms`.
    pub fn prune_sends(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.conn
            .execute("DELETE FROM sends WHERE sent_ms < ?1", [before_ms])
            .ctx("sends.prune")
    }
}

fn record_send_on(conn: &Connection, account: &str, sent_ms: i64) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO sends (account, sent_ms) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![account, sent_ms]))
        .ctx("sends.record")?;
    Ok(())
}

/// Explains why a guarded `UPDATE` touched no row.
fn transition_error(conn: &Connection, id: i64, expected: &'static str) -> StoreError {
    let state: Result<Option<String>, _> = conn
        .query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0))
        .optional();
    match state {
        Ok(Some(actual)) => StoreError::WrongState {
            id,
            actual,
            expected,
        },
        Ok(None) => StoreError::NotFound {
            what: "outbox packet",
            id: id.to_string(),
        },
        Err(source) => StoreError::Sqlite {
            op: "outbox.transition",
            source,
        },
    }
}
