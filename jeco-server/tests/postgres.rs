//! The end-to-end suite on PostgreSQL, over a real connection: each case gets its own
//! database on the server named by `JECO_TEST_DATABASE_URL` (default: the local server),
//! dropped afterwards. An unreachable server fails every case; it is never skipped.

// Test code: a failed unwrap is how a case fails, and the cases are `pub` only so that the
// `cases!` macro can reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[macro_use]
mod e2e;

e2e_suite!(crate::e2e::harness::Db::Postgres);
