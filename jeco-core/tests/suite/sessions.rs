//! Sessions: one real-time connection, as every transport drives it.

use std::time::Duration;

use jeco_core::error::ErrorCode;
use jeco_core::event::Event;
use jeco_core::ids::{RoomId, Seq};
use jeco_core::session::{Frame, Outbound, Session};
use jeco_proto::ws::{ClientFrame, Incoming, RoomPosition, ServerFrame};

use super::harness::{Harness, last_seq, public_room, text};

pub fn parse(frame: &Frame) -> Incoming {
    serde_json::from_slice(frame.json()).expect("frames parse")
}

/// The next frame the session yields (failing the test if none comes).
pub async fn next(session: &mut Session) -> Incoming {
    let out = tokio::time::timeout(Duration::from_secs(30), session.next())
        .await
        .expect("a frame is ready")
        .expect("the session is alive");
    match out {
        Outbound::Frame(f) | Outbound::Reply(f) => parse(&f),
        Outbound::Close { frame, .. } => panic!("session closed: {:?}", parse(&frame)),
        other => panic!("unexpected {other:?}"),
    }
}

/// Runs `command` and waits for its reply, which may come after frames the command caused (a
/// resume's replay): those frames, then the reply.
async fn call(session: &mut Session, command: ClientFrame) -> (Vec<Frame>, Frame) {
    if let Some(reply) = session.handle(command).await {
        return (Vec::new(), reply);
    }
    let mut before = Vec::new();
    loop {
        let out = tokio::time::timeout(Duration::from_secs(30), session.next())
            .await
            .expect("the reply comes")
            .expect("the session is alive");
        match out {
            Outbound::Frame(f) => before.push(f),
            Outbound::Reply(reply) => return (before, reply),
            other => panic!("expected the reply, got {other:?}"),
        }
    }
}

/// The reply to a command that is answered at once.
async fn reply(session: &mut Session, command: ClientFrame) -> Incoming {
    parse(&session.handle(command).await.expect("an immediate reply"))
}

fn room_seqs(frames: &[Frame]) -> Vec<Seq> {
    frames
        .iter()
        .filter_map(|f| match parse(f) {
            Incoming::Event(e) => e.room_seq().map(|(_, s)| s),
            _ => None,
        })
        .collect()
}

fn resume(rooms: Vec<RoomPosition>, feed_after: Option<Seq>) -> ClientFrame {
    ClientFrame::Resume {
        id: "r".into(),
        rooms,
        feed_after,
    }
}

/// The next room event of `room`, skipping presence and feed frames.
pub async fn next_in(session: &mut Session, room: RoomId) -> Event {
    loop {
        if let Incoming::Event(e) = next(session).await
            && e.room_seq().is_some_and(|(r, _)| r == room)
        {
            return e;
        }
    }
}

/// Asserts that the next room event of `room` is `message.created` with sequence `expected`.
async fn expect_created(session: &mut Session, room: RoomId, expected: Seq) {
    match next_in(session, room).await {
        Event::MessageCreated { seq, .. } => assert_eq!(seq, expected),
        other => panic!("expected message.created with seq {expected:?}, got {other:?}"),
    }
}

fn send(id: &str, room: RoomId, body: &str) -> ClientFrame {
    ClientFrame::Send {
        id: id.into(),
        room_id: room,
        client_id: id.into(),
        body: body.into(),
        reply_to: None,
        attachments: Vec::new(),
    }
}

fn ready_position(ready: &Frame, room: RoomId) -> Seq {
    match parse(ready) {
        Incoming::Frame(ServerFrame::Ready { rooms, .. }) => {
            rooms
                .iter()
                .find(|p| p.room_id == room)
                .expect("room listed")
                .seq
        }
        other => panic!("expected ready, got {other:?}"),
    }
}

pub async fn commands_are_acked_and_events_arrive_in_order(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "live", &[bob.id]).await;
    let (mut a, _) = Session::open(&h.engine, ann.id).await.unwrap();
    let (mut b, _) = Session::open(&h.engine, bob.id).await.unwrap();

    let mut sent = Vec::new();
    for i in 0..5 {
        let reply =
            super::sessions::reply(&mut b, send(&format!("c{i}"), room, &format!("n{i}"))).await;
        let Incoming::Frame(ServerFrame::Ack {
            id,
            message: Some(m),
            ..
        }) = reply
        else {
            panic!("expected an ack with the message, got {reply:?}");
        };
        assert_eq!(id, format!("c{i}"));
        sent.push(m.seq);
    }
    for expected in &sent {
        expect_created(&mut a, room, *expected).await;
    }
    let pong = reply(&mut a, ClientFrame::Ping { id: "p".into() }).await;
    assert_eq!(pong, Incoming::Frame(ServerFrame::Pong { id: "p".into() }));
    a.close().await;
    b.close().await;
}

pub async fn resume_replays_what_was_missed_once(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "resume", &[bob.id]).await;
    let (first, ready) = Session::open(&h.engine, ann.id).await.unwrap();
    let seen = ready_position(&ready, room);
    first.close().await;

    let messages = h.engine.messages();
    for i in 0..3 {
        messages
            .send(bob.id, room, text(&format!("m{i}"), "while away"))
            .await
            .unwrap();
    }
    let (mut again, ready) = Session::open(&h.engine, ann.id).await.unwrap();
    let now = ready_position(&ready, room);
    assert_eq!(now.get(), seen.get() + 3);

    let (replayed, reply) = call(
        &mut again,
        resume(
            vec![RoomPosition {
                room_id: room,
                seq: seen,
            }],
            None,
        ),
    )
    .await;
    let replayed = room_seqs(&replayed);
    assert_eq!(
        replayed,
        (seen.get() + 1..=now.get()).map(Seq).collect::<Vec<_>>()
    );
    let Incoming::Frame(ServerFrame::Resumed { rooms, .. }) = parse(&reply) else {
        panic!("expected resumed");
    };
    assert!(rooms.contains(&RoomPosition {
        room_id: room,
        seq: now
    }));

    // Live delivery continues right after the replay, with nothing repeated.
    let live = messages
        .send(bob.id, room, text("m3", "back"))
        .await
        .unwrap();
    expect_created(&mut again, room, live.seq).await;
    again.close().await;
}

pub async fn joining_a_room_starts_its_stream(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "later", &[]).await;
    let (mut b, _) = Session::open(&h.engine, bob.id).await.unwrap();
    h.engine.rooms().join(bob.id, room).await.unwrap();
    match next_in(&mut b, room).await {
        Event::MemberJoined { user, .. } => assert_eq!(user.id, bob.id),
        other => panic!("expected member.joined, got {other:?}"),
    }
    let m = h
        .engine
        .messages()
        .send(ann.id, room, text("x", "welcome"))
        .await
        .unwrap();
    expect_created(&mut b, room, m.seq).await;
    b.close().await;
}

pub async fn bad_commands_get_errors_and_change_nothing(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let private = h
        .engine
        .rooms()
        .create(bob.id, "hidden", jeco_core::model::RoomKind::Private, "")
        .await
        .unwrap();
    let (mut a, _) = Session::open(&h.engine, ann.id).await.unwrap();
    let cases = [
        (send("s1", private.id, "let me in"), "room_not_found"),
        (send("s2", RoomId(999_999), "anyone?"), "room_not_found"),
        (send("s3", h.engine.general_room(), ""), "empty_message"),
        (
            ClientFrame::Resume {
                id: "r1".into(),
                rooms: vec![RoomPosition {
                    room_id: private.id,
                    seq: Seq::ZERO,
                }],
                feed_after: None,
            },
            "room_not_found",
        ),
        (
            ClientFrame::Auth {
                token: "again".into(),
            },
            "already_authenticated",
        ),
    ];
    for (command, code) in cases {
        let id = command.id().map(str::to_owned);
        match reply(&mut a, command).await {
            Incoming::Frame(ServerFrame::Error {
                id: got, code: c, ..
            }) => {
                assert_eq!((got, c.as_str()), (id, code));
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }
    assert_eq!(last_seq(&h, bob.id, private.id).await, private.last_seq);
    a.close().await;
}

pub async fn presence_follows_sessions(h: Harness) {
    let ann = h.user("ann").await;
    let status = |h: &Harness| {
        let engine = h.engine.clone();
        async move { engine.presence().status(&[ann.id]).await.unwrap()[0].online }
    };
    let (one, _) = Session::open(&h.engine, ann.id).await.unwrap();
    let (two, _) = Session::open(&h.engine, ann.id).await.unwrap();
    assert!(status(&h).await);
    one.close().await;
    assert!(status(&h).await);
    two.close().await;
    assert!(!status(&h).await);
}

pub async fn resume_clamps_positions_past_the_end(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "clamp", &[bob.id]).await;
    let (mut a, ready) = Session::open(&h.engine, ann.id).await.unwrap();
    let last = ready_position(&ready, room);
    let (_, reply) = call(
        &mut a,
        resume(
            vec![RoomPosition {
                room_id: room,
                seq: Seq(last.get() + 100),
            }],
            None,
        ),
    )
    .await;
    let Incoming::Frame(ServerFrame::Resumed { rooms, .. }) = parse(&reply) else {
        panic!("expected resumed, got {:?}", parse(&reply));
    };
    assert!(rooms.contains(&RoomPosition {
        room_id: room,
        seq: last
    }));
    // The room is not silenced: the next message arrives.
    let m = h
        .engine
        .messages()
        .send(bob.id, room, text("b1", "still there?"))
        .await
        .unwrap();
    expect_created(&mut a, room, m.seq).await;
    a.close().await;
}

pub async fn sending_ends_typing(h: Harness) {
    let ann = h.user("ann").await;
    let room = public_room(&h, ann.id, "typing", &[]).await;
    let (mut a, _) = Session::open(&h.engine, ann.id).await.unwrap();
    let typing = |active| ClientFrame::Typing {
        id: "t".into(),
        room_id: room,
        active,
    };
    a.handle(typing(true)).await;
    assert_eq!(
        h.engine.presence().typing_in(ann.id, room).await.unwrap(),
        vec![ann.id]
    );
    a.handle(send("s", room, "done typing")).await;
    assert!(
        h.engine
            .presence()
            .typing_in(ann.id, room)
            .await
            .unwrap()
            .is_empty()
    );
    a.handle(typing(true)).await;
    a.close().await;
    assert!(
        h.engine
            .presence()
            .typing_in(ann.id, room)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn feed_replay_is_complete_and_not_repeated(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let dm = h.engine.rooms().open_direct(bob.id, ann.id).await.unwrap();
    let dm_message = |i: usize| {
        let engine = h.engine.clone();
        async move {
            engine
                .messages()
                .send(bob.id, dm.id, text(&format!("d{i}"), "psst"))
                .await
                .unwrap();
        }
    };
    dm_message(0).await;
    let (mut a, ready) = Session::open(&h.engine, ann.id).await.unwrap();
    let Incoming::Frame(ServerFrame::Ready { feed_seq, .. }) = parse(&ready) else {
        panic!("expected ready");
    };
    let feed_seqs = |frames: &[Frame]| -> Vec<i64> {
        frames
            .iter()
            .filter_map(|f| match parse(f) {
                Incoming::Event(Event::Notification { notification }) => {
                    Some(notification.feed_seq.get())
                }
                Incoming::Event(Event::Membership { feed_seq, .. }) => Some(feed_seq.get()),
                _ => None,
            })
            .collect()
    };
    let (replayed, reply) = call(&mut a, resume(Vec::new(), Some(Seq::ZERO))).await;
    assert!(matches!(
        parse(&reply),
        Incoming::Frame(ServerFrame::Resumed { .. })
    ));
    let replayed = feed_seqs(&replayed);
    assert_eq!(replayed, (1..=feed_seq.get()).collect::<Vec<_>>());

    // The next notification arrives once, right after the replayed ones.
    dm_message(1).await;
    loop {
        let Incoming::Event(e) = next(&mut a).await else {
            continue;
        };
        if let Event::Notification { notification } = e {
            assert_eq!(notification.feed_seq.get(), feed_seq.get() + 1);
            break;
        }
    }
    a.close().await;
}

pub async fn a_password_change_closes_open_connections(h: Harness) {
    let ann = h.user("ann").await;
    let (mut first, _) = Session::open(&h.engine, ann.id).await.unwrap();
    let (mut second, _) = Session::open(&h.engine, ann.id).await.unwrap();
    h.engine
        .accounts()
        .change_password(ann.id, super::harness::PASSWORD, "a brand new passphrase")
        .await
        .unwrap();
    for session in [&mut first, &mut second] {
        let closing = loop {
            let out = tokio::time::timeout(Duration::from_secs(30), session.next())
                .await
                .expect("a frame is ready")
                .expect("the session is alive");
            if let Outbound::Close { frame, .. } = out {
                break parse(&frame);
            }
        };
        let Incoming::Frame(ServerFrame::Closing { code, .. }) = closing else {
            panic!("expected closing, got {closing:?}");
        };
        assert_eq!(code, "signed_out");
    }
    first.close().await;
    second.close().await;
}

/// The positions a connection opens with (read in one query where the store can) are the
/// rooms' last sequences and the feed's, as read one by one.
pub async fn ready_positions_match_the_store(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, alice.id, "lobby", &[bob.id]).await;
    h.engine
        .messages()
        .send(alice.id, room, text("p1", "hi @bob"))
        .await
        .unwrap();
    let rooms = h.engine.rooms();
    let (positions, feed) = rooms.positions_and_feed(bob.id).await.unwrap();
    assert_eq!(positions, rooms.positions(bob.id).await.unwrap());
    assert_eq!(positions.len(), 2, "general and lobby: {positions:?}");
    assert_eq!(
        feed,
        h.engine.notifications().feed_seq(bob.id).await.unwrap()
    );
    assert!(feed.get() > 0, "the mention is in bob's feed");
    let (_, ready) = Session::open(&h.engine, bob.id).await.unwrap();
    let ready: serde_json::Value = serde_json::from_slice(ready.json()).unwrap();
    assert_eq!(ready["feed_seq"], feed.get());
    assert_eq!(ready["rooms"].as_array().map(Vec::len), Some(2));
}

/// A resume names each room once, is bounded per room and in all, and is read from the store a
/// page at a time as the frames are taken, never all at once.
pub async fn a_resume_is_bounded_and_read_a_page_at_a_time(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let one = public_room(&h, ann.id, "one", &[bob.id]).await;
    let two = public_room(&h, ann.id, "two", &[bob.id]).await;
    let mut limits = jeco_core::Limits::default();
    limits.changes_page = 5;
    limits.resume_events = 30;
    limits.resume_total_events = 40;
    let h = h.reopen_with(limits).await;
    let (mut a, ready) = Session::open(&h.engine, ann.id).await.unwrap();
    let (from_one, from_two) = (ready_position(&ready, one), ready_position(&ready, two));
    for (room, n) in [(one, 32), (two, 15)] {
        for i in 0..n {
            h.engine
                .messages()
                .send(bob.id, room, text(&format!("{room}-{i}"), "busy"))
                .await
                .unwrap();
        }
    }
    let at = |room_id, seq| RoomPosition { room_id, seq };
    let refused = |reply: Incoming| match reply {
        Incoming::Frame(ServerFrame::Error { code, room_id, .. }) => (code, room_id),
        other => panic!("expected an error, got {other:?}"),
    };

    let twice = resume(vec![at(one, from_one), at(one, Seq::ZERO)], None);
    assert_eq!(
        refused(reply(&mut a, twice).await),
        (ErrorCode::InvalidFrame, Some(one))
    );
    let far = resume(vec![at(one, from_one)], None);
    assert_eq!(
        refused(reply(&mut a, far).await),
        (ErrorCode::TooFarBehind, Some(one))
    );
    // 27 + 15 changes: each room within its 30, the two over 40 in all.
    let from_one = Seq(from_one.get() + 5);
    let both = resume(vec![at(one, from_one), at(two, from_two)], None);
    assert_eq!(
        refused(reply(&mut a, both).await),
        (ErrorCode::TooFarBehind, Some(two))
    );
    assert_eq!(a.buffered(), 0, "refusals read nothing");

    assert!(
        a.handle(resume(vec![at(one, from_one)], None))
            .await
            .is_none()
    );
    assert_eq!(
        a.buffered(),
        0,
        "nothing is read before the client takes it"
    );
    let mut replayed = Vec::new();
    let reply = loop {
        match a.next().await.expect("the session is alive") {
            Outbound::Frame(f) => {
                assert!(a.buffered() < 5, "{} frames read ahead", a.buffered());
                replayed.push(f);
            }
            Outbound::Reply(reply) => break parse(&reply),
            other => panic!("unexpected {other:?}"),
        }
    };
    let replayed: Vec<Seq> = room_seqs(&replayed)
        .into_iter()
        .filter(|s| s.get() > from_one.get())
        .collect();
    assert_eq!(
        replayed,
        (from_one.get() + 1..=from_one.get() + 27)
            .map(Seq)
            .collect::<Vec<_>>()
    );
    assert!(matches!(
        reply,
        Incoming::Frame(ServerFrame::Resumed { .. })
    ));
    a.close().await;
}
