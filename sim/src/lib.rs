//! Simulators of the Syncro, ConnectWise Manage and HaloPSA REST APIs, for
//! Ferry's end-to-end tests, `ferry demo` and benchmarks.
//!
//! Each simulator serves the real API's paths, auth, paging and JSON shapes
//! (per `docs/psa-apis.md`) on 127.0.0.1, from a generated
//! [`world::World`] or a JSON data set in the PSA's native shapes. Records
//! are kept pre-serialised so a page is concatenation, which keeps the
//! simulators far faster than any real PSA even at 100,000 records. Fault
//! switches ([`faults::Faults`]) make them misbehave on request, and a
//! request log ([`requests::RequestRecord`], secrets never recorded) lets
//! tests assert what Ferry asked for.

// Handlers answer errors as ready-made responses; boxing them would only
// add noise to every early return.
#![allow(clippy::result_large_err)]

pub mod cw;
pub mod faults;
pub mod halopsa;
pub mod requests;
pub mod syncro;
mod table;
pub mod world;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use self::faults::{FaultState, Verdict};
pub use self::faults::{Faults, Latency};
pub use self::requests::RequestRecord;
pub(crate) use self::table::{Keep, Rec, Table};
pub use self::world::{Scale, World};

/// Which PSA a simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Psa {
    Syncro,
    Cw,
}

/// State shared by a simulator's handlers.
pub(crate) struct Shared {
    pub(crate) psa: Psa,
    pub(crate) tables: RwLock<std::collections::HashMap<&'static str, Table>>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) fault_state: Mutex<FaultState>,
    pub(crate) log: Mutex<Vec<RequestRecord>>,
    pub(crate) started: Instant,
    pub(crate) resets: AtomicU32,
    /// Bumped by every mutation, so touched records get distinct content.
    pub(crate) revision: AtomicU32,
    /// Requests waiting at the `hold_after` gate.
    pub(crate) held: AtomicU32,
    /// The paths of the requests waiting at the gate, one entry each.
    pub(crate) held_paths: Mutex<Vec<String>>,
    /// Simulated round trip; kept apart from the faults, which tests
    /// replace wholesale.
    pub(crate) latency: Mutex<Latency>,
    /// API requests seen, numbering each one's latency.
    pub(crate) arrivals: AtomicU64,
    /// API requests being answered now, and the most seen at once (a
    /// client's concurrency, as the PSA would see it).
    pub(crate) in_flight: AtomicU32,
    pub(crate) max_in_flight: AtomicU32,
}

/// Counts one request in flight until it is answered (or dropped).
struct InFlight<'s>(&'s Shared);

impl<'s> InFlight<'s> {
    fn new(shared: &'s Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    pub(crate) fn new(psa: Psa, tables: std::collections::HashMap<&'static str, Table>) -> Arc<Self> {
        Arc::new(Shared {
            psa,
            tables: RwLock::new(tables),
            faults: Mutex::new(Faults::default()),
            fault_state: Mutex::new(FaultState::default()),
            log: Mutex::new(Vec::new()),
            started: Instant::now(),
            resets: AtomicU32::new(0),
            revision: AtomicU32::new(0),
            held: AtomicU32::new(0),
            held_paths: Mutex::new(Vec::new()),
            latency: Mutex::new(Latency::default()),
            arrivals: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            max_in_flight: AtomicU32::new(0),
        })
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults.lock().map(|f| f.clone()).unwrap_or_default()
    }

    pub(crate) fn with_table<T>(&self, name: &str, f: impl FnOnce(&Table) -> T) -> Option<T> {
        let tables = self.tables.read().ok()?;
        tables.get(name).map(f)
    }

    pub(crate) fn with_table_mut<T>(&self, name: &str, f: impl FnOnce(&mut Table) -> T) -> Option<T> {
        let mut tables = self.tables.write().ok()?;
        tables.get_mut(name).map(f)
    }

    /// The record id the vanish fault hides now, if any.
    pub(crate) fn vanished_id(&self) -> Option<u64> {
        let id = self.faults().vanish_after_first_page?.parse::<u64>().ok()?;
        self.fault_state.lock().map(|s| s.vanished).unwrap_or(false).then_some(id)
    }

    /// Run `f` over one listing of `table` (see [`Table::select`]): the
    /// records of `parent` that `keep` accepts, in `order`, minus the one
    /// the vanish fault hides. `key` must name every parameter `keep`
    /// depends on.
    pub(crate) fn with_listing<T>(
        &self,
        table: &str,
        key: &str,
        order: table::Order,
        parent: Option<u64>,
        keep: Option<Keep<'_>>,
        f: impl FnOnce(&Table, &table::Selection) -> T,
    ) -> Option<T> {
        let hidden = self.vanished_id();
        let visible = |r: &Rec| Some(r.id) != hidden && keep.is_none_or(|k| k(r));
        let (key, keep): (String, Option<Keep<'_>>) = match hidden {
            Some(id) => (format!("{key}|hidden={id}"), Some(&visible)),
            None => (key.to_string(), keep),
        };
        self.with_table(table, |t| {
            let listing = t.select(&key, order, parent, keep);
            f(t, &listing)
        })
    }

    pub(crate) fn mark_first_page_served(&self) {
        if self.faults().vanish_after_first_page.is_some()
            && let Ok(mut s) = self.fault_state.lock()
        {
            s.vanished = true;
        }
    }
}

/// A running simulator bound to 127.0.0.1. Dropping it stops it.
pub struct Simulator {
    addr: SocketAddr,
    api_root: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Simulator {
    pub(crate) async fn serve(
        shared: Arc<Shared>,
        api_router: Router,
        api_prefix: &str,
        port: u16,
    ) -> std::io::Result<Self> {
        let api = api_router.layer(axum::middleware::from_fn_with_state(shared.clone(), fault_layer));
        let app = Router::new().merge(api).nest("/_sim", requests::admin_router(shared.clone()));
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let listener = ResettingListener { inner: listener, shared: shared.clone() };
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!(error = %e, "simulator stopped");
            }
        });
        Ok(Simulator {
            addr,
            api_root: format!("http://{addr}{api_prefix}"),
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The site root: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API root: Syncro `…/api/v1`, CW `…/v4_6_release/apis/3.0`.
    pub fn api_url(&self) -> String {
        self.api_root.clone()
    }

    pub fn psa(&self) -> Psa {
        self.shared.psa
    }

    /// API requests served so far (admin requests are not logged).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        if let Ok(mut l) = self.shared.log.lock() {
            l.clear();
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        requests::set_faults(&self.shared, faults);
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    /// Delay every API response by a simulated round trip (see [`Latency`]).
    pub fn set_latency(&self, latency: Latency) {
        if let Ok(mut l) = self.shared.latency.lock() {
            *l = latency;
        }
    }

    /// Let `n` more API requests through, then hold every further one
    /// unanswered until [`Simulator::release`].
    pub fn hold_after(&self, n: u32) {
        let mut faults = self.faults();
        faults.hold_after = Some(n);
        self.set_faults(faults);
    }

    /// Requests waiting at the hold gate now.
    pub fn held(&self) -> u32 {
        self.shared.held.load(Ordering::SeqCst)
    }

    /// The paths of the requests waiting at the hold gate now, sorted, one
    /// entry per request: which streams have a read in flight.
    pub fn held_paths(&self) -> Vec<String> {
        let mut paths = self.shared.held_paths.lock().map(|p| p.clone()).unwrap_or_default();
        paths.sort();
        paths
    }

    /// The most API requests this simulator was answering at once since it
    /// started or since [`Simulator::reset_max_in_flight`].
    pub fn max_in_flight(&self) -> u32 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn reset_max_in_flight(&self) {
        self.shared.max_in_flight.store(self.shared.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Open the hold gate: waiting requests are answered.
    pub fn release(&self) {
        let mut faults = self.faults();
        faults.hold_after = None;
        self.set_faults(faults);
    }

    /// Add a record of `kind` like `template_id` under a new id and name (a
    /// record created in the PSA); returns the new id.
    pub fn add_like(&self, kind: &str, template_id: &str, name: &str) -> Option<String> {
        let id = requests::add_like(&self.shared, kind, template_id)?;
        requests::rename(&self.shared, kind, &id, name).then_some(id)
    }

    /// Change `count` records of `kind` visibly and bump their update time;
    /// returns their ids.
    pub fn touch(&self, kind: &str, count: usize) -> Vec<String> {
        requests::touch(&self.shared, kind, count)
    }

    /// Remove a record from listings (a deletion in the PSA).
    pub fn remove(&self, kind: &str, id: &str) -> bool {
        requests::remove(&self.shared, kind, id)
    }

    /// Add a record (a creation in the PSA) in the PSA's own JSON shape,
    /// with a numeric `id` not yet taken. Listings are in id order, so a
    /// low id shifts every later page by one. False when the id is taken.
    pub fn add(&self, kind: &str, record: &serde_json::Value) -> bool {
        requests::add(&self.shared, kind, record)
    }

    /// Rename a record.
    pub fn rename(&self, kind: &str, id: &str, new_name: &str) -> bool {
        requests::rename(&self.shared, kind, id, new_name)
    }

    /// Change fields of a stored record in place, leaving its place in
    /// listings (its numeric key) as it was: `patch` holds the top-level
    /// fields to set, in the PSA's own shape. Lets a test serve records the
    /// API allows but Ferry finds odd (a negative `id`, a `dateResolved`
    /// that is not a time). False when there is no such record.
    pub fn patch(&self, kind: &str, id: &str, patch: &serde_json::Value) -> bool {
        requests::patch(&self.shared, kind, id, patch)
    }

    /// Records of a kind, as the PSA would return them (for assertions).
    pub fn records(&self, kind: &str) -> Vec<serde_json::Value> {
        let table = requests::table_name(self.shared.psa, kind);
        self.shared
            .with_table(table, |t| t.rows().iter().filter_map(|r| serde_json::from_str(&r.json).ok()).collect())
            .unwrap_or_default()
    }

    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Applies the fault switches and records every API request.
async fn fault_layer(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let _in_flight = InFlight::new(&shared);
    let n = shared.arrivals.fetch_add(1, Ordering::Relaxed);
    let round_trip = shared.latency.lock().map(|l| l.delay(n)).unwrap_or_default();
    // Half the round trip brings the request to the PSA, which counts it
    // against its rate limit on arrival; the other half brings the answer back.
    let there = round_trip / 2;
    if !there.is_zero() {
        tokio::time::sleep(there).await;
    }
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(requests::redact_query);
    let not_found = shared.faults().not_found_paths.iter().any(|p| path.ends_with(p.as_str()));
    let (verdict, delay, malformed, truncated, hold) = {
        let mut faults = match shared.faults.lock() {
            Ok(f) => f,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        let verdict = match shared.fault_state.lock() {
            Ok(mut s) => s.admit(&mut faults, Instant::now()),
            Err(_) => Verdict::Pass,
        };
        let hold = match &mut faults.hold_after {
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                false
            }
            None => false,
        };
        (verdict, faults.delay_ms, faults.malformed_json, faults.truncated_json, hold)
    };
    if hold {
        if let Ok(mut paths) = shared.held_paths.lock() {
            paths.push(path.clone());
        }
        shared.held.fetch_add(1, Ordering::SeqCst);
        while shared.faults().hold_after.is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        shared.held.fetch_sub(1, Ordering::SeqCst);
        if let Ok(mut paths) = shared.held_paths.lock()
            && let Some(at) = paths.iter().position(|p| *p == path)
        {
            paths.remove(at);
        }
    }
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let response = match verdict {
        Verdict::Pass if not_found => error_response(shared.psa, StatusCode::NOT_FOUND, "Not found"),
        Verdict::RateLimited { retry_after } => {
            let mut r = error_response(shared.psa, StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            if let Some(s) = retry_after
                && let Ok(v) = HeaderValue::from_str(&s.to_string())
            {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
        Verdict::Fail { status, retry_after } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = error_response(shared.psa, code, "Simulated server error");
            if let Some(s) = retry_after
                && let Ok(v) = HeaderValue::from_str(&s.to_string())
            {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
        Verdict::Revoked => error_response(shared.psa, StatusCode::UNAUTHORIZED, "Not authorized"),
        Verdict::Pass => {
            let response = next.run(request).await;
            corrupt_if_asked(&shared, response, malformed, truncated).await
        }
    };
    requests::log(&shared, method, path, query, response.status().as_u16());
    let back = round_trip - there;
    if !back.is_zero() {
        tokio::time::sleep(back).await;
    }
    response
}

/// Corrupt a successful list response when a malformed/truncated switch is on.
async fn corrupt_if_asked(shared: &Shared, response: Response, malformed: u32, truncated: u32) -> Response {
    if response.status() != StatusCode::OK || (malformed == 0 && truncated == 0) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let is_list = bytes.first() == Some(&b'[') || bytes.windows(8).any(|w| w == b"\"meta\":{") || bytes.len() > 200;
    if !is_list {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let Ok(mut faults) = shared.faults.lock() else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let body = if faults.malformed_json > 0 {
        faults.malformed_json -= 1;
        Body::from("<html><body>502 Bad Gateway</body></html>")
    } else if faults.truncated_json > 0 {
        faults.truncated_json -= 1;
        Body::from(bytes.slice(..bytes.len() / 2))
    } else {
        Body::from(bytes)
    };
    let mut parts = parts;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}

/// An error body in the PSA's own shape.
pub(crate) fn error_response(psa: Psa, status: StatusCode, message: &str) -> Response {
    let body = match psa {
        Psa::Syncro => serde_json::json!({ "error": message }),
        Psa::Cw => serde_json::json!({ "code": code_for(status), "message": message, "errors": null }),
    };
    (status, axum::Json(body)).into_response()
}

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "InvalidObject",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        429 => "ConnectWiseAPI",
        _ => "ServerError",
    }
}

/// A TCP listener that can reset connections on request
/// ([`Faults::reset_connections`]): the next request read on any
/// connection is answered with a TCP reset.
struct ResettingListener {
    inner: TcpListener,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for ResettingListener {
    type Io = ResettingIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (ResettingIo { inner: stream, shared: self.shared.clone() }, addr);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

struct ResettingIo {
    inner: TcpStream,
    shared: Arc<Shared>,
}

impl ResettingIo {
    fn take_reset(&self) -> bool {
        let armed = self.shared.faults.lock().map(|f| f.reset_connections).unwrap_or(0);
        if armed == 0 {
            return false;
        }
        if let Ok(mut f) = self.shared.faults.lock()
            && f.reset_connections > 0
        {
            f.reset_connections -= 1;
            self.shared.resets.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }
}

impl AsyncRead for ResettingIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result
            && buf.filled().len() > before
            && self.take_reset()
        {
            let _ = self.inner.set_zero_linger();
            return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated reset")));
        }
        result
    }
}

impl AsyncWrite for ResettingIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
