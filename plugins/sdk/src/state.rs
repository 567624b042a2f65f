//! The integration's small key/value store (contract 0.3), for what a
//! connector must remember between calls: an access token, a session id.
//! Never put such values in cursors (those are stored in clear).
//!
//! Kept across calls and runs, sealed at rest and masked in logs like a
//! secret, capped at [`MAX_BYTES`], cleared by Ferry when the integration's
//! config or secrets change. When a stored token stops working, return
//! `ConnectorError::TokenExpired`: Ferry clears this store and calls again
//! once, so the next call fetches a fresh token
//! ([`crate::auth::ClientCredentials`] does all of this).
//!
//! In a component these call the host's `state` import; natively (a
//! connector's `cargo test`) they use a per-thread fake with the same rules
//! (key syntax, size cap, TTL on the test clock), see [`crate::testing`].
//!
//! ```ignore
//! let token = match ferry_sdk::state::get("token") {
//!     Some(t) => t,
//!     None => {
//!         let (t, lifetime) = fetch_token()?;
//!         // Keep it a little shorter than the PSA does.
//!         let _ = ferry_sdk::state::set("token", &t, Some(lifetime.saturating_sub(60)));
//!         t
//!     }
//! };
//! ```

pub use crate::bindings::ferry::connector::state::StateError;

/// Whether state outlives the call: true since contract 0.3.
pub const PERSISTENT: bool = true;

/// The host's cap on keys and values together, in bytes.
pub const MAX_BYTES: usize = 64 * 1024;

/// The value stored under `key`, unless none is or it expired.
pub fn get(key: &str) -> Option<String> {
    crate::host::state_get(key)
}

/// Store `value` under `key`, replacing what was there; with `ttl_seconds`
/// it disappears that many seconds later (0: at once). Keys are 1–128
/// characters of `[A-Za-z0-9._:-]`.
pub fn set(key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), StateError> {
    crate::host::state_set(key, value, ttl_seconds)
}

/// Forget `key` (nothing happens if it is not there).
pub fn delete(key: &str) {
    crate::host::state_delete(key)
}

/// Whether `key` is one the host accepts (1–128 of `[A-Za-z0-9._:-]`).
pub fn valid_key(key: &str) -> bool {
    (1..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_after_their_ttl() {
        set("token", "abc", Some(60)).unwrap();
        set("forever", "x", None).unwrap();
        assert_eq!(get("token").as_deref(), Some("abc"));
        crate::testing::advance_clock(61);
        assert_eq!(get("token"), None);
        assert_eq!(get("forever").as_deref(), Some("x"));
        delete("forever");
        assert_eq!(get("forever"), None);
    }

    #[test]
    fn the_fake_refuses_what_the_host_refuses() {
        assert!(matches!(set("no spaces", "x", None), Err(StateError::InvalidKey(_))));
        assert!(matches!(set("", "x", None), Err(StateError::InvalidKey(_))));
        assert!(matches!(set("big", &"b".repeat(MAX_BYTES), None), Err(StateError::TooLarge(_))));
        assert_eq!(get("big"), None, "nothing stored on refusal");
        set("gone", "at once", Some(0)).unwrap();
        assert_eq!(get("gone"), None);
    }

    #[test]
    fn state_outlives_a_call_until_the_host_clears_it() {
        set("session", "s1", None).unwrap();
        crate::testing::new_call();
        assert_eq!(get("session").as_deref(), Some("s1"));
        crate::testing::clear_state();
        assert_eq!(get("session"), None);
    }
}
