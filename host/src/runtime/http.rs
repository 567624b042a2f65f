//! The connector's only way out: outbound HTTP as granted by Ferry.
//!
//! Every request is checked against the integration's [`Allowlist`], paced by
//! its [`Pacer`] (the PSA's sliding window; a 429 pauses every request of
//! the integration), sent with a timeout and a response-size cap, and retried
//! when the PSA says "later" (429/503 honouring Retry-After, other 5xx and
//! transport failures with exponential backoff, for idempotent methods only).
//! Redirects are never followed here: a 3xx goes back to the connector, and
//! if it follows the `Location`, that request is checked like any other.
//!
//! Requests in flight are bounded per integration (its `concurrency`
//! option): every request of every stream, a batch's included
//! ([`HttpGate::send_batch`], contract 0.4), takes one of the gate's slots
//! for the time it is on the wire, so a batch overlaps round trips without
//! ever putting more requests before the PSA than the operator allows.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::allowlist::Allowlist;
use super::pacer::{KeptWindow, Pacer, WindowKeeper};
use crate::model::RateLimit;

/// Ferry's limits on outbound HTTP for one integration.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Per request, including reading the body.
    pub timeout: Duration,
    pub max_response_bytes: u64,
    pub max_retries: u32,
    /// First backoff step; doubles per attempt (with jitter).
    pub retry_base: Duration,
    /// A Retry-After longer than this is not waited out: the 429/503 goes
    /// back to the connector, and the run stops resumably.
    pub max_retry_wait: Duration,
    /// Requests allowed in one run (guards against a connector that loops).
    pub request_budget: u64,
    /// Fraction of the PSA's published rate limit Ferry uses, leaving
    /// headroom for clock skew between Ferry and the PSA.
    pub rate_headroom: f64,
    /// Count rate limits over this window instead of the published one,
    /// the allowance scaled to it: for a PSA that enforces its limit over
    /// shorter windows than it publishes (and for tests).
    pub rate_window: Option<Duration>,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout: Duration::from_secs(30),
            max_response_bytes: 32 * 1024 * 1024,
            max_retries: 5,
            retry_base: Duration::from_millis(1000),
            max_retry_wait: Duration::from_secs(120),
            request_budget: 1_000_000,
            rate_headroom: 0.97,
            rate_window: None,
        }
    }
}

/// A request as the connector asked for it.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request produced no response (mirrors the WIT `http-error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpFailure {
    #[error("request refused: {0}")]
    NotAllowed(String),
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    #[error("the run's budget of {0} requests is spent")]
    BudgetExhausted(u64),
    /// The run is stopping (SIGTERM, Ctrl-C, the daemon or console
    /// stopping it): a request not yet on the wire is not sent.
    #[error("not sent: the sync is stopping")]
    Stopped,
    #[error("{0}")]
    Other(String),
}

/// What one integration's HTTP did during a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpStats {
    /// Requests sent (each retry counts).
    pub requests: u64,
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Requests refused by the allowlist.
    pub refused: u64,
    pub bytes_received: u64,
    /// The slowest pace the PSA's 429s brought the integration down to
    /// during the run, when they lowered it: a run that took much longer
    /// than usual says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slowed_to: Option<SlowedPace>,
    /// The longest any request waited for the PSA's rate window (its
    /// allowance spent, by this run or the ones just before it), in ms.
    #[serde(skip_serializing_if = "is_zero")]
    pub window_wait_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A pace lowered after 429s: `allowed` of the `of` requests the published
/// limit allows per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowedPace {
    pub allowed: u64,
    pub of: u64,
    pub window_secs: u64,
}

/// One request as sent (each retry is its own), for `-v` and
/// `ferry runs show ID --requests`. The URL has secrets removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    /// The status, or none when no response came (see `error`).
    pub status: Option<u16>,
    pub error: Option<String>,
    pub millis: u64,
    pub bytes: u64,
}

/// Requests one `send-batch` may hold (the contract documents it): more
/// would let one call queue an unbounded amount of work in the host.
pub const MAX_BATCH: usize = 64;

/// Requests of an integration in flight at once when nothing else is said
/// (the integration option's default, `options::DEFAULT_CONCURRENCY`).
pub const DEFAULT_IN_FLIGHT: usize = 4;

/// Requests of one run kept for `runs show --requests`: the first ones,
/// which show how the run went; the rest are only counted.
pub const KEPT_REQUESTS: usize = 2000;

/// Outbound HTTP for one integration.
pub struct HttpGate {
    client: reqwest::Client,
    allowlist: Allowlist,
    pacer: Arc<Pacer>,
    policy: HttpPolicy,
    stats: Mutex<HttpStats>,
    /// Scrubs secret values from logged URLs.
    redactor: Option<std::sync::Arc<crate::secrets::Redactor>>,
    log: Mutex<Vec<RequestRecord>>,
    /// One permit per request on the wire: the integration's bound on
    /// requests in flight, shared by all its streams and batches.
    in_flight: tokio::sync::Semaphore,
    /// Requests accepted but not yet sent (waiting for a slot or for the
    /// rate limiter): what tests observe instead of timing.
    queued: AtomicUsize,
    /// Raised when the run is asked to stop: requests waiting for a slot,
    /// the window or a retry are answered [`HttpFailure::Stopped`] instead
    /// of being sent, so a stop is not held up by a rate limit's wait.
    stop: Option<Arc<AtomicBool>>,
}

/// How often a request waiting in the gate looks at the stop flag (an
/// `AtomicBool` set from a signal handler, which cannot wake anyone).
const STOP_POLL: Duration = Duration::from_millis(100);

/// Counts a request as queued until it is sent (or given up, or dropped).
struct Queued<'g>(&'g AtomicUsize);

impl<'g> Queued<'g> {
    fn new(counter: &'g AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Queued(counter)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Retries of transport failures (DNS, connect, timeout).
const TRANSPORT_RETRIES: u32 = 2;

const DROPPED_HEADERS: [&str; 6] = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te"];

impl HttpGate {
    pub fn new(client: reqwest::Client, allowlist: Allowlist, rate: Option<RateLimit>, policy: HttpPolicy) -> Self {
        let rate = match (rate, policy.rate_window) {
            (Some(r), Some(window)) => Some(scaled(r, window)),
            (r, _) => r,
        };
        let pacer = Arc::new(Pacer::new(rate, policy.rate_headroom));
        HttpGate {
            client,
            allowlist,
            pacer,
            policy,
            stats: Mutex::new(HttpStats::default()),
            redactor: None,
            log: Mutex::new(Vec::new()),
            in_flight: tokio::sync::Semaphore::new(DEFAULT_IN_FLIGHT),
            queued: AtomicUsize::new(0),
            stop: None,
        }
    }

    /// Stop sending when `stop` is raised (see [`HttpFailure::Stopped`]).
    pub fn with_stop(mut self, stop: Option<Arc<AtomicBool>>) -> Self {
        self.stop = stop;
        self
    }

    fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Resolves once the run is asked to stop; never without a stop flag.
    async fn stopped(&self) {
        match &self.stop {
            None => std::future::pending().await,
            Some(stop) => {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(STOP_POLL).await;
                }
            }
        }
    }

    /// At most `n` (at least 1) requests of this integration in flight at
    /// once.
    pub fn with_in_flight(mut self, n: usize) -> Self {
        self.in_flight = tokio::sync::Semaphore::new(n.max(1));
        self
    }

    /// Pace from the rate window an earlier run left, and hand every change
    /// of it to `keeper` (see [`super::pacer`]).
    pub fn with_kept_window(mut self, kept: Option<&KeptWindow>, keeper: Option<WindowKeeper>) -> Self {
        self.pacer = match Arc::try_unwrap(self.pacer) {
            Ok(pacer) => Arc::new(pacer.resume(kept, keeper)),
            Err(shared) => shared,
        };
        self
    }

    /// Requests accepted and not yet sent.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// The integration's pacer, to share with other gates of the same
    /// integration running at the same time.
    pub fn pacer(&self) -> Arc<Pacer> {
        self.pacer.clone()
    }

    /// Scrub these secrets from the URLs the request log shows.
    pub fn with_redactor(mut self, redactor: std::sync::Arc<crate::secrets::Redactor>) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// The requests kept so far (at most [`KEPT_REQUESTS`]).
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Log one request at info (`-v`) and keep it for the run. The
    /// redactor masks secrets whatever their percent-encoding in the path
    /// or the query (see [`crate::secrets::Redactor`]).
    fn note(&self, req: &OutboundRequest, result: &Result<OutboundResponse, HttpFailure>, millis: u64) {
        let mut url = strip_query_secrets(&req.url);
        if let Some(r) = &self.redactor {
            url = r.gate(&url, 2048);
        }
        let (status, error, bytes) = match result {
            Ok(r) => (Some(r.status), None, r.body.len() as u64),
            Err(e) => (None, Some(e.to_string()), 0),
        };
        let outcome = status.map(|s| s.to_string()).unwrap_or_else(|| error.clone().unwrap_or_default());
        tracing::info!("HTTP {} {url} → {outcome} in {millis} ms, {bytes} bytes", req.method);
        if let Ok(mut log) = self.log.lock()
            && log.len() < KEPT_REQUESTS
        {
            log.push(RequestRecord { method: req.method.to_string(), url, status, error, millis, bytes });
        }
    }

    /// A reqwest client as every gate wants it: no redirects, no proxies
    /// from the environment, bounded connect time.
    pub fn build_client(policy: &HttpPolicy) -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .timeout(policy.timeout)
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .build()
    }

    pub fn allowlist(&self) -> &Allowlist {
        &self.allowlist
    }

    pub fn stats(&self) -> HttpStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Keep (and say at `-v`) how far 429s lowered the pace, if they did.
    fn note_slowed(&self) {
        let (allowed, of, window) = self.pacer.pace();
        if allowed >= of {
            return;
        }
        let now = SlowedPace { allowed: allowed as u64, of: of as u64, window_secs: window.as_secs() };
        let mut lower = false;
        self.bump(|s| {
            if s.slowed_to.is_none_or(|was| now.allowed < was.allowed) {
                s.slowed_to = Some(now);
                lower = true;
            }
        });
        if lower {
            tracing::info!(
                "the PSA answered 429: pacing lowered to {allowed} of {of} requests per {} s; a window without 429s gives back a tenth",
                now.window_secs
            );
        }
    }

    fn bump(&self, f: impl FnOnce(&mut HttpStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    /// Send with allowlist, pacing, retries and caps.
    pub async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, HttpFailure> {
        let url = match self.allowlist.check(&req.url) {
            Ok(url) => url,
            Err(refusal) => {
                self.bump(|s| s.refused += 1);
                tracing::warn!(reason = %refusal, "connector request refused");
                return Err(HttpFailure::NotAllowed(refusal.to_string()));
            }
        };
        let idempotent = matches!(req.method, reqwest::Method::GET | reqwest::Method::HEAD);
        let mut attempt: u32 = 0;
        loop {
            let sent = self.stats().requests;
            if sent >= self.policy.request_budget {
                return Err(HttpFailure::BudgetExhausted(self.policy.request_budget));
            }
            if self.stopping() {
                return Err(HttpFailure::Stopped);
            }
            let queued = Queued::new(&self.queued);
            // A slot first, then the window: the pacer logs a send when it
            // grants it, so the request must be ready to go at once. Either
            // wait ends when the run is asked to stop.
            let slot = tokio::select! {
                biased;
                () = self.stopped() => return Err(HttpFailure::Stopped),
                slot = self.in_flight.acquire() => slot.map_err(|_| HttpFailure::Other("the run is ending".into()))?,
            };
            let waiting = std::time::Instant::now();
            let ready = tokio::select! {
                biased;
                () = self.stopped() => return Err(HttpFailure::Stopped),
                ready = self.pacer.until_ready(self.policy.max_retry_wait) => ready,
            };
            let waited = waiting.elapsed().as_millis() as u64;
            if waited > 0 {
                self.bump(|s| s.window_wait_ms = s.window_wait_ms.max(waited));
            }
            // The flag is looked at between waits only every STOP_POLL: a
            // slot or the window that came free meanwhile must not send a
            // request the stop already cancelled.
            if self.stopping() {
                return Err(HttpFailure::Stopped);
            }
            if let Err(held) = ready {
                // The PSA asked everyone to wait longer than Ferry waits
                // within a run: answered here as the PSA would, without
                // sending (a request now would only extend its penalty).
                tracing::info!("HTTP {} not sent: the PSA asked to wait {} s", req.method, held_secs(held));
                return Ok(held_answer(held));
            }
            // Counted under the lock, so concurrent requests never overrun
            // the budget between the check above and the send.
            if !self.take_from_budget() {
                return Err(HttpFailure::BudgetExhausted(self.policy.request_budget));
            }
            drop(queued);
            let started = std::time::Instant::now();
            let result = self.send_once(&req, url.clone()).await;
            drop(slot);
            self.note(&req, &result, started.elapsed().as_millis() as u64);
            let retry_in = match &result {
                Ok(resp) if resp.status == 429 => {
                    self.bump(|s| s.rate_limited += 1);
                    // Every request of the integration waits, not just this
                    // one: the PSA's window is full for all of them.
                    // However long: the PSA's penalty may grow with every
                    // request it refuses.
                    let wait = retry_after(resp).unwrap_or_else(|| self.backoff(attempt, true));
                    self.pacer.rate_limited(Some(wait));
                    self.note_slowed();
                    Some(wait)
                }
                Ok(resp) if resp.status == 503 => {
                    Some(retry_after(resp).unwrap_or_else(|| self.backoff(attempt, false)))
                }
                Ok(resp) if idempotent && matches!(resp.status, 500 | 502 | 504) => Some(self.backoff(attempt, false)),
                Err(HttpFailure::Timeout(_) | HttpFailure::Unreachable(_)) if idempotent => {
                    Some(self.backoff(attempt, false))
                }
                _ => None,
            };
            // A transport failure (DNS, refused connection) rarely heals in
            // seconds: retry it less than a PSA that answers "later".
            let max =
                if result.is_err() { self.policy.max_retries.min(TRANSPORT_RETRIES) } else { self.policy.max_retries };
            match retry_in {
                Some(wait) if attempt < max && wait <= self.policy.max_retry_wait => {
                    attempt += 1;
                    self.bump(|s| s.retries += 1);
                    tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying PSA request");
                    // After a 429 the pacer holds the retry (and everyone
                    // else) for the wait.
                    if !matches!(&result, Ok(resp) if resp.status == 429) {
                        tokio::select! {
                            biased;
                            () = self.stopped() => return Err(HttpFailure::Stopped),
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                }
                _ => return result,
            }
        }
    }

    /// Send several requests concurrently, each exactly as [`HttpGate::send`]
    /// does (allowlist, pacing, retries, caps, budget, the request log), and
    /// answer in their order. The gate's slots bound how many are on the
    /// wire at once, together with every other request of the integration.
    /// A batch longer than [`MAX_BATCH`] is refused whole, nothing sent.
    ///
    /// A 401 to one request ends the batch at once: the PSA refused the
    /// credentials every request of it carries, and a run-stopping refusal
    /// must reach the connector (and stop the run) without waiting for
    /// requests that may hang until the timeout. Each request not answered
    /// by then is answered with a copy of that 401, marked with
    /// [`CANCELLED_HEADER`], without being sent or awaited any further.
    pub async fn send_batch(
        self: &Arc<Self>,
        requests: Vec<OutboundRequest>,
    ) -> Vec<Result<OutboundResponse, HttpFailure>> {
        if requests.len() > MAX_BATCH {
            let why = format!(
                "a batch of {} requests is refused: at most {MAX_BATCH} per batch (nothing was sent)",
                requests.len()
            );
            return requests.iter().map(|_| Err(HttpFailure::Other(why.clone()))).collect();
        }
        let count = requests.len();
        let mut pending: futures_util::stream::FuturesUnordered<_> = requests
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let sent = self.send_on_task(r);
                async move { (i, sent.await) }
            })
            .collect();
        let mut answers: Vec<Option<Result<OutboundResponse, HttpFailure>>> = (0..count).map(|_| None).collect();
        let mut refusal = None;
        while let Some((i, answer)) = futures_util::StreamExt::next(&mut pending).await {
            if let Ok(resp) = &answer
                && resp.status == 401
            {
                refusal = Some(resp.clone());
            }
            answers[i] = Some(answer);
            if refusal.is_some() {
                break;
            }
        }
        // The requests still pending are dropped here: their slots free, the
        // ones on the wire abandoned.
        drop(pending);
        answers
            .into_iter()
            .map(|answer| match (answer, &refusal) {
                (Some(answer), _) => answer,
                (None, Some(refused)) => Ok(cancelled_by(refused)),
                // Unreachable: the loop ends early only on a refusal.
                (None, None) => Err(HttpFailure::Other("the batch ended before this request was answered".into())),
            })
            .collect()
    }

    /// [`HttpGate::send`] on a task of its own, so the request goes on
    /// (waits for its slot and the window, is sent, its body read, retried)
    /// while the thread that asked is busy: a connector's call runs on the
    /// sync's thread, and while it or Ferry works through one page, the
    /// requests of the other streams and of a batch must not wait for that
    /// thread to look at them. Dropping the answer's future abandons the
    /// request (its task is aborted and its slot freed), as dropping
    /// `send` would.
    pub fn send_on_task(self: &Arc<Self>, req: OutboundRequest) -> OnTask {
        let gate = self.clone();
        let task = async move { gate.send(req).await };
        OnTask(tokio::spawn(tracing::Instrument::instrument(task, tracing::Span::current())))
    }

    /// Count one request against the run's budget, unless it is spent.
    fn take_from_budget(&self) -> bool {
        match self.stats.lock() {
            Ok(mut s) if s.requests < self.policy.request_budget => {
                s.requests += 1;
                true
            }
            Ok(_) => false,
            // A poisoned lock: a panic elsewhere already failed the run.
            Err(_) => true,
        }
    }

    async fn send_once(&self, req: &OutboundRequest, url: url::Url) -> Result<OutboundResponse, HttpFailure> {
        let mut builder = self.client.request(req.method.clone(), url);
        for (name, value) in &req.headers {
            if DROPPED_HEADERS.iter().any(|d| name.eq_ignore_ascii_case(d)) {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut resp = builder.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let cap = self.policy.max_response_bytes;
        if resp.content_length().is_some_and(|len| len > cap) {
            return Err(HttpFailure::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(HttpFailure::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        let len = body.len() as u64;
        self.bump(|s| s.bytes_received += len);
        Ok(OutboundResponse { status, headers, body })
    }

    /// Transport errors without the URL (it may carry a secret in its query).
    fn transport(&self, e: reqwest::Error) -> HttpFailure {
        let e = e.without_url();
        if e.is_timeout() {
            HttpFailure::Timeout(self.policy.timeout)
        } else if e.is_connect() {
            HttpFailure::Unreachable(error_chain(&e))
        } else if e.is_builder() {
            HttpFailure::InvalidUrl(error_chain(&e))
        } else if e.is_body() || e.is_decode() || e.is_request() {
            HttpFailure::Unreachable(error_chain(&e))
        } else {
            HttpFailure::Other(error_chain(&e))
        }
    }

    /// Exponential backoff with jitter; rate-limit answers without a
    /// Retry-After start ten times slower, as PSAs advise (Syncro: 30–60 s).
    fn backoff(&self, attempt: u32, rate_limited: bool) -> Duration {
        let base = if rate_limited { self.policy.retry_base * 10 } else { self.policy.retry_base };
        let exp = base.saturating_mul(1u32 << attempt.min(10));
        let jitter = 0.5 + rand::random::<f64>() * 0.5;
        exp.mul_f64(jitter).min(self.policy.max_retry_wait)
    }
}

/// A request sent by [`HttpGate::send_on_task`]: its answer, and the task
/// aborted if the answer is no longer wanted.
pub struct OnTask(tokio::task::JoinHandle<Result<OutboundResponse, HttpFailure>>);

impl std::future::Future for OnTask {
    type Output = Result<OutboundResponse, HttpFailure>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(answer) => answer,
            Err(e) if e.is_panic() => Err(HttpFailure::Other("sending the request failed inside Ferry".into())),
            Err(_) => Err(HttpFailure::Other("the run is ending".into())),
        })
    }
}

impl Drop for OnTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The header on an answer Ferry gave for a request of a batch it stopped
/// waiting for, because another request of the batch was refused with 401
/// ([`HttpGate::send_batch`]).
pub const CANCELLED_HEADER: &str = "ferry-batch-cancelled";

/// The answer to a request cancelled by `refused` (a 401 to another
/// request of its batch): that refusal, marked as not this request's own.
fn cancelled_by(refused: &OutboundResponse) -> OutboundResponse {
    let mut answer = refused.clone();
    answer.headers.push((
        CANCELLED_HEADER.to_string(),
        "another request of this batch was refused with HTTP 401; this one was not awaited".to_string(),
    ));
    answer
}

/// `rate` counted over `window` instead: the allowance scaled down (at
/// least one request).
fn scaled(rate: RateLimit, window: Duration) -> RateLimit {
    let secs = window.as_secs().clamp(1, u64::from(u32::MAX)) as u32;
    if rate.per_seconds == 0 {
        return rate;
    }
    let requests = (u64::from(rate.requests) * u64::from(secs) / u64::from(rate.per_seconds)).max(1);
    RateLimit { requests: requests.min(u64::from(u32::MAX)) as u32, per_seconds: secs }
}

/// Query parameter names whose values are credentials (`api_key`,
/// `access_token`, `client_secret`, `sig`…), matched as parts of the name.
const SECRET_PARAMS: [&str; 9] = ["key", "token", "secret", "password", "passwd", "signature", "sig", "auth", "code"];

/// `url` with the values of credential-looking query parameters replaced by
/// `***`, so a request log never shows a key passed in the query string.
pub fn strip_query_secrets(url: &str) -> String {
    let Some((base, rest)) = url.split_once('?') else { return url.to_string() };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let lower = name.to_ascii_lowercase();
            let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
            let secret = words.iter().any(|w| SECRET_PARAMS.iter().any(|s| w == s || w.ends_with(s)));
            if secret && !value.is_empty() { format!("{name}=***") } else { pair.to_string() }
        })
        .collect();
    let mut out = format!("{base}?{}", parts.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// A request held by a 429's pause for `held` more, answered without being
/// sent: a 429 with the remaining wait as `Retry-After` (whole seconds,
/// rounded up, so the streams held right after one 429 all state the
/// PSA's own figure), so every connector fails it as rate-limited exactly
/// as it would the PSA's answer. `x-ferry-held` tells it apart.
fn held_answer(held: Duration) -> OutboundResponse {
    OutboundResponse {
        status: 429,
        headers: vec![
            ("retry-after".into(), held_secs(held).to_string()),
            ("x-ferry-held".into(), "not sent: the PSA asked every request to wait".into()),
        ],
        body: Vec::new(),
    }
}

/// `d` in whole seconds, rounded up.
fn held_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(resp: &OutboundResponse) -> Option<Duration> {
    let value = resp.headers.iter().find(|(k, _)| k == "retry-after").map(|(_, v)| v.trim())?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds().max(0);
    Some(Duration::from_millis(secs as u64))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(headers: &[(&str, &str)]) -> OutboundResponse {
        OutboundResponse {
            status: 429,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: vec![],
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(&resp(&[("retry-after", "7")])), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&resp(&[])), None);
        assert_eq!(retry_after(&resp(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])), Some(Duration::ZERO));
        assert_eq!(retry_after(&resp(&[("retry-after", "soon")])), None);
    }

    #[test]
    fn a_shorter_window_scales_the_allowance() {
        let r = RateLimit { requests: 200, per_seconds: 60 };
        assert_eq!(scaled(r, Duration::from_secs(3)), RateLimit { requests: 10, per_seconds: 3 });
        assert_eq!(scaled(RateLimit { requests: 5, per_seconds: 60 }, Duration::from_secs(1)).requests, 1);
    }

    #[test]
    fn query_secrets_are_masked() {
        assert_eq!(
            strip_query_secrets("https://h/x?api_key=abc&page=2&access_token=t&apiKey=k&x=1#f"),
            "https://h/x?api_key=***&page=2&access_token=***&apiKey=***&x=1#f"
        );
        assert_eq!(strip_query_secrets("https://h/x?pageinate=true&page_no=1"), "https://h/x?pageinate=true&page_no=1");
        assert_eq!(strip_query_secrets("https://h/x"), "https://h/x");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let gate = HttpGate::new(
            reqwest::Client::new(),
            Allowlist::default(),
            None,
            HttpPolicy {
                retry_base: Duration::from_millis(100),
                max_retry_wait: Duration::from_secs(1),
                ..Default::default()
            },
        );
        let b0 = gate.backoff(0, false);
        assert!(b0 >= Duration::from_millis(50) && b0 <= Duration::from_millis(100));
        assert!(gate.backoff(3, false) >= Duration::from_millis(400));
        assert!(gate.backoff(20, true) <= Duration::from_secs(1));
    }
}

#[cfg(test)]
#[path = "http_batch_tests.rs"]
mod batch_tests;
