//! The signed-in user's account against the real server: profile and avatar, changing the
//! password (the client adopts the new tokens; its connection carries on, another login's
//! stops), resetting it by mail, blocking, and the server's health checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::events::{forwarding, is_stopped, recv_until};
use common::{PASSWORD, TestServer, connected, general, is_connected, next_matching, png, text};
use jeco_client::proto::error::ErrorCode;
use jeco_client::proto::event::Event;
use jeco_client::proto::model::ProfileUpdate;
use jeco_client::{Client, ClientEvent, Error, TransportKind, Upload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_and_its_avatar() {
    let server = TestServer::start().await;
    let (alice, a_session) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let alice_id = a_session.account.profile.id;

    let file = Upload::Bytes {
        file_name: "me.png".into(),
        data: png(16, 16),
    };
    let avatar = alice.upload_avatar(file, None).await.unwrap();
    assert_eq!(avatar.room_id, None);
    let not_an_image = Upload::Bytes {
        file_name: "me.txt".into(),
        data: b"text".to_vec(),
    };
    let err = alice.upload_avatar(not_an_image, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::AvatarMustBeImage));

    let account = alice
        .update_profile(ProfileUpdate {
            display_name: Some("Alice A.".into()),
            avatar: Some(Some(avatar.id)),
            bio: Some("hello".into()),
        })
        .await
        .unwrap();
    assert_eq!(account.profile.display_name, "Alice A.");
    assert_eq!(account.profile.avatar, Some(avatar.id));
    // A field left out stays as it is: the avatar survives a change of the bio.
    let account = alice
        .update_profile(ProfileUpdate {
            bio: Some("hello again".into()),
            ..ProfileUpdate::default()
        })
        .await
        .unwrap();
    assert_eq!(account.profile.avatar, Some(avatar.id));
    assert_eq!(account.profile.display_name, "Alice A.");
    let seen_by_bob = bob.profile(alice_id).await.unwrap();
    assert_eq!(seen_by_bob.bio, "hello again");
    assert_eq!(seen_by_bob.avatar, Some(avatar.id));
    assert_eq!(
        bob.download(avatar.id).await.unwrap().content_type,
        "image/png"
    );

    let account = alice
        .update_profile(ProfileUpdate {
            avatar: Some(None),
            ..ProfileUpdate::default()
        })
        .await
        .unwrap();
    assert_eq!(account.profile.avatar, None);
    assert_eq!(alice.me().await.unwrap().profile.avatar, None);
    let err = bob
        .update_profile(ProfileUpdate {
            avatar: Some(Some(avatar.id)),
            ..ProfileUpdate::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidAvatar));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_keeps_this_login_and_ends_the_others() {
    const NEW: &str = "a brand new secret 42";
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let room = general(&alice).await;
    let elsewhere = Client::new(&server.base()).unwrap();
    elsewhere.login("alice", PASSWORD).await.unwrap();
    let old = alice.tokens().await.unwrap();

    let here = alice
        .connect(common::options(TransportKind::WebSocket))
        .unwrap();
    connected(&here).await;
    let there = elsewhere
        .connect(common::options(TransportKind::WebSocket))
        .unwrap();
    let (listener, mut there_heard) = forwarding();
    let _there_handle = there.add_listener(listener);
    recv_until(&mut there_heard, |e| is_connected(e, false)).await;

    let err = alice
        .change_password("wrong password", NEW)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidCredentials));
    let tokens = alice.change_password(PASSWORD, NEW).await.unwrap();
    assert_ne!(tokens.refresh_token, old.refresh_token);
    // Adopted: the client holds them, or the pair its connection has refreshed them into
    // since (it checks that its login survived).
    let held = alice.tokens().await.unwrap();
    assert_ne!(held.refresh_token, old.refresh_token);
    alice.me().await.unwrap();
    let with_returned = Client::new(&server.base()).unwrap();
    with_returned.restore(tokens).await;
    with_returned.me().await.unwrap();

    // This login's connection is told, proves its login still works, and resumes.
    next_matching(&here, |e| {
        matches!(e, ClientEvent::Event(Event::SignedOut { .. }))
    })
    .await;
    next_matching(&here, |e| is_connected(e, true)).await;
    here.send_and_wait(room, text("still here")).await.unwrap();
    // The other login's connection stops, and so does that login.
    recv_until(&mut there_heard, is_stopped).await;
    assert_eq!(elsewhere.refresh().await.unwrap_err(), Error::NotSignedIn);
    let stale = Client::new(&server.base()).unwrap();
    stale.restore(old).await;
    assert_eq!(stale.refresh().await.unwrap_err(), Error::NotSignedIn);

    let err = Client::new(&server.base())
        .unwrap()
        .login("alice", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidCredentials));
    Client::new(&server.base())
        .unwrap()
        .login("alice", NEW)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_by_mail() {
    const NEW: &str = "reset to something 77";
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let anonymous = Client::new(&server.base()).unwrap();

    anonymous
        .request_password_reset("nobody@example.com")
        .await
        .unwrap();
    assert!(
        server.mailer.take().is_empty(),
        "no mail for an unknown address"
    );
    let err = anonymous
        .request_password_reset("not an address")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidEmail));
    anonymous
        .request_password_reset("alice@example.com")
        .await
        .unwrap();
    let mails = server.mailer.take();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let token = mails[0]
        .body
        .split("#token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the mail has #token=")
        .to_owned();

    let err = anonymous
        .confirm_password_reset(&token, "short")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::WeakPassword));
    anonymous.confirm_password_reset(&token, NEW).await.unwrap();
    let err = anonymous
        .confirm_password_reset(&token, NEW)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::InvalidToken),
        "a reset token works once"
    );

    assert_eq!(alice.refresh().await.unwrap_err(), Error::NotSignedIn);
    anonymous.login("alice", NEW).await.unwrap();
    anonymous.me().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_someone() {
    let server = TestServer::start().await;
    let (alice, a_session) = server.user("alice").await;
    let (bob, b_session) = server.user("bob").await;
    let (alice_id, bob_id) = (a_session.account.profile.id, b_session.account.profile.id);

    assert!(alice.blocked_users().await.unwrap().is_empty());
    alice.block(bob_id).await.unwrap();
    let blocked = alice.blocked_users().await.unwrap();
    assert_eq!(
        blocked.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![bob_id]
    );
    let err = bob.open_direct(alice_id).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Blocked));
    let err = alice.block(alice_id).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidTarget));

    alice.unblock(bob_id).await.unwrap();
    alice.unblock(bob_id).await.unwrap();
    assert!(alice.blocked_users().await.unwrap().is_empty());
    bob.open_direct(alice_id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let server = TestServer::start().await;
    let anonymous = Client::new(&server.base()).unwrap();
    anonymous.health().await.unwrap();
    anonymous.ready().await.unwrap();
    let nowhere = Client::new("http://127.0.0.1:9").unwrap();
    assert!(nowhere.health().await.unwrap_err().is_transient());
}
