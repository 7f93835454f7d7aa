//! Real-time connections against the real server, each case over the WebSocket and over SSE:
//! live delivery, typing and presence, refused sends, and what happens across server
//! restarts (resume without gaps or repeats, the outbox surviving a restart mid-burst, a room
//! too far behind to replay).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::events::is_stopped;
use common::{
    TestServer, connected, created, general, is_connected, next_matching, options, relaxed, text,
    until,
};
use jeco_client::proto::api::{HistoryQuery, SendMessage};
use jeco_client::proto::error::ErrorCode;
use jeco_client::proto::event::Event;
use jeco_client::proto::ids::{RoomId, Seq, UserId};
use jeco_client::proto::model::{Message, RoomKind};
use jeco_client::{Client, ClientEvent, ConnectionState, Error, TransportKind};
use jeco_core::Limits;
use jeco_server::ServerConfig;
use jeco_server::ratelimit::Rate;

over_both_transports!(
    live_messages_typing_and_presence,
    a_refused_send_is_reported_and_not_retried,
    missed_events_are_replayed_once_in_order,
    a_burst_of_sends_survives_a_server_restart,
    a_room_too_far_behind_is_resynced,
    rate_limited_sends_are_retried_in_order,
    a_tracked_send_is_queued_before_it_is_awaited,
);

/// Every message of `room`, oldest first, over REST.
async fn history(client: &Client, room: RoomId) -> Vec<Message> {
    let mut all = Vec::new();
    let mut after = Seq::ZERO;
    loop {
        let page = client
            .history(
                room,
                HistoryQuery {
                    after: Some(after),
                    limit: Some(100),
                    ..HistoryQuery::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.items.last() else { break };
        after = last.seq;
        all.extend(page.items);
    }
    all
}

/// Bodies of the messages `user` sent, in order.
fn bodies_from(messages: &[&Message], user: UserId) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m.sender.id == user)
        .map(|m| m.body.clone())
        .collect()
}

/// Sequences strictly increase: nothing delivered twice or out of order.
fn assert_in_order(messages: &[&Message]) {
    for pair in messages.windows(2) {
        assert!(
            pair[0].seq < pair[1].seq,
            "out of order: {} then {}",
            pair[0].seq,
            pair[1].seq
        );
    }
}

async fn live_messages_typing_and_presence(kind: TransportKind) {
    let server = TestServer::start().await;
    let (alice, a_session) = server.user("alice").await;
    let (bob, b_session) = server.user("bob").await;
    let (alice_id, bob_id) = (a_session.account.profile.id, b_session.account.profile.id);
    let room = general(&alice).await;

    let a = alice.connect(options(kind)).unwrap();
    assert!(!connected(&a).await);
    let b = bob.connect(options(kind)).unwrap();
    assert!(!connected(&b).await);
    next_matching(&a, |e| {
        matches!(e, ClientEvent::Event(Event::Presence { user_id, online: true, .. }) if *user_id == bob_id)
    })
    .await;
    assert!(bob.presence(&[alice_id]).await.unwrap()[0].online);

    a.typing(room, true).await.unwrap();
    next_matching(&b, |e| {
        matches!(e, ClientEvent::Event(Event::Typing { user_id, room_id, active: true, .. })
            if *user_id == alice_id && *room_id == room)
    })
    .await;

    let sent = a.send_and_wait(room, text("hi bob")).await.unwrap();
    assert_eq!(sent.body, "hi bob");
    next_matching(&b, |e| {
        matches!(e, ClientEvent::Event(Event::MessageCreated { message, .. }) if message.id == sent.id)
    })
    .await;
    next_matching(
        &a,
        |e| matches!(e, ClientEvent::Sent { client_id, .. } if *client_id == sent.client_id),
    )
    .await;

    let reply_id = b.send(room, "hi alice");
    let reply = match next_matching(&a, |e| {
        matches!(e, ClientEvent::Event(Event::MessageCreated { message, .. }) if message.client_id == reply_id)
    })
    .await
    {
        ClientEvent::Event(Event::MessageCreated { message, .. }) => message,
        _ => unreachable!(),
    };
    assert_eq!(reply.sender.id, bob_id);

    assert!(a.react(reply.id, "👍", true).await.unwrap());
    next_matching(&b, |e| {
        matches!(e, ClientEvent::Event(Event::ReactionAdded { message_id, user_id, .. })
            if *message_id == reply.id && *user_id == alice_id)
    })
    .await;
    assert_eq!(b.mark_read(room, reply.seq).await.unwrap(), reply.seq);
    next_matching(&a, |e| {
        matches!(e, ClientEvent::Event(Event::Read { user_id, seq, .. }) if *user_id == bob_id && *seq == reply.seq)
    })
    .await;
    let edited = a.edit(sent.id, "hi bob!").await.unwrap();
    assert_eq!(edited.body, "hi bob!");

    b.close();
    next_matching(&b, is_stopped).await;
    assert_eq!(b.next_event().await, None, "nothing follows Stopped");
    assert_eq!(b.typing(room, true).await.unwrap_err(), Error::Closed);
    next_matching(&a, |e| {
        matches!(e, ClientEvent::Event(Event::Presence { user_id, online: false, .. }) if *user_id == bob_id)
    })
    .await;
}

async fn a_refused_send_is_reported_and_not_retried(kind: TransportKind) {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let room = general(&alice).await;
    let elsewhere = bob
        .create_room("elsewhere", RoomKind::Public, "")
        .await
        .unwrap()
        .id;

    let a = alice.connect(options(kind)).unwrap();
    connected(&a).await;
    let refused = a.send(elsewhere, "not a member here");
    let failed = next_matching(&a, |e| matches!(e, ClientEvent::SendFailed { .. })).await;
    match failed {
        ClientEvent::SendFailed {
            client_id,
            room_id,
            error,
        } => {
            assert_eq!(client_id, refused);
            assert_eq!(room_id, elsewhere);
            assert_eq!(error.code(), Some(ErrorCode::NotAMember));
        }
        _ => unreachable!(),
    }
    let err = a.send_and_wait(elsewhere, text("again")).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotAMember));
    // Nothing stays queued, and other sends go through.
    a.send_and_wait(room, text("fine")).await.unwrap();
    assert!(a.pending_sends().is_empty());
    let err = a.send_and_wait(room, text("")).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::EmptyMessage));
    assert!(
        bob.history(elsewhere, HistoryQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn missed_events_are_replayed_once_in_order(kind: TransportKind) {
    let mut server = TestServer::start().await;
    let (alice, a_session) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let alice_id = a_session.account.profile.id;
    let room = general(&alice).await;

    let b = bob.connect(options(kind)).unwrap();
    assert!(!connected(&b).await);
    let mut seen = Vec::new();
    for i in 0..5 {
        alice
            .send_message(room, text(&format!("live-{i}")))
            .await
            .unwrap();
    }
    until(&b, &mut seen, |s| {
        bodies_from(&created(s), alice_id).len() == 5
    })
    .await;

    // While the server is down, messages are posted straight into its store: no client can
    // see them but by a replay.
    server.stop().await;
    next_matching(&b, |e| {
        matches!(e, ClientEvent::State(ConnectionState::Reconnecting { .. }))
    })
    .await;
    let engine = server.engine().await;
    for i in 0..20 {
        engine
            .messages()
            .send(
                alice_id,
                room,
                SendMessage {
                    client_id: format!("missed-{i}"),
                    body: format!("missed-{i}"),
                    ..SendMessage::default()
                },
            )
            .await
            .unwrap();
    }
    server.serve(engine).await;

    until(&b, &mut seen, |s| {
        s.iter().any(|e| is_connected(e, true)) && bodies_from(&created(s), alice_id).len() >= 25
    })
    .await;
    alice.send_message(room, text("after")).await.unwrap();
    until(&b, &mut seen, |s| {
        bodies_from(&created(s), alice_id)
            .iter()
            .any(|b| b == "after")
    })
    .await;

    let mut expected: Vec<String> = (0..5).map(|i| format!("live-{i}")).collect();
    expected.extend((0..20).map(|i| format!("missed-{i}")));
    expected.push("after".to_owned());
    let messages = created(&seen);
    assert_eq!(bodies_from(&messages, alice_id), expected);
    assert_in_order(&messages);
    assert_eq!(
        b.positions()
            .iter()
            .find(|p| p.room_id == room)
            .unwrap()
            .seq,
        messages.last().unwrap().seq
    );
}

async fn a_burst_of_sends_survives_a_server_restart(kind: TransportKind) {
    let mut server = TestServer::start().await;
    let (alice, a_session) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let alice_id = a_session.account.profile.id;
    let room = general(&alice).await;

    let a = alice.connect(options(kind)).unwrap();
    let b = bob.connect(options(kind)).unwrap();
    connected(&a).await;
    connected(&b).await;

    let mut queued = Vec::new();
    for i in 0..100 {
        queued.push(a.send(room, &format!("burst-{i}")));
    }
    let mut a_seen = Vec::new();
    let sent = |s: &[ClientEvent]| -> Vec<String> {
        s.iter()
            .filter_map(|e| match e {
                ClientEvent::Sent { client_id, .. } => Some(client_id.clone()),
                _ => None,
            })
            .collect()
    };
    until(&a, &mut a_seen, |s| sent(s).len() >= 20).await;
    server.stop().await;
    // More sends while the server is down: they wait in the outbox.
    for i in 100..200 {
        queued.push(a.send(room, &format!("burst-{i}")));
    }
    let engine = server.engine().await;
    server.serve(engine).await;

    until(&a, &mut a_seen, |s| sent(s).len() >= 200).await;
    assert_eq!(
        sent(&a_seen),
        queued,
        "each send acknowledged once, in order"
    );
    assert!(
        a_seen.iter().any(|e| is_connected(e, true)),
        "the connection was resumed"
    );
    assert!(a.pending_sends().is_empty());
    a.send_and_wait(room, text("end")).await.unwrap();

    let mut b_seen = Vec::new();
    until(&b, &mut b_seen, |s| {
        bodies_from(&created(s), alice_id)
            .iter()
            .any(|b| b == "end")
    })
    .await;
    let mut expected: Vec<String> = (0..200).map(|i| format!("burst-{i}")).collect();
    expected.push("end".to_owned());
    let delivered = created(&b_seen);
    assert_eq!(
        bodies_from(&delivered, alice_id),
        expected,
        "bob got each exactly once, in order"
    );
    assert_in_order(&delivered);

    let stored = history(&bob, room).await;
    let stored: Vec<&Message> = stored.iter().collect();
    assert_eq!(
        bodies_from(&stored, alice_id),
        expected,
        "history holds each once, in order"
    );
    let ids: HashSet<&str> = stored.iter().map(|m| m.client_id.as_str()).collect();
    assert_eq!(ids.len(), stored.len());
}

async fn a_room_too_far_behind_is_resynced(kind: TransportKind) {
    let mut limits = Limits::default();
    limits.resume_events = 5;
    let mut server = TestServer::start_with(limits, relaxed()).await;
    let (alice, a_session) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let alice_id = a_session.account.profile.id;
    let room = general(&alice).await;
    let side = alice
        .create_room("side", RoomKind::Public, "")
        .await
        .unwrap()
        .id;
    bob.join_room(side).await.unwrap();

    let b = bob.connect(options(kind)).unwrap();
    connected(&b).await;
    server.stop().await;
    let engine = server.engine().await;
    for (target, name, n) in [(room, "far", 10), (side, "near", 2)] {
        for i in 0..n {
            engine
                .messages()
                .send(alice_id, target, text_with_id(&format!("{name}-{i}")))
                .await
                .unwrap();
        }
    }
    server.serve(engine).await;

    let mut seen = Vec::new();
    until(&b, &mut seen, |s| {
        s.iter()
            .any(|e| matches!(e, ClientEvent::Resync { room_id, .. } if *room_id == room))
            && bodies_from(&created(s), alice_id).len() >= 2
    })
    .await;
    alice.send_message(room, text("live")).await.unwrap();
    until(&b, &mut seen, |s| {
        bodies_from(&created(s), alice_id)
            .iter()
            .any(|b| b == "live")
    })
    .await;
    // The near room was replayed; the far one starts over after its resync.
    assert_eq!(
        bodies_from(&created(&seen), alice_id),
        ["near-0", "near-1", "live"]
    );
}

fn text_with_id(body: &str) -> SendMessage {
    SendMessage {
        client_id: body.to_owned(),
        body: body.to_owned(),
        ..SendMessage::default()
    }
}

async fn rate_limited_sends_are_retried_in_order(kind: TransportKind) {
    // A small burst allowance: most of these sends are refused with `rate_limited` first.
    let config = ServerConfig {
        send_rate: Rate {
            per_second: 50.0,
            burst: 3.0,
        },
        ..relaxed()
    };
    let server = TestServer::start_with(Limits::default(), config).await;
    let (alice, a_session) = server.user("alice").await;
    let alice_id = a_session.account.profile.id;
    let room = general(&alice).await;
    let a = alice.connect(options(kind)).unwrap();
    connected(&a).await;
    let queued: Vec<String> = (0..20).map(|i| a.send(room, &format!("r-{i}"))).collect();
    let mut seen = Vec::new();
    until(&a, &mut seen, |s| {
        s.iter()
            .filter(|e| matches!(e, ClientEvent::Sent { .. }))
            .count()
            == queued.len()
    })
    .await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, ClientEvent::SendFailed { .. }))
    );
    let stored = history(&alice, room).await;
    let stored: Vec<&Message> = stored.iter().collect();
    let expected: Vec<String> = (0..20).map(|i| format!("r-{i}")).collect();
    assert_eq!(bodies_from(&stored, alice_id), expected);
}

async fn a_tracked_send_is_queued_before_it_is_awaited(kind: TransportKind) {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let room = general(&alice).await;
    let a = alice.connect(options(kind)).unwrap();
    connected(&a).await;

    let (dropped, outcome) = a.send_tracked(room, text("never awaited"));
    drop(outcome);
    next_matching(
        &a,
        |e| matches!(e, ClientEvent::Sent { client_id, .. } if *client_id == dropped),
    )
    .await;

    let (awaited, outcome) = a.send_tracked(room, text("awaited"));
    let stored = outcome.await.unwrap();
    assert_eq!(
        (stored.client_id, stored.body.as_str()),
        (awaited, "awaited")
    );
}
