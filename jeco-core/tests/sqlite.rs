//! The conformance suite on SQLite.

// Test code: a failed unwrap is how a case fails, and the cases are `pub` only so that the
// `cases!` macro can reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[macro_use]
mod suite;

conformance_suite!(crate::suite::harness::Harness::sqlite());
