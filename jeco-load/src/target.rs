//! The servers under test: Jeco (spawned from its release binary, run in this process, or
//! already running elsewhere) and the reference broadcast server.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// Jeco Chat.
    Jeco,
    /// The minimal broadcast server (no persistence, no authentication).
    Reference,
}

impl Kind {
    /// For report lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Jeco => "jeco",
            Kind::Reference => "reference",
        }
    }
}

/// How to reach or start the servers (the global command-line options).
#[derive(Clone, Debug, Default)]
pub(crate) struct ServerOptions {
    /// A Jeco server already running.
    pub(crate) url: Option<String>,
    /// Its process id, for memory and CPU figures.
    pub(crate) server_pid: Option<u32>,
    /// The `jeco-server` binary to spawn.
    pub(crate) server_bin: Option<PathBuf>,
    /// PostgreSQL to run a spawned server on (a fresh database is created on it).
    pub(crate) database_url: Option<String>,
    /// Run both servers inside this process instead of spawning them.
    pub(crate) in_process: bool,
}

/// Where the Jeco store is, for seeding it directly.
#[derive(Clone, Debug)]
pub(crate) enum Store {
    /// The SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
    /// Not known (a server started elsewhere without `--database-url`).
    Unknown,
}

enum Running {
    Child(Child),
    InProcess(oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    External,
}

/// A server under test.
pub(crate) struct Target {
    /// Which server.
    pub(crate) kind: Kind,
    /// Its address.
    pub(crate) addr: SocketAddr,
    /// `http://addr`.
    pub(crate) base: String,
    /// Its process, for `/proc` figures (`None`: unknown).
    pub(crate) pid: Option<u32>,
    /// Whether that process is this tool's own (then memory and CPU include the clients).
    pub(crate) shares_process: bool,
    /// The store, described for reports.
    pub(crate) backend: String,
    /// The store, for seeding.
    pub(crate) store: Store,
    running: Running,
    _dir: Option<tempfile::TempDir>,
    drop_database: Option<(String, String)>,
}

/// The flags that lift the limits meant for production, so that only capacity limits a run.
const LOAD_FLAGS: &[&str] = &[
    "--send-rate",
    "1000000000",
    "--send-burst",
    "1000000000",
    "--change-rate",
    "1000000000",
    "--change-burst",
    "1000000000",
    "--typing-rate",
    "1000000000",
    "--typing-burst",
    "1000000000",
    "--resume-rate",
    "1000000000",
    "--resume-burst",
    "1000000000",
    "--auth-rate-per-minute",
    "1000000000",
    "--max-connections-per-user",
    "100000000",
];

/// The server's cap on open connections, lifted like the limits above; the open-file limit
/// bounds a run instead. Given to a spawned binary as a variable, which one built before the
/// cap existed ignores.
const LOAD_MAX_CONNECTIONS: &str = "100000000";

impl Target {
    /// Starts (or attaches to) the Jeco server.
    pub(crate) async fn jeco(opts: &ServerOptions) -> anyhow::Result<Target> {
        if let Some(url) = &opts.url {
            let base = url.trim_end_matches('/').to_owned();
            let hostport = base
                .strip_prefix("http://")
                .ok_or_else(|| anyhow!("--url must be http://host:port"))?;
            let addr = hostport
                .to_socket_addrs()
                .with_context(|| format!("resolving {hostport}"))?
                .next()
                .ok_or_else(|| anyhow!("{hostport} resolves to nothing"))?;
            let store = match &opts.database_url {
                Some(u) => Store::Postgres(u.clone()),
                None => Store::Unknown,
            };
            return Ok(Target {
                kind: Kind::Jeco,
                addr,
                base,
                pid: opts.server_pid,
                shares_process: false,
                backend: if opts.database_url.is_some() {
                    "PostgreSQL (external server)".into()
                } else {
                    "external server".into()
                },
                store,
                running: Running::External,
                _dir: None,
                drop_database: None,
            });
        }
        let dir = tempfile::Builder::new()
            .prefix("jeco-load-")
            .tempdir()
            .context("creating a data directory")?;
        let mut drop_database = None;
        let (store, backend) = match &opts.database_url {
            Some(admin) => {
                let name = format!("jeco_load_{:08x}", rand::random::<u32>());
                let mut conn = sqlx::PgConnection::connect(admin)
                    .await
                    .with_context(|| "connecting to --database-url")?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("creating database {name}"))?;
                let _ = conn.close().await;
                drop_database = Some((admin.clone(), name.clone()));
                (
                    Store::Postgres(database_url_with_name(admin, &name)),
                    "PostgreSQL (fsync on, default settings)".to_owned(),
                )
            }
            None => (
                Store::Sqlite(dir.path().join("jeco.db")),
                "SQLite (WAL, synchronous=FULL)".to_owned(),
            ),
        };
        let mut args: Vec<String> = vec![
            "jeco-server".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            dir.path().display().to_string(),
        ];
        args.extend(LOAD_FLAGS.iter().map(|s| (*s).to_owned()));
        if let Store::Postgres(url) = &store {
            args.push("--database-url".into());
            args.push(url.clone());
        }
        let (addr, pid, running, shares_process) = if opts.in_process {
            args.extend(["--max-connections".into(), LOAD_MAX_CONNECTIONS.into()]);
            let (addr, running) = start_in_process(args).await?;
            (addr, Some(std::process::id()), running, true)
        } else {
            let bin = server_binary(opts)?;
            let log = std::fs::File::create(dir.path().join("server.log"))?;
            let mut cmd = Command::new(&bin);
            cmd.args(&args[1..])
                .env("RUST_LOG", "warn")
                .env("JECO_MAX_CONNECTIONS", LOAD_MAX_CONNECTIONS)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(log))
                .kill_on_drop(true);
            let mut child = cmd
                .spawn()
                .with_context(|| format!("starting {}", bin.display()))?;
            let addr = listening_address(&mut child, "Jeco Chat is listening on http://").await;
            let addr = match addr {
                Ok(a) => a,
                Err(e) => {
                    let log =
                        std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                    bail!("{e:#}; server log:\n{log}");
                }
            };
            let pid = child.id();
            (addr, pid, Running::Child(child), false)
        };
        Ok(Target {
            kind: Kind::Jeco,
            addr,
            base: format!("http://{addr}"),
            pid,
            shares_process,
            backend,
            store,
            running,
            _dir: Some(dir),
            drop_database,
        })
    }

    /// Starts the reference server.
    pub(crate) async fn reference(opts: &ServerOptions) -> anyhow::Result<Target> {
        let (addr, pid, running, shares_process) = if opts.in_process {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (tx, rx) = oneshot::channel::<()>();
            let handle = tokio::spawn(async move {
                crate::reference::serve(listener, async move {
                    let _ = rx.await;
                })
                .await;
            });
            (
                addr,
                Some(std::process::id()),
                Running::InProcess(tx, handle),
                true,
            )
        } else {
            let exe = std::env::current_exe().context("locating this executable")?;
            let mut child = Command::new(&exe)
                .args(["reference", "--listen", "127.0.0.1:0"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {} reference", exe.display()))?;
            let addr = listening_address(&mut child, "reference listening on http://").await?;
            let pid = child.id();
            (addr, pid, Running::Child(child), false)
        };
        Ok(Target {
            kind: Kind::Reference,
            addr,
            base: format!("http://{addr}"),
            pid,
            shares_process,
            backend: "in memory (no persistence, no auth)".into(),
            store: Store::Unknown,
            running,
            _dir: None,
            drop_database: None,
        })
    }

    /// Stops what this tool started and drops the database it created.
    pub(crate) async fn stop(mut self) {
        match std::mem::replace(&mut self.running, Running::External) {
            Running::Child(mut child) => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
            }
            Running::InProcess(tx, handle) => {
                let _ = tx.send(());
                let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
            }
            Running::External => {}
        }
        if let Some((admin, name)) = self.drop_database.take()
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

/// `postgres://u@h:p/db?x` with the database replaced by `name`.
fn database_url_with_name(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let after_scheme = main.find("://").map(|i| i + 3).unwrap_or(0);
    let prefix = match main[after_scheme..].find('/') {
        Some(i) => &main[..after_scheme + i],
        None => main,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// `--server-bin`, or `jeco-server` next to this executable (both are built into the same
/// `target/<profile>/`), or in `target/release/` of the current directory.
fn server_binary(opts: &ServerOptions) -> anyhow::Result<PathBuf> {
    if let Some(bin) = &opts.server_bin {
        return Ok(bin.clone());
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("jeco-server"));
        // Integration tests run from target/<profile>/deps.
        if let Some(up) = dir.parent() {
            candidates.push(up.join("jeco-server"));
        }
    }
    candidates.push(PathBuf::from("target/release/jeco-server"));
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        anyhow!(
            "jeco-server binary not found next to jeco-load: build both with \
                 `cargo build --release -p jeco-server -p jeco-load`, or pass --server-bin, \
                 --url or --in-process"
        )
    })
}

/// Reads the child's stdout until the line announcing its address.
async fn listening_address(child: &mut Child, prefix: &str) -> anyhow::Result<SocketAddr> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("the server's stdout is not captured"))?;
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split_once(prefix).map(|(_, r)| r) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                return addr.parse::<SocketAddr>().ok();
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| anyhow!("the server did not announce its address"))?;
    // Keep draining stdout so that the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(found)
}

/// Runs the Jeco server inside this process with the same arguments the binary would get.
async fn start_in_process(args: Vec<String>) -> anyhow::Result<(SocketAddr, Running)> {
    use clap::Parser;
    let cli = jeco_server::config::Cli::try_parse_from(args).context("server arguments")?;
    let settings = jeco_server::config::Settings::from_cli(cli)?;
    let engine = settings.engine().await?;
    let state = jeco_server::AppState::new(engine.clone(), settings.server_config(&engine)?);
    let app = jeco_server::router(state.clone());
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let stop = {
            let shutdown = state.shutdown.clone();
            async move {
                let _ = rx.await;
                shutdown.cancel();
            }
        };
        // As the jeco-server binary does.
        jeco_server::serve(listener, app, &state, stop).await;
    });
    Ok((addr, Running::InProcess(tx, handle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            database_url_with_name("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            database_url_with_name("postgres://h/test?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(
            database_url_with_name("postgres://h", "x"),
            "postgres://h/x"
        );
    }
}
