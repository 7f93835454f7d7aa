//! The architecture's guarantees that no single feature owns: durability across a restart,
//! write costs independent of room size, ephemeral state kept out of SQL.

use jeco_core::ids::Seq;
use jeco_core::model::RoomKind;
use jeco_core::service::HistoryQuery;

use super::harness::{Harness, text};

pub async fn acknowledged_messages_survive_a_restart(h: Harness) {
    let ada = h.user("ada").await;
    let room = h
        .engine
        .rooms()
        .create(ada.id, "durable", RoomKind::Public, "")
        .await
        .unwrap();
    let acked = h
        .engine
        .messages()
        .send(ada.id, room.id, text("d1", "written before the ack"))
        .await
        .unwrap();
    // Close the first engine, then open the same data again, as after a restart.
    let restarted = h.reopen().await;
    drop(h);
    let messages = restarted.engine.messages();
    let page = messages
        .history(ada.id, room.id, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(page.items[0].id, acked.id);
    assert_eq!(page.items[0].body, "written before the ack");
    // A retry after the restart is still recognised, and sequences continue where they were.
    let retried = messages
        .send(ada.id, room.id, text("d1", "written before the ack"))
        .await
        .unwrap();
    assert_eq!(retried.id, acked.id);
    let next = messages
        .send(ada.id, room.id, text("d2", "after the restart"))
        .await
        .unwrap();
    assert_eq!(next.seq, Seq(acked.seq.get() + 1));
}

pub async fn writes_per_message_do_not_grow_with_room_size(h: Harness) {
    let owner = h.user("owner").await;
    let rooms = h.engine.rooms();
    let small = rooms
        .create(owner.id, "small", RoomKind::Public, "")
        .await
        .unwrap();
    let big = rooms
        .create(owner.id, "big", RoomKind::Public, "")
        .await
        .unwrap();
    for i in 0..25 {
        let u = h.user(&format!("member{i:02}")).await;
        rooms.join(u.id, big.id).await.unwrap();
    }
    let messages = h.engine.messages();
    let mut added = Vec::new();
    for (room, cid) in [(small.id, "s1"), (big.id, "b1")] {
        let before = h.row_counts().await;
        messages
            .send(owner.id, room, text(cid, "hello everyone"))
            .await
            .unwrap();
        let after = h.row_counts().await;
        let delta: Vec<(&str, i64)> = after
            .iter()
            .zip(&before)
            .map(|((t, a), (_, b))| (*t, a - b))
            .filter(|(_, d)| *d != 0)
            .collect();
        added.push(delta);
    }
    // One message row and one change-log row, in a room of 1 as in a room of 26.
    assert_eq!(added[0], vec![("messages", 1), ("room_events", 1)]);
    assert_eq!(added[1], added[0]);
}

pub async fn typing_and_presence_never_touch_sql(h: Harness) {
    let tom = h.user("tom").await;
    let general = h.engine.general_room();
    let before = h.row_counts().await;
    let presence = h.engine.presence();
    presence.connected(tom.id).await.unwrap();
    presence.typing(tom.id, general, true).await.unwrap();
    presence.typing(tom.id, general, false).await.unwrap();
    presence.disconnected(tom.id).await.unwrap();
    assert!(!presence.status(&[tom.id]).await.unwrap()[0].online);
    assert_eq!(h.row_counts().await, before);
}
