//! The SQL stores: SQLite and PostgreSQL through sqlx.
//!
//! Both dialects run the very same statements (sqlx accepts `$1` placeholders for SQLite too,
//! and the schema keeps types that both map alike: BIGINT/INTEGER, TEXT, BOOLEAN). The trait
//! implementations are therefore written once and stamped out for each backend type, which
//! only has to say where its writer and reader pools are: `impl_sql_store!` expands one macro
//! per concern, each in its own file (`users`, `tokens`, `rooms`, `messages`, `feed`,
//! `contacts`, `attachments`), over the statements they share (`shared`).
//!
//! Queries are built at run time (`query_as` + `FromRow`) rather than checked at compile time:
//! with two dialects, compile-time checking would need a live database or committed metadata
//! for each, and the shared conformance suite already runs every statement on both.

mod append;
mod attachments;
mod contacts;
mod feed;
mod messages;
mod rooms;
mod rows;
mod shared;
mod tokens;
mod users;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::store::StoreError;

/// Turns sqlx errors into store errors: unique violations become `Conflict`, a missing row
/// `NotFound`, everything else stays whole for the log.
fn map_err(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match e {
        sqlx::Error::RowNotFound => StoreError::NotFound(what),
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        other => StoreError::Backend(Box::new(other)),
    }
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Most sends committed in one transaction.
const MAX_BATCH: usize = 256;

/// What one send in a group commit came to.
enum Outcome {
    /// Appended, with its notifications and its turn to be published.
    New(
        Box<crate::model::Message>,
        Vec<(crate::ids::UserId, crate::model::Notification)>,
        crate::store::PublishTurn,
    ),
    /// Already sent with this client id: that message's id.
    Existing(crate::ids::MessageId),
}

type Job = (
    crate::store::NewMessage,
    tokio::sync::oneshot::Sender<crate::store::StoreResult<Outcome>>,
);
type Jobs = tokio::sync::mpsc::UnboundedReceiver<Job>;

/// Group commit for sends. Each send is handed to a task that owns the write path for its
/// room's messages; the task takes every send waiting at that moment (up to [`MAX_BATCH`])
/// and commits them in a single transaction, so concurrent sends share one disk flush instead
/// of queueing for one each. Nothing waits for a batch to fill: a lone send is committed at
/// once, and under load the batch is whatever arrived during the previous commit. Every caller
/// is answered only after the commit, so "durable before acknowledged" holds for each message.
///
/// SQLite has one writer anyway, so it gets one task. PostgreSQL gets several, each on its own
/// connection, with a room always on the same one: rooms commit in parallel, and one room's
/// messages still queue in one place.
#[derive(Clone, Debug)]
pub(crate) struct Appender {
    shards: Vec<tokio::sync::mpsc::UnboundedSender<Job>>,
}

impl Appender {
    fn new(shards: usize) -> (Appender, Vec<Jobs>) {
        let (senders, receivers) = (0..shards.max(1))
            .map(|_| tokio::sync::mpsc::unbounded_channel())
            .unzip();
        (Appender { shards: senders }, receivers)
    }

    /// Appends `message` with the next group; answers once that group is committed.
    async fn append(
        &self,
        message: crate::store::NewMessage,
    ) -> crate::store::StoreResult<Outcome> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Backend("the message writer has stopped".into());
        let shard = message.room_id.get().rem_euclid(self.shards.len() as i64) as usize;
        self.shards[shard]
            .send((message, reply))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The next group of sends: waits for one, then takes whatever else is already waiting.
async fn next_batch(jobs: &mut Jobs) -> Option<Vec<Job>> {
    let first = jobs.recv().await?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Implements every store trait for `$store`, whose `writer()` and `reader()` return pools of
/// database `$db`.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $begin_write:expr) => {
        mod store_impl {
            use async_trait::async_trait;
            use sqlx::{Pool, Transaction};

            use crate::event::{Event, LeaveReason};
            use crate::ids::*;
            use crate::model::*;
            use crate::store::sql::rows::*;
            use crate::store::sql::{Outcome, backend, map_err};
            use crate::store::*;

            type Tx = Transaction<'static, $db>;

            /// How a transaction that will write starts.
            const BEGIN_WRITE: &str = $begin_write;

            crate::store::sql::shared::shared!($store, $db);
            crate::store::sql::append::append!($store, $db);

            mod users {
                use super::*;
                crate::store::sql::users::users!($store, $db);
            }
            mod tokens {
                use super::*;
                crate::store::sql::tokens::tokens!($store, $db);
            }
            mod rooms {
                use super::*;
                crate::store::sql::rooms::rooms!($store, $db);
            }
            mod messages {
                use super::*;
                crate::store::sql::messages::messages!($store, $db);
            }
            mod feed {
                use super::*;
                crate::store::sql::feed::feed!($store, $db);
            }
            mod contacts {
                use super::*;
                crate::store::sql::contacts::contacts!($store, $db);
            }
            mod attachments {
                use super::*;
                crate::store::sql::attachments::attachments!($store, $db);
            }
        }
    };
}

pub(crate) use impl_sql_store;
