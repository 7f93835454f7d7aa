//! Online status and typing. Ephemeral: kept by the presence backend, never written to SQL
//! (blocks, which hide a user's status and typing from the blocker, are read from it).
//!
//! Only transitions are announced (first connection online, last connection offline), so a
//! user with several tabs or a reconnecting client does not flood everyone with events; and
//! only to the people who share a room with the user (rooms up to a size) or have them as a
//! contact.

use std::collections::HashSet;

use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::event::Event;
use crate::event::Topic;
use crate::ids::{RoomId, UserId};
use crate::model::PresenceInfo;
use crate::service::member_of;

/// Online status and typing.
pub struct PresenceService<'a> {
    core: &'a Core,
}

impl<'a> PresenceService<'a> {
    pub(crate) fn new(core: &'a Core) -> Self {
        PresenceService { core }
    }

    /// A connection of `user` opened. On their first, the people who share a small room
    /// with them or have them as a contact hear that they are online.
    pub async fn connected(&self, user: UserId) -> Result<()> {
        if self
            .core
            .presence
            .connect(user)
            .await
            .map_err(Error::internal)?
        {
            self.core.announce_presence(user, true, None).await;
        }
        Ok(())
    }

    /// A connection of `user` closed. On their last, the same people hear that they are
    /// offline, and since when.
    pub async fn disconnected(&self, user: UserId) -> Result<()> {
        if let Some(last_seen) = self
            .core
            .presence
            .disconnect(user)
            .await
            .map_err(Error::internal)?
        {
            self.core
                .announce_presence(user, false, Some(last_seen))
                .await;
        }
        Ok(())
    }

    /// The status of each of `users` (at most 1,000 at once).
    ///
    /// Errors: `too_many_users`.
    pub async fn status(&self, users: &[UserId]) -> Result<Vec<PresenceInfo>> {
        if users.len() > 1000 {
            return Err(Error::invalid(
                ErrorCode::TooManyUsers,
                "users",
                "ask for at most 1000 users",
            ));
        }
        self.core
            .presence
            .status(users)
            .await
            .map_err(Error::internal)
    }

    /// `user` is typing (`active`) or stopped in `room`. A typing indication lapses by itself
    /// after the configured time unless renewed; renewals are announced only once the last
    /// announcement is half-way to lapsing.
    ///
    /// Errors: `not_a_member`, `room_not_found`.
    pub async fn typing(&self, user: UserId, room: RoomId, active: bool) -> Result<()> {
        let (room, _) = member_of(self.core, user, room).await?;
        let ttl = self.core.limits.typing_ttl;
        let announce = if active {
            self.core.presence.start_typing(room.id, user, ttl).await
        } else {
            self.core.presence.stop_typing(room.id, user).await
        }
        .map_err(Error::internal)?;
        if announce {
            self.core
                .publish(
                    Topic::Room(room.id),
                    Event::Typing {
                        room_id: room.id,
                        user_id: user,
                        active,
                        expires_in_ms: ttl.as_millis() as u64,
                    },
                )
                .await;
        }
        Ok(())
    }

    /// Who is typing in `room` now, as `user` may see it: not the users they block.
    ///
    /// Errors: `not_a_member`, `room_not_found`.
    pub async fn typing_in(&self, user: UserId, room: RoomId) -> Result<Vec<UserId>> {
        let (room, _) = member_of(self.core, user, room).await?;
        let mut typing = self
            .core
            .presence
            .typing(room.id)
            .await
            .map_err(Error::internal)?;
        if !typing.is_empty() {
            let hidden = self.blocked_by(user).await?;
            typing.retain(|u| !hidden.contains(u));
        }
        Ok(typing)
    }

    /// [`PresenceService::status`] as `viewer` may see it: a user the viewer blocks shows as offline
    /// and never seen.
    ///
    /// Errors: `too_many_users`.
    pub async fn status_seen_by(
        &self,
        viewer: UserId,
        users: &[UserId],
    ) -> Result<Vec<PresenceInfo>> {
        let mut status = self.status(users).await?;
        let hidden = self.blocked_by(viewer).await?;
        for s in status.iter_mut().filter(|s| hidden.contains(&s.user_id)) {
            s.online = false;
            s.last_seen = None;
        }
        Ok(status)
    }

    async fn blocked_by(&self, user: UserId) -> Result<HashSet<UserId>> {
        Ok(self
            .core
            .stores
            .contacts
            .blocked_users(user)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect())
    }
}
