//! What an outsider cannot do: read, post to, react in or learn about a direct conversation
//! or a private room, fetch its files, or mark someone else's notifications read. Every
//! refusal is a 404 (ids reveal nothing) and changes nothing.

use serde_json::{Value, json};

use crate::e2e::harness::{Db, png};

/// A third user is refused everything about a DM and a private room, over REST and
/// WebSocket, and nothing changes.
pub async fn outsiders_cannot_touch_private_conversations(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let dm = s.direct(&alice, &bob).await;
    let secret = s.room(&alice, "secret", "private", &[&bob]).await;
    let mut c = s.ws(&carol).await;

    for room in [dm, secret] {
        let message = s.send(&alice, room, "m1", "between us").await;
        let file = s
            .upload(
                &alice,
                &format!("/v1/rooms/{room}/attachments"),
                "p.png",
                png(4, 4),
            )
            .await
            .expect(201)
            .body;
        let before = s.history(&alice, room, "").await.expect(200).body;

        let not_found = "room_not_found";
        s.history(&carol, room, "")
            .await
            .expect_error(404, not_found);
        s.post(
            &carol,
            &format!("/v1/rooms/{room}/messages"),
            json!({"client_id": "c1", "body": "let me in"}),
        )
        .await
        .expect_error(404, not_found);
        for path in [
            format!("/v1/rooms/{room}"),
            format!("/v1/rooms/{room}/members"),
            format!("/v1/rooms/{room}/changes?after=0"),
        ] {
            s.get(&carol, &path).await.expect_error(404, not_found);
        }
        s.post(&carol, &format!("/v1/rooms/{room}/join"), Value::Null)
            .await
            .expect_error(404, not_found);
        s.put(&carol, &format!("/v1/rooms/{room}/read"), json!({"seq": 1}))
            .await
            .expect_error(404, not_found);
        s.post(
            &carol,
            &format!("/v1/rooms/{room}/members"),
            json!({"user_id": carol.id}),
        )
        .await
        .expect_error(404, not_found);
        s.upload(
            &carol,
            &format!("/v1/rooms/{room}/attachments"),
            "x.txt",
            b"x".to_vec(),
        )
        .await
        .expect_error(404, not_found);

        let id = &message["id"];
        let gone = "message_not_found";
        s.get(&carol, &format!("/v1/messages/{id}"))
            .await
            .expect_error(404, gone);
        s.get(&carol, &format!("/v1/messages/{id}/read-by"))
            .await
            .expect_error(404, gone);
        s.post(
            &carol,
            &format!("/v1/messages/{id}/reactions"),
            json!({"emoji": "👀"}),
        )
        .await
        .expect_error(404, gone);
        s.patch(
            &carol,
            &format!("/v1/messages/{id}"),
            json!({"body": "mine"}),
        )
        .await
        .expect_error(404, gone);
        s.delete(&carol, &format!("/v1/messages/{id}"))
            .await
            .expect_error(404, gone);
        s.post(
            &carol,
            &format!("/v1/messages/{id}/forward"),
            json!({"room_id": s.general(), "client_id": "steal"}),
        )
        .await
        .expect_error(404, gone);
        for path in [
            format!("/v1/attachments/{}", file["id"]),
            format!("/v1/attachments/{}/thumbnail", file["id"]),
        ] {
            s.get(&carol, &path)
                .await
                .expect_error(404, "attachment_not_found");
        }

        // The same over the WebSocket.
        let reply = c
            .command(json!({"type": "send", "room_id": room, "client_id": "w1", "body": "hi"}))
            .await;
        assert_eq!(reply["code"], not_found, "{reply}");
        let reply = c
            .command(json!({"type": "react", "message_id": id, "emoji": "👀"}))
            .await;
        assert_eq!(reply["code"], gone, "{reply}");
        let reply = c
            .command(json!({"type": "edit", "message_id": id, "body": "mine"}))
            .await;
        assert_eq!(reply["code"], gone, "{reply}");
        let reply = c.command(json!({"type": "delete", "message_id": id})).await;
        assert_eq!(reply["code"], gone, "{reply}");
        let reply = c
            .command(json!({"type": "read", "room_id": room, "seq": 1}))
            .await;
        assert_eq!(reply["code"], not_found, "{reply}");
        let reply = c
            .command(json!({"type": "typing", "room_id": room, "active": true}))
            .await;
        assert_eq!(reply["code"], not_found, "{reply}");
        let reply = c
            .command(json!({"type": "resume", "rooms": [{"room_id": room, "seq": 0}]}))
            .await;
        assert_eq!(reply["type"], "error");
        assert_eq!(reply["code"], not_found, "{reply}");

        // Nothing changed, and carol got no event of the room.
        let after = s.history(&alice, room, "").await.expect(200).body;
        assert_eq!(before, after);
        let members = s
            .get(&alice, &format!("/v1/rooms/{room}/members"))
            .await
            .expect(200)
            .body;
        assert_eq!(members.as_array().map(Vec::len), Some(2));
        let readers = s
            .get(&alice, &format!("/v1/messages/{id}/read-by"))
            .await
            .expect(200)
            .body;
        assert_eq!(readers, json!([]));
    }
    s.send(&alice, s.general(), "marker", "marker").await;
    let got = c
        .collect_until("the marker", |f| {
            f["type"] == "message.created" && f["message"]["body"] == "marker"
        })
        .await;
    assert!(
        !got.iter()
            .any(|f| f["room_id"] == json!(dm) || f["room_id"] == json!(secret)),
        "{got:#?}"
    );
}

/// Members may not edit or delete each other's messages (unless admin); nobody marks
/// someone else's notification read.
pub async fn others_messages_and_notifications_are_off_limits(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let carol = s.register("carol").await;
    let family = s.room(&alice, "family", "public", &[&bob, &carol]).await;
    let from_bob = s.send(&bob, family, "b1", "bob's words").await;
    let id = &from_bob["id"];
    s.patch(
        &carol,
        &format!("/v1/messages/{id}"),
        json!({"body": "carol's now"}),
    )
    .await
    .expect_error(403, "not_author");
    s.delete(&carol, &format!("/v1/messages/{id}"))
        .await
        .expect_error(403, "not_allowed");
    let one = s
        .get(&alice, &format!("/v1/messages/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(one["body"], "bob's words");
    assert_eq!(one["deleted"], false);
    // The owner is an admin of the room and may delete.
    s.delete(&alice, &format!("/v1/messages/{id}"))
        .await
        .expect(204);

    let dm = s.direct(&alice, &bob).await;
    s.send(&alice, dm, "d1", "hi bob").await;
    let list = s.get(&bob, "/v1/notifications").await.expect(200).body;
    let theirs = list["items"][0]["id"].clone();
    assert!(theirs.is_i64(), "{list}");
    s.post(
        &carol,
        &format!("/v1/notifications/{theirs}/read"),
        Value::Null,
    )
    .await
    .expect_error(404, "notification_not_found");
    s.post(&bob, "/v1/notifications/999999/read", Value::Null)
        .await
        .expect_error(404, "notification_not_found");
    let all = s
        .post(&carol, "/v1/notifications/read-all", Value::Null)
        .await
        .expect(200)
        .body;
    assert_eq!(all["count"], 0);
    let count = s
        .get(&bob, "/v1/notifications/unread-count")
        .await
        .expect(200)
        .body;
    assert_eq!(count["count"], 1, "bob's notification is still unread");
    let carols = s.get(&carol, "/v1/notifications").await.expect(200).body;
    assert_eq!(carols["items"], json!([]));

    // Unknown ids are not found, whoever asks.
    s.get(&alice, "/v1/rooms/999999")
        .await
        .expect_error(404, "room_not_found");
    s.get(&alice, "/v1/messages/999999")
        .await
        .expect_error(404, "message_not_found");
    s.post(
        &alice,
        &format!("/v1/rooms/{family}/members"),
        json!({"user_id": 999_999}),
    )
    .await
    .expect_error(404, "user_not_found");
    s.delete(&alice, &format!("/v1/rooms/{family}/members/999999"))
        .await
        .expect_error(404, "member_not_found");
}
