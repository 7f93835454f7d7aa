//! `jeco._jeco`, the native half of the `jeco` Python package: a facade over `jeco-client`
//! and the reference server. The pure-Python half (`jeco/*.py`) turns what this module returns
//! into typed classes and offers the `async`/blocking API on top of it; no chat logic lives in
//! either half.
//!
//! ```text
//! lib.rs         the module, and the runtime: every Rust future runs on the one Tokio runtime
//!                of pyo3-async-runtimes, awaited from asyncio or blocked on with the GIL released
//! client.rs      NativeClient: every REST call of jeco_client::Client, by name (ops.rs)
//! ops.rs         the calls by name, arguments and results as JSON
//! connection.rs  NativeConnection, NativeEvents, NativeListener: the real-time connection
//! server.rs      NativeServer: the reference server inside the Python process
//! errors.rs      jeco_client::Error -> the `jeco.JecoError` hierarchy; events as JSON
//! ```
//!
//! Values cross the boundary as JSON text in the wire types' own serde form, so this module
//! redefines none of them; `jeco/models.py` and `jeco/events.py` mirror them as dataclasses.

mod client;
mod connection;
mod errors;
mod ops;
mod server;

use std::future::Future;
use std::time::Duration;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

/// How often a blocking call wakes up to let Python handle signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// The runtime every connection, server and call of this module runs on.
fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `fut` on the runtime: as an asyncio awaitable (cancelling it cancels `fut`), or, when
/// `blocking`, to completion with the GIL released and the value returned.
fn run<'py, T, F>(py: Python<'py>, blocking: bool, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    if blocking {
        block(py, fut)?.into_bound_py_any(py)
    } else {
        pyo3_async_runtimes::tokio::future_into_py(py, fut)
    }
}

/// Runs `fut` to completion on the runtime with the GIL released. Every [`SIGNAL_POLL`] it
/// lets Python run its signal handlers; when one raises (Ctrl-C), `fut` is dropped and the
/// exception propagates. Works from a thread of the runtime too (a listener's callback).
fn block<T, F>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut task = AbortOnDrop(runtime().spawn(fut));
    loop {
        let joined = py
            .detach(|| on_runtime(async { tokio::time::timeout(SIGNAL_POLL, &mut task.0).await }));
        match joined {
            Ok(Ok(result)) => return result,
            Ok(Err(join_error)) => {
                return Err(pyo3::exceptions::PySystemError::new_err(format!(
                    "the call's task failed: {join_error}"
                )));
            }
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// Blocks this thread on `fut`: inside the runtime (a listener callback calling a blocking
/// method) through `block_in_place`, elsewhere directly.
fn on_runtime<T>(fut: impl Future<Output = T>) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => tokio::task::block_in_place(|| handle.block_on(fut)),
        Err(_) => runtime().block_on(fut),
    }
}

/// A task that is aborted when its handle goes (a blocking call interrupted by Ctrl-C).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A fresh idempotency key for a send (128 random bits in hex).
#[pyfunction]
fn new_client_id() -> String {
    jeco_client::new_client_id()
}

/// The native module.
#[pymodule]
fn _jeco(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::NativeClient>()?;
    m.add_class::<connection::NativeConnection>()?;
    m.add_class::<connection::NativeEvents>()?;
    m.add_class::<connection::NativeListener>()?;
    m.add_class::<server::NativeServer>()?;
    m.add_function(wrap_pyfunction!(new_client_id, m)?)?;
    Ok(())
}
