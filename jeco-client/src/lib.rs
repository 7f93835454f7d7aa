#![doc = include_str!("../README.md")]
//!
//! ## Layout
//!
//! ```text
//! client.rs      Client: tokens, single-flight refresh, sign-in and password calls, health,
//!                the authenticated HTTP call
//! rest.rs        the rest of the REST API under /v1, one method per route
//! files.rs       uploads (streamed, with progress), downloads and thumbnails
//! connection.rs  Connection: the background task (reconnect, backoff, heartbeats)
//! session.rs     positions, dedup, resume: the protocol's rules, without I/O
//! session/       outbox.rs: sends kept until acknowledged; tests.rs
//! events.rs      ClientEvent, ConnectionState; listeners and streams that receive them
//! delivery.rs    the bounded queues from the background task to each subscriber
//! transport/     Transport trait; WebSocket and SSE implementations
//! error.rs       Error
//! ```
//!
//! Frames flow from a transport through `connection.rs` into `session.rs`, which turns them
//! into [`ClientEvent`]s; the background task hands those to `delivery.rs`, which queues them
//! for every listener and stream. `session.rs` knows nothing of tasks or queues.

mod client;
mod connection;
mod delivery;
mod error;
mod events;
mod files;
mod rest;
mod session;
pub mod transport;

pub use client::{Client, ClientOptions, TokenListener};
pub use connection::{ConnectOptions, Connection};
pub use error::{Error, Result};
pub use events::{ClientEvent, ConnectionState, EventListener, EventStream, ListenerHandle};
pub use files::{Download, Upload, UploadProgress};
pub use rest::new_client_id;
pub use session::PendingSend;
pub use transport::TransportKind;

/// The wire types the client speaks, re-exported so that applications use the same ones.
pub use jeco_proto as proto;
