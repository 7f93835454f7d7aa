//! Contacts and blocks: [`ContactStore`](crate::store::ContactStore) for the SQL stores.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! contacts {
    ($store:ty, $db:ty) => {
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
    };
}

pub(crate) use contacts;
