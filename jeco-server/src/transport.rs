//! What the WebSocket and SSE transports share: running a connection with the driver's
//! settings, and the [`Gate`] that applies the server's limits and metrics to commands.

use std::time::Duration;

use async_trait::async_trait;
use jeco_core::ids::UserId;
use jeco_core::session::{DriverConfig, Frame, Gate, HEARTBEAT_MS, Link, Session, drive};
use jeco_proto::ws::ClientFrame;

use crate::state::{AppState, ServerConfig};

/// Runs an opened connection over `link` with the server's settings and rules until it ends.
/// `hears_client`: the transport hears from the client between commands (WebSocket pongs),
/// so that silence can be taken for death.
pub(crate) async fn run<L: Link>(
    state: &AppState,
    session: Session,
    ready: Frame,
    link: &mut L,
    hears_client: bool,
) {
    let config = driver_config(&state.config, hears_client);
    let gate = ServerGate(state.clone());
    drive(
        session,
        ready,
        link,
        &config,
        Some(&gate as &dyn Gate),
        &state.shutdown,
    )
    .await;
}

/// The driver's settings for a transport.
fn driver_config(config: &ServerConfig, hears_client: bool) -> DriverConfig {
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
struct ServerGate(AppState);

#[async_trait]
impl Gate for ServerGate {
    async fn admit(&self, user: UserId, command: &ClientFrame) -> jeco_core::Result<()> {
        let limits = &self.0.limits;
        match command {
            ClientFrame::Send { .. } => limits.send.admit(&user, "messages").await,
            ClientFrame::Edit { .. }
            | ClientFrame::Delete { .. }
            | ClientFrame::React { .. }
            | ClientFrame::Read { .. } => limits.change.admit(&user, "changes").await,
            ClientFrame::Typing { .. } => limits.typing.admit(&user, "typing updates").await,
            ClientFrame::Resume { .. } => limits.resume.admit(&user, "resumes").await,
            // Pings and a stray `auth` write nothing and reach no one.
            _ => Ok(()),
        }
    }

    fn ran(&self, command: &'static str, ok: bool, took: Duration) {
        if command == "send" {
            self.0.metrics.sent(ok, took);
        }
    }
}
