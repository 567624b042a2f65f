//! `ferry layout`, `ferry company`, `ferry asset`: the documentation side.

use serde::Serialize;

use crate::cli::args::{AssetCommand, CompanyCommand, LayoutCommand};
use crate::cli::output::opt;
use crate::cli::{App, Failure, exit};
use crate::companies;
use crate::curation;
use crate::store::{AssetFilter, CardRow, CardTarget, StoreError};

pub(super) fn layout(app: &mut App, command: LayoutCommand) -> Result<u8, Failure> {
    match command {
        LayoutCommand::List => {
            let layouts = app.store.read().layouts()?;
            if app.out.json {
                app.out.json(&layouts);
            } else {
                app.out.table(
                    &["layout", "active", "identity", "assets"],
                    layouts
                        .iter()
                        .map(|l| {
                            vec![
                                l.name.clone(),
                                if l.active { "yes" } else { "no" }.into(),
                                l.identity.to_string(),
                                l.assets.to_string(),
                            ]
                        })
                        .collect(),
                );
            }
        }
        LayoutCommand::Add { name, identity } => {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(Failure::new("a layout needs a name", None));
            }
            let id = app.store.transaction(|tx| tx.insert_layout(&name, identity))?;
            if app.out.json {
                app.out.json(&serde_json::json!({"id": id, "name": name, "identity": identity}));
            } else {
                app.out.line(format!("added layout {name} (identity: {identity})"));
            }
        }
        LayoutCommand::Set { name, identity, active } => {
            let layout = app
                .store
                .read()
                .layout_by_name(&name)?
                .ok_or_else(|| StoreError::NotFound { what: "layout", name: name.clone() })?;
            app.store.transaction(|tx| tx.update_layout(layout.id, identity, active))?;
            if app.out.json {
                app.out.json(&app.store.read().layout_by_name(&name)?);
            } else {
                app.out.line(format!("updated layout {}", layout.name));
            }
        }
        LayoutCommand::Remove { name } => {
            curation::remove_layout(&mut app.store, &name)?;
            if app.out.json {
                app.out.json(&serde_json::json!({"removed": name}));
            } else {
                app.out.line(format!("removed layout {name}"));
            }
        }
    }
    Ok(exit::OK)
}

/// Who keeps a company's details current, in words.
fn details_owner(c: &crate::store::CompanyRow) -> String {
    match (&c.source, c.source_integration_id) {
        (Some(name), _) => format!("{name} (its PSA updates name, domain, phone)"),
        (None, Some(id)) => format!("integration #{id}"),
        (None, None) => "the operator (no PSA changes them)".into(),
    }
}

fn print_history(app: &App, history: &[crate::store::CompanyChange]) {
    if history.is_empty() {
        app.out.line("no recorded changes");
        return;
    }
    app.out.table(
        &["when", "by", "field", "old", "new"],
        history
            .iter()
            .map(|h| vec![h.at.clone(), h.actor.clone(), h.field.clone(), opt(&h.old), opt(&h.new)])
            .collect(),
    );
}

pub(super) fn company(app: &mut App, command: CompanyCommand) -> Result<u8, Failure> {
    match command {
        CompanyCommand::List { archived } => {
            let rows = app.store.read().companies(archived)?;
            if app.out.json {
                app.out.json(&rows);
            } else {
                app.out.table(
                    &["id", "company", "domain", "phone", "archived", "created by"],
                    rows.iter()
                        .map(|c| {
                            vec![
                                c.id.to_string(),
                                c.name.clone(),
                                opt(&c.domain),
                                opt(&c.phone),
                                if c.archived_at.is_some() { "yes".into() } else { String::new() },
                                c.created_by.clone(),
                            ]
                        })
                        .collect(),
                );
            }
        }
        CompanyCommand::Add { name, domain, phone, allow_duplicate } => {
            if name.trim().is_empty() {
                return Err(Failure::new("a company needs a name", None));
            }
            let id =
                companies::add_company(&mut app.store, &name, domain.as_deref(), phone.as_deref(), allow_duplicate)?;
            if app.out.json {
                app.out.json(&app.store.read().company(id)?);
            } else {
                app.out.line(format!("added company #{id} {}", name.trim()));
            }
        }
        CompanyCommand::Import { file } => {
            let report = companies::import_companies(&mut app.store, &file)?;
            if app.out.json {
                app.out.json(&report);
            } else {
                app.out.line(format!(
                    "added {} companies, {} already existed (not added again)",
                    report.added, report.existing
                ));
                if !report.differences.is_empty() {
                    app.out.line("existing companies whose details differ in the file (left unchanged):");
                    app.out.table(
                        &["line", "company", "field", "stored", "in file"],
                        report
                            .differences
                            .iter()
                            .map(|d| {
                                vec![
                                    d.line.to_string(),
                                    format!("{} (#{})", d.company, d.company_id),
                                    d.field.to_string(),
                                    opt(&d.stored),
                                    d.in_file.clone(),
                                ]
                            })
                            .collect(),
                    );
                }
            }
        }
        CompanyCommand::Show { company } => {
            let detail = curation::show(&app.store, &company)?;
            if app.out.json {
                app.out.json(&detail);
                return Ok(exit::OK);
            }
            let c = &detail.company;
            app.out.pairs(&[
                ("company", format!("#{} {}", c.id, c.name)),
                ("domain", opt(&c.domain)),
                ("phone", opt(&c.phone)),
                ("details from", details_owner(c)),
                (
                    "archived",
                    match (&c.archived_at, c.operator_archived) {
                        (Some(at), true) => format!("{at} (by the operator)"),
                        (Some(at), false) => at.clone(),
                        (None, _) => "no".into(),
                    },
                ),
                ("created by", c.created_by.clone()),
                ("live assets", detail.live_assets.to_string()),
                (
                    "PSA companies",
                    if detail.links.is_empty() {
                        "-".into()
                    } else {
                        detail
                            .links
                            .iter()
                            .map(|l| format!("{} {}", l.integration, l.external_id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                ),
            ]);
            print_history(app, &detail.history);
        }
        CompanyCommand::History { company } => {
            let detail = curation::show(&app.store, &company)?;
            if app.out.json {
                app.out.json(&detail.history);
            } else {
                print_history(app, &detail.history);
            }
        }
        CompanyCommand::Rename { company, name, allow_duplicate } => {
            let before = app.store.read().find_company(&company)?;
            let row = curation::rename(&mut app.store, &company, &name, allow_duplicate)?;
            if app.out.json {
                app.out.json(&row);
            } else {
                app.out.line(format!("renamed company #{} to {}", row.id, row.name));
                if let Some(source) = &before.source {
                    app.out.note(format!(
                        "note: its details no longer follow {source}; `ferry company follow #{} {source}` turns that back on",
                        row.id
                    ));
                }
            }
        }
        CompanyCommand::Follow { company, integration, none: _ } => {
            let row = curation::follow(&mut app.store, &company, integration.as_deref())?;
            if app.out.json {
                app.out.json(&row);
            } else {
                app.out.line(format!("company #{} {}: details from {}", row.id, row.name, details_owner(&row)));
                app.out.line("next: `ferry apply NAME` (or the next sync) brings the PSA's values");
            }
        }
        CompanyCommand::Archive { company, undo } => {
            let row = curation::archive_company(&mut app.store, &company, !undo)?;
            if app.out.json {
                app.out.json(&row);
            } else {
                let what = if undo { "restored" } else { "archived" };
                app.out.line(format!("{what} company #{} {}", row.id, row.name));
            }
        }
        CompanyCommand::Merge { from, into } => {
            let report = curation::merge(&mut app.store, &from, &into)?;
            if app.out.json {
                app.out.json(&report);
            } else {
                app.out.line(format!(
                    "merged company #{} into #{}: {} assets moved; #{} is archived",
                    report.from, report.into, report.assets_moved, report.from
                ));
            }
        }
    }
    Ok(exit::OK)
}

#[derive(Serialize)]
struct AssetDetail {
    #[serde(flatten)]
    asset: crate::store::AssetRow,
    cards: Vec<CardRow>,
    fields: Vec<crate::model::Field>,
}

pub(super) fn asset(app: &mut App, command: AssetCommand) -> Result<u8, Failure> {
    match command {
        AssetCommand::List { company, layout, archived, integration } => {
            let filter = AssetFilter { company, layout, archived: Some(archived), integration };
            let rows = app.store.read().assets(&filter)?;
            if app.out.json {
                app.out.json(&rows);
            } else {
                app.out.table(
                    &["id", "company", "layout", "asset", "sources", "archived"],
                    rows.iter()
                        .map(|a| {
                            vec![
                                a.id.to_string(),
                                a.company.clone(),
                                a.layout.clone(),
                                a.name.clone(),
                                a.sources.join(", "),
                                if a.archived_at.is_some() { "yes".into() } else { String::new() },
                            ]
                        })
                        .collect(),
                );
            }
        }
        AssetCommand::Show { id } => {
            let tx = app.store.read();
            let detail = AssetDetail {
                asset: tx.asset(id)?,
                cards: tx.cards_of(CardTarget::Asset, id)?,
                fields: tx.asset_fields(id)?,
            };
            if app.out.json {
                app.out.json(&detail);
                return Ok(exit::OK);
            }
            app.out.pairs(&[
                ("asset", format!("#{} {}", detail.asset.id, detail.asset.name)),
                ("company", detail.asset.company.clone()),
                ("layout", detail.asset.layout.clone()),
                ("archived", detail.asset.archived_at.clone().unwrap_or_else(|| "no".into())),
            ]);
            for card in &detail.cards {
                app.out.blank();
                app.out.line(format!(
                    "card from {} ({} {}){}:",
                    card.integration,
                    card.stream,
                    card.external_id,
                    if card.archived_at.is_some() { " [archived]" } else { "" }
                ));
                for f in &card.fields {
                    app.out.line(format!("  {}: {}", f.label, f.value));
                }
            }
            if !detail.fields.is_empty() {
                app.out.blank();
                app.out.line("fields (yours):");
                for f in &detail.fields {
                    app.out.line(format!("  {}: {}", f.label, f.value));
                }
            }
        }
        AssetCommand::Set { id, field, value } => {
            curation::set_field(&mut app.store, id, &field, &value)?;
            if app.out.json {
                app.out.json(&serde_json::json!({"asset": id, "field": field.trim(), "value": value}));
            } else {
                app.out.line(format!("asset #{id}: {} = {value}", field.trim()));
            }
        }
        AssetCommand::Unset { id, field } => {
            curation::unset_field(&mut app.store, id, &field)?;
            if app.out.json {
                app.out.json(&serde_json::json!({"asset": id, "deleted_field": field.trim()}));
            } else {
                app.out.line(format!("asset #{id}: deleted field {}", field.trim()));
            }
        }
        AssetCommand::Archive { id, undo } => {
            let changed = curation::archive_asset(&mut app.store, id, !undo)?;
            let what = if undo { "restored" } else { "archived" };
            if app.out.json {
                app.out.json(&serde_json::json!({"asset": id, what: changed}));
            } else if changed {
                app.out.line(format!("{what} asset #{id}"));
            } else {
                app.out.line(format!("asset #{id} was already {what}"));
            }
        }
    }
    Ok(exit::OK)
}
