//! Run history, one run's detail, and tickets with their stage stepper.

use axum::Extension;
use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::checked;
use crate::console::AppState;
use crate::console::auth::Session;
use strum::IntoEnumIterator;

use crate::console::error::Problem;
use crate::console::values;
use crate::console::views::{self, PER_PAGE, enc, pager, status, when};
use crate::options::Stage;
use crate::store::TicketFilter;

#[derive(Deserialize)]
pub(super) struct RunsQuery {
    integration: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<RunsQuery>,
) -> Result<Markup, Problem> {
    let integration = q.integration.filter(|i| !i.is_empty());
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let name = integration.clone();
    let runs = state
        .db(move |store| {
            if let Some(n) = &name {
                store.read().integration(n)?;
            }
            Ok(store.read().runs(name.as_deref(), limit)?)
        })
        .await?;
    let flash = state.auth().take_flash(&session);
    let body = html! {
        table {
            tr { th { "Run" } th { "Integration" } th { "Mode" } th { "Trigger" } th { "Status" } th { "Started" } th { "Fetched" } th { "Error" } }
            @for r in &runs {
                tr {
                    td { a href={ "/runs/" (r.id) } { "#" (r.id) } }
                    td { a href={ "/runs?integration=" (enc(&r.integration)) } { (r.integration) } }
                    td { (r.mode) } td { (r.trigger) } td { (status(r.status.as_str())) }
                    td { (when(&r.started_at)) }
                    td { (r.stream_results.iter().map(|s| s.fetched).sum::<u64>()) }
                    td.muted { (r.error.clone().unwrap_or_default()) }
                }
            }
        }
    };
    let title = match &integration {
        Some(n) => format!("Runs of {n}"),
        None => "Runs".to_string(),
    };
    Ok(views::page(&title, &session, &flash, body))
}

pub(super) async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Markup, Problem> {
    let (run, skipped) = state.db(move |store| Ok((store.read().run(id)?, store.read().skipped_records(id)?))).await?;
    let flash = state.auth().take_flash(&session);
    let stat = |k: &str| run.http.get(k).map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    let body = html! {
        dl.fields {
            dt { "Integration" } dd { a href={ "/integrations/" (enc(&run.integration)) } { (run.integration) } }
            dt { "Status" } dd { (status(run.status.as_str())) }
            dt { "Mode" } dd { (run.mode) " (" (run.streams.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")) ")" }
            dt { "Trigger" } dd { (run.trigger) }
            dt { "Started" } dd { (when(&run.started_at)) }
            dt { "Finished" } dd { (run.finished_at.as_deref().map(when).unwrap_or_else(|| "-".into())) }
            dt { "Requests" } dd { (stat("requests")) " (" (stat("retries")) " retried, " (stat("rate_limited")) " answered 429)" }
        }
        @if let Some(e) = &run.error { p.error { (e) } }
        table {
            tr { th { "Stream" } th { "Status" } th { "Pages" } th { "Fetched" } th { "New" } th { "Changed" } th { "Unchanged" } th { "Deleted" } th { "Archived" } th { "Skipped" } th { "Error / note" } }
            @for s in &run.stream_results {
                tr {
                    td { (s.stream) } td { (status(s.status.as_str())) } td { (s.pages) } td { (s.fetched) } td { (s.created) }
                    td { (s.updated) } td { (s.unchanged) } td { (s.deleted) } td { (s.archived) } td { (s.skipped) }
                    td { (s.error.clone().unwrap_or_default()) @if let Some(n) = &s.note { " " span.muted { (n) } } }
                }
            }
        }
        @if !skipped.is_empty() {
            h2 { (skipped.len()) " records skipped as invalid" }
            table {
                tr { th { "Stream" } th { "PSA id" } th { "Field" } th { "Reason" } th { "Record" } }
                @for r in &skipped {
                    tr { td { (r.stream) } td { (r.external_id) } td { (r.field.clone().unwrap_or_default()) } td { (r.reason) } td { code { (r.snippet) } } }
                }
            }
        }
    };
    Ok(views::page(&format!("Run #{id}"), &session, &flash, body))
}

#[derive(Deserialize)]
pub(super) struct TicketsQuery {
    integration: Option<String>,
    stage: Option<String>,
    open: Option<String>,
    page: Option<u64>,
}

/// The stage stepper: every stage, the ticket's marked, earlier ones done.
fn stepper(at: Stage) -> Markup {
    html! {
        ol.stepper aria-label={ "Stage: " (at) } {
            @for s in Stage::iter() {
                li class=(if s == at { "current" } else if s < at { "done" } else { "" }) { (s) }
            }
        }
    }
}

pub(super) async fn tickets(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<TicketsQuery>,
) -> Result<Markup, Problem> {
    let (page, offset) = views::offset(q.page);
    let integration = q.integration.clone().filter(|i| !i.is_empty());
    let stage: Option<Stage> = values::optional("stage", q.stage.as_deref())?;
    let open = checked(&q.open);
    let filter = TicketFilter { integration: integration.clone(), company: None, stage, open_only: open };
    let (rows, total) = state
        .db(move |store| {
            if let Some(n) = &filter.integration {
                store.read().integration(n)?;
            }
            let all = store.read().tickets(&filter)?;
            let total = all.len() as u64;
            Ok((all.into_iter().skip(offset as usize).take(PER_PAGE as usize).collect::<Vec<_>>(), total))
        })
        .await?;
    let flash = state.auth().take_flash(&session);
    let base = format!(
        "/tickets?integration={}&stage={}&open={}&",
        enc(integration.as_deref().unwrap_or("")),
        stage.map(Stage::as_str).unwrap_or(""),
        if open { "on" } else { "" }
    );
    let body = html! {
        form.actions method="get" action="/tickets" {
            input type="hidden" name="integration" value=(integration.clone().unwrap_or_default());
            select name="stage" aria-label="Stage" {
                option value="" { "any stage" }
                @for s in Stage::iter() { option selected[stage == Some(s)] { (s) } }
            }
            input #open type="checkbox" name="open" checked[open]; label.check for="open" { "open only" }
            button type="submit" { "Filter" }
        }
        table {
            tr { th { "#" } th { "Company" } th { "Subject" } th { "Status" } th { "Stage" } th { "Updated" } }
            @for t in &rows {
                tr {
                    td { (t.number) } td { a href={ "/companies/" (t.company_id) } { (views::name(&t.company)) } } td { (views::name(&t.subject)) }
                    td { (t.status) @if t.closed { " " span.badge { "closed" } } }
                    td { (stepper(t.stage)) }
                    td { (t.updated_at.as_deref().map(when).unwrap_or_default()) }
                }
            }
        }
        (pager(&base, page, total))
    };
    Ok(views::page("Tickets", &session, &flash, body))
}
