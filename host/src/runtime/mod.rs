//! The sandbox: everything that knows wasmtime.
//!
//! Owns the engine (Cranelift, epoch interruption), the compile cache, the
//! linker with exactly the imports Ferry grants, and per-call isolation: each
//! connector call runs in a fresh instance with its own memory cap, CPU budget
//! and wall-clock deadline, so a connector that traps, loops or leaks can
//! only fail its own call. Callers get Ferry's plain types ([`crate::model`])
//! and a [`RuntimeError`] that names the connector; nothing wasmtime leaks
//! out of this module.

pub mod allowlist;
pub mod cache;
mod guest_clock;
mod host;
pub mod http;
pub mod inspect;
pub mod limits;
pub mod pacer;
mod session;
pub mod state;
pub(crate) mod wit;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Linker;
use wasmtime::{Config, Engine};

pub use self::cache::CacheOutcome;
pub use self::host::HostState;
use self::inspect::NotAConnector;
pub use self::limits::Limits;
pub use self::session::{KeeperFactory, Session, SessionConfig, SessionPacing, SessionState};

/// How often the epoch ticks; CPU budgets and deadlines are checked at this
/// granularity, and a running guest yields to other tasks this often.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Guest frames kept in a trap's backtrace.
const BACKTRACE_FRAMES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("not a Ferry connector: {0}")]
    NotAConnector(#[from] NotAConnector),
    #[error("the WebAssembly engine could not start: {0}")]
    Engine(String),
    #[error("{connector} could not be instantiated: {message}")]
    Instantiate { connector: String, message: String },
    #[error("{connector} crashed (trap): {message}")]
    Trap { connector: String, message: String },
    #[error("{connector} used more than its CPU budget of {limit:?} in one call (an endless loop?)")]
    CpuLimit { connector: String, limit: Duration },
    #[error("{connector} did not finish a call within {limit:?}: {waiting}")]
    CallTimeout { connector: String, limit: Duration, waiting: Waiting },
    #[error("{connector} exceeded its memory limit of {limit_mib} MiB")]
    MemoryLimit { connector: String, limit_mib: usize },
    #[error("{connector} grew a table past the limit ({desired} elements)")]
    TableLimit { connector: String, desired: usize },
    #[error("{connector} exited (code {code}) instead of returning a result{stderr}")]
    Exited { connector: String, code: i32, stderr: String },
    #[error("{connector} ran out of stack (recursion too deep?){stderr}")]
    StackOverflow { connector: String, stderr: String },
    #[error("{connector} returned {records} records in one page; the limit is {limit}")]
    PageTooLarge { connector: String, records: usize, limit: usize },
    #[error("{connector} returned {got} records when asked for {asked}")]
    WrongStream { connector: String, asked: String, got: String },
    #[error("{connector}: {source}")]
    Allowlist {
        connector: String,
        #[source]
        source: allowlist::TemplateError,
    },
}

impl RuntimeError {
    /// The operator's next step (every runtime error has one; `Option` like
    /// the other error types, so callers pass it on as it is).
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            RuntimeError::NotAConnector(_) => {
                "install a `.wasm` component built for ferry:connector (see docs/writing-a-connector.md)".into()
            }
            RuntimeError::Engine(_) => "check the cache directory (FERRY_CACHE_DIR) is writable".into(),
            RuntimeError::CpuLimit { .. } | RuntimeError::CallTimeout { .. } => {
                "report it to the connector's author; limits can be raised with FERRY_CPU_SECONDS / FERRY_CALL_TIMEOUT_SECONDS".into()
            }
            RuntimeError::Exited { .. } => {
                "a connector must return its result or a connector-error, never exit: report it to the connector's author".into()
            }
            RuntimeError::StackOverflow { .. } => {
                "report it to the connector's author: it recurses too deep for this data".into()
            }
            RuntimeError::MemoryLimit { .. } | RuntimeError::TableLimit { .. } => {
                "report it to the connector's author; the limit can be raised with FERRY_MEMORY_MB".into()
            }
            RuntimeError::PageTooLarge { .. } => {
                "report it to the connector's author; the limit can be raised with FERRY_PAGE_MAX_RECORDS".into()
            }
            RuntimeError::Allowlist { .. } => {
                "fix the integration's config with `ferry integration set NAME KEY=VALUE`".into()
            }
            _ => "report it to the connector's author, with `RUST_LOG=debug` output".into(),
        })
    }
}

/// What a connector was doing when its call's wall-clock deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Running its own code.
    Computing,
    /// Inside `http.send` for this long.
    Http(Duration),
    /// Inside another host call — a WASI sleep or poll — for this long.
    Sleeping(Duration),
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Waiting::Computing => f.write_str("it was computing"),
            Waiting::Http(d) => write!(f, "it had been waiting {:.1} s for an HTTP response", d.as_secs_f64()),
            Waiting::Sleeping(d) => {
                write!(f, "it had been sleeping or waiting in a WASI call for {:.1} s (not computing)", d.as_secs_f64())
            }
        }
    }
}

/// A component that passed inspection, compiled and linked, ready to
/// instantiate (cheaply) per call.
#[derive(Clone)]
pub struct LoadedConnector {
    pub sha256: String,
    /// Contract version it implements, e.g. "0.2.0".
    pub contract: &'static str,
    pub cache: CacheOutcome,
    /// It imports `state`, so its calls may share a token (see
    /// [`inspect::imports_state`]).
    pub uses_state: bool,
    pre: wit::ConnectorPre,
}

impl std::fmt::Debug for LoadedConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedConnector").field("sha256", &self.sha256).field("contract", &self.contract).finish()
    }
}

/// Stops the epoch thread when the runtime goes away.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::CompileCache,
    limits: Limits,
    client: reqwest::Client,
    _ticker: EpochTicker,
}

impl Runtime {
    /// `cache_dir: None` compiles every time (no disk writes).
    pub fn new(cache_dir: Option<PathBuf>, limits: Limits) -> Result<Self, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        config.max_wasm_stack(2 * 1024 * 1024);
        // Enough frames to tell deep recursion from an ordinary fault.
        config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(BACKTRACE_FRAMES));
        let engine = Engine::new(&config).map_err(|e| RuntimeError::Engine(e.to_string()))?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        // Every contract version this host speaks: their import names differ
        // by version, so they live side by side.
        wit::link(&mut linker).map_err(|e| RuntimeError::Engine(e.to_string()))?;

        let stop = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.weak();
        let ticker_stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name("ferry-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticker_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| RuntimeError::Engine(format!("epoch thread: {e}")))?;

        let client = http::HttpGate::build_client(&limits.http).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        let cache = cache::CompileCache::new(&engine, cache_dir);
        Ok(Runtime { engine, linker, cache, limits, client, _ticker: EpochTicker { stop, handle: Some(handle) } })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Inspect, compile (or load from cache) and link a component.
    pub fn load(&self, bytes: &[u8]) -> Result<LoadedConnector, RuntimeError> {
        inspect::check_bytes(bytes)?;
        let sha256 = sha256_hex(bytes);
        let (component, outcome) =
            self.cache.load(&self.engine, bytes, &sha256).map_err(|e| NotAConnector::Invalid(root_cause(&e)))?;
        let contract = inspect::contract_version(&self.engine, &component)?;
        let uses_state = inspect::imports_state(&self.engine, &component);
        let pre = self.linker.instantiate_pre(&component).map_err(|e| NotAConnector::Invalid(root_cause(&e)))?;
        let pre = wit::ConnectorPre::new(contract, pre).map_err(|e| NotAConnector::Invalid(root_cause(&e)))?;
        Ok(LoadedConnector { sha256, contract, cache: outcome, uses_state, pre })
    }

    /// A session for calls with one integration's config and grants.
    pub fn session(&self, connector: &LoadedConnector, config: SessionConfig) -> Result<Session<'_>, RuntimeError> {
        Session::new(self, connector.pre.clone(), connector.uses_state, config)
    }

    /// `info()` with no config and no network.
    pub async fn describe(&self, connector: &LoadedConnector) -> Result<crate::model::ConnectorInfo, RuntimeError> {
        let mut session = self.session(connector, SessionConfig::anonymous())?;
        session.info().await
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The innermost message of a wasmtime error chain, which is the useful one.
fn root_cause(e: &wasmtime::Error) -> String {
    let mut msgs: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    msgs.dedup();
    msgs.join(": ")
}
