//! The fallback transport for clients that cannot keep a WebSocket open: events arrive as
//! Server-Sent Events on `GET /v1/sse?ticket=...`, and commands go as HTTP POSTs to
//! `/v1/sse/{session_id}/commands`, each answered with its reply frame. The first event is
//! `ready`, which carries the session id. Both halves drive the same [`Session`] as the
//! WebSocket transport, from one task per connection.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::Stream;
use jeco_core::error::ErrorCode;
use jeco_core::ids::UserId;
use jeco_core::session::{Outbound, Session};
use jeco_proto::api::ErrorBody;
use jeco_proto::ws::ClientFrame;
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiPath, ApiQuery, AuthUser};
use crate::state::AppState;
use crate::transport::{self, closing_frame};

type Command = (ClientFrame, oneshot::Sender<Bytes>);

struct Handle {
    user: UserId,
    commands: mpsc::Sender<Command>,
}

/// The open SSE sessions, so that command POSTs reach their session's task.
#[derive(Default)]
pub struct SseSessions {
    open: Mutex<HashMap<String, Handle>>,
}

impl SseSessions {
    fn insert(&self, id: String, handle: Handle) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, handle);
    }

    fn remove(&self, id: &str) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn commands_of(&self, id: &str, user: UserId) -> Option<mpsc::Sender<Command>> {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(id)
            .filter(|h| h.user == user)
            .map(|h| h.commands.clone())
    }
}

/// Query parameters of `GET /v1/sse`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SseQuery {
    /// A ticket from `POST /v1/tickets`.
    pub ticket: String,
}

/// Opens an event stream. Each SSE `data` is one JSON frame of the real-time protocol.
#[utoipa::path(get, path = "/v1/sse", tag = "realtime",
    params(SseQuery),
    responses(
        (status = 200, description = "text/event-stream of protocol frames; the first is `ready`"),
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
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(64);
    let (cmd_tx, cmd_rx) = mpsc::channel::<Command>(16);
    let id = session.id().to_owned();
    state.sse.insert(
        id.clone(),
        Handle {
            user,
            commands: cmd_tx,
        },
    );
    let _ = out_tx.send(ready).await;
    tokio::spawn(async move {
        drive(&state, session, cmd_rx, out_tx).await;
        state.sse.remove(&id);
        drop(guard);
    });
    let events = ReceiverStream::new(out_rx)
        .map(|bytes| Ok(SseEvent::default().data(String::from_utf8_lossy(&bytes))));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

async fn drive(
    state: &AppState,
    mut session: Session,
    mut commands: mpsc::Receiver<Command>,
    out: mpsc::Sender<Bytes>,
) {
    let shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                let _ = out.send(closing_frame(ErrorCode::ShuttingDown, "the server is restarting; reconnect and resume")).await;
                break;
            }
            () = out.closed() => break,
            command = commands.recv() => {
                let Some((command, reply)) = command else { break };
                let answer = transport::run(state, &mut session, command).await;
                let mut gone = false;
                for frame in session.take_queued() {
                    if out.send(frame).await.is_err() {
                        gone = true;
                        break;
                    }
                }
                let _ = reply.send(answer);
                if gone { break; }
            }
            next = session.next() => match next {
                Some(Outbound::Frame(f)) => {
                    if out.send(f).await.is_err() { break; }
                }
                Some(Outbound::Close(f)) => {
                    let _ = out.send(f).await;
                    break;
                }
                None => break,
            },
        }
    }
    session.close().await;
}

/// Sends one command to an SSE session and answers with its reply frame (`ack`, `error`,
/// `pong` or `resumed`). Events it causes arrive on the stream.
#[utoipa::path(post, path = "/v1/sse/{session_id}/commands", tag = "realtime",
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
    let reply = match transport::parse(&body) {
        Ok(command) => {
            let (tx, rx) = oneshot::channel();
            commands
                .send((command, tx))
                .await
                .map_err(|_| not_found())?;
            rx.await.map_err(|_| not_found())?
        }
        Err(error) => error,
    };
    Ok(([(CONTENT_TYPE, "application/json")], reply).into_response())
}
