//! Notifications, the feed, user search, contacts, presence, typing, uploads and avatars, and
//! what outsiders and unknown ids get.

use std::collections::HashSet;

use bytes::Bytes;
use jeco_core::Limits;
use jeco_core::event::Event;
use jeco_core::ids::{AttachmentId, MessageId, NotificationId, RoomId, Seq, UserId};
use jeco_core::model::{Notification, NotificationKind, PresenceInfo, ProfileUpdate, RoomKind};
use jeco_core::service::{HistoryQuery, SendMessage};

use super::harness::{self, Harness, download_error, last_seq, notifications, png, reply, text};

/// The feed sequence of a feed event.
fn feed_seq(e: &Event) -> Seq {
    match e {
        Event::Membership { feed_seq, .. } => *feed_seq,
        Event::Notification { notification } => notification.feed_seq,
        other => panic!("not a feed event: {other:?}"),
    }
}

/// The feed events among `events` (a subscription also carries room and presence events).
fn feed_events(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .filter(|e| matches!(e, Event::Membership { .. } | Event::Notification { .. }))
        .collect()
}

fn presence_events(events: Vec<Event>) -> Vec<(UserId, bool, bool)> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Presence {
                user_id,
                online,
                last_seen,
            } => Some((user_id, online, last_seen.is_some())),
            _ => None,
        })
        .collect()
}

fn typing_events(events: Vec<Event>) -> Vec<(RoomId, UserId, bool)> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Typing {
                room_id,
                user_id,
                active,
                ..
            } => Some((room_id, user_id, active)),
            _ => None,
        })
        .collect()
}

pub async fn direct_message_notifications_list_and_mark_read(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let dm = h
        .engine
        .rooms()
        .open_direct(bob.id, alice.id)
        .await
        .unwrap();
    let notes = h.engine.notifications();
    let mut alice_sub = h.engine.subscribe(alice.id).await.unwrap();

    let m = h
        .engine
        .messages()
        .send(bob.id, dm.id, text("b1", "psst"))
        .await
        .unwrap();
    assert_eq!(notes.unread_count(alice.id).await.unwrap(), 1);
    assert_eq!(
        notes.unread_count(bob.id).await.unwrap(),
        0,
        "senders are not notified"
    );
    let page = notes.list(alice.id, None, false, None).await.unwrap();
    assert_eq!(page.next, None);
    assert_eq!(page.items.len(), 1);
    let n = page.items[0].clone();
    assert_eq!(n.kind, NotificationKind::DirectMessage);
    assert_eq!(n.room_id, dm.id);
    assert_eq!(n.message_id, Some(m.id));
    assert_eq!(n.actor.id, bob.id);
    assert_eq!(n.actor.username, "bob");
    assert!(!n.read);
    let live: Vec<Notification> = feed_events(harness::drain(&mut alice_sub))
        .into_iter()
        .filter_map(|e| match e {
            Event::Notification { notification } => Some(notification),
            _ => None,
        })
        .collect();
    assert_eq!(live, vec![n.clone()], "published as stored");

    // Only the recipient can mark it.
    for other in [carol.id, bob.id] {
        let err = notes.mark_read(other, n.id).await.unwrap_err();
        assert_eq!(err.code(), "notification_not_found");
    }
    assert_eq!(notes.unread_count(alice.id).await.unwrap(), 1);
    notes.mark_read(alice.id, n.id).await.unwrap();
    notes.mark_read(alice.id, n.id).await.unwrap();
    assert_eq!(notes.unread_count(alice.id).await.unwrap(), 0);
    let listed = notes.list(alice.id, None, false, None).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(listed.items[0].read);
    assert!(
        notes
            .list(alice.id, None, true, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    for i in 0..3 {
        h.engine
            .messages()
            .send(bob.id, dm.id, text(&format!("b{}", i + 2), "more"))
            .await
            .unwrap();
    }
    assert_eq!(notes.unread_count(alice.id).await.unwrap(), 3);
    // Someone else marking all of theirs read leaves alice's alone.
    assert_eq!(notes.mark_all_read(carol.id).await.unwrap(), 0);
    assert_eq!(notes.unread_count(alice.id).await.unwrap(), 3);
    assert_eq!(notes.mark_all_read(alice.id).await.unwrap(), 3);
    assert_eq!(notes.unread_count(alice.id).await.unwrap(), 0);
    assert_eq!(notes.mark_all_read(alice.id).await.unwrap(), 0);
    assert!(notifications(&h, alice.id).await.iter().all(|n| n.read));
}

pub async fn notifications_paginate(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let dm = h
        .engine
        .rooms()
        .open_direct(bob.id, alice.id)
        .await
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..7 {
        let m = h
            .engine
            .messages()
            .send(bob.id, dm.id, text(&format!("b{i}"), &format!("note {i}")))
            .await
            .unwrap();
        sent.push(m.id);
    }
    let notes = h.engine.notifications();

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = notes.list(alice.id, before, false, Some(2)).await.unwrap();
        assert!(page.items.len() <= 2);
        let next = page.next;
        pages.push(page.items);
        match next {
            Some(cursor) => before = Some(cursor),
            None => break,
        }
        assert!(pages.len() < 20, "paging does not end");
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![2, 2, 2, 1]);
    let all: Vec<Notification> = pages.concat();
    let ids: Vec<NotificationId> = all.iter().map(|n| n.id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 7);
    let about: Vec<MessageId> = all.iter().filter_map(|n| n.message_id).collect();
    let mut newest_first = sent.clone();
    newest_first.reverse();
    assert_eq!(about, newest_first);
    assert_eq!(all, notifications(&h, alice.id).await);

    // Read the three newest; the unread filter pages through the other four.
    for n in &all[..3] {
        notes.mark_read(alice.id, n.id).await.unwrap();
    }
    let u1 = notes.list(alice.id, None, true, Some(3)).await.unwrap();
    assert_eq!(u1.items, all[3..6].to_vec());
    let cursor = u1.next.expect("a full page has a cursor");
    let u2 = notes
        .list(alice.id, Some(cursor), true, Some(3))
        .await
        .unwrap();
    assert_eq!(u2.items.len(), 1);
    assert_eq!(u2.items[0].id, all[6].id);
    assert_eq!(u2.next, None);
    assert!(u1.items.iter().chain(&u2.items).all(|n| !n.read));
    // Bob's own list is untouched by alice's.
    assert!(notifications(&h, bob.id).await.is_empty());
}

pub async fn feed_after_is_gap_free(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let mut sub = h.engine.subscribe(alice.id).await.unwrap();
    let rooms = h.engine.rooms();

    let lounge = rooms
        .create(alice.id, "lounge", RoomKind::Public, "")
        .await
        .unwrap();
    let dm = rooms.open_direct(bob.id, alice.id).await.unwrap();
    h.engine
        .messages()
        .send(bob.id, dm.id, text("b1", "hi alice"))
        .await
        .unwrap();
    let private = rooms
        .create(carol.id, "hideout", RoomKind::Private, "")
        .await
        .unwrap();
    rooms.invite(carol.id, private.id, alice.id).await.unwrap();
    rooms.leave(alice.id, lounge.id).await.unwrap();

    let feed = h
        .engine
        .notifications()
        .feed_after(alice.id, Seq::ZERO, None)
        .await
        .unwrap();
    assert!(!feed.has_more);
    assert_eq!(feed.feed_seq, Seq(7));
    let feed = feed.events;
    let seqs: Vec<i64> = feed.iter().map(|e| feed_seq(e).get()).collect();
    assert_eq!(seqs, (1..=feed.len() as i64).collect::<Vec<_>>());
    assert_eq!(feed.len(), 7, "{feed:?}");
    assert!(matches!(
        feed[0],
        Event::Membership { room_id, joined: true, .. } if room_id == h.engine.general_room()
    ));
    let has_membership = |room: RoomId, joined: bool| {
        feed.iter().any(|e| {
            matches!(e, Event::Membership { room_id, joined: j, .. } if *room_id == room && *j == joined)
        })
    };
    assert!(has_membership(lounge.id, true));
    assert!(has_membership(dm.id, true));
    assert!(has_membership(private.id, true));
    assert!(has_membership(lounge.id, false));
    assert!(matches!(
        feed.last(),
        Some(Event::Membership { room_id, joined: false, .. }) if *room_id == lounge.id
    ));
    let kinds: Vec<NotificationKind> = feed
        .iter()
        .filter_map(|e| match e {
            Event::Notification { notification } => Some(notification.kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![NotificationKind::DirectMessage, NotificationKind::Invite]
    );

    // What was published live is the same feed from the second entry on.
    let live = feed_events(harness::drain(&mut sub));
    assert_eq!(live[..], feed[1..]);

    let rest = h
        .engine
        .notifications()
        .feed_after(alice.id, Seq(2), None)
        .await
        .unwrap()
        .events;
    assert_eq!(rest[..], feed[2..]);
    let page = h
        .engine
        .notifications()
        .feed_after(alice.id, Seq(1), Some(2))
        .await
        .unwrap();
    assert!(page.has_more);
    assert_eq!(page.events[..], feed[1..3]);
    let end = h
        .engine
        .notifications()
        .feed_after(alice.id, Seq(feed.len() as i64), None)
        .await
        .unwrap();
    assert!(end.events.is_empty());
    assert!(!end.has_more);
    let err = h
        .engine
        .notifications()
        .feed_after(alice.id, Seq(-1), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_seq");

    // Everyone's feed is their own and gap-free too.
    for user in [bob.id, carol.id] {
        let feed = h
            .engine
            .notifications()
            .feed_after(user, Seq::ZERO, None)
            .await
            .unwrap()
            .events;
        let seqs: Vec<i64> = feed.iter().map(|e| feed_seq(e).get()).collect();
        assert_eq!(seqs, (1..=feed.len() as i64).collect::<Vec<_>>());
    }
}

pub async fn search_users(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let bobby = h.user("bobby").await;
    let bobcat = h.user("bobcat").await;
    h.user("carol").await;
    let contacts = h.engine.contacts();
    let names = |found: Vec<jeco_core::model::UserRef>| {
        found.into_iter().map(|u| u.username).collect::<Vec<_>>()
    };

    let found = contacts.search(alice.id, "bob", None).await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![bob.id, bobby.id, bobcat.id]
    );
    assert_eq!(
        names(contacts.search(alice.id, "  BOB ", None).await.unwrap()),
        vec!["bob", "bobby", "bobcat"]
    );
    assert_eq!(
        names(contacts.search(alice.id, "bobb", None).await.unwrap()),
        vec!["bobby"]
    );
    assert!(
        contacts
            .search(alice.id, "zed", None)
            .await
            .unwrap()
            .is_empty()
    );
    // Never the caller.
    assert_eq!(
        names(contacts.search(bob.id, "bob", None).await.unwrap()),
        vec!["bobby", "bobcat"]
    );
    assert!(
        contacts
            .search(alice.id, "ali", None)
            .await
            .unwrap()
            .is_empty()
    );
    // Exact email only, in any case; an address prefix finds no one.
    assert_eq!(
        names(
            contacts
                .search(alice.id, "bob@example.com", None)
                .await
                .unwrap()
        ),
        vec!["bob"]
    );
    assert_eq!(
        names(
            contacts
                .search(alice.id, "Carol@Example.COM", None)
                .await
                .unwrap()
        ),
        vec!["carol"]
    );
    for partial in ["bob@example", "bob@", "@example.com", "bob@example.co"] {
        let found = contacts.search(alice.id, partial, None).await.unwrap();
        assert!(found.is_empty(), "{partial}: {found:?}");
    }
    assert!(
        contacts
            .search(alice.id, "alice@example.com", None)
            .await
            .unwrap()
            .is_empty()
    );
    // Bounded by the limit.
    assert_eq!(
        names(contacts.search(alice.id, "bob", Some(2)).await.unwrap()),
        vec!["bob", "bobby"]
    );
    assert_eq!(
        contacts.search(alice.id, "b", Some(1)).await.unwrap().len(),
        1
    );

    for bad in [String::new(), "   ".to_owned(), "x".repeat(255)] {
        let err = contacts.search(alice.id, &bad, None).await.unwrap_err();
        assert_eq!(err.code(), "invalid_query", "{bad:?}");
    }
}

pub async fn search_results_respect_the_configured_limit(h: Harness) {
    let alice = h.user("alice").await;
    for i in 0..4 {
        h.user(&format!("user{i}")).await;
    }
    let mut limits = Limits::default();
    limits.search_results = 3;
    let small = h.reopen_with(limits).await;
    let contacts = small.engine.contacts();
    assert_eq!(
        contacts.search(alice.id, "user", None).await.unwrap().len(),
        3
    );
    assert_eq!(
        contacts
            .search(alice.id, "user", Some(50))
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        h.engine
            .contacts()
            .search(alice.id, "user", None)
            .await
            .unwrap()
            .len(),
        4
    );
}

pub async fn contacts_add_list_remove(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let dave = h.user("dave").await;
    let contacts = h.engine.contacts();

    assert!(contacts.list(alice.id).await.unwrap().is_empty());
    contacts.add(alice.id, carol.id).await.unwrap();
    contacts.add(alice.id, bob.id).await.unwrap();
    contacts.add(alice.id, bob.id).await.unwrap();
    let list = contacts.list(alice.id).await.unwrap();
    assert_eq!(
        list.iter().map(|c| c.user.id).collect::<Vec<_>>(),
        vec![bob.id, carol.id],
        "by username, each once"
    );
    assert!(list.iter().all(|c| c.added_at.is_some()));
    assert_eq!(list[0].user.username, "bob");
    assert!(
        contacts.list(bob.id).await.unwrap().is_empty(),
        "contacts are one-way"
    );

    contacts.remove(alice.id, bob.id).await.unwrap();
    assert_eq!(
        contacts
            .list(alice.id)
            .await
            .unwrap()
            .iter()
            .map(|c| c.user.id)
            .collect::<Vec<_>>(),
        vec![carol.id]
    );
    let err = contacts.remove(alice.id, bob.id).await.unwrap_err();
    assert_eq!(err.code(), "contact_not_found");
    let err = contacts.remove(alice.id, dave.id).await.unwrap_err();
    assert_eq!(err.code(), "contact_not_found");
    let err = contacts.add(alice.id, alice.id).await.unwrap_err();
    assert_eq!(err.code(), "invalid_target");
    let err = contacts.add(alice.id, UserId(999_999)).await.unwrap_err();
    assert_eq!(err.code(), "user_not_found");
    assert_eq!(contacts.list(alice.id).await.unwrap().len(), 1);
}

pub async fn presence_transitions_are_announced_once(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let mut sub = h.engine.subscribe(bob.id).await.unwrap();
    let presence = h.engine.presence();

    assert_eq!(
        presence.status(&[alice.id]).await.unwrap(),
        vec![PresenceInfo {
            user_id: alice.id,
            online: false,
            last_seen: None,
        }]
    );
    presence.connected(alice.id).await.unwrap();
    presence.connected(alice.id).await.unwrap();
    assert_eq!(
        presence_events(harness::drain(&mut sub)),
        vec![(alice.id, true, false)],
        "one event for two connections"
    );
    let status = presence.status(&[alice.id, bob.id]).await.unwrap();
    assert_eq!(status.len(), 2);
    assert_eq!(status[0].user_id, alice.id);
    assert!(status[0].online);
    assert_eq!(status[0].last_seen, None);
    assert_eq!(status[1].user_id, bob.id);
    assert!(!status[1].online);

    presence.disconnected(alice.id).await.unwrap();
    assert!(presence_events(harness::drain(&mut sub)).is_empty());
    assert!(presence.status(&[alice.id]).await.unwrap()[0].online);

    presence.disconnected(alice.id).await.unwrap();
    let events: Vec<Event> = harness::drain(&mut sub)
        .into_iter()
        .filter(|e| matches!(e, Event::Presence { .. }))
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let Event::Presence {
        user_id,
        online,
        last_seen,
    } = &events[0]
    else {
        unreachable!()
    };
    assert_eq!(*user_id, alice.id);
    assert!(!online);
    assert!(last_seen.is_some());
    let status = presence.status(&[alice.id]).await.unwrap();
    assert_eq!(
        status,
        vec![PresenceInfo {
            user_id: alice.id,
            online: false,
            last_seen: *last_seen,
        }]
    );

    // A stray disconnect announces nothing and changes nothing.
    presence.disconnected(alice.id).await.unwrap();
    assert!(presence_events(harness::drain(&mut sub)).is_empty());
    assert_eq!(presence.status(&[alice.id]).await.unwrap(), status);
    // Back online is announced again.
    presence.connected(alice.id).await.unwrap();
    assert_eq!(
        presence_events(harness::drain(&mut sub)),
        vec![(alice.id, true, false)]
    );

    let many = vec![alice.id; 1001];
    let err = presence.status(&many).await.unwrap_err();
    assert_eq!(err.code(), "too_many_users");
}

pub async fn typing_requires_membership_and_is_announced(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let rooms = h.engine.rooms();
    let public = rooms
        .create(alice.id, "chatter", RoomKind::Public, "")
        .await
        .unwrap();
    let private = rooms
        .create(alice.id, "quiet", RoomKind::Private, "")
        .await
        .unwrap();
    let presence = h.engine.presence();
    let mut sub = h.engine.subscribe(alice.id).await.unwrap();

    let err = presence.typing(bob.id, public.id, true).await.unwrap_err();
    assert_eq!(err.code(), "not_a_member");
    let err = presence.typing(bob.id, private.id, true).await.unwrap_err();
    assert_eq!(err.code(), "room_not_found");
    let err = presence.typing_in(bob.id, public.id).await.unwrap_err();
    assert_eq!(err.code(), "not_a_member");
    let err = presence.typing_in(bob.id, private.id).await.unwrap_err();
    assert_eq!(err.code(), "room_not_found");
    assert!(typing_events(harness::drain(&mut sub)).is_empty());
    assert!(
        presence
            .typing_in(alice.id, public.id)
            .await
            .unwrap()
            .is_empty()
    );

    rooms.join(bob.id, public.id).await.unwrap();
    harness::drain(&mut sub);
    presence.typing(bob.id, public.id, true).await.unwrap();
    let events: Vec<Event> = harness::drain(&mut sub);
    let typing: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Typing { .. }))
        .collect();
    assert_eq!(typing.len(), 1, "{events:?}");
    let Event::Typing {
        room_id,
        user_id,
        active,
        expires_in_ms,
    } = typing[0]
    else {
        unreachable!()
    };
    assert_eq!((*room_id, *user_id, *active), (public.id, bob.id, true));
    assert_eq!(
        *expires_in_ms,
        h.engine.limits().typing_ttl.as_millis() as u64
    );
    assert_eq!(
        presence.typing_in(alice.id, public.id).await.unwrap(),
        vec![bob.id]
    );

    // A renewal right away is not announced again.
    presence.typing(bob.id, public.id, true).await.unwrap();
    assert!(typing_events(harness::drain(&mut sub)).is_empty());
    assert_eq!(
        presence.typing_in(bob.id, public.id).await.unwrap(),
        vec![bob.id]
    );

    presence.typing(bob.id, public.id, false).await.unwrap();
    assert_eq!(
        typing_events(harness::drain(&mut sub)),
        vec![(public.id, bob.id, false)]
    );
    assert!(
        presence
            .typing_in(alice.id, public.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Stopping when not typing announces nothing.
    presence.typing(bob.id, public.id, false).await.unwrap();
    assert!(typing_events(harness::drain(&mut sub)).is_empty());
    // Typing does not touch the room's sequence.
    assert_eq!(last_seq(&h, alice.id, public.id).await.get(), 2);
}

pub async fn uploads_sniff_type_and_limit_access(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let rooms = h.engine.rooms();
    let room = rooms
        .create(alice.id, "files", RoomKind::Public, "")
        .await
        .unwrap();
    rooms.join(bob.id, room.id).await.unwrap();
    let files = h.engine.attachments();

    let meta = files
        .upload(alice.id, Some(room.id), "evil.exe", png())
        .await
        .unwrap();
    assert_eq!(
        meta.content_type, "image/png",
        "the bytes decide, not the name"
    );
    assert_eq!(meta.filename, "evil.exe");
    assert_eq!(meta.size, png().len() as i64);
    assert_eq!(meta.room_id, Some(room.id));
    let (got, data) = files.download(bob.id, meta.id).await.unwrap();
    assert_eq!(got, meta);
    assert_eq!(data, png());
    let err = files.download(carol.id, meta.id).await.unwrap_err();
    assert_eq!(
        err.code(),
        "attachment_not_found",
        "outsiders cannot tell it exists"
    );

    let named = files
        .upload(
            alice.id,
            Some(room.id),
            "../../notes.txt",
            Bytes::from_static(b"plain words\n"),
        )
        .await
        .unwrap();
    assert_eq!(named.filename, "notes.txt");
    assert_eq!(named.content_type, "text/plain; charset=utf-8");
    let html = files
        .upload(
            alice.id,
            Some(room.id),
            "page.png",
            Bytes::from_static(b"<html>\x00\x01"),
        )
        .await
        .unwrap();
    assert_eq!(html.content_type, "application/octet-stream");

    let err = files
        .upload(alice.id, Some(room.id), "empty.txt", Bytes::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "empty_file");
    let err = files
        .upload(carol.id, Some(room.id), "x.png", png())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_a_member");

    let mut limits = Limits::default();
    limits.upload_bytes = 16;
    let small = h.reopen_with(limits).await;
    let err = small
        .engine
        .attachments()
        .upload(
            alice.id,
            Some(room.id),
            "big.bin",
            Bytes::from(vec![7u8; 17]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too_large");
    let fits = small
        .engine
        .attachments()
        .upload(
            alice.id,
            Some(room.id),
            "fits.bin",
            Bytes::from(vec![7u8; 16]),
        )
        .await
        .unwrap();
    assert_eq!(fits.size, 16);

    // A message carries its files' metadata; a file alone is a message.
    let m = h
        .engine
        .messages()
        .send(
            alice.id,
            room.id,
            SendMessage {
                attachments: vec![meta.id, fits.id],
                ..text("a1", "")
            },
        )
        .await
        .unwrap();
    assert_eq!(m.body, "");
    assert_eq!(m.attachments, vec![meta.clone(), fits.clone()]);
    let history = h
        .engine
        .messages()
        .history(bob.id, room.id, HistoryQuery::default())
        .await
        .unwrap();
    assert_eq!(history.items, vec![m]);
}

pub async fn avatars_must_be_images_and_are_public(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let files = h.engine.attachments();
    let accounts = h.engine.accounts();

    let err = files
        .upload(
            alice.id,
            None,
            "me.png",
            Bytes::from_static(b"just some text"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "avatar_must_be_image");
    let avatar = files.upload(alice.id, None, "me.png", png()).await.unwrap();
    assert_eq!(avatar.room_id, None);
    assert_eq!(avatar.content_type, "image/png");

    let account = accounts
        .update_profile(
            alice.id,
            ProfileUpdate {
                avatar: Some(Some(avatar.id)),
                ..ProfileUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(account.profile.avatar, Some(avatar.id));
    assert_eq!(
        accounts.profile(carol.id, alice.id).await.unwrap().avatar,
        Some(avatar.id)
    );
    for viewer in [bob.id, carol.id, alice.id] {
        let (meta, data) = files.download(viewer, avatar.id).await.unwrap();
        assert_eq!(meta, avatar);
        assert_eq!(data, png());
    }

    // Only your own image can be your avatar.
    let err = accounts
        .update_profile(
            bob.id,
            ProfileUpdate {
                avatar: Some(Some(avatar.id)),
                ..ProfileUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_avatar");
    let general = h.engine.general_room();
    let text_file = files
        .upload(
            bob.id,
            Some(general),
            "notes.txt",
            Bytes::from_static(b"not an image"),
        )
        .await
        .unwrap();
    for bad in [text_file.id, AttachmentId(999_999)] {
        let err = accounts
            .update_profile(
                bob.id,
                ProfileUpdate {
                    avatar: Some(Some(bad)),
                    ..ProfileUpdate::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_avatar");
    }
    assert_eq!(accounts.me(bob.id).await.unwrap().profile.avatar, None);

    // Clearing works.
    let cleared = accounts
        .update_profile(
            alice.id,
            ProfileUpdate {
                avatar: Some(None),
                ..ProfileUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.profile.avatar, None);
}

pub async fn an_avatar_is_always_public(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let private = h
        .engine
        .rooms()
        .create(alice.id, "album", RoomKind::Private, "")
        .await
        .unwrap();
    let in_room = h
        .engine
        .attachments()
        .upload(alice.id, Some(private.id), "me.png", png())
        .await
        .unwrap();
    assert_eq!(in_room.content_type, "image/png");
    // An image uploaded to a room is readable by that room only, so it cannot become an
    // avatar, which everyone may see.
    let set = h
        .engine
        .accounts()
        .update_profile(
            alice.id,
            ProfileUpdate {
                avatar: Some(Some(in_room.id)),
                ..ProfileUpdate::default()
            },
        )
        .await;
    assert_eq!(set.unwrap_err().code(), "invalid_avatar");
    assert_eq!(
        h.engine
            .accounts()
            .me(alice.id)
            .await
            .unwrap()
            .profile
            .avatar,
        None
    );
    assert_eq!(
        download_error(&h, bob.id, in_room.id).await,
        "attachment_not_found"
    );
}

pub async fn outsiders_cannot_touch_a_direct_conversation(h: Harness) {
    let alice = h.user("alice").await;
    let bob = h.user("bob").await;
    let carol = h.user("carol").await;
    let dm = h
        .engine
        .rooms()
        .open_direct(alice.id, bob.id)
        .await
        .unwrap();
    let file = h
        .engine
        .attachments()
        .upload(
            alice.id,
            Some(dm.id),
            "secret.txt",
            Bytes::from_static(b"secret"),
        )
        .await
        .unwrap();
    let m = h
        .engine
        .messages()
        .send(
            alice.id,
            dm.id,
            SendMessage {
                attachments: vec![file.id],
                ..text("a1", "between us")
            },
        )
        .await
        .unwrap();
    let before = last_seq(&h, alice.id, dm.id).await;
    let messages = h.engine.messages();
    let rooms = h.engine.rooms();
    let c = carol.id;

    assert_room_calls_not_found(&h, c, dm.id, Some(bob.id), before, "c1").await;
    let general = h.engine.general_room();
    assert_message_calls_not_found(&h, c, m.id, "mine now", general, "c2").await;
    assert_eq!(download_error(&h, c, file.id).await, "attachment_not_found");
    // Replying from elsewhere to a message one cannot see is refused as well.
    let err = messages
        .send(c, general, reply("c3", "re", m.id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_reply_to");

    assert_eq!(last_seq(&h, alice.id, dm.id).await, before);
    assert_eq!(messages.get(bob.id, m.id).await.unwrap(), m);
    let members = rooms.members(bob.id, dm.id).await.unwrap();
    assert_eq!(members.len(), 2);
    assert!(members.iter().all(|mem| mem.user.id != c));
    assert!(
        rooms
            .list(c)
            .await
            .unwrap()
            .iter()
            .all(|r| r.room.id != dm.id),
        "the conversation is not listed for outsiders"
    );
}

pub async fn unknown_ids_are_not_found(h: Harness) {
    let alice = h.user("alice").await;
    let room = RoomId(999_999);
    let message = MessageId(999_999);
    let user = UserId(999_999);
    let a = alice.id;
    let messages = h.engine.messages();
    let rooms = h.engine.rooms();
    let general = h.engine.general_room();

    assert_room_calls_not_found(&h, a, room, None, Seq(1), "a1").await;
    let original = messages
        .send(a, general, text("a2", "hello"))
        .await
        .unwrap();
    assert_message_calls_not_found(&h, a, message, "x", general, "a3").await;
    // Forwarding a real message into an unknown room.
    let err = messages
        .forward(a, original.id, room, "a4".to_owned())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "room_not_found");

    let err = h
        .engine
        .notifications()
        .mark_read(a, NotificationId(999_999))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "notification_not_found");
    assert_eq!(
        download_error(&h, a, AttachmentId(999_999)).await,
        "attachment_not_found"
    );

    let user_calls = [
        (
            "profile",
            h.engine.accounts().profile(a, user).await.map(drop),
        ),
        ("me", h.engine.accounts().me(user).await.map(drop)),
        ("add contact", h.engine.contacts().add(a, user).await),
        ("block", h.engine.contacts().block(a, user).await),
        ("open_direct", rooms.open_direct(a, user).await.map(drop)),
        ("invite", {
            let own = rooms
                .create(a, "mine", RoomKind::Private, "")
                .await
                .unwrap();
            rooms.invite(a, own.id, user).await
        }),
    ];
    for (call, result) in user_calls {
        assert_eq!(result.unwrap_err().code(), "user_not_found", "{call}");
    }
    let err = h.engine.contacts().remove(a, user).await.unwrap_err();
    assert_eq!(err.code(), "contact_not_found");
}

/// Asserts that every room-scoped call `user` makes on `room` fails with `room_not_found`:
/// get, members, join, leave, invite, kick of `kicked` (when given), mark_read up to
/// `read_up_to`, history, a send with `send_client_id`, changes_after, typing, typing_in and
/// an upload, in that order.
async fn assert_room_calls_not_found(
    h: &Harness,
    user: UserId,
    room: RoomId,
    kicked: Option<UserId>,
    read_up_to: Seq,
    send_client_id: &str,
) {
    let messages = h.engine.messages();
    let rooms = h.engine.rooms();
    let presence = h.engine.presence();
    let mut room_calls = vec![
        ("get", rooms.get(user, room).await.map(drop)),
        ("members", rooms.members(user, room).await.map(drop)),
        ("join", rooms.join(user, room).await.map(drop)),
        ("leave", rooms.leave(user, room).await),
        ("invite", rooms.invite(user, room, user).await),
    ];
    if let Some(kicked) = kicked {
        room_calls.push(("kick", rooms.kick(user, room, kicked).await));
    }
    room_calls.extend([
        (
            "mark_read",
            rooms.mark_read(user, room, read_up_to).await.map(drop),
        ),
        (
            "history",
            messages
                .history(user, room, HistoryQuery::default())
                .await
                .map(drop),
        ),
        (
            "send",
            messages
                .send(user, room, text(send_client_id, "hi"))
                .await
                .map(drop),
        ),
        (
            "changes_after",
            messages
                .changes_after(user, room, Seq::ZERO, None)
                .await
                .map(drop),
        ),
        ("typing", presence.typing(user, room, true).await),
        ("typing_in", presence.typing_in(user, room).await.map(drop)),
        (
            "upload",
            h.engine
                .attachments()
                .upload(user, Some(room), "x.txt", Bytes::from_static(b"x"))
                .await
                .map(drop),
        ),
    ]);
    for (call, result) in room_calls {
        assert_eq!(result.unwrap_err().code(), "room_not_found", "{call}");
    }
}

/// Asserts that every message-scoped call `user` makes on `message` fails with
/// `message_not_found`: get, an edit to `edit_body`, delete, react, read_by and a forward
/// into `forward_to` with `forward_client_id`, in that order.
async fn assert_message_calls_not_found(
    h: &Harness,
    user: UserId,
    message: MessageId,
    edit_body: &str,
    forward_to: RoomId,
    forward_client_id: &str,
) {
    let messages = h.engine.messages();
    let rooms = h.engine.rooms();
    let message_calls = [
        ("get", messages.get(user, message).await.map(drop)),
        (
            "edit",
            messages.edit(user, message, edit_body).await.map(drop),
        ),
        ("delete", messages.delete(user, message).await),
        ("react", messages.react(user, message, "👍").await.map(drop)),
        ("read_by", rooms.read_by(user, message).await.map(drop)),
        (
            "forward",
            messages
                .forward(user, message, forward_to, forward_client_id.to_owned())
                .await
                .map(drop),
        ),
    ];
    for (call, result) in message_calls {
        assert_eq!(result.unwrap_err().code(), "message_not_found", "{call}");
    }
}
