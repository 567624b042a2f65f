//! Fault switches shared by both simulators, applied by one middleware so
//! every endpoint misbehaves the same way on request.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Answer 429 past `requests` per sliding `window_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub window_secs: u32,
    /// Send `Retry-After` (seconds until a slot frees up).
    pub retry_after: bool,
}

/// The next `count` API requests answer `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailNext {
    pub status: u16,
    pub count: u32,
    /// `Retry-After` seconds to send with them, if any.
    #[serde(default)]
    pub retry_after: Option<u32>,
}

/// All switches; everything off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Resources that answer "no permission" (Syncro: 401 with the group
    /// permissions body; CW: 403): customers/companies, contacts, assets/
    /// configurations, tickets, agreements, sites, system.
    pub missing_permissions: Vec<String>,
    pub rate_limit: Option<RateLimit>,
    pub fail_next: Option<FailNext>,
    /// Every API response waits this long first.
    pub delay_ms: u64,
    /// The next N list responses are not JSON at all.
    pub malformed_json: u32,
    /// The next N list responses are cut off mid-body.
    pub truncated_json: u32,
    /// After N more API requests the token stops working (401).
    pub revoke_token_after: Option<u32>,
    /// The first record of each page repeats as the last of the previous one.
    pub duplicate_across_pages: bool,
    /// A record id that disappears from listings once page 1 was served.
    pub vanish_after_first_page: Option<String>,
    /// The next N connections are reset without an answer.
    pub reset_connections: u32,
    /// After N more API requests, every further request waits (unanswered)
    /// until this is cleared: a test can then act while a client is
    /// provably mid-listing (kill it, run something beside it).
    pub hold_after: Option<u32>,
    /// API paths that answer 404, matched at the end of the request path
    /// (e.g. `/company/configurations/types`): one list missing on a tenant.
    pub not_found_paths: Vec<String>,
    /// Syncro: `sort` on customers is ignored (records come in id order),
    /// as on a tenant that does not honour it.
    pub ignore_sort: bool,
}

/// Simulated distance to the PSA: every API response is delayed by `ms`
/// plus or minus up to `jitter_ms`, half before the request is admitted
/// (and counted by the rate limit) and half after it is answered, like a
/// round trip. The jitter of the n-th request is a function of `seed` and
/// n only, so runs are reproducible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latency {
    pub ms: u64,
    pub jitter_ms: u64,
    pub seed: u64,
}

impl Latency {
    /// The round trip added to the `n`-th request (0-based).
    pub fn delay(&self, n: u64) -> Duration {
        if self.jitter_ms == 0 {
            return Duration::from_millis(self.ms);
        }
        let span = 2 * self.jitter_ms + 1;
        let offset = splitmix64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % span;
        Duration::from_millis((self.ms + offset).saturating_sub(self.jitter_ms))
    }
}

/// A well-mixed 64-bit hash (SplitMix64's finaliser).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Counters behind the switches.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub(crate) recent: VecDeque<Instant>,
    pub(crate) revoked: bool,
    pub(crate) vanished: bool,
}

/// What the middleware must do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    RateLimited { retry_after: Option<u64> },
    Fail { status: u16, retry_after: Option<u32> },
    Revoked,
}

impl FaultState {
    /// Decide on one API request, consuming one-shot counters.
    pub(crate) fn admit(&mut self, faults: &mut Faults, now: Instant) -> Verdict {
        if let Some(limit) = &faults.rate_limit {
            let window = Duration::from_secs(u64::from(limit.window_secs.max(1)));
            while self.recent.front().is_some_and(|t| now.duration_since(*t) >= window) {
                self.recent.pop_front();
            }
            if self.recent.len() >= limit.requests as usize {
                let retry_after = limit.retry_after.then(|| {
                    let oldest = self.recent.front().copied().unwrap_or(now);
                    window.saturating_sub(now.duration_since(oldest)).as_secs().max(1)
                });
                return Verdict::RateLimited { retry_after };
            }
            self.recent.push_back(now);
        }
        if let Some(fail) = &mut faults.fail_next
            && fail.count > 0
        {
            fail.count -= 1;
            let verdict = Verdict::Fail { status: fail.status, retry_after: fail.retry_after };
            if fail.count == 0 {
                faults.fail_next = None;
            }
            return verdict;
        }
        if let Some(n) = &mut faults.revoke_token_after {
            if *n == 0 {
                self.revoked = true;
            } else {
                *n -= 1;
            }
        }
        if self.revoked {
            return Verdict::Revoked;
        }
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window() {
        let mut f = Faults {
            rate_limit: Some(RateLimit { requests: 2, window_secs: 60, retry_after: true }),
            ..Default::default()
        };
        let mut s = FaultState::default();
        let t0 = Instant::now();
        assert_eq!(s.admit(&mut f, t0), Verdict::Pass);
        assert_eq!(s.admit(&mut f, t0 + Duration::from_secs(10)), Verdict::Pass);
        assert_eq!(s.admit(&mut f, t0 + Duration::from_secs(20)), Verdict::RateLimited { retry_after: Some(40) });
        assert_eq!(s.admit(&mut f, t0 + Duration::from_secs(61)), Verdict::Pass);
    }

    #[test]
    fn latency_jitter_is_bounded_and_reproducible() {
        let l = Latency { ms: 150, jitter_ms: 20, seed: 7 };
        let delays: Vec<Duration> = (0..1000).map(|n| l.delay(n)).collect();
        assert!(delays.iter().all(|d| *d >= Duration::from_millis(130) && *d <= Duration::from_millis(170)));
        assert!(
            delays.iter().any(|d| *d < Duration::from_millis(140))
                && delays.iter().any(|d| *d > Duration::from_millis(160))
        );
        assert_eq!(delays, (0..1000).map(|n| l.delay(n)).collect::<Vec<_>>(), "same seed, same delays");
        let other = Latency { seed: 8, ..l };
        assert_ne!(delays, (0..1000).map(|n| other.delay(n)).collect::<Vec<_>>());
        assert_eq!(Latency { ms: 5, jitter_ms: 0, seed: 1 }.delay(3), Duration::from_millis(5));
        assert_eq!(Latency { ms: 5, jitter_ms: 50, seed: 1 }.delay(3).min(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn fail_next_counts_down_then_clears() {
        let mut f =
            Faults { fail_next: Some(FailNext { status: 503, count: 2, retry_after: Some(1) }), ..Default::default() };
        let mut s = FaultState::default();
        let now = Instant::now();
        assert_eq!(s.admit(&mut f, now), Verdict::Fail { status: 503, retry_after: Some(1) });
        assert_eq!(s.admit(&mut f, now), Verdict::Fail { status: 503, retry_after: Some(1) });
        assert_eq!(s.admit(&mut f, now), Verdict::Pass);
        assert!(f.fail_next.is_none());
    }

    #[test]
    fn revoke_after_n() {
        let mut f = Faults { revoke_token_after: Some(1), ..Default::default() };
        let mut s = FaultState::default();
        let now = Instant::now();
        assert_eq!(s.admit(&mut f, now), Verdict::Pass);
        assert_eq!(s.admit(&mut f, now), Verdict::Revoked);
        assert_eq!(s.admit(&mut f, now), Verdict::Revoked);
    }
}
