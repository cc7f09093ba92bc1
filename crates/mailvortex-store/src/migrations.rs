//! Versioned schema migrations.
//!
//! The schema version is `PRAGMA user_version`. Migration *n* moves the
//! database from version *n − 1* to *n*; each runs in its own `BEGIN
//! IMMEDIATE` transaction that re-reads the version (another process may have
//! migrated meanwhile), runs the step and bumps the version, so a crash
//! leaves the database at a whole version. Versions are consecutive from 1
//! (checked by a test). Rules for new steps (after Delta Chat's): never
//! change the type or meaning of a column; new columns are `NOT NULL` with a
//! `DEFAULT`; tables are `STRICT`; surrogate ids are `AUTOINCREMENT`.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{SqlContext, StoreError};

pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) sql: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: "
CREATE TABLE store_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BLOB NOT NULL
) STRICT;

CREATE TABLE kv (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB CHECK (message_id IS NULL OR length(message_id) = 16),
    kind TEXT NOT NULL CHECK (kind IN ('message', 'relay', 'cover')),
    account TEXT NOT NULL,
    to_address TEXT NOT NULL,
    packet BLOB NOT NULL,
    not_before_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error TEXT,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (state, not_before_ms, id);
CREATE INDEX outbox_message ON outbox (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    sent_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sends_account_time ON sends (account, sent_ms);

CREATE TABLE inbound_shards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB NOT NULL CHECK (length(message_id) = 16),
    shard_index INTEGER NOT NULL CHECK (shard_index >= 0),
    sealed BLOB NOT NULL,
    received_ms INTEGER NOT NULL,
    UNIQUE (message_id, shard_index)
) STRICT;

CREATE TABLE replay_tags (
    epoch INTEGER NOT NULL CHECK (epoch >= 0),
    tag BLOB NOT NULL CHECK (length(tag) = 32),
    PRIMARY KEY (epoch, tag)
) STRICT, WITHOUT ROWID;

CREATE TABLE peers (
    node_id BLOB PRIMARY KEY NOT NULL CHECK (length(node_id) = 32),
    address TEXT NOT NULL,
    descriptor BLOB NOT NULL,
    imported_ms INTEGER NOT NULL,
    last_seen_ms INTEGER,
    failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    successes INTEGER NOT NULL DEFAULT 0 CHECK (successes >= 0),
    avoided_until_ms INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE messages_out (
    message_id BLOB PRIMARY KEY NOT NULL CHECK (length(message_id) = 16),
    to_address TEXT NOT NULL,
    level TEXT NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    created_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'failed', 'retry'))
) STRICT;

CREATE TABLE delivery_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB NOT NULL REFERENCES messages_out (message_id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'failed', 'retry')),
    at_ms INTEGER NOT NULL,
    detail TEXT
) STRICT;
CREATE INDEX delivery_events_message ON delivery_events (message_id, at_ms, id);

CREATE TABLE messages_in (
    message_id BLOB PRIMARY KEY NOT NULL CHECK (length(message_id) = 16),
    from_node_id BLOB CHECK (from_node_id IS NULL OR length(from_node_id) = 32),
    received_ms INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    read INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1))
) STRICT;
CREATE INDEX messages_in_received ON messages_in (received_ms);
",
}];

/// Highest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

pub(crate) fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .ctx("schema.read_version")
}

/// Migrates up to `max_version` (tests stop early to build old databases).
pub(crate) fn migrate(conn: &mut Connection, max_version: i64) -> Result<(), StoreError> {
    let found = user_version(conn)?;
    if found > latest_version() {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: latest_version(),
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version <= max_version) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("schema.begin_migration")?;
        // Re-read inside the write lock: another connection may have migrated.
        if user_version(&tx)? >= m.version {
            continue;
        }
        let step = |source| StoreError::Migration {
            version: m.version,
            source,
        };
        tx.execute_batch(m.sql).map_err(step)?;
        tx.pragma_update(None, "user_version", m.version)
            .map_err(step)?;
        tx.commit().map_err(step)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version,
                i as i64 + 1,
                "migration #{i} has version {}",
                m.version
            );
        }
    }

    #[test]
    fn every_table_is_strict() -> Result<(), Box<dyn std::error::Error>> {
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn, latest_version())?;
        let mut stmt = conn.prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'")?;
        let rows: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        assert!(rows.len() >= 10, "{rows:?}");
        for (name, strict) in rows {
            assert_eq!(strict, 1, "table {name} is not STRICT");
        }
        Ok(())
    }

    #[test]
    fn migrations_stop_at_the_requested_version_and_resume()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn, 0)?;
        assert_eq!(user_version(&conn)?, 0);
        migrate(&mut conn, latest_version())?;
        assert_eq!(user_version(&conn)?, latest_version());
        migrate(&mut conn, latest_version())?;
        assert_eq!(user_version(&conn)?, latest_version());
        Ok(())
    }

    #[test]
    fn newer_schema_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let mut conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "user_version", latest_version() + 1)?;
        assert!(matches!(
            migrate(&mut conn, latest_version()),
            Err(StoreError::SchemaTooNew { .. })
        ));
        Ok(())
    }
}
