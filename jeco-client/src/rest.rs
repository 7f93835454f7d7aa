//! The REST API under `/v1`, one method per route, with the request and response bodies of
//! `jeco_proto` (nothing is redefined here). Sign-in, password and health calls are in
//! `client.rs`, next to the tokens they change; file transfers are in `files.rs`.

use jeco_proto::api::{
    AfterQuery, Changes, Count, CreateRoomRequest, EditMessageRequest, Feed, ForwardRequest,
    HistoryQuery, InviteRequest, MarkReadRequest, NotificationsQuery, PresenceQuery, ReactRequest,
    ReactResponse, ReadMarker, SearchQuery, SendMessage, SetRoleRequest, TypingRequest,
    UnreadSummary,
};
use jeco_proto::ids::{MessageId, NotificationId, RoomId, Seq, UserId};
use jeco_proto::model::{
    Account, Contact, Member, Message, MessagePage, NotificationPage, PresenceInfo, Profile,
    ProfileUpdate, Role, Room, RoomKind, RoomSummary, UserRef,
};
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;

/// A fresh idempotency key for a send: 128 random bits in hex.
pub fn new_client_id() -> String {
    use rand::RngCore;
    use std::fmt::Write;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut id = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    id
}

impl Client {
    /// The signed-in account (`GET /v1/me`).
    pub async fn me(&self) -> Result<Account> {
        self.call(Method::GET, "/v1/me", None::<&()>).await
    }

    /// Changes the display name, avatar or bio (`PATCH /v1/me`); fields left `None` stay as
    /// they are, `avatar: Some(None)` clears the avatar. An avatar must be an image uploaded
    /// with [`Client::upload_avatar`]. The account as it is now.
    pub async fn update_profile(&self, update: ProfileUpdate) -> Result<Account> {
        self.call(Method::PATCH, "/v1/me", Some(&update)).await
    }

    /// The rooms the user is in, and the public rooms they may join (`GET /v1/rooms`).
    pub async fn rooms(&self) -> Result<Vec<RoomSummary>> {
        self.call(Method::GET, "/v1/rooms", None::<&()>).await
    }

    /// Creates a group room; the caller becomes its owner.
    pub async fn create_room(&self, name: &str, kind: RoomKind, topic: &str) -> Result<Room> {
        let body = CreateRoomRequest {
            name: name.to_owned(),
            kind,
            topic: topic.to_owned(),
        };
        self.call(Method::POST, "/v1/rooms", Some(&body)).await
    }

    /// One room.
    pub async fn room(&self, room: RoomId) -> Result<Room> {
        self.call(Method::GET, &format!("/v1/rooms/{room}"), None::<&()>)
            .await
    }

    /// Joins a public room.
    pub async fn join_room(&self, room: RoomId) -> Result<Room> {
        self.call(Method::POST, &format!("/v1/rooms/{room}/join"), None::<&()>)
            .await
    }

    /// Leaves a group room.
    pub async fn leave_room(&self, room: RoomId) -> Result<()> {
        self.call_empty(
            Method::POST,
            &format!("/v1/rooms/{room}/leave"),
            None::<&()>,
        )
        .await
    }

    /// The members of a room, owner first, with their read watermarks.
    pub async fn members(&self, room: RoomId) -> Result<Vec<Member>> {
        self.call(
            Method::GET,
            &format!("/v1/rooms/{room}/members"),
            None::<&()>,
        )
        .await
    }

    /// Adds someone to a group room (admins and the owner).
    pub async fn invite(&self, room: RoomId, user: UserId) -> Result<()> {
        let body = InviteRequest { user_id: user };
        self.call_empty(
            Method::POST,
            &format!("/v1/rooms/{room}/members"),
            Some(&body),
        )
        .await
    }

    /// Removes a member from a group room (admins and the owner, over members they outrank).
    pub async fn kick(&self, room: RoomId, user: UserId) -> Result<()> {
        self.call_empty(
            Method::DELETE,
            &format!("/v1/rooms/{room}/members/{user}"),
            None::<&()>,
        )
        .await
    }

    /// Gives a member a role (the owner only). Making someone [`Role::Owner`] hands the room
    /// over; the caller becomes an admin.
    pub async fn set_role(&self, room: RoomId, user: UserId, role: Role) -> Result<()> {
        let body = SetRoleRequest { role };
        self.call_empty(
            Method::PUT,
            &format!("/v1/rooms/{room}/members/{user}/role"),
            Some(&body),
        )
        .await
    }

    /// The direct room with `user`, created on first use.
    pub async fn open_direct(&self, user: UserId) -> Result<Room> {
        self.call(Method::POST, &format!("/v1/direct/{user}"), None::<&()>)
            .await
    }

    /// A page of a room's messages: before `query.before` newest first, or after
    /// `query.after` oldest first; `next` continues in the same direction.
    pub async fn history(&self, room: RoomId, query: HistoryQuery) -> Result<MessagePage> {
        self.call_query(&format!("/v1/rooms/{room}/messages"), &query)
            .await
    }

    /// Posts a message over REST. An empty `client_id` gets a fresh one; retrying with the
    /// same `client_id` returns the first message instead of posting another.
    pub async fn send_message(&self, room: RoomId, mut message: SendMessage) -> Result<Message> {
        if message.client_id.is_empty() {
            message.client_id = new_client_id();
        }
        self.call(
            Method::POST,
            &format!("/v1/rooms/{room}/messages"),
            Some(&message),
        )
        .await
    }

    /// A room's changes after `after`, in order (at most `limit`, the server's maximum when
    /// `None`): the REST way to catch up without a real-time connection.
    pub async fn changes(&self, room: RoomId, after: Seq, limit: Option<u32>) -> Result<Changes> {
        let query = AfterQuery { after, limit };
        self.call_query(&format!("/v1/rooms/{room}/changes"), &query)
            .await
    }

    /// One message.
    pub async fn message(&self, message: MessageId) -> Result<Message> {
        self.call(Method::GET, &format!("/v1/messages/{message}"), None::<&()>)
            .await
    }

    /// Replaces the text of one's own message.
    pub async fn edit_message(&self, message: MessageId, body: &str) -> Result<Message> {
        let body = EditMessageRequest {
            body: body.to_owned(),
        };
        self.call(
            Method::PATCH,
            &format!("/v1/messages/{message}"),
            Some(&body),
        )
        .await
    }

    /// Deletes a message (the author, or a room admin); it stays as a tombstone.
    pub async fn delete_message(&self, message: MessageId) -> Result<()> {
        self.call_empty(
            Method::DELETE,
            &format!("/v1/messages/{message}"),
            None::<&()>,
        )
        .await
    }

    /// Puts (`add: Some(true)`), takes back (`Some(false)`) or toggles (`None`) a reaction;
    /// whether it is present now. Only the first two are safe to retry.
    pub async fn react(&self, message: MessageId, emoji: &str, add: Option<bool>) -> Result<bool> {
        let body = ReactRequest {
            emoji: emoji.to_owned(),
            add,
        };
        let r: ReactResponse = self
            .call(
                Method::POST,
                &format!("/v1/messages/{message}/reactions"),
                Some(&body),
            )
            .await?;
        Ok(r.added)
    }

    /// Shares a message into another room the caller is in, as a new message of theirs that
    /// points at the original (its files go along). An empty `client_id` gets a fresh one;
    /// retrying with the same `client_id` returns the first forward instead of posting
    /// another.
    pub async fn forward_message(
        &self,
        message: MessageId,
        to: RoomId,
        client_id: &str,
    ) -> Result<Message> {
        let client_id = match client_id {
            "" => new_client_id(),
            id => id.to_owned(),
        };
        let body = ForwardRequest {
            room_id: to,
            client_id,
        };
        self.call(
            Method::POST,
            &format!("/v1/messages/{message}/forward"),
            Some(&body),
        )
        .await
    }

    /// Who, apart from the author, has read a message.
    pub async fn read_by(&self, message: MessageId) -> Result<Vec<UserRef>> {
        self.call(
            Method::GET,
            &format!("/v1/messages/{message}/read-by"),
            None::<&()>,
        )
        .await
    }

    /// Marks a room read up to `seq`; the watermark now.
    pub async fn mark_read(&self, room: RoomId, seq: Seq) -> Result<Seq> {
        let body = MarkReadRequest { seq };
        let r: ReadMarker = self
            .call(Method::PUT, &format!("/v1/rooms/{room}/read"), Some(&body))
            .await?;
        Ok(r.last_read_seq)
    }

    /// Says the user is typing in a room (lapses by itself), or stopped.
    pub async fn set_typing(&self, room: RoomId, active: bool) -> Result<()> {
        let body = TypingRequest { active };
        self.call_empty(
            Method::POST,
            &format!("/v1/rooms/{room}/typing"),
            Some(&body),
        )
        .await
    }

    /// Unread counts of every conversation, and of notifications.
    pub async fn unread(&self) -> Result<UnreadSummary> {
        self.call(Method::GET, "/v1/unread", None::<&()>).await
    }

    /// A page of notifications, newest first.
    pub async fn notifications(&self, query: NotificationsQuery) -> Result<NotificationPage> {
        self.call_query("/v1/notifications", &query).await
    }

    /// How many notifications are unread.
    pub async fn unread_notification_count(&self) -> Result<i64> {
        let c: Count = self
            .call(Method::GET, "/v1/notifications/unread-count", None::<&()>)
            .await?;
        Ok(c.count)
    }

    /// Marks one notification read.
    pub async fn mark_notification_read(&self, notification: NotificationId) -> Result<()> {
        self.call_empty(
            Method::POST,
            &format!("/v1/notifications/{notification}/read"),
            None::<&()>,
        )
        .await
    }

    /// Marks every notification read; how many were unread.
    pub async fn mark_all_notifications_read(&self) -> Result<i64> {
        let c: Count = self
            .call(Method::POST, "/v1/notifications/read-all", None::<&()>)
            .await?;
        Ok(c.count)
    }

    /// The user's feed (notifications and their own membership changes) after `after`.
    pub async fn feed(&self, after: Seq, limit: Option<u32>) -> Result<Feed> {
        self.call_query("/v1/feed", &AfterQuery { after, limit })
            .await
    }

    /// Users whose username starts with `q`, or whose email is `q`.
    pub async fn search_users(&self, q: &str, limit: Option<u32>) -> Result<Vec<UserRef>> {
        let query = SearchQuery {
            q: q.to_owned(),
            limit,
        };
        self.call_query("/v1/users/search", &query).await
    }

    /// Who of `users` is online, and when the others were last seen.
    pub async fn presence(&self, users: &[UserId]) -> Result<Vec<PresenceInfo>> {
        let ids = users
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",");
        self.call_query("/v1/users/presence", &PresenceQuery { ids })
            .await
    }

    /// A user's public profile.
    pub async fn profile(&self, user: UserId) -> Result<Profile> {
        self.call(Method::GET, &format!("/v1/users/{user}"), None::<&()>)
            .await
    }

    /// The user's contact list.
    pub async fn contacts(&self) -> Result<Vec<Contact>> {
        self.call(Method::GET, "/v1/contacts", None::<&()>).await
    }

    /// Adds a contact.
    pub async fn add_contact(&self, user: UserId) -> Result<()> {
        self.call_empty(Method::PUT, &format!("/v1/contacts/{user}"), None::<&()>)
            .await
    }

    /// Removes a contact.
    pub async fn remove_contact(&self, user: UserId) -> Result<()> {
        self.call_empty(Method::DELETE, &format!("/v1/contacts/{user}"), None::<&()>)
            .await
    }

    /// The users the caller blocks.
    pub async fn blocked_users(&self) -> Result<Vec<UserRef>> {
        self.call(Method::GET, "/v1/blocks", None::<&()>).await
    }

    /// Blocks a user: no direct messages or invitations between the two while it lasts.
    pub async fn block(&self, user: UserId) -> Result<()> {
        self.call_empty(Method::PUT, &format!("/v1/blocks/{user}"), None::<&()>)
            .await
    }

    /// Lifts a block; lifting one that does not exist changes nothing.
    pub async fn unblock(&self, user: UserId) -> Result<()> {
        self.call_empty(Method::DELETE, &format!("/v1/blocks/{user}"), None::<&()>)
            .await
    }
}
