//! `ferry schedule NAME ...` and `ferry daemon`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::args::{DaemonArgs, ScheduleAction, ScheduleArgs};
use crate::cli::{App, Failure, exit};
use crate::model::Mode;
use crate::schedule::ScheduleError;
use crate::schedule::daemon::{self, DaemonOptions};
use crate::settings;
use crate::sync::Quiet;

impl From<ScheduleError> for Failure {
    fn from(e: ScheduleError) -> Self {
        let hint = e.hint();
        Failure::new(e.to_string(), Some(hint))
    }
}

pub(super) fn schedule(app: &mut App, args: ScheduleArgs) -> Result<u8, Failure> {
    let integration = app.store.read().integration(&args.name)?;
    match args.action.unwrap_or(ScheduleAction::Show) {
        ScheduleAction::Show => {}
        ScheduleAction::Add { cron, tz, incremental } => {
            let mode = if incremental { Mode::Incremental } else { Mode::Full };
            let entry = settings::add_schedule(&mut app.store, &integration, &cron, &tz, mode)?;
            app.out.note(format!("added: {} {} ({})", entry.cron, entry.tz.name(), mode.as_str()));
        }
        ScheduleAction::Remove { n } => {
            let row = settings::remove_schedule(&mut app.store, &integration, n)?;
            app.out.note(format!("removed entry {n}: {} {} ({})", row.cron, row.tz, row.mode));
        }
        ScheduleAction::Preset { preset, tz } => {
            settings::preset_schedule(&mut app.store, &integration, preset, &tz)?;
            app.out.note(format!("schedule of {} set to the {preset} preset ({tz})", integration.name));
        }
    }
    // Always end by showing the schedule as it now stands.
    let views = settings::schedule_views(&app.store, &integration, 5)?;
    if app.out.json {
        app.out.json(&views);
    } else if views.is_empty() {
        app.out.line(format!("{} has no schedule: it syncs only when asked", integration.name));
    } else {
        app.out.table(
            &["#", "cron", "time zone", "mode", "next 5 runs", "last fired"],
            views
                .iter()
                .map(|v| {
                    vec![
                        v.position.to_string(),
                        v.cron.clone(),
                        v.tz.clone(),
                        v.mode.as_str().to_string(),
                        // Local time in the entry's zone, minutes: five fit one cell.
                        v.next
                            .iter()
                            .map(|t| t.get(..16).unwrap_or(t).replace('T', " "))
                            .collect::<Vec<_>>()
                            .join(", "),
                        v.last_fired_at.clone().unwrap_or_else(|| "never".into()),
                    ]
                })
                .collect(),
        );
    }
    Ok(exit::OK)
}

pub(super) async fn daemon(app: &mut App, args: DaemonArgs) -> Result<u8, Failure> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    tokio::spawn(async move {
        wait_for_stop().await;
        tracing::warn!("stop requested: finishing the page in flight");
        flag.store(true, Ordering::Relaxed);
    });
    if !args.once {
        app.out.note("ferry daemon: running schedules; Ctrl-C or SIGTERM stops after the current page");
    }
    let summary = daemon::run(&mut app.store, &app.runtime, &DaemonOptions { once: args.once }, cancel, &Quiet).await?;
    if app.out.json {
        app.out.json(&summary);
    } else {
        for f in &summary.fired {
            app.out.line(format!(
                "{} {} ({}, due {}): run #{} {}",
                f.integration,
                f.mode.as_str(),
                f.trigger,
                f.due_at,
                f.run_id.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
                f.status.map(|s| s.as_str().to_string()).or_else(|| f.error.clone()).unwrap_or_default()
            ));
        }
        if summary.fired.is_empty() && args.once {
            app.out.line("nothing due");
        }
    }
    Ok(exit::OK)
}

/// SIGINT or SIGTERM.
pub(super) async fn wait_for_stop() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
