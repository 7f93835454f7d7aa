//! Bodies of the REST API under `/v1`. Every error response is an [`ErrorBody`].

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{AttachmentId, MessageId, NotificationId, RoomId, Seq, UserId};
use crate::model::{Role, RoomKind};

/// Whether a flag is off, to leave it out of a serialized body.
fn is_false(flag: &bool) -> bool {
    !flag
}

/// Every error response: a stable machine-readable code and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable code, such as `room_not_found` or `weak_password`.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `rate_limited`: milliseconds until the same request may succeed (also in the
    /// `Retry-After` header, in whole seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// `POST /v1/auth/register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// 3 to 32 letters, digits or underscores, not starting with an underscore; surrounding
    /// whitespace is dropped; stored lower-case.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, pattern = r"^\s*[A-Za-z0-9][A-Za-z0-9_]{2,31}\s*$")
    )]
    pub username: String,
    /// Where password-reset mail goes.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// 8 to 128 characters, not only digits, not a common password, not containing the
    /// username.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: String,
    /// Browsers: `true` puts the refresh token in the `jeco_refresh` cookie (`HttpOnly`,
    /// `SameSite=Strict`, `Path=/v1/auth`) instead of the body, whose `tokens` are then a
    /// `CookieTokens`. Absent or `false`: the refresh token is in the body.
    #[serde(default, skip_serializing_if = "is_false")]
    pub refresh_cookie: bool,
}

/// `POST /v1/auth/login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// Username or email.
    pub login: String,
    /// The password.
    pub password: String,
    /// Browsers: `true` puts the refresh token in the `jeco_refresh` cookie (`HttpOnly`,
    /// `SameSite=Strict`, `Path=/v1/auth`) instead of the body, whose `tokens` are then a
    /// `CookieTokens`. Absent or `false`: the refresh token is in the body.
    #[serde(default, skip_serializing_if = "is_false")]
    pub refresh_cookie: bool,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh. Absent: the `jeco_refresh` cookie
    /// is used instead, and the request must carry the `X-Jeco-Csrf: 1` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// `POST /v1/auth/password-reset`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetRequest {
    /// The account's email address.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
}

/// `POST /v1/auth/password-reset/confirm`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetConfirm {
    /// The token from the reset mail.
    pub token: String,
    /// The new password (the same rules as at registration).
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub new_password: String,
}

/// `POST /v1/me/password`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    /// The password in use now.
    pub current_password: String,
    /// The new one (the same rules as at registration).
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub new_password: String,
    /// Browsers: `true` puts the new refresh token in the `jeco_refresh` cookie instead of
    /// the body, which is then a `CookieTokens`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub refresh_cookie: bool,
}

/// `POST /v1/rooms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRoomRequest {
    /// 2 to 64 letters, digits, `-` or `_`, starting with a letter or digit; surrounding
    /// whitespace is dropped; stored lower-case; unique.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 2, pattern = r"^\s*[A-Za-z0-9][A-Za-z0-9_-]{1,63}\s*$")
    )]
    pub name: String,
    /// `public` or `private` (direct rooms are opened with `POST /v1/direct/{user_id}`).
    #[cfg_attr(feature = "openapi", schema(value_type = GroupKind))]
    pub kind: RoomKind,
    /// What the room is about.
    #[serde(default)]
    pub topic: String,
}

/// The kinds of room `POST /v1/rooms` creates: the [`RoomKind`]s other than `direct`.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Only describes `CreateRoomRequest::kind` for the OpenAPI document.
enum GroupKind {
    /// Anyone may find and join it.
    Public,
    /// Members join by invitation.
    Private,
}

/// `POST /v1/rooms/{room_id}/members`: add someone (admins and the owner).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteRequest {
    /// Who to add.
    pub user_id: UserId,
}

/// `PUT /v1/rooms/{room_id}/members/{user_id}/role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetRoleRequest {
    /// The new role; `owner` hands the room over.
    pub role: Role,
}

/// `POST /v1/rooms/{room_id}/messages`, and the `send` frame.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessage {
    /// The sender's own id for this send (1 to 64 of `A-Z a-z 0-9 - _ . :`); retrying with
    /// the same id returns the first message instead of posting a second one.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$"))]
    pub client_id: String,
    /// The text (may be empty when files are attached).
    #[serde(default)]
    pub body: String,
    /// The message this answers, in the same room.
    #[serde(default)]
    pub reply_to: Option<MessageId>,
    /// Files uploaded to this room by the sender.
    #[serde(default)]
    pub attachments: Vec<AttachmentId>,
}

/// `GET /v1/rooms/{room_id}/messages`: which page of history to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct HistoryQuery {
    /// Messages before this sequence, newest first.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>, minimum = 0))]
    pub before: Option<Seq>,
    /// Messages after this sequence, oldest first. Ignored when `before` is set.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>, minimum = 0))]
    pub after: Option<Seq>,
    /// Page size (at least 1); the default is 50, the most 100.
    #[serde(default, deserialize_with = "page_size")]
    #[cfg_attr(feature = "openapi", param(minimum = 1), schema(minimum = 1))]
    pub limit: Option<u32>,
}

/// `GET /v1/rooms/{room_id}/changes` and `GET /v1/feed`: where to continue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AfterQuery {
    /// The last sequence the caller has seen (0: from the start).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = i64, minimum = 0, required = false)
    )]
    pub after: Seq,
    /// Page size (at least 1); the default and most is 500.
    #[serde(default, deserialize_with = "page_size")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub limit: Option<u32>,
}

/// A slice of a room's change log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Changes {
    /// Changes in sequence order, each with its sequence, none skipped.
    pub events: Vec<Event>,
    /// The room's last sequence when the page was read.
    pub last_seq: Seq,
    /// Whether more changes follow the last one returned.
    pub has_more: bool,
}

/// A slice of the caller's feed (notifications and their own membership changes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feed {
    /// Entries in feed order, none skipped.
    pub events: Vec<Event>,
    /// The caller's latest feed sequence when the page was read.
    pub feed_seq: Seq,
    /// Whether more entries follow the last one returned.
    pub has_more: bool,
}

/// `PATCH /v1/messages/{message_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EditMessageRequest {
    /// The new text.
    pub body: String,
}

/// `POST /v1/messages/{message_id}/reactions`: add, remove or toggle one emoji.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactRequest {
    /// The emoji (1 to 32 bytes, no whitespace or control characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 32))]
    pub emoji: String,
    /// `true`: make it present; `false`: make it absent; both safe to retry. Absent: toggle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<bool>,
}

/// Whether a toggled reaction is now present.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactResponse {
    /// `true`: added; `false`: taken back.
    pub added: bool,
}

/// `POST /v1/messages/{message_id}/forward`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForwardRequest {
    /// The conversation to share it into (one the caller is in).
    pub room_id: RoomId,
    /// Idempotency key of the new message, as for a send.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$"))]
    pub client_id: String,
}

/// `PUT /v1/rooms/{room_id}/read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkReadRequest {
    /// Everything up to and including this sequence has been read.
    pub seq: Seq,
}

/// The caller's read watermark after marking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadMarker {
    /// The watermark (it never moves back).
    pub last_read_seq: Seq,
}

/// `POST /v1/rooms/{room_id}/typing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypingRequest {
    /// Typing now (lapses by itself), or stopped.
    pub active: bool,
}

/// Unread messages of one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnreadRoom {
    /// The conversation.
    pub room_id: RoomId,
    /// Messages from others after the caller's watermark.
    pub unread: i64,
    /// The caller's watermark.
    pub last_read_seq: Seq,
    /// The room's last sequence.
    pub last_seq: Seq,
}

/// `GET /v1/unread`: unread counts of every conversation the caller is in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnreadSummary {
    /// Conversations with their counts.
    pub rooms: Vec<UnreadRoom>,
    /// Unread notifications.
    pub notifications: i64,
}

/// `GET /v1/notifications`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct NotificationsQuery {
    /// Continue below this notification (the previous page's `next`).
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub before: Option<NotificationId>,
    /// Only unread ones.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(required = false))]
    pub unread_only: bool,
    /// Page size (at least 1); the default is 50, the most 100.
    #[serde(default, deserialize_with = "page_size")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub limit: Option<u32>,
}

/// A count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Count {
    /// How many.
    pub count: i64,
}

/// `GET /v1/users/search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SearchQuery {
    /// The start of a username, or a whole email address.
    pub q: String,
    /// At most this many results (at least 1; 20 at most).
    #[serde(default, deserialize_with = "page_size")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub limit: Option<u32>,
}

/// `GET /v1/users/presence`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct PresenceQuery {
    /// Comma-separated user ids (at most 1,000).
    pub ids: String,
}

/// `POST /v1/tickets`: a single-use ticket for opening a real-time connection
/// (`/v1/ws?ticket=` or `/v1/sse?ticket=`) without putting the access token in a URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    /// Pass as `?ticket=` once, within `expires_in_ms`.
    pub ticket: String,
    /// How long it stays valid.
    pub expires_in_ms: u64,
}

/// A page size from a query: a whole number of at least 1 (servers cap it at their maximum).
fn page_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(d)? {
        Some(0) => Err(serde::de::Error::custom("a page size is at least 1")),
        other => Ok(other),
    }
}
