//! The REST calls the tool makes (registration, rooms, tickets, history), with the request and
//! response bodies of `jeco_proto`.

use std::time::Duration;

use anyhow::{Context, anyhow};
use futures::{StreamExt, TryStreamExt};
use jeco_proto::api::{
    CreateRoomRequest, ErrorBody, HistoryQuery, InviteRequest, RegisterRequest, Ticket,
};
use jeco_proto::ids::{RoomId, UserId};
use jeco_proto::model::{MessagePage, Room, RoomKind, Session};
use serde::de::DeserializeOwned;

/// An HTTP client for one server.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// A client for the server at `base` (`http://host:port`).
    pub(crate) fn new(base: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> anyhow::Result<T> {
        let status = resp.status();
        if status.is_success() {
            return resp.json::<T>().await.context("decoding the response");
        }
        let text = resp.text().await.unwrap_or_default();
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(e) => Err(anyhow!("{status} {}: {}", e.code, e.message)),
            Err(_) => Err(anyhow!("{status}: {text}")),
        }
    }

    /// Registers an account and returns its session.
    pub(crate) async fn register(&self, username: &str, password: &str) -> anyhow::Result<Session> {
        let body = RegisterRequest {
            username: username.to_owned(),
            email: format!("{username}@load.invalid"),
            password: password.to_owned(),
            refresh_cookie: false,
        };
        let resp = self
            .http
            .post(format!("{}/v1/auth/register", self.base))
            .json(&body)
            .send()
            .await
            .context("POST /v1/auth/register")?;
        Self::decode(resp).await
    }

    /// Creates a private room owned by the token's user.
    pub(crate) async fn create_room(&self, token: &str, name: &str) -> anyhow::Result<Room> {
        let body = CreateRoomRequest {
            name: name.to_owned(),
            kind: RoomKind::Private,
            topic: String::new(),
        };
        let resp = self
            .http
            .post(format!("{}/v1/rooms", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .context("POST /v1/rooms")?;
        Self::decode(resp).await
    }

    /// Adds a user to a room (the token's user must be its owner or an admin).
    pub(crate) async fn invite(
        &self,
        token: &str,
        room: RoomId,
        user: UserId,
    ) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/v1/rooms/{room}/members", self.base))
            .bearer_auth(token)
            .json(&InviteRequest { user_id: user })
            .send()
            .await
            .context("POST /v1/rooms/{id}/members")?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Self::decode::<serde_json::Value>(resp).await.map(|_| ())
        }
    }

    /// A single-use ticket for a real-time connection.
    pub(crate) async fn ticket(&self, token: &str) -> anyhow::Result<String> {
        let resp = self
            .http
            .post(format!("{}/v1/tickets", self.base))
            .bearer_auth(token)
            .send()
            .await
            .context("POST /v1/tickets")?;
        Ok(Self::decode::<Ticket>(resp).await?.ticket)
    }

    /// One page of a room's history.
    pub(crate) async fn history(
        &self,
        token: &str,
        room: RoomId,
        query: HistoryQuery,
    ) -> anyhow::Result<MessagePage> {
        let resp = self
            .http
            .get(format!("{}/v1/rooms/{room}/messages", self.base))
            .bearer_auth(token)
            .query(&query)
            .send()
            .await
            .context("GET /v1/rooms/{id}/messages")?;
        Self::decode(resp).await
    }
}

/// Who takes part in a run: accounts with their tokens, and rooms.
#[derive(Clone, Debug, Default)]
pub(crate) struct Population {
    /// Access token per user (empty against the reference, which has no accounts).
    pub(crate) tokens: Vec<String>,
    /// Id per user.
    pub(crate) user_ids: Vec<UserId>,
    /// The rooms, in plan order.
    pub(crate) rooms: Vec<RoomId>,
}

/// The password of every account the tool registers.
const PASSWORD: &str = "load-Tool-pass-9731";

/// Registers `users` accounts and creates one room per entry of `rooms` (the user indexes
/// of its members; the first creates it and adds the others). Returns how long it took as
/// well.
pub(crate) async fn populate(
    api: &Api,
    tag: &str,
    users: usize,
    rooms: &[Vec<usize>],
    concurrency: usize,
) -> anyhow::Result<Population> {
    let sessions: Vec<Session> = futures::stream::iter(0..users)
        .map(|i| {
            let api = api.clone();
            let name = format!("l{tag}u{i}");
            async move {
                api.register(&name, PASSWORD)
                    .await
                    .with_context(|| format!("registering {name}"))
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let tokens: Vec<String> = sessions
        .iter()
        .map(|s| s.tokens.access_token.clone())
        .collect();
    let user_ids: Vec<UserId> = sessions.iter().map(|s| s.account.profile.id).collect();
    let room_ids: Vec<RoomId> = futures::stream::iter(rooms.iter().enumerate())
        .map(|(r, members)| {
            let api = api.clone();
            let tokens = &tokens;
            let user_ids = &user_ids;
            async move {
                let owner = *members
                    .first()
                    .ok_or_else(|| anyhow!("room {r} has no members"))?;
                let owner_token = tokens
                    .get(owner)
                    .ok_or_else(|| anyhow!("no user {owner}"))?;
                let room = api
                    .create_room(owner_token, &format!("l{tag}r{r}"))
                    .await
                    .with_context(|| format!("creating room {r}"))?;
                for &m in &members[1..] {
                    let uid = *user_ids.get(m).ok_or_else(|| anyhow!("no user {m}"))?;
                    api.invite(owner_token, room.id, uid)
                        .await
                        .with_context(|| format!("adding user {m} to room {r}"))?;
                }
                Ok::<_, anyhow::Error>(room.id)
            }
        })
        .buffered(concurrency.max(1) * 2)
        .try_collect()
        .await?;
    Ok(Population {
        tokens,
        user_ids,
        rooms: room_ids,
    })
}

/// The population the reference server works with: it has no accounts and creates rooms
/// on first use, so ids are simply numbered.
pub(crate) fn reference_population(users: usize, rooms: usize) -> Population {
    Population {
        tokens: Vec::new(),
        user_ids: (1..=users as i64).map(UserId).collect(),
        rooms: (1..=rooms as i64).map(RoomId).collect(),
    }
}
