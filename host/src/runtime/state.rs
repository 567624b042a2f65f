//! The connector's `state` store (contract 0.3): a small key/value map of
//! one integration's, with expiry and a size cap, for what a connector must
//! remember between calls (an OAuth token, a session id).
//!
//! The runtime keeps the map of a session in memory and writes every change
//! through to a [`StateBackend`] (the integration's sealed row in the
//! database, see `crate::connector_state`); a session without an
//! integration (plugin check, `integration test` before `add`) has no
//! backend, so its state lasts for that command only. The runtime knows no
//! SQL: the backend is handed in with the [`super::SessionConfig`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Most bytes of keys and values one integration may keep.
pub const STATE_CAP_BYTES: u32 = 64 * 1024;
/// Longest key.
pub const MAX_KEY_LEN: usize = 128;

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEntry {
    pub value: String,
    /// Unix seconds from which the entry is gone; `None` keeps it.
    pub expires_at: Option<i64>,
}

/// A connector's whole state: small, so it is saved whole.
pub type StateMap = BTreeMap<String, StateEntry>;

/// Where a session's state is kept between runs.
pub trait StateBackend: Send + Sync {
    /// Replace the kept state with `state`.
    fn save(&self, state: &StateMap) -> Result<(), String>;
}

/// Why `state.set` refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateRefusal {
    /// Keys and values would exceed the cap (bytes).
    TooLarge(u32),
    InvalidKey(String),
}

/// The state of one session's connector, shared by its calls.
pub struct ConnectorState {
    map: Mutex<StateMap>,
    backend: Option<Arc<dyn StateBackend>>,
    label: String,
    now: fn() -> i64,
}

impl std::fmt::Debug for ConnectorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConnectorState({})", self.label)
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

impl ConnectorState {
    /// `initial` as loaded for the integration (expired entries are dropped
    /// here); `backend: None` keeps the state in memory only.
    pub fn new(label: &str, initial: StateMap, backend: Option<Arc<dyn StateBackend>>) -> Self {
        Self::with_clock(label, initial, backend, unix_now)
    }

    fn with_clock(
        label: &str,
        mut initial: StateMap,
        backend: Option<Arc<dyn StateBackend>>,
        now: fn() -> i64,
    ) -> Self {
        let t = now();
        initial.retain(|_, e| live(e, t));
        ConnectorState { map: Mutex::new(initial), backend, label: label.to_string(), now }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, StateMap> {
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every live value: the redactor treats them as secrets.
    pub fn values(&self) -> Vec<String> {
        let t = (self.now)();
        self.map().values().filter(|e| live(e, t)).map(|e| e.value.clone()).collect()
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let t = (self.now)();
        self.map().get(key).filter(|e| live(e, t)).map(|e| e.value.clone())
    }

    pub fn set(&self, key: &str, value: String, ttl_seconds: Option<u32>) -> Result<(), StateRefusal> {
        check_key(key)?;
        let t = (self.now)();
        let mut map = self.map();
        map.retain(|_, e| live(e, t));
        let others: usize = map.iter().filter(|(k, _)| k.as_str() != key).map(|(k, e)| k.len() + e.value.len()).sum();
        if others + key.len() + value.len() > STATE_CAP_BYTES as usize {
            return Err(StateRefusal::TooLarge(STATE_CAP_BYTES));
        }
        let expires_at = ttl_seconds.map(|s| t + i64::from(s));
        map.insert(key.to_string(), StateEntry { value, expires_at });
        self.save(&map);
        Ok(())
    }

    pub fn delete(&self, key: &str) {
        let mut map = self.map();
        if map.remove(key).is_some() {
            self.save(&map);
        }
    }

    /// Forget everything (before retrying a call that ended in
    /// `token-expired`).
    pub fn clear(&self) {
        let mut map = self.map();
        map.clear();
        self.save(&map);
    }

    /// Write through. A failed save keeps the call going on what is in
    /// memory (the connector will only have to fetch its token again next
    /// run), so it is logged, not raised.
    fn save(&self, map: &StateMap) {
        if let Some(backend) = &self.backend
            && let Err(e) = backend.save(map)
        {
            tracing::warn!(connector = %self.label, "could not keep the connector's state: {e}");
        }
    }
}

fn live(e: &StateEntry, now: i64) -> bool {
    e.expires_at.is_none_or(|at| now < at)
}

fn check_key(key: &str) -> Result<(), StateRefusal> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(StateRefusal::InvalidKey(format!("a key is 1 to {MAX_KEY_LEN} characters")));
    }
    if let Some(c) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))) {
        return Err(StateRefusal::InvalidKey(format!("{c:?} is not allowed in a key; use [A-Za-z0-9._:-]")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Kept(Mutex<Vec<StateMap>>);
    impl StateBackend for Kept {
        fn save(&self, state: &StateMap) -> Result<(), String> {
            self.0.lock().map_err(|e| e.to_string())?.push(state.clone());
            Ok(())
        }
    }

    #[test]
    fn values_expire_and_the_cap_counts_keys_and_values() {
        let kept = Arc::new(Kept::default());
        let state = ConnectorState::with_clock("t", StateMap::new(), Some(kept.clone()), || 1000);
        state.set("token", "abc".into(), Some(60)).unwrap();
        state.set("gone", "x".into(), Some(0)).unwrap();
        assert_eq!(state.get("token").as_deref(), Some("abc"));
        assert_eq!(state.get("gone"), None, "TTL 0 is gone at once");
        assert_eq!(state.values(), vec!["abc".to_string()]);
        let big = "v".repeat(STATE_CAP_BYTES as usize - "token".len() - 3);
        assert_eq!(state.set("big", big.clone(), None), Err(StateRefusal::TooLarge(STATE_CAP_BYTES)));
        // Replacing a value counts the new one, not both.
        state.set("token", big, None).unwrap();
        assert!(matches!(state.set("bad key", "x".into(), None), Err(StateRefusal::InvalidKey(_))));
        assert!(matches!(state.set("", "x".into(), None), Err(StateRefusal::InvalidKey(_))));
        state.delete("token");
        assert_eq!(state.get("token"), None);
        let saves = kept.0.lock().unwrap();
        assert!(saves.last().unwrap().is_empty(), "every change is written through");
    }

    #[test]
    fn expired_entries_are_dropped_on_load() {
        let mut initial = StateMap::new();
        initial.insert("old".into(), StateEntry { value: "v".into(), expires_at: Some(999) });
        initial.insert("kept".into(), StateEntry { value: "w".into(), expires_at: None });
        let state = ConnectorState::with_clock("t", initial, None, || 1000);
        assert_eq!(state.get("old"), None);
        assert_eq!(state.get("kept").as_deref(), Some("w"));
    }
}
