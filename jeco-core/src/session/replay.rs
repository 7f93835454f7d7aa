//! Reading what a connection missed from the store: a room's changes after a position, the
//! feed after the connection's feed position, and the rooms joined or left on the way.

use std::sync::Arc;

use super::Session;
use super::frame::{Frame, closing_frame, event_frame, shared_event_frame};
use crate::error::{ErrorCode, Result};
use crate::event::{Event, Published, Topic};
use crate::ids::{RoomId, Seq};

impl Session {
    /// Events may have been lost on the way: reads from the store whatever the connection
    /// has not seen, room by room (only rooms that moved on) and in the feed (which also
    /// brings joins and leaves that were missed).
    pub(super) async fn resync(&mut self) -> Result<()> {
        for (room, last) in self.engine.rooms().positions(self.user).await? {
            if let Some(&at) = self.positions.get(&room)
                && last > at
            {
                self.replay_room(room, at).await?;
            }
        }
        self.replay_new_feed().await
    }

    /// Queues every change of `room` after `after`, and records the new position.
    pub(super) async fn replay_room(&mut self, room: RoomId, after: Seq) -> Result<()> {
        let mut at = after;
        loop {
            let changes = self
                .engine
                .messages()
                .changes_after(self.user, room, at, None)
                .await?;
            let done = !changes.has_more || changes.events.is_empty();
            for event in changes.events {
                if let Some((_, seq)) = event.room_seq() {
                    at = seq;
                }
                self.queued.push_back(event_frame(event)?);
            }
            // Progress is recorded page by page, together with the queued frames, so an
            // interrupted replay resumes where it stopped.
            self.positions.insert(room, at);
            if done {
                return Ok(());
            }
        }
    }

    /// Handles a live event of the user's own topic. Feed entries (notifications, the user's
    /// membership changes) are delivered if next, dropped if already delivered, and a gap is
    /// filled from the store first. Anything else (`signed_out`, `notifications.read`) goes
    /// out as it is.
    pub(super) async fn on_user_event(&mut self, published: Published) -> Option<Frame> {
        let Ok(event) = published.event() else {
            tracing::warn!(user = %self.user, "skipped an event of the user's topic that does not parse");
            return None;
        };
        if let Event::SignedOut { .. } = *event {
            self.ending = Some((
                ErrorCode::SignedOut,
                closing_frame(
                    ErrorCode::SignedOut,
                    "the account was signed out everywhere; sign in again",
                ),
            ));
        }
        let Some(seq) = event.feed_seq() else {
            return Some(Frame::event(published.payload, Some(event)));
        };
        if seq <= self.feed_seq {
            return None;
        }
        if seq.get() > self.feed_seq.get() + 1 {
            if let Err(e) = self.replay_new_feed().await {
                tracing::warn!(error = %e, user = %self.user, "could not fill a feed gap");
            }
            return None;
        }
        self.apply_membership(&event).await;
        self.feed_seq = seq;
        Some(Frame::event(published.payload, Some(event)))
    }

    /// Queues the feed entries after the connection's feed position, acting on membership
    /// changes as they come, and advances the position entry by entry.
    pub(super) async fn replay_new_feed(&mut self) -> Result<()> {
        loop {
            let page = self
                .engine
                .notifications()
                .feed_after(self.user, self.feed_seq, None)
                .await?
                .events;
            if page.is_empty() {
                return Ok(());
            }
            for event in page {
                let Some(seq) = event.feed_seq() else {
                    continue;
                };
                // The entry goes out before the changes of a room it joins (which
                // `apply_membership` queues), so that the client knows the room first.
                let event = Arc::new(event);
                self.queued
                    .push_back(shared_event_frame(Arc::clone(&event))?);
                self.apply_membership(&event).await;
                self.feed_seq = seq;
            }
        }
    }

    /// Follows or drops a room when the user joins or leaves it.
    async fn apply_membership(&mut self, event: &Event) {
        let &Event::Membership {
            room_id,
            room_seq,
            joined,
            ..
        } = event
        else {
            return;
        };
        let topic = Topic::Room(room_id);
        if joined {
            // Follow first, then read the store from just before the join: what was
            // published before the follow took effect comes from the store, what after
            // from the topic, and the positions drop whatever arrives twice.
            self.sub.follow(topic);
            let from = Seq(room_seq.get() - 1);
            let at = self
                .positions
                .get(&room_id)
                .copied()
                .unwrap_or(from)
                .max(from);
            if let Err(e) = self.replay_room(room_id, at).await {
                tracing::warn!(error = %e, room = %room_id, "could not load a joined room");
            }
        } else {
            self.sub.unfollow(topic);
            self.positions.remove(&room_id);
        }
    }
}
