//! The conformance suite on PostgreSQL, over a real connection: each case gets its own
//! database on the server named by `JECO_TEST_DATABASE_URL` (default: the local server).
//! An unreachable server fails every case; it is never skipped.

#[macro_use]
mod suite;

conformance_suite!(crate::suite::harness::Harness::postgres());
