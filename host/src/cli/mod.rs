//! The `ferry` command line: argument parsing, terminal and JSON output,
//! exit codes. The only module that knows clap and the terminal; commands
//! call the library and print what it returns.

mod args;
mod commands;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use self::args::Cli;
use self::output::Out;
use crate::registry;
use crate::runtime::{Limits, Runtime};
use crate::store::Store;

/// Exit codes (documented in README and `--help`).
pub mod exit {
    pub const OK: u8 = 0;
    /// The command failed before changing anything (bad input, not found).
    pub const ERROR: u8 = 1;
    /// A sync or connection test failed (credentials, network, connector).
    pub const FAILED: u8 = 3;
    /// A sync finished partially (some streams failed).
    pub const PARTIAL: u8 = 4;
    /// Another sync of the integration is running.
    pub const BUSY: u8 = 5;
}

/// A failure as the operator sees it: one line of cause, one of next step.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
    pub code: u8,
}

impl Failure {
    pub fn new(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Failure { message: message.into(), hint: hint.into(), code: exit::ERROR }
    }

    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }
}

macro_rules! failure_from {
    ($($t:ty => $hint:expr),* $(,)?) => {
        $(impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                #[allow(clippy::redundant_closure_call)]
                let hint: Option<String> = ($hint)(&e);
                Failure { message: e.to_string(), hint, code: exit::ERROR }
            }
        })*
    };
}

failure_from! {
    crate::store::StoreError => |e: &crate::store::StoreError| e.hint(),
    crate::registry::RegistryError => |e: &crate::registry::RegistryError| e.hint(),
    crate::integrations::IntegrationError => |e: &crate::integrations::IntegrationError| e.hint(),
    crate::curation::CurationError => |e: &crate::curation::CurationError| e.hint(),
    crate::sync::SyncError => |e: &crate::sync::SyncError| e.hint(),
    crate::settings::SettingsError => |e: &crate::settings::SettingsError| e.hint(),
    crate::console::ServeError => |e: &crate::console::ServeError| e.hint(),
    crate::runtime::RuntimeError => |e: &crate::runtime::RuntimeError| e.hint(),
    crate::runtime::limits::LimitError => |_: &crate::runtime::limits::LimitError| Some("see `ferry limits` for the accepted values".to_string()),
    crate::secrets::SecretError => |e: &crate::secrets::SecretError| Some(e.hint()),
    std::io::Error => |_: &std::io::Error| None,
}

/// Shared state of one command: the open database and the sandbox.
pub struct App {
    pub store: Store,
    pub runtime: Runtime,
    pub out: Out,
}

impl App {
    pub async fn open(db: &std::path::Path, out: Out) -> Result<App, Failure> {
        let limits = Limits::from_env()?;
        let mut store = Store::open(db)?;
        let runtime = Runtime::new(cache_dir(), limits)?;
        registry::ensure_bundled(&mut store, &runtime).await?;
        Ok(App { store, runtime, out })
    }

    /// For commands that only read: the database opened read-only, so they
    /// work on a read-only file or folder and cannot write by mistake. A
    /// database that does not exist yet, or misses a bundled connector this
    /// binary carries, is opened for writing instead when it can be written
    /// (the bundled install is the only write a read command may need);
    /// otherwise the read goes on with what is installed.
    pub async fn open_read_only(db: &std::path::Path, out: Out) -> Result<App, Failure> {
        if !db.exists() {
            return App::open(db, out).await;
        }
        let limits = Limits::from_env()?;
        let store = match Store::open_read_only(db) {
            Ok(store) => store,
            // Older tables: upgrading them is a write; try it. So is
            // recovering the WAL a killed writer left behind.
            Err(crate::store::StoreError::NeedsUpgrade { .. } | crate::store::StoreError::Open { .. })
                if writable(db) =>
            {
                return App::open(db, out).await;
            }
            Err(e) => return Err(e.into()),
        };
        // A bundled connector to install, or secrets from before they were
        // sealed: the one write a read command may do, when it can.
        let stale = !registry::bundled_current(&store)? || store.read().has_plain_secrets()?;
        if stale && writable(db) {
            drop(store);
            return App::open(db, out).await;
        }
        let runtime = Runtime::new(cache_dir(), limits)?;
        Ok(App { store, runtime, out })
    }
}

/// Can this process write the file (without changing it)?
fn writable(path: &std::path::Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_ok()
}

/// Where the database lives when neither --db nor FERRY_DB says.
pub fn default_db_path() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("ferry").join("ferry.db")
}

/// Compiled-connector cache: FERRY_CACHE_DIR, else the user's cache dir.
/// `FERRY_CACHE_DIR=off` disables it.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("FERRY_CACHE_DIR") {
        Some(v) if v == "off" => None,
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => dirs::cache_dir().map(|d| d.join("ferry").join("compiled")),
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},cranelift=warn,wasmtime=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour(std::io::IsTerminal::is_terminal(&std::io::stderr()), std::env::var_os("NO_COLOR")))
        .try_init();
}

/// Colour log lines only for a person at a terminal: not in a pipe or
/// journald, and never when NO_COLOR is set (to anything but the empty
/// string, per no-color.org).
fn colour(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Entry point of the `ferry` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let out = Out::new(cli.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            out.failure(&Failure::new(format!("cannot start the async runtime: {e}"), None));
            return ExitCode::from(exit::ERROR);
        }
    };
    let code = runtime.block_on(commands::run(cli, out.clone()));
    match code {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            out.failure(&failure);
            ExitCode::from(failure.code)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(super::colour(true, None));
        assert!(!super::colour(false, None));
        assert!(!super::colour(true, Some("1".into())));
        assert!(super::colour(true, Some("".into())));
    }
}
