//! What a [`crate::Connection`] tells the application, and the two ways to receive it: a
//! listener called on a task of its own ([`EventListener`], stopped by its
//! [`ListenerHandle`]), or a stream pulled by the application ([`EventStream`]).
//!
//! Every type here is plain data or an object-safe trait, so that a language binding can
//! mirror it one to one.

use std::pin::Pin;
use std::task::{Context, Poll};

use jeco_proto::event::Event;
use jeco_proto::ids::{RoomId, Seq, UserId};
use jeco_proto::model::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::Error;

/// Where a connection stands. A subscriber learns it first, then every change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The first connection is being opened.
    Connecting,
    /// A connection is up.
    Connected {
        /// The signed-in user.
        user_id: UserId,
        /// Whether positions from before are being caught up on (missed events follow);
        /// otherwise this is the first connection and positions start here.
        resumed: bool,
    },
    /// The connection dropped; another is being opened, and it will resume.
    Reconnecting {
        /// Why the last one ended, for logs.
        reason: String,
    },
    /// The connection stopped for good (closed, signed out, or the server speaks another
    /// protocol version); nothing follows.
    Stopped {
        /// Why.
        reason: String,
    },
}

/// What the application receives from a [`crate::Connection`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The connection's state changed (or, as a subscriber's first event, what it is now).
    State(ConnectionState),
    /// An event from the server, each sequenced one exactly once and in order per room.
    Event(Event),
    /// A queued message was acknowledged: it is stored as `message`.
    Sent {
        /// The idempotency key [`crate::Connection::send`] returned.
        client_id: String,
        /// The message as stored.
        message: Message,
    },
    /// A queued message was refused on its merits and will not be retried.
    SendFailed {
        /// The idempotency key [`crate::Connection::send`] returned.
        client_id: String,
        /// Where it was to go.
        room_id: RoomId,
        /// Why.
        error: Error,
    },
    /// The room's events before `seq` will not be delivered (it was too far behind to
    /// replay, or was joined while disconnected): reload its history over REST. Events after
    /// `seq` follow as usual.
    Resync {
        /// The room.
        room_id: RoomId,
        /// Events continue after this sequence.
        seq: Seq,
    },
    /// The feed's entries up to `feed_seq` will not be delivered (too many were missed to
    /// replay): reload notifications over REST. Entries after `feed_seq` follow as usual.
    FeedResync {
        /// Feed entries continue after this sequence.
        feed_seq: Seq,
    },
}

/// Receives a connection's events, one call at a time and in order, on a task of its own.
///
/// A call that takes long delays only this listener; once its queue is full the connection
/// waits for it (see [`crate::Connection`] on the queue policy), so hand heavy work to
/// another thread rather than blocking here. A panic in `on_event` ends this listener's
/// delivery, as cancelling its handle would.
pub trait EventListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: ClientEvent);
}

/// Keeps an [`EventListener`] attached. Dropping it, or [`ListenerHandle::cancel`], stops
/// the delivery: no call starts afterwards (one already running finishes).
#[derive(Debug)]
#[must_use = "dropping the handle detaches the listener"]
pub struct ListenerHandle {
    cancel: CancellationToken,
}

impl ListenerHandle {
    /// Runs `listener` on `runtime` for every event `queue` yields.
    pub(crate) fn spawn(
        runtime: &tokio::runtime::Handle,
        mut queue: mpsc::Receiver<ClientEvent>,
        listener: std::sync::Arc<dyn EventListener>,
    ) -> ListenerHandle {
        let cancel = CancellationToken::new();
        let cancelled = cancel.clone();
        runtime.spawn(async move {
            loop {
                let event = tokio::select! {
                    biased;
                    () = cancelled.cancelled() => break,
                    event = queue.recv() => event,
                };
                match event {
                    // Checked again: a `cancel` that returned before this point stops the
                    // call even when the event was already taken from the queue.
                    Some(event) if !cancelled.is_cancelled() => listener.on_event(event),
                    _ => break,
                }
            }
        });
        ListenerHandle { cancel }
    }

    /// Stops the delivery now.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Whether the delivery was stopped.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A connection's events, pulled by the application: [`EventStream::next`], or as a
/// [`futures::Stream`]. It ends after [`ConnectionState::Stopped`]; dropping it detaches it.
#[derive(Debug)]
pub struct EventStream {
    queue: mpsc::Receiver<ClientEvent>,
}

impl EventStream {
    pub(crate) fn new(queue: mpsc::Receiver<ClientEvent>) -> EventStream {
        EventStream { queue }
    }

    /// The next event; `None` once the connection stopped and every event was read.
    /// Cancel-safe: dropping the future loses no event.
    pub async fn next(&mut self) -> Option<ClientEvent> {
        self.queue.recv().await
    }
}

impl futures::Stream for EventStream {
    type Item = ClientEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientEvent>> {
        self.queue.poll_recv(cx)
    }
}
