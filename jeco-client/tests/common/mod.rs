//! The real server, in process, on a real port, over SQLite in a temporary directory; it can
//! be stopped and started again on the same port and data, as a restarted deployment would.
//!
//! Every wait is for an event or a condition, with [`WAIT`] only as a safety net: nothing
//! sleeps to make a test pass, and no test asserts how long anything took.

// Each test binary uses its own part of this module.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use jeco_client::proto::event::Event;
use jeco_client::proto::model::Message;
use jeco_client::{Client, ClientEvent, ConnectOptions, Connection, TransportKind};
use jeco_core::auth::PasswordHashing;
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
        auth_rate: lots,
        ..ServerConfig::default()
    }
}

/// A server that can be stopped and started again on the same port and data.
pub struct TestServer {
    pub addr: SocketAddr,
    limits: Limits,
    config: ServerConfig,
    dir: tempfile::TempDir,
    running: Option<(AppState, JoinHandle<()>)>,
}

impl TestServer {
    /// A running server with default limits.
    pub async fn start() -> TestServer {
        TestServer::start_with(Limits::default(), relaxed()).await
    }

    /// A running server.
    pub async fn start_with(limits: Limits, config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = TestServer {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            limits,
            config,
            dir,
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
        Engine::builder()
            .data_dir(self.dir.path())
            .jwt_secret(JWT_SECRET.to_vec())
            .password_hashing(PasswordHashing {
                memory_kib: 256,
                iterations: 1,
            })
            .limits(self.limits.clone())
            .build()
            .await
            .expect("engine builds")
    }

    /// Serves `engine` on the server's port (a free one the first time).
    pub async fn serve(&mut self, engine: Engine) {
        assert!(self.running.is_none(), "already running");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(self.addr).expect("bind the server's port");
        let listener = socket.listen(1024).expect("listen");
        self.addr = listener.local_addr().expect("address");
        let state = AppState::new(engine, self.config.clone());
        let app =
            jeco_server::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
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
    match next_matching(conn, |e| matches!(e, ClientEvent::Connected { .. })).await {
        ClientEvent::Connected { resumed, .. } => resumed,
        _ => unreachable!(),
    }
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
