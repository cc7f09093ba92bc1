//! Known peers (relay nodes): descriptor, address, and health counters.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::db::Store;
use crate::error::{SqlContext, StoreError};
use crate::types::{NodeId, hex};

/// A peer row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    /// The node id.
    pub node_id: NodeId,
    /// Its mail address.
    pub address: String,
    /// Its encoded descriptor.
    pub descriptor: Vec<u8>,
    /// When the current descriptor was imported (unix ms).
    pub imported_ms: i64,
    /// Last success (unix ms).
    pub last_seen_ms: Option<i64>,
    /// Failures recorded so far.
    pub failures: u32,
    /// Successes recorded so far.
    pub successes: u32,
    /// Not to be used in routes before this time (unix ms; 0 = not avoided).
    pub avoided_until_ms: i64,
}

const COLUMNS: &str = "node_id, address, descriptor, imported_ms, last_seen_ms, failures, \
                       successes, avoided_until_ms";

fn row_to_peer(r: &Row<'_>) -> rusqlite::Result<PeerRecord> {
    Ok(PeerRecord {
        node_id: r.get(0)?,
        address: r.get(1)?,
        descriptor: r.get(2)?,
        imported_ms: r.get(3)?,
        last_seen_ms: r.get(4)?,
        failures: r.get(5)?,
        successes: r.get(6)?,
        avoided_until_ms: r.get(7)?,
    })
}

fn upsert_peer_on(
    conn: &Connection,
    node_id: &NodeId,
    address: &str,
    descriptor: &[u8],
    now_ms: i64,
) -> Result<bool, StoreError> {
    let updated = conn
        .execute(
            "UPDATE peers SET address = ?2, descriptor = ?3, imported_ms = ?4
             WHERE node_id = ?1",
            params![node_id, address, descriptor, now_ms],
        )
        .ctx("peers.upsert")?;
    if updated == 1 {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO peers (node_id, address, descriptor, imported_ms)
         VALUES (?1, ?2, ?3, ?4)",
        params![node_id, address, descriptor, now_ms],
    )
    .ctx("peers.upsert")?;
    Ok(true)
}

impl Store {
    /// Inserts a peer, or replaces its address and descriptor (keeping its
    /// counters). `imported_ms` becomes `now_ms`. Returns whether it was new.
    pub fn upsert_peer(
        &self,
        node_id: &NodeId,
        address: &str,
        descriptor: &[u8],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.write_tx("peers.upsert", |tx| {
            upsert_peer_on(tx, node_id, address, descriptor, now_ms)
        })
    }

    /// Upserts several peers (node id, address, descriptor) in one transaction: all of them
    /// or, on any error, none. Returns for each whether it was new.
    pub fn upsert_peers(
        &self,
        peers: &[(NodeId, &str, &[u8])],
        now_ms: i64,
    ) -> Result<Vec<bool>, StoreError> {
        self.write_tx("peers.upsert_many", |tx| {
            peers
                .iter()
                .map(|(id, address, descriptor)| {
                    upsert_peer_on(tx, id, address, descriptor, now_ms)
                })
                .collect()
        })
    }

    /// One peer.
    pub fn peer(&self, node_id: &NodeId) -> Result<Option<PeerRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM peers WHERE node_id = ?1");
        self.conn
            .query_row(&sql, [node_id], row_to_peer)
            .optional()
            .ctx("peers.get")
    }

    /// All peers, by node id.
    pub fn peers(&self) -> Result<Vec<PeerRecord>, StoreError> {
        self.select_peers("", None)
    }

    /// Peers not avoided at `now_ms` (`avoided_until_ms <= now_ms`), by node id.
    pub fn usable_peers(&self, now_ms: i64) -> Result<Vec<PeerRecord>, StoreError> {
        self.select_peers("WHERE avoided_until_ms <= ?1", Some(now_ms))
    }

    fn select_peers(&self, filter: &str, now: Option<i64>) -> Result<Vec<PeerRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM peers {filter} ORDER BY node_id");
        let mut stmt = self.conn.prepare_cached(&sql).ctx("peers.list")?;
        let rows = match now {
            Some(n) => stmt.query_map([n], row_to_peer),
            None => stmt.query_map([], row_to_peer),
        }
        .ctx("peers.list")?;
        rows.collect::<Result<_, _>>().ctx("peers.list")
    }

    /// Records a success: `successes + 1`, `last_seen_ms = now_ms`.
    pub fn record_peer_success(&self, node_id: &NodeId, now_ms: i64) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE peers SET successes = successes + 1, last_seen_ms = ?2 WHERE node_id = ?1",
                params![node_id, now_ms],
            )
            .ctx("peers.record_success")?;
        found(n, node_id)
    }

    /// Records a failure: `failures + 1`, and avoid the peer until
    /// `avoid_until_ms` (never shortens an existing avoidance).
    pub fn record_peer_failure(
        &self,
        node_id: &NodeId,
        avoid_until_ms: i64,
    ) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE peers SET failures = failures + 1,
                     avoided_until_ms = max(avoided_until_ms, ?2)
                 WHERE node_id = ?1",
                params![node_id, avoid_until_ms],
            )
            .ctx("peers.record_failure")?;
        found(n, node_id)
    }

    /// Deletes a peer; returns whether it existed.
    pub fn delete_peer(&self, node_id: &NodeId) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM peers WHERE node_id = ?1", [node_id])
            .ctx("peers.delete")?;
        Ok(n == 1)
    }
}

fn found(n: usize, node_id: &NodeId) -> Result<(), StoreError> {
    if n == 0 {
        Err(StoreError::NotFound {
            what: "peer",
            id: hex(node_id),
        })
    } else {
        Ok(())
    }
}
