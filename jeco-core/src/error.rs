//! The one error type of the service layer.
//!
//! Every variant has a stable machine-readable [`Error::code`]; transports send that code and
//! the `Display` text to clients and map the [`ErrorKind`] to a status. Backend failures are
//! kept whole in [`Error::Internal`] for the log and never shown to a client.

use std::borrow::Cow;

use crate::store::StoreError;

/// What a caller can do about an error: the transport maps this to a status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was malformed or broke a rule; fix it and try again.
    Invalid,
    /// No valid credentials.
    Unauthenticated,
    /// Authenticated, but not allowed.
    Forbidden,
    /// The thing does not exist, or the caller may not know it does.
    NotFound,
    /// The request clashes with existing state (a taken name, say).
    Conflict,
    /// Too big.
    TooLarge,
    /// A fault on our side; the details are in the server log.
    Internal,
}

/// An error from a service call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of the request broke a rule. `field` names it, the message says which rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The stable code, such as `invalid_username`.
        code: &'static str,
        /// The request field at fault.
        field: &'static str,
        /// A sentence for a person.
        message: Cow<'static, str>,
    },
    /// Username/email and password do not match an account.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// The token is missing, malformed, forged, expired or revoked.
    #[error("the token is not valid: {0}")]
    InvalidToken(&'static str),
    /// The caller may not do this.
    #[error("not allowed: {message}")]
    Forbidden {
        /// The stable code, such as `not_a_member`.
        code: &'static str,
        /// A sentence for a person.
        message: Cow<'static, str>,
    },
    /// No such thing (or none the caller may see).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request clashes with existing state.
    #[error("{message}")]
    Conflict {
        /// The stable code, such as `username_taken`.
        code: &'static str,
        /// A sentence for a person.
        message: Cow<'static, str>,
    },
    /// The payload is larger than the configured limit.
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// A backend failed. The cause is for the log only.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// The stable machine-readable code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { code, .. } => code,
            Error::InvalidCredentials => "invalid_credentials",
            Error::InvalidToken(_) => "invalid_token",
            Error::Forbidden { code, .. } => code,
            Error::NotFound(what) => match *what {
                "user" => "user_not_found",
                "room" => "room_not_found",
                "message" => "message_not_found",
                "notification" => "notification_not_found",
                "attachment" => "attachment_not_found",
                "contact" => "contact_not_found",
                "member" => "member_not_found",
                "session" => "session_not_found",
                "thumbnail" => "thumbnail_not_found",
                _ => "not_found",
            },
            Error::Conflict { code, .. } => code,
            Error::TooLarge { .. } => "too_large",
            Error::Internal(_) => "internal",
        }
    }

    /// The request field at fault, for input errors.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::InvalidCredentials | Error::InvalidToken(_) => ErrorKind::Unauthenticated,
            Error::Forbidden { .. } => ErrorKind::Forbidden,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn invalid(
        code: &'static str,
        field: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::Invalid {
            code,
            field,
            message: message.into(),
        }
    }

    pub(crate) fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Error {
        Error::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Error {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Internal(Box::new(e))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound(what) => Error::NotFound(what),
            StoreError::Conflict(what) => {
                Error::conflict("conflict", format!("{what} already exists"))
            }
            StoreError::Backend(e) => Error::Internal(e),
        }
    }
}

/// The result of a service call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
