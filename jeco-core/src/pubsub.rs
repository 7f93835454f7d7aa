//! Moving events from the service that produced them to every connection that wants them.
//!
//! Two pieces:
//! - the hub, node-local: maps topics to the bounded queues of this node's subscriptions.
//!   Delivery never waits: a full queue marks the subscription as overflowed and drops it, and
//!   its owner resumes from the store. A slow reader can therefore never stall a room. A
//!   backend reaches it through an [`Inbox`].
//! - [`PubSub`], the backend trait: carries published events to the inbox of every node. The
//!   in-process backend hands them straight to the local one; a networked backend sends them
//!   to the other nodes, whose receivers deliver into their own.
//!
//! A backend that may have lost events (it was disconnected for a while) calls
//! [`Inbox::resync`]: every subscription then receives [`Delivery::Resync`], and its owner
//! compares its positions with the store and reads whatever it missed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::event::{Published, Topic};

/// A pub/sub backend failed to publish.
#[derive(Debug, thiserror::Error)]
#[error("publish failed: {0}")]
pub struct PubSubError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Carries published events to every node's [`Inbox`].
///
/// Delivery is best effort: an event may be lost (a networked backend that loses its
/// connection, say). Sequenced room events let receivers notice and fill the gap from the store,
/// so no backend has to be reliable.
#[async_trait]
pub trait PubSub: Send + Sync + 'static {
    /// Sends one event to every node, this one included.
    async fn publish(&self, event: Published) -> Result<(), PubSubError>;

    /// Whether events from other nodes reach this one right now (for readiness probes).
    fn is_ready(&self) -> bool {
        true
    }
}

/// The pub/sub backend for a single process: publishing is delivering to the local inbox.
#[derive(Debug)]
pub struct InProcessPubSub {
    inbox: Inbox,
}

impl InProcessPubSub {
    /// A backend that delivers to `inbox`.
    pub fn new(inbox: Inbox) -> InProcessPubSub {
        InProcessPubSub { inbox }
    }
}

#[async_trait]
impl PubSub for InProcessPubSub {
    async fn publish(&self, event: Published) -> Result<(), PubSubError> {
        self.inbox.deliver(&event);
        Ok(())
    }
}

/// This node's subscriptions, as a pub/sub backend (and a test) sees them: deliver an event
/// to every subscription of its topic, tell all of them that events may have been lost, or
/// subscribe. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Inbox(Arc<Hub>);

impl Inbox {
    /// An inbox whose subscriptions each buffer up to `queue_len` events before they count as
    /// too slow and are dropped.
    pub fn new(queue_len: usize) -> Inbox {
        Inbox(Hub::new(queue_len))
    }

    /// Delivers `event` to every subscription of its topic on this node, without waiting.
    pub fn deliver(&self, event: &Published) {
        self.0.dispatch(event);
    }

    /// Tells every subscription on this node that events may have been lost
    /// ([`Delivery::Resync`]), so that each compares its positions with the store.
    pub fn resync(&self) {
        self.0.resync();
    }

    /// A new subscription with no topics yet.
    pub fn subscribe(&self) -> Subscription {
        self.0.subscribe()
    }

    /// How many subscriptions follow `topic` on this node (for metrics and tests).
    pub fn followers(&self, topic: Topic) -> usize {
        self.0.subscriber_count(topic)
    }
}

/// What a subscription receives.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// An event of a followed topic.
    Event(Published),
    /// Events may have been lost (the pub/sub backend was disconnected): compare positions
    /// with the store and read what is missing.
    Resync,
}

type SubId = u64;

/// One subscription's bounded queue.
///
/// Not a tokio channel: an idle subscription should cost next to nothing (a channel
/// allocates a block of slots up front), and there are as many as open connections. The
/// deque allocates on the first event and gives memory back once drained after a burst.
struct Queue {
    items: Mutex<VecDeque<Delivery>>,
    ready: Notify,
    capacity: usize,
    /// Set when the queue was full: the hub drops the subscription, its owner resumes.
    overflowed: AtomicBool,
}

/// Drained queues keep at most this many slots.
const KEEP_SLOTS: usize = 16;

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Delivery>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `delivery` without waiting; `false` if the queue was full.
    fn offer(&self, delivery: &Delivery) -> bool {
        let mut items = self.lock();
        if items.len() >= self.capacity {
            drop(items);
            self.overflowed.store(true, Ordering::Release);
            self.ready.notify_one();
            return false;
        }
        items.push_back(delivery.clone());
        drop(items);
        self.ready.notify_one();
        true
    }

    fn pop(&self) -> Option<Delivery> {
        let mut items = self.lock();
        let item = items.pop_front();
        if items.is_empty() && items.capacity() > KEEP_SLOTS {
            items.shrink_to(KEEP_SLOTS);
        }
        item
    }
}

struct Subscriber {
    id: SubId,
    queue: Arc<Queue>,
}

#[derive(Default)]
struct HubState {
    by_topic: HashMap<Topic, Vec<Subscriber>>,
    topics_of: HashMap<SubId, HashSet<Topic>>,
}

/// The node-local router from topics to subscriptions.
///
/// A std `RwLock` is right here: it is held only to look up or change a map, never across an
/// `.await`, and dispatch (the hot path) takes the shared side.
pub(crate) struct Hub {
    state: RwLock<HubState>,
    next_id: AtomicU64,
    queue_len: usize,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("queue_len", &self.queue_len)
            .finish()
    }
}

impl Hub {
    /// A hub whose subscriptions each buffer up to `queue_len` events.
    pub(crate) fn new(queue_len: usize) -> Arc<Hub> {
        Arc::new(Hub {
            state: RwLock::new(HubState::default()),
            next_id: AtomicU64::new(1),
            queue_len: queue_len.max(1),
        })
    }

    /// A new subscription with no topics yet.
    pub(crate) fn subscribe(self: &Arc<Self>) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Subscription {
            id,
            hub: Arc::clone(self),
            queue: Arc::new(Queue {
                items: Mutex::new(VecDeque::new()),
                ready: Notify::new(),
                capacity: self.queue_len,
                overflowed: AtomicBool::new(false),
            }),
        }
    }

    /// Delivers `event` to every subscription of its topic without waiting.
    pub(crate) fn dispatch(&self, event: &Published) {
        let slow = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            let Some(subs) = state.by_topic.get(&event.topic) else {
                return;
            };
            offer(subs, &Delivery::Event(event.clone()))
        };
        for id in slow {
            self.remove(id);
        }
    }

    /// Tells every subscription on this node that events may have been lost, so that each
    /// checks its positions against the store. A subscription whose queue is full is dropped
    /// as in [`Hub::dispatch`]; its owner resumes from the store anyway.
    pub(crate) fn resync(&self) {
        let slow = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            // Every subscription follows at least one topic; visit each once.
            let mut seen = HashSet::new();
            let mut slow = Vec::new();
            for subs in state.by_topic.values() {
                let fresh: Vec<&Subscriber> = subs.iter().filter(|s| seen.insert(s.id)).collect();
                slow.extend(offer(fresh, &Delivery::Resync));
            }
            slow
        };
        for id in slow {
            self.remove(id);
        }
    }

    fn add(&self, sub: &Subscription, topic: Topic) {
        if sub.overflowed() {
            return;
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if !state.topics_of.entry(sub.id).or_default().insert(topic) {
            return;
        }
        state.by_topic.entry(topic).or_default().push(Subscriber {
            id: sub.id,
            queue: Arc::clone(&sub.queue),
        });
    }

    fn drop_topic(&self, id: SubId, topic: Topic) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = state.topics_of.get_mut(&id) {
            set.remove(&topic);
        }
        remove_from_topic(&mut state.by_topic, topic, id);
    }

    fn remove(&self, id: SubId) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let Some(topics) = state.topics_of.remove(&id) else {
            return;
        };
        for topic in topics {
            remove_from_topic(&mut state.by_topic, topic, id);
        }
    }

    /// How many subscriptions are attached to `topic` on this node.
    pub(crate) fn subscriber_count(&self, topic: Topic) -> usize {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state.by_topic.get(&topic).map_or(0, Vec::len)
    }
}

/// Queues `delivery` for each of `subs` without waiting; returns the ones to drop.
fn offer<'a>(subs: impl IntoIterator<Item = &'a Subscriber>, delivery: &Delivery) -> Vec<SubId> {
    let mut slow = Vec::new();
    for sub in subs {
        if !sub.queue.offer(delivery) {
            slow.push(sub.id);
        }
    }
    slow
}

fn remove_from_topic(by_topic: &mut HashMap<Topic, Vec<Subscriber>>, topic: Topic, id: SubId) {
    if let Some(subs) = by_topic.get_mut(&topic) {
        subs.retain(|s| s.id != id);
        if subs.is_empty() {
            by_topic.remove(&topic);
        }
    }
}

/// One receiver's view of the hub: a bounded queue fed by the topics it follows.
///
/// Dropping it unsubscribes from everything.
pub struct Subscription {
    id: SubId,
    hub: Arc<Hub>,
    queue: Arc<Queue>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

impl Subscription {
    /// Starts receiving events of `topic`.
    pub fn follow(&self, topic: Topic) {
        self.hub.add(self, topic);
    }

    /// Stops receiving events of `topic`.
    pub fn unfollow(&self, topic: Topic) {
        self.hub.drop_topic(self.id, topic);
    }

    /// The next delivery, or `None` once the subscription was dropped for falling behind
    /// (after what was queued before that). Cancel-safe: nothing is taken off the queue
    /// unless it is returned.
    pub async fn next(&mut self) -> Option<Delivery> {
        loop {
            if let Some(delivery) = self.queue.pop() {
                return Some(delivery);
            }
            if self.overflowed() {
                return None;
            }
            // A delivery queued between the check above and this wait leaves a permit, so
            // the wait ends at once.
            self.queue.ready.notified().await;
        }
    }

    /// The next event, skipping [`Delivery::Resync`]; `None` once the subscription was
    /// dropped for falling behind. For owners that keep no positions.
    pub async fn recv(&mut self) -> Option<Published> {
        loop {
            if let Delivery::Event(event) = self.next().await? {
                return Some(event);
            }
        }
    }

    /// The next event if one is queued, without waiting (skipping [`Delivery::Resync`]).
    pub fn try_recv(&mut self) -> Option<Published> {
        loop {
            if let Delivery::Event(event) = self.queue.pop()? {
                return Some(event);
            }
        }
    }

    /// Whether the hub dropped this subscription because its queue was full. Its owner must
    /// resume from the store (by sequence) to catch up.
    pub fn overflowed(&self) -> bool {
        self.queue.overflowed.load(Ordering::Acquire)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::ids::{RoomId, Seq, UserId};

    fn read(room: i64, seq: i64) -> Published {
        Published::new(
            Topic::Room(RoomId(room)),
            Event::Read {
                room_id: RoomId(room),
                user_id: UserId(1),
                seq: Seq(seq),
            },
        )
        .unwrap()
    }

    #[test]
    fn delivers_by_topic_and_shares_the_bytes() {
        let hub = Hub::new(8);
        let mut a = hub.subscribe();
        let mut b = hub.subscribe();
        a.follow(Topic::Room(RoomId(1)));
        b.follow(Topic::Room(RoomId(1)));
        b.follow(Topic::Room(RoomId(1)));
        b.follow(Topic::Room(RoomId(2)));
        assert_eq!(hub.subscriber_count(Topic::Room(RoomId(1))), 2);

        let event = read(1, 5);
        hub.dispatch(&event);
        hub.dispatch(&read(2, 6));
        let got_a = a.try_recv().unwrap();
        assert_eq!(got_a.payload.as_ptr(), event.payload.as_ptr());
        assert!(a.try_recv().is_none());
        assert_eq!(b.try_recv().unwrap().seq, None);
        assert!(b.try_recv().is_some());
        assert!(b.try_recv().is_none());

        b.unfollow(Topic::Room(RoomId(2)));
        hub.dispatch(&read(2, 7));
        assert!(b.try_recv().is_none());
        drop(a);
        assert_eq!(hub.subscriber_count(Topic::Room(RoomId(1))), 1);
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_slow_subscriber_not_the_others() {
        let hub = Hub::new(2);
        let mut slow = hub.subscribe();
        let mut fast = hub.subscribe();
        slow.follow(Topic::Room(RoomId(1)));
        fast.follow(Topic::Room(RoomId(1)));
        for seq in 1..=3 {
            hub.dispatch(&read(1, seq));
            assert!(fast.try_recv().is_some(), "fast reader got {seq}");
        }
        assert!(slow.overflowed());
        assert!(!fast.overflowed());
        assert_eq!(hub.subscriber_count(Topic::Room(RoomId(1))), 1);
        // What was queued before the overflow is still readable, then the stream ends.
        assert!(slow.recv().await.is_some());
        assert!(slow.recv().await.is_some());
        assert!(slow.recv().await.is_none());
        // Following again after overflow does nothing: the owner must resubscribe.
        slow.follow(Topic::Room(RoomId(1)));
        assert_eq!(hub.subscriber_count(Topic::Room(RoomId(1))), 1);
    }

    #[tokio::test]
    async fn resync_reaches_every_subscription_once() {
        let hub = Hub::new(2);
        let mut a = hub.subscribe();
        let mut b = hub.subscribe();
        a.follow(Topic::Room(RoomId(1)));
        a.follow(Topic::Room(RoomId(2)));
        b.follow(Topic::Activity);
        hub.resync();
        assert!(matches!(a.next().await, Some(Delivery::Resync)));
        assert!(matches!(b.next().await, Some(Delivery::Resync)));
        assert!(a.queue.pop().is_none(), "one resync per subscription");
        // A full queue drops the subscription, as for events.
        hub.dispatch(&read(1, 1));
        hub.dispatch(&read(1, 2));
        hub.resync();
        assert!(a.overflowed());
        assert!(!b.overflowed());
        // Simple owners never see the marker.
        assert_eq!(a.try_recv().map(|e| e.seq), Some(None));
    }
}
