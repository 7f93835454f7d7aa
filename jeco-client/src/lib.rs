#![doc = include_str!("../README.md")]
//!
//! ## Layout
//!
//! ```text
//! client.rs      Client: tokens, single-flight refresh, the authenticated HTTP call
//! rest.rs        the REST API under /v1, one method per route
//! connection.rs  Connection: the background task (reconnect, backoff, heartbeats), events
//! session.rs     positions, dedup, resume, outbox: the protocol's rules, without I/O
//! transport/     Transport trait; WebSocket and SSE implementations
//! error.rs       Error
//! ```

mod client;
mod connection;
mod error;
mod rest;
mod session;
pub mod transport;

pub use client::{Client, ClientOptions, TokenListener};
pub use connection::{ClientEvent, ConnectOptions, Connection, PendingSend};
pub use error::{Error, Result};
pub use rest::new_client_id;
pub use transport::TransportKind;

/// The wire types the client speaks, re-exported so that applications use the same ones.
pub use jeco_proto as proto;
