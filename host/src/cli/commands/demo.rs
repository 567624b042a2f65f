//! `ferry demo`: the whole product on one machine. Starts the PSA
//! simulators on loopback, adds an integration per bundled connector with
//! the simulators' credentials, tests, syncs and summarises — through the
//! same code paths an operator uses.

use std::path::PathBuf;
use std::time::Instant;

use ferry_sim::Scale;
use ferry_sim::cw::{CwData, CwOptions};
use ferry_sim::syncro::{SyncroData, SyncroOptions};
use ferry_sim::world::World;

use crate::cli::args::DemoArgs;
use crate::cli::commands::sync::print_sync;
use crate::cli::output::{Out, duration};
use crate::cli::{App, Failure, exit};
use crate::integrations;
use crate::registry;
use crate::store::{AssetFilter, Trigger};
use crate::sync::{self, Mode, Quiet, SyncRequest};

/// An integration the demo adds against one simulator.
struct DemoIntegration {
    name: &'static str,
    plugin: &'static str,
    values: Vec<(String, String)>,
    secrets: Vec<(String, String)>,
}

/// Credentials of the simulated tenants (not secrets: they exist only on loopback).
const SYNCRO_TOKEN: &str = "demo-syncro-token";

pub(super) async fn run(db: Option<PathBuf>, args: DemoArgs, out: Out) -> Result<u8, Failure> {
    let started = Instant::now();
    let temp = tempfile::tempdir()?;
    // Without --db the database is temporary and goes with the demo.
    let keeps_database = db.is_some();
    let db_path = db.unwrap_or_else(|| temp.path().join("ferry-demo.db"));
    out.line(format!("database: {}", db_path.display()));

    let scale = Scale { companies: args.companies.max(1), ..Scale::demo() };
    let world = World::generate(7, &scale);
    let syncro = ferry_sim::syncro::start(
        SyncroData::from_world(&world),
        SyncroOptions { token: SYNCRO_TOKEN.into(), ..SyncroOptions::default() },
    )
    .await
    .map_err(|e| Failure::new(format!("cannot start the Syncro simulator: {e}"), None))?;
    out.line(format!("Syncro simulator: {}", syncro.api_url()));
    let cw_options = CwOptions::default();
    let cw = ferry_sim::cw::start(CwData::from_world(&world), cw_options.clone())
        .await
        .map_err(|e| Failure::new(format!("cannot start the CW Manage simulator: {e}"), None))?;
    out.line(format!("CW Manage simulator: {}", cw.api_url()));

    let mut app = App::open(&db_path, out.clone()).await?;
    let mut failed = false;
    let plan = vec![
        DemoIntegration {
            name: "demo-syncro",
            plugin: "syncro",
            values: vec![("subdomain".into(), "demo".into()), ("base_url".into(), syncro.api_url())],
            secrets: vec![("api_key".into(), SYNCRO_TOKEN.into())],
        },
        DemoIntegration {
            name: "demo-cw",
            plugin: "cw-manage",
            values: vec![
                ("site".into(), "cw.demo.example".into()),
                ("base_url".into(), cw.base_url()),
                ("company_id".into(), cw_options.company_id.clone()),
                ("public_key".into(), cw_options.public_key.clone()),
                ("client_id".into(), cw_options.client_id.clone()),
            ],
            secrets: vec![("private_key".into(), cw_options.private_key.clone())],
        },
    ];
    // PSA companies left for the operator (a likely twin exists), by
    // integration: their data waits for the decision.
    let mut awaiting: Vec<(String, u64)> = Vec::new();
    for DemoIntegration { name, plugin, values, secrets } in &plan {
        if app.store.read().integration(name).is_err() {
            let (_, saved) =
                integrations::add(&mut app.store, &app.runtime, name, plugin, values, secrets, false).await?;
            for n in saved.notices {
                out.line(format!("note: {n}"));
            }
        }
        let row = app.store.read().integration(name)?;
        let (connector, loaded) = registry::load(&app.store, &app.runtime, plugin)?;
        let mut session = app.runtime.session(&loaded, integrations::session_config(&row, &connector.info)?)?;
        match session.check().await? {
            Ok(report) => out.line(format!("{name}: connection ok, {}", report.summary)),
            Err(e) => {
                out.line(format!("{name}: connection test failed: {e}"));
                failed = true;
                continue;
            }
        }
        let request = SyncRequest { force: true, ..SyncRequest::new(name, Mode::Full, Trigger::Demo) };
        let report = sync::run(&mut app.store, &app.runtime, &request, &Quiet).await?;
        print_sync(&out, &report);
        failed |= report.status != crate::store::RunStatus::Succeeded;
        if let Some(waiting) = report.apply.as_ref().map(|a| a.awaiting_match).filter(|n| *n > 0) {
            awaiting.push((name.to_string(), waiting));
        }
    }

    let tx = app.store.read();
    let companies = tx.companies(false)?.len();
    let assets = tx.assets(&AssetFilter { archived: Some(false), ..Default::default() })?;
    let contacts = assets.iter().filter(|a| a.layout == "People").count();
    let devices = assets.iter().filter(|a| !matches!(a.layout.as_str(), "People" | "Locations" | "Agreements")).count();
    let merged = assets.iter().filter(|a| a.sources.len() > 1).count();
    if out.json {
        out.json(&serde_json::json!({
            "companies": companies,
            "contacts": contacts,
            "assets": devices,
            "assets_with_cards_from_two_psas": merged,
            "awaiting_match": awaiting.iter().map(|(n, c)| serde_json::json!({"integration": n, "companies": c})).collect::<Vec<_>>(),
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "database": db_path,
        }));
    } else {
        out.line(String::new());
        out.line(format!(
            "demo done in {}: {companies} companies, {contacts} contacts, {devices} assets in the documentation",
            duration(started.elapsed().as_millis() as u64)
        ));
        if merged > 0 {
            out.line(format!("{merged} assets are the same device in both PSAs and carry a card from each"));
        }
        for (name, count) in &awaiting {
            out.line(format!(
                "{count} PSA companies of {name} wait for your decision (a likely twin exists): \
                 `ferry match {name} list --state suggested`"
            ));
        }
        if keeps_database || args.keep_running {
            out.line(format!("look around: ferry --db {} asset list", db_path.display()));
        } else {
            out.line(
                "the demo's database is temporary: `ferry --db demo.db demo` keeps it, then `ferry --db demo.db asset list`",
            );
        }
    }
    if args.keep_running {
        out.line("simulators keep running; Ctrl-C to stop");
        let _ = tokio::signal::ctrl_c().await;
    }
    drop(app);
    syncro.shutdown().await;
    cw.shutdown().await;
    if !args.keep_running {
        // The temporary database goes with the demo unless --db was given.
        drop(temp);
    }
    Ok(if failed { exit::FAILED } else { exit::OK })
}
