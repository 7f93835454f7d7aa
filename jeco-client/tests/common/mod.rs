//! The real server, in process, on a real port, over SQLite in a temporary directory; it can
//! be stopped and started again on the same port and data, as a restarted deployment would.
//! It records every route a request matched, and keeps password-reset mail in memory.
//!
//! Every wait is for an event or a condition, with [`WAIT`] only as a safety net: nothing
//! sleeps to make a test pass, and no test asserts how long anything took.

// Each test binary uses its own part of this module.
#![allow(dead_code, unreachable_pub)]

pub mod events;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use jeco_client::proto::event::Event;
use jeco_client::proto::ids::RoomId;
use jeco_client::proto::model::Message;
use jeco_client::{
    Client, ClientEvent, ConnectOptions, Connection, ConnectionState, TransportKind,
};
use jeco_core::auth::PasswordHashing;
use jeco_core::mailer::MemoryMailer;
use jeco_core::{Engine, Limits};
use jeco_server::ratelimit::Rate;
use jeco_server::{AppState, ServerConfig};
use tokio::task::JoinHandle;

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery 9";

/// The engine's token signing secret, the same across restarts so tokens stay valid.
pub const JWT_SECRET: &[u8] = b"test secret that is long enough!!";

/// The safety net on every wait: generous, and a wait that hits it is a failure.
pub const WAIT: Duration = Duration::from_secs(60);

/// Server settings with rates no test meets unless it means to.
pub fn relaxed() -> ServerConfig {
    let lots = Rate {
        per_second: 10_000.0,
        burst: 100_000.0,
    };
    ServerConfig {
        send_rate: lots,
        change_rate: lots,
        typing_rate: lots,
        resume_rate: lots,
        auth_rate: lots,
        ..ServerConfig::default()
    }
}

/// How a test server is set up.
pub struct Setup {
    pub limits: Limits,
    pub config: ServerConfig,
    /// Events a connection may have queued before it is dropped as too slow (the engine's
    /// default when `None`).
    pub queue: Option<usize>,
    /// The kernel send buffer of each accepted socket, when set: a small one makes a client
    /// that stops reading back up into the server's queue soon, as on a slow network.
    pub send_buffer: Option<u32>,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            limits: Limits::default(),
            config: relaxed(),
            queue: None,
            send_buffer: None,
        }
    }
}

/// `(method, route)` pairs, as the router matched them.
pub type Reached = Arc<Mutex<BTreeSet<(String, String)>>>;

/// A server that can be stopped and started again on the same port and data.
pub struct TestServer {
    pub addr: SocketAddr,
    setup: Setup,
    dir: tempfile::TempDir,
    /// Password-reset mail the server sent.
    pub mailer: Arc<MemoryMailer>,
    /// Every route a request reached, over the server's whole life.
    pub reached: Reached,
    running: Option<(AppState, JoinHandle<()>)>,
}

impl TestServer {
    /// A running server with default limits.
    pub async fn start() -> TestServer {
        TestServer::launch(Setup::default()).await
    }

    /// A running server.
    pub async fn start_with(limits: Limits, config: ServerConfig) -> TestServer {
        TestServer::launch(Setup {
            limits,
            config,
            ..Setup::default()
        })
        .await
    }

    /// A running server set up as `setup` says.
    pub async fn launch(setup: Setup) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = TestServer {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            setup,
            dir,
            mailer: Arc::new(MemoryMailer::new()),
            reached: Reached::default(),
            running: None,
        };
        let engine = server.engine().await;
        server.serve(engine).await;
        server
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new engine on the server's data (to act on it while the server is stopped).
    pub async fn engine(&self) -> Engine {
        let mut builder = Engine::builder()
            .data_dir(self.dir.path())
            .jwt_secret(JWT_SECRET.to_vec())
            .mailer(self.mailer.clone())
            .password_hashing(PasswordHashing {
                memory_kib: 256,
                iterations: 1,
            })
            .limits(self.setup.limits.clone());
        if let Some(queue) = self.setup.queue {
            builder = builder.subscription_queue(queue);
        }
        builder.build().await.expect("engine builds")
    }

    /// Serves `engine` on the server's port (a free one the first time).
    pub async fn serve(&mut self, engine: Engine) {
        assert!(self.running.is_none(), "already running");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        if let Some(bytes) = self.setup.send_buffer {
            // Accepted sockets inherit it from the listening one.
            socket.set_send_buffer_size(bytes).expect("SO_SNDBUF");
        }
        socket.bind(self.addr).expect("bind the server's port");
        let listener = socket.listen(1024).expect("listen");
        self.addr = listener.local_addr().expect("address");
        let state = AppState::new(engine, self.setup.config.clone());
        let reached = self.reached.clone();
        let record = move |request: Request, next: Next| {
            if let Some(route) = request.extensions().get::<MatchedPath>() {
                let route = (request.method().to_string(), route.as_str().to_owned());
                reached
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(route);
            }
            next.run(request)
        };
        let app = jeco_server::router(state.clone())
            .route_layer(axum::middleware::from_fn(record))
            .into_make_service_with_connect_info::<SocketAddr>();
        let shutdown = state.shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
                .expect("server runs");
        });
        self.running = Some((state, task));
    }

    /// Shuts down the way the binary does: real-time connections get `closing`
    /// `shutting_down`, and the server waits for open requests and connections to end.
    pub async fn stop(&mut self) {
        let (state, task) = self.running.take().expect("running");
        state.shutdown.cancel();
        tokio::time::timeout(WAIT, task)
            .await
            .expect("the server shuts down in time")
            .expect("the server task ends");
    }

    /// A client of this server with a new account `name`.
    pub async fn user(&self, name: &str) -> (Client, jeco_client::proto::model::Session) {
        let client = Client::new(&self.base()).expect("client");
        let session = client
            .register(name, &format!("{name}@example.com"), PASSWORD)
            .await
            .expect("register");
        (client, session)
    }
}

/// Connection options for tests: `kind`, and a short backoff cap.
pub fn options(kind: TransportKind) -> ConnectOptions {
    ConnectOptions {
        transport: kind,
        backoff_max: Duration::from_millis(500),
        ..ConnectOptions::default()
    }
}

/// Reads events, recording each in `seen`, until `done` holds for what was seen.
pub async fn until(
    conn: &Connection,
    seen: &mut Vec<ClientEvent>,
    mut done: impl FnMut(&[ClientEvent]) -> bool,
) {
    tokio::time::timeout(WAIT, async {
        while !done(seen) {
            let event = conn.next_event().await.expect("the connection stopped");
            seen.push(event);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out; seen: {:#?}", seen.last()));
}

/// Reads events until one matches; returns it.
pub async fn next_matching(
    conn: &Connection,
    mut want: impl FnMut(&ClientEvent) -> bool,
) -> ClientEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = conn.next_event().await.expect("the connection stopped");
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

/// Waits for `Connected`; whether it resumed.
pub async fn connected(conn: &Connection) -> bool {
    match next_matching(conn, |e| {
        matches!(e, ClientEvent::State(ConnectionState::Connected { .. }))
    })
    .await
    {
        ClientEvent::State(ConnectionState::Connected { resumed, .. }) => resumed,
        _ => unreachable!(),
    }
}

/// Whether `event` is the connection's state `Connected` with `resumed`.
pub fn is_connected(event: &ClientEvent, resumed: bool) -> bool {
    matches!(event, ClientEvent::State(ConnectionState::Connected { resumed: r, .. }) if *r == resumed)
}

/// The room `general`, which every account joins.
pub async fn general(client: &Client) -> RoomId {
    client
        .rooms()
        .await
        .expect("rooms")
        .into_iter()
        .find(|r| r.room.name.as_deref() == Some("general"))
        .expect("general")
        .room
        .id
}

/// A message with `body` and no `client_id` (one is made up when it is sent).
pub fn text(body: &str) -> jeco_client::proto::api::SendMessage {
    jeco_client::proto::api::SendMessage {
        body: body.to_owned(),
        ..Default::default()
    }
}

/// A valid PNG of `width` x `height` pixels.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encode a PNG");
    bytes
}

/// The messages created among `events`, in delivery order.
pub fn created(events: &[ClientEvent]) -> Vec<&Message> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Event(Event::MessageCreated { message, .. }) => Some(message),
            _ => None,
        })
        .collect()
}

/// Runs a case over both transports.
#[macro_export]
macro_rules! over_both_transports {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                super::$case(jeco_client::TransportKind::WebSocket).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sse() {
                super::$case(jeco_client::TransportKind::Sse).await;
            }
        }
    )*};
}
