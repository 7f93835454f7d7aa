//! The outbox (protocol §8): messages queued by the application, sent whenever a connection
//! is up and again after every reconnection with the same `client_id`, until the server
//! acknowledges or refuses them. Each room's messages go one at a time, so they are stored in
//! the order they were queued.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use jeco_proto::api::SendMessage;
use jeco_proto::ids::RoomId;
use jeco_proto::model::Message;
use jeco_proto::ws::ClientFrame;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::events::ClientEvent;

/// A message not yet acknowledged, as [`crate::Connection::pending_sends`] lists it so that
/// an application can persist it and hand it to [`crate::ConnectOptions::outbox`] after a
/// restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSend {
    /// Where it goes.
    pub room_id: RoomId,
    /// What, with its `client_id`.
    pub message: SendMessage,
}

/// Who waits for a message to be stored ([`crate::Connection::send_and_wait`]).
pub(crate) type Waiter = oneshot::Sender<Result<Message>>;

/// A message waiting for its `ack`.
struct Entry {
    room_id: RoomId,
    message: SendMessage,
    /// The id of the `send` command on the wire now, if one is.
    inflight: Option<String>,
    /// After a transient refusal: not before then.
    not_before: Option<Instant>,
    failures: u32,
    waiters: Vec<Waiter>,
}

impl Entry {
    fn new(room_id: RoomId, message: SendMessage, waiters: Vec<Waiter>) -> Entry {
        Entry {
            room_id,
            message,
            inflight: None,
            not_before: None,
            failures: 0,
            waiters,
        }
    }
}

/// The messages not yet acknowledged, oldest first.
pub(super) struct Outbox {
    entries: VecDeque<Entry>,
}

impl Outbox {
    /// An outbox holding sends saved by an earlier run.
    pub(super) fn new(saved: Vec<PendingSend>) -> Outbox {
        Outbox {
            entries: saved
                .into_iter()
                .map(|p| Entry::new(p.room_id, p.message, Vec::new()))
                .collect(),
        }
    }

    pub(super) fn push(&mut self, room_id: RoomId, message: SendMessage, waiter: Option<Waiter>) {
        self.entries
            .push_back(Entry::new(room_id, message, waiter.into_iter().collect()));
    }

    pub(super) fn pending(&self) -> Vec<PendingSend> {
        self.entries
            .iter()
            .map(|e| PendingSend {
                room_id: e.room_id,
                message: e.message.clone(),
            })
            .collect()
    }

    /// `send` frames for the head of each room that is not on the wire yet and is due, with
    /// command ids from `next_id`.
    pub(super) fn take_due(
        &mut self,
        now: Instant,
        mut next_id: impl FnMut() -> String,
    ) -> Vec<ClientFrame> {
        let mut rooms = HashSet::new();
        let mut frames = Vec::new();
        for e in &mut self.entries {
            // Only each room's oldest entry may be on the wire: the next one waits for its ack.
            if !rooms.insert(e.room_id) || e.inflight.is_some() {
                continue;
            }
            if e.not_before.is_some_and(|t| t > now) {
                continue;
            }
            let id = next_id();
            e.inflight = Some(id.clone());
            e.not_before = None;
            frames.push(ClientFrame::Send {
                id,
                room_id: e.room_id,
                client_id: e.message.client_id.clone(),
                body: e.message.body.clone(),
                reply_to: e.message.reply_to,
                attachments: e.message.attachments.clone(),
            });
        }
        frames
    }

    /// When the earliest delayed send becomes due.
    pub(super) fn next_retry(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter(|e| e.inflight.is_none())
            .filter_map(|e| e.not_before)
            .min()
    }

    /// The connection is gone: whatever was on the wire is unacknowledged.
    pub(super) fn on_disconnect(&mut self) {
        for e in &mut self.entries {
            e.inflight = None;
        }
    }

    /// Nothing more will be sent: waiters learn it; the entries stay readable.
    pub(super) fn close(&mut self) {
        for e in &mut self.entries {
            for w in e.waiters.drain(..) {
                let _ = w.send(Err(Error::Closed));
            }
        }
    }

    fn remove_inflight(&mut self, id: &str) -> Option<Entry> {
        let i = self
            .entries
            .iter()
            .position(|e| e.inflight.as_deref() == Some(id))?;
        self.entries.remove(i)
    }

    /// The ack of the `send` with command id `id`; the event for the app.
    pub(super) fn acked(&mut self, id: &str, message: Option<Message>) -> Option<ClientEvent> {
        let entry = self.remove_inflight(id)?;
        let Some(message) = message else {
            let error = Error::Decode("an ack of a send without its message".into());
            for w in entry.waiters {
                let _ = w.send(Err(error.clone()));
            }
            return None;
        };
        for w in entry.waiters {
            let _ = w.send(Ok(message.clone()));
        }
        Some(ClientEvent::Sent {
            client_id: entry.message.client_id,
            message,
        })
    }

    /// An `error` for the `send` with command id `id`: retried later when transient,
    /// otherwise the message is given up and the event for the app returned.
    pub(super) fn refused(&mut self, id: &str, error: Error, now: Instant) -> Option<ClientEvent> {
        if error.is_transient() {
            let e = self
                .entries
                .iter_mut()
                .find(|e| e.inflight.as_deref() == Some(id))?;
            e.inflight = None;
            e.failures = e.failures.saturating_add(1);
            // As long as the server said, or doubling pauses when it did not.
            let pause = error
                .retry_after()
                .unwrap_or(Duration::from_millis(100 << e.failures.min(6)));
            e.not_before = Some(now + pause);
            return None;
        }
        let entry = self.remove_inflight(id)?;
        for w in entry.waiters {
            let _ = w.send(Err(error.clone()));
        }
        Some(ClientEvent::SendFailed {
            client_id: entry.message.client_id,
            room_id: entry.room_id,
            error,
        })
    }
}
