//! How real-time connections end: a client that stops reading is let go after the write
//! deadline, and a server that shuts down waits until every connection has said goodbye and
//! released its user's presence.

use std::time::Duration;

use jeco_core::service::SendMessage;
use jeco_server::ServerConfig;

use crate::e2e::clients::is;
use crate::e2e::harness::{Db, Setup};

/// Carol stops reading. Her subscription may queue as many events as it likes, so nothing
/// drops her as a slow consumer: only the deadline on writes to her socket does, and with
/// it her connection slot and her presence are released.
pub async fn a_client_that_stops_reading_is_let_go(db: Db) {
    let setup = Setup::default();
    let s = db
        .start_with(Setup {
            queue: Some(1_000_000),
            config: ServerConfig {
                write_timeout: Duration::from_millis(500),
                ..setup.config
            },
            ..setup
        })
        .await;
    let alice = s.register("alice").await;
    let carol = s.register("carol").await;
    let ticket = s.ticket(&carol).await;
    let mut silent = s.ws_raw(Some(&ticket), Some(4096)).await;
    let ready = silent.next().await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(s.state.connections.total(), 1);

    // Large messages fill the socket buffers in fewer sends: 4,000 characters of 4 bytes.
    let body = "😀".repeat(4000);
    let general = s.general();
    let mut sent = 0;
    while s.state.connections.total() > 0 && sent < 4000 {
        let message = SendMessage {
            client_id: format!("flood-{sent}"),
            body: body.clone(),
            ..SendMessage::default()
        };
        s.state
            .engine
            .messages()
            .send(alice.id, general, message)
            .await
            .expect("send");
        sent += 1;
    }
    assert_eq!(
        s.state.connections.total(),
        0,
        "the silent client still holds its connection after {sent} messages"
    );
    // The slot is given back after the session closed, which released her presence.
    let status = s.state.engine.presence().status(&[carol.id]).await.unwrap();
    assert!(!status[0].online);
}

/// Shutting down tells every connection why, and returns once each has released its user's
/// presence: nobody shows online for a server that is gone.
pub async fn shutdown_waits_for_every_connection_to_say_goodbye(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let mut a = s.ws(&alice).await;
    let mut b = s.sse(&bob).await;
    let online = s
        .state
        .engine
        .presence()
        .status(&[alice.id, bob.id])
        .await
        .unwrap();
    assert!(online.iter().all(|p| p.online));

    assert!(s.state.close_connections(Duration::from_secs(30)).await);
    let after = s
        .state
        .engine
        .presence()
        .status(&[alice.id, bob.id])
        .await
        .unwrap();
    assert!(after.iter().all(|p| !p.online), "{after:?}");
    assert_eq!(s.state.connections.total(), 0);

    let frames = a.until_closed().await;
    let closing = frames.last().expect("a closing frame");
    assert!(is(closing, "closing"), "{closing}");
    assert_eq!(closing["code"], "shutting_down");
    let closing = b.wait_for(|f| is(f, "closing")).await;
    assert_eq!(closing["code"], "shutting_down");
}
