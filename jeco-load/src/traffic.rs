//! Message traffic: connections that follow rooms and count what they receive, senders that
//! post at a target rate, optional mass reconnection, and the accounting of latency and loss.
//! Shared by the `one-room`, `many-rooms` and `reconnect-storm` presets.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::stream::SplitSink;
use futures::{FutureExt, SinkExt, Stream, StreamExt};
use jeco_proto::ids::{RoomId, UserId};
use jeco_proto::ws::{ClientFrame, RoomPosition, ServerFrame};
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use crate::api::Population;
use crate::conn::{self, Endpoint, Stamp, View, Ws, now_ns};
use crate::machine::{CpuSample, CpuUse};
use crate::metrics::{self, Latency};

/// One rate step: a total target of sends per second for a duration.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct Step {
    /// Sends per second over all senders.
    pub(crate) rate: f64,
    /// How long.
    #[serde(serialize_with = "secs")]
    pub(crate) duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One connection of a run.
#[derive(Clone, Debug)]
pub(crate) struct MemberSpec {
    /// Index into the population's users.
    pub(crate) user: usize,
    /// Rooms it follows and checks for loss (indexes into the population's rooms).
    pub(crate) rooms: Vec<usize>,
    /// `Some(i)`: it is sender number `i` and posts into its rooms in turn.
    pub(crate) sender: Option<usize>,
    /// It takes part in the reconnect storm.
    pub(crate) droppable: bool,
    /// Source address to bind.
    pub(crate) local_ip: Option<IpAddr>,
}

/// A run: connections, rate steps and options.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The connections.
    pub(crate) members: Vec<MemberSpec>,
    /// Rate steps, run one after the other.
    pub(crate) steps: Vec<Step>,
    /// Most sends a sender leaves unacknowledged; beyond it sends are skipped and counted.
    pub(crate) max_in_flight: u64,
    /// Connections being opened at once.
    pub(crate) connect_concurrency: usize,
    /// Drop every droppable connection this long after sending starts.
    pub(crate) storm_after: Option<Duration>,
    /// Longest wait for stragglers after the last step.
    pub(crate) drain_timeout: Duration,
}

/// The shape of the control channel every task watches.
#[derive(Clone, Copy, Debug, Default)]
struct Control {
    go: bool,
    storm: u64,
    stop: bool,
}

struct Shared {
    ep: Endpoint,
    pop: Population,
    steps: Vec<Step>,
    senders: usize,
    max_in_flight: u64,
    followers: HashMap<RoomId, u64>,
    expected: AtomicU64,
    delivered: AtomicU64,
    in_flight: AtomicI64,
    opened: AtomicUsize,
    resumed: AtomicUsize,
    last_resumed_ns: AtomicU64,
    connect_gate: Semaphore,
    go_at: std::sync::OnceLock<Instant>,
    /// When each step ends ([`now_ns`] clock).
    step_ends_ns: std::sync::OnceLock<Vec<u64>>,
}

impl Shared {
    fn in_step(&self, step: usize, now: u64) -> bool {
        self.step_ends_ns
            .get()
            .and_then(|ends| ends.get(step))
            .is_some_and(|end| now <= *end)
    }

    fn token(&self, user: usize) -> Option<&str> {
        self.pop.tokens.get(user).map(String::as_str)
    }

    fn user_id(&self, user: usize) -> UserId {
        self.pop
            .user_ids
            .get(user)
            .copied()
            .unwrap_or(UserId(user as i64 + 1))
    }
}

/// What one connection saw.
#[derive(Debug, Default)]
struct Outcome {
    connected: bool,
    /// Per followed room: the sequences received, as inclusive ranges.
    received: HashMap<RoomId, Vec<(i64, i64)>>,
    /// Sends acknowledged: room and sequence.
    acked: Vec<(RoomId, i64)>,
    duplicates: u64,
    gaps: u64,
    errors: BTreeMap<String, u64>,
    reconnects: u64,
    unacknowledged: u64,
}

impl Outcome {
    fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }
}

/// Where a connection is in one room.
#[derive(Debug)]
struct Track {
    pos: i64,
    resuming: bool,
}

/// The figures of a traffic run for one step.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct StepReport {
    /// Target sends per second.
    pub(crate) target_rate: f64,
    /// Seconds.
    pub(crate) duration_s: f64,
    /// Sends written.
    pub(crate) sends: u64,
    /// Sends skipped because too many were unacknowledged.
    pub(crate) skipped: u64,
    /// Sends acknowledged.
    pub(crate) acks: u64,
    /// Sends refused with an `error`.
    pub(crate) send_errors: u64,
    /// Sends of this step acknowledged before it ended, per second: the throughput achieved.
    pub(crate) acked_per_s: f64,
    /// Messages of this step received by members (each member counts), whenever.
    pub(crate) deliveries: u64,
    /// Deliveries of this step received before it ended, per second.
    pub(crate) deliveries_per_s: f64,
    /// Send to receipt on each member.
    pub(crate) latency: Latency,
    /// Send to ack.
    pub(crate) ack_latency: Latency,
    /// CPU used during the step, and which side it shows to be the limit.
    pub(crate) cpu: CpuUse,
}

/// The figures of a traffic run.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct TrafficReport {
    /// Connections planned.
    pub(crate) connections: usize,
    /// Connections that never opened.
    pub(crate) failed_connections: usize,
    /// Seconds to open every connection.
    pub(crate) connect_s: f64,
    /// Per step.
    pub(crate) steps: Vec<StepReport>,
    /// Acknowledged messages missing on at least one member.
    pub(crate) messages_lost: u64,
    /// (member, message) pairs missing.
    pub(crate) deliveries_missing: u64,
    /// Events received twice on a connection.
    pub(crate) duplicates: u64,
    /// Sequence gaps seen outside a resume.
    pub(crate) gaps: u64,
    /// Errors by kind (connection failures, `error` codes, `closing` codes).
    pub(crate) errors: BTreeMap<String, u64>,
    /// Reconnections that the storm did not cause (slow consumer, dropped socket).
    pub(crate) unplanned_reconnects: u64,
    /// Sends without an ack: their connection was lost first, or the run ended first
    /// (neither acknowledged nor lost; a real client would retry them with the same
    /// `client_id`).
    pub(crate) unacknowledged: u64,
    /// Whether every acknowledged message reached every member before the drain timeout.
    pub(crate) drained: bool,
    /// Storm figures, when there was one.
    pub(crate) storm: Option<StormReport>,
    /// CPU of this tool over the sending phase, in cores.
    pub(crate) tool_cpu_cores: Option<f64>,
    /// CPU of the server over the sending phase, in cores (`None` when it runs in this
    /// process).
    pub(crate) server_cpu_cores: Option<f64>,
    /// Server resident memory after connecting, KiB.
    pub(crate) server_rss_kib: Option<u64>,
}

/// Reconnect storm figures.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct StormReport {
    /// Connections dropped at once.
    pub(crate) clients: usize,
    /// How many had resumed (got `resumed`) by the end.
    pub(crate) resumed: usize,
    /// From the drop to the last `resumed`, milliseconds (`None` if not all resumed).
    pub(crate) all_resumed_ms: Option<f64>,
}

/// Runs a plan against an endpoint.
pub(crate) async fn run(
    ep: Endpoint,
    pop: Population,
    plan: Plan,
    server_pid: Option<u32>,
    shares_process: bool,
) -> TrafficReport {
    let mut followers: HashMap<RoomId, u64> = HashMap::new();
    for m in &plan.members {
        for &r in &m.rooms {
            if let Some(id) = pop.rooms.get(r) {
                *followers.entry(*id).or_default() += 1;
            }
        }
    }
    let senders = plan.members.iter().filter(|m| m.sender.is_some()).count();
    let droppable = plan.members.iter().filter(|m| m.droppable).count();
    let shared = Arc::new(Shared {
        ep,
        pop,
        steps: plan.steps.clone(),
        senders,
        max_in_flight: plan.max_in_flight,
        followers,
        expected: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        in_flight: AtomicI64::new(0),
        opened: AtomicUsize::new(0),
        resumed: AtomicUsize::new(0),
        last_resumed_ns: AtomicU64::new(0),
        connect_gate: Semaphore::new(plan.connect_concurrency.max(1)),
        go_at: std::sync::OnceLock::new(),
        step_ends_ns: std::sync::OnceLock::new(),
    });
    let (ctl_tx, ctl_rx) = watch::channel(Control::default());
    let connect_start = Instant::now();
    let tasks: Vec<_> = plan
        .members
        .iter()
        .cloned()
        .map(|spec| tokio::spawn(member(shared.clone(), spec, ctl_rx.clone())))
        .collect();
    // Wait until every connection is open (or has failed).
    while shared.opened.load(Ordering::Acquire) < plan.members.len() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_s = connect_start.elapsed().as_secs_f64();
    let server_rss_kib = server_pid.and_then(crate::machine::rss_kib);
    let go = Instant::now();
    let go_ns = now_ns();
    let _ = shared.go_at.set(go);
    let mut end = go_ns;
    let ends = plan
        .steps
        .iter()
        .map(|s| {
            end += s.duration.as_nanos() as u64;
            end
        })
        .collect();
    let _ = shared.step_ends_ns.set(ends);
    // CPU counters at the start and at the end of each step.
    let sampler = {
        let first = CpuSample::take(server_pid, shares_process);
        let mut at = go;
        let ends: Vec<Instant> = plan
            .steps
            .iter()
            .map(|s| {
                at += s.duration;
                at
            })
            .collect();
        tokio::spawn(async move {
            let mut samples = vec![first];
            for end in ends {
                tokio::time::sleep_until(end.into()).await;
                samples.push(CpuSample::take(server_pid, shares_process));
            }
            samples
        })
    };
    ctl_tx.send_modify(|c| c.go = true);
    let total: Duration = plan.steps.iter().map(|s| s.duration).sum();
    let mut storm_start_ns = None;
    if let Some(after) = plan.storm_after.filter(|_| droppable > 0) {
        tokio::time::sleep_until((go + after).into()).await;
        storm_start_ns = Some(now_ns());
        ctl_tx.send_modify(|c| c.storm += 1);
    }
    tokio::time::sleep_until((go + total).into()).await;
    let samples = sampler.await.unwrap_or_default();
    let whole = match (samples.first(), samples.last()) {
        (Some(a), Some(b)) => Some(a.until(b)),
        _ => None,
    };
    // Stragglers: every send acknowledged, every acknowledged message delivered, and with a
    // storm every dropped client resumed; bounded.
    let drain_end = Instant::now() + plan.drain_timeout;
    let drained = loop {
        let acked_all = shared.in_flight.load(Ordering::Acquire) <= 0;
        let delivered_all =
            shared.delivered.load(Ordering::Acquire) >= shared.expected.load(Ordering::Acquire);
        let resumed_all =
            storm_start_ns.is_none() || shared.resumed.load(Ordering::Acquire) >= droppable;
        if acked_all && delivered_all && resumed_all {
            break true;
        }
        if Instant::now() >= drain_end {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    ctl_tx.send_modify(|c| c.stop = true);
    let mut outcomes = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await {
            Ok(o) => outcomes.push(o),
            Err(_) => {
                let mut o = Outcome::default();
                o.error("task_failed");
                outcomes.push(o);
            }
        }
    }
    let counts = metrics::take(plan.steps.len());
    let steps = plan
        .steps
        .iter()
        .zip(counts.iter())
        .enumerate()
        .map(|(i, (step, c))| {
            let d = step.duration.as_secs_f64().max(1e-9);
            let cpu = match (samples.get(i), samples.get(i + 1)) {
                (Some(a), Some(b)) => a.until(b),
                _ => CpuUse::unknown(),
            };
            StepReport {
                target_rate: step.rate,
                duration_s: step.duration.as_secs_f64(),
                sends: c.sends,
                skipped: c.skipped,
                acks: c.acks,
                send_errors: c.send_errors,
                acked_per_s: c.acks_in_step as f64 / d,
                deliveries: c.deliveries,
                deliveries_per_s: c.deliveries_in_step as f64 / d,
                latency: Latency::of(&c.latency),
                ack_latency: Latency::of(&c.ack),
                cpu,
            }
        })
        .collect();
    let (messages_lost, deliveries_missing) = losses(&outcomes);
    let mut errors = BTreeMap::new();
    for o in &outcomes {
        for (k, v) in &o.errors {
            *errors.entry(k.clone()).or_default() += v;
        }
    }
    let storm = storm_start_ns.map(|start| {
        let resumed = shared.resumed.load(Ordering::Acquire);
        let last = shared.last_resumed_ns.load(Ordering::Acquire);
        StormReport {
            clients: droppable,
            resumed,
            all_resumed_ms: (resumed >= droppable).then(|| last.saturating_sub(start) as f64 / 1e6),
        }
    });
    TrafficReport {
        connections: plan.members.len(),
        failed_connections: outcomes.iter().filter(|o| !o.connected).count(),
        connect_s,
        steps,
        messages_lost,
        deliveries_missing,
        duplicates: outcomes.iter().map(|o| o.duplicates).sum(),
        gaps: outcomes.iter().map(|o| o.gaps).sum(),
        errors,
        unplanned_reconnects: outcomes.iter().map(|o| o.reconnects).sum(),
        unacknowledged: outcomes.iter().map(|o| o.unacknowledged).sum(),
        drained,
        storm,
        tool_cpu_cores: whole.and_then(|c| c.tool_cores),
        server_cpu_cores: whole.and_then(|c| c.server_cores),
        server_rss_kib,
    }
}

/// Acknowledged messages that some connected member did not receive, and the number of
/// missing (member, message) pairs.
fn losses(outcomes: &[Outcome]) -> (u64, u64) {
    let mut acked: HashMap<RoomId, Vec<i64>> = HashMap::new();
    for o in outcomes {
        for (room, seq) in &o.acked {
            acked.entry(*room).or_default().push(*seq);
        }
    }
    for seqs in acked.values_mut() {
        seqs.sort_unstable();
        seqs.dedup();
    }
    let mut lost: HashSet<(RoomId, i64)> = HashSet::new();
    let mut missing = 0u64;
    for o in outcomes.iter().filter(|o| o.connected) {
        for (room, ranges) in &o.received {
            let Some(seqs) = acked.get(room) else {
                continue;
            };
            for &seq in seqs {
                let i = ranges.partition_point(|&(_, end)| end < seq);
                let present = ranges.get(i).is_some_and(|&(start, _)| start <= seq);
                if !present {
                    missing += 1;
                    lost.insert((*room, seq));
                }
            }
        }
    }
    (lost.len() as u64, missing)
}

/// How a connection's reading stopped.
enum Exit {
    Stopped,
    Storm,
    Lost(String),
}

/// Opens a connection, holding one of the gate's permits while doing so; retries twice.
async fn open(
    shared: &Shared,
    spec: &MemberSpec,
    rooms: &[RoomId],
) -> Result<(Ws, Vec<RoomPosition>), conn::Failure> {
    let _permit = shared.connect_gate.acquire().await;
    let mut last = None;
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        match conn::open(
            &shared.ep,
            shared.token(spec.user),
            shared.user_id(spec.user),
            rooms,
            spec.local_ip,
            conn::Reads::Busy,
        )
        .await
        {
            Ok(x) => return Ok(x),
            Err(f) => last = Some(f),
        }
    }
    Err(last.unwrap_or_else(|| conn::Failure::new("connect", "")))
}

/// One connection's task: open, follow, send (for senders), reconnect and resume.
async fn member(
    shared: Arc<Shared>,
    spec: MemberSpec,
    mut ctl: watch::Receiver<Control>,
) -> Outcome {
    let mut out = Outcome::default();
    let rooms: Vec<RoomId> = spec
        .rooms
        .iter()
        .filter_map(|r| shared.pop.rooms.get(*r).copied())
        .collect();
    let opened = open(&shared, &spec, &rooms).await;
    shared.opened.fetch_add(1, Ordering::AcqRel);
    let (ws, ready) = match opened {
        Ok(x) => x,
        Err(f) => {
            f.log();
            out.error(format!("connect:{}", f.kind));
            return out;
        }
    };
    out.connected = true;
    let mut tracks: HashMap<RoomId, Track> = rooms
        .iter()
        .map(|r| {
            let pos = ready
                .iter()
                .find(|p| p.room_id == *r)
                .map(|p| p.seq.get())
                .unwrap_or(0);
            (
                *r,
                Track {
                    pos,
                    resuming: false,
                },
            )
        })
        .collect();
    for r in &rooms {
        out.received.insert(*r, Vec::new());
    }
    let in_flight = Arc::new(AtomicU64::new(0));
    // A sender's counter outlives its connections, so that client ids stay unique.
    let counter = Arc::new(AtomicU64::new(0));
    let mut ws = ws;
    let mut storm_seen = 0u64;
    let mut awaiting_storm_resume = false;
    loop {
        let exit = match spec.sender {
            Some(index) => {
                // A writer task posts; this one reads.
                let (sink, mut stream) = ws.split();
                let writer = tokio::spawn(write_sends(
                    shared.clone(),
                    sink,
                    rooms.clone(),
                    index,
                    ctl.clone(),
                    in_flight.clone(),
                    counter.clone(),
                ));
                let exit = read(
                    &shared,
                    &mut stream,
                    &mut tracks,
                    &mut out,
                    &in_flight,
                    &mut ctl,
                    false,
                    &mut storm_seen,
                    &mut awaiting_storm_resume,
                )
                .await;
                writer.abort();
                let sink = writer.await.ok().flatten();
                // Sends never answered on a lost connection are no longer in flight.
                let left = in_flight.swap(0, Ordering::AcqRel);
                shared.in_flight.fetch_sub(left as i64, Ordering::AcqRel);
                out.unacknowledged += left;
                if let Exit::Stopped = exit {
                    if let Some(sink) = sink
                        && let Ok(mut whole) = sink.reunite(stream)
                    {
                        let _ =
                            tokio::time::timeout(Duration::from_secs(1), whole.close(None)).await;
                    }
                    return out;
                }
                // The halves are dropped: the connection is gone.
                exit
            }
            None => {
                let exit = read(
                    &shared,
                    &mut ws,
                    &mut tracks,
                    &mut out,
                    &in_flight,
                    &mut ctl,
                    spec.droppable,
                    &mut storm_seen,
                    &mut awaiting_storm_resume,
                )
                .await;
                if let Exit::Stopped = exit {
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return out;
                }
                drop(ws);
                exit
            }
        };
        match exit {
            Exit::Stopped => return out,
            Exit::Storm => {
                // The socket was dropped without a close handshake, as a network failure
                // would.
                awaiting_storm_resume = true;
            }
            Exit::Lost(why) => {
                out.error(why);
                out.reconnects += 1;
                if ctl.borrow().stop {
                    return out;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        match reconnect(&shared, &spec, &rooms, &mut tracks).await {
            Ok(new) => ws = new,
            Err(f) => {
                f.log();
                out.error(format!("reconnect:{}", f.kind));
                return out;
            }
        }
    }
}

/// Opens a new connection and asks for everything after the positions held.
async fn reconnect(
    shared: &Shared,
    spec: &MemberSpec,
    rooms: &[RoomId],
    tracks: &mut HashMap<RoomId, Track>,
) -> Result<Ws, conn::Failure> {
    let (mut ws, _ready) = open(shared, spec, rooms).await?;
    let positions: Vec<RoomPosition> = rooms
        .iter()
        .filter_map(|r| {
            tracks.get_mut(r).map(|t| {
                t.resuming = true;
                RoomPosition {
                    room_id: *r,
                    seq: jeco_proto::ids::Seq(t.pos),
                }
            })
        })
        .collect();
    let resume = ClientFrame::Resume {
        id: "resume".into(),
        rooms: positions,
        feed_after: None,
    };
    let text = serde_json::to_string(&resume).unwrap_or_default();
    ws.send(WsMessage::text(text))
        .await
        .map_err(|e| conn::Failure::new("resume", e))?;
    Ok(ws)
}

/// Reads frames until told to stop, told to drop (storm), or the connection is lost.
#[allow(clippy::too_many_arguments)]
async fn read<S>(
    shared: &Shared,
    stream: &mut S,
    tracks: &mut HashMap<RoomId, Track>,
    out: &mut Outcome,
    in_flight: &AtomicU64,
    ctl: &mut watch::Receiver<Control>,
    droppable: bool,
    storm_seen: &mut u64,
    awaiting_storm_resume: &mut bool,
) -> Exit
where
    S: Stream<Item = Result<WsMessage, WsError>> + Unpin,
{
    loop {
        tokio::select! {
            changed = ctl.changed() => {
                if changed.is_err() {
                    return Exit::Stopped;
                }
                let c = *ctl.borrow_and_update();
                if c.stop {
                    return Exit::Stopped;
                }
                if droppable && c.storm > *storm_seen {
                    *storm_seen = c.storm;
                    return Exit::Storm;
                }
            }
            msg = stream.next() => {
                // Then whatever else has arrived, without going back to waiting (which
                // costs more than reading a frame), and with the shared count of
                // deliveries touched once. What arrives in one go counts as received when
                // the first of it was read.
                let now = now_ns();
                let mut msg = Some(msg);
                let mut delivered = 0;
                let mut exit = None;
                for _ in 0..READ_BATCH {
                    let Some(m) = msg.take().or_else(|| stream.next().now_or_never()) else {
                        break;
                    };
                    exit = receive(shared, m, now, tracks, out, in_flight, awaiting_storm_resume, &mut delivered);
                    if exit.is_some() {
                        break;
                    }
                }
                shared.delivered.fetch_add(delivered, Ordering::AcqRel);
                if let Some(exit) = exit {
                    return exit;
                }
            }
        }
    }
}

/// Most frames a connection reads in a row before looking at the control channel.
const READ_BATCH: usize = 256;

/// Takes in one message from the server, received at `now`; counts message deliveries in
/// `delivered`.
#[allow(clippy::too_many_arguments)]
fn receive(
    shared: &Shared,
    msg: Option<Result<WsMessage, WsError>>,
    now: u64,
    tracks: &mut HashMap<RoomId, Track>,
    out: &mut Outcome,
    in_flight: &AtomicU64,
    awaiting_storm_resume: &mut bool,
    delivered: &mut u64,
) -> Option<Exit> {
    let text = match msg {
        Some(Ok(WsMessage::Text(t))) => t,
        Some(Ok(WsMessage::Close(_))) | None => return Some(Exit::Lost("lost:closed".into())),
        Some(Ok(_)) => return None,
        Some(Err(_)) => return Some(Exit::Lost("lost:socket".into())),
    };
    if let Some(d) = conn::scan_delivery(&text) {
        sequenced(
            shared,
            d.room_id,
            d.seq.get(),
            Some(d.stamp),
            now,
            tracks,
            out,
            delivered,
        );
        return None;
    }
    let Ok(view) = serde_json::from_str::<View<'_>>(&text) else {
        // `error` and `closing` carry `message` as text, which the view reads as a message
        // object: read those with the full frame type.
        return apply_frame(shared, &text, out, in_flight);
    };
    apply(
        shared,
        view,
        now,
        tracks,
        out,
        in_flight,
        awaiting_storm_resume,
        delivered,
    );
    None
}

/// Applies a protocol frame that the view could not read (`error`, `closing`).
fn apply_frame(
    shared: &Shared,
    text: &str,
    out: &mut Outcome,
    in_flight: &AtomicU64,
) -> Option<Exit> {
    match serde_json::from_str::<ServerFrame>(text) {
        Ok(ServerFrame::Closing { code, .. }) => Some(Exit::Lost(format!("closing:{code}"))),
        Ok(ServerFrame::Error { id, code, .. }) => {
            out.error(format!("error:{code}"));
            if let Some(rest) = id.as_deref().and_then(|id| id.strip_prefix('s')) {
                in_flight.fetch_sub(1, Ordering::AcqRel);
                shared.in_flight.fetch_sub(1, Ordering::AcqRel);
                let step = rest
                    .split('.')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                metrics::with_step(step, |c| c.send_errors += 1);
            }
            None
        }
        Ok(_) => None,
        Err(_) => {
            out.error("unparsed_frame");
            None
        }
    }
}

/// Applies one frame or event, parsed (`None`: a field it needs is missing, and it is
/// ignored).
#[allow(clippy::too_many_arguments)]
fn apply(
    shared: &Shared,
    view: View<'_>,
    now: u64,
    tracks: &mut HashMap<RoomId, Track>,
    out: &mut Outcome,
    in_flight: &AtomicU64,
    awaiting_storm_resume: &mut bool,
    delivered: &mut u64,
) -> Option<()> {
    match view.ty.as_ref() {
        "ack" => {
            let m = view.message?;
            let stamp = Stamp::parse(&m.body);
            out.acked.push((m.room_id, m.seq.get()));
            in_flight.fetch_sub(1, Ordering::AcqRel);
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            let members = shared.followers.get(&m.room_id).copied().unwrap_or(0);
            shared.expected.fetch_add(members, Ordering::AcqRel);
            if let Some(s) = stamp {
                let on_time = shared.in_step(s.step, now);
                metrics::with_step(s.step, |c| {
                    c.acks += 1;
                    c.acks_in_step += u64::from(on_time);
                    metrics::record(&mut c.ack, now.saturating_sub(s.sent_ns) / 1000);
                });
            }
        }
        "resumed" => {
            for t in tracks.values_mut() {
                t.resuming = false;
            }
            if std::mem::take(awaiting_storm_resume) {
                shared.resumed.fetch_add(1, Ordering::AcqRel);
                shared.last_resumed_ns.fetch_max(now, Ordering::AcqRel);
            }
        }
        ty if conn::is_sequenced(ty) => {
            let stamp = match view.message {
                Some(m) if ty == "message.created" => Stamp::parse(&m.body),
                _ => None,
            };
            sequenced(
                shared,
                view.room_id?,
                view.seq?.get(),
                stamp,
                now,
                tracks,
                out,
                delivered,
            );
        }
        _ => {}
    }
    Some(())
}

/// Checks a room event's sequence against what the connection holds (duplicates, gaps),
/// records it, and counts the delivery of a stamped message.
#[allow(clippy::too_many_arguments)]
fn sequenced(
    shared: &Shared,
    room: RoomId,
    seq: i64,
    stamp: Option<Stamp>,
    now: u64,
    tracks: &mut HashMap<RoomId, Track>,
    out: &mut Outcome,
    delivered: &mut u64,
) {
    let Some(track) = tracks.get_mut(&room) else {
        return;
    };
    if seq <= track.pos {
        if !track.resuming {
            out.duplicates += 1;
        }
        return;
    }
    if seq > track.pos + 1 {
        if track.resuming {
            // Live events that overtook the replay; the replay brings them.
            return;
        }
        out.gaps += 1;
    }
    track.pos = seq;
    let ranges = out.received.entry(room).or_default();
    match ranges.last_mut() {
        Some(last) if last.1 + 1 == seq => last.1 = seq,
        _ => ranges.push((seq, seq)),
    }
    if let Some(s) = stamp {
        *delivered += 1;
        let on_time = shared.in_step(s.step, now);
        metrics::with_step(s.step, |c| {
            c.deliveries += 1;
            c.deliveries_in_step += u64::from(on_time);
            metrics::record(&mut c.latency, now.saturating_sub(s.sent_ns) / 1000);
        });
    }
}

/// A sender's writer: posts at its share of each step's rate into its rooms in turn. The
/// schedule is the run's, from the moment sending started: a writer that takes over after a
/// reconnection carries on where the timeline is (what fell due while disconnected is not
/// sent). Returns the sink once the run stops.
async fn write_sends(
    shared: Arc<Shared>,
    mut sink: SplitSink<Ws, WsMessage>,
    rooms: Vec<RoomId>,
    index: usize,
    mut ctl: watch::Receiver<Control>,
    in_flight: Arc<AtomicU64>,
    counter: Arc<AtomicU64>,
) -> Option<SplitSink<Ws, WsMessage>> {
    while !ctl.borrow_and_update().go {
        if ctl.changed().await.is_err() {
            return None;
        }
    }
    let go_at = *shared.go_at.get()?;
    let senders = shared.senders.max(1) as f64;
    let mut step_start = go_at;
    for (si, step) in shared.steps.iter().enumerate() {
        let step_end = step_start + step.duration;
        let rate = step.rate / senders;
        if rooms.is_empty() || rate <= 0.0 || Instant::now() >= step_end {
            tokio::time::sleep_until(step_end.into()).await;
            step_start = step_end;
            continue;
        }
        let mut due_done = (Instant::now()
            .saturating_duration_since(step_start)
            .as_secs_f64()
            * rate) as u64;
        loop {
            let now = Instant::now();
            if now >= step_end {
                break;
            }
            let due = ((now - step_start).as_secs_f64() * rate) as u64 + 1;
            let mut wrote = false;
            while due_done < due {
                due_done += 1;
                if in_flight.load(Ordering::Acquire) >= shared.max_in_flight {
                    metrics::with_step(si, |c| c.skipped += 1);
                    continue;
                }
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let room = rooms[(n as usize) % rooms.len()];
                let stamp = Stamp {
                    step: si,
                    sender: index,
                    n,
                    sent_ns: now_ns(),
                };
                let frame = ClientFrame::Send {
                    id: format!("s{si}.{n}"),
                    room_id: room,
                    client_id: format!("l{index}-{n}"),
                    body: stamp.body(),
                    reply_to: None,
                    attachments: Vec::new(),
                };
                let text = serde_json::to_string(&frame).unwrap_or_default();
                in_flight.fetch_add(1, Ordering::AcqRel);
                shared.in_flight.fetch_add(1, Ordering::AcqRel);
                metrics::with_step(si, |c| c.sends += 1);
                if sink.feed(WsMessage::text(text)).await.is_err() {
                    return None;
                }
                wrote = true;
            }
            if wrote && sink.flush().await.is_err() {
                return None;
            }
            let next = step_start + Duration::from_secs_f64(due_done as f64 / rate);
            tokio::time::sleep_until(next.min(step_end).into()).await;
        }
        step_start = step_end;
    }
    // Keep the sink (and so the connection) until the run stops.
    while !ctl.borrow_and_update().stop {
        if ctl.changed().await.is_err() {
            break;
        }
    }
    Some(sink)
}
