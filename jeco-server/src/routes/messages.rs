//! Messages: history, sending, the change log, editing, deleting, reactions, forwarding
//! and read receipts.

use axum::extract::State;
use axum::http::StatusCode;
use jeco_core::ids::{MessageId, RoomId, UserId};
use jeco_core::model::{Message, MessagePage, UserRef};
use jeco_proto::api::{
    AfterQuery, Changes, EditMessageRequest, ErrorBody, ForwardRequest, HistoryQuery, ReactRequest,
    ReactResponse, SendMessage,
};
use tokio::time::Instant;

use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery, AuthUser, Json};
use crate::state::AppState;

/// A page of a room's messages. Without a cursor: the newest, newest first. With `before`:
/// older ones, newest first. With `after`: newer ones, oldest first. `next` continues in the
/// same direction.
#[utoipa::path(get, path = "/v1/rooms/{room_id}/messages", operation_id = "list_messages", tag = "messages",
    params(("room_id" = i64, Path, description = "The room"), HistoryQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 403, description = "not_a_member", body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<MessagePage>> {
    Ok(Json(state.engine.messages().history(user, room, q).await?))
}

/// Posts a message. It is committed before the answer and before anyone receives it;
/// sending the same `client_id` to the same room again returns the first message. Sends are
/// rate-limited per user, together with real-time sends.
#[utoipa::path(post, path = "/v1/rooms/{room_id}/messages", operation_id = "send_message", tag = "messages",
    params(("room_id" = i64, Path, description = "The room")),
    request_body = SendMessage,
    responses(
        (status = 201, description = "Posted (or the earlier message with this client_id)", body = Message),
        (status = 400, description = "invalid_client_id, empty_message, too_long, invalid_characters, invalid_reply_to, invalid_attachment", body = ErrorBody),
        (status = 403, description = "not_a_member, blocked", body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn send(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
    Json(msg): Json<SendMessage>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    post_limited(&state, user, state.engine.messages().send(user, room, msg)).await
}

/// A new message from `user`, a send or a forward: refused beyond the user's send rate,
/// counted in the metrics, 201 with the message.
async fn post_limited(
    state: &AppState,
    user: UserId,
    post: impl Future<Output = jeco_core::Result<Message>>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    state.limits.send.admit(&user, "messages").await?;
    let started = Instant::now();
    let posted = post.await;
    state.metrics.sent(posted.is_ok(), started.elapsed());
    Ok((StatusCode::CREATED, Json(posted?)))
}

/// The room's changes after sequence `after`, in order and without gaps: what a client that
/// last saw `after` has missed.
#[utoipa::path(get, path = "/v1/rooms/{room_id}/changes", operation_id = "list_room_changes", tag = "messages",
    params(("room_id" = i64, Path, description = "The room"), AfterQuery),
    responses(
        (status = 200, description = "The changes", body = Changes),
        (status = 403, description = "not_a_member", body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn changes(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(room): ApiPath<RoomId>,
    ApiQuery(q): ApiQuery<AfterQuery>,
) -> ApiResult<Json<Changes>> {
    Ok(Json(
        state
            .engine
            .messages()
            .changes_after(user, room, q.after, q.limit)
            .await?,
    ))
}

/// One message, if the caller is a member of its room.
#[utoipa::path(get, path = "/v1/messages/{message_id}", operation_id = "get_message", tag = "messages",
    params(("message_id" = i64, Path, description = "The message")),
    responses(
        (status = 200, description = "The message", body = Message),
        (status = 404, description = "message_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(message): ApiPath<MessageId>,
) -> ApiResult<Json<Message>> {
    Ok(Json(state.engine.messages().get(user, message).await?))
}

/// Replaces the text of one of the caller's messages.
#[utoipa::path(patch, path = "/v1/messages/{message_id}", operation_id = "edit_message", tag = "messages",
    params(("message_id" = i64, Path, description = "The message")),
    request_body = EditMessageRequest,
    responses(
        (status = 200, description = "The edited message", body = Message),
        (status = 400, description = "message_deleted, empty_message, too_long, invalid_characters", body = ErrorBody),
        (status = 403, description = "not_author", body = ErrorBody),
        (status = 404, description = "message_not_found", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn edit(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(message): ApiPath<MessageId>,
    Json(req): Json<EditMessageRequest>,
) -> ApiResult<Json<Message>> {
    state.limits.change.admit(&user, "changes").await?;
    Ok(Json(
        state
            .engine
            .messages()
            .edit(user, message, &req.body)
            .await?,
    ))
}

/// Deletes a message, leaving a tombstone in its place (the author or a room admin).
/// Deleting a deleted message changes nothing.
#[utoipa::path(delete, path = "/v1/messages/{message_id}", operation_id = "delete_message", tag = "messages",
    params(("message_id" = i64, Path, description = "The message")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "not_allowed", body = ErrorBody),
        (status = 404, description = "message_not_found", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(message): ApiPath<MessageId>,
) -> ApiResult<StatusCode> {
    state.limits.change.admit(&user, "changes").await?;
    state.engine.messages().delete(user, message).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds or removes one emoji on a message (`add`: true or false, safe to retry), or toggles
/// it when `add` is absent.
#[utoipa::path(post, path = "/v1/messages/{message_id}/reactions", operation_id = "react_to_message", tag = "messages",
    params(("message_id" = i64, Path, description = "The message")),
    request_body = ReactRequest,
    responses(
        (status = 200, description = "Whether the reaction is now present", body = ReactResponse),
        (status = 400, description = "invalid_emoji, message_deleted, too_many_reactions", body = ErrorBody),
        (status = 404, description = "message_not_found", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn react(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(message): ApiPath<MessageId>,
    Json(req): Json<ReactRequest>,
) -> ApiResult<Json<ReactResponse>> {
    state.limits.change.admit(&user, "changes").await?;
    let messages = state.engine.messages();
    let added = match req.add {
        Some(present) => {
            messages
                .set_reaction(user, message, &req.emoji, present)
                .await?
        }
        None => messages.react(user, message, &req.emoji).await?,
    };
    Ok(Json(ReactResponse { added }))
}

/// Shares a message into another conversation the caller is in, as a new message of theirs
/// that points at the original; its files are shared along with it. Forwards count against
/// the same per-user rate as sends.
#[utoipa::path(post, path = "/v1/messages/{message_id}/forward", operation_id = "forward_message", tag = "messages",
    params(("message_id" = i64, Path, description = "The message to forward")),
    request_body = ForwardRequest,
    responses(
        (status = 201, description = "The new message (or the earlier one with this client_id)", body = Message),
        (status = 400, description = "invalid_client_id", body = ErrorBody),
        (status = 403, description = "not_a_member, blocked", body = ErrorBody),
        (status = 404, description = "message_not_found, room_not_found", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn forward(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(message): ApiPath<MessageId>,
    Json(req): Json<ForwardRequest>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let messages = state.engine.messages();
    let forward = messages.forward(user, message, req.room_id, req.client_id);
    post_limited(&state, user, forward).await
}

/// Who, apart from the author, has read a message.
#[utoipa::path(get, path = "/v1/messages/{message_id}/read-by", operation_id = "list_message_readers", tag = "messages",
    params(("message_id" = i64, Path, description = "The message")),
    responses(
        (status = 200, description = "The members who have read it", body = Vec<UserRef>),
        (status = 404, description = "message_not_found", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn read_by(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(message): ApiPath<MessageId>,
) -> ApiResult<Json<Vec<UserRef>>> {
    Ok(Json(state.engine.rooms().read_by(user, message).await?))
}
