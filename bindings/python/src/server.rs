//! [`NativeServer`]: the reference server (`jeco-server`'s router, on SQLite in a data
//! directory or on PostgreSQL) inside the Python process, on the module's runtime.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use jeco_server::AppState;
use jeco_server::config::{Options, Settings};
use pyo3::prelude::*;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::block;
use crate::errors::{bad_argument, native_error};

/// How long `stop` waits for real-time connections to say goodbye (they are told to
/// reconnect, and release their users' presence).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running server; stopped by `stop`, or in the background when collected.
#[pyclass(module = "jeco._jeco", frozen)]
pub(crate) struct NativeServer {
    /// Where it listens: `http://host:port`.
    url: String,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// A failure to start, as a `jeco.ServerError`.
fn server_error(message: String) -> PyErr {
    native_error(json!({
        "kind": "server", "code": "server", "status": 0, "message": message, "transient": false,
    }))
}

#[pymethods]
impl NativeServer {
    /// Opens the engine and starts serving; returns once the server accepts connections.
    #[new]
    #[pyo3(signature = (data_dir, host, port, database_url, redis_url))]
    fn new(
        py: Python<'_>,
        data_dir: PathBuf,
        host: &str,
        port: u16,
        database_url: Option<String>,
        redis_url: Option<String>,
    ) -> PyResult<NativeServer> {
        let ip: IpAddr = host
            .parse()
            .map_err(|e| bad_argument(format!("host {host:?}: {e}")))?;
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let (addr, task) = block(py, async move {
            let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, port))
                .await
                .map_err(|e| server_error(format!("listening on {ip}:{port}: {e}")))?;
            let listen = listener
                .local_addr()
                .map_err(|e| server_error(e.to_string()))?;
            let settings = Settings {
                listen,
                options: Options {
                    listen: Some(listen),
                    data_dir: Some(data_dir),
                    database_url,
                    redis_url,
                    ..Options::default()
                },
            };
            let engine = settings
                .engine()
                .await
                .map_err(|e| server_error(e.to_string()))?;
            let config = settings
                .server_config(&engine)
                .map_err(|e| server_error(e.to_string()))?;
            let mut state = AppState::new(engine, config);
            if let Some(shared) = settings.shared().map_err(|e| server_error(e.to_string()))? {
                state = state.shared_through(shared);
            }
            let app = jeco_server::router(state.clone());
            let task = tokio::spawn(async move {
                let closing = state.clone();
                let shutdown = async move {
                    stopped.cancelled().await;
                    closing.close_connections(SHUTDOWN_GRACE).await;
                };
                jeco_server::serve(listener, app, &state, shutdown).await;
            });
            Ok((listen, task))
        })?;
        let host = match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        Ok(NativeServer {
            url: format!("http://{host}:{}", addr.port()),
            stop,
            task: Mutex::new(Some(task)),
        })
    }

    /// Where the server listens: `http://host:port`.
    #[getter]
    fn url(&self) -> String {
        self.url.clone()
    }

    /// Whether the server still serves.
    #[getter]
    fn running(&self) -> bool {
        !self.stop.is_cancelled()
    }

    /// Stops the server: real-time connections are told to reconnect elsewhere (or later),
    /// open requests finish; returns once every connection has closed. Stopping twice does
    /// nothing more.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        self.stop.cancel();
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            block(py, async move {
                task.await
                    .map_err(|e| server_error(format!("the server failed: {e}")))
            })?;
        }
        Ok(())
    }
}

impl Drop for NativeServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
