//! Refresh and password-reset tokens: [`TokenStore`](crate::store::TokenStore) for the SQL stores.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! tokens {
    ($store:ty, $db:ty) => {
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
    };
}

pub(crate) use tokens;
