//! The `jeco-server` binary: reads its configuration, opens the engine and serves until
//! SIGTERM or Ctrl-C, then closes real-time connections with a `closing` frame, waits (at
//! most a few seconds) for each to release its user's presence, and lets in-flight requests
//! finish.

use std::net::SocketAddr;

use anyhow::Context;
use axum::serve::ListenerExt;
use clap::Parser;
use jeco_server::AppState;
use jeco_server::config::{Cli, Settings};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: with tens of thousands of connections, each a
/// few small allocations made and freed on different threads, it keeps resident memory per
/// connection lower (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long shutdown waits for real-time connections to say goodbye and release presence.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let settings = Settings::from_cli(Cli::parse())?;
    let engine = settings.engine().await?;
    let mut state = AppState::new(engine.clone(), settings.server_config(&engine));
    if let Some(shared) = settings.shared()? {
        state = state.shared_through(shared);
    }
    let app = jeco_server::router(state.clone());
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let mut store = match &settings.options.database_url {
        Some(_) => "PostgreSQL".to_owned(),
        None => format!("SQLite in {}", settings.data_dir().display()),
    };
    if settings.options.redis_url.is_some() {
        store.push_str(", Redis");
    }
    println!("Jeco Chat is listening on http://{addr} ({store})");
    let closing = state.clone();
    // Real-time frames are small and often written back to back (an ack, then the event):
    // without TCP_NODELAY the second waits for the peer's delayed ACK, about 40 ms.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        stop_signal().await;
        tracing::info!("shutting down: closing real-time connections");
        if !closing.close_connections(SHUTDOWN_GRACE).await {
            tracing::warn!("some real-time connections did not close in time");
        }
    })
    .await
    .context("serving")?;
    Ok(())
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
