//! Durable message sends through the engine's public API, on each backend.
//!
//! Each backend gets a fresh store: SQLite in a temporary directory (WAL, `synchronous=FULL`),
//! PostgreSQL in a throwaway database on the server at `JECO_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Two users (registered with a cheap password
//! cost, which only setup pays) share a public room, and every measured send is a real
//! `Messages::send` of a 100-character message with a fresh client id: validated, committed
//! and published before it returns.
//!
//! - `send_one/<backend>`: one send at a time, the latency of a durable send.
//! - `send_64_concurrent/<backend>`: 64 sends started together from 64 tasks of a
//!   multi-threaded runtime and awaited together, as throughput. Whatever the engine does to
//!   commit concurrent sends together shows up here, since the bench only calls `send`.
//!
//! When PostgreSQL cannot be reached its benches are skipped with a message.
//!
//! Run: `cargo bench -p jeco-core --bench insert`.

// Setup that cannot fail in practice; a bench that panics on it is as good as a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use jeco_core::Engine;
use jeco_core::auth::PasswordHashing;
use jeco_core::ids::{RoomId, UserId};
use jeco_core::model::RoomKind;
use jeco_core::service::SendMessage;
use jeco_core::testing::{TestDatabase, admin_url};
use sqlx::Connection;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Sends started together in the concurrent bench.
const CONCURRENT: usize = 64;

/// 100 characters of ordinary chat text.
const BODY: &str = "Pushed the fix for the reconnect loop; can someone run the staging \
                    checks before the 15:00 release?!";

/// A room with two members on a fresh store.
struct Fixture {
    // Declared first so that it is dropped before the database it uses.
    engine: Engine,
    senders: [UserId; 2],
    room: RoomId,
    _dir: tempfile::TempDir,
    _db: Option<TestDatabase>,
}

async fn fixture(db: Option<TestDatabase>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = Engine::builder()
        .data_dir(dir.path())
        .password_hashing(PasswordHashing {
            memory_kib: 256,
            iterations: 1,
        });
    if let Some(db) = &db {
        builder = builder.postgres(db.url.clone());
    }
    let engine = builder.build().await.unwrap();
    let mut senders = [UserId(0); 2];
    for (i, name) in ["alice", "bob"].into_iter().enumerate() {
        let session = engine
            .accounts()
            .register(
                name,
                &format!("{name}@example.com"),
                "correct horse battery 7",
            )
            .await
            .unwrap();
        senders[i] = session.account.profile.id;
    }
    let room = engine
        .rooms()
        .create(senders[0], "bench", RoomKind::Public, "")
        .await
        .unwrap()
        .id;
    engine.rooms().join(senders[1], room).await.unwrap();
    Fixture {
        engine,
        senders,
        room,
        _dir: dir,
        _db: db,
    }
}

/// A new message with a client id never used before in this process.
fn message() -> SendMessage {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    SendMessage {
        client_id: format!("bench-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        body: BODY.to_owned(),
        ..Default::default()
    }
}

async fn send_one(engine: &Engine, user: UserId, room: RoomId) {
    engine.messages().send(user, room, message()).await.unwrap();
}

async fn send_concurrently(engine: &Engine, senders: [UserId; 2], room: RoomId) {
    let mut tasks = JoinSet::new();
    for i in 0..CONCURRENT {
        let engine = engine.clone();
        let user = senders[i % senders.len()];
        tasks.spawn(async move { engine.messages().send(user, room, message()).await });
    }
    while let Some(sent) = tasks.join_next().await {
        sent.unwrap().unwrap();
    }
}

/// The backends to measure: SQLite always, PostgreSQL when its server answers.
fn fixtures(rt: &Runtime) -> Vec<(&'static str, Fixture)> {
    let mut out = vec![("sqlite", rt.block_on(fixture(None)))];
    let url = admin_url();
    match rt.block_on(sqlx::PgConnection::connect(&url)) {
        Ok(conn) => {
            drop(conn);
            let db = rt.block_on(TestDatabase::create());
            out.push(("postgres", rt.block_on(fixture(Some(db)))));
        }
        Err(e) => eprintln!(
            "skipping the postgres benches: PostgreSQL is not reachable at {url} ({e}); \
             start it or set JECO_TEST_DATABASE_URL"
        ),
    }
    out
}

fn insert(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let fixtures = fixtures(&rt);

    let mut group = c.benchmark_group("send_one");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    for (backend, f) in &fixtures {
        let (engine, user, room) = (&f.engine, f.senders[0], f.room);
        group.bench_function(BenchmarkId::from_parameter(backend), |b| {
            b.to_async(&rt).iter(|| send_one(engine, user, room))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("send_64_concurrent");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.throughput(Throughput::Elements(CONCURRENT as u64));
    for (backend, f) in &fixtures {
        let (engine, senders, room) = (&f.engine, f.senders, f.room);
        group.bench_function(BenchmarkId::from_parameter(backend), |b| {
            b.to_async(&rt)
                .iter(|| send_concurrently(engine, senders, room))
        });
    }
    group.finish();

    // The engines close their pools inside the runtime; the test database is dropped after.
    rt.block_on(async move { drop(fixtures) });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = insert
}
criterion_main!(benches);
