//! `ferry rules NAME [show | primary | contacts | add | remove | types | skip | option]`.

use crate::apply;
use crate::cli::args::{RulesAction, RulesArgs};
use crate::cli::commands::sync::print_apply;
use crate::cli::{App, Failure, exit};
use crate::options::IntegrationOptions;
use crate::settings;
use crate::store::IntegrationRow;

fn on_off(b: bool) -> String {
    if b { "on".into() } else { "off".into() }
}

/// After a change the library stored: re-apply now, or say how.
fn after_save(app: &mut App, integration: &IntegrationRow, apply_now: bool) -> Result<(), Failure> {
    if apply_now {
        let report = apply::apply(&mut app.store, integration.id)?;
        print_apply(&app.out, &report);
    } else if !app.out.json {
        app.out
            .line(format!("run `ferry apply {}` (or add --apply) to re-sort what is already synced", integration.name));
    }
    Ok(())
}

pub(super) fn run(app: &mut App, args: RulesArgs) -> Result<u8, Failure> {
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
            options = settings::set_primary_layout(&mut app.store, &integration, &layout)?;
            app.out.line(format!("primary sync location: {layout}"));
            after_save(app, &integration, apply.now)?;
        }
        RulesAction::Contacts { layout, apply } => {
            options = settings::set_contacts_layout(&mut app.store, &integration, &layout)?;
            app.out.line(format!("contacts layout: {layout}"));
            after_save(app, &integration, apply.now)?;
        }
        RulesAction::Add { when_type, layout, apply } => {
            let (replaced, now) = settings::add_type_rule_replacing(&mut app.store, &integration, &when_type, &layout)?;
            options = now;
            let layout = options.rules.last().map(|r| r.layout.clone()).unwrap_or(layout);
            let was = replaced
                .as_ref()
                .map(|r| format!(" (replaced the rule when type is {} → {})", r.when_type, r.layout))
                .unwrap_or_default();
            app.out.line(format!("when type is {} → {layout}{was}", when_type.trim()));
            after_save(app, &integration, apply.now)?;
            if app.out.json {
                let mut v = serde_json::to_value(&options).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("replaced".into(), serde_json::to_value(&replaced).unwrap_or_default());
                }
                app.out.json(&v);
                return Ok(exit::OK);
            }
        }
        RulesAction::Remove { n, apply } => {
            let (removed, now) = settings::remove_type_rule(&mut app.store, &integration, n)?;
            options = now;
            app.out.line(format!("removed rule {n} (when type is {} → {})", removed.when_type, removed.layout));
            after_save(app, &integration, apply.now)?;
        }
        RulesAction::Skip { what, off, apply } => {
            options = settings::set_skip(&mut app.store, &integration, &what, !off)?;
            app.out.line(format!("skip {what}: {}", on_off(!off)));
            after_save(app, &integration, apply.now)?;
        }
        RulesAction::Option { what, off, apply } => {
            options = settings::set_option(&mut app.store, &integration, &what, !off)?;
            // How fast the PSA is read changes nothing already synced: no
            // apply to suggest.
            if what == "concurrency" || what.starts_with("concurrency=") {
                app.out.line(format!("streams read at once: {}", options.concurrency()));
                if app.out.json {
                    app.out.json(&options);
                }
                return Ok(exit::OK);
            }
            if what == "requests-per-minute" || what.starts_with("requests-per-minute=") {
                app.out.line(format!(
                    "requests per minute: {}",
                    options.requests_per_minute.map(|n| n.to_string()).unwrap_or_else(|| "connector default".into())
                ));
                if app.out.json {
                    app.out.json(&options);
                }
                return Ok(exit::OK);
            }
            app.out.line(format!("{what}: {}", on_off(!off)));
            after_save(app, &integration, apply.now)?;
        }
    }
    if app.out.json {
        app.out.json(&options);
    }
    Ok(exit::OK)
}
