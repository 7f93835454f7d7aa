//! The storage seam: small traits, one per concern, used as `Arc<dyn Trait>`.
//!
//! Stores do no authorization and few checks: they persist what the services decided. Every
//! method that changes a room runs in one transaction that also takes the room's next
//! sequence number and appends to its change log, so a change and its sequence are committed
//! together or not at all. The SQL implementations live in [`sql`], behind cargo features.

use async_trait::async_trait;

use crate::event::{Event, LeaveReason};
use crate::ids::{AttachmentId, MessageId, NotificationId, RoomId, Seq, Timestamp, UserId};
use crate::model::{
    Account, AttachmentMeta, Contact, Member, Message, Notification, NotificationKind, Profile,
    Role, Room, RoomKind, RoomSummary, UserRef,
};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;

/// A store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row does not exist; names what was looked for.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique constraint refused the write; names the constraint's subject.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database failed.
    #[error("store backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A new account, validated by the service.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Lower-case, validated.
    pub username: String,
    /// Lower-case, validated.
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub now: Timestamp,
}

/// Accounts and profiles.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates an account. `Conflict("username")` or `Conflict("email")` when taken.
    async fn create_user(&self, user: NewUser) -> StoreResult<Account>;
    /// The account with its private fields.
    async fn account(&self, id: UserId) -> StoreResult<Account>;
    /// The public profile.
    async fn profile(&self, id: UserId) -> StoreResult<Profile>;
    /// The short references of `ids` that exist, in no particular order.
    async fn user_refs(&self, ids: &[UserId]) -> StoreResult<Vec<UserRef>>;
    /// The id and password hash of the account whose username or email is `login`.
    async fn credentials(&self, login: &str) -> StoreResult<Option<(UserId, String)>>;
    /// The password hash of `id`.
    async fn password_hash(&self, id: UserId) -> StoreResult<String>;
    /// Replaces the password hash.
    async fn set_password_hash(&self, id: UserId, hash: &str) -> StoreResult<()>;
    /// The account whose email is `email` (lower-case).
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<Account>>;
    /// Writes the given profile fields (already validated).
    async fn update_profile(
        &self,
        id: UserId,
        display_name: Option<&str>,
        avatar: Option<Option<AttachmentId>>,
        bio: Option<&str>,
    ) -> StoreResult<Account>;
    /// Users whose username starts with `prefix`, or whose email equals `email`, excluding
    /// `viewer`, ordered by username, at most `limit`.
    async fn search_users(
        &self,
        viewer: UserId,
        prefix: &str,
        email: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<UserRef>>;
}

/// How a refresh-token rotation went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live; it is now used and the new one is stored in its family.
    Rotated(UserId),
    /// The token had already been used: its whole family is now revoked.
    Reused(UserId),
    /// Unknown, expired or revoked.
    Invalid,
}

/// Refresh and password-reset tokens, by digest.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a new refresh token starting or continuing `family`.
    async fn insert_refresh(
        &self,
        user: UserId,
        family: &str,
        digest: &str,
        now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<()>;
    /// Atomically uses the refresh token `digest` and stores `next_digest` in its family;
    /// a token used twice revokes its family.
    async fn rotate_refresh(
        &self,
        digest: &str,
        next_digest: &str,
        now: Timestamp,
        next_expires: Timestamp,
    ) -> StoreResult<Rotation>;
    /// Revokes the family of `digest`. Returns whether a live token was found.
    async fn revoke_refresh_family(&self, digest: &str, now: Timestamp) -> StoreResult<bool>;
    /// Revokes every refresh token of `user`.
    async fn revoke_all_refresh(&self, user: UserId, now: Timestamp) -> StoreResult<()>;
    /// Stores a password-reset token.
    async fn insert_reset(
        &self,
        user: UserId,
        digest: &str,
        now: Timestamp,
        expires: Timestamp,
    ) -> StoreResult<()>;
    /// Atomically uses a live reset token: sets the password hash, spends every reset token of
    /// the user and revokes their refresh tokens. `None` if the token is not live.
    async fn consume_reset(
        &self,
        digest: &str,
        new_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserId>>;
}

/// A room to create.
#[derive(Clone, Debug)]
pub struct NewRoom {
    /// Its kind.
    pub kind: RoomKind,
    /// Unique name (group rooms).
    pub name: Option<String>,
    /// Unique key of the two users (direct rooms).
    pub dm_key: Option<String>,
    /// Topic.
    pub topic: String,
    /// Creator.
    pub created_by: Option<UserId>,
    /// Creation time.
    pub now: Timestamp,
}

/// A membership change as committed: the room's sequence and the member's feed sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MembershipSeqs {
    /// The room change.
    pub room_seq: Seq,
    /// The entry in the member's own feed.
    pub feed_seq: Seq,
}

/// A user's place in a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Membership {
    /// Their rank.
    pub role: Role,
    /// Their read watermark.
    pub last_read_seq: Seq,
}

/// Rooms and their members.
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Creates a room and adds `members` to it (each a sequenced change and a feed entry).
    /// `Conflict("room")` if the name or direct key is taken.
    async fn create_room(
        &self,
        room: NewRoom,
        members: &[(UserId, Role)],
    ) -> StoreResult<(Room, Vec<MembershipSeqs>)>;
    /// A room by id.
    async fn room(&self, id: RoomId) -> StoreResult<Room>;
    /// A group room by its lower-case name.
    async fn room_by_name(&self, name: &str) -> StoreResult<Option<Room>>;
    /// The direct room with this key.
    async fn direct_room(&self, dm_key: &str) -> StoreResult<Option<Room>>;
    /// `user`'s membership of `room`.
    async fn membership(&self, room: RoomId, user: UserId) -> StoreResult<Option<Membership>>;
    /// A room and `user`'s membership of it: what every authorization check reads. One
    /// query where the backend can (it runs for every message sent).
    async fn room_for(
        &self,
        room: RoomId,
        user: UserId,
    ) -> StoreResult<(Room, Option<Membership>)> {
        let room = self.room(room).await?;
        let membership = self.membership(room.id, user).await?;
        Ok((room, membership))
    }
    /// All members, owner first, then by join time.
    async fn members(&self, room: RoomId) -> StoreResult<Vec<Member>>;
    /// Adds a member. `None` if they already were one.
    async fn add_member(
        &self,
        room: RoomId,
        user: UserId,
        role: Role,
        by: Option<UserId>,
        now: Timestamp,
    ) -> StoreResult<Option<MembershipSeqs>>;
    /// Removes a member. `None` if they were not one.
    async fn remove_member(
        &self,
        room: RoomId,
        user: UserId,
        reason: LeaveReason,
        by: Option<UserId>,
        now: Timestamp,
    ) -> StoreResult<Option<MembershipSeqs>>;
    /// Changes a member's role; returns the room sequence of the change.
    async fn set_role(
        &self,
        room: RoomId,
        user: UserId,
        role: Role,
        now: Timestamp,
    ) -> StoreResult<Seq>;
    /// Public rooms plus every room `user` is a member of, with their unread counts; by name,
    /// direct rooms last.
    async fn rooms_for(&self, user: UserId) -> StoreResult<Vec<RoomSummary>>;
    /// Moves `user`'s read watermark in `room` forward to `seq` (never back, never past the
    /// room's last sequence). Returns the new watermark if it moved.
    async fn advance_read_marker(
        &self,
        room: RoomId,
        user: UserId,
        seq: Seq,
    ) -> StoreResult<Option<Seq>>;
    /// The rooms `user` is a member of.
    async fn room_ids_of(&self, user: UserId) -> StoreResult<Vec<RoomId>>;
    /// The rooms `user` is a member of, each with its last sequence.
    async fn last_seqs_of(&self, user: UserId) -> StoreResult<Vec<(RoomId, Seq)>>;
    /// What a real-time connection opens with, in one read, for stores that hold it all
    /// (every connection reads it): [`RoomStore::last_seqs_of`], the user's feed sequence and
    /// the users they block. `None`, the default: the caller reads them separately.
    async fn opening_of(&self, _user: UserId) -> StoreResult<Option<Opening>> {
        Ok(None)
    }
    /// Members of `room` among `usernames`.
    async fn members_named(&self, room: RoomId, usernames: &[String]) -> StoreResult<Vec<UserId>>;
    /// The rooms `user` is a member of that have at most `max_members` members: where their
    /// presence changes are announced.
    async fn small_rooms_of(&self, user: UserId, max_members: i64) -> StoreResult<Vec<RoomId>>;
    /// Records that `user`, who is not a member of `room`, has seen it up to `seq` (never
    /// moving back); returns how far they have seen it now. What public rooms one has not
    /// joined show as new activity is measured from here.
    async fn mark_seen(&self, room: RoomId, user: UserId, seq: Seq) -> StoreResult<Seq>;
}

/// A message to append, fully validated and resolved by the service.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Where.
    pub room_id: RoomId,
    /// Who.
    pub sender_id: UserId,
    /// The sender's idempotency key.
    pub client_id: String,
    /// Text.
    pub body: String,
    /// Answered message (in the same room).
    pub reply_to: Option<MessageId>,
    /// Forwarded message.
    pub forwarded_from: Option<MessageId>,
    /// Files.
    pub attachments: Vec<AttachmentMeta>,
    /// Mentioned members.
    pub mentions: Vec<UserId>,
    /// Notifications to create with it, at most one per user.
    pub notify: Vec<(UserId, NotificationKind)>,
    /// Send time.
    pub now: Timestamp,
}

/// What appending a message did.
#[derive(Debug)]
pub enum Appended {
    /// A new message, with the notifications created for it and their recipients.
    New(Message, Vec<(UserId, Notification)>),
    /// The sender had already sent this client id to this room: the original message.
    Existing(Message),
}

/// A new text for a message, validated and resolved by the service.
#[derive(Clone, Copy, Debug)]
pub struct MessageEdit<'a> {
    /// Which message.
    pub id: MessageId,
    /// The new text.
    pub body: &'a str,
    /// The members the new text mentions.
    pub mentions: &'a [UserId],
    /// Notifications to create, at most one per user.
    pub notify: &'a [(UserId, NotificationKind)],
    /// Edit time.
    pub now: Timestamp,
}

/// What an edit committed.
#[derive(Clone, Debug)]
pub struct Edited {
    /// The room sequence of the edit.
    pub seq: Seq,
    /// The message as it is now.
    pub message: Message,
    /// Notifications created, with their recipients.
    pub notifications: Vec<(UserId, Notification)>,
}

/// Where a history page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryFrom {
    /// The newest messages, going back.
    Latest,
    /// Messages with a sequence below this one, going back.
    Before(Seq),
    /// Messages with a sequence above this one, going forward.
    After(Seq),
}

/// A reaction to make present, make absent or toggle. The store decides under the room's
/// write lock, so concurrent calls cannot add one twice, exceed the limit, or react to a
/// message deleted in the meantime.
#[derive(Clone, Copy, Debug)]
pub struct ReactionChange<'a> {
    /// The message, as the service read it (its room and sequence are fixed).
    pub message: &'a Message,
    /// Who reacts.
    pub user: UserId,
    /// With what.
    pub emoji: &'a str,
    /// `Some(true)`: present; `Some(false)`: absent; `None`: the opposite of now.
    pub want: Option<bool>,
    /// Most distinct reactions one user may have on one message.
    pub max_per_user: usize,
    /// Who gets a notification when the reaction is added.
    pub notify: Option<UserId>,
    /// When.
    pub now: Timestamp,
}

/// What a [`ReactionChange`] came to.
#[derive(Clone, Debug)]
pub enum Reacted {
    /// Added or removed, as a sequenced room change.
    Changed {
        /// Added (`true`) or removed.
        added: bool,
        /// The room sequence of the change.
        seq: Seq,
        /// The notification created for the author, if any.
        notification: Option<Notification>,
    },
    /// Already as asked; nothing was written.
    Unchanged {
        /// Whether the reaction is present.
        present: bool,
    },
    /// The message is deleted; nothing was written.
    MessageDeleted,
    /// Adding would exceed the user's limit on this message; nothing was written.
    TooMany,
}

/// Messages, reactions and each room's change log.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Appends `messages` (or finds the ones already sent with the same client ids), together
    /// in one transaction where the backend can: the engine hands over every send waiting at
    /// that moment so that they share one commit. The answers are in the order of `messages`,
    /// one each, and one that fails must not fail the others (`Conflict("message")` when a
    /// concurrent send with the same client id committed first). Within a room, sequence
    /// numbers follow the order of `messages`.
    async fn append_messages(&self, messages: Vec<NewMessage>) -> Vec<StoreResult<Appended>>;
    /// How many groups of sends may be committed at once, each to rooms of its own: 1 (the
    /// default) for a store with one writer.
    fn writers(&self) -> usize {
        1
    }
    /// A message by id.
    async fn message(&self, id: MessageId) -> StoreResult<Message>;
    /// The message `sender` sent to `room` with `client_id`, if any.
    async fn message_by_client_id(
        &self,
        room: RoomId,
        sender: UserId,
        client_id: &str,
    ) -> StoreResult<Option<Message>>;
    /// Replaces a message's text and mentions, notifying newly mentioned members.
    async fn edit_message(&self, edit: MessageEdit<'_>) -> StoreResult<Edited>;
    /// Turns a message into a tombstone: text, attachments (records included) and reactions
    /// are removed.
    async fn delete_message(&self, id: MessageId, by: UserId, now: Timestamp) -> StoreResult<Seq>;
    /// A page of history in the order asked for: newest first going back, oldest first
    /// going forward.
    async fn history(
        &self,
        room: RoomId,
        from: HistoryFrom,
        limit: i64,
    ) -> StoreResult<Vec<Message>>;
    /// Adds, removes or toggles a reaction, deciding under the room's write lock.
    async fn change_reaction(&self, change: ReactionChange<'_>) -> StoreResult<Reacted>;
    /// The room's changes with sequence above `after`, oldest first, at most `limit`.
    /// Message changes carry the message as it is now.
    async fn changes_after(&self, room: RoomId, after: Seq, limit: i64) -> StoreResult<Vec<Event>>;
    /// Members of `room` whose watermark is at or past `seq`, except `except`.
    async fn read_by(&self, room: RoomId, seq: Seq, except: UserId) -> StoreResult<Vec<UserRef>>;
}

/// A user's feed: notifications and their own membership changes.
#[async_trait]
pub trait FeedStore: Send + Sync {
    /// Creates one notification (those not tied to a message append, such as invites).
    async fn notify(
        &self,
        user: UserId,
        kind: NotificationKind,
        room: RoomId,
        actor: UserId,
        now: Timestamp,
    ) -> StoreResult<Notification>;
    /// Notifications newest first, below `before` if given.
    async fn notifications(
        &self,
        user: UserId,
        before: Option<NotificationId>,
        unread_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<Notification>>;
    /// How many unread notifications `user` has.
    async fn unread_notifications(&self, user: UserId) -> StoreResult<i64>;
    /// Marks one of `user`'s notifications read; whether it was unread. `NotFound` if it is
    /// not theirs.
    async fn mark_notification_read(
        &self,
        user: UserId,
        id: NotificationId,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Marks read `user`'s unread notifications that point into `room` at or before `seq`
    /// (and those about the room itself, such as an invitation); the ones it marked.
    async fn mark_room_notifications_read(
        &self,
        user: UserId,
        room: RoomId,
        seq: Seq,
        now: Timestamp,
    ) -> StoreResult<Vec<NotificationId>>;
    /// Marks all of `user`'s notifications read; returns how many changed.
    async fn mark_all_notifications_read(&self, user: UserId, now: Timestamp) -> StoreResult<i64>;
    /// The sequence of `user`'s latest feed entry.
    async fn feed_seq(&self, user: UserId) -> StoreResult<Seq>;
    /// Feed entries after `after`, oldest first, at most `limit`.
    async fn feed_after(&self, user: UserId, after: Seq, limit: i64) -> StoreResult<Vec<Event>>;
}

/// Contact lists and blocks.
#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Adds `contact` to `owner`'s list. Returns `false` if already there.
    async fn add_contact(
        &self,
        owner: UserId,
        contact: UserId,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Removes `contact`. Returns `false` if it was not there.
    async fn remove_contact(&self, owner: UserId, contact: UserId) -> StoreResult<bool>;
    /// `owner`'s contacts by username.
    async fn contacts(&self, owner: UserId) -> StoreResult<Vec<Contact>>;
    /// `blocker` blocks `blocked`. Returns `false` if already blocked.
    async fn block(&self, blocker: UserId, blocked: UserId, now: Timestamp) -> StoreResult<bool>;
    /// Lifts a block. Returns `false` if there was none.
    async fn unblock(&self, blocker: UserId, blocked: UserId) -> StoreResult<bool>;
    /// Whether either user blocks the other.
    async fn blocked_either_way(&self, a: UserId, b: UserId) -> StoreResult<bool>;
    /// Users `blocker` blocks.
    async fn blocked_users(&self, blocker: UserId) -> StoreResult<Vec<UserRef>>;
    /// Users who have `contact` in their contact list, at most `limit`.
    async fn contact_owners(&self, contact: UserId, limit: i64) -> StoreResult<Vec<UserId>>;
}

/// An uploaded file's record.
#[derive(Clone, Debug)]
pub struct StoredAttachment {
    /// What messages show.
    pub meta: AttachmentMeta,
    /// Who uploaded it.
    pub uploader: UserId,
    /// Where its bytes are in the blob store.
    pub blob_key: String,
}

/// An upload to record.
#[derive(Clone, Copy, Debug)]
pub struct NewAttachment<'a> {
    /// The room whose members may read it; `None` for an avatar.
    pub room: Option<RoomId>,
    /// Who uploaded it.
    pub uploader: UserId,
    /// Where its bytes are in the blob store.
    pub blob_key: &'a str,
    /// Cleaned file name.
    pub filename: &'a str,
    /// Detected type.
    pub content_type: &'a str,
    /// Size in bytes.
    pub size: i64,
    /// Upload time.
    pub now: Timestamp,
}

/// Records of uploaded files.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Records an upload.
    async fn insert_attachment(&self, new: NewAttachment<'_>) -> StoreResult<AttachmentMeta>;
    /// An attachment by id.
    async fn attachment(&self, id: AttachmentId) -> StoreResult<StoredAttachment>;
}

/// Everything a service needs from storage, as one value to hand around.
#[derive(Clone)]
pub struct Stores {
    /// Accounts.
    pub users: std::sync::Arc<dyn UserStore>,
    /// Tokens.
    pub tokens: std::sync::Arc<dyn TokenStore>,
    /// Rooms.
    pub rooms: std::sync::Arc<dyn RoomStore>,
    /// Messages.
    pub messages: std::sync::Arc<dyn MessageStore>,
    /// Feeds and notifications.
    pub feed: std::sync::Arc<dyn FeedStore>,
    /// Contacts and blocks.
    pub contacts: std::sync::Arc<dyn ContactStore>,
    /// Attachments.
    pub attachments: std::sync::Arc<dyn AttachmentStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores")
    }
}

impl Stores {
    /// All traits served by one backend value.
    pub fn from_backend<B>(backend: std::sync::Arc<B>) -> Stores
    where
        B: UserStore
            + TokenStore
            + RoomStore
            + MessageStore
            + FeedStore
            + ContactStore
            + AttachmentStore
            + 'static,
    {
        Stores {
            users: backend.clone(),
            tokens: backend.clone(),
            rooms: backend.clone(),
            messages: backend.clone(),
            feed: backend.clone(),
            contacts: backend.clone(),
            attachments: backend,
        }
    }
}

/// What a real-time connection opens with (see [`RoomStore::opening_of`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opening {
    /// The rooms the user is a member of, each with its last sequence.
    pub rooms: Vec<(RoomId, Seq)>,
    /// The user's feed sequence.
    pub feed: Seq,
    /// The users this user blocks.
    pub blocked: Vec<UserId>,
}
