//! The one place where errors become HTTP responses: a status from the error's kind, and an
//! [`ErrorBody`] with its stable code. The cause of a 500 is logged, never sent.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jeco_core::ErrorKind;
use jeco_proto::api::ErrorBody;

/// An error answered to an HTTP request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A service refused or failed.
    #[error(transparent)]
    Core(#[from] jeco_core::Error),
    /// The request itself was malformed (JSON, path or query).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// No or unusable credentials.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Too many requests; try again later.
    #[error("too many requests; slow down")]
    RateLimited,
    /// The body is larger than allowed.
    #[error("the request body is larger than allowed")]
    TooLarge,
    /// Any other refusal with its own status and code.
    #[error("{message}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// Stable code.
        code: &'static str,
        /// For people.
        message: &'static str,
    },
}

impl ApiError {
    fn parts(&self) -> (StatusCode, ErrorBody) {
        let body = |code: &str, message: String, field: Option<&str>| ErrorBody {
            code: code.to_owned(),
            message,
            field: field.map(str::to_owned),
        };
        match self {
            ApiError::Core(e) => {
                let status = match e.kind() {
                    ErrorKind::Invalid => StatusCode::BAD_REQUEST,
                    ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
                    ErrorKind::Forbidden => StatusCode::FORBIDDEN,
                    ErrorKind::NotFound => StatusCode::NOT_FOUND,
                    ErrorKind::Conflict => StatusCode::CONFLICT,
                    ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                if status == StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::error!(error = ?e, "request failed");
                }
                (status, body(e.code(), e.to_string(), e.field()))
            }
            ApiError::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, body(code, message.clone(), None))
            }
            ApiError::Unauthenticated(message) => (
                StatusCode::UNAUTHORIZED,
                body("unauthenticated", (*message).to_owned(), None),
            ),
            ApiError::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                body("rate_limited", self.to_string(), None),
            ),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                body("too_large", self.to_string(), None),
            ),
            ApiError::Status {
                status,
                code,
                message,
            } => (*status, body(code, (*message).to_owned(), None)),
        }
    }

    /// The JSON body this error answers with.
    pub fn body(&self) -> ErrorBody {
        self.parts().1
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::BadRequest {
                code: "invalid_content_type",
                message: "send the body as application/json".to_owned(),
            },
            other => ApiError::BadRequest {
                code: "invalid_json",
                message: other.body_text(),
            },
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest {
                code: "invalid_body",
                message: r.body_text(),
            }
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::BadRequest {
            code: "invalid_path",
            message: r.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::BadRequest {
            code: "invalid_query",
            message: r.body_text(),
        }
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
