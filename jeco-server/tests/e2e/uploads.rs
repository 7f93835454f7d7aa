//! Uploads that try to hold the server's resources: bodies that stall, too many at once, files
//! that grow past the limit. Each is ended with a clear code and leaves no file behind; while
//! it lasts it occupies a slot and a `.part` file, never the whole file in memory.
//!
//! These talk raw HTTP/1.1 over a socket, to control exactly which bytes are sent and when.
//! `Expect: 100-continue` tells when the server has admitted an upload: it asks for the body
//! only after taking a slot and opening the blob.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::e2e::harness::{Db, Server, Setup, User, WAIT};

const BOUNDARY: &str = "jeco-test-boundary";

/// An upload over its own connection, sent piece by piece.
struct RawUpload {
    stream: TcpStream,
    /// What was read past the interim `100 Continue`.
    pending: Vec<u8>,
}

/// A response read off a raw connection.
struct RawResponse {
    status: u16,
    /// Header lines, lowercased names.
    headers: Vec<(String, String)>,
    body: Value,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl RawUpload {
    /// Sends the head of an upload of a file `file_len` bytes long to `path`, chunked when
    /// `file_len` is `None`. Does not wait for the server.
    async fn open(s: &Server, u: &User, path: &str, file_len: Option<usize>) -> RawUpload {
        let mut stream = tokio::time::timeout(WAIT, TcpStream::connect(s.addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let length = match file_len {
            Some(n) => format!(
                "Content-Length: {}",
                part_head().len() + n + part_tail().len()
            ),
            None => "Transfer-Encoding: chunked".to_owned(),
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{length}\r\n\
             Expect: 100-continue\r\n\r\n",
            s.addr, u.token
        );
        stream.write_all(head.as_bytes()).await.expect("send head");
        RawUpload {
            stream,
            pending: Vec::new(),
        }
    }

    /// Waits for `100 Continue`: the server admitted the upload and asks for the body.
    async fn admitted(&mut self) {
        let head = self.read_head().await;
        assert!(
            head.starts_with("HTTP/1.1 100"),
            "expected 100 Continue, got {head}"
        );
    }

    /// Sends `data` as is.
    async fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).await.expect("send body");
    }

    /// Reads up to the end of a response head (or of an interim response).
    async fn read_head(&mut self) -> String {
        let mut buf = std::mem::take(&mut self.pending);
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                self.pending = buf.split_off(end + 4);
                return String::from_utf8(buf).expect("an ASCII head");
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("an answer in time")
                .expect("read");
            assert!(
                n > 0,
                "closed before answering: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads the final response, then asserts that the server closes the connection.
    async fn refused_and_closed(mut self) -> RawResponse {
        let head = self.read_head().await;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut rest = std::mem::take(&mut self.pending);
        let read_rest = self.stream.read_to_end(&mut rest);
        tokio::time::timeout(WAIT, read_rest)
            .await
            .expect("the server closes the connection")
            .expect("read to the end");
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .expect("a content length");
        assert_eq!(rest.len(), length, "nothing follows the answer");
        let body = serde_json::from_slice(&rest).expect("a JSON body");
        RawResponse {
            status,
            headers,
            body,
        }
    }
}

fn part_head() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
}

fn part_tail() -> String {
    format!("\r\n--{BOUNDARY}--\r\n")
}

/// `data` as one HTTP/1.1 chunk.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn part_files(s: &Server) -> usize {
    s.blob_files()
        .iter()
        .filter(|n| n.ends_with(".part"))
        .count()
}

/// An upload that stops sending halfway is cut off after the idle timeout with
/// `upload_timeout`, the connection is closed and its partial file removed; the user's slot
/// comes back.
pub async fn a_stalled_upload_is_cut_off_and_leaves_nothing(db: Db) {
    let mut setup = Setup::default();
    setup.config.upload_idle_timeout = Duration::from_secs(1);
    setup.config.max_uploads_per_user = 1;
    let s = db.start_with(setup).await;
    let alice = s.register("alice").await;
    let path = format!("/v1/rooms/{}/attachments", s.general());

    let mut stalled = RawUpload::open(&s, &alice, &path, Some(1_000_000)).await;
    stalled.admitted().await;
    stalled.send(part_head().as_bytes()).await;
    stalled.send(&[7u8; 64 * 1024]).await;
    assert_eq!(part_files(&s), 1, "the upload is being written to disk");

    let r = stalled.refused_and_closed().await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["code"], "upload_timeout", "{}", r.body);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(
        s.blob_files().is_empty(),
        "left behind: {:?}",
        s.blob_files()
    );
    assert_eq!(s.state.uploads.total(), 0);
    s.upload(
        &alice,
        &path,
        "after.txt",
        b"the slot is free again".to_vec(),
    )
    .await
    .expect(201);
}

/// A user with as many uploads open as allowed gets 429 `rate_limited` with `Retry-After`
/// for one more, while the open ones go on; other users are not affected; a finished upload
/// frees its slot, and uploads whose clients go away leave nothing behind.
pub async fn uploads_in_flight_are_capped_per_user(db: Db) {
    let s = db.start().await;
    let alice = s.register("alice").await;
    let bob = s.register("bob").await;
    let path = format!("/v1/rooms/{}/attachments", s.general());
    let cap = s.state.config.max_uploads_per_user;
    assert_eq!(cap, 4, "the documented default");

    let mut open = Vec::new();
    for _ in 0..cap {
        let mut upload = RawUpload::open(&s, &alice, &path, Some(10)).await;
        upload.admitted().await;
        upload.send(part_head().as_bytes()).await;
        open.push(upload);
    }
    assert_eq!(part_files(&s), cap);

    let over = s
        .upload(&alice, &path, "one.more", b"one too many".to_vec())
        .await
        .expect_error(429, "rate_limited");
    assert_eq!(over.header("retry-after"), "1");
    assert!(
        over.body["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0),
        "{}",
        over.body
    );
    let refused = RawUpload::open(&s, &alice, &path, Some(10)).await;
    let r = refused.refused_and_closed().await;
    assert_eq!(r.status, 429, "refused before the body is asked for");
    assert_eq!(
        part_files(&s),
        cap,
        "nothing was opened for the refused ones"
    );

    s.upload(&bob, &path, "bob.txt", b"others still upload".to_vec())
        .await
        .expect(201);

    // One open upload completes and frees its slot.
    let mut done = open.pop().expect("an open upload");
    done.send(b"0123456789").await;
    done.send(part_tail().as_bytes()).await;
    let head = done.read_head().await;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    s.upload(&alice, &path, "again.txt", b"a slot came back".to_vec())
        .await
        .expect(201);

    // The others' clients go away: their partial files are removed.
    drop(open);
    s.eventually("the abandoned uploads are cleaned up", |s| {
        part_files(s) == 0 && s.state.uploads.total() == 0
    })
    .await;
    assert_eq!(s.blob_files().len(), 3, "the three finished files stay");
}

/// A streamed file that grows past the upload limit is refused with 413 `too_large` as soon
/// as it does, and an avatar that is no image as soon as its first bytes show it; nothing of
/// either stays.
pub async fn an_oversized_streamed_upload_leaves_nothing(db: Db) {
    let limit = 100_000;
    let mut setup = Setup::default();
    setup.limits.upload_bytes = limit;
    setup.config.upload_bytes = limit;
    let s = db.start_with(setup).await;
    let alice = s.register("alice").await;
    let path = format!("/v1/rooms/{}/attachments", s.general());

    // Chunked: the size is not known up front, so only counting while reading can catch it.
    let mut upload = RawUpload::open(&s, &alice, &path, None).await;
    upload.admitted().await;
    upload.send(&chunk(part_head().as_bytes())).await;
    // Exactly the limit first: allowed so far.
    let piece = vec![7u8; 10_000];
    for _ in 0..(limit as usize / piece.len()) {
        upload.send(&chunk(&piece)).await;
    }
    // Then past it by more than a boundary's length, so the reader hands the excess on. This
    // is the last thing sent: the server answers only once it has read all of it.
    upload.send(&chunk(&[7u8; 512])).await;
    let r = upload.refused_and_closed().await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.body["code"], "too_large");
    assert!(
        s.blob_files().is_empty(),
        "left behind: {:?}",
        s.blob_files()
    );

    // An avatar is refused once its first bytes show it is no image, long before its end.
    let mut avatar = RawUpload::open(&s, &alice, "/v1/me/avatar", None).await;
    avatar.admitted().await;
    avatar.send(&chunk(part_head().as_bytes())).await;
    avatar.send(&chunk(&[b'a'; 9000])).await;
    let r = avatar.refused_and_closed().await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], "avatar_must_be_image");
    assert!(
        s.blob_files().is_empty(),
        "left behind: {:?}",
        s.blob_files()
    );
}
