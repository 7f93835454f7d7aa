//! Presence and typing shared by several nodes through Redis.
//!
//! What is kept, under the deployment's prefix `p`:
//! - `p:nodes`: a sorted set of live nodes, each scored with the time (ms) until which it
//!   counts as alive. Every node renews its own entry from [`Presence::maintain`]; a node
//!   that dies without a goodbye simply stops renewing.
//! - `p:conns:<user>`: a hash from node id to the number of that user's connections on the
//!   node. A user is online while some field names a live node.
//! - `p:node:<node>`: the users with connections on a node, so that a dead node's users can
//!   be found without scanning.
//! - `p:seen`: a hash from user to last-seen time (ms). It outlives nodes; it lasts as long as
//!   Redis keeps its data (with persistence off, a Redis restart forgets it).
//! - `p:typing:<room>`: a hash from typer to `until:announced` (ms); the key expires by
//!   itself once nobody types.
//!
//! Every read-modify-write is one Lua script, so it is atomic however many nodes act at once,
//! and all times come from Redis's own clock (`TIME`), so nodes with skewed clocks agree.
//!
//! Each node also keeps its own connection counts in memory: they are the truth about its
//! connections, written to Redis as absolute numbers (never increments), and written again
//! in full when the node finds its entry gone from `p:nodes` (Redis restarted empty, or the
//! node was declared dead after a long pause). Liveness: when [`Presence::maintain`] finds
//! nodes whose time ran out, the first node to see them removes them and reports their users
//! who are no longer online anywhere, so the engine announces them offline exactly once.
//!
//! Channel and key names are built inside the scripts, so this backend expects a single
//! Redis server (or a primary with replicas), not Redis Cluster.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use crate::ids::{RoomId, Timestamp, UserId};
use crate::model::PresenceInfo;
use crate::observe::Observers;
use crate::presence::{Presence, PresenceChange, PresenceError};
use crate::redis_connection::RedisConnection;

/// Shared by every script: the prefix, Redis's clock, and node liveness.
const PRELUDE: &str = r#"
local p = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function alive(node)
  local expires = redis.call('ZSCORE', p .. 'nodes', node)
  return expires and tonumber(expires) >= now
end
local function online_elsewhere(user, except)
  for _, node in ipairs(redis.call('HKEYS', p .. 'conns:' .. user)) do
    if node ~= except and alive(node) then
      return true
    end
  end
  return false
end
"#;

/// ARGV: prefix, node, user, connections of the user on this node now, node ttl (ms).
/// Returns 1 if the user was offline until now.
const CONNECT: &str = r#"
local node, user, count, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZADD', p .. 'nodes', now + ttl, node)
local was_online = count > 1 or online_elsewhere(user, node)
redis.call('HSET', p .. 'conns:' .. user, node, count)
redis.call('SADD', p .. 'node:' .. node, user)
if was_online then return 0 end
return 1
"#;

/// ARGV: prefix, node, user, connections of the user left on this node.
/// Returns the last-seen time if the user is now offline everywhere, else -1.
const DISCONNECT: &str = r#"
local node, user, count = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = p .. 'conns:' .. user
if count > 0 then
  redis.call('HSET', key, node, count)
  return -1
end
redis.call('HDEL', key, node)
redis.call('SREM', p .. 'node:' .. node, user)
if online_elsewhere(user, node) then return -1 end
redis.call('HSET', p .. 'seen', user, now)
return now
"#;

/// ARGV: prefix, users... Returns, per user, `online` (0/1) then last seen (-1 if unknown).
const STATUS: &str = r#"
local out = {}
for i = 2, #ARGV do
  local user = ARGV[i]
  if online_elsewhere(user, '') then
    out[#out + 1] = 1
    out[#out + 1] = -1
  else
    local seen = redis.call('HGET', p .. 'seen', user)
    out[#out + 1] = 0
    out[#out + 1] = seen and tonumber(seen) or -1
  end
end
return out
"#;

/// ARGV: prefix, node, node ttl (ms). Renews this node, removes dead ones.
/// Returns {1 if this node had been forgotten, now, users of dead nodes now offline...}.
const MAINTAIN: &str = r#"
local node, ttl = ARGV[2], tonumber(ARGV[3])
local forgotten = redis.call('ZADD', p .. 'nodes', now + ttl, node)
local out = {forgotten, now}
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', p .. 'nodes', '-inf', '(' .. now)) do
  redis.call('ZREM', p .. 'nodes', dead)
  local set = p .. 'node:' .. dead
  for _, user in ipairs(redis.call('SMEMBERS', set)) do
    redis.call('HDEL', p .. 'conns:' .. user, dead)
    if not online_elsewhere(user, '') then
      redis.call('HSET', p .. 'seen', user, now)
      out[#out + 1] = user
    end
  end
  redis.call('DEL', set)
end
return out
"#;

/// ARGV: prefix, node, then user and count pairs: this node's connections, written again.
/// Returns the users who were not online anywhere else (to announce as online again).
const REASSERT: &str = r#"
local node = ARGV[2]
local back = {}
for i = 3, #ARGV, 2 do
  local user, count = ARGV[i], ARGV[i + 1]
  if not online_elsewhere(user, node) then back[#back + 1] = user end
  redis.call('HSET', p .. 'conns:' .. user, node, count)
  redis.call('SADD', p .. 'node:' .. node, user)
end
return back
"#;

/// Typing entries are `until:announced`, both in ms.
const TYPING_PRELUDE: &str = r#"
local key = p .. 'typing:' .. ARGV[2]
local function entry(v)
  local sep = string.find(v, ':', 1, true)
  return tonumber(string.sub(v, 1, sep - 1)), tonumber(string.sub(v, sep + 1))
end
"#;

/// ARGV: prefix, room, user, ttl (ms). Returns 1 if the indication is to be announced.
const START_TYPING: &str = r#"
local user, ttl = ARGV[3], tonumber(ARGV[4])
local announced, announce = now, 1
local v = redis.call('HGET', key, user)
if v then
  local untl, ann = entry(v)
  if untl > now and now - ann < ttl / 2 then
    announced, announce = ann, 0
  end
end
redis.call('HSET', key, user, string.format('%d:%d', now + ttl, announced))
redis.call('PEXPIRE', key, ttl * 2)
return announce
"#;

/// ARGV: prefix, room, user. Returns 1 if the user was typing.
const STOP_TYPING: &str = r#"
local v = redis.call('HGET', key, ARGV[3])
if not v then return 0 end
redis.call('HDEL', key, ARGV[3])
local untl = entry(v)
if untl > now then return 1 end
return 0
"#;

/// ARGV: prefix, room. Returns who types now; forgets lapsed entries.
const TYPERS: &str = r#"
local out = {}
local all = redis.call('HGETALL', key)
for i = 1, #all, 2 do
  local untl = entry(all[i + 1])
  if untl > now then
    out[#out + 1] = all[i]
  else
    redis.call('HDEL', key, all[i])
  end
end
return out
"#;

/// Connection counts are guarded by one of this many locks, picked by user, so that the
/// count written to Redis is always the latest for that user.
const STRIPES: usize = 64;

/// Presence for several nodes sharing a Redis server (see the module docs).
pub struct RedisPresence {
    conn: RedisConnection,
    prefix: String,
    node: String,
    node_timeout: Duration,
    counts: Mutex<HashMap<UserId, u32>>,
    /// Users whose count in Redis may be wrong (a write failed); written again by
    /// [`Presence::maintain`].
    dirty: Mutex<HashSet<UserId>>,
    stripes: Vec<tokio::sync::Mutex<()>>,
    scripts: Scripts,
}

struct Scripts {
    connect: Script,
    disconnect: Script,
    status: Script,
    maintain: Script,
    reassert: Script,
    start_typing: Script,
    stop_typing: Script,
    typers: Script,
}

impl Scripts {
    fn new() -> Scripts {
        let node = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        let typing = |body: &str| Script::new(&format!("{PRELUDE}{TYPING_PRELUDE}{body}"));
        Scripts {
            connect: node(CONNECT),
            disconnect: node(DISCONNECT),
            status: node(STATUS),
            maintain: node(MAINTAIN),
            reassert: node(REASSERT),
            start_typing: typing(START_TYPING),
            stop_typing: typing(STOP_TYPING),
            typers: typing(TYPERS),
        }
    }
}

impl std::fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPresence")
            .field("prefix", &self.prefix)
            .field("node", &self.node)
            .field("node_timeout", &self.node_timeout)
            .finish()
    }
}

fn failed(e: redis::RedisError) -> PresenceError {
    PresenceError(Box::new(e))
}

impl RedisPresence {
    /// Presence on the Redis server at `url`, with keys under `prefix` (use the same prefix
    /// as the pub/sub backend). This node registers itself at once; if it stops renewing its
    /// registration (it died), other nodes count its users offline after `node_timeout`.
    pub async fn new(
        url: &str,
        prefix: &str,
        node_timeout: Duration,
    ) -> Result<RedisPresence, PresenceError> {
        RedisPresence::new_observed(url, prefix, node_timeout, Observers::default()).await
    }

    /// [`RedisPresence::new`], the time of each Redis command reported to `observers`.
    pub async fn new_observed(
        url: &str,
        prefix: &str,
        node_timeout: Duration,
        observers: Observers,
    ) -> Result<RedisPresence, PresenceError> {
        let client = redis::Client::open(url).map_err(failed)?;
        let conn = RedisConnection::new(client)
            .map_err(failed)?
            .observed_by(observers);
        let presence = RedisPresence {
            conn,
            prefix: prefix.to_owned(),
            node: crate::auth::random_key(),
            node_timeout: node_timeout.max(Duration::from_millis(100)),
            counts: Mutex::new(HashMap::new()),
            dirty: Mutex::new(HashSet::new()),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            scripts: Scripts::new(),
        };
        presence.maintain().await?;
        Ok(presence)
    }

    /// This node's id in Redis.
    pub fn node_id(&self) -> &str {
        &self.node
    }

    fn ttl_ms(&self) -> u64 {
        self.node_timeout.as_millis() as u64
    }

    fn stripe(&self, user: UserId) -> &tokio::sync::Mutex<()> {
        &self.stripes[user.0.rem_euclid(STRIPES as i64) as usize]
    }

    /// Changes this node's count for `user` by `delta` and returns the new count.
    fn count(&self, user: UserId, delta: i32) -> u32 {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(user).or_insert(0);
        *n = n.saturating_add_signed(delta);
        let now = *n;
        if now == 0 {
            counts.remove(&user);
        }
        now
    }
}

#[async_trait]
impl Presence for RedisPresence {
    async fn connect(&self, user: UserId) -> Result<bool, PresenceError> {
        let _order = self.stripe(user).lock().await;
        let count = self.count(user, 1);
        match self.write_connected(user, count).await {
            Ok(first) => Ok(first),
            Err(e) => {
                // The connection is refused: it does not count. Redis may have taken the
                // write anyway, so it is written again later.
                self.count(user, -1);
                self.mark_dirty(user);
                Err(e)
            }
        }
    }

    async fn disconnect(&self, user: UserId) -> Result<Option<Timestamp>, PresenceError> {
        let _order = self.stripe(user).lock().await;
        let had = self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&user);
        if !had {
            return Ok(None);
        }
        let count = self.count(user, -1);
        self.write_disconnected(user, count).await.inspect_err(|_| {
            // The connection is gone whatever Redis says; it is written again later.
            self.mark_dirty(user);
        })
    }

    async fn status(&self, users: &[UserId]) -> Result<Vec<PresenceInfo>, PresenceError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut call = self.scripts.status.arg(&self.prefix);
        for user in users {
            call.arg(user.0);
        }
        let flat: Vec<i64> = call
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(users
            .iter()
            .zip(flat.chunks_exact(2))
            .map(|(&user_id, pair)| PresenceInfo {
                user_id,
                online: pair[0] == 1,
                last_seen: (pair[0] == 0 && pair[1] >= 0).then_some(Timestamp(pair[1])),
            })
            .collect())
    }

    async fn start_typing(
        &self,
        room: RoomId,
        user: UserId,
        ttl: Duration,
    ) -> Result<bool, PresenceError> {
        let announce: i64 = self
            .scripts
            .start_typing
            .arg(&self.prefix)
            .arg(room.0)
            .arg(user.0)
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(announce == 1)
    }

    async fn stop_typing(&self, room: RoomId, user: UserId) -> Result<bool, PresenceError> {
        let was: i64 = self
            .scripts
            .stop_typing
            .arg(&self.prefix)
            .arg(room.0)
            .arg(user.0)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(was == 1)
    }

    async fn typing(&self, room: RoomId) -> Result<Vec<UserId>, PresenceError> {
        let ids: Vec<i64> = self
            .scripts
            .typers
            .arg(&self.prefix)
            .arg(room.0)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        let mut users: Vec<UserId> = ids.into_iter().map(UserId).collect();
        users.sort();
        Ok(users)
    }

    fn maintain_every(&self) -> Option<Duration> {
        Some(self.node_timeout / 3)
    }

    async fn maintain(&self) -> Result<Vec<PresenceChange>, PresenceError> {
        let reply: Vec<i64> = self
            .scripts
            .maintain
            .arg(&self.prefix)
            .arg(&self.node)
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        let [forgotten, now, gone @ ..] = reply.as_slice() else {
            return Err(PresenceError("unexpected reply from Redis".into()));
        };
        let now = Timestamp(*now);
        let mut changes: Vec<PresenceChange> = gone
            .iter()
            .map(|&id| PresenceChange {
                user: UserId(id),
                online: false,
                last_seen: Some(now),
            })
            .collect();
        if *forgotten == 1 {
            changes.extend(self.reassert().await?);
        }
        changes.extend(self.write_dirty().await?);
        Ok(changes)
    }
}

impl RedisPresence {
    /// Writes `user`'s `count` (at least one) connections on this node; `true` if they were
    /// offline everywhere until now.
    async fn write_connected(&self, user: UserId, count: u32) -> Result<bool, PresenceError> {
        let first: i64 = self
            .scripts
            .connect
            .arg(&self.prefix)
            .arg(&self.node)
            .arg(user.0)
            .arg(count)
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(first == 1)
    }

    /// Writes `user`'s `count` connections left on this node; their last-seen time if they
    /// are now offline everywhere.
    async fn write_disconnected(
        &self,
        user: UserId,
        count: u32,
    ) -> Result<Option<Timestamp>, PresenceError> {
        let seen: i64 = self
            .scripts
            .disconnect
            .arg(&self.prefix)
            .arg(&self.node)
            .arg(user.0)
            .arg(count)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok((seen >= 0).then_some(Timestamp(seen)))
    }

    fn mark_dirty(&self, user: UserId) {
        self.dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user);
    }

    /// Writes again the counts whose writes failed; returns the status changes that makes.
    async fn write_dirty(&self) -> Result<Vec<PresenceChange>, PresenceError> {
        let users: Vec<UserId> = self
            .dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        let mut changes = Vec::new();
        for (i, &user) in users.iter().enumerate() {
            let _order = self.stripe(user).lock().await;
            let count = self
                .counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&user)
                .copied()
                .unwrap_or(0);
            let written = if count > 0 {
                self.write_connected(user, count).await.map(|first| {
                    first.then_some(PresenceChange {
                        user,
                        online: true,
                        last_seen: None,
                    })
                })
            } else {
                self.write_disconnected(user, 0).await.map(|seen| {
                    seen.map(|at| PresenceChange {
                        user,
                        online: false,
                        last_seen: Some(at),
                    })
                })
            };
            match written {
                Ok(change) => changes.extend(change),
                Err(e) => {
                    for &left in &users[i..] {
                        self.mark_dirty(left);
                    }
                    return Err(e);
                }
            }
        }
        Ok(changes)
    }

    /// Writes this node's connections to Redis again after it forgot them; returns the users
    /// who are online again.
    async fn reassert(&self) -> Result<Vec<PresenceChange>, PresenceError> {
        let counts: Vec<(UserId, u32)> = self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(&u, &n)| (u, n))
            .collect();
        let mut changes = Vec::new();
        // In slices, so that one script never runs for long on a busy Redis.
        for chunk in counts.chunks(500) {
            let mut call = self.scripts.reassert.arg(&self.prefix);
            call.arg(&self.node);
            for (user, count) in chunk {
                call.arg(user.0).arg(*count);
            }
            let back: Vec<i64> = call
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(failed)?;
            changes.extend(back.into_iter().map(|id| PresenceChange {
                user: UserId(id),
                online: true,
                last_seen: None,
            }));
        }
        if !counts.is_empty() {
            tracing::info!(
                users = counts.len(),
                "presence: this node's connections written to Redis again"
            );
        }
        Ok(changes)
    }
}
