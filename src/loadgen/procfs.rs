//! The server's CPU and memory, read from `/proc` when it runs on this machine.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Linux reports process times in clock ticks of 1/100 s on every architecture it runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (user + system) in ticks and resident memory in bytes of process `pid`.
fn sample(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((ticks, rss_kb * 1024))
}

/// The server's resources over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerUsage {
    pub pid: u32,
    /// Average over the run, in % of one core.
    pub cpu_percent: f64,
    pub rss_start_bytes: u64,
    pub rss_peak_bytes: u64,
    pub rss_end_bytes: u64,
}

/// Samples a process's CPU time and RSS; `finish` gives the figures since `start`.
pub struct Sampler {
    pid: u32,
    started: Instant,
    ticks_at_start: u64,
    rss_start: u64,
    rss_peak: u64,
    rss_last: u64,
}

impl Sampler {
    pub fn start(pid: u32) -> Option<Sampler> {
        let (ticks, rss) = sample(pid)?;
        Some(Sampler {
            pid,
            started: Instant::now(),
            ticks_at_start: ticks,
            rss_start: rss,
            rss_peak: rss,
            rss_last: rss,
        })
    }

    pub fn tick(&mut self) {
        if let Some((_, rss)) = sample(self.pid) {
            self.rss_peak = self.rss_peak.max(rss);
            self.rss_last = rss;
        }
    }

    pub fn finish(mut self) -> ServerUsage {
        let elapsed = self.started.elapsed().max(Duration::from_millis(1));
        let ticks = match sample(self.pid) {
            Some((ticks, rss)) => {
                self.rss_peak = self.rss_peak.max(rss);
                self.rss_last = rss;
                ticks
            }
            None => self.ticks_at_start,
        };
        let cpu = (ticks.saturating_sub(self.ticks_at_start)) as f64 / TICKS_PER_SECOND;
        ServerUsage {
            pid: self.pid,
            cpu_percent: 100.0 * cpu / elapsed.as_secs_f64(),
            rss_start_bytes: self.rss_start,
            rss_peak_bytes: self.rss_peak,
            rss_end_bytes: self.rss_last,
        }
    }
}

/// The process listening on TCP `port` of this machine, found through the socket's inode in
/// `/proc/net/tcp{,6}` and the processes' open files. `None` when it is not ours to see.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is field 10.
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if *state == "0A" && local_port == Some(port) {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && inodes.iter().any(|i| target.as_os_str() == i.as_str())
            {
                return Some(pid);
            }
        }
    }
    None
}
