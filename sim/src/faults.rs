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
