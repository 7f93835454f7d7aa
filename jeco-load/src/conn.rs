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

/// How much a connection reads at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reads {
    /// The small buffer a chat client needs (4 KiB): the library's default (128 KiB) would
    /// make the tool's side of an idle connection far bigger than the server's.
    Small,
    /// 16 KiB, for a connection that receives a heavy stream of events: a read takes a
    /// backlog rather than a few frames (a larger buffer costs more than it saves: the
    /// WebSocket library zeroes the whole free space before every read).
    Busy,
}

fn ws_config(reads: Reads) -> WebSocketConfig {
    let read = match reads {
        Reads::Small => 4096,
        Reads::Busy => 16 * 1024,
    };
    WebSocketConfig::default()
        .read_buffer_size(read)
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
    reads: Reads,
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
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config(reads)))
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

/// A `message.created` event, as [`scan_delivery`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The room.
    pub(crate) room_id: RoomId,
    /// The event's room sequence.
    pub(crate) seq: Seq,
    /// The stamp in the message's body.
    pub(crate) stamp: Stamp,
}

/// Reads a `message.created` event that carries a load stamp by scanning its text for the
/// three fields the tool needs, instead of parsing the whole event: a member receives one
/// per message sent, so this is most of what the tool does under load. The event is
/// serialized as `{"type":"message.created","room_id":R,"seq":S,"message":{...,"body":"..."}}`
/// (the tests below hold that against `jeco_proto`), and the first key named `body` is the
/// message's: a key cannot appear inside a JSON string, whose quotes are escaped, and no
/// object before the body has such a key. Everything is found by prefix or by one
/// vectorized substring search. `None` when the text is anything else, or the
/// body is not a stamp: then the frame is parsed.
pub(crate) fn scan_delivery(text: &str) -> Option<Delivery> {
    let rest = text.strip_prefix(r#"{"type":"message.created","room_id":"#)?;
    let (room_id, rest) = leading_number(rest)?;
    let (seq, rest) = leading_number(rest.strip_prefix(r#","seq":"#)?)?;
    let body = after_body_key(rest)?;
    Some(Delivery {
        room_id: RoomId(room_id),
        seq: Seq(seq),
        stamp: Stamp::parse(&body[..body.find('"')?])?,
    })
}

/// The integer `text` starts with, and what follows it.
fn leading_number(text: &str) -> Option<(i64, &str)> {
    let len = text.bytes().take_while(u8::is_ascii_digit).count();
    Some((text[..len].parse().ok()?, &text[len..]))
}

/// What follows the first `"body":"` in `text`.
fn after_body_key(text: &str) -> Option<&str> {
    const KEY: &str = r#""body":""#;
    static FINDER: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    let at = FINDER
        .get_or_init(|| memchr::memmem::Finder::new(KEY))
        .find(text.as_bytes())?;
    text.get(at + KEY.len()..)
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

    fn created(body: &str) -> String {
        use jeco_proto::event::Event;
        use jeco_proto::ids::{MessageId, Timestamp};
        use jeco_proto::model::{Message, UserRef};
        let message = Message {
            id: MessageId(11),
            room_id: RoomId(3),
            seq: Seq(42),
            sender: UserRef {
                id: UserId(5),
                // Names that look like the keys scanned for, inside strings.
                username: r#""seq":1"#.into(),
                display_name: r#""body":"jl 9 9 9 9""#.into(),
            },
            client_id: r#""room_id":7"#.into(),
            body: body.into(),
            reply_to: None,
            forwarded_from: None,
            attachments: Vec::new(),
            mentions: Vec::new(),
            reactions: Vec::new(),
            created_at: Timestamp::now(),
            edited_at: None,
            deleted: false,
        };
        serde_json::to_string(&Event::MessageCreated {
            room_id: RoomId(3),
            seq: Seq(42),
            message,
        })
        .expect("an event serializes")
    }

    #[test]
    fn deliveries_are_scanned_as_the_view_reads_them() {
        let stamp = Stamp {
            step: 1,
            sender: 2,
            n: 3,
            sent_ns: 4_000_000,
        };
        let text = created(&stamp.body());
        let d = scan_delivery(&text).expect("a stamped message.created is scanned");
        let v: View<'_> = serde_json::from_str(&text).expect("the view reads it");
        let m = v.message.expect("a message");
        assert_eq!(
            (Some(d.room_id), Some(d.seq), Some(d.stamp)),
            (v.room_id, v.seq, Stamp::parse(&m.body))
        );
        assert_eq!((d.room_id, d.seq, d.stamp), (RoomId(3), Seq(42), stamp));
        // Anything else is left to the parser.
        assert_eq!(scan_delivery(&created("hello")), None);
        assert_eq!(scan_delivery(&created(r#"jl 1 2 3 "4""#)), None);
        assert_eq!(
            scan_delivery(r#"{"type":"presence","user_id":2,"online":true,"last_seen":null}"#),
            None
        );
    }
}
