//! Where a connector's `state` (contract 0.3) is kept between runs: the
//! integration's sealed row in the database. The runtime holds the state of
//! a session in memory and writes each change through this backend; the
//! store seals it with the vault like literal secrets.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::runtime::SessionConfig;
use crate::runtime::state::{StateBackend, StateMap};
use crate::store::{Store, StoreError};

/// Give `config` the integration's kept state and a backend that keeps its
/// changes. A kept state that no longer opens (a changed key) or parses is
/// dropped: the connector fetches a new token, nothing else is lost.
pub(crate) fn attach(store: &Store, integration_id: i64, config: &mut SessionConfig) -> Result<(), StoreError> {
    let initial = match store.read().connector_state(integration_id) {
        Ok(Some(json)) => serde_json::from_str::<StateMap>(&json).unwrap_or_else(|e| {
            tracing::warn!(integration = %config.label, "the connector's kept state does not parse ({e}); starting empty");
            StateMap::new()
        }),
        Ok(None) => StateMap::new(),
        Err(StoreError::Vault(e)) => {
            tracing::warn!(integration = %config.label, "the connector's kept state does not open ({e}); starting empty");
            StateMap::new()
        }
        Err(e) => return Err(e),
    };
    config.state.initial = initial;
    config.state.backend =
        Some(Arc::new(KeptState { db: store.path().to_path_buf(), integration_id, store: Mutex::new(None) }));
    Ok(())
}

/// Writes an integration's state through its own connection (opened on the
/// first change), so a connector call never waits for the sync's.
struct KeptState {
    db: PathBuf,
    integration_id: i64,
    store: Mutex<Option<Store>>,
}

impl StateBackend for KeptState {
    fn save(&self, state: &StateMap) -> Result<(), String> {
        let mut guard = self.store.lock().map_err(|_| "state store lock poisoned".to_string())?;
        if guard.is_none() {
            *guard = Some(Store::open(&self.db).map_err(|e| e.to_string())?);
        }
        let Some(store) = guard.as_mut() else { return Err("no database".into()) };
        let json = if state.is_empty() { None } else { Some(serde_json::to_string(state).map_err(|e| e.to_string())?) };
        store.transaction(|tx| tx.save_connector_state(self.integration_id, json.as_deref())).map_err(|e| e.to_string())
    }
}
