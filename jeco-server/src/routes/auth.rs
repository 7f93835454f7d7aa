//! Registration, login, token refresh, logout and password reset. Each is rate-limited per
//! client address, and no answer of theirs may be cached: some carry tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use jeco_core::model::{Session, Tokens};
use jeco_proto::api::{
    ErrorBody, LoginRequest, PasswordResetConfirm, PasswordResetRequest, RefreshRequest,
    RegisterRequest,
};

use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
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

/// Creates an account, joins it to `general` and signs it in.
#[utoipa::path(post, path = "/v1/auth/register", operation_id = "register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered and signed in", body = Session),
        (status = 400, description = "invalid_username, invalid_email, weak_password", body = ErrorBody),
        (status = 409, description = "username_taken, email_taken", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub(crate) async fn register(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(req): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    limit(&state, ip).await?;
    let session = state
        .engine
        .accounts()
        .register(&req.username, &req.email, &req.password)
        .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// Signs in with a username or email and a password.
#[utoipa::path(post, path = "/v1/auth/login", operation_id = "login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<Session>> {
    limit(&state, ip).await?;
    Ok(Json(
        state
            .engine
            .accounts()
            .login(&req.login, &req.password)
            .await?,
    ))
}

/// Trades a refresh token for a new pair. Each refresh token works once; reusing one signs
/// out that login everywhere.
#[utoipa::path(post, path = "/v1/auth/refresh", operation_id = "refresh_tokens", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = Tokens),
        (status = 401, description = "invalid_token (expired, revoked, or already used: sign in again)", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<Json<Tokens>> {
    limit(&state, ip).await?;
    Ok(Json(
        state.engine.accounts().refresh(&req.refresh_token).await?,
    ))
}

/// Signs out the login the refresh token belongs to.
#[utoipa::path(post, path = "/v1/auth/logout", operation_id = "logout", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out")))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> ApiResult<StatusCode> {
    state.engine.accounts().logout(&req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
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
