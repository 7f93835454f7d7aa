//! The client covers the whole API: with the real server recording every route a request
//! matched, this calls each client method at least once (a success or a clean refusal both
//! reach the route), over both real-time transports, then checks that every operation the
//! served OpenAPI document lists was reached. A route added to the server without a client
//! method fails here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{PASSWORD, TestServer, connected, general, options, png, text};
use jeco_client::proto::api::{HistoryQuery, NotificationsQuery};
use jeco_client::proto::error::ErrorCode;
use jeco_client::proto::ids::Seq;
use jeco_client::proto::model::{ProfileUpdate, Role, RoomKind};
use jeco_client::transport::WebSocketTransport;
use jeco_client::{Client, TransportKind, Upload};

/// Operations the client leaves out on purpose.
const OPERATOR_ONLY: &[(&str, &str)] = &[
    // Prometheus counters of one node, scraped by the operator's monitoring; nothing a chat
    // client shows, and load balancers answer 404 for it.
    ("GET", "/metrics"),
];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_reached_by_a_client_method() {
    let server = TestServer::start().await;
    let anonymous = Client::new(&server.base()).unwrap();
    anonymous.health().await.unwrap();
    anonymous.ready().await.unwrap();

    let (alice, _) = server.user("alice").await;
    let (bob, b) = server.user("bob").await;
    let bob_id = b.account.profile.id;
    bob.logout().await.unwrap();
    bob.login("bob", PASSWORD).await.unwrap();
    alice.refresh().await.unwrap();
    alice.ticket().await.unwrap();

    // The account.
    alice.me().await.unwrap();
    let avatar = Upload::Bytes {
        file_name: "me.png".into(),
        data: png(8, 8),
    };
    let avatar = alice.upload_avatar(avatar, None).await.unwrap();
    let update = ProfileUpdate {
        avatar: Some(Some(avatar.id)),
        ..ProfileUpdate::default()
    };
    alice.update_profile(update).await.unwrap();
    let new_password = "another secret 12";
    alice.change_password(PASSWORD, new_password).await.unwrap();
    anonymous
        .request_password_reset("alice@example.com")
        .await
        .unwrap();
    let err = anonymous
        .confirm_password_reset("made-up-token", new_password)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidToken));

    // Other users.
    alice.search_users("bo", None).await.unwrap();
    alice.presence(&[bob_id]).await.unwrap();
    alice.profile(bob_id).await.unwrap();
    alice.add_contact(bob_id).await.unwrap();
    alice.contacts().await.unwrap();
    alice.remove_contact(bob_id).await.unwrap();
    alice.block(bob_id).await.unwrap();
    alice.blocked_users().await.unwrap();
    alice.unblock(bob_id).await.unwrap();

    // Rooms.
    let room = general(&alice).await;
    let side = alice
        .create_room("side", RoomKind::Public, "")
        .await
        .unwrap()
        .id;
    alice.room(side).await.unwrap();
    bob.join_room(side).await.unwrap();
    alice.set_role(side, bob_id, Role::Admin).await.unwrap();
    alice.kick(side, bob_id).await.unwrap();
    alice.invite(side, bob_id).await.unwrap();
    alice.members(side).await.unwrap();
    bob.leave_room(side).await.unwrap();
    alice.open_direct(bob_id).await.unwrap();
    alice.set_typing(room, true).await.unwrap();

    // Messages.
    let message = alice.send_message(room, text("hi @bob")).await.unwrap();
    alice.history(room, HistoryQuery::default()).await.unwrap();
    alice.changes(room, Seq::ZERO, None).await.unwrap();
    alice.message(message.id).await.unwrap();
    alice
        .edit_message(message.id, "hi again @bob")
        .await
        .unwrap();
    bob.react(message.id, "👍", Some(true)).await.unwrap();
    bob.mark_read(room, message.seq).await.unwrap();
    alice.read_by(message.id).await.unwrap();
    alice.forward_message(message.id, side, "").await.unwrap();
    alice.delete_message(message.id).await.unwrap();

    // Notifications (Bob was mentioned).
    bob.unread().await.unwrap();
    let page = bob
        .notifications(NotificationsQuery::default())
        .await
        .unwrap();
    bob.unread_notification_count().await.unwrap();
    let first = page.items.first().expect("bob was notified");
    bob.mark_notification_read(first.id).await.unwrap();
    bob.mark_all_notifications_read().await.unwrap();
    bob.feed(Seq::ZERO, None).await.unwrap();

    // Files.
    let image = Upload::Bytes {
        file_name: "pic.png".into(),
        data: png(32, 32),
    };
    let image = alice.upload_attachment(room, image, None).await.unwrap();
    bob.download(image.id).await.unwrap();
    bob.thumbnail(image.id).await.unwrap();

    // Real time, over each transport, with commands.
    let ws = alice
        .connect_with(
            Arc::new(WebSocketTransport),
            options(TransportKind::WebSocket),
        )
        .unwrap();
    connected(&ws).await;
    ws.send_and_wait(room, text("over the socket"))
        .await
        .unwrap();
    let sse = bob.connect(options(TransportKind::Sse)).unwrap();
    connected(&sse).await;
    sse.typing(room, true).await.unwrap();
    ws.close();
    sse.close();
    alice.logout().await.unwrap();

    let doc: serde_json::Value = reqwest::get(format!("{}/v1/openapi.json", server.base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    assert!(
        documented.len() > 50,
        "the document lists the API: {documented:?}"
    );
    let reached = server.reached.lock().unwrap().clone();
    let missing: Vec<String> = documented
        .iter()
        .filter(|op| !reached.contains(*op))
        .filter(|(m, p)| !OPERATOR_ONLY.contains(&(m.as_str(), p.as_str())))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "documented operations no client method reached:\n  {}",
        missing.join("\n  ")
    );
}
