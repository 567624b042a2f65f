//! `ferry match NAME [list | accept | set | create | ignore | unmatch | auto | policy]`.

use crate::apply;
use crate::cli::args::{MatchAction, MatchArgs};
use crate::cli::commands::sync::print_apply;
use crate::cli::output::opt;
use crate::cli::{App, Failure, exit};
use crate::companies::{self, DecisionError, LinkView};

impl From<DecisionError> for Failure {
    fn from(e: DecisionError) -> Self {
        let hint = e.hint();
        Failure::new(e.to_string(), hint)
    }
}

fn rows(list: &[LinkView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|v| {
            vec![
                v.external_id.clone(),
                v.psa_name.clone(),
                if v.merged { format!("{} (merged)", v.state.as_str()) } else { v.state.as_str().to_string() },
                v.company
                    .clone()
                    .map(|c| format!("{c} (#{})", v.company_id.unwrap_or_default()))
                    .unwrap_or_else(|| "-".into()),
                v.score.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "-".into()),
                opt(&v.reason),
            ]
        })
        .collect()
}

const HEADERS: [&str; 6] = ["psa id", "psa company", "state", "documentation company", "score", "reason"];

pub(super) fn run(app: &mut App, args: MatchArgs) -> Result<u8, Failure> {
    let integration = app.store.read().integration(&args.name)?;
    let action = args.action.unwrap_or(MatchAction::List { state: None });
    let (view, apply_after) = match action {
        MatchAction::List { state: filter } => {
            let list = companies::list(&app.store, &integration, filter)?;
            if app.out.json {
                app.out.json(&list);
            } else {
                app.out.table(&HEADERS, rows(&list));
            }
            return Ok(exit::OK);
        }
        MatchAction::Accept { ext, merge, apply } => {
            (companies::accept(&mut app.store, &integration, &ext, merge)?, apply.now)
        }
        MatchAction::Set { ext, company, merge, apply } => {
            (companies::set(&mut app.store, &integration, &ext, &company, merge)?, apply.now)
        }
        MatchAction::Create { ext, apply } => (companies::create(&mut app.store, &integration, &ext)?, apply.now),
        MatchAction::Ignore { ext, apply } => (companies::ignore(&mut app.store, &integration, &ext)?, apply.now),
        MatchAction::Unmatch { ext, apply } => (companies::unmatch(&mut app.store, &integration, &ext)?, apply.now),
        MatchAction::Auto { threshold, create_rest, dry_run, apply } => {
            let plan = companies::auto(&mut app.store, &integration, threshold, create_rest, dry_run)?;
            if app.out.json {
                app.out.json(&plan);
            } else {
                let verb = if dry_run { "would" } else { "did" };
                app.out.line(format!(
                    "threshold {:.0}%: {verb} match {}, {verb} create {}, {} left for review",
                    plan.threshold * 100.0,
                    plan.matched.len(),
                    plan.created.len(),
                    plan.left.len()
                ));
                let mut all = plan.matched.clone();
                all.extend(plan.created.clone());
                all.extend(plan.left.clone());
                app.out.table(&HEADERS, rows(&all));
            }
            if apply.now && !dry_run {
                let report = apply::apply(&mut app.store, integration.id)?;
                if !app.out.json {
                    print_apply(&app.out, &report);
                }
            }
            return Ok(exit::OK);
        }
        MatchAction::Policy { policy } => {
            crate::settings::set_policy(&mut app.store, &integration, policy)?;
            app.out.line(format!("new PSA companies of {}: {policy}", integration.name));
            if app.out.json {
                app.out.json(&serde_json::json!({"integration": integration.name, "new_companies": policy}));
            }
            return Ok(exit::OK);
        }
    };
    if app.out.json && !apply_after {
        app.out.json(&view);
    } else if !app.out.json {
        app.out.table(&HEADERS, rows(std::slice::from_ref(&view)));
    }
    if apply_after {
        let report = apply::apply(&mut app.store, integration.id)?;
        if app.out.json {
            app.out.json(&serde_json::json!({"link": view, "apply": report}));
        } else {
            print_apply(&app.out, &report);
        }
    } else if !app.out.json {
        app.out.line(format!(
            "run `ferry apply {}` (or add --apply) to bring the change into the documentation",
            integration.name
        ));
    }
    Ok(exit::OK)
}
