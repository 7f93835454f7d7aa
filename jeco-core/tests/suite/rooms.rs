//! Rooms: group rooms, membership and roles, direct rooms, blocks, read markers.

use jeco_core::ids::{RoomId, Seq, UserId};
use jeco_core::model::{NotificationKind, Role, RoomKind, RoomSummary};
use jeco_core::service::HistoryQuery;

use super::harness::{Harness, text};

fn summary(rooms: &[RoomSummary], id: RoomId) -> Option<&RoomSummary> {
    rooms.iter().find(|r| r.room.id == id)
}

pub async fn create_list_join_leave(h: Harness) {
    let ann = h.user("ann").await;
    let ben = h.user("ben").await;
    let rooms = h.engine.rooms();
    let family = rooms
        .create(ann.id, "Family", RoomKind::Public, "  our room ")
        .await
        .unwrap();
    assert_eq!(family.name.as_deref(), Some("family"));
    assert_eq!(family.topic, "our room");
    assert_eq!(family.member_count, 1);

    // Listed for everyone, joined by nobody else yet.
    let listed = rooms.list(ben.id).await.unwrap();
    assert_eq!(summary(&listed, family.id).unwrap().role, None);
    assert_eq!(
        h.engine
            .messages()
            .history(ben.id, family.id, HistoryQuery::default())
            .await
            .unwrap_err()
            .code(),
        "not_a_member"
    );

    let joined = rooms.join(ben.id, family.id).await.unwrap();
    assert_eq!(joined.member_count, 2);
    // Joining twice changes nothing.
    assert_eq!(
        rooms.join(ben.id, family.id).await.unwrap().last_seq,
        joined.last_seq
    );
    let members = rooms.members(ben.id, family.id).await.unwrap();
    let roles: Vec<(UserId, Role)> = members.iter().map(|m| (m.user.id, m.role)).collect();
    assert_eq!(roles, vec![(ann.id, Role::Owner), (ben.id, Role::Member)]);
    assert_eq!(
        summary(&rooms.list(ben.id).await.unwrap(), family.id)
            .unwrap()
            .role,
        Some(Role::Member)
    );

    rooms.leave(ben.id, family.id).await.unwrap();
    assert_eq!(rooms.get(ben.id, family.id).await.unwrap().member_count, 1);
    assert_eq!(
        h.engine
            .messages()
            .send(ben.id, family.id, text("c1", "still here?"))
            .await
            .unwrap_err()
            .code(),
        "not_a_member"
    );
    assert_eq!(
        rooms.leave(ben.id, family.id).await.unwrap_err().code(),
        "not_a_member"
    );
}

pub async fn room_name_rules_and_uniqueness(h: Harness) {
    let cat = h.user("cat").await;
    let rooms = h.engine.rooms();
    for bad in ["x", "-dash", "has space", "ünï", &"a".repeat(65)] {
        assert_eq!(
            rooms
                .create(cat.id, bad, RoomKind::Public, "")
                .await
                .unwrap_err()
                .code(),
            "invalid_room_name",
            "{bad}"
        );
    }
    assert_eq!(
        rooms
            .create(cat.id, "dm", RoomKind::Direct, "")
            .await
            .unwrap_err()
            .code(),
        "invalid_kind"
    );
    assert_eq!(
        rooms
            .create(cat.id, "topic", RoomKind::Public, &"t".repeat(251))
            .await
            .unwrap_err()
            .code(),
        "too_long"
    );
    rooms
        .create(cat.id, "friends", RoomKind::Public, "")
        .await
        .unwrap();
    assert_eq!(
        rooms
            .create(cat.id, "FRIENDS", RoomKind::Private, "")
            .await
            .unwrap_err()
            .code(),
        "room_name_taken"
    );
    assert_eq!(
        rooms
            .create(cat.id, "general", RoomKind::Public, "")
            .await
            .unwrap_err()
            .code(),
        "room_name_taken"
    );
    // Only the one room was created, besides general.
    let names: Vec<Option<String>> = rooms
        .list(cat.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.room.name)
        .collect();
    assert_eq!(
        names,
        vec![Some("friends".to_owned()), Some("general".to_owned())]
    );
}

pub async fn private_room_hidden_until_invited(h: Harness) {
    let owner = h.user("owner").await;
    let member = h.user("member").await;
    let outsider = h.user("outsider").await;
    let rooms = h.engine.rooms();
    let secret = rooms
        .create(owner.id, "secret", RoomKind::Private, "")
        .await
        .unwrap();

    assert!(summary(&rooms.list(outsider.id).await.unwrap(), secret.id).is_none());
    for code in [
        rooms.get(outsider.id, secret.id).await.unwrap_err().code(),
        rooms.join(outsider.id, secret.id).await.unwrap_err().code(),
        rooms
            .members(outsider.id, secret.id)
            .await
            .unwrap_err()
            .code(),
        h.engine
            .messages()
            .send(outsider.id, secret.id, text("c1", "let me in"))
            .await
            .unwrap_err()
            .code(),
    ] {
        assert_eq!(code, "room_not_found");
    }

    rooms.invite(owner.id, secret.id, member.id).await.unwrap();
    assert_eq!(
        summary(&rooms.list(member.id).await.unwrap(), secret.id)
            .unwrap()
            .role,
        Some(Role::Member)
    );
    let invites = h
        .engine
        .notifications()
        .list(member.id, None, false, None)
        .await
        .unwrap();
    assert_eq!(invites.items.len(), 1);
    assert_eq!(invites.items[0].kind, NotificationKind::Invite);
    assert_eq!(invites.items[0].room_id, secret.id);
    assert_eq!(invites.items[0].actor.id, owner.id);

    // A plain member may not add people.
    assert_eq!(
        rooms
            .invite(member.id, secret.id, outsider.id)
            .await
            .unwrap_err()
            .code(),
        "not_allowed"
    );
    assert_eq!(
        rooms
            .invite(owner.id, secret.id, UserId(999_999))
            .await
            .unwrap_err()
            .code(),
        "user_not_found"
    );
    assert_eq!(
        rooms.get(owner.id, secret.id).await.unwrap().member_count,
        2
    );
}

pub async fn kick_and_roles(h: Harness) {
    let owner = h.user("owner").await;
    let admin = h.user("admin").await;
    let m1 = h.user("memberone").await;
    let m2 = h.user("membertwo").await;
    let rooms = h.engine.rooms();
    let room = rooms
        .create(owner.id, "club", RoomKind::Public, "")
        .await
        .unwrap();
    for u in [&admin, &m1, &m2] {
        rooms.join(u.id, room.id).await.unwrap();
    }
    assert_eq!(
        rooms
            .set_role(admin.id, room.id, m1.id, Role::Admin)
            .await
            .unwrap_err()
            .code(),
        "not_allowed"
    );
    rooms
        .set_role(owner.id, room.id, admin.id, Role::Admin)
        .await
        .unwrap();

    assert_eq!(
        rooms.kick(m1.id, room.id, m2.id).await.unwrap_err().code(),
        "not_allowed"
    );
    assert_eq!(
        rooms
            .kick(admin.id, room.id, owner.id)
            .await
            .unwrap_err()
            .code(),
        "not_allowed"
    );
    assert_eq!(
        rooms
            .kick(admin.id, room.id, admin.id)
            .await
            .unwrap_err()
            .code(),
        "invalid_target"
    );
    rooms.kick(admin.id, room.id, m1.id).await.unwrap();
    assert_eq!(
        rooms
            .kick(admin.id, room.id, m1.id)
            .await
            .unwrap_err()
            .code(),
        "member_not_found"
    );
    assert_eq!(
        h.engine
            .messages()
            .history(m1.id, room.id, HistoryQuery::default())
            .await
            .unwrap_err()
            .code(),
        "not_a_member"
    );
    // The kick is in the kicked user's feed.
    let feed = h
        .engine
        .notifications()
        .feed_after(m1.id, Seq::ZERO, None)
        .await
        .unwrap()
        .events;
    assert!(matches!(
        feed.last(),
        Some(jeco_core::event::Event::Membership { room_id, joined: false, .. }) if *room_id == room.id
    ));

    // Handing over ownership makes the old owner an admin.
    rooms
        .set_role(owner.id, room.id, m2.id, Role::Owner)
        .await
        .unwrap();
    let roles: Vec<(UserId, Role)> = rooms
        .members(owner.id, room.id)
        .await
        .unwrap()
        .iter()
        .map(|m| (m.user.id, m.role))
        .collect();
    assert_eq!(
        roles,
        vec![
            (m2.id, Role::Owner),
            (owner.id, Role::Admin),
            (admin.id, Role::Admin)
        ]
    );
}

pub async fn owner_leaving_hands_over(h: Harness) {
    let owner = h.user("owner").await;
    let first = h.user("first").await;
    let second = h.user("second").await;
    let rooms = h.engine.rooms();
    let room = rooms
        .create(owner.id, "book-club", RoomKind::Public, "")
        .await
        .unwrap();
    rooms.join(first.id, room.id).await.unwrap();
    rooms.join(second.id, room.id).await.unwrap();
    rooms.leave(owner.id, room.id).await.unwrap();
    let members = rooms.members(first.id, room.id).await.unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(
        (members[0].user.id, members[0].role),
        (first.id, Role::Owner)
    );
    assert_eq!(
        (members[1].user.id, members[1].role),
        (second.id, Role::Member)
    );
}

pub async fn direct_room_is_unique_and_private(h: Harness) {
    let a = h.user("anna").await;
    let b = h.user("bert").await;
    let c = h.user("cleo").await;
    let rooms = h.engine.rooms();
    let ab = rooms.open_direct(a.id, b.id).await.unwrap();
    let ba = rooms.open_direct(b.id, a.id).await.unwrap();
    assert_eq!(ab.id, ba.id);
    assert_eq!(ab.kind, RoomKind::Direct);
    assert_eq!(ab.member_count, 2);

    let listed = rooms.list(b.id).await.unwrap();
    let dm = summary(&listed, ab.id).unwrap();
    assert_eq!(dm.peer.as_ref().unwrap().id, a.id);
    assert!(summary(&rooms.list(c.id).await.unwrap(), ab.id).is_none());

    h.engine
        .messages()
        .send(a.id, ab.id, text("c1", "hi bert"))
        .await
        .unwrap();
    assert_eq!(
        h.engine
            .messages()
            .history(c.id, ab.id, HistoryQuery::default())
            .await
            .unwrap_err()
            .code(),
        "room_not_found"
    );
    assert_eq!(
        rooms.open_direct(a.id, a.id).await.unwrap_err().code(),
        "invalid_target"
    );
    assert_eq!(
        rooms
            .open_direct(a.id, UserId(999_999))
            .await
            .unwrap_err()
            .code(),
        "user_not_found"
    );
    assert_eq!(
        rooms.leave(a.id, ab.id).await.unwrap_err().code(),
        "not_allowed"
    );
    assert_eq!(
        rooms.invite(a.id, ab.id, c.id).await.unwrap_err().code(),
        "not_allowed"
    );
}

pub async fn block_stops_direct_messages(h: Harness) {
    let a = h.user("amy").await;
    let b = h.user("bob").await;
    let c = h.user("cal").await;
    let rooms = h.engine.rooms();
    let messages = h.engine.messages();
    let ab = rooms.open_direct(a.id, b.id).await.unwrap();
    let earlier = messages
        .send(a.id, ab.id, text("a0", "before"))
        .await
        .unwrap();
    let general = h.engine.general_room();
    let (_, shared) = super::harness::send_png(&h, b.id, general, "g1", "a picture").await;
    h.engine.contacts().block(a.id, b.id).await.unwrap();
    assert_eq!(h.engine.contacts().blocked(a.id).await.unwrap()[0].id, b.id);

    let before = rooms.get(a.id, ab.id).await.unwrap().last_seq;
    for (from, cid) in [(b.id, "b1"), (a.id, "a1")] {
        assert_eq!(
            messages
                .send(from, ab.id, text(cid, "hello?"))
                .await
                .unwrap_err()
                .code(),
            "blocked"
        );
    }
    // Reactions and forwards into the blocked conversation are refused too, and a refused
    // forward leaves no copied files behind.
    assert_eq!(
        messages
            .react(b.id, earlier.id, "👍")
            .await
            .unwrap_err()
            .code(),
        "blocked"
    );
    let rows = h.row_counts().await;
    assert_eq!(
        messages
            .forward(b.id, shared.id, ab.id, "fw".into())
            .await
            .unwrap_err()
            .code(),
        "blocked"
    );
    assert_eq!(h.row_counts().await, rows);
    assert_eq!(rooms.get(a.id, ab.id).await.unwrap().last_seq, before);
    let ac = rooms.open_direct(a.id, c.id).await.unwrap();
    assert_ne!(ac.id, ab.id);
    h.engine.contacts().block(c.id, a.id).await.unwrap();
    assert_eq!(
        rooms.open_direct(a.id, c.id).await.unwrap_err().code(),
        "blocked"
    );

    // Blocks also stop invitations.
    let room = rooms
        .create(a.id, "private-a", RoomKind::Private, "")
        .await
        .unwrap();
    assert_eq!(
        rooms.invite(a.id, room.id, b.id).await.unwrap_err().code(),
        "blocked"
    );

    h.engine.contacts().unblock(a.id, b.id).await.unwrap();
    messages
        .send(b.id, ab.id, text("b2", "hello again"))
        .await
        .unwrap();
    assert_eq!(
        h.engine
            .contacts()
            .block(a.id, a.id)
            .await
            .unwrap_err()
            .code(),
        "invalid_target"
    );
}

pub async fn read_markers_unread_and_read_by(h: Harness) {
    let a = h.user("alma").await;
    let b = h.user("bea").await;
    let c = h.user("cyd").await;
    let rooms = h.engine.rooms();
    let messages = h.engine.messages();
    let room = rooms
        .create(a.id, "readers", RoomKind::Public, "")
        .await
        .unwrap();
    rooms.join(b.id, room.id).await.unwrap();
    rooms.join(c.id, room.id).await.unwrap();
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(
            messages
                .send(
                    a.id,
                    room.id,
                    text(&format!("m{i}"), &format!("message {i}")),
                )
                .await
                .unwrap(),
        );
    }
    let unread = |rooms: Vec<RoomSummary>| summary(&rooms, room.id).unwrap().unread;
    assert_eq!(unread(rooms.list(b.id).await.unwrap()), 3);
    // One's own messages are never unread.
    assert_eq!(unread(rooms.list(a.id).await.unwrap()), 0);

    let mut sub = h.engine.subscribe(a.id).await.unwrap();
    let at = rooms.mark_read(b.id, room.id, sent[1].seq).await.unwrap();
    assert_eq!(at, sent[1].seq);
    assert_eq!(unread(rooms.list(b.id).await.unwrap()), 1);
    let events = super::harness::drain(&mut sub);
    assert!(events.iter().any(|e| matches!(
        e,
        jeco_core::event::Event::Read { user_id, seq, .. } if *user_id == b.id && *seq == sent[1].seq
    )));

    let names = |refs: Vec<jeco_core::model::UserRef>| -> Vec<UserId> {
        refs.into_iter().map(|u| u.id).collect()
    };
    assert_eq!(
        names(rooms.read_by(a.id, sent[0].id).await.unwrap()),
        vec![b.id]
    );
    assert!(rooms.read_by(a.id, sent[2].id).await.unwrap().is_empty());

    // The watermark never moves back, and never past the room's last change.
    assert_eq!(
        rooms.mark_read(b.id, room.id, Seq(1)).await.unwrap(),
        sent[1].seq
    );
    let last = rooms.get(b.id, room.id).await.unwrap().last_seq;
    assert_eq!(
        rooms
            .mark_read(c.id, room.id, Seq(1_000_000))
            .await
            .unwrap(),
        last
    );
    assert_eq!(unread(rooms.list(c.id).await.unwrap()), 0);
    assert_eq!(
        names(rooms.read_by(a.id, sent[2].id).await.unwrap()),
        vec![c.id]
    );
    assert_eq!(
        rooms
            .mark_read(b.id, room.id, Seq(-1))
            .await
            .unwrap_err()
            .code(),
        "invalid_seq"
    );
    // Deleted messages do not count as unread.
    messages.delete(a.id, sent[2].id).await.unwrap();
    assert_eq!(unread(rooms.list(b.id).await.unwrap()), 0);
}
