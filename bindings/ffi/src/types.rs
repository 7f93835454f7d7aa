//! The wire types of `jeco-proto` and `jeco-client`, exposed as they are: each declaration
//! here mirrors the real type field for field (UniFFI's remote types), so the bindings carry
//! the same data without a second definition to convert to. The compiler checks every
//! mirror against its original.

use jeco_client::{ConnectionState, PendingSend};
use jeco_proto::api::{
    Changes, Feed, HistoryQuery, NotificationsQuery, SendMessage, Ticket, UnreadRoom, UnreadSummary,
};
use jeco_proto::error::ErrorCode;
use jeco_proto::event::{Event, LeaveReason};
use jeco_proto::ids::{AttachmentId, MessageId, NotificationId, RoomId, Seq, Timestamp, UserId};
use jeco_proto::model::{
    Account, AttachmentMeta, Contact, Member, Message, MessagePage, NotificationKind,
    NotificationPage, PresenceInfo, Profile, Reaction, Role, Room, RoomKind, RoomSummary, Session,
    Tokens, UserRef,
};
use jeco_proto::ws::RoomPosition;

/// Named so that it does not clash with `Event.Notification` in Kotlin.
pub type NotificationItem = jeco_proto::model::Notification;

uniffi::custom_type!(UserId, i64, { remote, lower: |id| id.0, try_lift: |v| Ok(UserId(v)) });
uniffi::custom_type!(RoomId, i64, { remote, lower: |id| id.0, try_lift: |v| Ok(RoomId(v)) });
uniffi::custom_type!(MessageId, i64, { remote, lower: |id| id.0, try_lift: |v| Ok(MessageId(v)) });
uniffi::custom_type!(NotificationId, i64, {
    remote,
    lower: |id| id.0,
    try_lift: |v| Ok(NotificationId(v)),
});
uniffi::custom_type!(AttachmentId, i64, {
    remote,
    lower: |id| id.0,
    try_lift: |v| Ok(AttachmentId(v)),
});
uniffi::custom_type!(Seq, i64, {
    remote,
    lower: |seq| seq.0,
    try_lift: |v| match v {
        0.. => Ok(Seq(v)),
        _ => Err(uniffi::deps::anyhow::anyhow!("a sequence is never negative")),
    },
});
uniffi::custom_type!(Timestamp, i64, { remote, lower: |t| t.0, try_lift: |v| Ok(Timestamp(v)) });

/// Another user, as lists and messages show them.
#[uniffi::remote(Record)]
pub struct UserRef {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
}

/// A user's public profile.
#[uniffi::remote(Record)]
pub struct Profile {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub avatar: Option<AttachmentId>,
    pub bio: String,
    pub created_at: Timestamp,
}

/// The signed-in user's own account.
#[uniffi::remote(Record)]
pub struct Account {
    pub profile: Profile,
    pub email: String,
}

/// An access token and the refresh token that renews it; persist them with a `TokenStore`.
#[uniffi::remote(Record)]
pub struct Tokens {
    pub access_token: String,
    pub access_expires_at: Timestamp,
    pub refresh_token: String,
    pub refresh_expires_at: Timestamp,
}

/// What signing in returns.
#[uniffi::remote(Record)]
pub struct Session {
    pub account: Account,
    pub tokens: Tokens,
}

/// Who can find and join a room.
#[uniffi::remote(Enum)]
#[non_exhaustive]
pub enum RoomKind {
    Public,
    Private,
    Direct,
}

/// A member's rights in a room.
#[uniffi::remote(Enum)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

/// A room.
#[uniffi::remote(Record)]
pub struct Room {
    pub id: RoomId,
    pub kind: RoomKind,
    pub name: Option<String>,
    pub topic: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub last_seq: Seq,
    pub member_count: i64,
}

/// A room in the room list, with the caller's place in it.
#[uniffi::remote(Record)]
pub struct RoomSummary {
    pub room: Room,
    pub role: Option<Role>,
    pub last_read_seq: Seq,
    pub unread: i64,
    pub peer: Option<UserRef>,
}

/// A member of a room.
#[uniffi::remote(Record)]
pub struct Member {
    pub user: UserRef,
    pub role: Role,
    pub joined_at: Timestamp,
    pub last_read_seq: Seq,
}

/// An uploaded file.
#[uniffi::remote(Record)]
pub struct AttachmentMeta {
    pub id: AttachmentId,
    pub room_id: Option<RoomId>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// One emoji on a message and who put it there.
#[uniffi::remote(Record)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<UserId>,
}

/// A stored message.
#[uniffi::remote(Record)]
pub struct Message {
    pub id: MessageId,
    pub room_id: RoomId,
    pub seq: Seq,
    pub sender: UserRef,
    pub client_id: String,
    pub body: String,
    pub reply_to: Option<MessageId>,
    pub forwarded_from: Option<MessageId>,
    pub attachments: Vec<AttachmentMeta>,
    pub mentions: Vec<UserId>,
    pub reactions: Vec<Reaction>,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
}

/// Why a notification was raised.
#[uniffi::remote(Enum)]
#[non_exhaustive]
pub enum NotificationKind {
    DirectMessage,
    Mention,
    Reply,
    Reaction,
    Invite,
}

/// A notification of the caller's feed.
#[uniffi::remote(Record)]
pub struct NotificationItem {
    pub id: NotificationId,
    pub feed_seq: Seq,
    pub kind: NotificationKind,
    pub room_id: RoomId,
    pub message_id: Option<MessageId>,
    pub actor: UserRef,
    pub detail: Option<String>,
    pub created_at: Timestamp,
    pub read: bool,
}

/// A contact of the caller.
#[uniffi::remote(Record)]
pub struct Contact {
    pub user: UserRef,
    pub added_at: Option<Timestamp>,
}

/// Whether a user is online.
#[uniffi::remote(Record)]
pub struct PresenceInfo {
    pub user_id: UserId,
    pub online: bool,
    pub last_seen: Option<Timestamp>,
}

/// A page of a room's history.
#[uniffi::remote(Record)]
pub struct MessagePage {
    pub items: Vec<Message>,
    pub next: Option<Seq>,
}

/// A page of notifications.
#[uniffi::remote(Record)]
pub struct NotificationPage {
    pub items: Vec<NotificationItem>,
    pub next: Option<NotificationId>,
}

/// A message to send, over REST or through a connection's outbox.
#[uniffi::remote(Record)]
pub struct SendMessage {
    pub client_id: String,
    pub body: String,
    pub reply_to: Option<MessageId>,
    pub attachments: Vec<AttachmentId>,
}

/// Which page of a room's history to read.
#[uniffi::remote(Record)]
pub struct HistoryQuery {
    pub before: Option<Seq>,
    pub after: Option<Seq>,
    pub limit: Option<u32>,
}

/// Which page of notifications to read.
#[uniffi::remote(Record)]
pub struct NotificationsQuery {
    pub before: Option<NotificationId>,
    pub unread_only: bool,
    pub limit: Option<u32>,
}

/// A slice of a room's change log.
#[uniffi::remote(Record)]
pub struct Changes {
    pub events: Vec<Event>,
    pub last_seq: Seq,
    pub has_more: bool,
}

/// A slice of the caller's feed.
#[uniffi::remote(Record)]
pub struct Feed {
    pub events: Vec<Event>,
    pub feed_seq: Seq,
    pub has_more: bool,
}

/// Unread messages of one conversation.
#[uniffi::remote(Record)]
pub struct UnreadRoom {
    pub room_id: RoomId,
    pub unread: i64,
    pub last_read_seq: Seq,
    pub last_seq: Seq,
}

/// Unread counts of every conversation.
#[uniffi::remote(Record)]
pub struct UnreadSummary {
    pub rooms: Vec<UnreadRoom>,
    pub notifications: i64,
}

/// A single-use ticket for a real-time connection.
#[uniffi::remote(Record)]
pub struct Ticket {
    pub ticket: String,
    pub expires_in_ms: u64,
}

/// How far a room has been seen; persist a connection's positions to resume after a restart.
#[uniffi::remote(Record)]
pub struct RoomPosition {
    pub room_id: RoomId,
    pub seq: Seq,
}

/// A message queued on a connection and not yet acknowledged.
#[uniffi::remote(Record)]
pub struct PendingSend {
    pub room_id: RoomId,
    pub message: SendMessage,
}

/// Why a member left a room.
#[uniffi::remote(Enum)]
pub enum LeaveReason {
    Left,
    Kicked,
}

/// An event from the server: sequenced room and feed events, and live-only ones.
#[uniffi::remote(Enum)]
#[non_exhaustive]
pub enum Event {
    MessageCreated {
        room_id: RoomId,
        seq: Seq,
        message: Message,
    },
    MessageEdited {
        room_id: RoomId,
        seq: Seq,
        message: Message,
    },
    MessageDeleted {
        room_id: RoomId,
        seq: Seq,
        message_id: MessageId,
        by: UserId,
    },
    ReactionAdded {
        room_id: RoomId,
        seq: Seq,
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
    },
    ReactionRemoved {
        room_id: RoomId,
        seq: Seq,
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
    },
    MemberJoined {
        room_id: RoomId,
        seq: Seq,
        user: UserRef,
        role: Role,
        by: Option<UserId>,
    },
    MemberLeft {
        room_id: RoomId,
        seq: Seq,
        user_id: UserId,
        reason: LeaveReason,
        by: Option<UserId>,
    },
    MemberRole {
        room_id: RoomId,
        seq: Seq,
        user_id: UserId,
        role: Role,
    },
    Read {
        room_id: RoomId,
        user_id: UserId,
        seq: Seq,
    },
    Typing {
        room_id: RoomId,
        user_id: UserId,
        active: bool,
        expires_in_ms: u64,
    },
    Presence {
        user_id: UserId,
        online: bool,
        last_seen: Option<Timestamp>,
    },
    Notification {
        notification: NotificationItem,
    },
    Membership {
        feed_seq: Seq,
        room_id: RoomId,
        room_seq: Seq,
        joined: bool,
    },
    Block {
        user_id: UserId,
        blocked: bool,
    },
    NotificationsRead {
        ids: Vec<NotificationId>,
        all: bool,
        unread: i64,
    },
    RoomActivity {
        room_id: RoomId,
        last_seq: Seq,
    },
    SignedOut {
        reason: String,
    },
    Unknown,
}

/// Where a connection stands; a listener learns it first, then every change.
#[uniffi::remote(Enum)]
#[non_exhaustive]
pub enum ConnectionState {
    Connecting,
    Connected { user_id: UserId, resumed: bool },
    Reconnecting { reason: String },
    Stopped { reason: String },
}

/// The server's stable error codes (docs/PROTOCOL.md §10.2); `Unknown` for a code this
/// version does not know.
#[uniffi::remote(Enum)]
#[non_exhaustive]
pub enum ErrorCode {
    InvalidJson,
    InvalidContentType,
    InvalidBody,
    InvalidPath,
    InvalidQuery,
    InvalidMultipart,
    NotAWebsocket,
    InvalidFrame,
    ProtocolError,
    AlreadyAuthenticated,
    InvalidUsername,
    InvalidEmail,
    WeakPassword,
    InvalidRoomName,
    InvalidKind,
    TooLong,
    InvalidCharacters,
    InvalidClientId,
    EmptyMessage,
    InvalidReplyTo,
    InvalidAttachment,
    MessageDeleted,
    InvalidEmoji,
    TooManyReactions,
    InvalidSeq,
    TooFarBehind,
    InvalidTarget,
    TooManyUsers,
    EmptyFile,
    AvatarMustBeImage,
    InvalidAvatar,
    TooLarge,
    FrameTooLarge,
    Unauthenticated,
    InvalidCredentials,
    InvalidToken,
    TokenExpired,
    InvalidTicket,
    AuthRequired,
    AuthTimeout,
    SignedOut,
    NotAMember,
    NotAuthor,
    NotAllowed,
    Blocked,
    CsrfRejected,
    UserNotFound,
    RoomNotFound,
    MessageNotFound,
    NotificationNotFound,
    AttachmentNotFound,
    ContactNotFound,
    MemberNotFound,
    SessionNotFound,
    ThumbnailNotFound,
    UnknownRoute,
    MethodNotAllowed,
    UsernameTaken,
    EmailTaken,
    RoomNameTaken,
    RateLimited,
    TooManyConnections,
    Unavailable,
    StoreUnavailable,
    NotSubscribed,
    SlowConsumer,
    ShuttingDown,
    HeartbeatTimeout,
    UploadTimeout,
    Internal,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A code added to `jeco-proto` and not mirrored above would panic when lowered.
    #[test]
    fn every_error_code_crosses_the_ffi() {
        for &code in ErrorCode::ALL.iter().chain([&ErrorCode::Unknown]) {
            let lowered = <ErrorCode as uniffi::Lower<crate::UniFfiTag>>::lower(code);
            let back = <ErrorCode as uniffi::Lift<crate::UniFfiTag>>::try_lift(lowered);
            assert_eq!(back.ok(), Some(code));
        }
    }
}
