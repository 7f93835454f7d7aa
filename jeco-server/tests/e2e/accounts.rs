//! Accounts over HTTP: register and login, the protected API, logout, password reset,
//! profiles, password change, user search, contacts and blocks.

use bytes::Bytes;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::e2e::harness::{Db, PASSWORD, png};

/// Walkthrough "Register / Login": registration signs in; login works by username or email;
/// the protected API refuses requests without a valid token, and accepts the issued one.
pub async fn register_login_and_the_protected_api(db: Db) {
    let s = db.start().await;
    for (method, path) in [
        (Method::GET, "/v1/me"),
        (Method::GET, "/v1/rooms"),
        (Method::POST, "/v1/tickets"),
    ] {
        let r = s
            .call(method, path, None, Value::Null)
            .await
            .expect_error(401, "unauthenticated");
        assert_eq!(r.header("www-authenticate"), "Bearer", "{}", r.what);
    }
    let r = s
        .call(Method::GET, "/v1/me", Some("not a token"), Value::Null)
        .await;
    r.expect_error(401, "invalid_token");
    let r = s
        .call_raw(Method::GET, "/v1/me", None, "application/json", Vec::new())
        .await;
    assert_eq!(r.status, 401);

    let alice = s.register("alice").await;
    let by_name = s.login("alice", PASSWORD).await.expect(200);
    let by_email = s.login("ALICE@example.com", PASSWORD).await.expect(200);
    assert_eq!(by_name.body["account"]["id"], json!(alice.id));
    assert_eq!(by_email.body["account"]["id"], json!(alice.id));
    assert!(by_name.body["tokens"]["access_token"].is_string());
    assert!(by_name.body["tokens"]["refresh_token"].is_string());

    // Failures look alike, whether the account exists or not.
    let wrong = s
        .login("alice", "not the password 7")
        .await
        .expect_error(401, "invalid_credentials");
    let nobody = s
        .login("nobody", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    assert_eq!(wrong.body, nobody.body);

    let me = s.get(&alice, "/v1/me").await.expect(200);
    assert_eq!(me.body["username"], "alice");
    assert_eq!(me.body["email"], "alice@example.com");
    assert_eq!(me.body["id"], json!(alice.id));

    // Registration rules answer with codes and create nothing.
    s.register_as("Alice", "other@example.com", PASSWORD)
        .await
        .expect_error(409, "username_taken");
    let weak = s
        .register_as("weakling", "weak@example.com", "short")
        .await
        .expect_error(400, "weak_password");
    assert_eq!(weak.body["field"], "password");
    s.login("weakling", "short")
        .await
        .expect_error(401, "invalid_credentials");

    // Refresh rotates; presenting a used refresh token signs that login out everywhere.
    let r = s.refresh(&alice.refresh).await.expect(200);
    let rotated = r.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let fresh_access = r.body["access_token"].as_str().expect("access").to_owned();
    s.call(Method::GET, "/v1/me", Some(&fresh_access), Value::Null)
        .await
        .expect(200);
    s.refresh(&alice.refresh)
        .await
        .expect_error(401, "invalid_token");
    s.refresh(&rotated).await.expect_error(401, "invalid_token");

    // The WebSocket accepts an `auth` frame instead of a ticket, and refuses a bad token.
    let mut ws = s.ws_raw(None, None).await;
    ws.send_json(&json!({"type": "auth", "token": alice.token}))
        .await;
    let ready = ws.next().await;
    assert_eq!(ready["type"], "ready", "{ready}");
    assert_eq!(ready["user_id"], json!(alice.id));
    let mut ws = s.ws_raw(None, None).await;
    ws.send_json(&json!({"type": "auth", "token": "forged"}))
        .await;
    let frames = ws.until_closed().await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "closing");
    assert_eq!(frames[0]["code"], "invalid_token");
    let mut ws = s.ws_raw(None, None).await;
    ws.send_json(&json!({"type": "ping", "id": "p"})).await;
    let frames = ws.until_closed().await;
    assert_eq!(frames[0]["code"], "auth_required", "{frames:?}");
    // A binary first message is refused like any other first message that is not `auth`.
    let mut ws = s.ws_raw(None, None).await;
    ws.send_message(WsMessage::Binary(Bytes::from_static(b"{}")))
        .await;
    let frames = ws.until_closed().await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["code"], "auth_required", "{frames:?}");
    // WebSocket pings before `auth` do not count as the first message.
    let mut ws = s.ws_raw(None, None).await;
    ws.send_message(WsMessage::Ping(Bytes::from_static(b"hi")))
        .await;
    ws.send_json(&json!({"type": "auth", "token": alice.token}))
        .await;
    let ready = ws.next().await;
    assert_eq!(ready["type"], "ready", "{ready}");
}

/// Walkthrough "Logout": the refresh token is revoked and cannot be reused; another login of
/// the same account is unaffected.
pub async fn logout_revokes_the_refresh_token(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let other = s.login("alice", PASSWORD).await.expect(200);
    let other_refresh = other.body["tokens"]["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();

    s.logout(&alice.refresh).await.expect(204);
    s.refresh(&alice.refresh)
        .await
        .expect_error(401, "invalid_token");
    // Logging out twice, or with an unknown token, is not an error.
    s.logout(&alice.refresh).await.expect(204);
    s.refresh(&other_refresh).await.expect(200);
}

/// Walkthrough "Forgot Password": the mail carries a token after `#token=`; confirming sets
/// the new password and signs every login out. An unknown address gets the same 202 and no
/// mail.
pub async fn password_reset_by_mail(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let reset = |email: &str| {
        s.call(
            Method::POST,
            "/v1/auth/password-reset",
            None,
            json!({"email": email}),
        )
    };
    let unknown = reset("nobody@example.com").await.expect(202);
    assert!(s.mailer.take().is_empty(), "no mail for an unknown address");
    let known = reset("Alice@Example.com").await.expect(202);
    assert_eq!(unknown.bytes, known.bytes, "the same answer either way");
    reset("not an address")
        .await
        .expect_error(400, "invalid_email");

    let mails = s.mailer.take();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, "alice@example.com");
    let token = mails[0]
        .body
        .split("#token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the mail has #token=")
        .to_owned();

    let confirm = |token: &str, password: &str| {
        s.call(
            Method::POST,
            "/v1/auth/password-reset/confirm",
            None,
            json!({"token": token, "new_password": password}),
        )
    };
    const NEW: &str = "a brand new secret 42";
    confirm("made-up-token", NEW)
        .await
        .expect_error(401, "invalid_token");
    confirm(&token, "short")
        .await
        .expect_error(400, "weak_password");
    confirm(&token, NEW).await.expect(204);
    confirm(&token, "another new secret 43")
        .await
        .expect_error(401, "invalid_token");

    s.login("alice", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    s.login("alice", NEW).await.expect(200);
    s.refresh(&alice.refresh)
        .await
        .expect_error(401, "invalid_token");
}

/// Walkthrough "Contacts": search by username prefix or exact email, add, list, remove.
pub async fn user_search_and_contacts(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    s.register("bobby").await;
    let carol = s.register("carol").await;

    let names = |r: &Value| -> Vec<String> {
        r.as_array()
            .expect("a list")
            .iter()
            .map(|u| u["username"].as_str().expect("username").to_owned())
            .collect()
    };
    let found = s.get(&alice, "/v1/users/search?q=bo").await.expect(200);
    assert_eq!(names(&found.body), ["bob", "bobby"]);
    let found = s.get(&bob, "/v1/users/search?q=bo").await.expect(200);
    assert_eq!(names(&found.body), ["bobby"], "the caller is never found");
    let found = s
        .get(&alice, "/v1/users/search?q=bo&limit=1")
        .await
        .expect(200);
    assert_eq!(names(&found.body).len(), 1);
    let found = s
        .get(&alice, "/v1/users/search?q=carol%40example.com")
        .await
        .expect(200);
    assert_eq!(names(&found.body), ["carol"]);
    let found = s
        .get(&alice, "/v1/users/search?q=carol%40exa")
        .await
        .expect(200);
    assert_eq!(names(&found.body), Vec::<String>::new(), "exact email only");
    s.get(&alice, "/v1/users/search?q=")
        .await
        .expect_error(400, "invalid_query");

    assert_eq!(
        s.get(&alice, "/v1/contacts").await.expect(200).body,
        json!([])
    );
    s.put(&alice, &format!("/v1/contacts/{}", bob.id), Value::Null)
        .await
        .expect(204);
    s.put(&alice, &format!("/v1/contacts/{}", carol.id), Value::Null)
        .await
        .expect(204);
    s.put(&alice, &format!("/v1/contacts/{}", bob.id), Value::Null)
        .await
        .expect(204);
    let list = s.get(&alice, "/v1/contacts").await.expect(200).body;
    let listed: Vec<&Value> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|c| &c["user"]["username"])
        .collect();
    assert_eq!(listed, [&json!("bob"), &json!("carol")]);
    assert!(list[0]["added_at"].is_i64(), "{list}");
    assert_eq!(
        s.get(&bob, "/v1/contacts").await.expect(200).body,
        json!([]),
        "one-way"
    );

    s.delete(&alice, &format!("/v1/contacts/{}", bob.id))
        .await
        .expect(204);
    s.delete(&alice, &format!("/v1/contacts/{}", bob.id))
        .await
        .expect_error(404, "contact_not_found");
    let list = s.get(&alice, "/v1/contacts").await.expect(200).body;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["user"]["id"], json!(carol.id));

    s.put(&alice, &format!("/v1/contacts/{}", alice.id), Value::Null)
        .await
        .expect_error(400, "invalid_target");
    s.put(&alice, "/v1/contacts/999999", Value::Null)
        .await
        .expect_error(404, "user_not_found");
}

/// Profiles, avatars, password change and blocks over REST.
pub async fn profiles_avatars_passwords_and_blocks(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;

    let me = s
        .patch(
            &alice,
            "/v1/me",
            json!({"display_name": "Alice A.", "bio": "hello"}),
        )
        .await
        .expect(200);
    assert_eq!(me.body["display_name"], "Alice A.");
    assert_eq!(me.body["email"], "alice@example.com");
    let profile = s
        .get(&bob, &format!("/v1/users/{}", alice.id))
        .await
        .expect(200);
    assert_eq!(profile.body["display_name"], "Alice A.");
    assert_eq!(profile.body["bio"], "hello");
    assert!(profile.body.get("email").is_none(), "email is private");
    s.get(&bob, "/v1/users/999999")
        .await
        .expect_error(404, "user_not_found");
    s.patch(&alice, "/v1/me", json!({"display_name": "x".repeat(500)}))
        .await
        .expect_error(400, "too_long");

    // Avatars: images only, uploaded outside any room, visible to everyone signed in.
    let avatar = s
        .upload(&alice, "/v1/me/avatar", "me.png", png(8, 8))
        .await
        .expect(201);
    assert_eq!(avatar.body["content_type"], "image/png");
    assert_eq!(avatar.body["room_id"], Value::Null);
    let avatar_id = avatar.body["id"].clone();
    s.upload(&alice, "/v1/me/avatar", "notes.txt", b"just text".to_vec())
        .await
        .expect_error(400, "avatar_must_be_image");
    let me = s
        .patch(&alice, "/v1/me", json!({"avatar": avatar_id}))
        .await
        .expect(200);
    assert_eq!(me.body["avatar"], avatar_id);
    s.patch(&bob, "/v1/me", json!({"avatar": avatar_id}))
        .await
        .expect_error(400, "invalid_avatar");
    let got = s
        .get(&bob, &format!("/v1/attachments/{avatar_id}"))
        .await
        .expect(200);
    assert_eq!(got.header("content-type"), "image/png");
    let me = s
        .patch(&alice, "/v1/me", json!({"avatar": null}))
        .await
        .expect(200);
    assert_eq!(me.body["avatar"], Value::Null);
    assert_eq!(
        me.body["display_name"], "Alice A.",
        "absent fields are kept"
    );

    // Changing the password needs the current one and signs other logins out.
    const NEW: &str = "quite another secret 8";
    s.post(
        &alice,
        "/v1/me/password",
        json!({"current_password": "wrong password 1", "new_password": NEW}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    let tokens = s
        .post(
            &alice,
            "/v1/me/password",
            json!({"current_password": PASSWORD, "new_password": NEW}),
        )
        .await
        .expect(200);
    assert!(tokens.body["refresh_token"].is_string());
    s.refresh(&alice.refresh)
        .await
        .expect_error(401, "invalid_token");
    s.login("alice", PASSWORD)
        .await
        .expect_error(401, "invalid_credentials");
    s.login("alice", NEW).await.expect(200);

    // Blocks stop direct messages both ways until lifted.
    s.put(&alice, &format!("/v1/blocks/{}", bob.id), Value::Null)
        .await
        .expect(204);
    let blocked = s.get(&alice, "/v1/blocks").await.expect(200);
    assert_eq!(blocked.body[0]["id"], json!(bob.id));
    s.post(&bob, &format!("/v1/direct/{}", alice.id), Value::Null)
        .await
        .expect_error(403, "blocked");
    s.post(&alice, &format!("/v1/direct/{}", bob.id), Value::Null)
        .await
        .expect_error(403, "blocked");
    s.delete(&alice, &format!("/v1/blocks/{}", bob.id))
        .await
        .expect(204);
    assert_eq!(
        s.get(&alice, "/v1/blocks").await.expect(200).body,
        json!([])
    );
    s.post(&bob, &format!("/v1/direct/{}", alice.id), Value::Null)
        .await
        .expect(200);
    s.put(&alice, &format!("/v1/blocks/{}", alice.id), Value::Null)
        .await
        .expect_error(400, "invalid_target");
}

/// Answers that carry tokens or one account's data say `Cache-Control: no-store`; files keep
/// their own caching, and public answers are not marked.
pub async fn private_answers_are_never_cached(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let login = s.login("alice", PASSWORD).await.expect(200);
    assert_eq!(login.header("cache-control"), "no-store");
    let refreshed = s.refresh(&alice.refresh).await.expect(200);
    assert_eq!(refreshed.header("cache-control"), "no-store");
    s.login("alice", "not the password")
        .await
        .expect_error(401, "invalid_credentials");
    for path in ["/v1/me", "/v1/rooms", "/v1/unread"] {
        let r = s.get(&alice, path).await.expect(200);
        assert_eq!(r.header("cache-control"), "no-store", "{path}");
    }
    let r = s
        .call(Method::POST, "/v1/tickets", Some(&alice.token), Value::Null)
        .await
        .expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    let r = s.get(&alice, "/v1/rooms/999999").await.expect(404);
    assert_eq!(r.header("cache-control"), "no-store");

    let avatar = s
        .upload(&alice, "/v1/me/avatar", "me.png", png(4, 4))
        .await
        .expect(201)
        .body;
    let file = s
        .get(&alice, &format!("/v1/attachments/{}", avatar["id"]))
        .await
        .expect(200);
    assert_eq!(file.header("cache-control"), "private, max-age=86400");

    for path in ["/v1/openapi.json", "/healthz"] {
        let r = s
            .call(Method::GET, path, None, Value::Null)
            .await
            .expect(200);
        assert_eq!(r.header("cache-control"), "", "{path}");
    }
}
