//! The services: every rule about who may do what lives here, and only here.
//!
//! Each service is a thin borrowed view of the engine's shared state, returned by the
//! matching [`crate::Engine`] method. Calls take the acting user's id, already authenticated
//! by the caller (a transport checks the access token with [`Accounts::authenticate`]).

mod accounts;
mod attachments;
mod contacts;
mod messages;
mod notifications;
mod presence;
mod rooms;

pub use accounts::Accounts;
pub use attachments::{Attachments, Upload};
pub use contacts::Contacts;
pub use messages::{Changes, HistoryQuery, Messages, PendingSend, SendMessage};
pub use notifications::{Feed, Notifications};
pub use presence::PresenceService;
pub use rooms::Rooms;

use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{RoomId, UserId};
use crate::model::{Room, RoomKind};
use crate::store::Membership;

/// `room` as `user` may see it. A private or direct room the user is not in does not exist as
/// far as they can tell: `NotFound`, never `Forbidden`, so ids reveal nothing.
pub(crate) async fn visible_room(
    core: &Core,
    user: UserId,
    room: RoomId,
) -> Result<(Room, Option<Membership>)> {
    let (room, membership) = core.stores.rooms.room_for(room, user).await?;
    if membership.is_none() && room.kind != RoomKind::Public {
        return Err(Error::not_found(ErrorCode::RoomNotFound));
    }
    Ok((room, membership))
}

/// `room` and `user`'s membership of it, which the call requires.
pub(crate) async fn member_of(
    core: &Core,
    user: UserId,
    room: RoomId,
) -> Result<(Room, Membership)> {
    match visible_room(core, user, room).await? {
        (room, Some(m)) => Ok((room, m)),
        (_, None) => Err(Error::new(ErrorCode::NotAMember, "join the room first")),
    }
}

/// A requested page size (at least 1, checked where it was read) capped at `max`, with
/// `default` for `None`.
pub(crate) fn page_size(requested: Option<u32>, default: i64, max: i64) -> i64 {
    requested.map_or(default, i64::from).clamp(1, max)
}
