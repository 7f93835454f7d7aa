//! The protocol rules of [`super::Session`] on frames made up here, without a server.

use super::*;
use jeco_proto::model::UserRef;

fn message(room: i64, seq: i64, client_id: &str) -> Message {
    Message {
        id: jeco_proto::ids::MessageId(seq),
        room_id: RoomId(room),
        seq: Seq(seq),
        sender: UserRef {
            id: UserId(1),
            username: "a".into(),
            display_name: String::new(),
        },
        client_id: client_id.into(),
        body: "hi".into(),
        reply_to: None,
        forwarded_from: None,
        attachments: Vec::new(),
        mentions: Vec::new(),
        reactions: Vec::new(),
        created_at: jeco_proto::ids::Timestamp(0),
        edited_at: None,
        deleted: false,
    }
}

fn created(room: i64, seq: i64) -> Incoming {
    Incoming::Event(Event::MessageCreated {
        room_id: RoomId(room),
        seq: Seq(seq),
        message: message(room, seq, "x"),
    })
}

fn refused(id: &str, code: &str, room: Option<i64>) -> Incoming {
    Incoming::Frame(ServerFrame::Error {
        id: Some(id.into()),
        code: ErrorCode::parse(code).unwrap_or(ErrorCode::Unknown),
        message: "refused".into(),
        field: None,
        room_id: room.map(RoomId),
        retry_after_ms: None,
    })
}

fn pos(room: i64, seq: i64) -> RoomPosition {
    RoomPosition {
        room_id: RoomId(room),
        seq: Seq(seq),
    }
}

fn delivered(s: &mut Session) -> Vec<i64> {
    s.take_events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Event(ev) => ev.room_seq().map(|(_, seq)| seq.0),
            _ => None,
        })
        .collect()
}

#[test]
fn resume_drops_live_events_until_the_replay_catches_up() {
    let now = Instant::now();
    let mut s = Session::new(vec![pos(1, 2)], Some(Seq(0)), Vec::new());
    assert_eq!(
        s.on_ready(1, UserId(1), vec![pos(1, 5)], Seq(0)),
        Verdict::Continue
    );
    let frames = s.take_frames(now);
    assert!(
        matches!(&frames[..], [ClientFrame::Resume { rooms, feed_after: None, .. }] if rooms == &vec![pos(1, 2)])
    );
    // A live event published after `ready` arrives before the replay: dropped.
    s.on_incoming(created(1, 6), now);
    // SSE may deliver `resumed` before the replayed events.
    s.on_incoming(
        Incoming::Frame(ServerFrame::Resumed {
            id: "c1".into(),
            rooms: vec![pos(1, 6)],
            feed_seq: Seq(0),
        }),
        now,
    );
    for seq in [3, 4, 5, 6, 4, 7] {
        s.on_incoming(created(1, seq), now);
    }
    assert_eq!(delivered(&mut s), vec![3, 4, 5, 6, 7]);
    assert_eq!(s.positions(), vec![pos(1, 7)]);
}

#[test]
fn a_gap_asks_for_a_replay_and_a_too_far_room_resyncs() {
    let now = Instant::now();
    let mut s = Session::new(vec![pos(1, 1), pos(2, 1)], Some(Seq(0)), Vec::new());
    s.on_ready(1, UserId(1), vec![pos(1, 50), pos(2, 3)], Seq(0));
    let _ = s.take_frames(now);
    // The error names the room at fault: it resyncs, the other is asked for again.
    s.on_incoming(refused("c1", "too_far_behind", Some(1)), now);
    assert!(
        matches!(&s.take_frames(now)[..], [ClientFrame::Resume { rooms, feed_after: None, .. }] if rooms == &vec![pos(2, 1)])
    );
    assert!(s.take_events().iter().any(|e| matches!(
        e,
        ClientEvent::Resync {
            room_id: RoomId(1),
            seq: Seq(50)
        }
    )));
    s.on_incoming(created(1, 51), now);
    for seq in [2, 3] {
        s.on_incoming(created(2, seq), now);
    }
    assert_eq!(delivered(&mut s), vec![51, 2, 3]);
    // Room 1 jumps: a replay is asked for, and the early event is dropped.
    s.on_incoming(created(1, 53), now);
    assert!(
        matches!(&s.take_frames(now)[..], [ClientFrame::Resume { rooms, .. }] if rooms == &vec![pos(1, 51)])
    );
    assert_eq!(delivered(&mut s), Vec::<i64>::new());
}

#[test]
fn the_outbox_sends_one_per_room_and_retries_transient_refusals() {
    let now = Instant::now();
    let mut s = Session::new(Vec::new(), None, Vec::new());
    for (room, id) in [(1, "a"), (1, "b"), (2, "c")] {
        let message = SendMessage {
            client_id: id.into(),
            body: id.into(),
            ..SendMessage::default()
        };
        s.queue_send(RoomId(room), message, None);
    }
    assert!(
        s.take_frames(now).is_empty(),
        "nothing is sent while offline"
    );
    s.on_ready(1, UserId(1), Vec::new(), Seq(0));
    let client_ids = |frames: Vec<ClientFrame>| -> Vec<String> {
        frames
            .into_iter()
            .filter_map(|f| match f {
                ClientFrame::Send { client_id, .. } => Some(client_id),
                _ => None,
            })
            .collect()
    };
    assert_eq!(client_ids(s.take_frames(now)), vec!["a", "c"]);
    s.on_incoming(refused("c1", "rate_limited", None), now);
    assert!(client_ids(s.take_frames(now)).is_empty(), "b waits for a");
    let due = s.next_retry().unwrap();
    assert_eq!(client_ids(s.take_frames(due)), vec!["a"]);
    // The connection drops before the ack: everything is sent again, same client ids.
    s.on_disconnect();
    s.on_ready(1, UserId(1), Vec::new(), Seq(0));
    let again = s.take_frames(due);
    assert_eq!(client_ids(again), vec!["a", "c"]);
    s.on_incoming(
        Incoming::Frame(ServerFrame::Ack {
            id: "c4".into(),
            message: Some(Box::new(message(1, 1, "a"))),
            seq: None,
            added: None,
        }),
        now,
    );
    assert_eq!(client_ids(s.take_frames(now)), vec!["b"]);
    assert_eq!(s.pending_sends().len(), 2);
}

#[test]
fn a_feed_too_far_behind_resyncs_and_the_rooms_are_asked_for_again() {
    let now = Instant::now();
    let mut s = Session::new(vec![pos(1, 1)], Some(Seq(3)), Vec::new());
    s.on_ready(1, UserId(1), vec![pos(1, 4)], Seq(20_000));
    assert!(matches!(
        &s.take_frames(now)[..],
        [ClientFrame::Resume {
            feed_after: Some(Seq(3)),
            ..
        }]
    ));
    s.on_incoming(refused("c1", "too_far_behind", None), now);
    assert!(
        matches!(&s.take_frames(now)[..], [ClientFrame::Resume { rooms, feed_after: Some(Seq(20_000)), .. }] if rooms == &vec![pos(1, 1)])
    );
    assert!(s.take_events().contains(&ClientEvent::FeedResync {
        feed_seq: Seq(20_000)
    }));
    assert_eq!(s.feed_seq(), Some(Seq(20_000)));
}

#[test]
fn signed_out_is_not_a_plain_reconnect() {
    assert!(matches!(
        closing_verdict(ErrorCode::SignedOut, "m"),
        Verdict::SignedOut(_)
    ));
    assert!(matches!(
        closing_verdict(ErrorCode::SlowConsumer, "m"),
        Verdict::Reconnect(_)
    ));
}
