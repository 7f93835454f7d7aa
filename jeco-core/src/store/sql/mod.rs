//! The SQL stores: SQLite and PostgreSQL through sqlx.
//!
//! Both dialects run the very same statements (sqlx accepts `$1` placeholders for SQLite too,
//! and the schema keeps types that both map alike: BIGINT/INTEGER, TEXT, BOOLEAN). The trait
//! implementations are therefore written once, in `impl_sql_store!`, and stamped out for
//! each backend type, which only has to say where its writer and reader pools are.
//!
//! Queries are built at run time (`query_as` + `FromRow`) rather than checked at compile time:
//! with two dialects, compile-time checking would need a live database or committed metadata
//! for each, and the shared conformance suite already runs every statement on both.

mod rows;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::store::StoreError;

/// Turns sqlx errors into store errors: unique violations become `Conflict`, a missing row
/// `NotFound`, everything else stays whole for the log.
fn map_err(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match e {
        sqlx::Error::RowNotFound => StoreError::NotFound(what),
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        other => StoreError::Backend(Box::new(other)),
    }
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Most sends committed in one transaction.
const MAX_BATCH: usize = 256;

/// What one send in a group commit came to.
enum Outcome {
    /// Appended, with its notifications and its turn to be published.
    New(
        Box<crate::model::Message>,
        Vec<(crate::ids::UserId, crate::model::Notification)>,
        crate::store::PublishTurn,
    ),
    /// Already sent with this client id: that message's id.
    Existing(crate::ids::MessageId),
}

type Job = (
    crate::store::NewMessage,
    tokio::sync::oneshot::Sender<crate::store::StoreResult<Outcome>>,
);
type Jobs = tokio::sync::mpsc::UnboundedReceiver<Job>;

/// Group commit for sends. Each send is handed to a task that owns the write path for its
/// room's messages; the task takes every send waiting at that moment (up to [`MAX_BATCH`])
/// and commits them in a single transaction, so concurrent sends share one disk flush instead
/// of queueing for one each. Nothing waits for a batch to fill: a lone send is committed at
/// once, and under load the batch is whatever arrived during the previous commit. Every caller
/// is answered only after the commit, so "durable before acknowledged" holds for each message.
///
/// SQLite has one writer anyway, so it gets one task. PostgreSQL gets several, each on its own
/// connection, with a room always on the same one: rooms commit in parallel, and one room's
/// messages still queue in one place.
#[derive(Clone, Debug)]
pub(crate) struct Appender {
    shards: Vec<tokio::sync::mpsc::UnboundedSender<Job>>,
}

impl Appender {
    fn new(shards: usize) -> (Appender, Vec<Jobs>) {
        let (senders, receivers) = (0..shards.max(1))
            .map(|_| tokio::sync::mpsc::unbounded_channel())
            .unzip();
        (Appender { shards: senders }, receivers)
    }

    /// Appends `message` with the next group; answers once that group is committed.
    async fn append(
        &self,
        message: crate::store::NewMessage,
    ) -> crate::store::StoreResult<Outcome> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Backend("the message writer has stopped".into());
        let shard = message.room_id.get().rem_euclid(self.shards.len() as i64) as usize;
        self.shards[shard]
            .send((message, reply))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The next group of sends: waits for one, then takes whatever else is already waiting.
async fn next_batch(jobs: &mut Jobs) -> Option<Vec<Job>> {
    let first = jobs.recv().await?;
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Implements every store trait for `$store`, whose `writer()` and `reader()` return pools of
/// database `$db`.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $begin_write:expr) => {
        mod store_impl {
            use async_trait::async_trait;
            use sqlx::{Pool, Transaction};

            use super::super::rows::*;
            use super::super::{Outcome, backend, map_err};
            use crate::event::{Event, LeaveReason};
            use crate::ids::*;
            use crate::model::*;
            use crate::store::*;

            type Tx = Transaction<'static, $db>;

            /// How a transaction that will write starts.
            const BEGIN_WRITE: &str = $begin_write;

            /// Takes the room's next sequence number, locking its row until commit.
            async fn next_room_seq(tx: &mut Tx, room: RoomId, member_delta: i64) -> StoreResult<Seq> {
                sqlx::query_scalar::<_, i64>(
                    "UPDATE rooms SET last_seq = last_seq + 1, member_count = member_count + $2 \
                     WHERE id = $1 RETURNING last_seq",
                )
                .bind(room.get())
                .bind(member_delta)
                .fetch_one(&mut **tx)
                .await
                .map(Seq)
                .map_err(map_err("room"))
            }

            #[allow(clippy::too_many_arguments)]
            async fn log_room_event(
                tx: &mut Tx,
                room: RoomId,
                seq: Seq,
                kind: &str,
                message: Option<MessageId>,
                user: Option<UserId>,
                actor: Option<UserId>,
                detail: Option<&str>,
                now: Timestamp,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO room_events \
                     (room_id, seq, kind, message_id, user_id, actor_id, detail, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(room.get())
                .bind(seq.get())
                .bind(kind)
                .bind(message.map(MessageId::get))
                .bind(user.map(UserId::get))
                .bind(actor.map(UserId::get))
                .bind(detail)
                .bind(now.0)
                .execute(&mut **tx)
                .await
                .map(drop)
                .map_err(backend)
            }

            /// Appends to a user's feed; returns the entry's row id and feed sequence.
            #[allow(clippy::too_many_arguments)]
            async fn append_feed(
                tx: &mut Tx,
                user: UserId,
                kind: &str,
                is_notification: bool,
                room: RoomId,
                room_seq: Option<Seq>,
                message: Option<MessageId>,
                actor: Option<UserId>,
                detail: Option<&str>,
                now: Timestamp,
            ) -> StoreResult<(i64, Seq)> {
                let seq: i64 = sqlx::query_scalar(
                    "UPDATE users SET feed_seq = feed_seq + 1 WHERE id = $1 RETURNING feed_seq",
                )
                .bind(user.get())
                .fetch_one(&mut **tx)
                .await
                .map_err(map_err("user"))?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO user_events (user_id, seq, kind, is_notification, room_id, \
                     room_seq, message_id, actor_id, detail, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(user.get())
                .bind(seq)
                .bind(kind)
                .bind(is_notification)
                .bind(room.get())
                .bind(room_seq.map(Seq::get))
                .bind(message.map(MessageId::get))
                .bind(actor.map(UserId::get))
                .bind(detail)
                .bind(now.0)
                .fetch_one(&mut **tx)
                .await
                .map_err(backend)?;
                Ok((id, Seq(seq)))
            }

            /// Creates the notifications about a message, at most one per user (the first listed
            /// wins), locking users in id order so concurrent transactions cannot deadlock.
            async fn notify_about(
                tx: &mut Tx,
                room: RoomId,
                message: MessageId,
                actor: &UserRef,
                notify: &[(UserId, NotificationKind)],
                now: Timestamp,
            ) -> StoreResult<Vec<(UserId, Notification)>> {
                let mut notify = notify.to_vec();
                notify.sort_by_key(|(u, _)| *u);
                notify.dedup_by_key(|(u, _)| *u);
                let mut notifications = Vec::with_capacity(notify.len());
                for (user, kind) in notify {
                    let (nid, feed_seq) = append_feed(
                        tx,
                        user,
                        kind.as_str(),
                        true,
                        room,
                        None,
                        Some(message),
                        Some(actor.id),
                        None,
                        now,
                    )
                    .await?;
                    notifications.push((user, Notification {
                        id: NotificationId(nid),
                        feed_seq,
                        kind,
                        room_id: room,
                        message_id: Some(message),
                        actor: actor.clone(),
                        detail: None,
                        created_at: now,
                        read: false,
                    }));
                }
                Ok(notifications)
            }

            /// Starts the `shards` tasks that commit sends to `pool` in groups (see
            /// [`super::super::Appender`]), each group reported to `observers`.
            pub(super) fn appender(
                pool: Pool<$db>,
                shards: usize,
                observers: crate::observe::Observers,
            ) -> super::super::Appender {
                let (appender, jobs) = super::super::Appender::new(shards);
                for jobs in jobs {
                    tokio::spawn(run_appender(pool.clone(), jobs, observers.clone()));
                }
                appender
            }

            /// Takes every send that is waiting, commits them in one transaction, answers each,
            /// and starts over; ends when the store is dropped.
            async fn run_appender(
                pool: Pool<$db>,
                mut jobs: super::super::Jobs,
                observers: crate::observe::Observers,
            ) {
                let turnstile = std::sync::Arc::new(Turnstile::default());
                while let Some(batch) = super::super::next_batch(&mut jobs).await {
                    let (messages, replies): (Vec<NewMessage>, Vec<_>) = batch.into_iter().unzip();
                    let (sends, started) = (messages.len(), std::time::Instant::now());
                    let results = append_batch(&pool, messages).await;
                    if let Some(observer) = observers.get() {
                        observer.committed(sends, started.elapsed());
                    }
                    for (reply, mut result) in replies.into_iter().zip(results) {
                        // Turns in commit order: their callers publish in sequence order.
                        if let Ok(Outcome::New(_, _, turn)) = &mut result {
                            *turn = turnstile.issue();
                        }
                        // A caller that went away still has its message committed; a retry
                        // with the same client id finds it.
                        let _ = reply.send(result);
                    }
                }
            }

            /// Appends `messages`, answering each. They are first tried together in one
            /// transaction; if any of them fails (rare: the service checked them, so this
            /// is a lost race or a broken database), that transaction is rolled back and each
            /// is appended on its own, so one bad message never takes the others down.
            async fn append_batch(
                pool: &Pool<$db>,
                messages: Vec<NewMessage>,
            ) -> Vec<StoreResult<Outcome>> {
                if let Ok(outcomes) = append_together(pool, &messages).await {
                    return outcomes.into_iter().map(Ok).collect();
                }
                let mut results = Vec::with_capacity(messages.len());
                for m in &messages {
                    results.push(append_together(pool, std::slice::from_ref(m)).await.and_then(
                        |mut one| one.pop().ok_or(StoreError::NotFound("message")),
                    ));
                }
                results
            }

            /// All of `messages` in one transaction, or none.
            async fn append_together(
                pool: &Pool<$db>,
                messages: &[NewMessage],
            ) -> StoreResult<Vec<Outcome>> {
                let mut tx = pool.begin_with(BEGIN_WRITE).await.map_err(backend)?;
                let mut senders = std::collections::HashMap::new();
                let mut outcomes = Vec::with_capacity(messages.len());
                for m in messages {
                    outcomes.push(append_one(&mut tx, m, &mut senders).await?);
                }
                tx.commit().await.map_err(backend)?;
                Ok(outcomes)
            }

            /// Appends one message inside the batch's transaction, or finds the one the sender
            /// already sent with this client id (earlier, or earlier in this very batch).
            /// `senders` keeps the senders' names already read in this transaction.
            async fn append_one(
                tx: &mut Tx,
                m: &NewMessage,
                senders: &mut std::collections::HashMap<UserId, UserRef>,
            ) -> StoreResult<Outcome> {
                let existing: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM messages WHERE room_id = $1 AND sender_id = $2 AND client_id = $3",
                )
                .bind(m.room_id.get())
                .bind(m.sender_id.get())
                .bind(&m.client_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(backend)?;
                if let Some(id) = existing {
                    return Ok(Outcome::Existing(MessageId(id)));
                }
                let seq = next_room_seq(tx, m.room_id, 0).await?;
                let attachments = attachments_json(&m.attachments);
                let mentions = json_of(&m.mentions);
                let id = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO messages (room_id, seq, sender_id, client_id, body, reply_to, \
                     forwarded_from, attachments, mentions, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(m.room_id.get())
                .bind(seq.get())
                .bind(m.sender_id.get())
                .bind(&m.client_id)
                .bind(&m.body)
                .bind(m.reply_to.map(MessageId::get))
                .bind(m.forwarded_from.map(MessageId::get))
                .bind(&attachments)
                .bind(&mentions)
                .bind(m.now.0)
                .fetch_one(&mut **tx)
                .await
                // A retry with the same client id on another node won the race.
                .map_err(map_err("message"))
                .map(MessageId)?;
                log_room_event(
                    tx,
                    m.room_id,
                    seq,
                    kind::MESSAGE_CREATED,
                    Some(id),
                    Some(m.sender_id),
                    None,
                    None,
                    m.now,
                )
                .await?;
                let sender = match senders.get(&m.sender_id) {
                    Some(sender) => sender.clone(),
                    None => {
                        let sender = user_ref(tx, m.sender_id).await?;
                        senders.insert(m.sender_id, sender.clone());
                        sender
                    }
                };
                let notifications = notify_about(tx, m.room_id, id, &sender, &m.notify, m.now).await?;
                let message = Message {
                    id,
                    room_id: m.room_id,
                    seq,
                    sender,
                    client_id: m.client_id.clone(),
                    body: m.body.clone(),
                    reply_to: m.reply_to,
                    forwarded_from: m.forwarded_from,
                    attachments: m.attachments.clone(),
                    mentions: m.mentions.clone(),
                    reactions: Vec::new(),
                    created_at: m.now,
                    edited_at: None,
                    deleted: false,
                };
                Ok(Outcome::New(Box::new(message), notifications, PublishTurn::now()))
            }

            async fn user_ref(tx: &mut Tx, id: UserId) -> StoreResult<UserRef> {
                sqlx::query_as::<_, UserRefRow>(
                    "SELECT id, username, display_name FROM users WHERE id = $1",
                )
                .bind(id.get())
                .fetch_one(&mut **tx)
                .await
                .map(UserRef::from)
                .map_err(map_err("user"))
            }

            async fn add_member_tx(
                tx: &mut Tx,
                room: RoomId,
                user: UserId,
                role: Role,
                by: Option<UserId>,
                now: Timestamp,
            ) -> StoreResult<Option<MembershipSeqs>> {
                let inserted = sqlx::query(
                    "INSERT INTO room_members (room_id, user_id, role, joined_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(room.get())
                .bind(user.get())
                .bind(role.as_str())
                .bind(now.0)
                .execute(&mut **tx)
                .await
                .map_err(map_err("member"))?
                .rows_affected();
                if inserted == 0 {
                    return Ok(None);
                }
                let room_seq = next_room_seq(tx, room, 1).await?;
                log_room_event(
                    tx,
                    room,
                    room_seq,
                    kind::MEMBER_JOINED,
                    None,
                    Some(user),
                    by,
                    Some(role.as_str()),
                    now,
                )
                .await?;
                let (_, feed_seq) =
                    append_feed(tx, user, kind::FEED_JOINED, false, room, Some(room_seq), None, by, None, now)
                        .await?;
                Ok(Some(MembershipSeqs { room_seq, feed_seq }))
            }

            async fn messages_where(
                pool: &Pool<$db>,
                filter: &str,
                binds: &[i64],
            ) -> StoreResult<Vec<Message>> {
                let sql = format!("{MESSAGE_SELECT} {filter}");
                let mut q = sqlx::query_as::<_, MessageRow>(&sql);
                for b in binds {
                    q = q.bind(*b);
                }
                let rows = q.fetch_all(pool).await.map_err(backend)?;
                rows.into_iter().map(MessageRow::into_message).collect()
            }

            /// Loads messages by id with their reactions.
            async fn messages_by_id(pool: &Pool<$db>, ids: &[i64]) -> StoreResult<Vec<Message>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let list = placeholders(1, ids.len());
                let mut messages =
                    messages_where(pool, &format!("WHERE m.id IN ({list})"), ids).await?;
                let sql = format!(
                    "SELECT message_id, user_id, emoji FROM reactions \
                     WHERE message_id IN ({list}) ORDER BY id"
                );
                let mut q = sqlx::query_as::<_, ReactionRow>(&sql);
                for id in ids {
                    q = q.bind(*id);
                }
                let reactions = q.fetch_all(pool).await.map_err(backend)?;
                attach_reactions(&mut messages, reactions);
                Ok(messages)
            }

            async fn user_refs_by_id(pool: &Pool<$db>, ids: &[i64]) -> StoreResult<Vec<UserRef>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT id, username, display_name FROM users WHERE id IN ({})",
                    placeholders(1, ids.len())
                );
                let mut q = sqlx::query_as::<_, UserRefRow>(&sql);
                for id in ids {
                    q = q.bind(*id);
                }
                let rows = q.fetch_all(pool).await.map_err(backend)?;
                Ok(rows.into_iter().map(UserRef::from).collect())
            }

            /// Adds (with its time) or removes one row of a two-user relation (contacts,
            /// blocks); whether a row changed.
            async fn change_pair(
                pool: &Pool<$db>,
                sql: &str,
                a: UserId,
                b: UserId,
                now: Option<Timestamp>,
            ) -> StoreResult<bool> {
                let mut q = sqlx::query(sql).bind(a.get()).bind(b.get());
                if let Some(now) = now {
                    q = q.bind(now.0);
                }
                let n = q.execute(pool).await.map_err(backend)?.rows_affected();
                Ok(n > 0)
            }

            const USER_COLUMNS: &str =
                "id, username, email, display_name, avatar_id, bio, created_at";

            #[async_trait]
            impl UserStore for $store {
                async fn create_user(&self, user: NewUser) -> StoreResult<Account> {
                    let sql = format!(
                        "INSERT INTO users (username, email, password_hash, created_at) \
                         VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}"
                    );
                    let row = sqlx::query_as::<_, UserRow>(&sql)
                        .bind(&user.username)
                        .bind(&user.email)
                        .bind(&user.password_hash)
                        .bind(user.now.0)
                        .fetch_one(self.writer())
                        .await;
                    match row {
                        Ok(row) => Ok(row.into_account()),
                        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                            // Tell which of the two unique fields clashed.
                            let taken: Option<i64> =
                                sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                                    .bind(&user.username)
                                    .fetch_optional(self.writer())
                                    .await
                                    .map_err(backend)?;
                            Err(StoreError::Conflict(if taken.is_some() {
                                "username"
                            } else {
                                "email"
                            }))
                        }
                        Err(e) => Err(backend(e)),
                    }
                }

                async fn account(&self, id: UserId) -> StoreResult<Account> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                    sqlx::query_as::<_, UserRow>(&sql)
                        .bind(id.get())
                        .fetch_one(self.reader())
                        .await
                        .map(UserRow::into_account)
                        .map_err(map_err("user"))
                }

                async fn profile(&self, id: UserId) -> StoreResult<Profile> {
                    self.account(id).await.map(|a| a.profile)
                }

                async fn user_refs(&self, ids: &[UserId]) -> StoreResult<Vec<UserRef>> {
                    let ids: Vec<i64> = ids.iter().map(|u| u.get()).collect();
                    user_refs_by_id(self.reader(), &ids).await
                }

                async fn credentials(&self, login: &str) -> StoreResult<Option<(UserId, String)>> {
                    let row: Option<(i64, String)> = sqlx::query_as(
                        "SELECT id, password_hash FROM users WHERE username = $1 OR email = $1",
                    )
                    .bind(login)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(row.map(|(id, hash)| (UserId(id), hash)))
                }

                async fn password_hash(&self, id: UserId) -> StoreResult<String> {
                    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                        .bind(id.get())
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_err("user"))
                }

                async fn set_password_hash(&self, id: UserId, hash: &str) -> StoreResult<()> {
                    let n = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                        .bind(id.get())
                        .bind(hash)
                        .execute(self.writer())
                        .await
                        .map_err(backend)?
                        .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound("user"));
                    }
                    Ok(())
                }

                async fn user_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
                    let row = sqlx::query_as::<_, UserRow>(&sql)
                        .bind(email)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(backend)?;
                    Ok(row.map(UserRow::into_account))
                }

                async fn update_profile(
                    &self,
                    id: UserId,
                    display_name: Option<&str>,
                    avatar: Option<Option<AttachmentId>>,
                    bio: Option<&str>,
                ) -> StoreResult<Account> {
                    let sql = format!(
                        "UPDATE users SET \
                         display_name = COALESCE($2, display_name), \
                         avatar_id = CASE WHEN $3 THEN $4 ELSE avatar_id END, \
                         bio = COALESCE($5, bio) \
                         WHERE id = $1 RETURNING {USER_COLUMNS}"
                    );
                    sqlx::query_as::<_, UserRow>(&sql)
                        .bind(id.get())
                        .bind(display_name)
                        .bind(avatar.is_some())
                        .bind(avatar.flatten().map(AttachmentId::get))
                        .bind(bio)
                        .fetch_one(self.writer())
                        .await
                        .map(UserRow::into_account)
                        .map_err(map_err("user"))
                }

                async fn search_users(
                    &self,
                    viewer: UserId,
                    prefix: &str,
                    email: Option<&str>,
                    limit: i64,
                ) -> StoreResult<Vec<UserRef>> {
                    // A prefix range rather than LIKE, so both dialects use the unique index.
                    let upper = format!("{prefix}{}", char::MAX);
                    let rows = sqlx::query_as::<_, UserRefRow>(
                        "SELECT id, username, display_name FROM users \
                         WHERE id <> $1 AND ((username >= $2 AND username < $3) OR email = $4) \
                         ORDER BY username LIMIT $5",
                    )
                    .bind(viewer.get())
                    .bind(prefix)
                    .bind(upper)
                    .bind(email)
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(rows.into_iter().map(UserRef::from).collect())
                }
            }

            #[async_trait]
            impl TokenStore for $store {
                async fn insert_refresh(
                    &self,
                    user: UserId,
                    family: &str,
                    digest: &str,
                    now: Timestamp,
                    expires: Timestamp,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO refresh_tokens (digest, user_id, family, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(digest)
                    .bind(user.get())
                    .bind(family)
                    .bind(now.0)
                    .bind(expires.0)
                    .execute(self.writer())
                    .await
                    .map(drop)
                    .map_err(map_err("refresh token"))
                }

                async fn rotate_refresh(
                    &self,
                    digest: &str,
                    next_digest: &str,
                    now: Timestamp,
                    next_expires: Timestamp,
                ) -> StoreResult<Rotation> {
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let row: Option<(i64, String, i64, Option<i64>, Option<i64>)> =
                        sqlx::query_as(
                            "SELECT user_id, family, expires_at, used_at, revoked_at \
                             FROM refresh_tokens WHERE digest = $1",
                        )
                        .bind(digest)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend)?;
                    let Some((user, family, expires_at, used_at, revoked_at)) = row else {
                        return Ok(Rotation::Invalid);
                    };
                    if revoked_at.is_some() || expires_at <= now.0 {
                        return Ok(Rotation::Invalid);
                    }
                    let claimed = if used_at.is_none() {
                        sqlx::query(
                            "UPDATE refresh_tokens SET used_at = $2 \
                             WHERE digest = $1 AND used_at IS NULL",
                        )
                        .bind(digest)
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?
                        .rows_affected()
                            == 1
                    } else {
                        false
                    };
                    if !claimed {
                        sqlx::query(
                            "UPDATE refresh_tokens SET revoked_at = $2 \
                             WHERE family = $1 AND revoked_at IS NULL",
                        )
                        .bind(&family)
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                        tx.commit().await.map_err(backend)?;
                        return Ok(Rotation::Reused(UserId(user)));
                    }
                    sqlx::query(
                        "INSERT INTO refresh_tokens (digest, user_id, family, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(next_digest)
                    .bind(user)
                    .bind(&family)
                    .bind(now.0)
                    .bind(next_expires.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    tx.commit().await.map_err(backend)?;
                    Ok(Rotation::Rotated(UserId(user)))
                }

                async fn revoke_refresh_family(&self, digest: &str, now: Timestamp) -> StoreResult<bool> {
                    let n = sqlx::query(
                        "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family = \
                         (SELECT family FROM refresh_tokens WHERE digest = $1 AND revoked_at IS NULL)",
                    )
                    .bind(digest)
                    .bind(now.0)
                    .execute(self.writer())
                    .await
                    .map_err(backend)?
                    .rows_affected();
                    Ok(n > 0)
                }

                async fn revoke_all_refresh(&self, user: UserId, now: Timestamp) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE refresh_tokens SET revoked_at = $2 \
                         WHERE user_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(user.get())
                    .bind(now.0)
                    .execute(self.writer())
                    .await
                    .map(drop)
                    .map_err(backend)
                }

                async fn insert_reset(
                    &self,
                    user: UserId,
                    digest: &str,
                    now: Timestamp,
                    expires: Timestamp,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO password_resets (digest, user_id, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(digest)
                    .bind(user.get())
                    .bind(now.0)
                    .bind(expires.0)
                    .execute(self.writer())
                    .await
                    .map(drop)
                    .map_err(map_err("reset token"))
                }

                async fn consume_reset(
                    &self,
                    digest: &str,
                    new_hash: &str,
                    now: Timestamp,
                ) -> StoreResult<Option<UserId>> {
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let user: Option<i64> = sqlx::query_scalar(
                        "UPDATE password_resets SET used_at = $2 \
                         WHERE digest = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
                    )
                    .bind(digest)
                    .bind(now.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                    let Some(user) = user else {
                        return Ok(None);
                    };
                    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                        .bind(user)
                        .bind(new_hash)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    sqlx::query(
                        "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
                    )
                    .bind(user)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    sqlx::query(
                        "UPDATE refresh_tokens SET revoked_at = $2 \
                         WHERE user_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(user)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    tx.commit().await.map_err(backend)?;
                    Ok(Some(UserId(user)))
                }
            }

            #[async_trait]
            impl RoomStore for $store {
                async fn create_room(
                    &self,
                    room: NewRoom,
                    members: &[(UserId, Role)],
                ) -> StoreResult<(Room, Vec<MembershipSeqs>)> {
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO rooms (kind, name, dm_key, topic, created_by, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(room.kind.as_str())
                    .bind(&room.name)
                    .bind(&room.dm_key)
                    .bind(&room.topic)
                    .bind(room.created_by.map(UserId::get))
                    .bind(room.now.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err("room"))?;
                    let mut sorted = members.to_vec();
                    sorted.sort_by_key(|(u, _)| *u);
                    let mut seqs = Vec::with_capacity(sorted.len());
                    for (user, role) in sorted {
                        let by = room.created_by.filter(|c| *c != user);
                        if let Some(s) = add_member_tx(&mut tx, RoomId(id), user, role, by, room.now).await? {
                            seqs.push(s);
                        }
                    }
                    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.id = $1");
                    let created = sqlx::query_as::<_, RoomRow>(&sql)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(backend)?
                        .into_room()?;
                    tx.commit().await.map_err(backend)?;
                    Ok((created, seqs))
                }

                async fn room(&self, id: RoomId) -> StoreResult<Room> {
                    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.id = $1");
                    sqlx::query_as::<_, RoomRow>(&sql)
                        .bind(id.get())
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_err("room"))?
                        .into_room()
                }

                async fn room_by_name(&self, name: &str) -> StoreResult<Option<Room>> {
                    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.name = $1");
                    sqlx::query_as::<_, RoomRow>(&sql)
                        .bind(name)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(backend)?
                        .map(RoomRow::into_room)
                        .transpose()
                }

                async fn direct_room(&self, dm_key: &str) -> StoreResult<Option<Room>> {
                    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.dm_key = $1");
                    sqlx::query_as::<_, RoomRow>(&sql)
                        .bind(dm_key)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(backend)?
                        .map(RoomRow::into_room)
                        .transpose()
                }

                async fn membership(&self, room: RoomId, user: UserId) -> StoreResult<Option<Membership>> {
                    let row: Option<(String, i64)> = sqlx::query_as(
                        "SELECT role, last_read_seq FROM room_members WHERE room_id = $1 AND user_id = $2",
                    )
                    .bind(room.get())
                    .bind(user.get())
                    .fetch_optional(self.reader())
                    .await
                    .map_err(backend)?;
                    row.map(|(role, seq)| {
                        Ok(Membership {
                            role: parse_role(&role)?,
                            last_read_seq: Seq(seq),
                        })
                    })
                    .transpose()
                }

                async fn room_for(&self, room: RoomId, user: UserId) -> StoreResult<(Room, Option<Membership>)> {
                    let sql = format!(
                        "SELECT {ROOM_COLUMNS}, m.role AS member_role, m.last_read_seq AS member_last_read \
                         FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2 \
                         WHERE r.id = $1"
                    );
                    let row = sqlx::query_as::<_, RoomForRow>(&sql)
                        .bind(room.get())
                        .bind(user.get())
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_err("room"))?;
                    let membership = match (row.member_role, row.member_last_read) {
                        (Some(role), Some(seq)) => Some(Membership {
                            role: parse_role(&role)?,
                            last_read_seq: Seq(seq),
                        }),
                        _ => None,
                    };
                    Ok((row.room.into_room()?, membership))
                }

                async fn members(&self, room: RoomId) -> StoreResult<Vec<Member>> {
                    let rows = sqlx::query_as::<_, MemberRow>(
                        "SELECT u.id, u.username, u.display_name, rm.role, rm.joined_at, rm.last_read_seq \
                         FROM room_members rm JOIN users u ON u.id = rm.user_id \
                         WHERE rm.room_id = $1 ORDER BY rm.joined_at, u.id",
                    )
                    .bind(room.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    let mut members = rows
                        .into_iter()
                        .map(|r| {
                            Ok(Member {
                                role: parse_role(&r.role)?,
                                user: UserRef {
                                    id: UserId(r.id),
                                    username: r.username,
                                    display_name: r.display_name,
                                },
                                joined_at: Timestamp(r.joined_at),
                                last_read_seq: Seq(r.last_read_seq),
                            })
                        })
                        .collect::<StoreResult<Vec<_>>>()?;
                    // Stable: within a role, join order is kept.
                    members.sort_by(|a, b| b.role.cmp(&a.role));
                    Ok(members)
                }

                async fn add_member(
                    &self,
                    room: RoomId,
                    user: UserId,
                    role: Role,
                    by: Option<UserId>,
                    now: Timestamp,
                ) -> StoreResult<Option<MembershipSeqs>> {
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let seqs = add_member_tx(&mut tx, room, user, role, by, now).await?;
                    tx.commit().await.map_err(backend)?;
                    Ok(seqs)
                }

                async fn remove_member(
                    &self,
                    room: RoomId,
                    user: UserId,
                    reason: LeaveReason,
                    by: Option<UserId>,
                    now: Timestamp,
                ) -> StoreResult<Option<MembershipSeqs>> {
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let removed = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
                        .bind(room.get())
                        .bind(user.get())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?
                        .rows_affected();
                    if removed == 0 {
                        return Ok(None);
                    }
                    let room_seq = next_room_seq(&mut tx, room, -1).await?;
                    let detail = match reason {
                        LeaveReason::Left => "left",
                        LeaveReason::Kicked => "kicked",
                    };
                    log_room_event(
                        &mut tx,
                        room,
                        room_seq,
                        kind::MEMBER_LEFT,
                        None,
                        Some(user),
                        by,
                        Some(detail),
                        now,
                    )
                    .await?;
                    let (_, feed_seq) =
                        append_feed(&mut tx, user, kind::FEED_LEFT, false, room, Some(room_seq), None, by, None, now)
                            .await?;
                    tx.commit().await.map_err(backend)?;
                    Ok(Some(MembershipSeqs { room_seq, feed_seq }))
                }

                async fn set_role(
                    &self,
                    room: RoomId,
                    user: UserId,
                    role: Role,
                    now: Timestamp,
                ) -> StoreResult<Seq> {
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let n = sqlx::query(
                        "UPDATE room_members SET role = $3 WHERE room_id = $1 AND user_id = $2",
                    )
                    .bind(room.get())
                    .bind(user.get())
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound("member"));
                    }
                    let seq = next_room_seq(&mut tx, room, 0).await?;
                    log_room_event(
                        &mut tx,
                        room,
                        seq,
                        kind::MEMBER_ROLE,
                        None,
                        Some(user),
                        None,
                        Some(role.as_str()),
                        now,
                    )
                    .await?;
                    tx.commit().await.map_err(backend)?;
                    Ok(seq)
                }

                async fn rooms_for(&self, user: UserId) -> StoreResult<Vec<RoomSummary>> {
                    let sql = format!(
                        "SELECT {ROOM_COLUMNS}, rm.role, \
                         COALESCE(rm.last_read_seq, rv.seen_seq, 0) AS last_read_seq, \
                         (SELECT COUNT(*) FROM messages m WHERE m.room_id = r.id \
                            AND m.seq > rm.last_read_seq AND m.sender_id <> $1 \
                            AND m.deleted_at IS NULL) AS unread \
                         FROM rooms r LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = $1 \
                         LEFT JOIN room_views rv ON rv.room_id = r.id AND rv.user_id = $1 \
                            AND rm.user_id IS NULL \
                         WHERE r.kind = 'public' OR rm.user_id IS NOT NULL \
                         ORDER BY r.kind = 'direct', r.name, r.id LIMIT 1000"
                    );
                    let rows = sqlx::query_as::<_, RoomSummaryRow>(&sql)
                        .bind(user.get())
                        .fetch_all(self.reader())
                        .await
                        .map_err(backend)?;
                    let peers: Vec<(i64, i64, String, String)> = sqlx::query_as(
                        "SELECT other.room_id, u.id, u.username, u.display_name \
                         FROM room_members me \
                         JOIN rooms r ON r.id = me.room_id AND r.kind = 'direct' \
                         JOIN room_members other ON other.room_id = me.room_id AND other.user_id <> me.user_id \
                         JOIN users u ON u.id = other.user_id \
                         WHERE me.user_id = $1",
                    )
                    .bind(user.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    rows.into_iter()
                        .map(|r| {
                            let room = r.room.into_room()?;
                            let peer = peers
                                .iter()
                                .find(|p| p.0 == room.id.get())
                                .map(|p| UserRef {
                                    id: UserId(p.1),
                                    username: p.2.clone(),
                                    display_name: p.3.clone(),
                                });
                            Ok(RoomSummary {
                                role: r.role.as_deref().map(parse_role).transpose()?,
                                last_read_seq: Seq(r.last_read_seq),
                                unread: r.unread,
                                peer,
                                room,
                            })
                        })
                        .collect()
                }

                async fn advance_read_marker(
                    &self,
                    room: RoomId,
                    user: UserId,
                    seq: Seq,
                ) -> StoreResult<Option<Seq>> {
                    let moved: Option<i64> = sqlx::query_scalar(
                        "UPDATE room_members SET last_read_seq = $3 \
                         WHERE room_id = $1 AND user_id = $2 AND last_read_seq < $3 \
                         RETURNING last_read_seq",
                    )
                    .bind(room.get())
                    .bind(user.get())
                    .bind(seq.get())
                    .fetch_optional(self.writer())
                    .await
                    .map_err(backend)?;
                    Ok(moved.map(Seq))
                }

                async fn small_rooms_of(&self, user: UserId, max_members: i64) -> StoreResult<Vec<RoomId>> {
                    let ids: Vec<i64> = sqlx::query_scalar(
                        "SELECT r.id FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
                         WHERE rm.user_id = $1 AND r.member_count <= $2 ORDER BY r.id",
                    )
                    .bind(user.get())
                    .bind(max_members)
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(ids.into_iter().map(RoomId).collect())
                }

                async fn mark_seen(&self, room: RoomId, user: UserId, seq: Seq) -> StoreResult<Seq> {
                    sqlx::query_scalar(
                        "INSERT INTO room_views (user_id, room_id, seen_seq) VALUES ($1, $2, $3) \
                         ON CONFLICT (user_id, room_id) DO UPDATE SET seen_seq = CASE \
                            WHEN room_views.seen_seq < excluded.seen_seq THEN excluded.seen_seq \
                            ELSE room_views.seen_seq END \
                         RETURNING seen_seq",
                    )
                    .bind(user.get())
                    .bind(room.get())
                    .bind(seq.get())
                    .fetch_one(self.writer())
                    .await
                    .map(Seq)
                    .map_err(map_err("room"))
                }

                async fn room_ids_of(&self, user: UserId) -> StoreResult<Vec<RoomId>> {
                    let ids: Vec<i64> = sqlx::query_scalar(
                        "SELECT room_id FROM room_members WHERE user_id = $1 ORDER BY room_id",
                    )
                    .bind(user.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(ids.into_iter().map(RoomId).collect())
                }

                async fn last_seqs_of(&self, user: UserId) -> StoreResult<Vec<(RoomId, Seq)>> {
                    let rows: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT r.id, r.last_seq FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
                         WHERE rm.user_id = $1 ORDER BY r.id",
                    )
                    .bind(user.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(rows.into_iter().map(|(r, s)| (RoomId(r), Seq(s))).collect())
                }

                async fn opening_of(&self, user: UserId) -> StoreResult<Option<crate::store::Opening>> {
                    // The feed position rides along as a row with room id -1, each blocked user
                    // as a row with room id -2 (no room has either).
                    let rows: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT r.id, r.last_seq FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
                         WHERE rm.user_id = $1 \
                         UNION ALL SELECT -1, feed_seq FROM users WHERE id = $1 \
                         UNION ALL SELECT -2, blocked_id FROM blocks WHERE blocker_id = $1",
                    )
                    .bind(user.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    let mut feed = None;
                    let mut rooms = Vec::with_capacity(rows.len());
                    let mut blocked = Vec::new();
                    for (room, value) in rows {
                        match room {
                            -1 => feed = Some(Seq(value)),
                            -2 => blocked.push(UserId(value)),
                            _ => rooms.push((RoomId(room), Seq(value))),
                        }
                    }
                    let feed = feed.ok_or(StoreError::NotFound("user"))?;
                    Ok(Some(crate::store::Opening { rooms, feed, blocked }))
                }

                async fn members_named(&self, room: RoomId, usernames: &[String]) -> StoreResult<Vec<UserId>> {
                    if usernames.is_empty() {
                        return Ok(Vec::new());
                    }
                    let sql = format!(
                        "SELECT rm.user_id FROM room_members rm JOIN users u ON u.id = rm.user_id \
                         WHERE rm.room_id = $1 AND u.username IN ({}) ORDER BY rm.user_id",
                        placeholders(2, usernames.len())
                    );
                    let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(room.get());
                    for name in usernames {
                        q = q.bind(name);
                    }
                    let ids = q.fetch_all(self.reader()).await.map_err(backend)?;
                    Ok(ids.into_iter().map(UserId).collect())
                }
            }

            #[async_trait]
            impl MessageStore for $store {
                async fn message_by_client_id(
                    &self,
                    room: RoomId,
                    sender: UserId,
                    client_id: &str,
                ) -> StoreResult<Option<Message>> {
                    // The writer sees every committed send, including one committed a moment ago
                    // by a concurrent retry.
                    let id: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM messages WHERE room_id = $1 AND sender_id = $2 AND client_id = $3",
                    )
                    .bind(room.get())
                    .bind(sender.get())
                    .bind(client_id)
                    .fetch_optional(self.writer())
                    .await
                    .map_err(backend)?;
                    match id {
                        Some(id) => Ok(messages_by_id(self.writer(), &[id]).await?.pop()),
                        None => Ok(None),
                    }
                }

                async fn append_message(&self, m: NewMessage) -> StoreResult<Appended> {
                    let (room, sender, client_id) = (m.room_id, m.sender_id, m.client_id.clone());
                    let outcome = match self.appender().append(m).await {
                        // A retry with the same client id on another node committed first;
                        // its message is the answer.
                        Err(StoreError::Conflict("message")) => {
                            return self
                                .message_by_client_id(room, sender, &client_id)
                                .await?
                                .map(Appended::Existing)
                                .ok_or(StoreError::NotFound("message"));
                        }
                        other => other?,
                    };
                    match outcome {
                        Outcome::New(message, notifications, turn) => {
                            Ok(Appended::New(*message, notifications, turn))
                        }
                        Outcome::Existing(id) => Ok(Appended::Existing(
                            messages_by_id(self.writer(), &[id.get()])
                                .await?
                                .pop()
                                .ok_or(StoreError::NotFound("message"))?,
                        )),
                    }
                }

                async fn message(&self, id: MessageId) -> StoreResult<Message> {
                    messages_by_id(self.reader(), &[id.get()])
                        .await?
                        .pop()
                        .ok_or(StoreError::NotFound("message"))
                }

                async fn edit_message(&self, edit: MessageEdit<'_>) -> StoreResult<Edited> {
                    let MessageEdit { id, body, mentions, notify, now } = edit;
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let (room, sender): (i64, i64) = sqlx::query_as(
                        "UPDATE messages SET body = $2, mentions = $3, edited_at = $4 \
                         WHERE id = $1 AND deleted_at IS NULL RETURNING room_id, sender_id",
                    )
                    .bind(id.get())
                    .bind(body)
                    .bind(json_of(&mentions))
                    .bind(now.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err("message"))?;
                    let room = RoomId(room);
                    let seq = next_room_seq(&mut tx, room, 0).await?;
                    log_room_event(&mut tx, room, seq, kind::MESSAGE_EDITED, Some(id), None, None, None, now)
                        .await?;
                    let author = user_ref(&mut tx, UserId(sender)).await?;
                    let notifications = notify_about(&mut tx, room, id, &author, notify, now).await?;
                    tx.commit().await.map_err(backend)?;
                    let message = messages_by_id(self.writer(), &[id.get()])
                        .await?
                        .pop()
                        .ok_or(StoreError::NotFound("message"))?;
                    Ok(Edited { seq, message, notifications })
                }

                async fn delete_message(&self, id: MessageId, by: UserId, now: Timestamp) -> StoreResult<Seq> {
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let room: i64 = sqlx::query_scalar(
                        "SELECT room_id FROM messages WHERE id = $1",
                    )
                    .bind(id.get())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err("message"))?;
                    // The room's sequence before anything else: it locks the room row, so a
                    // reaction being added at the same moment either commits first (and its
                    // row is deleted below) or waits and finds the message deleted.
                    let seq = next_room_seq(&mut tx, RoomId(room), 0).await?;
                    let files: String = sqlx::query_scalar(
                        "SELECT attachments FROM messages WHERE id = $1 AND deleted_at IS NULL",
                    )
                    .bind(id.get())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err("message"))?;
                    sqlx::query(
                        "UPDATE messages SET body = '', attachments = '[]', mentions = '[]', deleted_at = $2 \
                         WHERE id = $1",
                    )
                    .bind(id.get())
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    // The files go with the message: their records are removed, so nobody can
                    // download them by id any more. (Forwarded copies have records of their own.)
                    let files: Vec<AttachmentMeta> =
                        serde_json::from_str(&files).map_err(|e| StoreError::Backend(Box::new(e)))?;
                    if !files.is_empty() {
                        let sql = format!(
                            "DELETE FROM attachments WHERE id IN ({})",
                            placeholders(1, files.len())
                        );
                        let mut q = sqlx::query(&sql);
                        for f in &files {
                            q = q.bind(f.id.get());
                        }
                        q.execute(&mut *tx).await.map_err(backend)?;
                    }
                    sqlx::query("DELETE FROM reactions WHERE message_id = $1")
                        .bind(id.get())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    log_room_event(&mut tx, RoomId(room), seq, kind::MESSAGE_DELETED, Some(id), None, Some(by), None, now)
                        .await?;
                    tx.commit().await.map_err(backend)?;
                    Ok(seq)
                }

                async fn history(&self, room: RoomId, from: HistoryFrom, limit: i64) -> StoreResult<Vec<Message>> {
                    let pool = self.reader();
                    let mut messages = match from {
                        HistoryFrom::Latest => {
                            messages_where(pool, "WHERE m.room_id = $1 ORDER BY m.seq DESC LIMIT $2", &[room.get(), limit]).await?
                        }
                        HistoryFrom::Before(seq) => {
                            messages_where(
                                pool,
                                "WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3",
                                &[room.get(), seq.get(), limit],
                            )
                            .await?
                        }
                        HistoryFrom::After(seq) => {
                            messages_where(
                                pool,
                                "WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3",
                                &[room.get(), seq.get(), limit],
                            )
                            .await?
                        }
                    };
                    let (Some(lo), Some(hi)) = (
                        messages.iter().map(|m| m.seq.get()).min(),
                        messages.iter().map(|m| m.seq.get()).max(),
                    ) else {
                        return Ok(messages);
                    };
                    let reactions = sqlx::query_as::<_, ReactionRow>(
                        "SELECT message_id, user_id, emoji FROM reactions \
                         WHERE room_id = $1 AND message_seq BETWEEN $2 AND $3 ORDER BY id",
                    )
                    .bind(room.get())
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                    attach_reactions(&mut messages, reactions);
                    Ok(messages)
                }

                async fn change_reaction(&self, change: ReactionChange<'_>) -> StoreResult<Reacted> {
                    let ReactionChange { message, user, emoji, want, max_per_user, notify, now } = change;
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    // The room's sequence first: it locks the room row, so every other write
                    // to the room (a delete, the same reaction from another request) waits
                    // until this one commits or rolls back, and what is read below holds.
                    let seq = next_room_seq(&mut tx, message.room_id, 0).await?;
                    let (deleted, present, mine): (bool, bool, i64) = sqlx::query_as(
                        "SELECT m.deleted_at IS NOT NULL, \
                         EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = m.id \
                                 AND r.user_id = $2 AND r.emoji = $3), \
                         (SELECT COUNT(DISTINCT r.emoji) FROM reactions r \
                          WHERE r.message_id = m.id AND r.user_id = $2) \
                         FROM messages m WHERE m.id = $1",
                    )
                    .bind(message.id.get())
                    .bind(user.get())
                    .bind(emoji)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err("message"))?;
                    let add = want.unwrap_or(!present);
                    let refused = if deleted {
                        Some(Reacted::MessageDeleted)
                    } else if add == present {
                        Some(Reacted::Unchanged { present })
                    } else if add && usize::try_from(mine).unwrap_or(usize::MAX) >= max_per_user {
                        Some(Reacted::TooMany)
                    } else {
                        None
                    };
                    if let Some(refused) = refused {
                        tx.rollback().await.map_err(backend)?;
                        return Ok(refused);
                    }
                    if add {
                        sqlx::query(
                            "INSERT INTO reactions (message_id, user_id, emoji, room_id, message_seq, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(message.id.get())
                        .bind(user.get())
                        .bind(emoji)
                        .bind(message.room_id.get())
                        .bind(message.seq.get())
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    } else {
                        sqlx::query(
                            "DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3",
                        )
                        .bind(message.id.get())
                        .bind(user.get())
                        .bind(emoji)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    }
                    let kind = if add { kind::REACTION_ADDED } else { kind::REACTION_REMOVED };
                    log_room_event(&mut tx, message.room_id, seq, kind, Some(message.id), Some(user), None, Some(emoji), now)
                        .await?;
                    let mut notification = None;
                    if let (true, Some(recipient)) = (add, notify) {
                        let (nid, feed_seq) = append_feed(
                            &mut tx,
                            recipient,
                            NotificationKind::Reaction.as_str(),
                            true,
                            message.room_id,
                            None,
                            Some(message.id),
                            Some(user),
                            Some(emoji),
                            now,
                        )
                        .await?;
                        notification = Some(Notification {
                            id: NotificationId(nid),
                            feed_seq,
                            kind: NotificationKind::Reaction,
                            room_id: message.room_id,
                            message_id: Some(message.id),
                            actor: user_ref(&mut tx, user).await?,
                            detail: Some(emoji.to_owned()),
                            created_at: now,
                            read: false,
                        });
                    }
                    tx.commit().await.map_err(backend)?;
                    Ok(Reacted::Changed { added: add, seq, notification })
                }

                async fn changes_after(&self, room: RoomId, after: Seq, limit: i64) -> StoreResult<Vec<Event>> {
                    let rows = sqlx::query_as::<_, RoomEventRow>(
                        "SELECT seq, kind, message_id, user_id, actor_id, detail FROM room_events \
                         WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    )
                    .bind(room.get())
                    .bind(after.get())
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    let mut message_ids: Vec<i64> = rows
                        .iter()
                        .filter(|r| r.kind == kind::MESSAGE_CREATED || r.kind == kind::MESSAGE_EDITED)
                        .filter_map(|r| r.message_id)
                        .collect();
                    message_ids.sort_unstable();
                    message_ids.dedup();
                    let mut user_ids: Vec<i64> = rows
                        .iter()
                        .filter(|r| r.kind == kind::MEMBER_JOINED)
                        .filter_map(|r| r.user_id)
                        .collect();
                    user_ids.sort_unstable();
                    user_ids.dedup();
                    let messages = messages_by_id(self.reader(), &message_ids).await?;
                    let users = user_refs_by_id(self.reader(), &user_ids).await?;
                    room_events(room, rows, &messages, &users)
                }

                async fn read_by(&self, room: RoomId, seq: Seq, except: UserId) -> StoreResult<Vec<UserRef>> {
                    let rows = sqlx::query_as::<_, UserRefRow>(
                        "SELECT u.id, u.username, u.display_name FROM room_members rm \
                         JOIN users u ON u.id = rm.user_id \
                         WHERE rm.room_id = $1 AND rm.last_read_seq >= $2 AND rm.user_id <> $3 \
                         ORDER BY u.username",
                    )
                    .bind(room.get())
                    .bind(seq.get())
                    .bind(except.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(rows.into_iter().map(UserRef::from).collect())
                }
            }

            #[async_trait]
            impl FeedStore for $store {
                async fn notify(
                    &self,
                    user: UserId,
                    kind: NotificationKind,
                    room: RoomId,
                    actor: UserId,
                    now: Timestamp,
                ) -> StoreResult<Notification> {
                    let mut tx = self.writer().begin().await.map_err(backend)?;
                    let (id, feed_seq) =
                        append_feed(&mut tx, user, kind.as_str(), true, room, None, None, Some(actor), None, now).await?;
                    let actor = user_ref(&mut tx, actor).await?;
                    tx.commit().await.map_err(backend)?;
                    Ok(Notification {
                        id: NotificationId(id),
                        feed_seq,
                        kind,
                        room_id: room,
                        message_id: None,
                        actor,
                        detail: None,
                        created_at: now,
                        read: false,
                    })
                }

                async fn notifications(
                    &self,
                    user: UserId,
                    before: Option<NotificationId>,
                    unread_only: bool,
                    limit: i64,
                ) -> StoreResult<Vec<Notification>> {
                    let sql = format!(
                        "{NOTIFICATION_SELECT} WHERE e.user_id = $1 AND e.is_notification \
                         AND e.id < $2 {} ORDER BY e.id DESC LIMIT $3",
                        if unread_only { "AND e.read_at IS NULL" } else { "" }
                    );
                    let rows = sqlx::query_as::<_, FeedRow>(&sql)
                        .bind(user.get())
                        .bind(before.map_or(i64::MAX, NotificationId::get))
                        .bind(limit)
                        .fetch_all(self.reader())
                        .await
                        .map_err(backend)?;
                    rows.into_iter().map(FeedRow::into_notification).collect()
                }

                async fn unread_notifications(&self, user: UserId) -> StoreResult<i64> {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM user_events \
                         WHERE user_id = $1 AND is_notification AND read_at IS NULL",
                    )
                    .bind(user.get())
                    .fetch_one(self.reader())
                    .await
                    .map_err(backend)
                }

                async fn mark_notification_read(
                    &self,
                    user: UserId,
                    id: NotificationId,
                    now: Timestamp,
                ) -> StoreResult<bool> {
                    let mine: Option<Option<i64>> = sqlx::query_scalar(
                        "SELECT read_at FROM user_events WHERE id = $1 AND user_id = $2 AND is_notification",
                    )
                    .bind(id.get())
                    .bind(user.get())
                    .fetch_optional(self.writer())
                    .await
                    .map_err(backend)?;
                    match mine {
                        None => Err(StoreError::NotFound("notification")),
                        Some(Some(_)) => Ok(false),
                        Some(None) => sqlx::query(
                            "UPDATE user_events SET read_at = $3 \
                             WHERE id = $1 AND user_id = $2 AND read_at IS NULL",
                        )
                        .bind(id.get())
                        .bind(user.get())
                        .bind(now.0)
                        .execute(self.writer())
                        .await
                        .map(|done| done.rows_affected() > 0)
                        .map_err(backend),
                    }
                }

                async fn mark_room_notifications_read(
                    &self,
                    user: UserId,
                    room: RoomId,
                    seq: Seq,
                    now: Timestamp,
                ) -> StoreResult<Vec<NotificationId>> {
                    let ids: Vec<i64> = sqlx::query_scalar(
                        "UPDATE user_events SET read_at = $4 \
                         WHERE user_id = $1 AND room_id = $2 AND is_notification AND read_at IS NULL \
                         AND (message_id IS NULL OR message_id IN \
                              (SELECT id FROM messages WHERE room_id = $2 AND seq <= $3)) \
                         RETURNING id",
                    )
                    .bind(user.get())
                    .bind(room.get())
                    .bind(seq.get())
                    .bind(now.0)
                    .fetch_all(self.writer())
                    .await
                    .map_err(backend)?;
                    Ok(ids.into_iter().map(NotificationId).collect())
                }

                async fn mark_all_notifications_read(&self, user: UserId, now: Timestamp) -> StoreResult<i64> {
                    let n = sqlx::query(
                        "UPDATE user_events SET read_at = $2 \
                         WHERE user_id = $1 AND is_notification AND read_at IS NULL",
                    )
                    .bind(user.get())
                    .bind(now.0)
                    .execute(self.writer())
                    .await
                    .map_err(backend)?
                    .rows_affected();
                    Ok(n as i64)
                }

                async fn feed_seq(&self, user: UserId) -> StoreResult<Seq> {
                    sqlx::query_scalar("SELECT feed_seq FROM users WHERE id = $1")
                        .bind(user.get())
                        .fetch_one(self.reader())
                        .await
                        .map(Seq)
                        .map_err(map_err("user"))
                }

                async fn feed_after(&self, user: UserId, after: Seq, limit: i64) -> StoreResult<Vec<Event>> {
                    let sql = format!(
                        "{NOTIFICATION_SELECT} WHERE e.user_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3"
                    );
                    let rows = sqlx::query_as::<_, FeedRow>(&sql)
                        .bind(user.get())
                        .bind(after.get())
                        .bind(limit)
                        .fetch_all(self.reader())
                        .await
                        .map_err(backend)?;
                    rows.into_iter().map(FeedRow::into_event).collect()
                }
            }

            #[async_trait]
            impl ContactStore for $store {
                async fn add_contact(&self, owner: UserId, contact: UserId, now: Timestamp) -> StoreResult<bool> {
                    change_pair(
                        self.writer(),
                        "INSERT INTO contacts (owner_id, contact_id, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                        owner,
                        contact,
                        Some(now),
                    )
                    .await
                }

                async fn remove_contact(&self, owner: UserId, contact: UserId) -> StoreResult<bool> {
                    change_pair(
                        self.writer(),
                        "DELETE FROM contacts WHERE owner_id = $1 AND contact_id = $2",
                        owner,
                        contact,
                        None,
                    )
                    .await
                }

                async fn contacts(&self, owner: UserId) -> StoreResult<Vec<Contact>> {
                    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
                        "SELECT u.id, u.username, u.display_name, c.created_at FROM contacts c \
                         JOIN users u ON u.id = c.contact_id WHERE c.owner_id = $1 ORDER BY u.username",
                    )
                    .bind(owner.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, username, display_name, at)| Contact {
                            user: UserRef { id: UserId(id), username, display_name },
                            added_at: Some(Timestamp(at)),
                        })
                        .collect())
                }

                async fn contact_owners(&self, contact: UserId, limit: i64) -> StoreResult<Vec<UserId>> {
                    let ids: Vec<i64> = sqlx::query_scalar(
                        "SELECT owner_id FROM contacts WHERE contact_id = $1 ORDER BY owner_id LIMIT $2",
                    )
                    .bind(contact.get())
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(ids.into_iter().map(UserId).collect())
                }

                async fn block(&self, blocker: UserId, blocked: UserId, now: Timestamp) -> StoreResult<bool> {
                    change_pair(
                        self.writer(),
                        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                        blocker,
                        blocked,
                        Some(now),
                    )
                    .await
                }

                async fn unblock(&self, blocker: UserId, blocked: UserId) -> StoreResult<bool> {
                    change_pair(
                        self.writer(),
                        "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2",
                        blocker,
                        blocked,
                        None,
                    )
                    .await
                }

                async fn blocked_either_way(&self, a: UserId, b: UserId) -> StoreResult<bool> {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
                         OR (blocker_id = $2 AND blocked_id = $1)",
                    )
                    .bind(a.get())
                    .bind(b.get())
                    .fetch_one(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(n > 0)
                }

                async fn blocked_users(&self, blocker: UserId) -> StoreResult<Vec<UserRef>> {
                    let rows = sqlx::query_as::<_, UserRefRow>(
                        "SELECT u.id, u.username, u.display_name FROM blocks b \
                         JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1 ORDER BY u.username",
                    )
                    .bind(blocker.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                    Ok(rows.into_iter().map(UserRef::from).collect())
                }
            }

            #[async_trait]
            impl AttachmentStore for $store {
                async fn insert_attachment(&self, new: NewAttachment<'_>) -> StoreResult<AttachmentMeta> {
                    let NewAttachment { room, uploader, blob_key, filename, content_type, size, now } = new;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO attachments (room_id, uploader_id, blob_key, filename, content_type, size, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(room.map(RoomId::get))
                    .bind(uploader.get())
                    .bind(blob_key)
                    .bind(filename)
                    .bind(content_type)
                    .bind(size)
                    .bind(now.0)
                    .fetch_one(self.writer())
                    .await
                    .map_err(map_err("attachment"))?;
                    Ok(AttachmentMeta {
                        id: AttachmentId(id),
                        room_id: room,
                        filename: filename.to_owned(),
                        content_type: content_type.to_owned(),
                        size,
                    })
                }

                async fn attachment(&self, id: AttachmentId) -> StoreResult<StoredAttachment> {
                    let row = sqlx::query_as::<_, AttachmentRow>(
                        "SELECT id, room_id, uploader_id, blob_key, filename, content_type, size \
                         FROM attachments WHERE id = $1",
                    )
                    .bind(id.get())
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_err("attachment"))?;
                    Ok(StoredAttachment {
                        meta: AttachmentMeta {
                            id: AttachmentId(row.id),
                            room_id: row.room_id.map(RoomId),
                            filename: row.filename,
                            content_type: row.content_type,
                            size: row.size,
                        },
                        uploader: UserId(row.uploader_id),
                        blob_key: row.blob_key,
                    })
                }
            }
        }
    };
}

pub(crate) use impl_sql_store;
