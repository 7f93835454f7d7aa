//! The `jeco-server` binary: reads its configuration, opens the engine and serves until
//! SIGTERM or Ctrl-C, then closes real-time connections with a `closing` frame, waits (at
//! most a few seconds) for each to release its user's presence, and lets in-flight requests
//! finish. `jeco-server openapi` prints the OpenAPI document instead, and exits.

use anyhow::Context;
use clap::Parser;
use jeco_server::AppState;
use jeco_server::config::{Cli, Command, DEFAULT_WEB_DIR, Settings};
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
    let cli = Cli::parse();
    if cli.command == Some(Command::Openapi) {
        let doc = jeco_server::openapi_json(&jeco_server::openapi_document());
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let settings = Settings::from_cli(cli)?;
    let engine = settings.engine().await?;
    let mut state = AppState::new(engine.clone(), settings.server_config(&engine)?);
    if let Some(shared) = settings.shared()? {
        state = state.shared_through(shared);
    }
    match &state.config.web_dir {
        Some(dir) => tracing::info!(dir = %dir.display(), "serving the web client"),
        None => tracing::info!(
            "the web client is not built ({DEFAULT_WEB_DIR} does not exist): \
             `bash scripts/run.sh` builds it, or set --web-dir"
        ),
    }
    let app = jeco_server::router(state.clone());
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let metrics = match settings.options.metrics_addr {
        Some(metrics_addr) => {
            let listener = tokio::net::TcpListener::bind(metrics_addr)
                .await
                .with_context(|| format!("listening for metrics on {metrics_addr}"))?;
            let shutdown = state.shutdown.clone();
            let state = state.clone();
            Some(tokio::spawn(async move {
                jeco_server::serve_metrics(listener, &state, shutdown.cancelled_owned()).await;
            }))
        }
        None => None,
    };
    let mut store = match &settings.options.database_url {
        Some(_) => "PostgreSQL".to_owned(),
        None => format!("SQLite in {}", settings.data_dir().display()),
    };
    if settings.options.redis_url.is_some() {
        store.push_str(", Redis");
    }
    println!("Jeco Chat is listening on http://{addr} ({store})");
    match (settings.options.metrics_addr, &state.config.metrics_token) {
        (Some(at), _) => println!("Metrics: http://{at}/metrics"),
        (None, Some(_)) => println!("Metrics: http://{addr}/metrics, with the metrics token"),
        (None, None) => println!("Metrics: not served (set --metrics-addr or --metrics-token)"),
    }
    let closing = state.clone();
    jeco_server::serve(listener, app, &state, async move {
        stop_signal().await;
        tracing::info!("shutting down: closing real-time connections");
        if !closing.close_connections(SHUTDOWN_GRACE).await {
            tracing::warn!("some real-time connections did not close in time");
        }
    })
    .await;
    if let Some(metrics) = metrics {
        metrics.await.context("serving metrics")?;
    }
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
