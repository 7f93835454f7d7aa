//! Group commit of sends, whatever the store, and the order their events go out in.
//!
//! Every send is handed to a writer task that owns the commits of its room's messages. The
//! task takes every send waiting at that moment (up to [`MAX_GROUP`]) and gives them to the
//! store in one [`MessageStore::append_messages`] call, which commits them together: one disk
//! flush (and, with multi-row statements, a handful of statements) for the whole group instead
//! of one per send. Nothing waits for a group to fill: a lone send is committed at once, and
//! under load a group is whatever arrived during the previous commit. Each caller is answered
//! only after the commit, so "durable before acknowledged" holds for every message.
//!
//! A store with one writer (SQLite) gets one task; a store that commits several groups at once
//! (PostgreSQL) gets [`MessageStore::writers`] tasks, with a room always on the same one.
//!
//! Sends committed together return to their callers together, and each caller then publishes
//! its own event. Left alone they would go out in any order, and every member's connection
//! would see a gap, and read the store to fill it, for each one that overtook another. So each
//! new message comes with a [`PublishTurn`]: its caller publishes once every message of the
//! same room committed before it was published (or given up). Rooms never wait for each other,
//! and stores know nothing of it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::ids::{RoomId, UserId};
use crate::model::{Message, Notification};
use crate::observe::Observers;
use crate::store::{Appended, MessageStore, NewMessage, StoreError, StoreResult};

/// Most sends committed in one group.
const MAX_GROUP: usize = 256;

/// What a send came to once committed.
#[derive(Debug)]
pub(crate) enum Committed {
    /// A new message, the notifications created with it, and its turn to be published.
    New(Message, Vec<(UserId, Notification)>, PublishTurn),
    /// The sender had already sent this client id to this room: the original message.
    Existing(Message),
}

type Job = (NewMessage, oneshot::Sender<StoreResult<Committed>>);

/// Hands sends to the writer tasks (see the module documentation).
pub(crate) struct GroupCommit {
    writers: Vec<mpsc::UnboundedSender<Job>>,
    store: Arc<dyn MessageStore>,
}

impl GroupCommit {
    /// Starts the writer tasks for `store`, each group reported to `observers`. They end when
    /// the returned value is dropped.
    pub(crate) fn start(store: Arc<dyn MessageStore>, observers: Observers) -> GroupCommit {
        let turns = Arc::new(Turns::default());
        let writers = (0..store.writers().max(1))
            .map(|_| {
                let (jobs, queue) = mpsc::unbounded_channel();
                tokio::spawn(write(
                    Arc::clone(&store),
                    queue,
                    Arc::clone(&turns),
                    observers.clone(),
                ));
                jobs
            })
            .collect();
        GroupCommit { writers, store }
    }

    /// Queues `message` for the next group of its room's writer. Sends queued one after the
    /// other by one caller are committed in that order.
    pub(crate) fn enqueue(&self, message: NewMessage) -> StoreResult<Queued> {
        let (reply, answer) = oneshot::channel();
        let writer = message.room_id.get().rem_euclid(self.writers.len() as i64) as usize;
        let key = (
            message.room_id,
            message.sender_id,
            message.client_id.clone(),
        );
        self.writers[writer]
            .send((message, reply))
            .map_err(|_| stopped())?;
        Ok(Queued {
            answer,
            key,
            store: Arc::clone(&self.store),
        })
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the message writer has stopped".into())
}

/// A send waiting for its group's commit.
pub(crate) struct Queued {
    answer: oneshot::Receiver<StoreResult<Committed>>,
    /// Room, sender and client id.
    key: (RoomId, UserId, String),
    store: Arc<dyn MessageStore>,
}

impl Queued {
    /// What the send came to, once its group is committed.
    pub(crate) async fn committed(self) -> StoreResult<Committed> {
        match self.answer.await.map_err(|_| stopped())? {
            // A retry with the same client id on another node committed first; its message
            // is the answer.
            Err(StoreError::Conflict("message")) => {
                let (room, sender, client_id) = &self.key;
                self.store
                    .message_by_client_id(*room, *sender, client_id)
                    .await?
                    .map(Committed::Existing)
                    .ok_or(StoreError::NotFound("message"))
            }
            other => other,
        }
    }
}

/// One writer task: takes every send that is waiting, has the store commit them together,
/// answers each (new messages with their turns, in commit order), and starts over.
async fn write(
    store: Arc<dyn MessageStore>,
    mut queue: mpsc::UnboundedReceiver<Job>,
    turns: Arc<Turns>,
    observers: Observers,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (messages, replies): (Vec<NewMessage>, Vec<_>) = group.drain(..).unzip();
        let (sends, started) = (messages.len(), Instant::now());
        let results = store.append_messages(messages).await;
        if let Some(observer) = observers.get() {
            observer.committed(sends, started.elapsed());
        }
        let mut results = results.into_iter();
        for reply in replies {
            let result = results.next().unwrap_or_else(|| {
                Err(StoreError::Backend(
                    "the store answered fewer sends than it was given".into(),
                ))
            });
            let committed = result.map(|appended| match appended {
                Appended::New(message, notifications) => {
                    let turn = turns.issue(message.room_id);
                    Committed::New(message, notifications, turn)
                }
                Appended::Existing(message) => Committed::Existing(message),
            });
            // A caller that went away still has its message committed; a retry with the same
            // client id finds it.
            let _ = reply.send(committed);
        }
    }
}

/// The publishing lines of the rooms that have messages committed and not yet published.
#[derive(Debug, Default)]
struct Turns {
    rooms: Mutex<HashMap<RoomId, Arc<Line>>>,
}

/// One room's line: tickets in commit order.
#[derive(Debug, Default)]
struct Line {
    state: Mutex<LineState>,
}

#[derive(Debug, Default)]
struct LineState {
    /// The next ticket to go.
    next: u64,
    /// Tickets handed out.
    issued: u64,
    /// Tickets finished before their turn.
    done: BTreeSet<u64>,
    /// The tickets waiting for their turn, each woken alone when it comes (waking every
    /// waiter at each step would cost the square of a group's size).
    waiting: HashMap<u64, Waker>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Turns {
    /// The turn after every turn issued so far in `room`.
    fn issue(self: &Arc<Self>, room: RoomId) -> PublishTurn {
        let mut rooms = locked(&self.rooms);
        let line = Arc::clone(rooms.entry(room).or_default());
        let ticket = {
            let mut state = locked(&line.state);
            state.issued += 1;
            state.issued - 1
        };
        drop(rooms);
        PublishTurn {
            turns: Arc::clone(self),
            room,
            line,
            ticket,
        }
    }

    /// Forgets `room`'s line once every ticket issued in it is finished (issuing holds the
    /// same lock, so none can be issued meanwhile).
    fn tidy(&self, room: RoomId, line: &Arc<Line>) {
        let mut rooms = locked(&self.rooms);
        if let Some(current) = rooms.get(&room)
            && Arc::ptr_eq(current, line)
        {
            let state = locked(&line.state);
            if state.next == state.issued {
                drop(state);
                rooms.remove(&room);
            }
        }
    }
}

/// When a new message may be published: after every message of its room committed before it
/// (see the module documentation). Dropping it (published, failed, or the caller gone) lets
/// the next one go.
#[derive(Debug)]
pub(crate) struct PublishTurn {
    turns: Arc<Turns>,
    room: RoomId,
    line: Arc<Line>,
    ticket: u64,
}

impl PublishTurn {
    /// Waits until every earlier message of the room was published (or given up).
    pub(crate) async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut state = locked(&self.line.state);
            if state.next >= self.ticket {
                return Poll::Ready(());
            }
            state.waiting.insert(self.ticket, cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

impl Drop for PublishTurn {
    fn drop(&mut self) {
        let (drained, woken) = {
            let mut state = locked(&self.line.state);
            state.done.insert(self.ticket);
            state.waiting.remove(&self.ticket);
            loop {
                let next = state.next;
                if !state.done.remove(&next) {
                    break;
                }
                state.next += 1;
            }
            let next = state.next;
            (state.next == state.issued, state.waiting.remove(&next))
        };
        if let Some(waker) = woken {
            waker.wake();
        }
        if drained {
            self.turns.tidy(self.room, &self.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_go_in_order_within_a_room_and_a_dropped_one_lets_the_next_go() {
        let turns = Arc::new(Turns::default());
        let (room, other) = (RoomId(1), RoomId(2));
        let (first, second, third) = (turns.issue(room), turns.issue(room), turns.issue(room));
        first.wait().await;
        // Another room's first turn does not wait for this room's.
        let elsewhere = turns.issue(other);
        elsewhere.wait().await;
        // The third waits for the second, which is given up without publishing.
        let waiting = tokio::spawn(async move {
            third.wait().await;
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "the third went before the first finished"
        );
        drop(first);
        second.wait().await;
        drop(second);
        waiting.await.unwrap();
        drop(elsewhere);
        // Every turn is finished: the lines are forgotten, and a new turn waits for nothing.
        assert!(locked(&turns.rooms).is_empty(), "finished lines are kept");
        turns.issue(room).wait().await;
    }
}
