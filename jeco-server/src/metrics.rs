//! Counters for `GET /metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the send-latency histogram, in milliseconds.
const BUCKETS_MS: [u64; 11] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000];

/// Process-wide counters. All updates are relaxed atomics: they are statistics, not
/// synchronization.
#[derive(Default)]
pub struct Metrics {
    http_responses: [AtomicU64; 5],
    messages_sent: AtomicU64,
    send_errors: AtomicU64,
    send_latency: [AtomicU64; BUCKETS_MS.len() + 1],
    send_latency_sum_us: AtomicU64,
}

impl Metrics {
    /// Counts an HTTP response by status class (1xx to 5xx).
    pub fn http_response(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.http_responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a send and how long it took to commit.
    pub fn sent(&self, ok: bool, took: Duration) {
        if !ok {
            self.send_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.messages_sent.fetch_add(1, Ordering::Relaxed);
        let ms = took.as_millis() as u64;
        let bucket = BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BUCKETS_MS.len());
        self.send_latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.send_latency_sum_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus exposition of every counter; `connections` is the current gauge.
    pub fn render(&self, connections: usize) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP jeco_connections Open real-time connections.");
        let _ = writeln!(out, "# TYPE jeco_connections gauge");
        let _ = writeln!(out, "jeco_connections {connections}");
        let _ = writeln!(
            out,
            "# HELP jeco_http_responses_total HTTP responses by status class."
        );
        let _ = writeln!(out, "# TYPE jeco_http_responses_total counter");
        for (i, c) in self.http_responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "jeco_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                load(c)
            );
        }
        let _ = writeln!(out, "# HELP jeco_messages_sent_total Messages committed.");
        let _ = writeln!(out, "# TYPE jeco_messages_sent_total counter");
        let _ = writeln!(
            out,
            "jeco_messages_sent_total {}",
            load(&self.messages_sent)
        );
        let _ = writeln!(
            out,
            "# HELP jeco_send_errors_total Sends refused or failed."
        );
        let _ = writeln!(out, "# TYPE jeco_send_errors_total counter");
        let _ = writeln!(out, "jeco_send_errors_total {}", load(&self.send_errors));
        let _ = writeln!(
            out,
            "# HELP jeco_send_seconds Time from receiving a send to its commit."
        );
        let _ = writeln!(out, "# TYPE jeco_send_seconds histogram");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            cumulative += load(&self.send_latency[i]);
            let _ = writeln!(
                out,
                "jeco_send_seconds_bucket{{le=\"{}\"}} {cumulative}",
                *bound as f64 / 1000.0
            );
        }
        cumulative += load(&self.send_latency[BUCKETS_MS.len()]);
        let _ = writeln!(out, "jeco_send_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(
            out,
            "jeco_send_seconds_sum {}",
            load(&self.send_latency_sum_us) as f64 / 1e6
        );
        let _ = writeln!(out, "jeco_send_seconds_count {cumulative}");
        out
    }
}
