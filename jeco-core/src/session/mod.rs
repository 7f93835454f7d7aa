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
//! What a connection missed (a `resume`, a gap, a room joined) is read from the store a page
//! at a time, as the transport takes what was read before: see `replay.rs`.
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
use crate::event::{Event, Published, Topic};
use crate::ids::{RoomId, Seq, UserId};
use crate::pubsub::{Delivery, Subscription};
use replay::CatchUp;

/// The interval at which transports ping their clients.
pub const HEARTBEAT_MS: u64 = 20_000;

/// What a session wants sent next.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Outbound {
    /// A frame to send as it is.
    Frame(Frame),
    /// The reply to a command whose [`Session::handle`] gave none (a `resume`, once its
    /// replay is out). Replies come in the order of their commands.
    Reply(Frame),
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
    /// Frames read from the store, to go out before anything else.
    queued: VecDeque<Frame>,
    /// What is still to be read from the store, in order.
    catch_up: VecDeque<CatchUp>,
    /// The rooms with a [`CatchUp::Room`] in `catch_up`.
    catching: HashSet<RoomId>,
    /// Whether `catch_up` holds a [`CatchUp::Feed`].
    catching_feed: bool,
    /// Rooms this connection said it is typing in: a message sent there, or the connection
    /// closing, ends the indication at once rather than when it lapses.
    typing: HashSet<RoomId>,
    /// The users this user blocks: their typing and presence are not delivered. Read at open
    /// (after following the user's topic) and kept current by `block` events.
    hidden: HashSet<UserId>,
    /// Set when the session must end (the account was signed out).
    ending: Option<(ErrorCode, Frame)>,
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
        let opening = engine.rooms().opening(user).await?;
        let (positions, feed_seq) = (opening.rooms, opening.feed);
        let hidden = opening.blocked.into_iter().collect();
        let mut session = Session {
            engine: engine.clone(),
            user,
            id: random_key(),
            sub,
            positions: positions.iter().copied().collect(),
            feed_seq,
            queued: VecDeque::new(),
            catch_up: VecDeque::new(),
            catching: HashSet::new(),
            catching_feed: false,
            typing: HashSet::new(),
            hidden,
            ending: None,
            last_shared: None,
            counted: false,
        };
        // Memberships that changed between the two reads: a room joined meanwhile is in the
        // positions but was not followed (and its feed entry is already behind `feed_seq`,
        // so it would never be acted on): follow it now and read what it published since
        // its position. A room left meanwhile is followed but has no position.
        for (room, _) in positions {
            if !followed.contains(&room) {
                session.sub.follow(Topic::Room(room));
                session.catch_up_room(room);
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

    /// Carries out one command and returns the reply (`ack`, `error`, `pong`), or `None`
    /// when the reply comes later from [`Session::next`] as [`Outbound::Reply`]: an accepted
    /// `resume` is answered with `resumed` once its replay has gone out.
    pub async fn handle(&mut self, command: ClientFrame) -> Option<Frame> {
        self.handle_with_outcome(command).await.0
    }

    /// Like [`Session::handle`], also saying whether the command succeeded (for a
    /// transport's metrics).
    pub async fn handle_with_outcome(&mut self, command: ClientFrame) -> (Option<Frame>, bool) {
        let id = command.id().map(str::to_owned);
        match self.run(command).await {
            Ok(reply) => (reply.map(|r| frame(&r)), true),
            Err(e) => (Some(error_frame(id, &e)), false),
        }
    }

    /// How many frames read from the store are waiting to be taken: at most one page of
    /// changes or feed entries, however much a resume has to replay.
    #[cfg(feature = "testing")]
    pub fn buffered(&self) -> usize {
        self.queued.len()
    }

    /// The next frame to send, waiting for one if none is ready. `None` when the session has
    /// ended.
    ///
    /// What was missed comes first, a page at a time; live events are looked at only once
    /// it is all out, so a live event is always judged against up-to-date positions.
    ///
    /// Cancel-safe: a transport may poll it in `select!` next to reading its socket. The only
    /// waits are for the subscription and for store reads whose results are applied at once,
    /// so an interrupted call loses and repeats nothing.
    pub async fn next(&mut self) -> Option<Outbound> {
        loop {
            if let Some(f) = self.queued.pop_front() {
                return Some(Outbound::Frame(f));
            }
            if let Some((code, frame)) = self.ending.take() {
                return Some(Outbound::Close { code, frame });
            }
            if !self.catch_up.is_empty() {
                // Deep and occasional: boxed, so that the future of `next` (which a transport
                // holds for every idle connection) stays small.
                match Box::pin(self.catch_up_step()).await {
                    Ok(Some(reply)) => return Some(Outbound::Reply(reply)),
                    Ok(None) => continue,
                    Err(e) => {
                        return Some(Outbound::Close {
                            code: ErrorCode::Unavailable,
                            frame: self.catch_up_failed(&e),
                        });
                    }
                }
            }
            let frame = match self.sub.next().await {
                Some(Delivery::Event(published)) => self.process(published),
                Some(Delivery::Resync) => {
                    self.catch_up.push_back(CatchUp::Resync);
                    None
                }
                None => return self.ended(),
            };
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

    /// Handles one published event: the frame to send now, if any (what a gap lost is
    /// scheduled to be read from the store).
    fn process(&mut self, published: Published) -> Option<Frame> {
        if published.seq.is_none() && self.hides(&published) {
            return None;
        }
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
                self.catch_up_room(room);
                None
            }
            (Topic::User(_), _) => self.on_user_event(published),
            _ => Some(Frame::event(published.payload, published.event)),
        }
    }

    /// Whether `published` is the typing or presence of a user this user blocks. Only a user
    /// who blocks someone pays for looking into the event.
    fn hides(&self, published: &Published) -> bool {
        if self.hidden.is_empty() {
            return false;
        }
        match published.event().as_deref() {
            Ok(Event::Typing { user_id, .. } | Event::Presence { user_id, .. }) => {
                self.hidden.contains(user_id)
            }
            _ => false,
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
