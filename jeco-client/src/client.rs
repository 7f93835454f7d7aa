//! [`Client`]: the session (tokens) and the HTTP plumbing every REST call goes through.
//!
//! Access tokens are short-lived and refresh tokens are single-use: the server revokes a
//! whole login when one refresh token is presented twice. So refreshing is single-flight:
//! the token state sits behind one async mutex, the caller that finds the token about to
//! expire (or rejected with `401`) refreshes while holding it, and every other caller waits
//! and then uses the new token. A caller whose request was rejected only refreshes if the
//! token it used is still the current one, so many concurrent rejections cause one refresh.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use jeco_proto::api::{
    ChangePasswordRequest, ErrorBody, LoginRequest, PasswordResetConfirm, PasswordResetRequest,
    RefreshRequest, RegisterRequest, Ticket,
};
use jeco_proto::error::ErrorCode;
use jeco_proto::ids::Timestamp;
use jeco_proto::model::{Session, Tokens};
use jeco_proto::ws::{ClientFrame, ServerFrame};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// How long an idle HTTP connection is kept for reuse: less than the 10 seconds after which the
/// reference server closes a kept-alive connection that asks nothing (its header timeout), so a
/// request never goes out on a connection the server is closing.
const POOL_IDLE: Duration = Duration::from_secs(5);

/// Told whenever the client's tokens change (login, refresh, logout, revocation), so that an
/// application can persist them and [`Client::restore`] them on its next start.
pub trait TokenListener: Send + Sync {
    /// The new tokens; `None` once signed out (by `logout`, or because the server revoked
    /// the login).
    fn tokens_changed(&self, tokens: Option<Tokens>);
}

/// Settings of a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Refresh the access token when less than this is left of its life (and in any case
    /// once half of its life has passed). Default 30 s.
    pub refresh_margin: Duration,
    /// Timeout of one REST request. Default 30 s.
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            refresh_margin: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The tokens, and when this client got them from the server (to know how long they were
/// meant to last); `None` for restored tokens.
struct AuthState {
    tokens: Tokens,
    obtained_at: Option<Timestamp>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// For long-lived requests (the SSE stream, file transfers): no overall timeout.
    pub(crate) stream_http: reqwest::Client,
    /// `http(s)://host[:port][/prefix]`, without a trailing slash.
    pub(crate) base: String,
    options: ClientOptions,
    auth: tokio::sync::Mutex<Option<AuthState>>,
    listener: StdMutex<Option<Arc<dyn TokenListener>>>,
}

/// A Jeco Chat client: REST calls with the session handled for the caller, and the entry
/// point of real-time connections ([`Client::connect`]). Cheap to clone; clones share the
/// session.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url` (such as `https://chat.example.com`, or with the
    /// prefix an application mounted the server under: `https://example.com/chat`).
    pub fn new(base_url: &str) -> Result<Client> {
        Client::with_options(base_url, ClientOptions::default())
    }

    /// A client with non-default settings.
    pub fn with_options(base_url: &str, options: ClientOptions) -> Result<Client> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .ok_or_else(|| Error::InvalidUrl(format!("{base_url}: use http:// or https://")))?;
        if rest.is_empty() || rest.contains(['?', '#']) {
            return Err(Error::InvalidUrl(base_url.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(|e| Error::Transport(e.to_string()))?;
        let stream_http = reqwest::Client::builder()
            .connect_timeout(options.request_timeout)
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(|e| Error::Transport(e.to_string()))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                stream_http,
                base,
                options,
                auth: tokio::sync::Mutex::new(None),
                listener: StdMutex::new(None),
            }),
        })
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// Calls `listener` whenever the tokens change.
    pub fn set_token_listener(&self, listener: Arc<dyn TokenListener>) {
        *self
            .inner
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    /// Creates an account (joined to `general`) and signs it in.
    pub async fn register(&self, username: &str, email: &str, password: &str) -> Result<Session> {
        let body = RegisterRequest {
            username: username.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            refresh_cookie: false,
        };
        self.sign_in("/v1/auth/register", &body).await
    }

    /// Signs in with a username or email and a password.
    pub async fn login(&self, login: &str, password: &str) -> Result<Session> {
        let body = LoginRequest {
            login: login.to_owned(),
            password: password.to_owned(),
            refresh_cookie: false,
        };
        self.sign_in("/v1/auth/login", &body).await
    }

    /// Posts credentials to `path` and takes the session's tokens.
    async fn sign_in<B: Serialize>(&self, path: &str, body: &B) -> Result<Session> {
        let session: Session = self.anonymous(Method::POST, path, body).await?;
        self.set_tokens(session.tokens.clone()).await;
        Ok(session)
    }

    /// Signs this login out on the server (its refresh token stops working) and forgets the
    /// tokens. Open connections stay open until closed.
    pub async fn logout(&self) -> Result<()> {
        let mut auth = self.inner.auth.lock().await;
        let Some(state) = auth.take() else {
            return Ok(());
        };
        let body = RefreshRequest {
            refresh_token: Some(state.tokens.refresh_token),
        };
        let sent = self
            .request(Method::POST, "/v1/auth/logout")
            .json(&body)
            .send()
            .await;
        drop(auth);
        self.notify(None);
        check(sent?).await.map(drop)
    }

    /// Continues a session saved from [`Client::tokens`] (or a [`TokenListener`]).
    pub async fn restore(&self, tokens: Tokens) {
        *self.inner.auth.lock().await = Some(AuthState {
            tokens,
            obtained_at: None,
        });
    }

    /// The current tokens, to persist; `None` when signed out.
    pub async fn tokens(&self) -> Option<Tokens> {
        self.inner
            .auth
            .lock()
            .await
            .as_ref()
            .map(|s| s.tokens.clone())
    }

    /// Refreshes the tokens now, whatever their age.
    pub async fn refresh(&self) -> Result<Tokens> {
        let mut auth = self.inner.auth.lock().await;
        self.refresh_locked(&mut auth).await
    }

    /// Changes the password after checking the current one (`POST /v1/me/password`). The
    /// server signs out every login of the account and returns new tokens for this one,
    /// which the client adopts (and tells its [`TokenListener`]); an open
    /// [`crate::Connection`] of this client reconnects with them, those of other logins stop.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<Tokens> {
        let body = ChangePasswordRequest {
            current_password: current.to_owned(),
            new_password: new.to_owned(),
            refresh_cookie: false,
        };
        // The token lock is held throughout: a refresh running meanwhile would present the
        // refresh token the change revokes, and the server would sign this login out too.
        let mut auth = self.inner.auth.lock().await;
        let mut retried = false;
        loop {
            let state = auth.as_ref().ok_or(Error::NotSignedIn)?;
            let token = if self.expiring(state) {
                self.refresh_locked(&mut auth).await?.access_token
            } else {
                state.tokens.access_token.clone()
            };
            let sent = self
                .request(Method::POST, "/v1/me/password")
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?;
            match check(sent).await {
                Ok(resp) => return self.adopt(&mut auth, decode(resp).await?),
                Err(Error::Api {
                    status: 401,
                    code: ErrorCode::TokenExpired | ErrorCode::InvalidToken,
                    ..
                }) if !retried => {
                    retried = true;
                    self.refresh_locked(&mut auth).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Asks for a password-reset mail to `email` (`POST /v1/auth/password-reset`). The
    /// answer is the same whether or not the address has an account. Needs no session.
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let body = PasswordResetRequest {
            email: email.to_owned(),
        };
        self.anonymous_empty(Method::POST, "/v1/auth/password-reset", &body)
            .await
    }

    /// Sets a new password with the token from the reset mail
    /// (`POST /v1/auth/password-reset/confirm`). Every login of the account is signed out,
    /// this client's included if it had one; sign in again with the new password.
    pub async fn confirm_password_reset(&self, token: &str, new_password: &str) -> Result<()> {
        let body = PasswordResetConfirm {
            token: token.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.anonymous_empty(Method::POST, "/v1/auth/password-reset/confirm", &body)
            .await
    }

    /// Whether the server process is up (`GET /healthz`).
    pub async fn health(&self) -> Result<()> {
        check(self.request(Method::GET, "/healthz").send().await?)
            .await
            .map(drop)
    }

    /// Whether the server can serve requests (`GET /readyz`): its database answers and, in a
    /// deployment of several nodes, it receives the other nodes' events. Otherwise an
    /// [`Error::Api`] with `store_unavailable` or `not_subscribed`.
    pub async fn ready(&self) -> Result<()> {
        check(self.request(Method::GET, "/readyz").send().await?)
            .await
            .map(drop)
    }

    /// A valid access token, refreshed first when it is about to expire.
    pub async fn access_token(&self) -> Result<String> {
        let mut auth = self.inner.auth.lock().await;
        let state = auth.as_ref().ok_or(Error::NotSignedIn)?;
        if self.expiring(state) {
            return Ok(self.refresh_locked(&mut auth).await?.access_token);
        }
        Ok(state.tokens.access_token.clone())
    }

    /// A single-use ticket for opening a real-time connection.
    pub async fn ticket(&self) -> Result<Ticket> {
        self.call(Method::POST, "/v1/tickets", None::<&()>).await
    }

    /// Whether `state`'s access token should be refreshed before use: less than the margin
    /// is left, or (for a server with short-lived tokens) less than half its life.
    fn expiring(&self, state: &AuthState) -> bool {
        let expires = state.tokens.access_expires_at.0;
        let mut margin =
            i64::try_from(self.inner.options.refresh_margin.as_millis()).unwrap_or(i64::MAX);
        if let Some(obtained) = state.obtained_at {
            margin = margin.min(expires.saturating_sub(obtained.0).max(0) / 2);
        }
        expires.saturating_sub(Timestamp::now().0) < margin
    }

    /// Trades the refresh token for new tokens; the caller holds the token lock, so no
    /// other refresh can run with the same refresh token.
    async fn refresh_locked(&self, auth: &mut Option<AuthState>) -> Result<Tokens> {
        let state = auth.as_ref().ok_or(Error::NotSignedIn)?;
        let body = RefreshRequest {
            refresh_token: Some(state.tokens.refresh_token.clone()),
        };
        let sent = self
            .request(Method::POST, "/v1/auth/refresh")
            .json(&body)
            .send()
            .await?;
        match check(sent).await {
            Ok(resp) => self.adopt(auth, decode(resp).await?),
            Err(e @ Error::Api { status: 401, .. }) => {
                // The login is over (revoked, expired, or signed out elsewhere).
                *auth = None;
                self.notify(None);
                tracing::warn!(error = %e, "refreshing failed; signed out");
                Err(Error::NotSignedIn)
            }
            Err(e) => Err(e),
        }
    }

    /// Takes `tokens` from the server as the current ones (the caller holds the token lock)
    /// and tells the listener.
    fn adopt(&self, auth: &mut Option<AuthState>, tokens: Tokens) -> Result<Tokens> {
        *auth = Some(AuthState {
            tokens: tokens.clone(),
            obtained_at: Some(Timestamp::now()),
        });
        self.notify(Some(tokens.clone()));
        Ok(tokens)
    }

    /// After the server refused `used` as expired or invalid: refreshes, unless another
    /// caller already replaced that token; returns the token to retry with.
    async fn token_after_rejection(&self, used: &str) -> Result<String> {
        let mut auth = self.inner.auth.lock().await;
        let state = auth.as_ref().ok_or(Error::NotSignedIn)?;
        if state.tokens.access_token != used {
            return Ok(state.tokens.access_token.clone());
        }
        Ok(self.refresh_locked(&mut auth).await?.access_token)
    }

    async fn set_tokens(&self, tokens: Tokens) {
        *self.inner.auth.lock().await = Some(AuthState {
            tokens: tokens.clone(),
            obtained_at: Some(Timestamp::now()),
        });
        self.notify(Some(tokens));
    }

    fn notify(&self, tokens: Option<Tokens>) {
        let listener = self
            .inner
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(l) = listener {
            l.tokens_changed(tokens);
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.inner
            .http
            .request(method, format!("{}{path}", self.inner.base))
    }

    /// An unauthenticated JSON call.
    async fn anonymous<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let resp = self.request(method, path).json(body).send().await?;
        decode(check(resp).await?).await
    }

    /// An unauthenticated call answered without a body.
    async fn anonymous_empty<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<()> {
        let resp = self.request(method, path).json(body).send().await?;
        check(resp).await.map(drop)
    }

    /// An authenticated call on `http`: `build` adds the query and body of each attempt to
    /// the request; the bearer token is fresh, and a `401` for an expired or invalid token
    /// is retried once after refreshing.
    pub(crate) async fn send_authed(
        &self,
        http: &reqwest::Client,
        method: Method,
        path: &str,
        build: &Build<'_>,
    ) -> Result<reqwest::Response> {
        let url = format!("{}{path}", self.inner.base);
        let mut token = self.access_token().await?;
        let mut retried = false;
        loop {
            let req = build(http.request(method.clone(), &url).bearer_auth(&token));
            match check(req.send().await?).await {
                Err(Error::Api {
                    status: 401,
                    code: ErrorCode::TokenExpired | ErrorCode::InvalidToken,
                    ..
                }) if !retried => {
                    retried = true;
                    token = self.token_after_rejection(&token).await?;
                }
                other => return other,
            }
        }
    }

    /// An authenticated call with an optional JSON body, answered with JSON.
    pub(crate) async fn call<B: Serialize + Sync + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        decode(self.call_raw(method, path, body).await?).await
    }

    /// An authenticated call with query parameters, answered with JSON.
    pub(crate) async fn call_query<Q: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T> {
        let http = &self.inner.http;
        let resp = self
            .send_authed(http, Method::GET, path, &|req| req.query(query))
            .await?;
        decode(resp).await
    }

    /// An authenticated call answered without a body.
    pub(crate) async fn call_empty<B: Serialize + Sync + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<()> {
        self.call_raw(method, path, body).await.map(drop)
    }

    /// An authenticated call with an optional JSON body; the successful response.
    async fn call_raw<B: Serialize + Sync + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response> {
        let build = |req: RequestBuilder| match body {
            Some(body) => req.json(body),
            None => req,
        };
        self.send_authed(&self.inner.http, method, path, &build)
            .await
    }

    /// Posts one command to an SSE session; its reply frame.
    pub(crate) async fn sse_command(
        &self,
        session_id: &str,
        frame: &ClientFrame,
    ) -> Result<ServerFrame> {
        self.call(
            Method::POST,
            &format!("/v1/sse/{session_id}/commands"),
            Some(frame),
        )
        .await
    }
}

/// What one attempt of an authenticated request adds to it (query, body). A function, not a
/// value, because an attempt refused for its token is built again, and a streamed body
/// cannot be sent twice.
pub(crate) type Build<'a> = dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync + 'a;

/// The response if it is a success, else its [`ErrorBody`] as an [`Error::Api`].
pub(crate) async fn check(resp: reqwest::Response) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    // A proxy's 429 may say when to come back only in the header.
    let retry_after_ms = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| secs.saturating_mul(1000));
    let bytes = resp.bytes().await?;
    Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(mut body) => {
            body.retry_after_ms = body.retry_after_ms.or(retry_after_ms);
            Error::api(status.as_u16(), body)
        }
        Err(_) => Error::Api {
            status: status.as_u16(),
            code: code_of_status(status),
            message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            field: None,
            room_id: None,
            retry_after_ms,
        },
    })
}

/// A code for an error answer without an [`ErrorBody`] (from a proxy, say).
fn code_of_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthenticated,
        404 => ErrorCode::UnknownRoute,
        413 => ErrorCode::TooLarge,
        429 => ErrorCode::RateLimited,
        502..=504 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::Unknown,
    }
}

pub(crate) async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
    let bytes = resp.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
}
