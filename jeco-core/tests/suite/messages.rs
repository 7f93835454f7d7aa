//! Messages: sending, idempotency, validation, edit and delete, mentions, replies, forwards,
//! reactions, the change log that resume is built on, live delivery and concurrency.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jeco_core::event::Event;
use jeco_core::event::Topic;
use jeco_core::ids::{MessageId, Seq};
use jeco_core::model::{Message, Notification, NotificationKind, Reaction, Role, RoomKind};
use jeco_core::service::{HistoryQuery, SendMessage};
use tokio::sync::Barrier;

use super::harness::{
    self, Harness, download_error, last_seq, notifications, png, public_room, send_png, text,
};

/// The room sequence of every event, which must all be sequenced room events.
fn room_seqs(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e.room_seq().expect("a sequenced room event").1.get())
        .collect()
}

fn seqs_of(messages: &[Message]) -> Vec<Seq> {
    messages.iter().map(|m| m.seq).collect()
}

pub async fn send_and_history_pagination(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, alice.id, "history", &[bob.id]).await;
    let messages = h.engine.messages();
    let mut sent = Vec::new();
    for i in 0..7 {
        let sender = if i % 2 == 0 { alice.id } else { bob.id };
        let m = messages
            .send(
                sender,
                room,
                text(&format!("c{i}"), &format!("message {i}")),
            )
            .await
            .unwrap();
        assert_eq!(m.room_id, room);
        assert_eq!(m.sender.id, sender);
        assert_eq!(m.body, format!("message {i}"));
        assert!(!m.deleted);
        assert_eq!(m.edited_at, None);
        sent.push(m);
    }
    let s: Vec<Seq> = seqs_of(&sent);
    assert!(s.windows(2).all(|w| w[0] < w[1]), "seqs increase: {s:?}");
    assert_eq!(last_seq(&h, alice.id, room).await, s[6]);

    // Newest first, without a cursor.
    let q = |before, after| HistoryQuery {
        before,
        after,
        limit: Some(3),
    };
    let p1 = messages.history(bob.id, room, q(None, None)).await.unwrap();
    assert_eq!(seqs_of(&p1.items), vec![s[6], s[5], s[4]]);
    assert_eq!(p1.items[0], sent[6]);
    assert_eq!(p1.next, Some(s[4]));
    let p2 = messages
        .history(bob.id, room, q(p1.next, None))
        .await
        .unwrap();
    assert_eq!(seqs_of(&p2.items), vec![s[3], s[2], s[1]]);
    assert_eq!(p2.next, Some(s[1]));
    let p3 = messages
        .history(bob.id, room, q(p2.next, None))
        .await
        .unwrap();
    assert_eq!(seqs_of(&p3.items), vec![s[0]]);
    assert_eq!(p3.next, None);
    let mut all: Vec<Message> = [p1.items, p2.items, p3.items].concat();
    all.reverse();
    assert_eq!(all, sent, "backwards pages cover everything once");

    // Oldest first with `after`.
    let a1 = messages
        .history(alice.id, room, q(None, Some(Seq::ZERO)))
        .await
        .unwrap();
    assert_eq!(seqs_of(&a1.items), vec![s[0], s[1], s[2]]);
    assert_eq!(a1.next, Some(s[2]));
    let a2 = messages
        .history(alice.id, room, q(None, a1.next))
        .await
        .unwrap();
    assert_eq!(seqs_of(&a2.items), vec![s[3], s[4], s[5]]);
    assert_eq!(a2.next, Some(s[5]));
    let a3 = messages
        .history(alice.id, room, q(None, a2.next))
        .await
        .unwrap();
    assert_eq!(seqs_of(&a3.items), vec![s[6]]);
    assert_eq!(a3.next, None);
    assert_eq!([a1.items, a2.items, a3.items].concat(), sent);

    // After the last message there is nothing; the default page holds everything.
    let none = messages
        .history(alice.id, room, q(None, Some(s[6])))
        .await
        .unwrap();
    assert!(none.items.is_empty());
    assert_eq!(none.next, None);
    let whole = messages
        .history(alice.id, room, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(whole.items.len(), 7);
    assert_eq!(whole.next, None);
}

pub async fn send_is_idempotent_by_client_id(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let first_room = public_room(&h, alice.id, "first", &[bob.id]).await;
    let second_room = public_room(&h, alice.id, "second", &[]).await;
    let messages = h.engine.messages();

    let before = last_seq(&h, alice.id, first_room).await;
    let m1 = messages
        .send(alice.id, first_room, text("retry-1", "hello"))
        .await
        .unwrap();
    let m2 = messages
        .send(alice.id, first_room, text("retry-1", "hello"))
        .await
        .unwrap();
    assert_eq!(m1.id, m2.id);
    assert_eq!(m1, m2);
    // A retry returns the first message even if its body differs.
    let m3 = messages
        .send(alice.id, first_room, text("retry-1", "hello, again"))
        .await
        .unwrap();
    assert_eq!(m3, m1);
    assert_eq!(m1.client_id, "retry-1");
    assert_eq!(
        last_seq(&h, alice.id, first_room).await.get(),
        before.get() + 1
    );
    let history = messages
        .history(alice.id, first_room, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(history.items, vec![m1.clone()]);

    // The same client id in another room, or from another sender, is another message.
    let other_room = messages
        .send(alice.id, second_room, text("retry-1", "hello"))
        .await
        .unwrap();
    assert_ne!(other_room.id, m1.id);
    assert_eq!(other_room.room_id, second_room);
    let other_sender = messages
        .send(bob.id, first_room, text("retry-1", "hello"))
        .await
        .unwrap();
    assert_ne!(other_sender.id, m1.id);
    assert_eq!(other_sender.sender.id, bob.id);
    assert_eq!(
        last_seq(&h, alice.id, first_room).await.get(),
        before.get() + 2
    );
}

pub async fn send_validation_changes_nothing(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, alice.id, "checks", &[bob.id]).await;
    let elsewhere = public_room(&h, alice.id, "elsewhere", &[bob.id]).await;
    let messages = h.engine.messages();
    let files = h.engine.attachments();
    let foreign = messages
        .send(alice.id, elsewhere, text("x1", "over there"))
        .await
        .unwrap();
    let bobs_file = files
        .upload(bob.id, Some(room), "bob.png", png())
        .await
        .unwrap();
    let file_of_other_room = files
        .upload(alice.id, Some(elsewhere), "a.png", png())
        .await
        .unwrap();
    let before = last_seq(&h, alice.id, room).await;

    let limit = h.engine.limits().message_chars;
    let too_long = "a".repeat(limit + 1);
    let cases: Vec<(SendMessage, &str)> = vec![
        (text("c1", ""), "empty_message"),
        (text("c1", "  \n\t "), "empty_message"),
        (text("c1", &too_long), "too_long"),
        (text("c1", "ring \u{7} the bell"), "invalid_characters"),
        (text("c1", "nul\u{0}byte"), "invalid_characters"),
        (text("", "hello"), "invalid_client_id"),
        (text("has space", "hello"), "invalid_client_id"),
        (text(&"x".repeat(65), "hello"), "invalid_client_id"),
        (text("ünï", "hello"), "invalid_client_id"),
        (
            harness::reply("c1", "answer", foreign.id),
            "invalid_reply_to",
        ),
        (
            harness::reply("c1", "answer", MessageId(999_999)),
            "invalid_reply_to",
        ),
        (
            SendMessage {
                attachments: vec![bobs_file.id],
                ..text("c1", "look")
            },
            "invalid_attachment",
        ),
        (
            SendMessage {
                attachments: vec![file_of_other_room.id],
                ..text("c1", "look")
            },
            "invalid_attachment",
        ),
    ];
    for (msg, code) in cases {
        let err = messages
            .send(alice.id, room, msg.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{msg:?}");
    }
    assert_eq!(last_seq(&h, alice.id, room).await, before);
    let history = messages
        .history(alice.id, room, HistoryQuery::default())
        .await
        .unwrap();
    assert!(history.items.is_empty(), "{:?}", history.items);

    // A refused send does not use up its client id; the limit itself is allowed.
    let ok = messages
        .send(alice.id, room, text("c1", &"a".repeat(limit)))
        .await
        .unwrap();
    assert_eq!(ok.body.chars().count(), limit);
    assert_eq!(ok.seq.get(), before.get() + 1);
}

pub async fn edit_and_delete_rules(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let dave = h.user("dave").await;
    let room = public_room(&h, alice.id, "edits", &[bob.id, carol.id, dave.id]).await;
    let messages = h.engine.messages();
    let m = messages
        .send(bob.id, room, text("b1", "helo"))
        .await
        .unwrap();

    for other in [alice.id, carol.id] {
        let err = messages.edit(other, m.id, "hacked").await.unwrap_err();
        assert_eq!(err.code(), "not_author");
    }
    assert_eq!(
        messages.edit(bob.id, m.id, "  ").await.unwrap_err().code(),
        "empty_message"
    );

    let mut sub = h.engine.subscribe(carol.id).await.unwrap();
    let edited = messages.edit(bob.id, m.id, "hello").await.unwrap();
    assert_eq!(edited.id, m.id);
    assert_eq!(edited.seq, m.seq, "an edit keeps the message's place");
    assert_eq!(edited.body, "hello");
    assert!(edited.edited_at.is_some());
    assert_eq!(messages.get(carol.id, m.id).await.unwrap(), edited);
    let events = harness::drain(&mut sub);
    let edit_seq = events
        .iter()
        .find_map(|e| match e {
            Event::MessageEdited {
                room_id,
                seq,
                message,
            } if *room_id == room && message.id == m.id => {
                assert_eq!(message.body, "hello");
                Some(*seq)
            }
            _ => None,
        })
        .expect("message.edited was published");
    assert_eq!(edit_seq, last_seq(&h, alice.id, room).await);

    // A member who is neither author nor admin cannot delete.
    let err = messages.delete(carol.id, m.id).await.unwrap_err();
    assert_eq!(err.code(), "not_allowed");
    assert!(!messages.get(bob.id, m.id).await.unwrap().deleted);

    // The owner can.
    messages.delete(alice.id, m.id).await.unwrap();
    let tomb = messages.get(bob.id, m.id).await.unwrap();
    assert!(tomb.deleted);
    assert_eq!(tomb.body, "");
    assert!(tomb.attachments.is_empty());
    let history = messages
        .history(carol.id, room, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(history.items.len(), 1, "the tombstone keeps its place");
    assert_eq!(history.items[0].id, m.id);
    assert!(history.items[0].deleted);
    assert_eq!(history.items[0].body, "");
    let deleted_event = harness::drain(&mut sub).into_iter().any(|e| {
        matches!(e, Event::MessageDeleted { message_id, by, .. } if message_id == m.id && by == alice.id)
    });
    assert!(deleted_event, "message.deleted was published");

    let err = messages.edit(bob.id, m.id, "back").await.unwrap_err();
    assert_eq!(err.code(), "message_deleted");

    // Deleting again changes nothing, for anyone who could have deleted it.
    let settled = last_seq(&h, alice.id, room).await;
    messages.delete(alice.id, m.id).await.unwrap();
    messages.delete(bob.id, m.id).await.unwrap();
    assert_eq!(last_seq(&h, alice.id, room).await, settled);
    assert!(harness::drain(&mut sub).is_empty());

    // An admin may delete others' messages; an author their own.
    h.engine
        .rooms()
        .set_role(alice.id, room, carol.id, Role::Admin)
        .await
        .unwrap();
    let m2 = messages
        .send(dave.id, room, text("d1", "bye"))
        .await
        .unwrap();
    let err = messages.delete(bob.id, m2.id).await.unwrap_err();
    assert_eq!(err.code(), "not_allowed");
    messages.delete(carol.id, m2.id).await.unwrap();
    assert!(messages.get(dave.id, m2.id).await.unwrap().deleted);
    let m3 = messages
        .send(bob.id, room, text("b2", "mine"))
        .await
        .unwrap();
    messages.delete(bob.id, m3.id).await.unwrap();
    assert!(messages.get(bob.id, m3.id).await.unwrap().deleted);
}

pub async fn mentions_are_recorded_and_notified(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let room = public_room(&h, alice.id, "team", &[bob.id]).await;
    let messages = h.engine.messages();
    let mut bob_sub = h.engine.subscribe(bob.id).await.unwrap();

    let m = messages
        .send(alice.id, room, text("m1", "@bob hi @nobody @carol"))
        .await
        .unwrap();
    assert_eq!(m.mentions, vec![bob.id], "only members are mentioned");
    assert_eq!(
        messages.get(bob.id, m.id).await.unwrap().mentions,
        vec![bob.id]
    );

    let bobs = notifications(&h, bob.id).await;
    assert_eq!(bobs.len(), 1, "{bobs:?}");
    assert_eq!(bobs[0].kind, NotificationKind::Mention);
    assert_eq!(bobs[0].message_id, Some(m.id));
    assert_eq!(bobs[0].room_id, room);
    assert_eq!(bobs[0].actor.id, alice.id);
    assert!(!bobs[0].read);
    let live: Vec<Notification> = harness::drain(&mut bob_sub)
        .into_iter()
        .filter_map(|e| match e {
            Event::Notification { notification } => Some(notification),
            _ => None,
        })
        .collect();
    assert_eq!(live, bobs, "the notification was published as stored");
    assert!(
        notifications(&h, carol.id).await.is_empty(),
        "a non-member is not notified"
    );

    // One notification per message however often someone is named, in any case.
    let twice = messages
        .send(alice.id, room, text("m2", "@BOB, @bob!"))
        .await
        .unwrap();
    assert_eq!(twice.mentions, vec![bob.id]);
    assert_eq!(notifications(&h, bob.id).await.len(), 2);

    // Mentioning yourself notifies nobody.
    let own = messages
        .send(alice.id, room, text("m3", "note to @alice"))
        .await
        .unwrap();
    assert!(own.mentions.is_empty());
    assert!(notifications(&h, alice.id).await.is_empty());
    assert_eq!(
        h.engine
            .notifications()
            .unread_count(alice.id)
            .await
            .unwrap(),
        0
    );
    // An address is not a mention.
    let mail = messages
        .send(alice.id, room, text("m4", "write to mail@bob.example"))
        .await
        .unwrap();
    assert!(mail.mentions.is_empty());
    assert_eq!(notifications(&h, bob.id).await.len(), 2);
}

pub async fn replies_notify_the_author(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, alice.id, "threads", &[bob.id]).await;
    let messages = h.engine.messages();
    let original = messages
        .send(alice.id, room, text("a1", "question?"))
        .await
        .unwrap();

    let reply = messages
        .send(bob.id, room, harness::reply("b1", "answer", original.id))
        .await
        .unwrap();
    assert_eq!(reply.reply_to, Some(original.id));
    let alices = notifications(&h, alice.id).await;
    assert_eq!(alices.len(), 1, "{alices:?}");
    assert_eq!(alices[0].kind, NotificationKind::Reply);
    assert_eq!(alices[0].message_id, Some(reply.id));
    assert_eq!(alices[0].actor.id, bob.id);
    assert_eq!(alices[0].room_id, room);
    assert!(notifications(&h, bob.id).await.is_empty());

    // Replying to yourself notifies nobody.
    let own = messages
        .send(
            alice.id,
            room,
            harness::reply("a2", "never mind", original.id),
        )
        .await
        .unwrap();
    assert_eq!(own.reply_to, Some(original.id));
    assert_eq!(notifications(&h, alice.id).await.len(), 1);

    // A reply that also mentions the author notifies them once.
    let both = messages
        .send(
            bob.id,
            room,
            harness::reply("b2", "@alice see above", original.id),
        )
        .await
        .unwrap();
    let about_both = notifications(&h, alice.id)
        .await
        .into_iter()
        .filter(|n| n.message_id == Some(both.id))
        .count();
    assert_eq!(about_both, 1);
}

pub async fn forward_into_another_conversation(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let dave = h.user("dave").await;
    let group = public_room(&h, carol.id, "photos", &[alice.id]).await;
    let dm = h
        .engine
        .rooms()
        .open_direct(alice.id, bob.id)
        .await
        .unwrap();
    let messages = h.engine.messages();
    let files = h.engine.attachments();

    let file = files
        .upload(carol.id, Some(group), "cat.png", png())
        .await
        .unwrap();
    let original = messages
        .send(
            carol.id,
            group,
            SendMessage {
                attachments: vec![file.id],
                ..text("c1", "my cat")
            },
        )
        .await
        .unwrap();
    assert_eq!(original.attachments, vec![file.clone()]);

    let fwd = messages
        .forward(alice.id, original.id, dm.id, "f1".to_owned())
        .await
        .unwrap();
    assert_eq!(fwd.forwarded_from, Some(original.id));
    assert_eq!(fwd.room_id, dm.id);
    assert_eq!(fwd.sender.id, alice.id);
    assert_eq!(fwd.body, "my cat");
    assert_eq!(fwd.attachments.len(), 1);
    let copy = &fwd.attachments[0];
    assert_ne!(copy.id, file.id);
    assert_eq!(copy.room_id, Some(dm.id));
    assert_eq!(copy.filename, file.filename);
    assert_eq!(copy.content_type, "image/png");
    assert_eq!(copy.size, file.size);
    assert_eq!(messages.get(bob.id, fwd.id).await.unwrap(), fwd);

    // The peer may read the copy, but still not the original in a room they are not in.
    let (meta, data) = files.download(bob.id, copy.id).await.unwrap();
    assert_eq!(&meta, copy);
    assert_eq!(data, png());
    let err = files.download(bob.id, file.id).await.unwrap_err();
    assert_eq!(err.code(), "attachment_not_found");
    // The peer was told about the new direct message.
    let bobs = notifications(&h, bob.id).await;
    assert!(
        bobs.iter()
            .any(|n| n.kind == NotificationKind::DirectMessage && n.message_id == Some(fwd.id)),
        "{bobs:?}"
    );

    // Forwarding needs membership of the target and sight of the original.
    let private = h
        .engine
        .rooms()
        .create(dave.id, "secret", RoomKind::Private, "")
        .await
        .unwrap();
    let unjoined = public_room(&h, dave.id, "unjoined", &[]).await;
    let err = messages
        .forward(alice.id, original.id, private.id, "f2".to_owned())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "room_not_found");
    let err = messages
        .forward(alice.id, original.id, unjoined, "f3".to_owned())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_a_member");
    let err = messages
        .forward(bob.id, original.id, dm.id, "f4".to_owned())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "message_not_found");
    assert_eq!(last_seq(&h, dave.id, private.id).await.get(), 1);
    assert_eq!(last_seq(&h, dave.id, unjoined).await.get(), 1);
}

pub async fn reactions_toggle_aggregate_and_notify(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let dave = h.user("dave").await;
    let room = public_room(&h, alice.id, "reacts", &[bob.id, carol.id]).await;
    let messages = h.engine.messages();
    let m = messages
        .send(alice.id, room, text("a1", "ship it?"))
        .await
        .unwrap();

    assert!(messages.react(bob.id, m.id, "👍").await.unwrap());
    let alices = notifications(&h, alice.id).await;
    assert_eq!(alices.len(), 1, "{alices:?}");
    assert_eq!(alices[0].kind, NotificationKind::Reaction);
    assert_eq!(alices[0].actor.id, bob.id);
    assert_eq!(alices[0].message_id, Some(m.id));
    assert_eq!(alices[0].detail.as_deref(), Some("👍"));
    assert_eq!(
        messages.get(carol.id, m.id).await.unwrap().reactions,
        vec![Reaction {
            emoji: "👍".to_owned(),
            users: vec![bob.id],
        }]
    );

    // Reacting again takes it back, without notifying anyone.
    assert!(!messages.react(bob.id, m.id, "👍").await.unwrap());
    assert!(
        messages
            .get(carol.id, m.id)
            .await
            .unwrap()
            .reactions
            .is_empty()
    );
    assert_eq!(notifications(&h, alice.id).await.len(), 1);

    // Several users and emojis aggregate per emoji, in order of first use.
    assert!(messages.react(bob.id, m.id, "👍").await.unwrap());
    assert!(messages.react(carol.id, m.id, "👍").await.unwrap());
    assert!(messages.react(carol.id, m.id, "🎉").await.unwrap());
    let expected = vec![
        Reaction {
            emoji: "👍".to_owned(),
            users: vec![bob.id, carol.id],
        },
        Reaction {
            emoji: "🎉".to_owned(),
            users: vec![carol.id],
        },
    ];
    let now = messages.get(bob.id, m.id).await.unwrap();
    assert_eq!(now.reactions, expected);
    let history = messages
        .history(bob.id, room, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(history.items, vec![now], "history shows the same reactions");
    // Every reaction added by someone else notified the author.
    assert_eq!(notifications(&h, alice.id).await.len(), 4);
    // The author's own reaction notifies nobody.
    let own = messages
        .send(alice.id, room, text("a2", "another"))
        .await
        .unwrap();
    assert!(messages.react(alice.id, own.id, ":ship:").await.unwrap());
    assert_eq!(
        messages.get(bob.id, own.id).await.unwrap().reactions,
        vec![Reaction {
            emoji: ":ship:".to_owned(),
            users: vec![alice.id],
        }]
    );
    assert_eq!(notifications(&h, alice.id).await.len(), 4);

    for bad in ["a b", "", "\u{7}", &"x".repeat(33)] {
        let err = messages.react(bob.id, m.id, bad).await.unwrap_err();
        assert_eq!(err.code(), "invalid_emoji", "{bad:?}");
    }

    let err = messages.react(dave.id, m.id, "👍").await.unwrap_err();
    assert_eq!(err.code(), "message_not_found", "a non-member");

    messages.delete(alice.id, m.id).await.unwrap();
    let before = last_seq(&h, alice.id, room).await;
    let err = messages.react(bob.id, m.id, "👍").await.unwrap_err();
    assert_eq!(err.code(), "message_deleted");
    assert!(
        messages
            .get(bob.id, m.id)
            .await
            .unwrap()
            .reactions
            .is_empty()
    );
    assert_eq!(last_seq(&h, alice.id, room).await, before);
}

pub async fn changes_after_resumes_without_gaps(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let dave = h.user("dave").await;
    let room = public_room(&h, alice.id, "resume", &[bob.id]).await;
    let messages = h.engine.messages();
    let m1 = messages
        .send(alice.id, room, text("1", "one"))
        .await
        .unwrap();
    let m2 = messages.send(bob.id, room, text("2", "two")).await.unwrap();
    let m3 = messages
        .send(alice.id, room, text("3", "three"))
        .await
        .unwrap();
    messages.edit(alice.id, m1.id, "one, edited").await.unwrap();
    messages.delete(bob.id, m2.id).await.unwrap();
    messages.react(bob.id, m3.id, "👀").await.unwrap();
    h.engine.rooms().join(carol.id, room).await.unwrap();
    let last = last_seq(&h, alice.id, room).await;

    let all = messages
        .changes_after(carol.id, room, Seq::ZERO, None)
        .await
        .unwrap();
    assert_eq!(room_seqs(&all.events), (1..=last.get()).collect::<Vec<_>>());
    assert_eq!(all.last_seq, last);
    assert!(!all.has_more);
    assert!(
        all.events
            .iter()
            .all(|e| e.room_seq().map(|(r, _)| r) == Some(room))
    );

    // Message changes carry the message as it is now.
    let created: Vec<&Message> = all
        .events
        .iter()
        .filter_map(|e| match e {
            Event::MessageCreated { message, seq, .. } => {
                assert_eq!(*seq, message.seq);
                Some(message)
            }
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 3);
    assert_eq!(created[0].id, m1.id);
    assert_eq!(created[0].body, "one, edited");
    assert_eq!(created[1].id, m2.id);
    assert!(
        created[1].deleted,
        "a deleted message resumes as its tombstone"
    );
    assert_eq!(created[1].body, "");
    assert_eq!(created[2].reactions.len(), 1);
    let kinds: Vec<&str> = all
        .events
        .iter()
        .map(|e| match e {
            Event::MessageCreated { .. } => "created",
            Event::MessageEdited { .. } => "edited",
            Event::MessageDeleted { .. } => "deleted",
            Event::ReactionAdded { .. } => "reaction",
            Event::MemberJoined { .. } => "joined",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "joined", "joined", "created", "created", "created", "edited", "deleted", "reaction",
            "joined"
        ]
    );
    assert!(all.events.iter().any(|e| matches!(
        e,
        Event::MessageDeleted { message_id, by, .. } if *message_id == m2.id && *by == bob.id
    )));
    assert!(matches!(
        all.events.last(),
        Some(Event::MemberJoined { user, .. }) if user.id == carol.id
    ));

    // From any point, the rest follows.
    for k in [1, 3, last.get() - 1] {
        let rest = messages
            .changes_after(alice.id, room, Seq(k), None)
            .await
            .unwrap();
        assert_eq!(
            room_seqs(&rest.events),
            (k + 1..=last.get()).collect::<Vec<_>>()
        );
        assert_eq!(rest.events[..], all.events[k as usize..]);
    }
    let at_end = messages
        .changes_after(alice.id, room, last, None)
        .await
        .unwrap();
    assert!(at_end.events.is_empty());
    assert!(!at_end.has_more);

    // Small pages say there is more, and continuing from the last one completes the log.
    let mut resumed = Vec::new();
    let mut after = Seq::ZERO;
    let mut pages = 0;
    loop {
        let page = messages
            .changes_after(bob.id, room, after, Some(2))
            .await
            .unwrap();
        pages += 1;
        assert!(page.events.len() <= 2);
        let Some((_, reached)) = page.events.last().and_then(Event::room_seq) else {
            panic!("an empty page while has_more was set");
        };
        after = reached;
        resumed.extend(page.events);
        if !page.has_more {
            break;
        }
        assert!(pages < 100, "paging does not end");
    }
    assert_eq!(resumed, all.events);
    assert!(pages > 1);

    let err = messages
        .changes_after(alice.id, room, Seq(-1), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_seq");
    let err = messages
        .changes_after(dave.id, room, Seq::ZERO, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_a_member");
}

pub async fn live_events_follow_commits(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let room = public_room(&h, alice.id, "live", &[bob.id]).await;
    let mut bob_sub = h.engine.subscribe(bob.id).await.unwrap();
    let mut carol_sub = h.engine.subscribe(carol.id).await.unwrap();

    let engine = h.engine.clone();
    let sending = tokio::spawn(async move {
        engine
            .messages()
            .send(alice.id, room, text("live-1", "hello live"))
            .await
    });
    // Wait for the event itself, then look for the message in the store at once: it must
    // already be there, since an event is only published after its change commits.
    let published = loop {
        let p = tokio::time::timeout(Duration::from_secs(30), bob_sub.recv())
            .await
            .expect("an event arrives")
            .expect("the subscription is alive");
        if p.topic == Topic::Room(room) {
            break p;
        }
    };
    let event = published.event().unwrap();
    let Event::MessageCreated {
        room_id,
        seq,
        message,
    } = &*event
    else {
        panic!("expected message.created, got {event:?}");
    };
    let history = h
        .engine
        .messages()
        .history(bob.id, room, HistoryQuery::default())
        .await
        .unwrap();
    assert!(
        history.items.iter().any(|m| m.id == message.id),
        "the message is in history when its event is seen"
    );
    let sent = sending.await.unwrap().unwrap();
    assert_eq!(*room_id, room);
    assert_eq!(*seq, sent.seq);
    assert_eq!(message, &sent);
    assert_eq!(published.seq, Some(sent.seq));
    let json: serde_json::Value = serde_json::from_slice(&published.payload).unwrap();
    assert_eq!(json["type"], "message.created");
    assert_eq!(json["seq"], sent.seq.get());
    assert_eq!(json["message"]["body"], "hello live");
    assert_eq!(last_seq(&h, bob.id, room).await, sent.seq);

    // Someone outside the room hears nothing of it.
    let carols = harness::drain(&mut carol_sub);
    assert!(
        carols
            .iter()
            .all(|e| e.room_seq().map(|(r, _)| r) != Some(room)),
        "{carols:?}"
    );
    // Nothing else came for bob either: the message produced exactly one room event.
    let rest: Vec<Event> = harness::drain(&mut bob_sub)
        .into_iter()
        .filter(|e| e.room_seq().is_some())
        .collect();
    assert!(rest.is_empty(), "{rest:?}");
}

pub async fn concurrent_sends_are_gap_free(h: Harness) {
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        users.push(h.user(name).await.id);
    }
    let room = public_room(&h, users[0], "busy", &users[1..]).await;
    let before = last_seq(&h, users[0], room).await;
    let start = Arc::new(Barrier::new(100));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let engine = h.engine.clone();
        let user = users[i % users.len()];
        let start = Arc::clone(&start);
        tasks.spawn(async move {
            start.wait().await;
            engine
                .messages()
                .send(user, room, text(&format!("c{i}"), &format!("message {i}")))
                .await
        });
    }
    let mut sent = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        sent.push(joined.unwrap().unwrap());
    }
    assert_eq!(sent.len(), 100);
    let ids: HashSet<MessageId> = sent.iter().map(|m| m.id).collect();
    let seqs: HashSet<Seq> = sent.iter().map(|m| m.seq).collect();
    assert_eq!(ids.len(), 100);
    assert_eq!(seqs.len(), 100);

    let last = last_seq(&h, users[0], room).await;
    assert_eq!(last.get(), before.get() + 100);
    let changes = h
        .engine
        .messages()
        .changes_after(users[1], room, Seq::ZERO, None)
        .await
        .unwrap();
    assert!(!changes.has_more);
    assert_eq!(
        room_seqs(&changes.events),
        (1..=last.get()).collect::<Vec<_>>()
    );
    let history = h
        .engine
        .messages()
        .history(
            users[2],
            room,
            HistoryQuery {
                limit: Some(100),
                ..HistoryQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(history.items.len(), 100);
    let history_ids: HashSet<MessageId> = history.items.iter().map(|m| m.id).collect();
    assert_eq!(history_ids, ids);
    let history_seqs: HashSet<Seq> = history.items.iter().map(|m| m.seq).collect();
    assert_eq!(history_seqs, seqs);
    let older = h
        .engine
        .messages()
        .history(
            users[2],
            room,
            HistoryQuery {
                before: history.items.last().map(|m| m.seq),
                ..HistoryQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(older.items.is_empty());
}

pub async fn concurrent_retries_make_one_message(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, alice.id, "retries", &[bob.id]).await;
    let before = last_seq(&h, alice.id, room).await;
    // A second engine on the same data (another node) races too: its retries lose to the
    // first node's commit on the unique index, or win it.
    let other = h.reopen().await;
    // Start every send at once, so that they race each other rather than the spawning loop.
    let start = Arc::new(Barrier::new(20));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let engine = if i % 2 == 0 {
            h.engine.clone()
        } else {
            other.engine.clone()
        };
        let user = alice.id;
        let start = Arc::clone(&start);
        tasks.spawn(async move {
            start.wait().await;
            engine
                .messages()
                .send(user, room, text("same-send", "only once"))
                .await
        });
    }
    let mut ids = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        ids.insert(joined.unwrap().unwrap().id);
    }
    assert_eq!(ids.len(), 1, "every retry returns the one message");
    let history = h
        .engine
        .messages()
        .history(bob.id, room, HistoryQuery::default())
        .await
        .unwrap();
    let copies: Vec<&Message> = history
        .items
        .iter()
        .filter(|m| m.client_id == "same-send")
        .collect();
    assert_eq!(copies.len(), 1);
    assert!(ids.contains(&copies[0].id));
    let last = last_seq(&h, alice.id, room).await;
    assert_eq!(
        last.get(),
        before.get() + 1,
        "losing retries leave no trace"
    );
    let changes = h
        .engine
        .messages()
        .changes_after(bob.id, room, Seq::ZERO, None)
        .await
        .unwrap();
    assert_eq!(
        room_seqs(&changes.events),
        (1..=last.get()).collect::<Vec<_>>()
    );
}

pub async fn edits_update_mentions_and_notify_only_the_newly_mentioned(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let cat = h.user("cat").await;
    let room = public_room(&h, ann.id, "edits", &[bob.id, cat.id]).await;
    let messages = h.engine.messages();
    let m = messages
        .send(ann.id, room, text("e1", "hi @bob"))
        .await
        .unwrap();
    assert_eq!(m.mentions, vec![bob.id]);
    let edited = messages
        .edit(ann.id, m.id, "hi @bob and @cat")
        .await
        .unwrap();
    let mut mentioned = edited.mentions.clone();
    mentioned.sort();
    assert_eq!(mentioned, vec![bob.id, cat.id]);
    let kinds = |n: Vec<Notification>| -> Vec<(NotificationKind, Option<MessageId>)> {
        n.into_iter().map(|n| (n.kind, n.message_id)).collect()
    };
    // Bob was already mentioned: one notification. Cat hears about the edit.
    assert_eq!(
        kinds(notifications(&h, bob.id).await),
        vec![(NotificationKind::Mention, Some(m.id))]
    );
    assert_eq!(
        kinds(notifications(&h, cat.id).await),
        vec![(NotificationKind::Mention, Some(m.id))]
    );
    let edited = messages.edit(ann.id, m.id, "never mind").await.unwrap();
    assert!(edited.mentions.is_empty());
    assert_eq!(notifications(&h, cat.id).await.len(), 1);
}

pub async fn mentions_of_strangers_do_not_use_up_the_allowance(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "crowd", &[bob.id]).await;
    let strangers: Vec<String> = (0..30).map(|i| format!("@nobody{i:02}")).collect();
    let body = format!("{} and @bob", strangers.join(" "));
    let m = h
        .engine
        .messages()
        .send(ann.id, room, text("c1", &body))
        .await
        .unwrap();
    assert_eq!(m.mentions, vec![bob.id]);
    assert_eq!(notifications(&h, bob.id).await.len(), 1);
}

pub async fn deleting_a_message_withdraws_its_files(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "files", &[bob.id]).await;
    let (file, m) = send_png(&h, ann.id, room, "f1", "").await;
    h.engine
        .attachments()
        .download(bob.id, file.id)
        .await
        .unwrap();
    h.engine.messages().delete(ann.id, m.id).await.unwrap();
    for user in [ann.id, bob.id] {
        assert_eq!(
            download_error(&h, user, file.id).await,
            "attachment_not_found"
        );
    }
}

pub async fn a_retried_forward_copies_nothing_twice(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "source", &[bob.id]).await;
    let (_, original) = send_png(&h, ann.id, room, "o1", "look").await;
    let dm = h.engine.rooms().open_direct(bob.id, ann.id).await.unwrap();
    let messages = h.engine.messages();
    let first = messages
        .forward(bob.id, original.id, dm.id, "fw-1".into())
        .await
        .unwrap();
    let before = h.row_counts().await;
    let again = messages
        .forward(bob.id, original.id, dm.id, "fw-1".into())
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.attachments, first.attachments);
    assert_eq!(h.row_counts().await, before);
}

pub async fn explicit_reactions_are_safe_to_retry(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "retries", &[bob.id]).await;
    let messages = h.engine.messages();
    let m = messages
        .send(ann.id, room, text("m", "react twice"))
        .await
        .unwrap();
    let before = last_seq(&h, ann.id, room).await;
    for _ in 0..2 {
        assert!(
            messages
                .set_reaction(bob.id, m.id, "👍", true)
                .await
                .unwrap()
        );
    }
    // One change, one notification, however often it was asked for.
    assert_eq!(last_seq(&h, ann.id, room).await.get(), before.get() + 1);
    assert_eq!(notifications(&h, ann.id).await.len(), 1);
    for _ in 0..2 {
        assert!(
            !messages
                .set_reaction(bob.id, m.id, "👍", false)
                .await
                .unwrap()
        );
    }
    assert_eq!(last_seq(&h, ann.id, room).await.get(), before.get() + 2);
    assert!(
        messages
            .get(ann.id, m.id)
            .await
            .unwrap()
            .reactions
            .is_empty()
    );
}

fn new_message(
    room: jeco_core::ids::RoomId,
    sender: jeco_core::ids::UserId,
    client_id: &str,
) -> jeco_core::store::NewMessage {
    jeco_core::store::NewMessage {
        room_id: room,
        sender_id: sender,
        client_id: client_id.to_owned(),
        body: format!("body of {client_id}"),
        reply_to: None,
        forwarded_from: None,
        attachments: Vec::new(),
        mentions: Vec::new(),
        notify: Vec::new(),
        now: jeco_core::ids::Timestamp::now(),
    }
}

/// Sends committed together fail alone: one that the store refuses (here, to a room that does
/// not exist, which the service would have caught) leaves every other send of its group in,
/// in order and without a gap.
pub async fn a_refused_send_leaves_the_rest_of_its_group_in(h: Harness) {
    use jeco_core::ids::RoomId;
    use jeco_core::store::Appended;
    let alice = h.user("alice").await;
    let room = public_room(&h, alice.id, "group", &[]).await;
    let before = last_seq(&h, alice.id, room).await;
    let group = (0..41)
        .map(|i| {
            let to = if i == 20 { RoomId(i64::MAX) } else { room };
            new_message(to, alice.id, &format!("g{i}"))
        })
        .collect();
    let answers = h.stores().await.messages.append_messages(group).await;
    assert_eq!(answers.len(), 41);
    let mut seqs = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        match (i, answer) {
            (20, sent) => assert!(sent.is_err(), "no such room: {sent:?}"),
            (_, Ok(Appended::New(m, _))) => {
                assert_eq!(m.body, format!("body of g{i}"));
                seqs.push(m.seq.get());
            }
            (i, other) => panic!("send {i}: {other:?}"),
        }
    }
    assert_eq!(
        seqs,
        ((before.get() + 1)..=(before.get() + 40)).collect::<Vec<_>>(),
        "sequences follow the order of the group"
    );
    assert_eq!(last_seq(&h, alice.id, room).await.get(), before.get() + 40);
}

/// A group that repeats a client id, or carries one sent before, stores each message once:
/// the repeats are answered with the first message, and the rooms' sequences move by the new
/// messages only, interleaved rooms each in their own order.
pub async fn a_group_stores_each_client_id_once(h: Harness) {
    use jeco_core::store::Appended;
    let alice = h.user("alice").await;
    let (one, two) = (
        public_room(&h, alice.id, "one", &[]).await,
        public_room(&h, alice.id, "two", &[]).await,
    );
    let stores = h.stores().await;
    let earlier = match stores
        .messages
        .append_messages(vec![new_message(one, alice.id, "before")])
        .await
        .pop()
    {
        Some(Ok(Appended::New(m, _))) => m,
        other => panic!("first send: {other:?}"),
    };
    let (one_before, two_before) = (
        last_seq(&h, alice.id, one).await.get(),
        last_seq(&h, alice.id, two).await.get(),
    );
    let group = vec![
        new_message(one, alice.id, "a"),
        new_message(two, alice.id, "b"),
        new_message(one, alice.id, "before"),
        new_message(one, alice.id, "a"),
        new_message(two, alice.id, "c"),
        // The same client id in another room is another message.
        new_message(two, alice.id, "a"),
    ];
    let answers: Vec<Appended> = stores
        .messages
        .append_messages(group)
        .await
        .into_iter()
        .map(|a| a.expect("every send is answered"))
        .collect();
    let summary: Vec<(bool, i64, i64, String)> = answers
        .iter()
        .map(|a| match a {
            Appended::New(m, _) => (true, m.room_id.get(), m.seq.get(), m.client_id.clone()),
            Appended::Existing(m) => (false, m.room_id.get(), m.seq.get(), m.client_id.clone()),
        })
        .collect();
    let (o, t) = (one.get(), two.get());
    assert_eq!(
        summary,
        vec![
            (true, o, one_before + 1, "a".to_owned()),
            (true, t, two_before + 1, "b".to_owned()),
            (false, o, earlier.seq.get(), "before".to_owned()),
            (false, o, one_before + 1, "a".to_owned()),
            (true, t, two_before + 2, "c".to_owned()),
            (true, t, two_before + 3, "a".to_owned()),
        ]
    );
    let ids = |a: &Appended| match a {
        Appended::New(m, _) | Appended::Existing(m) => m.id,
    };
    assert_eq!(ids(&answers[2]), earlier.id);
    assert_eq!(ids(&answers[3]), ids(&answers[0]));
    assert_eq!(last_seq(&h, alice.id, one).await.get(), one_before + 1);
    assert_eq!(last_seq(&h, alice.id, two).await.get(), two_before + 3);
}
