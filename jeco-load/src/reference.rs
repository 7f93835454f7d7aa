//! The reference: the smallest WebSocket broadcast server that speaks the same frames as
//! Jeco for what the load tool does (`ready`, `send` → `ack` + `message.created` to every
//! member, `resume` → replay + `resumed`, `ping` → `pong`), with no persistence, no
//! authentication and no rate limits. Its figures are what this machine can do for a chat
//! fan-out when nothing else is done; Jeco's are reported as a ratio to them.
//!
//! A connection names its user and rooms in the query string: `/v1/ws?user=1&rooms=1,2`.
//! Rooms exist on first use. Each room keeps its sequence and the last
//! [`REPLAY`] events in memory, so that `resume` works across a reconnection.
//!
//! It is built to be fast, so that the ratio measures Jeco and not the yardstick: the
//! WebSocket is accepted directly on the TCP stream (no HTTP framework in between), each
//! event is serialized once and its bytes shared by every recipient, a room's lock is the
//! only one on the fan-out path, and each connection writes everything that is waiting
//! (events and replies) with one flush, so that a busy connection costs one system call
//! per batch rather than one per frame.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::{FutureExt, SinkExt, StreamExt};
use jeco_proto::error::ErrorCode;
use jeco_proto::event::Event;
use jeco_proto::ids::{MessageId, RoomId, Seq, Timestamp, UserId};
use jeco_proto::model::{Message, UserRef};
use jeco_proto::ws::{ClientFrame, RoomPosition, ServerFrame};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};

/// Events a room keeps for `resume`.
const REPLAY: usize = 10_000;

/// Events waiting for one connection before it is dropped as a slow consumer (Jeco's
/// default).
const QUEUE: usize = 1024;

/// Most events, or commands, taken at once before writing.
const BATCH: usize = 256;

/// An event on its way to a connection: its room, sequence and JSON text, shared by every
/// recipient.
type Frame = (RoomId, Seq, Utf8Bytes);

/// One connection as a room sees it.
struct Member {
    conn: u64,
    tx: mpsc::Sender<Frame>,
    /// Set when a room found its queue full: the connection ends as a slow consumer once it
    /// has written what was queued.
    slow: Arc<AtomicBool>,
}

#[derive(Default)]
struct Room {
    seq: i64,
    members: Vec<Member>,
    recent: VecDeque<(Seq, Utf8Bytes)>,
}

type SharedRoom = Arc<Mutex<Room>>;

#[derive(Default)]
struct Hub {
    /// Looked up when a connection opens; the connection keeps its rooms.
    rooms: Mutex<HashMap<RoomId, SharedRoom>>,
    next_conn: AtomicU64,
    next_message: AtomicI64,
}

impl Hub {
    fn room(&self, id: RoomId) -> SharedRoom {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_default()
            .clone()
    }
}

fn lock(room: &Mutex<Room>) -> std::sync::MutexGuard<'_, Room> {
    room.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Buffers of a connection: commands are small, so reads are too (as Jeco's); writes
/// gather a whole batch of events before going to the socket (the buffer grows only on a
/// busy connection).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(64 * 1024)
}

/// Serves the reference on `listener` until `shutdown` completes.
pub(crate) async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()> + Send) {
    let hub = Arc::new(Hub::default());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, _)) => {
                tokio::spawn(connection(hub.clone(), tcp));
            }
            // Out of descriptors, say: the clients see their connection fail; pause rather
            // than spin.
            Err(e) => {
                eprintln!("reference server: accepting: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// The user and rooms of `?user=1&rooms=1,2`.
fn parse_query(query: &str) -> (UserId, Vec<RoomId>) {
    let mut user = UserId(0);
    let mut rooms = Vec::new();
    for (key, value) in query.split('&').filter_map(|kv| kv.split_once('=')) {
        match key {
            "user" => user = UserId(value.parse().unwrap_or(0)),
            "rooms" => rooms.extend(
                value
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .map(RoomId),
            ),
            _ => {}
        }
    }
    (user, rooms)
}

/// Accepts every upgrade request, keeping its query string.
struct KeepQuery<'a>(&'a mut String);

impl Callback for KeepQuery<'_> {
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        request.uri().query().unwrap_or_default().clone_into(self.0);
        Ok(response)
    }
}

async fn connection(hub: Arc<Hub>, tcp: TcpStream) {
    // Small frames must leave at once, not wait for the peer's delayed ACK (Nagle).
    let _ = tcp.set_nodelay(true);
    let mut query = String::new();
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async_with_config(
        tcp,
        KeepQuery(&mut query),
        Some(ws_config()),
    )
    .await
    else {
        return;
    };
    let (user, room_ids) = parse_query(&query);
    let conn = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Frame>(QUEUE);
    let slow = Arc::new(AtomicBool::new(false));
    let mut rooms: HashMap<RoomId, (SharedRoom, Seq)> = HashMap::new();
    for id in &room_ids {
        let room = hub.room(*id);
        let seq = {
            let mut r = lock(&room);
            r.members.push(Member {
                conn,
                tx: tx.clone(),
                slow: slow.clone(),
            });
            Seq(r.seq)
        };
        rooms.insert(*id, (room, seq));
    }
    let ready = ServerFrame::Ready {
        protocol: jeco_proto::PROTOCOL_VERSION,
        user_id: user,
        session_id: conn.to_string(),
        heartbeat_ms: 20_000,
        rooms: room_ids
            .iter()
            .filter_map(|r| {
                rooms.get(r).map(|(_, seq)| RoomPosition {
                    room_id: *r,
                    seq: *seq,
                })
            })
            .collect(),
        feed_seq: Seq(0),
    };
    let mut c = Connection {
        hub: &hub,
        conn,
        sender: UserRef {
            id: user,
            username: format!("user{user}"),
            display_name: String::new(),
        },
        rooms,
        out: vec![text(&ready)],
    };
    c.run(&mut ws, &mut rx, &slow).await;
    c.leave();
}

/// One connection's state while it runs.
struct Connection<'a> {
    hub: &'a Hub,
    conn: u64,
    sender: UserRef,
    /// Each followed room and the last sequence written for it.
    rooms: HashMap<RoomId, (SharedRoom, Seq)>,
    /// What goes out at the next write.
    out: Vec<WsMessage>,
}

/// What a command did.
enum Next {
    Continue,
    Stop,
}

impl Connection<'_> {
    /// Writes what is waiting, then waits for a command or events, takes whatever else is
    /// ready without waiting, and writes it all at once; until the socket fails, the client
    /// leaves, or the connection is dropped as a slow consumer.
    async fn run(
        &mut self,
        ws: &mut WebSocketStream<TcpStream>,
        rx: &mut mpsc::Receiver<Frame>,
        slow: &AtomicBool,
    ) {
        // Allocated on the first event: an idle connection costs no more than it must.
        let mut events = Vec::new();
        'serve: loop {
            // Also what the WebSocket layer queued itself (a pong, a close reply).
            if write(ws, &mut self.out).await.is_err() {
                return;
            }
            let stop = tokio::select! {
                incoming = ws.next() => self.command(incoming),
                _ = rx.recv_many(&mut events, BATCH) => {
                    self.events(&mut events);
                    Next::Continue
                }
            };
            if let Next::Stop = stop {
                break;
            }
            // Whatever else is ready goes out in the same write.
            for _ in 0..BATCH {
                match ws.next().now_or_never() {
                    Some(incoming) => {
                        if let Next::Stop = self.command(incoming) {
                            break 'serve;
                        }
                    }
                    None => break,
                }
            }
            if !rx.is_empty() && rx.recv_many(&mut events, BATCH).now_or_never().is_some() {
                self.events(&mut events);
            }
            if slow.load(Ordering::Acquire) {
                // Take nothing more from any room: what was queued goes out, then
                // `closing`.
                self.leave();
                if rx.is_empty() {
                    break;
                }
            }
        }
        // Dropped by a room as a slow consumer (after writing what was queued), or the
        // client closed.
        if slow.load(Ordering::Acquire) {
            self.out.push(text(&ServerFrame::Closing {
                code: ErrorCode::SlowConsumer,
                message: "too many events were waiting; reconnect and resume".into(),
            }));
        }
        let _ = write(ws, &mut self.out).await;
    }

    /// Stops receiving from every room.
    fn leave(&self) {
        for (room, _) in self.rooms.values() {
            lock(room).members.retain(|m| m.conn != self.conn);
        }
    }

    /// Queues the events that are news to this connection.
    fn events(&mut self, events: &mut Vec<Frame>) {
        for (room, seq, frame) in events.drain(..) {
            if let Some((_, pos)) = self.rooms.get_mut(&room)
                && seq > *pos
            {
                *pos = seq;
                self.out.push(WsMessage::Text(frame));
            }
        }
    }

    /// Carries out one command from the client, queueing the reply.
    fn command(
        &mut self,
        incoming: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    ) -> Next {
        let t = match incoming {
            Some(Ok(WsMessage::Text(t))) => t,
            Some(Ok(WsMessage::Close(_)) | Err(_)) | None => return Next::Stop,
            Some(Ok(_)) => return Next::Continue,
        };
        let reply = match serde_json::from_str::<ClientFrame>(t.as_str()) {
            Ok(ClientFrame::Send {
                id,
                room_id,
                client_id,
                body,
                ..
            }) => match self.rooms.get(&room_id) {
                None => error(Some(id), ErrorCode::RoomNotFound),
                Some((room, _)) => {
                    let message = post(self.hub, room, room_id, &self.sender, client_id, body);
                    text(&ServerFrame::Ack {
                        id,
                        message: Some(Box::new(message)),
                        seq: None,
                        added: None,
                    })
                }
            },
            Ok(ClientFrame::Ping { id }) => text(&ServerFrame::Pong { id }),
            Ok(ClientFrame::Resume { id, rooms, .. }) => {
                if self.replay(&rooms) {
                    let mut positions: Vec<RoomPosition> = self
                        .rooms
                        .iter()
                        .map(|(r, (_, s))| RoomPosition {
                            room_id: *r,
                            seq: *s,
                        })
                        .collect();
                    positions.sort_by_key(|p| p.room_id);
                    text(&ServerFrame::Resumed {
                        id,
                        rooms: positions,
                        feed_seq: Seq(0),
                    })
                } else {
                    error(Some(id), ErrorCode::TooFarBehind)
                }
            }
            Ok(other) => error(other.id().map(str::to_owned), ErrorCode::InvalidFrame),
            Err(_) => error(None, ErrorCode::InvalidFrame),
        };
        self.out.push(reply);
        Next::Continue
    }

    /// Queues what each named room has after the given position; `false` when a room is not
    /// followed or is too far behind (then nothing is queued).
    fn replay(&mut self, asked: &[RoomPosition]) -> bool {
        let mut batches = Vec::with_capacity(asked.len());
        for p in asked {
            let Some((room, _)) = self.rooms.get(&p.room_id) else {
                return false;
            };
            let r = lock(room);
            let oldest = r.recent.front().map(|(s, _)| s.get()).unwrap_or(r.seq + 1);
            if p.seq.get() + 1 < oldest {
                return false;
            }
            let frames: Vec<Utf8Bytes> = r
                .recent
                .iter()
                .filter(|(s, _)| *s > p.seq)
                .map(|(_, f)| f.clone())
                .collect();
            batches.push((p.room_id, Seq(r.seq), frames));
        }
        for (room, last, frames) in batches {
            self.out.extend(frames.into_iter().map(WsMessage::Text));
            if let Some((_, pos)) = self.rooms.get_mut(&room)
                && last > *pos
            {
                *pos = last;
            }
        }
        true
    }
}

/// Writes `out` with one flush: one system call for many frames.
async fn write(
    ws: &mut WebSocketStream<TcpStream>,
    out: &mut Vec<WsMessage>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    for msg in out.drain(..) {
        ws.feed(msg).await?;
    }
    ws.flush().await
}

fn text(frame: &impl serde::Serialize) -> WsMessage {
    WsMessage::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

fn error(id: Option<String>, code: ErrorCode) -> WsMessage {
    text(&ServerFrame::Error {
        id,
        code,
        message: code.as_str().replace('_', " "),
        field: None,
        room_id: None,
        retry_after_ms: None,
    })
}

/// Takes the room's next sequence, fans the event out and returns the message.
fn post(
    hub: &Hub,
    room: &Mutex<Room>,
    room_id: RoomId,
    sender: &UserRef,
    client_id: String,
    body: String,
) -> Message {
    let mut r = lock(room);
    r.seq += 1;
    let seq = Seq(r.seq);
    let message = Message {
        id: MessageId(hub.next_message.fetch_add(1, Ordering::Relaxed) + 1),
        room_id,
        seq,
        sender: sender.clone(),
        client_id,
        body,
        reply_to: None,
        forwarded_from: None,
        attachments: Vec::new(),
        mentions: Vec::new(),
        reactions: Vec::new(),
        created_at: Timestamp::now(),
        edited_at: None,
        deleted: false,
    };
    let event = Event::MessageCreated {
        room_id,
        seq,
        message: message.clone(),
    };
    let frame: Utf8Bytes = serde_json::to_string(&event).unwrap_or_default().into();
    if r.recent.len() == REPLAY {
        r.recent.pop_front();
    }
    r.recent.push_back((seq, frame.clone()));
    // A member whose queue is full is dropped, which ends its connection as a slow consumer.
    r.members.retain(|m| {
        let kept = m.tx.try_send((room_id, seq, frame.clone())).is_ok();
        if !kept {
            m.slow.store(true, Ordering::Release);
        }
        kept
    });
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_the_user_and_rooms() {
        assert_eq!(
            parse_query("user=7&rooms=1,2,3"),
            (UserId(7), vec![RoomId(1), RoomId(2), RoomId(3)])
        );
        assert_eq!(parse_query("rooms=&user=2"), (UserId(2), vec![]));
        assert_eq!(parse_query(""), (UserId(0), vec![]));
    }

    fn member(room: &Mutex<Room>, conn: u64) -> (mpsc::Receiver<Frame>, Arc<AtomicBool>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let slow = Arc::new(AtomicBool::new(false));
        lock(room).members.push(Member {
            conn,
            tx,
            slow: slow.clone(),
        });
        (rx, slow)
    }

    #[test]
    fn a_member_whose_queue_is_full_is_dropped_as_slow() {
        let hub = Hub::default();
        let room = Mutex::new(Room::default());
        let (mut reader, reader_slow) = member(&room, 1);
        let (_stalled, stalled_slow) = member(&room, 2);
        let sender = UserRef {
            id: UserId(1),
            username: "user1".into(),
            display_name: String::new(),
        };
        for n in 0..=QUEUE {
            let m = post(&hub, &room, RoomId(1), &sender, n.to_string(), "hi".into());
            assert_eq!(m.seq, Seq(n as i64 + 1));
            // One member reads as it goes, the other never does.
            let (_, seq, frame) = reader.try_recv().expect("the reading member got it");
            assert_eq!(seq, m.seq);
            assert!(frame.as_str().starts_with(r#"{"type":"message.created","#));
        }
        assert!(stalled_slow.load(Ordering::Acquire));
        assert!(!reader_slow.load(Ordering::Acquire));
        let r = lock(&room);
        assert_eq!(r.members.iter().map(|m| m.conn).collect::<Vec<_>>(), [1]);
        assert_eq!(r.recent.len(), QUEUE + 1);
    }
}
