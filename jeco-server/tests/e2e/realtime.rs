//! The real-time transports end to end: reconnect and resume, idempotent retries after a
//! lost ack, the SSE transport, and slow consumers.

use jeco_core::event::Topic;
use jeco_core::ids::RoomId;
use reqwest::Method;
use serde_json::{Value, json};

use crate::e2e::harness::{Db, Setup, Ws, created, is};

/// The position of `room` in a `ready` or `resumed` frame.
fn position(frame: &Value, room: RoomId) -> i64 {
    frame["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|p| p["room_id"] == json!(room))
        .unwrap_or_else(|| panic!("no position for room {room} in {frame}"))["seq"]
        .as_i64()
        .expect("seq")
}

/// The room sequences of the sequenced events of `room` among `frames`.
fn room_seqs(frames: &[Value], room: RoomId) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f["room_id"] == json!(room) && f["type"] != "read" && f["type"] != "typing")
        .filter_map(|f| f["seq"].as_i64())
        .collect()
}

/// A connects and notes its positions, goes away; B changes things; A reconnects and resumes
/// from the old positions: exactly the missed changes in order, the missed feed entries,
/// then `resumed`, then live events, nothing twice.
pub async fn reconnect_and_resume_replays_exactly_what_was_missed(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let general = s.general();
    let a = s.ws(&alice).await;
    let seen = position(&a.ready, general);
    let feed_seen = a.ready["feed_seq"].clone();
    a.close().await;

    let mut b = s.ws(&bob).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = b
            .send_msg(general, &format!("away{i}"), &format!("while away {i}"))
            .await;
        ids.push(m["id"].clone());
    }
    b.send_msg(general, "mention", "hey @alice").await;
    let ack = b
        .command(json!({"type": "react", "message_id": ids[0], "emoji": "🎉"}))
        .await;
    assert_eq!(ack["added"], true);
    let ack = b
        .command(json!({"type": "edit", "message_id": ids[1], "body": "edited"}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let ack = b
        .command(json!({"type": "delete", "message_id": ids[2]}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");

    let mut a = s.ws(&alice).await;
    let now = position(&a.ready, general);
    assert_eq!(now, seen + 9, "six messages, a reaction, an edit, a delete");
    let reply_id = a.id();
    a.send_json(&json!({
        "type": "resume", "id": reply_id,
        "rooms": [{"room_id": general, "seq": seen}],
        "feed_after": feed_seen,
    }))
    .await;
    let replay = a
        .collect_until("resumed", |f| {
            is(f, "resumed") && f["id"] == json!(reply_id)
        })
        .await;
    let resumed = replay.last().expect("resumed").clone();
    assert_eq!(
        room_seqs(&replay, general),
        (seen + 1..=now).collect::<Vec<_>>(),
        "every missed change once, in order: {replay:#?}"
    );
    let kinds: Vec<&str> = replay
        .iter()
        .filter(|f| f["room_id"] == json!(general) && f["seq"].is_i64())
        .map(|f| f["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "message.created",
            "message.created",
            "message.created",
            "message.created",
            "message.created",
            "message.created",
            "reaction.added",
            "message.edited",
            "message.deleted"
        ]
    );
    let notifications: Vec<&Value> = replay.iter().filter(|f| is(f, "notification")).collect();
    assert_eq!(
        notifications.len(),
        1,
        "the missed mention, once: {replay:#?}"
    );
    assert_eq!(notifications[0]["notification"]["kind"], "mention");
    assert_eq!(position(&resumed, general), now);
    assert_eq!(
        resumed["feed_seq"],
        notifications[0]["notification"]["feed_seq"]
    );

    let live = b.send_msg(general, "live", "back again").await;
    let after = a
        .collect_until("the live message", |f| created(f, "back again"))
        .await;
    assert_eq!(
        room_seqs(&after, general),
        [live["seq"].as_i64().expect("seq")],
        "only the live event follows the replay: {after:#?}"
    );
}

/// Events delivered live between `ready` and `resume` are part of the replay the client
/// asked for (PROTOCOL.md 7.2: `resume` sends everything after the position the client
/// gives), in order; after the replay, live delivery repeats nothing.
pub async fn a_resume_replays_from_the_given_position_then_goes_live(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let general = s.general();
    let a = s.ws(&alice).await;
    let seen = position(&a.ready, general);
    a.close().await;
    let mut b = s.ws(&bob).await;
    b.send_msg(general, "m1", "missed").await;

    let mut a = s.ws(&alice).await;
    assert_eq!(position(&a.ready, general), seen + 1);
    b.send_msg(general, "m2", "live before resume").await;
    let live = a
        .collect_until("the live message", |f| created(f, "live before resume"))
        .await;
    assert_eq!(
        room_seqs(&live, general),
        [seen + 2],
        "delivered live from ready on"
    );
    let reply_id = a.id();
    a.send_json(&json!({"type": "resume", "id": reply_id,
                        "rooms": [{"room_id": general, "seq": seen}]}))
        .await;
    let replay = a
        .collect_until("resumed", |f| {
            is(f, "resumed") && f["id"] == json!(reply_id)
        })
        .await;
    assert_eq!(
        room_seqs(&replay, general),
        [seen + 1, seen + 2],
        "everything after the given position, in order: {replay:#?}"
    );
    assert_eq!(position(replay.last().expect("resumed"), general), seen + 2);
    b.send_msg(general, "m3", "after resume").await;
    b.send_msg(general, "m4", "and more").await;
    let rest = a
        .collect_until("the last message", |f| created(f, "and more"))
        .await;
    assert_eq!(
        room_seqs(&rest, general),
        [seen + 3, seen + 4],
        "live delivery continues after the replay and repeats nothing: {rest:#?}"
    );
}

/// A send whose ack was lost (the socket dropped) is retried on a new connection with the
/// same client id: the ack carries the first message, which exists once.
pub async fn a_retried_send_after_a_lost_ack_posts_once(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let general = s.general();
    let mut b = s.ws(&bob).await;

    let mut a = s.ws(&alice).await;
    a.send_json(&json!({
        "type": "send", "id": "s1", "room_id": general,
        "client_id": "retry-me", "body": "only once",
    }))
    .await;
    drop(a);
    // The first attempt was committed: bob saw it.
    let first = b
        .wait_for("the first attempt", |f| created(f, "only once"))
        .await;

    let mut a = s.ws(&alice).await;
    let retried = a.send_msg(general, "retry-me", "only once").await;
    assert_eq!(
        retried["id"], first["message"]["id"],
        "the retry returns the first"
    );
    assert_eq!(retried["seq"], first["message"]["seq"]);
    let again = a
        .send_msg(general, "retry-me", "a different body, same key")
        .await;
    assert_eq!(again["id"], first["message"]["id"]);
    assert_eq!(again["body"], "only once");
    let rest = s
        .post(
            &alice,
            &format!("/v1/rooms/{general}/messages"),
            json!({"client_id": "retry-me", "body": "only once"}),
        )
        .await;
    assert!(rest.status == 200 || rest.status == 201, "{}", rest.body);
    assert_eq!(rest.body["id"], first["message"]["id"], "REST retries too");

    a.send_msg(general, "marker", "marker").await;
    let got = b
        .collect_until("the marker", |f| created(f, "marker"))
        .await;
    assert!(
        !got.iter().any(|f| created(f, "only once")),
        "retries publish nothing: {got:#?}"
    );
    let page = s.history(&alice, general, "").await.expect(200).body;
    let copies = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|m| m["client_id"] == "retry-me")
        .count();
    assert_eq!(copies, 1, "{page}");
}

/// The SSE transport: `ready` with the session id first; commands POSTed to the session
/// are answered with their reply and their events arrive on the stream; only the owner may
/// post to a session.
pub async fn sse_carries_events_and_takes_commands(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let general = s.general();
    let mut sse = s.sse(&alice).await;
    assert_eq!(sse.ready["user_id"], json!(alice.id));
    let session = sse.ready["session_id"]
        .as_str()
        .expect("session id")
        .to_owned();
    assert!(!session.is_empty());
    position(&sse.ready, general);
    let commands = format!("/v1/sse/{session}/commands");

    let reply = s
        .post(
            &alice,
            &commands,
            json!({"type": "send", "id": "s1", "room_id": general,
                   "client_id": "sse-1", "body": "over sse"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.body["type"], "ack", "{}", reply.body);
    assert_eq!(reply.body["id"], "s1");
    assert_eq!(reply.body["message"]["body"], "over sse");
    let event = sse.wait_for(|f| created(f, "over sse")).await;
    assert_eq!(event["message"]["id"], reply.body["message"]["id"]);

    let mut b = s.ws(&bob).await;
    b.send_msg(general, "w1", "to the sse client").await;
    let event = sse.wait_for(|f| created(f, "to the sse client")).await;
    assert_eq!(event["message"]["sender"]["username"], "bob");

    let pong = s
        .post(&alice, &commands, json!({"type": "ping", "id": "p1"}))
        .await
        .expect(200);
    assert_eq!(pong.body, json!({"type": "pong", "id": "p1"}));
    let bad = s
        .call_raw(
            Method::POST,
            &commands,
            Some(&alice.token),
            "application/json",
            br#"{"type":"nope","id":"x1"}"#.to_vec(),
        )
        .await
        .expect(200);
    assert_eq!(bad.body["type"], "error");
    assert_eq!(bad.body["code"], "invalid_frame");
    assert_eq!(bad.body["id"], "x1");
    let failed = s
        .post(
            &alice,
            &commands,
            json!({"type": "send", "id": "s2", "room_id": 999_999,
                   "client_id": "sse-2", "body": "nowhere"}),
        )
        .await
        .expect(200);
    assert_eq!(failed.body["type"], "error");
    assert_eq!(failed.body["code"], "room_not_found");
    assert_eq!(failed.body["id"], "s2");

    // Only the session's owner may post to it.
    s.post(
        &bob,
        &commands,
        json!({"type": "send", "id": "s3", "room_id": general,
               "client_id": "hijack", "body": "hijacked"}),
    )
    .await
    .expect_error(404, "session_not_found");
    s.post(
        &alice,
        "/v1/sse/no-such-session/commands",
        json!({"type": "ping", "id": "p"}),
    )
    .await
    .expect_error(404, "session_not_found");
    s.call(
        Method::POST,
        &commands,
        None,
        json!({"type": "ping", "id": "p"}),
    )
    .await
    .expect_error(401, "unauthenticated");
    s.sse_refused("made-up")
        .await
        .expect_error(401, "invalid_ticket");
    let page = s.history(&alice, general, "").await.expect(200).body;
    assert!(
        !page["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|m| m["body"] == "hijacked")
    );
}

/// A client that stops reading is dropped with a `closing` frame (`slow_consumer`) while
/// the others keep receiving everything; after reconnecting it resumes without a gap.
pub async fn a_slow_consumer_is_dropped_and_resumes(db: Db) {
    // Every subscription may queue 64 events: plenty for a client that reads as events come
    // (sends are paced by their acks), nothing for one that stops reading.
    let s = db
        .start_with(Setup {
            queue: Some(64),
            ..Setup::default()
        })
        .await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let general = s.general();
    let mut a = s.ws(&alice).await;

    // Bob reads everything as it comes, on a task of its own.
    let b = s.ws(&bob).await;
    let fast = tokio::spawn(async move {
        let mut b: Ws = b;
        let frames = b.collect_until("the end", |f| created(f, "end")).await;
        (b, frames)
    });

    // Carol reads `ready`, then nothing, through a small receive buffer.
    let ticket = s.ticket(&carol).await;
    let mut slow = s.ws_raw(Some(&ticket), Some(4096)).await;
    let ready = slow.next().await;
    assert_eq!(ready["type"], "ready");
    let start = position(&ready, general);
    let topic = Topic::Room(general);
    s.eventually("all three follow general", |s| {
        s.state.engine.followers(topic) == 3
    })
    .await;

    // Large frames fill the socket buffers in fewer sends: 4,000 characters of 4 bytes.
    let body = "😀".repeat(4000);
    let mut sent = Vec::new();
    for i in 0..3000 {
        let m = a.send_msg(general, &format!("burst-{i}"), &body).await;
        sent.push(m["seq"].as_i64().expect("seq"));
        if s.state.engine.followers(topic) < 3 {
            break;
        }
    }
    assert!(
        s.state.engine.followers(topic) < 3,
        "the slow subscription was never dropped after {} messages",
        sent.len()
    );
    let end = a.send_msg(general, "end", "end").await;
    sent.push(end["seq"].as_i64().expect("seq"));

    let (_b, frames) = fast.await.expect("the fast reader");
    assert_eq!(
        room_seqs(&frames, general)
            .into_iter()
            .filter(|q| *q > start)
            .collect::<Vec<_>>(),
        sent,
        "the fast client got everything, in order"
    );

    let got = slow.until_closed().await;
    let closing = got.last().expect("frames before the close");
    assert_eq!(closing["type"], "closing", "{closing}");
    assert_eq!(closing["code"], "slow_consumer");
    let delivered = room_seqs(&got, general);
    assert!(
        delivered.len() < sent.len(),
        "the slow client did not get everything before being dropped"
    );
    assert_eq!(
        delivered,
        sent[..delivered.len()],
        "what arrived is gap-free and in order"
    );
    // Operators see the drop.
    s.eventually("the drop is counted", |s| {
        s.state.metrics.render().lines().any(|l| {
            l == "jeco_connections_ended_total{transport=\"ws\",reason=\"slow_consumer\"} 1"
        })
    })
    .await;

    // Reconnect and resume from the last event seen: the rest, once.
    let seen = delivered.last().copied().unwrap_or(start);
    let mut again = s.ws(&carol).await;
    let reply_id = again.id();
    again
        .send_json(&json!({"type": "resume", "id": reply_id,
                           "rooms": [{"room_id": general, "seq": seen}]}))
        .await;
    let replay = again
        .collect_until("resumed", |f| {
            is(f, "resumed") && f["id"] == json!(reply_id)
        })
        .await;
    let mut all = delivered;
    all.extend(room_seqs(&replay, general));
    assert_eq!(all, sent, "nothing lost, nothing twice");
}
