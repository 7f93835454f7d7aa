//! Rooms: creating group rooms, the room list, joining, inviting, leaving, kicking, roles,
//! direct rooms and read markers.
//!
//! The rules: anyone may create a group room and becomes its owner; anyone may join a public
//! room; admins and the owner add people and kick members of lower rank; only the owner
//! changes roles; direct rooms have exactly their two members, who cannot leave them, and are
//! refused while either blocks the other.

use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::event::Topic;
use crate::event::{Event, LeaveReason};
use crate::ids::{MessageId, RoomId, Seq, Timestamp, UserId};
use crate::model::{Member, NotificationKind, Role, Room, RoomKind, RoomSummary, UserRef};
use crate::service::{Notifications, member_of, visible_room};
use crate::store::{MembershipSeqs, NewRoom, Opening, StoreError};
use crate::validate;

/// Group rooms, direct rooms, members and read markers.
pub struct Rooms<'a> {
    core: &'a Core,
}

impl<'a> Rooms<'a> {
    pub(crate) fn new(core: &'a Core) -> Self {
        Rooms { core }
    }

    /// Creates a public or private group room owned by `user`.
    ///
    /// Errors: `invalid_room_name`, `invalid_kind`, `too_long`, `room_name_taken`.
    pub async fn create(
        &self,
        user: UserId,
        name: &str,
        kind: RoomKind,
        topic: &str,
    ) -> Result<Room> {
        let name = validate::room_name(name)?;
        let topic = validate::text(topic, "topic", self.core.limits.topic_chars, false)?;
        if kind == RoomKind::Direct {
            return Err(Error::invalid(
                ErrorCode::InvalidKind,
                "kind",
                "direct rooms are opened with a user, not created by name",
            ));
        }
        let now = Timestamp::now();
        let new = NewRoom {
            kind,
            name: Some(name),
            dm_key: None,
            topic,
            created_by: Some(user),
            now,
        };
        let (room, seqs) = self
            .core
            .stores
            .rooms
            .create_room(new, &[(user, Role::Owner)])
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    Error::new(ErrorCode::RoomNameTaken, "a room with that name exists")
                }
                other => other.into(),
            })?;
        self.announce_joins(&room, &seqs, &[(user, Role::Owner)], None)
            .await?;
        Ok(room)
    }

    /// The rooms `user` can see: every public room and every room they are a member of, with
    /// their role, read watermark and unread count.
    pub async fn list(&self, user: UserId) -> Result<Vec<RoomSummary>> {
        Ok(self.core.stores.rooms.rooms_for(user).await?)
    }

    /// The last sequence of every room `user` is a member of: where a live connection
    /// starts. Cheaper than [`Rooms::list`], which also counts unread messages.
    pub async fn positions(&self, user: UserId) -> Result<Vec<(RoomId, Seq)>> {
        Ok(self.core.stores.rooms.last_seqs_of(user).await?)
    }

    /// [`Rooms::positions`] and the user's feed sequence, read together where the store can.
    pub async fn positions_and_feed(&self, user: UserId) -> Result<(Vec<(RoomId, Seq)>, Seq)> {
        let opening = self.opening(user).await?;
        Ok((opening.rooms, opening.feed))
    }

    /// What a real-time connection of `user` opens with: positions, feed position and the
    /// users they block, in one read where the store can.
    pub(crate) async fn opening(&self, user: UserId) -> Result<Opening> {
        let stores = &self.core.stores;
        if let Some(opening) = stores.rooms.opening_of(user).await? {
            return Ok(opening);
        }
        Ok(Opening {
            rooms: stores.rooms.last_seqs_of(user).await?,
            feed: stores.feed.feed_seq(user).await?,
            blocked: stores
                .contacts
                .blocked_users(user)
                .await?
                .into_iter()
                .map(|u| u.id)
                .collect(),
        })
    }

    /// One room, if `user` may see it.
    pub async fn get(&self, user: UserId, room: RoomId) -> Result<Room> {
        visible_room(self.core, user, room).await.map(|(r, _)| r)
    }

    /// The members of a room `user` may see, owner first.
    pub async fn members(&self, user: UserId, room: RoomId) -> Result<Vec<Member>> {
        let (room, _) = visible_room(self.core, user, room).await?;
        Ok(self.core.stores.rooms.members(room.id).await?)
    }

    /// Joins a public room. Joining a room one is already in changes nothing.
    ///
    /// Errors: `room_not_found` (including private and direct rooms one is not in).
    pub async fn join(&self, user: UserId, room: RoomId) -> Result<Room> {
        let (room, membership) = visible_room(self.core, user, room).await?;
        if membership.is_some() {
            return Ok(room);
        }
        let now = Timestamp::now();
        if let Some(seqs) = self
            .core
            .stores
            .rooms
            .add_member(room.id, user, Role::Member, None, now)
            .await?
        {
            self.announce_joins(&room, &[seqs], &[(user, Role::Member)], None)
                .await?;
        }
        Ok(self.core.stores.rooms.room(room.id).await?)
    }

    /// Adds `target` to a group room. The actor must be an admin or the owner; the target
    /// gets an invite notification. Adding a member changes nothing.
    ///
    /// Errors: `not_allowed` (rank, or a direct room), `blocked`, `user_not_found`.
    pub async fn invite(&self, actor: UserId, room: RoomId, target: UserId) -> Result<()> {
        let (room, me) = member_of(self.core, actor, room).await?;
        if room.kind == RoomKind::Direct {
            return Err(Error::new(
                ErrorCode::NotAllowed,
                "direct rooms have two members",
            ));
        }
        if me.role < Role::Admin {
            return Err(Error::new(
                ErrorCode::NotAllowed,
                "only admins can add people",
            ));
        }
        self.core.stores.users.profile(target).await?;
        if self
            .core
            .stores
            .contacts
            .blocked_either_way(actor, target)
            .await?
        {
            return Err(Error::new(
                ErrorCode::Blocked,
                "this user cannot be added by you",
            ));
        }
        let now = Timestamp::now();
        let Some(seqs) = self
            .core
            .stores
            .rooms
            .add_member(room.id, target, Role::Member, Some(actor), now)
            .await?
        else {
            return Ok(());
        };
        self.announce_joins(&room, &[seqs], &[(target, Role::Member)], Some(actor))
            .await?;
        let notification = self
            .core
            .stores
            .feed
            .notify(target, NotificationKind::Invite, room.id, actor, now)
            .await?;
        self.core
            .publish(Topic::User(target), Event::Notification { notification })
            .await;
        Ok(())
    }

    /// Leaves a group room. An owner who leaves hands the room to the longest-standing admin,
    /// or else the longest-standing member.
    ///
    /// Errors: `not_a_member`, `not_allowed` (direct rooms cannot be left).
    pub async fn leave(&self, user: UserId, room: RoomId) -> Result<()> {
        let (room, me) = member_of(self.core, user, room).await?;
        if room.kind == RoomKind::Direct {
            return Err(Error::new(
                ErrorCode::NotAllowed,
                "a direct conversation cannot be left",
            ));
        }
        let now = Timestamp::now();
        if me.role == Role::Owner {
            let members = self.core.stores.rooms.members(room.id).await?;
            if let Some(heir) = members.iter().find(|m| m.user.id != user) {
                self.change_role(room.id, heir.user.id, Role::Owner, now)
                    .await?;
            }
        }
        self.remove(room.id, user, LeaveReason::Left, None, now)
            .await
    }

    /// Removes `target` from a group room. The actor must outrank the target and be at least
    /// an admin.
    ///
    /// Errors: `not_allowed`, `member_not_found`, `invalid_target` (use leave for yourself).
    pub async fn kick(&self, actor: UserId, room: RoomId, target: UserId) -> Result<()> {
        if actor == target {
            return Err(Error::invalid(
                ErrorCode::InvalidTarget,
                "user_id",
                "use leave to leave a room",
            ));
        }
        let (room, me) = member_of(self.core, actor, room).await?;
        if room.kind == RoomKind::Direct {
            return Err(Error::new(
                ErrorCode::NotAllowed,
                "direct rooms have two members",
            ));
        }
        let them = self
            .core
            .stores
            .rooms
            .membership(room.id, target)
            .await?
            .ok_or(Error::not_found(ErrorCode::MemberNotFound))?;
        if me.role < Role::Admin || me.role <= them.role {
            return Err(Error::new(
                ErrorCode::NotAllowed,
                "you can only remove members below your rank",
            ));
        }
        self.remove(
            room.id,
            target,
            LeaveReason::Kicked,
            Some(actor),
            Timestamp::now(),
        )
        .await
    }

    /// Changes a member's role. Only the owner may; making someone owner hands the room over
    /// and makes the old owner an admin.
    ///
    /// Errors: `not_allowed`, `member_not_found`.
    pub async fn set_role(
        &self,
        actor: UserId,
        room: RoomId,
        target: UserId,
        role: Role,
    ) -> Result<()> {
        let (room, me) = member_of(self.core, actor, room).await?;
        if me.role != Role::Owner || room.kind == RoomKind::Direct {
            return Err(Error::new(
                ErrorCode::NotAllowed,
                "only the owner changes roles",
            ));
        }
        if target == actor {
            return Err(Error::invalid(
                ErrorCode::InvalidTarget,
                "user_id",
                "hand the room to someone else instead",
            ));
        }
        let them = self
            .core
            .stores
            .rooms
            .membership(room.id, target)
            .await?
            .ok_or(Error::not_found(ErrorCode::MemberNotFound))?;
        if them.role == role {
            return Ok(());
        }
        let now = Timestamp::now();
        self.change_role(room.id, target, role, now).await?;
        if role == Role::Owner {
            self.change_role(room.id, actor, Role::Admin, now).await?;
        }
        Ok(())
    }

    /// The direct room between `user` and `peer`, created on first use. Either may call it;
    /// both get the same room.
    ///
    /// Errors: `invalid_target` (yourself), `user_not_found`, `blocked`.
    pub async fn open_direct(&self, user: UserId, peer: UserId) -> Result<Room> {
        if user == peer {
            return Err(Error::invalid(
                ErrorCode::InvalidTarget,
                "user_id",
                "you cannot message yourself",
            ));
        }
        self.core.stores.users.profile(peer).await?;
        if self
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
        let key = format!("{}:{}", user.min(peer), user.max(peer));
        if let Some(room) = self.core.stores.rooms.direct_room(&key).await? {
            return Ok(room);
        }
        let members = [(user, Role::Member), (peer, Role::Member)];
        let new = NewRoom {
            kind: RoomKind::Direct,
            name: None,
            dm_key: Some(key.clone()),
            topic: String::new(),
            created_by: Some(user),
            now: Timestamp::now(),
        };
        match self.core.stores.rooms.create_room(new, &members).await {
            Ok((room, seqs)) => {
                let mut sorted = members;
                sorted.sort_by_key(|(u, _)| *u);
                self.announce_joins(&room, &seqs, &sorted, None).await?;
                Ok(room)
            }
            // The peer opened it at the same moment.
            Err(StoreError::Conflict(_)) => self
                .core
                .stores
                .rooms
                .direct_room(&key)
                .await?
                .ok_or(Error::not_found(ErrorCode::RoomNotFound)),
            Err(e) => Err(e.into()),
        }
    }

    /// Marks everything up to `seq` in `room` as read by `user`. The watermark only moves
    /// forward and never past the room's last change. Returns the watermark. The user's
    /// notifications that point into the room at or before it are marked read with it (a
    /// direct message's, a mention's), and their connections hear of it.
    ///
    /// In a public room the user has not joined, this records how far they have looked at
    /// it: the room list shows new activity beyond that.
    ///
    /// Errors: `invalid_seq`, `room_not_found`.
    pub async fn mark_read(&self, user: UserId, room: RoomId, seq: Seq) -> Result<Seq> {
        if seq.get() < 0 {
            return Err(Error::invalid(
                ErrorCode::InvalidSeq,
                "seq",
                "a sequence is never negative",
            ));
        }
        let (room, membership) = visible_room(self.core, user, room).await?;
        let target = seq.min(room.last_seq);
        let Some(me) = membership else {
            return Ok(self
                .core
                .stores
                .rooms
                .mark_seen(room.id, user, target)
                .await?);
        };
        let at = match self
            .core
            .stores
            .rooms
            .advance_read_marker(room.id, user, target)
            .await?
        {
            Some(now_at) => {
                self.core
                    .publish(
                        Topic::Room(room.id),
                        Event::Read {
                            room_id: room.id,
                            user_id: user,
                            seq: now_at,
                        },
                    )
                    .await;
                now_at
            }
            None => me.last_read_seq,
        };
        let read = self
            .core
            .stores
            .feed
            .mark_room_notifications_read(user, room.id, at, Timestamp::now())
            .await?;
        if !read.is_empty() {
            Notifications::new(self.core)
                .announce_read(user, read, false)
                .await?;
        }
        Ok(at)
    }

    /// Who, apart from the author, has read `message`.
    pub async fn read_by(&self, user: UserId, message: MessageId) -> Result<Vec<UserRef>> {
        let message = self.core.stores.messages.message(message).await?;
        member_of(self.core, user, message.room_id)
            .await
            .map_err(|_| Error::not_found(ErrorCode::MessageNotFound))?;
        Ok(self
            .core
            .stores
            .messages
            .read_by(message.room_id, message.seq, message.sender.id)
            .await?)
    }

    async fn change_role(
        &self,
        room: RoomId,
        user: UserId,
        role: Role,
        now: Timestamp,
    ) -> Result<()> {
        let seq = self
            .core
            .stores
            .rooms
            .set_role(room, user, role, now)
            .await?;
        self.core
            .publish(
                Topic::Room(room),
                Event::MemberRole {
                    room_id: room,
                    seq,
                    user_id: user,
                    role,
                },
            )
            .await;
        Ok(())
    }

    async fn remove(
        &self,
        room: RoomId,
        user: UserId,
        reason: LeaveReason,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<()> {
        let Some(seqs) = self
            .core
            .stores
            .rooms
            .remove_member(room, user, reason, by, now)
            .await?
        else {
            return Ok(());
        };
        self.core
            .publish(
                Topic::Room(room),
                Event::MemberLeft {
                    room_id: room,
                    seq: seqs.room_seq,
                    user_id: user,
                    reason,
                    by,
                },
            )
            .await;
        self.core
            .publish(
                Topic::User(user),
                Event::Membership {
                    feed_seq: seqs.feed_seq,
                    room_id: room,
                    room_seq: seqs.room_seq,
                    joined: false,
                },
            )
            .await;
        // A public room they are no longer in shows new activity from here on, not their
        // own leaving.
        self.core
            .stores
            .rooms
            .mark_seen(room, user, seqs.room_seq)
            .await?;
        Ok(())
    }

    /// Publishes the joins a store call committed: `seqs[i]` belongs to `members[i]`.
    async fn announce_joins(
        &self,
        room: &Room,
        seqs: &[MembershipSeqs],
        members: &[(UserId, Role)],
        by: Option<UserId>,
    ) -> Result<()> {
        let ids: Vec<UserId> = members.iter().map(|(u, _)| *u).collect();
        let refs = self.core.stores.users.user_refs(&ids).await?;
        for (s, (user, role)) in seqs.iter().zip(members) {
            let Some(user_ref) = refs.iter().find(|r| r.id == *user).cloned() else {
                continue;
            };
            self.core
                .publish(
                    Topic::Room(room.id),
                    Event::MemberJoined {
                        room_id: room.id,
                        seq: s.room_seq,
                        user: user_ref,
                        role: *role,
                        by,
                    },
                )
                .await;
            self.core
                .publish(
                    Topic::User(*user),
                    Event::Membership {
                        feed_seq: s.feed_seq,
                        room_id: room.id,
                        room_seq: s.room_seq,
                        joined: true,
                    },
                )
                .await;
        }
        Ok(())
    }
}
