//! Help for tests that run against a real PostgreSQL server or a private Redis server: Jeco's
//! own suites use it, and so can an embedding application's.

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

/// A `redis-server` process of a test's own, on a free port, for tests that stop or stall
/// Redis without touching a shared one. Runs the binary named by `JECO_TEST_REDIS_SERVER`, or
/// `redis-server` from `PATH`, with persistence off. Killed when dropped.
#[cfg(feature = "redis")]
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<std::process::Child>,
}

#[cfg(feature = "redis")]
impl RedisServer {
    /// Starts one and waits until it answers. Panics, naming the binary, if it cannot start.
    pub async fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("finding a free port: {e}"));
        let mut server = RedisServer { port, child: None };
        server.restart().await;
        server
    }

    /// Where it listens.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (SIGKILL): connections drop, and everything it held is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again, empty) on the same port and waits until it answers.
    pub async fn restart(&mut self) {
        self.kill();
        let program =
            std::env::var("JECO_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = std::process::Command::new(&program)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "these tests start their own Redis with `{program}`: {e}; \
                     install redis-server or set JECO_TEST_REDIS_SERVER"
                )
            });
        self.child = Some(child);
        let client = redis::Client::open(self.url())
            .unwrap_or_else(|e| panic!("the private Redis URL: {e}"));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the private Redis on port {} did not answer",
                self.port
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

#[cfg(feature = "redis")]
impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
