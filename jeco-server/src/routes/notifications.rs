//! Unread counts, notifications and the caller's feed.

use axum::extract::State;
use axum::http::StatusCode;
use jeco_core::ids::NotificationId;
use jeco_core::model::NotificationPage;
use jeco_proto::api::{
    AfterQuery, Count, ErrorBody, Feed, NotificationsQuery, UnreadRoom, UnreadSummary,
};

use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery, AuthUser, Json};
use crate::state::AppState;

/// Unread message counts of every conversation the caller is in, and their unread
/// notifications.
#[utoipa::path(get, path = "/v1/unread", operation_id = "get_unread_counts", tag = "notifications",
    responses(
        (status = 200, description = "The unread counts", body = UnreadSummary)),
    security(("bearer" = [])))]
pub(crate) async fn unread(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<UnreadSummary>> {
    let rooms = state
        .engine
        .rooms()
        .list(user)
        .await?
        .into_iter()
        .filter(|summary| summary.role.is_some())
        .map(|summary| UnreadRoom {
            room_id: summary.room.id,
            unread: summary.unread,
            last_read_seq: summary.last_read_seq,
            last_seq: summary.room.last_seq,
        })
        .collect();
    let notifications = state.engine.notifications().unread_count(user).await?;
    Ok(Json(UnreadSummary {
        rooms,
        notifications,
    }))
}

/// The caller's notifications, newest first; `before` continues from a previous page's
/// `next`.
#[utoipa::path(get, path = "/v1/notifications", operation_id = "list_notifications", tag = "notifications",
    params(NotificationsQuery),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationPage)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<NotificationsQuery>,
) -> ApiResult<Json<NotificationPage>> {
    Ok(Json(
        state
            .engine
            .notifications()
            .list(user, q.before, q.unread_only, q.limit)
            .await?,
    ))
}

/// How many notifications the caller has not marked read.
#[utoipa::path(get, path = "/v1/notifications/unread-count", operation_id = "count_unread_notifications", tag = "notifications",
    responses(
        (status = 200, description = "Unread notifications", body = Count)),
    security(("bearer" = [])))]
pub(crate) async fn unread_count(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Count>> {
    let count = state.engine.notifications().unread_count(user).await?;
    Ok(Json(Count { count }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/v1/notifications/{notification_id}/read", operation_id = "mark_notification_read", tag = "notifications",
    params(("notification_id" = i64, Path, description = "The notification")),
    responses(
        (status = 204, description = "Read"),
        (status = 404, description = "notification_not_found (also for someone else's)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<NotificationId>,
) -> ApiResult<StatusCode> {
    state.engine.notifications().mark_read(user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks all of the caller's notifications read.
#[utoipa::path(post, path = "/v1/notifications/read-all", operation_id = "mark_all_notifications_read", tag = "notifications",
    responses(
        (status = 200, description = "How many were unread", body = Count)),
    security(("bearer" = [])))]
pub(crate) async fn mark_all_read(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Count>> {
    let count = state.engine.notifications().mark_all_read(user).await?;
    Ok(Json(Count { count }))
}

/// The caller's feed after sequence `after`, in order and without gaps: notifications and
/// their own membership changes.
#[utoipa::path(get, path = "/v1/feed", operation_id = "get_feed", tag = "notifications",
    params(AfterQuery),
    responses(
        (status = 200, description = "Feed entries", body = Feed)),
    security(("bearer" = [])))]
pub(crate) async fn feed(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<AfterQuery>,
) -> ApiResult<Json<Feed>> {
    Ok(Json(
        state
            .engine
            .notifications()
            .feed_after(user, q.after, q.limit)
            .await?,
    ))
}
