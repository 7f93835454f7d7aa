//! Users' feeds and notifications: [`FeedStore`](crate::store::FeedStore) for the SQL stores.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! feed {
    ($store:ty, $db:ty) => {
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
    };
}

pub(crate) use feed;
