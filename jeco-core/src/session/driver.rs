//! The connection loop every transport shares: it moves frames between a client's [`Link`]
//! and its [`Session`], and decides everything that does not depend on the wire.
//!
//! - Commands: size-checked, parsed, admitted by the [`Gate`] (rate limits), carried out;
//!   a `resume`'s replay goes out, as the client takes it, before its reply.
//! - Sends are pipelined: a `send` is checked and queued for commit, and the next command is
//!   read while its group commits (up to 32), so one connection's sends
//!   share commits instead of each waiting for the last. Replies still go out in the order
//!   of the commands, and any other command waits until the sends before it are answered.
//! - Events: written as soon as they are ready, gathered with whatever else is ready into one
//!   write (up to a bound, so that commands get their turn in a busy room); the loop lets the
//!   tasks that are ready run once before gathering, so the rest of a group commit's events,
//!   published a moment later, go out in the same write.
//! - Every write has a deadline: a client that stops reading is dropped instead of pinning
//!   the connection, its task and its presence forever.
//! - Heartbeats: a ping every interval; a client heard from for none of a few intervals is
//!   taken for dead (on links that can hear the client between commands).
//! - Endings say why in a `closing` frame: a slow consumer, a signed-out account, a broken
//!   stream, the server shutting down. Whatever ends the connection, the session is closed
//!   and the user's presence released.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};
use jeco_proto::ws::{ClientFrame, ServerFrame};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::frame::{Frame, closing_frame, error_frame, frame};
use super::{Outbound, Session};
use crate::error::{Error, ErrorCode, Result};
use crate::ids::UserId;
use crate::service::SendMessage;

/// Most `send`s of one connection waiting for their commit at once; the connection's next
/// command is not read until one of them is answered.
const SENDS_IN_FLIGHT: usize = 32;

/// A reply on its way: where it goes (the link, or the request that carried the command),
/// and for a `send`, whether it succeeded and when it started (for the [`Gate`]).
struct Reply {
    frame: Frame,
    to: Option<oneshot::Sender<Frame>>,
    sent: Option<(bool, Instant)>,
}

/// Replies to commands read while `send`s were in flight, in the order of the commands.
/// Nothing is allocated before the connection's first send: most connections are idle.
#[derive(Default)]
struct InFlight(Option<FuturesOrdered<Pin<Box<dyn Future<Output = Reply> + Send>>>>);

impl InFlight {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, FuturesOrdered::len)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push_back(&mut self, reply: Pin<Box<dyn Future<Output = Reply> + Send>>) {
        self.0
            .get_or_insert_with(FuturesOrdered::new)
            .push_back(reply);
    }

    async fn next(&mut self) -> Option<Reply> {
        match &mut self.0 {
            Some(replies) => replies.next().await,
            None => None,
        }
    }
}

/// What came of a command.
enum Step {
    /// Its reply, now.
    Reply(Frame),
    /// The session gives the reply later, after what the command replays (`resume`).
    Later,
    /// A `send` queued for commit: its reply once committed.
    Sending(Pin<Box<dyn Future<Output = Reply> + Send>>),
}

/// What arrives from the client.
#[derive(Debug)]
pub enum Inbound {
    /// One command, as the client sent it (JSON).
    Text(Bytes),
    /// One command whose reply goes back on a channel of its own (the SSE transport's HTTP
    /// requests); the events it causes go out on the link as usual.
    Command {
        /// The command, as the client sent it (JSON).
        json: Bytes,
        /// Where the reply goes.
        reply: oneshot::Sender<Frame>,
    },
    /// Something the protocol does not use (a WebSocket binary frame): answered with an
    /// `error`, the connection stays open.
    Unusable,
    /// Proof that the client is there, without a command (a WebSocket ping or pong).
    Heard,
    /// The client's stream broke (an oversized or malformed frame): the connection ends with
    /// a `closing` frame carrying this code.
    Broken(ErrorCode),
}

/// A transport's side of one connection: how frames reach the client and what comes back.
pub trait Link: Send {
    /// Writes `frames` to the client, in order, as one batch (a buffering transport flushes
    /// at the end). The driver gives every write a deadline; an error ends the connection.
    fn send(&mut self, frames: &[Frame]) -> impl Future<Output = std::io::Result<()>> + Send;

    /// The next thing from the client; `None` once the client has gone. Must be cancel-safe:
    /// the driver polls it next to the session and the heartbeat.
    fn recv(&mut self) -> impl Future<Output = Option<Inbound>> + Send;

    /// Shows the client the connection is alive (a WebSocket ping). Nothing by default.
    fn ping(&mut self) -> impl Future<Output = std::io::Result<()>> + Send {
        std::future::ready(Ok(()))
    }

    /// Closes the connection, for the reason `code` (already told in a `closing` frame when
    /// the client could still be written to). Nothing by default.
    fn close(&mut self, code: ErrorCode) -> impl Future<Output = ()> + Send {
        let _ = code;
        std::future::ready(())
    }
}

/// What the application around the engine decides about commands: whether one may run (rate
/// limits), and what it cost (metrics).
#[async_trait]
pub trait Gate: Send + Sync {
    /// Whether `user` may run `command` now; a refusal is the command's reply.
    async fn admit(&self, user: UserId, command: &ClientFrame) -> Result<()>;

    /// `command` (its `type`) ran, successfully or not, in `took`.
    fn ran(&self, command: &'static str, ok: bool, took: Duration) {
        let _ = (command, ok, took);
    }
}

/// How the loop behaves.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// How often the client is pinged.
    pub heartbeat: Duration,
    /// After this many heartbeat intervals without hearing from the client, the connection
    /// is taken for dead. `None` for links that cannot hear the client between its commands
    /// (SSE): a write that fails or misses its deadline ends those.
    pub heartbeat_timeout: Option<u32>,
    /// The longest a write may take before the client counts as gone.
    pub write_timeout: Duration,
    /// The largest command accepted, in bytes; a larger one is answered with
    /// `frame_too_large` and nothing in it is done.
    pub frame_bytes: usize,
    /// Most frames written together before the loop looks at anything else.
    pub batch: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            heartbeat: Duration::from_millis(super::HEARTBEAT_MS),
            heartbeat_timeout: Some(3),
            write_timeout: Duration::from_secs(10),
            frame_bytes: 64 * 1024,
            batch: 64,
        }
    }
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// The client went away.
    ClientLeft,
    /// The server closed it, for this reason (told to the client in a `closing` frame).
    Closed(ErrorCode),
    /// Writing to the client failed.
    WriteFailed,
    /// A write missed its deadline: the client stopped reading.
    WriteTimedOut,
}

/// Serves one connection until it ends: first `ready`, then commands and events, until the
/// client leaves, the session ends, a write fails or misses its deadline, or `shutdown` is
/// cancelled. Closes the session whatever happened, releasing the user's presence.
pub async fn drive<L: Link>(
    mut session: Session,
    ready: Frame,
    link: &mut L,
    config: &DriverConfig,
    gate: Option<&dyn Gate>,
    shutdown: &CancellationToken,
) -> Ended {
    let ended = serve(&mut session, ready, link, config, gate, shutdown).await;
    // Rare and deep: boxed, so that the future of an idle connection stays small.
    Box::pin(session.close()).await;
    ended
}

async fn serve<L: Link>(
    session: &mut Session,
    ready: Frame,
    link: &mut L,
    config: &DriverConfig,
    gate: Option<&dyn Gate>,
    shutdown: &CancellationToken,
) -> Ended {
    if let Err(ended) = write(link, &[ready], config).await {
        return ended;
    }
    let mut ticker = tokio::time::interval_at(Instant::now() + config.heartbeat, config.heartbeat);
    let mut last_heard = Instant::now();
    let mut batch = Vec::with_capacity(1);
    // Where the replies the session gives later go, in the order of their commands: on the
    // link (`None`) or back to the request that carried the command.
    let mut awaiting: VecDeque<Option<oneshot::Sender<Frame>>> = VecDeque::new();
    let mut sending = InFlight::default();
    loop {
        // Unbiased: a client that keeps sending commands must not hold up its own events,
        // nor a busy room its commands.
        tokio::select! {
            () = shutdown.cancelled() => {
                let goodbye = closing_frame(
                    ErrorCode::ShuttingDown,
                    "the server is restarting; reconnect and resume",
                );
                return Box::pin(say_goodbye(link, ErrorCode::ShuttingDown, goodbye, config)).await;
            }
            inbound = link.recv(), if sending.len() < SENDS_IN_FLIGHT => {
                let Some(inbound) = inbound else {
                    return Ended::ClientLeft;
                };
                last_heard = Instant::now();
                let (json, mut to) = match inbound {
                    Inbound::Heard => continue,
                    Inbound::Broken(code) => {
                        let goodbye = closing_frame(code, broken_message(code));
                        return Box::pin(say_goodbye(link, code, goodbye, config)).await;
                    }
                    Inbound::Unusable => {
                        let reply = Reply { frame: unusable(), to: None, sent: None };
                        if let Err(ended) = answer(reply, &mut sending, link, config, gate).await {
                            return ended;
                        }
                        continue;
                    }
                    Inbound::Text(json) => (json, None),
                    Inbound::Command { json, reply } => (json, Some(reply)),
                };
                let command = match parse_command(&json, config.frame_bytes) {
                    Ok(command) => command,
                    Err(refusal) => {
                        let reply = Reply { frame: refusal, to, sent: None };
                        if let Err(ended) = answer(reply, &mut sending, link, config, gate).await {
                            return ended;
                        }
                        continue;
                    }
                };
                // Anything but a send runs once the sends before it are answered.
                if !matches!(command, ClientFrame::Send { .. })
                    && !sending.is_empty()
                    && let Err(ended) = Box::pin(drain(&mut sending, link, config, gate)).await
                {
                    return ended;
                }
                match Box::pin(command_step(session, command, gate, &mut to)).await {
                    Step::Reply(frame) => {
                        let reply = Reply { frame, to, sent: None };
                        if let Err(ended) = answer(reply, &mut sending, link, config, gate).await {
                            return ended;
                        }
                    }
                    Step::Later => awaiting.push_back(to),
                    Step::Sending(reply) => sending.push_back(reply),
                }
            }
            Some(reply) = sending.next(), if !sending.is_empty() => {
                if let Err(ended) = deliver(reply, link, config, gate).await {
                    return ended;
                }
            }
            next = session.next() => {
                let closing = match next {
                    Some(Outbound::Frame(f)) => {
                        batch.push(f);
                        // Let the tasks that are ready run first (the publishers of the rest
                        // of a group, say): what they queue goes out in the same write.
                        tokio::task::yield_now().await;
                        gather(session, &mut batch, &mut awaiting, config.batch)
                    }
                    Some(Outbound::Reply(f)) => {
                        reply_later(f, &mut awaiting, &mut batch);
                        gather(session, &mut batch, &mut awaiting, config.batch)
                    }
                    Some(Outbound::Close { code, frame }) => Some((code, frame)),
                    None => return Ended::ClientLeft,
                };
                if !batch.is_empty() {
                    let written = write(link, &batch, config).await;
                    batch.clear();
                    if let Err(ended) = written {
                        return ended;
                    }
                }
                if let Some((code, goodbye)) = closing {
                    return Box::pin(say_goodbye(link, code, goodbye, config)).await;
                }
            }
            _ = ticker.tick() => {
                if let Some(intervals) = config.heartbeat_timeout
                    && last_heard.elapsed() > config.heartbeat * intervals
                {
                    let goodbye = closing_frame(ErrorCode::HeartbeatTimeout, "no answer to pings");
                    return Box::pin(say_goodbye(link, ErrorCode::HeartbeatTimeout, goodbye, config)).await;
                }
                match tokio::time::timeout(config.write_timeout, link.ping()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Ended::WriteFailed,
                    Err(_) => return Ended::WriteTimedOut,
                }
            }
        }
    }
}

/// Adds to `batch` whatever else the session has ready, up to `max` frames; a `closing`
/// that comes up ends the gathering and is returned.
fn gather(
    session: &mut Session,
    batch: &mut Vec<Frame>,
    awaiting: &mut VecDeque<Option<oneshot::Sender<Frame>>>,
    max: usize,
) -> Option<(ErrorCode, Frame)> {
    while batch.len() < max {
        match session.next().now_or_never() {
            Some(Some(Outbound::Frame(f))) => batch.push(f),
            Some(Some(Outbound::Reply(f))) => reply_later(f, awaiting, batch),
            Some(Some(Outbound::Close { code, frame })) => return Some((code, frame)),
            _ => break,
        }
    }
    None
}

/// Sends a reply the session gave after its command: on the link, in order with the events
/// before it, or to the request that carried the command.
fn reply_later(
    reply: Frame,
    awaiting: &mut VecDeque<Option<oneshot::Sender<Frame>>>,
    batch: &mut Vec<Frame>,
) {
    match awaiting.pop_front() {
        Some(Some(to)) => {
            // The request may have gone; the events went out regardless.
            let _ = to.send(reply);
        }
        Some(None) | None => batch.push(reply),
    }
}

/// Writes `frames` within the deadline.
async fn write<L: Link>(
    link: &mut L,
    frames: &[Frame],
    config: &DriverConfig,
) -> Result<(), Ended> {
    match tokio::time::timeout(config.write_timeout, link.send(frames)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "writing to a real-time client failed");
            Err(Ended::WriteFailed)
        }
        Err(_) => Err(Ended::WriteTimedOut),
    }
}

/// Sends the `closing` frame (if the client can still take it in time) and closes.
async fn say_goodbye<L: Link>(
    link: &mut L,
    code: ErrorCode,
    goodbye: Frame,
    config: &DriverConfig,
) -> Ended {
    let _ = write(link, &[goodbye], config).await;
    let _ = tokio::time::timeout(config.write_timeout, link.close(code)).await;
    Ended::Closed(code)
}

/// Runs one parsed command, once the [`Gate`] admits it; a `send` only as far as its queueing,
/// its reply then going to `to` (taken), or to the link when there is none.
async fn command_step(
    session: &mut Session,
    command: ClientFrame,
    gate: Option<&dyn Gate>,
    to: &mut Option<oneshot::Sender<Frame>>,
) -> Step {
    if let Some(gate) = gate
        && let Err(e) = gate.admit(session.user(), &command).await
    {
        return Step::Reply(error_frame(command.id().map(str::to_owned), &e));
    }
    let started = Instant::now();
    if let ClientFrame::Send {
        id,
        room_id,
        client_id,
        body,
        reply_to,
        attachments,
    } = command
    {
        let msg = SendMessage {
            client_id,
            body,
            reply_to,
            attachments,
        };
        return match session.submit(id, room_id, msg).await {
            Ok(reply) => {
                let to = to.take();
                Step::Sending(Box::pin(reply.map(move |(frame, ok)| Reply {
                    frame,
                    to,
                    sent: Some((ok, started)),
                })))
            }
            Err(refusal) => {
                if let Some(gate) = gate {
                    gate.ran("send", false, started.elapsed());
                }
                Step::Reply(refusal)
            }
        };
    }
    let kind = command.kind();
    let (reply, ok) = session.handle_with_outcome(command).await;
    if let Some(gate) = gate {
        gate.ran(kind, ok, started.elapsed());
    }
    reply.map_or(Step::Later, Step::Reply)
}

/// Answers a command now, or after the sends in flight before it.
async fn answer<L: Link>(
    reply: Reply,
    sending: &mut InFlight,
    link: &mut L,
    config: &DriverConfig,
    gate: Option<&dyn Gate>,
) -> Result<(), Ended> {
    if sending.is_empty() {
        deliver(reply, link, config, gate).await
    } else {
        sending.push_back(Box::pin(std::future::ready(reply)));
        Ok(())
    }
}

/// Waits for every send in flight and delivers their replies, in order.
async fn drain<L: Link>(
    sending: &mut InFlight,
    link: &mut L,
    config: &DriverConfig,
    gate: Option<&dyn Gate>,
) -> Result<(), Ended> {
    while let Some(reply) = sending.next().await {
        deliver(reply, link, config, gate).await?;
    }
    Ok(())
}

/// Sends a reply where it goes, and tells the gate how a send went.
async fn deliver<L: Link>(
    reply: Reply,
    link: &mut L,
    config: &DriverConfig,
    gate: Option<&dyn Gate>,
) -> Result<(), Ended> {
    if let (Some(gate), Some((ok, started))) = (gate, reply.sent) {
        gate.ran("send", ok, started.elapsed());
    }
    match reply.to {
        Some(to) => {
            // The request may have gone; the events go out regardless.
            let _ = to.send(reply.frame);
            Ok(())
        }
        None => write(link, &[reply.frame], config).await,
    }
}

/// Reads a client's frame as a command, or the `error` frame that answers it: larger than
/// `frame_bytes` (`frame_too_large`), or not a valid command (`invalid_frame`, with the
/// frame's `id` when it can be read).
pub fn parse_command(json: &[u8], frame_bytes: usize) -> Result<ClientFrame, Frame> {
    if json.len() > frame_bytes {
        let e = Error::new(
            ErrorCode::FrameTooLarge,
            format!("frames are limited to {frame_bytes} bytes; nothing was done"),
        );
        return Err(error_frame(None, &e));
    }
    serde_json::from_slice::<ClientFrame>(json).map_err(|e| invalid_frame(json, &e))
}

/// The `error` for a frame that is not a valid command, carrying its `id` when that can
/// still be read.
fn invalid_frame(json: &[u8], e: &serde_json::Error) -> Frame {
    let id = serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
    frame(&ServerFrame::Error {
        id,
        code: ErrorCode::InvalidFrame,
        message: format!("the frame is not a valid command: {e}"),
        field: None,
        room_id: None,
        retry_after_ms: None,
    })
}

fn unusable() -> Frame {
    error_frame(
        None,
        &Error::invalid(ErrorCode::InvalidFrame, "frame", "send JSON text frames"),
    )
}

fn broken_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::FrameTooLarge => "a frame was larger than the limit",
        _ => "the stream could not be read",
    }
}
