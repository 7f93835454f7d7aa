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

impl Machine {
    /// Reads the machine's description.
    pub(crate) fn read() -> Machine {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
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

/// Measures the CPU used by a process over an interval, in cores (1.0 = one core busy).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuMeter {
    pid: u32,
    start_cpu: f64,
    start: Instant,
}

impl CpuMeter {
    /// Starts measuring `pid`.
    pub(crate) fn start(pid: u32) -> CpuMeter {
        CpuMeter {
            pid,
            start_cpu: cpu_seconds(pid).unwrap_or(0.0),
            start: Instant::now(),
        }
    }

    /// Cores used on average since the start (`None` if the process is gone).
    pub(crate) fn cores(&self) -> Option<f64> {
        let used = cpu_seconds(self.pid)? - self.start_cpu;
        let wall = self.start.elapsed().as_secs_f64();
        (wall > 0.0).then(|| used / wall)
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
    }
}
