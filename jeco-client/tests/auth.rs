//! Sessions against the real server: register, login, logout, restore, and token refresh
//! that happens once however many calls need it at the same time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{JWT_SECRET, PASSWORD, TestServer};
use jeco_client::proto::ids::Timestamp;
use jeco_client::proto::model::Tokens;
use jeco_client::{Client, Error, TokenListener};

/// Counts token changes.
#[derive(Default)]
struct Counter {
    refreshed: AtomicUsize,
    cleared: AtomicUsize,
}

impl TokenListener for Counter {
    fn tokens_changed(&self, tokens: Option<Tokens>) {
        match tokens {
            Some(_) => self.refreshed.fetch_add(1, Ordering::SeqCst),
            None => self.cleared.fetch_add(1, Ordering::SeqCst),
        };
    }
}

/// A client restored from `tokens`, with a counter of its token changes.
async fn restored(server: &TestServer, tokens: Tokens) -> (Client, Arc<Counter>) {
    let client = Client::new(&server.base()).unwrap();
    let counter = Arc::new(Counter::default());
    client.set_token_listener(counter.clone());
    client.restore(tokens).await;
    (client, counter)
}

/// Twenty calls at once, all of which must succeed.
async fn many_calls(client: &Client) {
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.me().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("the call succeeds");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_refreshed_once_for_many_concurrent_calls() {
    let server = TestServer::start().await;
    let (_, session) = server.user("alice").await;
    // The client believes the token expires in five seconds: inside the refresh margin.
    let tokens = Tokens {
        access_expires_at: Timestamp::now().after(std::time::Duration::from_secs(5)),
        ..session.tokens.clone()
    };
    let (client, counter) = restored(&server, tokens).await;
    many_calls(&client).await;
    assert_eq!(counter.refreshed.load(Ordering::SeqCst), 1);
    let fresh = client.tokens().await.unwrap();
    assert_ne!(fresh.refresh_token, session.tokens.refresh_token);
    // Had the old refresh token been presented twice, the server would have revoked the
    // login, and this would fail.
    client.refresh().await.expect("the login is intact");
    many_calls(&client).await;
    assert_eq!(counter.refreshed.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_refreshed_once_for_many_concurrent_calls() {
    let server = TestServer::start().await;
    let (_, session) = server.user("alice").await;
    // A token the client thinks valid for long, which the server finds expired.
    let now = Timestamp::now().0 / 1000;
    let claims = serde_json::json!({"sub": session.account.profile.id.to_string(), "iat": now - 120, "exp": now - 60});
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET),
    )
    .unwrap();
    let tokens = Tokens {
        access_token: expired,
        access_expires_at: Timestamp::now().after(std::time::Duration::from_secs(600)),
        ..session.tokens.clone()
    };
    let (client, counter) = restored(&server, tokens).await;
    many_calls(&client).await;
    assert_eq!(counter.refreshed.load(Ordering::SeqCst), 1);
    client.refresh().await.expect("the login is intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_restore() {
    let server = TestServer::start().await;
    let (first, _) = server.user("alice").await;
    let client = Client::new(&server.base()).unwrap();
    let refused = client.login("alice", "not the password").await.unwrap_err();
    assert!(
        matches!(refused, Error::Api { status: 401, .. }),
        "{refused:?}"
    );
    assert_eq!(client.me().await.unwrap_err(), Error::NotSignedIn);

    let session = client.login("alice", PASSWORD).await.unwrap();
    assert_eq!(client.me().await.unwrap().profile.username, "alice");
    let saved = client.tokens().await.unwrap();
    assert_eq!(saved, session.tokens);

    let counter = Arc::new(Counter::default());
    client.set_token_listener(counter.clone());
    client.logout().await.unwrap();
    assert_eq!(counter.cleared.load(Ordering::SeqCst), 1);
    assert_eq!(client.tokens().await, None);
    assert_eq!(client.me().await.unwrap_err(), Error::NotSignedIn);

    // The logged-out login cannot be refreshed; the other login is untouched.
    client.restore(saved).await;
    assert_eq!(client.refresh().await.unwrap_err(), Error::NotSignedIn);
    assert_eq!(client.tokens().await, None);
    first.refresh().await.expect("another login still works");
    server.user("bob").await;
    let found = first.search_users("bo", None).await.unwrap();
    assert_eq!(
        found
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );
}
