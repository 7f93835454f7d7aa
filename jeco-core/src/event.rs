//! The real-time events the services emit, and their serialized form.
//!
//! The event types themselves are wire types and live in `jeco-proto`; this module adds
//! [`Published`]: an event serialized to JSON exactly once, when it is published, whose bytes
//! go to every subscriber on every node.

use bytes::Bytes;

pub use jeco_proto::event::*;

use crate::ids::Seq;
use crate::pubsub::Topic;

/// An event serialized for delivery: the bytes are produced once and shared by every
/// subscriber (cloning `Bytes` only bumps a reference count).
#[derive(Clone, Debug)]
pub struct Published {
    /// Where it goes.
    pub topic: Topic,
    /// The room sequence, for sequenced room events; lets a receiver detect gaps without
    /// parsing the payload.
    pub seq: Option<Seq>,
    /// The event as JSON.
    pub payload: Bytes,
}

impl Published {
    /// Serializes `event` for `topic`.
    pub fn new(topic: Topic, event: &Event) -> Published {
        // Serializing these plain data types cannot fail: no maps with non-string keys,
        // no custom serializers that error.
        let payload = serde_json::to_vec(event).unwrap_or_default();
        Published {
            topic,
            seq: event.room_seq().map(|(_, s)| s),
            payload: Bytes::from(payload),
        }
    }

    /// Parses the payload back into an event (for in-process subscribers and tests).
    pub fn event(&self) -> serde_json::Result<Event> {
        serde_json::from_slice(&self.payload)
    }
}
