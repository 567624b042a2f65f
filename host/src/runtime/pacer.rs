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
//! the allowance by a tenth, at most once a window; each window that passes
//! without a 429 gives back a tenth of the published allowance.
//!
//! One [`Pacer`] serves all concurrent requests of an integration: the log
//! sits behind a mutex never held across an await.
//!
//! Across runs: the PSA's window does not end with Ferry's process. A run
//! started within a minute of the previous one (another `ferry sync`, the
//! daemon on a one-minute schedule) would find an empty log and send a
//! whole window's allowance into a window the PSA already counts as full.
//! So the pacer hands every change of its log to a keeper (as a
//! [`KeptWindow`] in wall-clock time; the integration's row in the
//! database, see `crate::kept_window`) and a new run's pacer starts from
//! what was kept ([`Pacer::resume`]).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::model::RateLimit;

/// Added to the published window: covers round-trip jitter between Ferry's
/// send and the PSA's arrival time, and timer granularity.
pub const WINDOW_SLACK: Duration = Duration::from_millis(500);

/// A pause after a 429 without `Retry-After` when nothing was sent yet.
const DEFAULT_PAUSE: Duration = Duration::from_secs(30);

/// The longest pause a kept window may carry into a new run: a clock set
/// back or a hand-edited database must not hold an integration for days.
const MAX_KEPT_PAUSE: Duration = Duration::from_secs(3600);

/// Send times are kept between runs only for allowances up to this many
/// requests a window. Every PSA limit Ferry knows is far below it (Syncro
/// 174, CW 582); a higher one is an operator's "do not pace", and keeping
/// its log would copy and write up to that many times on every request.
pub const MAX_KEPT_SENDS: usize = 5_000;

/// A pacer's state as kept between runs, in milliseconds since the Unix
/// epoch (an [`Instant`] means nothing to another process).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptWindow {
    /// Sends still inside the window, oldest first.
    #[serde(default)]
    pub sends: Vec<u64>,
    /// A 429's pause still running: until when, and how long it still had
    /// to run when kept (so a clock set back cannot lengthen it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_for: Option<u64>,
    /// The allowance when a 429 lowered it, and when it was last adjusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjusted_at: Option<u64>,
}

impl KeptWindow {
    /// A window as full as any allowance that is kept: every send at
    /// `wall` (what a run assumes when what was kept cannot be read).
    pub fn full_at(wall: SystemTime) -> Self {
        KeptWindow { sends: vec![unix_ms(wall); MAX_KEPT_SENDS], ..KeptWindow::default() }
    }

    /// Nothing a new run needs to know.
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.paused_until.is_none() && self.allowed.is_none()
    }
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

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
    /// When a 429 last lowered the allowance: at most once a window.
    cut_at: Option<Instant>,
    /// When the PSA last answered 429: the allowance grows back only after
    /// a whole window without one.
    limited_at: Option<Instant>,
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
            cut_at: None,
            limited_at: None,
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

    /// A window without a 429 gives back a tenth of the allowance (a 429
    /// within the window, even one that did not cut again, starts it over:
    /// against a PSA whose real limit is below the published one the pace
    /// then settles instead of swinging back up each window).
    fn recover(&mut self, now: Instant) {
        if self.allowed >= self.max_allowed {
            return;
        }
        let quiet = |t: Option<Instant>| t.is_none_or(|t| now.saturating_duration_since(t) >= self.window);
        if quiet(self.adjusted_at) && quiet(self.limited_at) {
            self.allowed = (self.allowed + step(self.max_allowed)).min(self.max_allowed);
            self.adjusted_at = Some(now);
        }
    }

    /// The PSA answered 429 at `now`: pause everyone for `retry_after`
    /// (or until the oldest logged send leaves the window) and lower the
    /// allowance by a tenth, at most once a window: a PSA answering
    /// `Retry-After: 1` to six retries of one request in six seconds has
    /// said once that the pace is too high, not six times (six cuts took
    /// 174 a minute down to 72 and a 5 s sync to 67 s).
    pub fn rate_limited(&mut self, now: Instant, retry_after: Option<Duration>) {
        let until = match retry_after {
            Some(wait) => now + wait,
            None => self.sent.front().map(|t| *t + self.window).filter(|t| *t > now).unwrap_or(now + DEFAULT_PAUSE),
        };
        self.paused_until = Some(self.paused_until.map_or(until, |t| t.max(until)));
        self.limited_at = Some(self.limited_at.map_or(now, |t| t.max(now)));
        let cut_lately = self.cut_at.is_some_and(|t| now.saturating_duration_since(t) < self.window);
        if self.max_allowed > 0 && !cut_lately {
            self.allowed = self.allowed.saturating_sub(step(self.max_allowed)).max(1);
            self.adjusted_at = Some(now);
            self.cut_at = Some(now);
        }
    }
}

impl SlidingWindow {
    /// How much longer a 429's pause holds every request at `now`, if one
    /// does.
    pub fn held_for(&self, now: Instant) -> Option<Duration> {
        self.paused_until.filter(|until| *until > now).map(|until| until - now)
    }

    /// What a later run must know, `now` being `wall` on the clock: the
    /// sends still inside the window, a pause still running, a lowered
    /// allowance.
    pub fn keep(&self, now: Instant, wall: SystemTime) -> KeptWindow {
        let wall = unix_ms(wall);
        let at = |t: Instant| wall.saturating_sub(now.saturating_duration_since(t).as_millis() as u64);
        let lowered = self.allowed < self.max_allowed;
        let kept_sends = self.max_allowed <= MAX_KEPT_SENDS;
        KeptWindow {
            sends: self
                .sent
                .iter()
                .filter(|t| kept_sends && now.saturating_duration_since(**t) < self.window)
                .map(|t| at(*t))
                .collect(),
            paused_until: self
                .paused_until
                .filter(|until| *until > now)
                .map(|until| wall + until.duration_since(now).as_millis() as u64),
            paused_for: self.held_for(now).map(|held| held.as_millis() as u64),
            allowed: lowered.then_some(self.allowed),
            // Recovery counts windows from the last adjustment or 429,
            // whichever is later (see `recover`).
            adjusted_at: self.adjusted_at.max(self.limited_at).filter(|_| lowered).map(at),
        }
    }

    /// Start from what an earlier run kept, `now` being `wall` on the
    /// clock. Sends that left the window are dropped; sends "in the future"
    /// (a clock set back) count as sent now; a pause is held at most
    /// [`MAX_KEPT_PAUSE`]; a lowered allowance grows back for every window
    /// that passed since, as it would have in one long run.
    pub fn resume(&mut self, kept: &KeptWindow, now: Instant, wall: SystemTime) {
        let wall = unix_ms(wall);
        let age = |ms: u64| Duration::from_millis(wall.saturating_sub(ms));
        if self.max_allowed > 0 {
            let mut sends: Vec<Instant> = kept
                .sends
                .iter()
                .map(|ms| age(*ms))
                .filter(|age| *age < self.window)
                .filter_map(|age| now.checked_sub(age))
                .collect();
            sends.sort();
            let over = sends.len().saturating_sub(self.max_allowed);
            self.sent = sends.into_iter().skip(over).collect();
            if let Some(allowed) = kept.allowed {
                let since = kept.adjusted_at.map(age).unwrap_or_default();
                let windows = (since.as_nanos() / self.window.as_nanos().max(1)) as usize;
                let allowed = allowed.saturating_add(windows.saturating_mul(step(self.max_allowed)));
                // A new run starts at half the allowance at least: what was
                // kept may be damaged (0 would crawl at one request a
                // window), and a PSA still refusing cuts it again at once.
                self.allowed = allowed.clamp((self.max_allowed / 2).max(1), self.max_allowed);
                if self.allowed < self.max_allowed {
                    let into = Duration::from_nanos((since.as_nanos() % self.window.as_nanos().max(1)) as u64);
                    self.adjusted_at = Some(now.checked_sub(into).unwrap_or(now));
                }
            }
        }
        if let Some(until) = kept.paused_until.filter(|until| *until > wall) {
            let left = kept.paused_for.map_or(MAX_KEPT_PAUSE, Duration::from_millis);
            let held = Duration::from_millis(until - wall).min(left).min(MAX_KEPT_PAUSE);
            self.paused_until = Some(self.paused_until.map_or(now + held, |t| t.max(now + held)));
        }
    }
}

/// A tenth of the allowance, at least one request.
fn step(max_allowed: usize) -> usize {
    (max_allowed / 10).max(1)
}

/// Where a pacer hands every change of its window (see the module doc).
/// Called with the pacer's lock released; must not block for long.
pub type WindowKeeper = Box<dyn Fn(KeptWindow) + Send + Sync>;

/// The shared, async face of [`SlidingWindow`] for one integration.
pub struct Pacer {
    window: Mutex<SlidingWindow>,
    keeper: Option<WindowKeeper>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").field("window", &self.window).field("kept", &self.keeper.is_some()).finish()
    }
}

impl Pacer {
    /// Paced to `rate` (with margins); `None`: unlimited, yet paused by 429s.
    pub fn new(rate: Option<RateLimit>, headroom: f64) -> Self {
        let window = match rate {
            Some(rate) => SlidingWindow::for_rate(rate, headroom),
            None => SlidingWindow::new(0, Duration::ZERO),
        };
        Pacer { window: Mutex::new(window), keeper: None }
    }

    /// Start from what an earlier run kept, and hand every change to
    /// `keeper` from now on.
    pub fn resume(mut self, kept: Option<&KeptWindow>, keeper: Option<WindowKeeper>) -> Self {
        if let (Some(kept), Ok(window)) = (kept, self.window.get_mut()) {
            window.resume(kept, Instant::now(), SystemTime::now());
        }
        self.keeper = keeper;
        self
    }

    /// Hand the window to the keeper, if there is one and anything is
    /// worth keeping (an unlimited pacer logs no sends).
    fn keep(&self, kept: KeptWindow) {
        if let Some(keeper) = &self.keeper {
            keeper(kept);
        }
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
                        Ok(()) => {
                            let logged = w.max_allowed > 0 && w.max_allowed <= MAX_KEPT_SENDS;
                            let kept = (self.keeper.is_some() && logged).then(|| w.keep(now, SystemTime::now()));
                            drop(w);
                            if let Some(kept) = kept {
                                self.keep(kept);
                            }
                            return Ok(());
                        }
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
        let kept = match self.window.lock() {
            Ok(mut w) => {
                let now = Instant::now();
                w.rate_limited(now, retry_after);
                self.keeper.is_some().then(|| w.keep(now, SystemTime::now()))
            }
            Err(_) => None,
        };
        if let Some(kept) = kept {
            self.keep(kept);
        }
    }

    /// Sends allowed per window now, with no 429 seen, and the window
    /// (with Ferry's slack); all 0 when unlimited.
    pub fn pace(&self) -> (usize, usize, Duration) {
        self.window.lock().map(|w| (w.allowed, w.max_allowed, w.window)).unwrap_or((0, 0, Duration::ZERO))
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

    /// A random published limit (1-200 requests per 1-120 s) and the
    /// generator to go on with, for seed `seed`.
    fn random_rate(seed: u64) -> (StdRng, RateLimit) {
        let mut rng = StdRng::seed_from_u64(seed);
        let requests = rng.random_range(1..=200u32);
        let per_seconds = rng.random_range(1..=120u32);
        (rng, RateLimit { requests, per_seconds })
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
            let (mut rng, rate) = random_rate(seed);
            let (limit, per) = (rate.requests, rate.per_seconds);
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
    fn repeated_429s_within_a_window_lower_the_allowance_once() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::for_rate(RateLimit { requests: 180, per_seconds: 60 }, 0.97);
        for i in 0..6 {
            let at = t0 + Duration::from_secs(i);
            w.rate_limited(at, Some(Duration::from_secs(1)));
            assert!(w.try_acquire(at + Duration::from_secs(1)).is_ok(), "each one-second pause ends");
        }
        assert_eq!(w.allowed(), 174 - 17, "six 429s in six seconds: one cut");
        // A 429 a window later cuts again.
        w.rate_limited(t0 + W + WINDOW_SLACK, Some(Duration::from_secs(1)));
        assert_eq!(w.allowed(), 174 - 2 * 17);
    }

    #[test]
    fn refusals_in_every_window_keep_lowering_the_allowance_and_none_give_it_back() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::for_rate(RateLimit { requests: 180, per_seconds: 60 }, 0.97);
        // A PSA that really allows far less: a 429 every 20 s for four windows.
        let mut allowances = Vec::new();
        for i in 0..13u64 {
            let at = t0 + Duration::from_secs(20 * i);
            w.rate_limited(at, Some(Duration::from_secs(1)));
            assert!(w.try_acquire(at + Duration::from_secs(1)).is_ok());
            allowances.push(w.allowed());
        }
        assert!(allowances.windows(2).all(|p| p[1] <= p[0]), "never given back while 429s go on: {allowances:?}");
        assert!(w.allowed() <= 174 - 3 * 17, "cut once a window, four windows: {allowances:?}");
        // Then a quiet window gives a tenth back.
        let quiet = t0 + Duration::from_secs(20 * 12) + W + WINDOW_SLACK;
        let before = w.allowed();
        assert!(w.try_acquire(quiet).is_ok());
        assert_eq!(w.allowed(), before + 17);
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

    /// The wall clock of a fake instant (an arbitrary, fixed epoch offset).
    fn wall(t0: Instant, now: Instant) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000) + now.duration_since(t0)
    }

    /// A new process's window: fresh, resumed from what the last one kept.
    fn restarted(old: &SlidingWindow, rate: RateLimit, t0: Instant, now: Instant) -> SlidingWindow {
        let kept = old.keep(now, wall(t0, now));
        let json = serde_json::to_string(&kept).expect("kept window serialises");
        let kept: KeptWindow = serde_json::from_str(&json).expect("and reads back");
        let mut fresh = SlidingWindow::for_rate(rate, 0.97);
        fresh.resume(&kept, now, wall(t0, now));
        fresh
    }

    #[test]
    fn runs_back_to_back_never_exceed_the_window_together_property() {
        for seed in 0..300u64 {
            let (mut rng, rate) = random_rate(seed);
            let (limit, per) = (rate.requests, rate.per_seconds);
            let mut w = SlidingWindow::for_rate(rate, 0.97);
            let allowed = w.allowed();
            let t0 = Instant::now() + Duration::from_secs(100_000);
            let mut now = t0;
            let mut sends = Vec::new();
            // Several runs, each a burst of requests, the next process
            // starting a random (often short) while after the last.
            for _run in 0..rng.random_range(2..6) {
                for _ in 0..rng.random_range(1..=2 * limit as usize) {
                    loop {
                        match w.try_acquire(now) {
                            Ok(()) => break,
                            Err(at) => now = at,
                        }
                    }
                    sends.push(now);
                    if rng.random_bool(0.05) {
                        w.rate_limited(now, Some(Duration::from_millis(rng.random_range(0..3000))));
                    }
                }
                now += Duration::from_millis(rng.random_range(0..u64::from(per) * 1500));
                w = restarted(&w, rate, t0, now);
            }
            let window = Duration::from_secs(u64::from(per));
            assert!(busiest(&sends, window) <= limit as usize, "seed {seed}: over the published limit across runs");
            assert!(busiest(&sends, window + WINDOW_SLACK) <= allowed, "seed {seed}: over the allowance across runs");
        }
    }

    #[test]
    fn a_new_run_waits_for_the_window_the_last_one_filled() {
        let rate = RateLimit { requests: 180, per_seconds: 60 };
        let t0 = Instant::now() + Duration::from_secs(100_000);
        let mut first = SlidingWindow::for_rate(rate, 0.97);
        simulate(&mut first, t0, &[Duration::ZERO; 174]);
        let later = t0 + Duration::from_secs(2);
        let mut second = restarted(&first, rate, t0, later);
        assert_eq!(second.try_acquire(later), Err(t0 + W + WINDOW_SLACK), "the window is still full");
        // A run after the window passed starts empty.
        let much_later = t0 + W + WINDOW_SLACK;
        let mut third = restarted(&first, rate, t0, much_later);
        assert!(third.keep(much_later, wall(t0, much_later)).is_empty());
        assert_eq!(simulate(&mut third, much_later, &[Duration::ZERO; 174]).last().copied(), Some(much_later));
    }

    #[test]
    fn a_window_taken_as_full_waits_one_window() {
        let rate = RateLimit { requests: 180, per_seconds: 60 };
        let t0 = Instant::now() + Duration::from_secs(100_000);
        let mut w = SlidingWindow::for_rate(rate, 0.97);
        w.resume(&KeptWindow::full_at(wall(t0, t0)), t0, wall(t0, t0));
        assert_eq!(w.try_acquire(t0), Err(t0 + W + WINDOW_SLACK));
        let after = t0 + W + WINDOW_SLACK;
        assert!(simulate(&mut w, after, &[Duration::ZERO; 174]).iter().all(|s| *s == after), "then a whole allowance");
    }

    #[test]
    fn a_pause_and_a_lowered_allowance_carry_into_the_next_run() {
        let rate = RateLimit { requests: 100, per_seconds: 60 };
        let t0 = Instant::now() + Duration::from_secs(100_000);
        let mut w = SlidingWindow::for_rate(rate, 0.97);
        assert!(w.try_acquire(t0).is_ok());
        w.rate_limited(t0, Some(Duration::from_secs(30)));
        let at = t0 + Duration::from_secs(5);
        let next = restarted(&w, rate, t0, at);
        assert_eq!(next.held_for(at), Some(Duration::from_secs(25)));
        assert_eq!(next.allowed(), 88, "97 lowered by a tenth");
        // Two windows later the allowance has grown back as in one run.
        let later = t0 + 2 * (W + WINDOW_SLACK);
        let mut after = restarted(&w, rate, t0, later);
        assert_eq!(after.held_for(later), None);
        assert!(after.try_acquire(later).is_ok());
        assert_eq!(after.allowed(), 97);
    }

    #[test]
    fn a_kept_window_from_a_clock_set_back_or_a_far_future_is_bounded() {
        let rate = RateLimit { requests: 10, per_seconds: 60 };
        let t0 = Instant::now() + Duration::from_secs(100_000);
        let now_ms = unix_ms(wall(t0, t0));
        let kept = KeptWindow {
            sends: vec![now_ms + 3_600_000; 50],
            paused_until: Some(now_ms + 86_400_000 * 365),
            paused_for: None,
            allowed: Some(0),
            adjusted_at: Some(now_ms + 5),
        };
        let mut w = SlidingWindow::for_rate(rate, 1.0);
        w.resume(&kept, t0, wall(t0, t0));
        assert_eq!(w.held_for(t0), Some(MAX_KEPT_PAUSE), "a pause is held an hour at most");
        // A pause kept with 30 s to go, read back after the clock was set
        // back ten minutes: still 30 s, not ten minutes and a half.
        let mut paused = SlidingWindow::for_rate(rate, 1.0);
        paused.rate_limited(t0, Some(Duration::from_secs(30)));
        let kept = paused.keep(t0, wall(t0, t0));
        let mut later = SlidingWindow::for_rate(rate, 1.0);
        later.resume(&kept, t0, wall(t0, t0) - Duration::from_secs(600));
        assert_eq!(later.held_for(t0), Some(Duration::from_secs(30)));
        assert_eq!(w.allowed(), 5, "a kept allowance starts a run at half the published one at least");
        let after = t0 + MAX_KEPT_PAUSE;
        assert!(w.try_acquire(after).is_ok(), "sends from the future count as sent at the start, and age out");
    }

    /// A pacer for `requests` a minute whose keeper collects what it is
    /// handed, after `sends` requests went through it.
    fn kept_after(requests: u32, headroom: f64, sends: usize) -> (Pacer, std::sync::Arc<Mutex<Vec<KeptWindow>>>) {
        let kept = std::sync::Arc::new(Mutex::new(Vec::<KeptWindow>::new()));
        let sink = kept.clone();
        let pacer = Pacer::new(Some(RateLimit { requests, per_seconds: 60 }), headroom)
            .resume(None, Some(Box::new(move |k| sink.lock().expect("sink").push(k))));
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        rt.block_on(async {
            for _ in 0..sends {
                assert_eq!(pacer.until_ready(Duration::from_secs(1)).await, Ok(()));
            }
        });
        (pacer, kept)
    }

    #[test]
    fn a_pacer_hands_each_change_to_its_keeper() {
        let (pacer, kept) = kept_after(10, 1.0, 3);
        pacer.rate_limited(Some(Duration::from_secs(9)));
        let kept = kept.lock().expect("kept");
        assert_eq!(kept.iter().map(|k| k.sends.len()).collect::<Vec<_>>(), vec![1, 2, 3, 3]);
        assert!(kept[3].paused_until.is_some() && kept[3].allowed == Some(9));
    }

    #[test]
    fn an_allowance_too_large_to_matter_keeps_no_send_log() {
        let (pacer, kept) = kept_after(1_000_000, 0.97, 100);
        assert!(kept.lock().expect("kept").is_empty(), "no write per request");
        // A 429 is still kept (its pause and the lowered allowance), without sends.
        pacer.rate_limited(Some(Duration::from_secs(5)));
        let kept = kept.lock().expect("kept");
        assert_eq!(kept.len(), 1);
        assert!(kept[0].sends.is_empty() && kept[0].paused_until.is_some() && kept[0].allowed.is_some());
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
