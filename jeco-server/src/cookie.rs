//! The browsers' refresh-token cookie, `jeco_refresh`.
//!
//! A web client keeps its access token in memory only; its refresh token lives in an
//! `HttpOnly` cookie that script cannot read, scoped to the sign-in routes
//! (`Path=<base path>/v1/auth`) and never sent cross-site (`SameSite=Strict`). It asks for
//! the cookie with `"refresh_cookie": true` at login, registration or password change, then
//! refreshes and signs out with no token in the body. Other clients are unaffected: a token
//! in the body is answered in the body, as before.
//!
//! A request that the cookie authenticates (a refresh or logout without a token in the body)
//! must also pass [`check_csrf`]: SameSite already keeps other sites' pages from sending the
//! cookie, and the custom header, which no cross-origin page can add without a CORS
//! preflight that this server never grants, makes sure of it.

use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use jeco_core::error::ErrorCode;
use jeco_proto::model::{CookieSession, CookieTokens, Session, Tokens};
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// The cookie's name.
pub(crate) const NAME: &str = "jeco_refresh";

/// The header a request authenticated by the cookie must carry, with the value `1`.
pub(crate) const CSRF_HEADER: &str = "x-jeco-csrf";

/// How the cookie is written in the answer to one request.
pub(crate) struct RefreshCookie {
    /// `<base path>/v1/auth`: the cookie goes only to the sign-in routes.
    path: String,
    /// Whether the cookie travels over HTTPS only.
    secure: bool,
    /// The refresh token's lifetime in seconds.
    max_age: u64,
}

impl RefreshCookie {
    /// The cookie for an answer to a request with `headers`: `Secure` when the server is
    /// configured so, or when a trusted proxy says the request came over HTTPS.
    pub(crate) fn for_request(state: &AppState, headers: &HeaderMap) -> RefreshCookie {
        let forwarded_https = state.config.trust_forwarded_for
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        RefreshCookie {
            path: format!(
                "{}/v1/auth",
                state.config.base_path.as_deref().unwrap_or_default()
            ),
            secure: state.config.secure_cookies || forwarded_https,
            max_age: state.engine.limits().refresh_token_ttl.as_secs(),
        }
    }

    /// `Set-Cookie` holding `token`.
    pub(crate) fn set(&self, token: &str) -> HeaderValue {
        self.header(token, self.max_age)
    }

    /// `Set-Cookie` that removes the cookie.
    pub(crate) fn clear(&self) -> HeaderValue {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{NAME}={value}; HttpOnly; SameSite=Strict; Path={}; Max-Age={max_age}{secure}",
            self.path
        );
        // The token is URL-safe base64; only a base path with characters no URL path has
        // could make the header invalid.
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| {
            tracing::error!(path = %self.path, "the refresh cookie's path is not a valid header");
            HeaderValue::from_static("")
        })
    }
}

/// The refresh token in the request's `jeco_refresh` cookie, if any.
pub(crate) fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == NAME && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// Refuses a request authenticated by the cookie unless it carries `X-Jeco-Csrf: 1` and, when
/// it names an `Origin`, that origin is this server's (its host and port are the request's
/// `Host`, or the trusted proxy's `X-Forwarded-Host`).
pub(crate) fn check_csrf(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.get(CSRF_HEADER).map(HeaderValue::as_bytes) != Some(b"1") {
        return Err(ApiError::new(
            ErrorCode::CsrfRejected,
            "a refresh or logout by cookie must carry the header X-Jeco-Csrf: 1",
        ));
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let host = state
        .config
        .trust_forwarded_for
        .then(|| headers.get("x-forwarded-host"))
        .flatten()
        .or_else(|| headers.get(HOST))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim);
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, authority)| authority.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(ApiError::new(
            ErrorCode::CsrfRejected,
            "the request came from a page of another origin than this server",
        )),
    }
}

/// An answer, and the `Set-Cookie` that goes with it (if any).
pub(crate) struct WithCookie<T>(pub(crate) Option<HeaderValue>, pub(crate) T);

impl<T: IntoResponse> IntoResponse for WithCookie<T> {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        if let Some(cookie) = self.0 {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        response
    }
}

impl From<ApiError> for WithCookie<ApiError> {
    fn from(e: ApiError) -> WithCookie<ApiError> {
        WithCookie(None, e)
    }
}

/// A session answered to a sign-in: the refresh token in the body, or in the cookie.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum SessionAnswer {
    /// Without `refresh_cookie`: the whole session.
    Body(Session),
    /// With `"refresh_cookie": true`: the refresh token is in the `jeco_refresh` cookie.
    Cookie(CookieSession),
}

/// Tokens answered to a refresh or password change: the refresh token in the body, or in
/// the cookie.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum TokensAnswer {
    /// Refreshed with a token in the body (or changed without `refresh_cookie`).
    Body(Tokens),
    /// Refreshed by cookie (or changed with `"refresh_cookie": true`).
    Cookie(CookieTokens),
}

/// `session` as answered: its refresh token into the cookie when `in_cookie`.
pub(crate) fn session_answer(
    state: &AppState,
    headers: &HeaderMap,
    session: Session,
    in_cookie: bool,
) -> WithCookie<axum::Json<SessionAnswer>> {
    if !in_cookie {
        return WithCookie(None, axum::Json(SessionAnswer::Body(session)));
    }
    let cookie = RefreshCookie::for_request(state, headers).set(&session.tokens.refresh_token);
    let session = CookieSession {
        account: session.account,
        tokens: session.tokens.into(),
    };
    WithCookie(Some(cookie), axum::Json(SessionAnswer::Cookie(session)))
}

/// `tokens` as answered: the refresh token into the cookie when `in_cookie`.
pub(crate) fn tokens_answer(
    state: &AppState,
    headers: &HeaderMap,
    tokens: Tokens,
    in_cookie: bool,
) -> WithCookie<axum::Json<TokensAnswer>> {
    if !in_cookie {
        return WithCookie(None, axum::Json(TokensAnswer::Body(tokens)));
    }
    let cookie = RefreshCookie::for_request(state, headers).set(&tokens.refresh_token);
    WithCookie(
        Some(cookie),
        axum::Json(TokensAnswer::Cookie(tokens.into())),
    )
}
