//! Per-call store state and the host side of the imports Ferry grants
//! (`ferry:connector/http`, `ferry:connector/log`, WASI with an empty
//! context).
//!
//! The state also records *why* the host stopped a call — the CPU budget
//! (epoch callback), the memory or table limit (its own [`Limiter`]), and
//! whether the guest was inside a host call (HTTP, a WASI sleep or poll)
//! when the wall deadline passed — so a failed call is explained from what
//! the host knows, not guessed from trap text.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{CallHook, ResourceLimiter, StoreLimits};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::Waiting;
use super::guest_clock::{GuestClock, Outermost};
use super::http::{HttpFailure, HttpGate, OutboundRequest, OutboundResponse};
use crate::secrets::Redactor;

/// Longest connector log line kept (bytes, after redaction).
const MAX_LOG_LINE: usize = 4096;
/// Log lines one run (one session, all its calls) may emit; after that,
/// lines are counted and dropped, and one line says how many.
pub(super) const LOG_BUDGET_LINES: u64 = 5_000;
/// Bytes of log text one run may emit.
pub(super) const LOG_BUDGET_BYTES: u64 = 1024 * 1024;
/// Bytes of guest stderr kept (panic messages and tracebacks land there).
pub(super) const STDERR_CAPACITY: usize = 64 * 1024;

/// Why the epoch callback stopped a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Interruption {
    Cpu,
}

/// A limit the guest ran into, as the limiter saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LimitHit {
    Memory { desired: usize },
    Table { desired: usize },
}

/// wasmtime's [`StoreLimits`], plus a record of the growth it refused.
pub(super) struct Limiter {
    inner: StoreLimits,
    pub(super) hit: Option<LimitHit>,
}

impl Limiter {
    pub(super) fn new(inner: StoreLimits) -> Self {
        Limiter { inner, hit: None }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let verdict = self.inner.memory_growing(current, desired, maximum);
        if !matches!(verdict, Ok(true)) {
            self.hit = Some(LimitHit::Memory { desired });
        }
        verdict
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.hit.get_or_insert(LimitHit::Memory { desired: 0 });
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let verdict = self.inner.table_growing(current, desired, maximum);
        if !matches!(verdict, Ok(true)) {
            self.hit = Some(LimitHit::Table { desired });
        }
        verdict
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.hit.get_or_insert(LimitHit::Table { desired: 0 });
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// The connector log budget of one run, shared by its calls.
#[derive(Debug, Default)]
pub(super) struct LogBudget {
    lines: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
}

impl LogBudget {
    /// May a line of `len` bytes be logged? Counts it as dropped if not.
    pub(super) fn take(&self, len: usize) -> bool {
        let lines = self.lines.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.bytes.fetch_add(len as u64, Ordering::Relaxed) + len as u64;
        if lines > LOG_BUDGET_LINES || bytes > LOG_BUDGET_BYTES {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Whether the guest is inside a host call right now, readable from outside
/// the store: when the wall deadline passes, the host reads it before it
/// drops the call (dropping unwinds the host call and clears it).
#[derive(Debug, Default)]
pub(super) struct Whereabouts {
    /// Nanoseconds after the call started that the outermost host call
    /// began, plus one; 0 while the guest runs its own code.
    host_since: AtomicU64,
    in_http: AtomicBool,
}

impl Whereabouts {
    /// What the guest was doing, `call_started` being when its call began.
    pub(super) fn waiting(&self, call_started: Instant) -> Waiting {
        let since = self.host_since.load(Ordering::SeqCst);
        if since == 0 {
            return Waiting::Computing;
        }
        let entered = Duration::from_nanos(since - 1);
        let waited = call_started.elapsed().saturating_sub(entered);
        if self.in_http.load(Ordering::SeqCst) { Waiting::Http(waited) } else { Waiting::Sleeping(waited) }
    }
}

pub struct HostState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limiter: Limiter,
    pub(super) gate: Arc<HttpGate>,
    pub(super) redactor: Arc<Redactor>,
    pub(super) label: String,
    pub(super) stderr: MemoryOutputPipe,
    /// The call's own time, apart from the host's (the CPU budget counts
    /// only the guest's work).
    pub(super) clock: GuestClock,
    pub(super) whereabouts: Arc<Whereabouts>,
    pub(super) cpu_budget: Duration,
    pub(super) interrupted: Option<Interruption>,
    pub(super) log_budget: Arc<LogBudget>,
    /// The connector's `state` store (contract 0.3), shared by the session's
    /// calls.
    pub(super) state: Arc<super::state::ConnectorState>,
}

impl HostState {
    pub(super) fn guest_time(&self) -> Duration {
        self.clock.guest_time(Instant::now())
    }

    /// Track time spent outside the guest (wasmtime's call hook).
    pub(super) fn transition(&mut self, hook: CallHook) {
        match self.clock.transition(hook, Instant::now()) {
            Some(Outermost::Entered(at)) => {
                let offset = at.duration_since(self.clock.started()).as_nanos() as u64;
                self.whereabouts.host_since.store(offset + 1, Ordering::SeqCst);
            }
            Some(Outermost::Left) => self.whereabouts.host_since.store(0, Ordering::SeqCst),
            None => {}
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl HostState {
    /// The host side of `http.send`, shared by every contract version.
    pub(super) async fn http_send(&mut self, outbound: OutboundRequest) -> Result<OutboundResponse, HttpFailure> {
        self.whereabouts.in_http.store(true, Ordering::SeqCst);
        let result = self.gate.send_on_task(outbound).await;
        self.whereabouts.in_http.store(false, Ordering::SeqCst);
        result.map_err(|failure| self.scrubbed(failure))
    }

    /// The host side of `http.send-batch` (contract 0.4): the requests sent
    /// concurrently by the gate, within the integration's limits, each
    /// answered as [`HostState::http_send`] would.
    pub(super) async fn http_send_batch(
        &mut self,
        requests: Vec<OutboundRequest>,
    ) -> Vec<Result<OutboundResponse, HttpFailure>> {
        self.whereabouts.in_http.store(true, Ordering::SeqCst);
        let results = self.gate.send_batch(requests).await;
        self.whereabouts.in_http.store(false, Ordering::SeqCst);
        results.into_iter().map(|r| r.map_err(|failure| self.scrubbed(failure))).collect()
    }

    /// A failure as the connector may see it: secrets masked, logged at
    /// debug.
    fn scrubbed(&self, failure: HttpFailure) -> HttpFailure {
        let shown = crate::text::visible(&self.redactor.redact(&failure.to_string())).into_owned();
        tracing::debug!(connector = %self.label, error = %shown, "http failure");
        match failure {
            HttpFailure::InvalidUrl(why) => HttpFailure::InvalidUrl(self.redactor.redact(&why)),
            HttpFailure::Unreachable(why) => HttpFailure::Unreachable(self.redactor.redact(&why)),
            HttpFailure::Other(why) => HttpFailure::Other(self.redactor.redact(&why)),
            other => other,
        }
    }

    /// The host side of `log.emit`: scrubbed, then cut, then shown safely
    /// (a newline in a message cannot forge a log line), within the run's
    /// budget.
    pub(super) fn log_emit(&mut self, level: tracing::Level, message: &str) {
        let redacted = self.redactor.redact(message);
        let capped = crate::text::cap_bytes(&redacted, MAX_LOG_LINE);
        if !self.log_budget.take(capped.len()) {
            return;
        }
        let text = crate::text::visible(&capped);
        let connector = self.label.as_str();
        match level {
            tracing::Level::TRACE => tracing::trace!(target: "ferry::connector", connector, "{text}"),
            tracing::Level::DEBUG => tracing::debug!(target: "ferry::connector", connector, "{text}"),
            tracing::Level::INFO => tracing::info!(target: "ferry::connector", connector, "{text}"),
            tracing::Level::WARN => tracing::warn!(target: "ferry::connector", connector, "{text}"),
            _ => tracing::error!(target: "ferry::connector", connector, "{text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_budget_is_per_run_and_counts_what_it_drops() {
        let budget = LogBudget::default();
        for _ in 0..LOG_BUDGET_LINES {
            assert!(budget.take(10));
        }
        assert!(!budget.take(10));
        assert!(!budget.take(10));
        assert_eq!(budget.dropped(), 2);
        let bytes = LogBudget::default();
        assert!(bytes.take(LOG_BUDGET_BYTES as usize));
        assert!(!bytes.take(1));
    }
}
