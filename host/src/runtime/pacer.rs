//! Pacing an integration's requests to its PSA's published rate limit.
//!
//! PSAs publish limits as "N requests per window" (Syncro: 180 a minute)
//! and count them over a sliding window. The pacer models exactly that: a
//! log of the last sends; a request may go when fewer than the allowed
//! number were sent in the last window, so requests that fit go at once and
//! only the ones past the window's allowance wait, for the oldest send to
//! age out. Evenly spaced pacing (a token bucket without burst, as before)
//! made a 100-customer Syncro sync of 86 requests take 30 s where the
//! window allows it in one second; a token bucket *with* the window as
//! burst (GCRA, the `governor` crate) lets up to 2N-1 through in some
//! window of length W, which a PSA counting a sliding window answers with
//! 429s. Hence this small log rather than a crate.
//!
//! Margins: the pacer allows `floor(N × headroom)` requests (the policy's
//! `rate_headroom`, 97%) per window lengthened by [`WINDOW_SLACK`], so
//! network jitter (a request sent later arriving earlier) and clock
//! granularity never push the PSA's own count over N.
//!
//! Adaptive: a 429 means the PSA counts differently (other clients on the
//! same IP, a stricter limit than published). The pacer then holds every
//! request of the integration for the stated `Retry-After`, however long
//! (a request the pause would hold longer than the maximum retry wait is
//! not sent at all, see [`Pacer::until_ready`]) (or until the
//! oldest logged send leaves the window when none is stated), and lowers
//! the allowance by a tenth; each window that passes without a 429 gives
//! back a tenth of the published allowance.
//!
//! One [`Pacer`] serves all concurrent requests of an integration: the log
//! sits behind a mutex never held across an await.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::RateLimit;

/// Added to the published window: covers round-trip jitter between Ferry's
/// send and the PSA's arrival time, and timer granularity.
pub const WINDOW_SLACK: Duration = Duration::from_millis(500);

/// A pause after a 429 without `Retry-After` when nothing was sent yet.
const DEFAULT_PAUSE: Duration = Duration::from_secs(30);

/// The sliding-window log, a pure state machine over given instants (so it
/// is tested with a fake clock).
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    /// Sends allowed per window now (lowered after a 429).
    allowed: usize,
    /// Sends allowed per window with no 429 seen.
    max_allowed: usize,
    window: Duration,
    /// Send times, oldest first; never longer than `max_allowed`.
    sent: VecDeque<Instant>,
    /// No request goes before this (after a 429).
    paused_until: Option<Instant>,
    /// When the allowance was last lowered or raised.
    adjusted_at: Option<Instant>,
}

impl SlidingWindow {
    /// `allowed` sends per `window`; 0 allowed means "no limit, only the
    /// pauses 429s ask for".
    pub fn new(allowed: usize, window: Duration) -> Self {
        SlidingWindow {
            allowed,
            max_allowed: allowed,
            window,
            sent: VecDeque::new(),
            paused_until: None,
            adjusted_at: None,
        }
    }

    /// The window the PSA publishes, with Ferry's margins applied.
    pub fn for_rate(rate: RateLimit, headroom: f64) -> Self {
        if rate.requests == 0 || rate.per_seconds == 0 {
            return SlidingWindow::new(0, Duration::ZERO);
        }
        let allowed = (f64::from(rate.requests) * headroom.clamp(0.1, 1.0)).floor().max(1.0) as usize;
        SlidingWindow::new(allowed, Duration::from_secs(u64::from(rate.per_seconds)) + WINDOW_SLACK)
    }

    pub fn allowed(&self) -> usize {
        self.allowed
    }

    /// Take a send slot at `now`, or say when to ask again.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Instant> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        if self.max_allowed == 0 {
            return Ok(());
        }
        while self.sent.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.window) {
            self.sent.pop_front();
        }
        self.recover(now);
        // `allowed` may have dropped below what is logged: the oldest of the
        // last `allowed` sends decides.
        if self.sent.len() >= self.allowed {
            let decisive = self.sent[self.sent.len() - self.allowed];
            return Err(decisive + self.window);
        }
        self.sent.push_back(now);
        if self.sent.len() > self.max_allowed {
            self.sent.pop_front();
        }
        Ok(())
    }

    /// A window without a 429 gives back a tenth of the allowance.
    fn recover(&mut self, now: Instant) {
        if self.allowed >= self.max_allowed {
            return;
        }
        if self.adjusted_at.is_none_or(|t| now.saturating_duration_since(t) >= self.window) {
            self.allowed = (self.allowed + step(self.max_allowed)).min(self.max_allowed);
            self.adjusted_at = Some(now);
        }
    }

    /// The PSA answered 429 at `now`: pause everyone for `retry_after`
    /// (or until the oldest logged send leaves the window) and lower the
    /// allowance, once per pause.
    pub fn rate_limited(&mut self, now: Instant, retry_after: Option<Duration>) {
        let until = match retry_after {
            Some(wait) => now + wait,
            None => self.sent.front().map(|t| *t + self.window).filter(|t| *t > now).unwrap_or(now + DEFAULT_PAUSE),
        };
        let already_paused = self.paused_until.is_some_and(|t| t > now);
        self.paused_until = Some(self.paused_until.map_or(until, |t| t.max(until)));
        if self.max_allowed > 0 && !already_paused {
            self.allowed = self.allowed.saturating_sub(step(self.max_allowed)).max(1);
            self.adjusted_at = Some(now);
        }
    }
}

impl SlidingWindow {
    /// How much longer a 429's pause holds every request at `now`, if one
    /// does.
    pub fn held_for(&self, now: Instant) -> Option<Duration> {
        self.paused_until.filter(|until| *until > now).map(|until| until - now)
    }
}

/// A tenth of the allowance, at least one request.
fn step(max_allowed: usize) -> usize {
    (max_allowed / 10).max(1)
}

/// The shared, async face of [`SlidingWindow`] for one integration.
#[derive(Debug)]
pub struct Pacer {
    window: Mutex<SlidingWindow>,
}

impl Pacer {
    /// Paced to `rate` (with margins); `None`: unlimited, yet paused by 429s.
    pub fn new(rate: Option<RateLimit>, headroom: f64) -> Self {
        let window = match rate {
            Some(rate) => SlidingWindow::for_rate(rate, headroom),
            None => SlidingWindow::new(0, Duration::ZERO),
        };
        Pacer { window: Mutex::new(window) }
    }

    /// Wait for a send slot, unless a 429's pause would hold the request
    /// longer than `max_wait`: then say at once how long it still holds
    /// (the request is not sent; its caller fails it as rate-limited).
    /// Checked on every wake-up, so a request already waiting for the
    /// window gives up as soon as a long pause starts.
    pub async fn until_ready(&self, max_wait: Duration) -> Result<(), Duration> {
        loop {
            let at = match self.window.lock() {
                Ok(mut w) => {
                    let now = Instant::now();
                    if let Some(held) = w.held_for(now).filter(|held| *held > max_wait) {
                        return Err(held);
                    }
                    match w.try_acquire(now) {
                        Ok(()) => return Ok(()),
                        Err(at) => at,
                    }
                }
                // A poisoned lock: a panic elsewhere already failed the run.
                Err(_) => return Ok(()),
            };
            tokio::time::sleep_until(at.into()).await;
        }
    }

    /// Tell the pacer the PSA answered 429 (with its `Retry-After`).
    pub fn rate_limited(&self, retry_after: Option<Duration>) {
        if let Ok(mut w) = self.window.lock() {
            w.rate_limited(Instant::now(), retry_after);
        }
    }

    /// Sends allowed per window now.
    pub fn allowed(&self) -> usize {
        self.window.lock().map(|w| w.allowed()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const W: Duration = Duration::from_secs(60);

    /// Drive requests arriving at `arrivals` (offsets from t0) through the
    /// window with a fake clock; returns when each was sent.
    fn simulate(window: &mut SlidingWindow, t0: Instant, arrivals: &[Duration]) -> Vec<Instant> {
        let mut now = t0;
        let mut sends = Vec::new();
        for arrival in arrivals {
            now = now.max(t0 + *arrival);
            loop {
                match window.try_acquire(now) {
                    Ok(()) => break,
                    Err(at) => {
                        assert!(at > now, "a wait must move time forward");
                        now = at;
                    }
                }
            }
            sends.push(now);
        }
        sends
    }

    /// The most sends in any window of length `w` (half-open).
    fn busiest(sends: &[Instant], w: Duration) -> usize {
        let mut best = 0;
        let mut start = 0;
        for end in 0..sends.len() {
            while sends[end].duration_since(sends[start]) >= w {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    #[test]
    fn requests_that_fit_the_window_go_at_once() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::for_rate(RateLimit { requests: 180, per_seconds: 60 }, 0.97);
        assert_eq!(w.allowed(), 174);
        let sends = simulate(&mut w, t0, &[Duration::ZERO; 86]);
        assert!(sends.iter().all(|s| *s == t0), "86 requests fit one window: none waits");
        let more = simulate(&mut w, t0, &[Duration::ZERO; 100]);
        assert_eq!(more.iter().filter(|s| **s == t0).count(), 174 - 86);
        assert_eq!(more.last().copied(), Some(t0 + W + WINDOW_SLACK), "the rest wait for the window, once");
    }

    #[test]
    fn never_more_than_allowed_in_any_window_property() {
        for seed in 0..300u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let limit = rng.random_range(1..=200u32);
            let per = rng.random_range(1..=120u32);
            let rate = RateLimit { requests: limit, per_seconds: per };
            let mut w = SlidingWindow::for_rate(rate, 0.97);
            let allowed = w.allowed();
            let t0 = Instant::now();
            let mut at = Duration::ZERO;
            let n = rng.random_range(1..=3 * limit as usize + 10);
            let arrivals: Vec<Duration> = (0..n)
                .map(|_| {
                    // Bursts, trickles and long gaps.
                    at += match rng.random_range(0..4) {
                        0 => Duration::ZERO,
                        1 => Duration::from_millis(rng.random_range(0..50)),
                        2 => Duration::from_millis(rng.random_range(0..u64::from(per) * 1000 / 2)),
                        _ => Duration::from_secs(rng.random_range(0..u64::from(per) * 2)),
                    };
                    at
                })
                .collect();
            let sends = simulate(&mut w, t0, &arrivals);
            let window = Duration::from_secs(u64::from(per));
            assert!(busiest(&sends, window) <= limit as usize, "seed {seed}: over the published limit");
            assert!(busiest(&sends, window + WINDOW_SLACK) <= allowed, "seed {seed}: over the allowance");
            // Work-conserving: a request waits only while the window is
            // full, so it goes the moment a send leaves the window (or
            // behind an earlier request that did).
            for (i, s) in sends.iter().enumerate() {
                if *s > t0 + arrivals[i] {
                    let full_until_now =
                        sends[..i].iter().filter(|p| s.duration_since(**p) <= window + WINDOW_SLACK).count();
                    assert!(full_until_now >= allowed, "seed {seed}: request {i} waited with room in the window");
                }
            }
        }
    }

    #[test]
    fn a_429_pauses_everyone_for_retry_after_and_lowers_the_allowance() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::for_rate(RateLimit { requests: 100, per_seconds: 60 }, 1.0);
        assert!(w.try_acquire(t0).is_ok());
        w.rate_limited(t0, Some(Duration::from_secs(7)));
        assert_eq!(w.try_acquire(t0 + Duration::from_secs(1)), Err(t0 + Duration::from_secs(7)));
        assert_eq!(w.allowed(), 90);
        // A second 429 of the same burst does not cut again.
        w.rate_limited(t0 + Duration::from_secs(1), Some(Duration::from_secs(3)));
        assert_eq!(w.allowed(), 90);
        assert_eq!(
            w.try_acquire(t0 + Duration::from_secs(2)),
            Err(t0 + Duration::from_secs(7)),
            "the longer pause holds"
        );
        assert!(w.try_acquire(t0 + Duration::from_secs(7)).is_ok());
        // A quiet window later the allowance grows back by a tenth.
        let later = t0 + Duration::from_secs(7) + W + WINDOW_SLACK;
        assert!(w.try_acquire(later).is_ok());
        assert_eq!(w.allowed(), 100);
    }

    #[test]
    fn a_429_without_retry_after_waits_for_the_oldest_send_to_leave() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::for_rate(RateLimit { requests: 10, per_seconds: 60 }, 1.0);
        for i in 0..5 {
            assert!(w.try_acquire(t0 + Duration::from_secs(i)).is_ok());
        }
        w.rate_limited(t0 + Duration::from_secs(5), None);
        assert_eq!(w.try_acquire(t0 + Duration::from_secs(6)), Err(t0 + W + WINDOW_SLACK));
        assert_eq!(w.allowed(), 9);
        // Lowered below what is logged: the 9th-newest send decides.
        let sends = simulate(&mut w, t0 + W + WINDOW_SLACK, &[Duration::ZERO; 10]);
        assert!(busiest(&sends, W + WINDOW_SLACK) <= 9);
    }

    #[tokio::test]
    async fn a_pause_longer_than_the_maximum_wait_refuses_at_once() {
        let pacer = Pacer::new(None, 0.97);
        assert_eq!(pacer.until_ready(Duration::from_secs(120)).await, Ok(()));
        pacer.rate_limited(Some(Duration::from_secs(297)));
        let held = pacer.until_ready(Duration::from_secs(120)).await.unwrap_err();
        assert!(held > Duration::from_secs(296) && held <= Duration::from_secs(297), "{held:?}");
        // A short pause is waited out.
        let short = Pacer::new(None, 0.97);
        short.rate_limited(Some(Duration::from_millis(20)));
        assert_eq!(short.until_ready(Duration::from_secs(120)).await, Ok(()));
    }

    #[test]
    fn unlimited_only_pauses() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::for_rate(RateLimit { requests: 0, per_seconds: 60 }, 0.97);
        assert!((0..10_000).all(|_| w.try_acquire(t0).is_ok()));
        w.rate_limited(t0, None);
        assert_eq!(w.try_acquire(t0), Err(t0 + DEFAULT_PAUSE));
    }
}
