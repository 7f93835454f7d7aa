//! The WebSocket transport: a ticket from `POST /v1/tickets`, then `GET /v1/ws?ticket=...`
//! with one JSON frame per text message in each direction.

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use jeco_proto::ws::{ClientFrame, Incoming};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Transport, TransportConn, parse};
use crate::client::Client;
use crate::error::{Error, Result};

/// The WebSocket transport (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct WebSocketTransport;

#[async_trait]
impl Transport for WebSocketTransport {
    async fn open(&self, client: &Client) -> Result<Box<dyn TransportConn>> {
        let ticket = client.ticket().await?;
        let base = client.base_url();
        let url = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}/v1/ws?ticket={}", ticket.ticket)
        } else {
            let rest = base.strip_prefix("http://").unwrap_or(base);
            format!("ws://{rest}/v1/ws?ticket={}", ticket.ticket)
        };
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| Error::Transport(format!("WebSocket: {e}")))?;
        Ok(Box::new(WsConn { socket }))
    }
}

struct WsConn {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

#[async_trait]
impl TransportConn for WsConn {
    async fn send(&mut self, frame: ClientFrame) -> Result<()> {
        let text = serde_json::to_string(&frame).map_err(|e| Error::Decode(e.to_string()))?;
        self.socket
            .send(WsMessage::text(text))
            .await
            .map_err(|e| Error::Transport(format!("WebSocket: {e}")))
    }

    async fn recv(&mut self) -> Option<Result<Incoming>> {
        loop {
            // `next` on the socket is cancel-safe; pings are answered by tungstenite itself.
            match self.socket.next().await? {
                Ok(WsMessage::Text(text)) => return Some(parse(text.as_str())),
                Ok(WsMessage::Close(_)) => return None,
                Ok(_) => continue,
                Err(e) => return Some(Err(Error::Transport(format!("WebSocket: {e}")))),
            }
        }
    }

    async fn close(&mut self) {
        let _ = self.socket.close(None).await;
    }
}
