//! Who is online and who is typing: ephemeral state, never written to the SQL store.
//!
//! The [`Presence`] trait is the backend seam; [`InMemoryPresence`] serves one process. Typing
//! indications carry their own deadline and lapse by themselves; time is read from tokio's
//! clock so tests can pause and advance it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::ids::{RoomId, Timestamp, UserId};
use crate::model::PresenceInfo;

/// A presence backend failed.
#[derive(Debug, thiserror::Error)]
#[error("presence backend failed: {0}")]
pub struct PresenceError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// A change of someone's online status that a backend noticed by itself (a node died, or
/// came back after Redis forgot it), for the engine to announce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceChange {
    /// Whose status changed.
    pub user: UserId,
    /// Online now?
    pub online: bool,
    /// When they were last online, if they went offline.
    pub last_seen: Option<Timestamp>,
}

/// Tracks connections per user and typing per room.
#[async_trait]
pub trait Presence: Send + Sync + 'static {
    /// A connection of `user` opened. Returns `true` if the user was offline until now.
    async fn connect(&self, user: UserId) -> Result<bool, PresenceError>;
    /// A connection of `user` closed. Returns the last-seen time if it was their last one.
    async fn disconnect(&self, user: UserId) -> Result<Option<Timestamp>, PresenceError>;
    /// The status of each of `users`, in the same order.
    async fn status(&self, users: &[UserId]) -> Result<Vec<PresenceInfo>, PresenceError>;
    /// `user` is typing in `room` for `ttl` from now. Returns whether to announce it: they
    /// were not typing, or the last announcement is more than half-way to lapsing.
    async fn start_typing(
        &self,
        room: RoomId,
        user: UserId,
        ttl: Duration,
    ) -> Result<bool, PresenceError>;
    /// `user` stopped typing in `room`. Returns `true` if they were typing.
    async fn stop_typing(&self, room: RoomId, user: UserId) -> Result<bool, PresenceError>;
    /// Who is typing in `room` now.
    async fn typing(&self, room: RoomId) -> Result<Vec<UserId>, PresenceError>;
    /// How often the engine calls [`Presence::maintain`]; `None`, the default, never.
    fn maintain_every(&self) -> Option<Duration> {
        None
    }
    /// Periodic upkeep (a shared backend renews this node and retires dead ones); returns
    /// the status changes it found, which the engine announces.
    async fn maintain(&self) -> Result<Vec<PresenceChange>, PresenceError> {
        Ok(Vec::new())
    }
}

#[derive(Default)]
struct State {
    connections: HashMap<UserId, u32>,
    last_seen: HashMap<UserId, Timestamp>,
    /// Per room and typer: until when, and when it was last announced.
    typing: HashMap<RoomId, HashMap<UserId, (Instant, Instant)>>,
}

/// Presence for a single process.
#[derive(Default)]
pub struct InMemoryPresence {
    state: Mutex<State>,
}

impl std::fmt::Debug for InMemoryPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InMemoryPresence")
    }
}

impl InMemoryPresence {
    /// Nobody online, nobody typing.
    pub fn new() -> InMemoryPresence {
        InMemoryPresence::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Presence for InMemoryPresence {
    async fn connect(&self, user: UserId) -> Result<bool, PresenceError> {
        let mut state = self.lock();
        let n = state.connections.entry(user).or_insert(0);
        *n += 1;
        Ok(*n == 1)
    }

    async fn disconnect(&self, user: UserId) -> Result<Option<Timestamp>, PresenceError> {
        let mut state = self.lock();
        let Some(n) = state.connections.get_mut(&user) else {
            return Ok(None);
        };
        *n -= 1;
        if *n > 0 {
            return Ok(None);
        }
        state.connections.remove(&user);
        let now = Timestamp::now();
        state.last_seen.insert(user, now);
        Ok(Some(now))
    }

    async fn status(&self, users: &[UserId]) -> Result<Vec<PresenceInfo>, PresenceError> {
        let state = self.lock();
        Ok(users
            .iter()
            .map(|&user_id| {
                let online = state.connections.contains_key(&user_id);
                PresenceInfo {
                    user_id,
                    online,
                    last_seen: if online {
                        None
                    } else {
                        state.last_seen.get(&user_id).copied()
                    },
                }
            })
            .collect())
    }

    async fn start_typing(
        &self,
        room: RoomId,
        user: UserId,
        ttl: Duration,
    ) -> Result<bool, PresenceError> {
        let now = Instant::now();
        let mut state = self.lock();
        let typers = state.typing.entry(room).or_default();
        let announced = match typers.get(&user) {
            Some(&(until, announced)) if until > now && now - announced < ttl / 2 => announced,
            _ => now,
        };
        typers.insert(user, (now + ttl, announced));
        Ok(announced == now)
    }

    async fn stop_typing(&self, room: RoomId, user: UserId) -> Result<bool, PresenceError> {
        let now = Instant::now();
        let mut state = self.lock();
        let Some(typers) = state.typing.get_mut(&room) else {
            return Ok(false);
        };
        let was = typers.remove(&user).is_some_and(|(until, _)| until > now);
        if typers.is_empty() {
            state.typing.remove(&room);
        }
        Ok(was)
    }

    async fn typing(&self, room: RoomId) -> Result<Vec<UserId>, PresenceError> {
        let now = Instant::now();
        let mut state = self.lock();
        let Some(typers) = state.typing.get_mut(&room) else {
            return Ok(Vec::new());
        };
        typers.retain(|_, (until, _)| *until > now);
        let mut users: Vec<UserId> = typers.keys().copied().collect();
        if typers.is_empty() {
            state.typing.remove(&room);
        }
        users.sort();
        Ok(users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn online_while_any_connection_is_open() {
        let p = InMemoryPresence::new();
        let u = UserId(1);
        assert!(p.connect(u).await.unwrap());
        assert!(!p.connect(u).await.unwrap());
        assert_eq!(p.disconnect(u).await.unwrap(), None);
        assert!(p.status(&[u]).await.unwrap()[0].online);
        let seen = p
            .disconnect(u)
            .await
            .unwrap()
            .expect("last connection closed");
        let status = &p.status(&[u, UserId(2)]).await.unwrap();
        assert!(!status[0].online);
        assert_eq!(status[0].last_seen, Some(seen));
        assert_eq!(status[1].last_seen, None);
        // A stray disconnect does not go negative or announce anything.
        assert_eq!(p.disconnect(u).await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn typing_lapses_by_itself_and_renewals_are_coalesced() {
        let p = InMemoryPresence::new();
        let (room, u) = (RoomId(1), UserId(1));
        let ttl = Duration::from_secs(6);
        assert!(p.start_typing(room, u, ttl).await.unwrap());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            !p.start_typing(room, u, ttl).await.unwrap(),
            "early renewal is quiet"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            p.start_typing(room, u, ttl).await.unwrap(),
            "late renewal is announced"
        );
        assert_eq!(p.typing(room).await.unwrap(), vec![u]);
        tokio::time::advance(Duration::from_secs(7)).await;
        assert!(p.typing(room).await.unwrap().is_empty());
        assert!(!p.stop_typing(room, u).await.unwrap(), "already lapsed");
        assert!(p.start_typing(room, u, ttl).await.unwrap());
        assert!(p.stop_typing(room, u).await.unwrap());
    }
}
