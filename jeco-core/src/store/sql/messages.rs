//! Messages, edits, deletions, reactions and room history: [`MessageStore`](crate::store::MessageStore)
//! for the SQL stores.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! messages {
    ($store:ty, $db:ty) => {
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

            async fn append_messages(&self, messages: Vec<NewMessage>) -> Vec<StoreResult<Appended>> {
                append_group(self.writer(), &messages).await
            }

            fn writers(&self) -> usize {
                <$store>::WRITERS
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
    };
}

pub(crate) use messages;
