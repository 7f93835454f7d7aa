//! The clients tests talk to the server with: a WebSocket client and an SSE client that keep
//! frames arriving while a test waits for something else, and frame predicates.
//!
//! Every read waits at most [`WAIT`] (one deadline per call, which the server's pings and
//! keep-alives do not extend): a wait that hits it is a failure, never a pass.

use std::collections::VecDeque;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use jeco_core::ids::RoomId;

use crate::e2e::harness::WAIT;

/// Whether a frame is of `kind` (`"ack"`, `"message.created"`, ...).
pub fn is(frame: &Value, kind: &str) -> bool {
    frame["type"] == kind
}

/// Whether a frame is a `message.created` with `body`.
pub fn created(frame: &Value, body: &str) -> bool {
    is(frame, "message.created") && frame["message"]["body"] == body
}

/// A WebSocket client. Frames that arrive while a test waits for something else are kept,
/// in order, for its next wait.
pub struct Ws {
    socket: WebSocketStream<TcpStream>,
    backlog: VecDeque<Value>,
    /// The `ready` frame (`Null` for connections opened with [`Server::ws_raw`]).
    pub ready: Value,
    next_id: u64,
}

impl Ws {
    /// A client on an open WebSocket, before any frame is read.
    pub fn new(socket: WebSocketStream<TcpStream>) -> Ws {
        Ws {
            socket,
            backlog: VecDeque::new(),
            ready: Value::Null,
            next_id: 0,
        }
    }

    /// Sends a JSON frame.
    pub async fn send_json(&mut self, frame: &Value) {
        self.send_text(frame.to_string()).await;
    }

    /// Sends a text frame as it is.
    pub async fn send_text(&mut self, text: String) {
        self.socket
            .send(WsMessage::text(text))
            .await
            .expect("send a frame");
    }

    /// Sends a raw WebSocket message.
    pub async fn send_message(&mut self, msg: WsMessage) {
        self.socket.send(msg).await.expect("send a message");
    }

    /// The next frame from the socket: `None` once the server closed the connection.
    pub async fn read(&mut self) -> Option<Value> {
        // One deadline for the whole call: the server's pings must not extend it.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("timed out waiting for a frame");
            match next {
                Some(Ok(WsMessage::Text(t))) => {
                    return Some(serde_json::from_str(t.as_str()).unwrap_or_else(|e| {
                        panic!("the server sent a frame that is not JSON: {t} ({e})")
                    }));
                }
                Some(Ok(WsMessage::Binary(b))) => {
                    panic!("the server sent a binary frame: {b:?}")
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next frame, kept ones first.
    pub async fn next(&mut self) -> Value {
        if let Some(f) = self.backlog.pop_front() {
            return f;
        }
        match self.read().await {
            Some(f) => f,
            None => panic!("the server closed the connection"),
        }
    }

    /// Every frame up to and including the first for which `pred` holds.
    pub async fn collect_until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let f = match self.backlog.pop_front() {
                Some(f) => f,
                None => match self.read().await {
                    Some(f) => f,
                    None => panic!("closed while waiting for {what}; saw {seen:#?}"),
                },
            };
            let done = pred(&f);
            seen.push(f);
            if done {
                return seen;
            }
        }
    }

    /// The first frame for which `pred` holds; the others are kept for later waits.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i).expect("index in range");
        }
        loop {
            match self.read().await {
                Some(f) if pred(&f) => return f,
                Some(f) => self.backlog.push_back(f),
                None => panic!("closed while waiting for {what}; saw {:#?}", self.backlog),
            }
        }
    }

    /// Drops the kept frames.
    pub fn clear(&mut self) {
        self.backlog.clear();
    }

    /// A fresh command id.
    pub fn id(&mut self) -> String {
        self.next_id += 1;
        format!("c{}", self.next_id)
    }

    /// Sends a command (an `id` is added when it has none) and returns its reply: the
    /// `ack`, `error`, `pong` or `resumed` with its id.
    pub async fn command(&mut self, mut frame: Value) -> Value {
        if frame.get("id").is_none() {
            frame["id"] = json!(self.id());
        }
        let id = frame["id"].clone();
        self.send_json(&frame).await;
        self.wait_for(&format!("the reply to {frame}"), |f| {
            f["id"] == id && ["ack", "error", "pong", "resumed"].iter().any(|t| is(f, t))
        })
        .await
    }

    /// Sends a text message and returns the acked message.
    pub async fn send_msg(&mut self, room: RoomId, client_id: &str, body: &str) -> Value {
        let reply = self
            .command(json!({"type": "send", "room_id": room, "client_id": client_id, "body": body}))
            .await;
        assert_eq!(reply["type"], "ack", "send acked: {reply}");
        reply["message"].clone()
    }

    /// Reads until the server closes the connection; every frame read on the way (kept
    /// ones first).
    pub async fn until_closed(&mut self) -> Vec<Value> {
        let mut seen: Vec<Value> = self.backlog.drain(..).collect();
        while let Some(f) = self.read().await {
            seen.push(f);
        }
        seen
    }

    /// Closes the connection from this side and waits for the server to finish it.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, self.socket.next()).await {}
    }
}

/// An SSE client: the event stream of `GET /v1/sse`.
pub struct Sse {
    resp: reqwest::Response,
    buf: Vec<u8>,
    backlog: VecDeque<Value>,
    /// The `ready` event.
    pub ready: Value,
}

impl Sse {
    /// A client on the response of `GET /v1/sse`, before any event is read.
    pub fn new(resp: reqwest::Response) -> Sse {
        Sse {
            resp,
            buf: Vec::new(),
            backlog: VecDeque::new(),
            ready: Value::Null,
        }
    }

    /// The next event's data as JSON.
    pub async fn next(&mut self) -> Value {
        // One deadline for the whole call: keep-alive comments must not extend it.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(v) = self.backlog.pop_front() {
                return v;
            }
            if let Some(end) = find(&self.buf, b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("SSE is UTF-8");
                let data: Vec<&str> = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                if !data.is_empty() {
                    let joined = data.join("\n");
                    let v = serde_json::from_str(&joined)
                        .unwrap_or_else(|e| panic!("SSE data is not JSON: {joined} ({e})"));
                    self.backlog.push_back(v);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .expect("timed out waiting for an SSE event")
                .expect("reading the SSE stream")
                .expect("the SSE stream ended");
            self.buf.extend_from_slice(&chunk);
        }
    }

    /// The first event for which `pred` holds, skipping others.
    pub async fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.next().await;
            if pred(&v) {
                return v;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A valid PNG of `w` x `h` pixels, encoded with the `image` crate.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, 128, 255])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}
