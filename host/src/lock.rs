//! One sync per integration, across processes and threads, decided by the
//! operating system: an advisory lock on `<db>.locks/<integration id>.lock`
//! (`fs4`: `flock` on Unix, `LockFileEx` on Windows), held for the whole
//! sync. The kernel releases it when the holder exits however it exits
//! (SIGKILL, a crash, a power cut), so a dead holder never blocks anyone,
//! and a live process that merely reuses a dead holder's pid does not hold
//! it. The `locks` table only records who holds it (run, pid, since) for
//! messages; it decides nothing.
//!
//! Sync holds it for a run (`sync::lock` waits for it), `integration
//! remove` for its transaction, so it sits below both.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fs4::{FileExt, TryLockError};

/// The folder holding the lock files of the database at `db`.
pub(crate) fn lock_dir(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".locks");
    PathBuf::from(name)
}

/// The lock file of one integration.
pub(crate) fn lock_path(db: &Path, integration_id: i64) -> PathBuf {
    lock_dir(db).join(format!("{integration_id}.lock"))
}

/// An integration's sync lock, held until dropped (or the process ends).
#[derive(Debug)]
pub(crate) struct IntegrationLock {
    // Held for its lock; closing the file releases it.
    _file: File,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot use the sync lock file {path}: {source}")]
pub struct LockFileError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Take the integration's lock if nobody holds it: `Ok(None)` when another
/// sync (in this process or another) holds it.
pub(crate) fn try_acquire(db: &Path, integration_id: i64) -> Result<Option<IntegrationLock>, LockFileError> {
    let path = lock_path(db, integration_id);
    let err = |source| LockFileError { path: path.display().to_string(), source };
    create_dir(&lock_dir(db)).map_err(err)?;
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(err)?;
    match FileExt::try_lock(&file) {
        Ok(()) => Ok(Some(IntegrationLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(err(e)),
    }
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ferry.db");
        let first = try_acquire(&db, 7).unwrap().expect("free");
        assert!(try_acquire(&db, 7).unwrap().is_none(), "a second open in the same process is refused");
        assert!(try_acquire(&db, 8).unwrap().is_some(), "another integration is independent");
        drop(first);
        assert!(try_acquire(&db, 7).unwrap().is_some(), "released when dropped");
        assert!(lock_path(&db, 7).starts_with(dir.path().join("ferry.db.locks")));
    }
}
