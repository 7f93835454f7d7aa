//! [`JecoError`]: `jeco_client::Error` with its fields flattened into each variant, so that
//! Kotlin and Swift can branch on the protocol's error code. No field is called `message`:
//! Kotlin's exceptions already have one (it is this error's `Display`).

use jeco_proto::error::ErrorCode;
use jeco_proto::ids::RoomId;

/// What went wrong with a call or a command. Kotlin sees it as `JecoException`, Swift as
/// `JecoError`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum JecoError {
    /// The server refused the request or command; branch on `code` (docs/PROTOCOL.md
    /// §10.2), show `detail`.
    #[error("{code:?} ({status}): {detail}")]
    Api {
        /// The HTTP status; `0` for a reply on the real-time connection.
        status: u16,
        /// The server's stable code.
        code: ErrorCode,
        /// A sentence for people.
        detail: String,
        /// The request field at fault, when the server named one.
        field: Option<String>,
        /// The room the error is about, when the server named one.
        room_id: Option<RoomId>,
        /// For `RateLimited`: milliseconds until the same call may succeed.
        retry_after_ms: Option<u64>,
    },
    /// No session: sign in (or the login was revoked).
    #[error("not signed in")]
    NotSignedIn,
    /// The base URL cannot be used.
    #[error("invalid base URL: {detail}")]
    InvalidUrl {
        /// Why.
        detail: String,
    },
    /// The network failed; retrying later may work.
    #[error("transport: {detail}")]
    Transport {
        /// What failed.
        detail: String,
    },
    /// The server answered something this client cannot read.
    #[error("unexpected answer: {detail}")]
    Decode {
        /// What could not be read.
        detail: String,
    },
    /// A real-time command needs an open connection, and there is none right now.
    #[error("not connected")]
    NotConnected,
    /// The connection dropped before the reply arrived; whether the command took effect
    /// is unknown.
    #[error("disconnected before the reply arrived")]
    Disconnected,
    /// The connection was closed for good.
    #[error("the connection is closed")]
    Closed,
    /// A local file to upload could not be read.
    #[error("file: {detail}")]
    File {
        /// What failed.
        detail: String,
    },
    /// An error this version of the bindings does not know.
    #[error("{detail}")]
    Other {
        /// What it said.
        detail: String,
    },
}

impl From<jeco_client::Error> for JecoError {
    fn from(e: jeco_client::Error) -> JecoError {
        use jeco_client::Error as E;
        match e {
            E::Api {
                status,
                code,
                message,
                field,
                room_id,
                retry_after_ms,
            } => JecoError::Api {
                status,
                code,
                detail: message,
                field,
                room_id,
                retry_after_ms,
            },
            E::NotSignedIn => JecoError::NotSignedIn,
            E::InvalidUrl(detail) => JecoError::InvalidUrl { detail },
            E::Transport(detail) => JecoError::Transport { detail },
            E::Decode(detail) => JecoError::Decode { detail },
            E::NotConnected => JecoError::NotConnected,
            E::Disconnected => JecoError::Disconnected,
            E::Closed => JecoError::Closed,
            E::File(detail) => JecoError::File { detail },
            other => JecoError::Other {
                detail: other.to_string(),
            },
        }
    }
}

/// The facade's result type.
pub type Result<T, E = JecoError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_keeps_its_code_and_fields() {
        let e = jeco_client::Error::Api {
            status: 429,
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            field: Some("body".into()),
            room_id: Some(RoomId(3)),
            retry_after_ms: Some(1500),
        };
        assert_eq!(
            JecoError::from(e),
            JecoError::Api {
                status: 429,
                code: ErrorCode::RateLimited,
                detail: "slow down".into(),
                field: Some("body".into()),
                room_id: Some(RoomId(3)),
                retry_after_ms: Some(1500),
            }
        );
        assert_eq!(
            JecoError::from(jeco_client::Error::Transport("refused".into())),
            JecoError::Transport {
                detail: "refused".into()
            }
        );
    }
}
