//! [`Connection`]: a real-time connection that stays up.
//!
//! A background task owns the transport. It opens a connection, applies frames to the
//! [`Session`] state, sends what the state says to send, hands the events the state produced
//! to the subscribers ([`Delivery`], outside every lock), and when the connection ends it
//! backs off (exponentially, with full jitter) and opens another, resuming from the positions
//! applied so far. The application holds a [`Connection`] handle: it subscribes to events
//! and queues sends and commands; no method of it waits on the network except the ones that
//! return a command's reply.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use jeco_proto::api::SendMessage;
use jeco_proto::ids::{MessageId, RoomId, Seq};
use jeco_proto::model::Message;
use jeco_proto::ws::{ClientFrame, Incoming, RoomPosition, ServerFrame};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::delivery::{Closed, Delivery};
use crate::error::{Error, Result};
use crate::events::{ClientEvent, ConnectionState, EventListener, EventStream, ListenerHandle};
use crate::rest::new_client_id;
use crate::session::{CommandReply, PendingSend, Session, Verdict, closing_verdict};
use crate::transport::{SseTransport, Transport, TransportConn, TransportKind, WebSocketTransport};

/// How long a connection waits for `ready` after opening.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection that stayed up this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// How to connect, and the state to continue from.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Which transport to use.
    pub transport: TransportKind,
    /// Positions saved from [`Connection::positions`] by an earlier run: missed events of
    /// these rooms are replayed. Empty: start from the server's current positions.
    pub rooms: Vec<RoomPosition>,
    /// The feed position saved from [`Connection::feed_seq`].
    pub feed_seq: Option<Seq>,
    /// Unacknowledged sends saved from [`Connection::pending_sends`]; sent again first.
    pub outbox: Vec<PendingSend>,
    /// The first reconnection delay's upper bound (doubled per failed attempt). Default
    /// 100 ms.
    pub backoff_base: Duration,
    /// The largest reconnection delay. Default 10 s.
    pub backoff_max: Duration,
    /// How many events each subscriber (listener or stream) may have waiting before the
    /// connection waits for it (at least 1). Default 1024.
    pub queue_capacity: usize,
    /// The Tokio runtime that runs the connection and its listeners. `None`: the runtime
    /// [`Client::connect`] is called on ([`Error::NoRuntime`] if there is none).
    pub runtime: Option<tokio::runtime::Handle>,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions {
            transport: TransportKind::WebSocket,
            rooms: Vec::new(),
            feed_seq: None,
            outbox: Vec::new(),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            queue_capacity: 1024,
            runtime: None,
        }
    }
}

struct Shared {
    session: StdMutex<Session>,
    /// Something was queued: the task has frames to send.
    wake: Notify,
    cancel: CancellationToken,
    delivery: Delivery,
}

impl Shared {
    /// Runs `f` on the protocol state. Events it produces stay there until the task's next
    /// [`Shared::flush`].
    fn session<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut session)
    }

    /// Hands the events the state produced to the subscribers, with the lock released: a
    /// full queue makes the task wait, never the application's calls. Whether it waited.
    async fn flush(&self) -> Result<bool, Closed> {
        let events = self.session(Session::take_events);
        if events.is_empty() {
            return Ok(false);
        }
        self.delivery.deliver(events, &self.cancel).await
    }

    async fn announce(&self, state: ConnectionState) -> Result<bool, Closed> {
        self.delivery
            .deliver(vec![ClientEvent::State(state)], &self.cancel)
            .await
    }
}

/// A real-time connection that reconnects by itself. Dropping it (or [`Connection::close`])
/// stops it.
///
/// Guarantees:
/// - Sequenced events (messages, reactions, membership, notifications) reach the
///   application once each, in sequence order per room (and per feed), across reconnections
///   and server restarts: missed ones are replayed, repeats are dropped. When a room cannot
///   be replayed, [`ClientEvent::Resync`] says so.
/// - Every message given to [`Connection::send`] is sent, and sent again after each
///   reconnection with the same `client_id`, until the server acknowledges it
///   ([`ClientEvent::Sent`]) or refuses it on its merits ([`ClientEvent::SendFailed`]);
///   `rate_limited` and `internal` refusals are retried after a pause. The server stores a
///   `client_id` once, so a message is never posted twice.
/// - Messages of one room are stored in the order they were queued: a room's next message is
///   sent only once the previous one is acknowledged or given up. Rooms do not wait for each
///   other.
/// - Unsequenced events (typing, presence, read) are delivered live only.
///
/// Events reach the application through listeners ([`Connection::add_listener`]) and
/// streams ([`Connection::events`], [`Connection::next_event`]), any number of each, all in
/// the same order. Each subscriber has a queue of [`ConnectOptions::queue_capacity`] events,
/// and the policy is that **nothing is dropped**:
/// - When a subscriber's queue is full, the connection waits until it has room, and reads
///   nothing from the server meanwhile. If that lasts, the server may drop the connection as
///   a slow consumer; the connection then reconnects and resumes from the positions it
///   applied, so no event is lost or delivered twice.
/// - Events that happen before the first subscriber attaches are held (within the same
///   bound) and given to it: an application may connect first and subscribe afterwards.
///   While no subscriber is attached after that, events are not kept.
/// - A subscriber first receives the current [`ConnectionState`] (the first one receives the
///   held events, which start with [`ConnectionState::Connecting`]), then everything after.
/// - After [`ConnectionState::Stopped`] a subscription ends. Closing the connection stops
///   the waiting: events not yet in a queue are then discarded, and `Stopped` is still
///   delivered to every subscriber once its queue has room.
pub struct Connection {
    shared: Arc<Shared>,
    /// The stream behind [`Connection::next_event`], made on its first use.
    pulled: tokio::sync::Mutex<Option<EventStream>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl Client {
    /// Opens a real-time connection in the background, on [`ConnectOptions::runtime`] or
    /// else the current Tokio runtime. Subscribe to its events with
    /// [`Connection::add_listener`] or [`Connection::events`].
    pub fn connect(&self, options: ConnectOptions) -> Result<Connection> {
        let transport: Arc<dyn Transport> = match options.transport {
            TransportKind::WebSocket => Arc::new(WebSocketTransport),
            TransportKind::Sse => Arc::new(SseTransport),
        };
        self.connect_with(transport, options)
    }

    /// [`Client::connect`] over a transport of the caller's (`options.transport` is
    /// ignored).
    pub fn connect_with(
        &self,
        transport: Arc<dyn Transport>,
        options: ConnectOptions,
    ) -> Result<Connection> {
        let runtime = match options.runtime {
            Some(runtime) => runtime,
            None => tokio::runtime::Handle::try_current()
                .map_err(|e| Error::NoRuntime(e.to_string()))?,
        };
        let shared = Arc::new(Shared {
            session: StdMutex::new(Session::new(
                options.rooms,
                options.feed_seq,
                options.outbox,
            )),
            wake: Notify::new(),
            cancel: CancellationToken::new(),
            delivery: Delivery::new(options.queue_capacity, runtime.clone()),
        });
        let backoff = Backoff {
            base: options.backoff_base,
            max: options.backoff_max.max(options.backoff_base),
        };
        runtime.spawn(run(self.clone(), transport, shared.clone(), backoff));
        Ok(Connection {
            shared,
            pulled: tokio::sync::Mutex::new(None),
        })
    }
}

impl Connection {
    /// Calls `listener` with every event, on a task of its own, until the returned handle is
    /// dropped or cancelled. The first call carries the current state (or, for the first
    /// subscriber, the events held since connecting).
    pub fn add_listener(&self, listener: Arc<dyn EventListener>) -> ListenerHandle {
        let delivery = &self.shared.delivery;
        ListenerHandle::spawn(delivery.runtime(), delivery.subscribe(), listener)
    }

    /// A stream of every event from now on, starting with the current state (or, for the
    /// first subscriber, the events held since connecting).
    pub fn events(&self) -> EventStream {
        EventStream::new(self.shared.delivery.subscribe())
    }

    /// The next event of one stream shared by every caller of this method (made with
    /// [`Connection::events`] on first use); `None` after [`ConnectionState::Stopped`].
    pub async fn next_event(&self) -> Option<ClientEvent> {
        let mut pulled = self.pulled.lock().await;
        pulled.get_or_insert_with(|| self.events()).next().await
    }

    /// The connection's state, as of the last event delivered.
    pub fn state(&self) -> ConnectionState {
        self.shared.delivery.state()
    }

    /// Queues a text message for `room`; its `client_id`, which [`ClientEvent::Sent`] or
    /// [`ClientEvent::SendFailed`] will carry. Works offline; after [`Connection::close`]
    /// nothing more is sent.
    pub fn send(&self, room: RoomId, body: &str) -> String {
        self.send_message(
            room,
            SendMessage {
                body: body.to_owned(),
                ..SendMessage::default()
            },
        )
    }

    /// Queues a message (with a reply or attachments); an empty `client_id` gets a fresh
    /// one. Returns the `client_id`.
    pub fn send_message(&self, room: RoomId, message: SendMessage) -> String {
        self.queue(room, message, None)
    }

    /// Queues a message and waits until it is stored (or refused).
    pub async fn send_and_wait(&self, room: RoomId, message: SendMessage) -> Result<Message> {
        self.send_tracked(room, message).1.await
    }

    /// Queues a message now and returns its `client_id` with a future of its outcome (the
    /// message as stored, or the refusal). Unlike [`Connection::send_and_wait`], whose
    /// message is queued only once the future is first polled, nothing here depends on the
    /// future: dropping it unpolled (a caller cancelled at once, as a language binding's
    /// task may be) still sends the message.
    pub fn send_tracked(
        &self,
        room: RoomId,
        message: SendMessage,
    ) -> (
        String,
        impl Future<Output = Result<Message>> + Send + 'static,
    ) {
        let (tx, rx) = oneshot::channel();
        let client_id = self.queue(room, message, Some(tx));
        (
            client_id,
            async move { rx.await.map_err(|_| Error::Closed)? },
        )
    }

    fn queue(
        &self,
        room: RoomId,
        mut message: SendMessage,
        waiter: Option<oneshot::Sender<Result<Message>>>,
    ) -> String {
        if message.client_id.is_empty() {
            message.client_id = new_client_id();
        }
        let client_id = message.client_id.clone();
        self.shared.session(|s| s.queue_send(room, message, waiter));
        self.shared.wake.notify_one();
        client_id
    }

    /// Sends a command on the open connection and waits for its reply.
    async fn command(&self, frame: impl FnOnce(String) -> ClientFrame) -> Result<CommandReply> {
        let rx = self.shared.session(|s| s.queue_command(frame))?;
        self.shared.wake.notify_one();
        rx.await.map_err(|_| Error::Disconnected)?
    }

    /// Says the user is typing in `room` (renew every few seconds), or stopped. Needs an
    /// open connection ([`Error::NotConnected`] otherwise).
    pub async fn typing(&self, room: RoomId, active: bool) -> Result<()> {
        self.command(|id| ClientFrame::Typing {
            id,
            room_id: room,
            active,
        })
        .await
        .map(drop)
    }

    /// Moves the read watermark of `room`; the watermark now.
    pub async fn mark_read(&self, room: RoomId, seq: Seq) -> Result<Seq> {
        let reply = self
            .command(|id| ClientFrame::Read {
                id,
                room_id: room,
                seq,
            })
            .await?;
        reply
            .seq
            .ok_or_else(|| Error::Decode("a read ack without seq".into()))
    }

    /// Makes a reaction present (`add`) or absent; whether it is present now. Safe to retry.
    pub async fn react(&self, message: MessageId, emoji: &str, add: bool) -> Result<bool> {
        let emoji = emoji.to_owned();
        let reply = self
            .command(|id| ClientFrame::React {
                id,
                message_id: message,
                emoji,
                add: Some(add),
            })
            .await?;
        reply
            .added
            .ok_or_else(|| Error::Decode("a react ack without added".into()))
    }

    /// Replaces the text of one's own message.
    pub async fn edit(&self, message: MessageId, body: &str) -> Result<Message> {
        let body = body.to_owned();
        let reply = self
            .command(|id| ClientFrame::Edit {
                id,
                message_id: message,
                body,
            })
            .await?;
        reply
            .message
            .ok_or_else(|| Error::Decode("an edit ack without message".into()))
    }

    /// Deletes a message.
    pub async fn delete(&self, message: MessageId) -> Result<()> {
        self.command(|id| ClientFrame::Delete {
            id,
            message_id: message,
        })
        .await
        .map(drop)
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.shared.session(|s| s.is_online())
    }

    /// The last applied sequence per room, to persist with the data it describes.
    pub fn positions(&self) -> Vec<RoomPosition> {
        self.shared.session(|s| s.positions())
    }

    /// The last applied feed sequence.
    pub fn feed_seq(&self) -> Option<Seq> {
        self.shared.session(|s| s.feed_seq())
    }

    /// Messages queued and not yet acknowledged, oldest first.
    pub fn pending_sends(&self) -> Vec<PendingSend> {
        self.shared.session(|s| s.pending_sends())
    }

    /// Closes the connection for good; [`ConnectionState::Stopped`] follows.
    pub fn close(&self) {
        self.shared.cancel.cancel();
    }
}

/// Reconnection delays: exponential with full jitter.
#[derive(Clone, Copy)]
struct Backoff {
    base: Duration,
    max: Duration,
}

impl Backoff {
    fn delay(self, attempt: u32) -> Duration {
        use rand::Rng;
        let cap = self
            .base
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max);
        let ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }
}

/// The background task: connect, serve, back off, again, until cancelled or stopped.
async fn run(client: Client, transport: Arc<dyn Transport>, shared: Arc<Shared>, backoff: Backoff) {
    let mut attempt = 0u32;
    // After `signed_out` the login must prove it survived before connecting again: a refresh
    // works for the client that changed the password (it holds the new tokens) and fails
    // for every other login, whose access token would otherwise still open connections.
    let mut check_login = false;
    let reason = loop {
        if check_login {
            let refreshed = tokio::select! {
                () = shared.cancel.cancelled() => break "closed".to_owned(),
                refreshed = client.refresh() => refreshed,
            };
            match refreshed {
                Ok(_) => check_login = false,
                Err(Error::NotSignedIn) => break "signed out".to_owned(),
                Err(e) => tracing::debug!(error = %e, "checking the login failed"),
            }
        }
        if !check_login {
            let opened = tokio::select! {
                () = shared.cancel.cancelled() => break "closed".to_owned(),
                opened = transport.open(&client) => opened,
            };
            match opened {
                Ok(conn) => {
                    let started = Instant::now();
                    let (verdict, was_up) = serve(conn, &shared).await;
                    let reason = match verdict {
                        Verdict::Stop(reason) => break reason,
                        Verdict::SignedOut(reason) => {
                            check_login = true;
                            reason
                        }
                        Verdict::Reconnect(reason) => reason,
                        Verdict::Continue => "the connection ended".to_owned(),
                    };
                    tracing::debug!(%reason, "real-time connection ended");
                    if was_up {
                        let reconnecting = ConnectionState::Reconnecting { reason };
                        if shared.announce(reconnecting).await.is_err() {
                            break "closed".to_owned();
                        }
                        if started.elapsed() >= STABLE_AFTER {
                            attempt = 0;
                        }
                    }
                }
                Err(Error::NotSignedIn) => break "not signed in".to_owned(),
                Err(e) => tracing::debug!(error = %e, "opening a real-time connection failed"),
            }
        }
        let delay = backoff.delay(attempt);
        attempt = attempt.saturating_add(1);
        tokio::select! {
            () = shared.cancel.cancelled() => break "closed".to_owned(),
            () = tokio::time::sleep(delay) => {}
        }
    };
    shared.session(Session::close);
    shared.delivery.finish(ConnectionState::Stopped { reason });
}

/// Serves one open connection until it ends; whether it got as far as `ready`.
async fn serve(mut conn: Box<dyn TransportConn>, shared: &Shared) -> (Verdict, bool) {
    let first = tokio::select! {
        () = shared.cancel.cancelled() => {
            conn.close().await;
            return (Verdict::Stop("closed".into()), false);
        }
        first = tokio::time::timeout(READY_TIMEOUT, conn.recv()) => first,
    };
    let heartbeat = match first {
        Ok(Some(Ok(Incoming::Frame(ServerFrame::Ready {
            protocol,
            user_id,
            heartbeat_ms,
            rooms,
            feed_seq,
            ..
        })))) => {
            let verdict = shared.session(|s| s.on_ready(protocol, user_id, rooms, feed_seq));
            if verdict != Verdict::Continue {
                shared.session(Session::on_disconnect);
                conn.close().await;
                return (verdict, false);
            }
            Duration::from_millis(heartbeat_ms.max(1000))
        }
        Ok(Some(Ok(Incoming::Frame(ServerFrame::Closing { code, message })))) => {
            conn.close().await;
            return (closing_verdict(code, &message), false);
        }
        other => {
            conn.close().await;
            let reason = match other {
                Ok(Some(Err(e))) => e.to_string(),
                Ok(Some(Ok(_))) => "the first frame was not ready".to_owned(),
                Ok(None) => "closed before ready".to_owned(),
                Err(_) => "no ready in time".to_owned(),
            };
            return (Verdict::Reconnect(reason), false);
        }
    };
    let verdict = match shared.flush().await {
        Ok(_) => pump(&mut *conn, shared, heartbeat).await,
        Err(Closed) => Verdict::Stop("closed".into()),
    };
    shared.session(Session::on_disconnect);
    conn.close().await;
    (verdict, true)
}

/// Moves frames both ways and watches the connection's liveness (protocol §9): after a
/// heartbeat interval of silence in either direction a `ping` goes out, and a connection
/// that stays silent for two intervals is taken for dead.
async fn pump(conn: &mut dyn TransportConn, shared: &Shared, heartbeat: Duration) -> Verdict {
    let mut last_heard = Instant::now();
    let mut last_sent = Instant::now();
    let mut pinged = false;
    loop {
        let now = Instant::now();
        if now.duration_since(last_heard) >= heartbeat * 2 {
            return Verdict::Reconnect("heartbeat timeout".into());
        }
        if !pinged
            && (now.duration_since(last_heard) >= heartbeat
                || now.duration_since(last_sent) >= heartbeat)
        {
            shared.session(Session::queue_ping);
            pinged = true;
        }
        // One lock for both: only frames from the server (handled on this task) delay sends,
        // so the retry time cannot change while the frames go out.
        let (frames, retry) = shared.session(|s| (s.take_frames(now), s.next_retry()));
        for frame in frames {
            if let Err(e) = conn.send(frame).await {
                return Verdict::Reconnect(e.to_string());
            }
            last_sent = Instant::now();
        }
        let mut deadline = last_heard + heartbeat * 2;
        if !pinged {
            deadline = deadline
                .min(last_heard + heartbeat)
                .min(last_sent + heartbeat);
        }
        if let Some(retry) = retry {
            deadline = deadline.min(retry);
        }
        tokio::select! {
            biased;
            () = shared.cancel.cancelled() => return Verdict::Stop("closed".into()),
            received = conn.recv() => match received {
                Some(Ok(incoming)) => {
                    last_heard = Instant::now();
                    pinged = false;
                    let verdict = shared.session(|s| s.on_incoming(incoming, last_heard));
                    match shared.flush().await {
                        Err(Closed) => return Verdict::Stop("closed".into()),
                        // While a full queue held the task, nothing was read: the silence
                        // was ours, not the server's.
                        Ok(true) => last_heard = Instant::now(),
                        Ok(false) => {}
                    }
                    if verdict != Verdict::Continue {
                        return verdict;
                    }
                }
                Some(Err(Error::Decode(e))) => {
                    last_heard = Instant::now();
                    tracing::warn!(error = %e, "skipped a frame that could not be read");
                }
                Some(Err(e)) => return Verdict::Reconnect(e.to_string()),
                None => return Verdict::Reconnect("the server closed the connection".into()),
            },
            () = shared.wake.notified() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}
