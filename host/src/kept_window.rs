//! Where an integration's rate window is kept between runs: its row in
//! `rate_windows`. A run's pacer starts from it and hands every change back
//! (see [`crate::runtime::pacer`]); a writer thread of the session keeps
//! only the newest, so a request never waits for the database and a killed
//! run loses at most the sends of the last write.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::SystemTime;

use crate::runtime::SessionConfig;
use crate::runtime::SessionPacing;
use crate::runtime::pacer::{KeptWindow, WindowKeeper};
use crate::store::{Store, StoreError};

/// Give `config` the integration's kept rate window and a keeper for its
/// changes. A kept window that does not parse says nothing of what was
/// sent: the run takes the PSA's window as full (its first requests wait
/// one window) rather than as empty (a burst into a full window, 429s).
pub(crate) fn attach(store: &Store, integration_id: i64, config: &mut SessionConfig) -> Result<(), StoreError> {
    let kept = match store.read().rate_window(integration_id)? {
        Some(json) => match serde_json::from_str::<KeptWindow>(&json) {
            Ok(kept) => Some(kept),
            Err(e) => {
                tracing::warn!(
                    integration = %config.label,
                    "the kept rate window does not parse ({e}); taking the PSA's window as full: the first requests wait one window"
                );
                Some(KeptWindow::full_at(SystemTime::now()))
            }
        },
        None => None,
    };
    let db = store.path().to_path_buf();
    config.pacing = SessionPacing { kept, keeper: Some(Arc::new(move || keeper(db.clone(), integration_id))) };
    Ok(())
}

/// A keeper whose writer thread starts with the first change (an
/// unlimited integration that meets no 429 never starts one) and is joined
/// when the pacer is dropped, so the last change is written before the
/// process ends.
fn keeper(db: PathBuf, integration_id: i64) -> WindowKeeper {
    let writer: OnceLock<Writer> = OnceLock::new();
    Box::new(move |kept| {
        let writer = writer.get_or_init(|| Writer::start(db.clone(), integration_id));
        if let Some(tx) = &writer.tx {
            // The thread is gone only if it could not start; nothing to do.
            let _ = tx.send(kept);
        }
    })
}

struct Writer {
    tx: Option<Sender<KeptWindow>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    fn start(db: PathBuf, integration_id: i64) -> Writer {
        let (tx, rx) = channel();
        match std::thread::Builder::new()
            .name("ferry-rate-window".into())
            .spawn(move || write_each(&db, integration_id, rx))
        {
            Ok(thread) => Writer { tx: Some(tx), thread: Some(thread) },
            Err(e) => {
                tracing::warn!("the rate window will not be kept for the next run: no writer thread ({e})");
                Writer { tx: None, thread: None }
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the thread after its last write.
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Write the newest window each time one arrives (older ones queued behind
/// it are skipped), until the channel closes. A write that fails is
/// reported once; pacing goes on from memory.
fn write_each(db: &Path, integration_id: i64, rx: Receiver<KeptWindow>) {
    let mut store: Option<Store> = None;
    let mut warned = false;
    while let Ok(mut kept) = rx.recv() {
        while let Ok(newer) = rx.try_recv() {
            kept = newer;
        }
        let written = write(&mut store, db, integration_id, &kept);
        if let Err(e) = written
            && !warned
        {
            warned = true;
            tracing::warn!(
                "the rate window could not be kept for the next run ({e}); a run started within the PSA's window may meet 429s"
            );
        }
    }
}

fn write(store: &mut Option<Store>, db: &Path, integration_id: i64, kept: &KeptWindow) -> Result<(), StoreError> {
    if store.is_none() {
        *store = Some(Store::open(db)?);
    }
    let Some(store) = store.as_mut() else { return Ok(()) };
    let json = if kept.is_empty() { None } else { serde_json::to_string(kept).ok() };
    store.transaction(|tx| tx.keep_rate_window(integration_id, json.as_deref()))
}
