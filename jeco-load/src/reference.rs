//! The reference: the smallest WebSocket broadcast server that speaks the same frames as
//! Jeco for what the load tool does (`ready`, `send` → `ack` + `message.created` to every
//! member, `resume` → replay + `resumed`, `ping` → `pong`), with no persistence, no
//! authentication and no rate limits. Its figures are what this machine can do for a chat
//! fan-out when nothing else is done; Jeco's are reported as a ratio to them.
//!
//! A connection names its user and rooms in the query string: `/v1/ws?user=1&rooms=1,2`.
//! Rooms exist on first use. Each room keeps its sequence and the last
//! [`REPLAY`] events in memory, so that `resume` works across a reconnection.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::ws::{Message as AxMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use jeco_proto::error::ErrorCode;
use jeco_proto::event::Event;
use jeco_proto::ids::{MessageId, RoomId, Seq, Timestamp, UserId};
use jeco_proto::model::{Message, UserRef};
use jeco_proto::ws::{ClientFrame, RoomPosition, ServerFrame};
use serde::Deserialize;
use tokio::sync::mpsc;

/// Events a room keeps for `resume`.
const REPLAY: usize = 10_000;

/// Events waiting for one connection before it is dropped as a slow consumer (Jeco's
/// default).
const QUEUE: usize = 1024;

type Frame = (RoomId, Seq, Arc<str>);

struct Room {
    seq: i64,
    members: Vec<(u64, mpsc::Sender<Frame>)>,
    recent: VecDeque<(Seq, Arc<str>)>,
}

#[derive(Default)]
struct Hub {
    rooms: Mutex<HashMap<RoomId, Arc<Mutex<Room>>>>,
    next_conn: AtomicU64,
    next_message: AtomicI64,
}

impl Hub {
    fn room(&self, id: RoomId) -> Arc<Mutex<Room>> {
        self.rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_insert_with(|| {
                Arc::new(Mutex::new(Room {
                    seq: 0,
                    members: Vec::new(),
                    recent: VecDeque::new(),
                }))
            })
            .clone()
    }
}

#[derive(Debug, Deserialize)]
struct ConnectQuery {
    #[serde(default)]
    user: i64,
    #[serde(default)]
    rooms: String,
}

/// Serves the reference on `listener` until `shutdown` completes.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let hub = Arc::new(Hub::default());
    let app = Router::new().route("/v1/ws", get(upgrade)).with_state(hub);
    // Small frames must leave at once, not wait for the peer's delayed ACK (Nagle).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("reference server: {e}");
    }
}

async fn upgrade(
    State(hub): State<Arc<Hub>>,
    Query(q): Query<ConnectQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let rooms: Vec<RoomId> = q
        .rooms
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .map(RoomId)
        .collect();
    ws.read_buffer_size(4096)
        .write_buffer_size(4096)
        .on_upgrade(move |socket| connection(hub, UserId(q.user), rooms, socket))
}

fn text(frame: &impl serde::Serialize) -> AxMessage {
    AxMessage::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

async fn connection(hub: Arc<Hub>, user: UserId, rooms: Vec<RoomId>, mut socket: WebSocket) {
    let conn = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Frame>(QUEUE);
    let mut positions: HashMap<RoomId, Seq> = HashMap::new();
    let mut joined = Vec::with_capacity(rooms.len());
    for id in &rooms {
        let room = hub.room(*id);
        let seq = {
            let mut r = room.lock().unwrap_or_else(PoisonError::into_inner);
            r.members.push((conn, tx.clone()));
            Seq(r.seq)
        };
        positions.insert(*id, seq);
        joined.push(room);
    }
    // A connection without rooms keeps its own sender, so that its queue never reads as
    // closed; otherwise the rooms hold the only senders and dropping it means "too slow".
    let _keep = rooms.is_empty().then_some(tx);
    let ready = ServerFrame::Ready {
        protocol: jeco_proto::PROTOCOL_VERSION,
        user_id: user,
        session_id: conn.to_string(),
        heartbeat_ms: 20_000,
        rooms: rooms
            .iter()
            .map(|r| RoomPosition {
                room_id: *r,
                seq: positions.get(r).copied().unwrap_or_default(),
            })
            .collect(),
        feed_seq: Seq(0),
    };
    if socket.send(text(&ready)).await.is_ok() {
        serve_connection(&hub, user, &mut socket, &mut rx, &mut positions).await;
    }
    for room in joined {
        room.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .members
            .retain(|(c, _)| *c != conn);
    }
}

async fn serve_connection(
    hub: &Hub,
    user: UserId,
    socket: &mut WebSocket,
    rx: &mut mpsc::Receiver<Frame>,
    positions: &mut HashMap<RoomId, Seq>,
) {
    let sender = UserRef {
        id: user,
        username: format!("user{user}"),
        display_name: String::new(),
    };
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { return };
                let AxMessage::Text(t) = msg else {
                    if matches!(msg, AxMessage::Close(_)) { return }
                    continue;
                };
                let reply = match serde_json::from_str::<ClientFrame>(t.as_str()) {
                    Ok(ClientFrame::Send { id, room_id, client_id, body, .. }) => {
                        if !positions.contains_key(&room_id) {
                            error(Some(id), ErrorCode::RoomNotFound)
                        } else {
                            let message = post(hub, room_id, &sender, client_id, body);
                            text(&ServerFrame::Ack { id, message: Some(Box::new(message)), seq: None, added: None })
                        }
                    }
                    Ok(ClientFrame::Ping { id }) => text(&ServerFrame::Pong { id }),
                    Ok(ClientFrame::Resume { id, rooms, .. }) => {
                        match replay(hub, socket, &rooms, positions).await {
                            Ok(true) => text(&ServerFrame::Resumed {
                                id,
                                rooms: positions.iter().map(|(r, s)| RoomPosition { room_id: *r, seq: *s }).collect(),
                                feed_seq: Seq(0),
                            }),
                            Ok(false) => error(Some(id), ErrorCode::TooFarBehind),
                            Err(()) => return,
                        }
                    }
                    Ok(other) => error(other.id().map(str::to_owned), ErrorCode::InvalidFrame),
                    Err(_) => error(None, ErrorCode::InvalidFrame),
                };
                if socket.send(reply).await.is_err() { return }
            }
            event = rx.recv() => {
                let Some((room, seq, frame)) = event else {
                    // Dropped by a room as a slow consumer.
                    let closing = ServerFrame::Closing {
                        code: ErrorCode::SlowConsumer,
                        message: "too many events were waiting; reconnect and resume".into(),
                    };
                    let _ = socket.send(text(&closing)).await;
                    return;
                };
                let pos = positions.entry(room).or_default();
                if seq <= *pos { continue }
                *pos = seq;
                if socket.send(AxMessage::Text(frame.as_ref().into())).await.is_err() { return }
            }
        }
    }
}

fn error(id: Option<String>, code: ErrorCode) -> AxMessage {
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
fn post(hub: &Hub, room_id: RoomId, sender: &UserRef, client_id: String, body: String) -> Message {
    let room = hub.room(room_id);
    let mut r = room.lock().unwrap_or_else(PoisonError::into_inner);
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
    let frame: Arc<str> = serde_json::to_string(&event).unwrap_or_default().into();
    if r.recent.len() == REPLAY {
        r.recent.pop_front();
    }
    r.recent.push_back((seq, frame.clone()));
    // A member whose queue is full is dropped, which ends its connection as a slow consumer.
    r.members
        .retain(|(_, tx)| tx.try_send((room_id, seq, frame.clone())).is_ok());
    message
}

/// Sends what each named room has after the given position. `Ok(false)`: too far behind
/// (nothing sent); `Err`: the socket failed.
async fn replay(
    hub: &Hub,
    socket: &mut WebSocket,
    rooms: &[RoomPosition],
    positions: &mut HashMap<RoomId, Seq>,
) -> Result<bool, ()> {
    let mut batches = Vec::new();
    for p in rooms {
        if !positions.contains_key(&p.room_id) {
            return Ok(false);
        }
        let room = hub.room(p.room_id);
        let r = room.lock().unwrap_or_else(PoisonError::into_inner);
        let oldest = r.recent.front().map(|(s, _)| s.get()).unwrap_or(r.seq + 1);
        if p.seq.get() + 1 < oldest {
            return Ok(false);
        }
        let frames: Vec<(Seq, Arc<str>)> = r
            .recent
            .iter()
            .filter(|(s, _)| *s > p.seq)
            .cloned()
            .collect();
        batches.push((p.room_id, Seq(r.seq), frames));
    }
    for (room, last, frames) in batches {
        for (_, f) in frames {
            if socket
                .send(AxMessage::Text(f.as_ref().into()))
                .await
                .is_err()
            {
                return Err(());
            }
        }
        let pos = positions.entry(room).or_default();
        if last > *pos {
            *pos = last;
        }
    }
    Ok(true)
}
