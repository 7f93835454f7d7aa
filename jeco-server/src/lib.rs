//! # jeco-server
//!
//! The reference server: the Jeco Chat engine over REST, WebSocket and Server-Sent Events.
//! [`router`] turns an [`jeco_core::Engine`] into an `axum::Router` that an application can
//! serve on its own or nest under a path of its own router; [`serve`] serves it with bounds
//! on connections that `axum::serve` lacks.
//!
//! ```text
//! lib.rs        router(): routes, OpenAPI, middleware (limits, CORS, security headers)
//! routes/       REST handlers under /v1, one file per area, each documented for OpenAPI
//! ws.rs         GET /v1/ws: WebSocket transport over jeco_core::session::Session
//! transport.rs  what the WebSocket and SSE transports share (parse, run, limits)
//! sse.rs        GET /v1/sse + POST /v1/sse/{id}/commands: the fallback transport
//! extract.rs    JSON/path/query extractors with error bodies; AuthUser; ClientIp
//! cookie.rs     the browsers' refresh-token cookie (jeco_refresh) and its CSRF check
//! error.rs      ApiError -> status + ErrorBody, the only place errors become responses
//! state.rs      AppState, ServerConfig, tickets, connection counts
//! counts.rs     how many connections or uploads each user holds
//! ratelimit.rs  token buckets per user and per address
//! metrics.rs    what GET /metrics shows (prometheus-client registry)
//! smtp.rs       password-reset mail over SMTP, sent in the background
//! upload.rs     uploads: streamed into the blob store, deadlines, a cap in flight
//! serve.rs      serve(): the accept loop with a connection cap, header and idle timeouts
//! web.rs        the web client's files (--web-dir): no dot-files, nothing outside it,
//!               cache headers, precompressed siblings, the client's CSP
//! config.rs     the binary's flags, environment variables and config file
//! ```
//!
//! Transports are thin: they authenticate, then move frames between the client and a
//! [`jeco_core::session::Session`]. Every rule about who may do what stays in the engine.

pub mod config;
mod cookie;
mod counts;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod ratelimit;
mod routes;
mod serve;
pub mod shared;
pub mod smtp;
pub mod sse;
pub mod state;
mod transport;
pub mod upload;
mod web;
pub mod ws;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::OpenApi;

pub use serve::{serve, serve_metrics};
pub use state::{AppState, ConnectionLimits, ServerConfig};

/// The Jeco API for `state`, with every route under `/v1` plus `/healthz`, `/readyz` and
/// `/metrics`, and the web client's files at `/` when configured.
pub fn router(state: AppState) -> Router {
    let (api, _) = api_router(&state);
    let mut app = api;
    if let Some(dir) = &state.config.web_dir {
        app = app.fallback_service(web::files(dir));
    }
    app.layer(cors(&state))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; \
                 frame-ancestors 'none'",
            ),
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
}

/// The OpenAPI document of every route [`router`] serves, with the `servers` entry of
/// `state`'s base path.
pub fn openapi(state: &AppState) -> OpenApi {
    api_router(state).1
}

/// The OpenAPI document without a `servers` entry: the same for every configuration, and
/// what `jeco-server openapi` prints. Built without an engine or a database.
pub fn openapi_document() -> OpenApi {
    document(&ServerConfig::default()).1
}

/// The document as JSON with every object's keys in order, so that it serializes to the same
/// bytes every time (utoipa keeps some maps in hash order).
pub fn openapi_json(doc: &OpenApi) -> serde_json::Value {
    let mut json = serde_json::to_value(doc).unwrap_or_default();
    json.sort_all_objects();
    json
}

/// The REST routes and their document, titled and completed, without `servers`.
fn document(config: &ServerConfig) -> (axum::Router<AppState>, OpenApi) {
    let (router, mut doc) = routes::routes(config).split_for_parts();
    doc.info.title = "Jeco Chat API".to_owned();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.info.description = Some(
        "REST API of the Jeco Chat reference server. Authenticate with \
         `Authorization: Bearer <access token>`. Errors are `ErrorBody` objects with a \
         stable `code`. Integers are written without a fraction or exponent (`1.0` is \
         refused), and JSON bodies are objects. A `413` answer closes the connection, \
         as its body was not read. Browsers may keep the refresh token in the `jeco_refresh` \
         cookie instead of the body (`refresh_cookie`). The real-time protocol (`/v1/ws`, \
         `/v1/sse`) is described in docs/PROTOCOL.md."
            .to_owned(),
    );
    routes::add_security(&mut doc);
    routes::errors::complete(&mut doc);
    (router, doc)
}

fn api_router(state: &AppState) -> (Router, OpenApi) {
    let (router, mut doc) = document(&state.config);
    if let Some(base) = &state.config.base_path {
        doc.servers = Some(vec![utoipa::openapi::Server::new(base.clone())]);
    }
    let served = bytes::Bytes::from(openapi_json(&doc).to_string());
    let router = router
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || async move {
                ([(header::CONTENT_TYPE, "application/json")], served)
            }),
        )
        // Unknown API paths answer with an error body, never with the web client's page.
        .route("/v1", axum::routing::any(unknown_route))
        .route("/v1/", axum::routing::any(unknown_route))
        .route("/v1/{*rest}", axum::routing::any(unknown_route))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.body_bytes))
        .layer(middleware::from_fn(response_headers))
        .with_state(state.clone());
    (router, doc)
}

fn cors(state: &AppState) -> CorsLayer {
    let origins: Vec<HeaderValue> = state
        .config
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}

async fn unknown_route() -> error::ApiError {
    error::ApiError::new(
        jeco_core::error::ErrorCode::UnknownRoute,
        "no such API route; see /v1/openapi.json",
    )
}

async fn method_not_allowed() -> error::ApiError {
    error::ApiError::new(
        jeco_core::error::ErrorCode::MethodNotAllowed,
        "this route does not take this method; the Allow header lists the ones it takes",
    )
}

/// Headers that follow from the request and the answer together:
///
/// - `Cache-Control: no-store` on JSON answers to authenticated requests, which are about
///   one account and must not stay in a shared or on-disk cache (handlers that allow caching,
///   such as file downloads, set their own).
/// - `Connection: close` on `413`: the body was refused unread, so the connection cannot carry
///   another request. Saying so lets the client open a new one instead of finding the old one
///   dropped under its next request.
async fn response_headers(request: Request, next: Next) -> Response {
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(request).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let refused_body = response.status() == StatusCode::PAYLOAD_TOO_LARGE;
    let headers = response.headers_mut();
    if authenticated && json && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, no_store());
    }
    if refused_body {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// `Cache-Control: no-store`, for answers that carry credentials or one account's data.
pub(crate) fn no_store() -> HeaderValue {
    HeaderValue::from_static("no-store")
}

async fn count_responses(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state.metrics.http_response(response.status().as_u16());
    response
}
