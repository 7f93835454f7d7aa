//! Registration, login, token refresh, logout and password reset. Each is rate-limited per
//! client address, and no answer of theirs may be cached: some carry tokens. Browsers may
//! keep the refresh token in the `jeco_refresh` cookie instead (see `cookie.rs`).

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, StatusCode};
use jeco_core::error::ErrorCode;
use jeco_proto::api::{
    ErrorBody, LoginRequest, PasswordResetConfirm, PasswordResetRequest, RefreshRequest,
    RegisterRequest,
};

use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cookie::{self, RefreshCookie, SessionAnswer, TokensAnswer, WithCookie};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ClientIp, Json};
use crate::state::AppState;

/// The sign-in routes, every answer `Cache-Control: no-store`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .layer(SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            crate::no_store(),
        ))
}

async fn limit(state: &AppState, ip: ClientIp) -> ApiResult<()> {
    Ok(state.limits.auth.admit(&ip.0, "sign-in attempts").await?)
}

/// Creates an account, joins it to `general` and signs it in. With `"refresh_cookie": true`
/// the refresh token goes into the `jeco_refresh` cookie instead of the body.
#[utoipa::path(post, path = "/v1/auth/register", operation_id = "register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and signed in: a `Session`, or with `refresh_cookie` a `CookieSession` and `Set-Cookie: jeco_refresh=...`", body = SessionAnswer),
        (status = 400, description = "invalid_username, invalid_email, weak_password", body = ErrorBody),
        (status = 409, description = "username_taken, email_taken", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub(crate) async fn register(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Json(req): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, WithCookie<axum::Json<SessionAnswer>>)> {
    limit(&state, ip).await?;
    let session = state
        .engine
        .accounts()
        .register(&req.username, &req.email, &req.password)
        .await?;
    let answer = cookie::session_answer(&state, &headers, session, req.refresh_cookie);
    Ok((StatusCode::CREATED, answer))
}

/// Signs in with a username or email and a password. With `"refresh_cookie": true` the
/// refresh token goes into the `jeco_refresh` cookie instead of the body.
#[utoipa::path(post, path = "/v1/auth/login", operation_id = "login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: a `Session`, or with `refresh_cookie` a `CookieSession` and `Set-Cookie: jeco_refresh=...`", body = SessionAnswer),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> ApiResult<WithCookie<axum::Json<SessionAnswer>>> {
    limit(&state, ip).await?;
    let session = state
        .engine
        .accounts()
        .login(&req.login, &req.password)
        .await?;
    Ok(cookie::session_answer(
        &state,
        &headers,
        session,
        req.refresh_cookie,
    ))
}

/// Trades a refresh token for a new pair. Each refresh token works once; reusing one signs
/// out that login everywhere.
///
/// Without `refresh_token` in the body, the `jeco_refresh` cookie is used: the request must
/// carry `X-Jeco-Csrf: 1` (and an `Origin`, if any, of this server), the new refresh token
/// replaces the cookie and is left out of the body, and a refused cookie is cleared.
#[utoipa::path(post, path = "/v1/auth/refresh", operation_id = "refresh_tokens", tag = "auth",
    request_body = RefreshRequest,
    params(("X-Jeco-Csrf" = Option<String>, Header, description = "`1`; required when refreshing by cookie")),
    responses(
        (status = 200, description = "New tokens: `Tokens`, or by cookie `CookieTokens` and `Set-Cookie: jeco_refresh=...`", body = TokensAnswer),
        (status = 401, description = "invalid_token (expired, revoked, or already used: sign in again; by cookie, the cookie is cleared), unauthenticated (no refresh token in the body and no jeco_refresh cookie)", body = ErrorBody),
        (status = 403, description = "csrf_rejected (by cookie without X-Jeco-Csrf: 1, or from another origin)", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Json(req): Json<RefreshRequest>,
) -> Result<WithCookie<axum::Json<TokensAnswer>>, WithCookie<ApiError>> {
    if let Some(token) = req.refresh_token {
        limit(&state, ip).await?;
        let tokens = state
            .engine
            .accounts()
            .refresh(&token)
            .await
            .map_err(ApiError::from)?;
        return Ok(cookie::tokens_answer(&state, &headers, tokens, false));
    }
    cookie::check_csrf(&state, &headers)?;
    limit(&state, ip).await?;
    let token = cookie::read(&headers).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "send refresh_token in the body, or the jeco_refresh cookie",
        )
    })?;
    match state.engine.accounts().refresh(&token).await {
        Ok(tokens) => Ok(cookie::tokens_answer(&state, &headers, tokens, true)),
        Err(e) => Err(WithCookie(
            Some(RefreshCookie::for_request(&state, &headers).clear()),
            e.into(),
        )),
    }
}

/// Signs out the login the refresh token belongs to. Without `refresh_token` in the body,
/// the `jeco_refresh` cookie's login is signed out and the cookie cleared (also when its
/// token no longer worked); the request must then carry `X-Jeco-Csrf: 1`.
#[utoipa::path(post, path = "/v1/auth/logout", operation_id = "logout", tag = "auth",
    request_body = RefreshRequest,
    params(("X-Jeco-Csrf" = Option<String>, Header, description = "`1`; required when signing out by cookie")),
    responses(
        (status = 204, description = "Signed out; by cookie, `Set-Cookie` clears `jeco_refresh`"),
        (status = 403, description = "csrf_rejected (by cookie without X-Jeco-Csrf: 1, or from another origin)", body = ErrorBody)))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(req): Json<RefreshRequest>,
) -> Result<WithCookie<StatusCode>, WithCookie<ApiError>> {
    let accounts = state.engine.accounts();
    if let Some(token) = req.refresh_token {
        accounts.logout(&token).await.map_err(ApiError::from)?;
        return Ok(WithCookie(None, StatusCode::NO_CONTENT));
    }
    cookie::check_csrf(&state, &headers)?;
    let clear = RefreshCookie::for_request(&state, &headers).clear();
    if let Some(token) = cookie::read(&headers)
        && let Err(e) = accounts.logout(&token).await
    {
        return Err(WithCookie(Some(clear), e.into()));
    }
    Ok(WithCookie(Some(clear), StatusCode::NO_CONTENT))
}

/// Mails a reset link if an account has this email; the answer is the same either way.
#[utoipa::path(post, path = "/v1/auth/password-reset", operation_id = "request_password_reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a mail is on its way"),
        (status = 400, description = "invalid_email", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub(crate) async fn request_password_reset(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(req): Json<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    limit(&state, ip).await?;
    state
        .engine
        .accounts()
        .request_password_reset(&req.email)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with the token from the reset mail.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", operation_id = "confirm_password_reset", tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password changed; every login signed out"),
        (status = 400, description = "weak_password", body = ErrorBody),
        (status = 401, description = "invalid_token (the reset token is invalid, expired or already used)", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub(crate) async fn confirm_password_reset(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(req): Json<PasswordResetConfirm>,
) -> ApiResult<StatusCode> {
    limit(&state, ip).await?;
    state
        .engine
        .accounts()
        .confirm_password_reset(&req.token, &req.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
