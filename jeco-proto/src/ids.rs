//! Typed identifiers, so that a room id can never be passed where a user id is expected.
//!
//! Every id is a positive 64-bit integer assigned by the store; on the wire it is a JSON number.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw integer, as stored.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An account.
    UserId
);
id_type!(
    /// A conversation: a public or private group room, or a direct-message room.
    RoomId
);
id_type!(
    /// A message, unique across all rooms.
    MessageId
);
id_type!(
    /// An entry of a user's feed that is a notification.
    NotificationId
);
id_type!(
    /// An uploaded file.
    AttachmentId
);

/// A position in an ordered stream: a room's changes or a user's feed.
///
/// Sequences start at 1 for the first change; 0 means "nothing seen yet". Within one stream
/// they are dense: every integer from 1 to the stream's last sequence is used exactly once,
/// so a reader that has seen `n` knows it has missed something when it next sees `n + 2`.
///
/// A sequence read from the wire is never negative: deserializing one fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Seq(pub i64);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Seq {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(0))
            .description(Some(
                "A position in a room's changes or a user's feed (0: nothing yet).",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Seq {}

impl<'de> Deserialize<'de> for Seq {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Seq, D::Error> {
        let n = i64::deserialize(d)?;
        if n < 0 {
            return Err(serde::de::Error::custom("a sequence is never negative"));
        }
        Ok(Seq(n))
    }
}

impl Seq {
    /// Before the first change.
    pub const ZERO: Seq = Seq(0);

    /// The raw integer, as stored.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Milliseconds since the Unix epoch, UTC.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }

    /// This time plus a duration.
    pub fn after(self, d: std::time::Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_millis() as i64))
    }
}
