//! Messages: send (idempotent by client id), forward, edit, delete, history, reactions and the
//! change feed that resume is built on.
//!
//! The rules: only members post, read and react; the author edits; the author or a room
//! admin deletes; in a direct room, a block on either side stops new messages.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::commit::{Committed, Queued};
use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::event::Event;
use crate::event::Topic;
use crate::ids::{MessageId, RoomId, Seq, Timestamp, UserId};
use crate::model::{
    AttachmentMeta, Message, MessagePage, Notification, NotificationKind, Role, Room, RoomKind,
};
use crate::service::{member_of, page_size};
use crate::store::{
    HistoryFrom, MessageEdit, NewAttachment, NewMessage, Reacted, ReactionChange, StoreError,
};
use crate::validate;

pub use jeco_proto::api::{Changes, HistoryQuery, SendMessage};

/// Sending, editing, deleting, history, reactions and resume.
pub struct Messages<'a> {
    core: &'a Arc<Core>,
}

/// A send that passed its checks and is queued (see [`Messages::submit`]): resolves to the
/// message once it is committed and published.
#[derive(Debug)]
#[must_use = "a pending send says when the message is committed"]
pub struct PendingSend(Pending);

#[derive(Debug)]
enum Pending {
    /// A retry of a send committed earlier: its message (taken once resolved).
    Answered(Option<Box<Message>>),
    /// The task that waits for the commit and publishes.
    Committing(tokio::task::JoinHandle<Result<Message>>),
}

impl PendingSend {
    fn answered(message: Message) -> PendingSend {
        PendingSend(Pending::Answered(Some(Box::new(message))))
    }
}

impl Future for PendingSend {
    type Output = Result<Message>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Message>> {
        match &mut self.0 {
            Pending::Answered(message) => Poll::Ready(
                message
                    .take()
                    .map(|m| *m)
                    .ok_or_else(|| Error::Internal("a pending send was awaited twice".into())),
            ),
            Pending::Committing(task) => Pin::new(task)
                .poll(cx)
                .map(|done| done.unwrap_or_else(|e| Err(Error::internal(e)))),
        }
    }
}

impl<'a> Messages<'a> {
    pub(crate) fn new(core: &'a Arc<Core>) -> Self {
        Messages { core }
    }

    /// Posts a message. It is committed before this returns and before anyone receives it.
    /// Sending the same `client_id` to the same room again returns the first message, even
    /// when the send would now be refused (the sender left, a block began, an attached file
    /// went with the deleted original): a retry after a lost answer always gets it.
    ///
    /// Errors: `invalid_client_id`, `empty_message`, `too_long`, `invalid_characters`,
    /// `invalid_reply_to`, `invalid_attachment`, `not_a_member`, `room_not_found`, `blocked`.
    pub async fn send(&self, user: UserId, room: RoomId, msg: SendMessage) -> Result<Message> {
        self.submit(user, room, msg).await?.await
    }

    /// [`Messages::send`] in two steps, for a caller with several sends in flight: this checks
    /// the send and queues it for commit, and the returned [`PendingSend`] resolves to the
    /// message once it is committed and published. Sends submitted one after the other are
    /// committed in that order; the commit and the publication go on even if the
    /// `PendingSend` is dropped.
    ///
    /// Errors: those of [`Messages::send`]; the `PendingSend` fails only when the store does.
    pub async fn submit(
        &self,
        user: UserId,
        room: RoomId,
        msg: SendMessage,
    ) -> Result<PendingSend> {
        validate::client_id(&msg.client_id)?;
        let client_id = msg.client_id.clone();
        match self.send_checked(user, room, msg).await {
            Err(refused @ Error::Refused { .. }) => {
                // Only a refused send pays for this look-up; a new message is looked up in
                // the transaction that appends it.
                match self
                    .core
                    .stores
                    .messages
                    .message_by_client_id(room, user, &client_id)
                    .await?
                {
                    Some(original) => Ok(PendingSend::answered(original)),
                    None => Err(refused),
                }
            }
            other => other,
        }
    }

    /// [`Messages::submit`] once the client id is known to be well formed.
    async fn send_checked(
        &self,
        user: UserId,
        room: RoomId,
        msg: SendMessage,
    ) -> Result<PendingSend> {
        let (room, _) = member_of(self.core, user, room).await?;
        let body = self.check_body(&msg.body, !msg.attachments.is_empty())?;
        let limits = &self.core.limits;
        if msg.attachments.len() > limits.attachments_per_message {
            return Err(Error::invalid(
                ErrorCode::InvalidAttachment,
                "attachments",
                format!("attach at most {} files", limits.attachments_per_message),
            ));
        }
        let mut attachments = Vec::with_capacity(msg.attachments.len());
        for id in &msg.attachments {
            match self.core.stores.attachments.attachment(*id).await {
                Ok(a) if a.uploader == user && a.meta.room_id == Some(room.id) => {
                    attachments.push(a.meta)
                }
                Ok(_) | Err(StoreError::NotFound(_)) => {
                    return Err(Error::invalid(
                        ErrorCode::InvalidAttachment,
                        "attachments",
                        "attach files you uploaded to this room",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let reply_author = match msg.reply_to {
            None => None,
            Some(id) => match self.core.stores.messages.message(id).await {
                Ok(m) if m.room_id == room.id => Some(m.sender.id),
                Ok(_) | Err(StoreError::NotFound(_)) => {
                    return Err(Error::invalid(
                        ErrorCode::InvalidReplyTo,
                        "reply_to",
                        "reply to a message of this room",
                    ));
                }
                Err(e) => return Err(e.into()),
            },
        };
        self.post(
            user,
            &room,
            msg.client_id,
            body,
            msg.reply_to,
            None,
            attachments,
            reply_author,
        )
        .await
    }

    /// Shares a message into another conversation the user is in, as a new message of theirs
    /// that points at the original. Files are shared along with it.
    ///
    /// Errors: `message_not_found`, `not_a_member`, `room_not_found`, `blocked`,
    /// `invalid_client_id`.
    pub async fn forward(
        &self,
        user: UserId,
        message: MessageId,
        to: RoomId,
        client_id: String,
    ) -> Result<Message> {
        validate::client_id(&client_id)?;
        match self.forward_checked(user, message, to, &client_id).await {
            Err(refused @ Error::Refused { .. }) => self
                .core
                .stores
                .messages
                .message_by_client_id(to, user, &client_id)
                .await?
                .ok_or(refused),
            other => other,
        }
    }

    /// [`Messages::forward`] once the client id is known to be well formed.
    async fn forward_checked(
        &self,
        user: UserId,
        message: MessageId,
        to: RoomId,
        client_id: &str,
    ) -> Result<Message> {
        let original = self.visible_message(user, message).await?;
        if original.deleted {
            return Err(Error::not_found(ErrorCode::MessageNotFound));
        }
        let (target, _) = member_of(self.core, user, to).await?;
        self.direct_peer(user, &target).await?;
        // A retried forward returns the first one before any file is copied again.
        if let Some(done) = self
            .core
            .stores
            .messages
            .message_by_client_id(target.id, user, client_id)
            .await?
        {
            return Ok(done);
        }
        let now = Timestamp::now();
        let mut attachments = Vec::with_capacity(original.attachments.len());
        for a in &original.attachments {
            let stored = self.core.stores.attachments.attachment(a.id).await?;
            attachments.push(
                self.core
                    .stores
                    .attachments
                    .insert_attachment(NewAttachment {
                        room: Some(target.id),
                        uploader: user,
                        blob_key: &stored.blob_key,
                        filename: &a.filename,
                        content_type: &a.content_type,
                        size: a.size,
                        now,
                    })
                    .await?,
            );
        }
        self.post(
            user,
            &target,
            client_id.to_owned(),
            original.body,
            None,
            Some(original.id),
            attachments,
            None,
        )
        .await?
        .await
    }

    /// Replaces the text of one's own message.
    ///
    /// Errors: `message_not_found`, `not_author`, `message_deleted`, `empty_message`,
    /// `too_long`.
    pub async fn edit(&self, user: UserId, message: MessageId, body: &str) -> Result<Message> {
        let message = self.visible_message(user, message).await?;
        if message.sender.id != user {
            return Err(Error::new(
                ErrorCode::NotAuthor,
                "only the author can edit a message",
            ));
        }
        if message.deleted {
            return Err(Error::invalid(
                ErrorCode::MessageDeleted,
                "message_id",
                "the message was deleted",
            ));
        }
        let body = self.check_body(body, !message.attachments.is_empty())?;
        let mentions = self.resolve_mentions(message.room_id, &body, user).await?;
        // Only people the new text mentions for the first time hear about it.
        let notify: Vec<(UserId, NotificationKind)> = mentions
            .iter()
            .filter(|id| !message.mentions.contains(id))
            .map(|id| (*id, NotificationKind::Mention))
            .collect();
        let edited = self
            .core
            .stores
            .messages
            .edit_message(MessageEdit {
                id: message.id,
                body: &body,
                mentions: &mentions,
                notify: &notify,
                now: Timestamp::now(),
            })
            .await?;
        let room_id = edited.message.room_id;
        self.core
            .publish(
                Topic::Room(room_id),
                Event::MessageEdited {
                    room_id,
                    seq: edited.seq,
                    message: edited.message.clone(),
                },
            )
            .await;
        self.announce(edited.notifications).await;
        Ok(edited.message)
    }

    /// Deletes a message, leaving a tombstone in its place. The author or a room admin may;
    /// deleting a deleted message changes nothing.
    ///
    /// Errors: `message_not_found`, `not_allowed`.
    pub async fn delete(&self, user: UserId, message: MessageId) -> Result<()> {
        let message = self.visible_message(user, message).await?;
        if message.deleted {
            return Ok(());
        }
        if message.sender.id != user {
            let me = self
                .core
                .stores
                .rooms
                .membership(message.room_id, user)
                .await?;
            if me.is_none_or(|m| m.role < Role::Admin) {
                return Err(Error::new(
                    ErrorCode::NotAllowed,
                    "only the author or a room admin can delete a message",
                ));
            }
        }
        let seq = self
            .core
            .stores
            .messages
            .delete_message(message.id, user, Timestamp::now())
            .await?;
        self.core
            .publish(
                Topic::Room(message.room_id),
                Event::MessageDeleted {
                    room_id: message.room_id,
                    seq,
                    message_id: message.id,
                    by: user,
                },
            )
            .await;
        Ok(())
    }

    /// A page of a room's messages. Without a cursor: the newest. With `before`: older ones,
    /// newest first. With `after`: newer ones, oldest first. `next` continues in the same
    /// direction.
    ///
    /// Errors: `not_a_member`, `room_not_found`.
    pub async fn history(
        &self,
        user: UserId,
        room: RoomId,
        q: HistoryQuery,
    ) -> Result<MessagePage> {
        let (room, _) = member_of(self.core, user, room).await?;
        let limit = page_size(q.limit, 50, self.core.limits.history_page);
        let from = match (q.before, q.after) {
            (Some(b), _) => HistoryFrom::Before(b),
            (None, Some(a)) => HistoryFrom::After(a),
            (None, None) => HistoryFrom::Latest,
        };
        let items = self
            .core
            .stores
            .messages
            .history(room.id, from, limit)
            .await?;
        let next = if items.len() as i64 == limit {
            items.last().map(|m| m.seq)
        } else {
            None
        };
        Ok(MessagePage { items, next })
    }

    /// Adds `emoji` to a message, or takes it back if the user had already put it there.
    /// Returns whether it is now present.
    ///
    /// Errors: `invalid_emoji`, `message_not_found`, `message_deleted`, `too_many_reactions`,
    /// `blocked` (in a direct room where either side blocks the other).
    pub async fn react(&self, user: UserId, message: MessageId, emoji: &str) -> Result<bool> {
        self.reaction(user, message, emoji, None).await
    }

    /// Makes `emoji` present on a message or not. Unlike [`Messages::react`], repeating the
    /// call changes nothing, so a client may retry it after a lost answer.
    ///
    /// Errors: as for [`Messages::react`].
    pub async fn set_reaction(
        &self,
        user: UserId,
        message: MessageId,
        emoji: &str,
        present: bool,
    ) -> Result<bool> {
        self.reaction(user, message, emoji, Some(present)).await
    }

    async fn reaction(
        &self,
        user: UserId,
        message: MessageId,
        emoji: &str,
        want: Option<bool>,
    ) -> Result<bool> {
        validate::emoji(emoji)?;
        let message = self.visible_message(user, message).await?;
        let room = self.core.stores.rooms.room(message.room_id).await?;
        self.direct_peer(user, &room).await?;
        let reacted = self
            .core
            .stores
            .messages
            .change_reaction(ReactionChange {
                message: &message,
                user,
                emoji,
                want,
                max_per_user: self.core.limits.reactions_per_user,
                notify: Some(message.sender.id).filter(|a| *a != user),
                now: Timestamp::now(),
            })
            .await?;
        let (added, seq, notification) = match reacted {
            Reacted::Changed {
                added,
                seq,
                notification,
            } => (added, seq, notification),
            Reacted::Unchanged { present } => return Ok(present),
            Reacted::MessageDeleted => {
                return Err(Error::invalid(
                    ErrorCode::MessageDeleted,
                    "message_id",
                    "the message was deleted",
                ));
            }
            Reacted::TooMany => {
                return Err(Error::invalid(
                    ErrorCode::TooManyReactions,
                    "emoji",
                    "you have used every reaction you may on this message",
                ));
            }
        };
        let (room_id, message_id, user_id, emoji) =
            (message.room_id, message.id, user, emoji.to_owned());
        let event = if added {
            Event::ReactionAdded {
                room_id,
                seq,
                message_id,
                user_id,
                emoji,
            }
        } else {
            Event::ReactionRemoved {
                room_id,
                seq,
                message_id,
                user_id,
                emoji,
            }
        };
        self.core.publish(Topic::Room(room_id), event).await;
        if let Some(notification) = notification {
            self.core
                .publish(
                    Topic::User(message.sender.id),
                    Event::Notification { notification },
                )
                .await;
        }
        Ok(added)
    }

    /// One message, if the user is a member of its room.
    pub async fn get(&self, user: UserId, message: MessageId) -> Result<Message> {
        self.visible_message(user, message).await
    }

    /// The room's changes after sequence `after`, in order and without gaps: what a client
    /// that last saw `after` has missed. Message changes carry the message as it is now, so a
    /// message deleted since arrives as its tombstone.
    ///
    /// Errors: `not_a_member`, `room_not_found`, `invalid_seq`.
    pub async fn changes_after(
        &self,
        user: UserId,
        room: RoomId,
        after: Seq,
        limit: Option<u32>,
    ) -> Result<Changes> {
        if after.get() < 0 {
            return Err(Error::invalid(
                ErrorCode::InvalidSeq,
                "after",
                "a sequence is never negative",
            ));
        }
        let (room, _) = member_of(self.core, user, room).await?;
        let limit = page_size(
            limit,
            self.core.limits.changes_page,
            self.core.limits.changes_page,
        );
        let events = self
            .core
            .stores
            .messages
            .changes_after(room.id, after, limit)
            .await?;
        let reached = events
            .last()
            .and_then(Event::room_seq)
            .map_or(after, |(_, s)| s);
        Ok(Changes {
            has_more: reached < room.last_seq,
            last_seq: room.last_seq,
            events,
        })
    }

    fn check_body(&self, raw: &str, has_files: bool) -> Result<String> {
        let body = validate::text(raw, "body", self.core.limits.message_chars, true)?;
        if body.is_empty() && !has_files {
            return Err(Error::invalid(
                ErrorCode::EmptyMessage,
                "body",
                "write something first",
            ));
        }
        Ok(body)
    }

    async fn visible_message(&self, user: UserId, id: MessageId) -> Result<Message> {
        let message = self.core.stores.messages.message(id).await?;
        let member = self
            .core
            .stores
            .rooms
            .membership(message.room_id, user)
            .await?;
        if member.is_none() {
            return Err(Error::not_found(ErrorCode::MessageNotFound));
        }
        Ok(message)
    }

    /// Queues a checked message for commit, and has a task of its own publish it once
    /// committed: its publication never waits on the caller.
    #[allow(clippy::too_many_arguments)]
    async fn post(
        &self,
        user: UserId,
        room: &Room,
        client_id: String,
        body: String,
        reply_to: Option<MessageId>,
        forwarded_from: Option<MessageId>,
        attachments: Vec<AttachmentMeta>,
        reply_author: Option<UserId>,
    ) -> Result<PendingSend> {
        let mut notify = Vec::new();
        if let Some(peer) = self.direct_peer(user, room).await? {
            notify.push((peer, NotificationKind::DirectMessage));
        }
        let mentions = self.resolve_mentions(room.id, &body, user).await?;
        notify.extend(mentions.iter().map(|id| (*id, NotificationKind::Mention)));
        if let Some(author) = reply_author.filter(|a| *a != user) {
            notify.push((author, NotificationKind::Reply));
        }
        let queued = self.core.commits.enqueue(NewMessage {
            room_id: room.id,
            sender_id: user,
            client_id,
            body,
            reply_to,
            forwarded_from,
            attachments,
            mentions,
            notify,
            now: Timestamp::now(),
        })?;
        let (core, public) = (Arc::clone(self.core), room.kind == RoomKind::Public);
        Ok(PendingSend(Pending::Committing(tokio::spawn(async move {
            Messages { core: &core }.publish(queued, public).await
        }))))
    }

    /// Waits for a queued message's commit and publishes it, in its turn.
    async fn publish(&self, queued: Queued, public: bool) -> Result<Message> {
        let (message, notifications, turn) = match queued.committed().await? {
            Committed::Existing(m) => return Ok(m),
            Committed::New(m, n, turn) => (m, n, turn),
        };
        // Messages of a room committed together go out in sequence order.
        turn.wait().await;
        self.core
            .publish(
                Topic::Room(message.room_id),
                Event::MessageCreated {
                    room_id: message.room_id,
                    seq: message.seq,
                    message: message.clone(),
                },
            )
            .await;
        drop(turn);
        self.announce(notifications).await;
        if public {
            self.core
                .announce_activity(message.room_id, message.seq)
                .await;
        }
        Ok(message)
    }

    /// The members of `room` that `body` mentions, other than its author, at most the
    /// configured number. Names that are not members do not use up the allowance.
    async fn resolve_mentions(
        &self,
        room: RoomId,
        body: &str,
        author: UserId,
    ) -> Result<Vec<UserId>> {
        const MOST_NAMES_LOOKED_UP: usize = 100;
        let names = validate::mentions(body, MOST_NAMES_LOOKED_UP);
        let members = self.core.stores.rooms.members_named(room, &names).await?;
        Ok(members
            .into_iter()
            .filter(|id| *id != author)
            .take(self.core.limits.mentions_per_message)
            .collect())
    }

    /// In a direct room, the other person, after checking that neither blocks the other;
    /// `None` in group rooms.
    ///
    /// Errors: `blocked`.
    async fn direct_peer(&self, user: UserId, room: &Room) -> Result<Option<UserId>> {
        if room.kind != RoomKind::Direct {
            return Ok(None);
        }
        let peer = self
            .core
            .stores
            .rooms
            .members(room.id)
            .await?
            .into_iter()
            .map(|m| m.user.id)
            .find(|id| *id != user);
        if let Some(peer) = peer
            && self
                .core
                .stores
                .contacts
                .blocked_either_way(user, peer)
                .await?
        {
            return Err(Error::new(
                ErrorCode::Blocked,
                "you cannot message this user",
            ));
        }
        Ok(peer)
    }

    async fn announce(&self, notifications: Vec<(UserId, Notification)>) {
        for (recipient, notification) in notifications {
            self.core
                .publish(Topic::User(recipient), Event::Notification { notification })
                .await;
        }
    }
}
