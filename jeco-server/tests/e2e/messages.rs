//! Messages over REST, seen live over WebSocket: send, get, edit, delete, forward, the
//! change log, and send validation.

use jeco_core::ids::RoomId;
use serde_json::{Value, json};

use crate::e2e::harness::{Db, is};

/// Edits and deletes reach members live and show in history; forwards point at the
/// original; the change log is gap-free and pages.
pub async fn edit_delete_forward_and_changes(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let family = s.room(&alice, "family", "public", &[&bob]).await;
    let mut b = s.ws(&bob).await;

    let sent = s.send(&alice, family, "e1", "first draft").await;
    let id = sent["id"].clone();
    assert_eq!(sent["edited_at"], Value::Null);
    let got = s
        .get(&bob, &format!("/v1/messages/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(got, sent);

    let edited = s
        .patch(
            &alice,
            &format!("/v1/messages/{id}"),
            json!({"body": "final text"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(edited["body"], "final text");
    assert!(edited["edited_at"].is_i64());
    let live = b.wait_for("the edit", |f| is(f, "message.edited")).await;
    assert_eq!(live["message"]["body"], "final text");
    assert!(live["seq"].as_i64() > sent["seq"].as_i64());
    s.patch(&alice, &format!("/v1/messages/{id}"), json!({"body": ""}))
        .await
        .expect_error(400, "empty_message");

    let forwarded = s
        .post(
            &bob,
            &format!("/v1/messages/{id}/forward"),
            json!({"room_id": s.general(), "client_id": "fw1"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(forwarded["forwarded_from"], id);
    assert_eq!(forwarded["room_id"], json!(s.general()));
    assert_eq!(forwarded["sender"]["username"], "bob");
    assert_eq!(forwarded["body"], "final text");
    let again = s
        .post(
            &bob,
            &format!("/v1/messages/{id}/forward"),
            json!({"room_id": s.general(), "client_id": "fw1"}),
        )
        .await;
    assert!(again.status == 200 || again.status == 201, "{}", again.body);
    assert_eq!(
        again.body["id"], forwarded["id"],
        "a retried forward is one"
    );

    s.delete(&alice, &format!("/v1/messages/{id}"))
        .await
        .expect(204);
    let live = b.wait_for("the delete", |f| is(f, "message.deleted")).await;
    assert_eq!(live["message_id"], id);
    assert_eq!(live["by"], json!(alice.id));
    let tomb = s
        .get(&bob, &format!("/v1/messages/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(tomb["deleted"], true);
    assert_eq!(tomb["body"], "");
    s.delete(&alice, &format!("/v1/messages/{id}"))
        .await
        .expect(204);
    s.patch(
        &alice,
        &format!("/v1/messages/{id}"),
        json!({"body": "undead"}),
    )
    .await
    .expect_error(400, "message_deleted");

    // The change log: every change since the start, gap-free, in pages.
    let room = s
        .get(&bob, &format!("/v1/rooms/{family}"))
        .await
        .expect(200)
        .body;
    let last = room["last_seq"].as_i64().expect("last_seq");
    let all = s
        .get(&bob, &format!("/v1/rooms/{family}/changes?after=0"))
        .await
        .expect(200)
        .body;
    assert_eq!(all["last_seq"], last);
    assert_eq!(all["has_more"], false);
    let seqs: Vec<i64> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["seq"].as_i64().expect("sequenced"))
        .collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    let kinds: Vec<&str> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "member.joined",
            "member.joined",
            "message.created",
            "message.edited",
            "message.deleted"
        ]
    );
    let page = s
        .get(&bob, &format!("/v1/rooms/{family}/changes?after=1&limit=2"))
        .await
        .expect(200)
        .body;
    assert_eq!(page["has_more"], true);
    assert_eq!(page["events"][0]["seq"], 2);
    assert_eq!(page["events"][1]["seq"], 3);
    // Sequences are never negative: refused where the query is read.
    s.get(&bob, &format!("/v1/rooms/{family}/changes?after=-1"))
        .await
        .expect_error(400, "invalid_query");
}

/// Sends that break a rule answer with a code and a field, and post nothing.
pub async fn send_validation_posts_nothing(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let general = s.general();
    let path = format!("/v1/rooms/{general}/messages");
    let cases = [
        (
            json!({"client_id": "ok1", "body": ""}),
            "empty_message",
            "body",
        ),
        (
            json!({"client_id": "ok2", "body": "   "}),
            "empty_message",
            "body",
        ),
        (
            json!({"client_id": "ok3", "body": "x".repeat(4001)}),
            "too_long",
            "body",
        ),
        (
            json!({"client_id": "not ok", "body": "hi"}),
            "invalid_client_id",
            "client_id",
        ),
        (
            json!({"client_id": "", "body": "hi"}),
            "invalid_client_id",
            "client_id",
        ),
        (
            json!({"client_id": "ok4", "body": "hi", "reply_to": 999_999}),
            "invalid_reply_to",
            "reply_to",
        ),
        (
            json!({"client_id": "ok5", "body": "hi", "attachments": [999_999]}),
            "invalid_attachment",
            "attachments",
        ),
    ];
    for (body, code, field) in cases {
        let r = s
            .post(&alice, &path, body.clone())
            .await
            .expect_error(400, code);
        assert_eq!(r.body["field"], field, "{body}: {}", r.body);
    }
    s.post(
        &alice,
        "/v1/rooms/999999/messages",
        json!({"client_id": "ok6", "body": "hi"}),
    )
    .await
    .expect_error(404, "room_not_found");
    let page = s.history(&alice, general, "").await.expect(200).body;
    assert_eq!(page["items"], json!([]), "nothing was posted");
    let ok = s.send(&alice, general, "ok7", &"x".repeat(4000)).await;
    assert_eq!(ok["body"].as_str().map(str::len), Some(4000));
    let room = RoomId(ok["room_id"].as_i64().expect("room"));
    assert_eq!(room, general);
}

/// Each group commit of sends shows in the metrics: how many sends it carried and how long
/// the commit took, as the engine reports them.
pub async fn group_commits_show_in_the_metrics(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let general = s.general();
    for i in 0..3 {
        s.post(
            &alice,
            &format!("/v1/rooms/{general}/messages"),
            json!({"client_id": format!("m{i}"), "body": "counted"}),
        )
        .await
        .expect(201);
    }
    let metrics = s.state.metrics.render();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
    };
    assert_eq!(value("jeco_commit_group_sends_sum"), 3.0, "{metrics}");
    let groups = value("jeco_commit_group_sends_count");
    assert!((1.0..=3.0).contains(&groups), "{metrics}");
    assert_eq!(
        value("jeco_store_commit_seconds_count"),
        groups,
        "{metrics}"
    );
}
