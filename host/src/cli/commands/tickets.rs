//! `ferry tickets NAME ...` (ticket settings) and `ferry ticket list`.

use crate::apply;
use crate::cli::args::{TicketCommand, TicketsAction, TicketsArgs};
use crate::cli::commands::sync::print_apply;
use crate::cli::{App, Failure, exit};
use crate::options::IntegrationOptions;
use crate::settings;
use crate::store::TicketFilter;

fn toggle(list: &mut Vec<String>, values: &[String], on: bool) {
    for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        list.retain(|x| !x.eq_ignore_ascii_case(v));
        if on {
            list.push(v.to_string());
        }
    }
}

pub(super) fn settings(app: &mut App, args: TicketsArgs) -> Result<u8, Failure> {
    let integration = app.store.read().integration(&args.name)?;
    let mut options = IntegrationOptions::from_json(&integration.options);
    let apply_now = match args.action.unwrap_or(TicketsAction::Show) {
        TicketsAction::Show => {
            if app.out.json {
                app.out.json(&options.tickets);
            } else {
                let t = &options.tickets;
                app.out.pairs(&[
                    ("excluded statuses", t.exclude_statuses.join(", ")),
                    ("closed statuses", t.closed_statuses.join(", ")),
                    ("client comment status", t.client_comment_status.clone().unwrap_or_else(|| "-".into())),
                ]);
                app.out.table(
                    &["stage", "statuses"],
                    t.stages.iter().map(|(s, list)| vec![s.as_str().to_string(), list.join(", ")]).collect(),
                );
            }
            return Ok(exit::OK);
        }
        TicketsAction::Statuses => {
            let rows = settings::ticket_statuses(&app.store, &integration)?;
            if app.out.json {
                app.out.json(&rows);
            } else {
                app.out.table(
                    &["status", "tickets", "closed", "excluded", "stage"],
                    rows.iter()
                        .map(|r| {
                            vec![
                                r.status.clone(),
                                r.tickets.to_string(),
                                if r.closed { "yes".into() } else { String::new() },
                                if r.excluded { "yes".into() } else { String::new() },
                                r.stage.to_string(),
                            ]
                        })
                        .collect(),
                );
            }
            return Ok(exit::OK);
        }
        TicketsAction::Exclude { statuses, off, apply } => {
            toggle(&mut options.tickets.exclude_statuses, &statuses, !off);
            apply.now
        }
        TicketsAction::Closed { statuses, off, apply } => {
            toggle(&mut options.tickets.closed_statuses, &statuses, !off);
            apply.now
        }
        TicketsAction::ClientComment { status, off, apply } => {
            options.tickets.client_comment_status = if off { None } else { status.map(|s| s.trim().to_string()) };
            apply.now
        }
        TicketsAction::Stage { stage, statuses, apply } => {
            options = settings::map_stage(&mut app.store, &integration, stage, &statuses)?;
            apply.now
        }
    };
    app.store.transaction(|tx| tx.update_integration_options(integration.id, &options.to_json()))?;
    if apply_now {
        let report = apply::apply(&mut app.store, integration.id)?;
        print_apply(&app.out, &report);
    } else if app.out.json {
        app.out.json(&options.tickets);
    } else {
        app.out
            .line(format!("saved; run `ferry apply {}` (or add --apply) to re-map synced tickets", integration.name));
    }
    Ok(exit::OK)
}

pub(super) fn list(app: &mut App, command: TicketCommand) -> Result<u8, Failure> {
    let TicketCommand::List { company, stage, open, integration } = command;
    let company = match company {
        Some(c) => Some(app.store.read().find_company(&c)?.id),
        None => None,
    };
    if let Some(name) = &integration {
        app.store.read().integration(name)?;
    }
    let rows = app.store.read().tickets(&TicketFilter { integration, company, stage, open_only: open })?;
    if app.out.json {
        app.out.json(&rows);
    } else {
        app.out.table(
            &["#", "company", "subject", "status", "stage", "closed", "updated"],
            rows.iter()
                .map(|t| {
                    vec![
                        t.number.clone(),
                        t.company.clone(),
                        t.subject.clone(),
                        t.status.clone(),
                        t.stage.to_string(),
                        if t.closed { "yes".into() } else { String::new() },
                        t.updated_at.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        );
    }
    Ok(exit::OK)
}
