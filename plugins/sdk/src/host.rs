//! The one place where the SDK reaches the host's imports.
//!
//! Compiled for WebAssembly, these call the `ferry:connector` imports. Compiled
//! natively (a connector's `cargo test`), the generated imports would abort
//! the whole test binary (`unreachable!()`), so they go to the fakes in
//! [`crate::testing`] instead: HTTP to the installed [`crate::testing::FakeHttp`],
//! logs into a per-thread buffer, `state` into a per-thread map, the clock
//! to a per-thread offset.

use crate::bindings::ferry::connector::http::{HttpError, Request, Response};
use crate::bindings::ferry::connector::log::Level;
use crate::bindings::ferry::connector::state::StateError;

/// Send one request through the host (or the test fake).
pub(crate) fn send(request: &Request) -> Result<Response, HttpError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::ferry::connector::http::send(request)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_send(request)
    }
}

/// Send several requests at once through the host (contract 0.4), or the
/// test fake, which answers them in order and notes the batch.
pub(crate) fn send_batch(requests: &[Request]) -> Vec<Result<Response, HttpError>> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::ferry::connector::http::send_batch(requests)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_send_batch(requests)
    }
}

/// Emit one log line through the host (or the test buffer).
pub(crate) fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::ferry::connector::log::emit(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_log(level, message);
    }
}

/// Seconds since the Unix epoch: in a component the host's wall clock
/// (`wasi:clocks`, granted to every connector), natively the system clock
/// plus the offset [`crate::testing::advance_clock`] moved it by.
pub(crate) fn now_secs() -> u64 {
    let real = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    #[cfg(not(target_arch = "wasm32"))]
    let real = real.saturating_add(crate::testing::clock_offset());
    real
}

/// `state.get` of the host (or the test fake).
pub(crate) fn state_get(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::ferry::connector::state::get(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_state_get(key)
    }
}

/// `state.set` of the host (or the test fake).
pub(crate) fn state_set(key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), StateError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::ferry::connector::state::set(key, value, ttl_seconds)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_state_set(key, value, ttl_seconds)
    }
}

/// `state.delete` of the host (or the test fake).
pub(crate) fn state_delete(key: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::ferry::connector::state::delete(key);
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_state_delete(key);
    }
}
