//! Idle connections: how fast they are set up (ticket, upgrade, `ready`) and what each costs
//! the server in resident memory while it does nothing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use tokio::sync::{Semaphore, watch};

use crate::api::Population;
use crate::conn::{self, Endpoint};
use crate::machine::{CpuSample, CpuUse, FdLimit};
use crate::metrics::{self, Latency};

/// What to do.
#[derive(Clone, Debug)]
pub(crate) struct IdlePlan {
    /// Connections to open.
    pub(crate) connections: usize,
    /// Handshakes in progress at once.
    pub(crate) concurrency: usize,
    /// Source addresses to spread over.
    pub(crate) source_ips: Vec<IpAddr>,
    /// Keep them open this long and measure memory (`None`: close each once `ready`
    /// arrived, which measures set-up only).
    pub(crate) hold: Option<Duration>,
}

/// The figures.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct IdleReport {
    /// Connections asked for.
    pub(crate) requested: usize,
    /// Connections opened.
    pub(crate) connected: usize,
    /// Failures by kind.
    pub(crate) errors: BTreeMap<String, u64>,
    /// Seconds to open them all.
    pub(crate) connect_s: f64,
    /// Connections set up per second (ticket + upgrade + `ready` for Jeco).
    pub(crate) handshakes_per_s: f64,
    /// Time of one set-up.
    pub(crate) handshake_latency: Latency,
    /// Still open at the end of the hold.
    pub(crate) open_after_hold: Option<usize>,
    /// Server resident memory before connecting, KiB.
    pub(crate) server_rss_before_kib: Option<u64>,
    /// Server resident memory at the end of the hold, KiB.
    pub(crate) server_rss_after_kib: Option<u64>,
    /// (after - before) / connected, KiB. Understates the cost when the server reuses
    /// memory it freed before (after registering users, say).
    pub(crate) server_kib_per_connection: Option<f64>,
    /// Server resident memory once the first half was connected, KiB.
    pub(crate) server_rss_half_kib: Option<u64>,
    /// What the second half of the connections added, per connection, KiB: the marginal
    /// cost, once memory freed earlier has been taken up by the first half.
    pub(crate) server_kib_per_connection_marginal: Option<f64>,
    /// This tool's memory per connection, KiB (the client side), when the server is separate.
    pub(crate) tool_kib_per_connection: Option<f64>,
    /// CPU while connecting, other processes' too, and which side it shows to be the limit.
    pub(crate) cpu: CpuUse,
    /// The open-file limit in force.
    pub(crate) fd_limit: FdLimit,
}

/// Opens the connections, holds them, measures, closes them.
pub(crate) async fn run(
    ep: Endpoint,
    pop: Population,
    plan: IdlePlan,
    server_pid: Option<u32>,
    fd_limit: FdLimit,
    shares_process: bool,
) -> IdleReport {
    let pop = Arc::new(pop);
    let users = pop.user_ids.len().max(1);
    let tool_pid = std::process::id();
    let rss_before = server_pid.and_then(crate::machine::rss_kib);
    let tool_before = crate::machine::rss_kib(tool_pid);
    let gate = Arc::new(Semaphore::new(plan.concurrency.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let open_now = Arc::new(AtomicUsize::new(0));
    let cpu_start = CpuSample::take(server_pid, shares_process);
    let start = Instant::now();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Result<u64, String>>();
    // The second half waits until memory was read with the first half connected.
    let half = plan.connections / 2;
    let (second_tx, second_rx) = watch::channel(false);
    let mut holders = Vec::with_capacity(plan.connections);
    for i in 0..plan.connections {
        let mut second = (i >= half).then(|| second_rx.clone());
        let ep = ep.clone();
        let pop = pop.clone();
        let gate = gate.clone();
        let done = done_tx.clone();
        let mut stop = stop_rx.clone();
        let open_now = open_now.clone();
        let local =
            (!plan.source_ips.is_empty()).then(|| plan.source_ips[i % plan.source_ips.len()]);
        let hold = plan.hold.is_some();
        holders.push(tokio::spawn(async move {
            let user = i % users;
            if let Some(second) = second.as_mut() {
                let _ = second.wait_for(|&go| go).await;
            }
            let opened = {
                let _permit = gate.acquire().await;
                let t = Instant::now();
                let r = conn::open(
                    &ep,
                    pop.tokens.get(user).map(String::as_str),
                    pop.user_ids
                        .get(user)
                        .copied()
                        .unwrap_or(jeco_proto::ids::UserId(1)),
                    &[],
                    local,
                    conn::Reads::Small,
                )
                .await;
                r.map(|(ws, _)| (ws, t.elapsed()))
            };
            let mut ws = match opened {
                Ok((ws, took)) => {
                    let _ = done.send(Ok(took.as_micros() as u64));
                    ws
                }
                Err(f) => {
                    f.log();
                    let _ = done.send(Err(f.kind));
                    return;
                }
            };
            drop(done);
            if !hold {
                let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
                return;
            }
            open_now.fetch_add(1, Ordering::AcqRel);
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    msg = ws.next() => match msg {
                        Some(Ok(_)) => {}
                        _ => {
                            open_now.fetch_sub(1, Ordering::AcqRel);
                            return;
                        }
                    }
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
        }));
    }
    drop(done_tx);
    let mut latency = metrics::new_histogram();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut connected = 0usize;
    let mut rss_half = None;
    let mut connected_half = 0;
    for n in 0..plan.connections {
        if n == half {
            // Let the connections settle (a `ready` is read before the server's task is idle).
            if plan.hold.is_some() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            rss_half = server_pid.and_then(crate::machine::rss_kib);
            connected_half = connected;
            let _ = second_tx.send(true);
        }
        match done_rx.recv().await {
            Some(Ok(us)) => {
                connected += 1;
                metrics::record(&mut latency, us);
            }
            Some(Err(kind)) => *errors.entry(kind).or_default() += 1,
            None => break,
        }
    }
    let connect_s = start.elapsed().as_secs_f64();
    let cpu = cpu_start.until(&CpuSample::take(server_pid, shares_process));
    let mut open_after_hold = None;
    let mut rss_after = None;
    let mut tool_after = None;
    if let Some(hold) = plan.hold {
        tokio::time::sleep(hold).await;
        open_after_hold = Some(open_now.load(Ordering::Acquire));
        rss_after = server_pid.and_then(crate::machine::rss_kib);
        tool_after = crate::machine::rss_kib(tool_pid);
    }
    let _ = stop_tx.send(true);
    for h in holders {
        let _ = h.await;
    }
    let per = |before: Option<u64>, after: Option<u64>| match (before, after) {
        (Some(b), Some(a)) if connected > 0 => Some((a as f64 - b as f64) / connected as f64),
        _ => None,
    };
    IdleReport {
        requested: plan.connections,
        connected,
        errors,
        connect_s,
        handshakes_per_s: connected as f64 / connect_s.max(1e-9),
        handshake_latency: Latency::of(&latency),
        open_after_hold,
        server_rss_before_kib: rss_before,
        server_rss_after_kib: rss_after,
        server_kib_per_connection: per(rss_before, rss_after),
        server_rss_half_kib: rss_half,
        server_kib_per_connection_marginal: match (rss_half, rss_after) {
            (Some(h), Some(a)) if connected > connected_half => {
                Some((a as f64 - h as f64) / (connected - connected_half) as f64)
            }
            _ => None,
        },
        tool_kib_per_connection: if shares_process {
            None
        } else {
            per(tool_before, tool_after)
        },
        cpu,
        fd_limit,
    }
}
