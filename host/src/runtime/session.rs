//! Calling a connector on behalf of one integration.
//!
//! Every call gets a fresh instance (≈ tens of µs from the pre-linked
//! component), so memory a call leaks or corrupts is gone with it and a trap
//! never poisons the next call. The integration's grants (allowlist, rate
//! limiter, request budget) live in the shared [`HttpGate`] and outlive the
//! calls; the call's limits are re-armed for each call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimitsBuilder, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::allowlist::Allowlist;
use super::host::{
    HostState, Interruption, LOG_BUDGET_BYTES, LOG_BUDGET_LINES, LimitHit, Limiter, LogBudget, STDERR_CAPACITY,
    Whereabouts,
};
use super::http::{HttpGate, HttpStats};
use super::pacer::{KeptWindow, WindowKeeper};
use super::state::{ConnectorState, StateBackend, StateMap};
use super::wit::{self, Connector, ConnectorPre};
use super::{Runtime, RuntimeError};
use crate::model::{self, RateLimit, StreamId};
use crate::secrets::Redactor;
use crate::text::{self, ERROR_BYTES};

/// Most facts, warnings or notices kept from one connector answer.
const MAX_LIST: usize = 100;
/// Longest fact label kept (bytes).
const MAX_LABEL: usize = 200;

/// What a session is allowed and given.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    /// Name used in logs and errors (integration name or connector id).
    pub label: String,
    /// `label` names an integration (not a connector): errors then say
    /// "the connector of integration `NAME`", so an operator is not sent
    /// looking for a connector of that name.
    pub integration: bool,
    /// Resolved config, secrets included, passed to the connector.
    pub config: Vec<(String, String)>,
    /// Secret values to scrub from anything the connector says.
    pub secrets: Vec<String>,
    /// Host templates from the connector's `info()`; expanded over `config`.
    pub allowed_hosts: Vec<String>,
    pub rate_limit: Option<RateLimit>,
    /// Requests of this integration in flight at once, a batch's included
    /// (the integration's `concurrency` option); unset:
    /// [`super::http::DEFAULT_IN_FLIGHT`].
    pub in_flight: Option<usize>,
    /// The connector's `state` store as kept for the integration, and where
    /// changes go; by default empty and kept in memory for this session only.
    pub state: SessionState,
    /// The rate window an earlier run left, and where this session's
    /// changes go; by default the window starts empty and is not kept.
    pub pacing: SessionPacing,
    /// Raised when the run is asked to stop: requests not yet sent are not
    /// sent (see `HttpFailure::Stopped`).
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// Opens the keeper a session's pacer hands its window to.
pub type KeeperFactory = Arc<dyn Fn() -> WindowKeeper + Send + Sync>;

/// A session's starting rate window and where it is kept (see
/// [`super::pacer`]).
#[derive(Clone, Default)]
pub struct SessionPacing {
    pub kept: Option<KeptWindow>,
    pub keeper: Option<KeeperFactory>,
}

impl std::fmt::Debug for SessionPacing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPacing").field("kept", &self.kept).field("keeper", &self.keeper.is_some()).finish()
    }
}

/// A session's starting state and where it is kept.
#[derive(Clone, Default)]
pub struct SessionState {
    pub initial: StateMap,
    pub backend: Option<Arc<dyn StateBackend>>,
}

impl std::fmt::Debug for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are secrets: say only how many there are.
        write!(f, "SessionState({} entries, kept: {})", self.initial.len(), self.backend.is_some())
    }
}

impl SessionConfig {
    /// No config, no network: for `info()` at install time.
    pub fn anonymous() -> Self {
        SessionConfig { label: "(inspecting)".into(), ..Default::default() }
    }
}

pub struct Session<'r> {
    runtime: &'r Runtime,
    pre: ConnectorPre,
    gate: Arc<HttpGate>,
    redactor: Arc<Redactor>,
    config: Vec<(String, String)>,
    label: String,
    /// How errors name what ran: "connector `ID`" or "the connector of
    /// integration `NAME`".
    named: String,
    /// Connector log lines of this session (one sync run) share a budget.
    log_budget: Arc<LogBudget>,
    state: Arc<ConnectorState>,
    /// The connector imports `state`: its calls may share what one of them
    /// keeps there (a token).
    uses_state: bool,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let dropped = self.log_budget.dropped();
        if dropped > 0 {
            tracing::warn!(
                connector = %self.label,
                "{dropped} connector log lines were dropped: over this run's budget of {LOG_BUDGET_LINES} lines or {} KiB",
                LOG_BUDGET_BYTES / 1024
            );
        }
    }
}

type CallResult<T> = Result<T, RuntimeError>;

impl<'r> Session<'r> {
    pub(super) fn new(
        runtime: &'r Runtime,
        pre: ConnectorPre,
        uses_state: bool,
        config: SessionConfig,
    ) -> Result<Self, RuntimeError> {
        let map: HashMap<String, String> = config.config.iter().cloned().collect();
        let named = if config.integration {
            format!("the connector of integration `{}`", config.label)
        } else {
            format!("connector `{}`", config.label)
        };
        let allowlist = Allowlist::expand(&config.allowed_hosts, &map)
            .map_err(|source| RuntimeError::Allowlist { connector: named.clone(), source })?;
        let state = ConnectorState::new(&config.label, config.state.initial, config.state.backend);
        let redactor = Arc::new(Redactor::new(config.secrets));
        // What the connector keeps in state is a secret too (its tokens).
        redactor.learn(state.values());
        // The request log masks with the same redactor, so state values
        // learned during a call are masked in logged URLs too.
        let gate = HttpGate::new(runtime.client.clone(), allowlist, config.rate_limit, runtime.limits.http.clone())
            .with_redactor(redactor.clone())
            .with_in_flight(config.in_flight.unwrap_or(super::http::DEFAULT_IN_FLIGHT))
            .with_kept_window(config.pacing.kept.as_ref(), config.pacing.keeper.as_ref().map(|open| open()))
            .with_stop(config.stop.clone());
        Ok(Session {
            runtime,
            pre,
            gate: Arc::new(gate),
            redactor,
            config: config.config,
            label: config.label,
            named,
            log_budget: Arc::new(LogBudget::default()),
            state: Arc::new(state),
            uses_state,
        })
    }

    /// Whether a call may keep something for the next ones (a token in
    /// `state`): then a run's first call goes alone, so the others find it
    /// instead of each fetching their own. A connector that does not import
    /// `state` cannot share anything, and its calls start together.
    pub fn calls_may_share_state(&self) -> bool {
        self.uses_state
    }

    pub fn http_stats(&self) -> HttpStats {
        self.gate.stats()
    }

    /// This session's outbound requests, secrets removed (the first
    /// [`super::http::KEPT_REQUESTS`]).
    pub fn request_log(&self) -> Vec<super::http::RequestRecord> {
        self.gate.request_log()
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub async fn info(&mut self) -> CallResult<model::ConnectorInfo> {
        let info = self.call(async |c: &Connector, store: &mut Store<HostState>| c.call_info(store).await).await?;
        Ok(info.into())
    }

    pub async fn validate_config(
        &mut self,
        config: Vec<(String, String)>,
    ) -> CallResult<Result<model::ValidatedConfig, model::ConnectorError>> {
        let answer = self
            .call(async |c: &Connector, store: &mut Store<HostState>| c.call_validate_config(store, &config).await)
            .await?;
        Ok(answer
            .map(|v| {
                let mut v = model::ValidatedConfig::from(v);
                v.notices.truncate(MAX_LIST);
                v.notices = v.notices.iter().map(|n| self.redactor.gate(n, ERROR_BYTES)).collect();
                v
            })
            .map_err(|e| self.scrub(validate_config_error(e))))
    }

    pub async fn check(&mut self) -> CallResult<Result<model::CheckReport, model::ConnectorError>> {
        let config = &self.config;
        let answer = self
            .call_renewing(async |c: &Connector, store: &mut Store<HostState>| c.call_check(store, config).await)
            .await?;
        Ok(answer.map(|report| self.scrub_report(report.into())).map_err(|e| self.scrub(e.into())))
    }

    /// Read one page of a stream: one of the seven kinds, or (contract
    /// 0.3+) an extra stream by name, whose records come back as
    /// `Record::Item`. A page of another stream's records is refused (an
    /// empty one is harmless). Takes `&self`: a sync reads several streams
    /// at once through one session, so they share its pacer and request
    /// budget.
    pub async fn read(
        &self,
        stream: &StreamId,
        cursor: Option<String>,
        since: Option<String>,
    ) -> CallResult<Result<model::Page, model::ConnectorError>> {
        let asked = match stream {
            StreamId::Kind(kind) => wit::latest::StreamRef::Kind((*kind).into()),
            StreamId::Extra(name) => wit::latest::StreamRef::Extra(name.clone()),
        };
        let config = &self.config;
        let answer = self
            .call_renewing(async |c: &Connector, store: &mut Store<HostState>| {
                c.call_read(store, config, asked.clone(), cursor.as_deref(), since.as_ref()).await
            })
            .await?;
        let (kind, page) = match answer {
            Err(e) => return Ok(Err(self.scrub(e.into()))),
            Ok(page) => wit::latest::page_into_model(page),
        };
        if kind != stream.kind() && !page.records.is_empty() {
            let got = kind.map(|k| k.as_str()).unwrap_or("items");
            return Err(self.wrong_stream(&stream.to_string(), got));
        }
        self.check_size(page.records.len())?;
        Ok(Ok(page))
    }

    fn wrong_stream(&self, asked: &str, got: &str) -> RuntimeError {
        RuntimeError::WrongStream { connector: self.named.clone(), asked: asked.to_string(), got: got.to_string() }
    }

    fn check_size(&self, records: usize) -> CallResult<()> {
        let limit = self.runtime.limits.page_records;
        if records > limit {
            return Err(RuntimeError::PageTooLarge { connector: self.named.clone(), records, limit });
        }
        Ok(())
    }

    /// A call that may end in `token-expired` (contract 0.3): the
    /// connector's state is cleared and the call made once more; a second
    /// `token-expired` is a refusal of the credentials (`unauthorized`).
    async fn call_renewing<T>(
        &self,
        export: impl AsyncFn(&Connector, &mut Store<HostState>) -> wasmtime::Result<Result<T, wit::latest::ConnectorError>>,
    ) -> CallResult<Result<T, wit::latest::ConnectorError>> {
        use wit::latest::ConnectorError as E;
        match self.call(&export).await? {
            Err(E::TokenExpired(detail)) => {
                tracing::info!(
                    connector = %self.label,
                    "the connector's token expired ({}); its state is cleared and the call retried once",
                    self.redactor.gate(&detail, ERROR_BYTES)
                );
                self.state.clear();
                Ok(match self.call(&export).await? {
                    Err(E::TokenExpired(detail)) => Err(E::Unauthorized(format!(
                        "a fresh token was refused as expired too, so the credentials no longer work: {detail}"
                    ))),
                    other => other,
                })
            }
            other => Ok(other),
        }
    }

    /// A check report as it may be printed and stored: secrets masked,
    /// then every text capped, and at most [`MAX_LIST`] facts/warnings.
    fn scrub_report(&self, mut report: model::CheckReport) -> model::CheckReport {
        let gate = |s: &str, max: usize| self.redactor.gate(s, max);
        report.facts.truncate(MAX_LIST);
        report.warnings.truncate(MAX_LIST);
        model::CheckReport {
            summary: gate(&report.summary, ERROR_BYTES),
            facts: report
                .facts
                .iter()
                .map(|f| model::Field { label: gate(&f.label, MAX_LABEL), value: gate(&f.value, ERROR_BYTES) })
                .collect(),
            warnings: report.warnings.iter().map(|w| gate(w, ERROR_BYTES)).collect(),
        }
    }

    /// Scrub secrets from the connector's own error text, then cap it.
    fn scrub(&self, e: model::ConnectorError) -> model::ConnectorError {
        use model::ConnectorError as E;
        let r = |s: String| self.redactor.gate(&s, ERROR_BYTES);
        match e {
            E::Unauthorized { detail } => E::Unauthorized { detail: r(detail) },
            E::Forbidden { resource, permission, detail } => {
                E::Forbidden { resource: r(resource), permission: permission.map(r), detail: r(detail) }
            }
            E::NotFound { detail } => E::NotFound { detail: r(detail) },
            E::Unreachable { detail } => E::Unreachable { detail: r(detail) },
            E::Timeout { detail } => E::Timeout { detail: r(detail) },
            E::InvalidConfig { field, reason } => E::InvalidConfig { field: r(field), reason: r(reason) },
            E::BadResponse { detail } => E::BadResponse { detail: r(detail) },
            E::Other { detail } => E::Other { detail: r(detail) },
            other => other,
        }
    }

    /// Run one guest call — `export`, given a fresh instance and its store —
    /// under the call limits. The answer is in the newest contract's types,
    /// whatever version the component implements.
    async fn call<T>(
        &self,
        export: impl AsyncFnOnce(&Connector, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> CallResult<T> {
        let limits = &self.runtime.limits;
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // No preopens, no env, no args; sockets may not resolve or connect.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let whereabouts = Arc::new(Whereabouts::default());
        let call_started = Instant::now();
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(
                StoreLimitsBuilder::new()
                    .memory_size(limits.memory_bytes)
                    .instances(16)
                    .tables(64)
                    .memories(4)
                    .trap_on_grow_failure(true)
                    .build(),
            ),
            gate: self.gate.clone(),
            redactor: self.redactor.clone(),
            label: self.label.clone(),
            stderr,
            clock: super::guest_clock::GuestClock::new(call_started),
            whereabouts: whereabouts.clone(),
            cpu_budget: limits.cpu_per_call,
            interrupted: None,
            log_budget: self.log_budget.clone(),
            state: self.state.clone(),
        };
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.call_hook(|mut ctx, hook| {
            ctx.data_mut().transition(hook);
            Ok(())
        });
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            if state.guest_time() > state.cpu_budget {
                state.interrupted = Some(Interruption::Cpu);
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Yield(1))
        });

        let label = self.named.clone();
        let timeout = limits.call_timeout;
        let memory_mib = limits.memory_bytes / (1024 * 1024);
        let cpu = limits.cpu_per_call;
        let run = async {
            let instance = self.pre.instantiate(&mut store).await.map_err(|e| RuntimeError::Instantiate {
                connector: label.clone(),
                message: self.redactor.gate(&super::root_cause(&e), ERROR_BYTES),
            })?;
            export(&instance, &mut store)
                .await
                .map_err(|e| classify_trap(&e, &CallFacts::of(store.data()), &label, memory_mib, cpu, &self.redactor))
        };
        tokio::pin!(run);
        tokio::select! {
            biased;
            result = &mut run => result,
            // Read where the guest stands while the call still exists;
            // dropping it unwinds whatever host call it was in.
            _ = tokio::time::sleep(timeout) => Err(RuntimeError::CallTimeout {
                connector: label.clone(),
                limit: timeout,
                waiting: whereabouts.waiting(call_started),
            }),
        }
    }
}

/// What the host itself recorded during a call that failed: the only
/// inputs, besides the trap code and backtrace, that decide what the
/// failure was. Text (wasmtime's message, the guest's stderr) is only shown.
struct CallFacts {
    /// Set by the epoch callback when the CPU budget ran out.
    interrupted: Option<Interruption>,
    /// Set by the host's [`Limiter`] when it refused a memory or table growth.
    limit_hit: Option<LimitHit>,
    stderr: Vec<u8>,
}

impl CallFacts {
    fn of(state: &HostState) -> Self {
        CallFacts {
            interrupted: state.interrupted,
            limit_hit: state.limiter.hit,
            stderr: state.stderr.contents().to_vec(),
        }
    }
}

/// Turn a failed guest call into the error an operator can act on, from
/// what the host recorded (its CPU interruption, its limiter, the guest's
/// exit status, the trap code and backtrace), not from the trap's text. The
/// guest's stderr (a panic message, a Python traceback) is kept, redacted
/// first and then capped.
fn classify_trap(
    e: &wasmtime::Error,
    state: &CallFacts,
    label: &str,
    memory_mib: usize,
    cpu: std::time::Duration,
    redactor: &Redactor,
) -> RuntimeError {
    let connector = label.to_string();
    if state.interrupted == Some(Interruption::Cpu) {
        return RuntimeError::CpuLimit { connector, limit: cpu };
    }
    match state.limit_hit {
        Some(LimitHit::Memory { .. }) => return RuntimeError::MemoryLimit { connector, limit_mib: memory_mib },
        Some(LimitHit::Table { desired }) => return RuntimeError::TableLimit { connector, desired },
        None => {}
    }
    // The capture is capped, so it can end inside a secret: pieces at its
    // edges are masked too.
    let mut stderr = redactor.redact(&String::from_utf8_lossy(&state.stderr));
    redactor.mask_edges(&mut stderr);
    let stderr = stderr.trim();
    // What stderr adds to a message, within the error cap.
    let tail = |prefix: &str| {
        if stderr.is_empty() {
            String::new()
        } else {
            format!("{prefix}{}", text::cap_bytes_tail(stderr, ERROR_BYTES - 512))
        }
    };
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return RuntimeError::Exited { connector, code: exit.0, stderr: tail("; stderr: ") };
    }
    let trap = e.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::StackOverflow) || (trap == Some(Trap::MemoryOutOfBounds) && recursing(e)) {
        return RuntimeError::StackOverflow { connector, stderr: tail("; stderr: ") };
    }
    let what = match trap {
        Some(t) => t.to_string(),
        None => first_line(&e.root_cause().to_string()),
    };
    // Rust prints "thread '…' panicked at FILE:LINE:COL:" then the message.
    let lines: Vec<&str> = stderr.lines().collect();
    let panic = lines.iter().rposition(|l| l.contains("panicked")).map(|i| {
        let message = lines.get(i + 1).map(|m| m.trim()).filter(|m| !m.is_empty() && !m.starts_with("note:"));
        match message {
            Some(m) => format!("{} {m}", lines[i].trim()),
            None => lines[i].trim().to_string(),
        }
    });
    let message = match panic {
        Some(p) => format!("{what}; {p}"),
        None => format!("{what}{}", tail("; stderr: ")),
    };
    RuntimeError::Trap { connector, message: text::cap_bytes(&message, ERROR_BYTES).into_owned() }
}

/// Does the trap's backtrace show one function calling itself over and
/// over? A Rust guest that recurses too deep overruns its shadow stack in
/// linear memory, which faults as an out-of-bounds access rather than as
/// wasm's own stack overflow.
fn recursing(e: &wasmtime::Error) -> bool {
    let Some(backtrace) = e.downcast_ref::<wasmtime::WasmBacktrace>() else { return false };
    let frames = backtrace.frames();
    if frames.len() < 16 {
        return false;
    }
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for f in frames {
        *counts.entry(f.func_index()).or_default() += 1;
    }
    counts.values().max().is_some_and(|n| *n * 2 >= frames.len())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

/// A `validate-config` failure in Ferry's terms. `token-expired` there is
/// a connector bug, not a refusal of the credentials: validation may not
/// use the network, so no PSA refused any token.
fn validate_config_error(e: wit::latest::ConnectorError) -> model::ConnectorError {
    match e {
        wit::latest::ConnectorError::TokenExpired(detail) => model::ConnectorError::Other {
            detail: format!(
                "connector bug: validate-config answered token-expired, but it runs without network access, so no \
                 PSA refused a token ({detail})"
            ),
        },
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_expired_from_validate_config_is_a_connector_bug() {
        let e = validate_config_error(wit::latest::ConnectorError::TokenExpired("validate token expired".into()));
        assert!(matches!(e, model::ConnectorError::Other { .. }), "{e:?}");
        assert!(e.to_string().starts_with("connector bug") && !e.to_string().contains("refused the credentials"));
        assert!(e.hint().contains("connector's author"), "{}", e.hint());
    }

    fn classify(e: wasmtime::Error, facts: CallFacts) -> RuntimeError {
        classify_trap(&e, &facts, "probe", 64, std::time::Duration::from_secs(5), &Redactor::new(vec!["s3cret".into()]))
    }

    fn facts(interrupted: Option<Interruption>, limit_hit: Option<LimitHit>, stderr: &str) -> CallFacts {
        CallFacts { interrupted, limit_hit, stderr: stderr.as_bytes().to_vec() }
    }

    #[test]
    fn the_memory_limit_is_read_from_the_limiter_not_from_text() {
        // The limiter refused a growth: whatever the trap and stderr say.
        let e = wasmtime::Error::new(Trap::UnreachableCodeReached);
        let hit = Some(LimitHit::Memory { desired: 1 << 30 });
        assert!(matches!(classify(e, facts(None, hit, "")), RuntimeError::MemoryLimit { limit_mib: 64, .. }));
        // The guest claims an allocation failed, but the host refused
        // nothing: a plain trap, with the guest's words shown.
        let e = wasmtime::Error::new(Trap::UnreachableCodeReached);
        let stderr = "memory allocation of 1073741824 bytes failed\n";
        match classify(e, facts(None, None, stderr)) {
            RuntimeError::Trap { message, .. } => assert!(message.contains("memory allocation of"), "{message}"),
            other => panic!("expected a trap, got {other:?}"),
        }
    }

    #[test]
    fn the_cpu_limit_is_read_from_the_epoch_callback_not_from_the_trap_code() {
        let e = wasmtime::Error::new(Trap::Interrupt);
        assert!(matches!(classify(e, facts(None, None, "")), RuntimeError::Trap { .. }));
        let e = wasmtime::Error::msg("anything at all");
        let hit = Some(LimitHit::Memory { desired: 1 });
        assert!(matches!(classify(e, facts(Some(Interruption::Cpu), hit, "")), RuntimeError::CpuLimit { .. }));
        let e = wasmtime::Error::new(Trap::TableOutOfBounds);
        let hit = Some(LimitHit::Table { desired: 99 });
        assert!(matches!(classify(e, facts(None, hit, "")), RuntimeError::TableLimit { desired: 99, .. }));
    }

    #[test]
    fn stderr_shown_with_a_trap_is_redacted() {
        let e = wasmtime::Error::new(Trap::UnreachableCodeReached);
        match classify(e, facts(None, None, "token s3cret refused")) {
            RuntimeError::Trap { message, .. } => assert!(!message.contains("s3cret"), "{message}"),
            other => panic!("expected a trap, got {other:?}"),
        }
    }
}
