//! [`NativeConnection`]: a [`jeco_client::Connection`] for Python, with its two ways to receive
//! events: [`NativeEvents`] (pulled, by `async for` or a blocking loop) and [`NativeListener`]
//! (a callback called on the runtime).

use std::sync::Arc;
use std::time::Duration;

use jeco_client::proto::api::SendMessage;
use jeco_client::proto::ids::{AttachmentId, MessageId, RoomId, Seq};
use jeco_client::{ClientEvent, Connection, EventListener, EventStream, ListenerHandle};
use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use serde_json::json;

use crate::errors::{bad_argument, event_json, state_json, to_py};
use crate::run;

/// A real-time connection that reconnects and resumes by itself; closed by `close` or when
/// garbage-collected.
#[pyclass(module = "jeco._jeco", frozen)]
pub(crate) struct NativeConnection {
    connection: Arc<Connection>,
}

impl NativeConnection {
    pub(crate) fn new(connection: Connection) -> NativeConnection {
        NativeConnection {
            connection: Arc::new(connection),
        }
    }
}

/// A message to send, from the Python arguments.
fn message(
    body: String,
    reply_to: Option<i64>,
    attachments: Vec<i64>,
    client_id: Option<String>,
) -> SendMessage {
    SendMessage {
        client_id: client_id.unwrap_or_default(),
        body,
        reply_to: reply_to.map(MessageId),
        attachments: attachments.into_iter().map(AttachmentId).collect(),
    }
}

/// `value` as JSON text.
fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| bad_argument(e.to_string()))
}

/// A sequence from Python, which may not be negative.
fn seq(seq: i64) -> PyResult<Seq> {
    if seq < 0 {
        return Err(bad_argument("seq: never negative"));
    }
    Ok(Seq(seq))
}

#[pymethods]
impl NativeConnection {
    /// Queues a message through the outbox; its `client_id`. Works offline.
    #[pyo3(signature = (room, body, reply_to=None, attachments=Vec::new(), client_id=None))]
    fn send(
        &self,
        room: i64,
        body: String,
        reply_to: Option<i64>,
        attachments: Vec<i64>,
        client_id: Option<String>,
    ) -> String {
        let message = message(body, reply_to, attachments, client_id);
        self.connection.send_message(RoomId(room), message)
    }

    /// Queues a message now and waits until it is stored; the message as JSON text. The
    /// message is queued before this returns, so cancelling the wait never takes it back.
    #[pyo3(signature = (room, body, reply_to, attachments, client_id, blocking))]
    #[allow(clippy::too_many_arguments)]
    fn send_and_wait<'py>(
        &self,
        py: Python<'py>,
        room: i64,
        body: String,
        reply_to: Option<i64>,
        attachments: Vec<i64>,
        client_id: Option<String>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let message = message(body, reply_to, attachments, client_id);
        let (_, stored) = self.connection.send_tracked(RoomId(room), message);
        run(py, blocking, async move {
            to_json(&stored.await.map_err(|e| to_py(&e))?)
        })
    }

    /// Says the user is typing in `room`, or stopped.
    fn typing<'py>(
        &self,
        py: Python<'py>,
        room: i64,
        active: bool,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let connection = self.connection.clone();
        run(py, blocking, async move {
            connection
                .typing(RoomId(room), active)
                .await
                .map_err(|e| to_py(&e))
        })
    }

    /// Marks `room` read up to `seq`; the watermark now.
    fn mark_read<'py>(
        &self,
        py: Python<'py>,
        room: i64,
        seq: i64,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let connection = self.connection.clone();
        let seq = self::seq(seq)?;
        run(py, blocking, async move {
            let now = connection.mark_read(RoomId(room), seq).await;
            Ok(now.map_err(|e| to_py(&e))?.get())
        })
    }

    /// Puts or takes back a reaction; whether it is present now.
    fn react<'py>(
        &self,
        py: Python<'py>,
        message: i64,
        emoji: String,
        add: bool,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let connection = self.connection.clone();
        run(py, blocking, async move {
            connection
                .react(MessageId(message), &emoji, add)
                .await
                .map_err(|e| to_py(&e))
        })
    }

    /// Replaces the text of one's own message; the message as JSON text.
    fn edit<'py>(
        &self,
        py: Python<'py>,
        message: i64,
        body: String,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let connection = self.connection.clone();
        run(py, blocking, async move {
            let edited = connection.edit(MessageId(message), &body).await;
            to_json(&edited.map_err(|e| to_py(&e))?)
        })
    }

    /// Deletes a message.
    fn delete<'py>(
        &self,
        py: Python<'py>,
        message: i64,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let connection = self.connection.clone();
        run(py, blocking, async move {
            connection
                .delete(MessageId(message))
                .await
                .map_err(|e| to_py(&e))
        })
    }

    /// The connection's state as a `state` event (JSON text).
    fn state(&self) -> String {
        state_json(&self.connection.state()).to_string()
    }

    /// Whether a connection is up right now.
    fn is_connected(&self) -> bool {
        self.connection.is_connected()
    }

    /// The rooms' positions, to continue from after a restart (JSON array).
    fn positions(&self) -> PyResult<String> {
        to_json(&self.connection.positions())
    }

    /// The feed's position, to continue from after a restart.
    fn feed_seq(&self) -> Option<i64> {
        self.connection.feed_seq().map(Seq::get)
    }

    /// The sends not acknowledged yet, to queue again after a restart (JSON array).
    fn pending_sends(&self) -> String {
        let pending: Vec<_> = self
            .connection
            .pending_sends()
            .into_iter()
            .map(|p| json!({"room_id": p.room_id, "message": p.message}))
            .collect();
        serde_json::Value::Array(pending).to_string()
    }

    /// Stops the connection for good.
    fn close(&self) {
        self.connection.close();
    }

    /// A new subscription to every event from now on (the current state first).
    fn events(&self) -> NativeEvents {
        NativeEvents {
            stream: Arc::new(tokio::sync::Mutex::new(self.connection.events())),
        }
    }

    /// Calls `callback` with every event (JSON text), one call at a time, on a thread of the
    /// runtime, until the returned handle is cancelled or collected.
    fn add_listener(&self, callback: Py<PyAny>) -> NativeListener {
        let handle = self
            .connection
            .add_listener(Arc::new(PyListener { callback }));
        NativeListener { handle }
    }
}

/// One subscription's events, pulled.
#[pyclass(module = "jeco._jeco", frozen)]
pub(crate) struct NativeEvents {
    stream: Arc<tokio::sync::Mutex<EventStream>>,
}

#[pymethods]
impl NativeEvents {
    /// The next event as JSON text; `None` once the connection stopped and every event was
    /// read. With `timeout` (seconds), `TimeoutError` when none came in time. Cancel-safe: a
    /// cancelled wait loses no event.
    #[pyo3(signature = (timeout, blocking))]
    fn next<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = timeout
            .map(Duration::try_from_secs_f64)
            .transpose()
            .map_err(|e| bad_argument(format!("timeout: {e}")))?;
        let stream = self.stream.clone();
        run(py, blocking, async move {
            let mut stream = stream.lock().await;
            let event = match timeout {
                Some(limit) => tokio::time::timeout(limit, stream.next())
                    .await
                    .map_err(|_| PyTimeoutError::new_err("no event in time"))?,
                None => stream.next().await,
            };
            Ok(event.as_ref().map(event_json))
        })
    }
}

/// Keeps a callback attached; `cancel` (or collecting it) detaches it.
#[pyclass(module = "jeco._jeco", frozen)]
pub(crate) struct NativeListener {
    handle: ListenerHandle,
}

#[pymethods]
impl NativeListener {
    /// Stops the calls: none starts afterwards.
    fn cancel(&self) {
        self.handle.cancel();
    }

    /// Whether the calls were stopped.
    #[getter]
    fn cancelled(&self) -> bool {
        self.handle.is_cancelled()
    }
}

/// A Python callable as an [`EventListener`].
struct PyListener {
    callback: Py<PyAny>,
}

impl EventListener for PyListener {
    fn on_event(&self, event: ClientEvent) {
        let json = event_json(&event);
        Python::attach(|py| {
            if let Err(e) = self.callback.call1(py, (json,)) {
                // Like an exception in a thread: reported, and the events go on.
                e.write_unraisable(py, Some(self.callback.bind(py)));
            }
        });
    }
}
