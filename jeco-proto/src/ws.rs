//! Frames of the real-time protocol (`GET /v1/ws`, and the SSE transport's commands).
//!
//! Every frame is a JSON object with a `type`. A client sends [`ClientFrame`]s; commands carry
//! an `id` of the client's choosing, and the server answers each with an `ack` or an `error`
//! carrying the same `id`. Between replies the server sends events ([`crate::event::Event`]),
//! each as its own frame. [`Incoming`] parses anything the server sends.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::event::Event;
use crate::ids::{AttachmentId, MessageId, RoomId, Seq, UserId};
use crate::model::Message;

/// How far a client has seen a room. On the wire only the object form
/// `{"room_id": 1, "seq": 2}` is accepted: an array such as `[1, 2]` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomPosition {
    /// The room.
    pub room_id: RoomId,
    /// The last sequence seen (0: nothing).
    pub seq: Seq,
}

impl<'de> Deserialize<'de> for RoomPosition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RoomPosition, D::Error> {
        d.deserialize_map(PositionVisitor)
    }
}

/// Reads a [`RoomPosition`] from an object only (serde's derive would take an array too).
struct PositionVisitor;

impl<'de> serde::de::Visitor<'de> for PositionVisitor {
    type Value = RoomPosition;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(r#"an object {"room_id": ..., "seq": ...}"#)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RoomPosition, A::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "snake_case")]
        enum Field {
            RoomId,
            Seq,
            #[serde(other)]
            Other,
        }
        let (mut room_id, mut seq) = (None, None);
        while let Some(key) = map.next_key()? {
            match key {
                Field::RoomId if room_id.is_none() => room_id = Some(map.next_value()?),
                Field::Seq if seq.is_none() => seq = Some(map.next_value()?),
                Field::RoomId => return Err(A::Error::duplicate_field("room_id")),
                Field::Seq => return Err(A::Error::duplicate_field("seq")),
                Field::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(RoomPosition {
            room_id: room_id.ok_or_else(|| A::Error::missing_field("room_id"))?,
            seq: seq.ok_or_else(|| A::Error::missing_field("seq"))?,
        })
    }
}

/// A frame from the client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientFrame {
    /// The first frame of a connection opened without a ticket: the access token.
    Auth {
        /// A valid access token.
        token: String,
    },
    /// Post a message. Acked with the message once it is committed.
    Send {
        /// Command id.
        id: String,
        /// Where.
        room_id: RoomId,
        /// Idempotency key: a retry with the same key returns the first message.
        client_id: String,
        /// The text.
        #[serde(default)]
        body: String,
        /// The message this answers.
        #[serde(default)]
        reply_to: Option<MessageId>,
        /// Files uploaded to this room.
        #[serde(default)]
        attachments: Vec<AttachmentId>,
    },
    /// Replace the text of one's own message. Acked with the message.
    Edit {
        /// Command id.
        id: String,
        /// Which message.
        message_id: MessageId,
        /// The new text.
        body: String,
    },
    /// Delete a message (author or room admin). Acked without a body.
    Delete {
        /// Command id.
        id: String,
        /// Which message.
        message_id: MessageId,
    },
    /// Add or remove a reaction. Acked with `added`: whether it is present now.
    React {
        /// Command id.
        id: String,
        /// Which message.
        message_id: MessageId,
        /// The emoji.
        emoji: String,
        /// `true`: make it present; `false`: make it absent; both safe to retry. Absent:
        /// toggle.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        add: Option<bool>,
    },
    /// Typing started (lapses by itself) or stopped. Acked like any command.
    Typing {
        /// Command id.
        id: String,
        /// Where.
        room_id: RoomId,
        /// Typing now, or stopped.
        active: bool,
    },
    /// Move the read watermark. Acked with the watermark as `seq`.
    Read {
        /// Command id.
        id: String,
        /// Where.
        room_id: RoomId,
        /// Read up to and including this sequence.
        seq: Seq,
    },
    /// Replay what was missed: every change after each given position, then the feed after
    /// `feed_after`, then a `resumed` frame. Rooms not listed continue from the connection's
    /// current position. Events already sent on this connection may come again in the
    /// replay; clients drop events at or below the position they hold.
    Resume {
        /// Command id.
        id: String,
        /// The last sequence seen per room.
        #[serde(default)]
        rooms: Vec<RoomPosition>,
        /// The last feed sequence seen, if the feed should be replayed too.
        #[serde(default)]
        feed_after: Option<Seq>,
    },
    /// Liveness check. Answered with `pong`.
    Ping {
        /// Command id.
        id: String,
    },
}

impl ClientFrame {
    /// The frame's `type`, as on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientFrame::Auth { .. } => "auth",
            ClientFrame::Send { .. } => "send",
            ClientFrame::Edit { .. } => "edit",
            ClientFrame::Delete { .. } => "delete",
            ClientFrame::React { .. } => "react",
            ClientFrame::Typing { .. } => "typing",
            ClientFrame::Read { .. } => "read",
            ClientFrame::Resume { .. } => "resume",
            ClientFrame::Ping { .. } => "ping",
        }
    }

    /// The command id, for frames that have one.
    pub fn id(&self) -> Option<&str> {
        match self {
            ClientFrame::Auth { .. } => None,
            ClientFrame::Send { id, .. }
            | ClientFrame::Edit { id, .. }
            | ClientFrame::Delete { id, .. }
            | ClientFrame::React { id, .. }
            | ClientFrame::Typing { id, .. }
            | ClientFrame::Read { id, .. }
            | ClientFrame::Resume { id, .. }
            | ClientFrame::Ping { id } => Some(id),
        }
    }
}

/// A frame from the server that is not an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerFrame {
    /// The connection is authenticated and live events flow from here on.
    Ready {
        /// The protocol version ([`crate::PROTOCOL_VERSION`]).
        protocol: u32,
        /// Who is connected.
        user_id: UserId,
        /// This connection's id (the SSE transport posts commands to it).
        session_id: String,
        /// The server pings at this interval; a connection silent for three intervals is
        /// closed.
        heartbeat_ms: u64,
        /// Where live delivery starts in each of the user's rooms; send `resume` with older
        /// positions to replay what came before.
        rooms: Vec<RoomPosition>,
        /// The user's feed sequence at the start.
        feed_seq: Seq,
    },
    /// A command succeeded.
    Ack {
        /// The command's id.
        id: String,
        /// The message, for `send` and `edit`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Box<Message>>,
        /// The read watermark, for `read`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<Seq>,
        /// Whether the reaction is now present, for `react`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        added: Option<bool>,
    },
    /// A command failed, or a frame could not be understood (then `id` is absent). Nothing
    /// was changed and the connection stays open.
    Error {
        /// The command's id, when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Stable code.
        code: ErrorCode,
        /// For people.
        message: String,
        /// The field at fault.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        /// The room the error is about, when it names one (`too_far_behind`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room_id: Option<RoomId>,
        /// For `rate_limited`: milliseconds until the same command may succeed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// Answer to `ping`.
    Pong {
        /// The ping's id.
        id: String,
    },
    /// The replay asked for by `resume` is complete: every event up to these positions has
    /// been sent.
    Resumed {
        /// The `resume` command's id.
        id: String,
        /// Position per room after the replay.
        rooms: Vec<RoomPosition>,
        /// Feed position after the replay.
        feed_seq: Seq,
    },
    /// The server is about to close the connection, and why: `slow_consumer` (reconnect and
    /// resume), `shutting_down` (reconnect and resume), `signed_out` (sign in again),
    /// `heartbeat_timeout`, `frame_too_large`, `protocol_error`, `internal`; before the
    /// connection was authenticated: `auth_timeout`, `auth_required`, `invalid_ticket`,
    /// `invalid_token`, `token_expired`, `too_many_connections`, `unavailable`. Every code
    /// that can close a connection is marked so in [`ErrorCode::channels`].
    Closing {
        /// Stable reason code.
        code: ErrorCode,
        /// For people.
        message: String,
    },
}

/// Anything the server sends: a protocol frame or an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Incoming {
    /// Ready, ack, error, pong, resumed, closing.
    Frame(ServerFrame),
    /// A real-time event.
    Event(Event),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_is_an_object_only() {
        let resume = |rooms: &str| {
            serde_json::from_str::<ClientFrame>(&format!(
                r#"{{"type":"resume","id":"r","rooms":{rooms}}}"#
            ))
        };
        let ClientFrame::Resume { rooms, .. } =
            resume(r#"[{"room_id":3,"seq":7,"later":true}]"#).unwrap()
        else {
            panic!("a resume");
        };
        assert_eq!(
            rooms,
            [RoomPosition {
                room_id: RoomId(3),
                seq: Seq(7)
            }]
        );
        for refused in [
            "[[3,7]]",
            r#"[{"room_id":3}]"#,
            r#"[{"room_id":3,"seq":7,"seq":1}]"#,
            r#"[{"room_id":3,"seq":-1}]"#,
        ] {
            assert!(resume(refused).is_err(), "{refused} was accepted");
        }
    }

    #[test]
    fn frames_are_tagged_json() {
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"send","id":"c1","room_id":3,"client_id":"k","body":"hi"}"#,
        )
        .unwrap();
        assert_eq!(f.id(), Some("c1"));
        assert!(matches!(
            f,
            ClientFrame::Send {
                room_id: RoomId(3),
                ..
            }
        ));

        let ack = ServerFrame::Ack {
            id: "c1".into(),
            message: None,
            seq: Some(Seq(4)),
            added: None,
        };
        assert_eq!(
            serde_json::to_string(&ack).unwrap(),
            r#"{"type":"ack","id":"c1","seq":4}"#
        );
        let typing =
            r#"{"type":"typing","room_id":1,"user_id":2,"active":true,"expires_in_ms":6000}"#;
        assert!(matches!(
            serde_json::from_str::<Incoming>(typing).unwrap(),
            Incoming::Event(Event::Typing { .. })
        ));
        assert!(matches!(
            serde_json::from_str::<Incoming>(r#"{"type":"pong","id":"p"}"#).unwrap(),
            Incoming::Frame(ServerFrame::Pong { .. })
        ));
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"nope","id":"x"}"#).is_err());
        // A newer server's event types parse, as something to skip.
        assert_eq!(
            serde_json::from_str::<Incoming>(r#"{"type":"poll.created","room_id":1}"#).unwrap(),
            Incoming::Event(Event::Unknown)
        );
    }
}
