//! `ferry serve`: the operator console. One process serves server-rendered
//! pages (maud, escaped by default; forms and POST-redirect-GET, so every
//! action works without JavaScript) and the HTTP API under `/api/v1`, both
//! over the same library functions the CLI calls — no rule is implemented
//! twice. With `--schedules` it also runs every integration's schedules,
//! like `ferry daemon`.
//!
//! Modules: `listen` (where and how it listens: loopback or TLS), `auth`
//! (admin token, sessions, CSRF, login rate limit — enforced in front of
//! every route), `engine` (the thread that runs connectors: syncs, tests,
//! schedules, live progress), `notify` (failed scheduled runs: dashboard
//! and webhook), `pages` and `api` (handlers), `views` (HTML), `error`
//! (cause + hint as a page or as JSON).

mod api;
mod auth;
mod engine;
mod error;
mod listen;
mod notify;
mod pages;
mod values;
mod views;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;

use self::auth::Auth;
use self::engine::Engine;
pub(crate) use self::error::Problem;
use crate::runtime::Runtime;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("refusing to listen on {addr} without TLS: the console holds every PSA credential")]
    Exposed { addr: SocketAddr },
    #[error("--tls-cert and --tls-key go together")]
    TlsPair,
    #[error("cannot use the TLS file {path}: {why}")]
    Tls { path: String, why: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the console cannot start: {0}")]
    Start(String),
    #[error("no console has run on the database {db}: there is no admin token to replace")]
    NothingToRotate { db: String },
}

impl ServeError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ServeError::Exposed { .. } => Some(
                "give --tls-cert FILE --tls-key FILE, or --insecure-listen when a TLS proxy in front of Ferry \
                 terminates TLS; or listen on 127.0.0.1"
                    .into(),
            ),
            ServeError::TlsPair => Some("give both PEM files: --tls-cert cert.pem --tls-key key.pem".into()),
            ServeError::Tls { .. } => Some("both files must be PEM: the certificate chain and its private key".into()),
            ServeError::Bind { .. } => Some("choose another --listen address or port, or stop what uses it".into()),
            ServeError::Store(e) => e.hint(),
            ServeError::Start(_) => None,
            ServeError::NothingToRotate { .. } => Some(
                "check --db (or FERRY_DB in the environment of the user that runs the console): rotate the token of \
                 the database the console serves; on a new database, `ferry serve` makes the first token"
                    .into(),
            ),
        }
    }
}

/// How `ferry serve` was asked to run.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    pub db: PathBuf,
    pub listen: SocketAddr,
    pub schedules: bool,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub insecure_listen: bool,
    /// Replace the admin token with a new one (shown once).
    pub new_token: bool,
}

/// Shared by every handler.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

struct Inner {
    /// The web side's own connection (reads and quick operator writes).
    store: Mutex<Store>,
    auth: Auth,
    engine: Engine,
    secure_cookies: bool,
}

impl AppState {
    pub(crate) fn auth(&self) -> &Auth {
        &self.0.auth
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.0.engine
    }

    pub(crate) fn secure_cookies(&self) -> bool {
        self.0.secure_cookies
    }

    /// Run `f` on the web connection, off the async workers (SQLite blocks).
    pub(crate) async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut store =
                state.0.store.lock().map_err(|_| Problem::internal("the database connection is poisoned"))?;
            f(&mut store)
        })
        .await
        .map_err(|e| Problem::internal(format!("a database task failed: {e}")))?
    }
}

/// A console bound and ready: where it listens, and the admin token when
/// one was created now (shown once, never stored in clear).
pub(crate) struct Started {
    pub addr: SocketAddr,
    pub tls: bool,
    pub new_token: Option<String>,
    server: std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>,
    state: AppState,
}

impl Started {
    /// Serve until `stop` resolves, then stop the engine (syncs end after
    /// their page in flight).
    pub(crate) async fn run(self) -> Result<(), ServeError> {
        let result = self.server.await;
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || state.engine().stop()).await;
        result.map_err(|e| ServeError::Start(e.to_string()))
    }
}

/// Create the admin token when there is none (or when asked to): returns
/// the new token to show once.
fn admin_token(store: &mut Store, renew: bool) -> Result<Option<String>, ServeError> {
    if !renew && store.read().console_token()?.is_some() {
        return Ok(None);
    }
    Ok(Some(store_new_token(store)?))
}

/// Make a new admin token and store its hash and quick check (replacing
/// any old one): a console running on the same database refuses the old
/// token and ends its sessions from its next request on.
fn store_new_token(store: &mut Store) -> Result<String, ServeError> {
    let token = auth::new_token();
    let hash = auth::hash_token(&token).map_err(|p| ServeError::Start(p.message))?;
    let check = auth::quick_check(&token);
    store.transaction(|tx| tx.set_console_token(&hash, Some(&check)))?;
    Ok(token)
}

/// `ferry serve --new-token --no-serve`: replace the admin token without
/// serving; returns the new token (to show once).
/// A rotation that finds no token is refused: it is a mistyped `--db` or a
/// missing `FERRY_DB` (a new, empty database), and a new token there would
/// leave the real console's leaked token working while saying it was
/// replaced.
pub(crate) fn rotate_token(db: &std::path::Path) -> Result<String, ServeError> {
    let mut store = Store::open(db)?;
    if store.read().console_token_hash()?.is_none() {
        return Err(ServeError::NothingToRotate { db: db.display().to_string() });
    }
    store_new_token(&mut store)
}

/// Bind and prepare the console; `stop` ends it gracefully.
pub(crate) async fn start(
    options: ServeOptions,
    runtime: Runtime,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Started, ServeError> {
    listen::check(options.listen, options.tls.is_some(), options.insecure_listen)?;
    let acceptor = match &options.tls {
        Some((cert, key)) => Some(listen::tls_acceptor(cert, key)?),
        None => None,
    };
    let mut store = Store::open(&options.db)?;
    // Bound before the token is made: a start that cannot listen (the port
    // is taken) must not replace a token it would then never show.
    let tcp = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Bind { addr: options.listen, source })?;
    let addr = tcp.local_addr().map_err(|source| ServeError::Bind { addr: options.listen, source })?;
    let new_token = admin_token(&mut store, options.new_token)?;
    let auth = Auth::new(Store::open(&options.db)?, new_token.as_deref()).map_err(|p| ServeError::Start(p.message))?;
    let engine = Engine::start(options.db.clone(), runtime, options.schedules)
        .map_err(|e| ServeError::Start(format!("cannot start the engine thread: {e}")))?;
    tokio::spawn(notify::run(options.db.clone(), engine.finished.clone()));
    let state =
        AppState(Arc::new(Inner { store: Mutex::new(store), auth, engine, secure_cookies: acceptor.is_some() }));
    let app = router(state.clone());
    // On the stop signal the engine stops first (event streams end, syncs
    // stop after their page), then the server drains.
    let closing = state.clone();
    let stop = async move {
        stop.await;
        closing.engine().stopping();
    };
    let timeout = listen::header_timeout();
    let server: std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>> = match acceptor {
        Some(acceptor) => Box::pin(async move {
            let service = app.into_make_service_with_connect_info::<listen::Peer>();
            let listener = listen::Timed { inner: listen::TlsListener { tcp, acceptor }, timeout };
            axum::serve(listener, service).with_graceful_shutdown(stop).await
        }),
        None => Box::pin(async move {
            let service = app.into_make_service_with_connect_info::<listen::Peer>();
            axum::serve(listen::Timed { inner: tcp, timeout }, service).with_graceful_shutdown(stop).await
        }),
    };
    Ok(Started { addr, tls: options.tls.is_some(), new_token, server, state })
}

/// Every route, behind the guard (`auth::guard`).
fn router(state: AppState) -> Router {
    let api = api::routes().layer(axum::middleware::from_fn(error::json_errors));
    Router::new()
        .merge(pages::routes().layer(axum::middleware::from_fn(error::page_errors)))
        .nest("/api/v1", api)
        .route("/static/console.css", get(views::css))
        .route("/static/console.js", get(views::js))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::guard))
        .layer(axum::middleware::from_fn(listen::body_in_time))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// Headers on every response: no framing, no sniffing, scripts and styles
/// only from the console itself, nothing cached; and `Server-Timing`.
async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // The server's own time for the request (BENCHMARKS.md reads it).
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={:.1}", started.elapsed().as_secs_f64() * 1000.0)) {
        h.insert("server-timing", v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}
