//! Other users: search, presence, public profiles, the caller's contacts and blocks.

use axum::extract::State;
use axum::http::StatusCode;
use jeco_core::error::ErrorCode;
use jeco_core::ids::UserId;
use jeco_core::model::{Contact, PresenceInfo, Profile, UserRef};
use jeco_proto::api::{ErrorBody, PresenceQuery, SearchQuery};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, AuthUser, Json};
use crate::state::AppState;

/// Finds users by the start of their username, or by their exact email address. The caller
/// is never among the results.
#[utoipa::path(get, path = "/v1/users/search", operation_id = "search_users", tag = "users",
    params(SearchQuery),
    responses(
        (status = 200, description = "Matching users", body = Vec<UserRef>)),
    security(("bearer" = [])))]
pub(crate) async fn search(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<UserRef>>> {
    Ok(Json(
        state.engine.contacts().search(user, &q.q, q.limit).await?,
    ))
}

/// Whether each of the listed users is online, and when they were last seen. Users the caller
/// blocks show as offline and never seen.
#[utoipa::path(get, path = "/v1/users/presence", operation_id = "get_presence", tag = "users",
    params(PresenceQuery),
    responses(
        (status = 200, description = "The status of each user asked for", body = Vec<PresenceInfo>),
        (status = 400, description = "too_many_users", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn presence(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<PresenceQuery>,
) -> ApiResult<Json<Vec<PresenceInfo>>> {
    let ids = parse_ids(&q.ids)?;
    Ok(Json(
        state.engine.presence().status_seen_by(user, &ids).await?,
    ))
}

/// `1,2,3` as user ids; blanks around the commas and an empty list are allowed.
fn parse_ids(raw: &str) -> ApiResult<Vec<UserId>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    raw.split(',')
        .map(|part| match part.trim().parse::<i64>() {
            Ok(id) if id > 0 => Ok(UserId(id)),
            _ => Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("ids: `{}` is not a user id", part.trim()),
            )),
        })
        .collect()
}

/// Anyone's public profile.
#[utoipa::path(get, path = "/v1/users/{user_id}", operation_id = "get_profile", tag = "users",
    params(("user_id" = i64, Path, description = "The user")),
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 404, description = "user_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn profile(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(of): ApiPath<UserId>,
) -> ApiResult<Json<Profile>> {
    Ok(Json(state.engine.accounts().profile(user, of).await?))
}

/// The caller's contacts, by username.
#[utoipa::path(get, path = "/v1/contacts", operation_id = "list_contacts", tag = "contacts",
    responses(
        (status = 200, description = "The contacts", body = Vec<Contact>)),
    security(("bearer" = [])))]
pub(crate) async fn contacts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<Contact>>> {
    Ok(Json(state.engine.contacts().list(user).await?))
}

/// Adds a user to the caller's contacts; adding one twice changes nothing.
#[utoipa::path(put, path = "/v1/contacts/{user_id}", operation_id = "add_contact", tag = "contacts",
    params(("user_id" = i64, Path, description = "The user to add")),
    responses(
        (status = 204, description = "In the contacts"),
        (status = 400, description = "invalid_target (yourself)", body = ErrorBody),
        (status = 404, description = "user_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add_contact(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(contact): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    state.engine.contacts().add(user, contact).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a user from the caller's contacts.
#[utoipa::path(delete, path = "/v1/contacts/{user_id}", operation_id = "remove_contact", tag = "contacts",
    params(("user_id" = i64, Path, description = "The contact to remove")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "contact_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn remove_contact(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(contact): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    state.engine.contacts().remove(user, contact).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users the caller blocks.
#[utoipa::path(get, path = "/v1/blocks", operation_id = "list_blocks", tag = "contacts",
    responses(
        (status = 200, description = "Blocked users", body = Vec<UserRef>)),
    security(("bearer" = [])))]
pub(crate) async fn blocks(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<UserRef>>> {
    Ok(Json(state.engine.contacts().blocked(user).await?))
}

/// Blocks a user: no direct messages or invitations between the two while it lasts, and their
/// typing and presence no longer reach the caller (whose connections get a `block` event).
#[utoipa::path(put, path = "/v1/blocks/{user_id}", operation_id = "block_user", tag = "contacts",
    params(("user_id" = i64, Path, description = "The user to block")),
    responses(
        (status = 204, description = "Blocked"),
        (status = 400, description = "invalid_target (yourself)", body = ErrorBody),
        (status = 404, description = "user_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn block(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(other): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    state.engine.contacts().block(user, other).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts a block; lifting one that does not exist changes nothing.
#[utoipa::path(delete, path = "/v1/blocks/{user_id}", operation_id = "unblock_user", tag = "contacts",
    params(("user_id" = i64, Path, description = "The user to unblock")),
    responses(
        (status = 204, description = "Not blocked")),
    security(("bearer" = [])))]
pub(crate) async fn unblock(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(other): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    state.engine.contacts().unblock(user, other).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_ids() {
        let ids = parse_ids(" 1, 2 ,3").ok();
        assert_eq!(ids, Some(vec![UserId(1), UserId(2), UserId(3)]));
        assert_eq!(parse_ids("").ok(), Some(Vec::new()));
        for bad in ["1,,2", "a", "1;2", "-1", "0", "1,"] {
            assert!(parse_ids(bad).is_err(), "{bad}");
        }
    }
}
