//! Group commit of sends for the SQL stores.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! append {
    ($store:ty, $db:ty) => {
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
                results.push(
                    append_together(pool, std::slice::from_ref(m))
                        .await
                        .and_then(|mut one| one.pop().ok_or(StoreError::NotFound("message"))),
                );
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
            Ok(Outcome::New(
                Box::new(message),
                notifications,
                PublishTurn::now(),
            ))
        }
    };
}

pub(crate) use append;
