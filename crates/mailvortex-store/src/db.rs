//! [`Store`]: opening the database, connection settings, the key check.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{SqlContext, StoreError};
use crate::key::{DOMAIN_KEY_CHECK, StoreKey};
use crate::migrations;

/// How long a statement waits for another connection's lock before failing
/// with [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Plaintext of the key check row.
const KEY_CHECK: &[u8] = b"mailvortex-store key check";

/// A connection to the node's database.
///
/// `Store` is `Send` but not `Sync`: use one per thread (several `Store`s may
/// open the same file, also from several processes — SQLite's WAL mode and the
/// busy timeout serialise writers), or put one behind a mutex.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) key: StoreKey,
    path: Option<PathBuf>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database file at `path`, applies the
    /// connection settings, runs pending migrations and checks `key`.
    ///
    /// Settings: `journal_mode=WAL`, `synchronous=FULL` (every commit is
    /// fsynced before it returns, see the crate docs), `foreign_keys=ON`,
    /// `secure_delete=ON`, `trusted_schema=OFF`, busy timeout
    /// [`BUSY_TIMEOUT`]. A new file is created with mode 0600 on Unix (SQLite
    /// gives the `-wal` and `-shm` files the same mode).
    ///
    /// A wrong key gives [`StoreError::WrongKey`] without writing anything
    /// (beyond migrations of an older schema, which do not depend on the key).
    pub fn open(path: impl AsRef<Path>, key: StoreKey) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        create_private_file(&path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        Store::init(conn, key, Some(path), true)
    }

    /// An in-memory database (for tests of code built on the store): same
    /// schema and API, no durability.
    pub fn open_in_memory(key: StoreKey) -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: PathBuf::from(":memory:"),
            source,
        })?;
        Store::init(conn, key, None, false)
    }

    fn init(
        mut conn: Connection,
        key: StoreKey,
        path: Option<PathBuf>,
        wal: bool,
    ) -> Result<Store, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT).ctx("open.busy_timeout")?;
        if wal {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .ctx("open.journal_mode")?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::InvalidInput {
                    what: "the database file system does not support WAL mode",
                });
            }
        }
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON;
             PRAGMA trusted_schema = OFF;",
        )
        .ctx("open.pragmas")?;
        migrations::migrate(&mut conn, migrations::latest_version())?;
        let store = Store { conn, key, path };
        store.check_key()?;
        Ok(store)
    }

    /// On first open stores a sealed constant; afterwards checks that `key`
    /// opens it.
    fn check_key(&self) -> Result<(), StoreError> {
        let existing: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT sealed FROM store_key_check WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .ctx("open.read_key_check")?;
        let sealed = match existing {
            Some(s) => s,
            None => {
                let fresh = self.key.seal(DOMAIN_KEY_CHECK, &[], KEY_CHECK)?;
                // Two first openers may race: the loser's row is ignored and
                // it checks the winner's.
                self.conn
                    .execute(
                        "INSERT OR IGNORE INTO store_key_check (id, sealed) VALUES (1, ?1)",
                        [&fresh],
                    )
                    .ctx("open.write_key_check")?;
                self.conn
                    .query_row("SELECT sealed FROM store_key_check WHERE id = 1", [], |r| {
                        r.get(0)
                    })
                    .ctx("open.read_key_check")?
            }
        };
        match self.key.open(DOMAIN_KEY_CHECK, &[], &sealed) {
            Ok(p) if p[..] == *KEY_CHECK => Ok(()),
            _ => Err(StoreError::WrongKey),
        }
    }

    /// The database file (`None` for in-memory stores).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::user_version(&self.conn)
    }

    /// Copies the WAL into the main file and truncates it
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`). Not needed for durability;
    /// call it when idle or before a backup to keep the `-wal` file small.
    /// Returns whether the checkpoint completed (`false`: readers were busy).
    pub fn checkpoint(&self) -> Result<bool, StoreError> {
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .ctx("checkpoint")?;
        Ok(busy == 0)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction (the write lock is taken
    /// up front, so the busy timeout applies and no deferred-upgrade
    /// deadlock can occur), committing if it returns `Ok`.
    pub(crate) fn write_tx<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).ctx(op)?;
        let value = f(&tx)?;
        tx.commit().ctx(op)?;
        Ok(value)
    }
}

/// Creates the database file with owner-only permissions if it is missing.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(drop).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}
