//! Who hears what, live: presence goes to the people who share a small room or a contact
//! with the user, once; public rooms announce new activity to those not in them; reading a
//! conversation reads its notifications; a session opened while its user joins a room
//! follows that room; a session dropped without closing still releases presence.

use std::sync::Arc;

use async_trait::async_trait;
use jeco_core::Limits;
use jeco_core::event::{Event, LeaveReason};
use jeco_core::ids::{MessageId, RoomId, Seq, Timestamp, UserId};
use jeco_core::model::{Member, Role, Room, RoomSummary};
use jeco_core::session::Session;
use jeco_core::store::{MembershipSeqs, NewRoom, Opening, RoomStore, StoreResult, Stores};
use jeco_proto::ws::Incoming;
use tokio::sync::Notify;

use super::harness::{Harness, public_room, text};
use super::sessions::{next, next_in};

/// The next event the session yields that `pick` keeps, skipping the others.
async fn next_matching<T>(session: &mut Session, pick: impl Fn(Event) -> Option<T>) -> T {
    loop {
        if let Incoming::Event(e) = next(session).await
            && let Some(found) = pick(e)
        {
            return found;
        }
    }
}

/// The presence changes of `of` the session yields before the next message in `marker`
/// (which the test posts after everything it wants to see has been published).
async fn presence_before_marker(session: &mut Session, of: UserId, marker: RoomId) -> Vec<bool> {
    let mut seen = Vec::new();
    loop {
        match next(session).await {
            Incoming::Event(Event::Presence {
                user_id, online, ..
            }) if user_id == of => seen.push(online),
            Incoming::Event(Event::MessageCreated { room_id, .. }) if room_id == marker => {
                return seen;
            }
            _ => {}
        }
    }
}

pub async fn presence_reaches_room_mates_and_watchers_once(h: Harness) {
    // Everyone is in `general`; with a limit of three members it carries no presence.
    let mut limits = Limits::default();
    limits.presence_room_members = 3;
    let h = h.reopen_with(limits).await;
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let cat = h.user("cat").await;
    let dan = h.user("dan").await;
    public_room(&h, bob.id, "pair", &[ann.id]).await;
    public_room(&h, bob.id, "pair-too", &[ann.id]).await;
    h.engine.contacts().add(dan.id, ann.id).await.unwrap();
    let marker = public_room(&h, ann.id, "marker", &[bob.id, cat.id, dan.id]).await;
    let (mut b, _) = Session::open(&h.engine, bob.id).await.unwrap();
    let (mut c, _) = Session::open(&h.engine, cat.id).await.unwrap();
    let (mut d, _) = Session::open(&h.engine, dan.id).await.unwrap();

    let (a, _) = Session::open(&h.engine, ann.id).await.unwrap();
    let mark = |n: usize| {
        let engine = h.engine.clone();
        async move {
            engine
                .messages()
                .send(ann.id, marker, text(&format!("mark-{n}"), "marker"))
                .await
                .unwrap();
        }
    };
    mark(1).await;
    // Bob shares two small rooms with Ann and hears it once; Dan has her as a contact; Cat
    // shares only rooms too large for presence.
    assert_eq!(presence_before_marker(&mut b, ann.id, marker).await, [true]);
    assert_eq!(presence_before_marker(&mut d, ann.id, marker).await, [true]);
    assert_eq!(
        presence_before_marker(&mut c, ann.id, marker).await,
        Vec::<bool>::new()
    );

    a.close().await;
    mark(2).await;
    assert_eq!(
        presence_before_marker(&mut b, ann.id, marker).await,
        [false]
    );
    assert_eq!(
        presence_before_marker(&mut d, ann.id, marker).await,
        [false]
    );
    assert_eq!(
        presence_before_marker(&mut c, ann.id, marker).await,
        Vec::<bool>::new()
    );
}

pub async fn public_rooms_announce_activity_to_those_not_in_them(h: Harness) {
    let mut limits = Limits::default();
    limits.activity_interval = std::time::Duration::from_secs(3600);
    let h = h.reopen_with(limits).await;
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let news = public_room(&h, ann.id, "news", &[]).await;
    let (mut b, _) = Session::open(&h.engine, bob.id).await.unwrap();
    let mut sent = Vec::new();
    for i in 0..3 {
        let m = h
            .engine
            .messages()
            .send(ann.id, news, text(&format!("n{i}"), "breaking"))
            .await
            .unwrap();
        sent.push(m.seq);
    }
    let general = h.engine.general_room();
    h.engine
        .messages()
        .send(ann.id, general, text("marker", "marker"))
        .await
        .unwrap();
    // One announcement for the burst (throttled), before the marker.
    let mut announced = Vec::new();
    loop {
        match next(&mut b).await {
            Incoming::Event(Event::RoomActivity { room_id, last_seq }) => {
                announced.push((room_id, last_seq))
            }
            Incoming::Event(Event::MessageCreated { room_id, .. }) if room_id == general => break,
            _ => {}
        }
    }
    assert_eq!(announced, [(news, sent[0])]);

    // The room list shows the activity until Bob has looked; looking never moves back.
    let summary = |h: &Harness| {
        let engine = h.engine.clone();
        async move {
            let rooms: Vec<RoomSummary> = engine.rooms().list(bob.id).await.unwrap();
            rooms.into_iter().find(|r| r.room.id == news).unwrap()
        }
    };
    let listed = summary(&h).await;
    assert!(listed.role.is_none());
    assert!(listed.room.last_seq > listed.last_read_seq);
    let rooms = h.engine.rooms();
    assert_eq!(
        rooms.mark_read(bob.id, news, Seq(1_000_000)).await.unwrap(),
        listed.room.last_seq
    );
    assert_eq!(
        rooms.mark_read(bob.id, news, Seq(1)).await.unwrap(),
        listed.room.last_seq
    );
    let listed = summary(&h).await;
    assert_eq!(listed.last_read_seq, listed.room.last_seq);
    assert_eq!(listed.unread, 0);

    // Leaving a public room leaves it seen: one's own leaving is no news.
    rooms.join(bob.id, news).await.unwrap();
    rooms.leave(bob.id, news).await.unwrap();
    let listed = summary(&h).await;
    assert_eq!(listed.last_read_seq, listed.room.last_seq);
}

pub async fn reading_a_conversation_reads_its_notifications(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let direct = h.engine.rooms().open_direct(ann.id, bob.id).await.unwrap();
    let messages = h.engine.messages();
    let first = messages
        .send(ann.id, direct.id, text("d1", "are you there?"))
        .await
        .unwrap();
    let second = messages
        .send(ann.id, direct.id, text("d2", "hello?"))
        .await
        .unwrap();
    let general = h.engine.general_room();
    messages
        .send(ann.id, general, text("g1", "@bob see this"))
        .await
        .unwrap();
    let notes = h.engine.notifications();
    assert_eq!(notes.unread_count(bob.id).await.unwrap(), 3);
    let listed = notes.list(bob.id, None, true, None).await.unwrap().items;
    let id_of = |m: MessageId| {
        listed
            .iter()
            .find(|n| n.message_id == Some(m))
            .map(|n| n.id)
            .unwrap()
    };
    let (n1, n2) = (id_of(first.id), id_of(second.id));

    let (mut b, _) = Session::open(&h.engine, bob.id).await.unwrap();
    let read = |e: Event| match e {
        Event::NotificationsRead { ids, all, unread } => Some((ids, all, unread)),
        _ => None,
    };
    h.engine
        .rooms()
        .mark_read(bob.id, direct.id, first.seq)
        .await
        .unwrap();
    assert_eq!(next_matching(&mut b, read).await, (vec![n1], false, 2));
    h.engine
        .rooms()
        .mark_read(bob.id, direct.id, second.seq)
        .await
        .unwrap();
    assert_eq!(next_matching(&mut b, read).await, (vec![n2], false, 1));
    assert_eq!(notes.unread_count(bob.id).await.unwrap(), 1);
    notes.mark_all_read(bob.id).await.unwrap();
    assert_eq!(next_matching(&mut b, read).await, (Vec::new(), true, 0));
    b.close().await;
}

pub async fn a_dropped_session_releases_presence(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    public_room(&h, ann.id, "pair", &[bob.id]).await;
    let (mut b, _) = Session::open(&h.engine, bob.id).await.unwrap();
    let (a, _) = Session::open(&h.engine, ann.id).await.unwrap();
    let online = |e: Event| match e {
        Event::Presence {
            user_id, online, ..
        } if user_id == ann.id => Some(online),
        _ => None,
    };
    assert!(next_matching(&mut b, online).await);
    // As when a transport's task is aborted: no close.
    drop(a);
    assert!(!next_matching(&mut b, online).await);
    let status = h.engine.presence().status(&[ann.id]).await.unwrap();
    assert!(!status[0].online);
}

/// A room store that stops before reading a user's positions until the test lets it go.
struct PausingRooms {
    inner: Arc<dyn RoomStore>,
    reached: Notify,
    release: Notify,
}

#[async_trait]
impl RoomStore for PausingRooms {
    async fn create_room(
        &self,
        room: NewRoom,
        members: &[(UserId, Role)],
    ) -> StoreResult<(Room, Vec<MembershipSeqs>)> {
        self.inner.create_room(room, members).await
    }
    async fn room(&self, id: RoomId) -> StoreResult<Room> {
        self.inner.room(id).await
    }
    async fn room_by_name(&self, name: &str) -> StoreResult<Option<Room>> {
        self.inner.room_by_name(name).await
    }
    async fn direct_room(&self, dm_key: &str) -> StoreResult<Option<Room>> {
        self.inner.direct_room(dm_key).await
    }
    async fn membership(
        &self,
        room: RoomId,
        user: UserId,
    ) -> StoreResult<Option<jeco_core::store::Membership>> {
        self.inner.membership(room, user).await
    }
    async fn room_for(
        &self,
        room: RoomId,
        user: UserId,
    ) -> StoreResult<(Room, Option<jeco_core::store::Membership>)> {
        self.inner.room_for(room, user).await
    }
    async fn members(&self, room: RoomId) -> StoreResult<Vec<Member>> {
        self.inner.members(room).await
    }
    async fn add_member(
        &self,
        room: RoomId,
        user: UserId,
        role: Role,
        by: Option<UserId>,
        now: Timestamp,
    ) -> StoreResult<Option<MembershipSeqs>> {
        self.inner.add_member(room, user, role, by, now).await
    }
    async fn remove_member(
        &self,
        room: RoomId,
        user: UserId,
        reason: LeaveReason,
        by: Option<UserId>,
        now: Timestamp,
    ) -> StoreResult<Option<MembershipSeqs>> {
        self.inner.remove_member(room, user, reason, by, now).await
    }
    async fn set_role(
        &self,
        room: RoomId,
        user: UserId,
        role: Role,
        now: Timestamp,
    ) -> StoreResult<Seq> {
        self.inner.set_role(room, user, role, now).await
    }
    async fn rooms_for(&self, user: UserId) -> StoreResult<Vec<RoomSummary>> {
        self.inner.rooms_for(user).await
    }
    async fn advance_read_marker(
        &self,
        room: RoomId,
        user: UserId,
        seq: Seq,
    ) -> StoreResult<Option<Seq>> {
        self.inner.advance_read_marker(room, user, seq).await
    }
    async fn room_ids_of(&self, user: UserId) -> StoreResult<Vec<RoomId>> {
        self.inner.room_ids_of(user).await
    }
    async fn last_seqs_of(&self, user: UserId) -> StoreResult<Vec<(RoomId, Seq)>> {
        self.inner.last_seqs_of(user).await
    }
    async fn opening_of(&self, user: UserId) -> StoreResult<Option<Opening>> {
        self.reached.notify_one();
        self.release.notified().await;
        self.inner.opening_of(user).await
    }
    async fn members_named(&self, room: RoomId, usernames: &[String]) -> StoreResult<Vec<UserId>> {
        self.inner.members_named(room, usernames).await
    }
    async fn small_rooms_of(&self, user: UserId, max_members: i64) -> StoreResult<Vec<RoomId>> {
        self.inner.small_rooms_of(user, max_members).await
    }
    async fn mark_seen(&self, room: RoomId, user: UserId, seq: Seq) -> StoreResult<Seq> {
        self.inner.mark_seen(room, user, seq).await
    }
}

/// Bob joins a room in the moment between his connection following his rooms and reading
/// their positions: the connection still follows it, and hears what is said there.
pub async fn a_room_joined_while_a_session_opens_is_followed(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let late = public_room(&h, ann.id, "late", &[]).await;
    let stores = h.stores().await;
    let rooms = Arc::new(PausingRooms {
        inner: stores.rooms.clone(),
        reached: Notify::new(),
        release: Notify::new(),
    });
    let engine = h
        .engine_with_stores(Stores {
            rooms: rooms.clone(),
            ..stores
        })
        .await;
    let opening = {
        let engine = engine.clone();
        tokio::spawn(async move { Session::open(&engine, bob.id).await.unwrap() })
    };
    rooms.reached.notified().await;
    let joining = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.rooms().join(bob.id, late).await.unwrap() })
    };
    let joined = joining.await.unwrap();
    rooms.release.notify_one();
    let (mut session, _ready) = opening.await.unwrap();
    let m = engine
        .messages()
        .send(ann.id, late, text("after", "welcome"))
        .await
        .unwrap();
    match next_in(&mut session, late).await {
        Event::MessageCreated { seq, .. } => assert_eq!(seq, m.seq),
        other => panic!(
            "expected the new message, got {other:?} (joined at {})",
            joined.last_seq
        ),
    }
    session.close().await;
}
