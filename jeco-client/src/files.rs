//! Files: uploads (room attachments and avatars) streamed in chunks with progress reports,
//! downloads and thumbnails.
//!
//! An upload is sent as a multipart part named `file` whose body is read chunk by chunk,
//! from memory or from disk, as the HTTP connection asks for it: a large file is never held
//! in memory twice, and progress counts what the connection has taken. Dropping the upload's
//! future cancels it: the body then fails on its next chunk, the request is aborted before
//! the server has the whole file, and the server stores nothing.
//!
//! Transfers use the client without an overall timeout (like the SSE stream): a large file
//! on a slow link takes as long as it takes, and the caller decides when to give up.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use jeco_proto::ids::{AttachmentId, RoomId};
use jeco_proto::model::AttachmentMeta;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method, RequestBuilder};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, decode};
use crate::error::{Error, Result};

/// How much of a file one chunk of an upload carries.
const CHUNK: usize = 64 * 1024;

/// Told how far an upload has come.
pub trait UploadProgress: Send + Sync {
    /// `sent` of `total` bytes of the file have been handed to the HTTP connection. Called
    /// with strictly increasing `sent`, first with 0, last with `total` once the whole file
    /// is sent (the server's answer follows). Called from the task that sends the body:
    /// return quickly.
    fn progress(&self, sent: u64, total: u64);
}

/// A file to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Upload {
    /// Bytes already in memory.
    Bytes {
        /// The name the file gets on the server.
        file_name: String,
        /// The content (its type is detected from it by the server).
        data: Vec<u8>,
    },
    /// A file on disk, read while it is sent.
    File {
        /// Where it is.
        path: String,
        /// The name the file gets on the server; `None`: the last part of `path`.
        file_name: Option<String>,
    },
}

/// A downloaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// The content.
    pub data: Vec<u8>,
    /// Its type, as the server detected it at upload (`image/png`, ...).
    pub content_type: String,
    /// Its name, when the server gave one (`Content-Disposition`; the server names
    /// downloads that are not images).
    pub file_name: Option<String>,
}

impl Client {
    /// Uploads a file to a room, for attaching to a message there
    /// (`POST /v1/rooms/{room_id}/attachments`); its metadata, whose `id` goes in
    /// [`jeco_proto::api::SendMessage::attachments`]. Dropping the future cancels the upload.
    pub async fn upload_attachment(
        &self,
        room: RoomId,
        file: Upload,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<AttachmentMeta> {
        self.upload(&format!("/v1/rooms/{room}/attachments"), file, progress)
            .await
    }

    /// Uploads an image (PNG, JPEG, GIF or WebP) for the user's avatar
    /// (`POST /v1/me/avatar`); set it with [`Client::update_profile`]. Dropping the future
    /// cancels the upload.
    pub async fn upload_avatar(
        &self,
        file: Upload,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<AttachmentMeta> {
        self.upload("/v1/me/avatar", file, progress).await
    }

    /// A file's content (`GET /v1/attachments/{attachment_id}`).
    pub async fn download(&self, attachment: AttachmentId) -> Result<Download> {
        self.fetch(&format!("/v1/attachments/{attachment}")).await
    }

    /// A PNG of an image attachment, fitted into 256x256 pixels
    /// (`GET /v1/attachments/{attachment_id}/thumbnail`); `thumbnail_not_found` for files
    /// that are not images.
    pub async fn thumbnail(&self, attachment: AttachmentId) -> Result<Download> {
        self.fetch(&format!("/v1/attachments/{attachment}/thumbnail"))
            .await
    }

    async fn upload(
        &self,
        path: &str,
        file: Upload,
        progress: Option<Arc<dyn UploadProgress>>,
    ) -> Result<AttachmentMeta> {
        let source = Source::open(file).await?;
        let cancel = CancellationToken::new();
        // Dropping this future (that is, the caller giving up) fails the body's next chunk.
        let _cancel_on_drop = cancel.clone().drop_guard();
        let reporter = Arc::new(Reporter::new(progress));
        let build = |req: RequestBuilder| {
            let body = Metered {
                chunks: source.chunks(),
                total: source.len,
                taken: 0,
                cancel: cancel.clone(),
                reporter: reporter.clone(),
            };
            let part = Part::stream_with_length(Body::wrap_stream(body), source.len)
                .file_name(source.file_name.clone());
            req.multipart(Form::new().part("file", part))
        };
        let http = &self.inner.stream_http;
        decode(self.send_authed(http, Method::POST, path, &build).await?).await
    }

    async fn fetch(&self, path: &str) -> Result<Download> {
        let http = &self.inner.stream_http;
        let resp = self
            .send_authed(http, Method::GET, path, &|req| req)
            .await?;
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type =
            header(CONTENT_TYPE).unwrap_or_else(|| "application/octet-stream".to_owned());
        let file_name = header(CONTENT_DISPOSITION).and_then(|d| file_name_of(&d));
        let data = Vec::from(resp.bytes().await?);
        Ok(Download {
            data,
            content_type,
            file_name,
        })
    }
}

/// An upload's content, ready to be read (again, when an attempt is retried).
struct Source {
    content: Content,
    len: u64,
    file_name: String,
}

enum Content {
    Memory(Bytes),
    Disk(std::path::PathBuf),
}

impl Source {
    async fn open(file: Upload) -> Result<Source> {
        match file {
            Upload::Bytes { file_name, data } => Ok(Source {
                len: data.len() as u64,
                content: Content::Memory(Bytes::from(data)),
                file_name,
            }),
            Upload::File { path, file_name } => {
                let meta = tokio::fs::metadata(&path)
                    .await
                    .map_err(|e| Error::File(format!("{path}: {e}")))?;
                if !meta.is_file() {
                    return Err(Error::File(format!("{path}: not a file")));
                }
                let file_name = file_name.unwrap_or_else(|| {
                    Path::new(&path)
                        .file_name()
                        .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned())
                });
                Ok(Source {
                    len: meta.len(),
                    content: Content::Disk(path.into()),
                    file_name,
                })
            }
        }
    }

    /// The content in chunks of at most [`CHUNK`] bytes; a file is opened on the first.
    fn chunks(&self) -> BoxStream<'static, io::Result<Bytes>> {
        match &self.content {
            Content::Memory(data) => {
                let data = data.clone();
                let starts = (0..data.len()).step_by(CHUNK);
                stream::iter(
                    starts.map(move |start| Ok(data.slice(start..data.len().min(start + CHUNK)))),
                )
                .boxed()
            }
            Content::Disk(path) => {
                let path = path.clone();
                stream::once(async move { tokio::fs::File::open(path).await })
                    .map_ok(|file| {
                        stream::try_unfold(file, |mut file| async move {
                            let mut chunk = BytesMut::zeroed(CHUNK);
                            let n = file.read(&mut chunk).await?;
                            chunk.truncate(n);
                            Ok((n > 0).then(|| (chunk.freeze(), file)))
                        })
                    })
                    .try_flatten()
                    .boxed()
            }
        }
    }
}

/// Reports progress to the caller's [`UploadProgress`], only ever forwards: a retried
/// attempt starts its body over, and a progress bar should not jump back.
struct Reporter {
    listener: Option<Arc<dyn UploadProgress>>,
    /// The last `sent` reported, plus one (0: nothing yet).
    reported: AtomicU64,
}

impl Reporter {
    fn new(listener: Option<Arc<dyn UploadProgress>>) -> Reporter {
        Reporter {
            listener,
            reported: AtomicU64::new(0),
        }
    }

    fn report(&self, sent: u64, total: u64) {
        let Some(listener) = &self.listener else {
            return;
        };
        let mark = sent.saturating_add(1);
        if self.reported.fetch_max(mark, Ordering::AcqRel) < mark {
            listener.progress(sent, total);
        }
    }
}

/// An upload body: counts what the connection takes, fails once cancelled, and checks that
/// the content is as long as announced (a file could change while it is read).
struct Metered {
    chunks: BoxStream<'static, io::Result<Bytes>>,
    total: u64,
    taken: u64,
    cancel: CancellationToken,
    reporter: Arc<Reporter>,
}

impl Stream for Metered {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Being asked for more means the connection has taken everything handed out so far.
        self.reporter.report(self.taken, self.total);
        if self.cancel.is_cancelled() {
            return Poll::Ready(Some(Err(io::Error::other("the upload was cancelled"))));
        }
        let item = match self.chunks.poll_next_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        Poll::Ready(match item {
            Some(Ok(chunk)) => {
                self.taken += chunk.len() as u64;
                if self.taken > self.total {
                    Some(Err(io::Error::other("the file grew while it was uploaded")))
                } else {
                    Some(Ok(chunk))
                }
            }
            Some(Err(e)) => Some(Err(e)),
            None if self.taken < self.total => Some(Err(io::Error::other(
                "the file shrank while it was uploaded",
            ))),
            None => None,
        })
    }
}

/// The file name of a `Content-Disposition` value: the exact UTF-8 `filename*` (RFC 8187)
/// when present, else the plain `filename`.
fn file_name_of(disposition: &str) -> Option<String> {
    let mut plain = None;
    for param in split_params(disposition).into_iter().skip(1) {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "filename*" => {
                if let Some(name) = extended_value(value.trim()) {
                    return Some(name);
                }
            }
            "filename" => plain = Some(unquote(value.trim())),
            _ => {}
        }
    }
    plain
}

/// Splits at the semicolons that are not inside a quoted string.
fn split_params(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// `UTF-8'lang'percent%20encoded` as text; `None` for another charset or bad encoding.
fn extended_value(value: &str) -> Option<String> {
    let mut parts = value.splitn(3, '\'');
    let (charset, _lang, encoded) = (parts.next()?, parts.next()?, parts.next()?);
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// A token or a quoted string, without its quotes and escapes.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or(c)
        } else {
            c
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::file_name_of;

    #[test]
    fn the_exact_name_wins_over_the_ascii_fallback() {
        assert_eq!(
            file_name_of(
                "attachment; filename=\"na_ve_100_.txt\"; filename*=UTF-8''na%C3%AFve%5C100%25.txt"
            )
            .as_deref(),
            Some("naïve\\100%.txt")
        );
        assert_eq!(
            file_name_of("attachment; filename=\"a;b \\\"c\\\".txt\"").as_deref(),
            Some("a;b \"c\".txt")
        );
        assert_eq!(
            file_name_of("attachment; filename*=ISO-8859-1''x.txt; filename=y.txt").as_deref(),
            Some("y.txt")
        );
        assert_eq!(file_name_of("inline"), None);
        assert_eq!(file_name_of("attachment; filename*=UTF-8''bad%ZZ"), None);
    }
}
