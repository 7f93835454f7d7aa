//! Request extractors that answer malformed input with an [`ApiError`] body instead of
//! axum's plain-text rejections, and the authenticated-user extractor.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use jeco_core::error::ErrorCode;
use jeco_core::ids::UserId;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON object body; malformed JSON, and JSON that is not an object, answers
/// `invalid_json`, a body not labelled `application/json` (or `+json`) `invalid_content_type`.
///
/// Every request body of the API is an object. serde would also read a struct from an array
/// of its fields in order (`[]` for a struct whose fields are all optional), which no client
/// means to send: it is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::new(
                ErrorCode::InvalidContentType,
                "send the body as application/json",
            ));
        }
        let bytes = bytes::Bytes::from_request(req, state).await?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "the body must be a JSON object",
            ));
        }
        let axum::Json(value) = axum::Json::from_bytes(&bytes)?;
        Ok(Json(value))
    }
}

/// Whether the body is labelled as JSON: `application/json` or `application/<x>+json`, with
/// any parameters.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(essence) = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
    else {
        return false;
    };
    let essence = essence.trim().to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// A raw body; one over the size limit answers `too_large` with an error body.
#[derive(Debug)]
pub struct ApiBytes(pub bytes::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        Ok(ApiBytes(bytes::Bytes::from_request(req, state).await?))
    }
}

/// Path parameters; a malformed one answers `invalid_path`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters; a malformed one answers `invalid_query`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The user named by a valid `Authorization: Bearer` access token.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub UserId);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthenticated,
                    "send an access token in the Authorization header",
                )
            })?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "use the Bearer authorization scheme",
            )
        })?;
        let user = state.engine.accounts().authenticate(token.trim())?;
        Ok(AuthUser(user))
    }
}

/// The client's address: the socket's peer, or the last `X-Forwarded-For` entry when the
/// server is configured to trust a proxy in front of it. The last entry is the one that
/// proxy added; entries before it came from the client and could be anything.
///
/// A router served without connect info (and not behind a trusted proxy) cannot tell
/// clients apart: the routes that limit per address then answer `internal` and log why,
/// rather than putting every client in one bucket.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.config.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(ClientIp(ip));
        }
        match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => Ok(ClientIp(peer.ip())),
            // Without the peer's address every client would share one rate-limit bucket, and
            // one client could lock everyone out of signing in: refuse, and say why.
            None => Err(ApiError(jeco_core::Error::internal(MissingConnectInfo))),
        }
    }
}

/// The router was served without the peers' addresses.
#[derive(Debug, thiserror::Error)]
#[error(
    "the client's address is unknown: serve the router with \
     `into_make_service_with_connect_info::<SocketAddr>()`, or set trust_forwarded_for behind \
     a proxy that sets X-Forwarded-For"
)]
struct MissingConnectInfo;
