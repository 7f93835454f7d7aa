//! Accounts and profiles: [`UserStore`](crate::store::UserStore) for the SQL stores.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! users {
    ($store:ty, $db:ty) => {
        const USER_COLUMNS: &str = "id, username, email, display_name, avatar_id, bio, created_at";

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
    };
}

pub(crate) use users;
