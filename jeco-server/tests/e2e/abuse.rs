//! What one user, or one address, cannot do to everyone else: every command that writes or
//! reaches others has a budget, refusals say when to come back, the sign-in limit is the
//! documented one.

use jeco_server::ratelimit::Rate;
use reqwest::Method;
use serde_json::json;

use crate::e2e::clients::{created, is};
use crate::e2e::harness::{Db, Setup};

/// A budget of three, regained so slowly that no test sees it refill.
const THREE: Rate = Rate {
    per_second: 0.001,
    burst: 3.0,
};

pub async fn every_command_that_writes_has_a_budget(db: Db) {
    let mut setup = Setup::default();
    setup.config.change_rate = THREE;
    setup.config.typing_rate = THREE;
    let s = db.start_with(setup).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let general = s.general();
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;
    let m = a.send_msg(general, "m1", "react to me").await;

    // Reactions, edits and read markers share one budget, over WebSocket and REST alike.
    for (i, emoji) in ["😀", "🎉"].iter().enumerate() {
        let reply = a
            .command(json!({"type": "react", "id": format!("r{i}"), "message_id": m["id"], "emoji": emoji, "add": true}))
            .await;
        assert_eq!(reply["type"], "ack", "{reply}");
    }
    s.patch(
        &alice,
        &format!("/v1/messages/{}", m["id"]),
        json!({"body": "edited"}),
    )
    .await
    .expect(200);
    let refused = a
        .command(json!({"type": "react", "id": "over", "message_id": m["id"], "emoji": "🚀", "add": true}))
        .await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    assert!(
        refused["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0),
        "{refused}"
    );
    let over = s
        .put(
            &alice,
            &format!("/v1/rooms/{general}/read"),
            json!({"seq": 1}),
        )
        .await
        .expect_error(429, "rate_limited");
    assert!(
        over.header("retry-after")
            .parse::<u64>()
            .is_ok_and(|s| s >= 1)
    );
    assert!(
        over.body["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0)
    );
    let message = s
        .get(&bob, &format!("/v1/messages/{}", m["id"]))
        .await
        .expect(200)
        .body;
    assert_eq!(message["reactions"].as_array().map(Vec::len), Some(2));

    // Typing: three indications, then refusals; Bob hears at most three.
    for i in 0..6 {
        let active = i % 2 == 0;
        let reply = a
            .command(json!({"type": "typing", "room_id": general, "active": active}))
            .await;
        let expected = if i < 3 { "ack" } else { "error" };
        assert_eq!(reply["type"], expected, "typing {i}: {reply}");
    }
    a.send_msg(general, "marker", "marker").await;
    let heard = b
        .collect_until("the marker", |f| created(f, "marker"))
        .await;
    let typing = heard
        .iter()
        .filter(|f| is(f, "typing") && f["user_id"] == json!(alice.id))
        .count();
    assert!(typing <= 3, "{typing} typing events reached bob");
    // Bob's budget is his own.
    let reply = b
        .command(json!({"type": "typing", "room_id": general, "active": true}))
        .await;
    assert_eq!(reply["type"], "ack", "{reply}");

    // Every refusal is counted by kind: a reaction and a read marker, three typings.
    let metrics = s.state.metrics.render();
    for line in [
        "jeco_rate_limited_total{kind=\"change\"} 2",
        "jeco_rate_limited_total{kind=\"typing\"} 3",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }
}

/// Twelve sign-in attempts a minute from one address, as the README says, then a 429 that
/// says when to come back.
pub async fn the_sign_in_limit_is_the_documented_one(db: Db) {
    let mut setup = Setup::default();
    setup.config.auth_rate = jeco_server::ServerConfig::default().auth_rate;
    let s = db.start_with(setup).await;
    let attempt = || async {
        s.call(
            Method::POST,
            "/v1/auth/login",
            None,
            json!({"login": "nobody", "password": "not the password"}),
        )
        .await
    };
    for i in 0..12 {
        let r = attempt().await;
        assert_eq!(r.status, 401, "attempt {}: {}", i + 1, r.body);
    }
    let refused = attempt().await.expect_error(429, "rate_limited");
    let after: u64 = refused.header("retry-after").parse().expect("Retry-After");
    assert!((1..=5).contains(&after), "Retry-After {after}");
    assert!(refused.body["retry_after_ms"].as_u64().is_some());
    let metrics = s.state.metrics.render();
    assert!(
        metrics
            .lines()
            .any(|l| l == "jeco_rate_limited_total{kind=\"auth\"} 1"),
        "{metrics}"
    );
}

/// A resume cannot be made to replay more than once what it asks for: a room is named once,
/// and only in the object form of a position.
pub async fn a_resume_replays_each_room_once(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let general = s.general();
    let mut a = s.ws(&alice).await;
    a.send_msg(general, "m1", "something to replay").await;
    for (rooms, field) in [
        (json!([[general, 0]]), None),
        (
            json!([{"room_id": general, "seq": 0}, {"room_id": general, "seq": 0}]),
            Some("rooms"),
        ),
    ] {
        let refused = a
            .command(json!({"type": "resume", "id": "r", "rooms": rooms}))
            .await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["code"], "invalid_frame", "{refused}");
        if let Some(field) = field {
            assert_eq!(refused["field"], field, "{refused}");
        }
    }
    // The connection still works, and a proper resume replays the room once.
    let replayed = a
        .command(json!({"type": "resume", "id": "ok", "rooms": [{"room_id": general, "seq": 0}]}))
        .await;
    assert_eq!(replayed["type"], "resumed", "{replayed}");
}
