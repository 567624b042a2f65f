//! `ferry rules NAME [show | primary | contacts | add | remove | types | skip | option]`.

use crate::apply;
use crate::cli::args::{RulesAction, RulesArgs};
use crate::cli::commands::sync::print_apply;
use crate::cli::{App, Failure, exit};
use crate::model::{StreamId, StreamKind};
use crate::options::{DEFAULT_CONCURRENCY, IntegrationOptions, MAX_CONCURRENCY, TypeRule};
use crate::store::IntegrationRow;

fn on_off(b: bool) -> String {
    if b { "on".into() } else { "off".into() }
}

/// The layout name as stored, if it exists and is active.
fn active_layout(app: &App, name: &str) -> Result<String, Failure> {
    match app.store.read().layout_by_name(name)? {
        Some(l) if l.active => Ok(l.name),
        Some(l) => Err(Failure::new(
            format!("layout `{}` is inactive", l.name),
            Some(format!("activate it with `ferry layout set \"{}\" --active true`", l.name)),
        )),
        None => Err(Failure::new(
            format!("there is no layout `{name}`"),
            Some(format!("create it with `ferry layout add \"{name}\"`, or see `ferry layout list`")),
        )),
    }
}

fn save(
    app: &mut App,
    integration: &IntegrationRow,
    options: &IntegrationOptions,
    apply_now: bool,
) -> Result<(), Failure> {
    app.store.transaction(|tx| tx.update_integration_options(integration.id, &options.to_json()))?;
    if apply_now {
        let report = apply::apply(&mut app.store, integration.id)?;
        print_apply(&app.out, &report);
    } else if !app.out.json {
        app.out
            .line(format!("run `ferry apply {}` (or add --apply) to re-sort what is already synced", integration.name));
    }
    Ok(())
}

pub fn run(app: &mut App, args: RulesArgs) -> Result<u8, Failure> {
    let integration = app.store.read().integration(&args.name)?;
    let mut options = IntegrationOptions::from_json(&integration.options);
    match args.action.unwrap_or(RulesAction::Show) {
        RulesAction::Show => {
            if app.out.json {
                app.out.json(&options);
                return Ok(exit::OK);
            }
            app.out.pairs(&[
                ("new companies", format!("{:?}", options.new_companies).to_lowercase()),
                ("match threshold", format!("{:.0}%", options.match_threshold * 100.0)),
                (
                    "primary location",
                    options.primary_layout.clone().unwrap_or_else(|| "(a layout per PSA type)".into()),
                ),
                ("contacts layout", options.contacts_layout.clone().unwrap_or_else(|| "People".into())),
                ("sites layout", options.sites_layout.clone().unwrap_or_else(|| "Locations".into())),
                ("agreements layout", options.agreements_layout.clone().unwrap_or_else(|| "Agreements".into())),
                ("auto-update names", on_off(options.auto_update_names)),
                ("auto-archive", on_off(options.auto_archive)),
                ("keep company details", on_off(options.keep_company_details)),
                (
                    "requests per minute",
                    options.requests_per_minute.map(|n| n.to_string()).unwrap_or_else(|| "connector default".into()),
                ),
                ("streams read at once", options.concurrency().to_string()),
            ]);
            app.out.table(
                &["#", "when type is", "layout"],
                options
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| vec![(i + 1).to_string(), r.when_type.clone(), r.layout.clone()])
                    .collect(),
            );
            let s = &options.skip;
            app.out.pairs(&[
                ("skip inactive companies", on_off(s.inactive_companies)),
                ("skip contacts", on_off(s.contacts)),
                ("skip agreements", on_off(s.agreements)),
                ("skip assets", on_off(s.assets)),
                ("skip inactive assets", on_off(s.inactive_assets)),
                ("skip sites", on_off(s.sites)),
                ("skip company types", s.company_types.join(", ")),
                ("skip asset types", s.asset_types.join(", ")),
                ("skip streams", s.streams.join(", ")),
            ]);
            return Ok(exit::OK);
        }
        RulesAction::Types => {
            let types = app.store.read().type_counts(integration.id)?;
            if app.out.json {
                let v: Vec<_> =
                    types.iter().map(|(k, n, c)| serde_json::json!({"kind": k, "name": n, "count": c})).collect();
                app.out.json(&v);
            } else {
                app.out.table(
                    &["kind", "type", "records"],
                    types.iter().map(|(k, n, c)| vec![k.clone(), n.clone(), c.to_string()]).collect(),
                );
            }
            return Ok(exit::OK);
        }
        RulesAction::Primary { layout, apply } => {
            options.primary_layout = Some(active_layout(app, &layout)?);
            app.out.line(format!("primary sync location: {layout}"));
            save(app, &integration, &options, apply.now)?;
        }
        RulesAction::Contacts { layout, apply } => {
            options.contacts_layout = Some(active_layout(app, &layout)?);
            app.out.line(format!("contacts layout: {layout}"));
            save(app, &integration, &options, apply.now)?;
        }
        RulesAction::Add { when_type, layout, apply } => {
            if when_type.trim().is_empty() {
                return Err(Failure::new(
                    "--when-type needs a type name",
                    Some(format!("see `ferry rules {} types`", integration.name)),
                ));
            }
            let layout = active_layout(app, &layout)?;
            options.rules.retain(|r| !r.when_type.eq_ignore_ascii_case(when_type.trim()));
            options.rules.push(TypeRule { when_type: when_type.trim().to_string(), layout: layout.clone() });
            app.out.line(format!("when type is {} → {layout}", when_type.trim()));
            save(app, &integration, &options, apply.now)?;
        }
        RulesAction::Remove { n, apply } => {
            if n == 0 || n > options.rules.len() {
                return Err(Failure::new(
                    format!("there is no rule {n}"),
                    Some(format!("`ferry rules {} show` numbers the rules", integration.name)),
                ));
            }
            let removed = options.rules.remove(n - 1);
            app.out.line(format!("removed rule {n} (when type is {} → {})", removed.when_type, removed.layout));
            save(app, &integration, &options, apply.now)?;
        }
        RulesAction::Skip { what, off, apply } => {
            let on = !off;
            let extra = match what.split_once('=') {
                Some(("stream", name)) => Some(extra_stream_to_skip(app, &integration, name)?),
                _ => None,
            };
            let s = &mut options.skip;
            match what.split_once('=') {
                Some(("company-type", t)) => toggle(&mut s.company_types, t, on),
                Some(("asset-type", t)) => toggle(&mut s.asset_types, t, on),
                Some(("stream", _)) => match extra {
                    Some(SkipStream::Kind(StreamKind::Contacts)) => s.contacts = on,
                    Some(SkipStream::Kind(StreamKind::Agreements)) => s.agreements = on,
                    Some(SkipStream::Kind(StreamKind::Assets)) => s.assets = on,
                    Some(SkipStream::Kind(StreamKind::Sites)) => s.sites = on,
                    Some(SkipStream::Extra(name)) => toggle(&mut s.streams, &name, on),
                    Some(SkipStream::Kind(_)) | None => {}
                },
                _ => match what.as_str() {
                    "inactive-companies" => s.inactive_companies = on,
                    "contacts" => s.contacts = on,
                    "agreements" => s.agreements = on,
                    "assets" | "configurations" => s.assets = on,
                    "inactive-assets" | "inactive-configurations" => s.inactive_assets = on,
                    "sites" | "locations" => s.sites = on,
                    _ => {
                        return Err(Failure::new(
                            format!("unknown skip option `{what}`"),
                            Some("use inactive-companies, contacts, agreements, assets, inactive-assets, sites, company-type=T, asset-type=T or stream=NAME (an extra stream, see `ferry plugin inspect`)".into()),
                        ));
                    }
                },
            }
            app.out.line(format!("skip {what}: {}", on_off(on)));
            save(app, &integration, &options, apply.now)?;
        }
        RulesAction::Option { what, off, apply } => {
            let on = !off;
            if let Some(n) = what.strip_prefix("requests-per-minute=") {
                let n: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Failure::new(
                        format!("`{n}` is not a positive number of requests"),
                        Some("e.g. requests-per-minute=120".to_string()),
                    )
                })?;
                options.requests_per_minute = (!off).then_some(n);
                app.out.line(format!(
                    "requests per minute: {}",
                    options.requests_per_minute.map(|n| n.to_string()).unwrap_or_else(|| "connector default".into())
                ));
                save(app, &integration, &options, false)?;
                if app.out.json {
                    app.out.json(&options);
                }
                return Ok(exit::OK);
            }
            if let Some(n) = what.strip_prefix("concurrency=") {
                let n: u32 = n.trim().parse().ok().filter(|n| (1..=MAX_CONCURRENCY).contains(n)).ok_or_else(|| {
                    Failure::new(
                        format!("`{n}` is not a number of streams from 1 to {MAX_CONCURRENCY}"),
                        Some(format!(
                            "e.g. concurrency=4 (the default); 1 reads the streams one after another; --off goes back \
                             to the default of {DEFAULT_CONCURRENCY}"
                        )),
                    )
                })?;
                options.concurrency = (!off).then_some(n);
                app.out.line(format!("streams read at once: {}", options.concurrency()));
                save(app, &integration, &options, false)?;
                if app.out.json {
                    app.out.json(&options);
                }
                return Ok(exit::OK);
            }
            match what.as_str() {
                "auto-update-names" => options.auto_update_names = on,
                "auto-archive" => options.auto_archive = on,
                "keep-company-details" => options.keep_company_details = on,
                _ => {
                    return Err(Failure::new(
                        format!("unknown option `{what}`"),
                        Some(
                            "use auto-update-names, auto-archive, keep-company-details, requests-per-minute=N or \
                             concurrency=N"
                                .into(),
                        ),
                    ));
                }
            }
            app.out.line(format!("{what}: {}", on_off(on)));
            save(app, &integration, &options, apply.now)?;
        }
    }
    if app.out.json {
        app.out.json(&options);
    }
    Ok(exit::OK)
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
fn extra_stream_to_skip(app: &App, integration: &IntegrationRow, name: &str) -> Result<SkipStream, Failure> {
    let name = name.trim();
    match StreamId::from_operator(name) {
        Some(StreamId::Kind(
            kind @ (StreamKind::Contacts | StreamKind::Agreements | StreamKind::Assets | StreamKind::Sites),
        )) => Ok(SkipStream::Kind(kind)),
        Some(StreamId::Kind(kind)) => Err(Failure::new(
            format!("the {kind} stream cannot be skipped"),
            Some("skip contacts, agreements, assets, sites or an extra stream".into()),
        )),
        Some(StreamId::Extra(extra)) => {
            let declared = app.store.read().connector(&integration.connector_id)?.map(|c| c.info.extra_streams);
            let declared = declared.unwrap_or_default();
            if declared.iter().any(|s| s.name == extra) {
                return Ok(SkipStream::Extra(extra));
            }
            let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
            Err(Failure::new(
                format!("connector `{}` declares no extra stream `{extra}`", integration.connector_id),
                Some(match names.is_empty() {
                    true => "it declares no extra streams; see `ferry plugin inspect ID`".to_string(),
                    false => format!("it declares: {}", names.join(", ")),
                }),
            ))
        }
        None => Err(Failure::new(
            format!("`{name}` is not a stream's name"),
            Some("see the streams with `ferry plugin inspect ID`".into()),
        )),
    }
}

fn toggle(list: &mut Vec<String>, value: &str, on: bool) {
    let value = value.trim();
    list.retain(|v| !v.eq_ignore_ascii_case(value));
    if on && !value.is_empty() {
        list.push(value.to_string());
    }
}
