//! SQLite storage: the only module that knows SQL.
//!
//! One file holds everything (connectors, integrations and their secrets,
//! the PSA mirror, run history, the documentation store), in WAL mode so a
//! daemon and CLI commands can share it, created with mode 0600 because it
//! holds credentials. Queries live in one submodule per table group; callers
//! get plain structs.

mod connectors;
mod docs;
mod integrations;
mod mirror;
mod runs;
mod schedules;
pub mod schema;
mod tickets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

pub use self::connectors::ConnectorRow;
pub use self::docs::{
    AssetFilter, AssetRow, CardRow, CardTarget, CompanyChange, CompanyLink, CompanyRow, LayoutRow, LinkState,
};
pub use self::integrations::{IntegrationRow, RemovalCounts};
pub use self::mirror::{MirrorRow, MirrorWrite, PageOutcome};
pub use self::runs::{RunRow, RunStatus, RunStreamRow, StreamState};
pub use self::schedules::{LockHolder, ScheduleRow};
pub use self::tickets::{TicketFilter, TicketRow, TicketWrite};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database at {path} was written by a newer Ferry (schema {found}, this Ferry knows up to {supported})")]
    NewerSchema { path: String, found: i64, supported: i64 },
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {message}")]
    Open { path: String, message: String },
    #[error("{what} `{name}` not found")]
    NotFound { what: &'static str, name: String },
    #[error("{what} `{name}` already exists")]
    Exists { what: &'static str, name: String },
    #[error("{what} name `{name}` is ambiguous: {}", candidates.join(", "))]
    Ambiguous { what: &'static str, name: String, candidates: Vec<String> },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::NewerSchema { .. } => {
                Some("upgrade Ferry, or point --db / FERRY_DB at another database".into())
            }
            StoreError::CreateDir { .. } | StoreError::Open { .. } => {
                Some("check the path given with --db / FERRY_DB exists and is writable".into())
            }
            StoreError::Sqlite(e) if e.to_string().contains("locked") || e.to_string().contains("busy") => {
                Some("another Ferry process holds the database; wait for it and try again".into())
            }
            StoreError::NotFound { what, .. } => Some(match *what {
                "integration" => "see `ferry integration list`".into(),
                "layout" => "see `ferry layout list`, or create it with `ferry layout add NAME`".into(),
                "company" => "see `ferry company list` (a company is named by its id or exact name)".into(),
                "asset" => "see `ferry asset list`".into(),
                "run" => "see `ferry runs`".into(),
                "schedule" => "see `ferry schedule NAME show`".into(),
                other => format!("check the {other} name"),
            }),
            StoreError::Exists { what, .. } => {
                Some(format!("choose another {what} name, or remove the existing one first"))
            }
            StoreError::Ambiguous { what, candidates, .. } => Some(format!(
                "name the {what} by its id instead, e.g. `{}`",
                candidates.first().and_then(|c| c.split_whitespace().next()).unwrap_or("#1")
            )),
            StoreError::Corrupt(_) => {
                Some("restore the database from a backup, or report it with the failing command".into())
            }
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Timestamps are stored as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::CreateDir { path: dir.display().to_string(), source })?;
        }
        let existed = path.exists();
        if !existed {
            create_private_file(path)?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let mut store = Store { conn, path: path.to_path_buf() };
        store.check_version()?;
        store
            .conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        store.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Apply and page writes run a few dozen distinct statements per
        // record; keep them all prepared.
        store.conn.set_prepared_statement_cache_capacity(256);
        store.conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted content (a removed integration's secrets) is overwritten,
        // not left readable in free pages.
        store.conn.pragma_update(None, "secure_delete", "ON")?;
        store.migrate()?;
        restrict_permissions(path);
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_version(&self) -> Result<()> {
        let found: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > schema::current_version() {
            return Err(StoreError::NewerSchema {
                path: self.path.display().to_string(),
                found,
                supported: schema::current_version(),
            });
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let applied: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Run `f` in one transaction: all of it lands, or none.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&Tx { conn: &tx })?;
        tx.commit()?;
        Ok(out)
    }

    /// Read-only access outside a transaction.
    pub fn read(&self) -> Tx<'_> {
        Tx { conn: &self.conn }
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// A view of the database inside (or outside) a transaction; all queries
/// hang off it so they compose into one transaction.
pub struct Tx<'c> {
    conn: &'c Connection,
}

impl Tx<'_> {
    pub(crate) fn conn(&self) -> &Connection {
        self.conn
    }

    fn optional<T>(&self, r: rusqlite::Result<T>) -> Result<Option<T>> {
        Ok(r.optional()?)
    }
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(|_| ())
        .or_else(|e| if e.kind() == std::io::ErrorKind::AlreadyExists { Ok(()) } else { Err(e) })
        .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> Result<()> {
    Ok(())
}

/// Keep the database and its WAL/SHM files private to the user.
#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut paths = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        paths.push(PathBuf::from(p));
    }
    for p in paths {
        if p.exists() {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("ferry.db")).expect("open");
        (dir, store)
    }

    #[test]
    fn open_creates_private_file_and_migrates() {
        let (dir, store) = temp_store();
        let v: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, schema::current_version());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("ferry.db")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", 999).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        match Store::open(&path) {
            Err(StoreError::NewerSchema { found: 999, .. }) => {}
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a newer database must be refused"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn reopen_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        drop(Store::open(&path).unwrap());
        drop(Store::open(&path).unwrap());
    }
}
