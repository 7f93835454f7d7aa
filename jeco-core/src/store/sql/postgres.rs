//! The PostgreSQL store: one pool for reads and writes. Concurrent writers to the same room
//! queue on the room row's lock (taken by the sequence increment), so per-room order holds.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::store::StoreError;

/// The PostgreSQL backend.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host/db`) and applies pending migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect(url)
            .await
            .map_err(super::backend)?;
        sqlx::migrate!("../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(PgStore { pool })
    }

    /// Groups of sends committed at once, each on its own connection and to rooms of its own
    /// (a group locks its rooms' rows until it commits).
    const WRITERS: usize = 4;

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }
}

super::impl_sql_store!(crate::store::sql::PgStore, sqlx::Postgres, "BEGIN");
