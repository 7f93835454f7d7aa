//! How events reach the application, against the real server: listeners and streams side
//! by side, the current state first, events held until the first subscriber, detaching,
//! the end of a connection, the runtime a connection runs on, and a subscriber that falls
//! behind (the connection waits for it, the server drops it as a slow consumer, it resumes,
//! and every message still arrives once, in order).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::events::{created_with, drain, forwarding, is_stopped, recv_until, stream_until};
use common::{Setup, TestServer, general, is_connected, options, text};
use futures::StreamExt;
use jeco_client::proto::event::Event;
use jeco_client::proto::ids::MessageId;
use jeco_client::{ClientEvent, ConnectOptions, ConnectionState, Error, TransportKind};

over_both_transports!(a_subscriber_that_falls_behind_gets_everything_once_in_order);

fn ws() -> ConnectOptions {
    options(TransportKind::WebSocket)
}

/// The ids of the messages created among `events`, in order.
fn created_ids(events: &[ClientEvent]) -> Vec<MessageId> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Event(Event::MessageCreated { message, .. }) => Some(message.id),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_gets_the_current_state_first_then_what_follows_like_a_stream() {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, b_session) = server.user("bob").await;
    let room = general(&alice).await;

    let b = bob.connect(ws()).unwrap();
    let mut stream = b.events();
    stream_until(&mut stream, |e| is_connected(e, false)).await;

    let (listener, mut heard) = forwarding();
    let handle = b.add_listener(listener);
    let first = heard.recv().await.expect("a first event");
    assert_eq!(
        first,
        ClientEvent::State(ConnectionState::Connected {
            user_id: b_session.account.profile.id,
            resumed: false,
        }),
        "a listener starts with the current state"
    );
    assert_eq!(
        b.state(),
        ConnectionState::Connected {
            user_id: b_session.account.profile.id,
            resumed: false,
        }
    );

    for i in 0..20 {
        alice
            .send_message(room, text(&format!("m-{i}")))
            .await
            .unwrap();
    }
    let by_listener = recv_until(&mut heard, |e| created_with(e, "m-19")).await;
    let by_stream = stream_until(&mut stream, |e| created_with(e, "m-19")).await;
    assert_eq!(created_ids(&by_listener).len(), 20);
    assert_eq!(
        created_ids(&by_listener),
        created_ids(&by_stream),
        "the listener and the stream see the same events in the same order"
    );

    drop(handle);
    alice
        .send_message(room, text("after the drop"))
        .await
        .unwrap();
    stream_until(&mut stream, |e| created_with(e, "after the drop")).await;
    let late = drain(&mut heard).await;
    assert!(
        !late.iter().any(|e| created_with(e, "after the drop")),
        "nothing produced after the handle was dropped reached the listener: {late:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_before_the_first_subscriber_are_held_for_it() {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let room = general(&alice).await;

    let b = bob.connect(ws()).unwrap();
    // The ack means the connection was up, and Bob's own message was delivered, before
    // anyone subscribed.
    let early = b.send_and_wait(room, text("early")).await.unwrap();

    let (listener, mut heard) = forwarding();
    let handle = b.add_listener(listener);
    let backlog = recv_until(
        &mut heard,
        |e| matches!(e, ClientEvent::Sent { message, .. } if message.id == early.id),
    )
    .await;
    assert_eq!(
        backlog.first(),
        Some(&ClientEvent::State(ConnectionState::Connecting)),
        "the first subscriber gets the events from the start"
    );
    assert!(backlog.iter().any(|e| is_connected(e, false)));

    // A later subscriber starts at the current state, not at the beginning.
    let mut stream = b.events();
    assert!(is_connected(&stream.next().await.unwrap(), false));

    alice.send_message(room, text("later")).await.unwrap();
    recv_until(&mut heard, |e| created_with(e, "later")).await;
    stream_until(&mut stream, |e| created_with(e, "later")).await;

    handle.cancel();
    assert!(handle.is_cancelled());
    alice
        .send_message(room, text("after cancel"))
        .await
        .unwrap();
    stream_until(&mut stream, |e| created_with(e, "after cancel")).await;
    assert!(
        !drain(&mut heard)
            .await
            .iter()
            .any(|e| created_with(e, "after cancel"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_ends_every_subscription_with_stopped() {
    let server = TestServer::start().await;
    let (bob, _) = server.user("bob").await;
    let b = bob.connect(ws()).unwrap();
    let (listener, mut heard) = forwarding();
    let _handle = b.add_listener(listener);
    recv_until(&mut heard, |e| is_connected(e, false)).await;
    let mut stream = b.events();

    b.close();
    recv_until(&mut heard, is_stopped).await;
    assert_eq!(
        drain(&mut heard).await,
        Vec::new(),
        "nothing follows Stopped"
    );
    stream_until(&mut stream, is_stopped).await;
    assert_eq!(stream.next().await, None);
    assert!(matches!(b.state(), ConnectionState::Stopped { .. }));

    // Subscribing afterwards yields the final state and the end.
    let mut late = b.events();
    assert!(is_stopped(&late.next().await.unwrap()));
    assert_eq!(late.next().await, None);
    let (listener, mut heard) = forwarding();
    let _late_handle = b.add_listener(listener);
    let only = drain(&mut heard).await;
    assert!(matches!(&only[..], [e] if is_stopped(e)), "{only:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_runs_on_the_runtime_it_is_given() {
    let server = TestServer::start().await;
    let (bob, _) = server.user("bob").await;
    let runtime = tokio::runtime::Handle::current();

    // A thread outside any runtime, as a language binding's thread would be.
    let connected = std::thread::spawn(move || {
        let without = bob.connect(ws()).map(drop);
        let with = bob.connect(ConnectOptions {
            runtime: Some(runtime),
            ..ws()
        });
        (without, with)
    })
    .join()
    .expect("the thread ends");
    assert!(matches!(connected.0, Err(Error::NoRuntime(_))));
    let b = connected.1.expect("connects on the given runtime");
    let mut stream = b.events();
    stream_until(&mut stream, |e| is_connected(e, false)).await;
}

/// Alice posts a batch of long messages while Bob's stream, four events deep, is not read;
/// then Bob reads everything. His connection waits while his queue is full, so its socket
/// backs up and the server drops it as a slow consumer; it reconnects and resumes. Batches
/// grow until that has happened (how much a socket holds depends on the system), and every
/// message must arrive exactly once, in order.
async fn a_subscriber_that_falls_behind_gets_everything_once_in_order(kind: TransportKind) {
    let server = TestServer::launch(Setup {
        queue: Some(8),
        send_buffer: Some(4096),
        ..Setup::default()
    })
    .await;
    let (alice, a_session) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let room = general(&alice).await;
    let b = bob
        .connect(ConnectOptions {
            queue_capacity: 4,
            ..options(kind)
        })
        .unwrap();
    let mut stream = b.events();
    stream_until(&mut stream, |e| is_connected(e, false)).await;

    let filler = "x".repeat(2000);
    let mut seen = Vec::new();
    let mut posted = 0;
    let mut batch = 300;
    loop {
        let bodies: Vec<String> = (posted..posted + batch)
            .map(|i| format!("{i} {filler}"))
            .collect();
        futures::stream::iter(bodies)
            .map(|body| {
                let alice = alice.clone();
                async move { alice.send_message(room, text(&body)).await.unwrap() }
            })
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await;
        posted += batch;
        let mut delivered = created_ids(&seen).len();
        seen.extend(
            stream_until(&mut stream, |e| {
                if matches!(e, ClientEvent::Event(Event::MessageCreated { .. })) {
                    delivered += 1;
                }
                delivered == posted
            })
            .await,
        );
        if seen.iter().any(|e| is_connected(e, true)) {
            break;
        }
        assert!(
            batch < 20_000,
            "the server never dropped the slow connection"
        );
        batch *= 2;
    }

    let dropped = seen.iter().find_map(|e| match e {
        ClientEvent::State(ConnectionState::Reconnecting { reason }) => Some(reason.clone()),
        _ => None,
    });
    assert!(
        dropped
            .as_deref()
            .is_some_and(|r| r.contains("slow_consumer")),
        "dropped as a slow consumer: {dropped:?}"
    );
    let delivered = created_ids(&seen);
    let unique: HashSet<MessageId> = delivered.iter().copied().collect();
    assert_eq!(unique.len(), delivered.len(), "nothing delivered twice");
    let mut stored = Vec::new();
    let mut after = jeco_client::proto::ids::Seq::ZERO;
    loop {
        let page = bob
            .history(
                room,
                jeco_client::proto::api::HistoryQuery {
                    after: Some(after),
                    limit: Some(100),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.items.last() else { break };
        after = last.seq;
        stored.extend(
            page.items
                .iter()
                .filter(|m| m.sender.id == a_session.account.profile.id)
                .map(|m| m.id),
        );
    }
    assert_eq!(stored.len(), posted);
    assert_eq!(delivered, stored, "every message once, in the order stored");
}
