//! The one place where errors become HTTP responses: the status of the error code's kind,
//! and an [`ErrorBody`] with the code. The cause of a 500 is logged, never sent.

use std::borrow::Cow;

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jeco_core::error::ErrorCode;
use jeco_proto::api::ErrorBody;

/// An error answered to an HTTP request: a refusal or failure of the engine, or of the HTTP
/// layer (a malformed body, a rate limit), with the same codes.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub jeco_core::Error);

impl ApiError {
    /// A refusal with `code`; the status is the code's.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError(jeco_core::Error::new(code, message))
    }

    /// The code the answer carries.
    pub fn code(&self) -> ErrorCode {
        self.0.code()
    }

    /// The status and the JSON body this error answers with.
    fn parts(&self) -> (StatusCode, ErrorBody) {
        let code = self.0.code();
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if code == ErrorCode::Internal {
            tracing::error!(error = ?self.0, "request failed");
        }
        let body = ErrorBody {
            code,
            message: self.0.to_string(),
            field: self.0.field().map(str::to_owned),
            retry_after_ms: self
                .0
                .retry_after()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)),
        };
        (status, body)
    }

    /// The JSON body this error answers with.
    pub fn body(&self) -> ErrorBody {
        self.parts().1
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        let retry_after = body.retry_after_ms;
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(ms) = retry_after {
            // Whole seconds, rounded up: a client that waits that long is in time.
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(ms.div_ceil(1000).max(1)),
            );
        }
        response
    }
}

/// The answer to a body over the size limit.
pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::TooLarge,
        "the request body is larger than allowed",
    )
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                too_large()
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                ErrorCode::InvalidContentType,
                "send the body as application/json",
            ),
            other => ApiError::new(ErrorCode::InvalidJson, other.body_text()),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::new(ErrorCode::InvalidBody, r.body_text())
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::new(ErrorCode::InvalidPath, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::new(ErrorCode::InvalidQuery, r.body_text())
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
