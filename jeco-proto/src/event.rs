//! The real-time events: what the engine emits and what clients receive, as JSON objects
//! with a `type` field.
//!
//! Room events carry the room sequence they were assigned, so a receiver can tell when it
//! missed one and fill the gap by asking for the room's changes after the last sequence it
//! saw.

use serde::{Deserialize, Serialize};

use crate::ids::{MessageId, NotificationId, RoomId, Seq, Timestamp, UserId};
use crate::model::{Message, Notification, Role, UserRef};

/// Why a member left a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// They left.
    Left,
    /// An admin removed them.
    Kicked,
}

/// Something that happened, as subscribers receive it. The JSON form has a `type` field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum Event {
    /// A message was posted. Sequenced.
    #[serde(rename = "message.created")]
    MessageCreated {
        /// Where.
        room_id: RoomId,
        /// The room sequence of this change.
        seq: Seq,
        /// The message.
        message: Message,
    },
    /// A message's text changed. Sequenced.
    #[serde(rename = "message.edited")]
    MessageEdited {
        /// Where.
        room_id: RoomId,
        /// The room sequence of this change.
        seq: Seq,
        /// The message as it is now.
        message: Message,
    },
    /// A message was deleted; it stays in history as a tombstone. Sequenced.
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        /// Where.
        room_id: RoomId,
        /// The room sequence of this change.
        seq: Seq,
        /// Which message.
        message_id: MessageId,
        /// Who deleted it (the author or an admin).
        by: UserId,
    },
    /// Someone reacted. Sequenced.
    #[serde(rename = "reaction.added")]
    ReactionAdded {
        /// Where.
        room_id: RoomId,
        /// The room sequence of this change.
        seq: Seq,
        /// To which message.
        message_id: MessageId,
        /// Who.
        user_id: UserId,
        /// With what.
        emoji: String,
    },
    /// Someone took a reaction back. Sequenced.
    #[serde(rename = "reaction.removed")]
    ReactionRemoved {
        /// Where.
        room_id: RoomId,
        /// The room sequence of this change.
        seq: Seq,
        /// From which message.
        message_id: MessageId,
        /// Who.
        user_id: UserId,
        /// Which emoji.
        emoji: String,
    },
    /// Someone joined or was added. Sequenced.
    #[serde(rename = "member.joined")]
    MemberJoined {
        /// Where.
        room_id: RoomId,
        /// The room sequence of this change.
        seq: Seq,
        /// Who.
        user: UserRef,
        /// Their role.
        role: Role,
        /// Who added them, when it was not themselves.
        by: Option<UserId>,
    },
    /// Someone left or was removed. Sequenced.
    #[serde(rename = "member.left")]
    MemberLeft {
        /// Where.
        room_id: RoomId,
        /// The room sequence of this change.
        seq: Seq,
        /// Who.
        user_id: UserId,
        /// Left or kicked.
        reason: LeaveReason,
        /// Who removed them, when kicked.
        by: Option<UserId>,
    },
    /// A member's role changed (promotion, demotion, ownership passed on). Sequenced.
    #[serde(rename = "member.role")]
    MemberRole {
        /// Where.
        room_id: RoomId,
        /// The room sequence of this change.
        seq: Seq,
        /// Whose role.
        user_id: UserId,
        /// The new role.
        role: Role,
    },
    /// A member's read watermark moved forward. Not sequenced: the current watermarks are
    /// always available from the room's member list.
    #[serde(rename = "read")]
    Read {
        /// Where.
        room_id: RoomId,
        /// Who.
        user_id: UserId,
        /// They have read everything up to and including this sequence.
        seq: Seq,
    },
    /// Someone started or stopped typing. Ephemeral: a `typing` with `active: true` lapses by
    /// itself after `expires_in_ms` unless renewed.
    #[serde(rename = "typing")]
    Typing {
        /// Where.
        room_id: RoomId,
        /// Who.
        user_id: UserId,
        /// Typing now, or stopped.
        active: bool,
        /// How long an `active` indication lasts without renewal.
        expires_in_ms: u64,
    },
    /// A user came online or went offline. Ephemeral.
    #[serde(rename = "presence")]
    Presence {
        /// Who.
        user_id: UserId,
        /// Connected now.
        online: bool,
        /// When they went offline.
        last_seen: Option<Timestamp>,
    },
    /// A new notification for the subscriber. Sequenced in the user's feed.
    #[serde(rename = "notification")]
    Notification {
        /// The notification.
        notification: Notification,
    },
    /// The subscriber joined, was added to, left or was removed from a room. Sequenced in the
    /// user's feed; a session subscribes to or drops the room's topic when it sees this.
    #[serde(rename = "membership")]
    Membership {
        /// The user's feed sequence of this entry.
        feed_seq: Seq,
        /// Which room.
        room_id: RoomId,
        /// The room sequence of the join or leave: a session that starts following the room
        /// delivers its changes from here on.
        room_seq: Seq,
        /// Member now, or not.
        joined: bool,
    },
    /// The subscriber blocked or unblocked someone (on this device or another). While blocked,
    /// that user's `typing` and `presence` do not reach the subscriber. Not sequenced: the
    /// block list (`GET /v1/blocks`) is the truth.
    #[serde(rename = "block")]
    Block {
        /// Who.
        user_id: UserId,
        /// Blocked now, or unblocked.
        blocked: bool,
    },
    /// Some of the subscriber's notifications were marked read: by the subscriber on any
    /// device, or because they read the conversation the notifications point into. Not
    /// sequenced: `unread` is the count of unread notifications now.
    #[serde(rename = "notifications.read")]
    NotificationsRead {
        /// The notifications now read (empty when `all`).
        ids: Vec<NotificationId>,
        /// Every notification was marked read.
        all: bool,
        /// Unread notifications left.
        unread: i64,
    },
    /// A public room has new activity. Sent to every connection, at most once per room every
    /// few seconds; clients show it for public rooms they have not joined (members get the
    /// room's events themselves). Not sequenced: the room list is the truth
    /// (`room.last_seq` beyond the viewer's `last_read_seq`).
    #[serde(rename = "room.activity")]
    RoomActivity {
        /// Which room.
        room_id: RoomId,
        /// The room's latest sequence when this was sent.
        last_seq: Seq,
    },
    /// Every login of the account was signed out (its password was changed or reset). Sent on
    /// the user's own stream; the server then closes the user's real-time connections with
    /// `closing` `signed_out`, and the client signs in again.
    #[serde(rename = "signed_out")]
    SignedOut {
        /// `password_changed` or `password_reset`.
        reason: String,
    },
    /// An event type this version of the types does not know (sent by a newer server).
    /// Clients ignore it; the server never sends this variant.
    #[serde(other)]
    Unknown,
}

impl Event {
    /// The position in the user's feed of a feed entry (a notification, a membership
    /// change).
    pub fn feed_seq(&self) -> Option<Seq> {
        match self {
            Event::Membership { feed_seq, .. } => Some(*feed_seq),
            Event::Notification { notification } => Some(notification.feed_seq),
            _ => None,
        }
    }

    /// The room sequence of a sequenced room event.
    pub fn room_seq(&self) -> Option<(RoomId, Seq)> {
        match self {
            Event::MessageCreated { room_id, seq, .. }
            | Event::MessageEdited { room_id, seq, .. }
            | Event::MessageDeleted { room_id, seq, .. }
            | Event::ReactionAdded { room_id, seq, .. }
            | Event::ReactionRemoved { room_id, seq, .. }
            | Event::MemberJoined { room_id, seq, .. }
            | Event::MemberLeft { room_id, seq, .. }
            | Event::MemberRole { room_id, seq, .. } => Some((*room_id, *seq)),
            _ => None,
        }
    }
}
