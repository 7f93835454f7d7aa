//! Every REST call of [`jeco_client::Client`] by name, with its arguments as a JSON object and
//! its result as JSON text, in the wire types' serde form. The Python half gives each one a
//! typed method; this table only forwards.

use jeco_client::proto::api::{HistoryQuery, NotificationsQuery, SendMessage};
use jeco_client::proto::model::{ProfileUpdate, Tokens};
use jeco_client::{Client, Error};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Why a call by name failed.
pub(crate) enum OpError {
    /// The client's error.
    Client(Error),
    /// The name or an argument is wrong: a bug of the caller.
    Argument(String),
}

impl From<Error> for OpError {
    fn from(e: Error) -> OpError {
        OpError::Client(e)
    }
}

/// The arguments of one call.
pub(crate) struct Args(Map<String, Value>);

impl Args {
    /// Parses the JSON object the Python half sent.
    pub(crate) fn parse(json: &str) -> Result<Args, OpError> {
        serde_json::from_str(json)
            .map(Args)
            .map_err(|e| OpError::Argument(format!("arguments: {e}")))
    }

    /// The argument `name`; a missing one reads as `null` (so optional ones may be left out).
    fn get<T: DeserializeOwned>(&self, name: &str) -> Result<T, OpError> {
        let value = self.0.get(name).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|e| OpError::Argument(format!("{name}: {e}")))
    }
}

/// `value` as JSON text.
fn json<T: Serialize>(value: T) -> Result<String, OpError> {
    serde_json::to_string(&value).map_err(|e| OpError::Client(Error::Decode(e.to_string())))
}

/// Runs the call `op` of `client` with `args`.
pub(crate) async fn call(client: &Client, op: &str, a: Args) -> Result<String, OpError> {
    let c = client;
    match op {
        // The session.
        "register" => json(
            c.register(
                &a.get::<String>("username")?,
                &a.get::<String>("email")?,
                &a.get::<String>("password")?,
            )
            .await?,
        ),
        "login" => json(
            c.login(&a.get::<String>("login")?, &a.get::<String>("password")?)
                .await?,
        ),
        "logout" => json(c.logout().await?),
        "refresh" => json(c.refresh().await?),
        "restore" => {
            c.restore(a.get::<Tokens>("tokens")?).await;
            json(())
        }
        "tokens" => json(c.tokens().await),
        "change_password" => json(
            c.change_password(&a.get::<String>("current")?, &a.get::<String>("new")?)
                .await?,
        ),
        "request_password_reset" => {
            json(c.request_password_reset(&a.get::<String>("email")?).await?)
        }
        "confirm_password_reset" => json(
            c.confirm_password_reset(
                &a.get::<String>("token")?,
                &a.get::<String>("new_password")?,
            )
            .await?,
        ),
        "health" => json(c.health().await?),
        "ready" => json(c.ready().await?),
        // The account and other users.
        "me" => json(c.me().await?),
        "update_profile" => json(c.update_profile(a.get::<ProfileUpdate>("update")?).await?),
        "profile" => json(c.profile(a.get("user")?).await?),
        "search_users" => json(
            c.search_users(&a.get::<String>("q")?, a.get("limit")?)
                .await?,
        ),
        "presence" => json(c.presence(&a.get::<Vec<_>>("users")?).await?),
        "contacts" => json(c.contacts().await?),
        "add_contact" => json(c.add_contact(a.get("user")?).await?),
        "remove_contact" => json(c.remove_contact(a.get("user")?).await?),
        "blocked_users" => json(c.blocked_users().await?),
        "block" => json(c.block(a.get("user")?).await?),
        "unblock" => json(c.unblock(a.get("user")?).await?),
        // Rooms and members.
        "rooms" => json(c.rooms().await?),
        "create_room" => json(
            c.create_room(
                &a.get::<String>("name")?,
                a.get("kind")?,
                &a.get::<String>("topic")?,
            )
            .await?,
        ),
        "room" => json(c.room(a.get("room")?).await?),
        "join_room" => json(c.join_room(a.get("room")?).await?),
        "leave_room" => json(c.leave_room(a.get("room")?).await?),
        "members" => json(c.members(a.get("room")?).await?),
        "invite" => json(c.invite(a.get("room")?, a.get("user")?).await?),
        "kick" => json(c.kick(a.get("room")?, a.get("user")?).await?),
        "set_role" => json(
            c.set_role(a.get("room")?, a.get("user")?, a.get("role")?)
                .await?,
        ),
        "open_direct" => json(c.open_direct(a.get("user")?).await?),
        "mark_read" => json(c.mark_read(a.get("room")?, a.get("seq")?).await?),
        "set_typing" => json(
            c.set_typing(a.get("room")?, a.get::<bool>("active")?)
                .await?,
        ),
        "unread" => json(c.unread().await?),
        // Messages.
        "history" => json(
            c.history(a.get("room")?, a.get::<HistoryQuery>("query")?)
                .await?,
        ),
        "changes" => json(
            c.changes(a.get("room")?, a.get("after")?, a.get("limit")?)
                .await?,
        ),
        "send_message" => json(
            c.send_message(a.get("room")?, a.get::<SendMessage>("message")?)
                .await?,
        ),
        "message" => json(c.message(a.get("message")?).await?),
        "edit_message" => json(
            c.edit_message(a.get("message")?, &a.get::<String>("body")?)
                .await?,
        ),
        "delete_message" => json(c.delete_message(a.get("message")?).await?),
        "react" => json(
            c.react(a.get("message")?, &a.get::<String>("emoji")?, a.get("add")?)
                .await?,
        ),
        "forward_message" => json(
            c.forward_message(
                a.get("message")?,
                a.get("to")?,
                &a.get::<Option<String>>("client_id")?.unwrap_or_default(),
            )
            .await?,
        ),
        "read_by" => json(c.read_by(a.get("message")?).await?),
        // Notifications and the feed.
        "notifications" => json(
            c.notifications(a.get::<NotificationsQuery>("query")?)
                .await?,
        ),
        "unread_notification_count" => json(c.unread_notification_count().await?),
        "mark_notification_read" => json(c.mark_notification_read(a.get("notification")?).await?),
        "mark_all_notifications_read" => json(c.mark_all_notifications_read().await?),
        "feed" => json(c.feed(a.get("after")?, a.get("limit")?).await?),
        other => Err(OpError::Argument(format!("no such call: {other}"))),
    }
}
