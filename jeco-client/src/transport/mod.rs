//! Transports carry the protocol's frames between a [`crate::Connection`] and the server.
//!
//! The connection logic (resume, dedup, outbox, heartbeats) is the same whatever carries the
//! frames, so it sits above a small object-safe trait: [`Transport`] opens one connection and
//! yields a [`TransportConn`] that sends [`ClientFrame`]s and receives [`Incoming`] frames.
//! Two implementations ship: [`WebSocketTransport`] and the [`SseTransport`] fallback; an
//! application can supply its own (a test double, a proxy tunnel) through
//! [`crate::Client::connect_with`].

mod sse;
mod ws;

use async_trait::async_trait;
use jeco_proto::ws::{ClientFrame, Incoming};

use crate::client::Client;
use crate::error::Result;

pub use sse::SseTransport;
pub use ws::WebSocketTransport;

/// Opens real-time connections.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Opens one connection for `client`'s user (getting a ticket with `client` as needed).
    /// The first frame the returned connection yields is the server's `ready` (or a
    /// `closing` saying why there is none).
    async fn open(&self, client: &Client) -> Result<Box<dyn TransportConn>>;
}

/// One open connection.
#[async_trait]
pub trait TransportConn: Send {
    /// Sends a command. Commands reach the server in the order they were sent.
    async fn send(&mut self, frame: ClientFrame) -> Result<()>;

    /// The next frame from the server: an event, or a protocol frame (command replies
    /// included, whatever way they travel); `None` once the connection is over. Must be
    /// cancel-safe: a `recv` dropped before it finished loses no frame.
    async fn recv(&mut self) -> Option<Result<Incoming>>;

    /// Closes the connection.
    async fn close(&mut self);
}

/// The transports that ship with the client, for callers that choose by value (such as
/// language bindings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransportKind {
    /// `GET /v1/ws`.
    #[default]
    WebSocket,
    /// `GET /v1/sse` for events, `POST /v1/sse/{session}/commands` for commands.
    Sse,
}

/// Parses one frame's text; a frame that cannot be read is an error for the caller to skip.
fn parse(text: &str) -> Result<Incoming> {
    serde_json::from_str(text).map_err(|e| crate::Error::Decode(format!("{e}: {text}")))
}
