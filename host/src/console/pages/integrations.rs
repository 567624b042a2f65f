//! Connecting a PSA (the wizard generated from the connector's `info()`)
//! and one integration's settings page: connection and Test Connection,
//! sync now, schedules, matching policy, sort rules, skip and additional
//! options, ticket stages.

use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use strum::IntoEnumIterator;

use super::{act, checked, done};
use crate::console::AppState;
use crate::console::auth::Session;
use crate::console::engine::ConfigChange;
use crate::console::error::Problem;
use crate::console::values::one_of;
use crate::console::views::{self, button, csrf, enc, when};
use crate::model::{Mode, StreamKind};
use crate::options::{DEFAULT_CONCURRENCY, IntegrationOptions, MAX_CONCURRENCY, NewCompanies, Stage};
use crate::schedule::Preset;
use crate::settings;
use crate::store::{IntegrationRow, Store, Trigger};
use crate::sync::SyncRequest;

fn back(name: &str) -> String {
    format!("/integrations/{}", enc(name))
}

pub(crate) async fn choose(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Markup, Problem> {
    let connectors = state.db(|store| Ok(store.read().connectors()?)).await?;
    let flash = state.auth().take_flash(&session);
    let body = html! {
        p { "Choose the PSA to connect. Each connector says what it needs; Ferry stores secrets sealed and never shows them again." }
        div.grid {
            @for c in &connectors {
                section.card {
                    h2 { (c.info.name) }
                    p.muted { (c.id) " " (c.version) " · contract " (c.contract) }
                    p { (c.info.description) }
                    a href={ "/integrations/new/" (enc(&c.id)) } { "Connect " (c.info.name) }
                }
            }
        }
    };
    Ok(views::page("Connect a PSA", &session, &flash, body))
}

pub(crate) async fn wizard(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(plugin): Path<String>,
) -> Result<Markup, Problem> {
    let id = plugin.clone();
    let connector = state
        .db(move |store| store.read().connector(&id)?.ok_or_else(|| Problem::not_found(&format!("connector `{id}`"))))
        .await?;
    let flash = state.auth().take_flash(&session);
    let info = &connector.info;
    let body = html! {
        p { (info.description) }
        form method="post" action={ "/integrations/new/" (enc(&plugin)) } autocomplete="off" {
            (csrf(&session))
            fieldset {
                label for="name" { "Integration name" }
                input #name type="text" name="name" value=(connector.id) required pattern="[A-Za-z0-9._-]{1,64}";
                p.hint { "How you will name it: letters, digits, `-`, `_`, `.`." }
                @for f in &info.config {
                    label for={ "cfg-" (f.key) } { (f.label) @if f.required { " *" } }
                    @if f.secret {
                        input type="password" id={ "cfg-" (f.key) } name={ "cfg." (f.key) } required[f.required] autocomplete="new-password";
                        p.hint { (f.help) " Secret: stored sealed, never shown again. `env:VAR` reads it from the environment of `ferry serve` instead." }
                    } @else {
                        input type="text" id={ "cfg-" (f.key) } name={ "cfg." (f.key) } required[f.required]
                            placeholder=(f.default_value.clone().unwrap_or_default());
                        @if !f.help.is_empty() { p.hint { (f.help) } }
                    }
                }
                p { input #accept type="checkbox" name="accept_normalised"; " "
                    label.check for="accept" { "Accept the connector's normalised values even where they move the hosts it may reach" } }
            }
            button type="submit" { "Save and continue" }
        }
        p.muted { "Next: Test Connection, then Sync." }
    };
    Ok(views::page(&format!("Connect {}", info.name), &session, &flash, body))
}

/// The wizard's and the config form's fields: `cfg.KEY` values, split
/// into config values and secrets by the connector's declaration. Empty
/// fields are left out (defaults apply; a secret left empty is kept).
fn config_change(store: &Store, plugin: &str, form: &[(String, String)]) -> Result<ConfigChange, Problem> {
    let connector =
        store.read().connector(plugin)?.ok_or_else(|| Problem::not_found(&format!("connector `{plugin}`")))?;
    let mut change = ConfigChange::default();
    for (k, v) in form {
        if k == "accept_normalised" {
            change.accept_normalised = checked(&Some(v.clone()));
        }
        let Some(key) = k.strip_prefix("cfg.") else { continue };
        if v.trim().is_empty() {
            continue;
        }
        let secret = connector.info.field(key).is_some_and(|f| f.secret);
        let pair = (key.to_string(), if secret { v.clone() } else { v.trim().to_string() });
        if secret { change.secrets.push(pair) } else { change.values.push(pair) }
    }
    Ok(change)
}

pub(crate) async fn connect(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(plugin): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Redirect {
    let name = form.iter().find(|(k, _)| k == "name").map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let outcome = async {
        let (p, f) = (plugin.clone(), form.clone());
        let change = state.db(move |store| config_change(store, &p, &f)).await?;
        let notices = state.engine().add(&name, &plugin, change).await?;
        let mut message = format!("added integration {name}. Next: Test Connection, then Sync.");
        for n in notices {
            message.push_str(&format!(" Note: {n}."));
        }
        Ok(message)
    }
    .await;
    let target = if outcome.is_ok() { back(&name) } else { format!("/integrations/new/{}", enc(&plugin)) };
    done(&state, &session, outcome, &target)
}

/// Everything the settings page shows.
struct SettingsView {
    row: IntegrationRow,
    info: crate::model::ConnectorInfo,
    config: Vec<(String, String, bool)>,
    options: IntegrationOptions,
    schedules: Vec<crate::schedule::ScheduleView>,
    types: Vec<(String, String, u64)>,
    layouts: Vec<crate::store::LayoutRow>,
    statuses: Vec<settings::StatusView>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Result<Markup, Problem> {
    let n = name.clone();
    let v = state
        .db(move |store| {
            let row = store.read().integration(&n)?;
            let connector = store
                .read()
                .connector(&row.connector_id)?
                .ok_or_else(|| Problem::not_found(&format!("connector `{}`", row.connector_id)))?;
            Ok(SettingsView {
                config: crate::integrations::display_config(&row, &connector.info),
                options: IntegrationOptions::from_json(&row.options),
                schedules: settings::schedule_views(store, &row, 3)?,
                types: store.read().type_counts(row.id)?,
                layouts: store.read().layouts()?.into_iter().filter(|l| l.active).collect(),
                statuses: settings::ticket_statuses(store, &row)?,
                info: connector.info,
                row,
            })
        })
        .await?;
    let flash = state.auth().take_flash(&session);
    let base = back(&name);
    let o = &v.options;
    let body = html! {
        p.actions {
            a href={ (base) "/match" } { "Match companies" }
            a href={ "/runs?integration=" (enc(&name)) } { "Runs" }
            a href={ "/tickets?integration=" (enc(&name)) } { "Tickets" }
        }
        h2 { "Connection" }
        table {
            tr { th { "Setting" } th { "Value" } }
            @for (key, value, secret) in &v.config {
                tr { td { (key) } td { (value) @if *secret { " " span.muted { "(secret)" } } } }
            }
        }
        div.actions {
            (button(&session, &format!("{base}/test"), "Test connection", ""))
        }
        details {
            summary { "Change the connection" }
            form method="post" action={ (base) "/config" } autocomplete="off" {
                (csrf(&session))
                @for f in &v.info.config {
                    label for={ "cfg-" (f.key) } { (f.label) }
                    @if f.secret {
                        input type="password" id={ "cfg-" (f.key) } name={ "cfg." (f.key) } placeholder="unchanged" autocomplete="new-password";
                    } @else {
                        input type="text" id={ "cfg-" (f.key) } name={ "cfg." (f.key) } value=(v.row.config.get(&f.key).cloned().unwrap_or_default());
                    }
                    @if !f.help.is_empty() { p.hint { (f.help) } }
                }
                p { input #accept type="checkbox" name="accept_normalised"; " " label.check for="accept" { "Accept the connector's normalised values" } }
                button type="submit" { "Save" }
            }
        }
        h2 { "Sync now" }
        form.actions method="post" action={ (base) "/sync" } {
            (csrf(&session))
            button type="submit" name="mode" value=(SyncChoice::Full) { "Full sync" }
            button.secondary type="submit" name="mode" value=(SyncChoice::Incremental) { "Incremental" }
            button.secondary type="submit" name="mode" value=(SyncChoice::Tickets) { "Tickets only" }
            button.danger type="submit" name="mode" value=(SyncChoice::ResyncTickets) { "Clear tickets & resync" }
        }
        div.actions { (button(&session, &format!("{base}/apply"), "Re-apply to the documentation (no network)", "secondary")) }
        h2 { "Schedules" }
        @if v.schedules.is_empty() { p { "No schedule: it syncs only when asked." } }
        @else {
            table {
                tr { th { "#" } th { "Cron" } th { "Zone" } th { "Mode" } th { "Next runs" } th { "Last fired" } th {} }
                @for s in &v.schedules {
                    tr {
                        td { (s.position) } td { code { (s.cron) } } td { (s.tz) } td { (s.mode.as_str()) }
                        td { @for t in &s.next { (when(t)) br; } }
                        td { (s.last_fired_at.as_deref().map(when).unwrap_or_else(|| "never".into())) }
                        td {
                            form.inline method="post" action={ (base) "/schedules/remove" } {
                                (csrf(&session)) input type="hidden" name="n" value=(s.position);
                                button.secondary type="submit" { "Remove" }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action={ (base) "/schedules" } {
            (csrf(&session))
            label for="cron" { "Add an entry" }
            input #cron type="text" name="cron" placeholder="0 2 * * *" required;
            " " input type="text" name="tz" value="UTC" aria-label="Time zone";
            " " input #incr type="checkbox" name="incremental"; " " label.check for="incr" { "incremental" }
            " " button type="submit" { "Add" }
            p.hint { "Five crontab fields: minute hour day month weekday." }
        }
        form.actions method="post" action={ (base) "/schedules/preset" } {
            (csrf(&session)) input type="hidden" name="tz" value="UTC";
            button.secondary type="submit" name="preset" value=(Preset::Nightly) { "Preset: nightly full + incremental every 4 h" }
            button.secondary type="submit" name="preset" value=(Preset::Default) { "Preset: full every 3 h" }
        }
        h2 { "New PSA companies" }
        form method="post" action={ (base) "/policy" } {
            (csrf(&session))
            select name="policy" aria-label="Policy" {
                @for (value, label) in [
                    (NewCompanies::Auto, "auto: match confident, create when nothing plausible, suggest the rest"),
                    (NewCompanies::Create, "create: a company for each"),
                    (NewCompanies::Review, "review: only suggest"),
                ] {
                    option value=(value) selected[o.new_companies == value] { (label) }
                }
            }
            " " button type="submit" { "Save" }
        }
        h2 { "Sort rules" }
        p.muted { "Primary location: " (o.primary_layout.clone().unwrap_or_else(|| "a layout per PSA type".into())) "; contacts: " (o.contacts_layout.clone().unwrap_or_else(|| "People".into())) }
        @if !o.rules.is_empty() {
            table {
                tr { th { "#" } th { "When the PSA type is" } th { "Layout" } th {} }
                @for (i, r) in o.rules.iter().enumerate() {
                    tr { td { (i + 1) } td { (r.when_type) } td { (r.layout) }
                        td { form.inline method="post" action={ (base) "/rules/remove" } {
                            (csrf(&session)) input type="hidden" name="n" value=(i + 1);
                            button.secondary type="submit" { "Remove" } } } }
                }
            }
        }
        form method="post" action={ (base) "/rules" } {
            (csrf(&session))
            label for="when_type" { "Add a rule: when the PSA type is" }
            select #when_type name="when_type" required {
                @for (kind, t, count) in &v.types { option value=(t) { (t) " (" (kind) ", " (count) ")" } }
            }
            " use layout "
            select name="layout" aria-label="Layout" required {
                @for l in &v.layouts { option value=(l.name) { (l.name) } }
            }
            " " button type="submit" { "Add rule" }
            @if v.types.is_empty() { p.hint { "PSA types appear after the first sync." } }
        }
        h2 { "Skip and additional options" }
        form method="post" action={ (base) "/skip" } {
            (csrf(&session))
            @for what in settings::SKIP_OPTIONS {
                span { input type="checkbox" id={ "skip-" (what) } name=(what) checked[settings::skip_is_on(o, what)]; " "
                    label.check for={ "skip-" (what) } { "skip " (what) } " " }
            }
            " " button type="submit" { "Save skips" }
        }
        p.muted { "Skipped company types: " (o.skip.company_types.join(", ")) " · asset types: " (o.skip.asset_types.join(", ")) }
        form method="post" action={ (base) "/option" } {
            (csrf(&session))
            @for what in settings::OPTIONS {
                span { input type="checkbox" id={ "opt-" (what) } name=(what) checked[settings::option_is_on(o, what)]; " "
                    label.check for={ "opt-" (what) } { (what) } " " }
            }
            label for="rpm" { "Requests per minute (empty: the connector's default)" }
            input #rpm type="number" min="1" name="requests_per_minute" value=(o.requests_per_minute.map(|n| n.to_string()).unwrap_or_default());
            label for="concurrency" { "Streams read at once (empty: " (DEFAULT_CONCURRENCY) "; 1 reads them one after another)" }
            input #concurrency type="number" min="1" max=(MAX_CONCURRENCY) name="concurrency" value=(o.concurrency.map(|n| n.to_string()).unwrap_or_default());
            " " button type="submit" { "Save options" }
        }
        h2 { "Ticket statuses and stages" }
        @if v.statuses.is_empty() { p.muted { "Statuses appear after tickets are synced." } }
        @else {
            table {
                tr { th { "Status" } th { "Tickets" } th { "Closed" } th { "Excluded" } th { "Stage" } }
                @for s in &v.statuses {
                    tr {
                        td { (s.status) } td { (s.tickets) } td { @if s.closed { "yes" } } td { @if s.excluded { "yes" } }
                        td { form.inline method="post" action={ (base) "/stage" } {
                            (csrf(&session)) input type="hidden" name="status" value=(s.status);
                            select name="stage" aria-label="Stage" { @for st in Stage::iter() { option selected[st == s.stage] { (st) } } }
                            " " button.secondary type="submit" { "Set" } } }
                    }
                }
            }
        }
    };
    Ok(views::page(&format!("Integration {name}"), &session, &flash, body))
}

pub(crate) async fn test(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Redirect {
    let outcome = state.engine().test(&name).await.and_then(|v| {
        if v.ok {
            let mut m = format!("Connection OK: {}", v.report.as_ref().map(|r| r.summary.as_str()).unwrap_or(""));
            for f in v.report.iter().flat_map(|r| &r.facts) {
                m.push_str(&format!(" · {}: {}", f.label, f.value));
            }
            for w in v.report.iter().flat_map(|r| &r.warnings) {
                m.push_str(&format!(" · warning: {w}"));
            }
            Ok(m)
        } else {
            Err(Problem::bad_request(format!("Connection test failed: {}", v.error.unwrap_or_default()), v.hint))
        }
    });
    done(&state, &session, outcome, &back(&name))
}

pub(crate) async fn configure(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Redirect {
    let outcome = async {
        let n = name.clone();
        let change = state
            .db(move |store| {
                let row = store.read().integration(&n)?;
                config_change(store, &row.connector_id, &form)
            })
            .await?;
        if change.values.is_empty() && change.secrets.is_empty() {
            return Err(Problem::bad_request("nothing to change", Some("fill in the values to change".to_string())));
        }
        let notices = state.engine().set(&name, change).await?;
        Ok(format!("updated {name}.{}", notices.iter().map(|n| format!(" Note: {n}.")).collect::<String>()))
    }
    .await;
    done(&state, &session, outcome, &back(&name))
}

/// The "sync now" choices of the settings page and the API: the CLI's
/// `ferry sync` modes plus its tickets-only quick sync and `--reset`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::Display, strum::IntoStaticStr, strum::EnumIter,
)]
#[strum(serialize_all = "kebab-case")]
pub enum SyncChoice {
    Full,
    Incremental,
    /// Only the tickets stream, incrementally.
    Tickets,
    /// Clear the integration's tickets, then read them all again.
    ResyncTickets,
}

#[derive(Deserialize)]
pub(crate) struct SyncForm {
    mode: Option<String>,
}

/// The sync request a "sync now" choice means.
pub(crate) fn sync_request(name: &str, choice: SyncChoice) -> SyncRequest {
    let mut request = match choice {
        SyncChoice::Full => SyncRequest::new(name, Mode::Full, Trigger::Manual),
        SyncChoice::Incremental => SyncRequest::new(name, Mode::Incremental, Trigger::Manual),
        SyncChoice::Tickets => SyncRequest {
            streams: vec![StreamKind::Tickets.into()],
            ..SyncRequest::new(name, Mode::Incremental, Trigger::Manual)
        },
        SyncChoice::ResyncTickets => SyncRequest {
            streams: vec![StreamKind::Tickets.into()],
            reset: true,
            ..SyncRequest::new(name, Mode::Full, Trigger::Manual)
        },
    };
    // Asked for by a person (trigger `manual`, as from the CLI): run, even
    // if the same sync just succeeded.
    request.force = true;
    request
}

/// A sync choice from a form or a request body; absent means full.
pub(crate) fn sync_choice(given: Option<&str>) -> Result<SyncChoice, Problem> {
    Ok(crate::console::values::optional("sync mode", given)?.unwrap_or(SyncChoice::Full))
}

pub(crate) async fn sync_now(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<SyncForm>,
) -> Result<Redirect, Problem> {
    // A value no button sends is a bad request, not a message for later.
    let choice = sync_choice(form.mode.as_deref())?;
    let outcome = async {
        let n = name.clone();
        state.db(move |store| Ok(store.read().integration(&n)?)).await?;
        state.engine().start_sync(sync_request(&name, choice)).await?;
        Ok(format!("{choice} sync of {name} started"))
    }
    .await;
    Ok(done(&state, &session, outcome, "/"))
}

pub(crate) async fn apply_now(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Redirect {
    let n = name.clone();
    change(&state, &session, &name, move |store, row| {
        let report = crate::apply::apply(store, row.id)?;
        Ok(format!("applied {n}: {} PSA companies await a decision", report.awaiting_match))
    })
    .await
}

/// A settings form of integration `name`: `f` changes it (given its
/// current row), then back to its settings page with the outcome.
async fn change(
    state: &AppState,
    session: &Session,
    name: &str,
    f: impl FnOnce(&mut Store, &IntegrationRow) -> Result<String, Problem> + Send + 'static,
) -> Redirect {
    let n = name.to_string();
    act(state, session, &back(name), move |store| {
        let row = store.read().integration(&n)?;
        f(store, &row)
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct ScheduleForm {
    cron: String,
    tz: Option<String>,
    incremental: Option<String>,
}

pub(crate) async fn add_schedule(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<ScheduleForm>,
) -> Redirect {
    change(&state, &session, &name, move |store, row| {
        let mode = if checked(&form.incremental) { Mode::Incremental } else { Mode::Full };
        let tz = form.tz.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| "UTC".into());
        let e = settings::add_schedule(store, row, &form.cron, tz.trim(), mode)?;
        Ok(format!("added schedule {} {} ({})", e.cron, e.tz.name(), mode.as_str()))
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct NumberForm {
    n: usize,
}

pub(crate) async fn remove_schedule(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<NumberForm>,
) -> Redirect {
    change(&state, &session, &name, move |store, row| {
        let r = settings::remove_schedule(store, row, form.n)?;
        Ok(format!("removed schedule {} {} ({})", r.cron, r.tz, r.mode))
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct PresetForm {
    preset: String,
    tz: Option<String>,
}

pub(crate) async fn preset(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<PresetForm>,
) -> Result<Redirect, Problem> {
    let preset: Preset = one_of("schedule preset", &form.preset)?;
    Ok(change(&state, &session, &name, move |store, row| {
        let tz = form.tz.unwrap_or_else(|| "UTC".into());
        settings::preset_schedule(store, row, preset, &tz)?;
        Ok(format!("schedule set to the {preset} preset ({tz})"))
    })
    .await)
}

#[derive(Deserialize)]
pub(crate) struct RuleForm {
    when_type: String,
    layout: String,
}

pub(crate) async fn add_rule(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<RuleForm>,
) -> Redirect {
    change(&state, &session, &name, move |store, row| {
        let options = settings::add_type_rule(store, row, &form.when_type, &form.layout)?;
        let layout = options.rules.last().map(|r| r.layout.clone()).unwrap_or_default();
        Ok(format!(
            "when the type is {} → {layout}. Re-apply (or sync) to re-sort what is already synced.",
            form.when_type.trim()
        ))
    })
    .await
}

pub(crate) async fn remove_rule(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<NumberForm>,
) -> Redirect {
    change(&state, &session, &name, move |store, row| {
        let (r, _) = settings::remove_type_rule(store, row, form.n)?;
        Ok(format!("removed rule {} (when type is {} → {})", form.n, r.when_type, r.layout))
    })
    .await
}

/// The checkbox forms: every listed option set on or off as ticked.
pub(crate) async fn skip(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Redirect {
    change(&state, &session, &name, move |store, row| {
        let mut row = row.clone();
        for what in settings::SKIP_OPTIONS {
            let on = form.iter().any(|(k, _)| k == what);
            settings::set_skip(store, &row, what, on)?;
            row = store.read().integration_by_id(row.id)?;
        }
        Ok("skip options saved; they apply from the next sync or re-apply".to_string())
    })
    .await
}

pub(crate) async fn option(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Redirect {
    change(&state, &session, &name, move |store, row| {
        let mut row = row.clone();
        for what in settings::OPTIONS {
            let on = form.iter().any(|(k, _)| k == what);
            settings::set_option(store, &row, what, on)?;
            row = store.read().integration_by_id(row.id)?;
        }
        // The numbers: a value sets it, an empty field goes back to the default.
        for (field, option) in [("requests_per_minute", "requests-per-minute"), ("concurrency", "concurrency")] {
            let given = form.iter().find(|(k, _)| k == field).map(|(_, v)| v.trim()).unwrap_or("");
            let current = IntegrationOptions::from_json(&row.options);
            let current = if field == "concurrency" { current.concurrency } else { current.requests_per_minute };
            if given.is_empty() {
                if let Some(n) = current {
                    settings::set_option(store, &row, &format!("{option}={n}"), false)?;
                }
            } else {
                settings::set_option(store, &row, &format!("{option}={given}"), true)?;
            }
            row = store.read().integration_by_id(row.id)?;
        }
        Ok("options saved".to_string())
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct PolicyForm {
    policy: String,
}

pub(crate) async fn policy(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<PolicyForm>,
) -> Result<Redirect, Problem> {
    let policy: NewCompanies = one_of("policy", &form.policy)?;
    Ok(change(&state, &session, &name, move |store, row| {
        settings::set_policy(store, row, policy)?;
        Ok(format!("new PSA companies: {policy}"))
    })
    .await)
}

#[derive(Deserialize)]
pub(crate) struct StageForm {
    stage: String,
    status: String,
}

pub(crate) async fn stage(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Form(form): Form<StageForm>,
) -> Result<Redirect, Problem> {
    let stage: Stage = one_of("stage", &form.stage)?;
    Ok(change(&state, &session, &name, move |store, row| {
        settings::map_stage(store, row, stage, std::slice::from_ref(&form.status))?;
        Ok(format!("{} → {stage}; re-apply to re-map synced tickets", form.status))
    })
    .await)
}
