//! The Syncro REST API v1 simulator (`/api/v1`), per docs/psa-apis.md §1: bearer,
//! raw or `?api_key=` token auth; list envelopes keyed per endpoint with
//! endpoint-specific `meta`; numbered pages of endpoint-specific size;
//! disabled customers hidden unless `include_disabled=true`; tickets
//! filterable by `since_updated_at`; missing permissions answered with a
//! 401 "group permissions" body, as Syncro does.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::table::{Order, json_array};
use crate::world::World;
use crate::{Psa, Shared, Simulator, Table, error_response};

/// Syncro's own text for a token that lacks a permission.
pub const PERMISSION_BODY: &str = "Not authorized. Please ask account admin to update your group permissions.";

/// Options of a simulated Syncro tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncroOptions {
    pub token: String,
    pub subdomain: String,
    /// Page sizes per endpoint (Syncro's differ: 100 customers, 50 others).
    pub customers_per_page: usize,
    pub contacts_per_page: usize,
    pub assets_per_page: usize,
    pub tickets_per_page: usize,
    /// 0 picks a free port.
    pub port: u16,
}

impl Default for SyncroOptions {
    fn default() -> Self {
        SyncroOptions {
            token: "sim-syncro-token".into(),
            subdomain: "sim".into(),
            customers_per_page: 100,
            contacts_per_page: 50,
            assets_per_page: 50,
            tickets_per_page: 50,
            port: 0,
        }
    }
}

/// A Syncro data set in Syncro's own JSON shapes (the format of
/// `--data FILE.json`, see sim/README.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncroData {
    pub customers: Vec<Value>,
    pub contacts: Vec<Value>,
    pub assets: Vec<Value>,
    pub tickets: Vec<Value>,
    pub ticket_statuses: Vec<String>,
    pub asset_types: Vec<Value>,
}

/// Syncro's ticket statuses (docs/psa-apis.md §1.7), in the world's status order.
pub const TICKET_STATUSES: [&str; 8] = [
    "New",
    "In Progress",
    "Waiting on Customer",
    "Waiting for Parts",
    "Scheduled",
    "Customer Reply",
    "Resolved",
    "Invoiced",
];
const PRIORITIES: [&str; 4] = ["0 Urgent", "1 High", "2 Normal", "3 Low"];

pub const CUSTOMER_ID_BASE: u64 = 31_245_000;
pub const CONTACT_ID_BASE: u64 = 4_378_000;
pub const ASSET_ID_BASE: u64 = 12_313_000;
pub const TICKET_ID_BASE: u64 = 108_430_000;

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl SyncroData {
    /// Syncro's view of a world: organisations present in Syncro.
    pub fn from_world(world: &World) -> Self {
        let mut d = SyncroData {
            ticket_statuses: TICKET_STATUSES.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let in_syncro = |org: usize| world.organisations[org].presence.syncro;
        for o in world.organisations.iter().filter(|o| o.presence.syncro) {
            let (first, last, business) = match &o.individual {
                Some((f, l)) => (f.clone(), l.clone(), Value::Null),
                None => {
                    let contact = world.people.iter().find(|p| p.org == o.index);
                    (
                        contact.map(|p| p.first.clone()).unwrap_or_default(),
                        contact.map(|p| p.last.clone()).unwrap_or_default(),
                        Value::String(o.name.clone()),
                    )
                }
            };
            let full = format!("{first} {last}");
            let id = CUSTOMER_ID_BASE + o.index as u64;
            d.customers.push(json!({
                "id": id, "firstname": first, "lastname": last, "fullname": full,
                "business_name": business,
                "email": format!("office@{}", o.domain), "phone": o.phone, "mobile": null,
                "created_at": ts(o.updated - chrono::Duration::days(400)), "updated_at": ts(o.updated),
                "pdf_url": null, "address": o.address.line1, "address_2": o.address.line2,
                "city": o.address.city, "state": o.address.state, "zip": o.address.zip,
                "latitude": null, "longitude": null, "notes": null,
                "get_sms": false, "opt_out": false, "disabled": o.inactive, "no_email": false,
                "location_name": null, "location_id": null,
                "properties": {"Managed Status": if o.inactive { "Former" } else { "Managed" }, "Industry": o.industry},
                "online_profile_url": null, "tax_rate_id": null, "notification_email": null,
                "invoice_cc_emails": null, "invoice_term_id": null, "referred_by": null, "ref_customer_id": null,
                "business_and_full_name": if o.individual.is_some() { full.clone() } else { format!("{} - {full}", o.name) },
                "business_then_name": if o.individual.is_some() { full.clone() } else { o.name.clone() },
                "contacts": []
            }));
        }
        for p in world.people.iter().filter(|p| in_syncro(p.org)) {
            let o = &world.organisations[p.org];
            d.contacts.push(json!({
                "id": CONTACT_ID_BASE + p.index as u64, "name": format!("{} {}", p.first, p.last),
                "address1": o.address.line1, "address2": o.address.line2, "city": o.address.city,
                "state": o.address.state, "zip": o.address.zip, "email": p.email, "phone": p.phone,
                "mobile": p.mobile, "latitude": null, "longitude": null,
                "customer_id": CUSTOMER_ID_BASE + p.org as u64, "account_id": 1, "notes": null,
                "created_at": ts(p.updated - chrono::Duration::days(200)), "updated_at": ts(p.updated),
                "vendor_id": null, "properties": {"title": p.title}, "opt_out": false, "extension": null
            }));
        }
        let mut types: Vec<&str> = Vec::new();
        for dev in world.devices.iter().filter(|d| d.presence.syncro && in_syncro(d.org)) {
            let o = &world.organisations[dev.org];
            if !types.contains(&dev.syncro_type) {
                types.push(dev.syncro_type);
            }
            let managed = dev.syncro_type == "Syncro Device";
            let properties = if managed {
                json!({
                    "Warranty Expires": ts(dev.updated + chrono::Duration::days(700))[..10].to_string(),
                    "kabuto_information": {
                        "last_synced_at": ts(dev.updated), "last_user": dev.last_user,
                        "general": {"form_factor": dev.form_factor, "domain": o.identifier.to_uppercase(),
                                    "ip": dev.ip, "manufacturer": dev.manufacturer, "model": dev.model},
                        "os": {"name": dev.os, "build": "22631", "os_architecture": "64-bit"}
                    }
                })
            } else {
                json!({"Manufacturer": dev.manufacturer, "Model": dev.model, "IP Address": dev.ip, "MAC Address": dev.mac})
            };
            d.assets.push(json!({
                "id": ASSET_ID_BASE + dev.index as u64, "name": dev.name,
                "customer_id": CUSTOMER_ID_BASE + dev.org as u64, "contact_id": null,
                "created_at": ts(dev.updated - chrono::Duration::days(300)), "updated_at": ts(dev.updated),
                "properties": properties, "asset_type": dev.syncro_type, "asset_serial": dev.serial,
                "external_rmm_link": null,
                "customer": {"id": CUSTOMER_ID_BASE + dev.org as u64, "business_name": o.name},
                "rmm_links": [], "has_live_chat": false, "snmp_enabled": false, "address": null
            }));
        }
        d.asset_types = types.iter().enumerate().map(|(i, t)| json!({"id": 100 + i, "name": t})).collect();
        for t in world.tickets.iter().filter(|t| in_syncro(t.org)) {
            let o = &world.organisations[t.org];
            let status = TICKET_STATUSES[t.status % TICKET_STATUSES.len()];
            let resolved = matches!(status, "Resolved" | "Invoiced").then(|| ts(t.updated));
            let contact = t.contact.map(|c| &world.people[c]);
            d.tickets.push(json!({
                "id": TICKET_ID_BASE + t.index as u64, "number": 5000 + t.index, "subject": t.subject,
                "created_at": ts(t.created), "customer_id": CUSTOMER_ID_BASE + t.org as u64,
                "customer_business_then_name": o.name, "due_date": ts(t.created + chrono::Duration::days(1)),
                "resolved_at": resolved, "start_at": null, "end_at": null, "location_id": null, "location_name": null,
                "problem_type": t.problem_type, "status": status, "ticket_type_id": null, "ticket_type_name": null,
                "properties": {}, "user_id": null, "updated_at": ts(t.updated), "pdf_url": null,
                "priority": PRIORITIES[t.priority % PRIORITIES.len()], "billing_status": null, "tag_list": [],
                "sla_name": null, "contact_id": contact.map(|p| CONTACT_ID_BASE + p.index as u64),
                "contact_fullname": contact.map(|p| format!("{} {}", p.first, p.last)),
                "contract_id": null, "contract_name": null,
                "asset_ids": t.device.filter(|dv| world.devices[*dv].presence.syncro).map(|dv| vec![ASSET_ID_BASE + dv as u64]).unwrap_or_default(),
                "comments": [], "user": null
            }));
        }
        d
    }

    /// Load a data set from a JSON file (see sim/README.md).
    pub fn load_json(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut data: SyncroData = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if data.ticket_statuses.is_empty() {
            data.ticket_statuses = TICKET_STATUSES.iter().map(|s| s.to_string()).collect();
        }
        Ok(data)
    }

    fn into_tables(self) -> Result<HashMap<&'static str, Table>, String> {
        let id = |v: &Value| v.get("id").and_then(as_u64);
        let updated = |v: &Value| {
            v.get("updated_at")
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(crate::world::epoch)
        };
        let parent = |v: &Value| v.get("customer_id").and_then(as_u64);
        let mut tables = HashMap::new();
        tables.insert("customers", Table::from_values(self.customers, |v| Some((id(v)?, None, updated(v))))?);
        tables.insert("contacts", Table::from_values(self.contacts, |v| Some((id(v)?, parent(v), updated(v))))?);
        tables.insert("assets", Table::from_values(self.assets, |v| Some((id(v)?, parent(v), updated(v))))?);
        tables.insert("tickets", Table::from_values(self.tickets, |v| Some((id(v)?, parent(v), updated(v))))?);
        let statuses: Vec<Value> =
            self.ticket_statuses.iter().enumerate().map(|(i, s)| json!({"id": i + 1, "name": s})).collect();
        tables
            .insert("ticket_statuses", Table::from_values(statuses, |v| Some((id(v)?, None, crate::world::epoch())))?);
        let types: Vec<Value> = self
            .asset_types
            .into_iter()
            .enumerate()
            .map(|(i, t)| match t {
                Value::String(name) => json!({"id": i + 1, "name": name}),
                other => other,
            })
            .collect();
        tables.insert("asset_types", Table::from_values(types, |v| Some((id(v)?, None, crate::world::epoch())))?);
        Ok(tables)
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Start a simulated Syncro tenant on 127.0.0.1.
pub async fn start(data: SyncroData, options: SyncroOptions) -> std::io::Result<Simulator> {
    let tables = data.into_tables().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let shared = Shared::new(Psa::Syncro, tables);
    let port = options.port;
    let state = AppState { shared: shared.clone(), options: Arc::new(options) };
    let api = Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/customers", get(customers))
        .route("/api/v1/customers/{id}", get(customer))
        .route("/api/v1/contacts", get(contacts))
        .route("/api/v1/contacts/{id}", get(contact))
        .route("/api/v1/customer_assets", get(assets))
        .route("/api/v1/customer_assets/{id}", get(asset))
        .route("/api/v1/tickets", get(tickets))
        .route("/api/v1/tickets/settings", get(ticket_settings))
        .route("/api/v1/tickets/{id}", get(ticket))
        .route("/api/v1/settings", get(settings))
        .with_state(state);
    Simulator::serve(shared, api, "/api/v1", port).await
}

#[derive(Clone)]
struct AppState {
    shared: Arc<Shared>,
    options: Arc<SyncroOptions>,
}

type Params = Query<HashMap<String, String>>;

/// Token from `Authorization: Bearer T`, `Authorization: T` or `?api_key=T`.
fn authorized(state: &AppState, headers: &HeaderMap, params: &HashMap<String, String>) -> bool {
    let header = headers.get("authorization").and_then(|v| v.to_str().ok()).map(|v| v.trim());
    let token = header
        .map(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")).unwrap_or(h).trim().to_string())
        .or_else(|| params.get("api_key").cloned());
    token.as_deref() == Some(state.options.token.as_str())
}

/// Auth and permission checks shared by every endpoint.
fn guard(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    resource: &str,
) -> Result<(), Response> {
    if !authorized(state, headers, params) {
        return Err(error_response(Psa::Syncro, StatusCode::UNAUTHORIZED, "Not authorized"));
    }
    let faults = state.shared.faults();
    if faults.missing_permissions.iter().any(|p| p == resource || (resource == "customers" && p == "companies")) {
        return Err(error_response(Psa::Syncro, StatusCode::UNAUTHORIZED, PERMISSION_BODY));
    }
    Ok(())
}

fn page_param(params: &HashMap<String, String>) -> usize {
    params.get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1)
}

/// Which meta keys an endpoint's envelope carries (they differ in Syncro).
#[derive(Clone, Copy)]
enum Meta {
    Full,
    PagesOnly,
}

/// One page of a list endpoint in Syncro's envelope. `key` names every
/// parameter `keep` depends on (see [`crate::table::Table::select`]).
#[allow(clippy::too_many_arguments)]
fn list_page(
    state: &AppState,
    table: &str,
    key: &str,
    per_page: usize,
    page: usize,
    meta: Meta,
    order: Order,
    customer: Option<u64>,
    keep: Option<crate::table::Keep<'_>>,
) -> Response {
    let faults = state.shared.faults();
    let body = state.shared.with_listing(table, key, order, customer, keep, |t, listing| {
        let slice = t.page(listing, page, per_page, faults.duplicate_across_pages);
        let (total, total_pages) = (slice.total, slice.last_page);
        let meta = match meta {
            Meta::Full => {
                json!({"total_pages": total_pages, "total_entries": total, "per_page": per_page, "page": page})
            }
            Meta::PagesOnly => json!({"total_pages": total_pages, "page": page}),
        };
        // The envelope key is the table's name (`/customer_assets` answers `assets`).
        format!("{{\"{table}\":{},\"meta\":{meta}}}", json_array(slice.records.into_iter()))
    });
    if page == 1 {
        state.shared.mark_first_page_served();
    }
    match body {
        Some(b) => ([("content-type", "application/json; charset=utf-8")], b).into_response(),
        None => error_response(Psa::Syncro, StatusCode::INTERNAL_SERVER_ERROR, "missing table"),
    }
}

/// The order `sort` asks for on customers: Syncro documents `sort` as "a
/// customer field to order by" with a direction ("firstname ASC", "city
/// DESC"). The simulator orders by `updated_at` and `id`; other fields
/// keep id order. With the `ignore_sort` fault every sort is ignored, as a
/// tenant that does not honour it would.
fn sort_order(state: &AppState, p: &HashMap<String, String>) -> Order {
    let Some(sort) = p.get("sort") else { return Order::IdAsc };
    if state.shared.faults().ignore_sort {
        return Order::IdAsc;
    }
    let mut words = sort.split_whitespace();
    let field = words.next().unwrap_or("").to_ascii_lowercase();
    let desc = words.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
    match (field.as_str(), desc) {
        ("updated_at", true) => Order::UpdatedDesc,
        ("updated_at", false) => Order::UpdatedAsc,
        ("id", true) => Order::IdDesc,
        _ => Order::IdAsc,
    }
}

fn detail(state: &AppState, table: &str, key: Option<&str>, id: &str) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error_response(Psa::Syncro, StatusCode::NOT_FOUND, "Invalid request");
    };
    let found = state.shared.with_table(table, |t| t.get(id).map(|r| r.json.clone())).flatten();
    match found {
        Some(json) => {
            let body = match key {
                Some(k) => format!("{{\"{k}\":{json}}}"),
                None => json.to_string(),
            };
            ([("content-type", "application/json; charset=utf-8")], body).into_response()
        }
        None => error_response(Psa::Syncro, StatusCode::NOT_FOUND, "Invalid request"),
    }
}

async fn me(State(state): State<AppState>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "me") {
        return r;
    }
    let faults = state.shared.faults();
    let can = |area: &str| !faults.missing_permissions.iter().any(|m| m == area);
    axum::Json(json!({
        "user_token": "sim-user-token-id", "user_email": "api@sim.example", "user_name": "API User", "user_id": 1,
        "admin": false, "can_use_app": true, "two_factor_required": false, "subdomain": state.options.subdomain,
        "default_location": null, "enable_multi_locations": false, "locations_allowed": [],
        "permissions": {
            "asset": {"read": can("assets"), "write": false, "delete": false},
            "customer": {"read": can("customers"), "write": false, "delete": false},
            "ticket": {"read": can("tickets"), "write": false, "delete": false}
        }
    }))
    .into_response()
}

async fn customers(State(state): State<AppState>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "customers") {
        return r;
    }
    let include_disabled = p.get("include_disabled").is_some_and(|v| v == "true");
    let per_page = state.options.customers_per_page;
    let order = sort_order(&state, &p);
    let enabled = |r: &crate::Rec| !r.json.contains("\"disabled\":true");
    let keep: Option<crate::table::Keep<'_>> = if include_disabled { None } else { Some(&enabled) };
    let key = format!("all={include_disabled}");
    list_page(&state, "customers", &key, per_page, page_param(&p), Meta::Full, order, None, keep)
}

async fn customer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Params,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "customers") {
        return r;
    }
    detail(&state, "customers", Some("customer"), &id)
}

fn parent_filter(p: &HashMap<String, String>) -> Option<u64> {
    p.get("customer_id").and_then(|v| v.parse().ok())
}

async fn contacts(State(state): State<AppState>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "contacts") {
        return r;
    }
    let customer = parent_filter(&p);
    let per_page = state.options.contacts_per_page;
    list_page(&state, "contacts", "", per_page, page_param(&p), Meta::Full, Order::IdAsc, customer, None)
}

async fn contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Params,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "contacts") {
        return r;
    }
    detail(&state, "contacts", None, &id)
}

async fn assets(State(state): State<AppState>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "assets") {
        return r;
    }
    let customer = parent_filter(&p);
    let per_page = state.options.assets_per_page;
    list_page(&state, "assets", "", per_page, page_param(&p), Meta::Full, Order::IdAsc, customer, None)
}

async fn asset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Params,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "assets") {
        return r;
    }
    detail(&state, "assets", Some("asset"), &id)
}

async fn tickets(State(state): State<AppState>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "tickets") {
        return r;
    }
    let since = match p.get("since_updated_at") {
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    axum::Json(json!({"success": false, "message": ["since_updated_at is not a date-time"]})),
                )
                    .into_response();
            }
        },
        None => None,
    };
    let customer = parent_filter(&p);
    let status = p.get("status").cloned();
    let per_page = state.options.tickets_per_page;
    let filtered = since.is_some() || status.is_some();
    let matches = |r: &crate::Rec| {
        since.is_none_or(|s| r.updated > s)
            && status.as_deref().is_none_or(|s| match s {
                "Not Closed" => {
                    !r.json.contains("\"status\":\"Resolved\"") && !r.json.contains("\"status\":\"Invoiced\"")
                }
                other => r.json.contains(&format!("\"status\":\"{other}\"")),
            })
    };
    let keep: Option<crate::table::Keep<'_>> = filtered.then_some(&matches as _);
    let key = format!("since={since:?}|status={status:?}");
    list_page(&state, "tickets", &key, per_page, page_param(&p), Meta::PagesOnly, Order::IdAsc, customer, keep)
}

async fn ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Params,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "tickets") {
        return r;
    }
    detail(&state, "tickets", Some("ticket"), &id)
}

async fn ticket_settings(State(state): State<AppState>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "tickets") {
        return r;
    }
    let statuses: Vec<Value> = state
        .shared
        .with_table("ticket_statuses", |t| {
            t.rows().iter().filter_map(|r| serde_json::from_str::<Value>(&r.json).ok()?.get("name").cloned()).collect()
        })
        .unwrap_or_default();
    axum::Json(json!({
        "ticket_status_list": statuses, "default_labor_product_id": null, "ticket_types": [],
        "ticket_type_fields": [], "users": [{"id": 1, "name": "API User"}], "worksheet_templates": [],
        "require_ticket_type": null
    }))
    .into_response()
}

async fn settings(State(state): State<AppState>, headers: HeaderMap, Query(p): Params) -> Response {
    if let Err(r) = guard(&state, &headers, &p, "settings") {
        return r;
    }
    let types: Vec<Value> = state
        .shared
        .with_table("asset_types", |t| t.rows().iter().filter_map(|r| serde_json::from_str(&r.json).ok()).collect())
        .unwrap_or_default();
    axum::Json(json!({
        "customers": {"required_fields": null, "customer_fields": [], "customer_field_answers": []},
        "assets": {"asset_types": types, "asset_type_fields": [], "asset_type_field_answers": []},
        "locale": {"iso_code": "en", "currency_symbol": "$", "date_format": "mm-dd-yy", "time_format": "hh:mm tt",
                   "time_zone": "America/Chicago", "time_offset": "-06:00"},
        "ticket": {"ticket_types": [], "problem_types": ["Hardware", "Software", "Network", "Other"],
                   "priorities": PRIORITIES}
    }))
    .into_response()
}

/// How the Syncro simulator changes records (see [`crate::requests::Edits`]).
pub(crate) const EDITS: crate::requests::Edits = crate::requests::Edits {
    touch: |table, v, revision| match table {
        "tickets" => v["subject"] = json!(format!("{} (update {revision})", v["subject"].as_str().unwrap_or(""))),
        "contacts" => v["notes"] = json!(format!("Updated in PSA (revision {revision})")),
        _ => {
            if !v["properties"].is_object() {
                v["properties"] = json!({});
            }
            v["properties"]["PSA revision"] = json!(revision);
        }
    },
    name_field: |table| match table {
        "customers" => "business_name",
        "tickets" => "subject",
        _ => "name",
    },
    stamp: |v, now| v["updated_at"] = json!(ts(now)),
    parent: |v| v.get("customer_id").and_then(Value::as_u64),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Scale;

    #[test]
    fn world_view_has_syncro_shapes() {
        let w = World::generate(3, &Scale::small());
        let d = SyncroData::from_world(&w);
        assert!(!d.customers.is_empty());
        let c = &d.customers[0];
        for key in ["firstname", "lastname", "business_name", "address", "address_2", "disabled", "properties"] {
            assert!(c.get(key).is_some(), "customer lacks {key}");
        }
        let a = &d.assets[0];
        assert!(a["asset_type"].is_string());
        assert!(a.get("asset_serial").is_some());
        assert!(d.contacts[0].get("address1").is_some());
        assert!(d.customers.iter().any(|c| c["business_name"].is_null()), "some individuals");
    }
}
