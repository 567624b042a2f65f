//! Native unit tests of connector logic: a scripted [`FakeHttp`] in place of
//! the host's `http` import, captured [`logs`], a `state` store that keeps
//! values across calls as the host does (cleared with [`clear_state`]), and
//! a movable clock.
//!
//! Only compiled natively (never into a component). Everything is per
//! thread, and the test harness runs each test on its own thread, so tests
//! do not see each other's fakes.
//!
//! ```ignore
//! use ferry_sdk::testing::{FakeHttp, Reply};
//!
//! let http = FakeHttp::new()
//!     .on(Method::Post, "https://auth.example/auth/token", Reply::json(200, r#"{"access_token":"t","expires_in":3600}"#))
//!     .on(Method::Get, "/api/Client?page_no=1", Reply::json(200, r#"{"record_count":1,"clients":[…]}"#));
//! let _installed = http.install();
//! let page = ferry_sdk::connector::read::<MyPsa>(config, StreamKind::Companies, None, None).unwrap();
//! assert_eq!(http.count(Method::Post, "/auth/token"), 1);
//! ```

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use crate::bindings::ferry::connector::http::{HttpError, Method, Request, Response};
use crate::bindings::ferry::connector::log::Level;
use crate::bindings::ferry::connector::state::StateError;
use crate::http::method_name;

pub mod golden;
pub mod hostile;

/// How many log lines a thread keeps (the oldest are dropped).
const LOG_KEEP: usize = 10_000;

thread_local! {
    static INSTALLED: RefCell<Option<FakeHttp>> = const { RefCell::new(None) };
    static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    static CLOCK: Cell<u64> = const { Cell::new(0) };
    /// key → (value, expires at in seconds since the epoch).
    static STATE: RefCell<BTreeMap<String, (String, Option<u64>)>> = const { RefCell::new(BTreeMap::new()) };
}

/// What the fake answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Response { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    Error(HttpError),
}

impl Reply {
    /// A JSON answer with `content-type: application/json`.
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply::Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into().into_bytes(),
        }
    }

    /// A JSON answer from a `serde_json::Value`.
    pub fn value(status: u16, value: &serde_json::Value) -> Reply {
        Reply::json(status, value.to_string())
    }

    /// A plain answer.
    pub fn status(status: u16, body: impl Into<String>) -> Reply {
        Reply::Response { status, headers: Vec::new(), body: body.into().into_bytes() }
    }

    /// A transport failure as the host would report it.
    pub fn error(error: HttpError) -> Reply {
        Reply::Error(error)
    }

    /// Add a response header (name lowercased, as the host delivers them).
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Response { headers, .. } = &mut self {
            headers.push((name.to_ascii_lowercase(), value.to_string()));
        }
        self
    }
}

/// A request the connector sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Sent {
    /// The first value of request header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The URL's path (no origin, no query).
    pub fn path(&self) -> &str {
        split_url(&self.url).1
    }

    /// The value of query parameter `name`, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        crate::http::form_decode(split_url(&self.url).2).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The value of form field `name` in a form-encoded body.
    pub fn form_value(&self, name: &str) -> Option<String> {
        let body = String::from_utf8_lossy(self.body.as_deref().unwrap_or_default()).into_owned();
        crate::http::form_decode(&body).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

struct Route {
    method: Method,
    pattern: String,
    /// Answers in order; the last one repeats.
    replies: VecDeque<Reply>,
}

#[derive(Default)]
struct Inner {
    routes: Vec<Route>,
    sent: Vec<Sent>,
    /// The length of each `send-batch`, in order.
    batches: Vec<usize>,
}

/// Scripted HTTP for native unit tests: routes by method and URL, records
/// every request for assertions.
///
/// A pattern is a full URL (`https://h/api/x`) or a path (`/api/x`); its
/// query parameters, if any, must all be present with those values (others
/// may be there too). Routing the same method and pattern again queues
/// another answer: answers are given in order and the last repeats. A
/// request no route matches panics, naming the request and the routes.
#[derive(Clone, Default)]
pub struct FakeHttp {
    inner: Rc<RefCell<Inner>>,
}

impl FakeHttp {
    pub fn new() -> FakeHttp {
        FakeHttp::default()
    }

    /// Answer `method pattern` with `reply` (queued after earlier replies
    /// to the same route).
    pub fn on(self, method: Method, pattern: &str, reply: Reply) -> FakeHttp {
        {
            let mut inner = self.inner.borrow_mut();
            match inner.routes.iter_mut().find(|r| r.method == method && r.pattern == pattern) {
                Some(route) => route.replies.push_back(reply),
                None => inner.routes.push(Route { method, pattern: pattern.to_string(), replies: [reply].into() }),
            }
        }
        self
    }

    /// Make this the fake the current thread's host imports use, until the
    /// returned guard is dropped.
    #[must_use = "the fake is uninstalled when the guard is dropped"]
    pub fn install(&self) -> Installed {
        INSTALLED.with(|i| *i.borrow_mut() = Some(self.clone()));
        Installed { _private: () }
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<Sent> {
        self.inner.borrow().sent.clone()
    }

    /// The length of each batch sent ([`crate::http::send_batch`]), in
    /// order; its requests are in [`FakeHttp::requests`] too, answered in
    /// their order as the host would.
    pub fn batches(&self) -> Vec<usize> {
        self.inner.borrow().batches.clone()
    }

    /// The requests that match `method pattern` (same rules as routes).
    pub fn requests_to(&self, method: Method, pattern: &str) -> Vec<Sent> {
        self.inner.borrow().sent.iter().filter(|s| s.method == method && matches(pattern, &s.url)).cloned().collect()
    }

    /// How many requests matched `method pattern`.
    pub fn count(&self, method: Method, pattern: &str) -> usize {
        self.requests_to(method, pattern).len()
    }

    fn answer(&self, request: &Request) -> Result<Response, HttpError> {
        let mut inner = self.inner.borrow_mut();
        inner.sent.push(Sent {
            method: request.method,
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        });
        let found = inner.routes.iter_mut().find(|r| r.method == request.method && matches(&r.pattern, &request.url));
        let Some(route) = found else {
            let routes: Vec<String> =
                inner.routes.iter().map(|r| format!("{} {}", method_name(r.method), r.pattern)).collect();
            drop(inner);
            panic!(
                "FakeHttp: no route for {} {}; routes: {}",
                method_name(request.method),
                request.url,
                routes.join(", ")
            );
        };
        let reply = if route.replies.len() > 1 { route.replies.pop_front() } else { route.replies.front().cloned() };
        match reply {
            Some(Reply::Response { status, headers, body }) => Ok(Response { status, headers, body }),
            Some(Reply::Error(e)) => Err(e),
            None => Err(HttpError::Other("FakeHttp: route without a reply".into())),
        }
    }
}

/// Keeps a [`FakeHttp`] installed; uninstalls it when dropped.
pub struct Installed {
    _private: (),
}

impl Drop for Installed {
    fn drop(&mut self) {
        INSTALLED.with(|i| *i.borrow_mut() = None);
    }
}

/// Log lines emitted on this thread so far.
pub fn logs() -> Vec<(Level, String)> {
    LOGS.with(|l| l.borrow().clone())
}

/// Move this thread's clock forward (e.g. past a token's lifetime).
pub fn advance_clock(seconds: u64) {
    CLOCK.with(|c| c.set(c.get().saturating_add(seconds)));
}

/// Mark the start of another call. Since contract 0.3 a call's fresh
/// instance still sees the integration's `state`, so this forgets nothing;
/// it is here so a test reads as the host's sequence of calls.
pub fn new_call() {}

/// Forget this thread's connector state, as the host does before retrying
/// a call that returned `token-expired`, or when the integration's config
/// or secrets change.
pub fn clear_state() {
    STATE.with(|s| s.borrow_mut().clear());
}

/// This thread's connector state (keys and values, expired ones left out),
/// for assertions.
pub fn state() -> Vec<(String, String)> {
    let now = crate::host::now_secs();
    STATE.with(|s| {
        s.borrow()
            .iter()
            .filter(|(_, (_, expires))| expires.is_none_or(|e| e > now))
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    })
}

pub(crate) fn fake_state_get(key: &str) -> Option<String> {
    let now = crate::host::now_secs();
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        match s.get(key) {
            Some((_, Some(expires))) if *expires <= now => {
                s.remove(key);
                None
            }
            Some((value, _)) => Some(value.clone()),
            None => None,
        }
    })
}

/// As the host: keys checked, keys and values together capped at
/// [`crate::state::MAX_BYTES`] (nothing stored on refusal), TTL 0 is gone
/// at once.
pub(crate) fn fake_state_set(key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), StateError> {
    if !crate::state::valid_key(key) {
        return Err(StateError::InvalidKey(key.to_string()));
    }
    let now = crate::host::now_secs();
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let others: usize = s.iter().filter(|(k, _)| k.as_str() != key).map(|(k, (v, _))| k.len() + v.len()).sum();
        if others + key.len() + value.len() > crate::state::MAX_BYTES {
            return Err(StateError::TooLarge(crate::state::MAX_BYTES as u32));
        }
        let expires = ttl_seconds.map(|t| now.saturating_add(u64::from(t)));
        s.insert(key.to_string(), (value.to_string(), expires));
        Ok(())
    })
}

pub(crate) fn fake_state_delete(key: &str) {
    STATE.with(|s| s.borrow_mut().remove(key));
}

pub(crate) fn clock_offset() -> u64 {
    CLOCK.with(Cell::get)
}

pub(crate) fn fake_send(request: &Request) -> Result<Response, HttpError> {
    let fake = INSTALLED.with(|i| i.borrow().clone());
    match fake {
        Some(fake) => fake.answer(request),
        None => Err(HttpError::Other(format!(
            "no FakeHttp installed on this thread for {} {} (native tests: `let _i = FakeHttp::new().on(..).install();`)",
            method_name(request.method),
            request.url
        ))),
    }
}

pub(crate) fn fake_send_batch(requests: &[Request]) -> Vec<Result<Response, HttpError>> {
    let fake = INSTALLED.with(|i| i.borrow().clone());
    if let Some(fake) = &fake {
        fake.inner.borrow_mut().batches.push(requests.len());
    }
    requests.iter().map(fake_send).collect()
}

pub(crate) fn fake_log(level: Level, message: &str) {
    eprintln!("connector log {level:?}: {message}");
    LOGS.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() >= LOG_KEEP {
            l.remove(0);
        }
        l.push((level, message.to_string()));
    });
}

/// (origin, path, query) of an absolute URL; a bare path has no origin.
fn split_url(url: &str) -> (&str, &str, &str) {
    let (before_query, query) = url.split_once('?').unwrap_or((url, ""));
    let after_scheme = before_query.find("://").map(|i| i + 3);
    match after_scheme {
        Some(start) => match before_query[start..].find('/') {
            Some(slash) => (&before_query[..start + slash], &before_query[start + slash..], query),
            None => (before_query, "/", query),
        },
        None => ("", before_query, query),
    }
}

fn matches(pattern: &str, url: &str) -> bool {
    let (p_origin, p_path, p_query) = split_url(pattern);
    let (u_origin, u_path, u_query) = split_url(url);
    if !p_origin.is_empty() && !p_origin.eq_ignore_ascii_case(u_origin) {
        return false;
    }
    if p_path.trim_end_matches('/') != u_path.trim_end_matches('/') {
        return false;
    }
    let wanted = crate::http::form_decode(p_query);
    let given = crate::http::form_decode(u_query);
    wanted.iter().all(|w| given.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Client;

    #[test]
    fn routes_match_origin_path_and_query_subset() {
        assert!(matches("/api/Client", "https://h.example/api/Client?page_no=2"));
        assert!(matches("https://h.example/api/Client?page_no=2", "https://h.example/api/Client?x=1&page_no=2"));
        assert!(!matches("https://h.example/api/Client?page_no=2", "https://h.example/api/Client?page_no=3"));
        assert!(!matches("https://other.example/api/Client", "https://h.example/api/Client"));
        assert!(!matches("/api/Clients", "https://h.example/api/Client"));
    }

    #[test]
    fn replies_come_in_order_and_the_last_repeats() {
        let http = FakeHttp::new().on(Method::Get, "/x", Reply::status(500, "")).on(
            Method::Get,
            "/x",
            Reply::status(200, "ok"),
        );
        let _i = http.install();
        let c = Client::new("https://h.example");
        let statuses: Vec<u16> = (0..3).map(|_| c.get("/x", &[]).map(|r| r.status).unwrap_or(0)).collect();
        assert_eq!(statuses, [500, 200, 200]);
        assert_eq!(http.count(Method::Get, "/x"), 3);
    }

    #[test]
    fn without_a_fake_a_request_is_an_error_not_an_abort() {
        let c = Client::new("https://h.example");
        assert!(matches!(c.get("/x", &[]), Err(crate::prelude::ConnectorError::Other(m)) if m.contains("no FakeHttp")));
    }

    #[test]
    fn logging_natively_is_captured_not_an_abort() {
        crate::log::debug("page 1: 3 records");
        assert!(logs().iter().any(|(_, m)| m == "page 1: 3 records"));
    }

    #[test]
    #[should_panic(expected = "no route for GET https://h.example/y")]
    fn an_unrouted_request_panics_with_the_routes() {
        let http = FakeHttp::new().on(Method::Get, "/x", Reply::status(200, ""));
        let _i = http.install();
        let _ = Client::new("https://h.example").get("/y", &[]);
    }
}
