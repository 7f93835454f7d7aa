//! History paging in a room with many messages: the room is seeded straight into the store
//! (posting millions of messages through the API would take hours), then pages of 50 are
//! read over REST at the newest end, the middle and the oldest end.

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use jeco_proto::api::HistoryQuery;
use jeco_proto::ids::{RoomId, Seq, UserId};
use serde::Serialize;
use sqlx::Connection;

use crate::api::Api;
use crate::machine::{CpuSample, CpuUse};
use crate::metrics::{self, Latency};
use crate::target::Store;

/// The figures.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct HistoryReport {
    /// Messages in the room.
    pub(crate) messages: u64,
    /// Seconds the seeding took.
    pub(crate) seed_s: f64,
    /// Page size.
    pub(crate) page: i64,
    /// One entry per depth.
    pub(crate) depths: Vec<DepthReport>,
    /// Pages that failed or had the wrong content.
    pub(crate) errors: u64,
}

/// Pages read at one depth.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DepthReport {
    /// `newest`, `middle` or `oldest`.
    pub(crate) depth: &'static str,
    /// The request's cursor.
    pub(crate) before: Option<i64>,
    /// Time per page, measured by the client (request to full response).
    pub(crate) latency: Latency,
    /// Pages read per second (one after the other).
    pub(crate) pages_per_s: f64,
    /// CPU while reading them, and which side it shows to be the limit.
    pub(crate) cpu: CpuUse,
}

/// The server under test, for its CPU figures.
pub(crate) struct Server {
    /// Its process.
    pub(crate) pid: Option<u32>,
    /// Whether that is this process.
    pub(crate) shares_process: bool,
}

/// Seeds `messages` messages into a new room of `owner` and times reading pages.
pub(crate) async fn run(
    api: &Api,
    store: &Store,
    server: Server,
    tag: &str,
    messages: u64,
    samples: usize,
    page: i64,
) -> anyhow::Result<HistoryReport> {
    let pop = crate::api::populate(api, tag, 1, &[vec![0]], 1).await?;
    let token = pop
        .tokens
        .first()
        .ok_or_else(|| anyhow!("no token"))?
        .clone();
    let owner = *pop.user_ids.first().ok_or_else(|| anyhow!("no user"))?;
    let room = *pop.rooms.first().ok_or_else(|| anyhow!("no room"))?;
    let seed_start = Instant::now();
    let (first, last) = match store {
        Store::Sqlite(path) => seed_sqlite(path, room, owner, messages).await?,
        Store::Postgres(url) => seed_postgres(url, room, owner, messages).await?,
        Store::Unknown => bail!(
            "history seeds the store directly: run with a spawned server, or give \
             --database-url of the external server's PostgreSQL"
        ),
    };
    let seed_s = seed_start.elapsed().as_secs_f64();
    let middle = first + (last - first) / 2;
    let cases: [(&'static str, Option<i64>); 3] = [
        ("newest", None),
        ("middle", Some(middle + page / 2)),
        ("oldest", Some(first + page)),
    ];
    let mut depths = Vec::new();
    let mut errors = 0u64;
    for (depth, before) in cases {
        let query = HistoryQuery {
            before: before.map(Seq),
            after: None,
            limit: u32::try_from(page).ok(),
        };
        // Expected newest item of the page.
        let top = before.map(|b| b - 1).unwrap_or(last);
        let mut h = metrics::new_histogram();
        let cpu_start = CpuSample::take(server.pid, server.shares_process);
        let start = Instant::now();
        for _ in 0..samples {
            let t = Instant::now();
            let got = api.history(&token, room, query).await;
            let took = t.elapsed();
            match got {
                Ok(p)
                    if p.items.len() as i64 == page
                        && p.items.first().map(|m| m.seq.get()) == Some(top) =>
                {
                    metrics::record(&mut h, took.as_micros() as u64);
                }
                _ => errors += 1,
            }
        }
        let wall = start.elapsed().as_secs_f64().max(1e-9);
        depths.push(DepthReport {
            depth,
            before,
            latency: Latency::of(&h),
            pages_per_s: samples as f64 / wall,
            cpu: cpu_start.until(&CpuSample::take(server.pid, server.shares_process)),
        });
    }
    Ok(HistoryReport {
        messages,
        seed_s,
        page,
        depths,
        errors,
    })
}

/// Rows per seeding transaction.
const CHUNK: i64 = 200_000;

fn now_ms() -> i64 {
    jeco_proto::ids::Timestamp::now().0
}

/// Seeds the messages `first..=last` in transactions of `chunk` rows: `insert` (binding
/// `from`, `to`, room, sender, `created_at` as `$1`..`$5`) generates the rows, then they are
/// logged and the room's sequence moved in the same transaction.
#[allow(clippy::too_many_arguments)]
async fn seed_batches<DB>(
    conn: &mut DB::Connection,
    insert: &'static str,
    room: RoomId,
    sender: UserId,
    first: i64,
    last: i64,
    chunk: i64,
) -> anyhow::Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let now = now_ms();
    let mut from = first;
    while from <= last {
        let to = (from + chunk - 1).min(last);
        let mut tx = conn.begin().await?;
        sqlx::query::<DB>(insert)
            .bind(from)
            .bind(to)
            .bind(room.get())
            .bind(sender.get())
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("seeding messages")?;
        log_and_advance::<DB>(&mut tx, room, from, to).await?;
        tx.commit().await?;
        from = to + 1;
    }
    Ok(())
}

/// Logs the seeded messages `from..=to` in the room's change log and moves the room's
/// sequence past them, in the seeding transaction (the same statements on both dialects).
async fn log_and_advance<DB>(
    conn: &mut DB::Connection,
    room: RoomId,
    from: i64,
    to: i64,
) -> anyhow::Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query::<DB>(
        "INSERT INTO room_events (room_id, seq, kind, message_id, user_id, created_at) \
         SELECT room_id, seq, 'message.created', id, sender_id, created_at FROM messages \
         WHERE room_id = $1 AND seq BETWEEN $2 AND $3",
    )
    .bind(room.get())
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await
    .context("seeding room events")?;
    sqlx::query::<DB>("UPDATE rooms SET last_seq = $2 WHERE id = $1")
        .bind(room.get())
        .bind(to)
        .execute(&mut *conn)
        .await
        .context("moving the room's sequence")?;
    Ok(())
}

/// Seeds through SQLite: batches of generated rows, `rooms.last_seq` moved in the same
/// transaction. Returns the first and last sequence seeded.
async fn seed_sqlite(
    path: &std::path::Path,
    room: RoomId,
    sender: UserId,
    messages: u64,
) -> anyhow::Result<(i64, i64)> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        // Seeding is set-up, not the measured path: no fsync per batch.
        .synchronous(SqliteSynchronous::Off)
        .busy_timeout(Duration::from_secs(60));
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let start_seq: i64 = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?1")
        .bind(room.get())
        .fetch_one(&mut conn)
        .await?;
    let first = start_seq + 1;
    let last = start_seq + messages as i64;
    seed_batches::<sqlx::Sqlite>(
        &mut conn,
        "WITH RECURSIVE s(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM s WHERE n < ?2) \
         INSERT INTO messages (room_id, seq, sender_id, client_id, body, attachments, \
         mentions, created_at) \
         SELECT ?3, n, ?4, 'seed-' || n, 'history message ' || n, '[]', '[]', ?5 FROM s",
        room,
        sender,
        first,
        last,
        CHUNK,
    )
    .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .ok();
    let _ = conn.close().await;
    Ok((first, last))
}

/// Seeds through PostgreSQL with `generate_series`, in batches.
async fn seed_postgres(
    url: &str,
    room: RoomId,
    sender: UserId,
    messages: u64,
) -> anyhow::Result<(i64, i64)> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .context("connecting to PostgreSQL")?;
    let start_seq: i64 = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = $1")
        .bind(room.get())
        .fetch_one(&mut conn)
        .await?;
    let first = start_seq + 1;
    let last = start_seq + messages as i64;
    seed_batches::<sqlx::Postgres>(
        &mut conn,
        "INSERT INTO messages (room_id, seq, sender_id, client_id, body, attachments, \
         mentions, created_at) \
         SELECT $3, n, $4, 'seed-' || n, 'history message ' || n, '[]', '[]', $5 \
         FROM generate_series($1::bigint, $2::bigint) AS n",
        room,
        sender,
        first,
        last,
        CHUNK * 2,
    )
    .await?;
    sqlx::query("ANALYZE messages")
        .execute(&mut conn)
        .await
        .ok();
    sqlx::query("ANALYZE room_events")
        .execute(&mut conn)
        .await
        .ok();
    let _ = conn.close().await;
    Ok((first, last))
}
