//! The SQLite store: one file in WAL mode, one writer connection and a few readers.
//!
//! SQLite allows one writer at a time. Giving the process exactly one writer connection turns
//! that into an orderly queue inside the pool instead of `SQLITE_BUSY` errors, while readers
//! proceed in parallel on their own snapshots.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::store::StoreError;

/// The SQLite backend.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(super::backend)?
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction is on disk when COMMIT returns, which is what "durable
            // before acknowledged" promises even across a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // A connection to a local file does not go stale: no ping (a round trip to the
        // connection's worker thread) before every use.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(super::backend)?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .map_err(super::backend)?;
        Ok(SqliteStore { writer, reader })
    }

    /// One writer: groups of sends commit one after the other.
    const WRITERS: usize = 1;

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}

// IMMEDIATE: a write transaction takes SQLite's write lock when it begins, so a read at its
// start never has to be upgraded (which fails at once instead of waiting for the lock).
super::impl_sql_store!(
    crate::store::sql::SqliteStore,
    sqlx::Sqlite,
    "BEGIN IMMEDIATE"
);
