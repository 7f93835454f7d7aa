//! The conformance suite on SQLite.

#[macro_use]
mod suite;

conformance_suite!(crate::suite::harness::Harness::sqlite());
