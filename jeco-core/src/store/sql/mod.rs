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

/// Splits `n` rows into runs whose lengths are powers of two, longest first. A multi-row
/// statement over a group then has one of a few shapes (at most 9 for 256 rows), each
/// prepared once and kept in the connection's statement cache, instead of one per group size.
fn runs(n: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let left = n - start;
        (left > 0).then(|| {
            let len = 1 << left.ilog2();
            start += len;
            start - len..start
        })
    })
}

/// `($1, $2), ($3, $4), ...`: `rows` rows of `columns` bind parameters each.
fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", rows::placeholders(r * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
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
            use crate::store::sql::{backend, map_err, runs, value_rows};
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_every_row_once_in_power_of_two_lengths() {
        for n in 0..=300 {
            let runs: Vec<_> = runs(n).collect();
            let covered: Vec<usize> = runs.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(covered, (0..n).collect::<Vec<_>>(), "rows of {n}");
            assert!(runs.iter().all(|r| r.len().is_power_of_two()), "{runs:?}");
            assert!(runs.windows(2).all(|w| w[0].len() > w[1].len()), "{runs:?}");
        }
    }

    #[test]
    fn value_rows_number_parameters_row_after_row() {
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(1, 1), "($1)");
    }
}
