//! What the WebSocket and SSE transports share: reading a command frame, and running one
//! with the per-user send limit and the send metrics.

use bytes::Bytes;
use jeco_core::error::ErrorCode;
use jeco_core::session::{Session, frame};
use jeco_proto::ws::{ClientFrame, ServerFrame};
use tokio::time::Instant;

use crate::state::AppState;

/// Parses a command; a frame that is not one is answered with an `error` frame (carrying
/// the command's id when it can still be read).
pub(crate) fn parse(raw: &[u8]) -> Result<ClientFrame, Bytes> {
    serde_json::from_slice(raw).map_err(|e| {
        let id = serde_json::from_slice::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
        frame(&ServerFrame::Error {
            id,
            code: ErrorCode::InvalidFrame,
            message: format!("the frame is not a valid command: {e}"),
            field: None,
            room_id: None,
        })
    })
}

/// Runs one command and returns its reply. Events a `resume` replays are left queued in
/// the session for the caller to send first.
pub(crate) async fn run(state: &AppState, session: &mut Session, command: ClientFrame) -> Bytes {
    let ClientFrame::Send { id, .. } = &command else {
        return session.handle(command).await;
    };
    if !state.send_limiter.check(&session.user()).await {
        return frame(&ServerFrame::Error {
            id: Some(id.clone()),
            code: ErrorCode::RateLimited,
            message: "too many messages; slow down".to_owned(),
            field: None,
            room_id: None,
        });
    }
    let started = Instant::now();
    let (reply, ok) = session.handle_with_outcome(command).await;
    state.metrics.sent(ok, started.elapsed());
    reply
}

/// The `error` frame for a frame over the size limit; nothing in it was carried out.
pub(crate) fn too_large(limit: usize) -> Bytes {
    frame(&ServerFrame::Error {
        id: None,
        code: ErrorCode::FrameTooLarge,
        message: format!("frames are limited to {limit} bytes; nothing was done"),
        field: None,
        room_id: None,
    })
}

/// A `closing` frame.
pub(crate) fn closing_frame(code: ErrorCode, message: &str) -> Bytes {
    frame(&ServerFrame::Closing {
        code,
        message: message.to_owned(),
    })
}
