//! The signed-in user's own account: reading it, editing the profile, changing the password.
//! (Uploading an avatar image is in `files.rs`, with the other uploads.)

use axum::extract::State;
use axum::http::HeaderMap;
use jeco_core::model::{Account, ProfileUpdate};
use jeco_proto::api::{ChangePasswordRequest, ErrorBody};

use crate::cookie::{self, TokensAnswer, WithCookie};
use crate::error::ApiResult;
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

/// The caller's own account, with its private fields.
#[utoipa::path(get, path = "/v1/me", operation_id = "get_me", tag = "me",
    responses(
        (status = 200, description = "The account", body = Account)),
    security(("bearer" = [])))]
pub(crate) async fn me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Account>> {
    Ok(Json(state.engine.accounts().me(user).await?))
}

/// Changes the display name, avatar or bio; absent fields stay as they are, `"avatar": null`
/// clears the avatar. The avatar must be an image the caller uploaded with
/// `POST /v1/me/avatar`.
#[utoipa::path(patch, path = "/v1/me", operation_id = "update_me", tag = "me",
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The updated account", body = Account),
        (status = 400, description = "too_long, invalid_characters, invalid_avatar", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn update_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(update): Json<ProfileUpdate>,
) -> ApiResult<Json<Account>> {
    Ok(Json(
        state.engine.accounts().update_profile(user, update).await?,
    ))
}

/// Changes the password after checking the current one. Every login is signed out (its
/// refresh tokens revoked, its real-time connections closed with `signed_out`); the
/// returned tokens keep this one signed in. A browser sends `"refresh_cookie": true` to get
/// the new refresh token in the `jeco_refresh` cookie instead of the body.
#[utoipa::path(post, path = "/v1/me/password", operation_id = "change_password", tag = "me",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password changed; new tokens for this login: `Tokens`, or with `refresh_cookie` `CookieTokens` and `Set-Cookie: jeco_refresh=...`", body = TokensAnswer),
        (status = 400, description = "weak_password", body = ErrorBody),
        (status = 401, description = "invalid_credentials (wrong current password)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    Json(req): Json<ChangePasswordRequest>,
) -> ApiResult<WithCookie<axum::Json<TokensAnswer>>> {
    let tokens = state
        .engine
        .accounts()
        .change_password(user, &req.current_password, &req.new_password)
        .await?;
    Ok(cookie::tokens_answer(
        &state,
        &headers,
        tokens,
        req.refresh_cookie,
    ))
}
