//! Bad input over HTTP and WebSocket gets a clear error and changes nothing: malformed and
//! mistyped JSON, unknown and oversize frames, expired and forged tokens, rate limits, used
//! tickets, too many connections.

use std::time::Duration;

use jeco_server::ratelimit::Rate;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::e2e::harness::{Db, JWT_SECRET, PASSWORD, Setup, created, is, user_of};

/// Malformed JSON, wrong types, bad paths and queries, oversize bodies: 400/413 with a code,
/// and nothing is created.
pub async fn malformed_requests_change_nothing(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let raw = |method: Method, path: &'static str, body: &'static [u8]| {
        s.call_raw(
            method,
            path,
            Some(&alice.token),
            "application/json",
            body.to_vec(),
        )
    };
    raw(Method::POST, "/v1/auth/login", b"{\"login\": ")
        .await
        .expect_error(400, "invalid_json");
    raw(Method::POST, "/v1/rooms", b"{not json")
        .await
        .expect_error(400, "invalid_json");
    raw(Method::PATCH, "/v1/me", b"[1, 2")
        .await
        .expect_error(400, "invalid_json");
    // Every body is an object: serde alone would read `[]` as a profile update changing nothing.
    for body in [&b"[]"[..], b" [null, null, null]", b"\"bio\"", b"null"] {
        raw(Method::PATCH, "/v1/me", body)
            .await
            .expect_error(400, "invalid_json");
    }
    s.call_raw(
        Method::POST,
        "/v1/auth/login",
        None,
        "text/plain",
        br#"{"login":"alice","password":"x"}"#.to_vec(),
    )
    .await
    .expect_error(400, "invalid_content_type");
    for body in [
        json!({"name": 5, "kind": "public"}),
        json!({"name": "okname", "kind": "weird"}),
        json!({"kind": "public"}),
    ] {
        s.post(&alice, "/v1/rooms", body)
            .await
            .expect_error(400, "invalid_json");
    }
    let general = s.general();
    let messages = format!("/v1/rooms/{general}/messages");
    for body in [
        json!({"client_id": 1, "body": "hi"}),
        json!({"client_id": "k", "body": ["hi"]}),
        json!({"client_id": "k", "body": "hi", "attachments": "a"}),
    ] {
        s.post(&alice, &messages, body)
            .await
            .expect_error(400, "invalid_json");
    }
    s.get(&alice, "/v1/rooms/abc")
        .await
        .expect_error(400, "invalid_path");
    s.get(&alice, &format!("/v1/rooms/{general}/messages?limit=many"))
        .await
        .expect_error(400, "invalid_query");
    s.get(&alice, "/v1/notifications?unread_only=perhaps")
        .await
        .expect_error(400, "invalid_query");
    for query in ["?after=-1", "?before=-1", "?before=-5&after=2"] {
        s.history(&alice, general, query)
            .await
            .expect_error(400, "invalid_query");
    }
    s.get(&alice, "/v1/feed?after=-1")
        .await
        .expect_error(400, "invalid_query");
    // Integers are written as integers.
    s.history(&alice, general, "?limit=1.0")
        .await
        .expect_error(400, "invalid_query");
    s.put(
        &alice,
        &format!("/v1/rooms/{general}/read"),
        json!({"seq": 1.0}),
    )
    .await
    .expect_error(400, "invalid_json");
    // The body is refused unread, so the connection cannot carry another request: the answer
    // says so, and the next request (from the same pooled client) goes on a new connection.
    let huge = json!({"login": "x".repeat(200_000), "password": "y"});
    let r = s
        .call(Method::POST, "/v1/auth/login", None, huge)
        .await
        .expect_error(413, "too_large");
    assert_eq!(r.header("connection"), "close");

    let rooms = s.get(&alice, "/v1/rooms").await.expect(200).body;
    assert_eq!(
        rooms.as_array().map(Vec::len),
        Some(1),
        "only general: {rooms}"
    );
    let page = s.history(&alice, general, "").await.expect(200).body;
    assert_eq!(page["items"], json!([]));
    let me = s.get(&alice, "/v1/me").await.expect(200).body;
    assert_eq!(
        (me["bio"].as_str(), me["display_name"].as_str()),
        (Some(""), Some(""))
    );
}

/// Expired, forged and tampered access tokens are refused by REST, by the ticket endpoint
/// and by the WebSocket `auth` frame.
pub async fn expired_and_forged_tokens_are_refused(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let sign = |secret: &[u8], sub: String, exp: i64| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"sub": sub, "iat": now - 7200, "exp": exp}),
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .expect("sign")
    };
    // Sanity: the same recipe with the right secret and a future expiry works.
    let good = sign(JWT_SECRET, alice.id.to_string(), now + 600);
    s.call(Method::POST, "/v1/tickets", Some(&good), Value::Null)
        .await
        .expect(200);

    let expired = sign(JWT_SECRET, alice.id.to_string(), now - 3600);
    let forged = sign(
        b"someone else's secret, also long enough",
        alice.id.to_string(),
        now + 600,
    );
    let mut parts: Vec<String> = alice.token.split('.').map(str::to_owned).collect();
    let other_claims = good.split('.').nth(1).expect("claims").to_owned();
    parts[1] = other_claims;
    let spliced = parts.join(".");
    let mut flipped = alice.token.clone();
    let last = flipped.pop().expect("non-empty");
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    // An expired token says so, so that a client knows a refresh will help; the others
    // are refused alike, whatever is wrong with them.
    for (what, token, code) in [
        ("expired", expired.as_str(), "token_expired"),
        ("forged", forged.as_str(), "invalid_token"),
        ("spliced", spliced.as_str(), "invalid_token"),
        ("flipped", flipped.as_str(), "invalid_token"),
    ] {
        for (method, path) in [(Method::POST, "/v1/tickets"), (Method::GET, "/v1/me")] {
            let r = s.call(method, path, Some(token), Value::Null).await;
            assert_eq!(r.status, 401, "{what} token on {}: {}", r.what, r.body);
            assert_eq!(r.code(), code, "{what}: {}", r.body);
        }
        let mut ws = s.ws_raw(None, None).await;
        ws.send_json(&json!({"type": "auth", "token": token})).await;
        let frames = ws.until_closed().await;
        assert_eq!(frames.len(), 1, "{what}: {frames:?}");
        assert_eq!(frames[0]["code"], code, "{what}");
    }
    let r = s
        .call_with(
            Method::GET,
            "/v1/me",
            None,
            Value::Null,
            &[("authorization", &format!("Basic {}", alice.token))],
        )
        .await;
    r.expect_error(401, "unauthenticated");
}

/// Frames that are not commands get an `error` frame (with the id when readable) and the
/// connection stays usable; commands that break a rule change nothing.
pub async fn bad_frames_get_errors_and_the_socket_stays_usable(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let general = s.general();
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;

    a.send_text("this is not json".to_owned()).await;
    let e = a.wait_for("an error", |f| is(f, "error")).await;
    assert_eq!(e["code"], "invalid_frame");
    assert!(e.get("id").is_none(), "{e}");
    a.send_text(r#"{"type":"nope","id":"x1"}"#.to_owned()).await;
    let e = a.wait_for("an error", |f| is(f, "error")).await;
    assert_eq!(e["code"], "invalid_frame");
    assert_eq!(e["id"], "x1");
    a.send_text(
        r#"{"type":"send","id":"x2","room_id":"general","client_id":"k1","body":"hi"}"#.to_owned(),
    )
    .await;
    let e = a.wait_for("an error", |f| is(f, "error")).await;
    assert_eq!(e["code"], "invalid_frame");
    assert_eq!(e["id"], "x2");
    a.send_message(WsMessage::binary(b"\x00\x01".to_vec()))
        .await;
    let e = a.wait_for("an error", |f| is(f, "error")).await;
    assert_eq!(e["code"], "invalid_frame");

    let checks = [
        (
            json!({"type": "send", "room_id": general, "client_id": "bad id", "body": "hi"}),
            "invalid_client_id",
        ),
        (
            json!({"type": "send", "room_id": general, "client_id": "k2", "body": " "}),
            "empty_message",
        ),
        (
            json!({"type": "send", "room_id": 999_999, "client_id": "k3", "body": "hi"}),
            "room_not_found",
        ),
        (
            json!({"type": "react", "message_id": 999_999, "emoji": "👍"}),
            "message_not_found",
        ),
        (
            // A negative sequence does not even parse.
            json!({"type": "read", "room_id": general, "seq": -5}),
            "invalid_frame",
        ),
        (
            json!({"type": "resume", "rooms": [{"room_id": general, "seq": -1}]}),
            "invalid_frame",
        ),
        (
            json!({"type": "resume", "rooms": [{"room_id": 999_999, "seq": 0}]}),
            "room_not_found",
        ),
        (
            json!({"type": "auth", "token": alice.token}),
            "already_authenticated",
        ),
    ];
    for (frame, code) in checks {
        let reply = if frame["type"] == "auth" {
            a.send_json(&frame).await;
            a.wait_for("an error", |f| is(f, "error")).await
        } else {
            a.command(frame.clone()).await
        };
        assert_eq!(reply["type"], "error", "{frame}: {reply}");
        assert_eq!(reply["code"], code, "{frame}: {reply}");
    }
    let pong = a.command(json!({"type": "ping", "id": "p1"})).await;
    assert_eq!(pong, json!({"type": "pong", "id": "p1"}));

    a.send_msg(general, "marker", "marker").await;
    let got = b
        .collect_until("the marker", |f| created(f, "marker"))
        .await;
    let posted = got.iter().filter(|f| is(f, "message.created")).count();
    assert_eq!(posted, 1, "nothing but the marker was posted: {got:#?}");
}

/// A frame larger than the limit is refused with an `error` and nothing is done; the
/// connection stays usable, the server keeps serving the others.
pub async fn an_oversize_frame_is_refused_and_changes_nothing(db: Db) {
    let mut setup = Setup::default();
    setup.config.frame_bytes = 16 * 1024;
    let s = db.start_with(setup).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let general = s.general();
    let mut a = s.ws(&alice).await;
    let mut b = s.ws(&bob).await;

    let ok = a.send_msg(general, "fits", &"y".repeat(4000)).await;
    assert_eq!(ok["body"].as_str().map(str::len), Some(4000));
    let huge = json!({"type": "send", "id": "big", "room_id": general,
                      "client_id": "huge", "body": "z".repeat(40_000)});
    a.send_json(&huge).await;
    let refused = a.wait_for("the refusal", |f| is(f, "error")).await;
    assert_eq!(refused["code"], "frame_too_large", "{refused}");
    // The same connection keeps working.
    let pong = a.command(json!({"type": "ping", "id": "after"})).await;
    assert_eq!(pong["type"], "pong");

    let pong = b.command(json!({"type": "ping", "id": "still-here"})).await;
    assert_eq!(pong["type"], "pong");
    let mut again = s.ws(&alice).await;
    b.send_msg(general, "b1", "still working").await;
    again
        .wait_for("bob's message", |f| created(f, "still working"))
        .await;
    again.send_msg(general, "a2", "back").await;
    s.call(Method::GET, "/healthz", None, Value::Null)
        .await
        .expect(200);
    let page = s
        .history(&bob, general, "?limit=100")
        .await
        .expect(200)
        .body;
    assert!(
        !page["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|m| m["client_id"] == "huge")
    );
}

/// With small rates: the n+1th authentication attempt from one address is refused with 429
/// (other addresses are not), and sends beyond the burst get `rate_limited`, over WebSocket
/// and REST alike, per user.
pub async fn rate_limits_answer_rate_limited(db: Db) {
    let mut setup = Setup::default();
    let small = Rate {
        per_second: 0.001,
        burst: 3.0,
    };
    setup.config.auth_rate = small;
    setup.config.send_rate = small;
    setup.config.trust_forwarded_for = true;
    let server = db.start_with(setup).await;
    let s = &server;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let register = |name: &str, ip: &'static str| {
        let body = json!({"username": name, "email": format!("{name}@example.com"),
                          "password": PASSWORD});
        let headers = from(ip);
        async move {
            s.call_with(Method::POST, "/v1/auth/register", None, body, &headers)
                .await
        }
    };
    let alice = user_of(&register("alice", "203.0.113.9").await.expect(201).json());
    let bob = user_of(&register("bob", "203.0.113.10").await.expect(201).json());
    let login = |password: &str, ip: &'static str| {
        let body = json!({"login": "alice", "password": password});
        let headers = from(ip);
        async move {
            s.call_with(Method::POST, "/v1/auth/login", None, body, &headers)
                .await
        }
    };
    login(PASSWORD, "203.0.113.7").await.expect(200);
    login("wrong password 1", "203.0.113.7")
        .await
        .expect_error(401, "invalid_credentials");
    login(PASSWORD, "203.0.113.7").await.expect(200);
    // The fourth attempt from this address in the burst of three.
    login(PASSWORD, "203.0.113.7")
        .await
        .expect_error(429, "rate_limited");
    register("carol", "203.0.113.7")
        .await
        .expect_error(429, "rate_limited");
    // What the client wrote before the proxy's entry does not count: the proxy appended the
    // address it saw, and that one is limited.
    login(PASSWORD, "198.51.100.1, 203.0.113.7")
        .await
        .expect_error(429, "rate_limited");
    login(PASSWORD, "203.0.113.8").await.expect(200);

    // Sends: a burst of three per user, then refusals that post nothing.
    let general = s.general();
    let mut a = s.ws(&alice).await;
    let mut first = Value::Null;
    for i in 0..3 {
        let sent = a
            .send_msg(general, &format!("r{i}"), "within the burst")
            .await;
        if i == 0 {
            first = sent;
        }
    }
    let reply = a
        .command(json!({"type": "send", "id": "over", "room_id": general,
                        "client_id": "r3", "body": "too many"}))
        .await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "rate_limited");
    assert_eq!(reply["id"], "over");
    s.post(
        &alice,
        &format!("/v1/rooms/{general}/messages"),
        json!({"client_id": "r4", "body": "too many"}),
    )
    .await
    .expect_error(429, "rate_limited");
    // A forward posts a message too: the same budget.
    s.post(
        &alice,
        &format!("/v1/messages/{}/forward", first["id"]),
        json!({"room_id": general, "client_id": "r5"}),
    )
    .await
    .expect_error(429, "rate_limited");
    let pong = a.command(json!({"type": "ping"})).await;
    assert_eq!(pong["type"], "pong", "other commands are not limited");
    let mut b = s.ws(&bob).await;
    b.send_msg(general, "b1", "bob has his own budget").await;
    let page = s.history(&bob, general, "").await.expect(200).body;
    let from_alice = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|m| m["sender"]["id"] == json!(alice.id))
        .count();
    assert_eq!(from_alice, 3);
}

/// Tickets work once and expire; a user's connections are capped, across WebSocket and SSE,
/// and a closed connection frees its place.
pub async fn tickets_are_single_use_and_connections_are_capped(db: Db) {
    let mut setup = Setup::default();
    setup.config.max_connections_per_user = 2;
    let s = db.start_with(setup).await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;

    let ticket = s.ticket(&alice).await;
    let mut first = s.ws_raw(Some(&ticket), None).await;
    assert_eq!(first.next().await["type"], "ready");
    let mut reused = s.ws_raw(Some(&ticket), None).await;
    let frames = reused.until_closed().await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "closing");
    assert_eq!(frames[0]["code"], "invalid_ticket");
    let sse_ticket = s.ticket(&alice).await;
    let sse = s
        .http
        .get(s.url(&format!("/v1/sse?ticket={sse_ticket}")))
        .send()
        .await
        .expect("GET /v1/sse");
    assert_eq!(sse.status().as_u16(), 200);
    s.sse_refused(&sse_ticket)
        .await
        .expect_error(401, "invalid_ticket");
    let mut ws = s.ws_raw(Some(&sse_ticket), None).await;
    assert_eq!(ws.until_closed().await[0]["code"], "invalid_ticket");

    // Two connections are open (a WebSocket and a stream): a third is refused either way.
    let mut third = s.ws_raw(Some(&s.ticket(&alice).await), None).await;
    let frames = third.until_closed().await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["code"], "too_many_connections");
    s.sse_refused(&s.ticket(&alice).await)
        .await
        .expect_error(429, "too_many_connections");
    let _bob = s.ws(&bob).await;

    drop(sse);
    s.eventually("the stream's place is freed", |s| {
        s.state.connections.total() == 2
    })
    .await;
    let _again = s.ws(&alice).await;
    first.close().await;

    // An expired ticket is refused.
    let mut setup = Setup::default();
    setup.config.ticket_ttl = Duration::ZERO;
    let s = db.start_with(setup).await;
    let alice = s.register("alice").await;
    let mut ws = s.ws_raw(Some(&s.ticket(&alice).await), None).await;
    assert_eq!(ws.until_closed().await[0]["code"], "invalid_ticket");
    s.sse_refused(&s.ticket(&alice).await)
        .await
        .expect_error(401, "invalid_ticket");
}
