//! Row types shared by both SQL dialects and their conversion into the model.

use crate::event::{Event, LeaveReason};
use crate::ids::{AttachmentId, MessageId, NotificationId, RoomId, Seq, Timestamp, UserId};
use crate::model::{
    Account, AttachmentMeta, Message, Notification, NotificationKind, Profile, Reaction, Role,
    Room, RoomKind, UserRef,
};
use crate::store::StoreError;

fn corrupt(what: &'static str) -> StoreError {
    StoreError::Backend(format!("unexpected value in column {what}").into())
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) id: i64,
    pub(super) username: String,
    pub(super) email: String,
    pub(super) display_name: String,
    pub(super) avatar_id: Option<i64>,
    pub(super) bio: String,
    pub(super) created_at: i64,
}

impl UserRow {
    pub(super) fn into_account(self) -> Account {
        Account {
            profile: Profile {
                id: UserId(self.id),
                username: self.username,
                display_name: self.display_name,
                avatar: self.avatar_id.map(AttachmentId),
                bio: self.bio,
                created_at: Timestamp(self.created_at),
            },
            email: self.email,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRefRow {
    pub(super) id: i64,
    pub(super) username: String,
    pub(super) display_name: String,
}

impl From<UserRefRow> for UserRef {
    fn from(r: UserRefRow) -> UserRef {
        UserRef {
            id: UserId(r.id),
            username: r.username,
            display_name: r.display_name,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RoomRow {
    pub(super) id: i64,
    pub(super) kind: String,
    pub(super) name: Option<String>,
    pub(super) topic: String,
    pub(super) created_by: Option<i64>,
    pub(super) created_at: i64,
    pub(super) last_seq: i64,
    pub(super) member_count: i64,
}

impl RoomRow {
    pub(super) fn into_room(self) -> Result<Room, StoreError> {
        Ok(Room {
            id: RoomId(self.id),
            kind: RoomKind::parse(&self.kind).ok_or_else(|| corrupt("rooms.kind"))?,
            name: self.name,
            topic: self.topic,
            created_by: self.created_by.map(UserId),
            created_at: Timestamp(self.created_at),
            last_seq: Seq(self.last_seq),
            member_count: self.member_count,
        })
    }
}

/// A room with one user's membership of it, if any.
#[derive(sqlx::FromRow)]
pub(super) struct RoomForRow {
    #[sqlx(flatten)]
    pub(super) room: RoomRow,
    pub(super) member_role: Option<String>,
    pub(super) member_last_read: Option<i64>,
}

pub(super) const ROOM_COLUMNS: &str =
    "r.id, r.kind, r.name, r.topic, r.created_by, r.created_at, r.last_seq, r.member_count";

#[derive(sqlx::FromRow)]
pub(super) struct RoomSummaryRow {
    #[sqlx(flatten)]
    pub(super) room: RoomRow,
    pub(super) role: Option<String>,
    pub(super) last_read_seq: i64,
    pub(super) unread: i64,
}

pub(super) fn parse_role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| corrupt("room_members.role"))
}

#[derive(sqlx::FromRow)]
pub(super) struct MemberRow {
    pub(super) id: i64,
    pub(super) username: String,
    pub(super) display_name: String,
    pub(super) role: String,
    pub(super) joined_at: i64,
    pub(super) last_read_seq: i64,
}

pub(super) const MESSAGE_SELECT: &str = "SELECT m.id, m.room_id, m.seq, m.sender_id, \
     u.username AS sender_username, u.display_name AS sender_display_name, m.client_id, m.body, \
     m.reply_to, m.forwarded_from, m.attachments, m.mentions, m.created_at, m.edited_at, \
     m.deleted_at FROM messages m JOIN users u ON u.id = m.sender_id";

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub(super) id: i64,
    pub(super) room_id: i64,
    pub(super) seq: i64,
    pub(super) sender_id: i64,
    pub(super) sender_username: String,
    pub(super) sender_display_name: String,
    pub(super) client_id: String,
    pub(super) body: String,
    pub(super) reply_to: Option<i64>,
    pub(super) forwarded_from: Option<i64>,
    pub(super) attachments: String,
    pub(super) mentions: String,
    pub(super) created_at: i64,
    pub(super) edited_at: Option<i64>,
    pub(super) deleted_at: Option<i64>,
}

impl MessageRow {
    pub(super) fn into_message(self) -> Result<Message, StoreError> {
        Ok(Message {
            id: MessageId(self.id),
            room_id: RoomId(self.room_id),
            seq: Seq(self.seq),
            sender: UserRef {
                id: UserId(self.sender_id),
                username: self.sender_username,
                display_name: self.sender_display_name,
            },
            client_id: self.client_id,
            body: self.body,
            reply_to: self.reply_to.map(MessageId),
            forwarded_from: self.forwarded_from.map(MessageId),
            attachments: serde_json::from_str(&self.attachments)
                .map_err(|_| corrupt("messages.attachments"))?,
            mentions: serde_json::from_str(&self.mentions)
                .map_err(|_| corrupt("messages.mentions"))?,
            reactions: Vec::new(),
            created_at: Timestamp(self.created_at),
            edited_at: self.edited_at.map(Timestamp),
            deleted: self.deleted_at.is_some(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ReactionRow {
    pub(super) message_id: i64,
    pub(super) user_id: i64,
    pub(super) emoji: String,
}

/// Attaches reactions (in the order they were made) to their messages, keeping each emoji at the place of
/// its first use.
pub(super) fn attach_reactions(messages: &mut [Message], rows: Vec<ReactionRow>) {
    for row in rows {
        let Some(m) = messages.iter_mut().find(|m| m.id.get() == row.message_id) else {
            continue;
        };
        match m.reactions.iter_mut().find(|r| r.emoji == row.emoji) {
            Some(r) => r.users.push(UserId(row.user_id)),
            None => m.reactions.push(Reaction {
                emoji: row.emoji,
                users: vec![UserId(row.user_id)],
            }),
        }
    }
}

pub(super) fn json_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

pub(super) fn attachments_json(a: &[AttachmentMeta]) -> String {
    json_of(&a)
}

#[derive(sqlx::FromRow)]
pub(super) struct RoomEventRow {
    pub(super) seq: i64,
    pub(super) kind: String,
    pub(super) message_id: Option<i64>,
    pub(super) user_id: Option<i64>,
    pub(super) actor_id: Option<i64>,
    pub(super) detail: Option<String>,
}

/// Room change-log kinds, as stored in `room_events.kind`.
pub(super) mod kind {
    pub(crate) const MESSAGE_CREATED: &str = "message.created";
    pub(crate) const MESSAGE_EDITED: &str = "message.edited";
    pub(crate) const MESSAGE_DELETED: &str = "message.deleted";
    pub(crate) const REACTION_ADDED: &str = "reaction.added";
    pub(crate) const REACTION_REMOVED: &str = "reaction.removed";
    pub(crate) const MEMBER_JOINED: &str = "member.joined";
    pub(crate) const MEMBER_LEFT: &str = "member.left";
    pub(crate) const MEMBER_ROLE: &str = "member.role";
    /// Feed kinds for the user's own membership (notification kinds are the others).
    pub(crate) const FEED_JOINED: &str = "joined";
    pub(crate) const FEED_LEFT: &str = "left";
}

/// Turns log rows into events, given the current state of the messages and users they name.
pub(super) fn room_events(
    room: RoomId,
    rows: Vec<RoomEventRow>,
    messages: &[Message],
    users: &[UserRef],
) -> Result<Vec<Event>, StoreError> {
    let message = |id: Option<i64>| {
        let id = id.ok_or_else(|| corrupt("room_events.message_id"))?;
        messages
            .iter()
            .find(|m| m.id.get() == id)
            .cloned()
            .ok_or_else(|| corrupt("room_events.message_id"))
    };
    let user = |id: Option<i64>| id.map(UserId).ok_or_else(|| corrupt("room_events.user_id"));
    let detail = |d: Option<String>| d.ok_or_else(|| corrupt("room_events.detail"));
    rows.into_iter()
        .map(|row| {
            let seq = Seq(row.seq);
            Ok(match row.kind.as_str() {
                kind::MESSAGE_CREATED => Event::MessageCreated {
                    room_id: room,
                    seq,
                    message: message(row.message_id)?,
                },
                kind::MESSAGE_EDITED => Event::MessageEdited {
                    room_id: room,
                    seq,
                    message: message(row.message_id)?,
                },
                kind::MESSAGE_DELETED => Event::MessageDeleted {
                    room_id: room,
                    seq,
                    message_id: MessageId(row.message_id.ok_or_else(|| corrupt("message_id"))?),
                    by: user(row.actor_id)?,
                },
                kind::REACTION_ADDED | kind::REACTION_REMOVED => {
                    let message_id =
                        MessageId(row.message_id.ok_or_else(|| corrupt("message_id"))?);
                    let user_id = user(row.user_id)?;
                    let emoji = detail(row.detail)?;
                    if row.kind == kind::REACTION_ADDED {
                        Event::ReactionAdded {
                            room_id: room,
                            seq,
                            message_id,
                            user_id,
                            emoji,
                        }
                    } else {
                        Event::ReactionRemoved {
                            room_id: room,
                            seq,
                            message_id,
                            user_id,
                            emoji,
                        }
                    }
                }
                kind::MEMBER_JOINED => {
                    let id = user(row.user_id)?;
                    let user = users
                        .iter()
                        .find(|u| u.id == id)
                        .cloned()
                        .unwrap_or_else(|| UserRef {
                            id,
                            username: String::new(),
                            display_name: String::new(),
                        });
                    Event::MemberJoined {
                        room_id: room,
                        seq,
                        user,
                        role: parse_role(&detail(row.detail)?)?,
                        by: row.actor_id.map(UserId),
                    }
                }
                kind::MEMBER_LEFT => Event::MemberLeft {
                    room_id: room,
                    seq,
                    user_id: user(row.user_id)?,
                    reason: if detail(row.detail)? == "kicked" {
                        LeaveReason::Kicked
                    } else {
                        LeaveReason::Left
                    },
                    by: row.actor_id.map(UserId),
                },
                kind::MEMBER_ROLE => Event::MemberRole {
                    room_id: room,
                    seq,
                    user_id: user(row.user_id)?,
                    role: parse_role(&detail(row.detail)?)?,
                },
                _ => return Err(corrupt("room_events.kind")),
            })
        })
        .collect()
}

pub(super) const NOTIFICATION_SELECT: &str = "SELECT e.id, e.seq, e.kind, e.room_id, \
     e.room_seq, e.message_id, e.actor_id, a.username AS actor_username, a.display_name AS actor_display_name, \
     e.detail, e.created_at, e.read_at FROM user_events e LEFT JOIN users a ON a.id = e.actor_id";

#[derive(sqlx::FromRow)]
pub(super) struct FeedRow {
    pub(super) id: i64,
    pub(super) seq: i64,
    pub(super) kind: String,
    pub(super) room_id: i64,
    pub(super) room_seq: Option<i64>,
    pub(super) message_id: Option<i64>,
    pub(super) actor_id: Option<i64>,
    pub(super) actor_username: Option<String>,
    pub(super) actor_display_name: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) created_at: i64,
    pub(super) read_at: Option<i64>,
}

impl FeedRow {
    pub(super) fn into_notification(self) -> Result<Notification, StoreError> {
        Ok(Notification {
            id: NotificationId(self.id),
            feed_seq: Seq(self.seq),
            kind: NotificationKind::parse(&self.kind).ok_or_else(|| corrupt("user_events.kind"))?,
            room_id: RoomId(self.room_id),
            message_id: self.message_id.map(MessageId),
            actor: UserRef {
                id: UserId(
                    self.actor_id
                        .ok_or_else(|| corrupt("user_events.actor_id"))?,
                ),
                username: self.actor_username.unwrap_or_default(),
                display_name: self.actor_display_name.unwrap_or_default(),
            },
            detail: self.detail,
            created_at: Timestamp(self.created_at),
            read: self.read_at.is_some(),
        })
    }

    pub(super) fn into_event(self) -> Result<Event, StoreError> {
        Ok(match self.kind.as_str() {
            kind::FEED_JOINED | kind::FEED_LEFT => Event::Membership {
                feed_seq: Seq(self.seq),
                room_id: RoomId(self.room_id),
                room_seq: Seq(self
                    .room_seq
                    .ok_or_else(|| corrupt("user_events.room_seq"))?),
                joined: self.kind == kind::FEED_JOINED,
            },
            _ => Event::Notification {
                notification: self.into_notification()?,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AttachmentRow {
    pub(super) id: i64,
    pub(super) room_id: Option<i64>,
    pub(super) uploader_id: i64,
    pub(super) blob_key: String,
    pub(super) filename: String,
    pub(super) content_type: String,
    pub(super) size: i64,
}

/// `$start, $start+1, ...` for `n` bind parameters.
pub(super) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
