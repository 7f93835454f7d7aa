//! Running a room and sharing messages against the real server: roles, removing members,
//! forwarding, and who has read a message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestServer, general, text};
use jeco_client::proto::error::ErrorCode;
use jeco_client::proto::ids::{RoomId, UserId};
use jeco_client::proto::model::{Role, RoomKind};
use jeco_client::{Client, Upload};

/// The role of each member, owner first.
async fn roles(client: &Client, room: RoomId) -> Vec<(UserId, Role)> {
    client
        .members(room)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user.id, m.role))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_sets_roles_and_admins_remove_members() {
    let server = TestServer::start().await;
    let (alice, a) = server.user("alice").await;
    let (bob, b) = server.user("bob").await;
    let (carol, c) = server.user("carol").await;
    let (alice_id, bob_id, carol_id) = (
        a.account.profile.id,
        b.account.profile.id,
        c.account.profile.id,
    );
    let team = alice
        .create_room("team", RoomKind::Private, "")
        .await
        .unwrap()
        .id;
    alice.invite(team, bob_id).await.unwrap();
    alice.invite(team, carol_id).await.unwrap();

    let err = bob.kick(team, carol_id).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::NotAllowed),
        "members may not kick"
    );
    let err = bob.set_role(team, carol_id, Role::Admin).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::NotAllowed),
        "only the owner sets roles"
    );
    let err = alice
        .set_role(team, alice_id, Role::Member)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidTarget));

    alice.set_role(team, bob_id, Role::Admin).await.unwrap();
    assert_eq!(
        roles(&alice, team).await,
        vec![
            (alice_id, Role::Owner),
            (bob_id, Role::Admin),
            (carol_id, Role::Member)
        ]
    );
    bob.kick(team, carol_id).await.unwrap();
    assert_eq!(
        roles(&alice, team).await,
        vec![(alice_id, Role::Owner), (bob_id, Role::Admin)]
    );
    let err = carol.history(team, Default::default()).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RoomNotFound), "carol is out");
    let err = bob.kick(team, carol_id).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::MemberNotFound));

    // Handing the room over makes the old owner an admin.
    alice.set_role(team, bob_id, Role::Owner).await.unwrap();
    assert_eq!(
        roles(&bob, team).await,
        vec![(bob_id, Role::Owner), (alice_id, Role::Admin)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_shares_a_message_and_its_files_once() {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, _) = server.user("bob").await;
    let room = general(&alice).await;
    let side = bob
        .create_room("side", RoomKind::Public, "")
        .await
        .unwrap()
        .id;
    alice.join_room(side).await.unwrap();

    let file = Upload::Bytes {
        file_name: "plan.txt".into(),
        data: b"the plan".to_vec(),
    };
    let meta = alice.upload_attachment(room, file, None).await.unwrap();
    let original = alice
        .send_message(
            room,
            jeco_client::proto::api::SendMessage {
                body: "see the plan".into(),
                attachments: vec![meta.id],
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let forwarded = bob
        .forward_message(original.id, side, "fwd-1")
        .await
        .unwrap();
    assert_eq!(forwarded.room_id, side);
    assert_eq!(forwarded.forwarded_from, Some(original.id));
    assert_eq!(forwarded.body, "see the plan");
    assert_eq!(forwarded.attachments.len(), 1);
    let again = bob
        .forward_message(original.id, side, "fwd-1")
        .await
        .unwrap();
    assert_eq!(again.id, forwarded.id, "the same client_id forwards once");
    let fresh = bob.forward_message(original.id, side, "").await.unwrap();
    assert_ne!(fresh.id, forwarded.id);
    let shared = forwarded.attachments[0].id;
    assert_eq!(bob.download(shared).await.unwrap().data, b"the plan");

    let private = alice
        .create_room("private", RoomKind::Private, "")
        .await
        .unwrap()
        .id;
    let err = bob
        .forward_message(original.id, private, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RoomNotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_by_lists_who_has_read_a_message() {
    let server = TestServer::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, b) = server.user("bob").await;
    let (_carol, _) = server.user("carol").await;
    let room = general(&alice).await;

    let message = alice.send_message(room, text("read me")).await.unwrap();
    assert!(alice.read_by(message.id).await.unwrap().is_empty());
    bob.mark_read(room, message.seq).await.unwrap();
    let readers: Vec<UserId> = alice
        .read_by(message.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(
        readers,
        vec![b.account.profile.id],
        "not carol, not the author"
    );
}
