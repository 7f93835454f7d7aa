//! The Server-Sent Events fallback: frames arrive as the `data` of SSE events on
//! `GET /v1/sse?ticket=...`; commands are POSTed to `/v1/sse/{session_id}/commands`, and
//! each POST's answer is the command's reply frame.
//!
//! Two tasks per connection feed one channel, so the connection logic sees a single ordered
//! stream of frames as on a WebSocket: one reads the event stream, the other posts commands
//! one at a time (the server runs an SSE session's commands in the order it receives them,
//! so posting them concurrently could reorder sends) and queues each reply.

use async_trait::async_trait;
use jeco_proto::ws::{ClientFrame, Incoming, ServerFrame};
use reqwest::header::ACCEPT;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Transport, TransportConn, parse};
use crate::client::{Client, check};
use crate::error::{Error, Result};

/// Frames waiting for the connection logic; `None` marks the end of the event stream.
type Item = Option<Result<Incoming>>;

/// The SSE transport.
#[derive(Clone, Copy, Debug, Default)]
pub struct SseTransport;

#[async_trait]
impl Transport for SseTransport {
    async fn open(&self, client: &Client) -> Result<Box<dyn TransportConn>> {
        let ticket = client.ticket().await?;
        let url = format!("{}/v1/sse?ticket={}", client.base_url(), ticket.ticket);
        let resp = client
            .inner
            .stream_http
            .get(url)
            .header(ACCEPT, "text/event-stream")
            .send()
            .await?;
        let resp = check(resp).await?;
        let (tx, rx) = mpsc::channel::<Item>(256);
        let reader = tokio::spawn(read_stream(resp, tx.clone()));
        let mut conn = SseConn {
            first: None,
            rx,
            commands: None,
            reader,
            poster: None,
        };
        // The session id is in `ready`, the stream's first frame; commands need it.
        let first = match conn.rx.recv().await.flatten() {
            Some(first) => first?,
            None => return Err(Error::Transport("the SSE stream ended at once".into())),
        };
        if let Incoming::Frame(ServerFrame::Ready { session_id, .. }) = &first {
            let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
            conn.poster = Some(tokio::spawn(post_commands(
                client.clone(),
                session_id.clone(),
                cmd_rx,
                tx,
            )));
            conn.commands = Some(cmd_tx);
        }
        conn.first = Some(first);
        Ok(Box::new(conn))
    }
}

struct SseConn {
    /// `ready` (or `closing`), already read while opening.
    first: Option<Incoming>,
    rx: mpsc::Receiver<Item>,
    commands: Option<mpsc::UnboundedSender<ClientFrame>>,
    reader: JoinHandle<()>,
    poster: Option<JoinHandle<()>>,
}

impl Drop for SseConn {
    fn drop(&mut self) {
        self.reader.abort();
        if let Some(p) = &self.poster {
            p.abort();
        }
    }
}

#[async_trait]
impl TransportConn for SseConn {
    async fn send(&mut self, frame: ClientFrame) -> Result<()> {
        let commands = self.commands.as_ref().ok_or(Error::NotConnected)?;
        commands.send(frame).map_err(|_| Error::Disconnected)
    }

    async fn recv(&mut self) -> Option<Result<Incoming>> {
        if let Some(first) = self.first.take() {
            return Some(Ok(first));
        }
        self.rx.recv().await.flatten()
    }

    async fn close(&mut self) {
        self.reader.abort();
        if let Some(p) = &self.poster {
            p.abort();
        }
    }
}

/// Reads the event stream into `tx` until it ends.
async fn read_stream(mut resp: reqwest::Response, tx: mpsc::Sender<Item>) {
    let mut parser = SseParser::default();
    loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => {
                for data in parser.feed(&bytes) {
                    if tx.send(Some(parse(&data))).await.is_err() {
                        return;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tx.send(Some(Err(e.into()))).await;
                return;
            }
        }
    }
    let _ = tx.send(None).await;
}

/// Posts commands one at a time and queues each reply with the stream's frames.
async fn post_commands(
    client: Client,
    session_id: String,
    mut commands: mpsc::UnboundedReceiver<ClientFrame>,
    tx: mpsc::Sender<Item>,
) {
    while let Some(frame) = commands.recv().await {
        let reply = client.sse_command(&session_id, &frame).await;
        let failed = reply.is_err();
        if tx.send(Some(reply.map(Incoming::Frame))).await.is_err() || failed {
            return;
        }
    }
}

/// Splits an event stream into the `data` of its events (other fields and comments, such as
/// the server's keep-alives, are skipped).
#[derive(Default)]
struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes; the data of every event they complete.
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            // Borrowed unless the line is not UTF-8: no allocation per line.
            let line = String::from_utf8_lossy(&self.line);
            if line.is_empty() {
                if let Some(data) = self.data.take() {
                    events.push(data);
                }
            } else if line == "data" || line.starts_with("data:") {
                let value = line.get(5..).unwrap_or("");
                let value = value.strip_prefix(' ').unwrap_or(value);
                match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                }
            }
            self.line.clear();
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::SseParser;

    #[test]
    fn events_are_split_across_chunks() {
        let mut p = SseParser::default();
        assert!(p.feed(b": keep-alive\n\ndata: {\"a\"").is_empty());
        assert_eq!(
            p.feed(b":1}\r\n\r\ndata: x\ndata: y\n\n"),
            vec!["{\"a\":1}".to_owned(), "x\ny".to_owned()]
        );
    }
}
