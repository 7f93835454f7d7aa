//! Receiving uploads: the multipart body is read part by part and each piece of the file is
//! handed on as it arrives ([`receive`], into the engine's [`Upload`]), so a file is never
//! held in memory whole. A body that stalls, or takes too long in all, is cut off
//! ([`Deadlines`]); uploads in flight are capped per user and in all ([`InFlight`]), so
//! stalled uploads cannot pile up.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::{Body, BodyDataStream};
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use jeco_core::error::ErrorCode;
use jeco_core::ids::UserId;
use jeco_core::service::Upload;
use tokio::time::Instant;

use crate::counts::PerUser;
use crate::error::{ApiError, ApiResult, too_large};
use crate::metrics::Metrics;

/// When a client refused for too many uploads in flight may try again: uploads take a while,
/// so a second is soon enough.
const RETRY_IN_FLIGHT: Duration = Duration::from_secs(1);

/// How long an upload's body may take.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// The longest wait for the next bytes.
    pub idle: Duration,
    /// The longest the whole body may take.
    pub total: Duration,
}

/// Where the bytes of a received file go.
#[async_trait]
pub trait Sink: Send {
    /// Takes the next bytes; an error ends the upload.
    async fn write(&mut self, data: Bytes) -> Result<(), jeco_core::Error>;
}

#[async_trait]
impl Sink for Upload {
    async fn write(&mut self, data: Bytes) -> Result<(), jeco_core::Error> {
        Upload::write(self, data).await
    }
}

/// Reads `multipart` up to its part named `file` and writes that part's bytes into `sink` as
/// they arrive. The part's filename (default `file`).
///
/// Errors: `invalid_multipart` (malformed, or no `file` part), `too_large` (the body is over
/// its limit), `upload_timeout` (no bytes for `deadlines.idle`, or not done within
/// `deadlines.total`), and whatever `sink` refuses.
pub async fn receive(
    multipart: &mut Multipart,
    sink: &mut impl Sink,
    deadlines: Deadlines,
) -> ApiResult<String> {
    let end = Instant::now() + deadlines.total;
    while let Some(mut field) = within(deadlines, end, multipart.next_field()).await? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("file").to_owned();
        while let Some(chunk) = within(deadlines, end, field.chunk()).await? {
            sink.write(chunk).await?;
        }
        return Ok(filename);
    }
    Err(ApiError::new(
        ErrorCode::InvalidMultipart,
        "send the file as a multipart/form-data part named `file`",
    ))
}

/// `read`, cut off when the body stalls for `deadlines.idle` or runs past `end`.
async fn within<T>(
    deadlines: Deadlines,
    end: Instant,
    read: impl Future<Output = Result<T, MultipartError>>,
) -> ApiResult<T> {
    let until = end.min(Instant::now() + deadlines.idle);
    match tokio::time::timeout_at(until, read).await {
        Ok(read) => read.map_err(multipart_error),
        Err(_) if until == end => Err(ApiError::new(
            ErrorCode::UploadTimeout,
            format!(
                "the upload took longer than {} s in all",
                deadlines.total.as_secs()
            ),
        )),
        Err(_) => Err(ApiError::new(
            ErrorCode::UploadTimeout,
            format!("the upload sent nothing for {} s", deadlines.idle.as_secs()),
        )),
    }
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::new(ErrorCode::InvalidMultipart, e.body_text())
    }
}

/// Makes an upload's body hand over what it received one piece at a time (middleware of the
/// upload routes). The multipart reader takes in everything already received before it yields
/// anything, and keeps the whole allocation alive while any of it is left; paced, it holds one
/// piece at a time, however fast the client sends.
pub(crate) async fn pace(request: Request) -> Request {
    request.map(|body| {
        Body::from_stream(Paced {
            body: body.into_data_stream(),
            rest: false,
        })
    })
}

/// A body stream that is not ready again right after each piece.
struct Paced {
    body: BodyDataStream,
    /// A piece was just handed over: answer not-ready once (and ask to be polled again).
    rest: bool,
}

impl Stream for Paced {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.rest {
            self.rest = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let next = self.body.poll_next_unpin(cx);
        self.rest = matches!(next, Poll::Ready(Some(_)));
        next
    }
}

/// A refused upload. Its body was not read to the end, so the connection cannot carry another
/// request: the answer says so and the connection is closed after it.
#[derive(Debug)]
pub struct Refused(pub ApiError);

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Refused {
        Refused(e)
    }
}

impl From<jeco_core::Error> for Refused {
    fn from(e: jeco_core::Error) -> Refused {
        Refused(ApiError(e))
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

/// Counts uploads in flight, per user and in all, and shows the total in the metrics.
pub struct InFlight {
    per_user: usize,
    total: usize,
    open: Mutex<PerUser>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("per_user", &self.per_user)
            .field("total", &self.total)
            .field("open", &self.open)
            .finish()
    }
}

impl InFlight {
    /// At most `per_user` uploads of one user and `total` of everyone at once, counted in
    /// `metrics`.
    pub fn new(per_user: usize, total: usize, metrics: Arc<Metrics>) -> InFlight {
        InFlight {
            per_user,
            total,
            open: Mutex::new(PerUser::default()),
            metrics,
        }
    }

    /// Registers an upload of `user`; the slot is released when dropped.
    ///
    /// Errors: `rate_limited`, with when to retry, when the user or the server has as many
    /// uploads in flight as allowed.
    pub fn admit(self: &Arc<Self>, user: UserId) -> Result<UploadSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let refusal = if open.of(user) >= self.per_user {
            Some(format!(
                "at most {} uploads of one user at once: wait for one to finish",
                self.per_user
            ))
        } else if open.total() >= self.total {
            Some("the server takes no more uploads right now".to_owned())
        } else {
            None
        };
        if let Some(message) = refusal {
            return Err(ApiError(jeco_core::Error::rate_limited(
                message,
                RETRY_IN_FLIGHT,
            )));
        }
        open.add(user);
        self.metrics.upload_started();
        Ok(UploadSlot {
            in_flight: Arc::clone(self),
            user,
        })
    }

    /// Uploads in flight.
    pub fn total(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total()
    }
}

/// One upload in flight.
#[derive(Debug)]
pub struct UploadSlot {
    in_flight: Arc<InFlight>,
    user: UserId,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        self.in_flight
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.user);
        self.in_flight.metrics.upload_finished();
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::FromRequest;

    use super::*;

    /// Takes everything.
    struct Discard;

    #[async_trait]
    impl Sink for Discard {
        async fn write(&mut self, _: Bytes) -> Result<(), jeco_core::Error> {
            Ok(())
        }
    }

    /// An upload whose body is the head of a `file` part, then a byte every `every`.
    async fn trickling(every: Duration) -> Multipart {
        let head =
            Bytes::from_static(b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n");
        let body = futures::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
            futures::stream::unfold((), move |()| async move {
                tokio::time::sleep(every).await;
                Some((Ok(Bytes::from_static(b"x")), ()))
            }),
        );
        let request = Request::post("/")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
            .body(Body::from_stream(body))
            .expect("a request");
        Multipart::from_request(request, &())
            .await
            .expect("multipart")
    }

    const DEADLINES: Deadlines = Deadlines {
        idle: Duration::from_secs(30),
        total: Duration::from_secs(600),
    };

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_is_cut_off() {
        let mut multipart = trickling(Duration::from_secs(31)).await;
        let e = receive(&mut multipart, &mut Discard, DEADLINES)
            .await
            .expect_err("stalled");
        assert_eq!(e.code(), ErrorCode::UploadTimeout);
        assert!(e.to_string().contains("sent nothing for 30 s"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_trickles_is_cut_off_at_the_total() {
        let mut multipart = trickling(Duration::from_secs(29)).await;
        let started = Instant::now();
        let e = receive(&mut multipart, &mut Discard, DEADLINES)
            .await
            .expect_err("too slow in all");
        assert_eq!(e.code(), ErrorCode::UploadTimeout);
        assert!(e.to_string().contains("longer than 600 s"), "{e}");
        assert_eq!(started.elapsed(), DEADLINES.total, "on the paused clock");
    }

    #[test]
    fn slots_are_capped_per_user_and_in_all_and_come_back() {
        let metrics = Arc::new(Metrics::new());
        let in_flight = Arc::new(InFlight::new(2, 3, Arc::clone(&metrics)));
        let (a, b) = (UserId(1), UserId(2));
        let a1 = in_flight.admit(a).expect("first");
        let _a2 = in_flight.admit(a).expect("second");
        let over = in_flight.admit(a).expect_err("third of one user");
        assert_eq!(over.code(), ErrorCode::RateLimited);
        assert_eq!(over.0.retry_after(), Some(RETRY_IN_FLIGHT));
        let _b1 = in_flight.admit(b).expect("another user");
        assert!(in_flight.admit(b).is_err(), "over the total");
        assert!(metrics.render().contains("jeco_uploads_in_flight 3\n"));
        drop(a1);
        assert_eq!(in_flight.total(), 2);
        assert!(metrics.render().contains("jeco_uploads_in_flight 2\n"));
        let _b2 = in_flight.admit(b).expect("a slot came back");
    }
}
