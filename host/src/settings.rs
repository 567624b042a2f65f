//! An integration's operator settings, one set of rules for every front
//! end (the CLI's `rules`, `tickets`, `schedule` and `match policy`, the
//! console's settings page and API): sort rules, skip and additional
//! options, the policy for new PSA companies, ticket stages, schedules.
//! Each change is validated here and stored in one transaction; whether to
//! re-apply afterwards is the caller's choice.

use serde::Serialize;

use crate::model::{Mode, StreamId, StreamKind};
use crate::options::{DEFAULT_CONCURRENCY, IntegrationOptions, MAX_CONCURRENCY, NewCompanies, Stage, TypeRule};
use crate::rules;
use crate::schedule::{self, Entry, Preset, ScheduleError, ScheduleView};
use crate::store::{IntegrationRow, ScheduleRow, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("there is no layout `{0}`")]
    NoLayout(String),
    #[error("layout `{0}` is inactive")]
    InactiveLayout(String),
    #[error("a sort rule needs a PSA type name")]
    EmptyType { integration: String },
    #[error("there is no rule {n}")]
    NoRule { integration: String, n: usize },
    #[error("unknown skip option `{0}`")]
    UnknownSkip(String),
    #[error("the {0} stream cannot be skipped")]
    UnskippableStream(crate::model::StreamKind),
    #[error("connector `{connector}` declares no extra stream `{name}`")]
    UnknownExtraStream { connector: String, name: String, declared: Vec<String> },
    #[error("`{0}` is not a stream's name")]
    NotAStream(String),
    #[error("unknown option `{0}`")]
    UnknownOption(String),
    #[error("`{0}` is not a positive number of requests")]
    BadRate(String),
    #[error("`{0}` is not a number of streams from 1 to {MAX_CONCURRENCY}")]
    BadConcurrency(String),
    #[error("{integration} has no schedule entry {n}")]
    NoScheduleEntry { integration: String, n: usize },
}

impl SettingsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SettingsError::Store(e) => e.hint(),
            SettingsError::Schedule(e) => Some(e.hint()),
            SettingsError::NoLayout(name) => {
                Some(format!("create it with `ferry layout add \"{name}\"`, or see `ferry layout list`"))
            }
            SettingsError::InactiveLayout(name) => {
                Some(format!("activate it with `ferry layout set \"{name}\" --active true`"))
            }
            SettingsError::EmptyType { integration } => Some(format!("see `ferry rules {integration} types`")),
            SettingsError::NoRule { integration, .. } => {
                Some(format!("`ferry rules {integration} show` numbers the rules"))
            }
            SettingsError::UnknownSkip(_) => Some(
                "use inactive-companies, contacts, agreements, assets, inactive-assets, sites, company-type=T, \
                 asset-type=T or stream=NAME (an extra stream, see `ferry plugin inspect`)"
                    .into(),
            ),
            SettingsError::UnskippableStream(_) => {
                Some("skip contacts, agreements, assets, sites or an extra stream".into())
            }
            SettingsError::UnknownExtraStream { declared, .. } => Some(match declared.is_empty() {
                true => "it declares no extra streams; see `ferry plugin inspect ID`".to_string(),
                false => format!("it declares: {}", declared.join(", ")),
            }),
            SettingsError::NotAStream(_) => Some("see the streams with `ferry plugin inspect ID`".into()),
            SettingsError::UnknownOption(_) => Some(
                "use auto-update-names, auto-archive, keep-company-details, requests-per-minute=N or concurrency=N"
                    .into(),
            ),
            SettingsError::BadRate(_) => Some("e.g. requests-per-minute=120".into()),
            SettingsError::BadConcurrency(_) => Some(format!(
                "e.g. concurrency=4 (the default); 1 reads the streams one after another; --off goes back to the \
                 default of {DEFAULT_CONCURRENCY}"
            )),
            SettingsError::NoScheduleEntry { integration, .. } => {
                Some(format!("`ferry schedule {integration} show` numbers the entries"))
            }
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, SettingsError>;

fn options_of(integration: &IntegrationRow) -> IntegrationOptions {
    IntegrationOptions::from_json(&integration.options)
}

fn save(store: &mut Store, integration: &IntegrationRow, options: &IntegrationOptions) -> Result<()> {
    store.transaction(|tx| tx.update_integration_options(integration.id, &options.to_json()))?;
    Ok(())
}

/// The layout name as stored, if it exists and is active.
pub(crate) fn active_layout(store: &Store, name: &str) -> Result<String> {
    match store.read().layout_by_name(name)? {
        Some(l) if l.active => Ok(l.name),
        Some(l) => Err(SettingsError::InactiveLayout(l.name)),
        None => Err(SettingsError::NoLayout(name.to_string())),
    }
}

/// "When the PSA type is T, use layout L": replaces a rule for the same
/// type (case-insensitive).
pub(crate) fn add_type_rule(
    store: &mut Store,
    integration: &IntegrationRow,
    when_type: &str,
    layout: &str,
) -> Result<IntegrationOptions> {
    add_type_rule_replacing(store, integration, when_type, layout).map(|(_, options)| options)
}

/// [`add_type_rule`], also returning the rule it replaced: a type has one
/// rule, so a new rule for a type that has one (any case) takes its place,
/// and the operator is told.
pub(crate) fn add_type_rule_replacing(
    store: &mut Store,
    integration: &IntegrationRow,
    when_type: &str,
    layout: &str,
) -> Result<(Option<TypeRule>, IntegrationOptions)> {
    let when_type = when_type.trim();
    if when_type.is_empty() {
        return Err(SettingsError::EmptyType { integration: integration.name.clone() });
    }
    let layout = active_layout(store, layout)?;
    let mut options = options_of(integration);
    let replaced = options.rules.iter().position(|r| r.when_type.eq_ignore_ascii_case(when_type));
    let replaced = replaced.map(|i| options.rules.remove(i));
    options.rules.push(TypeRule { when_type: when_type.to_string(), layout });
    save(store, integration, &options)?;
    Ok((replaced, options))
}

/// Remove by-type rule `n` (1-based, as shown).
pub(crate) fn remove_type_rule(
    store: &mut Store,
    integration: &IntegrationRow,
    n: usize,
) -> Result<(TypeRule, IntegrationOptions)> {
    let mut options = options_of(integration);
    if n == 0 || n > options.rules.len() {
        return Err(SettingsError::NoRule { integration: integration.name.clone(), n });
    }
    let removed = options.rules.remove(n - 1);
    save(store, integration, &options)?;
    Ok((removed, options))
}

/// The primary sync location for assets.
pub(crate) fn set_primary_layout(
    store: &mut Store,
    integration: &IntegrationRow,
    layout: &str,
) -> Result<IntegrationOptions> {
    let mut options = options_of(integration);
    options.primary_layout = Some(active_layout(store, layout)?);
    save(store, integration, &options)?;
    Ok(options)
}

/// The layout contacts land in.
pub(crate) fn set_contacts_layout(
    store: &mut Store,
    integration: &IntegrationRow,
    layout: &str,
) -> Result<IntegrationOptions> {
    let mut options = options_of(integration);
    options.contacts_layout = Some(active_layout(store, layout)?);
    save(store, integration, &options)?;
    Ok(options)
}

fn toggle(list: &mut Vec<String>, value: &str, on: bool) {
    let value = value.trim();
    list.retain(|v| !v.eq_ignore_ascii_case(value));
    if on && !value.is_empty() {
        list.push(value.to_string());
    }
}

/// The skip options by name, as the CLI and the console offer them.
pub(crate) const SKIP_OPTIONS: [&str; 6] =
    ["inactive-companies", "contacts", "agreements", "assets", "inactive-assets", "sites"];

/// Turn a skip option on or off: one of [`SKIP_OPTIONS`] (or its CW
/// synonym), `company-type=T` or `asset-type=T`.
pub(crate) fn set_skip(
    store: &mut Store,
    integration: &IntegrationRow,
    what: &str,
    on: bool,
) -> Result<IntegrationOptions> {
    let mut options = options_of(integration);
    let s = &mut options.skip;
    match what.split_once('=') {
        Some(("company-type", t)) => toggle(&mut s.company_types, t, on),
        Some(("asset-type", t)) => toggle(&mut s.asset_types, t, on),
        Some(("stream", name)) => match stream_to_skip(store, integration, name)? {
            SkipStream::Kind(StreamKind::Contacts) => s.contacts = on,
            SkipStream::Kind(StreamKind::Agreements) => s.agreements = on,
            SkipStream::Kind(StreamKind::Assets) => s.assets = on,
            SkipStream::Kind(StreamKind::Sites) => s.sites = on,
            SkipStream::Kind(other) => return Err(SettingsError::UnskippableStream(other)),
            SkipStream::Extra(name) => toggle(&mut s.streams, &name, on),
        },
        _ => match what {
            "inactive-companies" => s.inactive_companies = on,
            "contacts" => s.contacts = on,
            "agreements" => s.agreements = on,
            "assets" | "configurations" => s.assets = on,
            "inactive-assets" | "inactive-configurations" => s.inactive_assets = on,
            "sites" | "locations" => s.sites = on,
            _ => return Err(SettingsError::UnknownSkip(what.to_string())),
        },
    }
    save(store, integration, &options)?;
    Ok(options)
}

/// What `skip stream=NAME` names.
enum SkipStream {
    /// A kind that has its own switch (`contacts`, …).
    Kind(StreamKind),
    /// An extra stream the integration's connector declares.
    Extra(String),
}

/// The stream `skip stream=NAME` means: a kind with its own skip switch,
/// or an extra stream the integration's connector declares (a typo would
/// otherwise skip nothing, silently).
fn stream_to_skip(store: &Store, integration: &IntegrationRow, name: &str) -> Result<SkipStream> {
    let name = name.trim();
    match StreamId::from_operator(name) {
        Some(StreamId::Kind(
            kind @ (StreamKind::Contacts | StreamKind::Agreements | StreamKind::Assets | StreamKind::Sites),
        )) => Ok(SkipStream::Kind(kind)),
        Some(StreamId::Kind(kind)) => Err(SettingsError::UnskippableStream(kind)),
        Some(StreamId::Extra(extra)) => {
            let declared = store.read().connector(&integration.connector_id)?.map(|c| c.info.extra_streams);
            let declared: Vec<String> = declared.unwrap_or_default().into_iter().map(|s| s.name).collect();
            if declared.contains(&extra) {
                return Ok(SkipStream::Extra(extra));
            }
            Err(SettingsError::UnknownExtraStream {
                connector: integration.connector_id.clone(),
                name: extra,
                declared,
            })
        }
        None => Err(SettingsError::NotAStream(name.to_string())),
    }
}

/// Whether a skip option of [`SKIP_OPTIONS`] is on.
pub(crate) fn skip_is_on(options: &IntegrationOptions, what: &str) -> bool {
    let s = &options.skip;
    match what {
        "inactive-companies" => s.inactive_companies,
        "contacts" => s.contacts,
        "agreements" => s.agreements,
        "assets" => s.assets,
        "inactive-assets" => s.inactive_assets,
        "sites" => s.sites,
        _ => false,
    }
}

/// The additional options by name.
pub(crate) const OPTIONS: [&str; 3] = ["auto-update-names", "auto-archive", "keep-company-details"];

/// Whether an additional option of [`OPTIONS`] is on.
pub(crate) fn option_is_on(options: &IntegrationOptions, what: &str) -> bool {
    match what {
        "auto-update-names" => options.auto_update_names,
        "auto-archive" => options.auto_archive,
        "keep-company-details" => options.keep_company_details,
        _ => false,
    }
}

/// Turn an additional option on or off, or set `requests-per-minute=N` or
/// `concurrency=N` (off, with or without `=N`: back to the default).
pub(crate) fn set_option(
    store: &mut Store,
    integration: &IntegrationRow,
    what: &str,
    on: bool,
) -> Result<IntegrationOptions> {
    let mut options = options_of(integration);
    if let Some(n) = what.strip_prefix("requests-per-minute=") {
        let parsed: u32 =
            n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| SettingsError::BadRate(n.to_string()))?;
        options.requests_per_minute = on.then_some(parsed);
    } else if let Some(n) = what.strip_prefix("concurrency=") {
        let parsed: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=MAX_CONCURRENCY).contains(n))
            .ok_or_else(|| SettingsError::BadConcurrency(n.to_string()))?;
        options.concurrency = on.then_some(parsed);
    } else if !on && matches!(what, "concurrency" | "requests-per-minute") {
        // Off needs no value: it goes back to the default.
        if what == "concurrency" {
            options.concurrency = None;
        } else {
            options.requests_per_minute = None;
        }
    } else {
        match what {
            "auto-update-names" => options.auto_update_names = on,
            "auto-archive" => options.auto_archive = on,
            "keep-company-details" => options.keep_company_details = on,
            _ => return Err(SettingsError::UnknownOption(what.to_string())),
        }
    }
    save(store, integration, &options)?;
    Ok(options)
}

/// How new PSA companies are handled: auto, create or review.
pub(crate) fn set_policy(
    store: &mut Store,
    integration: &IntegrationRow,
    policy: NewCompanies,
) -> Result<IntegrationOptions> {
    let mut options = options_of(integration);
    options.new_companies = policy;
    save(store, integration, &options)?;
    Ok(options)
}

/// Map PSA statuses to a stage; a status belongs to one stage.
pub(crate) fn map_stage(
    store: &mut Store,
    integration: &IntegrationRow,
    stage: Stage,
    statuses: &[String],
) -> Result<IntegrationOptions> {
    let mut options = options_of(integration);
    for list in options.tickets.stages.values_mut() {
        list.retain(|s| !statuses.iter().any(|x| x.trim().eq_ignore_ascii_case(s)));
    }
    let list = options.tickets.stages.entry(stage).or_default();
    list.extend(statuses.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
    options.tickets.stages.retain(|_, l| !l.is_empty());
    save(store, integration, &options)?;
    Ok(options)
}

/// A PSA ticket status as seen in the synced tickets, with what the
/// integration's ticket options make of it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StatusView {
    pub status: String,
    pub tickets: u64,
    pub closed: bool,
    pub excluded: bool,
    pub stage: Stage,
}

pub(crate) fn ticket_statuses(store: &Store, integration: &IntegrationRow) -> Result<Vec<StatusView>> {
    let options = options_of(integration);
    let t = &options.tickets;
    Ok(store
        .read()
        .ticket_statuses(integration.id)?
        .into_iter()
        .map(|(status, tickets, psa_closed)| {
            let closed = rules::ticket_closed(t, &status, psa_closed);
            StatusView {
                excluded: rules::ticket_excluded(t, &status),
                stage: rules::ticket_stage(t, &status, closed),
                status,
                tickets,
                closed,
            }
        })
        .collect())
}

/// The integration's schedule entries with their next `n` fire times.
pub(crate) fn schedule_views(store: &Store, integration: &IntegrationRow, n: usize) -> Result<Vec<ScheduleView>> {
    let at = schedule::now();
    let rows = store.read().schedules(Some(integration.id))?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, r)| ScheduleView {
            id: r.id,
            position: i + 1,
            cron: r.cron.clone(),
            tz: r.tz.clone(),
            mode: r.mode,
            next: match Entry::parse(&r.cron, &r.tz, r.mode) {
                Ok(e) => e.upcoming(at, n).iter().map(|t| t.to_rfc3339()).collect(),
                Err(e) => vec![format!("invalid: {e}")],
            },
            last_fired_at: r.last_fired_at.clone(),
        })
        .collect())
}

/// The earliest next fire time over the integration's entries.
pub(crate) fn next_fire(store: &Store, integration: &IntegrationRow) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let at = schedule::now();
    Ok(store
        .read()
        .schedules(Some(integration.id))?
        .iter()
        .filter_map(|r| Entry::parse(&r.cron, &r.tz, r.mode).ok()?.next_after(at))
        .min())
}

pub(crate) fn add_schedule(
    store: &mut Store,
    integration: &IntegrationRow,
    cron: &str,
    tz: &str,
    mode: Mode,
) -> Result<Entry> {
    let entry = Entry::parse(cron, tz, mode)?;
    store.transaction(|tx| tx.insert_schedule(integration.id, &entry.cron, entry.tz.name(), mode))?;
    Ok(entry)
}

/// Remove entry `n` (1-based, as shown).
pub(crate) fn remove_schedule(store: &mut Store, integration: &IntegrationRow, n: usize) -> Result<ScheduleRow> {
    let rows = store.read().schedules(Some(integration.id))?;
    let row = rows
        .get(n.wrapping_sub(1))
        .cloned()
        .ok_or_else(|| SettingsError::NoScheduleEntry { integration: integration.name.clone(), n })?;
    store.transaction(|tx| tx.delete_schedule(row.id))?;
    Ok(row)
}

/// Replace the entries with a preset ([`Preset`]).
pub(crate) fn preset_schedule(store: &mut Store, integration: &IntegrationRow, preset: Preset, tz: &str) -> Result<()> {
    let entries = preset.entries(tz)?;
    store.transaction(|tx| {
        tx.delete_schedules(integration.id)?;
        for e in &entries {
            tx.insert_schedule(integration.id, &e.cron, e.tz.name(), e.mode)?;
        }
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{row_integration, temp_store};

    /// A store with one integration of a connector that is only a row.
    fn integration(store: &mut Store) -> IntegrationRow {
        row_integration(store);
        store.read().integration("acme").expect("row")
    }

    #[test]
    fn concurrency_is_set_bounded_and_reset() {
        let (_dir, mut store) = temp_store();
        let row = integration(&mut store);
        let options = set_option(&mut store, &row, "concurrency=2", true).expect("set");
        assert_eq!(options.concurrency, Some(2));
        let row = store.read().integration("acme").expect("row");
        assert_eq!(IntegrationOptions::from_json(&row.options).concurrency(), 2, "stored");
        for bad in ["0", "17", "many"] {
            let e = set_option(&mut store, &row, &format!("concurrency={bad}"), true).expect_err(bad);
            assert!(matches!(e, SettingsError::BadConcurrency(_)), "{e}");
            assert!(e.hint().is_some_and(|h| h.contains("concurrency=4")), "{e}");
        }
        let options = set_option(&mut store, &row, "concurrency=2", false).expect("off");
        assert_eq!(options.concurrency, None, "off goes back to the default");
    }

    #[test]
    fn concurrency_off_needs_no_value() {
        let (_dir, mut store) = temp_store();
        let row = integration(&mut store);
        set_option(&mut store, &row, "concurrency=2", true).expect("set");
        set_option(&mut store, &row, "requests-per-minute=30", true).expect("set");
        let row = store.read().integration("acme").expect("row");
        assert_eq!(set_option(&mut store, &row, "concurrency", false).expect("off").concurrency, None);
        let row = store.read().integration("acme").expect("row");
        assert_eq!(set_option(&mut store, &row, "requests-per-minute", false).expect("off").requests_per_minute, None);
        // On, a value is still required.
        assert!(matches!(set_option(&mut store, &row, "concurrency", true), Err(SettingsError::UnknownOption(_))));
    }

    #[test]
    fn policy_stage_and_preset_take_the_enums() {
        let (_dir, mut store) = temp_store();
        let row = integration(&mut store);
        assert_eq!(
            set_policy(&mut store, &row, NewCompanies::Review).expect("policy").new_companies,
            NewCompanies::Review
        );
        let row = store.read().integration("acme").expect("row");
        let options = map_stage(&mut store, &row, Stage::Waiting, &["On Hold".to_string()]).expect("stage");
        assert_eq!(options.tickets.stages.get(&Stage::Waiting), Some(&vec!["On Hold".to_string()]));
        preset_schedule(&mut store, &row, Preset::Nightly, "UTC").expect("preset");
        let modes: Vec<Mode> = schedule_views(&store, &row, 1).expect("views").iter().map(|v| v.mode).collect();
        assert_eq!(modes, vec![Mode::Full, Mode::Incremental]);
    }
}
