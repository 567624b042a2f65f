//! `ferry plugin list | install | inspect | remove`.

use serde::Serialize;

use crate::cli::args::PluginCommand;
use crate::cli::{App, Failure, exit};
use crate::model::ConnectorInfo;
use crate::registry;
use crate::store::ConnectorOrigin;

#[derive(Serialize)]
struct Inspected<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
    contract: &'a str,
    sha256: &'a str,
    origin: &'a str,
    info: &'a ConnectorInfo,
}

pub(super) async fn run(app: &mut App, command: PluginCommand) -> Result<u8, Failure> {
    match command {
        PluginCommand::List => {
            let rows = app.store.read().connectors()?;
            if app.out.json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|r| Inspected {
                        id: &r.id,
                        name: &r.name,
                        version: &r.version,
                        contract: &r.contract,
                        sha256: &r.sha256,
                        origin: r.origin.as_str(),
                        info: &r.info,
                    })
                    .collect();
                app.out.json(&list);
            } else {
                app.out.table(
                    &["id", "name", "version", "contract", "origin", "streams"],
                    rows.iter()
                        .map(|r| {
                            vec![
                                r.id.clone(),
                                r.name.clone(),
                                r.version.clone(),
                                r.contract.clone(),
                                r.origin.to_string(),
                                r.info.all_streams().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
                            ]
                        })
                        .collect(),
                );
            }
            Ok(exit::OK)
        }
        PluginCommand::Install { file } => {
            let bytes = std::fs::read(&file).map_err(|e| {
                Failure::new(
                    format!("cannot read {}: {e}", file.display()),
                    Some("check the path to the .wasm file".into()),
                )
            })?;
            let row = registry::install(&mut app.store, &app.runtime, &bytes, ConnectorOrigin::Installed).await?;
            if app.out.json {
                app.out.json(&Inspected {
                    id: &row.id,
                    name: &row.name,
                    version: &row.version,
                    contract: &row.contract,
                    sha256: &row.sha256,
                    origin: row.origin.as_str(),
                    info: &row.info,
                });
            } else {
                app.out.line(format!(
                    "installed {} {} ({}, contract {}, sha256 {})",
                    row.id,
                    row.version,
                    row.name,
                    row.contract,
                    &row.sha256[..16]
                ));
            }
            Ok(exit::OK)
        }
        PluginCommand::Inspect { target } => {
            let path = std::path::Path::new(&target);
            let (info, contract, sha256, origin) = if path.is_file() {
                let bytes = std::fs::read(path)?;
                let loaded = app.runtime.load(&bytes)?;
                let info = app.runtime.describe(&loaded).await?;
                (info, loaded.contract.to_string(), loaded.sha256.clone(), "file".to_string())
            } else {
                let row = app
                    .store
                    .read()
                    .connector(&target)?
                    .ok_or_else(|| registry::RegistryError::Unknown(target.clone()))?;
                (row.info, row.contract, row.sha256, row.origin.to_string())
            };
            if app.out.json {
                app.out.json(&Inspected {
                    id: &info.id,
                    name: &info.name,
                    version: &info.version,
                    contract: &contract,
                    sha256: &sha256,
                    origin: &origin,
                    info: &info,
                });
                return Ok(exit::OK);
            }
            let rate = info
                .rate_limit
                .map(|r| format!("{} requests / {} s", r.requests, r.per_seconds))
                .unwrap_or_else(|| "none declared".into());
            app.out.pairs(&[
                ("id", info.id.clone()),
                ("name", info.name.clone()),
                ("version", info.version.clone()),
                ("contract", format!("ferry:connector@{contract}")),
                ("sha256", sha256),
                ("origin", origin),
                ("rate limit", rate),
                ("allowed hosts", info.allowed_hosts.join(", ")),
            ]);
            app.out.blank();
            app.out.line(&info.description);
            app.out.blank();
            app.out.table(
                &["config key", "label", "required", "secret", "default", "help"],
                info.config
                    .iter()
                    .map(|f| {
                        vec![
                            f.key.clone(),
                            f.label.clone(),
                            yes(f.required),
                            yes(f.secret),
                            f.default_value.clone().unwrap_or_default(),
                            f.help.clone(),
                        ]
                    })
                    .collect(),
            );
            app.out.table(
                &["stream", "incremental", "description"],
                info.streams
                    .iter()
                    .map(|s| vec![s.kind.to_string(), yes(s.incremental), s.description.clone()])
                    .collect(),
            );
            // Contract 0.3: named by operators (`--stream NAME`, `skip
            // stream=NAME`); their records land in a layout of that name.
            if !info.extra_streams.is_empty() {
                app.out.table(
                    &["extra stream", "incremental", "default layout", "description"],
                    info.extra_streams
                        .iter()
                        .map(|s| {
                            vec![
                                s.name.clone(),
                                yes(s.incremental),
                                crate::rules::default_item_layout(&s.name),
                                s.description.clone(),
                            ]
                        })
                        .collect(),
                );
            }
            let problems = registry::info_problems(&info);
            if !problems.is_empty() {
                app.out.line(format!("problems: {}", problems.join("; ")));
            }
            Ok(exit::OK)
        }
        PluginCommand::Check { target, set, secret } => {
            let bytes = component_of(app, &target)?;
            let mut config = Vec::new();
            for a in &set {
                config.push(crate::integrations::parse_assignment(a)?);
            }
            let mut secret_keys = Vec::new();
            for a in &secret {
                let (k, v) = crate::integrations::parse_assignment(a)?;
                let value = crate::secrets::SecretSource::parse(&v)?.resolve(&k)?;
                secret_keys.push(k.clone());
                config.push((k, value));
            }
            let report = crate::conformance::run(&app.runtime, &bytes, &config, &secret_keys).await;
            let tally = crate::conformance::tally(&report);
            if app.out.json {
                app.out.json(&serde_json::json!({"passed": report.passed(), "report": report, "tally": tally}));
            } else {
                app.out.line(format!(
                    "conformance of {} ({})",
                    report.connector.clone().unwrap_or_else(|| target.clone()),
                    report
                        .contract
                        .as_deref()
                        .map(|c| format!("ferry:connector@{c}"))
                        .unwrap_or_else(|| "not loadable".into())
                ));
                for c in &report.checks {
                    let mark = match c.outcome {
                        crate::conformance::Outcome::Pass => "pass",
                        crate::conformance::Outcome::Warn => "WARN",
                        crate::conformance::Outcome::Fail => "FAIL",
                        crate::conformance::Outcome::Skip => "skip",
                    };
                    app.out.line(format!("  {mark}  {:<30} {}", c.name, c.detail));
                }
                app.out.line(format!(
                    "{} passed, {} failed, {} skipped, {} warnings",
                    tally.get("passed").unwrap_or(&0),
                    tally.get("failed").unwrap_or(&0),
                    tally.get("skipped").unwrap_or(&0),
                    tally.get("warnings").unwrap_or(&0)
                ));
            }
            Ok(if report.passed() { exit::OK } else { exit::FAILED })
        }
        PluginCommand::Export { id, file } => {
            let bytes = registry::component(&app.store, &id)?;
            std::fs::write(&file, &bytes).map_err(|e| {
                Failure::new(
                    format!("cannot write {}: {e}", file.display()),
                    Some("check that the directory exists and is writable".into()),
                )
            })?;
            if app.out.json {
                app.out.json(&serde_json::json!({"id": id, "file": file, "bytes": bytes.len()}));
            } else {
                app.out.line(format!("wrote {id} to {} ({} bytes)", file.display(), bytes.len()));
            }
            Ok(exit::OK)
        }
        PluginCommand::Remove { id } => {
            registry::remove(&mut app.store, &id)?;
            app.out.line(format!("removed {id}"));
            if app.out.json {
                app.out.json(&serde_json::json!({"removed": id}));
            }
            Ok(exit::OK)
        }
    }
}

/// The component a `plugin check` target names: a .wasm file, or else an
/// installed or bundled connector id.
fn component_of(app: &App, target: &str) -> Result<Vec<u8>, Failure> {
    let path = std::path::Path::new(target);
    if path.is_file() {
        return std::fs::read(path).map_err(|e| {
            Failure::new(format!("cannot read {target}: {e}"), Some("check the path to the .wasm file".into()))
        });
    }
    if target.ends_with(".wasm") || target.contains(std::path::MAIN_SEPARATOR) {
        return Err(Failure::new(
            format!("cannot read {target}: no such file"),
            Some("check the path to the .wasm file, or give an installed connector id (`ferry plugin list`)".into()),
        ));
    }
    Ok(registry::component(&app.store, target)?)
}

fn yes(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}
