//! An existing axum application that adds chat by nesting the Jeco reference server under
//! `/chat`: the REST API answers at `/chat/v1/...`, the WebSocket at `/chat/v1/ws`, the event
//! stream at `/chat/v1/sse`. The application keeps its own routes and its own listener.
//!
//! Run with `cargo run -p embed-axum`, then e.g.
//! `curl -X POST localhost:3000/chat/v1/auth/register -H 'content-type: application/json'
//! -d '{"username":"alice","email":"alice@example.com","password":"correct horse 9"}'`.

use std::error::Error;

use axum::Router;
use axum::routing::get;
use jeco_server::{AppState, ServerConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();

    // A fixed secret keeps access tokens valid across restarts (without one the engine picks a
    // random secret each start). It must be at least 32 bytes; take it from your secret store.
    let secret = std::env::var("JECO_JWT_SECRET")
        .unwrap_or_else(|_| "embed-axum-development-secret-change-me!".to_owned());
    let engine = jeco_core::Engine::builder()
        .data_dir("./jeco-data/embed-axum")
        .jwt_secret(secret)
        // Password-reset mail must link to a page of this application.
        .reset_link("http://127.0.0.1:3000/reset-password")
        .build()
        .await?;

    // Default limits (64 KiB frames, 16 connections per user, ...). `web_dir` stays unset:
    // this application serves its own pages, and Jeco only answers under /chat, which the
    // OpenAPI document must name so that generated clients call the right paths.
    let config = ServerConfig {
        base_path: Some("/chat".to_owned()),
        ..ServerConfig::default()
    };
    let state = AppState::new(engine, config);

    let app = Router::new()
        .route(
            "/",
            get(|| async { "My application. Chat lives under /chat/v1/.\n" }),
        )
        .route("/health", get(|| async { "ok\n" }))
        // Everything Jeco serves (/v1/..., /healthz, /metrics) appears under /chat. Its
        // middleware (CORS, security headers, body limit) applies to its routes only. /metrics
        // answers only with `metrics_token` set; `jeco_server::serve_metrics` serves it on a
        // listener of its own instead.
        .nest("/chat", jeco_server::router(state.clone()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Jeco's accept loop rather than `axum::serve`: it caps open connections and times out
    // clients that send half a request or stall (`config.connection_limits`), gives handlers
    // the client address that logins and registrations are rate-limited by, and sets
    // TCP_NODELAY so that small real-time frames go out at once.
    let closing = state.clone();
    jeco_server::serve(listener, app, &state, async move {
        let _ = tokio::signal::ctrl_c().await;
        // Tell real-time connections to say `closing` (shutting_down) so clients reconnect
        // and resume, instead of being cut off mid-frame.
        closing.shutdown.cancel();
    })
    .await;
    Ok(())
}
