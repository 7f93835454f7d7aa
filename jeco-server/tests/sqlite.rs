//! The end-to-end suite on SQLite: the real server on a free port, driven over sockets.

// Test code: a failed unwrap is how a case fails, and the cases are `pub` only so that the
// `cases!` macro can reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[macro_use]
mod e2e;

e2e_suite!(crate::e2e::harness::Db::Sqlite);
