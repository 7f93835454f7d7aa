//! One authenticated real-time connection, independent of the transport that carries it.
//!
//! A transport (WebSocket, SSE + HTTP, an embedder's own socket) authenticates the user,
//! opens a [`Session`], sends it the client's [`ClientFrame`]s with [`Session::handle`] and
//! writes out whatever [`Session::next`] yields, until it returns `None`; then it calls
//! [`Session::close`]. Frames are JSON bytes ready to send: live events are forwarded exactly
//! as they were serialized when published.
//!
//! The session keeps, per room, the last sequence it delivered. A live event at or below it
//! is a duplicate and is dropped; one more than a step ahead means events were lost on the
//! way (a pub/sub backend may lose them), and the missing ones are read from the store before
//! it. So what a client receives for a room is always gap-free and in order.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;
use jeco_proto::PROTOCOL_VERSION;
use jeco_proto::ws::{ClientFrame, RoomPosition, ServerFrame};
use serde::Serialize;

use crate::Engine;
use crate::auth::random_key;
use crate::error::{Error, ErrorCode, Result};
use crate::event::{Event, Published};
use crate::ids::{RoomId, Seq, UserId};
use crate::pubsub::{Delivery, Subscription, Topic};
use crate::service::SendMessage;
use crate::service::notifications::feed_seq_of;

/// The interval at which transports ping their clients.
pub const HEARTBEAT_MS: u64 = 20_000;

/// What a session wants sent next.
#[derive(Clone, Debug, PartialEq)]
pub enum Outbound {
    /// A frame to send as it is.
    Frame(Bytes),
    /// Send this `closing` frame, then close the connection: the client fell too far behind
    /// and must reconnect and resume.
    Close(Bytes),
}

/// One authenticated connection's state.
pub struct Session {
    engine: Engine,
    user: UserId,
    id: String,
    sub: Subscription,
    positions: HashMap<RoomId, Seq>,
    feed_seq: Seq,
    queued: VecDeque<Bytes>,
    /// Rooms this connection said it is typing in: a message sent there, or the connection
    /// closing, ends the indication at once rather than when it lapses.
    typing: HashSet<RoomId>,
    /// Set when the session must end (the account was signed out): the `closing` frame.
    ending: Option<Bytes>,
    /// The delivery being processed when [`Session::next`] was last interrupted at an await
    /// (a transport's `select!` drops the future); taken up again on the next call.
    pending: Option<Delivery>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("id", &self.id)
            .finish()
    }
}

impl Session {
    /// Opens a session for an authenticated `user` and returns it with its `ready` frame.
    /// The user counts as online until [`Session::close`].
    pub async fn open(engine: &Engine, user: UserId) -> Result<(Session, Bytes)> {
        // Subscribe before reading positions: anything published in between is queued, and
        // the positions tell which of it is old.
        let sub = engine.subscribe(user).await?;
        let (positions, feed_seq) = engine.rooms().positions_and_feed(user).await?;
        let positions: HashMap<RoomId, Seq> = positions.into_iter().collect();
        engine.presence().connected(user).await?;
        let session = Session {
            engine: engine.clone(),
            user,
            id: random_key(),
            sub,
            positions,
            feed_seq,
            queued: VecDeque::new(),
            typing: HashSet::new(),
            ending: None,
            pending: None,
        };
        let ready = frame(&ServerFrame::Ready {
            protocol: PROTOCOL_VERSION,
            user_id: user,
            session_id: session.id.clone(),
            heartbeat_ms: HEARTBEAT_MS,
            rooms: session.room_positions(),
            feed_seq,
        });
        Ok((session, ready))
    }

    /// The authenticated user.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// This connection's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Carries out one command and returns the reply (`ack`, `error`, `pong`, `resumed`).
    /// Events a `resume` replays are queued before the reply and come out of
    /// [`Session::next`] first; a transport that sends both on one channel should drain
    /// [`Session::take_queued`] before sending the reply.
    pub async fn handle(&mut self, frame_in: ClientFrame) -> Bytes {
        self.handle_with_outcome(frame_in).await.0
    }

    /// Like [`Session::handle`], also saying whether the command succeeded (for a
    /// transport's metrics).
    pub async fn handle_with_outcome(&mut self, frame_in: ClientFrame) -> (Bytes, bool) {
        let id = frame_in.id().map(str::to_owned);
        match self.run(frame_in).await {
            Ok(reply) => (frame(&reply), true),
            Err(e) => (error_frame(id, &e), false),
        }
    }

    /// Frames queued by the last command (a resume's replay), oldest first.
    pub fn take_queued(&mut self) -> Vec<Bytes> {
        self.queued.drain(..).collect()
    }

    /// The next frame to send, waiting for one if none is ready. `None` when the session has
    /// ended.
    ///
    /// Cancel-safe: a transport may poll it in `select!` next to reading its socket. An event
    /// taken off the subscription is kept until fully handled, and replays record their
    /// progress event by event, so an interrupted call loses and repeats nothing.
    pub async fn next(&mut self) -> Option<Outbound> {
        loop {
            if let Some(f) = self.queued.pop_front() {
                return Some(Outbound::Frame(f));
            }
            if let Some(closing) = self.ending.take() {
                return Some(Outbound::Close(closing));
            }
            let delivery = match self.pending.take() {
                Some(d) => d,
                None => match self.sub.next().await {
                    Some(d) => d,
                    None => return self.ended(),
                },
            };
            self.pending = Some(delivery.clone());
            let frame = match delivery {
                Delivery::Event(published) => self.process(published).await,
                Delivery::Resync => {
                    if let Err(e) = Box::pin(self.resync()).await {
                        tracing::warn!(error = %e, user = %self.user, "could not resync from the store");
                    }
                    None
                }
            };
            self.pending = None;
            if let Some(f) = frame {
                return Some(Outbound::Frame(f));
            }
        }
    }

    /// Events may have been lost on the way: reads from the store whatever the connection
    /// has not seen, room by room (only rooms that moved on) and in the feed (which also
    /// brings joins and leaves that were missed).
    async fn resync(&mut self) -> Result<()> {
        for (room, last) in self.engine.rooms().positions(self.user).await? {
            if let Some(&at) = self.positions.get(&room)
                && last > at
            {
                self.replay_room(room, at).await?;
            }
        }
        self.replay_new_feed().await
    }

    fn ended(&self) -> Option<Outbound> {
        self.sub.overflowed().then(|| {
            Outbound::Close(frame(&ServerFrame::Closing {
                code: ErrorCode::SlowConsumer,
                message: "too many events were waiting; reconnect and resume".to_owned(),
            }))
        })
    }

    /// Handles one published event: the frame to send now, if any (replayed events are
    /// queued).
    async fn process(&mut self, published: Published) -> Option<Bytes> {
        match (published.topic, published.seq) {
            (Topic::Room(room), Some(seq)) => {
                let &at = self.positions.get(&room)?;
                if seq <= at {
                    return None;
                }
                if seq.get() == at.get() + 1 {
                    self.positions.insert(room, seq);
                    return Some(published.payload);
                }
                // A gap: what was lost is read from the store, up to and including this.
                // Rare and deep: boxed, so that the future of `next` (which a transport holds
                // for every idle connection) stays small.
                if let Err(e) = Box::pin(self.replay_room(room, at)).await {
                    tracing::warn!(error = %e, %room, "could not fill a gap from the store");
                }
                None
            }
            (Topic::User(_), _) => Box::pin(self.on_feed_event(published.payload)).await,
            _ => Some(published.payload),
        }
    }

    /// Ends the session: typing indications of this connection stop, and the user's
    /// connection count drops.
    pub async fn close(self) {
        for room in &self.typing {
            // Best effort: the indication lapses by itself anyway.
            let _ = self.engine.presence().typing(self.user, *room, false).await;
        }
        if let Err(e) = self.engine.presence().disconnected(self.user).await {
            tracing::warn!(error = %e, user = %self.user, "presence update on close failed");
        }
    }

    async fn run(&mut self, frame_in: ClientFrame) -> Result<ServerFrame> {
        let user = self.user;
        Ok(match frame_in {
            ClientFrame::Auth { .. } => {
                return Err(Error::invalid(
                    ErrorCode::AlreadyAuthenticated,
                    "type",
                    "this connection is already authenticated",
                ));
            }
            ClientFrame::Send {
                id,
                room_id,
                client_id,
                body,
                reply_to,
                attachments,
            } => {
                let msg = SendMessage {
                    client_id,
                    body,
                    reply_to,
                    attachments,
                };
                let message = self.engine.messages().send(user, room_id, msg).await?;
                if self.typing.remove(&room_id)
                    && let Err(e) = self.engine.presence().typing(user, room_id, false).await
                {
                    // The message is sent; the indication lapses by itself.
                    tracing::warn!(error = %e, "could not end typing after a send");
                }
                ServerFrame::Ack {
                    id,
                    message: Some(Box::new(message)),
                    seq: None,
                    added: None,
                }
            }
            ClientFrame::Edit {
                id,
                message_id,
                body,
            } => {
                let message = self.engine.messages().edit(user, message_id, &body).await?;
                ServerFrame::Ack {
                    id,
                    message: Some(Box::new(message)),
                    seq: None,
                    added: None,
                }
            }
            ClientFrame::Delete { id, message_id } => {
                self.engine.messages().delete(user, message_id).await?;
                empty_ack(id)
            }
            ClientFrame::React {
                id,
                message_id,
                emoji,
                add,
            } => {
                let messages = self.engine.messages();
                let added = match add {
                    Some(present) => {
                        messages
                            .set_reaction(user, message_id, &emoji, present)
                            .await?
                    }
                    None => messages.react(user, message_id, &emoji).await?,
                };
                ServerFrame::Ack {
                    id,
                    message: None,
                    seq: None,
                    added: Some(added),
                }
            }
            ClientFrame::Typing {
                id,
                room_id,
                active,
            } => {
                self.engine.presence().typing(user, room_id, active).await?;
                if active {
                    self.typing.insert(room_id);
                } else {
                    self.typing.remove(&room_id);
                }
                empty_ack(id)
            }
            ClientFrame::Read { id, room_id, seq } => {
                let at = self.engine.rooms().mark_read(user, room_id, seq).await?;
                ServerFrame::Ack {
                    id,
                    message: None,
                    seq: Some(at),
                    added: None,
                }
            }
            ClientFrame::Resume {
                id,
                rooms,
                feed_after,
            } => self.resume(id, rooms, feed_after).await?,
            ClientFrame::Ping { id } => ServerFrame::Pong { id },
            _ => {
                return Err(Error::invalid(
                    ErrorCode::InvalidFrame,
                    "type",
                    "this frame type is not supported",
                ));
            }
        })
    }

    async fn resume(
        &mut self,
        id: String,
        rooms: Vec<RoomPosition>,
        feed_after: Option<Seq>,
    ) -> Result<ServerFrame> {
        // Check every position before replaying anything, so a bad one changes nothing.
        for p in &rooms {
            if !self.positions.contains_key(&p.room_id) {
                return Err(Error::not_found(ErrorCode::RoomNotFound));
            }
            if p.seq.get() < 0 {
                return Err(Error::invalid(
                    ErrorCode::InvalidSeq,
                    "rooms",
                    "a sequence is never negative",
                ));
            }
        }
        let limit = self.engine.limits().resume_events;
        let mut rooms = rooms;
        for p in &mut rooms {
            let room = self.engine.rooms().get(self.user, p.room_id).await?;
            // A position past the room's end would silence it; the client cannot have seen
            // more than there is.
            p.seq = p.seq.min(room.last_seq);
            if room.last_seq.get() - p.seq.get() > limit {
                return Err(Error::invalid(
                    ErrorCode::TooFarBehind,
                    "rooms",
                    format!(
                        "room {} has more than {limit} changes to replay; reload its history instead",
                        p.room_id
                    ),
                )
                .in_room(p.room_id));
            }
        }
        for p in rooms {
            self.replay_room(p.room_id, p.seq).await?;
        }
        if let Some(after) = feed_after {
            if after.get() < 0 {
                return Err(Error::invalid(
                    ErrorCode::InvalidSeq,
                    "feed_after",
                    "a sequence is never negative",
                ));
            }
            if self.feed_seq.get() - after.get() > limit {
                return Err(Error::invalid(
                    ErrorCode::TooFarBehind,
                    "feed_after",
                    format!(
                        "more than {limit} feed entries to replay; reload notifications instead"
                    ),
                ));
            }
            // Entries up to the connection's own position are history: replayed as they are.
            // Anything newer is handled as if it had arrived live.
            let mut at = after;
            while at < self.feed_seq {
                let page = self
                    .engine
                    .notifications()
                    .feed_after(
                        self.user,
                        at,
                        u32::try_from(self.feed_seq.get() - at.get()).ok(),
                    )
                    .await?
                    .events;
                let Some(last) = page.last().and_then(feed_seq_of) else {
                    break;
                };
                self.queued.extend(page.iter().map(frame));
                at = last;
            }
            self.replay_new_feed().await?;
        }
        Ok(ServerFrame::Resumed {
            id,
            rooms: self.room_positions(),
            feed_seq: self.feed_seq,
        })
    }

    /// Queues every change of `room` after `after`, and records the new position.
    async fn replay_room(&mut self, room: RoomId, after: Seq) -> Result<()> {
        let mut at = after;
        loop {
            let changes = self
                .engine
                .messages()
                .changes_after(self.user, room, at, None)
                .await?;
            for event in &changes.events {
                if let Some((_, seq)) = event.room_seq() {
                    at = seq;
                }
                self.queued.push_back(frame(event));
            }
            // Progress is recorded page by page, together with the queued frames, so an
            // interrupted replay resumes where it stopped.
            self.positions.insert(room, at);
            if !changes.has_more || changes.events.is_empty() {
                break;
            }
        }
        Ok(())
    }

    /// Handles a live feed event: delivers it if it is the next one, drops it if it was
    /// already delivered, and fills a gap from the store first.
    async fn on_feed_event(&mut self, payload: Bytes) -> Option<Bytes> {
        let Ok(event) = serde_json::from_slice::<Event>(&payload) else {
            return Some(payload);
        };
        if let Event::SignedOut { .. } = event {
            self.ending = Some(frame(&ServerFrame::Closing {
                code: ErrorCode::SignedOut,
                message: "the account was signed out everywhere; sign in again".to_owned(),
            }));
            return Some(payload);
        }
        let seq = feed_seq_of(&event)?;
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
        Some(payload)
    }

    /// Queues the feed entries after the connection's feed position, acting on membership
    /// changes as they come, and advances the position entry by entry.
    async fn replay_new_feed(&mut self) -> Result<()> {
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
            for event in &page {
                let Some(seq) = feed_seq_of(event) else {
                    continue;
                };
                self.queued.push_back(frame(event));
                self.apply_membership(event).await;
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

    fn room_positions(&self) -> Vec<RoomPosition> {
        let mut rooms: Vec<RoomPosition> = self
            .positions
            .iter()
            .map(|(&room_id, &seq)| RoomPosition { room_id, seq })
            .collect();
        rooms.sort_by_key(|p| p.room_id);
        rooms
    }
}

fn empty_ack(id: String) -> ServerFrame {
    ServerFrame::Ack {
        id,
        message: None,
        seq: None,
        added: None,
    }
}

/// Serializes a frame. These plain data types cannot fail to serialize.
pub fn frame<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// The `error` frame for a failed command. Internal causes are logged, never sent.
pub fn error_frame(id: Option<String>, e: &Error) -> Bytes {
    if let Error::Internal(cause) = e {
        tracing::error!(error = %cause, "command failed");
    }
    frame(&ServerFrame::Error {
        id,
        code: e.code(),
        message: e.to_string(),
        field: e.field().map(str::to_owned),
        room_id: e.room(),
    })
}
