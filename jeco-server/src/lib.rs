//! # jeco-server
//!
//! The reference server: the Jeco Chat engine over REST, WebSocket and Server-Sent Events.
//! [`router`] turns an [`jeco_core::Engine`] into an `axum::Router` that an application can
//! serve on its own or nest under a path of its own router.
//!
//! ```text
//! lib.rs        router(): routes, OpenAPI, middleware (limits, CORS, security headers)
//! routes/       REST handlers under /v1, one file per area, each documented for OpenAPI
//! ws.rs         GET /v1/ws: WebSocket transport over jeco_core::session::Session
//! transport.rs  what the WebSocket and SSE transports share (parse, run, limits)
//! sse.rs        GET /v1/sse + POST /v1/sse/{id}/commands: the fallback transport
//! extract.rs    JSON/path/query extractors with error bodies; AuthUser; ClientIp
//! error.rs      ApiError -> status + ErrorBody, the only place errors become responses
//! state.rs      AppState, ServerConfig, tickets, connection counts
//! ratelimit.rs  token buckets per user and per address
//! metrics.rs    counters for GET /metrics
//! upload.rs     uploads: streamed into the blob store, deadlines, a cap in flight
//! config.rs     the binary's flags, environment variables and config file
//! ```
//!
//! Transports are thin: they authenticate, then move frames between the client and a
//! [`jeco_core::session::Session`]. Every rule about who may do what stays in the engine.

pub mod config;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod ratelimit;
mod routes;
pub mod shared;
pub mod sse;
pub mod state;
mod transport;
pub mod upload;
pub mod ws;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::OpenApi;

pub use state::{AppState, ServerConfig};

/// The Jeco API for `state`, with every route under `/v1` plus `/healthz`, `/readyz` and
/// `/metrics`, and the web client's files at `/` when configured.
pub fn router(state: AppState) -> Router {
    let (api, _) = api_router(&state);
    let mut app = api;
    if let Some(dir) = &state.config.web_dir {
        let index = dir.join("index.html");
        app = app.fallback_service(
            tower_http::services::ServeDir::new(dir)
                .fallback(tower_http::services::ServeFile::new(index)),
        );
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

/// The OpenAPI document of every route [`router`] serves.
pub fn openapi(state: &AppState) -> OpenApi {
    api_router(state).1
}

fn api_router(state: &AppState) -> (Router, OpenApi) {
    let (router, mut doc) = routes::routes(state).split_for_parts();
    doc.info.title = "Jeco Chat API".to_owned();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.info.description = Some(
        "REST API of the Jeco Chat reference server. Authenticate with \
         `Authorization: Bearer <access token>`. Errors are `ErrorBody` objects with a \
         stable `code`. The real-time protocol (`/v1/ws`, `/v1/sse`) is described in \
         docs/PROTOCOL.md."
            .to_owned(),
    );
    routes::add_security(&mut doc);
    routes::errors::complete(&mut doc);
    if let Some(base) = &state.config.base_path {
        doc.servers = Some(vec![utoipa::openapi::Server::new(base.clone())]);
    }
    let served = doc.clone();
    let router = router
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || async move { axum::Json(served) }),
        )
        // Unknown API paths answer with an error body, never with the web client's page.
        .route("/v1/{*rest}", axum::routing::any(unknown_route))
        .layer(DefaultBodyLimit::max(state.config.body_bytes))
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

async fn count_responses(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state.metrics.http_response(response.status().as_u16());
    response
}
