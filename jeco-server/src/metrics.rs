//! What `GET /metrics` shows operators, in the OpenMetrics text format (which Prometheus
//! scrapes): open connections, what happened to them, deliveries, sends and their latency,
//! the engine's group commits (how many sends each, how long) and Redis commands, refusals
//! by rate limit, and uploads in flight.
//!
//! Each metric is a handle into a `prometheus-client` registry; updating one is an atomic
//! add (labelled families with a fixed set of labels are resolved once, up front), so the
//! hot paths pay nothing more than the hand-written counters did.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jeco_core::observe::Observer;
use jeco_core::session::Ended;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The media type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the send-latency histogram, in seconds.
const SEND_BUCKETS: [f64; 11] = [
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Upper bounds of the commit and Redis latency histograms, in seconds.
const STORE_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0,
];

/// Upper bounds of the commit group-size histogram, in sends.
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// A real-time transport.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// WebSocket, `GET /v1/ws`.
    Ws,
    /// Server-Sent Events, `GET /v1/sse`.
    Sse,
}

impl EncodeLabelValue for Transport {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> fmt::Result {
        let name = match self {
            Transport::Ws => "ws",
            Transport::Sse => "sse",
        };
        name.encode(encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabel {
    transport: Transport,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndedLabels {
    transport: Transport,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// Every metric of the server. Updates are relaxed atomics: statistics, not synchronization.
pub struct Metrics {
    registry: Registry,
    realtime: Family<TransportLabel, Gauge>,
    ended: Family<EndedLabels, Counter>,
    delivered: Family<TransportLabel, Counter>,
    open: Gauge,
    refused: Counter,
    header_timeouts: Counter,
    idle_timeouts: Counter,
    http_responses: [Counter; 5],
    messages_sent: Counter,
    send_errors: Counter,
    send_seconds: Histogram,
    commit_sends: Histogram,
    commit_seconds: Histogram,
    redis_seconds: Histogram,
    rate_limited: Family<KindLabel, Counter>,
    uploads_in_flight: Gauge,
}

impl Observer for Metrics {
    fn committed(&self, sends: usize, took: Duration) {
        self.commit_sends.observe(sends as f64);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    fn redis_command(&self, took: Duration) {
        self.redis_seconds.observe(took.as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("jeco");
        let realtime = Family::<TransportLabel, Gauge>::default();
        registry.register(
            "connections",
            "Open real-time connections, by transport",
            realtime.clone(),
        );
        let ended = Family::<EndedLabels, Counter>::default();
        registry.register(
            "connections_ended",
            "Real-time connections ended, by transport and reason (client_left, slow_consumer, \
             write_timeout, write_failed, heartbeat_timeout, shutting_down, signed_out, ...)",
            ended.clone(),
        );
        let delivered = Family::<TransportLabel, Counter>::default();
        registry.register(
            "frames_delivered",
            "Frames written to real-time clients (events and replies), by transport",
            delivered.clone(),
        );
        let open = Gauge::default();
        registry.register(
            "http_connections",
            "Open TCP connections on the public listener, WebSockets and SSE streams \
             included; at most --max-connections",
            open.clone(),
        );
        let refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections closed as soon as they were accepted, because --max-connections \
             were open",
            refused.clone(),
        );
        let header_timeouts = Counter::default();
        registry.register(
            "header_timeouts",
            "Connections closed because a request head was not complete within \
             --header-timeout-secs",
            header_timeouts.clone(),
        );
        let idle_timeouts = Counter::default();
        registry.register(
            "idle_timeouts",
            "HTTP connections dropped after --idle-timeout-secs without a byte read or written",
            idle_timeouts.clone(),
        );
        let classes = Family::<ClassLabel, Counter>::default();
        let http_responses = ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .map(|class| classes.get_or_create_owned(&ClassLabel { class }));
        registry.register("http_responses", "HTTP responses by status class", classes);
        let messages_sent = Counter::default();
        registry.register("messages_sent", "Messages committed", messages_sent.clone());
        let send_errors = Counter::default();
        registry.register(
            "send_errors",
            "Sends refused or failed",
            send_errors.clone(),
        );
        let send_seconds = Histogram::new(SEND_BUCKETS);
        registry.register(
            "send_seconds",
            "Time from receiving a send (REST or real-time) to its commit and ack",
            send_seconds.clone(),
        );
        let commit_sends = Histogram::new(BATCH_BUCKETS);
        registry.register(
            "commit_group_sends",
            "Sends committed together in one transaction (the store's group commit)",
            commit_sends.clone(),
        );
        let commit_seconds = Histogram::new(STORE_BUCKETS);
        registry.register(
            "store_commit_seconds",
            "Time of one group commit of sends, from its first statement to its commit",
            commit_seconds.clone(),
        );
        let redis_seconds = Histogram::new(STORE_BUCKETS);
        registry.register(
            "redis_command_seconds",
            "Time of one Redis command or pipeline (presence, typing, publishing, shared \
             rate limits and tickets), a retry after a dropped connection included",
            redis_seconds.clone(),
        );
        let rate_limited = Family::<KindLabel, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests and commands refused by a rate limit, by kind (auth, send, change, \
             typing, resume)",
            rate_limited.clone(),
        );
        let uploads_in_flight = Gauge::default();
        registry.register(
            "uploads_in_flight",
            "Uploads being received",
            uploads_in_flight.clone(),
        );
        // Both transports show from the start, at zero, rather than appearing with their
        // first connection.
        for transport in [Transport::Ws, Transport::Sse] {
            realtime.get_or_create_owned(&TransportLabel { transport });
            delivered.get_or_create_owned(&TransportLabel { transport });
        }
        Metrics {
            registry,
            realtime,
            ended,
            delivered,
            open,
            refused,
            header_timeouts,
            idle_timeouts,
            http_responses,
            messages_sent,
            send_errors,
            send_seconds,
            commit_sends,
            commit_seconds,
            redis_seconds,
            rate_limited,
            uploads_in_flight,
        }
    }

    /// Counts an HTTP response by status class (1xx to 5xx).
    pub fn http_response(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.http_responses[class].inc();
    }

    /// Counts a send and how long it took to commit.
    pub fn sent(&self, ok: bool, took: Duration) {
        if !ok {
            self.send_errors.inc();
            return;
        }
        self.messages_sent.inc();
        self.send_seconds.observe(took.as_secs_f64());
    }

    /// How many sends each group commit carried, and how long commits and Redis commands
    /// take, as the engine reports them (see [`jeco_core::Engine::observe`]).
    pub fn observer(self: &Arc<Self>) -> Arc<dyn Observer> {
        Arc::clone(self) as Arc<dyn Observer>
    }

    /// The counter of refusals by the rate limit `kind`.
    pub fn rate_limit_refusals(&self, kind: &'static str) -> Counter {
        self.rate_limited.get_or_create_owned(&KindLabel { kind })
    }

    /// A real-time connection over `transport` opened; it counts as open until the returned
    /// guard is dropped.
    pub fn realtime_opened(&self, transport: Transport) -> OpenGauge {
        let gauge = self
            .realtime
            .get_or_create_owned(&TransportLabel { transport });
        gauge.inc();
        OpenGauge(gauge)
    }

    /// The counter of frames delivered over `transport`.
    pub fn deliveries(&self, transport: Transport) -> Counter {
        self.delivered
            .get_or_create_owned(&TransportLabel { transport })
    }

    /// Counts a real-time connection over `transport` that ended as `ended`.
    pub fn realtime_ended(&self, transport: Transport, ended: Ended) {
        let reason = match ended {
            Ended::ClientLeft => "client_left",
            Ended::Closed(code) => code.as_str(),
            Ended::WriteFailed => "write_failed",
            Ended::WriteTimedOut => "write_timeout",
            _ => "other",
        };
        self.ended
            .get_or_create(&EndedLabels { transport, reason })
            .inc();
    }

    /// A connection on the public listener opened.
    pub(crate) fn connection_opened(&self) {
        self.open.inc();
    }

    /// A connection on the public listener closed.
    pub(crate) fn connection_closed(&self) {
        self.open.dec();
    }

    /// A connection was closed on arrival: the listener was full.
    pub(crate) fn connection_refused(&self) {
        self.refused.inc();
    }

    /// A connection was closed for not sending its request head in time.
    pub(crate) fn header_timed_out(&self) {
        self.header_timeouts.inc();
    }

    /// An HTTP connection was dropped for moving nothing for too long.
    pub(crate) fn idle_timed_out(&self) {
        self.idle_timeouts.inc();
    }

    /// An upload started being received; call [`Metrics::upload_finished`] when it ends,
    /// however it ends.
    pub fn upload_started(&self) {
        self.uploads_in_flight.inc();
    }

    /// An upload counted by [`Metrics::upload_started`] ended (stored, refused or cut off).
    pub fn upload_finished(&self) {
        self.uploads_in_flight.dec();
    }

    /// The exposition of every metric, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Counts one open real-time connection until dropped.
pub struct OpenGauge(Gauge);

impl Drop for OpenGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use jeco_core::error::ErrorCode;

    use super::*;

    /// The names operators' dashboards and alerts use, with the values just recorded.
    #[test]
    fn renders_every_metric_under_its_name() {
        let m = Metrics::new();
        m.http_response(204);
        m.sent(true, Duration::from_millis(3));
        m.sent(false, Duration::ZERO);
        m.rate_limit_refusals("send").inc();
        let _open = m.realtime_opened(Transport::Ws);
        drop(m.realtime_opened(Transport::Sse));
        m.realtime_ended(Transport::Sse, Ended::Closed(ErrorCode::SlowConsumer));
        m.deliveries(Transport::Ws).inc_by(3);
        m.connection_opened();
        m.connection_refused();
        m.header_timed_out();
        m.upload_started();
        m.upload_started();
        m.upload_finished();
        let text = m.render();
        for line in [
            "jeco_http_responses_total{class=\"2xx\"} 1",
            "jeco_http_responses_total{class=\"5xx\"} 0",
            "jeco_messages_sent_total 1",
            "jeco_send_errors_total 1",
            "jeco_send_seconds_bucket{le=\"0.005\"} 1",
            "jeco_send_seconds_bucket{le=\"0.002\"} 0",
            "jeco_send_seconds_count 1",
            "jeco_rate_limited_total{kind=\"send\"} 1",
            "jeco_connections{transport=\"ws\"} 1",
            "jeco_connections{transport=\"sse\"} 0",
            "jeco_connections_ended_total{transport=\"sse\",reason=\"slow_consumer\"} 1",
            "jeco_frames_delivered_total{transport=\"ws\"} 3",
            "jeco_frames_delivered_total{transport=\"sse\"} 0",
            "jeco_http_connections 1",
            "jeco_connections_refused_total 1",
            "jeco_header_timeouts_total 1",
            "jeco_idle_timeouts_total 0",
            "jeco_uploads_in_flight 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
