//! `jeco-load`: drives a Jeco Chat server with many authenticated connections and reports
//! deliveries per second, end-to-end latency, loss, errors and the server's memory per
//! connection, next to the same figures for a minimal reference broadcast server on the same
//! machine. See `BENCHMARKS.md` for how to run every preset.

mod api;
mod conn;
mod history;
mod idle;
mod machine;
mod metrics;
mod reference;
mod report;
mod target;
mod traffic;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::api::{Api, Population};
use crate::conn::Endpoint;
use crate::machine::FdLimit;
use crate::report::{Report, Run};
use crate::target::{Kind, ServerOptions, Target};
use crate::traffic::{MemberSpec, Plan, Step};

/// Load tool for Jeco Chat.
///
/// By default each preset spawns `jeco-server` (found next to this executable: build both
/// with `cargo build --release -p jeco-server -p jeco-load`) on a free port with a fresh data
/// directory and production limits lifted, then runs the same preset against the built-in
/// reference broadcast server and prints Jeco's figures as a ratio to it.
#[derive(Debug, Parser)]
#[command(name = "jeco-load", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    preset: Preset,
}

#[derive(Debug, Args)]
struct Global {
    /// Drive this already running Jeco server (http://host:port) instead of spawning one;
    /// give it limits as high as the preset needs.
    #[arg(long, global = true)]
    url: Option<String>,
    /// Process id of the server given with --url, for its memory and CPU figures.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// The jeco-server binary to spawn [default: next to this executable].
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// PostgreSQL for the spawned server: a fresh database `jeco_load_<random>` is created on
    /// it and dropped at the end. SQLite in a temporary directory when unset.
    #[arg(long, global = true, env = "JECO_LOAD_DATABASE_URL")]
    database_url: Option<String>,
    /// Run the Jeco server and the reference inside this process (memory and CPU then
    /// include the tool's own).
    #[arg(long, global = true)]
    in_process: bool,
    /// Skip the reference run.
    #[arg(long, global = true)]
    no_reference: bool,
    /// Run only against the reference.
    #[arg(long, global = true, conflicts_with = "no_reference")]
    only_reference: bool,
    /// Print the report as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Spread client sockets over this many source addresses 127.0.0.2, 127.0.0.3, ...
    #[arg(long, global = true, default_value_t = 50)]
    source_ips: u8,
    /// Connections being opened at once.
    #[arg(long, global = true, default_value_t = 128)]
    connect_concurrency: usize,
    /// Concurrent registrations while setting up (registration hashes passwords: slow on
    /// purpose).
    #[arg(long, global = true, default_value_t = 4)]
    setup_concurrency: usize,
}

#[derive(Debug, Subcommand)]
enum Preset {
    /// One room, many members, a few senders, stepped rates.
    OneRoom(OneRoom),
    /// Many small rooms; each user follows `members` rooms.
    ManyRooms(ManyRooms),
    /// Hold idle connections and report the server's memory per connection.
    Idle(Idle),
    /// Connection set-up (ticket, upgrade, ready) per second.
    Handshake(Handshake),
    /// Drop many clients at once while messages flow; time until all resumed, and loss.
    ReconnectStorm(Storm),
    /// 50-message history pages at the newest end, the middle and the oldest end of a big room.
    History(History),
    /// Serve the reference broadcast server (used by the other presets).
    Reference(ReferenceArgs),
}

#[derive(Debug, Args)]
struct Traffic {
    /// Seconds per rate step.
    #[arg(long, default_value_t = 10.0)]
    step_secs: f64,
    /// Most unacknowledged sends per sender; beyond, sends are skipped and counted.
    #[arg(long, default_value_t = 2000)]
    max_in_flight: u64,
    /// Longest wait for stragglers after the last step, seconds.
    #[arg(long, default_value_t = 20.0)]
    drain_secs: f64,
}

#[derive(Debug, Args)]
struct OneRoom {
    /// Members of the room (one user and one connection each).
    #[arg(long, default_value_t = 100)]
    members: usize,
    /// Members that also send.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Rate steps: total sends per second.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "500,1000,2000,5000,10000"
    )]
    rates: Vec<f64>,
    #[command(flatten)]
    traffic: Traffic,
}

#[derive(Debug, Args)]
struct ManyRooms {
    /// Rooms (also the number of users: user u follows rooms u, u-1, ..., u-members+1).
    #[arg(long, default_value_t = 1000)]
    rooms: usize,
    /// Members per room.
    #[arg(long, default_value_t = 10)]
    members: usize,
    /// Users that send, each into its rooms in turn.
    #[arg(long, default_value_t = 100)]
    senders: usize,
    /// Rate steps: total sends per second.
    #[arg(long, value_delimiter = ',', default_value = "1000,2000")]
    rates: Vec<f64>,
    #[command(flatten)]
    traffic: Traffic,
}

#[derive(Debug, Args)]
struct Idle {
    /// Connections to hold.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Users they belong to (several connections each).
    #[arg(long, default_value_t = 10)]
    users: usize,
    /// Seconds to hold them before measuring memory.
    #[arg(long, default_value_t = 5.0)]
    hold_secs: f64,
}

#[derive(Debug, Args)]
struct Handshake {
    /// Connections to set up (each closed once ready).
    #[arg(long, default_value_t = 5000)]
    connections: usize,
    /// Users they belong to.
    #[arg(long, default_value_t = 10)]
    users: usize,
}

#[derive(Debug, Args)]
struct Storm {
    /// Clients that drop and resume at once.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Users the clients belong to.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Rooms (user u is in room u mod rooms).
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Sender connections (not dropped), spread over the rooms.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Total sends per second throughout.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 20.0)]
    secs: f64,
    /// Drop the clients this many seconds after sending starts.
    #[arg(long, default_value_t = 5.0)]
    storm_after_secs: f64,
    /// Longest wait for stragglers and resumes after sending, seconds.
    #[arg(long, default_value_t = 60.0)]
    drain_secs: f64,
}

#[derive(Debug, Args)]
struct History {
    /// Messages in the room.
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Pages read at each depth.
    #[arg(long, default_value_t = 500)]
    samples: usize,
    /// Page size.
    #[arg(long, default_value_t = 50)]
    page: i64,
}

#[derive(Debug, Args)]
struct ReferenceArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
}

/// The allocator jeco-server uses, so that the reference's memory and speed compare with
/// Jeco's on equal terms (the reference runs in this executable).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Preset::Reference(a) = &cli.preset {
        let listener = tokio::net::TcpListener::bind(a.listen).await?;
        println!("reference listening on http://{}", listener.local_addr()?);
        reference::serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        return Ok(());
    }
    let g = &cli.global;
    let opts = ServerOptions {
        url: g.url.clone(),
        server_pid: g.server_pid,
        server_bin: g.server_bin.clone(),
        database_url: g.database_url.clone(),
        in_process: g.in_process,
    };
    let connections = match &cli.preset {
        Preset::OneRoom(p) => p.members,
        Preset::ManyRooms(p) => p.rooms,
        Preset::Idle(p) => p.connections,
        Preset::Handshake(p) => p.connect_needed(),
        // Old sockets are closed before the new ones open; tickets add HTTP connections.
        Preset::ReconnectStorm(p) => p.clients + p.senders + g.connect_concurrency,
        Preset::History(_) | Preset::Reference(_) => 0,
    } as u64;
    // Client and server each hold one descriptor per connection; in one process, both.
    let per_process = if g.in_process {
        2 * connections
    } else {
        connections
    };
    let fd_limit = machine::raise_fd_limit(per_process + 4096);
    let fd_ok = fd_limit.soft >= per_process + 512;
    let fits = fd_limit.soft.saturating_sub(512) / if g.in_process { 2 } else { 1 };
    let mut kinds = Vec::new();
    if !g.only_reference {
        kinds.push(Kind::Jeco);
    }
    let reference_applies = !matches!(cli.preset, Preset::History(_));
    if !g.no_reference && reference_applies {
        kinds.push(Kind::Reference);
    }
    let mut report = Report::new(cli.preset.name(), cli.preset.params(), fd_limit);
    let mut cli = cli;
    if !fd_ok {
        let idle = match &mut cli.preset {
            Preset::Idle(p) => {
                p.connections = p.connections.min(fits as usize);
                true
            }
            _ => false,
        };
        report.warn(format!(
            "{connections} connections need about {} open files per process (client and \
             server each hold one per connection), the limit is {} and the hard limit {} could \
             not be raised (raising it needs CAP_SYS_RESOURCE, or `ulimit -Hn` by a privileged \
             user beforehand); about {fits} connections fit{}",
            per_process + 512,
            fd_limit.soft,
            fd_limit.hard,
            if idle {
                ": the idle run is capped to that"
            } else {
                ": expect connection failures"
            },
        ));
    }
    let cli = cli;
    let g = &cli.global;
    for kind in kinds {
        let target = match kind {
            Kind::Jeco => Target::jeco(&opts).await?,
            Kind::Reference => Target::reference(&opts).await?,
        };
        let outcome = run_preset(&cli, &target, fd_limit).await;
        let run = Run::new(&target, outcome);
        target.stop().await;
        report.push(run?);
    }
    report.print(g.json);
    Ok(())
}

impl Handshake {
    fn connect_needed(&self) -> usize {
        // Closed as they go; a few hundred may be open or in TIME_WAIT at once.
        self.connections.min(2048)
    }
}

impl Preset {
    fn name(&self) -> &'static str {
        match self {
            Preset::OneRoom(_) => "one-room",
            Preset::ManyRooms(_) => "many-rooms",
            Preset::Idle(_) => "idle",
            Preset::Handshake(_) => "handshake",
            Preset::ReconnectStorm(_) => "reconnect-storm",
            Preset::History(_) => "history",
            Preset::Reference(_) => "reference",
        }
    }

    fn params(&self) -> serde_json::Value {
        match self {
            Preset::OneRoom(p) => json!({"members": p.members, "senders": p.senders,
                "rates": p.rates, "step_secs": p.traffic.step_secs}),
            Preset::ManyRooms(p) => json!({"rooms": p.rooms, "members": p.members,
                "senders": p.senders, "rates": p.rates, "step_secs": p.traffic.step_secs}),
            Preset::Idle(p) => json!({"connections": p.connections, "users": p.users,
                "hold_secs": p.hold_secs}),
            Preset::Handshake(p) => json!({"connections": p.connections, "users": p.users}),
            Preset::ReconnectStorm(p) => json!({"clients": p.clients, "users": p.users,
                "rooms": p.rooms, "senders": p.senders, "rate": p.rate, "secs": p.secs,
                "storm_after_secs": p.storm_after_secs}),
            Preset::History(p) => json!({"messages": p.messages, "samples": p.samples,
                "page": p.page}),
            Preset::Reference(_) => json!({}),
        }
    }
}

/// What one preset produced against one server.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub(crate) enum Outcome {
    /// Message traffic.
    Traffic(traffic::TrafficReport),
    /// Connections without traffic.
    Idle(idle::IdleReport),
    /// History paging.
    History(history::HistoryReport),
}

fn source_ips(n: u8) -> Vec<IpAddr> {
    (0..n)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2u8.saturating_add(i))))
        .collect()
}

fn tag() -> String {
    format!("{:06x}", rand::random::<u32>() & 0xff_ffff)
}

async fn population(
    cli: &Cli,
    target: &Target,
    api: &Api,
    users: usize,
    rooms: &[Vec<usize>],
) -> anyhow::Result<Population> {
    match target.kind {
        Kind::Reference => Ok(api::reference_population(users, rooms.len())),
        Kind::Jeco => api::populate(api, &tag(), users, rooms, cli.global.setup_concurrency)
            .await
            .context("setting up users and rooms"),
    }
}

/// A plan that steps through `rates` with the shared traffic options.
fn stepped(
    members: Vec<MemberSpec>,
    rates: &[f64],
    t: &Traffic,
    connect_concurrency: usize,
) -> Plan {
    Plan {
        members,
        steps: steps(rates, t.step_secs),
        max_in_flight: t.max_in_flight,
        connect_concurrency,
        storm_after: None,
        drain_timeout: Duration::from_secs_f64(t.drain_secs),
    }
}

fn steps(rates: &[f64], secs: f64) -> Vec<Step> {
    rates
        .iter()
        .map(|&rate| Step {
            rate,
            duration: Duration::from_secs_f64(secs.max(0.1)),
        })
        .collect()
}

async fn run_preset(cli: &Cli, target: &Target, fd_limit: FdLimit) -> anyhow::Result<Outcome> {
    let api = Api::new(&target.base)?;
    let ep = Endpoint {
        kind: target.kind,
        addr: target.addr,
        api: api.clone(),
    };
    let g = &cli.global;
    let ips = source_ips(g.source_ips);
    let ip = |i: usize| (!ips.is_empty()).then(|| ips[i % ips.len()]);
    match &cli.preset {
        Preset::OneRoom(p) => {
            if p.members == 0 || p.senders > p.members {
                bail!("--senders must be at most --members, and --members at least 1");
            }
            let rooms = vec![(0..p.members).collect::<Vec<_>>()];
            let pop = population(cli, target, &api, p.members, &rooms).await?;
            let stride = (p.members / p.senders.max(1)).max(1);
            let members = (0..p.members)
                .map(|u| MemberSpec {
                    user: u,
                    rooms: vec![0],
                    sender: (u % stride == 0 && u / stride < p.senders).then_some(u / stride),
                    droppable: false,
                    local_ip: ip(u),
                })
                .collect();
            let plan = stepped(members, &p.rates, &p.traffic, g.connect_concurrency);
            Ok(Outcome::Traffic(
                traffic::run(ep, pop, plan, target.pid, target.shares_process).await,
            ))
        }
        Preset::ManyRooms(p) => {
            if p.members == 0 || p.members > p.rooms || p.senders > p.rooms {
                bail!("--members and --senders must be between 1 and --rooms");
            }
            let n = p.rooms;
            // Room r: users r, r+1, ..., r+members-1 (mod n); so user u follows rooms
            // u, u-1, ..., u-members+1.
            let rooms: Vec<Vec<usize>> = (0..n)
                .map(|r| (0..p.members).map(|j| (r + j) % n).collect())
                .collect();
            let pop = population(cli, target, &api, n, &rooms).await?;
            let stride = (n / p.senders.max(1)).max(1);
            let members = (0..n)
                .map(|u| MemberSpec {
                    user: u,
                    rooms: (0..p.members).map(|j| (u + n - j) % n).collect(),
                    sender: (p.senders > 0 && u % stride == 0 && u / stride < p.senders)
                        .then_some(u / stride),
                    droppable: false,
                    local_ip: ip(u),
                })
                .collect();
            let plan = stepped(members, &p.rates, &p.traffic, g.connect_concurrency);
            Ok(Outcome::Traffic(
                traffic::run(ep, pop, plan, target.pid, target.shares_process).await,
            ))
        }
        Preset::ReconnectStorm(p) => {
            if p.rooms == 0 || p.users < p.rooms || p.senders == 0 || p.senders > p.users {
                bail!("need 1 <= --rooms <= --users and 1 <= --senders <= --users");
            }
            let rooms: Vec<Vec<usize>> = (0..p.rooms)
                .map(|r| (0..p.users).filter(|u| u % p.rooms == r).collect())
                .collect();
            let pop = population(cli, target, &api, p.users, &rooms).await?;
            let mut members: Vec<MemberSpec> = (0..p.clients)
                .map(|i| {
                    let user = i % p.users;
                    MemberSpec {
                        user,
                        rooms: vec![user % p.rooms],
                        sender: None,
                        droppable: true,
                        local_ip: ip(i),
                    }
                })
                .collect();
            members.extend((0..p.senders).map(|s| MemberSpec {
                user: s,
                rooms: vec![s % p.rooms],
                sender: Some(s),
                droppable: false,
                local_ip: ip(p.clients + s),
            }));
            let plan = Plan {
                members,
                steps: steps(&[p.rate], p.secs),
                max_in_flight: 10_000,
                connect_concurrency: g.connect_concurrency,
                storm_after: Some(Duration::from_secs_f64(p.storm_after_secs)),
                drain_timeout: Duration::from_secs_f64(p.drain_secs),
            };
            Ok(Outcome::Traffic(
                traffic::run(ep, pop, plan, target.pid, target.shares_process).await,
            ))
        }
        Preset::Idle(p) => {
            let pop = population(cli, target, &api, p.users.max(1), &[]).await?;
            let plan = idle::IdlePlan {
                connections: p.connections,
                concurrency: g.connect_concurrency,
                source_ips: ips.clone(),
                hold: Some(Duration::from_secs_f64(p.hold_secs)),
            };
            Ok(Outcome::Idle(
                idle::run(ep, pop, plan, target.pid, fd_limit, target.shares_process).await,
            ))
        }
        Preset::Handshake(p) => {
            let pop = population(cli, target, &api, p.users.max(1), &[]).await?;
            let plan = idle::IdlePlan {
                connections: p.connections,
                concurrency: g.connect_concurrency,
                source_ips: ips.clone(),
                hold: None,
            };
            Ok(Outcome::Idle(
                idle::run(ep, pop, plan, target.pid, fd_limit, target.shares_process).await,
            ))
        }
        Preset::History(p) => Ok(Outcome::History(
            history::run(
                &api,
                &target.store,
                history::Server {
                    pid: target.pid,
                    shares_process: target.shares_process,
                },
                &tag(),
                p.messages,
                p.samples,
                p.page,
            )
            .await?,
        )),
        Preset::Reference(_) => bail!("not a preset"),
    }
}
