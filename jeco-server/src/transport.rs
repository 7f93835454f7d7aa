//! What the WebSocket and SSE transports share: running a connection with the driver's
//! settings, the [`Gate`] that applies the server's limits and metrics to commands, and the
//! connection metrics (open, delivered, how it ended).

use std::io;
use std::time::Duration;

use async_trait::async_trait;
use jeco_core::error::ErrorCode;
use jeco_core::ids::UserId;
use jeco_core::session::{DriverConfig, Frame, Gate, HEARTBEAT_MS, Inbound, Link, Session, drive};
use jeco_proto::ws::ClientFrame;
use prometheus_client::metrics::counter::Counter;

use crate::metrics::Transport;
use crate::state::{AppState, ServerConfig};

/// Runs an opened connection over `link` with the server's settings and rules until it ends,
/// counting it in the metrics as a connection over `transport`.
pub(crate) async fn run<L: Link>(
    state: &AppState,
    session: Session,
    ready: Frame,
    link: &mut L,
    transport: Transport,
) {
    let _open = state.metrics.realtime_opened(transport);
    let config = driver_config(&state.config, transport);
    let gate = ServerGate(state.clone());
    let mut link = Counted {
        link,
        delivered: state.metrics.deliveries(transport),
    };
    let ended = drive(
        session,
        ready,
        &mut link,
        &config,
        Some(&gate as &dyn Gate),
        &state.shutdown,
    )
    .await;
    state.metrics.realtime_ended(transport, ended);
}

/// A link that counts the frames it delivers.
struct Counted<'a, L> {
    link: &'a mut L,
    delivered: Counter,
}

impl<L: Link> Link for Counted<'_, L> {
    async fn send(&mut self, frames: &[Frame]) -> io::Result<()> {
        self.link.send(frames).await?;
        self.delivered.inc_by(frames.len() as u64);
        Ok(())
    }

    async fn recv(&mut self) -> Option<Inbound> {
        self.link.recv().await
    }

    async fn ping(&mut self) -> io::Result<()> {
        self.link.ping().await
    }

    async fn close(&mut self, code: ErrorCode) {
        self.link.close(code).await;
    }
}

/// The driver's settings for a transport. A WebSocket hears from its client between
/// commands (pongs), so that silence can be taken for death; an SSE stream cannot.
fn driver_config(config: &ServerConfig, transport: Transport) -> DriverConfig {
    DriverConfig {
        heartbeat: Duration::from_millis(HEARTBEAT_MS),
        heartbeat_timeout: (transport == Transport::Ws).then_some(3),
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
