//! The server's shared state and configuration, handed explicitly to every handler.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use jeco_core::Engine;
use jeco_core::error::ErrorCode;
use jeco_core::ids::UserId;
use jeco_core::session::Frame;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::counts::PerUser;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::ratelimit::{Rate, RateLimiter};
use crate::shared::RedisShared;
use crate::upload::InFlight;

/// What the HTTP and real-time layers enforce (the engine enforces its own [`jeco_core::Limits`]).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest JSON request body.
    pub body_bytes: usize,
    /// Largest upload (the engine's limit; multipart framing is allowed on top).
    pub upload_bytes: u64,
    /// Largest real-time frame from a client.
    pub frame_bytes: usize,
    /// WebSocket read buffer per connection, allocated when the connection opens. Small on
    /// purpose: client frames are mostly well under a kilobyte (a larger one grows the
    /// buffer), and an idle connection should cost little.
    pub ws_read_buffer_bytes: usize,
    /// How many bytes of outgoing frames the WebSocket layer gathers before writing to the
    /// socket (it writes earlier when the connection flushes, after each batch of frames).
    pub ws_write_buffer_bytes: usize,
    /// Messages posted per user, sends and forwards (REST and real-time together).
    pub send_rate: Rate,
    /// Other changes per user: edits, deletes, reactions, read markers (REST and real-time
    /// together). Each is a room change or an event to the room.
    pub change_rate: Rate,
    /// Typing indications per user (REST and real-time together).
    pub typing_rate: Rate,
    /// `resume` commands per user.
    pub resume_rate: Rate,
    /// Register, login, refresh and password-reset attempts per client address.
    pub auth_rate: Rate,
    /// Real-time connections one user may hold open.
    pub max_connections_per_user: usize,
    /// Origins allowed by CORS; empty means none (same-origin only).
    pub cors_origins: Vec<String>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy). The
    /// proxy's `X-Forwarded-Proto: https` then also makes the `jeco_refresh` cookie `Secure`.
    pub trust_forwarded_for: bool,
    /// Mark the `jeco_refresh` cookie `Secure` (sent over HTTPS only). Off by default: the
    /// quick start is plain HTTP on 127.0.0.1. Turn it on whenever browsers reach the server
    /// over HTTPS.
    pub secure_cookies: bool,
    /// Static files of the web client, served at `/`.
    pub web_dir: Option<PathBuf>,
    /// The path the router is nested under in a larger application (such as `/chat`), so
    /// the OpenAPI document names it as its server and the browsers' refresh cookie is scoped
    /// to `<base path>/v1/auth`; `None` when served at the root.
    pub base_path: Option<String>,
    /// How long a real-time ticket stays valid.
    pub ticket_ttl: Duration,
    /// How long a WebSocket may stay open without authenticating.
    pub auth_timeout: Duration,
    /// The longest a write to a real-time client may take: a client that stops reading is
    /// dropped after this, its connection slot and presence released.
    pub write_timeout: Duration,
    /// Bounds on the connections [`crate::serve`] accepts.
    pub connection_limits: ConnectionLimits,
    /// The bearer token that `GET /metrics` requires. Without one the public router does
    /// not serve the metrics (a separate listener, [`crate::serve_metrics`], can).
    pub metrics_token: Option<String>,
    /// The longest an upload's body may send nothing before it is cut off.
    pub upload_idle_timeout: Duration,
    /// The longest an upload's body may take in all.
    pub upload_timeout: Duration,
    /// Uploads one user may have in flight at once.
    pub max_uploads_per_user: usize,
    /// Uploads in flight at once on this node, of all users.
    pub max_uploads: usize,
}

/// The bounds on the connections of one listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Longest a client may take to send a complete request head, counted from when the
    /// connection opened or its previous answer went out.
    pub header_timeout: Duration,
    /// Longest an HTTP connection may go without a byte read or written.
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_bytes: 64 * 1024,
            upload_bytes: 10 * 1024 * 1024,
            frame_bytes: 64 * 1024,
            ws_read_buffer_bytes: 1024,
            ws_write_buffer_bytes: 4 * 1024,
            send_rate: Rate {
                per_second: 10.0,
                burst: 30.0,
            },
            change_rate: Rate {
                per_second: 10.0,
                burst: 30.0,
            },
            typing_rate: Rate {
                per_second: 2.0,
                burst: 10.0,
            },
            resume_rate: Rate {
                per_second: 1.0,
                burst: 5.0,
            },
            // 12 a minute, and no more in any minute.
            auth_rate: Rate {
                per_second: 0.2,
                burst: 12.0,
            },
            max_connections_per_user: 16,
            cors_origins: Vec::new(),
            trust_forwarded_for: false,
            secure_cookies: false,
            web_dir: None,
            base_path: None,
            ticket_ttl: Duration::from_secs(30),
            auth_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            connection_limits: ConnectionLimits::default(),
            metrics_token: None,
            upload_idle_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(600),
            max_uploads_per_user: 4,
            max_uploads: 64,
        }
    }
}

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Engine,
    /// The configuration.
    pub config: Arc<ServerConfig>,
    /// The rate limits.
    pub limits: Arc<Limiters>,
    /// Single-use real-time tickets.
    pub tickets: Arc<Tickets>,
    /// Open real-time connections per user.
    pub connections: Arc<Connections>,
    /// Uploads in flight.
    pub uploads: Arc<InFlight>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Open SSE sessions, for their command endpoint.
    pub sse: Arc<SseSessions>,
    /// Cancelled when the server shuts down: real-time connections say goodbye and close.
    pub shutdown: CancellationToken,
    /// Every real-time connection's task, so that shutdown can wait for them.
    pub tasks: TaskTracker,
}

impl AppState {
    /// State for `engine` under `config`, for a single node. The engine reports its group
    /// commits and Redis commands to this state's metrics, unless it reports to another
    /// observer already.
    pub fn new(engine: Engine, config: ServerConfig) -> AppState {
        let metrics = Arc::new(Metrics::new());
        engine.observe(metrics.observer());
        AppState {
            engine,
            limits: Arc::new(Limiters::new(&config, &metrics, None)),
            tickets: Arc::new(Tickets::new(config.ticket_ttl, None)),
            connections: Arc::new(Connections::default()),
            uploads: Arc::new(InFlight::new(
                config.max_uploads_per_user,
                config.max_uploads,
                Arc::clone(&metrics),
            )),
            metrics,
            sse: Arc::new(SseSessions::default()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            config: Arc::new(config),
        }
    }

    /// Tells every real-time connection that the server is shutting down and waits, at most
    /// `grace`, until each has said goodbye and released its user's presence. Whether all
    /// did in time. New connections are refused from here on.
    pub async fn close_connections(&self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tasks.close();
        tokio::time::timeout(grace, self.tasks.wait()).await.is_ok()
    }

    /// The same state with rate limits and tickets shared through `redis` by every node of
    /// the deployment.
    pub fn shared_through(mut self, redis: RedisShared) -> AppState {
        redis.observe(self.metrics.observer());
        let redis = Arc::new(redis);
        self.limits = Arc::new(Limiters::new(&self.config, &self.metrics, Some(&redis)));
        self.tickets = Arc::new(Tickets::new(self.config.ticket_ttl, Some(redis)));
        self
    }
}

/// Short-lived single-use tickets that let a client open a real-time connection without
/// putting its access token in a URL (URLs end up in logs).
///
/// Kept on this node, or in Redis when nodes share it (a ticket is often redeemed on another
/// node than the one that issued it).
pub struct Tickets {
    ttl: Duration,
    issued: Mutex<HashMap<String, (UserId, Instant)>>,
    shared: Option<Arc<RedisShared>>,
}

/// Tickets cannot be issued or redeemed while Redis is unreachable.
fn tickets_unavailable() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "real-time connections cannot be opened right now; try again shortly",
    )
}

impl Tickets {
    fn new(ttl: Duration, shared: Option<Arc<RedisShared>>) -> Tickets {
        Tickets {
            ttl,
            issued: Mutex::new(HashMap::new()),
            shared,
        }
    }

    /// How long a ticket stays valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new ticket for `user`.
    ///
    /// Errors: `unavailable` when the shared store cannot be reached.
    pub async fn issue(&self, user: UserId) -> Result<String, ApiError> {
        use rand::RngCore;
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let ticket: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        if let Some(redis) = &self.shared {
            redis
                .put_ticket(&ticket, user.0, self.ttl.as_millis() as u64)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "could not store a ticket");
                    tickets_unavailable()
                })?;
            return Ok(ticket);
        }
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.retain(|_, (_, at)| now.duration_since(*at) < self.ttl);
        issued.insert(ticket.clone(), (user, now));
        Ok(ticket)
    }

    /// Uses a ticket: the user it was issued to, if it is valid. It cannot be used again.
    ///
    /// Errors: `unavailable` when the shared store cannot be reached.
    pub async fn redeem(&self, ticket: &str) -> Result<Option<UserId>, ApiError> {
        if let Some(redis) = &self.shared {
            let user = redis.take_ticket(ticket).await.map_err(|e| {
                tracing::warn!(error = %e, "could not redeem a ticket");
                tickets_unavailable()
            })?;
            return Ok(user.map(UserId));
        }
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let Some((user, at)) = issued.remove(ticket) else {
            return Ok(None);
        };
        Ok((Instant::now().duration_since(at) < self.ttl).then_some(user))
    }
}

/// Counts open real-time connections per user.
#[derive(Default)]
pub struct Connections {
    open: Mutex<PerUser>,
}

impl Connections {
    /// Registers a connection of `user` if they have fewer than `max`; the guard
    /// unregisters it when dropped.
    pub fn acquire(self: &Arc<Self>, user: UserId, max: usize) -> Option<ConnectionGuard> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.of(user) >= max {
            return None;
        }
        open.add(user);
        Some(ConnectionGuard {
            connections: Arc::clone(self),
            user,
        })
    }

    /// All open connections.
    pub fn total(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total()
    }
}

/// One registered connection.
pub struct ConnectionGuard {
    connections: Arc<Connections>,
    user: UserId,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.connections
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.user);
    }
}

/// A command posted to an SSE connection: the frame as sent, and where its reply goes.
pub type SseCommand = (Bytes, oneshot::Sender<Frame>);

/// The open SSE connections, so that command POSTs reach their connection's task.
#[derive(Default)]
pub struct SseSessions {
    open: Mutex<HashMap<String, (UserId, mpsc::Sender<SseCommand>)>>,
}

impl SseSessions {
    /// Registers connection `id` of `user`, reachable through `commands`.
    pub fn insert(&self, id: String, user: UserId, commands: mpsc::Sender<SseCommand>) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (user, commands));
    }

    /// Forgets connection `id`.
    pub fn remove(&self, id: &str) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Where commands for connection `id` go, if it is open and `user`'s.
    pub fn commands_of(&self, id: &str, user: UserId) -> Option<mpsc::Sender<SseCommand>> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(id)
            .filter(|(owner, _)| *owner == user)
            .map(|(_, commands)| commands.clone())
    }
}

/// Every rate limit of the server, by what it limits.
pub struct Limiters {
    /// Sign-in attempts per client address.
    pub auth: RateLimiter<IpAddr>,
    /// Messages posted per user.
    pub send: RateLimiter<UserId>,
    /// Edits, deletes, reactions and read markers per user.
    pub change: RateLimiter<UserId>,
    /// Typing indications per user.
    pub typing: RateLimiter<UserId>,
    /// Resumes per user.
    pub resume: RateLimiter<UserId>,
}

impl Limiters {
    /// The limits of `config`, on this node or shared through `redis`, each counting its
    /// refusals in `metrics`.
    fn new(config: &ServerConfig, metrics: &Metrics, redis: Option<&Arc<RedisShared>>) -> Limiters {
        fn limiter<K: std::hash::Hash + Eq + Clone + std::fmt::Display>(
            rate: Rate,
            kind: &'static str,
            metrics: &Metrics,
            redis: Option<&Arc<RedisShared>>,
        ) -> RateLimiter<K> {
            let limiter = match redis {
                Some(redis) => RateLimiter::shared(rate, Arc::clone(redis), kind),
                None => RateLimiter::new(rate),
            };
            limiter.counting_refusals(metrics.rate_limit_refusals(kind))
        }
        Limiters {
            auth: limiter(config.auth_rate, "auth", metrics, redis),
            send: limiter(config.send_rate, "send", metrics, redis),
            change: limiter(config.change_rate, "change", metrics, redis),
            typing: limiter(config.typing_rate, "typing", metrics, redis),
            resume: limiter(config.resume_rate, "resume", metrics, redis),
        }
    }
}
