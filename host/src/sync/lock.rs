//! Locking for a sync: the integration's OS lock (`crate::lock`), waited
//! for up to the request's `--wait`, with the holder named when it stays
//! busy. The `locks` table row that names the holder is written by the run.

use std::time::{Duration, Instant};

use super::SyncError;
use crate::lock::{IntegrationLock, try_acquire};
use crate::store::{IntegrationRow, Store};

/// Take the integration's OS lock for a sync, waiting up to `wait` for its
/// holder; past that, [`SyncError::Busy`] names the holder the `locks` table
/// records.
pub(super) async fn acquire(
    store: &Store,
    integration: &IntegrationRow,
    wait: Option<Duration>,
) -> Result<IntegrationLock, SyncError> {
    let deadline = Instant::now() + wait.unwrap_or_default();
    loop {
        if let Some(held) = try_acquire(store.path(), integration.id)? {
            return Ok(held);
        }
        if Instant::now() >= deadline {
            let holder = store.read().lock_holder(integration.id)?;
            return Err(SyncError::Busy { integration: integration.name.clone(), holder });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
