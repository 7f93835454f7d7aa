//! `GET /v1/ws`: the WebSocket transport.
//!
//! The client authenticates with a ticket (`?ticket=`, from `POST /v1/tickets`) or, without
//! one, with an `auth` frame carrying its access token as the first frame. From then on
//! [`jeco_core::session::drive`] runs the connection; this module only moves WebSocket
//! messages in and out (`WsLink`). Text frames in are commands; every frame out is JSON
//! text.

use std::io;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::SinkExt;
use jeco_core::error::ErrorCode;
use jeco_core::ids::UserId;
use jeco_core::session::{Frame, Inbound, Link, Session, closing_frame};
use jeco_proto::api::ErrorBody;
use jeco_proto::ws::ClientFrame;
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::metrics::Transport;
use crate::state::AppState;
use crate::transport;

/// Query parameters of `GET /v1/ws`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// A ticket from `POST /v1/tickets`; without one, the first frame must be `auth`.
    pub ticket: Option<String>,
}

/// Opens a real-time connection.
#[utoipa::path(get, path = "/v1/ws", operation_id = "open_websocket", tag = "realtime",
    params(WsQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; see docs/PROTOCOL.md"),
        (status = 400, description = "not_a_websocket", body = ErrorBody)))]
pub async fn upgrade(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<WsQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let ws = ws.map_err(|e| ApiError::new(ErrorCode::NotAWebsocket, e.body_text()))?;
    // The protocol's frame limit is checked per message by the driver, answered with an
    // `error` and the connection kept. The WebSocket layer's own cap is four times higher:
    // only frames far beyond any legitimate use end the connection, whose unread rest a
    // client may then see as a reset rather than the `closing` frame.
    let hard_max = state.config.frame_bytes.saturating_mul(4);
    let tasks = state.tasks.clone();
    Ok(ws
        .read_buffer_size(state.config.ws_read_buffer_bytes)
        .write_buffer_size(state.config.ws_write_buffer_bytes)
        .max_message_size(hard_max)
        .max_frame_size(hard_max)
        .on_upgrade(move |socket| tasks.track_future(serve(state, socket, q.ticket)))
        .into_response())
}

async fn serve(state: AppState, mut socket: WebSocket, ticket: Option<String>) {
    // The connection's task lives as long as the connection, and its future is as large as
    // the largest thing it awaits inline. Opening runs once and is deep, so it is boxed: an
    // idle connection does not carry its state.
    let user = match Box::pin(authenticate(&state, &mut socket, ticket)).await {
        Ok(user) => user,
        Err(closing) => return refuse(socket, closing).await,
    };
    let Some(_guard) = state
        .connections
        .acquire(user, state.config.max_connections_per_user)
    else {
        let closing = closing_frame(
            ErrorCode::TooManyConnections,
            "close another connection of this account first",
        );
        return refuse(socket, closing).await;
    };
    let (session, ready) = match Box::pin(Session::open(&state.engine, user)).await {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!(error = ?e, "opening a session failed");
            let closing = closing_frame(
                ErrorCode::Unavailable,
                "the server cannot serve this connection now; retry later",
            );
            return refuse(socket, closing).await;
        }
    };
    transport::run(&state, session, ready, &mut WsLink(socket), Transport::Ws).await;
}

/// Says why the connection cannot be served, and closes it.
async fn refuse(mut socket: WebSocket, closing: Frame) {
    if let Ok(text) = text(&closing) {
        let _ = socket.send(text).await;
    }
    let _ = socket.close().await;
}

/// Finds the user: by ticket, or by an `auth` frame within the configured time.
async fn authenticate(
    state: &AppState,
    socket: &mut WebSocket,
    ticket: Option<String>,
) -> Result<UserId, Frame> {
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

/// A WebSocket as the driver's [`Link`].
struct WsLink(WebSocket);

impl Link for WsLink {
    async fn send(&mut self, frames: &[Frame]) -> io::Result<()> {
        for frame in frames {
            self.0.feed(text(frame)?).await.map_err(io::Error::other)?;
        }
        self.0.flush().await.map_err(io::Error::other)
    }

    async fn recv(&mut self) -> Option<Inbound> {
        match self.0.recv().await? {
            Ok(Message::Text(t)) => Some(Inbound::Text(Bytes::from(t))),
            Ok(Message::Binary(_)) => Some(Inbound::Unusable),
            Ok(Message::Ping(_) | Message::Pong(_)) => Some(Inbound::Heard),
            Ok(Message::Close(_)) => None,
            Err(e) => {
                let cause = e.into_inner();
                Some(Inbound::Broken(
                    match cause.downcast_ref::<tungstenite::Error>() {
                        Some(tungstenite::Error::Capacity(_)) => ErrorCode::FrameTooLarge,
                        _ => ErrorCode::ProtocolError,
                    },
                ))
            }
        }
    }

    async fn ping(&mut self) -> io::Result<()> {
        self.0
            .send(Message::Ping(Bytes::new()))
            .await
            .map_err(io::Error::other)
    }

    async fn close(&mut self, code: ErrorCode) {
        // The close status for clients that look at it rather than at the `closing` frame.
        let status = match code {
            ErrorCode::ShuttingDown => Some((1001, "shutting down")),
            ErrorCode::SlowConsumer | ErrorCode::SignedOut => Some((1008, "see the closing frame")),
            _ => None,
        };
        let frame = status.map(|(code, reason)| CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        });
        let _ = self.0.send(Message::Close(frame)).await;
    }
}

/// A frame as a text message. Frames are JSON, always UTF-8; one that is not is a bug,
/// surfaced as a failed write rather than sent.
fn text(frame: &Frame) -> io::Result<Message> {
    Utf8Bytes::try_from(frame.json().clone())
        .map(Message::Text)
        .map_err(|e| {
            tracing::error!(error = %e, "a frame is not UTF-8");
            io::Error::new(io::ErrorKind::InvalidData, e)
        })
}
