//! The HTTP API under `/api/v1` (bearer token): the same data as the CLI's
//! `--json` (the same library types, serialised the same way) and the same
//! operator actions. Errors are JSON `{error, hint}` with the CLI's cause
//! and hint (`error::json_errors`). Reference: docs/api.md.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::engine::ConfigChange;
use super::error::Problem;
use super::pages::{docs_api, integrations_api, matching_api};
use super::values;
use crate::options::Stage;
use crate::store::{AssetFilter, CardTarget, LinkState, TicketFilter};
use crate::{apply, companies, curation, integrations, settings};

type Answer = Result<Json<Value>, Problem>;

fn to_json<T: serde::Serialize>(value: &T) -> Answer {
    serde_json::to_value(value).map(Json).map_err(|e| Problem::internal(format!("cannot write JSON: {e}")))
}

/// A JSON body, or the reason it is not one as a [`Problem`].
fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, Problem> {
    json.map(|Json(v)| v).map_err(|e| {
        Problem::bad_request(
            format!("the request body is not what this call takes: {}", e.body_text()),
            Some("send JSON with `Content-Type: application/json`; docs/api.md lists each call's fields".to_string()),
        )
    })
}

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/integrations", get(integrations_list).post(integration_add))
        .route("/integrations/{name}", get(integration_show))
        .route("/integrations/{name}/config", post(integration_set))
        .route("/integrations/{name}/test", post(integration_test))
        .route("/integrations/{name}/sync", post(sync))
        .route("/integrations/{name}/apply", post(apply_now))
        .route("/integrations/{name}/matches", get(matches))
        .route("/integrations/{name}/matches/auto", post(matches_auto))
        .route("/integrations/{name}/matches/{ext}", post(match_decide))
        .route("/integrations/{name}/rules", get(rules).post(rule_add))
        .route("/integrations/{name}/rules/{n}/remove", post(rule_remove))
        .route("/integrations/{name}/schedules", get(schedules))
        .route("/integrations/{name}/statuses", get(statuses))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run))
        .route("/companies", get(companies_list))
        .route("/companies/{key}", get(company))
        .route("/assets", get(assets))
        .route("/assets/{id}", get(asset))
        .route("/assets/{id}/fields", post(asset_field))
        .route("/assets/{id}/fields/remove", post(asset_field_remove))
        .route("/tickets", get(tickets))
        .route("/search", get(search))
        .route("/notifications", get(notifications))
        .route("/notifications/{id}/ack", post(acknowledge))
        .route("/settings/webhook", post(webhook))
        .fallback(unknown_call)
}

/// Any other path under `/api/v1`: a 404 in the API's JSON.
async fn unknown_call(uri: axum::http::Uri) -> Problem {
    // Nested: the path arrives without the `/api/v1` prefix.
    Problem::new(
        axum::http::StatusCode::NOT_FOUND,
        format!("no API call at /api/v1{}", uri.path()),
        Some("docs/api.md lists every call under /api/v1".to_string()),
    )
}

async fn integrations_list(State(state): State<AppState>) -> Answer {
    to_json(&state.db(|store| Ok(integrations::summaries(store)?)).await?)
}

async fn integration_show(State(state): State<AppState>, Path(name): Path<String>) -> Answer {
    to_json(&state.db(move |store| Ok(integrations::overview(store, &name)?.0)).await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigBody {
    name: String,
    plugin: String,
    set: BTreeMap<String, String>,
    secret: BTreeMap<String, String>,
    accept_normalised: bool,
}

impl ConfigBody {
    fn change(&self) -> ConfigChange {
        ConfigChange {
            values: self.set.clone().into_iter().collect(),
            secrets: self.secret.clone().into_iter().collect(),
            accept_normalised: self.accept_normalised,
        }
    }
}

async fn integration_add(State(state): State<AppState>, json: Result<Json<ConfigBody>, JsonRejection>) -> Answer {
    let b = body(json)?;
    let notices = state.engine().add(&b.name, &b.plugin, b.change()).await?;
    Ok(Json(json!({"added": b.name, "plugin": b.plugin, "notices": notices})))
}

async fn integration_set(
    State(state): State<AppState>,
    Path(name): Path<String>,
    json: Result<Json<ConfigBody>, JsonRejection>,
) -> Answer {
    let b = body(json)?;
    if b.set.is_empty() && b.secret.is_empty() {
        return Err(Problem::bad_request("nothing to set", Some("give `set` or `secret` values".to_string())));
    }
    let notices = state.engine().set(&name, b.change()).await?;
    Ok(Json(json!({"updated": name, "notices": notices})))
}

async fn integration_test(State(state): State<AppState>, Path(name): Path<String>) -> Answer {
    to_json(&state.engine().test(&name).await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SyncBody {
    /// full (default), incremental, tickets, resync-tickets.
    mode: Option<String>,
}

async fn sync(State(state): State<AppState>, Path(name): Path<String>, json: Option<Json<SyncBody>>) -> Answer {
    let mode = json.and_then(|Json(b)| b.mode);
    let request = integrations_api::sync_request(&name, integrations_api::sync_choice(mode.as_deref())?);
    to_json(&state.engine().sync(request).await?)
}

async fn apply_now(State(state): State<AppState>, Path(name): Path<String>) -> Answer {
    let report = state
        .db(move |store| {
            let row = store.read().integration(&name)?;
            Ok(apply::apply(store, row.id)?)
        })
        .await?;
    to_json(&report)
}

#[derive(Deserialize)]
struct StateQuery {
    state: Option<String>,
}

async fn matches(State(state): State<AppState>, Path(name): Path<String>, Query(q): Query<StateQuery>) -> Answer {
    let filter: Option<LinkState> = values::optional("state", q.state.as_deref())?;
    to_json(
        &state
            .db(move |store| {
                let row = store.read().integration(&name)?;
                Ok(companies::list(store, &row, filter)?)
            })
            .await?,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecideBody {
    action: String,
    company: Option<String>,
    merge: bool,
    apply: bool,
}

async fn match_decide(
    State(state): State<AppState>,
    Path((name, ext)): Path<(String, String)>,
    json: Result<Json<DecideBody>, JsonRejection>,
) -> Answer {
    let b = body(json)?;
    let decision = values::one_of("decision", &b.action)?;
    state
        .db(move |store| {
            let row = store.read().integration(&name)?;
            let view = matching_api::decide_one(store, &row, &ext, decision, b.company.as_deref(), b.merge)?;
            if b.apply {
                let report = apply::apply(store, row.id)?;
                return Ok(Json(json!({"link": view, "apply": report})));
            }
            to_json(&view)
        })
        .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AutoBody {
    threshold: Option<f64>,
    create_rest: bool,
    dry_run: bool,
    apply: bool,
}

async fn matches_auto(
    State(state): State<AppState>,
    Path(name): Path<String>,
    json: Result<Json<AutoBody>, JsonRejection>,
) -> Answer {
    let b = body(json)?;
    state
        .db(move |store| {
            let row = store.read().integration(&name)?;
            let plan = companies::auto(store, &row, b.threshold, b.create_rest, b.dry_run)?;
            if b.apply && !b.dry_run {
                apply::apply(store, row.id)?;
            }
            to_json(&plan)
        })
        .await
}

async fn rules(State(state): State<AppState>, Path(name): Path<String>) -> Answer {
    let row = state.db(move |store| Ok(store.read().integration(&name)?)).await?;
    to_json(&crate::options::IntegrationOptions::from_json(&row.options))
}

#[derive(Deserialize)]
struct RuleBody {
    when_type: String,
    layout: String,
}

async fn rule_add(
    State(state): State<AppState>,
    Path(name): Path<String>,
    json: Result<Json<RuleBody>, JsonRejection>,
) -> Answer {
    let b = body(json)?;
    state
        .db(move |store| {
            let row = store.read().integration(&name)?;
            to_json(&settings::add_type_rule(store, &row, &b.when_type, &b.layout)?)
        })
        .await
}

async fn rule_remove(State(state): State<AppState>, Path((name, n)): Path<(String, usize)>) -> Answer {
    state
        .db(move |store| {
            let row = store.read().integration(&name)?;
            to_json(&settings::remove_type_rule(store, &row, n)?.1)
        })
        .await
}

async fn schedules(State(state): State<AppState>, Path(name): Path<String>) -> Answer {
    state
        .db(move |store| {
            let row = store.read().integration(&name)?;
            to_json(&settings::schedule_views(store, &row, 5)?)
        })
        .await
}

async fn statuses(State(state): State<AppState>, Path(name): Path<String>) -> Answer {
    state
        .db(move |store| {
            let row = store.read().integration(&name)?;
            to_json(&settings::ticket_statuses(store, &row)?)
        })
        .await
}

#[derive(Deserialize)]
struct RunsQuery {
    integration: Option<String>,
    limit: Option<usize>,
}

async fn runs(State(state): State<AppState>, Query(q): Query<RunsQuery>) -> Answer {
    state
        .db(move |store| {
            if let Some(n) = &q.integration {
                store.read().integration(n)?;
            }
            to_json(&store.read().runs(q.integration.as_deref(), q.limit.unwrap_or(20))?)
        })
        .await
}

async fn run(State(state): State<AppState>, Path(id): Path<i64>) -> Answer {
    state
        .db(move |store| {
            let mut value = serde_json::to_value(store.read().run(id)?).unwrap_or_default();
            value["skipped_records"] = serde_json::to_value(store.read().skipped_records(id)?).unwrap_or_default();
            Ok(Json(value))
        })
        .await
}

#[derive(Deserialize)]
struct ArchivedQuery {
    archived: Option<bool>,
}

async fn companies_list(State(state): State<AppState>, Query(q): Query<ArchivedQuery>) -> Answer {
    state.db(move |store| to_json(&store.read().companies(q.archived.unwrap_or(false))?)).await
}

async fn company(State(state): State<AppState>, Path(key): Path<String>) -> Answer {
    state.db(move |store| to_json(&curation::show(store, &key)?)).await
}

#[derive(Deserialize)]
struct AssetsQuery {
    company: Option<String>,
    layout: Option<String>,
    archived: Option<bool>,
    integration: Option<String>,
}

async fn assets(State(state): State<AppState>, Query(q): Query<AssetsQuery>) -> Answer {
    let filter = AssetFilter {
        company: q.company,
        layout: q.layout,
        archived: Some(q.archived.unwrap_or(false)),
        integration: q.integration,
    };
    state.db(move |store| to_json(&store.read().assets(&filter)?)).await
}

async fn asset(State(state): State<AppState>, Path(id): Path<i64>) -> Answer {
    state
        .db(move |store| {
            let tx = store.read();
            let mut value = serde_json::to_value(tx.asset(id)?).unwrap_or_default();
            value["cards"] = serde_json::to_value(tx.cards_of(CardTarget::Asset, id)?).unwrap_or_default();
            value["fields"] = serde_json::to_value(tx.asset_fields(id)?).unwrap_or_default();
            Ok(Json(value))
        })
        .await
}

#[derive(Deserialize)]
struct FieldBody {
    field: String,
    value: String,
}

async fn asset_field(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    json: Result<Json<FieldBody>, JsonRejection>,
) -> Answer {
    let b = body(json)?;
    state
        .db(move |store| {
            let field = curation::set_field(store, id, &b.field, &b.value)?;
            Ok(Json(json!({"asset": id, "field": field, "value": b.value})))
        })
        .await
}

#[derive(Deserialize)]
struct FieldNameBody {
    field: String,
}

async fn asset_field_remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    json: Result<Json<FieldNameBody>, JsonRejection>,
) -> Answer {
    let b = body(json)?;
    state
        .db(move |store| {
            curation::unset_field(store, id, &b.field)?;
            Ok(Json(json!({"asset": id, "deleted_field": b.field.trim()})))
        })
        .await
}

#[derive(Deserialize)]
struct TicketsQuery {
    integration: Option<String>,
    company: Option<String>,
    stage: Option<String>,
    open: Option<bool>,
}

async fn tickets(State(state): State<AppState>, Query(q): Query<TicketsQuery>) -> Answer {
    let stage: Option<Stage> = values::optional("stage", q.stage.as_deref())?;
    state
        .db(move |store| {
            let company = match &q.company {
                Some(c) => Some(store.read().find_company(c)?.id),
                None => None,
            };
            if let Some(n) = &q.integration {
                store.read().integration(n)?;
            }
            let filter =
                TicketFilter { integration: q.integration, company, stage, open_only: q.open.unwrap_or(false) };
            to_json(&store.read().tickets(&filter)?)
        })
        .await
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
}

async fn search(State(state): State<AppState>, Query(q): Query<SearchQuery>) -> Answer {
    state.db(move |store| to_json(&store.read().search(&q.q, 100)?)).await
}

async fn notifications(State(state): State<AppState>) -> Answer {
    state.db(|store| to_json(&store.read().open_notifications()?)).await
}

async fn acknowledge(State(state): State<AppState>, Path(id): Path<i64>) -> Answer {
    state
        .db(move |store| {
            if store.transaction(|tx| tx.acknowledge_notification(id))? {
                Ok(Json(json!({"acknowledged": id})))
            } else {
                Err(Problem::not_found("open notification"))
            }
        })
        .await
}

#[derive(Deserialize)]
struct WebhookBody {
    url: String,
}

async fn webhook(State(state): State<AppState>, json: Result<Json<WebhookBody>, JsonRejection>) -> Answer {
    let b = body(json)?;
    let message = docs_api::save_webhook(&state, b.url).await?;
    Ok(Json(json!({"ok": true, "message": message})))
}
