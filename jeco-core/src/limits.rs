//! The limits the engine enforces on what clients send, and how long credentials live.

use std::time::Duration;

/// Limits on what clients may send and how long credentials live.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Longest message text, in characters.
    pub message_chars: usize,
    /// Most files on one message.
    pub attachments_per_message: usize,
    /// Most distinct users notified for mentions in one message.
    pub mentions_per_message: usize,
    /// Largest upload, in bytes.
    pub upload_bytes: u64,
    /// Largest history page.
    pub history_page: i64,
    /// Largest page of changes or feed entries.
    pub changes_page: i64,
    /// Most changes one `resume` replays per room (and feed entries); a client further behind
    /// reloads history.
    pub resume_events: i64,
    /// Most changes and feed entries one `resume` replays in all.
    pub resume_total_events: i64,
    /// Largest page of notifications.
    pub notifications_page: i64,
    /// Most user-search results.
    pub search_results: i64,
    /// Most distinct reactions one user may put on one message.
    pub reactions_per_user: usize,
    /// Longest topic, in characters.
    pub topic_chars: usize,
    /// Longest display name, in characters.
    pub display_name_chars: usize,
    /// Longest bio, in characters.
    pub bio_chars: usize,
    /// How long a typing indication lasts without renewal.
    pub typing_ttl: Duration,
    /// Lifetime of an access token.
    pub access_token_ttl: Duration,
    /// Lifetime of an unused refresh token.
    pub refresh_token_ttl: Duration,
    /// Lifetime of a password-reset token.
    pub reset_token_ttl: Duration,
    /// Rooms with more members than this do not carry presence changes (see
    /// `PresenceService`); their clients ask for the presence of the members they show.
    pub presence_room_members: i64,
    /// Shortest time between two announcements of new activity in one public room.
    pub activity_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_chars: 4000,
            attachments_per_message: 10,
            mentions_per_message: 20,
            upload_bytes: 10 * 1024 * 1024,
            history_page: 100,
            changes_page: 500,
            resume_events: 10_000,
            resume_total_events: 50_000,
            notifications_page: 100,
            search_results: 20,
            reactions_per_user: 20,
            topic_chars: 250,
            display_name_chars: 64,
            bio_chars: 500,
            typing_ttl: Duration::from_secs(6),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            reset_token_ttl: Duration::from_secs(30 * 60),
            presence_room_members: 250,
            activity_interval: Duration::from_secs(5),
        }
    }
}
