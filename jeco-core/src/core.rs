//! The shared state behind every service, and how the services announce what happened.
//!
//! [`Core::publish`] serializes an event once and hands it to the pub/sub backend. Two kinds
//! of announcement need more than one topic or a brake, and live here too:
//! [`Core::announce_presence`] (to the rooms a user shares with few enough people, and to the
//! people who have the user as a contact) and [`Core::announce_activity`] (new activity in a
//! public room, throttled per room and per node).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::auth::{JwtKeys, PasswordHashing};
use crate::blob::BlobStore;
use crate::commit::GroupCommit;
use crate::event::{Event, Published, Topic};
use crate::ids::{RoomId, Seq, Timestamp, UserId};
use crate::limits::Limits;
use crate::mailer::Mailer;
use crate::observe::Observers;
use crate::presence::Presence;
use crate::pubsub::{Inbox, PubSub};
use crate::store::Stores;

/// Most people told of one user's presence change through their contact lists.
const PRESENCE_CONTACTS: i64 = 1000;

/// Shortest time between two activity announcements of one node, whatever the room: with
/// many busy public rooms, announcements are dropped rather than flooding every connection
/// (the room list stays the truth).
const ACTIVITY_NODE_INTERVAL: Duration = Duration::from_millis(100);

/// The shared state behind every service.
pub(crate) struct Core {
    pub(crate) stores: Stores,
    /// Group commit of sends, and the order their events are published in.
    pub(crate) commits: GroupCommit,
    pub(crate) pubsub: Arc<dyn PubSub>,
    pub(crate) presence: Arc<dyn Presence>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) inbox: Inbox,
    pub(crate) jwt: JwtKeys,
    pub(crate) hashing: PasswordHashing,
    pub(crate) limits: Limits,
    pub(crate) reset_link: String,
    pub(crate) general: RoomId,
    pub(crate) activity: ActivityThrottle,
    /// Where the stores and Redis connections report what they measure.
    pub(crate) observers: Observers,
}

impl Core {
    /// Serializes `event` once and publishes it. Delivery is best effort by design (see
    /// [`PubSub`]): the change is already committed, and subscribers fill gaps from the store,
    /// so a failure is logged rather than returned to the caller whose write succeeded.
    pub(crate) async fn publish(&self, topic: Topic, event: Event) {
        match Published::new(topic, event) {
            Ok(published) => self.send(published).await,
            Err(e) => tracing::error!(%topic, error = %e, "an event could not be serialized"),
        }
    }

    async fn send(&self, published: Published) {
        let topic = published.topic;
        if let Err(e) = self.pubsub.publish(published).await {
            tracing::warn!(%topic, error = %e, "publish failed; subscribers will resync from the store");
        }
    }

    /// Tells the people who share a small room with `user`, or have `user` as a contact,
    /// that `user` came online or went offline. Rooms larger than the limit do not carry
    /// presence: announcing every member's transitions to every other member would cost the
    /// square of the room's size in a reconnect storm; clients ask for the presence of the
    /// members they show instead.
    pub(crate) async fn announce_presence(
        &self,
        user: UserId,
        online: bool,
        last_seen: Option<Timestamp>,
    ) {
        let event = Event::Presence {
            user_id: user,
            online,
            last_seen,
        };
        let published = match Published::new(Topic::User(user), event) {
            Ok(p) => Published { shared: true, ..p },
            Err(e) => {
                tracing::error!(%user, error = %e, "a presence event could not be serialized");
                return;
            }
        };
        // Both reads at once: this runs as a user's first connection opens.
        let (rooms, watchers) = tokio::join!(
            self.stores
                .rooms
                .small_rooms_of(user, self.limits.presence_room_members),
            self.stores.contacts.contact_owners(user, PRESENCE_CONTACTS),
        );
        let (rooms, watchers) = match (rooms, watchers) {
            (Ok(rooms), Ok(watchers)) => (rooms, watchers),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(%user, error = %e, "presence not announced: the store did not answer");
                return;
            }
        };
        let topics = rooms
            .into_iter()
            .map(Topic::Room)
            .chain(watchers.into_iter().map(Topic::User));
        for topic in topics {
            self.send(Published {
                topic,
                ..published.clone()
            })
            .await;
        }
    }

    /// Announces that public room `room` moved on to `last_seq`, unless it was announced
    /// less than the configured interval ago (or this node announced any room a moment ago).
    pub(crate) async fn announce_activity(&self, room: RoomId, last_seq: Seq) {
        if self
            .activity
            .admit(room, self.limits.activity_interval, Instant::now())
        {
            self.publish(
                Topic::Activity,
                Event::RoomActivity {
                    room_id: room,
                    last_seq,
                },
            )
            .await;
        }
    }
}

/// When each public room was last announced as active on this node.
#[derive(Debug, Default)]
pub(crate) struct ActivityThrottle {
    state: Mutex<ThrottleState>,
}

#[derive(Debug, Default)]
struct ThrottleState {
    rooms: HashMap<RoomId, Instant>,
    last: Option<Instant>,
}

/// Rooms remembered before the ones announced longest ago are forgotten.
const THROTTLE_ROOMS: usize = 4096;

impl ActivityThrottle {
    /// Whether `room` may be announced at `now`; if so, records it.
    fn admit(&self, room: RoomId, per_room: Duration, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state
            .last
            .is_some_and(|t| now.duration_since(t) < ACTIVITY_NODE_INTERVAL)
        {
            return false;
        }
        if state
            .rooms
            .get(&room)
            .is_some_and(|t| now.duration_since(*t) < per_room)
        {
            return false;
        }
        if state.rooms.len() >= THROTTLE_ROOMS {
            state.rooms.retain(|_, t| now.duration_since(*t) < per_room);
        }
        state.rooms.insert(room, now);
        state.last = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_is_announced_at_most_once_per_room_and_interval() {
        let throttle = ActivityThrottle::default();
        let t0 = Instant::now();
        let per_room = Duration::from_secs(5);
        assert!(throttle.admit(RoomId(1), per_room, t0));
        // The same room again soon: not yet. Another room right away: the node's brake.
        assert!(!throttle.admit(RoomId(1), per_room, t0 + Duration::from_secs(1)));
        assert!(!throttle.admit(RoomId(2), per_room, t0 + Duration::from_millis(10)));
        assert!(throttle.admit(RoomId(2), per_room, t0 + Duration::from_secs(1)));
        assert!(throttle.admit(RoomId(1), per_room, t0 + Duration::from_secs(6)));
    }
}
