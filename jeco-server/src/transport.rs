//! What the WebSocket and SSE transports share: the driver's settings, and the [`Gate`] that
//! applies the server's limits and metrics to commands.

use std::time::Duration;

use async_trait::async_trait;
use jeco_core::error::{Error, ErrorCode};
use jeco_core::ids::UserId;
use jeco_core::session::{DriverConfig, Gate, HEARTBEAT_MS};
use jeco_proto::ws::ClientFrame;

use crate::state::{AppState, ServerConfig};

/// The driver's settings for a transport: `hears_client` when the transport hears from the
/// client between commands (WebSocket pongs), so that silence can be taken for death.
pub(crate) fn driver_config(config: &ServerConfig, hears_client: bool) -> DriverConfig {
    DriverConfig {
        heartbeat: Duration::from_millis(HEARTBEAT_MS),
        heartbeat_timeout: hears_client.then_some(3),
        write_timeout: config.write_timeout,
        frame_bytes: config.frame_bytes,
        batch: 64,
    }
}

/// The server's rules for real-time commands: the per-user send rate (shared with REST
/// message posts), and the send metrics.
pub(crate) struct ServerGate(pub(crate) AppState);

#[async_trait]
impl Gate for ServerGate {
    async fn admit(&self, user: UserId, command: &ClientFrame) -> jeco_core::Result<()> {
        if matches!(command, ClientFrame::Send { .. }) && !self.0.send_limiter.check(&user).await {
            return Err(Error::new(
                ErrorCode::RateLimited,
                "too many messages; slow down",
            ));
        }
        Ok(())
    }

    fn ran(&self, command: &'static str, ok: bool, took: Duration) {
        if command == "send" {
            self.0.metrics.sent(ok, took);
        }
    }
}
