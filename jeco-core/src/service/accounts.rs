//! Accounts: registration, login, token refresh and logout, profiles, password change and
//! password reset.

use crate::auth::{self, OpaqueToken, random_key};
use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::event::Event;
use crate::event::Topic;
use crate::ids::{Timestamp, UserId};
use crate::mailer::Mail;
use crate::model::{Account, Profile, ProfileUpdate, Session, Tokens};
use crate::service::Rooms;
use crate::store::{NewUser, Rotation, StoreError};
use crate::validate;

/// A valid argon2id hash of a random password, verified against when a login names no
/// account, so that "no such user" costs as long as "wrong password".
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                          3FhxvO+9bXcb9DGWSJh8Qx0Hzu3x7wo6hlGdDkzm0H0";

/// Registration, login, tokens, profiles and passwords.
pub struct Accounts<'a> {
    core: &'a Core,
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(core: &'a Core) -> Self {
        Accounts { core }
    }

    /// Creates an account, joins it to the `general` room and signs it in.
    ///
    /// Errors: `invalid_username`, `invalid_email`, `weak_password`, `username_taken`,
    /// `email_taken`.
    pub async fn register(&self, username: &str, email: &str, password: &str) -> Result<Session> {
        let username = validate::username(username)?;
        let email = validate::email(email)?;
        validate::password(password, Some(&username))?;
        let hash = auth::hash_password(self.core.hashing, password.to_owned()).await?;
        let now = Timestamp::now();
        let account = self
            .core
            .stores
            .users
            .create_user(NewUser {
                username,
                email,
                password_hash: hash,
                now,
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict("username") => {
                    Error::new(ErrorCode::UsernameTaken, "that username is taken")
                }
                StoreError::Conflict(_) => Error::new(
                    ErrorCode::EmailTaken,
                    "an account with that email already exists",
                ),
                other => other.into(),
            })?;
        let user = account.profile.id;
        // The account exists even if joining `general` fails; the room is public, so the user
        // can still join it by hand.
        if let Err(e) = Rooms::new(self.core).join(user, self.core.general).await {
            tracing::error!(error = %e, %user, "could not join the general room");
        }
        let tokens = self.issue_tokens(user).await?;
        Ok(Session { account, tokens })
    }

    /// Signs in with a username or email and a password.
    ///
    /// Errors: `invalid_credentials`, the same whether the account exists or not.
    pub async fn login(&self, login: &str, password: &str) -> Result<Session> {
        let login = login.trim().to_lowercase();
        if login.is_empty() || login.len() > 254 || password.len() > 1024 {
            return Err(wrong_credentials());
        }
        let found = self.core.stores.users.credentials(&login).await?;
        let (user, hash) = match found {
            Some(found) => found,
            None => {
                auth::verify_password(password.to_owned(), DUMMY_HASH.to_owned()).await?;
                return Err(wrong_credentials());
            }
        };
        if !auth::verify_password(password.to_owned(), hash).await? {
            return Err(wrong_credentials());
        }
        let account = self.core.stores.users.account(user).await?;
        let tokens = self.issue_tokens(user).await?;
        Ok(Session { account, tokens })
    }

    /// Checks an access token and returns whose it is.
    ///
    /// Errors: `token_expired`, `invalid_token` (malformed or signed with another key).
    pub fn authenticate(&self, access_token: &str) -> Result<UserId> {
        self.core
            .jwt
            .verify(access_token)?
            .user_id()
            .ok_or_else(|| Error::new(ErrorCode::InvalidToken, "the access token names no user"))
    }

    /// Trades a refresh token for a new pair. Each refresh token works once; presenting one a
    /// second time means it was copied, so every token of that login is revoked.
    ///
    /// Errors: `invalid_token`.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens> {
        let now = Timestamp::now();
        let digest = OpaqueToken::digest_of(refresh_token);
        let next = OpaqueToken::generate();
        let expires = now.after(self.core.limits.refresh_token_ttl);
        match self
            .core
            .stores
            .tokens
            .rotate_refresh(&digest, &next.digest, now, expires)
            .await?
        {
            Rotation::Rotated(user) => {
                let (access_token, access_expires_at) = self.access_token(user, now)?;
                Ok(Tokens {
                    access_token,
                    access_expires_at,
                    refresh_token: next.secret,
                    refresh_expires_at: expires,
                })
            }
            Rotation::Reused(user) => {
                tracing::warn!(%user, "refresh token reused; revoked its login");
                Err(Error::new(
                    ErrorCode::InvalidToken,
                    "the refresh token was already used; this login has been signed out",
                ))
            }
            Rotation::Invalid => Err(Error::new(
                ErrorCode::InvalidToken,
                "the refresh token expired or was revoked; sign in again",
            )),
        }
    }

    /// Signs out the login that `refresh_token` belongs to: it and every token rotated from
    /// the same login stop working. Unknown tokens are accepted silently.
    pub async fn logout(&self, refresh_token: &str) -> Result<()> {
        let digest = OpaqueToken::digest_of(refresh_token);
        self.core
            .stores
            .tokens
            .revoke_refresh_family(&digest, Timestamp::now())
            .await?;
        Ok(())
    }

    /// The signed-in user's own account.
    pub async fn me(&self, user: UserId) -> Result<Account> {
        Ok(self.core.stores.users.account(user).await?)
    }

    /// Anyone's public profile.
    pub async fn profile(&self, _viewer: UserId, of: UserId) -> Result<Profile> {
        Ok(self.core.stores.users.profile(of).await?)
    }

    /// Changes display name, avatar or bio. The avatar must be an image the user uploaded as
    /// an avatar (outside any room), since every user may see it.
    ///
    /// Errors: `too_long`, `invalid_characters`, `invalid_avatar`.
    pub async fn update_profile(&self, user: UserId, update: ProfileUpdate) -> Result<Account> {
        let limits = &self.core.limits;
        let display_name = update
            .display_name
            .as_deref()
            .map(|d| validate::text(d, "display_name", limits.display_name_chars, false))
            .transpose()?;
        let bio = update
            .bio
            .as_deref()
            .map(|b| validate::text(b, "bio", limits.bio_chars, true))
            .transpose()?;
        if let Some(Some(avatar)) = update.avatar {
            let bad = || {
                Error::invalid(
                    ErrorCode::InvalidAvatar,
                    "avatar",
                    "upload an image of your own as an avatar first",
                )
            };
            let stored = self
                .core
                .stores
                .attachments
                .attachment(avatar)
                .await
                .map_err(|_| bad())?;
            if stored.uploader != user
                || stored.meta.room_id.is_some()
                || !stored.meta.content_type.starts_with("image/")
            {
                return Err(bad());
            }
        }
        Ok(self
            .core
            .stores
            .users
            .update_profile(user, display_name.as_deref(), update.avatar, bio.as_deref())
            .await?)
    }

    /// Changes the password after checking the current one. Every other login is signed out;
    /// the returned tokens keep this one signed in.
    ///
    /// Errors: `invalid_credentials`, `weak_password`.
    pub async fn change_password(&self, user: UserId, current: &str, new: &str) -> Result<Tokens> {
        let hash = self.core.stores.users.password_hash(user).await?;
        if !auth::verify_password(current.to_owned(), hash).await? {
            return Err(wrong_credentials());
        }
        let account = self.core.stores.users.account(user).await?;
        validate::password(new, Some(&account.profile.username))?;
        let hash = auth::hash_password(self.core.hashing, new.to_owned()).await?;
        self.core
            .stores
            .users
            .set_password_hash(user, &hash)
            .await?;
        self.core
            .stores
            .tokens
            .revoke_all_refresh(user, Timestamp::now())
            .await?;
        self.signed_out(user, "password_changed").await;
        self.issue_tokens(user).await
    }

    /// Mails a reset link if an account has this email. The answer is the same either way,
    /// so the call cannot be used to learn who has an account.
    ///
    /// Errors: `invalid_email` (only for addresses that are not addresses at all).
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let email = validate::email(email)?;
        let Some(account) = self.core.stores.users.user_by_email(&email).await? else {
            return Ok(());
        };
        let now = Timestamp::now();
        let token = OpaqueToken::generate();
        let ttl = self.core.limits.reset_token_ttl;
        self.core
            .stores
            .tokens
            .insert_reset(account.profile.id, &token.digest, now, now.after(ttl))
            .await?;
        let mail = Mail {
            to: account.email,
            subject: "Reset your Jeco Chat password".to_owned(),
            body: format!(
                "Hello {},\n\nsomeone asked to reset the password of your Jeco Chat account. \
                 To choose a new one, open\n\n  {}#token={}\n\nwithin {} minutes. \
                 If it was not you, ignore this mail: your password stays as it is.\n",
                account.profile.username,
                self.core.reset_link,
                token.secret,
                ttl.as_secs() / 60
            ),
            secrets: vec![token.secret.clone()],
        };
        if let Err(e) = self.core.mailer.send(mail).await {
            // Same answer to the caller regardless; the operator sees the failure.
            tracing::error!(error = %e, "sending the password-reset mail failed");
        }
        Ok(())
    }

    /// Sets a new password with a reset token from the mail. The token works once; every
    /// login of the account is signed out.
    ///
    /// Errors: `weak_password`, `invalid_token`.
    pub async fn confirm_password_reset(&self, token: &str, new_password: &str) -> Result<()> {
        validate::password(new_password, None)?;
        let hash = auth::hash_password(self.core.hashing, new_password.to_owned()).await?;
        let digest = OpaqueToken::digest_of(token);
        match self
            .core
            .stores
            .tokens
            .consume_reset(&digest, &hash, Timestamp::now())
            .await?
        {
            Some(user) => {
                self.signed_out(user, "password_reset").await;
                Ok(())
            }
            None => Err(Error::new(
                ErrorCode::InvalidToken,
                "the reset token is invalid, expired or already used",
            )),
        }
    }

    /// Tells the user's open real-time connections that every login was signed out, so that
    /// they close instead of outliving the password they were opened with.
    async fn signed_out(&self, user: UserId, reason: &str) {
        self.core
            .publish(
                Topic::User(user),
                Event::SignedOut {
                    reason: reason.to_owned(),
                },
            )
            .await;
    }

    fn access_token(&self, user: UserId, now: Timestamp) -> Result<(String, Timestamp)> {
        let expires = now.after(self.core.limits.access_token_ttl);
        Ok((self.core.jwt.issue(user, now, expires)?, expires))
    }

    /// Tokens for a new login, which starts a new refresh-token family.
    async fn issue_tokens(&self, user: UserId) -> Result<Tokens> {
        let now = Timestamp::now();
        let (access_token, access_expires_at) = self.access_token(user, now)?;
        let refresh = OpaqueToken::generate();
        let refresh_expires_at = now.after(self.core.limits.refresh_token_ttl);
        let family = random_key();
        self.core
            .stores
            .tokens
            .insert_refresh(user, &family, &refresh.digest, now, refresh_expires_at)
            .await?;
        Ok(Tokens {
            access_token,
            access_expires_at,
            refresh_token: refresh.secret,
            refresh_expires_at,
        })
    }
}

/// The answer to any failed sign-in: it does not say whether the account exists.
fn wrong_credentials() -> Error {
    Error::new(ErrorCode::InvalidCredentials, "wrong username or password")
}
