//! Errors and events as the Python half reads them: JSON objects, turned into exceptions of the
//! `jeco.JecoError` hierarchy and into event classes by `jeco/_errors.py` and `jeco/events.py`.

use jeco_client::proto::error::ErrorKind;
use jeco_client::{ClientEvent, ConnectionState, Error};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use serde_json::{Value, json};

/// An error as a JSON object: `kind` picks the exception class (the protocol's error kind for
/// a server's refusal, the client-side failure otherwise), the rest are its attributes.
pub(crate) fn error_json(error: &Error) -> Value {
    match error {
        Error::Api {
            status,
            code,
            message,
            field,
            room_id,
            retry_after_ms,
        } => json!({
            "kind": kind_name(code.kind()),
            "code": code.as_str(),
            "status": status,
            "message": message,
            "field": field,
            "room_id": room_id,
            "retry_after_ms": retry_after_ms,
            "transient": code.is_transient(),
        }),
        other => {
            let kind = match other {
                Error::NotSignedIn => "not_signed_in",
                Error::InvalidUrl(_) => "invalid_url",
                Error::Transport(_) => "transport",
                Error::Decode(_) => "decode",
                Error::NotConnected => "not_connected",
                Error::Disconnected => "disconnected",
                Error::Closed => "closed",
                Error::File(_) => "file",
                _ => "client",
            };
            json!({
                "kind": kind,
                "code": kind,
                "status": 0,
                "message": other.to_string(),
                "transient": other.is_transient(),
            })
        }
    }
}

/// The protocol's error kind as the Python half names it.
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Invalid => "invalid",
        ErrorKind::Unauthenticated => "unauthenticated",
        ErrorKind::Forbidden => "forbidden",
        ErrorKind::NotFound => "not_found",
        ErrorKind::MethodNotAllowed => "method_not_allowed",
        ErrorKind::Conflict => "conflict",
        ErrorKind::TooLarge => "too_large",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::Unavailable => "unavailable",
        _ => "internal",
    }
}

/// `jeco._errors.from_native`, looked up once.
static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The exception a Python caller gets for `error`.
pub(crate) fn to_py(error: &Error) -> PyErr {
    native_error(error_json(error))
}

/// The exception of the `jeco.JecoError` hierarchy that `error` (a JSON object as
/// [`error_json`] makes) describes.
pub(crate) fn native_error(error: Value) -> PyErr {
    Python::attach(|py| {
        let made = FROM_NATIVE
            .get_or_try_init(py, || {
                py.import("jeco._errors")?
                    .getattr("from_native")
                    .map(Bound::unbind)
            })
            .and_then(|from_native| from_native.call1(py, (error.to_string(),)));
        match made {
            Ok(exception) => PyErr::from_value(exception.into_bound(py)),
            Err(e) => e,
        }
    })
}

/// A wrong argument from the Python side (a value of the wrong type, say).
pub(crate) fn bad_argument(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// A [`ClientEvent`] as JSON text: the server's events in their wire form (their `type` has a
/// dot or is one word), the client's own with the `type`s `state`, `sent`, `send_failed`,
/// `resync` and `feed_resync`.
pub(crate) fn event_json(event: &ClientEvent) -> String {
    let value = match event {
        ClientEvent::State(state) => state_json(state),
        ClientEvent::Event(event) => serde_json::to_value(event)
            .unwrap_or_else(|e| json!({"type": "unknown", "error": e.to_string()})),
        ClientEvent::Sent { client_id, message } => {
            json!({"type": "sent", "client_id": client_id, "message": message})
        }
        ClientEvent::SendFailed {
            client_id,
            room_id,
            error,
        } => json!({
            "type": "send_failed",
            "client_id": client_id,
            "room_id": room_id,
            "error": error_json(error),
        }),
        ClientEvent::Resync { room_id, seq } => {
            json!({"type": "resync", "room_id": room_id, "seq": seq})
        }
        ClientEvent::FeedResync { feed_seq } => {
            json!({"type": "feed_resync", "feed_seq": feed_seq})
        }
        _ => json!({"type": "unknown"}),
    };
    value.to_string()
}

/// A [`ConnectionState`] as a `state` event.
pub(crate) fn state_json(state: &ConnectionState) -> Value {
    match state {
        ConnectionState::Connecting => json!({"type": "state", "state": "connecting"}),
        ConnectionState::Connected { user_id, resumed } => json!({
            "type": "state", "state": "connected", "user_id": user_id, "resumed": resumed,
        }),
        ConnectionState::Reconnecting { reason } => {
            json!({"type": "state", "state": "reconnecting", "reason": reason})
        }
        ConnectionState::Stopped { reason } => {
            json!({"type": "state", "state": "stopped", "reason": reason})
        }
        _ => json!({"type": "state", "state": "unknown"}),
    }
}
