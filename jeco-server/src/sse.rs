//! The fallback transport for clients that cannot keep a WebSocket open: events arrive as
//! Server-Sent Events on `GET /v1/sse?ticket=...`, and commands go as HTTP POSTs to
//! `/v1/sse/{session_id}/commands`, each answered with its reply frame. The first event is
//! `ready`, which carries the session id. [`jeco_core::session::drive`] runs the connection,
//! as for the WebSocket; `SseLink` feeds the event stream and takes the commands.

use std::convert::Infallible;
use std::io;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::Stream;
use jeco_core::error::ErrorCode;
use jeco_core::session::{Frame, Inbound, Link, Session};
use jeco_proto::api::ErrorBody;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiPath, ApiQuery, AuthUser};
use crate::metrics::Transport;
use crate::state::{AppState, SseCommand};
use crate::transport;

/// Frames waiting for the HTTP response to take them. A client that stops reading fills
/// this, then the driver's write deadline ends the connection.
const STREAM_BUFFER: usize = 64;

/// Query parameters of `GET /v1/sse`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SseQuery {
    /// A ticket from `POST /v1/tickets`.
    pub ticket: String,
}

/// Opens an event stream. Each SSE `data` is one JSON frame of the real-time protocol.
#[utoipa::path(get, path = "/v1/sse", operation_id = "open_event_stream", tag = "realtime",
    params(SseQuery),
    responses(
        (status = 200, description = "Server-Sent Events, each `data` one protocol frame; the first is `ready`", content_type = "text/event-stream", body = String),
        (status = 401, description = "invalid_ticket (tickets are single-use: get a new one before reconnecting)", body = ErrorBody),
        (status = 429, description = "too_many_connections", body = ErrorBody),
        (status = 503, description = "unavailable (the shared ticket store cannot be reached)", body = ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SseQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let user = state.tickets.redeem(&q.ticket).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidTicket,
            "the ticket is unknown, used or expired; get a new one for every connection",
        )
    })?;
    let guard = state
        .connections
        .acquire(user, state.config.max_connections_per_user)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::TooManyConnections,
                "close another connection of this account first",
            )
        })?;
    let (session, ready) = Session::open(&state.engine, user).await?;
    let (out, out_rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    let (commands_tx, commands) = mpsc::channel::<SseCommand>(16);
    let id = session.id().to_owned();
    state.sse.insert(id.clone(), user, commands_tx);
    let tasks = state.tasks.clone();
    let task = tasks.track_future(async move {
        let mut link = SseLink { out, commands };
        transport::run(&state, session, ready, &mut link, Transport::Sse).await;
        state.sse.remove(&id);
        drop(guard);
    });
    tokio::spawn(task);
    let events = ReceiverStream::new(out_rx).map(|json| Ok(sse_event(&json)));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// One frame as an SSE event. Frames are JSON, always UTF-8; one that is not is a bug,
/// surfaced in the log and as a comment rather than sent mangled.
fn sse_event(json: &[u8]) -> SseEvent {
    match std::str::from_utf8(json) {
        Ok(text) => SseEvent::default().data(text),
        Err(e) => {
            tracing::error!(error = %e, "a frame is not UTF-8");
            SseEvent::default().comment("a frame could not be sent")
        }
    }
}

/// The event stream and the command channel of one SSE connection, as the driver's
/// [`Link`].
struct SseLink {
    out: mpsc::Sender<Bytes>,
    commands: mpsc::Receiver<SseCommand>,
}

impl Link for SseLink {
    async fn send(&mut self, frames: &[Frame]) -> io::Result<()> {
        for frame in frames {
            self.out
                .send(frame.json().clone())
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        }
        Ok(())
    }

    async fn recv(&mut self) -> Option<Inbound> {
        tokio::select! {
            command = self.commands.recv() => {
                command.map(|(json, reply)| Inbound::Command { json, reply })
            }
            // The response stream was dropped: the client went away.
            () = self.out.closed() => None,
        }
    }
}

/// Sends one command to an SSE session and answers with its reply frame (`ack`, `error`,
/// `pong` or `resumed`). Events it causes arrive on the stream.
#[utoipa::path(post, path = "/v1/sse/{session_id}/commands", operation_id = "send_sse_command", tag = "realtime",
    params(("session_id" = String, Path, description = "From the stream's `ready` frame")),
    request_body(content = jeco_proto::ws::ClientFrame, description = "A command frame"),
    responses(
        (status = 200, description = "The reply frame", body = jeco_proto::ws::ServerFrame),
        (status = 404, description = "session_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn command(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(session_id): ApiPath<String>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Response> {
    let not_found = || {
        ApiError::new(
            ErrorCode::SessionNotFound,
            "no open stream with this id; reconnect",
        )
    };
    let commands = state
        .sse
        .commands_of(&session_id, user)
        .ok_or_else(not_found)?;
    let (reply, answer) = oneshot::channel();
    commands
        .send((body, reply))
        .await
        .map_err(|_| not_found())?;
    let answer = answer.await.map_err(|_| not_found())?;
    Ok(([(CONTENT_TYPE, "application/json")], answer.into_json()).into_response())
}
