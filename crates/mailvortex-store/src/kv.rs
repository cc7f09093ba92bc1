//! A small key–value table for settings. Values are stored in plaintext:
//! secrets belong in the vault (`mailvortex-vault`).

use rusqlite::{OptionalExtension, params};

use crate::db::Store;
use crate::error::{SqlContext, StoreError};

impl Store {
    /// Sets a value (replacing any previous one).
    pub fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO kv (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .ctx("kv.set")?;
        Ok(())
    }

    /// Reads a value.
    pub fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .ctx("kv.get")
    }

    /// Deletes a value; returns whether it existed.
    pub fn kv_delete(&self, key: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM kv WHERE key = ?1", [key])
            .ctx("kv.delete")?;
        Ok(n == 1)
    }
}
