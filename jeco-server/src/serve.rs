//! Accepting connections with bounds: how many may be open, how long a client may take to
//! send a request head, how long an HTTP connection may sit with nothing moving.
//!
//! `axum::serve` sets no timer, so hyper's header timeout never runs and nothing caps the
//! open connections: anyone could hold a socket (and its memory) for as long as they like by
//! sending half a request. [`serve`] is the accept loop of the `jeco-server` binary, for
//! embedders that serve on their own listener too.
//!
//! - **Cap.** Each connection holds a slot of a semaphore for as long as its socket is
//!   open, an upgraded WebSocket included (the slot travels with the socket). Over the cap
//!   a connection is accepted and closed at once rather than left in the kernel's backlog:
//!   the client learns straight away (and a load balancer tries another node) instead of
//!   timing out, the backlog keeps room for the moment a slot frees, and each refusal is
//!   counted for operators.
//! - **Header timeout.** hyper's: a request head not complete within it closes the
//!   connection. The clock runs from the moment the connection waits for a request, so a
//!   keep-alive connection that sends no next request is closed after it as well.
//! - **Idle timeout.** A connection on which nothing is read or written for this long is
//!   dropped: a stalled upload, a client that stopped reading an answer. A WebSocket leaves
//!   this watch when it upgrades (its heartbeat takes over); an SSE stream writes a
//!   keep-alive every 15 seconds, so it is never idle while its client reads.
//! - **Shutdown.** When the shutdown future completes the listener closes, each connection
//!   finishes the request in flight (keep-alive off), and [`serve`] returns once all have
//!   closed, which the timeouts bound.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::metrics::Metrics;
use crate::state::{AppState, ConnectionLimits};

/// The limits of the metrics listener: a scraper or two, never the public.
const METRICS_LISTENER: ConnectionLimits = ConnectionLimits {
    max_connections: 16,
    header_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
};

/// Serves `app` on `listener` within `state.config.connection_limits`, counting connections
/// in `state.metrics`, until `shutdown` completes; then lets open requests finish and returns
/// when every connection has closed. Requests carry the peer's address as
/// `ConnectInfo<SocketAddr>`. A failed accept (out of file descriptors) is logged and
/// retried after a pause, never fatal.
pub async fn serve<F>(listener: TcpListener, app: Router, state: &AppState, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let counted = Some(Arc::clone(&state.metrics));
    accept(
        listener,
        app,
        state.config.connection_limits,
        counted,
        shutdown,
    )
    .await;
}

/// Serves `GET /metrics` alone on `listener` (an address operators keep private), until
/// `shutdown` completes. The metrics token, when set, is required here too.
pub async fn serve_metrics<F>(listener: TcpListener, state: &AppState, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let app = crate::routes::metrics_only(state);
    accept(listener, app, METRICS_LISTENER, None, shutdown).await;
}

/// The accept loop; `metrics`: where this listener's connections are counted, if anywhere.
async fn accept<F>(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    metrics: Option<Arc<Metrics>>,
    shutdown: F,
) where
    F: Future<Output = ()> + Send,
{
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let stop = CancellationToken::new();
    let mut open = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = open.join_next() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        pause_after(&e).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    if let Some(m) = &metrics {
                        m.connection_refused();
                    }
                    drop(stream);
                    continue;
                };
                let slot = Slot::new(permit, metrics.clone());
                open.spawn(connection(stream, peer, slot, app.clone(), limits, stop.clone()));
            }
        }
    }
    drop(listener);
    stop.cancel();
    while open.join_next().await.is_some() {}
}

/// After a failed accept: errors about one connection (it was reset before it was taken)
/// need no pause; others (out of file descriptors) would repeat at once, so the loop waits
/// a moment for connections to close.
async fn pause_after(e: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection until it closes, times out, upgrades or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    app: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) {
    // Real-time frames are small and often written back to back (an ack, then the event):
    // without TCP_NODELAY the second waits for the peer's delayed ACK, about 40 ms.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    let activity = Arc::new(Activity::new());
    let metrics = slot.metrics.clone();
    let io = Watched {
        inner: stream,
        activity: Arc::clone(&activity),
        _slot: slot,
    };
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request.map(Body::new))
    });
    let mut conn = pin!(
        http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades()
    );
    // Whatever ends the HTTP side (an upgrade included) ends the watch: an upgraded WebSocket
    // keeps this socket, and its frames should not pay for a clock nobody reads.
    let _unwatch = Unwatch(Arc::clone(&activity));
    let mut stopping = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served
                    && e.is_timeout()
                    && activity.awaiting_head()
                    && let Some(m) = &metrics
                {
                    m.header_timed_out();
                }
                return;
            }
            () = activity.idle_for(limits.idle_timeout) => {
                if let Some(m) = &metrics {
                    m.idle_timed_out();
                }
                return;
            }
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// One connection's place under the cap, held as long as its socket is open: while hyper
/// serves it, and afterwards inside an upgraded WebSocket.
struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    metrics: Option<Arc<Metrics>>,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, metrics: Option<Arc<Metrics>>) -> Slot {
        if let Some(m) = &metrics {
            m.connection_opened();
        }
        Slot {
            permit: Some(permit),
            metrics,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The place first: once the gauge shows it free, it is.
        drop(self.permit.take());
        if let Some(m) = &self.metrics {
            m.connection_closed();
        }
    }
}

/// What last happened on a connection, and when; recorded only while the HTTP side serves it.
struct Activity {
    opened: Instant,
    /// Whether reads and writes are recorded.
    watched: AtomicBool,
    /// Milliseconds from `opened` to the last byte read or written.
    last_ms: AtomicU64,
    /// [`NOTHING`], [`READ`] or [`WROTE`]: the last direction bytes moved in.
    last_was: AtomicU8,
}

const NOTHING: u8 = 0;
const READ: u8 = 1;
const WROTE: u8 = 2;

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            watched: AtomicBool::new(true),
            last_ms: AtomicU64::new(0),
            last_was: AtomicU8::new(NOTHING),
        }
    }

    fn moved(&self, direction: u8) {
        if !self.watched.load(Ordering::Relaxed) {
            return;
        }
        let ms = self.opened.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
        self.last_was.store(direction, Ordering::Relaxed);
    }

    /// Whether a header timeout caught a client in the middle of its request head, or one
    /// that never sent any: the last bytes were not an answer. After an answer it is only a
    /// keep-alive connection that had nothing more to ask.
    fn awaiting_head(&self) -> bool {
        self.last_was.load(Ordering::Relaxed) != WROTE
    }

    /// Completes once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// Stops recording a connection's activity when dropped.
struct Unwatch(Arc<Activity>);

impl Drop for Unwatch {
    fn drop(&mut self) {
        self.0.watched.store(false, Ordering::Relaxed);
    }
}

/// A socket that records its activity and carries its [`Slot`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    _slot: Slot,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.moved(READ);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.moved(WROTE);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.moved(WROTE);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
