//! Notifications, presence, typing, reactions and read receipts over HTTP and WebSocket.

use serde_json::{Value, json};

use crate::e2e::harness::{Db, User, created, is};

fn ids(list: &Value, field: &str) -> Vec<Value> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v[field].clone())
        .collect()
}

/// Walkthrough "notifications": a direct message gives the recipient a live notification, an
/// unread count and a list entry; marking one read and marking all read lower the count;
/// reading the conversation clears its unread messages.
pub async fn direct_message_notifications(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let mut b = s.ws(&bob).await;
    let room = s.direct(&alice, &bob).await;
    let first = s.send(&alice, room, "n1", "are you there?").await;
    let second = s.send(&alice, room, "n2", "hello?").await;

    for m in [&first, &second] {
        let n = b
            .wait_for("a notification", |f| {
                is(f, "notification") && f["notification"]["message_id"] == m["id"]
            })
            .await;
        assert_eq!(n["notification"]["kind"], "direct_message");
        assert_eq!(n["notification"]["actor"]["username"], "alice");
        assert_eq!(n["notification"]["room_id"], json!(room));
        assert_eq!(n["notification"]["read"], false);
    }

    let count = |u| s.get(u, "/v1/notifications/unread-count");
    assert_eq!(count(&bob).await.expect(200).body, json!({"count": 2}));
    assert_eq!(count(&alice).await.expect(200).body, json!({"count": 0}));
    let unread = s.get(&bob, "/v1/unread").await.expect(200).body;
    assert_eq!(unread["notifications"], 2);
    let dm_unread = unread["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["room_id"] == json!(room))
        .expect("the direct room has a count")
        .clone();
    assert_eq!(dm_unread["unread"], 2);

    let list = s.get(&bob, "/v1/notifications").await.expect(200).body;
    assert_eq!(
        ids(&list["items"], "message_id"),
        [second["id"].clone(), first["id"].clone()],
        "newest first"
    );
    let page = s
        .get(&bob, "/v1/notifications?unread_only=true&limit=1")
        .await
        .expect(200)
        .body;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let next = page["next"].clone();
    assert!(next.is_i64(), "a full page has a cursor: {page}");
    let rest = s
        .get(&bob, &format!("/v1/notifications?before={next}&limit=1"))
        .await
        .expect(200)
        .body;
    assert_eq!(rest["items"][0]["message_id"], first["id"]);

    let newest = list["items"][0]["id"].clone();
    s.post(
        &bob,
        &format!("/v1/notifications/{newest}/read"),
        Value::Null,
    )
    .await
    .expect(204);
    assert_eq!(count(&bob).await.expect(200).body, json!({"count": 1}));
    let list = s.get(&bob, "/v1/notifications").await.expect(200).body;
    assert_eq!(list["items"][0]["read"], true);
    assert_eq!(list["items"][1]["read"], false);
    let unread_only = s
        .get(&bob, "/v1/notifications?unread_only=true")
        .await
        .expect(200)
        .body;
    assert_eq!(
        ids(&unread_only["items"], "message_id"),
        [first["id"].clone()]
    );
    let all = s
        .post(&bob, "/v1/notifications/read-all", Value::Null)
        .await
        .expect(200);
    assert_eq!(all.body, json!({"count": 1}));
    assert_eq!(count(&bob).await.expect(200).body, json!({"count": 0}));
    let again = s
        .post(&bob, "/v1/notifications/read-all", Value::Null)
        .await
        .expect(200);
    assert_eq!(again.body, json!({"count": 0}));

    // Opening the conversation clears its unread messages.
    let marker = s
        .put(
            &bob,
            &format!("/v1/rooms/{room}/read"),
            json!({"seq": second["seq"]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(marker["last_read_seq"], second["seq"]);
    let unread = s.get(&bob, "/v1/unread").await.expect(200).body;
    let dm_unread = unread["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["room_id"] == json!(room))
        .expect("listed")
        .clone();
    assert_eq!(dm_unread["unread"], 0);
    assert_eq!(unread["notifications"], 0);
}

/// Walkthrough "in-app notifications": mentions, replies and reactions notify the person
/// concerned live; the list and the feed carry them in order; the badge count decreases as
/// they are read.
pub async fn in_app_notifications(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let family = s.room(&alice, "family", "public", &[&bob]).await;
    let mut b = s.ws(&bob).await;

    s.send(&alice, family, "m1", "dinner @bob?").await;
    let n = b.wait_for("the mention", |f| is(f, "notification")).await;
    assert_eq!(n["notification"]["kind"], "mention");
    let question = s.send(&bob, family, "m2", "what time?").await;
    s.post(
        &alice,
        &format!("/v1/rooms/{family}/messages"),
        json!({"client_id": "m3", "body": "at 7", "reply_to": question["id"]}),
    )
    .await
    .expect(201);
    let n = b.wait_for("the reply", |f| is(f, "notification")).await;
    assert_eq!(n["notification"]["kind"], "reply");
    s.post(
        &alice,
        &format!("/v1/messages/{}/reactions", question["id"]),
        json!({"emoji": "👍"}),
    )
    .await
    .expect(200);
    let n = b.wait_for("the reaction", |f| is(f, "notification")).await;
    assert_eq!(n["notification"]["kind"], "reaction");
    assert_eq!(n["notification"]["detail"], "👍");
    assert_eq!(n["notification"]["message_id"], question["id"]);

    let list = s.get(&bob, "/v1/notifications").await.expect(200).body;
    assert_eq!(
        ids(&list["items"], "kind"),
        [json!("reaction"), json!("reply"), json!("mention")]
    );
    let count = |u| s.get(u, "/v1/notifications/unread-count");
    assert_eq!(count(&bob).await.expect(200).body["count"], 3);
    let oldest = list["items"][2]["id"].clone();
    s.post(
        &bob,
        &format!("/v1/notifications/{oldest}/read"),
        Value::Null,
    )
    .await
    .expect(204);
    assert_eq!(count(&bob).await.expect(200).body["count"], 2);

    // The feed: gap-free, notifications and membership changes in order.
    let feed = s.get(&bob, "/v1/feed?after=0").await.expect(200).body;
    let events = feed["events"].as_array().expect("events");
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| {
            e["feed_seq"]
                .as_i64()
                .or_else(|| e["notification"]["feed_seq"].as_i64())
                .expect("feed entries carry a feed sequence")
        })
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "{feed}");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "membership",
            "membership",
            "notification",
            "notification",
            "notification"
        ],
        "joined general and family, then three notifications: {feed}"
    );
    let tail = s
        .get(&bob, &format!("/v1/feed?after={}&limit=1", seqs[2]))
        .await
        .expect(200)
        .body;
    assert_eq!(tail["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(tail["events"][0]["notification"]["kind"], "reply");
}

/// Walkthrough "presence": B connecting tells A B is online; B's last connection closing
/// tells A B is offline, with when; reconnecting is announced again.
pub async fn presence_online_and_offline(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let mut a = s.ws(&alice).await;
    let status = s
        .get(
            &alice,
            &format!("/v1/users/presence?ids={},{}", alice.id, bob.id),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(status[0]["user_id"], json!(alice.id));
    assert_eq!(status[0]["online"], true);
    assert_eq!(status[1]["online"], false);

    let bob_presence = |f: &Value| is(f, "presence") && f["user_id"] == json!(bob.id);
    let b = s.ws(&bob).await;
    let online = a.wait_for("bob online", bob_presence).await;
    assert_eq!(online["online"], true);
    let b2 = s.ws(&bob).await;
    b2.close().await;
    b.close().await;
    let offline = a.wait_for("bob offline", bob_presence).await;
    assert_eq!(
        offline["online"], false,
        "a second tab changes nothing; the last one closing is announced: {offline}"
    );
    assert!(offline["last_seen"].is_i64(), "{offline}");
    let status = s
        .get(&alice, &format!("/v1/users/presence?ids={}", bob.id))
        .await
        .expect(200)
        .body;
    assert_eq!(status[0]["online"], false);
    assert_eq!(status[0]["last_seen"], offline["last_seen"]);

    let _b = s.ws(&bob).await;
    let again = a.wait_for("bob online again", bob_presence).await;
    assert_eq!(again["online"], true);
    s.get(&alice, "/v1/users/presence?ids=one,two")
        .await
        .expect(400);
}

/// Walkthrough "typing": A typing shows on B's side, stopping clears it; in rooms and in
/// direct conversations, over WebSocket and REST; outsiders cannot.
pub async fn typing_starts_and_stops(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let family = s.room(&alice, "family", "public", &[&bob]).await;
    let dm = s.direct(&alice, &bob).await;
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;

    for room in [family, dm] {
        let typing = |who: &User, active: bool| {
            let who = json!(who.id);
            move |f: &Value| {
                is(f, "typing")
                    && f["room_id"] == json!(room)
                    && f["user_id"] == who
                    && f["active"] == active
            }
        };
        let ack = a
            .command(json!({"type": "typing", "room_id": room, "active": true}))
            .await;
        assert_eq!(ack["type"], "ack", "{ack}");
        let t = b.wait_for("alice typing", typing(&alice, true)).await;
        assert_eq!(t["user_id"], json!(alice.id));
        assert!(t["expires_in_ms"].as_u64().is_some_and(|ms| ms > 0), "{t}");
        let ack = a
            .command(json!({"type": "typing", "room_id": room, "active": false}))
            .await;
        assert_eq!(ack["type"], "ack");
        b.wait_for("alice stopped", typing(&alice, false)).await;

        s.post(
            &bob,
            &format!("/v1/rooms/{room}/typing"),
            json!({"active": true}),
        )
        .await
        .expect(204);
        let t = a.wait_for("bob typing", typing(&bob, true)).await;
        assert_eq!(t["user_id"], json!(bob.id));
        s.post(
            &bob,
            &format!("/v1/rooms/{room}/typing"),
            json!({"active": false}),
        )
        .await
        .expect(204);
        a.wait_for("bob stopped", typing(&bob, false)).await;
    }

    let mut c = s.ws(&carol).await;
    let reply = c
        .command(json!({"type": "typing", "room_id": family, "active": true}))
        .await;
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], "not_a_member");
    s.post(
        &carol,
        &format!("/v1/rooms/{dm}/typing"),
        json!({"active": true}),
    )
    .await
    .expect_error(404, "room_not_found");
}

/// Walkthrough "reactions": B's reaction shows under A's message live; again takes it back;
/// several users and emojis aggregate in history.
pub async fn reactions_toggle_live_and_aggregate(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let family = s.room(&alice, "family", "public", &[&bob, &carol]).await;
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;
    let message = a.send_msg(family, "r1", "vote here").await;
    let id = message["id"].clone();

    let ack = b
        .command(json!({"type": "react", "message_id": id, "emoji": "👍"}))
        .await;
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["added"], true);
    let added = a
        .wait_for("bob's reaction", |f| is(f, "reaction.added"))
        .await;
    assert_eq!(added["message_id"], id);
    assert_eq!(added["user_id"], json!(bob.id));
    assert_eq!(added["emoji"], "👍");
    let ack = b
        .command(json!({"type": "react", "message_id": id, "emoji": "👍"}))
        .await;
    assert_eq!(ack["added"], false, "again toggles it off");
    let removed = a
        .wait_for("bob's reaction taken back", |f| is(f, "reaction.removed"))
        .await;
    assert_eq!(removed["user_id"], json!(bob.id));
    assert!(removed["seq"].as_i64() > added["seq"].as_i64());

    b.command(json!({"type": "react", "message_id": id, "emoji": "👍"}))
        .await;
    let path = format!("/v1/messages/{id}/reactions");
    for emoji in ["❤️", "👍"] {
        let r = s
            .post(&carol, &path, json!({"emoji": emoji}))
            .await
            .expect(200);
        assert_eq!(r.body, json!({"added": true}));
    }
    s.post(&carol, &path, json!({"emoji": "two words"}))
        .await
        .expect_error(400, "invalid_emoji");

    let expected = json!([
        {"emoji": "👍", "users": [bob.id, carol.id]},
        {"emoji": "❤️", "users": [carol.id]},
    ]);
    let page = s.history(&alice, family, "").await.expect(200).body;
    assert_eq!(page["items"][0]["reactions"], expected);
    let one = s
        .get(&alice, &format!("/v1/messages/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(one["reactions"], expected);
    // The live view agrees: three more additions reached the author.
    for _ in 0..3 {
        a.wait_for("a reaction", |f| is(f, "reaction.added")).await;
    }
}

/// Walkthrough "read receipts": B reading tells A live; `read-by` lists who read a message;
/// in group rooms several people; watermarks never move back.
pub async fn read_receipts(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let family = s.room(&alice, "family", "public", &[&bob, &carol]).await;
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;
    let message = a.send_msg(family, "rr1", "did you read this?").await;
    let (id, seq) = (message["id"].clone(), message["seq"].clone());
    let read_by = format!("/v1/messages/{id}/read-by");
    assert_eq!(s.get(&alice, &read_by).await.expect(200).body, json!([]));

    b.wait_for("the message", |f| created(f, "did you read this?"))
        .await;
    let ack = b
        .command(json!({"type": "read", "room_id": family, "seq": seq}))
        .await;
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["seq"], seq);
    let read = a.wait_for("bob's read receipt", |f| is(f, "read")).await;
    assert_eq!(read["room_id"], json!(family));
    assert_eq!(read["user_id"], json!(bob.id));
    assert_eq!(read["seq"], seq);
    let readers = s.get(&alice, &read_by).await.expect(200).body;
    assert_eq!(ids(&readers, "username"), [json!("bob")]);

    let marker = s
        .put(
            &carol,
            &format!("/v1/rooms/{family}/read"),
            json!({"seq": seq}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(marker["last_read_seq"], seq);
    let read = a.wait_for("carol's read receipt", |f| is(f, "read")).await;
    assert_eq!(read["user_id"], json!(carol.id));
    let readers = s.get(&bob, &read_by).await.expect(200).body;
    assert_eq!(ids(&readers, "username"), [json!("bob"), json!("carol")]);

    // Watermarks only move forward.
    let back = s
        .put(
            &carol,
            &format!("/v1/rooms/{family}/read"),
            json!({"seq": 1}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(back["last_read_seq"], seq);
    let members = s
        .get(&alice, &format!("/v1/rooms/{family}/members"))
        .await
        .expect(200)
        .body;
    let carol_member = members
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user"]["id"] == json!(carol.id))
        .expect("carol")
        .clone();
    assert_eq!(carol_member["last_read_seq"], seq);
    s.put(
        &carol,
        &format!("/v1/rooms/{family}/read"),
        json!({"seq": -1}),
    )
    .await
    .expect_error(400, "invalid_json");
}

/// Someone blocked is not seen typing or coming online by the one who blocked them, live or
/// over REST, until the block is lifted; every connection of the blocker learns of it.
pub async fn blocking_hides_typing_and_presence(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let family = s.room(&alice, "family", "public", &[&bob]).await;
    let mut a = s.ws(&alice).await;
    let from_bob =
        |f: &Value| (is(f, "typing") || is(f, "presence")) && f["user_id"] == json!(bob.id);

    s.put(&alice, &format!("/v1/blocks/{}", bob.id), json!({}))
        .await
        .expect(204);
    let told = a.wait_for("the block", |f| is(f, "block")).await;
    assert_eq!(
        (told["user_id"].clone(), told["blocked"].clone()),
        (json!(bob.id), json!(true))
    );
    // A connection opened while the block lasts knows of it from the start.
    let mut a2 = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;
    let ack = b
        .command(json!({"type": "typing", "room_id": family, "active": true}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    b.send_msg(family, "marker", "marker").await;
    for a in [&mut a, &mut a2] {
        let heard = a
            .collect_until("bob's message", |f| created(f, "marker"))
            .await;
        assert!(!heard.iter().any(from_bob), "{heard:?}");
    }
    let seen = s
        .get(&alice, &format!("/v1/users/presence?ids={}", bob.id))
        .await
        .expect(200)
        .body;
    assert_eq!(seen[0]["online"], json!(false), "{seen}");

    s.delete(&alice, &format!("/v1/blocks/{}", bob.id))
        .await
        .expect(204);
    a.wait_for("the unblock", |f| {
        is(f, "block") && f["blocked"] == json!(false)
    })
    .await;
    let ack = b
        .command(json!({"type": "typing", "room_id": family, "active": true}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    a.wait_for("bob typing again", from_bob).await;
    let seen = s
        .get(&alice, &format!("/v1/users/presence?ids={}", bob.id))
        .await
        .expect(200)
        .body;
    assert_eq!(seen[0]["online"], json!(true), "{seen}");
}
