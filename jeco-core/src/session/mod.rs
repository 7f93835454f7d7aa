//! One authenticated real-time connection, independent of the transport that carries it.
//!
//! ```text
//! mod.rs       Session: opening, the frames it yields, closing
//! commands.rs  what each command does; resume
//! replay.rs    reading what was missed from the store: rooms, the feed, membership changes
//! frame.rs     Frame: a frame's JSON and, for an event, the event itself
//! driver.rs    drive(): the connection loop every transport shares
//! ```
//!
//! A transport authenticates the user and hands the connection to [`drive`] with a [`Link`]
//! that moves frames between the socket and the session: heartbeats, batching, the write
//! timeout, slow consumers and shutdown are handled once, there. A transport that wants to run
//! its own loop opens a [`Session`], sends it the client's [`ClientFrame`]s with
//! [`Session::handle`] and writes out whatever [`Session::next`] yields, until it returns
//! `None`; then it calls [`Session::close`].
//!
//! The session keeps, per room, the last sequence it delivered. A live event at or below it
//! is a duplicate and is dropped; one more than a step ahead means events were lost on the
//! way (a pub/sub backend may lose them), and the missing ones are read from the store before
//! it. So what a client receives for a room is always gap-free and in order.
//!
//! The user counts as online from [`Session::open`] until the session is closed, or dropped:
//! a transport task that is aborted still releases its presence and typing.

mod commands;
mod driver;
mod frame;
mod replay;

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;
use jeco_proto::PROTOCOL_VERSION;
use jeco_proto::ws::{ClientFrame, RoomPosition, ServerFrame};

pub use driver::{DriverConfig, Ended, Gate, Inbound, Link, drive, parse_command};
pub use frame::{Frame, closing_frame, error_frame, frame};

use crate::Engine;
use crate::auth::random_key;
use crate::error::{ErrorCode, Result};
use crate::event::{Published, Topic};
use crate::ids::{RoomId, Seq, UserId};
use crate::pubsub::{Delivery, Subscription};

/// The interval at which transports ping their clients.
pub const HEARTBEAT_MS: u64 = 20_000;

/// What a session wants sent next.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// A frame to send as it is.
    Frame(Frame),
    /// Send this `closing` frame, then close the connection, for the reason `code`: the
    /// client fell too far behind (`slow_consumer`), or the account was signed out.
    Close {
        /// Why.
        code: ErrorCode,
        /// The `closing` frame.
        frame: Frame,
    },
}

/// One authenticated connection's state.
pub struct Session {
    engine: Engine,
    user: UserId,
    id: String,
    sub: Subscription,
    positions: HashMap<RoomId, Seq>,
    feed_seq: Seq,
    queued: VecDeque<Frame>,
    /// Rooms this connection said it is typing in: a message sent there, or the connection
    /// closing, ends the indication at once rather than when it lapses.
    typing: HashSet<RoomId>,
    /// Set when the session must end (the account was signed out).
    ending: Option<(ErrorCode, Frame)>,
    /// The delivery being processed when [`Session::next`] was last interrupted at an await
    /// (a transport's `select!` drops the future); taken up again on the next call.
    pending: Option<Delivery>,
    /// The last presence change delivered: one published to several rooms the connection
    /// follows arrives once per room, and goes out once.
    last_shared: Option<Bytes>,
    /// Whether the user was counted online for this connection (released on close or drop).
    counted: bool,
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
    /// The user counts as online until the session is closed or dropped.
    pub async fn open(engine: &Engine, user: UserId) -> Result<(Session, Frame)> {
        let core = engine.core();
        // Follow first, then read positions: anything published in between is queued, and
        // the positions tell which of it is old.
        let sub = core.inbox.subscribe();
        sub.follow(Topic::User(user));
        sub.follow(Topic::Activity);
        let followed: HashSet<RoomId> = core
            .stores
            .rooms
            .room_ids_of(user)
            .await?
            .into_iter()
            .collect();
        for room in &followed {
            sub.follow(Topic::Room(*room));
        }
        let (positions, feed_seq) = engine.rooms().positions_and_feed(user).await?;
        let mut session = Session {
            engine: engine.clone(),
            user,
            id: random_key(),
            sub,
            positions: positions.iter().copied().collect(),
            feed_seq,
            queued: VecDeque::new(),
            typing: HashSet::new(),
            ending: None,
            pending: None,
            last_shared: None,
            counted: false,
        };
        // Memberships that changed between the two reads: a room joined meanwhile is in the
        // positions but was not followed (and its feed entry is already behind `feed_seq`,
        // so it would never be acted on): follow it now and read what it published since
        // its position. A room left meanwhile is followed but has no position.
        for (room, at) in positions {
            if !followed.contains(&room) {
                session.sub.follow(Topic::Room(room));
                session.replay_room(room, at).await?;
            }
        }
        for room in followed {
            if !session.positions.contains_key(&room) {
                session.sub.unfollow(Topic::Room(room));
            }
        }
        engine.presence().connected(user).await?;
        session.counted = true;
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
    pub async fn handle(&mut self, command: ClientFrame) -> Frame {
        self.handle_with_outcome(command).await.0
    }

    /// Like [`Session::handle`], also saying whether the command succeeded (for a
    /// transport's metrics).
    pub async fn handle_with_outcome(&mut self, command: ClientFrame) -> (Frame, bool) {
        let id = command.id().map(str::to_owned);
        match self.run(command).await {
            Ok(reply) => (frame(&reply), true),
            Err(e) => (error_frame(id, &e), false),
        }
    }

    /// Frames queued by the last command (a resume's replay), oldest first.
    pub fn take_queued(&mut self) -> Vec<Frame> {
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
            if let Some((code, frame)) = self.ending.take() {
                return Some(Outbound::Close { code, frame });
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

    fn ended(&self) -> Option<Outbound> {
        self.sub.overflowed().then(|| Outbound::Close {
            code: ErrorCode::SlowConsumer,
            frame: closing_frame(
                ErrorCode::SlowConsumer,
                "too many events were waiting; reconnect and resume",
            ),
        })
    }

    /// Handles one published event: the frame to send now, if any (replayed events are
    /// queued).
    async fn process(&mut self, published: Published) -> Option<Frame> {
        if published.shared {
            // Presence reaches a connection through each room it shares with the user: it
            // goes out once.
            if self.last_shared.as_ref() == Some(&published.payload) {
                return None;
            }
            self.last_shared = Some(published.payload.clone());
            return Some(Frame::event(published.payload, published.event));
        }
        match (published.topic, published.seq) {
            (Topic::Room(room), Some(seq)) => {
                let &at = self.positions.get(&room)?;
                if seq <= at {
                    return None;
                }
                if seq.get() == at.get() + 1 {
                    self.positions.insert(room, seq);
                    return Some(Frame::event(published.payload, published.event));
                }
                // A gap: what was lost is read from the store, up to and including this.
                // Rare and deep: boxed, so that the future of `next` (which a transport holds
                // for every idle connection) stays small.
                if let Err(e) = Box::pin(self.replay_room(room, at)).await {
                    tracing::warn!(error = %e, %room, "could not fill a gap from the store");
                }
                None
            }
            (Topic::User(_), _) => Box::pin(self.on_user_event(published)).await,
            _ => Some(Frame::event(published.payload, published.event)),
        }
    }

    /// Ends the session: typing indications of this connection stop, and the user's
    /// connection count drops (announcing them offline after their last connection).
    /// Dropping a session does the same on a task of its own.
    pub async fn close(mut self) {
        if let Some(release) = self.release() {
            // On a task of its own, so that it completes even if this future is dropped.
            let _ = tokio::spawn(release).await;
        }
    }

    /// The work that gives up the connection's presence and typing, once.
    fn release(&mut self) -> Option<impl Future<Output = ()> + Send + 'static> {
        if !std::mem::take(&mut self.counted) {
            return None;
        }
        let engine = self.engine.clone();
        let user = self.user;
        let typing = std::mem::take(&mut self.typing);
        Some(async move {
            for room in typing {
                // Best effort: the indication lapses by itself anyway.
                let _ = engine.presence().typing(user, room, false).await;
            }
            if let Err(e) = engine.presence().disconnected(user).await {
                tracing::warn!(error = %e, %user, "presence update on close failed");
            }
        })
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

impl Drop for Session {
    fn drop(&mut self) {
        let Some(release) = self.release() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(release);
            }
            Err(_) => tracing::warn!(
                user = %self.user,
                "a session was dropped outside a runtime; the user counts as online until this node stops"
            ),
        }
    }
}
