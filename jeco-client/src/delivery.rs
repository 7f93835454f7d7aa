//! Hands a connection's events to its subscribers (listeners and streams), each through a
//! bounded queue of its own.
//!
//! Only the connection's background task delivers, one event at a time and outside every
//! lock, so all subscribers see the same order. When a queue is full the task waits for room
//! instead of dropping the event: it stops reading from the server meanwhile, and if the
//! server then drops the connection as a slow consumer, the task reconnects and resumes
//! from the positions it applied. Nothing is lost or repeated; a slow subscriber costs time,
//! never events.
//!
//! Until the first subscriber attaches, events wait in a queue of the same bound that the
//! first subscriber then takes over, so an application that connects and subscribes a
//! moment later misses nothing. Every later subscriber starts with the current
//! [`ConnectionState`] and then receives what follows.

use std::sync::Mutex as StdMutex;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use crate::events::{ClientEvent, ConnectionState};

/// The connection was closed while an event waited for room in a queue.
#[derive(Debug)]
pub(crate) struct Closed;

pub(crate) struct Delivery {
    capacity: usize,
    runtime: tokio::runtime::Handle,
    registry: StdMutex<Registry>,
}

struct Registry {
    /// The state as of the last delivered event: what a new subscriber learns first.
    state: ConnectionState,
    subscribers: Vec<mpsc::Sender<ClientEvent>>,
    /// The queue filling up for the first subscriber, until it attaches.
    held: Option<mpsc::Receiver<ClientEvent>>,
    /// Set once the connection stopped: later subscribers get the final state and the end.
    stopped: bool,
}

impl Delivery {
    /// Queues of `capacity` events (at least one); final-state deliveries to full queues
    /// wait on `runtime`.
    pub(crate) fn new(capacity: usize, runtime: tokio::runtime::Handle) -> Delivery {
        let capacity = capacity.max(1);
        let (first, held) = mpsc::channel(capacity);
        let _ = first.try_send(ClientEvent::State(ConnectionState::Connecting));
        Delivery {
            capacity,
            runtime,
            registry: StdMutex::new(Registry {
                state: ConnectionState::Connecting,
                subscribers: vec![first],
                held: Some(held),
                stopped: false,
            }),
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The runtime the connection runs on.
    pub(crate) fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// The connection's state as of the last delivered event.
    pub(crate) fn state(&self) -> ConnectionState {
        self.registry().state.clone()
    }

    /// A new subscriber's queue: the held events for the first one, otherwise the current
    /// state followed by everything delivered from now on.
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<ClientEvent> {
        let mut registry = self.registry();
        if let Some(held) = registry.held.take() {
            return held;
        }
        let (tx, rx) = mpsc::channel(self.capacity);
        let _ = tx.try_send(ClientEvent::State(registry.state.clone()));
        if !registry.stopped {
            registry.subscribers.push(tx);
        }
        rx
    }

    /// Hands `events` to every subscriber in order, waiting for room in full queues unless
    /// `cancel` fires; whether it had to wait.
    pub(crate) async fn deliver(
        &self,
        events: Vec<ClientEvent>,
        cancel: &CancellationToken,
    ) -> Result<bool, Closed> {
        let mut waited = false;
        for event in events {
            let subscribers = {
                let mut registry = self.registry();
                if let ClientEvent::State(state) = &event {
                    registry.state = state.clone();
                }
                registry.subscribers.retain(|s| !s.is_closed());
                registry.subscribers.clone()
            };
            for subscriber in subscribers {
                match subscriber.try_send(event.clone()) {
                    Ok(()) | Err(TrySendError::Closed(_)) => {}
                    Err(TrySendError::Full(event)) => {
                        waited = true;
                        tokio::select! {
                            () = cancel.cancelled() => return Err(Closed),
                            _ = subscriber.send(event) => {}
                        }
                    }
                }
            }
        }
        Ok(waited)
    }

    /// Ends every subscription with `state` (`Stopped`). The task does not wait for full
    /// queues: a subscriber that has no room yet gets it once it has, from a task of its own.
    pub(crate) fn finish(&self, state: ConnectionState) {
        let subscribers = {
            let mut registry = self.registry();
            registry.state = state.clone();
            registry.stopped = true;
            std::mem::take(&mut registry.subscribers)
        };
        for subscriber in subscribers {
            match subscriber.try_send(ClientEvent::State(state.clone())) {
                Ok(()) | Err(TrySendError::Closed(_)) => {}
                Err(TrySendError::Full(event)) => {
                    self.runtime.spawn(async move {
                        let _ = subscriber.send(event).await;
                    });
                }
            }
        }
    }
}
