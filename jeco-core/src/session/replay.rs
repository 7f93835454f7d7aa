//! Reading what a connection missed from the store: a room's changes after a position, the
//! feed after the connection's feed position, and the rooms joined or left on the way.
//!
//! Nothing is read all at once. Whatever has to come from the store is scheduled as
//! [`CatchUp`] work and read one page at a time, only when everything read before has been
//! taken by the transport: a client that reads slowly holds its own replay back, and a
//! connection's memory holds one page, however far behind it is.

use std::sync::Arc;

use jeco_proto::ws::ServerFrame;

use super::Session;
use super::frame::{Frame, closing_frame, event_frame, frame, shared_event_frame};
use crate::error::{ErrorCode, Result};
use crate::event::{Event, Published, Topic};
use crate::ids::{RoomId, Seq};

/// Work a connection still has to read from the store, in the order it goes out.
#[derive(Debug)]
pub(super) enum CatchUp {
    /// Events may have been lost on the way: every room that moved on past the connection's
    /// position is caught up, and the feed (which also brings missed joins and leaves).
    Resync,
    /// The room's changes after the connection's position in it, up to the room's end.
    Room(RoomId),
    /// Feed entries after `after` up to `upto`, which the connection had already moved past:
    /// history, sent as they are.
    FeedHistory {
        /// The last entry sent.
        after: Seq,
        /// The last entry to send.
        upto: Seq,
    },
    /// Feed entries after the connection's feed position, acted on as if they came live.
    Feed,
    /// The end of a `resume`: its reply, once everything scheduled before it is out.
    Resumed {
        /// The command's id.
        id: String,
    },
}

impl Session {
    /// Schedules catching up `room` from the connection's position in it, unless that is
    /// scheduled already (it then reads from whatever position the room has when its turn
    /// comes).
    pub(super) fn catch_up_room(&mut self, room: RoomId) {
        if self.catching.insert(room) {
            self.catch_up.push_back(CatchUp::Room(room));
        }
    }

    /// Schedules reading the feed after the connection's feed position, unless scheduled.
    pub(super) fn catch_up_feed(&mut self) {
        if !self.catching_feed {
            self.catching_feed = true;
            self.catch_up.push_back(CatchUp::Feed);
        }
    }

    /// Does the next step of the catch-up work: reads one page and queues its frames, or
    /// gives the reply of a `resume` whose replay is out.
    ///
    /// Cancel-safe: state changes only once a read has completed.
    pub(super) async fn catch_up_step(&mut self) -> Result<Option<Frame>> {
        let Some(work) = self.catch_up.front_mut() else {
            return Ok(None);
        };
        match work {
            CatchUp::Resync => {
                let moved = self.engine.rooms().positions(self.user).await?;
                self.catch_up.pop_front();
                for (room, last) in moved {
                    if self.positions.get(&room).is_some_and(|&at| last > at) {
                        self.catch_up_room(room);
                    }
                }
                self.catch_up_feed();
            }
            &mut CatchUp::Room(room) => {
                let done = match self.positions.get(&room) {
                    Some(&at) => self.room_page(room, at).await?,
                    // Left meanwhile.
                    None => true,
                };
                if done {
                    self.catch_up.pop_front();
                    self.catching.remove(&room);
                }
            }
            &mut CatchUp::FeedHistory { after, upto } => {
                let want = u32::try_from(upto.get() - after.get()).ok();
                let page = self
                    .engine
                    .notifications()
                    .feed_after(self.user, after, want)
                    .await?
                    .events;
                let last = page.last().and_then(Event::feed_seq);
                for event in page {
                    self.queued.push_back(event_frame(event)?);
                }
                match last {
                    Some(last) if last < upto => {
                        self.catch_up[0] = CatchUp::FeedHistory { after: last, upto };
                    }
                    _ => {
                        self.catch_up.pop_front();
                    }
                }
            }
            CatchUp::Feed => {
                let page = self
                    .engine
                    .notifications()
                    .feed_after(self.user, self.feed_seq, None)
                    .await?
                    .events;
                if page.is_empty() {
                    self.catch_up.pop_front();
                    self.catching_feed = false;
                }
                for event in page {
                    let Some(seq) = event.feed_seq() else {
                        continue;
                    };
                    // The entry goes out before the changes of a room it joins, so that the
                    // client knows the room first.
                    let event = Arc::new(event);
                    self.queued
                        .push_back(shared_event_frame(Arc::clone(&event))?);
                    self.apply_membership(&event);
                    self.feed_seq = seq;
                }
            }
            CatchUp::Resumed { id } => {
                let id = std::mem::take(id);
                self.catch_up.pop_front();
                return Ok(Some(frame(&ServerFrame::Resumed {
                    id,
                    rooms: self.room_positions(),
                    feed_seq: self.feed_seq,
                })));
            }
        }
        Ok(None)
    }

    /// Queues one page of `room`'s changes after `at` and records the new position; whether
    /// that was the room's end.
    async fn room_page(&mut self, room: RoomId, at: Seq) -> Result<bool> {
        let changes = self
            .engine
            .messages()
            .changes_after(self.user, room, at, None)
            .await?;
        let done = !changes.has_more || changes.events.is_empty();
        let mut at = at;
        for event in changes.events {
            if let Some((_, seq)) = event.room_seq() {
                at = seq;
            }
            self.queued.push_back(event_frame(event)?);
        }
        self.positions.insert(room, at);
        Ok(done)
    }

    /// Handles a live event of the user's own topic. Feed entries (notifications, the user's
    /// membership changes) are delivered if next, dropped if already delivered, and a gap is
    /// filled from the store. Anything else (`signed_out`, `notifications.read`) goes out as
    /// it is.
    pub(super) fn on_user_event(&mut self, published: Published) -> Option<Frame> {
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
        if let Event::Block { user_id, blocked } = *event {
            if blocked {
                self.hidden.insert(user_id);
            } else {
                self.hidden.remove(&user_id);
            }
        }
        let Some(seq) = event.feed_seq() else {
            return Some(Frame::event(published.payload, Some(event)));
        };
        if seq <= self.feed_seq {
            return None;
        }
        if seq.get() > self.feed_seq.get() + 1 {
            // Read from the store, this entry included.
            self.catch_up_feed();
            return None;
        }
        self.apply_membership(&event);
        self.feed_seq = seq;
        Some(Frame::event(published.payload, Some(event)))
    }

    /// Follows or drops a room when the user joins or leaves it.
    fn apply_membership(&mut self, event: &Event) {
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
            self.positions.insert(room_id, at);
            self.catch_up_room(room_id);
        } else {
            self.sub.unfollow(topic);
            self.positions.remove(&room_id);
        }
    }

    /// The `closing` frame for a catch-up that could not read the store: the client
    /// reconnects and resumes, which reads again.
    pub(super) fn catch_up_failed(&self, e: &crate::Error) -> Frame {
        tracing::warn!(error = %e, user = %self.user, "could not read what a connection missed");
        closing_frame(
            ErrorCode::Unavailable,
            "what was missed could not be read; reconnect and resume",
        )
    }
}
