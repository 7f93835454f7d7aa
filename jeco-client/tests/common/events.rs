//! Receiving a connection's events in tests: a listener that forwards to a channel, and
//! reads that wait for a matching event (with [`super::WAIT`] as the safety net).

use std::sync::Arc;

use jeco_client::proto::event::Event;
use jeco_client::{ClientEvent, ConnectionState, EventListener, EventStream};
use tokio::sync::mpsc;

use super::WAIT;

/// A listener that forwards every event to a channel.
struct Forward(mpsc::UnboundedSender<ClientEvent>);

impl EventListener for Forward {
    fn on_event(&self, event: ClientEvent) {
        let _ = self.0.send(event);
    }
}

/// A listener and the channel its events arrive on; the channel closes once the listener
/// is dropped (its handle cancelled, or the connection stopped).
pub fn forwarding() -> (Arc<dyn EventListener>, mpsc::UnboundedReceiver<ClientEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(Forward(tx)), rx)
}

/// Reads `rx` until an event matches; every event read, the match last.
pub async fn recv_until(
    rx: &mut mpsc::UnboundedReceiver<ClientEvent>,
    mut want: impl FnMut(&ClientEvent) -> bool,
) -> Vec<ClientEvent> {
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        loop {
            let event = rx.recv().await.expect("the listener stopped");
            let done = want(&event);
            seen.push(event);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out; seen: {seen:#?}"));
    seen
}

/// Reads `stream` until an event matches; every event read, the match last.
pub async fn stream_until(
    stream: &mut EventStream,
    mut want: impl FnMut(&ClientEvent) -> bool,
) -> Vec<ClientEvent> {
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        loop {
            let event = stream.next().await.expect("the stream ended");
            let done = want(&event);
            seen.push(event);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out; last seen: {:#?}", seen.last()));
    seen
}

/// Everything `rx` still yields until it closes.
pub async fn drain(rx: &mut mpsc::UnboundedReceiver<ClientEvent>) -> Vec<ClientEvent> {
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Some(event) = rx.recv().await {
            rest.push(event);
        }
    })
    .await
    .expect("the listener's channel closes");
    rest
}

/// Whether `event` is the creation of a message with `body`.
pub fn created_with(event: &ClientEvent, body: &str) -> bool {
    matches!(event, ClientEvent::Event(Event::MessageCreated { message, .. }) if message.body == body)
}

/// Whether `event` is the state `Stopped`.
pub fn is_stopped(event: &ClientEvent) -> bool {
    matches!(event, ClientEvent::State(ConnectionState::Stopped { .. }))
}
