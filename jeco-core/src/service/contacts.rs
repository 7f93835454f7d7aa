//! Contacts, user search and blocks.

use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::event::{Event, Topic};
use crate::ids::{Timestamp, UserId};
use crate::model::{Contact, UserRef};
use crate::service::page_size;

/// Contacts, user search and blocks.
pub struct Contacts<'a> {
    core: &'a Core,
}

impl<'a> Contacts<'a> {
    pub(crate) fn new(core: &'a Core) -> Self {
        Contacts { core }
    }

    /// Finds users by the start of their username, or by their exact email address (a query
    /// with `@`). The caller is never in the results. Exact email only, so the search cannot
    /// be used to harvest addresses.
    ///
    /// Errors: `invalid_query` (empty or longer than 254 characters).
    pub async fn search(
        &self,
        user: UserId,
        query: &str,
        limit: Option<u32>,
    ) -> Result<Vec<UserRef>> {
        let q = query.trim().to_lowercase();
        if q.is_empty() || q.len() > 254 {
            return Err(Error::invalid(
                ErrorCode::InvalidQuery,
                "q",
                "search with 1 to 254 characters",
            ));
        }
        let limit = page_size(
            limit,
            self.core.limits.search_results,
            self.core.limits.search_results,
        );
        let (prefix, email) = if q.contains('@') {
            // An address never matches a username prefix: usernames have no '@'.
            (q.as_str(), Some(q.as_str()))
        } else {
            (q.as_str(), None)
        };
        Ok(self
            .core
            .stores
            .users
            .search_users(user, prefix, email, limit)
            .await?)
    }

    /// Adds someone to the user's contacts. Adding a contact twice changes nothing.
    ///
    /// Errors: `invalid_target` (yourself), `user_not_found`.
    pub async fn add(&self, user: UserId, contact: UserId) -> Result<()> {
        if user == contact {
            return Err(Error::invalid(
                ErrorCode::InvalidTarget,
                "user_id",
                "you cannot add yourself",
            ));
        }
        self.core.stores.users.profile(contact).await?;
        self.core
            .stores
            .contacts
            .add_contact(user, contact, Timestamp::now())
            .await?;
        Ok(())
    }

    /// Removes someone from the user's contacts.
    ///
    /// Errors: `contact_not_found`.
    pub async fn remove(&self, user: UserId, contact: UserId) -> Result<()> {
        if self
            .core
            .stores
            .contacts
            .remove_contact(user, contact)
            .await?
        {
            Ok(())
        } else {
            Err(Error::not_found(ErrorCode::ContactNotFound))
        }
    }

    /// The user's contacts by username.
    pub async fn list(&self, user: UserId) -> Result<Vec<Contact>> {
        Ok(self.core.stores.contacts.contacts(user).await?)
    }

    /// Blocks someone: no direct messages or invitations between the two while it lasts, and
    /// their typing and presence no longer reach the user's connections.
    ///
    /// Errors: `invalid_target` (yourself), `user_not_found`.
    pub async fn block(&self, user: UserId, other: UserId) -> Result<()> {
        if user == other {
            return Err(Error::invalid(
                ErrorCode::InvalidTarget,
                "user_id",
                "you cannot block yourself",
            ));
        }
        self.core.stores.users.profile(other).await?;
        let changed = self
            .core
            .stores
            .contacts
            .block(user, other, Timestamp::now())
            .await?;
        if changed {
            self.announce(user, other, true).await;
        }
        Ok(())
    }

    /// Lifts a block. Lifting one that does not exist changes nothing.
    pub async fn unblock(&self, user: UserId, other: UserId) -> Result<()> {
        if self.core.stores.contacts.unblock(user, other).await? {
            self.announce(user, other, false).await;
        }
        Ok(())
    }

    /// Tells the user's connections, which hide a blocked user's typing and presence.
    async fn announce(&self, user: UserId, other: UserId, blocked: bool) {
        self.core
            .publish(
                Topic::User(user),
                Event::Block {
                    user_id: other,
                    blocked,
                },
            )
            .await;
    }

    /// The users this user blocks.
    pub async fn blocked(&self, user: UserId) -> Result<Vec<UserRef>> {
        Ok(self.core.stores.contacts.blocked_users(user).await?)
    }
}
