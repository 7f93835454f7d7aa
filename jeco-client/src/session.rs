//! What a real-time connection remembers across reconnections, and how it applies frames:
//! the positions that make resume gap-free and delivery duplicate-free (protocol §7), and the
//! outbox that makes sends survive disconnections (§8).
//!
//! It is plain synchronous state behind a mutex: the background task feeds it frames, asks
//! it for frames to send and takes the [`ClientEvent`]s it produced (to deliver them outside
//! the lock); the [`crate::Connection`] handle queues sends and commands into it. Keeping I/O
//! out of it keeps every rule about sequences in one place. The outbox is in `outbox.rs`.

mod outbox;

use std::collections::{HashMap, HashSet};

use jeco_proto::api::SendMessage;
use jeco_proto::event::Event;
use jeco_proto::ids::{RoomId, Seq, UserId};
use jeco_proto::model::Message;
use jeco_proto::ws::{ClientFrame, Incoming, RoomPosition, ServerFrame};
use tokio::sync::oneshot;
use tokio::time::Instant;

use jeco_proto::error::ErrorCode;

use crate::error::{Error, Result};
use crate::events::{ClientEvent, ConnectionState};
use outbox::{Outbox, Waiter};

pub use outbox::PendingSend;

/// The reply to a command other than `send`.
#[derive(Debug, Default)]
pub(crate) struct CommandReply {
    pub(crate) message: Option<Message>,
    pub(crate) seq: Option<Seq>,
    pub(crate) added: Option<bool>,
}

/// What the server's `closing` means: `signed_out` ends the connection unless this login
/// survived it, any other reason asks for a new connection.
pub(crate) fn closing_verdict(code: ErrorCode, message: &str) -> Verdict {
    let reason = format!("{code}: {message}");
    match code {
        ErrorCode::SignedOut => Verdict::SignedOut(reason),
        _ => Verdict::Reconnect(reason),
    }
}

/// What a command id is waiting for.
enum Pending {
    Send,
    Command(oneshot::Sender<Result<CommandReply>>),
    Resume(ResumeRequest),
    Ping,
}

struct ResumeRequest {
    rooms: Vec<RoomPosition>,
    feed_after: Option<Seq>,
}

/// What the connection should do after a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Continue,
    /// Drop this connection and open another (after a backoff).
    Reconnect(String),
    /// Every login of the account was signed out: reconnect only if this one still works
    /// (it changed the password itself), else stop.
    SignedOut(String),
    /// Stop for good.
    Stop(String),
}

pub(crate) struct Session {
    /// The last applied sequence of every room followed.
    positions: HashMap<RoomId, Seq>,
    /// The last applied feed sequence.
    feed_seq: Option<Seq>,
    /// Whether positions describe something the app already has (then a reconnection
    /// resumes from them), or are still to be taken from the first `ready`.
    has_state: bool,
    online: bool,
    ready_feed_seq: Seq,
    /// Per room, the highest sequence seen on this connection, applied or not.
    latest_seen: HashMap<RoomId, Seq>,
    /// Rooms whose replay is under way, with the position that completes it once `resumed`
    /// has told it.
    resuming: HashMap<RoomId, Option<Seq>>,
    resuming_feed: Option<Option<Seq>>,
    outbox: Outbox,
    pending: HashMap<String, Pending>,
    /// Frames to send at the next flush, in order.
    queued: Vec<ClientFrame>,
    next_id: u64,
    events: Vec<ClientEvent>,
    closed: bool,
}

impl Session {
    pub(crate) fn new(
        rooms: Vec<RoomPosition>,
        feed_seq: Option<Seq>,
        outbox: Vec<PendingSend>,
    ) -> Session {
        let has_state = !rooms.is_empty() || feed_seq.is_some();
        Session {
            positions: rooms.into_iter().map(|r| (r.room_id, r.seq)).collect(),
            feed_seq,
            has_state,
            online: false,
            ready_feed_seq: Seq::ZERO,
            latest_seen: HashMap::new(),
            resuming: HashMap::new(),
            resuming_feed: None,
            outbox: Outbox::new(outbox),
            pending: HashMap::new(),
            queued: Vec::new(),
            next_id: 0,
            events: Vec::new(),
            closed: false,
        }
    }

    pub(crate) fn is_online(&self) -> bool {
        self.online
    }

    pub(crate) fn positions(&self) -> Vec<RoomPosition> {
        let mut rooms: Vec<RoomPosition> = self
            .positions
            .iter()
            .map(|(&room_id, &seq)| RoomPosition { room_id, seq })
            .collect();
        rooms.sort_by_key(|r| r.room_id);
        rooms
    }

    pub(crate) fn feed_seq(&self) -> Option<Seq> {
        self.feed_seq
    }

    pub(crate) fn pending_sends(&self) -> Vec<PendingSend> {
        self.outbox.pending()
    }

    pub(crate) fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }

    fn next_id(&mut self) -> String {
        self.next_id += 1;
        format!("c{}", self.next_id)
    }

    /// Queues a message; it is sent whenever a connection is up, until acknowledged.
    pub(crate) fn queue_send(
        &mut self,
        room_id: RoomId,
        message: SendMessage,
        waiter: Option<Waiter>,
    ) {
        if self.closed {
            if let Some(w) = waiter {
                let _ = w.send(Err(Error::Closed));
            }
            return;
        }
        self.outbox.push(room_id, message, waiter);
    }

    /// Queues a command for the open connection; its reply arrives on the returned channel.
    pub(crate) fn queue_command(
        &mut self,
        frame: impl FnOnce(String) -> ClientFrame,
    ) -> Result<oneshot::Receiver<Result<CommandReply>>> {
        if self.closed {
            return Err(Error::Closed);
        }
        if !self.online {
            return Err(Error::NotConnected);
        }
        let id = self.next_id();
        let (tx, rx) = oneshot::channel();
        self.pending.insert(id.clone(), Pending::Command(tx));
        self.queued.push(frame(id));
        Ok(rx)
    }

    pub(crate) fn queue_ping(&mut self) {
        let id = self.next_id();
        self.pending.insert(id.clone(), Pending::Ping);
        self.queued.push(ClientFrame::Ping { id });
    }

    fn queue_resume(&mut self, rooms: Vec<RoomPosition>, feed_after: Option<Seq>) {
        let id = self.next_id();
        self.queued.push(ClientFrame::Resume {
            id: id.clone(),
            rooms: rooms.clone(),
            feed_after,
        });
        self.pending
            .insert(id, Pending::Resume(ResumeRequest { rooms, feed_after }));
    }

    /// Frames to send now: queued commands first (a resume before anything else), then the
    /// head of each room's outbox that is not on the wire yet.
    pub(crate) fn take_frames(&mut self, now: Instant) -> Vec<ClientFrame> {
        if !self.online {
            return Vec::new();
        }
        let mut frames = std::mem::take(&mut self.queued);
        let counter = &mut self.next_id;
        let sends = self.outbox.take_due(now, || {
            *counter += 1;
            format!("c{counter}")
        });
        for send in sends {
            if let Some(id) = send.id() {
                self.pending.insert(id.to_owned(), Pending::Send);
            }
            frames.push(send);
        }
        frames
    }

    /// When the earliest delayed send becomes due.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.outbox.next_retry()
    }

    /// A connection is up: take or compare positions and ask for what was missed.
    pub(crate) fn on_ready(
        &mut self,
        protocol: u32,
        user_id: UserId,
        rooms: Vec<RoomPosition>,
        feed_seq: Seq,
    ) -> Verdict {
        if protocol != jeco_proto::PROTOCOL_VERSION {
            return Verdict::Stop(format!("the server speaks protocol {protocol}"));
        }
        self.online = true;
        self.ready_feed_seq = feed_seq;
        for r in &rooms {
            self.latest_seen.insert(r.room_id, r.seq);
        }
        let resumed = self.has_state;
        if !self.has_state {
            self.positions = rooms.iter().map(|r| (r.room_id, r.seq)).collect();
            self.feed_seq = Some(feed_seq);
            self.has_state = true;
        } else {
            // Rooms left while away are dropped; naming them would fail the whole resume.
            let followed: HashSet<RoomId> = rooms.iter().map(|r| r.room_id).collect();
            self.positions.retain(|room, _| followed.contains(room));
            let mut behind = Vec::new();
            for r in rooms {
                match self.positions.get(&r.room_id) {
                    Some(&seq) if seq < r.seq => {
                        behind.push(RoomPosition {
                            room_id: r.room_id,
                            seq,
                        });
                        self.resuming.insert(r.room_id, None);
                    }
                    Some(_) => {}
                    None => {
                        // Joined while away: the app loads its history.
                        self.positions.insert(r.room_id, r.seq);
                        self.events.push(ClientEvent::Resync {
                            room_id: r.room_id,
                            seq: r.seq,
                        });
                    }
                }
            }
            let feed_after = match self.feed_seq {
                Some(f) if f < feed_seq => {
                    self.resuming_feed = Some(None);
                    Some(f)
                }
                Some(_) => None,
                None => {
                    self.feed_seq = Some(feed_seq);
                    None
                }
            };
            if !behind.is_empty() || feed_after.is_some() {
                self.queue_resume(behind, feed_after);
            }
        }
        self.events
            .push(ClientEvent::State(ConnectionState::Connected {
                user_id,
                resumed,
            }));
        Verdict::Continue
    }

    /// The connection is gone: whatever was on the wire is unacknowledged.
    pub(crate) fn on_disconnect(&mut self) {
        self.online = false;
        self.outbox.on_disconnect();
        for (_, p) in self.pending.drain() {
            if let Pending::Command(tx) = p {
                let _ = tx.send(Err(Error::Disconnected));
            }
        }
        self.queued.clear();
        self.resuming.clear();
        self.resuming_feed = None;
        self.latest_seen.clear();
    }

    /// The connection is closed for good: waiters learn it; the outbox stays readable.
    pub(crate) fn close(&mut self) {
        self.on_disconnect();
        self.closed = true;
        self.outbox.close();
    }

    /// Applies one frame from the server.
    pub(crate) fn on_incoming(&mut self, incoming: Incoming, now: Instant) -> Verdict {
        match incoming {
            Incoming::Frame(frame) => self.on_frame(frame, now),
            Incoming::Event(event) => {
                self.on_event(event);
                Verdict::Continue
            }
        }
    }

    fn on_frame(&mut self, frame: ServerFrame, now: Instant) -> Verdict {
        match frame {
            ServerFrame::Ack {
                id,
                message,
                seq,
                added,
            } => {
                match self.pending.remove(&id) {
                    Some(Pending::Send) => {
                        self.events
                            .extend(self.outbox.acked(&id, message.map(|m| *m)));
                    }
                    Some(Pending::Command(tx)) => {
                        let _ = tx.send(Ok(CommandReply {
                            message: message.map(|m| *m),
                            seq,
                            added,
                        }));
                    }
                    Some(Pending::Resume(_) | Pending::Ping) | None => {}
                }
                Verdict::Continue
            }
            ServerFrame::Error {
                id,
                code,
                message,
                field,
                room_id,
                retry_after_ms,
            } => {
                let Some(id) = id else {
                    tracing::warn!(%code, %message, "the server could not read a frame");
                    return Verdict::Continue;
                };
                let error = Error::Api {
                    status: 0,
                    code,
                    message,
                    field,
                    room_id,
                    retry_after_ms,
                };
                match self.pending.remove(&id) {
                    Some(Pending::Send) => {
                        self.events.extend(self.outbox.refused(&id, error, now));
                        Verdict::Continue
                    }
                    Some(Pending::Command(tx)) => {
                        let _ = tx.send(Err(error));
                        Verdict::Continue
                    }
                    Some(Pending::Resume(req)) => self.resume_refused(req, code, room_id),
                    Some(Pending::Ping) | None => Verdict::Continue,
                }
            }
            ServerFrame::Resumed {
                id,
                rooms,
                feed_seq,
            } => {
                if let Some(Pending::Resume(req)) = self.pending.remove(&id) {
                    self.resumed(req, &rooms, feed_seq);
                }
                Verdict::Continue
            }
            ServerFrame::Closing { code, message } => closing_verdict(code, &message),
            _ => Verdict::Continue,
        }
    }

    fn resumed(&mut self, req: ResumeRequest, rooms: &[RoomPosition], feed_seq: Seq) {
        for r in req.rooms {
            let target = rooms.iter().find(|p| p.room_id == r.room_id).map(|p| p.seq);
            let at = self.positions.get(&r.room_id).copied();
            match (target, at) {
                (Some(target), Some(at)) if at < target => {
                    self.resuming.insert(r.room_id, Some(target));
                }
                _ => {
                    self.resuming.remove(&r.room_id);
                }
            }
        }
        if req.feed_after.is_some() {
            self.resuming_feed = match self.feed_seq {
                Some(at) if at < feed_seq => Some(Some(feed_seq)),
                _ => None,
            };
        }
    }

    /// A refused `resume`. Positions are checked before anything is replayed, so the rest of
    /// the request is asked for again without the part at fault, from the positions applied
    /// by now: a room too far behind (the error names it) or the feed starts over, and the
    /// app reloads it over REST; a room left meanwhile is dropped.
    fn resume_refused(
        &mut self,
        req: ResumeRequest,
        code: ErrorCode,
        room: Option<RoomId>,
    ) -> Verdict {
        let mut rooms = req.rooms;
        let feed = req.feed_after.is_some();
        match (code, room) {
            (ErrorCode::TooFarBehind, Some(room_id)) => {
                rooms.retain(|r| r.room_id != room_id);
                self.resync_room(room_id);
            }
            // The feed is still asked for below, from where this connection started: the
            // entries since then were dropped while the replay was pending, and are few.
            (ErrorCode::TooFarBehind, None) if feed => self.resync_feed(),
            (ErrorCode::RoomNotFound, _) => {
                // This error names no room: only the rooms left since the request can be
                // told apart. If there are none, a new connection's `ready` lists the rooms
                // the server follows.
                let asked = rooms.len();
                rooms.retain(|r| self.positions.contains_key(&r.room_id));
                if rooms.len() == asked {
                    return Verdict::Reconnect("resume refused: room_not_found".into());
                }
            }
            _ => return Verdict::Reconnect(format!("resume refused: {code}")),
        }
        let rooms: Vec<RoomPosition> = rooms
            .into_iter()
            .filter_map(|r| {
                let seq = *self.positions.get(&r.room_id)?;
                Some(RoomPosition {
                    room_id: r.room_id,
                    seq,
                })
            })
            .collect();
        let feed_after = if feed { self.feed_seq } else { None };
        if feed_after.is_some() {
            self.resuming_feed = Some(None);
        }
        if !rooms.is_empty() || feed_after.is_some() {
            self.queue_resume(rooms, feed_after);
        }
        Verdict::Continue
    }

    /// Gives up replaying `room`: it continues from the latest position seen, and the app
    /// reloads its history.
    fn resync_room(&mut self, room_id: RoomId) {
        self.resuming.remove(&room_id);
        let Some(&at) = self.positions.get(&room_id) else {
            return;
        };
        let seq = self
            .latest_seen
            .get(&room_id)
            .map_or(at, |&seen| seen.max(at));
        self.positions.insert(room_id, seq);
        self.events.push(ClientEvent::Resync { room_id, seq });
    }

    /// Gives up replaying the feed up to where this connection started; the app reloads its
    /// notifications.
    fn resync_feed(&mut self) {
        self.resuming_feed = None;
        let seq = self
            .feed_seq
            .map_or(self.ready_feed_seq, |at| at.max(self.ready_feed_seq));
        self.feed_seq = Some(seq);
        self.events.push(ClientEvent::FeedResync { feed_seq: seq });
    }

    fn on_event(&mut self, event: Event) {
        if let Some((room, seq)) = event.room_seq() {
            self.room_event(room, seq, event);
            return;
        }
        match &event {
            Event::Notification { notification } => {
                if self.feed_event(notification.feed_seq) {
                    self.events.push(ClientEvent::Event(event));
                }
            }
            &Event::Membership {
                feed_seq,
                room_id,
                room_seq,
                joined,
            } => {
                if !self.feed_event(feed_seq) {
                    return;
                }
                // Entries up to `ready.feed_seq` are history that `ready` already reflects.
                if feed_seq > self.ready_feed_seq {
                    if joined {
                        let before = Seq(room_seq.0.saturating_sub(1));
                        if self.positions.get(&room_id).is_none_or(|&p| p < before) {
                            self.positions.insert(room_id, before);
                        }
                    } else {
                        self.positions.remove(&room_id);
                        self.resuming.remove(&room_id);
                    }
                }
                self.events.push(ClientEvent::Event(event));
            }
            Event::Unknown => {}
            _ => self.events.push(ClientEvent::Event(event)),
        }
    }

    /// Applies a sequenced room event if it is the next one; drops what was seen; asks for a
    /// replay on a gap.
    fn room_event(&mut self, room: RoomId, seq: Seq, event: Event) {
        let latest = self.latest_seen.entry(room).or_insert(seq);
        *latest = (*latest).max(seq);
        let Some(&at) = self.positions.get(&room) else {
            return;
        };
        if seq <= at {
            return;
        }
        if seq.0 == at.0 + 1 {
            self.positions.insert(room, seq);
            if let Some(Some(target)) = self.resuming.get(&room)
                && seq >= *target
            {
                self.resuming.remove(&room);
            }
            self.events.push(ClientEvent::Event(event));
        } else if let std::collections::hash_map::Entry::Vacant(v) = self.resuming.entry(room) {
            // A gap: the replay brings this event and what came before it.
            v.insert(None);
            self.queue_resume(
                vec![RoomPosition {
                    room_id: room,
                    seq: at,
                }],
                None,
            );
        }
    }

    /// Whether a feed entry at `seq` is the next one (and takes it); a gap asks for a replay.
    fn feed_event(&mut self, seq: Seq) -> bool {
        let at = self.feed_seq.unwrap_or(Seq::ZERO);
        if seq <= at {
            return false;
        }
        if seq.0 == at.0 + 1 {
            self.feed_seq = Some(seq);
            if let Some(Some(target)) = self.resuming_feed
                && seq >= target
            {
                self.resuming_feed = None;
            }
            return true;
        }
        if self.resuming_feed.is_none() {
            self.resuming_feed = Some(None);
            self.queue_resume(Vec::new(), Some(at));
        }
        false
    }
}

#[cfg(test)]
mod tests;
