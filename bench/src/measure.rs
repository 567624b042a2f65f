//! Running the `ferry` binary and measuring it: wall time, peak RSS (the
//! kernel's high-water mark, sampled until exit), and its `--json` report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

/// One Ferry installation in a temp dir, sharing a compile cache.
/// The API token every simulated Syncro of the benchmark takes.
pub const SYNCRO_TOKEN: &str = "bench-token";

pub struct Ferry {
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
    pub cache: PathBuf,
}

pub struct Measured {
    pub wall: Duration,
    /// Peak resident set size in MiB.
    pub peak_rss_mib: f64,
    /// CPU time in user and kernel mode, as last sampled before exit
    /// (up to one 10 ms sampling interval short).
    pub cpu_user: Duration,
    pub cpu_sys: Duration,
    pub json: Value,
}

impl Ferry {
    pub fn new(bin: &Path, cache: &Path) -> anyhow::Result<Ferry> {
        Ok(Ferry { bin: bin.to_path_buf(), dir: tempfile::tempdir()?, cache: cache.to_path_buf() })
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("ferry.db")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("FERRY_DB", self.db())
            .env("FERRY_CACHE_DIR", &self.cache)
            .env("FERRY_DEDUP_SECONDS", "0")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    /// Add Syncro integration `name` against the simulator at `api_url`
    /// (its token is [`SYNCRO_TOKEN`]).
    pub fn add_syncro(&self, name: &str, api_url: &str) -> anyhow::Result<String> {
        self.ok(&[
            "integration",
            "add",
            name,
            "--plugin",
            "syncro",
            "--set",
            "subdomain=bench",
            "--set",
            &format!("base_url={api_url}"),
            "--secret",
            &format!("api_key={SYNCRO_TOKEN}"),
        ])
    }

    /// Run, require success, return stdout.
    pub fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command(args).output().with_context(|| format!("running ferry {args:?}"))?;
        anyhow::ensure!(out.status.success(), "ferry {args:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Run with `--json`, measuring time and peak memory.
    pub fn measure(&self, args: &[&str]) -> anyhow::Result<Measured> {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let started = Instant::now();
        let mut child = self.command(&full).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let pid = child.id();
        let mut peak_kib = 0u64;
        let mut cpu = (Duration::ZERO, Duration::ZERO);
        loop {
            if let Some(kib) = high_water_mark(pid) {
                peak_kib = peak_kib.max(kib);
            }
            if let Some(times) = cpu_times(pid) {
                cpu = times;
            }
            if child.try_wait()?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output()?;
        let wall = started.elapsed();
        anyhow::ensure!(out.status.success(), "ferry {args:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        let json = serde_json::from_slice(&out.stdout).context("ferry's --json output")?;
        Ok(Measured { wall, peak_rss_mib: peak_kib as f64 / 1024.0, cpu_user: cpu.0, cpu_sys: cpu.1, json })
    }
}

/// `VmHWM` of a live process, in KiB.
fn high_water_mark(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// User and system CPU time of a live process.
fn cpu_times(pid: u32) -> Option<(Duration, Duration)> {
    parse_cpu_times(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `utime` and `stime` of a `/proc/PID/stat` line, in clock ticks of
/// 1/100 s (Linux's `USER_HZ`).
fn parse_cpu_times(stat: &str) -> Option<(Duration, Duration)> {
    // The command name may hold spaces and parentheses: the fields that
    // follow start after the last ')', with the state (field 3); utime is
    // field 14, stime field 15.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((Duration::from_millis(utime * 10), Duration::from_millis(stime * 10)))
}

pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] }
}

/// Total records fetched and requests made, from a sync report.
pub fn records_and_requests(report: &Value) -> (u64, u64) {
    let records =
        report["streams"].as_array().map(|s| s.iter().filter_map(|x| x["fetched"].as_u64()).sum()).unwrap_or(0);
    let requests = report["http"]["requests"].as_u64().unwrap_or(0);
    (records, requests)
}

/// A one-line description of the machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map(|k| format!("{:.0} GiB", k as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "? GiB".into());
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem} RAM, {}, {rustc}", std::env::consts::OS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_are_read_after_the_command_name() {
        let stat = "4242 (fer ry) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 56 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_cpu_times(stat), Some((Duration::from_millis(12_340), Duration::from_millis(560))));
        assert_eq!(parse_cpu_times("garbage"), None);
        assert!(cpu_times(std::process::id()).is_some(), "this process's own times");
    }
}
