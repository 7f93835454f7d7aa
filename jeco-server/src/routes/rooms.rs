//! Rooms: the room list, creating, joining and leaving, members and roles, direct rooms,
//! read markers and typing.

use axum::extract::State;
use axum::http::StatusCode;
use jeco_core::ids::{RoomId, UserId};
use jeco_core::model::{Member, Room, RoomSummary};
use jeco_proto::api::{
    CreateRoomRequest, ErrorBody, InviteRequest, MarkReadRequest, ReadMarker, SetRoleRequest,
    TypingRequest,
};

use crate::error::ApiResult;
use crate::extract::{ApiPath, AuthUser, Json};
use crate::state::AppState;

/// Every public room and every room the caller is in, with the caller's role (none for
/// public rooms they have not joined), read watermark and unread count.
#[utoipa::path(get, path = "/v1/rooms", operation_id = "list_rooms", tag = "rooms",
    responses(
        (status = 200, description = "The caller's room list", body = Vec<RoomSummary>)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<RoomSummary>>> {
    Ok(Json(state.engine.rooms().list(user).await?))
}

/// Creates a public or private group room owned by the caller.
#[utoipa::path(post, path = "/v1/rooms", operation_id = "create_room", tag = "rooms",
    request_body = CreateRoomRequest,
    responses(
        (status = 201, description = "Created; the caller is its owner", body = Room),
        (status = 400, description = "invalid_room_name, invalid_kind, too_long, invalid_characters", body = ErrorBody),
        (status = 409, description = "room_name_taken", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(req): Json<CreateRoomRequest>,
) -> ApiResult<(StatusCode, Json<Room>)> {
    let room = state
        .engine
        .rooms()
        .create(user, &req.name, req.kind, &req.topic)
        .await?;
    Ok((StatusCode::CREATED, Json(room)))
}

/// One room, if the caller may see it (public, or one they are in).
#[utoipa::path(get, path = "/v1/rooms/{room_id}", operation_id = "get_room", tag = "rooms",
    params(("room_id" = i64, Path, description = "The room")),
    responses(
        (status = 200, description = "The room", body = Room),
        (status = 404, description = "room_not_found (also for private rooms the caller is not in)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
) -> ApiResult<Json<Room>> {
    Ok(Json(state.engine.rooms().get(user, room).await?))
}

/// Joins a public room; joining a room one is already in changes nothing.
#[utoipa::path(post, path = "/v1/rooms/{room_id}/join", operation_id = "join_room", tag = "rooms",
    params(("room_id" = i64, Path, description = "The room")),
    responses(
        (status = 200, description = "Joined; the room as it is now", body = Room),
        (status = 404, description = "room_not_found (also for private and direct rooms the caller is not in)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn join(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
) -> ApiResult<Json<Room>> {
    Ok(Json(state.engine.rooms().join(user, room).await?))
}

/// Leaves a group room. An owner who leaves hands the room to the longest-standing admin,
/// or else the longest-standing member.
#[utoipa::path(post, path = "/v1/rooms/{room_id}/leave", operation_id = "leave_room", tag = "rooms",
    params(("room_id" = i64, Path, description = "The room")),
    responses(
        (status = 204, description = "Left"),
        (status = 403, description = "not_a_member, not_allowed (direct rooms cannot be left)", body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn leave(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
) -> ApiResult<StatusCode> {
    state.engine.rooms().leave(user, room).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The members of a room the caller may see, owner first.
#[utoipa::path(get, path = "/v1/rooms/{room_id}/members", operation_id = "list_members", tag = "rooms",
    params(("room_id" = i64, Path, description = "The room")),
    responses(
        (status = 200, description = "The members", body = Vec<Member>),
        (status = 404, description = "room_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn members(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(state.engine.rooms().members(user, room).await?))
}

/// Adds someone to a group room (admins and the owner). They get an invite notification;
/// adding a member changes nothing.
#[utoipa::path(post, path = "/v1/rooms/{room_id}/members", operation_id = "add_member", tag = "rooms",
    params(("room_id" = i64, Path, description = "The room")),
    request_body = InviteRequest,
    responses(
        (status = 204, description = "A member"),
        (status = 403, description = "not_a_member, not_allowed (rank, or a direct room), blocked", body = ErrorBody),
        (status = 404, description = "room_not_found, user_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn invite(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
    Json(req): Json<InviteRequest>,
) -> ApiResult<StatusCode> {
    state.engine.rooms().invite(user, room, req.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member from a group room. The caller must be an admin or the owner and outrank
/// them.
#[utoipa::path(delete, path = "/v1/rooms/{room_id}/members/{user_id}", operation_id = "remove_member", tag = "rooms",
    params(
        ("room_id" = i64, Path, description = "The room"),
        ("user_id" = i64, Path, description = "The member to remove")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "invalid_target (use leave for yourself)", body = ErrorBody),
        (status = 403, description = "not_a_member, not_allowed", body = ErrorBody),
        (status = 404, description = "room_not_found, member_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn kick(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((room, target)): ApiPath<(RoomId, UserId)>,
) -> ApiResult<StatusCode> {
    state.engine.rooms().kick(user, room, target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a member's role (the owner only). Making someone owner hands the room over and
/// makes the caller an admin.
#[utoipa::path(put, path = "/v1/rooms/{room_id}/members/{user_id}/role", operation_id = "set_member_role", tag = "rooms",
    params(
        ("room_id" = i64, Path, description = "The room"),
        ("user_id" = i64, Path, description = "The member")),
    request_body = SetRoleRequest,
    responses(
        (status = 204, description = "The member has the role"),
        (status = 400, description = "invalid_target (yourself)", body = ErrorBody),
        (status = 403, description = "not_a_member, not_allowed", body = ErrorBody),
        (status = 404, description = "room_not_found, member_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn set_role(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath((room, target)): ApiPath<(RoomId, UserId)>,
    Json(req): Json<SetRoleRequest>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .rooms()
        .set_role(user, room, target, req.role)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The direct room between the caller and another user, created on first use; both get the
/// same room.
#[utoipa::path(post, path = "/v1/direct/{user_id}", operation_id = "open_direct_room", tag = "rooms",
    params(("user_id" = i64, Path, description = "The other person")),
    responses(
        (status = 200, description = "The direct room", body = Room),
        (status = 400, description = "invalid_target (yourself)", body = ErrorBody),
        (status = 403, description = "blocked", body = ErrorBody),
        (status = 404, description = "user_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn open_direct(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(peer): ApiPath<UserId>,
) -> ApiResult<Json<Room>> {
    Ok(Json(state.engine.rooms().open_direct(user, peer).await?))
}

/// Marks everything up to `seq` as read. The watermark only moves forward and never past the
/// room's last change; the caller's notifications that point into the room up to it are marked
/// read too. In a public room the caller has not joined, this records how far they have looked
/// at it (the room list's new activity is measured from there).
#[utoipa::path(put, path = "/v1/rooms/{room_id}/read", operation_id = "mark_room_read", tag = "rooms",
    params(("room_id" = i64, Path, description = "The room")),
    request_body = MarkReadRequest,
    responses(
        (status = 200, description = "The caller's watermark now", body = ReadMarker),
        (status = 404, description = "room_not_found", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
    Json(req): Json<MarkReadRequest>,
) -> ApiResult<Json<ReadMarker>> {
    state.limits.change.admit(&user, "changes").await?;
    let last_read_seq = state.engine.rooms().mark_read(user, room, req.seq).await?;
    Ok(Json(ReadMarker { last_read_seq }))
}

/// The caller is typing (`active`, lapses by itself unless renewed) or stopped.
#[utoipa::path(post, path = "/v1/rooms/{room_id}/typing", operation_id = "set_typing", tag = "rooms",
    params(("room_id" = i64, Path, description = "The room")),
    request_body = TypingRequest,
    responses(
        (status = 204, description = "Announced"),
        (status = 403, description = "not_a_member", body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn typing(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
    Json(req): Json<TypingRequest>,
) -> ApiResult<StatusCode> {
    state.limits.typing.admit(&user, "typing updates").await?;
    state
        .engine
        .presence()
        .typing(user, room, req.active)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
