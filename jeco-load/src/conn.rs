//! One real-time connection: opening it (ticket, WebSocket upgrade, `ready`), and reading
//! what the server sends cheaply.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::StreamExt;
use jeco_proto::ids::{RoomId, Seq, UserId};
use jeco_proto::ws::{RoomPosition, ServerFrame};
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::api::Api;
use crate::target::Kind;

/// A client WebSocket.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// How long to wait for a connection's `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Nanoseconds since the process's clock base: the send timestamp carried in message bodies.
pub(crate) fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Where connections go.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    /// Jeco or the reference.
    pub(crate) kind: Kind,
    /// The server's address.
    pub(crate) addr: SocketAddr,
    /// Its REST API.
    pub(crate) api: Api,
}

/// Why a connection could not be opened; `kind` is what the report counts by.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// Short category: `ticket`, `tcp`, `upgrade`, `closing:<code>`, `timeout`, `protocol`.
    pub(crate) kind: String,
    /// Detail for the log.
    pub(crate) detail: String,
}

impl Failure {
    /// Prints the first few failures of the run on stderr, so that a reader sees why.
    pub(crate) fn log(&self) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static SHOWN: AtomicUsize = AtomicUsize::new(0);
        if SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("connection failure ({}): {}", self.kind, self.detail);
        }
    }

    pub(crate) fn new(kind: impl Into<String>, detail: impl ToString) -> Failure {
        Failure {
            kind: kind.into(),
            detail: detail.to_string(),
        }
    }
}

/// The small buffers a chat client needs; the library's defaults (128 KiB) would make the
/// tool's side of an idle connection far bigger than the server's.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096)
}

/// Opens a connection for `user` and waits for `ready`. Against Jeco the user's access token
/// buys a ticket first; the reference is told the user and rooms in the query string. The
/// socket is bound to `local` first when given (spreading source addresses over 127.0.0.x so
/// that ephemeral ports do not run out).
pub(crate) async fn open(
    ep: &Endpoint,
    token: Option<&str>,
    user: UserId,
    rooms: &[RoomId],
    local: Option<IpAddr>,
) -> Result<(Ws, Vec<RoomPosition>), Failure> {
    let path = match ep.kind {
        Kind::Jeco => {
            let token = token.ok_or_else(|| Failure::new("ticket", "no access token"))?;
            let ticket = ep
                .api
                .ticket(token)
                .await
                .map_err(|e| Failure::new("ticket", format!("{e:#}")))?;
            format!("/v1/ws?ticket={ticket}")
        }
        Kind::Reference => {
            let list: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
            format!("/v1/ws?user={user}&rooms={}", list.join(","))
        }
    };
    let stream = match local {
        Some(ip) => {
            let socket = match ip {
                IpAddr::V4(_) => TcpSocket::new_v4(),
                IpAddr::V6(_) => TcpSocket::new_v6(),
            }
            .map_err(|e| Failure::new("tcp", e))?;
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| Failure::new("tcp", format!("binding {ip}: {e}")))?;
            socket
                .connect(ep.addr)
                .await
                .map_err(|e| Failure::new("tcp", e))?
        }
        None => TcpStream::connect(ep.addr)
            .await
            .map_err(|e| Failure::new("tcp", e))?,
    };
    let _ = stream.set_nodelay(true);
    let url = format!("ws://{}{path}", ep.addr);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .map_err(|e| Failure::new("upgrade", e))?;
    let ready = tokio::time::timeout(READY_TIMEOUT, async {
        while let Some(msg) = ws.next().await {
            let text = match msg {
                Ok(WsMessage::Text(t)) => t,
                Ok(WsMessage::Close(_)) => return Err(Failure::new("closed", "before ready")),
                Ok(_) => continue,
                Err(e) => return Err(Failure::new("protocol", e)),
            };
            match serde_json::from_str::<ServerFrame>(&text) {
                Ok(ServerFrame::Ready { rooms, .. }) => return Ok(rooms),
                Ok(ServerFrame::Closing { code, message }) => {
                    return Err(Failure::new(format!("closing:{code}"), message));
                }
                _ => continue,
            }
        }
        Err(Failure::new("closed", "before ready"))
    })
    .await
    .map_err(|_| Failure::new("timeout", "no ready"))??;
    Ok((ws, ready))
}

/// The few fields of a server frame or event the tool looks at; everything else is skipped
/// by the parser. (The full types are `jeco_proto::ws::ServerFrame` and
/// `jeco_proto::event::Event`; this view borrows from the frame text instead of building
/// them, so that the receiving side stays cheap.)
#[derive(Debug, Deserialize)]
pub(crate) struct View<'a> {
    /// The frame or event type.
    #[serde(rename = "type", borrow)]
    pub(crate) ty: Cow<'a, str>,
    /// The room of a room event.
    #[serde(default)]
    pub(crate) room_id: Option<RoomId>,
    /// The sequence of a room event.
    #[serde(default)]
    pub(crate) seq: Option<Seq>,
    /// The message of `message.created` or of a send's `ack`.
    #[serde(default, borrow)]
    pub(crate) message: Option<MessageView<'a>>,
}

/// The fields of a message the tool looks at.
#[derive(Debug, Deserialize)]
pub(crate) struct MessageView<'a> {
    /// Where it was posted.
    pub(crate) room_id: RoomId,
    /// Its room sequence.
    pub(crate) seq: Seq,
    /// The text, which carries the tool's stamp.
    #[serde(borrow)]
    pub(crate) body: Cow<'a, str>,
}

/// The stamp a load message carries in its body: `jl <step> <sender> <n> <send time ns>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// Which step of the run sent it.
    pub(crate) step: usize,
    /// Which sender.
    pub(crate) sender: usize,
    /// The sender's counter.
    pub(crate) n: u64,
    /// When it was sent ([`now_ns`]).
    pub(crate) sent_ns: u64,
}

impl Stamp {
    /// The body text.
    pub(crate) fn body(&self) -> String {
        format!(
            "jl {} {} {} {}",
            self.step, self.sender, self.n, self.sent_ns
        )
    }

    /// Reads a body; `None` for messages the tool did not send.
    pub(crate) fn parse(body: &str) -> Option<Stamp> {
        let mut it = body.strip_prefix("jl ")?.split(' ');
        let step = it.next()?.parse().ok()?;
        let sender = it.next()?.parse().ok()?;
        let n = it.next()?.parse().ok()?;
        let sent_ns = it.next()?.parse().ok()?;
        Some(Stamp {
            step,
            sender,
            n,
            sent_ns,
        })
    }
}

/// Whether an event type takes a room sequence.
pub(crate) fn is_sequenced(ty: &str) -> bool {
    matches!(
        ty,
        "message.created"
            | "message.edited"
            | "message.deleted"
            | "reaction.added"
            | "reaction.removed"
            | "member.joined"
            | "member.left"
            | "member.role"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        let s = Stamp {
            step: 2,
            sender: 7,
            n: 99,
            sent_ns: 123_456_789,
        };
        assert_eq!(Stamp::parse(&s.body()), Some(s));
        assert_eq!(Stamp::parse("hello"), None);
    }

    #[test]
    fn the_view_reads_acks_and_events() {
        let ack = r#"{"type":"ack","id":"s0.1","message":{"id":1,"room_id":3,"seq":4,"sender":{"id":1,"username":"a","display_name":""},"client_id":"x","body":"jl 0 1 1 5","reply_to":null,"forwarded_from":null,"attachments":[],"mentions":[],"reactions":[],"created_at":1,"edited_at":null,"deleted":false}}"#;
        let v: View<'_> = serde_json::from_str(ack).expect("an ack parses");
        assert_eq!(v.ty, "ack");
        assert_eq!(v.message.map(|m| m.seq), Some(Seq(4)));
        let p: View<'_> = serde_json::from_str(
            r#"{"type":"presence","user_id":2,"online":true,"last_seen":null}"#,
        )
        .expect("presence parses");
        assert!(p.message.is_none());
    }
}
