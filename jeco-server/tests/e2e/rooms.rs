//! Rooms over HTTP and WebSocket: `general`, group rooms that deliver only to their members,
//! the room list, history on join, and direct messages.

use jeco_core::ids::RoomId;
use serde_json::{Value, json};

use crate::e2e::harness::{Db, created, is};

/// Walkthrough "saved with sender info" and "family / friends": everyone is in `general`;
/// two users in `family` see each other's messages live, a third in `friends` does not, and
/// messages are stored with their sender.
pub async fn group_rooms_deliver_only_to_their_members(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let general = s.general();
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;
    let mut c = s.ws(&carol).await;
    for ws in [&a, &b, &c] {
        let rooms = ws.ready["rooms"].as_array().expect("rooms");
        assert!(
            rooms.iter().any(|p| p["room_id"] == json!(general)),
            "everyone is in general: {}",
            ws.ready
        );
    }

    // general: everyone sees everyone, with the sender's name.
    let sent = a.send_msg(general, "g1", "hello everyone").await;
    assert_eq!(sent["sender"]["username"], "alice");
    for ws in [&mut b, &mut c] {
        let f = ws
            .wait_for("alice's message in general", |f| {
                created(f, "hello everyone")
            })
            .await;
        assert_eq!(f["room_id"], json!(general));
        assert_eq!(f["message"]["sender"]["id"], json!(alice.id));
        assert_eq!(f["message"]["sender"]["username"], "alice");
        assert_eq!(f["seq"], f["message"]["seq"]);
    }

    let family = s.room(&alice, "family", "public", &[&bob]).await;
    let friends = s.room(&carol, "friends", "public", &[]).await;
    let sent = a.send_msg(family, "f1", "family dinner at 7").await;
    assert_eq!(sent["room_id"], json!(family));
    let f = b
        .wait_for("alice's family message", |f| {
            created(f, "family dinner at 7")
        })
        .await;
    assert_eq!(f["room_id"], json!(family));
    b.send_msg(family, "f2", "see you there").await;
    a.wait_for("bob's family reply", |f| created(f, "see you there"))
        .await;
    c.send_msg(friends, "x1", "friends only").await;

    // A marker sent after the others reaches everyone through general; what a user got
    // before it is everything they will ever get of the earlier messages.
    a.send_msg(general, "marker", "marker").await;
    let before_marker = c
        .collect_until("the marker", |f| created(f, "marker"))
        .await;
    assert!(
        !before_marker
            .iter()
            .any(|f| is(f, "message.created") && f["room_id"] == json!(family)),
        "carol is not in family: {before_marker:#?}"
    );
    for ws in [&mut a, &mut b] {
        let got = ws
            .collect_until("the marker", |f| created(f, "marker"))
            .await;
        assert!(
            !got.iter()
                .any(|f| is(f, "message.created") && f["room_id"] == json!(friends)),
            "only carol is in friends: {got:#?}"
        );
    }

    // Outsiders of a public room cannot post or read until they join.
    s.post(
        &carol,
        &format!("/v1/rooms/{family}/messages"),
        json!({"client_id": "c1", "body": "let me in"}),
    )
    .await
    .expect_error(403, "not_a_member");
    s.history(&carol, family, "")
        .await
        .expect_error(403, "not_a_member");
    let reply = c
        .command(json!({"type": "send", "room_id": family, "client_id": "c2", "body": "hi"}))
        .await;
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], "not_a_member");

    // Stored, in order, with senders.
    let page = s.history(&bob, family, "").await.expect(200);
    let items = page.body["items"].as_array().expect("items");
    let bodies: Vec<&Value> = items.iter().map(|m| &m["body"]).collect();
    assert_eq!(
        bodies,
        [&json!("see you there"), &json!("family dinner at 7")]
    );
    assert_eq!(items[0]["sender"]["username"], "bob");
    assert_eq!(items[1]["sender"]["username"], "alice");
}

/// Walkthrough "room list": the list shows every public room and the caller's rooms with
/// their role; create, join, members, invite, roles, kick and leave.
pub async fn room_list_create_join_and_members(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let room_of = |list: &Value, id: RoomId| -> Option<Value> {
        list.as_array()
            .expect("room list")
            .iter()
            .find(|r| r["room"]["id"] == json!(id))
            .cloned()
    };

    let list = s.get(&alice, "/v1/rooms").await.expect(200).body;
    let general = room_of(&list, s.general()).expect("general is listed");
    assert_eq!(general["role"], "member");
    assert_eq!(general["room"]["name"], "general");

    let created_room = s
        .post(
            &alice,
            "/v1/rooms",
            json!({"name": "Family", "kind": "public", "topic": "us"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(
        created_room["name"], "family",
        "names are stored lower-case"
    );
    assert_eq!(created_room["kind"], "public");
    assert_eq!(created_room["member_count"], 1);
    let family = RoomId(created_room["id"].as_i64().expect("id"));
    s.post(
        &bob,
        "/v1/rooms",
        json!({"name": "family", "kind": "public"}),
    )
    .await
    .expect_error(409, "room_name_taken");
    s.post(
        &bob,
        "/v1/rooms",
        json!({"name": "no spaces here", "kind": "public"}),
    )
    .await
    .expect_error(400, "invalid_room_name");

    let bobs = s.get(&bob, "/v1/rooms").await.expect(200).body;
    let seen = room_of(&bobs, family).expect("public rooms are listed for everyone");
    assert_eq!(seen["role"], Value::Null);
    let joined = s
        .post(&bob, &format!("/v1/rooms/{family}/join"), Value::Null)
        .await
        .expect(200)
        .body;
    assert_eq!(joined["member_count"], 2);
    s.post(&bob, &format!("/v1/rooms/{family}/join"), Value::Null)
        .await
        .expect(200);
    let bobs = s.get(&bob, "/v1/rooms").await.expect(200).body;
    assert_eq!(room_of(&bobs, family).expect("listed")["role"], "member");
    let room = s
        .get(&bob, &format!("/v1/rooms/{family}"))
        .await
        .expect(200)
        .body;
    assert_eq!(room["topic"], "us");
    let members = s
        .get(&bob, &format!("/v1/rooms/{family}/members"))
        .await
        .expect(200)
        .body;
    assert_eq!(members[0]["user"]["username"], "alice");
    assert_eq!(members[0]["role"], "owner");
    assert_eq!(members[1]["user"]["username"], "bob");
    assert_eq!(members[1]["role"], "member");

    // A private room is invisible until one is added.
    let secret = s.room(&alice, "secret", "private", &[]).await;
    let bobs = s.get(&bob, "/v1/rooms").await.expect(200).body;
    assert!(room_of(&bobs, secret).is_none(), "private rooms are hidden");
    s.get(&bob, &format!("/v1/rooms/{secret}"))
        .await
        .expect_error(404, "room_not_found");
    s.post(&bob, &format!("/v1/rooms/{secret}/join"), Value::Null)
        .await
        .expect_error(404, "room_not_found");
    s.post(
        &alice,
        &format!("/v1/rooms/{secret}/members"),
        json!({"user_id": bob.id}),
    )
    .await
    .expect(204);
    let bobs = s.get(&bob, "/v1/rooms").await.expect(200).body;
    assert_eq!(room_of(&bobs, secret).expect("invited")["role"], "member");

    // Roles and removal.
    s.put(
        &bob,
        &format!("/v1/rooms/{secret}/members/{}/role", alice.id),
        json!({"role": "member"}),
    )
    .await
    .expect_error(403, "not_allowed");
    s.put(
        &alice,
        &format!("/v1/rooms/{secret}/members/{}/role", bob.id),
        json!({"role": "admin"}),
    )
    .await
    .expect(204);
    let members = s
        .get(&alice, &format!("/v1/rooms/{secret}/members"))
        .await
        .expect(200)
        .body;
    assert_eq!(members[1]["role"], "admin");
    s.delete(&bob, &format!("/v1/rooms/{secret}/members/{}", alice.id))
        .await
        .expect_error(403, "not_allowed");
    s.delete(&alice, &format!("/v1/rooms/{secret}/members/{}", bob.id))
        .await
        .expect(204);
    s.get(&bob, &format!("/v1/rooms/{secret}"))
        .await
        .expect_error(404, "room_not_found");
    s.post(&bob, &format!("/v1/rooms/{family}/leave"), Value::Null)
        .await
        .expect(204);
    let bobs = s.get(&bob, "/v1/rooms").await.expect(200).body;
    assert_eq!(
        room_of(&bobs, family).expect("still public")["role"],
        Value::Null
    );
    s.post(&bob, &format!("/v1/rooms/{family}/leave"), Value::Null)
        .await
        .expect_error(403, "not_a_member");
}

/// Walkthrough "history": re-joining loads the last 50 messages, newest first, then pages
/// back; live delivery continues from there with nothing older replayed.
pub async fn history_on_join_is_the_last_fifty(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let family = s.room(&alice, "family", "public", &[]).await;
    let mut a = s.ws(&alice).await;
    for i in 0..60 {
        a.send_msg(family, &format!("m{i}"), &format!("message {i}"))
            .await;
    }
    s.post(&bob, &format!("/v1/rooms/{family}/join"), Value::Null)
        .await
        .expect(200);

    let page = s.history(&bob, family, "").await.expect(200).body;
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 50, "the default page is 50");
    assert_eq!(items[0]["body"], "message 59", "newest first");
    assert_eq!(items[49]["body"], "message 10");
    let seqs: Vec<i64> = items
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    assert_eq!(page["next"], items[49]["seq"]);
    let older = s
        .history(&bob, family, &format!("?before={}", page["next"]))
        .await
        .expect(200)
        .body;
    let older_items = older["items"].as_array().expect("items");
    assert_eq!(older_items.len(), 10);
    assert_eq!(older_items[0]["body"], "message 9");
    assert_eq!(older_items[9]["body"], "message 0");
    assert_eq!(older["next"], Value::Null);
    let first = older_items[9]["seq"].as_i64().expect("seq");
    let forward = s
        .history(&bob, family, &format!("?after={first}&limit=3"))
        .await
        .expect(200)
        .body;
    let bodies: Vec<&Value> = forward["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| &m["body"])
        .collect();
    assert_eq!(
        bodies,
        [
            &json!("message 1"),
            &json!("message 2"),
            &json!("message 3")
        ],
        "after: oldest first"
    );

    // Bob's connection starts live delivery where the room is now.
    let mut b = s.ws(&bob).await;
    let position = b.ready["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|p| p["room_id"] == json!(family))
        .expect("family position")["seq"]
        .clone();
    let room = s
        .get(&bob, &format!("/v1/rooms/{family}"))
        .await
        .expect(200)
        .body;
    assert_eq!(position, room["last_seq"]);
    a.send_msg(family, "m60", "message 60").await;
    let got = b
        .collect_until("message 60", |f| created(f, "message 60"))
        .await;
    let created_frames = got.iter().filter(|f| is(f, "message.created")).count();
    assert_eq!(
        created_frames, 1,
        "nothing older is replayed live: {got:#?}"
    );
}

/// Walkthrough "private chat": A opens a direct room with B; both get the same room and see
/// each other's messages live; nobody else does.
pub async fn direct_messages_are_live_and_private(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;
    let mut c = s.ws(&carol).await;

    let dm = s
        .post(&alice, &format!("/v1/direct/{}", bob.id), Value::Null)
        .await
        .expect(200)
        .body;
    assert_eq!(dm["kind"], "direct");
    assert_eq!(dm["member_count"], 2);
    assert_eq!(dm["name"], Value::Null);
    let same = s
        .post(&bob, &format!("/v1/direct/{}", alice.id), Value::Null)
        .await
        .expect(200)
        .body;
    assert_eq!(same["id"], dm["id"], "one direct room per pair");
    let room = RoomId(dm["id"].as_i64().expect("id"));

    a.send_msg(room, "d1", "psst bob").await;
    let f = b
        .wait_for("alice's direct message", |f| created(f, "psst bob"))
        .await;
    assert_eq!(f["room_id"], json!(room));
    assert_eq!(f["message"]["sender"]["username"], "alice");
    b.send_msg(room, "d2", "hi alice").await;
    a.wait_for("bob's answer", |f| created(f, "hi alice")).await;

    a.send_msg(s.general(), "marker", "marker").await;
    let got = c
        .collect_until("the marker", |f| created(f, "marker"))
        .await;
    assert!(
        !got.iter().any(|f| f["room_id"] == json!(room)),
        "carol sees nothing of the direct room: {got:#?}"
    );

    let bobs = s.get(&bob, "/v1/rooms").await.expect(200).body;
    let listed = bobs
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["room"]["id"] == json!(room))
        .expect("the direct room is listed")
        .clone();
    assert_eq!(listed["peer"]["username"], "alice");
    let carols = s.get(&carol, "/v1/rooms").await.expect(200).body;
    assert!(
        !carols
            .as_array()
            .expect("list")
            .iter()
            .any(|r| r["room"]["id"] == json!(room))
    );

    s.post(&alice, &format!("/v1/direct/{}", alice.id), Value::Null)
        .await
        .expect_error(400, "invalid_target");
    s.post(&alice, "/v1/direct/999999", Value::Null)
        .await
        .expect_error(404, "user_not_found");
    s.post(&alice, &format!("/v1/rooms/{room}/leave"), Value::Null)
        .await
        .expect_error(403, "not_allowed");
}
