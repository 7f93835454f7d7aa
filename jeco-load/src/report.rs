//! The report: per preset, per server, in words or JSON, with the machine on every line and
//! Jeco's figures as ratios to the reference's.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::Outcome;
use crate::machine::{FdLimit, Machine};
use crate::metrics::fmt_ms;
use crate::target::{Kind, Target};

/// One preset's report.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    preset: &'static str,
    params: Value,
    machine: Machine,
    date: String,
    fd_limit: FdLimit,
    warnings: Vec<String>,
    runs: Vec<Run>,
    ratios: Value,
}

/// One server's run.
#[derive(Debug, Serialize)]
pub(crate) struct Run {
    server: Kind,
    backend: String,
    server_pid: Option<u32>,
    /// Memory and CPU of the server include this tool's (run in-process).
    shares_process: bool,
    result: Outcome,
}

impl Run {
    /// The run of `target`, or the error that stopped it.
    pub(crate) fn new(target: &Target, outcome: anyhow::Result<Outcome>) -> anyhow::Result<Run> {
        let result = outcome.map_err(|e| e.context(format!("{} run", target.kind.name())))?;
        Ok(Run {
            server: target.kind,
            backend: target.backend.clone(),
            server_pid: target.pid,
            shares_process: target.shares_process,
            result,
        })
    }
}

impl Report {
    /// An empty report.
    pub(crate) fn new(preset: &'static str, params: Value, fd_limit: FdLimit) -> Report {
        Report {
            preset,
            params,
            machine: Machine::read(),
            date: crate::machine::today(),
            fd_limit,
            warnings: Vec::new(),
            runs: Vec::new(),
            ratios: Value::Null,
        }
    }

    /// Notes a condition that affects the figures.
    pub(crate) fn warn(&mut self, w: String) {
        eprintln!("warning: {w}");
        self.warnings.push(w);
    }

    /// Adds a run.
    pub(crate) fn push(&mut self, run: Run) {
        self.runs.push(run);
    }

    fn compute_ratios(&mut self) {
        let jeco = self.runs.iter().find(|r| r.server == Kind::Jeco);
        let refr = self.runs.iter().find(|r| r.server == Kind::Reference);
        let (Some(j), Some(r)) = (jeco, refr) else {
            return;
        };
        let ratio = |a: f64, b: f64| if b > 0.0 { Some(a / b) } else { None };
        self.ratios = match (&j.result, &r.result) {
            (Outcome::Traffic(a), Outcome::Traffic(b)) => {
                let steps: Vec<Value> = a
                    .steps
                    .iter()
                    .zip(&b.steps)
                    .map(|(x, y)| {
                        serde_json::json!({
                            "target_rate": x.target_rate,
                            "deliveries_per_s": ratio(x.deliveries_per_s, y.deliveries_per_s),
                            "latency_p99": ratio(x.latency.p99_ms, y.latency.p99_ms),
                            "ack_p99": ratio(x.ack_latency.p99_ms, y.ack_latency.p99_ms),
                        })
                    })
                    .collect();
                let storm = match (&a.storm, &b.storm) {
                    (Some(x), Some(y)) => match (x.all_resumed_ms, y.all_resumed_ms) {
                        (Some(p), Some(q)) => ratio(p, q).map(Value::from),
                        _ => None,
                    },
                    _ => None,
                };
                serde_json::json!({"steps": steps, "all_resumed_ms": storm})
            }
            (Outcome::Idle(a), Outcome::Idle(b)) => serde_json::json!({
                "handshakes_per_s": ratio(a.handshakes_per_s, b.handshakes_per_s),
                "server_kib_per_connection": match (a.server_kib_per_connection, b.server_kib_per_connection) {
                    (Some(x), Some(y)) => ratio(x, y),
                    _ => None,
                },
                "server_kib_per_connection_marginal": match (a.server_kib_per_connection_marginal, b.server_kib_per_connection_marginal) {
                    (Some(x), Some(y)) => ratio(x, y),
                    _ => None,
                },
            }),
            _ => Value::Null,
        };
    }

    /// Prints the report on stdout.
    pub(crate) fn print(mut self, json: bool) {
        self.compute_ratios();
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&self).unwrap_or_default()
            );
            return;
        }
        print!("{}", self.text());
    }

    fn text(&self) -> String {
        let mut s = String::new();
        let params = match &self.params {
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "== {} | {params} | {} | {} | fd limit {}/{}",
            self.preset,
            self.machine.short(),
            self.date,
            self.fd_limit.soft,
            self.fd_limit.hard
        );
        for w in &self.warnings {
            let _ = writeln!(s, "!! {w}");
        }
        for run in &self.runs {
            let proc = match (run.server_pid, run.shares_process) {
                (Some(p), true) => format!("pid {p}, in this process"),
                (Some(p), false) => format!("pid {p}"),
                (None, _) => "pid unknown".into(),
            };
            let _ = writeln!(
                s,
                "-- {} [{}] {} ({proc})",
                self.preset,
                run.server.name(),
                run.backend
            );
            match &run.result {
                Outcome::Traffic(t) => traffic_text(&mut s, t),
                Outcome::Idle(i) => idle_text(&mut s, i),
                Outcome::History(h) => history_text(&mut s, h),
            }
        }
        if !self.ratios.is_null() {
            let _ = writeln!(
                s,
                "-- {} ratio jeco/reference: {}",
                self.preset,
                ratio_text(&self.ratios)
            );
        }
        s
    }
}

fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "-".into())
}

fn traffic_text(s: &mut String, t: &crate::traffic::TrafficReport) {
    let _ = writeln!(
        s,
        "   connections {} ({} failed) opened in {:.1} s; server RSS {}; CPU during sending: tool {} cores, server {} cores",
        t.connections,
        t.failed_connections,
        t.connect_s,
        mib(t.server_rss_kib),
        opt_f(t.tool_cpu_cores, 2),
        opt_f(t.server_cpu_cores, 2),
    );
    let _ = writeln!(
        s,
        "   {:>9} {:>9} {:>9} {:>12} {:>30} {:>30} {:>8} {:>6} {:>19} {:>9}",
        "target/s",
        "sent/s",
        "acked/s",
        "deliveries/s",
        "e2e p50/p90/p99/max",
        "ack p50/p90/p99/max",
        "skipped",
        "errors",
        "CPU tool/srv/other",
        "bound"
    );
    for st in &t.steps {
        let _ = writeln!(
            s,
            "   {:>9.0} {:>9.0} {:>9.0} {:>12.0} {:>30} {:>30} {:>8} {:>6} {:>19} {:>9}",
            st.target_rate,
            st.sends as f64 / st.duration_s.max(1e-9),
            st.acked_per_s,
            st.deliveries_per_s,
            st.latency.brief(),
            st.ack_latency.brief(),
            st.skipped,
            st.send_errors,
            format!(
                "{}/{}/{}",
                opt_f(st.cpu.tool_cores, 2),
                opt_f(st.cpu.server_cores, 2),
                opt_f(st.cpu.other_cores, 2)
            ),
            st.cpu.bound.name(),
        );
    }
    let _ = writeln!(
        s,
        "   (CPU in cores during the step; bound: the side that used most of a full machine, \
         GENERATOR = this tool, so the step shows what it could drive, not what the server \
         could take; OTHERS = other processes took a quarter of the machine or more, so the \
         step is not representative)"
    );
    let lost = if t.drained {
        "lost"
    } else {
        "NOT DRAINED (backlog still arriving when the wait ended, not necessarily lost): missing"
    };
    let _ = writeln!(
        s,
        "   {lost} {} messages ({} member deliveries missing), {} duplicates, {} gaps, {} unplanned reconnects ({} sends never acknowledged), drained: {}",
        t.messages_lost,
        t.deliveries_missing,
        t.duplicates,
        t.gaps,
        t.unplanned_reconnects,
        t.unacknowledged,
        t.drained
    );
    let _ = writeln!(
        s,
        "   (* counted only when received before the step ended: the rate sustained)"
    );
    if let Some(storm) = &t.storm {
        let _ = writeln!(
            s,
            "   storm: {} clients dropped, {} resumed, all resumed after {}",
            storm.clients,
            storm.resumed,
            storm
                .all_resumed_ms
                .map(|ms| format!("{} ms", fmt_ms(ms)))
                .unwrap_or_else(|| "- (not all)".into())
        );
    }
    if !t.errors.is_empty() {
        let _ = writeln!(s, "   errors: {:?}", t.errors);
    }
    if t.errors.contains_key("error:too_far_behind") {
        let _ = writeln!(
            s,
            "   (a member more than 10,000 events behind could not resume: what it missed counts as lost)"
        );
    }
}

fn idle_text(s: &mut String, i: &crate::idle::IdleReport) {
    let _ = writeln!(
        s,
        "   {} of {} connected in {:.2} s: {:.0} handshakes/s, set-up {} (p50/p90/p99/max); CPU while connecting: {}",
        i.connected,
        i.requested,
        i.connect_s,
        i.handshakes_per_s,
        i.handshake_latency.brief(),
        i.cpu.brief(),
    );
    if i.open_after_hold.is_some() {
        let _ = writeln!(
            s,
            "   server RSS {} -> {} (half connected: {}): {} KiB per connection overall, {} KiB per connection for the second half; still open after hold: {}; tool {} KiB per connection",
            mib(i.server_rss_before_kib),
            mib(i.server_rss_after_kib),
            mib(i.server_rss_half_kib),
            opt_f(i.server_kib_per_connection, 2),
            opt_f(i.server_kib_per_connection_marginal, 2),
            i.open_after_hold.map(|n| n.to_string()).unwrap_or_default(),
            opt_f(i.tool_kib_per_connection, 2),
        );
    }
    if !i.errors.is_empty() {
        let _ = writeln!(s, "   errors: {:?}", i.errors);
    }
}

fn history_text(s: &mut String, h: &crate::history::HistoryReport) {
    let _ = writeln!(
        s,
        "   {} messages seeded in {:.1} s; pages of {}; {} bad pages",
        h.messages, h.seed_s, h.page, h.errors
    );
    for d in &h.depths {
        let _ = writeln!(
            s,
            "   {:>7} (before={}): {} p50/p90/p99/max, {:.0} pages/s; CPU {}",
            d.depth,
            d.before
                .map(|b| b.to_string())
                .unwrap_or_else(|| "-".into()),
            d.latency.brief(),
            d.pages_per_s,
            d.cpu.brief()
        );
    }
}

fn ratio_text(v: &Value) -> String {
    let f = |x: &Value| {
        x.as_f64()
            .map(|r| format!("{r:.2}x"))
            .unwrap_or_else(|| "-".into())
    };
    let mut parts = Vec::new();
    if let Some(steps) = v.get("steps").and_then(Value::as_array) {
        for st in steps {
            parts.push(format!(
                "@{}/s deliveries {} e2e-p99 {} ack-p99 {}",
                st.get("target_rate").and_then(Value::as_f64).unwrap_or(0.0),
                f(&st["deliveries_per_s"]),
                f(&st["latency_p99"]),
                f(&st["ack_p99"]),
            ));
        }
        if let Some(x) = v.get("all_resumed_ms").filter(|x| !x.is_null()) {
            parts.push(format!("all-resumed time {}", f(x)));
        }
    }
    if let Some(x) = v.get("handshakes_per_s") {
        parts.push(format!("handshakes/s {}", f(x)));
    }
    if let Some(x) = v.get("server_kib_per_connection") {
        parts.push(format!("KiB/connection {}", f(x)));
    }
    parts.join("; ")
}
