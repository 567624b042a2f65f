//! Who may use the console. One admin token, created on first start and
//! shown once, stored only as an argon2 hash (and a short check, below). A
//! browser trades it at the login page for a session: an HttpOnly,
//! SameSite=Strict cookie naming a random id held in memory (a restart logs
//! everyone out), with a CSRF token every state-changing request must carry.
//! API clients send the token itself as a bearer token.
//!
//! **Rotation.** The stored token is read again on every request (one
//! indexed row on the guard's own connection): when another process
//! replaced it (`ferry serve --new-token [--no-serve]`), the old token stops
//! working here at once and every session made with it ends — sessions carry
//! the token generation (`epoch`) they were made under.
//!
//! **Guessing.** The token is 256 random bits, so guessing cannot succeed;
//! what must be bounded is the work and the noise. A wrong token is refused
//! by a short check of its SHA-256 kept beside the argon2 hash, without
//! running argon2, so anonymous guesses cost microseconds and never delay or
//! lock out the operator: the right token is always accepted, whatever others
//! sent. Only a token that passes the check (the right one) reaches argon2,
//! one at a time. Tokens stored before the check existed go through argon2
//! under a console-wide budget ([`ARGON2_PER_SECOND`]; past it a 429), and
//! gain the check on their first successful use. A client (its address) that
//! keeps sending wrong tokens is answered 429 with `Retry-After` instead of
//! 401, on the sign-in page and the API alike.
//!
//! [`guard`] enforces all of it in front of every route, so no handler can
//! forget a check.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::Problem;
use super::listen::Peer;
use crate::store::Store;

/// The session cookie's name.
pub(super) const COOKIE: &str = "ferry_session";
/// How long a session lives without use.
const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// Wrong tokens a client may send per window; those after are answered 429.
const LOGIN_FAILURES: u32 = 5;
const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Clients whose wrong tokens are counted at once (many addresses must not
/// grow the table without end); past it new addresses are not counted.
const MAX_CLIENTS: usize = 4096;
/// argon2 verifications per second of tokens stored without a quick check
/// (whole console; each costs ~19 MiB and tens of milliseconds).
const ARGON2_PER_SECOND: f64 = 4.0;
/// Bytes of the token's SHA-256 kept as its quick check: 64 bits, so a
/// wrong token passes once in 2^64 guesses (and is then refused by argon2);
/// the 192 bits not kept leave the 256-bit token as unguessable as before.
const CHECK_BYTES: usize = 8;
/// Largest form body the CSRF check reads.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// A message for the next page a session sees (POST-redirect-GET).
#[derive(Debug, Clone)]
pub(crate) struct Flash {
    pub ok: bool,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug)]
struct SessionData {
    csrf: String,
    last_seen: Instant,
    flash: Vec<Flash>,
    /// The token generation it was made under.
    epoch: u64,
}

/// The signed-in browser session of a request (in its extensions).
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub csrf: String,
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The admin token of this generation.
    Admin {
        epoch: u64,
    },
    Wrong,
    /// Not checked now: too many argon2 verifications this second.
    Busy,
}

/// The token as this process knows it.
#[derive(Debug, Default)]
struct Current {
    /// The stored argon2 hash (empty: no token, nothing is accepted).
    hash: String,
    check: Option<[u8; CHECK_BYTES]>,
    /// SHA-256 of the token once argon2 accepted it: later calls compare
    /// that instead of paying argon2 each time.
    verified: Option<[u8; 32]>,
    /// Ticks whenever the stored token changes.
    epoch: u64,
}

/// A token bucket: at most `rate` takes per second, `burst` at once.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Bucket {
        Bucket { rate, burst, tokens: burst, at: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub(crate) struct Auth {
    /// The guard's own connection: reads the stored token per request.
    source: Mutex<Store>,
    current: Mutex<Current>,
    sessions: Mutex<HashMap<String, SessionData>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Budget of argon2 runs for tokens without a quick check.
    budget: Mutex<Bucket>,
    /// One argon2 run at a time.
    argon2: Mutex<()>,
}

/// A new random token: 32 bytes, URL-safe base64, prefixed so that it is
/// recognisable in a secret scanner.
pub(super) fn new_token() -> String {
    format!("ferry_{}", random_b64(32))
}

fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The argon2 (PHC string) hash of a token.
pub(super) fn hash_token(token: &str) -> Result<String, Problem> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Problem::internal(format!("cannot salt the token: {e}")))?;
    Argon2::default()
        .hash_password(token.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Problem::internal(format!("cannot hash the token: {e}")))
}

/// The quick check of a token, as stored (hex).
pub(super) fn quick_check(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes())[..CHECK_BYTES])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_check(s: &str) -> Option<[u8; CHECK_BYTES]> {
    let mut out = [0u8; CHECK_BYTES];
    if s.len() != CHECK_BYTES * 2 || !s.is_ascii() {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Equal without leaking where they differ through timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// The guard over `source` (its own connection to the database); `fresh`
    /// is the token when this process just made it, so its first use needs
    /// no argon2.
    pub(crate) fn new(source: Store, fresh: Option<&str>) -> Result<Auth, Problem> {
        let auth = Auth {
            source: Mutex::new(source),
            current: Mutex::new(Current::default()),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            budget: Mutex::new(Bucket::new(ARGON2_PER_SECOND, ARGON2_PER_SECOND)),
            argon2: Mutex::new(()),
        };
        auth.refresh()?;
        if let Some(token) = fresh
            && let Ok(mut current) = auth.current.lock()
        {
            current.verified = Some(Sha256::digest(token.as_bytes()).into());
        }
        Ok(auth)
    }

    /// Read the stored token; when it changed (rotated by this or another
    /// process), forget the old one and end every session.
    pub(crate) fn refresh(&self) -> Result<(), Problem> {
        let source = self.source.lock().map_err(|_| Problem::internal("the sign-in connection is poisoned"))?;
        let stored = source.read().console_token()?;
        let (hash, check) = match stored {
            Some(t) => (t.hash, t.quick_check.as_deref().and_then(parse_check)),
            None => (String::new(), None),
        };
        let mut current = self.current.lock().map_err(|_| Problem::internal("the sign-in state is poisoned"))?;
        if current.hash != hash {
            let epoch = current.epoch + 1;
            *current = Current { hash, check, verified: None, epoch };
            drop(current);
            if let Ok(mut sessions) = self.sessions.lock() {
                sessions.clear();
            }
        } else if current.check.is_none() {
            current.check = check;
        }
        Ok(())
    }

    fn epoch(&self) -> Option<u64> {
        self.current.lock().ok().map(|c| c.epoch)
    }

    /// Whether `token` is the admin token (call off the async workers: it
    /// may run argon2).
    pub(crate) fn check_token(&self, token: &str) -> Verdict {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let (hash, check, epoch) = {
            let Ok(current) = self.current.lock() else { return Verdict::Wrong };
            if current.verified.is_some_and(|known| same(&known, &digest)) {
                return Verdict::Admin { epoch: current.epoch };
            }
            (current.hash.clone(), current.check, current.epoch)
        };
        if hash.is_empty() {
            return Verdict::Wrong;
        }
        match check {
            // A wrong token ends here, without argon2.
            Some(check) if !same(&digest[..CHECK_BYTES], &check) => return Verdict::Wrong,
            Some(_) => {}
            None => {
                let allowed = self.budget.lock().map(|mut b| b.take()).unwrap_or(false);
                if !allowed {
                    return Verdict::Busy;
                }
            }
        }
        let ok = {
            let _one = self.argon2.lock();
            PasswordHash::new(&hash)
                .map(|parsed| Argon2::default().verify_password(token.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        };
        if !ok {
            return Verdict::Wrong;
        }
        {
            let Ok(mut current) = self.current.lock() else { return Verdict::Wrong };
            // Replaced while argon2 ran: this was the old token.
            if current.epoch != epoch {
                return Verdict::Wrong;
            }
            current.verified = Some(digest);
        }
        if check.is_none()
            && let Ok(mut source) = self.source.lock()
        {
            let check = quick_check(token);
            if let Err(e) = source.transaction(|tx| tx.fill_console_token_check(&hash, &check)) {
                tracing::warn!(error = %e, "cannot store the admin token's quick check");
            }
        }
        Verdict::Admin { epoch }
    }

    /// How long `client` must wait before its wrong tokens are answered 401
    /// again (`None`: not throttled).
    pub(crate) fn throttled(&self, client: IpAddr) -> Option<Duration> {
        let Ok(mut failures) = self.failures.lock() else { return Some(LOGIN_WINDOW) };
        match failures.get(&client) {
            Some((since, n)) if since.elapsed() < LOGIN_WINDOW => {
                (*n > LOGIN_FAILURES).then(|| LOGIN_WINDOW.saturating_sub(since.elapsed()))
            }
            Some(_) => {
                failures.remove(&client);
                None
            }
            None => None,
        }
    }

    /// Count a wrong token from `client`.
    pub(crate) fn failed(&self, client: IpAddr) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() >= MAX_CLIENTS && !failures.contains_key(&client) {
            failures.retain(|_, (since, _)| since.elapsed() < LOGIN_WINDOW);
            if failures.len() >= MAX_CLIENTS {
                return;
            }
        }
        let entry = failures.entry(client).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= LOGIN_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// A session for a token accepted under `epoch`; `None` when the token
    /// was replaced since.
    pub(crate) fn start_session(&self, epoch: u64) -> Option<Session> {
        let session = Session { id: random_b64(32), csrf: random_b64(32) };
        let mut sessions = self.sessions.lock().ok()?;
        if self.epoch()? != epoch {
            return None;
        }
        sessions.retain(|_, s| s.last_seen.elapsed() < SESSION_IDLE);
        sessions.insert(
            session.id.clone(),
            SessionData { csrf: session.csrf.clone(), last_seen: Instant::now(), flash: Vec::new(), epoch },
        );
        Some(session)
    }

    pub(crate) fn end_session(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
    }

    fn session(&self, id: &str) -> Option<Session> {
        let epoch = self.epoch()?;
        let mut sessions = self.sessions.lock().ok()?;
        let data = sessions.get_mut(id)?;
        if data.last_seen.elapsed() >= SESSION_IDLE || data.epoch != epoch {
            sessions.remove(id);
            return None;
        }
        data.last_seen = Instant::now();
        Some(Session { id: id.to_string(), csrf: data.csrf.clone() })
    }

    pub(crate) fn flash(&self, session: &Session, flash: Flash) {
        if let Ok(mut sessions) = self.sessions.lock()
            && let Some(data) = sessions.get_mut(&session.id)
        {
            data.flash.push(flash);
        }
    }

    pub(crate) fn take_flash(&self, session: &Session) -> Vec<Flash> {
        self.sessions
            .lock()
            .ok()
            .and_then(|mut s| s.get_mut(&session.id).map(|d| std::mem::take(&mut d.flash)))
            .unwrap_or_default()
    }
}

/// Check a token off the async workers.
pub(super) async fn verify(state: &AppState, token: String) -> Verdict {
    let state = state.clone();
    tokio::task::spawn_blocking(move || state.auth().check_token(&token)).await.unwrap_or(Verdict::Wrong)
}

/// The client a request comes from, for counting wrong tokens.
pub(super) fn client(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|ConnectInfo(Peer(addr))| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// How a wrong (or unchecked) token is answered: 401, or 429 with
/// `Retry-After` once the client sent too many or argon2 is busy. The
/// failure is counted here.
pub(super) fn refusal(state: &AppState, client: IpAddr, verdict: Verdict) -> Option<(StatusCode, u64)> {
    match verdict {
        Verdict::Admin { .. } => None,
        Verdict::Busy => Some((StatusCode::TOO_MANY_REQUESTS, 1)),
        Verdict::Wrong => {
            state.auth().failed(client);
            Some(match state.auth().throttled(client) {
                Some(wait) => (StatusCode::TOO_MANY_REQUESTS, wait.as_secs().max(1)),
                None => (StatusCode::UNAUTHORIZED, 0),
            })
        }
    }
}

/// Add `Retry-After` to a 429.
pub(super) fn retry_after(mut response: Response, seconds: u64) -> Response {
    if response.status() == StatusCode::TOO_MANY_REQUESTS
        && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The `Set-Cookie` value of a new session (`Secure` when served over TLS).
pub(super) fn session_cookie(id: &str, secure: bool) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}", if secure { "; Secure" } else { "" })
}

pub(super) fn clear_cookie(secure: bool) -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}", if secure { "; Secure" } else { "" })
}

/// The bearer token of `Authorization` (the scheme is case-insensitive,
/// RFC 9110 §11.1).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A state-changing request a browser says came from another site: a
/// second layer under the CSRF token (and SameSite=Strict). `Sec-Fetch-Site`
/// when the browser sends it (a proxy does not change it); else `Origin`,
/// which must name the host the request was sent to. Requests with neither
/// (curl, old browsers) are left to the CSRF token.
fn cross_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::trim);
    if let Some(site) = text("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text("origin") else { return false };
    let Ok(origin) = url::Url::parse(origin) else { return true };
    let Some(host) = origin.host_str() else { return true };
    let authority = match origin.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let default_port = origin.port_or_known_default().map(|p| format!(":{p}")).unwrap_or_default();
    let sent_to = |name| {
        text(name).is_some_and(|h| {
            let h = h.to_ascii_lowercase();
            h == authority || h.strip_suffix(default_port.as_str()) == Some(authority.as_str())
        })
    };
    !(sent_to("host") || sent_to("x-forwarded-host"))
}

/// In front of every route: the stored token is read again (a rotation
/// elsewhere takes effect now); API calls need the bearer token; pages need
/// a session (else the login page); every POST from a session needs its
/// CSRF token, as the `csrf` form field or the `X-CSRF-Token` header, and
/// must not come from another site.
pub(super) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/static/") {
        return next.run(request).await;
    }
    let refreshed = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.auth().refresh()).await
    };
    match refreshed {
        Ok(Ok(())) => {}
        Ok(Err(problem)) => return problem.into_response(),
        Err(e) => return Problem::internal(format!("the sign-in check failed: {e}")).into_response(),
    }
    if path == "/login" {
        return next.run(request).await;
    }
    if path.starts_with("/api/") {
        let client = client(&request);
        let token = bearer(request.headers()).map(str::to_string);
        let verdict = match token {
            Some(token) => verify(&state, token).await,
            None => Verdict::Wrong,
        };
        let Some((status, wait)) = refusal(&state, client, verdict) else {
            return next.run(request).await;
        };
        let problem = if status == StatusCode::TOO_MANY_REQUESTS {
            Problem::new(
                status,
                "too many wrong bearer tokens from this address",
                Some(format!("wait {wait} s; the right token is accepted meanwhile")),
            )
        } else {
            Problem::new(
                status,
                "missing or wrong bearer token",
                Some(
                    "send `Authorization: Bearer <admin token>`; `ferry serve --new-token --no-serve` makes a new one"
                        .to_string(),
                ),
            )
        };
        return retry_after((status, axum::Json(problem.json())).into_response(), wait);
    }
    let session = cookie(request.headers(), COOKIE).and_then(|id| state.auth().session(&id));
    let Some(session) = session else {
        if request.method() == Method::GET || request.method() == Method::HEAD {
            let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let next_param: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
            return Redirect::to(&format!("/login?next={next_param}")).into_response();
        }
        return Problem::forbidden("not signed in").into_response();
    };
    let mut request = request;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        if cross_site(request.headers()) {
            return Problem::new(
                StatusCode::FORBIDDEN,
                "a change sent from another site",
                Some("use the console's own pages; behind a proxy, pass the Host header through".to_string()),
            )
            .into_response();
        }
        let header_token = request.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
        let (parts, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
            Ok(b) => b,
            Err(_) => return Problem::bad_request("the form is too large", None).into_response(),
        };
        let form_token = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
        let given = header_token.or(form_token).unwrap_or_default();
        if !same(given.as_bytes(), session.csrf.as_bytes()) {
            return Problem::forbidden("missing or wrong CSRF token").into_response();
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(session);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    /// An `Auth` over a fresh database holding `token`, as `ferry serve`
    /// stores it (with its quick check, or as an older Ferry did, without).
    fn auth_with(token: &str, with_check: bool) -> (tempfile::TempDir, Store, Auth) {
        let (dir, mut store) = temp_store();
        let hash = hash_token(token).expect("hash");
        let check = with_check.then(|| quick_check(token));
        store.transaction(|tx| tx.set_console_token(&hash, check.as_deref())).expect("store");
        let source = Store::open(store.path()).expect("second connection");
        let auth = Auth::new(source, None).expect("auth");
        (dir, store, auth)
    }

    fn rotate(store: &mut Store) -> String {
        let token = new_token();
        let hash = hash_token(&token).expect("hash");
        store.transaction(|tx| tx.set_console_token(&hash, Some(&quick_check(&token)))).expect("rotate");
        token
    }

    #[test]
    fn token_verifies_only_itself() {
        let token = new_token();
        let (_dir, _store, auth) = auth_with(&token, true);
        assert_eq!(auth.check_token("ferry_wrong"), Verdict::Wrong);
        assert!(matches!(auth.check_token(&token), Verdict::Admin { .. }));
        // The fast path after the first success still refuses others.
        assert_eq!(auth.check_token("ferry_wrong"), Verdict::Wrong);
        assert!(matches!(auth.check_token(&token), Verdict::Admin { .. }));
    }

    /// F4: wrong tokens never run argon2 (so they cost no CPU worth
    /// limiting) and never delay the right one, however many arrive.
    #[test]
    fn wrong_tokens_do_not_crowd_out_the_right_one() {
        let token = new_token();
        let (_dir, _store, auth) = auth_with(&token, true);
        let started = Instant::now();
        for i in 0..2000 {
            assert_eq!(auth.check_token(&format!("ferry_guess{i}")), Verdict::Wrong);
        }
        // 2,000 argon2 runs would take minutes; the quick check takes ms.
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(matches!(auth.check_token(&token), Verdict::Admin { .. }));
    }

    /// A token stored without the quick check (an older Ferry) goes through
    /// argon2 under the console-wide budget, then gains the check.
    #[test]
    fn a_token_without_a_check_is_budgeted_then_gains_one() {
        let token = new_token();
        let (_dir, store, auth) = auth_with(&token, false);
        // A budget of one run that never refills: the second guess waits.
        *auth.budget.lock().expect("lock") = Bucket::new(0.0, 1.0);
        assert_eq!(auth.check_token("ferry_guess1"), Verdict::Wrong);
        assert_eq!(auth.check_token("ferry_guess2"), Verdict::Busy, "argon2 runs are bounded");
        assert_eq!(store.read().console_token().expect("read").expect("token").quick_check, None);
        *auth.budget.lock().expect("lock") = Bucket::new(ARGON2_PER_SECOND, ARGON2_PER_SECOND);
        assert!(matches!(auth.check_token(&token), Verdict::Admin { .. }));
        // Stored with its check from then on: guesses no longer run argon2.
        let stored = store.read().console_token().expect("read").expect("token");
        assert_eq!(stored.quick_check, Some(quick_check(&token)));
        auth.refresh().expect("refresh");
        *auth.budget.lock().expect("lock") = Bucket::new(0.0, 0.0);
        assert_eq!(auth.check_token("ferry_guess3"), Verdict::Wrong, "refused by the check, no budget needed");
    }

    /// F2: a token replaced in the database (by another process) is refused
    /// from the next refresh on, its sessions end, the new one is accepted.
    #[test]
    fn a_rotation_elsewhere_revokes_the_old_token_and_its_sessions() {
        let old = new_token();
        let (_dir, mut store, auth) = auth_with(&old, true);
        let Verdict::Admin { epoch } = auth.check_token(&old) else { panic!("the token is accepted") };
        let session = auth.start_session(epoch).expect("a session");
        assert!(auth.session(&session.id).is_some());
        let new = rotate(&mut store);
        auth.refresh().expect("refresh");
        assert_eq!(auth.check_token(&old), Verdict::Wrong, "the old token is refused");
        assert!(auth.session(&session.id).is_none(), "its session ended");
        // A sign-in checked before the rotation cannot start a session after it.
        assert!(auth.start_session(epoch).is_none());
        let Verdict::Admin { epoch: now } = auth.check_token(&new) else { panic!("the new token is accepted") };
        assert!(now > epoch);
        assert!(auth.start_session(now).is_some());
    }

    #[test]
    fn wrong_tokens_are_throttled_per_address_and_bounded_in_memory() {
        let (_dir, _store, auth) = auth_with(&new_token(), true);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let other: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..LOGIN_FAILURES {
            auth.failed(ip);
            assert!(auth.throttled(ip).is_none(), "{LOGIN_FAILURES} wrong tokens are answered 401");
        }
        auth.failed(ip);
        assert!(auth.throttled(ip).is_some());
        assert!(auth.throttled(other).is_none());
        for i in 0..(MAX_CLIENTS as u32 + 100) {
            auth.failed(IpAddr::from(i.to_be_bytes()));
        }
        assert!(auth.failures.lock().expect("lock").len() <= MAX_CLIENTS);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for (value, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer(&headers), token, "{value}");
        }
    }

    #[test]
    fn changes_from_another_site_are_refused() {
        let h = |pairs: &[(&'static str, &str)]| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(*k, v.parse().expect("header"));
            }
            headers
        };
        assert!(!cross_site(&h(&[])), "no header: left to the CSRF token");
        assert!(!cross_site(&h(&[("sec-fetch-site", "same-origin")])));
        assert!(cross_site(&h(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&h(&[("sec-fetch-site", "same-site")])));
        assert!(!cross_site(&h(&[("origin", "http://127.0.0.1:8780"), ("host", "127.0.0.1:8780")])));
        assert!(!cross_site(&h(&[("origin", "https://ferry.example"), ("host", "ferry.example:443")])));
        assert!(cross_site(&h(&[("origin", "https://evil.example"), ("host", "127.0.0.1:8780")])));
        assert!(cross_site(&h(&[("origin", "null"), ("host", "127.0.0.1:8780")])));
        assert!(!cross_site(&h(&[
            ("origin", "https://ferry.example"),
            ("host", "127.0.0.1:8780"),
            ("x-forwarded-host", "ferry.example")
        ])));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; ferry_session=abc; b=2".parse().expect("header"));
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("abc"));
        assert!(session_cookie("x", false).contains("HttpOnly; SameSite=Strict"));
    }
}
