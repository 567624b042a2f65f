//! The request log and the `/_sim` admin endpoints (faults, mutations), so
//! tests and scripts can steer a running simulator.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::{Psa, Shared, cw, syncro};

/// One API request as the simulator saw it. Never holds credentials: the
/// Authorization header is not recorded and `api_key` is masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
}

impl RequestRecord {
    /// The decoded value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        url_decode_pairs(q).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// Minimal `application/x-www-form-urlencoded` decoding.
fn url_decode_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query string with `api_key` masked.
pub(crate) fn redact_query(q: &str) -> String {
    q.split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("api_key") => format!("{k}=********"),
            _ => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn log(shared: &Shared, method: String, path: String, query: Option<String>, status: u16) {
    let at_ms = shared.started.elapsed().as_millis() as u64;
    if let Ok(mut l) = shared.log.lock() {
        l.push(RequestRecord { method, path, query, status, at_ms });
    }
}

pub(crate) fn set_faults(shared: &Shared, faults: crate::Faults) {
    if let Ok(mut f) = shared.faults.lock() {
        *f = faults;
    }
    if let Ok(mut s) = shared.fault_state.lock() {
        *s = Default::default();
    }
}

/// The table holding records of `kind` (accepts either PSA's word).
pub(crate) fn table_name(psa: Psa, kind: &str) -> &'static str {
    match (psa, kind) {
        (Psa::Syncro, "companies" | "customers") => "customers",
        (Psa::Syncro, "contacts") => "contacts",
        (Psa::Syncro, "assets" | "configurations" | "customer_assets") => "assets",
        (Psa::Syncro, "tickets") => "tickets",
        (Psa::Cw, "companies" | "customers") => "companies",
        (Psa::Cw, "contacts") => "contacts",
        (Psa::Cw, "assets" | "configurations") => "configurations",
        (Psa::Cw, "agreements") => "agreements",
        (Psa::Cw, "sites") => "sites",
        (Psa::Cw, "tickets") => "tickets",
        _ => "",
    }
}

/// What differs between the two PSAs when the simulator changes a record
/// (`touch`, `rename`, `add`); the changing itself is shared.
pub(crate) struct Edits {
    /// Change a record of `table` visibly; `revision` makes each change
    /// distinct.
    pub(crate) touch: fn(table: &str, v: &mut serde_json::Value, revision: u32),
    /// The field a rename of a `table` record writes.
    pub(crate) name_field: fn(table: &str) -> &'static str,
    /// Set the update time, in the PSA's own field and format.
    pub(crate) stamp: fn(v: &mut serde_json::Value, now: chrono::DateTime<chrono::Utc>),
    /// The parent (customer / company) id of a record.
    pub(crate) parent: fn(v: &serde_json::Value) -> Option<u64>,
}

fn edits(psa: Psa) -> &'static Edits {
    match psa {
        Psa::Syncro => &syncro::EDITS,
        Psa::Cw => &cw::EDITS,
    }
}

/// Change the first `count` records of `kind` visibly and bump their update
/// time to now; returns their ids.
pub(crate) fn touch(shared: &Shared, kind: &str, count: usize) -> Vec<String> {
    let table = table_name(shared.psa, kind);
    let edits = edits(shared.psa);
    let now = chrono::Utc::now();
    shared
        .with_table_mut(table, |t| {
            let ids: Vec<u64> = t.rows().iter().take(count).map(|r| r.id).collect();
            for id in &ids {
                let Some(mut v) = t.get(*id).and_then(|r| serde_json::from_str::<serde_json::Value>(&r.json).ok())
                else {
                    continue;
                };
                let revision = shared.revision.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                (edits.touch)(table, &mut v, revision);
                (edits.stamp)(&mut v, now);
                t.update(*id, &v, now);
            }
            ids.into_iter().map(|i| i.to_string()).collect()
        })
        .unwrap_or_default()
}

/// Rename a record, bumping its update time.
pub(crate) fn rename(shared: &Shared, kind: &str, id: &str, name: &str) -> bool {
    let table = table_name(shared.psa, kind);
    let edits = edits(shared.psa);
    let Ok(id) = id.parse::<u64>() else { return false };
    let now = chrono::Utc::now();
    shared
        .with_table_mut(table, |t| {
            let Some(mut v) = t.get(id).and_then(|r| serde_json::from_str::<serde_json::Value>(&r.json).ok()) else {
                return false;
            };
            v[(edits.name_field)(table)] = serde_json::json!(name);
            (edits.stamp)(&mut v, now);
            t.update(id, &v, now)
        })
        .unwrap_or(false)
}

/// Set top-level fields of a stored record (see `Simulator::patch`).
pub(crate) fn patch(shared: &Shared, kind: &str, id: &str, patch: &serde_json::Value) -> bool {
    let table = table_name(shared.psa, kind);
    let Ok(id) = id.parse::<u64>() else { return false };
    let Some(fields) = patch.as_object() else { return false };
    shared
        .with_table_mut(table, |t| {
            let Some(row) = t.get(id) else { return false };
            let updated = row.updated;
            let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&row.json) else { return false };
            for (k, value) in fields {
                v[k] = value.clone();
            }
            t.update(id, &v, updated)
        })
        .unwrap_or(false)
}

/// Copy a record under the next free id; returns the new id.
pub(crate) fn add_like(shared: &Shared, kind: &str, template_id: &str) -> Option<String> {
    let table = table_name(shared.psa, kind);
    let template_id = template_id.parse::<u64>().ok()?;
    let (new_id, mut record) = shared
        .with_table(table, |t| {
            let template = t.get(template_id)?;
            let new_id = t.rows().iter().map(|r| r.id).max().unwrap_or(0) + 1;
            let record: serde_json::Value = serde_json::from_str(&template.json).ok()?;
            Some((new_id, record))
        })
        .flatten()?;
    record["id"] = serde_json::json!(new_id);
    add(shared, kind, &record).then(|| new_id.to_string())
}

pub(crate) fn remove(shared: &Shared, kind: &str, id: &str) -> bool {
    let table = table_name(shared.psa, kind);
    let Ok(id) = id.parse::<u64>() else { return false };
    shared.with_table_mut(table, |t| t.remove(id)).unwrap_or(false)
}

/// Add a record (a creation in the PSA), in the PSA's own shape with a
/// numeric `id` not yet taken; it is listed in id order, so a low id shifts
/// every later page. Its update time becomes now.
pub(crate) fn add(shared: &Shared, kind: &str, record: &serde_json::Value) -> bool {
    let table = table_name(shared.psa, kind);
    let Some(id) = record.get("id").and_then(serde_json::Value::as_u64) else { return false };
    let now = chrono::Utc::now();
    let edits = edits(shared.psa);
    let mut record = record.clone();
    (edits.stamp)(&mut record, now);
    let parent = (edits.parent)(&record);
    let rec = crate::Rec { id, parent, updated: now, json: std::sync::Arc::from(record.to_string()) };
    shared.with_table_mut(table, |t| t.insert(rec)).unwrap_or(false)
}

#[derive(Deserialize)]
struct AddBody {
    kind: String,
    record: serde_json::Value,
}

#[derive(Deserialize)]
struct TouchBody {
    kind: String,
    count: usize,
}

#[derive(Deserialize)]
struct RemoveBody {
    kind: String,
    id: String,
}

#[derive(Deserialize)]
struct RenameBody {
    kind: String,
    id: String,
    name: String,
}

pub(crate) fn admin_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/requests",
            get(
                |State(s): State<Arc<Shared>>| async move { Json(s.log.lock().map(|l| l.clone()).unwrap_or_default()) },
            )
            .delete(|State(s): State<Arc<Shared>>| async move {
                if let Ok(mut l) = s.log.lock() {
                    l.clear();
                }
                Json(serde_json::json!({"cleared": true}))
            }),
        )
        .route(
            "/faults",
            get(|State(s): State<Arc<Shared>>| async move { Json(s.faults()) }).put(
                |State(s): State<Arc<Shared>>, Json(f): Json<crate::Faults>| async move {
                    set_faults(&s, f);
                    Json(s.faults())
                },
            ),
        )
        .route(
            "/touch",
            post(|State(s): State<Arc<Shared>>, Json(b): Json<TouchBody>| async move {
                Json(serde_json::json!({ "ids": touch(&s, &b.kind, b.count) }))
            }),
        )
        .route(
            "/remove",
            post(|State(s): State<Arc<Shared>>, Json(b): Json<RemoveBody>| async move {
                Json(serde_json::json!({ "removed": remove(&s, &b.kind, &b.id) }))
            }),
        )
        .route(
            "/add",
            post(|State(s): State<Arc<Shared>>, Json(b): Json<AddBody>| async move {
                Json(serde_json::json!({ "added": add(&s, &b.kind, &b.record) }))
            }),
        )
        .route(
            "/rename",
            post(|State(s): State<Arc<Shared>>, Json(b): Json<RenameBody>| async move {
                Json(serde_json::json!({ "renamed": rename(&s, &b.kind, &b.id, &b.name) }))
            }),
        )
        .with_state(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_api_key() {
        assert_eq!(redact_query("page=2&api_key=s3cret&x=1"), "page=2&api_key=********&x=1");
    }

    #[test]
    fn param_decoding() {
        let r = RequestRecord {
            method: "GET".into(),
            path: "/x".into(),
            query: Some("conditions=lastUpdated+%3E+%5B2025-01-01T00%3A00%3A00Z%5D&page=2".into()),
            status: 200,
            at_ms: 0,
        };
        assert_eq!(r.param("conditions").as_deref(), Some("lastUpdated > [2025-01-01T00:00:00Z]"));
        assert_eq!(r.param("page").as_deref(), Some("2"));
        assert_eq!(r.param("nope"), None);
    }
}
