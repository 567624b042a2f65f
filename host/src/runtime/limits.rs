//! The limits every connector call runs under, with defaults sized for real
//! PSAs (a CW page of 1,000 configurations, Syncro's 180 requests/minute)
//! and overrides from the environment (documented in README "Limits").

use std::time::Duration;

use super::http::HttpPolicy;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Guest compute per call, not counting time spent in host calls (HTTP,
    /// WASI sleeps and polls).
    pub cpu_per_call: Duration,
    /// Wall clock per call, HTTP and retries included.
    pub call_timeout: Duration,
    /// Linear memory a connector instance may grow to.
    pub memory_bytes: usize,
    /// Records one `read` may return.
    pub page_records: usize,
    /// Records one sync run may fetch, all streams together.
    pub run_records: u64,
    /// Pages one stream may take in one run (a cursor that never ends).
    pub stream_pages: u64,
    /// Wall clock one sync run may take; past it the run stops after the
    /// page in flight, checkpointed, and the next run resumes.
    pub run_max: Duration,
    /// Syncs `ferry daemon` runs at once (each integration at most one).
    pub daemon_concurrency: usize,
    pub http: HttpPolicy,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_per_call: Duration::from_secs(10),
            call_timeout: Duration::from_secs(300),
            memory_bytes: 256 * 1024 * 1024,
            page_records: 50_000,
            run_records: 10_000_000,
            stream_pages: 100_000,
            run_max: Duration::from_secs(4 * 60 * 60),
            daemon_concurrency: 4,
            http: HttpPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {var}=`{value}` is not a valid {what}")]
pub struct LimitError {
    pub var: &'static str,
    pub value: String,
    pub what: &'static str,
}

/// (variable, meaning) for README and `--help`.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("FERRY_CPU_SECONDS", "guest CPU seconds per connector call (default 10)"),
    ("FERRY_CALL_TIMEOUT_SECONDS", "wall-clock seconds per connector call, HTTP included (default 300)"),
    ("FERRY_MEMORY_MB", "memory per connector instance in MiB (default 256)"),
    ("FERRY_PAGE_MAX_RECORDS", "records per page (default 50000)"),
    ("FERRY_RUN_MAX_RECORDS", "records per sync run (default 10000000)"),
    ("FERRY_STREAM_MAX_PAGES", "pages per stream per run (default 100000)"),
    ("FERRY_RUN_MAX_SECONDS", "wall-clock seconds per sync run; then it stops resumably (default 14400)"),
    ("FERRY_DAEMON_CONCURRENCY", "syncs the daemon runs at once, one per integration (default 4)"),
    ("FERRY_HTTP_TIMEOUT_SECONDS", "seconds per HTTP request (default 30)"),
    ("FERRY_RESPONSE_MAX_MB", "HTTP response body cap in MiB (default 32)"),
    ("FERRY_HTTP_MAX_RETRIES", "retries of 429/5xx/transport failures (default 5)"),
    ("FERRY_RETRY_BASE_MS", "first backoff step in ms, doubling per retry (default 1000)"),
    ("FERRY_MAX_RETRY_WAIT_SECONDS", "longest single wait before a retry (default 120)"),
    ("FERRY_RUN_MAX_REQUESTS", "HTTP requests per sync run (default 1000000)"),
    (
        "FERRY_RATE_WINDOW_SECONDS",
        "count rate limits over this window, the allowance scaled to it (default: the PSA's published window)",
    ),
];

impl Limits {
    /// Defaults overridden by `FERRY_*` environment variables.
    pub fn from_env() -> Result<Limits, LimitError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Limits, LimitError> {
        let mut l = Limits::default();
        let num = |var: &'static str| -> Result<Option<u64>, LimitError> {
            match get(var) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0 || var == "FERRY_HTTP_MAX_RETRIES")
                    .map(Some)
                    .ok_or(LimitError { var, value: v, what: "positive whole number" }),
            }
        };
        if let Some(n) = num("FERRY_CPU_SECONDS")? {
            l.cpu_per_call = Duration::from_secs(n);
        }
        if let Some(n) = num("FERRY_CALL_TIMEOUT_SECONDS")? {
            l.call_timeout = Duration::from_secs(n);
        }
        if let Some(n) = num("FERRY_MEMORY_MB")? {
            l.memory_bytes = (n as usize).saturating_mul(1024 * 1024);
        }
        if let Some(n) = num("FERRY_PAGE_MAX_RECORDS")? {
            l.page_records = n as usize;
        }
        if let Some(n) = num("FERRY_RUN_MAX_RECORDS")? {
            l.run_records = n;
        }
        if let Some(n) = num("FERRY_STREAM_MAX_PAGES")? {
            l.stream_pages = n;
        }
        if let Some(n) = num("FERRY_RUN_MAX_SECONDS")? {
            l.run_max = Duration::from_secs(n);
        }
        if let Some(n) = num("FERRY_DAEMON_CONCURRENCY")? {
            l.daemon_concurrency = n.min(256) as usize;
        }
        if let Some(n) = num("FERRY_HTTP_TIMEOUT_SECONDS")? {
            l.http.timeout = Duration::from_secs(n);
        }
        if let Some(n) = num("FERRY_RESPONSE_MAX_MB")? {
            l.http.max_response_bytes = n.saturating_mul(1024 * 1024);
        }
        if let Some(n) = num("FERRY_HTTP_MAX_RETRIES")? {
            l.http.max_retries = n.min(20) as u32;
        }
        if let Some(n) = num("FERRY_RETRY_BASE_MS")? {
            l.http.retry_base = Duration::from_millis(n);
        }
        if let Some(n) = num("FERRY_MAX_RETRY_WAIT_SECONDS")? {
            l.http.max_retry_wait = Duration::from_secs(n);
        }
        if let Some(n) = num("FERRY_RUN_MAX_REQUESTS")? {
            l.http.request_budget = n;
        }
        if let Some(n) = num("FERRY_RATE_WINDOW_SECONDS")? {
            l.http.rate_window = Some(Duration::from_secs(n));
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_errors() {
        let l = Limits::from_lookup(|k| match k {
            "FERRY_MEMORY_MB" => Some("64".into()),
            "FERRY_HTTP_MAX_RETRIES" => Some("0".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(l.memory_bytes, 64 * 1024 * 1024);
        assert_eq!(l.http.max_retries, 0);
        assert_eq!(l.cpu_per_call, Duration::from_secs(10));
        let err = Limits::from_lookup(|k| (k == "FERRY_CPU_SECONDS").then(|| "ten".into())).unwrap_err();
        assert_eq!(err.var, "FERRY_CPU_SECONDS");
        assert!(Limits::from_lookup(|k| (k == "FERRY_CPU_SECONDS").then(|| "0".into())).is_err());
    }

    #[test]
    fn every_variable_is_documented() {
        // Each variable read above appears in ENV_VARS (checked by name).
        let src = include_str!("limits.rs");
        for line in src.lines().filter(|l| l.contains("num(\"FERRY_")) {
            let var = line.split('"').nth(1).unwrap_or_default();
            assert!(ENV_VARS.iter().any(|(v, _)| *v == var), "{var} missing from ENV_VARS");
        }
    }
}
