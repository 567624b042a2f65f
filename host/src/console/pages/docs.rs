//! The documentation: companies (searchable), a company page (its PSA
//! cards, layouts, assets paginated, archived behind a toggle), an asset
//! page (one read-only card per source PSA, the operator's own fields,
//! editable), the global search, and the `/links/...` redirects a PSA's
//! own screens can point at.

use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;

use super::{act, checked};
use crate::console::AppState;
use crate::console::auth::Session;
use crate::console::error::Problem;
use crate::console::views::{self, PER_PAGE, csrf, enc, pager, when};
use crate::curation;
use crate::store::{CardRow, CardTarget};

#[derive(Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    archived: Option<String>,
    page: Option<u64>,
}

pub(super) async fn companies(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<ListQuery>,
) -> Result<Markup, Problem> {
    let (page, offset) = views::offset(query.page);
    let archived = checked(&query.archived);
    let q = query.q.clone().unwrap_or_default();
    let search = q.clone();
    let (rows, total) =
        state.db(move |store| Ok(store.read().companies_page(Some(&search), archived, offset, PER_PAGE)?)).await?;
    let flash = state.auth().take_flash(&session);
    let body = html! {
        form.actions method="get" action="/companies" {
            input type="search" name="q" value=(q) placeholder="Company name" aria-label="Company name";
            input #arch type="checkbox" name="archived" checked[archived]; label.check for="arch" { "include archived" }
            button type="submit" { "Filter" }
        }
        table {
            tr { th { "Company" } th { "Domain" } th { "Phone" } th { "Details from" } }
            @for c in &rows {
                tr {
                    td { a.company-name href={ "/companies/" (c.id) } { (views::name(&c.name)) } @if c.archived_at.is_some() { " " span.badge { "archived" } } }
                    td { (c.domain.clone().unwrap_or_default()) }
                    td { (c.phone.clone().unwrap_or_default()) }
                    td.muted { (c.source.clone().unwrap_or_else(|| "operator".into())) }
                }
            }
        }
        (pager(&format!("/companies?q={}&archived={}&", enc(&q), if archived { "on" } else { "" }), page, total))
    };
    Ok(views::page("Documentation", &session, &flash, body))
}

/// A PSA card, read-only.
fn card(c: &CardRow) -> Markup {
    html! {
        section.card.psa data-source=(c.integration) {
            h3 { (views::name(&c.title)) " " span.muted { "from " (c.integration) " (" (c.stream) " " (c.external_id) ")" }
                @if c.archived_at.is_some() { " " span.badge { "archived" } } }
            dl.fields { @for f in &c.fields { dt { (f.label) } dd { (f.value) } } }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CompanyQuery {
    archived: Option<String>,
    page: Option<u64>,
}

pub(super) async fn company(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
    Query(query): Query<CompanyQuery>,
) -> Result<Markup, Problem> {
    let (page, offset) = views::offset(query.page);
    let archived = checked(&query.archived);
    let (detail, cards, layouts, (assets, total)) = state
        .db(move |store| {
            let detail = curation::show(store, &format!("#{id}"))?;
            let tx = store.read();
            Ok((
                detail,
                tx.cards_of(CardTarget::Company, id)?,
                tx.company_layout_counts(id)?,
                tx.company_assets_page(id, archived, offset, PER_PAGE)?,
            ))
        })
        .await?;
    let flash = state.auth().take_flash(&session);
    let c = &detail.company;
    let body = html! {
        dl.fields {
            dt { "Domain" } dd { (c.domain.clone().unwrap_or_default()) }
            dt { "Phone" } dd { (c.phone.clone().unwrap_or_default()) }
            dt { "Details from" } dd { (c.source.clone().unwrap_or_else(|| "the operator".into())) }
            dt { "PSA companies" } dd { @for l in &detail.links { (l.integration) " " (l.external_id) "; " } }
            @if let Some(at) = &c.archived_at { dt { "Archived" } dd { (when(at)) } }
        }
        @for k in &cards { (card(k)) }
        h2 { "Layouts" }
        p { @for (layout, n) in &layouts { span.badge { (layout) ": " (n) } " " } }
        h2 { @if archived { "Archived assets" } @else { "Assets" } }
        p { @if archived { a href={ "/companies/" (id) } { "Show live assets" } }
            @else { a href={ "/companies/" (id) "?archived=on" } { "Show archived assets" } } }
        table {
            tr { th { "Asset" } th { "Layout" } th { "Sources" } th { "Updated" } }
            @for a in &assets {
                tr data-layout=(a.layout) { td { a.asset-name href={ "/assets/" (a.id) } { (views::name(&a.name)) } } td { (a.layout) } td { (a.sources.join(", ")) } td { (when(&a.updated_at)) } }
            }
        }
        (pager(&format!("/companies/{id}?archived={}&", if archived { "on" } else { "" }), page, total))
        @if !detail.history.is_empty() {
            h2 { "History" }
            table {
                tr { th { "When" } th { "By" } th { "Field" } th { "Old" } th { "New" } }
                @for h in &detail.history {
                    tr { td { (when(&h.at)) } td { (h.actor) } td { (h.field) } td { (h.old.clone().unwrap_or_default()) } td { (h.new.clone().unwrap_or_default()) } }
                }
            }
        }
    };
    Ok(views::page(&c.name, &session, &flash, body))
}

pub(super) async fn asset(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Markup, Problem> {
    let (asset, cards, fields) = state
        .db(move |store| {
            let tx = store.read();
            Ok((tx.asset(id)?, tx.cards_of(CardTarget::Asset, id)?, tx.asset_fields(id)?))
        })
        .await?;
    let flash = state.auth().take_flash(&session);
    let base = format!("/assets/{id}");
    let body = html! {
        p { "Company " a href={ "/companies/" (asset.company_id) } { (views::name(&asset.company)) } " · layout " (views::name(&asset.layout))
            @if let Some(at) = &asset.archived_at { " · archived " (when(at)) } }
        h2 { "From the PSAs (read-only)" }
        @if cards.is_empty() { p.muted { "No PSA card." } }
        div.grid { @for k in &cards { (card(k)) } }
        h2 { "Your fields" }
        p.muted { "Never written by a sync." }
        table #fields {
            tr { th { "Field" } th { "Value" } th {} }
            @for f in &fields {
                tr data-field=(f.label) {
                    td { (f.label) }
                    td {
                        form.inline method="post" action={ (base) "/fields" } {
                            (csrf(&session))
                            input type="hidden" name="field" value=(f.label);
                            input type="text" name="value" value=(f.value) aria-label={ "Value of " (f.label) };
                            " " button.secondary type="submit" { "Save" }
                        }
                    }
                    td { form.inline method="post" action={ (base) "/fields/delete" } {
                        (csrf(&session)) input type="hidden" name="field" value=(f.label);
                        button.secondary type="submit" { "Delete" } } }
                }
            }
        }
        form #add-field method="post" action={ (base) "/fields" } {
            (csrf(&session))
            label for="field" { "Add a field" }
            input #field type="text" name="field" placeholder="Rack position" required;
            " " input #value type="text" name="value" placeholder="Value" aria-label="Value";
            " " button type="submit" { "Add" }
        }
    };
    Ok(views::page(&asset.name, &session, &flash, body))
}

#[derive(Deserialize)]
pub(super) struct FieldForm {
    field: String,
    value: Option<String>,
}

pub(super) async fn set_field(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
    Form(form): Form<FieldForm>,
) -> Redirect {
    act(&state, &session, &format!("/assets/{id}"), move |store| {
        let value = form.value.unwrap_or_default();
        let field = curation::set_field(store, id, &form.field, &value)?;
        Ok(format!("{field} = {value}"))
    })
    .await
}

pub(super) async fn delete_field(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
    Form(form): Form<FieldForm>,
) -> Redirect {
    act(&state, &session, &format!("/assets/{id}"), move |store| {
        curation::unset_field(store, id, &form.field)?;
        Ok(format!("deleted field {}", form.field.trim()))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    q: Option<String>,
}

pub(super) async fn search(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<SearchQuery>,
) -> Result<Markup, Problem> {
    let q = query.q.unwrap_or_default();
    let term = q.clone();
    let hits = state.db(move |store| Ok(store.read().search(&term, 100)?)).await?;
    let flash = state.auth().take_flash(&session);
    let body = html! {
        form.actions method="get" action="/search" {
            input type="search" name="q" value=(q) placeholder="Name, serial, MAC, email" aria-label="Search";
            button type="submit" { "Search" }
        }
        @if !q.trim().is_empty() && hits.is_empty() { p { "Nothing found." } }
        table {
            @for h in &hits {
                tr {
                    td { (h.kind) }
                    td { a href={ "/" (match h.kind { CardTarget::Company => "companies", CardTarget::Asset => "assets" }) "/" (h.id) } { (views::name(&h.name)) }
                        @if h.archived { " " span.badge { "archived" } } }
                    td { (h.company.clone().unwrap_or_default()) }
                    td { (h.layout.clone().unwrap_or_default()) }
                    td.muted { (h.matched.clone().unwrap_or_default()) }
                }
            }
        }
    };
    Ok(views::page("Search", &session, &flash, body))
}

async fn link(state: &AppState, integration: String, psa_id: String, kind: CardTarget) -> Result<Redirect, Problem> {
    let id = state
        .db(move |store| {
            let row = store.read().integration(&integration)?;
            store.read().doc_id_of_psa_record(row.id, kind, &psa_id)?.ok_or_else(|| {
                Problem::new(
                    axum::http::StatusCode::NOT_FOUND,
                    format!("{integration} record {psa_id} is not in the documentation"),
                    Some("it may not be synced yet, or its company is not matched: see Match companies".to_string()),
                )
            })
        })
        .await?;
    Ok(Redirect::to(&match kind {
        CardTarget::Company => format!("/companies/{id}"),
        CardTarget::Asset => format!("/assets/{id}"),
    }))
}

pub(super) async fn link_company(
    State(state): State<AppState>,
    Path((integration, psa_id)): Path<(String, String)>,
) -> Result<Redirect, Problem> {
    link(&state, integration, psa_id, CardTarget::Company).await
}

pub(super) async fn link_asset(
    State(state): State<AppState>,
    Path((integration, psa_id)): Path<(String, String)>,
) -> Result<Redirect, Problem> {
    link(&state, integration, psa_id, CardTarget::Asset).await
}
