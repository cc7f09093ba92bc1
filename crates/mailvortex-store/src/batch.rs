//! Several writes in one transaction: one fsync instead of one per row, and all or nothing.
//! A 25 MiB message is about 1,600 packets; queueing them row by row would cost 1,600 fsyncs.

use rusqlite::{Connection, params};

use crate::db::Store;
use crate::error::{SqlContext, StoreError};
use crate::messages_in::{NewMessageIn, insert_on};
use crate::messages_out::{NewMessageOut, create_on};
use crate::outbox::{NewPacket, enqueue_on};
use crate::shards::delete_shards_on;

fn kv_set_on(conn: &Connection, key: &str, value: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO kv (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![key, value]))
    .ctx("kv.set")?;
    Ok(())
}

/// Sets `values` and enqueues `packets` inside the caller's transaction.
fn write_all_on(
    conn: &Connection,
    values: &[(&str, &[u8])],
    packets: &[NewPacket<'_>],
) -> Result<(), StoreError> {
    for (k, v) in values {
        kv_set_on(conn, k, v)?;
    }
    for p in packets {
        enqueue_on(conn, p)?;
    }
    Ok(())
}

impl Store {
    /// Records a new outgoing message, its bookkeeping values and its packets atomically.
    /// Returns `false` (and writes nothing) if the message id exists.
    pub fn queue_outgoing(
        &self,
        message: &NewMessageOut<'_>,
        values: &[(&str, &[u8])],
        packets: &[NewPacket<'_>],
    ) -> Result<bool, StoreError> {
        self.write_tx("batch.queue_outgoing", |tx| {
            if !create_on(tx, message)? {
                return Ok(false);
            }
            write_all_on(tx, values, packets)?;
            Ok(true)
        })
    }

    /// Stores a rebuilt incoming message and, only if it is new, its bookkeeping values and
    /// its packets (the receipt) in the same transaction; its shards go either way. Returns
    /// whether it was new. A crash cannot leave a stored message without its receipt queued.
    pub fn complete_inbound_with(
        &self,
        message: &NewMessageIn<'_>,
        values: &[(&str, &[u8])],
        packets: &[NewPacket<'_>],
    ) -> Result<bool, StoreError> {
        self.write_tx("batch.complete_inbound", |tx| {
            let new = insert_on(tx, &self.key, message)?;
            delete_shards_on(tx, &message.message_id)?;
            if new {
                write_all_on(tx, values, packets)?;
            }
            Ok(new)
        })
    }

    /// Sets values and enqueues packets atomically (retransmissions, replies).
    pub fn enqueue_batch(
        &self,
        values: &[(&str, &[u8])],
        packets: &[NewPacket<'_>],
    ) -> Result<(), StoreError> {
        self.write_tx("batch.enqueue", |tx| write_all_on(tx, values, packets))
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewMessageIn, NewMessageOut, NewPacket, PacketKind, Store, StoreKey};

    #[test]
    fn a_message_and_its_receipt_are_stored_together_once() {
        let s = Store::open_in_memory(StoreKey::from_bytes([1; 32])).expect("open");
        let m = NewMessageIn {
            message_id: [9; 16],
            from_node_id: None,
            received_ms: 5,
            body: b"hello",
        };
        let receipt = NewPacket {
            message_id: None,
            kind: PacketKind::Message,
            account: "main",
            to_address: "r@r.example",
            packet: b"receipt",
            not_before_ms: 0,
            created_ms: 5,
        };
        let done: &[u8] = &[];
        assert!(
            s.complete_inbound_with(&m, &[("done", done)], std::slice::from_ref(&receipt))
                .expect("complete")
        );
        assert_eq!(s.due(10, 10).expect("due").len(), 1);
        assert_eq!(s.kv_get("done").expect("kv"), Some(Vec::new()));
        assert_eq!(s.messages_in().expect("list").len(), 1);
        // Rebuilt again (a late shard after a restart): no second receipt.
        assert!(
            !s.complete_inbound_with(&m, &[("other", done)], &[receipt])
                .expect("again")
        );
        assert_eq!(s.due(10, 10).expect("due").len(), 1);
        assert_eq!(s.kv_get("other").expect("kv"), None);
    }

    #[test]
    fn a_batch_is_all_or_nothing() {
        let s = Store::open_in_memory(StoreKey::from_bytes([1; 32])).expect("open");
        let m = NewMessageOut {
            message_id: [7; 16],
            to_address: "b@b.example",
            level: "standard",
            size: 3,
            created_ms: 1,
        };
        let p = NewPacket {
            message_id: Some([7; 16]),
            kind: PacketKind::Message,
            account: "main",
            to_address: "r@r.example",
            packet: b"xyz",
            not_before_ms: 0,
            created_ms: 1,
        };
        assert!(
            s.queue_outgoing(&m, &[("k", b"v")], &[p.clone(), p.clone()])
                .expect("batch")
        );
        assert_eq!(s.due(10, 10).expect("due").len(), 2);
        assert_eq!(s.kv_get("k").expect("kv"), Some(b"v".to_vec()));
        // The same id again writes nothing.
        assert!(!s.queue_outgoing(&m, &[("k2", b"v")], &[p]).expect("batch"));
        assert_eq!(s.due(10, 10).expect("due").len(), 2);
        assert_eq!(s.kv_get("k2").expect("kv"), None);
    }
}
