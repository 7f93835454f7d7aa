//! `GET /v1/ws`: the WebSocket transport.
//!
//! The client authenticates with a ticket (`?ticket=`, from `POST /v1/tickets`) or, without
//! one, with an `auth` frame carrying its access token as the first frame. From then on the
//! connection moves frames between the socket and a [`Session`]: text frames in are commands,
//! and every frame out is JSON text. A command that cannot be read gets an `error` frame and
//! the connection stays open.
//!
//! One task serves a connection. It never waits on other connections: when the client reads
//! too slowly, its session's queue fills, the engine's hub drops it, and the client gets a
//! `closing` frame (`slow_consumer`) and can resume after reconnecting.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use bytes::Bytes;
use futures::{FutureExt, SinkExt, StreamExt};
use jeco_core::error::ErrorCode;
use jeco_core::ids::UserId;
use jeco_core::session::{HEARTBEAT_MS, Outbound, Session, error_frame};
use jeco_proto::ws::ClientFrame;

use crate::transport::{self, closing_frame};
use serde::Deserialize;
use tokio::time::Instant;

use crate::state::AppState;

/// Most frames written together before the connection's loop looks at anything else.
const WRITE_BATCH: usize = 64;

/// Query parameters of `GET /v1/ws`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// A ticket from `POST /v1/tickets`; without one, the first frame must be `auth`.
    pub ticket: Option<String>,
}

/// Opens a real-time connection.
#[utoipa::path(get, path = "/v1/ws", tag = "realtime",
    params(WsQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; see docs/PROTOCOL.md")))]
pub async fn upgrade(
    State(state): State<AppState>,
    Query(q): Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    // The protocol's frame limit is checked per message below, answered with an `error` and
    // the connection kept. The WebSocket layer's own cap is four times higher: only frames
    // far beyond any legitimate use end the connection, whose unread rest a client may then
    // see as a reset rather than the `closing` frame.
    let hard_max = state.config.frame_bytes.saturating_mul(4);
    ws.read_buffer_size(state.config.ws_read_buffer_bytes)
        .write_buffer_size(state.config.ws_write_buffer_bytes)
        .max_message_size(hard_max)
        .max_frame_size(hard_max)
        .on_upgrade(move |socket| serve(state, socket, q.ticket))
}

async fn serve(state: AppState, mut socket: WebSocket, ticket: Option<String>) {
    // The connection's task lives as long as the connection, and its future is as large as
    // the largest thing it awaits inline. Opening, commands and closing run rarely and are
    // deep, so they are boxed: an idle connection does not carry their state.
    let user = match Box::pin(authenticate(&state, &mut socket, ticket)).await {
        Ok(user) => user,
        Err(closing) => {
            let _ = socket.send(text(closing)).await;
            let _ = socket.close().await;
            return;
        }
    };
    let Some(_guard) = state
        .connections
        .acquire(user, state.config.max_connections_per_user)
    else {
        let _ = socket
            .send(text(closing_frame(
                ErrorCode::TooManyConnections,
                "close another connection of this account first",
            )))
            .await;
        let _ = socket.close().await;
        return;
    };
    let (mut session, ready) = match Box::pin(Session::open(&state.engine, user)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = ?e, "opening a session failed");
            let closing = closing_frame(
                ErrorCode::Unavailable,
                "the server cannot serve this connection now; retry later",
            );
            let _ = socket.send(text(closing)).await;
            let _ = socket.close().await;
            return;
        }
    };
    let (mut tx, mut rx) = socket.split();
    if tx.send(text(ready)).await.is_err() {
        Box::pin(session.close()).await;
        return;
    }
    let heartbeat = Duration::from_millis(HEARTBEAT_MS);
    let mut ticker = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    let mut last_heard = Instant::now();
    let shutdown = state.shutdown.clone();
    // Unbiased: a client that keeps sending commands must not hold up its own events, nor a
    // busy room its commands.
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                let _ = tx.send(text(closing_frame(ErrorCode::ShuttingDown, "the server is restarting; reconnect and resume"))).await;
                let _ = tx.send(Message::Close(Some(CloseFrame { code: 1001, reason: Utf8Bytes::from_static("shutting down") }))).await;
                break;
            }
            incoming = rx.next() => {
                let msg = match incoming {
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => {
                        // An oversized or malformed frame: say why before closing.
                        let cause = e.into_inner();
                        let (code, message) = match cause.downcast_ref::<tungstenite::Error>() {
                            Some(tungstenite::Error::Capacity(_)) => (ErrorCode::FrameTooLarge, "a frame was larger than the limit"),
                            _ => (ErrorCode::ProtocolError, "the WebSocket stream could not be read"),
                        };
                        let _ = tx.send(text(closing_frame(code, message))).await;
                        break;
                    }
                    None => break,
                };
                last_heard = Instant::now();
                let replies = match msg {
                    Message::Text(t) if t.len() > state.config.frame_bytes => {
                        vec![transport::too_large(state.config.frame_bytes)]
                    }
                    Message::Text(t) => match transport::parse(t.as_bytes()) {
                        Ok(command) => {
                            let reply = Box::pin(transport::run(&state, &mut session, command)).await;
                            let mut out = session.take_queued();
                            out.push(reply);
                            out
                        }
                        Err(error) => vec![error],
                    },
                    Message::Binary(_) => vec![error_frame(None, &jeco_core::Error::invalid(ErrorCode::InvalidFrame, "frame", "send JSON text frames"))],
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => Vec::new(),
                };
                let mut failed = false;
                for r in replies {
                    if tx.send(text(r)).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed { break; }
            }
            out = session.next() => match out {
                Some(Outbound::Frame(f)) => {
                    // Whatever else is ready (up to a bound, so that commands get their
                    // turn in a busy room) goes out with it, in one write.
                    let mut pending = Ok(());
                    let mut next = Some(f);
                    let mut closing = None;
                    let mut batched = 0;
                    while let Some(f) = next.take() {
                        pending = tx.feed(text(f)).await;
                        batched += 1;
                        if pending.is_err() || batched == WRITE_BATCH {
                            break;
                        }
                        match session.next().now_or_never() {
                            Some(Some(Outbound::Frame(f))) => next = Some(f),
                            Some(Some(Outbound::Close(f))) => closing = Some(f),
                            _ => {}
                        }
                    }
                    if pending.is_err() || tx.flush().await.is_err() { break; }
                    if let Some(f) = closing {
                        let _ = tx.send(text(f)).await;
                        let _ = tx.send(Message::Close(Some(CloseFrame { code: 1008, reason: Utf8Bytes::from_static("see the closing frame") }))).await;
                        break;
                    }
                }
                Some(Outbound::Close(f)) => {
                    let _ = tx.send(text(f)).await;
                    let _ = tx.send(Message::Close(Some(CloseFrame { code: 1008, reason: Utf8Bytes::from_static("see the closing frame") }))).await;
                    break;
                }
                None => break,
            },
            _ = ticker.tick() => {
                if last_heard.elapsed() > heartbeat * 3 {
                    let _ = tx.send(text(closing_frame(ErrorCode::HeartbeatTimeout, "no answer to pings"))).await;
                    break;
                }
                if tx.send(Message::Ping(Bytes::new())).await.is_err() { break; }
            }
        }
    }
    Box::pin(session.close()).await;
}

/// Finds the user: by ticket, or by an `auth` frame within the configured time.
async fn authenticate(
    state: &AppState,
    socket: &mut WebSocket,
    ticket: Option<String>,
) -> Result<UserId, Bytes> {
    if let Some(ticket) = ticket {
        return match state.tickets.redeem(&ticket).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(closing_frame(
                ErrorCode::InvalidTicket,
                "the ticket is unknown, used or expired",
            )),
            Err(_) => Err(closing_frame(
                ErrorCode::Unavailable,
                "real-time connections cannot be opened right now; try again shortly",
            )),
        };
    }
    let deadline = Instant::now() + state.config.auth_timeout;
    let t = loop {
        match tokio::time::timeout_at(deadline, socket.recv()).await {
            Ok(Some(Ok(Message::Text(t)))) => break t,
            // Control frames before authenticating are fine; keep waiting for `auth`.
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(_))) => {
                return Err(closing_frame(
                    ErrorCode::AuthRequired,
                    "the first frame must be auth",
                ));
            }
            _ => {
                return Err(closing_frame(
                    ErrorCode::AuthTimeout,
                    "send an auth frame first",
                ));
            }
        }
    };
    match serde_json::from_str::<ClientFrame>(t.as_str()) {
        Ok(ClientFrame::Auth { token }) => state
            .engine
            .accounts()
            .authenticate(&token)
            .map_err(|e| closing_frame(e.code(), &e.to_string())),
        _ => Err(closing_frame(
            ErrorCode::AuthRequired,
            "the first frame must be auth",
        )),
    }
}

/// A text message of JSON bytes (always valid UTF-8).
fn text(bytes: Bytes) -> Message {
    match Utf8Bytes::try_from(bytes) {
        Ok(t) => Message::Text(t),
        Err(_) => Message::Text(Utf8Bytes::from_static("{}")),
    }
}
