//! Assembling an [`Engine`] from backends, and the limits it enforces.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{JwtKeys, PasswordHashing, load_or_create_secret};
use crate::blob::{BlobStore, LocalDirBlobStore};
use crate::commit::GroupCommit;
use crate::core::{ActivityThrottle, Core};
use crate::error::{Error, ErrorCode, Result};
use crate::event::Topic;
use crate::ids::{RoomId, Timestamp, UserId};
use crate::limits::Limits;
use crate::mailer::{LogMailer, Mailer};
use crate::model::RoomKind;
use crate::observe::{Observer, Observers};
use crate::presence::{InMemoryPresence, Presence};
use crate::pubsub::{InProcessPubSub, Inbox, PubSub, Subscription};
use crate::service::{
    Accounts, Attachments, Contacts, Messages, Notifications, PresenceService, Rooms,
};
use crate::store::{NewRoom, StoreError, Stores};

/// The chat engine: cheap to clone, safe to share across tasks.
///
/// ```no_run
/// # async fn demo() -> jeco_core::Result<()> {
/// let engine = jeco_core::Engine::builder().data_dir("./jeco-data").build().await?;
/// let alice = engine.accounts().register("alice", "alice@example.com", "correct horse 1").await?;
/// let rooms = engine.rooms().list(alice.account.profile.id).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Engine {
    core: Arc<Core>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("general", &self.core.general)
            .finish()
    }
}

impl Engine {
    /// Starts configuring an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// Registration, login, tokens, profiles and passwords.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts::new(&self.core)
    }

    /// Group rooms, direct rooms, members and read markers.
    pub fn rooms(&self) -> Rooms<'_> {
        Rooms::new(&self.core)
    }

    /// Sending, editing, deleting, history, reactions and resume.
    pub fn messages(&self) -> Messages<'_> {
        Messages::new(&self.core)
    }

    /// Notifications and the per-user feed.
    pub fn notifications(&self) -> Notifications<'_> {
        Notifications::new(&self.core)
    }

    /// Contacts, user search and blocks.
    pub fn contacts(&self) -> Contacts<'_> {
        Contacts::new(&self.core)
    }

    /// Online status and typing.
    pub fn presence(&self) -> PresenceService<'_> {
        PresenceService::new(&self.core)
    }

    /// Uploads and downloads.
    pub fn attachments(&self) -> Attachments<'_> {
        Attachments::new(&self.core)
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.core.limits
    }

    /// Whether the store answers (for readiness probes).
    pub async fn check_store(&self) -> Result<()> {
        self.core.stores.rooms.room(self.core.general).await?;
        Ok(())
    }

    /// Reports what the engine measures of its own work (group commits of its SQLite or
    /// PostgreSQL store, commands of its Redis backends) to `observer` from now on. `false`,
    /// and nothing changes, if an observer was set already. Stores passed in with
    /// [`EngineBuilder::stores`] report nothing.
    pub fn observe(&self, observer: Arc<dyn Observer>) -> bool {
        self.core.observers.set(observer)
    }

    /// Whether events from other nodes reach this one (always, with one node).
    pub fn pubsub_ready(&self) -> bool {
        self.core.pubsub.is_ready()
    }

    /// The public room every new user joins.
    pub fn general_room(&self) -> RoomId {
        self.core.general
    }

    /// How many subscriptions follow `topic` on this node (for metrics and tests).
    pub fn followers(&self, topic: Topic) -> usize {
        self.core.inbox.followers(topic)
    }

    /// A subscription to everything `user` should receive live: their own topic, public room
    /// activity, and every room they are a member of. When a [`crate::event::Event::Membership`] arrives,
    /// follow or unfollow that room's topic. (A [`crate::session::Session`] does all of this,
    /// and keeps positions so that nothing is missed or repeated.)
    pub async fn subscribe(&self, user: UserId) -> Result<Subscription> {
        let sub = self.core.inbox.subscribe();
        sub.follow(Topic::User(user));
        sub.follow(Topic::Activity);
        for room in self.core.stores.rooms.room_ids_of(user).await? {
            sub.follow(Topic::Room(room));
        }
        Ok(sub)
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }
}

/// Makes the pub/sub backend once the node's inbox exists.
type PubSubFactory = Box<dyn FnOnce(Inbox) -> Arc<dyn PubSub> + Send>;

/// Where the engine keeps its data.
enum StoreChoice {
    Default,
    #[cfg(feature = "postgres")]
    Postgres {
        url: String,
        pool: u32,
    },
    Custom(Stores),
}

/// Where the access-token signing secret comes from.
enum SecretChoice {
    /// `jwt.key` in the data directory, created on first start.
    DataDir,
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// Configures an [`Engine`]. Everything has a default: with none set, data goes to
/// `./jeco-data` (SQLite database and uploaded files), events and presence stay in-process,
/// and mail is written to the log with its secrets (reset tokens) redacted.
pub struct EngineBuilder {
    data_dir: PathBuf,
    store: StoreChoice,
    pubsub: Option<PubSubFactory>,
    presence: Option<Arc<dyn Presence>>,
    blobs: Option<Arc<dyn BlobStore>>,
    mailer: Option<Arc<dyn Mailer>>,
    secret: SecretChoice,
    hashing: PasswordHashing,
    limits: Limits,
    reset_link: String,
    queue_len: usize,
    observers: Observers,
    #[cfg(feature = "redis")]
    redis: Option<RedisChoice>,
}

/// Where several nodes meet.
#[cfg(feature = "redis")]
struct RedisChoice {
    url: String,
    prefix: String,
    node_timeout: Duration,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            data_dir: PathBuf::from("./jeco-data"),
            store: StoreChoice::Default,
            pubsub: None,
            presence: None,
            blobs: None,
            mailer: None,
            secret: SecretChoice::DataDir,
            hashing: PasswordHashing::default(),
            limits: Limits::default(),
            reset_link: "http://127.0.0.1:8080/reset-password".to_owned(),
            queue_len: 1024,
            observers: Observers::default(),
            #[cfg(feature = "redis")]
            redis: None,
        }
    }
}

impl EngineBuilder {
    /// The directory for the SQLite database (`jeco.db`) and uploads (`blobs/`).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = dir.into();
        self
    }

    /// Uses PostgreSQL at `url` instead of SQLite, with a pool of up to 16 connections
    /// ([`EngineBuilder::postgres_pool`] changes it).
    #[cfg(feature = "postgres")]
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.store = StoreChoice::Postgres {
            url: url.into(),
            pool: 16,
        };
        self
    }

    /// The most connections the PostgreSQL pool opens (at least 1; the group commit of sends
    /// uses four of them). Only meaningful after [`EngineBuilder::postgres`].
    #[cfg(feature = "postgres")]
    pub fn postgres_pool(mut self, max_connections: u32) -> Self {
        if let StoreChoice::Postgres { pool, .. } = &mut self.store {
            *pool = max_connections.max(1);
        }
        self
    }

    /// Uses stores the caller built.
    pub fn stores(mut self, stores: Stores) -> Self {
        self.store = StoreChoice::Custom(stores);
        self
    }

    /// Uses another pub/sub backend; the closure receives this node's inbox to deliver what
    /// the backend receives into.
    pub fn pubsub(mut self, make: impl FnOnce(Inbox) -> Arc<dyn PubSub> + Send + 'static) -> Self {
        self.pubsub = Some(Box::new(make));
        self
    }

    /// Joins the other nodes of a deployment through the Redis server at `url`: events go
    /// through [`RedisPubSub`](crate::pubsub_redis::RedisPubSub) and presence and typing
    /// through [`RedisPresence`](crate::presence_redis::RedisPresence), both with keys and
    /// channels under `prefix`. A node that dies without a goodbye stops counting its users
    /// online after `node_timeout`. Overrides [`EngineBuilder::pubsub`] and
    /// [`EngineBuilder::presence`].
    #[cfg(feature = "redis")]
    pub fn redis(
        mut self,
        url: impl Into<String>,
        prefix: impl Into<String>,
        node_timeout: Duration,
    ) -> Self {
        self.redis = Some(RedisChoice {
            url: url.into(),
            prefix: prefix.into(),
            node_timeout,
        });
        self
    }

    /// Uses another presence backend.
    pub fn presence(mut self, presence: Arc<dyn Presence>) -> Self {
        self.presence = Some(presence);
        self
    }

    /// Uses another blob store.
    pub fn blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// Uses another mailer. One that talks to a mail server belongs behind a
    /// [`crate::mailer::BackgroundMailer`], so that a reset request does not wait for it.
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// The secret that signs access tokens (at least 32 bytes). Without this or
    /// [`EngineBuilder::jwt_secret_file`], the secret is kept in `jwt.key` in the data
    /// directory, created on first start, so that sessions survive restarts.
    pub fn jwt_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.secret = SecretChoice::Bytes(secret.into());
        self
    }

    /// Reads the signing secret from `path`, creating a random one there (readable by the
    /// owner only) if the file does not exist. Every node of a deployment needs the same.
    pub fn jwt_secret_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.secret = SecretChoice::File(path.into());
        self
    }

    /// The cost of password hashing.
    pub fn password_hashing(mut self, hashing: PasswordHashing) -> Self {
        self.hashing = hashing;
        self
    }

    /// The limits to enforce.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The page that completes a password reset; the mail links to it with the token in the
    /// URL fragment (`#token=...`), which browsers never send to a server.
    pub fn reset_link(mut self, url: impl Into<String>) -> Self {
        self.reset_link = url.into();
        self
    }

    /// How many events each subscription may have queued before it counts as too slow and is
    /// dropped.
    pub fn subscription_queue(mut self, len: usize) -> Self {
        self.queue_len = len;
        self
    }

    /// Opens the stores (applying migrations), makes sure the `general` room exists and
    /// returns the engine.
    pub async fn build(self) -> Result<Engine> {
        let stores = match self.store {
            StoreChoice::Custom(stores) => stores,
            #[cfg(feature = "postgres")]
            StoreChoice::Postgres { url, pool } => Stores::from_backend(Arc::new(
                crate::store::sql::PgStore::connect(&url, pool).await?,
            )),
            StoreChoice::Default => default_store(&self.data_dir).await?,
        };
        let blobs = match self.blobs {
            Some(b) => b,
            None => Arc::new(
                LocalDirBlobStore::new(self.data_dir.join("blobs")).map_err(Error::internal)?,
            ),
        };
        let secret = match self.secret {
            SecretChoice::Bytes(s) if s.len() >= 32 => s,
            SecretChoice::Bytes(_) => {
                return Err(Error::Internal(
                    "the token signing secret must be at least 32 bytes".into(),
                ));
            }
            SecretChoice::File(path) => load_or_create_secret(&path)?,
            SecretChoice::DataDir => {
                std::fs::create_dir_all(&self.data_dir).map_err(Error::internal)?;
                load_or_create_secret(&self.data_dir.join("jwt.key"))?
            }
        };
        let inbox = Inbox::new(self.queue_len);
        let in_process = |inbox: Inbox, make: Option<PubSubFactory>| -> Arc<dyn PubSub> {
            match make {
                Some(make) => make(inbox),
                None => Arc::new(InProcessPubSub::new(inbox)),
            }
        };
        #[cfg(not(feature = "redis"))]
        let (pubsub, presence) = (in_process(inbox.clone(), self.pubsub), self.presence);
        // Redis replaces both backends; the other choices are not even built.
        #[cfg(feature = "redis")]
        let (pubsub, presence) = match self.redis {
            Some(redis) => {
                let node_pubsub: Arc<dyn PubSub> = crate::pubsub_redis::RedisPubSub::new_observed(
                    &redis.url,
                    &redis.prefix,
                    inbox.clone(),
                    self.observers.clone(),
                )
                .map_err(Error::internal)?;
                let node_presence: Arc<dyn Presence> = Arc::new(
                    crate::presence_redis::RedisPresence::new_observed(
                        &redis.url,
                        &redis.prefix,
                        redis.node_timeout,
                        self.observers.clone(),
                    )
                    .await
                    .map_err(Error::internal)?,
                );
                (node_pubsub, Some(node_presence))
            }
            None => (in_process(inbox.clone(), self.pubsub), self.presence),
        };
        let general = ensure_general(&stores).await?;
        let core = Core {
            commits: GroupCommit::start(stores.messages.clone(), self.observers.clone()),
            stores,
            pubsub,
            presence: presence.unwrap_or_else(|| Arc::new(InMemoryPresence::new())),
            blobs,
            mailer: self
                .mailer
                .unwrap_or_else(|| Arc::new(LogMailer::redacting())),
            inbox,
            jwt: JwtKeys::new(&secret),
            hashing: self.hashing,
            limits: self.limits,
            reset_link: self.reset_link,
            general,
            activity: ActivityThrottle::default(),
            observers: self.observers,
        };
        let core = Arc::new(core);
        if let Some(every) = core.presence.maintain_every() {
            tokio::spawn(maintain_presence(Arc::downgrade(&core), every));
        }
        Ok(Engine { core })
    }
}

/// Runs the presence backend's upkeep for as long as the engine lives, announcing the
/// status changes it reports (users of a node that died go offline).
async fn maintain_presence(core: std::sync::Weak<Core>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(core) = core.upgrade() else {
            return;
        };
        match core.presence.maintain().await {
            Ok(changes) => {
                for change in changes {
                    core.announce_presence(change.user, change.online, change.last_seen)
                        .await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "presence upkeep failed; retrying"),
        }
    }
}

#[cfg(feature = "sqlite")]
async fn default_store(dir: &std::path::Path) -> Result<Stores> {
    std::fs::create_dir_all(dir).map_err(Error::internal)?;
    let store = crate::store::sql::SqliteStore::open(dir.join("jeco.db")).await?;
    Ok(Stores::from_backend(Arc::new(store)))
}

#[cfg(not(feature = "sqlite"))]
async fn default_store(_dir: &std::path::Path) -> Result<Stores> {
    Err(Error::Internal(
        "built without the sqlite feature: choose PostgreSQL or pass stores".into(),
    ))
}

/// The name of the public room every user joins on registration.
pub const GENERAL_ROOM: &str = "general";

async fn ensure_general(stores: &Stores) -> Result<RoomId> {
    if let Some(room) = stores.rooms.room_by_name(GENERAL_ROOM).await? {
        return Ok(room.id);
    }
    let new = NewRoom {
        kind: RoomKind::Public,
        name: Some(GENERAL_ROOM.to_owned()),
        dm_key: None,
        topic: "Everyone is here".to_owned(),
        created_by: None,
        now: Timestamp::now(),
    };
    match stores.rooms.create_room(new, &[]).await {
        Ok((room, _)) => Ok(room.id),
        // Another node created it at the same moment.
        Err(StoreError::Conflict(_)) => stores
            .rooms
            .room_by_name(GENERAL_ROOM)
            .await?
            .map(|r| r.id)
            .ok_or(Error::not_found(ErrorCode::RoomNotFound)),
        Err(e) => Err(e.into()),
    }
}
