//! Match companies: each PSA company with its state and best suggestion
//! (score and reason); accept, choose another, create, ignore, unmatch;
//! bulk "accept at or above N%" and "create the rest". The decisions are
//! `companies::*`, as `ferry match` makes them; each is applied at once.

use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;

use super::{checked, done};
use crate::apply;
use crate::companies::{self, LinkView};
use crate::console::AppState;
use crate::console::auth::Session;
use crate::console::error::Problem;
use crate::console::values;
use crate::console::views::{self, PER_PAGE, csrf, enc, pager, status};
use crate::store::LinkState;

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    state: Option<String>,
    page: Option<u64>,
}

/// The state filters, in the order an operator works through them.
const STATES: [LinkState; 5] =
    [LinkState::Suggested, LinkState::Unmatched, LinkState::Matched, LinkState::Created, LinkState::Ignored];

/// One decision on a PSA company, as `ferry match NAME ACTION` names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::Display, strum::IntoStaticStr, strum::EnumIter,
)]
#[strum(serialize_all = "lowercase")]
pub enum Decision {
    Accept,
    /// Match to a company the operator names.
    Set,
    Create,
    Ignore,
    Unmatch,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Markup, Problem> {
    let filter: Option<LinkState> = values::optional("state", q.state.as_deref())?;
    let (page, offset) = views::offset(q.page);
    let n = name.clone();
    let (rows, total, companies) = state
        .db(move |store| {
            let integration = store.read().integration(&n)?;
            let all = companies::list(store, &integration, filter)?;
            let total = all.len() as u64;
            let rows: Vec<LinkView> = all.into_iter().skip(offset as usize).take(PER_PAGE as usize).collect();
            let companies: Vec<(i64, String)> =
                store.read().companies(false)?.into_iter().map(|c| (c.id, c.name)).collect();
            Ok((rows, total, companies))
        })
        .await?;
    let flash = state.auth().take_flash(&session);
    let base = format!("/integrations/{}/match", enc(&name));
    let filter_q = q.state.clone().unwrap_or_default();
    let here = format!("{base}?state={}&page={page}", enc(&filter_q));
    let body = html! {
        nav.actions {
            a href=(base) { "All" }
            @for s in STATES { a href={ (base) "?state=" (s) } { (s) } }
        }
        form.actions method="post" action={ (base) "/bulk" } {
            (csrf(&session))
            input type="hidden" name="back" value=(here);
            label.check for="threshold" { "Accept every suggestion at or above" }
            input #threshold type="number" name="threshold" min="0" max="100" value="90"; "%"
            input #rest type="checkbox" name="create_rest"; label.check for="rest" { "and create a company for the rest" }
            button type="submit" { "Decide in bulk" }
        }
        datalist #companies { @for (id, c) in &companies { option value={ "#" (id) } { (crate::text::visible(c)) } } }
        table {
            tr { th { "PSA company" } th { "PSA id" } th { "State" } th { "Documentation company" } th { "Score" } th { "Reason" } th { "Decide" } }
            @for v in &rows {
                tr data-ext=(v.external_id) {
                    td.psa-name { (views::visible_name(&v.psa_name)) }
                    td { (v.external_id) }
                    td { (status(v.state.as_str())) @if v.merged { " (merged)" } }
                    td { @match (v.company_id, &v.company) {
                        (Some(id), Some(c)) => { a href={ "/companies/" (id) } { (views::visible_name(c)) } },
                        _ => { "–" }
                    } }
                    td { @if let Some(s) = v.score { (format!("{:.0}%", s * 100.0)) } }
                    td.muted { (views::visible_name(v.reason.as_deref().unwrap_or_default())) }
                    td {
                        form.actions method="post" action={ (base) "/decide" } {
                            (csrf(&session))
                            input type="hidden" name="ext" value=(v.external_id);
                            input type="hidden" name="back" value=(here);
                            @if v.state == LinkState::Suggested { button type="submit" name="action" value=(Decision::Accept) { "Accept" } }
                            @if !matches!(v.state, LinkState::Created) { button.secondary type="submit" name="action" value=(Decision::Create) { "Create" } }
                            @if !matches!(v.state, LinkState::Ignored) { button.secondary type="submit" name="action" value=(Decision::Ignore) { "Ignore" } }
                            @if matches!(v.state, LinkState::Matched | LinkState::Created | LinkState::Ignored) {
                                button.secondary type="submit" name="action" value=(Decision::Unmatch) { "Unmatch" }
                            }
                            input type="text" name="company" list="companies" placeholder="#id or name" aria-label="Another company" size="12";
                            button.secondary type="submit" name="action" value=(Decision::Set) { "Match to" }
                        }
                    }
                }
            }
        }
        (pager(&format!("{base}?state={}&", enc(&filter_q)), page, total))
    };
    Ok(views::page(&format!("Match companies · {name}"), &session, &flash, body))
}

#[derive(Deserialize)]
pub(crate) struct DecideForm {
    ext: String,
    action: String,
    company: Option<String>,
    merge: Option<String>,
    back: Option<String>,
}

/// Back to the list the form came from (a path on this console only).
fn back_to(back: Option<&str>, name: &str) -> String {
    match back {
        Some(b) if super::home::is_local_path(b) => b.to_string(),
        _ => format!("/integrations/{}/match", enc(name)),
    }
}

pub(crate) async fn decide(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Redirect, Problem> {
    let decision: Decision = values::one_of("decision", &form.action)?;
    let target = back_to(form.back.as_deref(), &name);
    let n = name.clone();
    let outcome = state
        .db(move |store| {
            let integration = store.read().integration(&n)?;
            let merge = checked(&form.merge);
            let view = decide_one(store, &integration, &form.ext, decision, form.company.as_deref(), merge)?;
            apply::apply(store, integration.id)?;
            Ok(format!(
                "{} → {}{}",
                view.psa_name,
                view.state,
                view.company.map(|c| format!(" ({c})")).unwrap_or_default()
            ))
        })
        .await;
    Ok(done(&state, &session, outcome, &target))
}

/// One decision, by name, as `ferry match NAME ACTION` takes it.
pub(crate) fn decide_one(
    store: &mut crate::store::Store,
    integration: &crate::store::IntegrationRow,
    ext: &str,
    decision: Decision,
    company: Option<&str>,
    merge: bool,
) -> Result<LinkView, Problem> {
    Ok(match decision {
        Decision::Accept => companies::accept(store, integration, ext, merge)?,
        Decision::Set => {
            let company = company.map(str::trim).filter(|c| !c.is_empty()).ok_or_else(|| {
                Problem::bad_request("which company?", Some("type its #id or exact name".to_string()))
            })?;
            companies::set(store, integration, ext, company, merge)?
        }
        Decision::Create => companies::create(store, integration, ext)?,
        Decision::Ignore => companies::ignore(store, integration, ext)?,
        Decision::Unmatch => companies::unmatch(store, integration, ext)?,
    })
}

#[derive(Deserialize)]
pub(crate) struct BulkForm {
    threshold: Option<f64>,
    create_rest: Option<String>,
    back: Option<String>,
}

pub(crate) async fn bulk(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<BulkForm>,
) -> Redirect {
    let target = back_to(form.back.as_deref(), &name);
    let n = name.clone();
    let outcome = state
        .db(move |store| {
            let integration = store.read().integration(&n)?;
            // The form takes percent; the library's error would speak 0..1.
            if let Some(t) = form.threshold
                && !(0.0..=100.0).contains(&t)
            {
                return Err(Problem::bad_request(
                    format!("threshold {t}% is outside 0–100%"),
                    Some("give a percentage, e.g. 90".to_string()),
                ));
            }
            let threshold = form.threshold.map(|t| t / 100.0);
            let plan = companies::auto(store, &integration, threshold, checked(&form.create_rest), false)?;
            apply::apply(store, integration.id)?;
            Ok(format!(
                "matched {}, created {}, {} left for review",
                plan.matched.len(),
                plan.created.len(),
                plan.left.len()
            ))
        })
        .await;
    done(&state, &session, outcome, &target)
}
