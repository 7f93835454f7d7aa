//! Starts the real server on a free port over a real backend, and talks to it the way a
//! client does: reqwest for HTTP, tokio-tungstenite for WebSocket, reqwest's body for SSE.
//!
//! Every wait is for something to arrive (a frame, an event, a condition on the server's
//! state) with [`WAIT`] only as a safety net: nothing sleeps to make a test pass, and no test
//! asserts how long anything took.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jeco_core::auth::PasswordHashing;
use jeco_core::ids::{RoomId, UserId};
use jeco_core::mailer::MemoryMailer;
use jeco_core::testing::TestDatabase;
use jeco_core::{Engine, Limits};
use jeco_proto::model::Session;
use jeco_server::ratelimit::Rate;
use jeco_server::{AppState, ServerConfig};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use crate::e2e::clients::{Sse, Ws, created, is, png};

/// The password of every user [`Server::register`] registers.
pub const PASSWORD: &str = "correct horse battery 9";

/// The engine's token signing secret (tests forge and expire tokens with it).
pub const JWT_SECRET: &[u8] = b"test secret that is long enough!!";

/// The safety net on every wait. Generous: a wait that hits it is a failure, never a pass.
pub const WAIT: Duration = Duration::from_secs(30);

/// Which backend a case runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    /// SQLite in a temporary directory.
    Sqlite,
    /// A fresh PostgreSQL database on `JECO_TEST_DATABASE_URL`, dropped afterwards.
    Postgres,
}

/// How to build the server for one case.
pub struct Setup {
    /// The HTTP and real-time settings.
    pub config: ServerConfig,
    /// The engine's limits.
    pub limits: Limits,
    /// The engine's per-subscription queue length (`None`: the engine's default).
    pub queue: Option<usize>,
}

impl Default for Setup {
    /// Rates high enough that no case meets them unless it means to.
    fn default() -> Setup {
        let lots = Rate {
            per_second: 1000.0,
            burst: 100_000.0,
        };
        Setup {
            config: ServerConfig {
                send_rate: lots,
                change_rate: lots,
                typing_rate: lots,
                resume_rate: lots,
                auth_rate: lots,
                ..ServerConfig::default()
            },
            limits: Limits::default(),
            queue: None,
        }
    }
}

/// What the engine's data lives in; kept alive (and cleaned up on drop) with the server.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(TestDatabase, tempfile::TempDir),
}

/// A running server and what tests reach for.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// Where it serves `GET /metrics` on a listener of its own.
    pub metrics_addr: SocketAddr,
    /// Its state (the engine, the limiters, the connection counts).
    pub state: AppState,
    /// The outbox of password-reset mail.
    pub mailer: Arc<MemoryMailer>,
    /// An HTTP client for it.
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
    _backend: Backend,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
        self.task.abort();
    }
}

impl Db {
    /// The server with the default [`Setup`].
    pub async fn start(self) -> Server {
        self.start_with(Setup::default()).await
    }

    /// The server with `setup`.
    pub async fn start_with(self, setup: Setup) -> Server {
        let mailer = Arc::new(MemoryMailer::new());
        let mut builder = Engine::builder()
            .mailer(mailer.clone())
            .jwt_secret(JWT_SECRET.to_vec())
            .password_hashing(PasswordHashing {
                memory_kib: 256,
                iterations: 1,
            })
            .limits(setup.limits);
        if let Some(len) = setup.queue {
            builder = builder.subscription_queue(len);
        }
        let backend = match self {
            Db::Sqlite => Backend::Sqlite(tempfile::tempdir().expect("temp dir")),
            Db::Postgres => Backend::Postgres(
                TestDatabase::create().await,
                tempfile::tempdir().expect("temp dir"),
            ),
        };
        let builder = match &backend {
            Backend::Sqlite(dir) => builder.data_dir(dir.path()),
            Backend::Postgres(db, blobs) => builder.postgres(db.url.clone()).data_dir(blobs.path()),
        };
        let engine = builder.build().await.expect("engine builds");
        let state = AppState::new(engine, setup.config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("local address");
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let metrics_addr = metrics_listener.local_addr().expect("local address");
        let app = jeco_server::router(state.clone());
        let served = state.clone();
        // As the binary serves, with its bounds on connections; until the test ends.
        let task = tokio::spawn(async move {
            let public = jeco_server::serve(listener, app, &served, std::future::pending());
            let metrics =
                jeco_server::serve_metrics(metrics_listener, &served, std::future::pending());
            tokio::join!(public, metrics);
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client");
        Server {
            addr,
            base: format!("http://{addr}"),
            metrics_addr,
            state,
            mailer,
            http,
            task,
            _backend: backend,
        }
    }
}

/// A registered, signed-in user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: String,
    /// The access token.
    pub token: String,
    /// The refresh token.
    pub refresh: String,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    /// `METHOD path`, for failure messages.
    pub what: String,
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The raw body.
    pub bytes: Vec<u8>,
}

impl Resp {
    /// Asserts the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status,
            status,
            "{} answered {} {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.bytes)
        );
        self
    }

    /// Asserts an error answer: its status and `ErrorBody` code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Resp {
        let r = self.expect(status);
        assert_eq!(r.code(), code, "{} answered {}", r.what, r.body);
        assert!(
            r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}: an error body has a message: {}",
            r.what,
            r.body
        );
        r
    }

    /// The body as `T`.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("{}: unexpected body {} ({e})", self.what, self.body))
    }

    /// The `code` of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Server {
    /// `http://host:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends one request; `body` `Null` sends none.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call_with(method, path, token, body, &[]).await
    }

    /// Sends one request with extra headers; `body` `Null` sends none.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.http.request(method.clone(), self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        finish(format!("{method} {path}"), req).await
    }

    /// Sends `bytes` as they are, with `content_type`.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Resp {
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .header("content-type", content_type)
            .body(bytes);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        finish(format!("{method} {path}"), req).await
    }

    pub async fn get(&self, u: &User, path: &str) -> Resp {
        self.call(Method::GET, path, Some(&u.token), Value::Null)
            .await
    }

    pub async fn post(&self, u: &User, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(&u.token), body).await
    }

    pub async fn put(&self, u: &User, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(&u.token), body).await
    }

    pub async fn patch(&self, u: &User, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(&u.token), body).await
    }

    pub async fn delete(&self, u: &User, path: &str) -> Resp {
        self.call(Method::DELETE, path, Some(&u.token), Value::Null)
            .await
    }

    /// Uploads `data` as the multipart field `file`.
    pub async fn upload(&self, u: &User, path: &str, filename: &str, data: Vec<u8>) -> Resp {
        let part = reqwest::multipart::Part::bytes(data)
            .file_name(filename.to_owned())
            .mime_str("application/octet-stream")
            .expect("mime");
        let form = reqwest::multipart::Form::new().part("file", part);
        let req = self
            .http
            .post(self.url(path))
            .bearer_auth(&u.token)
            .multipart(form);
        finish(format!("POST {path}"), req).await
    }

    /// Registers `name` (email `name@example.com`, password [`PASSWORD`]).
    pub async fn register(&self, name: &str) -> User {
        let email = format!("{name}@example.com");
        let r = self.register_as(name, &email, PASSWORD).await.expect(201);
        user_of(&r.json::<Session>())
    }

    /// Asks to register; the raw answer.
    pub async fn register_as(&self, username: &str, email: &str, password: &str) -> Resp {
        self.call(
            Method::POST,
            "/v1/auth/register",
            None,
            json!({"username": username, "email": email, "password": password}),
        )
        .await
    }

    /// Signs in; the raw answer.
    pub async fn login(&self, login: &str, password: &str) -> Resp {
        self.call(
            Method::POST,
            "/v1/auth/login",
            None,
            json!({"login": login, "password": password}),
        )
        .await
    }

    /// Trades a refresh token for a new pair; the raw answer.
    pub async fn refresh(&self, refresh_token: &str) -> Resp {
        self.call(
            Method::POST,
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// Signs out the login of a refresh token; the raw answer.
    pub async fn logout(&self, refresh_token: &str) -> Resp {
        self.call(
            Method::POST,
            "/v1/auth/logout",
            None,
            json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// A real-time ticket for `u`.
    pub async fn ticket(&self, u: &User) -> String {
        let r = self.post(u, "/v1/tickets", Value::Null).await.expect(200);
        r.body["ticket"].as_str().expect("ticket").to_owned()
    }

    /// A WebSocket connection of `u`, past its `ready` frame.
    pub async fn ws(&self, u: &User) -> Ws {
        let ticket = self.ticket(u).await;
        let mut ws = self.ws_raw(Some(&ticket), None).await;
        let ready = ws.next().await;
        assert_eq!(ready["type"], "ready", "the first frame is ready: {ready}");
        assert_eq!(ready["user_id"], json!(u.id));
        ws.ready = ready;
        ws
    }

    /// A WebSocket connection with `ticket` (or none), before any frame is read. With
    /// `recv_buffer`, the client socket's kernel receive buffer is made that small.
    pub async fn ws_raw(&self, ticket: Option<&str>, recv_buffer: Option<u32>) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(n) = recv_buffer {
            socket.set_recv_buffer_size(n).expect("SO_RCVBUF");
        }
        let stream = socket.connect(self.addr).await.expect("connect");
        let url = match ticket {
            Some(t) => format!("ws://{}/v1/ws?ticket={t}", self.addr),
            None => format!("ws://{}/v1/ws", self.addr),
        };
        let (socket, response) =
            tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url.as_str(), stream))
                .await
                .expect("WebSocket handshake in time")
                .expect("WebSocket handshake");
        assert_eq!(response.status().as_u16(), 101);
        Ws::new(socket)
    }

    /// An SSE stream of `u`, past its `ready` event.
    pub async fn sse(&self, u: &User) -> Sse {
        let ticket = self.ticket(u).await;
        let resp = self
            .http
            .get(self.url(&format!("/v1/sse?ticket={ticket}")))
            .send()
            .await
            .expect("GET /v1/sse");
        assert_eq!(resp.status().as_u16(), 200, "GET /v1/sse");
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert!(
            content_type.starts_with("text/event-stream"),
            "content type {content_type}"
        );
        let mut sse = Sse::new(resp);
        let ready = sse.next().await;
        assert_eq!(ready["type"], "ready", "the first event is ready: {ready}");
        sse.ready = ready;
        sse
    }

    /// `GET /v1/sse` with `ticket`, for a stream that is refused: the whole answer. (An
    /// accepted stream does not end; open those with [`Server::sse`].)
    pub async fn sse_refused(&self, ticket: &str) -> Resp {
        self.call(
            Method::GET,
            &format!("/v1/sse?ticket={ticket}"),
            None,
            Value::Null,
        )
        .await
    }

    /// Waits until `cond` holds on the server (checked every few milliseconds; [`WAIT`] is the
    /// safety net). For state that changes after a connection closes.
    pub async fn eventually(&self, what: &str, mut cond: impl FnMut(&Server) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !cond(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting until {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The names of the files in the blob store's directory: finished blobs, and `.part`
    /// files of uploads under way.
    pub fn blob_files(&self) -> Vec<String> {
        let dir = match &self._backend {
            Backend::Sqlite(dir) | Backend::Postgres(_, dir) => dir.path().join("blobs"),
        };
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("the blob directory")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Creates a group room owned by `owner` and has `members` join it (public) or adds them
    /// (private). Returns its id.
    pub async fn room(&self, owner: &User, name: &str, kind: &str, members: &[&User]) -> RoomId {
        let r = self
            .post(
                owner,
                "/v1/rooms",
                json!({"name": name, "kind": kind, "topic": ""}),
            )
            .await
            .expect(201);
        let id = RoomId(r.body["id"].as_i64().expect("room id"));
        for m in members {
            if kind == "public" {
                self.post(m, &format!("/v1/rooms/{id}/join"), Value::Null)
                    .await
                    .expect(200);
            } else {
                self.post(
                    owner,
                    &format!("/v1/rooms/{id}/members"),
                    json!({"user_id": m.id}),
                )
                .await
                .expect(204);
            }
        }
        id
    }

    /// Opens (or finds) the direct room between `u` and `peer`, as `u`. Returns its id.
    pub async fn direct(&self, u: &User, peer: &User) -> RoomId {
        let r = self
            .post(u, &format!("/v1/direct/{}", peer.id), Value::Null)
            .await
            .expect(200);
        RoomId(r.body["id"].as_i64().expect("id"))
    }

    /// Sends a text message over REST; the created message.
    pub async fn send(&self, u: &User, room: RoomId, client_id: &str, body: &str) -> Value {
        self.post(
            u,
            &format!("/v1/rooms/{room}/messages"),
            json!({"client_id": client_id, "body": body}),
        )
        .await
        .expect(201)
        .body
    }

    /// The newest page (up to `limit`) of a room's history, as `u` reads it.
    pub async fn history(&self, u: &User, room: RoomId, query: &str) -> Resp {
        self.get(u, &format!("/v1/rooms/{room}/messages{query}"))
            .await
    }

    /// The room `general`.
    pub fn general(&self) -> RoomId {
        self.state.engine.general_room()
    }
}

/// The [`User`] of a login or registration answer.
pub fn user_of(s: &Session) -> User {
    User {
        id: s.account.profile.id,
        name: s.account.profile.username.clone(),
        email: s.account.email.clone(),
        token: s.tokens.access_token.clone(),
        refresh: s.tokens.refresh_token.clone(),
    }
}

pub async fn finish(what: String, req: reqwest::RequestBuilder) -> Resp {
    let resp = tokio::time::timeout(WAIT, req.send())
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer in time"))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"))
        .to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        what,
        status,
        headers,
        body,
        bytes,
    }
}
