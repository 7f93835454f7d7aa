//! [`NativeClient`]: a [`jeco_client::Client`] for Python.

use std::sync::Arc;

use jeco_client::proto::ws::RoomPosition;
use jeco_client::{Client, ConnectOptions, PendingSend, TransportKind, Upload};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::connection::NativeConnection;
use crate::errors::{bad_argument, to_py};
use crate::ops::{self, Args, OpError};
use crate::{run, runtime};

/// A client of one server; clones of it share the session. Methods with a `blocking` flag
/// return an awaitable when it is false and the result when it is true.
#[pyclass(module = "jeco._jeco", frozen)]
pub(crate) struct NativeClient {
    client: Client,
}

#[pymethods]
impl NativeClient {
    /// A client of the server at `base_url`.
    #[new]
    fn new(base_url: &str) -> PyResult<NativeClient> {
        let client = Client::new(base_url).map_err(|e| to_py(&e))?;
        Ok(NativeClient { client })
    }

    /// The base URL, without a trailing slash.
    #[getter]
    fn base_url(&self) -> String {
        self.client.base_url().to_owned()
    }

    /// Runs the REST call `op` with `args` (a JSON object); its result as JSON text.
    fn call<'py>(
        &self,
        py: Python<'py>,
        op: String,
        args: &str,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = Args::parse(args).map_err(op_error)?;
        let client = self.client.clone();
        run(py, blocking, async move {
            ops::call(&client, &op, args).await.map_err(op_error)
        })
    }

    /// Uploads a file for a message in `room`, or for the avatar when `room` is `None`: `data`
    /// when given, else the file at `path`; `progress(sent, total)` is called as it goes. Its
    /// metadata as JSON text.
    #[pyo3(signature = (room, data, path, file_name, progress, blocking))]
    #[allow(clippy::too_many_arguments)]
    fn upload<'py>(
        &self,
        py: Python<'py>,
        room: Option<i64>,
        data: Option<Vec<u8>>,
        path: Option<String>,
        file_name: Option<String>,
        progress: Option<Py<PyAny>>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let file = match (data, path) {
            (Some(data), None) => Upload::Bytes {
                file_name: file_name.unwrap_or_else(|| "file".to_owned()),
                data,
            },
            (None, Some(path)) => Upload::File { path, file_name },
            _ => return Err(bad_argument("give either data or path")),
        };
        let client = self.client.clone();
        let progress = progress.map(|callback| {
            Arc::new(PyProgress { callback }) as Arc<dyn jeco_client::UploadProgress>
        });
        run(py, blocking, async move {
            let meta = match room {
                Some(room) => {
                    let room = jeco_client::proto::ids::RoomId(room);
                    client.upload_attachment(room, file, progress).await
                }
                None => client.upload_avatar(file, progress).await,
            }
            .map_err(|e| to_py(&e))?;
            serde_json::to_string(&meta).map_err(|e| bad_argument(e.to_string()))
        })
    }

    /// A file's content (or its thumbnail's) as `(data, content_type, file_name)`.
    fn download<'py>(
        &self,
        py: Python<'py>,
        attachment: i64,
        thumbnail: bool,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        let attachment = jeco_client::proto::ids::AttachmentId(attachment);
        run(py, blocking, async move {
            let download = if thumbnail {
                client.thumbnail(attachment).await
            } else {
                client.download(attachment).await
            }
            .map_err(|e| to_py(&e))?;
            Python::attach(|py| {
                let data = PyBytes::new(py, &download.data).unbind();
                Ok((data, download.content_type, download.file_name))
            })
        })
    }

    /// Opens a real-time connection in the background. `transport` is `"websocket"` or
    /// `"sse"`; `rooms`, `feed_seq` and `outbox` continue from a saved state (`rooms` and
    /// `outbox` as JSON arrays, as `NativeConnection.positions` and `pending_sends` give them).
    #[pyo3(signature = (transport, rooms, feed_seq, outbox, backoff_base, backoff_max, queue_capacity))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        &self,
        transport: &str,
        rooms: &str,
        feed_seq: Option<i64>,
        outbox: &str,
        backoff_base: f64,
        backoff_max: f64,
        queue_capacity: usize,
    ) -> PyResult<NativeConnection> {
        let transport = match transport {
            "websocket" => TransportKind::WebSocket,
            "sse" => TransportKind::Sse,
            other => return Err(bad_argument(format!("unknown transport: {other}"))),
        };
        let rooms: Vec<RoomPosition> =
            serde_json::from_str(rooms).map_err(|e| bad_argument(format!("rooms: {e}")))?;
        let outbox: Vec<PendingSend> = parse_outbox(outbox)?;
        let seconds = |s: f64, name: &str| {
            std::time::Duration::try_from_secs_f64(s)
                .map_err(|e| bad_argument(format!("{name}: {e}")))
        };
        let options = ConnectOptions {
            transport,
            rooms,
            feed_seq: match feed_seq {
                Some(s) if s < 0 => return Err(bad_argument("feed_seq: never negative")),
                s => s.map(jeco_client::proto::ids::Seq),
            },
            outbox,
            backoff_base: seconds(backoff_base, "backoff_base")?,
            backoff_max: seconds(backoff_max, "backoff_max")?,
            queue_capacity: queue_capacity.max(1),
            runtime: Some(runtime().handle().clone()),
        };
        let connection = self.client.connect(options).map_err(|e| to_py(&e))?;
        Ok(NativeConnection::new(connection))
    }
}

/// Pending sends from their JSON form (`[{"room_id", "message": {...}}]`).
fn parse_outbox(json: &str) -> PyResult<Vec<PendingSend>> {
    #[derive(serde::Deserialize)]
    struct Saved {
        room_id: jeco_client::proto::ids::RoomId,
        message: jeco_client::proto::api::SendMessage,
    }
    let saved: Vec<Saved> =
        serde_json::from_str(json).map_err(|e| bad_argument(format!("outbox: {e}")))?;
    Ok(saved
        .into_iter()
        .map(|s| PendingSend {
            room_id: s.room_id,
            message: s.message,
        })
        .collect())
}

/// A Python callable told how far an upload has come.
struct PyProgress {
    callback: Py<PyAny>,
}

impl jeco_client::UploadProgress for PyProgress {
    fn progress(&self, sent: u64, total: u64) {
        Python::attach(|py| {
            if let Err(e) = self.callback.call1(py, (sent, total)) {
                // Like an exception in a thread: reported, and the upload goes on.
                e.write_unraisable(py, Some(self.callback.bind(py)));
            }
        });
    }
}

/// A failed call as the exception Python raises.
fn op_error(e: OpError) -> PyErr {
    match e {
        OpError::Client(e) => to_py(&e),
        OpError::Argument(message) => bad_argument(message),
    }
}
