//! The real-time events the services emit, where they go, and their serialized form.
//!
//! The event types themselves are wire types and live in `jeco-proto`; this module adds
//! [`Topic`], where an event is published, and [`Published`]: an event serialized to JSON
//! exactly once, whose bytes go to every subscriber on every node.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

pub use jeco_proto::event::*;

use crate::ids::{RoomId, Seq, UserId};

/// Where an event is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Topic {
    /// Everything that happens in a room, for its members (presence of members of small rooms
    /// included).
    Room(RoomId),
    /// Things for one user only: notifications, their own membership changes, the presence of
    /// people who have them as a contact.
    User(UserId),
    /// New activity in public rooms, for every connection (throttled per room).
    Activity,
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Room(id) => write!(f, "room.{id}"),
            Topic::User(id) => write!(f, "user.{id}"),
            Topic::Activity => f.write_str("activity"),
        }
    }
}

impl Topic {
    /// The topic whose [`Display`](fmt::Display) form is `s`, exactly: a networked backend
    /// names its channels after topics and reads them back with this. Anything that is not
    /// the canonical form of a topic (`room.05`, `room.+5`, `user.x`) is `None`.
    pub fn parse(s: &str) -> Option<Topic> {
        let topic = if s == "activity" {
            Topic::Activity
        } else if let Some(id) = s.strip_prefix("room.") {
            Topic::Room(RoomId(id.parse().ok()?))
        } else if let Some(id) = s.strip_prefix("user.") {
            Topic::User(UserId(id.parse().ok()?))
        } else {
            return None;
        };
        // Only the canonical spelling, so that parsing is the exact inverse of printing.
        (topic.to_string() == s).then_some(topic)
    }
}

/// An event serialized for delivery: the bytes are produced once and shared by every
/// subscriber (cloning `Bytes` only bumps a reference count).
#[derive(Clone, Debug)]
pub struct Published {
    /// Where it goes.
    pub topic: Topic,
    /// The room sequence, for sequenced room events; lets a receiver detect gaps without
    /// parsing the payload.
    pub seq: Option<Seq>,
    /// Published to several topics at once (a presence change goes to every small room of
    /// the user): a connection that follows more than one of them delivers it once.
    pub shared: bool,
    /// The event as JSON.
    pub payload: Bytes,
    /// The event itself, on the node that published it, so that an in-process consumer need
    /// not parse the payload; `None` for events that arrived from another node.
    pub event: Option<Arc<Event>>,
}

impl Published {
    /// Serializes `event` for `topic`.
    ///
    /// Errors: the event could not be serialized. The plain data types of `jeco-proto` always
    /// serialize; this surfaces a bug instead of publishing an empty payload.
    pub fn new(topic: Topic, event: Event) -> Result<Published, serde_json::Error> {
        let payload = Bytes::from(serde_json::to_vec(&event)?);
        Ok(Published {
            topic,
            seq: event.room_seq().map(|(_, s)| s),
            shared: false,
            payload,
            event: Some(Arc::new(event)),
        })
    }

    /// The event: the one published on this node, or the payload parsed.
    pub fn event(&self) -> serde_json::Result<Arc<Event>> {
        match &self.event {
            Some(event) => Ok(Arc::clone(event)),
            None => serde_json::from_slice(&self.payload).map(Arc::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_parse_back_from_their_display_form() {
        for topic in [
            Topic::Room(RoomId(5)),
            Topic::Room(RoomId(-3)),
            Topic::User(UserId(7)),
            Topic::User(UserId(i64::MAX)),
            Topic::Activity,
        ] {
            assert_eq!(Topic::parse(&topic.to_string()), Some(topic));
        }
        for bad in [
            "",
            "room.",
            "room.x",
            "room.05",
            "room.+5",
            "room.5 ",
            "user.",
            "user.1.2",
            "activity.",
            "Activity",
            "presence",
            "rooms.5",
            "typing",
        ] {
            assert_eq!(Topic::parse(bad), None, "{bad:?}");
        }
    }
}
