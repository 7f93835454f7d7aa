//! The one error type of the client. It is `Clone` and holds only strings and numbers, so
//! one failure can be handed to several waiters and carried across a language binding.

use jeco_proto::api::ErrorBody;
use jeco_proto::error::ErrorCode;
use jeco_proto::ids::RoomId;

/// What went wrong with a call or a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the request or command. `code` is the server's stable code
    /// (`room_not_found`, `rate_limited`, ...): branch on it, show `message`.
    #[error("{code}: {message}")]
    Api {
        /// The HTTP status; `0` for a reply on the real-time connection.
        status: u16,
        /// The stable code ([`ErrorCode::Unknown`] for one this version does not know).
        code: ErrorCode,
        /// A sentence for people.
        message: String,
        /// The request field at fault, when the server named one.
        field: Option<String>,
        /// The room the error is about, when the server named one (`too_far_behind`).
        room_id: Option<RoomId>,
        /// For `rate_limited`: milliseconds until the same call may succeed.
        retry_after_ms: Option<u64>,
    },
    /// No session: call `login`, `register` or `restore` first (or the login was revoked).
    #[error("not signed in")]
    NotSignedIn,
    /// The base URL given to the client cannot be used.
    #[error("invalid base URL: {0}")]
    InvalidUrl(String),
    /// The network or the HTTP/WebSocket layer failed; retrying later may work.
    #[error("transport: {0}")]
    Transport(String),
    /// The server answered something this client cannot read.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    /// A real-time command needs an open connection, and there is none right now.
    #[error("not connected")]
    NotConnected,
    /// The connection dropped before the command's reply arrived; whether the command took
    /// effect is unknown.
    #[error("the connection dropped before the reply arrived")]
    Disconnected,
    /// The connection was closed for good (`Connection::close`, sign-out, or dropped).
    #[error("the connection is closed")]
    Closed,
    /// A local file to upload could not be read.
    #[error("file: {0}")]
    File(String),
    /// There is no Tokio runtime to run the connection on.
    #[error("no Tokio runtime: {0}")]
    NoRuntime(String),
}

impl Error {
    /// The server's stable code of an [`Error::Api`].
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn api(status: u16, body: ErrorBody) -> Error {
        Error::Api {
            status,
            code: body.code,
            message: body.message,
            field: body.field,
            room_id: None,
            retry_after_ms: body.retry_after_ms,
        }
    }

    /// For `rate_limited`: how long until the same call may succeed, when the server said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Api {
                retry_after_ms: Some(ms),
                ..
            } => Some(std::time::Duration::from_millis(*ms)),
            _ => None,
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { code, .. } => code.is_transient(),
            Error::Transport(_) | Error::NotConnected | Error::Disconnected => true,
            _ => false,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Error {
        if e.is_decode() {
            Error::Decode(e.to_string())
        } else {
            Error::Transport(e.to_string())
        }
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
