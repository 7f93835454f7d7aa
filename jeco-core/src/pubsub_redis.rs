//! A Redis pub/sub backend, so that several engine instances ("nodes") on one database deliver
//! each other's events.
//!
//! How it works, and why:
//! - **Publishing** is `PUBLISH <prefix><topic> <payload>` on one multiplexed connection that
//!   every publisher of the node shares. A broken connection is thrown away and the next
//!   publish opens a new one. A publish that still fails returns [`PubSubError`]: the change
//!   is already committed, so the engine only logs it. The node remembers the newest lost
//!   sequenced event of each room and user topic and publishes it again once Redis answers
//!   (checked every second): receivers see the jump in sequence and read the missing events
//!   from the store (see [`crate::session`]). Losing an event costs a store read, never
//!   correctness, so Redis needs no persistence or delivery guarantees.
//! - **Receiving** uses one connection per node, subscribed with `PSUBSCRIBE <prefix>*`,
//!   whose messages go to this node's [`Inbox`], which fans them out to local subscriptions.
//!   Redis thus sees one subscriber per node however many clients are connected, and nothing
//!   is (un)subscribed on Redis as clients come and go. When the connection drops it is
//!   reopened with exponential backoff and jitter (so restarted Redis is not stampeded by
//!   every node at once). What was published meanwhile never arrives, so after every
//!   (re)subscription the node calls [`Inbox::resync`]: each connection compares its positions
//!   with the store and reads what it missed.
//! - A node gets its own events back from Redis like any other node's: every event takes the
//!   same path, so local and remote subscribers see one order.
//! - **Wire format**: the channel is the prefix followed by the topic's display form
//!   (`room.5`, `user.7`, `presence`; read back with [`Topic::parse`]). The payload is the
//!   room sequence in decimal (empty for unsequenced events), `\n`, then the event's JSON
//!   exactly as serialized at publish time: receivers learn the sequence without parsing JSON,
//!   and forward the bytes untouched. Malformed messages are logged and skipped.
//! - The **prefix** keeps deployments (or tests) that share a Redis server apart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use rand::Rng;
use redis::aio::MultiplexedConnection;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::event::Published;
use crate::event::Topic;
use crate::ids::Seq;
use crate::observe::Observers;
use crate::pubsub::{Inbox, PubSub, PubSubError};

/// First delay before reconnecting the receiving connection; doubled on each failure.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// Longest delay between reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// After a publisher connection attempt fails, publishes fail at once for this long instead
/// of each waiting for an attempt of its own (they sit in the request path).
const PUBLISH_RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often the receiving connection is pinged, to notice a peer that vanished silently.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// How long a keepalive ping may take before the connection counts as dead.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often lost events are offered to Redis again.
const REPUBLISH_EVERY: Duration = Duration::from_secs(1);
/// Most topics whose lost events are remembered; beyond that, receivers rely on the resync
/// that follows their own reconnection.
const LOST_TOPICS: usize = 10_000;

/// The [`PubSub`] backend for several nodes sharing a Redis server (see the module docs).
///
/// Dropping the last reference stops the node's receiving task.
pub struct RedisPubSub {
    sender: Arc<Sender>,
    subscribed: watch::Receiver<bool>,
    receiver: JoinHandle<()>,
    republisher: JoinHandle<()>,
}

/// The publishing side, shared with the task that republishes lost events.
struct Sender {
    client: redis::Client,
    prefix: String,
    publisher: Mutex<Publisher>,
    /// Where the time of each publish goes.
    observers: Observers,
    /// Per topic, the newest sequenced event that could not be published.
    lost: std::sync::Mutex<HashMap<Topic, Published>>,
}

impl std::fmt::Debug for RedisPubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPubSub")
            .field("prefix", &self.sender.prefix)
            .field("subscribed", &*self.subscribed.borrow())
            .finish()
    }
}

/// The shared publishing connection, opened on demand.
#[derive(Default)]
struct Publisher {
    /// The connection and its generation, so that a failure reported on an old connection
    /// does not throw away a newer one.
    conn: Option<(u64, MultiplexedConnection)>,
    generation: u64,
    /// Set after a failed connection attempt: no new attempt before then.
    retry_at: Option<Instant>,
}

impl RedisPubSub {
    /// A backend on the Redis server at `url` (`redis://host:port/db`) whose channels all
    /// start with `prefix`, delivering what it receives into `inbox`.
    ///
    /// Validates the URL and spawns the node's receiving task on the current tokio runtime;
    /// it connects in the background and keeps reconnecting, so an unreachable server is not
    /// an error here (see [`RedisPubSub::subscribed`]). Fails if the URL is invalid or there
    /// is no runtime.
    pub fn new(url: &str, prefix: &str, inbox: Inbox) -> Result<Arc<RedisPubSub>, PubSubError> {
        RedisPubSub::new_observed(url, prefix, inbox, Observers::default())
    }

    /// [`RedisPubSub::new`], the time of each publish reported to `observers`.
    pub fn new_observed(
        url: &str,
        prefix: &str,
        inbox: Inbox,
        observers: Observers,
    ) -> Result<Arc<RedisPubSub>, PubSubError> {
        let client = redis::Client::open(url).map_err(|e| PubSubError(Box::new(e)))?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|e| PubSubError(Box::new(e)))?;
        let (tx, rx) = watch::channel(false);
        let receiver = runtime.spawn(receive(client.clone(), prefix.to_owned(), inbox, tx));
        let sender = Arc::new(Sender {
            client,
            prefix: prefix.to_owned(),
            publisher: Mutex::new(Publisher::default()),
            observers,
            lost: std::sync::Mutex::new(HashMap::new()),
        });
        let republisher = runtime.spawn(republish(Arc::clone(&sender)));
        Ok(Arc::new(RedisPubSub {
            sender,
            subscribed: rx,
            receiver,
            republisher,
        }))
    }

    /// Whether the receiving connection is subscribed right now (for readiness probes).
    pub fn is_subscribed(&self) -> bool {
        *self.subscribed.borrow()
    }

    /// Waits until the receiving connection is subscribed: from then on, events published by
    /// any node reach this node's inbox (until the connection drops).
    pub async fn subscribed(&self) {
        let mut rx = self.subscribed.clone();
        // The sender lives as long as the receiving task, which runs until `self` is dropped.
        let _ = rx.wait_for(|&subscribed| subscribed).await;
    }
}

impl Sender {
    /// The shared connection, opened if there is none.
    async fn connection(&self) -> Result<(u64, MultiplexedConnection), PubSubError> {
        let mut publisher = self.publisher.lock().await;
        if let Some((generation, conn)) = &publisher.conn {
            return Ok((*generation, conn.clone()));
        }
        if let Some(at) = publisher.retry_at
            && Instant::now() < at
        {
            return Err(PubSubError("Redis is unreachable; not retrying yet".into()));
        }
        match self.client.get_multiplexed_async_connection().await {
            Ok(conn) => {
                publisher.generation += 1;
                publisher.retry_at = None;
                publisher.conn = Some((publisher.generation, conn.clone()));
                Ok((publisher.generation, conn))
            }
            Err(e) => {
                publisher.retry_at = Some(Instant::now() + PUBLISH_RETRY_AFTER);
                Err(PubSubError(Box::new(e)))
            }
        }
    }

    /// Throws away connection `generation` after it failed, unless it was already replaced.
    async fn discard(&self, generation: u64) {
        let mut publisher = self.publisher.lock().await;
        if publisher
            .conn
            .as_ref()
            .is_some_and(|(current, _)| *current == generation)
        {
            publisher.conn = None;
        }
    }
}

impl Drop for RedisPubSub {
    fn drop(&mut self) {
        self.receiver.abort();
        self.republisher.abort();
    }
}

#[async_trait]
impl PubSub for RedisPubSub {
    async fn publish(&self, event: Published) -> Result<(), PubSubError> {
        let result = self.sender.send(&event).await;
        if result.is_err() {
            self.sender.remember(event);
        }
        result
    }

    fn is_ready(&self) -> bool {
        self.is_subscribed()
    }
}

impl Sender {
    /// Publishes `event`, retrying once on a fresh connection.
    async fn send(&self, event: &Published) -> Result<(), PubSubError> {
        let channel = format!("{}{}", self.prefix, event.topic);
        let payload = encode(event);
        // A connection that died since the last publish fails the first attempt; one retry on
        // a fresh connection saves unsequenced events (typing, presence) that the store cannot
        // replay. A duplicate from a retried publish is harmless: receivers drop sequenced
        // events they already have, and typing or presence repeats nothing.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (generation, mut conn) = self.connection().await?;
            let started = std::time::Instant::now();
            let published = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(&payload)
                .query_async::<i64>(&mut conn)
                .await;
            if let Some(observer) = self.observers.get() {
                observer.redis_command(started.elapsed());
            }
            match published {
                Ok(_receivers) => return Ok(()),
                Err(e) => {
                    self.discard(generation).await;
                    if attempt == 2 {
                        return Err(PubSubError(Box::new(e)));
                    }
                }
            }
        }
    }

    /// Keeps `event` for [`republish`] if it tells receivers that they missed something: a
    /// sequenced room event, or a user's feed entry. Typing, presence, read counts and
    /// activity are not worth repeating late (a stale one would even mislead).
    fn remember(&self, event: Published) {
        let keep = match event.topic {
            Topic::Room(_) => event.seq.is_some(),
            Topic::User(_) => event
                .event
                .as_deref()
                .is_some_and(|e| e.feed_seq().is_some()),
            _ => false,
        };
        if !keep {
            return;
        }
        let mut lost = self.lost.lock().unwrap_or_else(|e| e.into_inner());
        if lost.len() >= LOST_TOPICS && !lost.contains_key(&event.topic) {
            return;
        }
        match lost.get(&event.topic) {
            // Only the newest matters: receivers fill everything before it from the store.
            Some(kept) if kept.seq > event.seq => {}
            _ => {
                lost.insert(event.topic, event);
            }
        }
    }

    fn take_lost(&self) -> Vec<Published> {
        let mut lost = self.lost.lock().unwrap_or_else(|e| e.into_inner());
        lost.drain().map(|(_, event)| event).collect()
    }
}

/// Offers lost events to Redis again until they get through.
async fn republish(sender: Arc<Sender>) {
    let mut tick = tokio::time::interval(REPUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let lost = sender.take_lost();
        if lost.is_empty() {
            continue;
        }
        let mut sent = 0usize;
        let mut events = lost.into_iter();
        for event in events.by_ref() {
            if sender.send(&event).await.is_err() {
                sender.remember(event);
                break;
            }
            sent += 1;
        }
        // What was not tried goes back for the next round (unless newer events replaced it).
        for event in events {
            sender.remember(event);
        }
        if sent > 0 {
            tracing::info!(sent, "republished events that Redis missed");
        }
    }
}

/// The payload on the wire: a header line, `\n`, the JSON bytes. The header is the room
/// sequence in decimal (empty when none), after an `s` when the event was published to
/// several topics at once ([`Published::shared`]).
fn encode(event: &Published) -> Vec<u8> {
    let seq = event.seq.map(|s| s.get().to_string()).unwrap_or_default();
    let mut payload = Vec::with_capacity(seq.len() + 2 + event.payload.len());
    if event.shared {
        payload.push(b's');
    }
    payload.extend_from_slice(seq.as_bytes());
    payload.push(b'\n');
    payload.extend_from_slice(&event.payload);
    payload
}

/// The event a message on `channel` carries, or why it is malformed.
fn decode(prefix: &str, channel: &str, payload: &[u8]) -> Result<Published, &'static str> {
    let topic = channel
        .strip_prefix(prefix)
        .and_then(Topic::parse)
        .ok_or("channel is not a topic")?;
    let newline = payload
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no sequence line")?;
    let (shared, header) = match &payload[..newline] {
        [b's', rest @ ..] => (true, rest),
        header => (false, header),
    };
    let seq = match header {
        [] => None,
        digits => Some(Seq(std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("sequence is not a number")?)),
    };
    Ok(Published {
        topic,
        seq,
        shared,
        payload: Bytes::copy_from_slice(&payload[newline + 1..]),
        event: None,
    })
}

/// `prefix` as a literal in a Redis glob pattern.
fn escape_glob(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The delay before reconnection attempt `attempt` (0-based): exponential, capped, with
/// jitter so that nodes do not reconnect in lockstep.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(BACKOFF_MAX);
    // Between half and all of the ceiling.
    ceiling.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
}

/// The node's receiving task: subscribes, feeds the inbox, and reconnects forever.
async fn receive(
    client: redis::Client,
    prefix: String,
    inbox: Inbox,
    subscribed: watch::Sender<bool>,
) {
    let pattern = format!("{}*", escape_glob(&prefix));
    let mut attempt = 0u32;
    loop {
        match subscribe(&client, &pattern).await {
            Ok(pubsub) => {
                attempt = 0;
                tracing::info!(%pattern, "subscribed to Redis");
                subscribed.send_replace(true);
                // Whatever was published while this node was not subscribed never comes.
                inbox.resync();
                let reason = forward(pubsub, &prefix, &inbox).await;
                subscribed.send_replace(false);
                tracing::warn!(%pattern, reason, "Redis subscription lost; reconnecting");
            }
            Err(e) => {
                tracing::warn!(%pattern, error = %e, attempt, "could not subscribe to Redis");
            }
        }
        tokio::time::sleep(backoff(attempt)).await;
        attempt = attempt.saturating_add(1);
    }
}

async fn subscribe(
    client: &redis::Client,
    pattern: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.psubscribe(pattern).await?;
    Ok(pubsub)
}

/// Hands every message to the inbox until the connection ends; returns why it did.
async fn forward(pubsub: redis::aio::PubSub, prefix: &str, inbox: &Inbox) -> &'static str {
    let (mut sink, mut stream) = pubsub.split();
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    keepalive.tick().await;
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else {
                    return "connection closed";
                };
                let channel = msg.get_channel_name();
                match decode(prefix, channel, msg.get_payload_bytes()) {
                    Ok(event) => inbox.deliver(&event),
                    Err(problem) => {
                        tracing::warn!(channel, problem, "skipping a malformed Redis message");
                    }
                }
            }
            _ = keepalive.tick() => {
                match tokio::time::timeout(KEEPALIVE_TIMEOUT, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => return "keepalive ping failed",
                    Err(_) => return "keepalive ping timed out",
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{RoomId, UserId};

    #[test]
    fn the_wire_format_round_trips() {
        let event = Published {
            topic: Topic::Room(RoomId(5)),
            seq: Some(Seq(42)),
            shared: false,
            payload: Bytes::from_static(b"{\"a\":\"line\\nbreak\"}"),
            event: None,
        };
        let wire = encode(&event);
        assert_eq!(wire, b"42\n{\"a\":\"line\\nbreak\"}");
        let back = decode("p:", "p:room.5", &wire).expect("decodes");
        assert_eq!(back.topic, event.topic);
        assert_eq!(back.seq, event.seq);
        assert!(!back.shared);
        assert_eq!(back.payload, event.payload);

        let activity = decode("p:", "p:activity", b"\n{}").expect("decodes");
        assert_eq!((activity.topic, activity.seq), (Topic::Activity, None));
        assert_eq!(&activity.payload[..], b"{}");

        let presence = Published {
            topic: Topic::User(UserId(3)),
            seq: None,
            shared: true,
            payload: Bytes::from_static(b"{}"),
            event: None,
        };
        let wire = encode(&presence);
        assert_eq!(wire, b"s\n{}");
        let back = decode("p:", "p:user.3", &wire).expect("decodes");
        assert!(back.shared && back.seq.is_none());
    }

    #[test]
    fn malformed_messages_are_rejected() {
        assert!(decode("p:", "q:room.5", b"1\n{}").is_err());
        assert!(decode("p:", "p:room.x", b"1\n{}").is_err());
        assert!(decode("p:", "p:room.5", b"{}").is_err());
        assert!(decode("p:", "p:room.5", b"x\n{}").is_err());
    }

    #[test]
    fn lost_events_keep_the_newest_per_topic_and_nothing_unsequenced() {
        let sender = Sender {
            client: redis::Client::open("redis://127.0.0.1:1/").expect("a valid URL"),
            prefix: "p:".to_owned(),
            publisher: Mutex::new(Publisher::default()),
            observers: Observers::default(),
            lost: std::sync::Mutex::new(HashMap::new()),
        };
        let event = |topic, seq: Option<i64>| Published {
            topic,
            seq: seq.map(Seq),
            shared: false,
            payload: Bytes::from_static(b"{}"),
            event: None,
        };
        let notification = crate::event::Event::Membership {
            feed_seq: Seq(4),
            room_id: RoomId(1),
            room_seq: Seq(2),
            joined: true,
        };
        let read = crate::event::Event::NotificationsRead {
            ids: Vec::new(),
            all: true,
            unread: 0,
        };
        let (room, other) = (Topic::Room(RoomId(1)), Topic::Room(RoomId(2)));
        sender.remember(event(room, Some(7)));
        sender.remember(event(room, Some(9)));
        sender.remember(event(room, Some(8)));
        sender.remember(event(other, None));
        sender.remember(event(Topic::Activity, None));
        sender.remember(Published::new(Topic::User(UserId(4)), read).unwrap());
        sender.remember(Published::new(Topic::User(UserId(3)), notification).unwrap());
        let mut lost: Vec<(Topic, Option<Seq>)> = sender
            .take_lost()
            .into_iter()
            .map(|e| (e.topic, e.seq))
            .collect();
        lost.sort_by_key(|(topic, _)| topic.to_string());
        assert_eq!(
            lost,
            vec![(room, Some(Seq(9))), (Topic::User(UserId(3)), None)],
            "the newest room event, and the user's feed entry; nothing unsequenced is repeated"
        );
        assert!(sender.take_lost().is_empty());
    }

    #[test]
    fn glob_characters_in_the_prefix_are_literal() {
        assert_eq!(escape_glob("jeco:"), "jeco:");
        assert_eq!(escape_glob(r"a*b?[c]\"), r"a\*b\?\[c\]\\");
    }

    #[test]
    fn backoff_grows_to_a_cap_with_jitter() {
        assert!(backoff(0) >= BACKOFF_BASE / 2 && backoff(0) <= BACKOFF_BASE);
        assert!(backoff(3) >= BACKOFF_BASE * 4);
        for attempt in [10, 40, u32::MAX] {
            let d = backoff(attempt);
            assert!(d >= BACKOFF_MAX / 2 && d <= BACKOFF_MAX, "{d:?}");
        }
    }
}
