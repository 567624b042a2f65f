//! One function per command: call the library, print the result.

mod demo;
mod docs;
mod integration;
mod matching;
mod plugin;
mod rules;
mod schedule;
mod serve;
mod sync;
mod tickets;

use super::args::{Cli, Command};
use super::output::Out;
use super::{App, Failure, default_db_path, exit};

pub(super) async fn run(cli: Cli, out: Out) -> Result<u8, Failure> {
    let db = cli.db.clone().unwrap_or_else(default_db_path);
    // A path the operator named must be where they said: a missing folder
    // is more likely a typo than a wish (the default location is created).
    if let Some(given) = &cli.db
        && let Some(dir) = given.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(Failure::new(
            format!("the database folder {} does not exist", dir.display()),
            Some("create it, or fix the path given with --db / FERRY_DB".to_string()),
        ));
    }
    match cli.command {
        Command::Demo(args) => demo::run(cli.db.clone(), args, out).await,
        Command::Limits => {
            limits(&out);
            Ok(exit::OK)
        }
        command => {
            let mut app =
                if reads_only(&command) { App::open_read_only(&db, out).await? } else { App::open(&db, out).await? };
            match command {
                Command::Plugin(c) => plugin::run(&mut app, c).await,
                Command::Integration(c) => integration::run(&mut app, c).await,
                Command::Sync(args) => sync::sync(&mut app, args).await,
                Command::Apply(args) => sync::apply(&mut app, args),
                Command::Runs(args) => sync::runs(&mut app, args),
                Command::Match(args) => matching::run(&mut app, args),
                Command::Rules(args) => rules::run(&mut app, args),
                Command::Layout(c) => docs::layout(&mut app, c),
                Command::Company(c) => docs::company(&mut app, c),
                Command::Asset(c) => docs::asset(&mut app, c),
                Command::Schedule(args) => schedule::schedule(&mut app, args),
                Command::Daemon(args) => schedule::daemon(&mut app, args).await,
                Command::Tickets(args) => tickets::settings(&mut app, args),
                Command::Ticket(c) => tickets::list(&mut app, c),
                Command::Serve(args) => serve::serve(app, args, &db).await,
                Command::Demo(_) | Command::Limits => Ok(exit::OK),
            }
        }
    }
}

/// Commands that only read the database: they open it read-only
/// (`App::open_read_only`), so they work on a read-only file or folder.
fn reads_only(command: &Command) -> bool {
    use super::args::{
        AssetCommand, CompanyCommand, IntegrationCommand, LayoutCommand, MatchAction, PluginCommand, RulesAction,
        ScheduleAction, TicketCommand, TicketsAction,
    };
    match command {
        Command::Plugin(c) => matches!(c, PluginCommand::List | PluginCommand::Inspect { .. }),
        Command::Integration(c) => {
            matches!(c, IntegrationCommand::List | IntegrationCommand::Show { .. } | IntegrationCommand::Test { .. })
        }
        Command::Runs(_) => true,
        Command::Match(a) => matches!(a.action, None | Some(MatchAction::List { .. })),
        Command::Rules(a) => matches!(a.action, None | Some(RulesAction::Show | RulesAction::Types)),
        Command::Layout(c) => matches!(c, LayoutCommand::List),
        Command::Company(c) => {
            matches!(c, CompanyCommand::List { .. } | CompanyCommand::Show { .. } | CompanyCommand::History { .. })
        }
        Command::Asset(c) => matches!(c, AssetCommand::List { .. } | AssetCommand::Show { .. }),
        Command::Schedule(a) => matches!(a.action, None | Some(ScheduleAction::Show)),
        Command::Tickets(a) => matches!(a.action, None | Some(TicketsAction::Show | TicketsAction::Statuses)),
        Command::Ticket(c) => matches!(c, TicketCommand::List { .. }),
        _ => false,
    }
}

fn limits(out: &Out) {
    let limits = crate::runtime::Limits::from_env();
    if out.json {
        let vars: Vec<_> = crate::runtime::limits::ENV_VARS
            .iter()
            .map(|(k, v)| serde_json::json!({"variable": k, "meaning": v, "value": std::env::var(k).ok()}))
            .collect();
        out.json(&vars);
        return;
    }
    out.table(
        &["variable", "meaning", "set to"],
        crate::runtime::limits::ENV_VARS
            .iter()
            .map(|(k, v)| vec![k.to_string(), v.to_string(), std::env::var(k).unwrap_or_else(|_| "-".into())])
            .collect(),
    );
    if let Err(e) = limits {
        out.note(format!("warning: {e}"));
    }
}
