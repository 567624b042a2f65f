//! The integration's small key/value store (contract 0.3), for what a
//! connector must remember between calls: an access token, a session id.
//!
//! Kept across calls and runs, sealed at rest and masked in logs like a
//! secret, capped at 64 KiB, cleared by Ferry when the integration's config
//! or secrets change. When a stored token stops working, return
//! `ConnectorError::TokenExpired`: Ferry clears this store and calls again
//! once, so the next call fetches a fresh token.
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

use crate::bindings::ferry::connector::state as host;

pub use host::StateError;

/// The value stored under `key`, unless none is or it expired.
pub fn get(key: &str) -> Option<String> {
    host::get(key)
}

/// Store `value` under `key`; with `ttl_seconds` it disappears that many
/// seconds later. Keys are 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn set(key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), StateError> {
    host::set(key, value, ttl_seconds)
}

/// Forget `key`.
pub fn delete(key: &str) {
    host::delete(key)
}
