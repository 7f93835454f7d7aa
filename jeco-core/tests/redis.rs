//! The Redis pub/sub backend against a real Redis server (`JECO_TEST_REDIS_URL`, default the
//! local one) and, for the multi-node cases, a real PostgreSQL database shared by two engines.
//! An unreachable Redis fails these tests; they are never skipped.
//!
//! Every test uses its own channel prefix, so tests running in parallel on one server do not
//! see each other's events. Timeouts are only a safety net against hanging: nothing here
//! sleeps or asserts on timing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use jeco_core::auth::PasswordHashing;
use jeco_core::event::Topic;
use jeco_core::event::{Event, Published};
use jeco_core::ids::{RoomId, Seq, UserId};
use jeco_core::model::RoomKind;
use jeco_core::presence::Presence;
use jeco_core::presence_redis::RedisPresence;
use jeco_core::pubsub::{Inbox, PubSub, PubSubError, Subscription};
use jeco_core::pubsub_redis::RedisPubSub;
use jeco_core::service::SendMessage;
use jeco_core::session::{Outbound, Session};
use jeco_core::testing::{RedisServer, TestDatabase};
use jeco_core::{Engine, EngineBuilder};
use jeco_proto::ws::Incoming;

const PATIENCE: Duration = Duration::from_secs(10);

fn redis_url() -> String {
    std::env::var("JECO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A channel prefix no other test (in this process or another) uses.
fn unique_prefix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "jeco-test:{}:{}:",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `fut`, or a failed test naming `what` after [`PATIENCE`].
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Waits until `node` receives; a Redis that cannot be reached fails the test here.
async fn wait_subscribed(node: &RedisPubSub) {
    let url = redis_url();
    tokio::time::timeout(PATIENCE, node.subscribed())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "Redis is required for these tests and is not reachable at {url}; \
                 start it or set JECO_TEST_REDIS_URL"
            )
        });
}

/// A node's backend on the test server, subscribed.
async fn node(prefix: &str, inbox: Inbox) -> Arc<RedisPubSub> {
    let node = RedisPubSub::new(&redis_url(), prefix, inbox).expect("valid Redis URL");
    wait_subscribed(&node).await;
    node
}

async fn recv(sub: &mut Subscription) -> Published {
    within("an event", sub.recv())
        .await
        .expect("subscription alive")
}

fn raw(topic: Topic, seq: Option<i64>, payload: &'static [u8]) -> Published {
    Published {
        topic,
        seq: seq.map(Seq),
        shared: false,
        payload: Bytes::from_static(payload),
        event: None,
    }
}

#[test]
fn an_invalid_url_is_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let err = RedisPubSub::new("not a url", "p:", Inbox::new(4)).unwrap_err();
    assert!(!err.to_string().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_nodes_with_topic_seq_and_bytes_intact() {
    let prefix = unique_prefix();
    let (inbox_a, inbox_b) = (Inbox::new(16), Inbox::new(16));
    let a = node(&prefix, inbox_a.clone()).await;
    let _b = node(&prefix, inbox_b.clone()).await;
    // Another deployment on the same server: must see nothing of this one.
    let inbox_other = Inbox::new(16);
    let other = node(&unique_prefix(), inbox_other.clone()).await;

    let room = Topic::Room(RoomId(5));
    let mut on_b = inbox_b.subscribe();
    on_b.follow(room);
    on_b.follow(Topic::Activity);
    let mut on_a = inbox_a.subscribe();
    on_a.follow(room);
    let mut on_other = inbox_other.subscribe();
    on_other.follow(room);

    // Topics nobody follows, published first: had they been delivered to the room
    // subscription, they would come out before the room event (one publisher connection and
    // one receiving connection keep order).
    a.publish(raw(Topic::Room(RoomId(6)), Some(1), b"{\"six\":1}"))
        .await
        .unwrap();
    a.publish(raw(Topic::User(UserId(5)), None, b"{\"user\":5}"))
        .await
        .unwrap();
    let payload: &[u8] = b"{\"text\":\"two\\nlines \xc3\xa9\"}\n";
    a.publish(raw(room, Some(42), payload)).await.unwrap();
    a.publish(raw(Topic::Activity, None, b"{\"p\":true}"))
        .await
        .unwrap();

    let got = recv(&mut on_b).await;
    assert_eq!(got.topic, room);
    assert_eq!(got.seq, Some(Seq(42)));
    assert_eq!(&got.payload[..], payload);
    let activity = recv(&mut on_b).await;
    assert_eq!(activity.topic, Topic::Activity);
    assert_eq!(activity.seq, None);
    assert_eq!(&activity.payload[..], b"{\"p\":true}");

    // The publishing node hears its own event back, like every node.
    let own = recv(&mut on_a).await;
    assert_eq!((own.topic, own.seq), (room, Some(Seq(42))));

    // A marker on the other deployment's channel proves that by the time it arrives, anything
    // of ours would have too.
    other
        .publish(raw(room, Some(1), b"{\"marker\":1}"))
        .await
        .unwrap();
    let marker = recv(&mut on_other).await;
    assert_eq!(&marker.payload[..], b"{\"marker\":1}");
    assert!(on_other.try_recv().is_none());
    assert!(on_b.try_recv().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_skipped() {
    let prefix = unique_prefix();
    let inbox = Inbox::new(16);
    let node = node(&prefix, inbox.clone()).await;
    let mut sub = inbox.subscribe();
    sub.follow(Topic::Room(RoomId(1)));

    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for (channel, payload) in [
        (format!("{prefix}room.x"), &b"1\n{}"[..]),
        (format!("{prefix}room.1"), &b"no newline"[..]),
        (format!("{prefix}room.1"), &b"seven\n{}"[..]),
    ] {
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .query_async::<i64>(&mut conn)
            .await
            .unwrap();
    }
    node.publish(raw(Topic::Room(RoomId(1)), Some(3), b"{\"ok\":1}"))
        .await
        .unwrap();
    let got = recv(&mut sub).await;
    assert_eq!(
        (got.seq, &got.payload[..]),
        (Some(Seq(3)), &b"{\"ok\":1}"[..])
    );
    assert!(
        node.is_subscribed(),
        "the receiver survived the bad messages"
    );
}

/// A [`PubSub`] that silently loses the room event with one sequence, as a network would.
struct Lossy {
    inner: Arc<RedisPubSub>,
    lose: AtomicI64,
    lost: AtomicU32,
}

#[async_trait]
impl PubSub for Lossy {
    async fn publish(&self, event: Published) -> Result<(), PubSubError> {
        if event
            .seq
            .is_some_and(|s| s.get() == self.lose.load(Ordering::SeqCst))
        {
            self.lost.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        self.inner.publish(event).await
    }
}

/// Two engines (nodes) on one PostgreSQL database, talking through Redis.
struct Cluster {
    a: Engine,
    /// Node A's subscriptions, to tell them events may have been lost.
    inbox_a: Inbox,
    b: Engine,
    b_lossy: Arc<Lossy>,
    _db: TestDatabase,
    _blobs: tempfile::TempDir,
}

fn builder(db: &TestDatabase, blobs: &tempfile::TempDir) -> EngineBuilder {
    Engine::builder()
        .postgres(db.url.clone())
        .data_dir(blobs.path())
        .jwt_secret(b"test secret that is long enough!!".to_vec())
        .password_hashing(PasswordHashing {
            memory_kib: 256,
            iterations: 1,
        })
}

impl Cluster {
    async fn start() -> Cluster {
        let db = TestDatabase::create().await;
        let blobs = tempfile::tempdir().unwrap();
        let prefix = unique_prefix();
        let url = redis_url();

        let node_a = Arc::new(OnceLock::new());
        let slot = node_a.clone();
        let inbox_a = Arc::new(OnceLock::new());
        let inbox_slot = inbox_a.clone();
        let (p, u) = (prefix.clone(), url.clone());
        let a = builder(&db, &blobs)
            .pubsub(move |inbox: Inbox| {
                inbox_slot.set(inbox.clone()).unwrap();
                let node = RedisPubSub::new(&u, &p, inbox).unwrap();
                slot.set(node.clone()).unwrap();
                node as Arc<dyn PubSub>
            })
            .build()
            .await
            .expect("node A builds");

        let b_lossy = Arc::new(OnceLock::new());
        let slot = b_lossy.clone();
        let b = builder(&db, &blobs)
            .pubsub(move |inbox| {
                let lossy = Arc::new(Lossy {
                    inner: RedisPubSub::new(&url, &prefix, inbox).unwrap(),
                    lose: AtomicI64::new(-1),
                    lost: AtomicU32::new(0),
                });
                slot.set(lossy.clone()).unwrap_or_else(|_| unreachable!());
                lossy as Arc<dyn PubSub>
            })
            .build()
            .await
            .expect("node B builds");
        let b_lossy: Arc<Lossy> = b_lossy.get().unwrap().clone();

        wait_subscribed(node_a.get().unwrap()).await;
        wait_subscribed(&b_lossy.inner).await;
        Cluster {
            a,
            inbox_a: inbox_a.get().unwrap().clone(),
            b,
            b_lossy,
            _db: db,
            _blobs: blobs,
        }
    }

    /// Ann on node A creates a public room that Bob on node B joins; returns Bob, the room
    /// and Ann's session on A.
    async fn lobby(&self) -> (UserId, RoomId, Session) {
        let ann = self.user(&self.a, "ann").await;
        let bob = self.user(&self.b, "bob").await;
        let room = self
            .a
            .rooms()
            .create(ann, "lobby", RoomKind::Public, "")
            .await
            .unwrap()
            .id;
        self.b.rooms().join(bob, room).await.unwrap();
        let (session, _ready) = Session::open(&self.a, ann).await.unwrap();
        (bob, room, session)
    }

    async fn user(&self, engine: &Engine, name: &str) -> UserId {
        engine
            .accounts()
            .register(
                name,
                &format!("{name}@example.com"),
                "correct horse battery 9",
            )
            .await
            .unwrap()
            .account
            .profile
            .id
    }
}

fn text(client_id: &str, body: &str) -> SendMessage {
    SendMessage {
        client_id: client_id.to_owned(),
        body: body.to_owned(),
        ..SendMessage::default()
    }
}

/// The next event the session yields for `room`, skipping everything else.
async fn next_in(session: &mut Session, room: RoomId) -> Event {
    within("a room event", async {
        loop {
            let out = session.next().await.expect("session alive");
            let Outbound::Frame(frame) = out else {
                panic!("session closed: {out:?}");
            };
            if let Incoming::Event(e) = serde_json::from_slice(frame.json()).unwrap() {
                let in_room = match &e {
                    Event::Typing { room_id, .. } => *room_id == room,
                    other => other.room_seq().is_some_and(|(r, _)| r == room),
                };
                if in_room {
                    return e;
                }
            }
        }
    })
    .await
}

fn created(event: Event) -> (Seq, String) {
    match event {
        Event::MessageCreated { seq, message, .. } => (seq, message.body),
        other => panic!("expected a new message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_on_one_node_sees_messages_and_typing_from_another() {
    let c = Cluster::start().await;
    let (bob, room, mut session) = c.lobby().await;
    let sent =
        c.b.messages()
            .send(bob, room, text("m1", "hello from B"))
            .await
            .unwrap();
    assert_eq!(
        created(next_in(&mut session, room).await),
        (sent.seq, "hello from B".to_owned())
    );

    c.b.presence().typing(bob, room, true).await.unwrap();
    match next_in(&mut session, room).await {
        Event::Typing {
            user_id, active, ..
        } => assert_eq!((user_id, active), (bob, true)),
        other => panic!("expected typing, got {other:?}"),
    }
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_lost_between_nodes_is_filled_from_the_store() {
    let c = Cluster::start().await;
    let (bob, room, mut session) = c.lobby().await;

    let first =
        c.b.messages()
            .send(bob, room, text("m1", "one"))
            .await
            .unwrap();
    assert_eq!(created(next_in(&mut session, room).await).0, first.seq);

    // The next event never reaches Redis; the one after it does, one step too far ahead.
    c.b_lossy.lose.store(first.seq.get() + 1, Ordering::SeqCst);
    let second =
        c.b.messages()
            .send(bob, room, text("m2", "two"))
            .await
            .unwrap();
    assert_eq!(second.seq.get(), first.seq.get() + 1);
    let third =
        c.b.messages()
            .send(bob, room, text("m3", "three"))
            .await
            .unwrap();
    assert_eq!(
        c.b_lossy.lost.load(Ordering::SeqCst),
        1,
        "the event was lost"
    );

    assert_eq!(
        created(next_in(&mut session, room).await),
        (second.seq, "two".to_owned())
    );
    assert_eq!(
        created(next_in(&mut session, room).await),
        (third.seq, "three".to_owned())
    );
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_fills_what_was_lost_without_waiting_for_a_later_event() {
    let c = Cluster::start().await;
    let (bob, room, mut session) = c.lobby().await;

    // The last message of the conversation never reaches Redis: no later event will reveal
    // the gap. The resync a node runs after (re)subscribing is what brings it.
    let last =
        c.b.messages()
            .send(bob, room, text("m0", "probe"))
            .await
            .unwrap();
    assert_eq!(created(next_in(&mut session, room).await).0, last.seq);
    c.b_lossy.lose.store(last.seq.get() + 1, Ordering::SeqCst);
    let lost =
        c.b.messages()
            .send(bob, room, text("m1", "lost on the way"))
            .await
            .unwrap();
    assert_eq!(c.b_lossy.lost.load(Ordering::SeqCst), 1);
    c.inbox_a.resync();
    assert_eq!(
        created(next_in(&mut session, room).await),
        (lost.seq, "lost on the way".to_owned())
    );
    session.close().await;
}

/// Presence backends of several nodes on one prefix.
async fn presence_node(prefix: &str, node_timeout: Duration) -> RedisPresence {
    within(
        "Redis for presence",
        RedisPresence::new(&redis_url(), prefix, node_timeout),
    )
    .await
    .expect("Redis is required for these tests; start it or set JECO_TEST_REDIS_URL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_shared_by_nodes_and_last_seen_outlives_them() {
    let prefix = unique_prefix();
    let long = Duration::from_secs(30);
    let a = presence_node(&prefix, long).await;
    let b = presence_node(&prefix, long).await;
    let u = UserId(1);
    assert!(a.connect(u).await.unwrap(), "first connection anywhere");
    assert!(!b.connect(u).await.unwrap(), "already online on A");
    assert!(!a.connect(u).await.unwrap());
    assert!(b.status(&[u]).await.unwrap()[0].online);
    assert_eq!(a.disconnect(u).await.unwrap(), None);
    assert_eq!(a.disconnect(u).await.unwrap(), None, "still online on B");
    assert!(a.status(&[u]).await.unwrap()[0].online);
    let seen = b.disconnect(u).await.unwrap().expect("last connection");
    // A stray disconnect announces nothing.
    assert_eq!(b.disconnect(u).await.unwrap(), None);
    drop((a, b));

    let c = presence_node(&prefix, long).await;
    let status = c.status(&[u, UserId(2)]).await.unwrap();
    assert!(!status[0].online);
    assert_eq!(status[0].last_seen, Some(seen));
    assert_eq!((status[1].online, status[1].last_seen), (false, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_users_go_offline_after_its_timeout() {
    let prefix = unique_prefix();
    let a = presence_node(&prefix, Duration::from_secs(30)).await;
    let doomed = presence_node(&prefix, Duration::from_millis(300)).await;
    let (only_there, also_here) = (UserId(2), UserId(3));
    assert!(doomed.connect(only_there).await.unwrap());
    assert!(doomed.connect(also_here).await.unwrap());
    assert!(!a.connect(also_here).await.unwrap());
    // The node dies without a goodbye: no disconnects, no more upkeep.
    drop(doomed);

    let changes = within("the dead node to be retired", async {
        loop {
            let changes = a.maintain().await.unwrap();
            if !changes.is_empty() {
                return changes;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0].user, changes[0].online), (only_there, false));
    let seen = changes[0].last_seen.expect("a last-seen time");
    let status = a.status(&[only_there, also_here]).await.unwrap();
    assert_eq!((status[0].online, status[0].last_seen), (false, Some(seen)));
    assert!(status[1].online, "still connected to a live node");
    assert!(a.maintain().await.unwrap().is_empty(), "retired once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_redis_forgot_writes_its_connections_again() {
    let prefix = unique_prefix();
    let a = presence_node(&prefix, Duration::from_secs(30)).await;
    let u = UserId(4);
    assert!(a.connect(u).await.unwrap());

    // Redis restarts empty (or the node was retired during a long pause).
    let mut conn = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    redis::cmd("DEL")
        .arg(&keys)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    assert!(!a.status(&[u]).await.unwrap()[0].online);

    let changes = a.maintain().await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0].user, changes[0].online), (u, true));
    assert!(a.status(&[u]).await.unwrap()[0].online);
    assert!(a.disconnect(u).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_is_shared_and_renewals_are_coalesced_across_nodes() {
    let prefix = unique_prefix();
    let a = presence_node(&prefix, Duration::from_secs(30)).await;
    let b = presence_node(&prefix, Duration::from_secs(30)).await;
    let (room, u, v) = (RoomId(9), UserId(5), UserId(6));
    let ttl = Duration::from_secs(30);
    assert!(a.start_typing(room, u, ttl).await.unwrap());
    assert!(
        !b.start_typing(room, u, ttl).await.unwrap(),
        "an early renewal through another node is quiet"
    );
    assert!(b.start_typing(room, v, ttl).await.unwrap());
    assert_eq!(b.typing(room).await.unwrap(), vec![u, v]);
    assert!(b.stop_typing(room, u).await.unwrap());
    assert!(!a.stop_typing(room, u).await.unwrap(), "already stopped");
    assert_eq!(a.typing(room).await.unwrap(), vec![v]);
    assert!(a.typing(RoomId(10)).await.unwrap().is_empty());

    // An indication lapses by itself.
    assert!(
        a.start_typing(room, u, Duration::from_millis(100))
            .await
            .unwrap()
    );
    within("the indication to lapse", async {
        while a.typing(room).await.unwrap().contains(&u) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_writes_that_failed_are_written_again() {
    let redis = RedisServer::start().await;
    let prefix = unique_prefix();
    let node = within(
        "presence on the private Redis",
        RedisPresence::new(&redis.url(), &prefix, Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let (stays, leaves) = (UserId(1), UserId(2));
    assert!(node.connect(stays).await.unwrap());
    assert!(node.connect(leaves).await.unwrap());

    // Redis stalls: commands wait past the node's time limit and fail here, but Redis still
    // carries them out once it resumes, late and out of step with the node.
    let mut admin = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(5000)
        .arg("ALL")
        .query_async::<()>(&mut admin)
        .await
        .unwrap();
    let newcomer = UserId(3);
    assert!(
        node.connect(newcomer).await.is_err(),
        "refused while stalled"
    );
    assert!(
        node.disconnect(leaves).await.is_err(),
        "not written while stalled"
    );
    // Redis resumes: a PING answers again once the pause is over.
    within("Redis to resume", async {
        while redis::cmd("PING")
            .query_async::<String>(&mut admin)
            .await
            .is_err()
        {}
    })
    .await;

    let mut changes = node.maintain().await.unwrap();
    changes.sort_by_key(|c| c.user);
    let went: Vec<(UserId, bool)> = changes.iter().map(|c| (c.user, c.online)).collect();
    assert_eq!(
        went,
        vec![(leaves, false), (newcomer, false)],
        "the user who left, and the refused connection, are written as gone"
    );
    let status = node.status(&[stays, leaves, newcomer]).await.unwrap();
    let online: Vec<bool> = status.iter().map(|s| s.online).collect();
    assert_eq!(online, vec![true, false, false]);
    assert!(status[1].last_seen.is_some());
    assert!(node.maintain().await.unwrap().is_empty(), "written once");
}

/// With Redis configured, a pub/sub factory given as well is not even built: Redis replaces
/// it (a factory that connects somewhere would otherwise leave a connection nobody uses).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_replaces_a_custom_pubsub_without_building_it() {
    let db = TestDatabase::create().await;
    let blobs = tempfile::tempdir().unwrap();
    builder(&db, &blobs)
        .pubsub(|_| panic!("the custom pub/sub was built although Redis replaces it"))
        .redis(redis_url(), unique_prefix(), Duration::from_secs(5))
        .build()
        .await
        .expect("the engine builds");
}
