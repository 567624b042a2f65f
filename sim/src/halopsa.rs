//! A fake HaloPSA API: OAuth2 client credentials on one origin (the
//! authorisation server), the resource API on another, so a connector needs
//! two allowlisted hosts as with a real Halo tenant.
//!
//! - `POST {auth}/auth/token`, form-encoded `grant_type=client_credentials`,
//!   `client_id`, `client_secret`, `scope=all` (optional `tenant`), answers
//!   `{access_token, expires_in, token_type}`; tokens expire after
//!   [`HaloOptions::token_lifetime`] (or at once with [`HaloSim::expire_tokens`])
//!   and then get 401.
//! - `GET {resource}/api/Client|Users|Asset|Site?pageinate=true&page_no=N&page_size=M`
//!   answers `{"record_count": N, "clients": [...]}` (`users`, `assets`,
//!   `sites`); without `pageinate` every record.
//! - `GET {resource}/api/ClientContract` (same paging) answers
//!   `{"record_count": N, "contracts": [...]}` with `id`, `ref`, `client_id`,
//!   `client_name`, `contract_type`, `start_date`, `end_date`, `active`. The
//!   path and the `contracts` key follow public Halo API clients; the field
//!   names are a plausible guess (docs/psa-apis.md §4).
//!
//! Both servers log requests ([`HaloSim::requests`], and over HTTP at
//! `GET|DELETE {resource}/_sim/requests`); [`HaloSim::token_requests`]
//! counts token requests, the number a token cache is judged by. Both
//! delay their answers by a simulated round trip ([`HaloOptions::latency`],
//! as the Syncro and CW simulators do), so reads in flight can be killed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::faults::Latency;
use crate::requests::{RequestRecord, url_decode_pairs};
use crate::world::World;

/// Credentials and token lifetime of the fake tenant.
#[derive(Debug, Clone)]
pub struct HaloOptions {
    pub client_id: String,
    pub client_secret: String,
    /// How long an access token works.
    pub token_lifetime: Duration,
    /// Ports on 127.0.0.1 (0 picks a free one).
    pub auth_port: u16,
    pub resource_port: u16,
    /// The round trip every answer is delayed by.
    pub latency: Latency,
}

impl Default for HaloOptions {
    fn default() -> Self {
        HaloOptions {
            client_id: "ferry-halo-client".into(),
            client_secret: "halo-secret-5e7a".into(),
            token_lifetime: Duration::from_secs(3600),
            auth_port: 0,
            resource_port: 0,
            latency: Latency::default(),
        }
    }
}

/// The fake tenant's records, in Halo's JSON shapes, per endpoint.
#[derive(Debug, Clone, Default)]
pub struct HaloData {
    pub clients: Vec<Value>,
    pub users: Vec<Value>,
    pub assets: Vec<Value>,
    pub sites: Vec<Value>,
    pub contracts: Vec<Value>,
}

impl HaloData {
    /// Halo's view of a generated world: every organisation is a client.
    pub fn from_world(world: &World) -> HaloData {
        let client = |org: usize| world.organisations.get(org).map(|o| o.name.clone()).unwrap_or_default();
        HaloData {
            clients: world
                .organisations
                .iter()
                .map(|o| {
                    json!({"id": o.index + 1, "name": o.name, "inactive": o.inactive,
                        "website": o.domain, "phonenumber": o.phone})
                })
                .collect(),
            users: world
                .people
                .iter()
                .map(|p| {
                    json!({"id": p.index + 1, "name": format!("{} {}", p.first, p.last), "firstname": p.first,
                        "surname": p.last, "emailaddress": p.email, "phonenumber": p.phone,
                        "mobilenumber": p.mobile, "jobtitle": p.title, "client_id": p.org + 1,
                        "client_name": client(p.org), "inactive": p.inactive})
                })
                .collect(),
            assets: world
                .devices
                .iter()
                .map(|d| {
                    json!({"id": d.index + 1, "inventory_number": format!("HALO-{:05}", d.index + 1),
                        "key_field": d.name, "key_field2": d.serial, "key_field3": d.mac,
                        "assettype_name": d.form_factor, "client_id": d.org + 1, "client_name": client(d.org),
                        "inactive": d.inactive})
                })
                .collect(),
            sites: world
                .sites
                .iter()
                .map(|s| {
                    json!({"id": s.index + 1, "name": s.name, "client_id": s.org + 1, "client_name": client(s.org),
                        "inactive": s.inactive, "isinvoicesite": s.primary,
                        "delivery_address": {"line1": s.address.line1, "line2": s.address.city,
                            "line3": s.address.state, "postcode": s.address.zip}})
                })
                .collect(),
            contracts: world
                .agreements
                .iter()
                .map(|a| {
                    json!({"id": a.index + 1, "ref": a.name, "client_id": a.org + 1, "client_name": client(a.org),
                        "contract_type": a.kind, "start_date": a.start.format("%Y-%m-%dT%H:%M:%S").to_string(),
                        "end_date": a.end.map(|e| e.format("%Y-%m-%dT%H:%M:%S").to_string()),
                        "active": a.status == "Active"})
                })
                .collect(),
        }
    }
}

struct HaloState {
    options: HaloOptions,
    data: HaloData,
    /// Issued tokens and when they stop working.
    tokens: Mutex<HashMap<String, Instant>>,
    issued: AtomicU64,
    log: Mutex<Vec<RequestRecord>>,
    started: Instant,
    /// Requests answered so far, numbering each one's round trip.
    served: AtomicU64,
}

impl HaloState {
    fn note(&self, method: &str, uri: &Uri, status: StatusCode) {
        if let Ok(mut log) = self.log.lock() {
            log.push(RequestRecord {
                method: method.to_string(),
                path: uri.path().to_string(),
                query: uri.query().map(str::to_string),
                status: status.as_u16(),
                at_ms: self.started.elapsed().as_millis() as u64,
            });
        }
    }
}

/// A running fake HaloPSA (two servers). Dropping it stops both.
pub struct HaloSim {
    auth: SocketAddr,
    resource: SocketAddr,
    state: Arc<HaloState>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for HaloSim {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl HaloSim {
    /// The authorisation server's origin: tokens at `{auth_url}/auth/token`.
    pub fn auth_url(&self) -> String {
        format!("http://{}", self.auth)
    }

    /// The resource server's origin: the API at `{resource_url}/api/...`.
    pub fn resource_url(&self) -> String {
        format!("http://{}", self.resource)
    }

    pub fn options(&self) -> &HaloOptions {
        &self.state.options
    }

    /// Requests to both servers, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Token requests answered with a token so far.
    pub fn token_requests(&self) -> u64 {
        self.state.issued.load(Ordering::SeqCst)
    }

    /// Make every token issued so far expire now (deterministic expiry).
    pub fn expire_tokens(&self) {
        if let Ok(mut tokens) = self.state.tokens.lock() {
            let now = Instant::now();
            tokens.values_mut().for_each(|t| *t = now);
        }
    }

    pub fn data(&self) -> &HaloData {
        &self.state.data
    }
}

/// Start both servers on 127.0.0.1.
pub async fn start(data: HaloData, options: HaloOptions) -> std::io::Result<HaloSim> {
    let state = Arc::new(HaloState {
        options: options.clone(),
        data,
        tokens: Mutex::new(HashMap::new()),
        issued: AtomicU64::new(0),
        log: Mutex::new(Vec::new()),
        started: Instant::now(),
        served: AtomicU64::new(0),
    });
    let delayed = axum::middleware::from_fn_with_state(state.clone(), round_trip);
    let auth = Router::new().route("/auth/token", post(token)).layer(delayed.clone()).with_state(state.clone());
    let resource = Router::new()
        .route("/api/{endpoint}", get(list))
        .layer(delayed)
        .route("/_sim/requests", get(logged).delete(clear_log))
        .with_state(state.clone());
    let (auth_addr, auth_task) = serve(auth, options.auth_port).await?;
    let (resource_addr, resource_task) = serve(resource, options.resource_port).await?;
    Ok(HaloSim { auth: auth_addr, resource: resource_addr, state, tasks: vec![auth_task, resource_task] })
}

async fn serve(router: Router, port: u16) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "halopsa simulator stopped");
        }
    });
    Ok((addr, task))
}

/// Delay the answer by the simulated round trip (logged when answered).
async fn round_trip(
    State(state): State<Arc<HaloState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let n = state.served.fetch_add(1, Ordering::SeqCst);
    let delay = state.options.latency.delay(n);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    next.run(request).await
}

async fn logged(State(state): State<Arc<HaloState>>) -> axum::Json<Vec<RequestRecord>> {
    axum::Json(state.log.lock().map(|l| l.clone()).unwrap_or_default())
}

async fn clear_log(State(state): State<Arc<HaloState>>) -> axum::Json<Value> {
    if let Ok(mut l) = state.log.lock() {
        l.clear();
    }
    axum::Json(json!({"cleared": true}))
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, axum::Json(json!({"error": code, "error_description": description}))).into_response()
}

async fn token(State(state): State<Arc<HaloState>>, uri: Uri, body: String) -> Response {
    let form: HashMap<String, String> = url_decode_pairs(&body).into_iter().collect();
    let field = |k: &str| form.get(k).map(String::as_str);
    let (status, response) = if field("grant_type") != Some("client_credentials") {
        (StatusCode::BAD_REQUEST, error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "client_credentials only"))
    } else if field("client_id") != Some(state.options.client_id.as_str())
        || field("client_secret") != Some(state.options.client_secret.as_str())
    {
        (StatusCode::UNAUTHORIZED, error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret"))
    } else if field("scope") != Some("all") {
        (StatusCode::BAD_REQUEST, error(StatusCode::BAD_REQUEST, "invalid_scope", "scope must be `all`"))
    } else {
        let n = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("halo-access-{n}-{}", state.started.elapsed().as_nanos());
        if let Ok(mut tokens) = state.tokens.lock() {
            tokens.insert(token.clone(), Instant::now() + state.options.token_lifetime);
        }
        let body = json!({"access_token": token, "expires_in": state.options.token_lifetime.as_secs(),
            "token_type": "Bearer", "scope": "all"});
        (StatusCode::OK, axum::Json(body).into_response())
    };
    state.note("POST", &uri, status);
    response
}

async fn list(
    State(state): State<Arc<HaloState>>,
    Path(endpoint): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (status, response) = answer(&state, &endpoint, &params, &headers);
    state.note("GET", &uri, status);
    response
}

fn answer(
    state: &HaloState,
    endpoint: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> (StatusCode, Response) {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let valid = bearer.is_some_and(|t| {
        state.tokens.lock().map(|tokens| tokens.get(t).is_some_and(|until| Instant::now() < *until)).unwrap_or(false)
    });
    if !valid {
        return (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED.into_response());
    }
    let (key, records) = match endpoint {
        "Client" => ("clients", &state.data.clients),
        "Users" => ("users", &state.data.users),
        "Asset" => ("assets", &state.data.assets),
        "Site" => ("sites", &state.data.sites),
        "ClientContract" => ("contracts", &state.data.contracts),
        _ => return (StatusCode::NOT_FOUND, error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")),
    };
    let paged = params.get("pageinate").is_some_and(|v| v == "true");
    let number = |k: &str, default: usize| params.get(k).and_then(|v| v.parse::<usize>().ok()).unwrap_or(default);
    let page: Vec<&Value> = if paged {
        let size = number("page_size", 50).clamp(1, 1000);
        let no = number("page_no", 1).max(1);
        records.iter().skip((no - 1) * size).take(size).collect()
    } else {
        records.iter().collect()
    };
    let body = json!({"record_count": records.len(), key: page});
    (StatusCode::OK, axum::Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Scale;

    #[test]
    fn data_follows_the_world() {
        let world = World::generate(3, &Scale::small());
        let data = HaloData::from_world(&world);
        assert_eq!(data.clients.len(), world.organisations.len());
        assert_eq!(data.assets.len(), world.devices.len());
        assert!(data.users.iter().all(|u| u["client_id"].as_u64().is_some()));
        assert_eq!(data.contracts.len(), world.agreements.len());
    }
}
