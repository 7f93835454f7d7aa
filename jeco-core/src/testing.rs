//! Help for tests that run against a real PostgreSQL server: Jeco's own suites use it, and so
//! can an embedding application's.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The server tests use: `JECO_TEST_DATABASE_URL`, or the local server's `test` database.
/// That database is only used to create and drop others.
pub fn admin_url() -> String {
    std::env::var("JECO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, empty database for one test, dropped (with its connections) when this value is.
///
/// Its name starts with `jeco_t_`, so a CI script can sweep databases left behind by test
/// processes that were killed.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connect here.
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates the database. Panics, naming the server, if PostgreSQL cannot be reached:
    /// a test that needs it must fail rather than pass without it.
    pub async fn create() -> TestDatabase {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url = admin_url();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "jeco_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => panic!(
                "PostgreSQL is required for these tests and is not reachable at {admin_url} \
                 ({e}); start it or set JECO_TEST_DATABASE_URL"
            ),
        };
        if let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
        {
            panic!("creating the test database {name}: {e}");
        }
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        TestDatabase {
            url: format!("{base}/{name}"),
            name,
            admin_url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async context: a short-lived runtime on its own thread does the
        // cleanup. FORCE ends the engine's pooled connections.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}
