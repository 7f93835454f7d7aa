//! The signed-in user's account against the real server: profile and avatar, resetting the
//! password by mail, blocking, and the server's health checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestServer, png};
use jeco_client::proto::error::ErrorCode;
use jeco_client::proto::model::ProfileUpdate;
use jeco_client::{Client, Error, Upload};

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
