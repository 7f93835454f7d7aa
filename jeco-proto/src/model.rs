//! The things Jeco talks about, as services return them and as they travel on the wire.
//!
//! These types are plain serde data with no behaviour and no backend in them, so the server,
//! the clients and the bindings share them instead of redefining them.

use serde::{Deserialize, Serialize};

use crate::ids::{AttachmentId, MessageId, NotificationId, RoomId, Seq, Timestamp, UserId};

/// The short public face of a user, embedded wherever a user is mentioned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRef {
    /// The account.
    pub id: UserId,
    /// Unique, lower-case login name.
    pub username: String,
    /// The name to show; may be empty, in which case clients show the username.
    pub display_name: String,
}

/// A user's public profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    /// The account.
    pub id: UserId,
    /// Unique, lower-case login name.
    pub username: String,
    /// The name to show; may be empty.
    pub display_name: String,
    /// An attachment holding the avatar image, if one was set.
    pub avatar: Option<AttachmentId>,
    /// Free text about the user.
    pub bio: String,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// What the owner of an account sees of it: the profile plus private fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// The public part.
    #[serde(flatten)]
    pub profile: Profile,
    /// The address password-reset mail goes to (lower-case).
    pub email: String,
}

/// Changes to a profile; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileUpdate {
    /// New display name (empty clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New avatar: `null` clears it, absent keeps it.
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub avatar: Option<Option<AttachmentId>>,
    /// New bio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
}

/// Serde helper so that `"avatar": null` (clear) differs from a missing field (keep).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Access and refresh tokens handed out at login and on refresh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tokens {
    /// A short-lived JWT to put in `Authorization: Bearer`.
    pub access_token: String,
    /// When the access token stops working.
    pub access_expires_at: Timestamp,
    /// An opaque single-use token that buys the next pair.
    pub refresh_token: String,
    /// When the refresh token stops working if unused.
    pub refresh_expires_at: Timestamp,
}

/// The result of a successful login or registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// Who logged in.
    pub account: Account,
    /// Their tokens.
    pub tokens: Tokens,
}

/// `Tokens` without the refresh token, which went into the `jeco_refresh` cookie: the
/// answer to a request with `"refresh_cookie": true`, or to a refresh by cookie. Browsers
/// keep the access token in memory; script never sees the refresh token.
///
/// No other field is allowed (`additionalProperties: false` in the OpenAPI document), so that
/// a `Tokens` never passes for one: an answer is exactly one of the two.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CookieTokens {
    /// A short-lived JWT to put in `Authorization: Bearer`.
    pub access_token: String,
    /// When the access token stops working.
    pub access_expires_at: Timestamp,
    /// When the refresh token in the cookie stops working if unused.
    pub refresh_expires_at: Timestamp,
}

impl From<Tokens> for CookieTokens {
    fn from(t: Tokens) -> CookieTokens {
        CookieTokens {
            access_token: t.access_token,
            access_expires_at: t.access_expires_at,
            refresh_expires_at: t.refresh_expires_at,
        }
    }
}

/// A `Session` whose refresh token went into the `jeco_refresh` cookie.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CookieSession {
    /// Who logged in.
    pub account: Account,
    /// Their tokens, the refresh token left out.
    pub tokens: CookieTokens,
}

/// The kind of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoomKind {
    /// Listed for everyone; anyone may join.
    Public,
    /// Visible to members only; joined by invitation.
    Private,
    /// The one conversation between two users.
    Direct,
}

impl RoomKind {
    /// The stable name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Public => "public",
            RoomKind::Private => "private",
            RoomKind::Direct => "direct",
        }
    }

    /// The value named by [`Self::as_str`].
    pub fn parse(s: &str) -> Option<RoomKind> {
        Some(match s {
            "public" => RoomKind::Public,
            "private" => RoomKind::Private,
            "direct" => RoomKind::Direct,
            _ => return None,
        })
    }
}

/// A member's rank in a room. Ordered: `Member < Admin < Owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// May read, post and react.
    Member,
    /// May also invite, kick members and delete others' messages.
    Admin,
    /// May also promote and demote admins. One per room.
    Owner,
}

impl Role {
    /// The stable name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// The value named by [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "member" => Role::Member,
            "admin" => Role::Admin,
            "owner" => Role::Owner,
            _ => return None,
        })
    }
}

/// A conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Room {
    /// The room.
    pub id: RoomId,
    /// Public, private or direct.
    pub kind: RoomKind,
    /// Unique lower-case name of a group room; `None` for direct rooms.
    pub name: Option<String>,
    /// What the room is about.
    pub topic: String,
    /// Who created it (`None` for rooms the engine made, such as `general`).
    pub created_by: Option<UserId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// The sequence of the room's latest change.
    pub last_seq: Seq,
    /// How many members it has.
    pub member_count: i64,
}

/// A room as one user sees it in their room list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomSummary {
    /// The room.
    pub room: Room,
    /// The viewer's role, or `None` if they have not joined (public rooms only).
    pub role: Option<Role>,
    /// The viewer's read watermark. For a public room they have not joined: how far they
    /// have looked at it (`room.last_seq` beyond it means new activity there).
    pub last_read_seq: Seq,
    /// Messages from others after the watermark, not deleted (0 in rooms not joined).
    pub unread: i64,
    /// For a direct room, the other person.
    pub peer: Option<UserRef>,
}

/// A member of a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// Who.
    pub user: UserRef,
    /// Their rank.
    pub role: Role,
    /// When they joined.
    pub joined_at: Timestamp,
    /// Their read watermark: they have read every message with `seq <= last_read_seq`.
    pub last_read_seq: Seq,
}

/// An uploaded file as messages refer to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentMeta {
    /// The file.
    pub id: AttachmentId,
    /// The room whose members may download it; `None` for an avatar, which every signed-in
    /// user may download.
    pub room_id: Option<RoomId>,
    /// The name the uploader gave it, cleaned of paths and control characters.
    pub filename: String,
    /// The type detected from the bytes, never the one the client claimed.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// The users who reacted to a message with one emoji.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reaction {
    /// The emoji.
    pub emoji: String,
    /// Who reacted with it, oldest first.
    pub users: Vec<UserId>,
}

/// A chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// The message.
    pub id: MessageId,
    /// Where it was posted.
    pub room_id: RoomId,
    /// The room sequence at which it was created.
    pub seq: Seq,
    /// Who wrote it.
    pub sender: UserRef,
    /// The sender's own id for the send, which makes retries idempotent.
    pub client_id: String,
    /// The text; empty once deleted.
    pub body: String,
    /// The message this one answers.
    pub reply_to: Option<MessageId>,
    /// The message this one is a copy of, when it was forwarded.
    pub forwarded_from: Option<MessageId>,
    /// Files sent with it; emptied once deleted.
    pub attachments: Vec<AttachmentMeta>,
    /// Members mentioned with `@username`.
    pub mentions: Vec<UserId>,
    /// Reactions, in the order they were first used.
    pub reactions: Vec<Reaction>,
    /// When it was sent.
    pub created_at: Timestamp,
    /// When it was last edited.
    pub edited_at: Option<Timestamp>,
    /// Whether it was deleted (the tombstone keeps its place in history).
    pub deleted: bool,
}

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotificationKind {
    /// Someone sent you a direct message.
    DirectMessage,
    /// Someone mentioned you.
    Mention,
    /// Someone replied to your message.
    Reply,
    /// Someone reacted to your message.
    Reaction,
    /// Someone added you to a private room.
    Invite,
}

impl NotificationKind {
    /// The stable name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::DirectMessage => "direct_message",
            NotificationKind::Mention => "mention",
            NotificationKind::Reply => "reply",
            NotificationKind::Reaction => "reaction",
            NotificationKind::Invite => "invite",
        }
    }

    /// The value named by [`Self::as_str`].
    pub fn parse(s: &str) -> Option<NotificationKind> {
        Some(match s {
            "direct_message" => NotificationKind::DirectMessage,
            "mention" => NotificationKind::Mention,
            "reply" => NotificationKind::Reply,
            "reaction" => NotificationKind::Reaction,
            "invite" => NotificationKind::Invite,
            _ => return None,
        })
    }
}

/// A notification in a user's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// The notification.
    pub id: NotificationId,
    /// Its place in the recipient's feed.
    pub feed_seq: Seq,
    /// What happened.
    pub kind: NotificationKind,
    /// Where.
    pub room_id: RoomId,
    /// The message concerned, if any.
    pub message_id: Option<MessageId>,
    /// Who caused it.
    pub actor: UserRef,
    /// Extra detail: the emoji of a reaction.
    pub detail: Option<String>,
    /// When it happened.
    pub created_at: Timestamp,
    /// Whether the recipient has marked it read.
    pub read: bool,
}

/// A user found by search, or in a contact list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    /// Who.
    pub user: UserRef,
    /// When they were added (contact lists only).
    pub added_at: Option<Timestamp>,
}

/// Whether a user is connected, and when they were last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresenceInfo {
    /// Who.
    pub user_id: UserId,
    /// Connected right now on at least one connection.
    pub online: bool,
    /// When their last connection closed; `None` if online or never seen since start.
    pub last_seen: Option<Timestamp>,
}

/// One page of a room's history, with the cursor for the next page in the same direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    /// The messages, in the order the request asked for.
    pub items: Vec<Message>,
    /// The sequence to pass as `before` (or `after`) for the next page; `None` when there is
    /// nothing more.
    pub next: Option<Seq>,
}

/// One page of notifications, newest first, with the cursor for the next page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationPage {
    /// The notifications, newest first.
    pub items: Vec<Notification>,
    /// The id to pass as `before` for the next page; `None` when there is nothing more.
    pub next: Option<NotificationId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_update_keeps_what_it_does_not_name() {
        let keep = ProfileUpdate {
            bio: Some("hi".into()),
            ..ProfileUpdate::default()
        };
        assert_eq!(serde_json::to_string(&keep).unwrap(), r#"{"bio":"hi"}"#);
        let clear = ProfileUpdate {
            avatar: Some(None),
            ..ProfileUpdate::default()
        };
        assert_eq!(serde_json::to_string(&clear).unwrap(), r#"{"avatar":null}"#);
        for (json, avatar) in [
            ("{}", None),
            (r#"{"avatar":null}"#, Some(None)),
            (r#"{"avatar":7}"#, Some(Some(AttachmentId(7)))),
        ] {
            let parsed: ProfileUpdate = serde_json::from_str(json).unwrap();
            assert_eq!(parsed.avatar, avatar, "{json}");
        }
    }
}
