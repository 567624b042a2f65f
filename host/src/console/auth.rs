//! Who may use the console. One admin token, created on first start and
//! shown once, stored only as an argon2 hash. A browser trades it at the
//! login page for a session: an HttpOnly, SameSite=Strict cookie naming a
//! random id held in memory (a restart logs everyone out), with a CSRF
//! token every state-changing request must carry. API clients send the
//! token itself as a bearer token. Failed logins are rate-limited per
//! client address.
//!
//! [`guard`] enforces all of it in front of every route, so no handler can
//! forget a check.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::Problem;

/// The session cookie's name.
pub(super) const COOKIE: &str = "ferry_session";
/// How long a session lives without use.
const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// Failed logins allowed per client address per window.
const LOGIN_FAILURES: u32 = 5;
const LOGIN_WINDOW: Duration = Duration::from_secs(60);
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
}

/// The signed-in browser session of a request (in its extensions).
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub csrf: String,
}

pub(crate) struct Auth {
    token_hash: String,
    /// SHA-256 of the token once argon2 accepted it: later bearer calls
    /// compare that instead of paying argon2 each time.
    verified: Mutex<Option<[u8; 32]>>,
    sessions: Mutex<HashMap<String, SessionData>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
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

/// Equal without leaking where they differ through timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    pub(crate) fn new(token_hash: String) -> Auth {
        Auth {
            token_hash,
            verified: Mutex::new(None),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `token` is the admin token.
    pub(crate) fn check_token(&self, token: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Ok(known) = self.verified.lock()
            && let Some(known) = *known
        {
            return same(&known, &digest);
        }
        let ok = PasswordHash::new(&self.token_hash)
            .map(|parsed| Argon2::default().verify_password(token.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        if ok && let Ok(mut known) = self.verified.lock() {
            *known = Some(digest);
        }
        ok
    }

    /// Whether this address may try to log in now.
    pub(crate) fn login_allowed(&self, ip: IpAddr) -> bool {
        let Ok(mut failures) = self.failures.lock() else { return false };
        match failures.get(&ip) {
            Some((since, n)) if since.elapsed() < LOGIN_WINDOW => *n < LOGIN_FAILURES,
            Some(_) => {
                failures.remove(&ip);
                true
            }
            None => true,
        }
    }

    pub(crate) fn login_failed(&self, ip: IpAddr) {
        if let Ok(mut failures) = self.failures.lock() {
            let entry = failures.entry(ip).or_insert((Instant::now(), 0));
            if entry.0.elapsed() >= LOGIN_WINDOW {
                *entry = (Instant::now(), 0);
            }
            entry.1 += 1;
        }
    }

    pub(crate) fn start_session(&self) -> Session {
        let session = Session { id: random_b64(32), csrf: random_b64(32) };
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.retain(|_, s| s.last_seen.elapsed() < SESSION_IDLE);
            sessions.insert(
                session.id.clone(),
                SessionData { csrf: session.csrf.clone(), last_seen: Instant::now(), flash: Vec::new() },
            );
        }
        session
    }

    pub(crate) fn end_session(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
    }

    fn session(&self, id: &str) -> Option<Session> {
        let mut sessions = self.sessions.lock().ok()?;
        let data = sessions.get_mut(id)?;
        if data.last_seen.elapsed() >= SESSION_IDLE {
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

/// Routes anyone may reach: the login page and the static files it uses.
fn public(path: &str) -> bool {
    path == "/login" || path.starts_with("/static/")
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// In front of every route: API calls need the bearer token; pages need a
/// session (else the login page); every POST from a session needs its CSRF
/// token, as the `csrf` form field or the `X-CSRF-Token` header.
pub(super) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if public(&path) {
        return next.run(request).await;
    }
    if path.starts_with("/api/") {
        let ok = match bearer(request.headers()) {
            Some(token) => {
                let auth = state.clone();
                let token = token.to_string();
                tokio::task::spawn_blocking(move || auth.auth().check_token(&token)).await.unwrap_or(false)
            }
            None => false,
        };
        if !ok {
            let problem = Problem::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token",
                Some(
                    "send `Authorization: Bearer <admin token>`; `ferry serve --new-token` makes a new one".to_string(),
                ),
            );
            return (StatusCode::UNAUTHORIZED, axum::Json(problem.json())).into_response();
        }
        return next.run(request).await;
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

    #[test]
    fn token_verifies_only_itself() {
        let token = new_token();
        let auth = Auth::new(hash_token(&token).expect("hash"));
        assert!(!auth.check_token("ferry_wrong"));
        assert!(auth.check_token(&token));
        // The fast path after the first success still refuses others.
        assert!(!auth.check_token("ferry_wrong"));
        assert!(auth.check_token(&token));
    }

    #[test]
    fn login_failures_are_limited_per_address() {
        let auth = Auth::new(String::new());
        let ip: IpAddr = [127, 0, 0, 1].into();
        let other: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..LOGIN_FAILURES {
            assert!(auth.login_allowed(ip));
            auth.login_failed(ip);
        }
        assert!(!auth.login_allowed(ip));
        assert!(auth.login_allowed(other));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; ferry_session=abc; b=2".parse().expect("header"));
        assert_eq!(cookie(&headers, COOKIE).as_deref(), Some("abc"));
        assert!(session_cookie("x", false).contains("HttpOnly; SameSite=Strict"));
    }
}
