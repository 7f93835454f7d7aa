//! Appending a group of sends in one transaction with multi-row statements: a handful of
//! statements per group (each split in power-of-two runs, see `runs`) instead of four or five
//! per message. What a group is, and when it is published, is decided above the store, in
//! `crate::commit`.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! append {
    ($store:ty, $db:ty) => {
        /// What one send of a group comes to.
        enum Fate {
            /// New: its index among the group's new messages.
            New(usize),
            /// Sent earlier in this very group with the same client id: that one's index
            /// among the new messages.
            Twin(usize),
            /// Sent before, with the same client id: that message's id.
            Earlier(i64),
        }

        /// Appends `messages`, answering each. They are first tried together in one
        /// transaction; if that fails (rare: the service checked them, so this is a lost race
        /// or a broken database), it is rolled back and each is appended on its own, so one
        /// bad message never takes the others down.
        async fn append_group(pool: &Pool<$db>, messages: &[NewMessage]) -> Vec<StoreResult<Appended>> {
            match append_together(pool, messages).await {
                Ok(appended) => appended.into_iter().map(Ok).collect(),
                Err(e) if messages.len() == 1 => vec![Err(e)],
                Err(_) => {
                    let mut results = Vec::with_capacity(messages.len());
                    for one in messages.chunks(1) {
                        results.push(
                            append_together(pool, one)
                                .await
                                .and_then(|mut one| one.pop().ok_or(StoreError::NotFound("message"))),
                        );
                    }
                    results
                }
            }
        }

        /// All of `messages` in one transaction, or none.
        async fn append_together(pool: &Pool<$db>, messages: &[NewMessage]) -> StoreResult<Vec<Appended>> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await.map_err(backend)?;
            let earlier = sent_before(&mut tx, messages).await?;
            let mut firsts = std::collections::HashMap::new();
            let mut fresh = Vec::with_capacity(messages.len());
            let mut fates = Vec::with_capacity(messages.len());
            for (i, m) in messages.iter().enumerate() {
                let key = (m.room_id, m.sender_id, m.client_id.as_str());
                let fate = if let Some(id) = earlier.get(&key) {
                    Fate::Earlier(*id)
                } else if let Some(first) = firsts.get(&key) {
                    Fate::Twin(*first)
                } else {
                    firsts.insert(key, fresh.len());
                    fresh.push(i);
                    Fate::New(fresh.len() - 1)
                };
                fates.push(fate);
            }
            let fresh: Vec<&NewMessage> = fresh.into_iter().map(|i| &messages[i]).collect();
            let seqs = take_seqs(&mut tx, &fresh).await?;
            let ids = insert_messages(&mut tx, &fresh, &seqs).await?;
            log_messages(&mut tx, &fresh, &seqs, &ids).await?;
            let senders = senders_of(&mut tx, &fresh).await?;
            let mut created = Vec::with_capacity(fresh.len());
            for ((m, seq), id) in fresh.iter().zip(&seqs).zip(&ids) {
                let sender = senders.get(&m.sender_id).cloned().ok_or(StoreError::NotFound("user"))?;
                let notifications = if m.notify.is_empty() {
                    Vec::new()
                } else {
                    notify_about(&mut tx, m.room_id, *id, &sender, &m.notify, m.now).await?
                };
                let message = Message {
                    id: *id,
                    room_id: m.room_id,
                    seq: *seq,
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
                created.push(Some((message, notifications)));
            }
            tx.commit().await.map_err(backend)?;
            // A retry after this point finds the group's messages committed: failing here only
            // sends the group down the one-by-one path, where they are answered as sent before.
            let earlier_ids: Vec<i64> = earlier.values().copied().collect();
            let loaded: std::collections::HashMap<i64, Message> = messages_by_id(pool, &earlier_ids)
                .await?
                .into_iter()
                .map(|m| (m.id.get(), m))
                .collect();
            let twins: std::collections::HashMap<usize, Message> = fates
                .iter()
                .filter_map(|fate| match fate {
                    Fate::Twin(k) => created[*k].as_ref().map(|(m, _)| (*k, m.clone())),
                    _ => None,
                })
                .collect();
            fates
                .into_iter()
                .map(|fate| match fate {
                    Fate::New(k) => created[k]
                        .take()
                        .map(|(m, n)| Appended::New(m, n))
                        .ok_or(StoreError::NotFound("message")),
                    Fate::Twin(k) => twins.get(&k).cloned().map(Appended::Existing).ok_or(StoreError::NotFound("message")),
                    Fate::Earlier(id) => loaded
                        .get(&id)
                        .cloned()
                        .map(Appended::Existing)
                        .ok_or(StoreError::NotFound("message")),
                })
                .collect()
        }

        /// The messages of the group already sent with the same client ids, by (room, sender,
        /// client id).
        async fn sent_before<'m>(
            tx: &mut Tx,
            messages: &'m [NewMessage],
        ) -> StoreResult<std::collections::HashMap<(RoomId, UserId, &'m str), i64>> {
            let mut found = std::collections::HashMap::new();
            for run in runs(messages.len()) {
                let rows = &messages[run];
                let sql = format!(
                    "WITH k (room_id, sender_id, client_id) AS (VALUES {}) \
                     SELECT m.id, m.room_id, m.sender_id, m.client_id FROM k JOIN messages m \
                     ON m.room_id = k.room_id AND m.sender_id = k.sender_id AND m.client_id = k.client_id",
                    value_rows(rows.len(), 3)
                );
                let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql);
                for m in rows {
                    q = q.bind(m.room_id.get()).bind(m.sender_id.get()).bind(&m.client_id);
                }
                for (id, room, sender, client_id) in q.fetch_all(&mut **tx).await.map_err(backend)? {
                    if let Some(m) = rows.iter().find(|m| {
                        (m.room_id.get(), m.sender_id.get(), m.client_id.as_str()) == (room, sender, client_id.as_str())
                    }) {
                        found.insert((m.room_id, m.sender_id, m.client_id.as_str()), id);
                    }
                }
            }
            Ok(found)
        }

        /// Takes each room's next sequence numbers for `messages`, in their order: one
        /// increment per room, locking its row until commit.
        async fn take_seqs(tx: &mut Tx, messages: &[&NewMessage]) -> StoreResult<Vec<Seq>> {
            let mut counts = std::collections::BTreeMap::<i64, i64>::new();
            for m in messages {
                *counts.entry(m.room_id.get()).or_default() += 1;
            }
            let counts: Vec<(i64, i64)> = counts.into_iter().collect();
            let mut next = std::collections::HashMap::with_capacity(counts.len());
            for run in runs(counts.len()) {
                let rows = &counts[run];
                let sql = format!(
                    "WITH v (room, n) AS (VALUES {}) \
                     UPDATE rooms SET last_seq = last_seq + v.n FROM v WHERE rooms.id = v.room \
                     RETURNING id, last_seq",
                    value_rows(rows.len(), 2)
                );
                let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
                for (room, n) in rows {
                    q = q.bind(*room).bind(*n);
                }
                for (room, last) in q.fetch_all(&mut **tx).await.map_err(backend)? {
                    if let Ok(at) = rows.binary_search_by_key(&room, |(r, _)| *r) {
                        next.insert(room, last - rows[at].1 + 1);
                    }
                }
            }
            messages
                .iter()
                .map(|m| {
                    let seq = next.get_mut(&m.room_id.get()).ok_or(StoreError::NotFound("room"))?;
                    *seq += 1;
                    Ok(Seq(*seq - 1))
                })
                .collect()
        }

        /// Inserts `messages` with their sequences; their ids, in order.
        async fn insert_messages(tx: &mut Tx, messages: &[&NewMessage], seqs: &[Seq]) -> StoreResult<Vec<MessageId>> {
            let mut ids = std::collections::HashMap::with_capacity(messages.len());
            for run in runs(messages.len()) {
                let sql = format!(
                    "INSERT INTO messages (room_id, seq, sender_id, client_id, body, reply_to, \
                     forwarded_from, attachments, mentions, created_at) VALUES {} \
                     RETURNING id, room_id, seq",
                    value_rows(run.len(), 10)
                );
                let mut q = sqlx::query_as::<_, (i64, i64, i64)>(&sql);
                for (m, seq) in messages[run.clone()].iter().zip(&seqs[run]) {
                    q = q
                        .bind(m.room_id.get())
                        .bind(seq.get())
                        .bind(m.sender_id.get())
                        .bind(&m.client_id)
                        .bind(&m.body)
                        .bind(m.reply_to.map(MessageId::get))
                        .bind(m.forwarded_from.map(MessageId::get))
                        .bind(attachments_json(&m.attachments))
                        .bind(json_of(&m.mentions))
                        .bind(m.now.0);
                }
                // A unique violation: a retry with the same client id on another node won
                // the race.
                for (id, room, seq) in q.fetch_all(&mut **tx).await.map_err(map_err("message"))? {
                    ids.insert((room, seq), MessageId(id));
                }
            }
            messages
                .iter()
                .zip(seqs)
                .map(|(m, seq)| ids.get(&(m.room_id.get(), seq.get())).copied().ok_or(StoreError::NotFound("message")))
                .collect()
        }

        /// Logs each new message in its room's change log.
        async fn log_messages(tx: &mut Tx, messages: &[&NewMessage], seqs: &[Seq], ids: &[MessageId]) -> StoreResult<()> {
            for run in runs(messages.len()) {
                let sql = format!(
                    "INSERT INTO room_events (room_id, seq, kind, message_id, user_id, created_at) VALUES {}",
                    value_rows(run.len(), 6)
                );
                let mut q = sqlx::query(&sql);
                for ((m, seq), id) in messages[run.clone()].iter().zip(&seqs[run.clone()]).zip(&ids[run]) {
                    q = q
                        .bind(m.room_id.get())
                        .bind(seq.get())
                        .bind(kind::MESSAGE_CREATED)
                        .bind(id.get())
                        .bind(m.sender_id.get())
                        .bind(m.now.0);
                }
                q.execute(&mut **tx).await.map_err(backend)?;
            }
            Ok(())
        }

        /// The senders of `messages`, by id.
        async fn senders_of(
            tx: &mut Tx,
            messages: &[&NewMessage],
        ) -> StoreResult<std::collections::HashMap<UserId, UserRef>> {
            let mut ids: Vec<i64> = messages.iter().map(|m| m.sender_id.get()).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut senders = std::collections::HashMap::with_capacity(ids.len());
            for run in runs(ids.len()) {
                let sql = format!(
                    "SELECT id, username, display_name FROM users WHERE id IN ({})",
                    placeholders(1, run.len())
                );
                let mut q = sqlx::query_as::<_, UserRefRow>(&sql);
                for id in &ids[run] {
                    q = q.bind(*id);
                }
                for row in q.fetch_all(&mut **tx).await.map_err(backend)? {
                    let sender = UserRef::from(row);
                    senders.insert(sender.id, sender);
                }
            }
            Ok(senders)
        }
    };
}

pub(crate) use append;
