//! What the nodes of one deployment must agree on beyond the engine's own backends: rate
//! limits and real-time tickets, kept in Redis when nodes share one.
//!
//! A ticket issued by one node (`POST /v1/tickets`) is usually redeemed on another (the load
//! balancer picks a node for the WebSocket), and a client spreading requests over nodes must
//! not get a separate allowance on each. Both live under the deployment's Redis prefix:
//! - `p:ticket:<sha-256 of the ticket>`: the user id, expiring with the ticket; redeemed with
//!   `GETDEL`, so exactly one node can use it. Only a hash is stored: a Redis dump does not
//!   hold usable tickets.
//! - `p:rl:<kind>:<key>`: a token bucket (`tokens`, `at`) updated by one script with Redis's
//!   clock, expiring once it would be full again.
//!
//! Both go through a [`RedisConnection`], which retries a command once when its connection
//! had been dropped: the first ticket after a Redis restart works like any other.
//!
//! If Redis cannot be reached, rate limits fall back to the node's own buckets (a node stays
//! usable, and limits stay per node meanwhile), while tickets fail with a 503: a ticket only
//! one node knows would be refused by the others.

use std::fmt::Display;
use std::sync::Arc;

use jeco_core::observe::Observer;
use jeco_core::redis_connection::RedisConnection;
use redis::Script;
use sha2::{Digest, Sha256};

/// One token from the bucket at KEYS[1]; ARGV: tokens per second, burst. Returns 1 if taken.
const TAKE_TOKEN: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(v[1]), tonumber(v[2])
if not tokens or not at then
  tokens, at = burst, now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return taken
"#;

/// The Redis side of a deployment's shared state.
pub struct RedisShared {
    conn: RedisConnection,
    prefix: String,
    take_token: Script,
}

impl std::fmt::Debug for RedisShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisShared")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Redis failed or could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("Redis: {0}")]
pub struct SharedError(#[from] redis::RedisError);

impl RedisShared {
    /// Shared state on the Redis server at `url`, under `prefix` (the deployment's prefix,
    /// as for the engine's Redis backends). Connects lazily and reconnects by itself; fails
    /// only on an invalid URL.
    pub fn new(url: &str, prefix: &str) -> Result<RedisShared, SharedError> {
        let client = redis::Client::open(url)?;
        Ok(RedisShared {
            conn: RedisConnection::new(client)?,
            prefix: prefix.to_owned(),
            take_token: Script::new(TAKE_TOKEN),
        })
    }

    /// Reports how long each command takes to `observer` from now on (the first one set
    /// stays).
    pub fn observe(&self, observer: Arc<dyn Observer>) -> bool {
        self.conn.observers().set(observer)
    }

    /// Takes a token from the shared bucket `kind`/`key`, which regains `per_second` tokens a
    /// second up to `burst`: `true` if there was one.
    pub async fn take_token(
        &self,
        kind: &str,
        key: &impl Display,
        per_second: f64,
        burst: f64,
    ) -> Result<bool, SharedError> {
        let taken: i64 = self
            .take_token
            .key(format!("{}rl:{kind}:{key}", self.prefix))
            .arg(per_second)
            .arg(burst)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(taken == 1)
    }

    /// Stores `ticket` for `user` for `ttl_ms`.
    pub async fn put_ticket(
        &self,
        ticket: &str,
        user: i64,
        ttl_ms: u64,
    ) -> Result<(), SharedError> {
        redis::cmd("SET")
            .arg(self.ticket_key(ticket))
            .arg(user)
            .arg("PX")
            .arg(ttl_ms.max(1))
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Takes `ticket` out: the user it was issued to, if it is valid and unused.
    pub async fn take_ticket(&self, ticket: &str) -> Result<Option<i64>, SharedError> {
        Ok(redis::cmd("GETDEL")
            .arg(self.ticket_key(ticket))
            .query_async::<Option<i64>>(&mut self.conn.clone())
            .await?)
    }

    fn ticket_key(&self, ticket: &str) -> String {
        let digest = Sha256::digest(ticket.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}ticket:{hex}", self.prefix)
    }
}
