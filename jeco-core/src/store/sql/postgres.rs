//! The PostgreSQL store: one pool for reads and writes. Concurrent writers to the same room
//! queue on the room row's lock (taken by the sequence increment), so per-room order holds.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::observe::Observers;
use crate::store::StoreError;

/// Tasks committing sends in groups, each on its own connection (see `Appender`).
const APPENDERS: usize = 4;

/// The PostgreSQL backend.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    appender: super::Appender,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host/db`) and applies pending migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<PgStore, StoreError> {
        PgStore::connect_observed(url, max_connections, Observers::default()).await
    }

    /// [`PgStore::connect`], its group commits reported to `observers`.
    pub async fn connect_observed(
        url: &str,
        max_connections: u32,
        observers: Observers,
    ) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect(url)
            .await
            .map_err(super::backend)?;
        sqlx::migrate!("../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(PgStore {
            appender: store_impl::appender(pool.clone(), APPENDERS, observers),
            pool,
        })
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn appender(&self) -> &super::Appender {
        &self.appender
    }
}

super::impl_sql_store!(crate::store::sql::PgStore, sqlx::Postgres, "BEGIN");
