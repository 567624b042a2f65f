//! The ConnectWise Manage REST API simulator (`/v4_6_release/apis/3.0`),
//! per docs/psa-apis.md §2: Basic auth over `companyId+publicKey:privateKey` plus a
//! required `clientId` header; bare JSON arrays; `page`/`pageSize` (default
//! 25, at most 1,000) with RFC 5988 `Link` headers built from the request's
//! host; `conditions` and `orderBy`; `_info` on records and `{id, name}`
//! references; null fields left out, as the real API does.

pub mod conditions;
mod data;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};

pub use self::data::CwData;
use crate::table::{Order, Selection, json_array};
use crate::{Psa, Shared, Simulator, error_response};

pub const API_PREFIX: &str = "/v4_6_release/apis/3.0";
const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 1000;

/// Credentials and options of a simulated CW Manage tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CwOptions {
    pub company_id: String,
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
    /// 0 picks a free port.
    pub port: u16,
}

impl Default for CwOptions {
    fn default() -> Self {
        CwOptions {
            company_id: "simmsp".into(),
            public_key: "sim-public-key".into(),
            private_key: "sim-private-key".into(),
            client_id: "3c0b6d4a-7f1e-4b8e-9a51-2f6d0c9e8b71".into(),
            port: 0,
        }
    }
}

#[derive(Clone)]
struct AppState {
    shared: Arc<Shared>,
    options: Arc<CwOptions>,
}

/// A list resource: its table, the permission module guarding it, and the
/// fields `conditions` may use.
struct Resource {
    table: &'static str,
    module: &'static str,
    fields: &'static [&'static str],
}

const COMMON_FIELDS: &[&str] = &["id", "name", "lastUpdated", "dateEntered"];

const COMPANIES: Resource = Resource {
    table: "companies",
    module: "companies",
    fields: &["identifier", "deletedFlag", "status/id", "status/name", "types/id", "types/name", "isVendorFlag"],
};
const COMPANY_TYPES: Resource =
    Resource { table: "company_types", module: "companies", fields: &["defaultFlag", "vendorFlag"] };
const COMPANY_STATUSES: Resource =
    Resource { table: "company_statuses", module: "companies", fields: &["inactiveFlag", "defaultFlag"] };
const CONTACTS: Resource = Resource {
    table: "contacts",
    module: "contacts",
    fields: &["firstName", "lastName", "inactiveFlag", "company/id", "company/name", "site/id"],
};
const CONFIGURATIONS: Resource = Resource {
    table: "configurations",
    module: "configurations",
    fields: &["activeFlag", "company/id", "type/id", "type/name", "status/id", "status/name", "serialNumber"],
};
const CONFIGURATION_TYPES: Resource =
    Resource { table: "configuration_types", module: "configurations", fields: &["inactiveFlag", "systemFlag"] };
const CONFIGURATION_STATUSES: Resource = Resource {
    table: "configuration_statuses",
    module: "configurations",
    fields: &["closedFlag", "defaultFlag", "description"],
};
const AGREEMENTS: Resource = Resource {
    table: "agreements",
    module: "agreements",
    fields: &["agreementStatus", "cancelledFlag", "company/id", "type/id", "type/name"],
};
const AGREEMENT_TYPES: Resource =
    Resource { table: "agreement_types", module: "agreements", fields: &["inactiveFlag"] };
const BOARDS: Resource = Resource { table: "boards", module: "tickets", fields: &["inactiveFlag", "projectFlag"] };
const TICKETS: Resource = Resource {
    table: "tickets",
    module: "tickets",
    fields: &["summary", "closedFlag", "company/id", "status/id", "status/name", "board/id", "board/name"],
};

/// Which endpoints a collection has besides its list: the record
/// collections also answer `/count` and (most) `/{id}`; reference lists
/// (types, statuses, boards) only list.
#[derive(Clone, Copy)]
struct Serves {
    count: bool,
    one: bool,
}

const LIST: Serves = Serves { count: false, one: false };
const LIST_COUNT: Serves = Serves { count: true, one: false };
const LIST_COUNT_ONE: Serves = Serves { count: true, one: true };

/// Every collection the simulator serves under [`API_PREFIX`], as in
/// docs/psa-apis.md §2.
const COLLECTIONS: &[(&str, &Resource, Serves)] = &[
    ("company/companies", &COMPANIES, LIST_COUNT_ONE),
    ("company/companies/types", &COMPANY_TYPES, LIST),
    ("company/companies/statuses", &COMPANY_STATUSES, LIST),
    ("company/contacts", &CONTACTS, LIST_COUNT_ONE),
    ("company/configurations", &CONFIGURATIONS, LIST_COUNT_ONE),
    ("company/configurations/types", &CONFIGURATION_TYPES, LIST),
    ("company/configurations/statuses", &CONFIGURATION_STATUSES, LIST),
    ("finance/agreements", &AGREEMENTS, LIST_COUNT),
    ("finance/agreements/types", &AGREEMENT_TYPES, LIST),
    ("service/boards", &BOARDS, LIST),
    ("service/tickets", &TICKETS, LIST_COUNT_ONE),
];

/// Route one collection's endpoints to [`list`], [`count`] and [`one`].
fn collection(router: Router<AppState>, path: &str, resource: &'static Resource, serves: Serves) -> Router<AppState> {
    let base = format!("{API_PREFIX}/{path}");
    let mut router = router
        .route(&base, get(move |s: State<AppState>, h: HeaderMap, u: Uri, q: Params| list(s, h, u, q, resource, None)));
    if serves.count {
        router = router.route(
            &format!("{base}/count"),
            get(move |s: State<AppState>, h: HeaderMap, q: Params| count(s, h, q, resource, None)),
        );
    }
    if serves.one {
        router = router.route(
            &format!("{base}/{{id}}"),
            get(move |s: State<AppState>, h: HeaderMap, q: Params, id: UrlPath<String>| one(s, h, q, id, resource)),
        );
    }
    router
}

/// Start a simulated CW Manage tenant on 127.0.0.1.
pub async fn start(data: CwData, options: CwOptions) -> std::io::Result<Simulator> {
    let tables = data.into_tables().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let shared = Shared::new(Psa::Cw, tables);
    let port = options.port;
    let state = AppState { shared: shared.clone(), options: Arc::new(options) };
    let mut api = Router::new()
        .route(&format!("{API_PREFIX}/system/info"), get(system_info))
        .route(&format!("{API_PREFIX}/company/companies/{{id}}/sites"), get(sites))
        .route(&format!("{API_PREFIX}/service/boards/{{id}}/statuses"), get(board_statuses));
    for (path, resource, serves) in COLLECTIONS {
        api = collection(api, path, resource, *serves);
    }
    let api = api.route("/login/companyinfo/{company}", get(company_info)).with_state(state);
    Simulator::serve(shared, api, API_PREFIX, port).await
}

type Params = Query<HashMap<String, String>>;

fn cw_error(status: StatusCode, message: &str) -> Response {
    error_response(Psa::Cw, status, message)
}

/// Basic auth, clientId and module permission.
fn guard(state: &AppState, headers: &HeaderMap, module: &str) -> Result<(), Response> {
    let client_id = headers.get("clientid").and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
    if client_id.is_empty() {
        // The real body for a missing clientId is undocumented; this shape
        // follows CW's ErrorResponseMessage.
        return Err(cw_error(StatusCode::BAD_REQUEST, "clientId header is required."));
    }
    let expected = format!("{}+{}:{}", state.options.company_id, state.options.public_key, state.options.private_key);
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if given.as_deref() != Some(expected.as_str()) {
        return Err(cw_error(StatusCode::UNAUTHORIZED, "Authentication failed."));
    }
    if state.shared.faults().missing_permissions.iter().any(|m| m == module) {
        return Err(cw_error(
            StatusCode::FORBIDDEN,
            &format!("You do not have permission to access this resource ({module})."),
        ));
    }
    Ok(())
}

fn page_size(p: &HashMap<String, String>) -> usize {
    p.get("pageSize")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .min(MAX_PAGE_SIZE)
}

fn page(p: &HashMap<String, String>) -> usize {
    p.get("page").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n >= 1).unwrap_or(1)
}

/// The parsed `conditions`, or a 400 naming the problem.
fn parse_conditions(p: &HashMap<String, String>, resource: &Resource) -> Result<Option<conditions::Expr>, Response> {
    let Some(text) = p.get("conditions").filter(|c| !c.trim().is_empty()) else {
        return Ok(None);
    };
    let expr = conditions::parse(text).map_err(|e| cw_error(StatusCode::BAD_REQUEST, &format!("conditions: {e}")))?;
    for field in expr.fields() {
        let path = field.join("/");
        if !COMMON_FIELDS.contains(&path.as_str()) && !resource.fields.contains(&path.as_str()) {
            return Err(cw_error(StatusCode::BAD_REQUEST, &format!("conditions: unknown field `{path}`")));
        }
    }
    Ok(Some(expr))
}

/// Run `f` over the listing of a table passing the conditions (and an
/// optional parent filter), ordered as `orderBy` asks (default: id
/// ascending).
fn with_selection<T>(
    state: &AppState,
    table: &str,
    expr: Option<&conditions::Expr>,
    parent: Option<u64>,
    p: &HashMap<String, String>,
    f: impl FnOnce(&crate::Table, &Selection) -> T,
) -> Option<T> {
    let floor = expr.and_then(conditions::Expr::updated_floor);
    // The update-time bound is checked before any JSON is parsed, as a real
    // server's index would skip old records.
    let matches = |r: &crate::Rec| {
        floor.is_none_or(|(t, strict)| if strict { r.updated > t } else { r.updated >= t })
            && match expr {
                Some(e) => serde_json::from_str::<Value>(&r.json).map(|v| e.eval(&v)).unwrap_or(false),
                None => true,
            }
    };
    let keep: Option<crate::table::Keep<'_>> = expr.map(|_| &matches as _);
    let order = if p.get("orderBy").is_some_and(|o| o.trim().eq_ignore_ascii_case("id desc")) {
        Order::IdDesc
    } else {
        Order::IdAsc
    };
    // The conditions text determines `matches` entirely.
    let key = p.get("conditions").map(String::as_str).unwrap_or("");
    state.shared.with_listing(table, key, order, parent, keep, f)
}

/// The `Link` header for a page, built from the request's own host.
fn link_header(headers: &HeaderMap, uri: &Uri, page: usize, last: usize) -> Option<HeaderValue> {
    let host = headers.get("host").and_then(|h| h.to_str().ok())?;
    let others: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
        .map(str::to_string)
        .collect();
    let url = |n: usize| {
        let mut q = others.clone();
        q.push(format!("page={n}"));
        format!("<http://{host}{}?{}>", uri.path(), q.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", url(1)));
        links.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    HeaderValue::from_str(&links.join(", ")).ok()
}

fn page_response(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    p: &HashMap<String, String>,
    table: &str,
    expr: Option<&conditions::Expr>,
    parent: Option<u64>,
) -> Response {
    let size = page_size(p);
    let page = page(p);
    let duplicate = state.shared.faults().duplicate_across_pages;
    let Some((body, last)) = with_selection(state, table, expr, parent, p, |t, listing| {
        let slice = t.page(listing, page, size, duplicate);
        (json_array(slice.records.into_iter()), slice.last_page)
    }) else {
        return cw_error(StatusCode::INTERNAL_SERVER_ERROR, "missing table");
    };
    if page == 1 {
        state.shared.mark_first_page_served();
    }
    let mut response = ([("content-type", "application/json; charset=utf-8")], body).into_response();
    let h = response.headers_mut();
    if let Some(link) = link_header(headers, uri, page, last) {
        h.insert("link", link);
    }
    h.insert("api-current-version", HeaderValue::from_static("2026.4"));
    response
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(p): Params,
    resource: &'static Resource,
    parent: Option<u64>,
) -> Response {
    if let Err(r) = guard(&state, &headers, resource.module) {
        return r;
    }
    let expr = match parse_conditions(&p, resource) {
        Ok(e) => e,
        Err(r) => return r,
    };
    page_response(&state, &headers, &uri, &p, resource.table, expr.as_ref(), parent)
}

async fn count(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Params,
    resource: &'static Resource,
    parent: Option<u64>,
) -> Response {
    if let Err(r) = guard(&state, &headers, resource.module) {
        return r;
    }
    let expr = match parse_conditions(&p, resource) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let n = with_selection(&state, resource.table, expr.as_ref(), parent, &p, |t, l| t.count(l)).unwrap_or(0);
    axum::Json(json!({ "count": n })).into_response()
}

async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(_p): Params,
    UrlPath(id): UrlPath<String>,
    resource: &'static Resource,
) -> Response {
    if let Err(r) = guard(&state, &headers, resource.module) {
        return r;
    }
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.shared.with_table(resource.table, |t| t.get(id).map(|r| r.json.clone())).flatten());
    match found {
        Some(json) => ([("content-type", "application/json; charset=utf-8")], json.to_string()).into_response(),
        None => cw_error(StatusCode::NOT_FOUND, "Not found"),
    }
}

async fn sites(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(p): Params,
    UrlPath(company): UrlPath<String>,
) -> Response {
    if let Err(r) = guard(&state, &headers, "sites") {
        return r;
    }
    if let Err(r) = guard(&state, &headers, "companies") {
        return r;
    }
    let Ok(company) = company.parse::<u64>() else {
        return cw_error(StatusCode::BAD_REQUEST, "company id must be a number");
    };
    if state.shared.with_table("companies", |t| t.get(company).is_none()).unwrap_or(true) {
        return cw_error(StatusCode::NOT_FOUND, "Company not found");
    }
    const SITES: Resource =
        Resource { table: "sites", module: "sites", fields: &["inactiveFlag", "primaryAddressFlag"] };
    let expr = match parse_conditions(&p, &SITES) {
        Ok(e) => e,
        Err(r) => return r,
    };
    page_response(&state, &headers, &uri, &p, "sites", expr.as_ref(), Some(company))
}

async fn board_statuses(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(p): Params,
    UrlPath(board): UrlPath<String>,
) -> Response {
    if let Err(r) = guard(&state, &headers, "tickets") {
        return r;
    }
    let Ok(board) = board.parse::<u64>() else {
        return cw_error(StatusCode::BAD_REQUEST, "board id must be a number");
    };
    page_response(&state, &headers, &uri, &p, "board_statuses", None, Some(board))
}

async fn system_info(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = guard(&state, &headers, "system") {
        return r;
    }
    axum::Json(json!({
        "version": "v2026.4.12345", "isCloud": true, "serverTimeZone": "Central Standard Time",
        "licenseBits": [{"name": "AgileBoard", "activeFlag": true}], "cloudRegion": "NA",
        "maxWorkFlowRecordsAllowed": 1000
    }))
    .into_response()
}

/// `GET /login/companyinfo/{companyId}`: no authentication.
async fn company_info(
    State(state): State<AppState>,
    UrlPath(company): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if !company.eq_ignore_ascii_case(&state.options.company_id) {
        return (StatusCode::NOT_FOUND, "Cannot route. Codebase/company is invalid").into_response();
    }
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    axum::Json(json!({
        "CompanyName": "Simulated MSP", "Codebase": "v4_6_release/", "VersionCode": "v2026.4",
        "VersionNumber": "v4.6.12345", "CompanyID": state.options.company_id, "IsCloud": false, "SiteUrl": host
    }))
    .into_response()
}

/// How the CW simulator changes records (see [`crate::requests::Edits`]).
pub(crate) const EDITS: crate::requests::Edits = crate::requests::Edits {
    touch: |table, v, revision| match table {
        "tickets" => v["summary"] = json!(format!("{} (update {revision})", v["summary"].as_str().unwrap_or(""))),
        "configurations" => v["notes"] = json!(format!("Updated in PSA (revision {revision})")),
        "contacts" => v["title"] = json!(format!("Updated title {revision}")),
        _ => v["phoneNumber"] = json!(format!("555{revision:07}")),
    },
    name_field: |table| match table {
        "tickets" => "summary",
        _ => "name",
    },
    stamp: |v, now| {
        if !v["_info"].is_object() {
            v["_info"] = json!({});
        }
        v["_info"]["lastUpdated"] = json!(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    },
    parent: |v| v.get("company").and_then(|c| c.get("id")).and_then(Value::as_u64),
};

/// Load a CW data set (see sim/README.md).
pub fn load_json(path: &Path) -> Result<CwData, String> {
    CwData::load_json(path)
}
