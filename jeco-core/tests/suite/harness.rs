//! Builds an engine on a real backend for one test, with fast password hashing and a mailer
//! whose outbox the test can read.

use std::sync::Arc;

use bytes::Bytes;
use jeco_core::auth::PasswordHashing;
use jeco_core::error::ErrorCode;
use jeco_core::event::Event;
use jeco_core::ids::{AttachmentId, MessageId, RoomId, Seq, UserId};
use jeco_core::mailer::MemoryMailer;
use jeco_core::model::{AttachmentMeta, Message, Notification, RoomKind, Session};
use jeco_core::pubsub::Subscription;
use jeco_core::service::SendMessage;
use jeco_core::{Engine, Limits};

/// Which backend a test runs on, and how to open it again.
#[derive(Clone)]
pub enum Backend {
    /// A SQLite database in a temporary directory (kept alive by the `Arc`).
    Sqlite(Arc<tempfile::TempDir>),
    /// A fresh PostgreSQL database, dropped when the test's harness is dropped.
    Postgres(Arc<PgDatabase>),
}

/// One test's engine and the things tests reach for.
pub struct Harness {
    pub engine: Engine,
    pub mailer: Arc<MemoryMailer>,
    pub backend: Backend,
}

/// The password of every user [`Harness::user`] registers.
pub const PASSWORD: &str = "correct horse battery 9";

/// A registered user.
pub struct User {
    pub id: UserId,
    pub session: Session,
}

impl Harness {
    pub async fn sqlite() -> Harness {
        Harness::sqlite_with(Limits::default()).await
    }

    pub async fn sqlite_with(limits: Limits) -> Harness {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Harness::open(Backend::Sqlite(dir), limits).await
    }

    pub async fn postgres() -> Harness {
        Harness::postgres_with(Limits::default()).await
    }

    pub async fn postgres_with(limits: Limits) -> Harness {
        let db = PgDatabase::create().await;
        Harness::open(Backend::Postgres(Arc::new(db)), limits).await
    }

    /// A second engine on the same data, as after a restart or on another node.
    pub async fn reopen(&self) -> Harness {
        self.reopen_with(Limits::default()).await
    }

    /// A second engine on the same data with other limits.
    pub async fn reopen_with(&self, limits: Limits) -> Harness {
        Harness::open(self.backend.clone(), limits).await
    }

    /// A second engine on the same data over `stores` (the backend's, wrapped by the test).
    pub async fn engine_with_stores(&self, stores: jeco_core::store::Stores) -> Engine {
        let dir = match &self.backend {
            Backend::Sqlite(dir) => dir.path().to_owned(),
            Backend::Postgres(db) => db.blobs.path().to_owned(),
        };
        Engine::builder()
            .stores(stores)
            .data_dir(dir)
            .mailer(self.mailer.clone())
            .jwt_secret(b"test secret that is long enough!!".to_vec())
            .password_hashing(PasswordHashing {
                memory_kib: 256,
                iterations: 1,
            })
            .build()
            .await
            .expect("engine builds")
    }

    async fn open(backend: Backend, limits: Limits) -> Harness {
        let mailer = Arc::new(MemoryMailer::new());
        let builder = Engine::builder()
            .mailer(mailer.clone())
            .jwt_secret(b"test secret that is long enough!!".to_vec())
            .password_hashing(PasswordHashing {
                memory_kib: 256,
                iterations: 1,
            })
            .limits(limits);
        let builder = match &backend {
            Backend::Sqlite(dir) => builder.data_dir(dir.path()),
            Backend::Postgres(db) => builder.postgres(db.url()).data_dir(db.blobs.path()),
        };
        let engine = builder.build().await.expect("engine builds");
        Harness {
            engine,
            mailer,
            backend,
        }
    }

    /// The backend's stores, opened a second time on the same data (below the services).
    pub async fn stores(&self) -> jeco_core::store::Stores {
        use jeco_core::store::Stores;
        use jeco_core::store::sql::{PgStore, SqliteStore};
        match &self.backend {
            Backend::Sqlite(dir) => Stores::from_backend(Arc::new(
                SqliteStore::open(dir.path().join("jeco.db")).await.unwrap(),
            )),
            Backend::Postgres(db) => {
                Stores::from_backend(Arc::new(PgStore::connect(db.url(), 4).await.unwrap()))
            }
        }
    }

    /// Runs `statements` on the backend's database over a connection of its own, below the
    /// engine: how a test breaks the store to see a failure reported as one.
    pub async fn execute_raw(&self, statements: &[&str]) {
        use sqlx::Connection;
        match &self.backend {
            Backend::Sqlite(dir) => {
                let url = format!("sqlite://{}", dir.path().join("jeco.db").display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                for sql in statements {
                    sqlx::query(sql).execute(&mut conn).await.unwrap();
                }
            }
            Backend::Postgres(db) => {
                let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
                for sql in statements {
                    sqlx::query(sql).execute(&mut conn).await.unwrap();
                }
            }
        }
    }

    /// Registers `name` with password [`PASSWORD`] and email `name@example.com`.
    pub async fn user(&self, name: &str) -> User {
        let session = self
            .engine
            .accounts()
            .register(name, &format!("{name}@example.com"), PASSWORD)
            .await
            .expect("register");
        User {
            id: session.account.profile.id,
            session,
        }
    }
}

impl Harness {
    /// How many rows each table of the schema holds, read straight from the database.
    pub async fn row_counts(&self) -> Vec<(&'static str, i64)> {
        const TABLES: &[&str] = &[
            "users",
            "refresh_tokens",
            "password_resets",
            "rooms",
            "room_members",
            "messages",
            "reactions",
            "room_events",
            "user_events",
            "contacts",
            "blocks",
            "attachments",
        ];
        let mut counts = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n: i64 = match &self.backend {
                Backend::Sqlite(dir) => {
                    let url = format!("sqlite://{}", dir.path().join("jeco.db").display());
                    let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
                    sqlx::query_scalar(&sql)
                        .fetch_one(&pool)
                        .await
                        .expect("count")
                }
                Backend::Postgres(db) => {
                    let pool = sqlx::PgPool::connect(db.url()).await.expect("postgres");
                    sqlx::query_scalar(&sql)
                        .fetch_one(&pool)
                        .await
                        .expect("count")
                }
            };
            counts.push((*table, n));
        }
        counts
    }
}

/// A text message with `client_id`.
pub fn text(client_id: &str, body: &str) -> SendMessage {
    SendMessage {
        client_id: client_id.to_owned(),
        body: body.to_owned(),
        ..SendMessage::default()
    }
}

/// A text message with `client_id` that replies to `to`.
pub fn reply(client_id: &str, body: &str, to: MessageId) -> SendMessage {
    SendMessage {
        reply_to: Some(to),
        ..text(client_id, body)
    }
}

/// A few bytes that sniff as PNG.
pub fn png() -> Bytes {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    data.extend_from_slice(b"\0\0\0\rIHDR not really an image");
    Bytes::from(data)
}

/// A public room owned by `owner` that `members` have joined.
pub async fn public_room(h: &Harness, owner: UserId, name: &str, members: &[UserId]) -> RoomId {
    let room = h
        .engine
        .rooms()
        .create(owner, name, RoomKind::Public, "")
        .await
        .expect("create room");
    for m in members {
        h.engine.rooms().join(*m, room.id).await.expect("join room");
    }
    room.id
}

/// The room's last sequence, as `user` sees it.
pub async fn last_seq(h: &Harness, user: UserId, room: RoomId) -> Seq {
    h.engine
        .rooms()
        .get(user, room)
        .await
        .expect("room")
        .last_seq
}

/// Up to 100 of `user`'s notifications, newest first.
pub async fn notifications(h: &Harness, user: UserId) -> Vec<Notification> {
    h.engine
        .notifications()
        .list(user, None, false, Some(100))
        .await
        .expect("notifications")
        .items
}

/// Uploads a PNG to `room` and sends it with `body`.
pub async fn send_png(
    h: &Harness,
    user: UserId,
    room: RoomId,
    client_id: &str,
    body: &str,
) -> (AttachmentMeta, Message) {
    let file = h
        .engine
        .attachments()
        .upload(user, Some(room), "photo.png", png())
        .await
        .expect("upload");
    let message = h
        .engine
        .messages()
        .send(
            user,
            room,
            SendMessage {
                attachments: vec![file.id],
                ..text(client_id, body)
            },
        )
        .await
        .expect("send");
    (file, message)
}

/// The error code `user` gets for downloading attachment `id` (failing the test if the
/// download succeeds).
pub async fn download_error(h: &Harness, user: UserId, id: AttachmentId) -> ErrorCode {
    h.engine
        .attachments()
        .download(user, id)
        .await
        .unwrap_err()
        .code()
}

/// Drains the events already queued on `sub` (everything published so far is queued
/// synchronously by the in-process backend, so nothing is in flight).
pub fn drain(sub: &mut Subscription) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(p) = sub.try_recv() {
        events.push(Event::clone(&p.event().expect("event parses")));
    }
    events
}

/// A fresh PostgreSQL database and a directory for its uploads.
pub struct PgDatabase {
    db: jeco_core::testing::TestDatabase,
    blobs: tempfile::TempDir,
}

impl PgDatabase {
    async fn create() -> PgDatabase {
        PgDatabase {
            db: jeco_core::testing::TestDatabase::create().await,
            blobs: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Where to connect.
    pub fn url(&self) -> &str {
        &self.db.url
    }
}
