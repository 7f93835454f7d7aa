//! # jeco-proto
//!
//! The Jeco Chat wire types, shared by the engine, the server, the clients and the bindings so
//! that no side redefines them. Plain serde data: no I/O, no backend, no behaviour beyond
//! naming.
//!
//! - [`ids`]: typed identifiers, sequences and timestamps;
//! - [`model`]: users, rooms, members, messages, notifications, pages;
//! - [`event`]: the real-time events (`message.created`, `typing`, ...);
//! - [`api`]: REST request and response bodies under `/v1`;
//! - [`ws`]: the frames of the real-time protocol (commands, acks, errors);
//! - [`error`]: every error code, with its kind and HTTP status.
//!
//! With the `openapi` feature every type also derives its OpenAPI schema.

pub mod api;
pub mod error;
pub mod event;
pub mod ids;
pub mod model;
pub mod ws;

/// The real-time protocol version announced in the `ready` frame.
pub const PROTOCOL_VERSION: u32 = 1;
