//! Small values a connector keeps between requests: access tokens, session
//! ids. Never put them in cursors (those are stored in clear).
//!
//! **Where state lives.** Contract `ferry:connector@0.2.0` has no state
//! import and every call runs in a fresh instance, so this store lives for
//! one call: a token fetched in `read` serves every request of that call and
//! is gone with the instance. Contract 0.3 adds the host's `state` import
//! (get/set/delete with a TTL, per integration, kept across calls and runs,
//! stored encrypted). The functions below are the single place that switches
//! over: when the SDK's bindings have that import, `get`/`set`/`delete`
//! call it and [`PERSISTENT`] becomes `true`; connectors using this module
//! (or [`crate::auth::ClientCredentials`]) change nothing.

use std::cell::RefCell;
use std::collections::HashMap;

/// Whether state outlives the call (false on contract 0.2).
pub const PERSISTENT: bool = false;

/// The host's size cap for one value under contract 0.3; kept here too so a
/// connector that works today works then.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

thread_local! {
    // CONTRACT 0.3 SWITCH: replace this per-instance map with the host's
    // `state` import in `get`, `set` and `delete` below.
    static STORE: RefCell<HashMap<String, (String, Option<u64>)>> = RefCell::new(HashMap::new());
}

/// The value under `key`, unless absent or expired.
pub fn get(key: &str) -> Option<String> {
    let now = crate::host::now_secs();
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        match s.get(key) {
            Some((_, Some(expires))) if *expires <= now => {
                s.remove(key);
                None
            }
            Some((value, _)) => Some(value.clone()),
            None => None,
        }
    })
}

/// Keep `value` under `key`, for at most `ttl_seconds` if given. A value over
/// [`MAX_VALUE_BYTES`] is not kept (the connector then simply fetches again).
pub fn set(key: &str, value: &str, ttl_seconds: Option<u32>) {
    if value.len() > MAX_VALUE_BYTES {
        crate::log::warn(&format!(
            "state `{key}`: {} bytes is over the {MAX_VALUE_BYTES}-byte cap; not kept",
            value.len()
        ));
        return;
    }
    let expires = ttl_seconds.map(|t| crate::host::now_secs().saturating_add(u64::from(t)));
    STORE.with(|s| s.borrow_mut().insert(key.to_string(), (value.to_string(), expires)));
}

/// Forget `key`.
pub fn delete(key: &str) {
    STORE.with(|s| s.borrow_mut().remove(key));
}

/// Forget everything (a fresh instance; used by native tests).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn clear() {
    STORE.with(|s| s.borrow_mut().clear());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_after_their_ttl() {
        set("token", "abc", Some(60));
        set("forever", "x", None);
        assert_eq!(get("token").as_deref(), Some("abc"));
        crate::testing::advance_clock(61);
        assert_eq!(get("token"), None);
        assert_eq!(get("forever").as_deref(), Some("x"));
        delete("forever");
        assert_eq!(get("forever"), None);
    }
}
