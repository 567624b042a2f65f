//! How much of a connector call was the guest's own work: the CPU budget
//! counts only that, never the time the host spent answering it (HTTP,
//! pacing to the PSA's rate limit, WASI sleeps, logging).
//!
//! Fed by wasmtime's call hooks. A host call may re-enter the guest before
//! it returns: lowering a result of variable size (an HTTP response body,
//! a list) calls the guest's `cabi_realloc`. The epoch check at the entry
//! of that re-entry is often the first one after a long wait, so the open
//! host interval must be closed there: counting from the outermost host
//! call's end instead charged the whole wait to the guest, and a page whose
//! requests waited more than the budget (10 s; one window of Syncro's
//! 180/min, or ten 1 s round trips) failed as "more than its CPU budget".
//! Guest code run during a re-entry counts as guest time, so a connector
//! cannot hide work in its allocator either.
//!
//! Pure over given instants, so it is tested without a clock.

use std::time::{Duration, Instant};

use wasmtime::CallHook;

#[derive(Debug, Clone)]
pub(crate) struct GuestClock {
    started: Instant,
    /// Closed host intervals so far.
    host_time: Duration,
    /// Host calls under way, re-entries included.
    depth: u32,
    /// Since when the host has been running, while the innermost frame is
    /// host code (a host call, not a guest re-entry inside one).
    host_since: Option<Instant>,
}

/// What a transition did to the outermost host call, for the wall-clock
/// diagnostics (`Whereabouts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outermost {
    /// The guest made a host call from its own code, at this instant.
    Entered(Instant),
    /// That host call returned.
    Left,
}

impl GuestClock {
    pub(crate) fn new(started: Instant) -> Self {
        GuestClock { started, host_time: Duration::ZERO, depth: 0, host_since: None }
    }

    /// When the call began.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// The guest's own time up to `now`.
    pub(crate) fn guest_time(&self, now: Instant) -> Duration {
        let open = self.host_since.map(|s| now.saturating_duration_since(s)).unwrap_or_default();
        now.saturating_duration_since(self.started).saturating_sub(self.host_time + open)
    }

    /// Account one of wasmtime's call hooks at `now`.
    pub(crate) fn transition(&mut self, hook: CallHook, now: Instant) -> Option<Outermost> {
        match hook {
            CallHook::CallingHost => {
                self.open(now);
                self.depth += 1;
                (self.depth == 1).then_some(Outermost::Entered(now))
            }
            CallHook::ReturningFromHost => {
                self.close(now);
                self.depth = self.depth.saturating_sub(1);
                (self.depth == 0).then_some(Outermost::Left)
            }
            // Into the guest from inside a host call (a re-entry): guest time.
            CallHook::CallingWasm => {
                self.close(now);
                None
            }
            // Back from a re-entry into the host call that made it.
            CallHook::ReturningFromWasm => {
                if self.depth > 0 {
                    self.open(now);
                }
                None
            }
        }
    }

    fn open(&mut self, now: Instant) {
        if self.host_since.is_none() {
            self.host_since = Some(now);
        }
    }

    fn close(&mut self, now: Instant) {
        if let Some(since) = self.host_since.take() {
            self.host_time += now.saturating_duration_since(since);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_host_call_is_not_guest_time() {
        let t = Instant::now();
        let mut c = GuestClock::new(t);
        c.transition(CallHook::CallingWasm, t);
        assert_eq!(c.transition(CallHook::CallingHost, t + ms(5)), Some(Outermost::Entered(t + ms(5))));
        assert_eq!(c.guest_time(t + ms(2_000)), ms(5), "while the host call is open");
        assert_eq!(c.transition(CallHook::ReturningFromHost, t + ms(2_005)), Some(Outermost::Left));
        assert_eq!(c.guest_time(t + ms(2_008)), ms(8));
    }

    /// The bug behind "CPU budget" failures of paced syncs: the HTTP
    /// import's result is lowered through the guest's `cabi_realloc`, whose
    /// epoch check came first after the wait and saw it all as guest time.
    #[test]
    fn a_long_wait_then_a_reentry_to_allocate_the_result_is_not_guest_time() {
        let t = Instant::now();
        let mut c = GuestClock::new(t);
        c.transition(CallHook::CallingWasm, t);
        c.transition(CallHook::CallingHost, t + ms(1)); // http.send, paced for 60 s
        c.transition(CallHook::CallingWasm, t + ms(60_001)); // cabi_realloc for the body
        assert_eq!(c.guest_time(t + ms(60_001)), ms(1), "the epoch check at the re-entry");
        // The epoch callback itself runs in a libcall, a host call inside the re-entry.
        assert_eq!(c.transition(CallHook::CallingHost, t + ms(60_002)), None);
        assert_eq!(c.guest_time(t + ms(60_002)), ms(2));
        assert_eq!(c.transition(CallHook::ReturningFromHost, t + ms(60_003)), None);
        c.transition(CallHook::ReturningFromWasm, t + ms(60_004));
        assert_eq!(c.guest_time(t + ms(60_010)), ms(3), "back in the host call");
        assert_eq!(c.transition(CallHook::ReturningFromHost, t + ms(60_010)), Some(Outermost::Left));
        assert_eq!(c.guest_time(t + ms(60_020)), ms(13));
    }

    #[test]
    fn work_in_a_reentry_is_guest_time() {
        let t = Instant::now();
        let mut c = GuestClock::new(t);
        c.transition(CallHook::CallingWasm, t);
        c.transition(CallHook::CallingHost, t);
        c.transition(CallHook::CallingWasm, t + ms(10));
        // A realloc that loops: it cannot hide inside the host call.
        assert_eq!(c.guest_time(t + ms(9_010)), ms(9_000));
    }
}
