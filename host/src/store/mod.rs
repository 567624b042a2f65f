//! SQLite storage: the only module that knows SQL.
//!
//! One file holds everything (connectors, integrations and their secrets,
//! the PSA mirror, run history, the documentation store), in WAL mode so a
//! daemon and CLI commands can share it, created with mode 0600 because it
//! holds credentials. The mode of an existing file is never changed: an
//! operator who made it read-only meant it, and commands that only read
//! open it read-only ([`Store::open_read_only`]). Queries live in one
//! submodule per table group; callers get plain structs.

pub mod codec;
mod connectors;
mod console;
mod docs;
mod integrations;
mod mirror;
mod rate_windows;
mod requests;
mod runs;
mod schedules;
pub mod schema;
mod skipped;
mod state;
mod tickets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::vault::Vault;

pub use self::connectors::{ConnectorOrigin, ConnectorRow};
pub use self::console::{ConsoleToken, Notification, RunToNotify, SearchHit};
pub use self::docs::{
    AssetFilter, AssetRow, CardRow, CardTarget, CardWrite, CompanyChange, CompanyLink, CompanyRow, LayoutRow, LinkState,
};
pub use self::integrations::{IntegrationRow, RemovalCounts};
pub use self::mirror::{MirrorRow, MirrorWrite, PageOutcome};
pub use self::requests::RunRequest;
pub use self::runs::{RunRow, RunStatus, RunStreamRow, StreamState, StreamStatus, Trigger};
pub use self::schedules::{LockHolder, ScheduleRow};
pub use self::skipped::SkippedRecord;
pub use self::tickets::{TicketFilter, TicketRow, TicketWrite};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
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
    #[error("the database at {path} is read-only: {message}")]
    ReadOnly { path: String, message: String },
    #[error("the database at {path} cannot grow: the disk is full ({message})")]
    Full { path: String, message: String },
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error(
        "the database at {path} needs an upgrade of its tables (schema {found} → {supported}), which needs write access"
    )]
    NeedsUpgrade { path: String, found: i64, supported: i64 },
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
            StoreError::Sqlite(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) =>
            {
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
            StoreError::ReadOnly { path, .. } => Some(format!(
                "Ferry never changes a database's permissions: make {path} and its folder writable for this user \
                 (e.g. `chmod u+w {path}`), or run Ferry as the file's owner; commands that only read work as they are"
            )),
            StoreError::Full { .. } => Some(
                "free space on the disk holding the database (or move it and point --db / FERRY_DB there), then run \
                 the command again; a sync resumes from its last checkpoint"
                    .into(),
            ),
            StoreError::Vault(e) => Some(e.hint()),
            StoreError::NeedsUpgrade { path, .. } => Some(format!(
                "run any command that writes (e.g. `ferry integration list` as the owner of {path}) once with write access"
            )),
            _ => None,
        }
    }
}

/// Every SQLite error becomes `Sqlite`, except a stored value that does
/// not decode (`codec`): that is `Corrupt`, wherever it is read.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match codec::corrupt_value(&e) {
            Some(value) => StoreError::Corrupt(value.to_string()),
            None => StoreError::Sqlite(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Seals and opens literal secrets with the key kept outside the file.
    vault: Vault,
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
        } else if std::fs::OpenOptions::new().write(true).open(path).is_err() {
            // SQLite would quietly open it read-only and fail at the first
            // write (or at its WAL index) with a vaguer message.
            return Err(StoreError::ReadOnly {
                path: path.display().to_string(),
                message: "this user may not write the file".into(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Open { path: path.display().to_string(), message: e.to_string() })?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let mut store = Store { conn, path: path.to_path_buf(), vault: Vault::for_db(path) };
        // Reading a WAL database may already need a write (its -shm index,
        // in a read-only folder): every step says so, with the path.
        store.prepare().map_err(|e| store.explain(e))?;
        // Databases from before secrets were sealed: seal them now. A key
        // file that cannot be created is no reason to refuse the command.
        if let Err(e) = store.seal_plain_secrets() {
            tracing::warn!(error = %e, "literal secrets stay unsealed for now");
        }
        store.test_hooks()?;
        Ok(store)
    }

    /// Open an existing database for reading only (SQLITE_OPEN_READ_ONLY):
    /// what `list`, `show`, `runs` and the other read commands use, so they
    /// work on a read-only file or in a read-only folder and can never
    /// write. Reading a WAL database needs its `-shm` index; where that
    /// cannot be created (a read-only folder after the last writer closed
    /// and removed it) the file is opened `immutable`, which is exact as
    /// nothing can write there either.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let open_err =
            |e: rusqlite::Error| StoreError::Open { path: path.display().to_string(), message: e.to_string() };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let probe =
            |conn: &Connection| conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0));
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let conn = match probe(&conn) {
            Ok(_) => conn,
            Err(first) => {
                drop(conn);
                // `immutable` ignores the WAL: exact only when the WAL holds
                // nothing and the trouble was creating the -shm index. A WAL
                // that needs recovery (a writer was killed) is not read
                // around: the caller opens for writing, or reports it.
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                let wal_empty = std::fs::metadata(PathBuf::from(wal)).map(|m| m.len() == 0).unwrap_or(true);
                let index_trouble = matches!(
                    first.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
                );
                if !index_trouble || !wal_empty {
                    return Err(open_err(first));
                }
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let conn = Connection::open_with_flags(&uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .map_err(|_| open_err(first))?;
                probe(&conn).map_err(open_err)?;
                conn
            }
        };
        let store = Store { conn, path: path.to_path_buf(), vault: Vault::for_db(path) };
        store.check_version()?;
        let found: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found < schema::current_version() {
            return Err(StoreError::NeedsUpgrade {
                path: path.display().to_string(),
                found,
                supported: schema::current_version(),
            });
        }
        Ok(store)
    }

    /// Name what a failed write means for the operator: a read-only file or
    /// folder, or a full disk (SQLite's own text says neither clearly).
    pub fn explain(&self, e: StoreError) -> StoreError {
        Store::explain_at(&self.path, e)
    }

    fn explain_at(path: &Path, e: StoreError) -> StoreError {
        let path = path.display().to_string();
        match e {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, msg)) => {
                let message = msg.unwrap_or_else(|| f.to_string());
                match f.code {
                    rusqlite::ErrorCode::ReadOnly => StoreError::ReadOnly { path, message },
                    rusqlite::ErrorCode::DiskFull => StoreError::Full { path, message },
                    _ => StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, Some(message))),
                }
            }
            other => other,
        }
    }

    /// Test-only knobs, read from the environment: `FERRY_TEST_MAX_PAGE_COUNT`
    /// caps the database's size in pages so a test can make writes fail as
    /// on a full disk (SQLITE_FULL) without filling one.
    fn test_hooks(&self) -> Result<()> {
        if let Some(n) = std::env::var("FERRY_TEST_MAX_PAGE_COUNT").ok().and_then(|v| v.trim().parse::<i64>().ok()) {
            self.conn.query_row(&format!("PRAGMA max_page_count = {n}"), [], |_| Ok(()))?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Settings and migrations of a connection opened for writing.
    fn prepare(&mut self) -> Result<()> {
        self.check_version()?;
        // A new database gets 16 KiB pages (SQLite's default is 4 KiB): a
        // card's row is about 1 KiB, so fewer page splits, pager fetches and
        // WAL frames per record; the first apply of 2,000 companies took 15%
        // less time. Has no effect on an existing database, whose page size
        // is fixed (until a VACUUM).
        self.conn.pragma_update(None, "page_size", 16384)?;
        self.conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A 32 MiB page cache (SQLite's default is 2 MiB, 128 pages of 16
        // KiB): the first apply of a large account inserts into B-trees of a
        // million rows, and with the default cache most of their pages were
        // read again through the OS for every insert (16,000 companies:
        // apply 27.3 → 23.7 s, system time 15.2 → 10.8 s). Allocated as
        // used: a small database never fills it. Peak RSS of that sync:
        // 56 → 87 MiB.
        self.conn.pragma_update(None, "cache_size", -32768)?;
        // Apply and page writes run a few dozen distinct statements per
        // record; keep them all prepared.
        self.conn.set_prepared_statement_cache_capacity(256);
        // Plans must not depend on bound values. Without this, SQLite marks a
        // statement for re-preparing whenever a parameter it once compared
        // with a literal gets a new value (`asset_by_identity`: every
        // record), and the first apply of 124,000 records spent 40% of its
        // time in the SQL parser. Ferry runs no ANALYZE, so no plan is lost.
        self.conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted content (a removed integration's secrets) is overwritten,
        // not left readable in free pages.
        self.conn.pragma_update(None, "secure_delete", "ON")?;
        self.migrate()
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
        let path = self.path.clone();
        let explain = |e: StoreError| Store::explain_at(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| explain(e.into()))?;
        let out = f(&Tx { read: Reader { conn: &tx, vault: &self.vault } }).map_err(explain)?;
        tx.commit().map_err(|e| explain(e.into()))?;
        Ok(out)
    }

    /// Read-only access outside a transaction: reads only (writes go
    /// through [`Store::transaction`]).
    pub fn read(&self) -> Reader<'_> {
        Reader { conn: &self.conn, vault: &self.vault }
    }

    /// Seal literal secrets still stored in clear (databases written before
    /// secrets were sealed), then truncate the WAL so no copy of the clear
    /// pages stays in it. Returns how many integrations changed.
    fn seal_plain_secrets(&mut self) -> Result<u64> {
        if !self.read().has_plain_secrets()? {
            return Ok(0);
        }
        let n = self.transaction(|tx| tx.seal_plain_secrets())?;
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(n)
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// Read access to the database: every query that only reads hangs off it.
/// [`Store::read`] hands out only this, so a write outside a transaction
/// does not compile:
///
/// ```compile_fail
/// fn sneak(store: &ferry::store::Store) {
///     let _ = store.read().unlock(1);
/// }
/// ```
///
/// while reads do, and so does the write in a transaction:
///
/// ```no_run
/// fn fine(store: &mut ferry::store::Store) -> ferry::store::Result<()> {
///     store.read().integrations()?;
///     store.transaction(|tx| tx.unlock(1))
/// }
/// ```
pub struct Reader<'c> {
    conn: &'c Connection,
    vault: &'c Vault,
}

/// A transaction: the writes hang off it, and it derefs to [`Reader`] so
/// reads and writes compose into one transaction.
pub struct Tx<'c> {
    read: Reader<'c>,
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = Reader<'c>;

    fn deref(&self) -> &Reader<'c> {
        &self.read
    }
}

impl Reader<'_> {
    pub(crate) fn conn(&self) -> &Connection {
        self.conn
    }

    fn vault(&self) -> &Vault {
        self.vault
    }

    fn optional<T>(&self, r: rusqlite::Result<T>) -> Result<Option<T>> {
        Ok(r.optional()?)
    }
}

impl Tx<'_> {
    /// A small write for tests of how writes fail.
    #[cfg(test)]
    fn record_lock_probe(&self) -> Result<()> {
        self.conn().execute("CREATE TABLE IF NOT EXISTS probe_writes (x INTEGER)", [])?;
        self.conn().execute("INSERT INTO probe_writes VALUES (1)", [])?;
        Ok(())
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

/// `path` as the path part of an SQLite `file:` URI (`?`, `#` and `%`
/// would otherwise end or escape it).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '?' | '#' | '%' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("ferry.db")).expect("open");
        (dir, store)
    }

    /// Integration `acme` of a connector `test` that is only a row (no
    /// component): enough for settings, mirror and apply tests. Its id.
    pub(crate) fn row_integration(store: &mut Store) -> i64 {
        store
            .transaction(|tx| {
                let info = crate::model::ConnectorInfo {
                    id: "test".into(),
                    name: "Test".into(),
                    version: "0.1.0".into(),
                    ..Default::default()
                };
                let row = ConnectorRow {
                    id: "test".into(),
                    name: "Test".into(),
                    version: "0.1.0".into(),
                    contract: "0.2.0".into(),
                    sha256: "0".into(),
                    origin: ConnectorOrigin::Installed,
                    info,
                    installed_at: String::new(),
                };
                tx.put_connector(&row, b"")?;
                let (config, secrets) = (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
                tx.insert_integration("acme", "test", &config, &secrets, &serde_json::json!({}))
            })
            .expect("integration")
    }

    /// New databases get 16 KiB pages; an existing one keeps its own.
    #[test]
    fn new_databases_get_large_pages_and_old_ones_keep_theirs() {
        let (_dir, store) = temp_store();
        let size: i64 = store.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        assert_eq!(size, 16384);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x); DROP TABLE t;").unwrap();
        }
        let store = Store::open(&path).expect("open");
        let size: i64 = store.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        assert_eq!(size, 4096, "an existing database keeps its page size");
    }

    /// A cached statement is prepared once: binding new values never makes
    /// SQLite parse it again (the first apply re-parsed `asset_by_identity`
    /// for every record before query-planner stability was turned on).
    #[test]
    fn cached_statements_are_not_reprepared_when_their_parameters_change() {
        let (_dir, store) = temp_store();
        let reader = store.read();
        for identity in ["serial:A1", "serial:B2", "serial:C3"] {
            reader.asset_by_identity(1, identity, 2).unwrap();
        }
        let stmt = store.conn.prepare_cached(docs::ASSET_BY_IDENTITY).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
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

    #[cfg(unix)]
    #[test]
    fn the_mode_of_an_existing_database_is_never_changed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        drop(Store::open(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut store = Store::open(&path).unwrap();
        store.transaction(|tx| tx.record_lock_probe()).unwrap();
        drop(store);
        drop(Store::open_read_only(&path).unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn a_read_only_open_reads_and_refuses_writes_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        drop(Store::open(&path).unwrap());
        let mut store = Store::open_read_only(&path).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let err = store.transaction(|tx| tx.record_lock_probe()).unwrap_err();
        match &err {
            StoreError::ReadOnly { path: p, .. } => assert!(p.ends_with("f.db")),
            other => panic!("expected ReadOnly, got {other}"),
        }
        assert!(err.to_string().starts_with("the database at ") && err.to_string().contains("is read-only"));
        assert!(err.hint().is_some_and(|h| h.contains("never changes")));
    }

    #[test]
    fn a_full_database_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let mut store = Store::open(&path).unwrap();
        let pages: i64 = store.conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        store.conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(())).unwrap();
        let err = store
            .transaction(|tx| {
                tx.conn()
                    .execute_batch("CREATE TABLE filler (x BLOB); INSERT INTO filler VALUES (zeroblob(100000));")?;
                Ok(())
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Full { .. }), "{err}");
        assert!(err.hint().is_some_and(|h| h.contains("free space")));
    }

    /// The "another process holds it" hint comes from SQLite's code for a
    /// busy or locked database, not from words in an error's text.
    #[test]
    fn the_busy_hint_follows_the_sqlite_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let mut store = Store::open(&path).unwrap();
        store.conn.busy_timeout(Duration::ZERO).unwrap();
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE; CREATE TABLE held (x INTEGER);").unwrap();
        let err = store.transaction(|tx| tx.record_lock_probe()).unwrap_err();
        assert!(err.hint().is_some_and(|h| h.contains("another Ferry process")), "{err}: {:?}", err.hint());
        holder.execute_batch("ROLLBACK").unwrap();

        let worded = StoreError::from(rusqlite::Error::InvalidColumnName("locked_by busy".into()));
        assert_eq!(worded.hint(), None, "{worded}");
    }

    #[test]
    fn reopen_is_idempotent() {
        // The whole schema (every table, index and trigger as SQLite keeps
        // its text) and the migration count, as one string.
        fn schema_of(path: &Path) -> String {
            let c = Connection::open(path).unwrap();
            let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            let mut stmt = c
                .prepare("SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name")
                .unwrap();
            let rows: Vec<String> = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{}|{}|{}|{}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?
                    ))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            format!("user_version {version}\n{}", rows.join("\n"))
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        drop(Store::open(&path).unwrap());
        let first = schema_of(&path);
        assert!(first.starts_with(&format!("user_version {}\n", schema::current_version())), "{first}");
        assert!(first.contains("|cards|cards|CREATE TABLE cards"), "the schema is read: {first}");
        drop(Store::open(&path).unwrap());
        assert_eq!(schema_of(&path), first, "a second open changes nothing in the schema");
    }
}
