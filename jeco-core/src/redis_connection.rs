//! The connection the Redis backends (and the server's shared rate limits and tickets) send
//! their commands on.
//!
//! redis-rs's `ConnectionManager` reconnects by itself, but it only learns that its
//! connection died (Redis restarted, a proxy dropped an idle socket) when a command fails on
//! it: that command fails, and only the next one runs on the new connection. Nothing else
//! would send that next command, so after a Redis restart each node's first ticket, first
//! rate-limit check and first presence write would fail although Redis answers again.
//! [`RedisConnection`] runs a command that failed because its connection had been dropped
//! once more, on the new connection.
//!
//! A command may have reached Redis before its connection dropped, so a retried command
//! can run twice. Every command sent through it is written so that this is harmless:
//! presence writes absolute numbers, a rate-limit bucket loses one extra token, and a
//! ticket redeemed twice reads as already used (the client asks for another). A command that
//! timed out is not retried: Redis is alive and may still carry it out.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

use crate::observe::Observers;

/// A Redis connection that reconnects by itself and retries a command once when the
/// connection it was sent on had been dropped (see the module docs). How long each command
/// took (its retry included) goes to its [`Observers`]. Clones share one connection.
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    observers: Observers,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection").finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// A connection to `client`, opened on first use and tuned for the request path: a
    /// command waits at most about a second for an unreachable server instead of retrying
    /// for long. Fails only on an invalid client configuration.
    pub fn new(client: redis::Client) -> RedisResult<RedisConnection> {
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        Ok(RedisConnection {
            manager: ConnectionManager::new_lazy_with_config(client, config)?,
            observers: Observers::default(),
        })
    }

    /// The same connection, reporting how long its commands take to `observers`.
    pub fn observed_by(mut self, observers: Observers) -> RedisConnection {
        self.observers = observers;
        self
    }

    /// Where this connection reports how long its commands take.
    pub fn observers(&self) -> &Observers {
        &self.observers
    }

    fn took(&self, started: Instant) {
        if let Some(observer) = self.observers.get() {
            observer.redis_command(started.elapsed());
        }
    }
}

/// Whether a command that failed with `result` runs again: its connection had been dropped,
/// and the manager has started replacing it.
fn dropped<T>(result: &RedisResult<T>) -> bool {
    match result {
        Err(e) if e.is_connection_dropped() => {
            tracing::debug!(error = %e, "the Redis connection was dropped; sending again on a new one");
            true
        }
        _ => false,
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let started = Instant::now();
            let mut result = self.manager.req_packed_command(cmd).await;
            if dropped(&result) {
                result = self.manager.req_packed_command(cmd).await;
            }
            self.took(started);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let started = Instant::now();
            let mut result = self
                .manager
                .req_packed_commands(pipeline, offset, count)
                .await;
            if dropped(&result) {
                result = self
                    .manager
                    .req_packed_commands(pipeline, offset, count)
                    .await;
            }
            self.took(started);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.manager.get_db()
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::RedisServer;

    #[tokio::test]
    async fn the_first_command_after_a_redis_restart_succeeds() {
        let mut server = RedisServer::start().await;
        let mut conn = RedisConnection::new(redis::Client::open(server.url()).unwrap()).unwrap();
        redis::cmd("SET")
            .arg("k")
            .arg("before")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
        // The connection's socket dies with the server, and nothing tells the connection.
        server.restart().await;
        let value: Option<String> = redis::cmd("GET")
            .arg("k")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(value, None, "answered by the new, empty server");
    }

    #[derive(Default)]
    struct Commands(std::sync::atomic::AtomicUsize);

    impl crate::observe::Observer for Commands {
        fn redis_command(&self, _took: Duration) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn every_command_is_timed_for_the_observer() {
        let server = RedisServer::start().await;
        let observers = Observers::default();
        let mut conn = RedisConnection::new(redis::Client::open(server.url()).unwrap())
            .unwrap()
            .observed_by(observers.clone());
        let commands = std::sync::Arc::new(Commands::default());
        assert!(observers.set(commands.clone()));
        redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
        redis::pipe()
            .get("k")
            .get("k")
            .query_async::<(String, String)>(&mut conn)
            .await
            .unwrap();
        assert_eq!(commands.0.load(std::sync::atomic::Ordering::Relaxed), 2);
    }
}
