//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
///
/// Every SQL statement's failure carries the name of the operation (`op`,
/// e.g. `"outbox.enqueue"`), so a log line says which query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file could not be opened or configured.
    #[error("cannot open the database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// A file system operation around the database failed.
    #[error("file system error on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A statement failed.
    #[error("database operation {op} failed")]
    Sqlite {
        /// Which operation.
        op: &'static str,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// Another connection held a lock longer than the busy timeout.
    #[error(
        "the database is busy during {op} (another process or thread holds a lock); retry later"
    )]
    Busy {
        /// Which operation.
        op: &'static str,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer version of this crate.
    #[error(
        "the database has schema version {found}, newer than this program supports ({supported}); \
         upgrade MailVortex (nothing was changed)"
    )]
    SchemaTooNew {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A schema migration failed (it was rolled back).
    #[error("migration to schema version {version} failed (rolled back, nothing was changed)")]
    Migration {
        /// The version that failed.
        version: i64,
        /// The underlying error.
        source: rusqlite::Error,
    },
    /// The store key does not decrypt this database's key check.
    #[error(
        "the store key does not match this database (wrong vault or wrong node directory?); \
         nothing was changed"
    )]
    WrongKey,
    /// A row failed authentication or has an impossible value.
    #[error("{what} is corrupt: {reason}")]
    Corrupt {
        /// Which row.
        what: String,
        /// What check failed.
        reason: &'static str,
    },
    /// The row addressed by an update does not exist.
    #[error("{what} {id} does not exist")]
    NotFound {
        /// Which table.
        what: &'static str,
        /// The key, printable.
        id: String,
    },
    /// An outbox state transition from the wrong state (an engine bug).
    #[error("outbox packet {id} is {actual}, expected {expected}")]
    WrongState {
        /// Outbox row id.
        id: i64,
        /// Its current state.
        actual: String,
        /// The state the transition needs.
        expected: &'static str,
    },
    /// A value does not fit the schema (e.g. a size above `i64::MAX`).
    #[error("invalid input: {what}")]
    InvalidInput {
        /// What was wrong.
        what: &'static str,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed ({detail})")]
    Random {
        /// What failed.
        detail: String,
    },
}

/// Attaches the operation name to rusqlite errors.
pub(crate) trait SqlContext<T> {
    fn ctx(self, op: &'static str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| {
            if matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) {
                StoreError::Busy { op, source }
            } else {
                StoreError::Sqlite { op, source }
            }
        })
    }
}
