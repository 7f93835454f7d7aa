//! The browsers' refresh-token cookie: `"refresh_cookie": true` at sign-in puts the refresh
//! token in an `HttpOnly` `jeco_refresh` cookie instead of the body; refresh and logout with
//! no token in the body use the cookie, with the `X-Jeco-Csrf: 1` header. Clients that send
//! the token in the body see no change.

use reqwest::Method;
use serde_json::{Value, json};

use crate::e2e::harness::{Db, PASSWORD, Resp, Server, Setup};

/// Seconds in the refresh token's default lifetime (30 days).
const MAX_AGE: u64 = 30 * 24 * 3600;

/// The `Set-Cookie` that clears the cookie.
const CLEARED: &str = "jeco_refresh=; HttpOnly; SameSite=Strict; Path=/v1/auth; Max-Age=0";

/// The refresh token an answer put in the cookie, after checking every attribute.
#[track_caller]
fn cookie_set_by(r: &Resp) -> String {
    let set = r.header("set-cookie");
    let token = set
        .strip_prefix("jeco_refresh=")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("{}: Set-Cookie {set:?}", r.what));
    assert!(!token.is_empty(), "{}: an empty cookie", r.what);
    assert_eq!(
        set,
        format!(
            "jeco_refresh={token}; HttpOnly; SameSite=Strict; Path=/v1/auth; Max-Age={MAX_AGE}"
        ),
        "{}",
        r.what
    );
    assert_eq!(r.headers.get_all("set-cookie").iter().count(), 1);
    token.to_owned()
}

/// A POST to `path` with `body`, the cookie holding `token` (if any) and `headers`.
async fn by_cookie(
    s: &Server,
    path: &str,
    token: Option<&str>,
    body: Value,
    headers: &[(&str, &str)],
) -> Resp {
    let cookie = token.map(|t| format!("theme=dark; jeco_refresh={t}"));
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if let Some(c) = &cookie {
        all.push(("cookie", c));
    }
    s.call_with(Method::POST, path, None, body, &all).await
}

const CSRF: &[(&str, &str)] = &[("x-jeco-csrf", "1")];

/// Login and registration with `refresh_cookie`: the cookie carries the refresh token, with
/// exactly the documented attributes, and the body does not; the access token works.
/// Without the flag nothing changes: the token is in the body and no cookie is set.
pub async fn sign_in_with_a_refresh_cookie(db: Db) {
    let s = db.start().await;
    let registered = s
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            json!({"username": "alice", "email": "alice@example.com", "password": PASSWORD,
                   "refresh_cookie": true}),
        )
        .await
        .expect(201);
    cookie_set_by(&registered);
    assert!(registered.body["tokens"].get("refresh_token").is_none());
    assert_eq!(registered.body["account"]["username"], "alice");

    let login = s
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            json!({"login": "alice", "password": PASSWORD, "refresh_cookie": true}),
        )
        .await
        .expect(200);
    let token = cookie_set_by(&login);
    let tokens = &login.body["tokens"];
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    assert!(tokens["refresh_expires_at"].is_number(), "{tokens}");
    assert!(
        !login
            .bytes
            .windows(token.len())
            .any(|w| w == token.as_bytes())
    );
    assert_eq!(login.header("cache-control"), "no-store");
    let access = tokens["access_token"].as_str().expect("access token");
    s.call(Method::GET, "/v1/me", Some(access), Value::Null)
        .await
        .expect(200);

    // The body flow is as it was.
    let plain = s.login("alice", PASSWORD).await.expect(200);
    assert!(plain.body["tokens"]["refresh_token"].is_string());
    assert!(plain.headers.get("set-cookie").is_none());
    let refresh = plain.body["tokens"]["refresh_token"].as_str().unwrap();
    let refreshed = s.refresh(refresh).await.expect(200);
    assert!(refreshed.body["refresh_token"].is_string());
    assert!(refreshed.headers.get("set-cookie").is_none());
}

/// A refresh by cookie replaces the cookie and leaves the token out of the body; the old
/// cookie is then refused, the refusal clears the cookie, and (a token used twice having been
/// copied) the whole login is signed out. With neither a token nor a cookie: unauthenticated.
pub async fn refresh_by_cookie_rotates_it(db: Db) {
    let s = db.start().await;
    s.register("alice").await;
    let first = cookie_set_by(
        &s.call(
            Method::POST,
            "/v1/auth/login",
            None,
            json!({"login": "alice", "password": PASSWORD, "refresh_cookie": true}),
        )
        .await
        .expect(200),
    );

    let r = by_cookie(&s, "/v1/auth/refresh", Some(&first), json!({}), CSRF)
        .await
        .expect(200);
    let second = cookie_set_by(&r);
    assert_ne!(second, first);
    assert!(r.body.get("refresh_token").is_none(), "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    let access = r.body["access_token"].as_str().expect("access token");
    s.call(Method::GET, "/v1/me", Some(access), Value::Null)
        .await
        .expect(200);

    let r = by_cookie(&s, "/v1/auth/refresh", Some(&second), json!({}), CSRF)
        .await
        .expect(200);
    let third = cookie_set_by(&r);

    let reused = by_cookie(&s, "/v1/auth/refresh", Some(&first), json!({}), CSRF)
        .await
        .expect_error(401, "invalid_token");
    assert_eq!(reused.header("set-cookie"), CLEARED);
    by_cookie(&s, "/v1/auth/refresh", Some(&third), json!({}), CSRF)
        .await
        .expect_error(401, "invalid_token");

    let none = by_cookie(&s, "/v1/auth/refresh", None, json!({}), CSRF)
        .await
        .expect_error(401, "unauthenticated");
    assert!(none.headers.get("set-cookie").is_none());
}

/// A refresh or logout by cookie without `X-Jeco-Csrf: 1`, or from a page of another origin,
/// is refused with `csrf_rejected` and changes nothing: the cookie keeps working.
pub async fn cookie_requests_need_the_csrf_header_and_this_origin(db: Db) {
    let s = db.start().await;
    s.register("alice").await;
    let login = s
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            json!({"login": "alice", "password": PASSWORD, "refresh_cookie": true}),
        )
        .await
        .expect(200);
    let token = cookie_set_by(&login);
    let this_origin = s.base.clone();
    let refused: [&[(&str, &str)]; 5] = [
        &[],
        &[("x-jeco-csrf", "0")],
        &[("x-jeco-csrf", "1"), ("origin", "http://evil.example")],
        &[("x-jeco-csrf", "1"), ("origin", "null")],
        &[("x-jeco-csrf", "1"), ("origin", "http://127.0.0.1:1")],
    ];
    for headers in refused {
        for path in ["/v1/auth/refresh", "/v1/auth/logout"] {
            let r = by_cookie(&s, path, Some(&token), json!({}), headers)
                .await
                .expect_error(403, "csrf_rejected");
            assert!(r.headers.get("set-cookie").is_none(), "{path} {headers:?}");
        }
    }
    // Still the same login, and the same token: nothing was revoked nor rotated.
    let r = by_cookie(
        &s,
        "/v1/auth/refresh",
        Some(&token),
        json!({}),
        &[("x-jeco-csrf", "1"), ("origin", &this_origin)],
    )
    .await
    .expect(200);
    cookie_set_by(&r);
}

/// Logout by cookie signs that login out and clears the cookie, and clears it too when its
/// token no longer works or there is none.
pub async fn logout_by_cookie_clears_and_revokes(db: Db) {
    let s = db.start().await;
    s.register("alice").await;
    let login = s
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            json!({"login": "alice", "password": PASSWORD, "refresh_cookie": true}),
        )
        .await
        .expect(200);
    let token = cookie_set_by(&login);

    let out = by_cookie(&s, "/v1/auth/logout", Some(&token), json!({}), CSRF)
        .await
        .expect(204);
    assert_eq!(out.header("set-cookie"), CLEARED);
    by_cookie(&s, "/v1/auth/refresh", Some(&token), json!({}), CSRF)
        .await
        .expect_error(401, "invalid_token");
    // The body flow cannot use it either.
    s.refresh(&token).await.expect_error(401, "invalid_token");

    for token in [Some(token.as_str()), Some("made-up"), None] {
        let again = by_cookie(&s, "/v1/auth/logout", token, json!({}), CSRF)
            .await
            .expect(204);
        assert_eq!(again.header("set-cookie"), CLEARED, "{token:?}");
    }
}

/// A password change with `refresh_cookie` answers the new refresh token in the cookie; the
/// old cookie is revoked with every other login, whose real-time connections are told
/// `signed_out`.
pub async fn password_change_keeps_the_browser_signed_in(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let mut elsewhere = s.ws(&alice).await;
    let login = s
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            json!({"login": "alice", "password": PASSWORD, "refresh_cookie": true}),
        )
        .await
        .expect(200);
    let old = cookie_set_by(&login);
    let access = login.body["tokens"]["access_token"].as_str().unwrap();

    let changed = s
        .call(
            Method::POST,
            "/v1/me/password",
            Some(access),
            json!({"current_password": PASSWORD, "new_password": "quite another secret 8",
                   "refresh_cookie": true}),
        )
        .await
        .expect(200);
    let new = cookie_set_by(&changed);
    assert!(
        changed.body.get("refresh_token").is_none(),
        "{}",
        changed.body
    );
    assert!(changed.body["access_token"].is_string());

    let closing = elsewhere
        .wait_for("the closing frame", |f| f["type"] == "closing")
        .await;
    assert_eq!(closing["code"], "signed_out", "{closing}");
    by_cookie(&s, "/v1/auth/refresh", Some(&old), json!({}), CSRF)
        .await
        .expect_error(401, "invalid_token");
    s.refresh(&alice.refresh)
        .await
        .expect_error(401, "invalid_token");
    cookie_set_by(
        &by_cookie(&s, "/v1/auth/refresh", Some(&new), json!({}), CSRF)
            .await
            .expect(200),
    );
}

/// The `Set-Cookie` of a cookie login of `alice`, sent with `headers`.
async fn sign_in(s: &Server, headers: &[(&str, &str)]) -> String {
    s.call_with(
        Method::POST,
        "/v1/auth/login",
        None,
        json!({"login": "alice", "password": PASSWORD, "refresh_cookie": true}),
        headers,
    )
    .await
    .expect(200)
    .header("set-cookie")
    .to_owned()
}

/// The cookie is `Secure` when the server is configured so, or when a trusted proxy says
/// the request came over HTTPS; an untrusted `X-Forwarded-Proto` changes nothing.
pub async fn the_cookie_is_secure_over_https(db: Db) {
    const HTTPS: &[(&str, &str)] = &[("x-forwarded-proto", "https")];

    let mut setup = Setup::default();
    setup.config.secure_cookies = true;
    let s = db.start_with(setup).await;
    s.register("alice").await;
    assert!(sign_in(&s, &[]).await.ends_with("; Secure"));
    drop(s);

    let s = db.start().await;
    s.register("alice").await;
    assert!(!sign_in(&s, HTTPS).await.contains("Secure"));
    drop(s);

    let mut setup = Setup::default();
    setup.config.trust_forwarded_for = true;
    let s = db.start_with(setup).await;
    s.register("alice").await;
    assert!(sign_in(&s, HTTPS).await.ends_with("; Secure"));
    assert!(!sign_in(&s, &[]).await.contains("Secure"));
}

/// A router mounted under a prefix scopes the cookie to the prefix's sign-in routes.
pub async fn the_cookie_path_follows_the_base_path(db: Db) {
    let mut setup = Setup::default();
    setup.config.base_path = Some("/chat".to_owned());
    let s = db.start_with(setup).await;
    s.register("alice").await;
    let set = sign_in(&s, &[]).await;
    assert!(set.contains("; Path=/chat/v1/auth;"), "{set}");
}
