//! The one error type of the service layer.
//!
//! A refusal carries an [`ErrorCode`] from `jeco-proto`, the table of every code the server
//! answers with: its [`ErrorKind`] decides the status a transport answers with, and the code
//! and the `Display` text go to the client. Backend failures are kept whole in
//! [`Error::Internal`] for the log and never shown to a client.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

pub use jeco_proto::error::{ErrorCode, ErrorKind};

use crate::ids::RoomId;
use crate::store::StoreError;

/// An error from a service call.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The service refused the call; nothing was changed.
    Refused {
        /// The stable code.
        code: ErrorCode,
        /// A sentence for a person.
        message: Cow<'static, str>,
        /// The request field at fault, for input errors.
        field: Option<&'static str>,
        /// The room the refusal is about, when the caller may need to know which
        /// (`too_far_behind` in a resume of several rooms).
        room: Option<RoomId>,
        /// When the same call may succeed, for `rate_limited`.
        retry_after: Option<Duration>,
    },
    /// A backend failed. The cause is for the log only.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused {
                message,
                field: Some(field),
                ..
            } => write!(f, "{field}: {message}"),
            Error::Refused { message, .. } => f.write_str(message),
            Error::Internal(_) => f.write_str("internal error"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Internal(cause) => Some(&**cause),
            Error::Refused { .. } => None,
        }
    }
}

impl Error {
    /// A refusal with `code` and a sentence for people.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Error {
        Error::Refused {
            code,
            message: message.into(),
            field: None,
            room: None,
            retry_after: None,
        }
    }

    /// Bad input: `field` broke the rule `message` states.
    pub fn invalid(
        code: ErrorCode,
        field: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::Refused {
            code,
            message: message.into(),
            field: Some(field),
            room: None,
            retry_after: None,
        }
    }

    /// No such thing (or none the caller may see), said by its code alone.
    pub fn not_found(code: ErrorCode) -> Error {
        let what = code.as_str().strip_suffix("_not_found").unwrap_or("it");
        Error::new(code, format!("{what} not found"))
    }

    /// A backend failure; `e` goes to the log.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Internal(Box::new(e))
    }

    /// Too many calls: the same may succeed after `retry_after`.
    pub fn rate_limited(message: impl Into<Cow<'static, str>>, retry_after: Duration) -> Error {
        Error::Refused {
            code: ErrorCode::RateLimited,
            message: message.into(),
            field: None,
            room: None,
            retry_after: Some(retry_after),
        }
    }

    /// The same refusal, naming the room it is about.
    pub fn in_room(mut self, room_id: RoomId) -> Error {
        if let Error::Refused { room, .. } = &mut self {
            *room = Some(room_id);
        }
        self
    }

    /// The stable machine-readable code sent to clients.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Refused { code, .. } => *code,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The class of the error, which decides the status a transport answers with.
    pub fn kind(&self) -> ErrorKind {
        self.code().kind()
    }

    /// The request field at fault, for input errors.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Refused { field, .. } => *field,
            Error::Internal(_) => None,
        }
    }

    /// The room the error is about, when it names one.
    pub fn room(&self) -> Option<RoomId> {
        match self {
            Error::Refused { room, .. } => *room,
            Error::Internal(_) => None,
        }
    }

    /// When the same call may succeed, for `rate_limited`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Refused { retry_after, .. } => *retry_after,
            Error::Internal(_) => None,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound(what) => match not_found_code(what) {
                Some(code) => Error::not_found(code),
                None => Error::internal(StoreError::NotFound(what)),
            },
            // The services turn the conflicts a caller can cause into their own codes
            // (`username_taken`, ...); one that reaches here is a race the service did not
            // expect, which is ours to fix.
            StoreError::Conflict(what) => Error::internal(StoreError::Conflict(what)),
            StoreError::Backend(e) => Error::Internal(e),
        }
    }
}

/// The code for a store's "no such `what`", for the things a caller can name.
fn not_found_code(what: &str) -> Option<ErrorCode> {
    Some(match what {
        "user" => ErrorCode::UserNotFound,
        "room" => ErrorCode::RoomNotFound,
        "message" => ErrorCode::MessageNotFound,
        "notification" => ErrorCode::NotificationNotFound,
        "attachment" => ErrorCode::AttachmentNotFound,
        "contact" => ErrorCode::ContactNotFound,
        "member" => ErrorCode::MemberNotFound,
        _ => return None,
    })
}

/// The result of a service call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_become_codes() {
        let e: Error = StoreError::NotFound("room").into();
        assert_eq!(e.code(), ErrorCode::RoomNotFound);
        assert_eq!(e.to_string(), "room not found");
        assert_eq!(e.kind().status(), 404);
        let e: Error = StoreError::Conflict("room").into();
        assert_eq!(e.code(), ErrorCode::Internal);
        let e = Error::invalid(ErrorCode::TooLong, "body", "at most 5 characters");
        assert_eq!(e.to_string(), "body: at most 5 characters");
        assert_eq!(e.field(), Some("body"));
        let e = Error::new(ErrorCode::TooFarBehind, "too far").in_room(RoomId(3));
        assert_eq!(e.room(), Some(RoomId(3)));
    }
}
