//! Statements several concerns share: sequences, the room change log, user feeds,
//! notifications, and loading messages and user references.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! shared {
    ($store:ty, $db:ty) => {
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
                notifications.push((
                    user,
                    Notification {
                        id: NotificationId(nid),
                        feed_seq,
                        kind,
                        room_id: room,
                        message_id: Some(message),
                        actor: actor.clone(),
                        detail: None,
                        created_at: now,
                        read: false,
                    },
                ));
            }
            Ok(notifications)
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
    };
}

pub(crate) use shared;
