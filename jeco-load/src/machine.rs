//! What the load ran on, and the process figures read from `/proc`: resident memory, CPU
//! time, open-file limits.

use std::time::Instant;

use serde::Serialize;

/// The machine, as printed on every report line.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Machine {
    /// Cores the tool may use.
    pub(crate) cores: usize,
    /// Total memory in MiB.
    pub(crate) memory_mib: u64,
    /// Kernel release.
    pub(crate) kernel: String,
    /// CPU model name.
    pub(crate) cpu: String,
}

/// Cores this process may use.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl Machine {
    /// Reads the machine's description.
    pub(crate) fn read() -> Machine {
        let cores = cores();
        let memory_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| kib_field(&text, "MemTotal:"))
            .map(|kib| kib / 1024)
            .unwrap_or(0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default();
        Machine {
            cores,
            memory_mib,
            kernel,
            cpu,
        }
    }

    /// One short line: `2 cores, 23.4 GiB, Linux 6.1`.
    pub(crate) fn short(&self) -> String {
        format!(
            "{} cores, {:.1} GiB, Linux {}",
            self.cores,
            self.memory_mib as f64 / 1024.0,
            self.kernel
        )
    }
}

fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l[name.len()..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resident memory of a process in KiB (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kib_field(&text, "VmRSS:")
}

/// CPU time (user + system) of a process in seconds, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: count fields after it.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the full line, utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks; USER_HZ is 100 on every mainstream architecture.
    Some((utime + stime) / 100.0)
}

/// CPU time (every state but idle and I/O wait) of the whole machine in seconds, from the
/// first line of `/proc/stat`.
fn machine_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: f64 = ticks.iter().take(8).sum::<f64>() - ticks.get(3)? - ticks.get(4)?;
    Some(busy / 100.0)
}

/// CPU time used so far by this tool, the server and the whole machine.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuSample {
    at: Instant,
    tool: Option<f64>,
    /// `None` when the server's process is unknown or is this one.
    server: Option<f64>,
    machine: Option<f64>,
}

impl CpuSample {
    /// Reads the counters now; `server_pid` is left out when the server runs in this process
    /// (its CPU cannot be told apart from the tool's).
    pub(crate) fn take(server_pid: Option<u32>, shares_process: bool) -> CpuSample {
        CpuSample {
            at: Instant::now(),
            tool: cpu_seconds(std::process::id()),
            server: server_pid.filter(|_| !shares_process).and_then(cpu_seconds),
            machine: machine_cpu_seconds(),
        }
    }

    /// What was used from this sample to `later`, and which side that shows to be the limit.
    pub(crate) fn until(&self, later: &CpuSample) -> CpuUse {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let rate = |a: Option<f64>, b: Option<f64>| Some((b? - a?).max(0.0) / wall);
        let tool = rate(self.tool, later.tool);
        let server = rate(self.server, later.server);
        let other = rate(self.machine, later.machine)
            .map(|all| (all - tool.unwrap_or(0.0) - server.unwrap_or(0.0)).max(0.0));
        // `/proc` counts in ticks of 10 ms: over a shorter interval the figures are noise.
        let bound = if wall < SHORTEST_S {
            Bound::Unknown
        } else {
            Bound::of(cores() as f64, tool, server, other)
        };
        CpuUse {
            tool_cores: tool,
            server_cores: server,
            other_cores: other,
            bound,
        }
    }
}

/// CPU used over an interval, in cores (1.0 = one core busy), and what it says about who
/// set the pace.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct CpuUse {
    /// This tool: the generator of the load (and, run in-process, the servers too).
    pub(crate) tool_cores: Option<f64>,
    /// The server's process (`None`: unknown, or it is this one).
    pub(crate) server_cores: Option<f64>,
    /// Every other process on the machine (other builds, say): noise in the figures.
    pub(crate) other_cores: Option<f64>,
    /// Which side the CPU limited.
    pub(crate) bound: Bound,
}

/// Which side the CPU limited over an interval. The tool and the server share the
/// machine's cores, so a side is taken as the limit when the machine is all but full
/// (at least [`FULL`] of its cores busy) or the side alone is (it cannot use more than
/// every core), and it used clearly more of it than the other side. Other processes that
/// took a sizeable share ([`NOISY`] of the cores) make the interval `others` whatever the
/// rest: a share averaged over the interval hides bursts, which can fill the machine for a
/// while.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Bound {
    /// The CPU was not the limit: nothing was near full.
    None,
    /// The tool used most of the machine: the figures show what the generator could drive,
    /// not what the server could take.
    Generator,
    /// The server used most of the machine.
    Server,
    /// The tool and the server each used about as much of a full machine.
    Both,
    /// Other processes took a sizeable share of the machine, or most of a full one: the
    /// figures are not representative.
    Others,
    /// Not known: the server runs in this process, `/proc` could not be read, or the
    /// interval was too short to tell.
    Unknown,
}

/// The shortest interval, in seconds, whose CPU figures tell which side was the limit.
const SHORTEST_S: f64 = 0.25;

/// The fraction of the cores in use from which a side counts as saturated.
const FULL: f64 = 0.85;

/// The fraction of the cores other processes may use before an interval counts as
/// disturbed by them.
const NOISY: f64 = 0.25;

/// How much more of the machine one side must use than the other to be named the limit.
const CLEARLY_MORE: f64 = 1.25;

impl Bound {
    fn of(cores: f64, tool: Option<f64>, server: Option<f64>, other: Option<f64>) -> Bound {
        let (Some(tool), Some(server)) = (tool, server) else {
            return Bound::Unknown;
        };
        let other = other.unwrap_or(0.0);
        if other >= cores * NOISY {
            return Bound::Others;
        }
        let full = cores * FULL;
        if tool + server + other < full && tool < full && server < full {
            return Bound::None;
        }
        if other > tool && other > server {
            Bound::Others
        } else if tool > server * CLEARLY_MORE {
            Bound::Generator
        } else if server > tool * CLEARLY_MORE {
            Bound::Server
        } else {
            Bound::Both
        }
    }

    /// For report lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Bound::None => "-",
            Bound::Generator => "GENERATOR",
            Bound::Server => "server",
            Bound::Both => "both",
            Bound::Others => "OTHERS",
            Bound::Unknown => "?",
        }
    }
}

impl CpuUse {
    /// Nothing measured.
    pub(crate) fn unknown() -> CpuUse {
        CpuUse {
            tool_cores: None,
            server_cores: None,
            other_cores: None,
            bound: Bound::Unknown,
        }
    }

    /// `tool 0.52 / server 1.31 / other 0.10 cores: server-bound`, for report lines.
    pub(crate) fn brief(&self) -> String {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
        format!(
            "tool {} / server {} / other {} cores: {}",
            f(self.tool_cores),
            f(self.server_cores),
            f(self.other_cores),
            match self.bound {
                Bound::None => "CPU not the limit".to_owned(),
                Bound::Unknown => "limit unknown".to_owned(),
                b => format!("{}-bound", b.name().to_lowercase()),
            }
        )
    }
}

/// The open-file limit after trying to raise it.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct FdLimit {
    /// Soft limit in force.
    pub(crate) soft: u64,
    /// Hard limit in force.
    pub(crate) hard: u64,
}

/// Raises the open-file limit: the hard limit towards `want` when allowed (as root, up to
/// `fs.nr_open`), and the soft limit to the hard one. Child processes (a spawned server)
/// inherit it.
pub(crate) fn raise_fd_limit(want: u64) -> FdLimit {
    use rlimit::Resource;
    if let Ok((_, hard)) = Resource::NOFILE.get()
        && want > hard
    {
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(hard);
        let target = want.min(nr_open);
        // Fails without the privilege to raise a hard limit; the soft raise below still helps.
        let _ = Resource::NOFILE.set(target, target);
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let (soft, hard) = Resource::NOFILE.get().unwrap_or((0, 0));
    FdLimit { soft, hard }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).is_some_and(|kib| kib > 0));
        assert!(cpu_seconds(pid).is_some());
        assert_eq!(today().len(), 10);
        assert!(machine_cpu_seconds().is_some_and(|s| s > 0.0));
    }

    #[test]
    fn the_side_that_fills_the_machine_is_the_bound() {
        let of = |t, s, o| Bound::of(2.0, Some(t), Some(s), Some(o));
        assert_eq!(of(0.3, 0.4, 0.1), Bound::None);
        assert_eq!(of(1.3, 0.5, 0.1), Bound::Generator);
        assert_eq!(of(0.4, 1.4, 0.0), Bound::Server);
        assert_eq!(of(0.9, 0.85, 0.1), Bound::Both);
        assert_eq!(of(0.3, 0.4, 1.2), Bound::Others);
        // Not full on average, but others took enough to have filled it at times.
        assert_eq!(of(0.4, 0.4, 0.8), Bound::Others);
        // A server alone at every core of a bigger machine.
        assert_eq!(Bound::of(4.0, Some(0.5), Some(3.8), None), Bound::Server);
        assert_eq!(Bound::of(2.0, Some(1.9), None, None), Bound::Unknown);
    }
}
