//! Notifications and the per-user feed. A user only ever sees and marks their own.

use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::event::{Event, Topic};

use crate::ids::{NotificationId, Seq, Timestamp, UserId};
use crate::model::NotificationPage;
use crate::service::page_size;
pub use jeco_proto::api::Feed;

/// Notifications and the per-user feed.
pub struct Notifications<'a> {
    core: &'a Core,
}

impl<'a> Notifications<'a> {
    pub(crate) fn new(core: &'a Core) -> Self {
        Notifications { core }
    }

    /// The user's notifications, newest first; `before` continues from a previous page's
    /// `next`.
    pub async fn list(
        &self,
        user: UserId,
        before: Option<NotificationId>,
        unread_only: bool,
        limit: Option<u32>,
    ) -> Result<NotificationPage> {
        let limit = page_size(limit, 50, self.core.limits.notifications_page);
        let items = self
            .core
            .stores
            .feed
            .notifications(user, before, unread_only, limit)
            .await?;
        let next = if items.len() as i64 == limit {
            items.last().map(|n| n.id)
        } else {
            None
        };
        Ok(NotificationPage { items, next })
    }

    /// How many notifications the user has not marked read.
    pub async fn unread_count(&self, user: UserId) -> Result<i64> {
        Ok(self.core.stores.feed.unread_notifications(user).await?)
    }

    /// Marks one notification read. The user's connections hear of it
    /// (`notifications.read`), so that every device shows the same count.
    ///
    /// Errors: `notification_not_found`, also for someone else's notification.
    pub async fn mark_read(&self, user: UserId, id: NotificationId) -> Result<()> {
        if self
            .core
            .stores
            .feed
            .mark_notification_read(user, id, Timestamp::now())
            .await?
        {
            self.announce_read(user, vec![id], false).await?;
        }
        Ok(())
    }

    /// Marks all of the user's notifications read; returns how many were unread.
    pub async fn mark_all_read(&self, user: UserId) -> Result<i64> {
        let marked = self
            .core
            .stores
            .feed
            .mark_all_notifications_read(user, Timestamp::now())
            .await?;
        if marked > 0 {
            self.announce_read(user, Vec::new(), true).await?;
        }
        Ok(marked)
    }

    /// Tells the user's connections which notifications are now read, and how many are
    /// left unread.
    pub(crate) async fn announce_read(
        &self,
        user: UserId,
        ids: Vec<NotificationId>,
        all: bool,
    ) -> Result<()> {
        let unread = self.unread_count(user).await?;
        self.core
            .publish(
                Topic::User(user),
                Event::NotificationsRead { ids, all, unread },
            )
            .await;
        Ok(())
    }

    /// The sequence of the user's latest feed entry.
    pub async fn feed_seq(&self, user: UserId) -> Result<Seq> {
        Ok(self.core.stores.feed.feed_seq(user).await?)
    }

    /// The user's feed after sequence `after`, in order and without gaps: notifications and
    /// their own membership changes.
    ///
    /// Errors: `invalid_seq`.
    pub async fn feed_after(&self, user: UserId, after: Seq, limit: Option<u32>) -> Result<Feed> {
        if after.get() < 0 {
            return Err(Error::invalid(
                ErrorCode::InvalidSeq,
                "after",
                "a sequence is never negative",
            ));
        }
        let limit = page_size(
            limit,
            self.core.limits.changes_page,
            self.core.limits.changes_page,
        );
        let feed_seq = self.core.stores.feed.feed_seq(user).await?;
        let events = self.core.stores.feed.feed_after(user, after, limit).await?;
        let reached = events.last().and_then(Event::feed_seq).unwrap_or(after);
        Ok(Feed {
            has_more: reached < feed_seq,
            feed_seq,
            events,
        })
    }
}
