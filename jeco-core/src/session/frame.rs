//! What a session sends: [`Frame`]s, each the JSON to write and, for an event, the event
//! itself when this node has it typed, so that an in-process transport need not parse what
//! the engine just serialized.

use std::sync::Arc;

use bytes::Bytes;
use jeco_proto::ws::ServerFrame;

use crate::error::{Error, ErrorCode};
use crate::event::Event;

/// One frame for the client.
#[derive(Clone, Debug)]
pub struct Frame {
    json: Bytes,
    /// For an event: the event, typed when this node published it or read it from the store.
    event: Option<Option<Arc<Event>>>,
}

/// Sent in place of a frame that could not be encoded: the plain data types of the protocol
/// always encode, so this reports a bug rather than sending an empty or partial frame.
const UNENCODABLE: &[u8] =
    br#"{"type":"error","code":"internal","message":"the server could not encode a frame"}"#;

impl Frame {
    /// An event's frame: its JSON, and the event when it is at hand.
    pub(crate) fn event(json: Bytes, event: Option<Arc<Event>>) -> Frame {
        Frame {
            json,
            event: Some(event),
        }
    }

    /// A protocol frame (`ready`, `ack`, `error`, ...).
    pub(crate) fn protocol(json: Bytes) -> Frame {
        Frame { json, event: None }
    }

    /// The JSON to send.
    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// The JSON to send, taken.
    pub fn into_json(self) -> Bytes {
        self.json
    }

    /// Whether this frame is an event (rather than `ready`, `ack`, `error`, ...).
    pub fn is_event(&self) -> bool {
        self.event.is_some()
    }

    /// The event this frame carries, typed: as it was published on this node or read from
    /// the store, or parsed from the JSON when it came from another node. `None` for protocol
    /// frames.
    pub fn to_event(&self) -> Option<Arc<Event>> {
        match self.event.as_ref()? {
            Some(event) => Some(Arc::clone(event)),
            None => serde_json::from_slice(&self.json).ok().map(Arc::new),
        }
    }
}

/// An event read from the store, as a frame.
///
/// Errors: the event could not be serialized (a bug, surfaced rather than sent as nothing).
pub(crate) fn event_frame(event: Event) -> Result<Frame, Error> {
    shared_event_frame(Arc::new(event))
}

/// [`event_frame`] for an event the caller keeps using.
pub(crate) fn shared_event_frame(event: Arc<Event>) -> Result<Frame, Error> {
    let json = serde_json::to_vec(&*event).map_err(Error::internal)?;
    Ok(Frame::event(Bytes::from(json), Some(event)))
}

/// A protocol frame.
pub fn frame(value: &ServerFrame) -> Frame {
    match serde_json::to_vec(value) {
        Ok(json) => Frame::protocol(Bytes::from(json)),
        Err(e) => {
            tracing::error!(error = %e, "a protocol frame could not be encoded");
            Frame::protocol(Bytes::from_static(UNENCODABLE))
        }
    }
}

/// The `error` frame for a failed command. Internal causes are logged, never sent.
pub fn error_frame(id: Option<String>, e: &Error) -> Frame {
    if let Error::Internal(cause) = e {
        tracing::error!(error = %cause, "command failed");
    }
    frame(&ServerFrame::Error {
        id,
        code: e.code(),
        message: e.to_string(),
        field: e.field().map(str::to_owned),
        room_id: e.room(),
        retry_after_ms: e.retry_after().map(millis),
    })
}

/// A duration in whole milliseconds, rounded up (a client that waits that long is in time).
pub(crate) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros().div_ceil(1000)).unwrap_or(u64::MAX)
}

/// A `closing` frame: the connection ends, and why.
pub fn closing_frame(code: ErrorCode, message: &str) -> Frame {
    frame(&ServerFrame::Closing {
        code,
        message: message.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{RoomId, Seq, UserId};

    #[test]
    fn events_keep_their_type_and_protocol_frames_have_none() {
        let event = Event::Read {
            room_id: RoomId(1),
            user_id: UserId(2),
            seq: Seq(3),
        };
        let f = event_frame(event.clone()).unwrap();
        assert!(f.is_event());
        assert_eq!(*f.to_event().unwrap(), event);
        // From another node: parsed from the JSON on request.
        let remote = Frame::event(f.json().clone(), None);
        assert_eq!(*remote.to_event().unwrap(), event);
        let pong = frame(&ServerFrame::Pong { id: "p".into() });
        assert!(!pong.is_event() && pong.to_event().is_none());
        assert_eq!(&pong.json()[..], br#"{"type":"pong","id":"p"}"#);
        let unencodable: serde_json::Value = serde_json::from_slice(UNENCODABLE).unwrap();
        assert_eq!(unencodable["code"], "internal");
    }
}
