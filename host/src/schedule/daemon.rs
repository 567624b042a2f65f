//! `ferry daemon`: runs every integration's schedules.
//!
//! Each pass re-reads the schedules from the database (so changes apply
//! without a restart), runs what is due — a fire time missed while the
//! daemon was down runs once, not once per missed slot — records every run
//! (failures included) and carries on. Integrations sync concurrently, up to
//! `FERRY_DAEMON_CONCURRENCY` at once and one run per integration, each on
//! its own database connection, so a slow or stuck connector delays nobody
//! else (and each run ends at `FERRY_RUN_MAX_SECONDS`). A stop request ends
//! every sync in flight after its current page, checkpointed, so the next
//! run resumes.
//!
//! Each of those syncs reads up to its integration's `concurrency` streams
//! at once (`sync::fetch`), all polled by this one task, so the two bounds
//! multiply: at most `FERRY_DAEMON_CONCURRENCY` × `concurrency` connector
//! calls are in flight (4 × 4 = 16 by default), each instance within
//! `FERRY_MEMORY_MB`. What a PSA sees stays bounded by the integration's own
//! rate limiter, which its streams share; the integrations of one PSA
//! account are paced separately, as before.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use futures_util::stream::FuturesUnordered;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Entry, now};
use crate::runtime::Runtime;
use crate::store::{RunStatus, ScheduleRow, Store, StoreError, Trigger};
use crate::sync::{self, Mode, Observer, SyncRequest};

/// Longest sleep between passes, so edited schedules are picked up soon.
const MAX_SLEEP: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Run what is due now (and what was missed) once, then exit.
    pub once: bool,
}

/// What one due schedule entry did.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub integration: String,
    pub schedule_id: i64,
    pub mode: Mode,
    pub trigger: Trigger,
    pub due_at: String,
    pub run_id: Option<i64>,
    pub status: Option<RunStatus>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DaemonSummary {
    pub fired: Vec<Fired>,
    pub invalid_schedules: Vec<String>,
}

/// When each entry is due: its latest fire time since it last fired (or
/// since it was created), up to `now`.
fn due(
    rows: &[ScheduleRow],
    at: DateTime<Utc>,
    summary: &mut DaemonSummary,
) -> Vec<(ScheduleRow, Entry, DateTime<Utc>)> {
    let mut out = Vec::new();
    for row in rows {
        let entry = match Entry::parse(&row.cron, &row.tz, row.mode) {
            Ok(e) => e,
            Err(e) => {
                let text = format!("schedule {} of {}: {e}", row.id, row.integration);
                if !summary.invalid_schedules.contains(&text) {
                    tracing::warn!("{text}");
                    summary.invalid_schedules.push(text);
                }
                continue;
            }
        };
        let since = row
            .last_fired_at
            .as_deref()
            .or(Some(row.created_at.as_str()))
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(at);
        if let Some(t) = entry.missed(since, at) {
            out.push((row.clone(), entry, t));
        }
    }
    out
}

/// One run per integration per pass: a full sync covers an incremental one
/// due at the same time.
fn one_per_integration(mut due: Vec<(ScheduleRow, Entry, DateTime<Utc>)>) -> Vec<(ScheduleRow, Entry, DateTime<Utc>)> {
    due.sort_by_key(|(r, e, _)| (r.integration_id, e.mode != Mode::Full));
    due.dedup_by_key(|(r, _, _)| r.integration_id);
    due
}

/// One sync the daemon started: its integration, the schedule entries it
/// answers (marked fired when it ends), and its report.
struct Finished {
    integration_id: i64,
    entries: Vec<(i64, String)>,
    fired: Fired,
}

pub async fn run(
    store: &mut Store,
    runtime: &Runtime,
    options: &DaemonOptions,
    cancel: Arc<AtomicBool>,
    observer: &dyn Observer,
) -> Result<DaemonSummary, StoreError> {
    let mut summary = DaemonSummary::default();
    let started = now();
    let concurrency = runtime.limits().daemon_concurrency.max(1);
    let db = store.path().to_path_buf();
    // Syncs in flight, each on its own database connection, polled
    // together: one slow or stuck connector holds its own slot only.
    let mut running: FuturesUnordered<LocalBoxFuture<'_, Finished>> = FuturesUnordered::new();
    let mut busy: HashSet<i64> = HashSet::new();
    loop {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let at = now();
        let rows = store.read().schedules(None)?;
        // An integration already syncing is not started again; its entries
        // stay due and are looked at when that run ends.
        let all_due: Vec<_> =
            due(&rows, at, &mut summary).into_iter().filter(|(r, _, _)| !busy.contains(&r.integration_id)).collect();
        let mut left_waiting = false;
        for (row, entry, due_at) in one_per_integration(all_due.clone()) {
            if running.len() >= concurrency {
                left_waiting = true;
                break;
            }
            // Every entry of this integration that fired is marked when the
            // run ends, including those folded into this run.
            let entries: Vec<(i64, String)> = all_due
                .iter()
                .filter(|(r, _, _)| r.integration_id == row.integration_id)
                .map(|(r, _, t)| (r.id, t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
                .collect();
            // A fire time from before the daemon started was missed while it
            // was down.
            let trigger = if due_at < started { Trigger::DaemonStart } else { Trigger::Schedule };
            let mut request = SyncRequest::new(&row.integration, entry.mode, trigger);
            request.cancel = Some(cancel.clone());
            // The schedule decides; a manual sync moments ago is no reason to skip.
            request.force = true;
            tracing::info!(integration = %row.integration, mode = entry.mode.as_str(), %trigger, "scheduled sync");
            let fired = Fired {
                integration: row.integration.clone(),
                schedule_id: row.id,
                mode: entry.mode,
                trigger,
                due_at: due_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                run_id: None,
                status: None,
                error: None,
            };
            busy.insert(row.integration_id);
            running.push(Box::pin(run_one(db.clone(), runtime, request, observer, row.integration_id, entries, fired)));
        }
        if options.once && running.is_empty() && !left_waiting {
            break;
        }
        let sleep = if options.once { MAX_SLEEP } else { next_wake(store, now())?.unwrap_or(MAX_SLEEP).min(MAX_SLEEP) };
        let stop = cancel.clone();
        tokio::select! {
            Some(done) = running.next(), if !running.is_empty() => finish(store, &cancel, &mut busy, &mut summary, done)?,
            _ = tokio::time::sleep(sleep), if !options.once => {}
            _ = wait_for(stop) => {}
        }
    }
    // Stopping: every sync in flight ends after its page in flight.
    while let Some(done) = running.next().await {
        finish(store, &cancel, &mut busy, &mut summary, done)?;
    }
    Ok(summary)
}

/// One scheduled sync on its own connection to the database.
async fn run_one(
    db: std::path::PathBuf,
    runtime: &Runtime,
    request: SyncRequest,
    observer: &dyn Observer,
    integration_id: i64,
    entries: Vec<(i64, String)>,
    mut fired: Fired,
) -> Finished {
    let integration = request.integration.clone();
    let result = match Store::open(&db) {
        Ok(mut store) => sync::run(&mut store, runtime, &request, observer).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(report) => {
            fired.run_id = Some(report.run_id);
            fired.status = Some(report.status);
            fired.error = report.error.clone();
            if report.status != RunStatus::Succeeded {
                tracing::warn!(integration = %integration, status = report.status.as_str(), error = ?report.error, "scheduled sync did not succeed");
            }
        }
        // A connector or config failure must not stop the daemon.
        Err(e) => {
            tracing::error!(integration = %integration, error = %e, "scheduled sync could not start");
            fired.error = Some(e);
        }
    }
    Finished { integration_id, entries, fired }
}

/// Record a finished sync; its entries are marked fired unless the daemon
/// is stopping (then they fire again at the next start).
fn finish(
    store: &mut Store,
    cancel: &AtomicBool,
    busy: &mut HashSet<i64>,
    summary: &mut DaemonSummary,
    done: Finished,
) -> Result<(), StoreError> {
    busy.remove(&done.integration_id);
    if !cancel.load(Ordering::Relaxed) {
        store.transaction(|tx| {
            for (id, t) in &done.entries {
                tx.mark_schedule_fired(*id, t)?;
            }
            Ok(())
        })?;
    }
    summary.fired.push(done.fired);
    Ok(())
}

/// Time until the earliest next fire time.
fn next_wake(store: &Store, at: DateTime<Utc>) -> Result<Option<Duration>, StoreError> {
    let rows = store.read().schedules(None)?;
    let next = rows.iter().filter_map(|r| Entry::parse(&r.cron, &r.tz, r.mode).ok()?.next_after(at)).min();
    Ok(next.map(|t| (t - at).to_std().unwrap_or_default() + Duration::from_millis(200)))
}

async fn wait_for(flag: Arc<AtomicBool>) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, integration_id: i64, cron: &str, mode: Mode, last: Option<&str>) -> ScheduleRow {
        ScheduleRow {
            id,
            integration_id,
            integration: format!("i{integration_id}"),
            cron: cron.into(),
            tz: "UTC".into(),
            mode,
            last_fired_at: last.map(str::to_string),
            created_at: "2026-11-22T00:00:00Z".into(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_entries_once_and_full_wins() {
        let rows = vec![
            row(1, 1, "0 * * * *", Mode::Full, Some("2026-11-22T01:00:00Z")),
            row(2, 1, "30 * * * *", Mode::Incremental, Some("2026-11-22T01:30:00Z")),
            row(3, 2, "0 0 1 1 *", Mode::Full, Some("2026-11-22T01:00:00Z")),
            row(4, 3, "not cron", Mode::Full, None),
        ];
        let mut summary = DaemonSummary::default();
        let all = due(&rows, at("2026-11-22T05:40:00Z"), &mut summary);
        assert_eq!(all.len(), 2, "both entries of integration 1; 2 not due; 3 invalid");
        let due = one_per_integration(all);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0.id, 1);
        assert_eq!(due[0].2, at("2026-11-22T05:00:00Z"), "the latest missed slot only");
        assert_eq!(summary.invalid_schedules.len(), 1);
    }
}
