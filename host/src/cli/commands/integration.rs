//! `ferry integration add | list | show | test | set | remove`.

use serde::Serialize;

use crate::cli::args::IntegrationCommand;
use crate::cli::{App, Failure, exit};
use crate::integrations::{self, parse_assignment};
use crate::model::CheckReport;

#[derive(Serialize)]
struct TestResult<'a> {
    integration: &'a str,
    ok: bool,
    #[serde(flatten)]
    report: Option<&'a CheckReport>,
    error: Option<String>,
    hint: Option<String>,
}

fn assignments(list: &[String]) -> Result<Vec<(String, String)>, Failure> {
    list.iter().map(|a| parse_assignment(a).map_err(Failure::from)).collect()
}

pub(super) async fn run(app: &mut App, command: IntegrationCommand) -> Result<u8, Failure> {
    match command {
        IntegrationCommand::Add { name, plugin, set, secret, accept_normalised } => {
            let values = assignments(&set)?;
            let secrets = assignments(&secret)?;
            let (row, saved) =
                integrations::add(&mut app.store, &app.runtime, &name, &plugin, &values, &secrets, accept_normalised)
                    .await?;
            for notice in &saved.notices {
                app.out.note(format!("note: {notice}"));
            }
            if app.out.json {
                app.out.json(
                    &serde_json::json!({"added": row.name, "plugin": row.connector_id, "notices": saved.notices}),
                );
            } else {
                app.out.line(format!("added integration {} ({})", row.name, row.connector_id));
                app.out.line(format!("next: ferry integration test {}", row.name));
            }
            Ok(exit::OK)
        }
        IntegrationCommand::List => {
            let list = integrations::summaries(&app.store)?;
            if app.out.json {
                app.out.json(&list);
            } else {
                app.out.table(
                    &["name", "plugin", "last run", "status"],
                    list.iter()
                        .map(|r| {
                            vec![
                                r.name.clone(),
                                r.plugin.clone(),
                                r.last_run.as_ref().map(|l| l.started_at.clone()).unwrap_or_else(|| "never".into()),
                                r.last_run
                                    .as_ref()
                                    .map(|l| l.status.as_str().to_string())
                                    .unwrap_or_else(|| "-".into()),
                            ]
                        })
                        .collect(),
                );
            }
            Ok(exit::OK)
        }
        IntegrationCommand::Show { name } => {
            let (shown, connector) = integrations::overview(&app.store, &name)?;
            if app.out.json {
                app.out.json(&shown);
                return Ok(exit::OK);
            }
            app.out.pairs(&[
                ("name", shown.name.clone()),
                ("plugin", format!("{} {}", connector.id, connector.version)),
                ("created", shown.created_at.clone()),
                ("updated", shown.updated_at.clone()),
                ("allowed origins", shown.allowed_origins.join(", ")),
            ]);
            app.out.table(
                &["config", "value"],
                shown
                    .config
                    .iter()
                    .map(|c| {
                        vec![c.key.clone(), if c.secret { format!("{} (secret)", c.value) } else { c.value.clone() }]
                    })
                    .collect(),
            );
            if !shown.mirror.is_empty() {
                app.out.table(
                    &["stream", "records in mirror"],
                    shown.mirror.iter().map(|(s, n)| vec![s.to_string(), n.to_string()]).collect(),
                );
            }
            if let Some(last) = &shown.last_run {
                app.out.line(format!(
                    "last run: #{} {} {} ({})",
                    last.id,
                    last.mode,
                    last.status.as_str(),
                    last.started_at
                ));
            }
            Ok(exit::OK)
        }
        IntegrationCommand::Test { name } => {
            let outcome = integrations::test_connection(&app.store, &app.runtime, &name).await?;
            // A connector that crashes or breaks a limit failed the test
            // (exit 3, like any failed check), it is not bad input.
            let result = match outcome {
                integrations::TestOutcome::Passed(report) => Ok(report),
                integrations::TestOutcome::Failed(e) => Err(e),
                integrations::TestOutcome::Crashed(e) => return Err(Failure::from(e).with_code(exit::FAILED)),
            };
            match result {
                Ok(report) => {
                    if app.out.json {
                        app.out.json(&TestResult {
                            integration: &name,
                            ok: true,
                            report: Some(&report),
                            error: None,
                            hint: None,
                        });
                    } else {
                        app.out.line(format!("ok: {}", report.summary));
                        for f in &report.facts {
                            app.out.line(format!("  {}: {}", f.label, f.value));
                        }
                        for w in &report.warnings {
                            app.out.line(format!("warning: {w}"));
                        }
                    }
                    Ok(exit::OK)
                }
                Err(e) => {
                    if app.out.json {
                        app.out.json(&TestResult {
                            integration: &name,
                            ok: false,
                            report: None,
                            error: Some(e.to_string()),
                            hint: Some(e.hint_for(&name)),
                        });
                        return Ok(exit::FAILED);
                    }
                    Err(Failure::new(format!("connection test failed: {e}"), Some(e.hint_for(&name)))
                        .with_code(exit::FAILED))
                }
            }
        }
        IntegrationCommand::Set { name, assignments: list, secret, accept_normalised } => {
            let values = assignments(&list)?;
            let secrets = assignments(&secret)?;
            if values.is_empty() && secrets.is_empty() {
                return Err(Failure::new("nothing to set", Some("give KEY=VALUE or --secret KEY=env:VAR".into())));
            }
            let (row, saved) =
                integrations::set(&mut app.store, &app.runtime, &name, &values, &secrets, accept_normalised).await?;
            for notice in &saved.notices {
                app.out.note(format!("note: {notice}"));
            }
            if app.out.json {
                app.out.json(&serde_json::json!({"updated": row.name, "notices": saved.notices}));
            } else {
                app.out.line(format!("updated {}", row.name));
            }
            Ok(exit::OK)
        }
        IntegrationCommand::Remove { name, yes } => {
            let plan = match integrations::remove(&mut app.store, &name, yes) {
                Err(e @ integrations::IntegrationError::Syncing { .. }) => {
                    return Err(crate::cli::Failure::from(e).with_code(exit::BUSY));
                }
                other => other?,
            };
            let c = &plan.counts;
            if app.out.json {
                app.out.json(&plan);
            } else {
                let verb = |now: &str, later: &str| if plan.removed { now.to_string() } else { later.to_string() };
                app.out.line(format!(
                    "{} integration {name}:",
                    if plan.removed { "removed" } else { "removing would change" }
                ));
                app.out.line(format!(
                    "  archived: {} PSA cards, {} assets and {} companies that only {name} brought",
                    c.cards, c.assets_archived, c.companies_archived
                ));
                app.out.line(format!(
                    "  {}: {} assets another integration also brings, {} operator fields, every company the operator owns",
                    verb("stay live", "stays live"),
                    c.assets_kept,
                    c.operator_fields
                ));
                app.out.line(format!(
                    "  kept for re-adding the same PSA account: {} match decisions, {} mirror records, options, {} runs of history",
                    c.links, c.mirror, c.runs
                ));
                app.out.line(format!(
                    "  deleted: its secrets, {} schedules, sync checkpoints, {} tickets (fetched again on re-add)",
                    c.schedules, c.tickets
                ));
            }
            if !plan.removed {
                return Err(integrations::IntegrationError::NotConfirmed { name }.into());
            }
            Ok(exit::OK)
        }
    }
}
