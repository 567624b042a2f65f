//! Running a sync: fetch every stream page by page into the PSA mirror, then
//! apply the mirror to the documentation store.
//!
//! Guarantees kept here:
//! - one transaction per page, which also checkpoints the cursor, so a crash
//!   loses at most the page in flight and the next run resumes the listing;
//! - something counts as deleted only when a *complete, uninterrupted full*
//!   listing of its stream did not return it; failed, partial or
//!   incremental reads never mark anything deleted, and neither does a full
//!   listing stitched from interrupted runs (offset paging shifts under it
//!   when the PSA changes between its segments, so "not returned" proves
//!   nothing): it completes, says deletions wait, and the next full sync
//!   lists from scratch;
//! - a failed run (bad credentials, bad config, connector crash before any
//!   stream completed) never touches the documentation tables.

pub mod dedup;
mod fetch;
mod lock;
pub mod records;
mod stream;

#[cfg(test)]
mod apply_chunk_tests;
#[cfg(test)]
mod apply_during_sync_tests;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::Serialize;

use self::stream::{Bounds, Stop, StreamEnd};
use crate::apply::{self, ApplyReport};
use crate::integrations;
use crate::model::{ConnectorInfo, StreamId, StreamKind};
use crate::options::IntegrationOptions;
use crate::registry::{self, RegistryError};
use crate::runtime::http::HttpStats;
use crate::runtime::{LoadedConnector, Runtime, RuntimeError, Session};
use crate::secrets::SecretError;
use crate::store::{
    IntegrationRow, LockHolder, RunRow, RunStatus, RunStreamRow, Store, StoreError, StreamStatus, Trigger,
};
use crate::text::ERROR_BYTES;

pub use crate::model::Mode;

#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub integration: String,
    pub mode: Mode,
    /// Empty: every stream the connector offers.
    pub streams: Vec<StreamId>,
    /// Who asked.
    pub trigger: Trigger,
    /// Run even if the same sync succeeded moments ago.
    pub force: bool,
    /// Wait this long for another sync of the integration to finish.
    pub wait: Option<Duration>,
    /// Clear the integration's tickets first and refetch them.
    pub reset: bool,
    /// Set to stop after the page in flight (SIGINT/SIGTERM in the daemon).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl SyncRequest {
    pub fn new(integration: &str, mode: Mode, trigger: Trigger) -> Self {
        SyncRequest {
            integration: integration.to_string(),
            mode,
            streams: Vec::new(),
            trigger,
            force: false,
            wait: None,
            reset: false,
            cancel: None,
        }
    }

    /// What makes two requests "the same sync" for deduplication.
    fn scope(&self, streams: &[StreamId]) -> String {
        let names: Vec<String> = streams.iter().map(|s| s.to_string()).collect();
        format!("{}:{}", self.mode.as_str(), names.join(","))
    }
}

pub use dedup::dedup_window;

/// Progress callbacks (a terminal progress bar, or nothing).
pub trait Observer {
    fn stream_started(&self, _stream: &StreamId, _resumed: bool) {}
    /// `total` is the connector's count of the stream's records, when the
    /// PSA tells (contract 0.2.0 `page.total`).
    fn page(&self, _stream: &StreamId, _fetched: u64, _total: Option<u64>) {}
    fn stream_finished(&self, _row: &RunStreamRow) {}
    fn applying(&self) {}
}

/// An observer that shows nothing.
pub struct Quiet;
impl Observer for Quiet {}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub run_id: i64,
    pub integration: String,
    pub mode: Mode,
    pub status: RunStatus,
    pub error: Option<String>,
    pub hint: Option<String>,
    pub streams: Vec<RunStreamRow>,
    pub apply: Option<ApplyReport>,
    pub http: HttpStats,
    pub elapsed_ms: u64,
    /// When the same sync had just run: the run this report repeats.
    pub deduplicated_from: Option<i64>,
}

impl SyncReport {
    /// The report of a recorded run (for deduplicated requests).
    fn from_run(run: RunRow, mode: Mode) -> SyncReport {
        let http = serde_json::from_value(run.http.clone()).unwrap_or_default();
        // How long the repeated run took, not how long repeating it did.
        let at = |t: Option<&str>| t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        let elapsed_ms = match (at(Some(run.started_at.as_str())), at(run.finished_at.as_deref())) {
            (Some(from), Some(to)) => (to - from).num_milliseconds().max(0) as u64,
            _ => 0,
        };
        SyncReport {
            run_id: run.id,
            integration: run.integration,
            mode,
            status: run.status,
            hint: None,
            error: run.error,
            streams: run.stream_results,
            apply: None,
            http,
            elapsed_ms,
            deduplicated_from: Some(run.id),
        }
    }
}

/// Failures before a run exists (nothing recorded, nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("connector `{connector}` does not offer stream `{stream}` (it offers: {offered})")]
    UnknownStream { connector: String, stream: String, offered: String },
    #[error("{integration} is already syncing{}", busy_detail(holder.as_ref()))]
    Busy { integration: String, holder: Option<LockHolder> },
    #[error(transparent)]
    LockFile(#[from] crate::lock::LockFileError),
    /// The database failed under a run that had started (disk full, made
    /// read-only): the run is recorded failed with this cause when the
    /// database still takes that one write.
    #[error("run #{run_id} failed: {source}")]
    RunStore {
        run_id: i64,
        #[source]
        source: StoreError,
    },
    #[error("--reset clears tickets only; give it with --stream tickets")]
    ResetNeedsTickets,
}

impl SyncError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SyncError::Store(e) => e.hint(),
            SyncError::Registry(e) => e.hint(),
            SyncError::Secret(SecretError::EnvMissing { var, .. }) => {
                Some(format!("export {var}=... before running ferry"))
            }
            SyncError::Secret(e) => Some(e.hint()),
            SyncError::Runtime(e) => e.hint(),
            SyncError::UnknownStream { .. } => Some("leave out --stream or pick one the connector offers".into()),
            SyncError::Busy { .. } => Some("wait for it, or add --wait SECONDS to queue behind it".into()),
            SyncError::LockFile(_) => {
                Some("the folder holding the database must be writable for syncs (lock files live beside it)".into())
            }
            SyncError::RunStore { source, .. } => source.hint(),
            SyncError::ResetNeedsTickets => Some("ferry sync NAME --stream tickets --reset".into()),
        }
    }
}

fn busy_detail(holder: Option<&LockHolder>) -> String {
    match holder {
        Some(h) => format!(
            " (run #{}, process {}, since {})",
            h.run_id.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
            h.pid,
            h.acquired_at
        ),
        None => String::new(),
    }
}

pub async fn run(
    store: &mut Store,
    runtime: &Runtime,
    request: &SyncRequest,
    observer: &dyn Observer,
) -> Result<SyncReport, SyncError> {
    let integration = store.read().integration(&request.integration)?;
    let (connector, loaded) = registry::load(store, runtime, &integration.connector_id)?;
    let info = connector.info;
    let options = crate::options::IntegrationOptions::from_json(&integration.options);
    let streams = plan_streams(&info, &request.streams, &options)?;
    if request.reset && streams != [StreamId::Kind(StreamKind::Tickets)] {
        return Err(SyncError::ResetNeedsTickets);
    }
    let scope = request.scope(&streams);
    let fingerprint = dedup::fingerprint(&integration, &connector.sha256, &scope);
    if let Some(earlier) = dedup::earlier_run(&store.read(), &integration, request, &fingerprint)? {
        return Ok(SyncReport::from_run(earlier, request.mode));
    }
    // Held until this function returns; the kernel releases it if the
    // process dies first.
    let _lock = lock::acquire(store, &integration, request.wait).await?;
    // Removed while this sync waited for the lock (or was queued by the
    // daemon): it no longer exists for syncing.
    if store.read().integration_removed(integration.id)? {
        return Err(StoreError::NotFound { what: "integration", name: integration.name.clone() }.into());
    }
    store.transaction(|tx| tx.record_lock(integration.id, &scope))?;
    let plan = RunPlan {
        request,
        observer,
        integration: &integration,
        info: &info,
        loaded: &loaded,
        streams: &streams,
        fingerprint: &fingerprint,
    };
    let result = run_locked(store, runtime, &plan).await;
    // A row left behind (a full disk refusing even this) is harmless: it
    // only names a holder, the OS lock decides.
    if let Err(e) = store.transaction(|tx| tx.unlock(integration.id)) {
        tracing::warn!(integration = %integration.name, error = %e, "could not clear the lock record");
    }
    result
}

/// What a run is, once its integration is locked: who asked for what, of
/// which integration through which connector build.
struct RunPlan<'a> {
    request: &'a SyncRequest,
    observer: &'a dyn Observer,
    integration: &'a IntegrationRow,
    info: &'a ConnectorInfo,
    loaded: &'a LoadedConnector,
    /// In dependency order, then the extra streams as declared.
    streams: &'a [StreamId],
    fingerprint: &'a str,
}

/// A recorded run's identity and clock.
#[derive(Debug, Clone, Copy)]
struct Started {
    run_id: i64,
    at: Instant,
    /// `FERRY_RUN_MAX_SECONDS` after `at`.
    deadline: Instant,
}

async fn run_locked(store: &mut Store, runtime: &Runtime, plan: &RunPlan<'_>) -> Result<SyncReport, SyncError> {
    let (request, integration) = (plan.request, plan.integration);
    let started = Instant::now();
    let mut session_config = integrations::session_config(integration, plan.info)?;
    crate::connector_state::attach(store, integration.id, &mut session_config)?;
    crate::kept_window::attach(store, integration.id, &mut session_config)?;
    session_config.stop = request.cancel.clone();
    let session = runtime.session(plan.loaded, session_config)?;

    store.transaction(|tx| tx.reap_stale_runs(integration.id))?;
    let run_id = store.transaction(|tx| {
        let id = tx.start_run(integration.id, request.mode, plan.streams, request.trigger)?;
        tx.set_run_fingerprint(id, plan.fingerprint)?;
        tx.set_lock_run(integration.id, id)?;
        if request.reset {
            // Clear & resync: only this integration's tickets, then refetch.
            tx.clear_tickets(integration.id)?;
            tx.clear_mirror_stream(integration.id, StreamKind::Tickets.as_str())?;
            tx.reset_stream_state(integration.id, StreamKind::Tickets.as_str())?;
        }
        Ok(id)
    })?;
    let deadline = started + runtime.limits().run_max;
    let started = Started { run_id, at: started, deadline };
    let result = run_started(store, runtime, plan, &session, started).await;
    match result {
        // The database failed under the run: record the real cause on the
        // run when the database still takes that one small write.
        Err(SyncError::Store(source)) => {
            let cause = source.to_string();
            if let Err(e) = store.transaction(|tx| tx.fail_run(run_id, &cause)) {
                tracing::warn!(run = run_id, error = %e, "could not record the run's failure");
            }
            Err(SyncError::RunStore { run_id, source })
        }
        other => other,
    }
}

/// A run from its first stream to its record: fetch, apply, finish.
async fn run_started(
    store: &mut Store,
    runtime: &Runtime,
    plan: &RunPlan<'_>,
    session: &Session<'_>,
    started: Started,
) -> Result<SyncReport, SyncError> {
    let (request, observer, integration, run_id) = (plan.request, plan.observer, plan.integration, started.run_id);
    // Every error text of this run passes the redaction gate (secrets
    // masked, then capped) before it is stored or printed.
    let redactor = session.redactor().clone();
    let gate = |text: &str| redactor.gate(text, ERROR_BYTES);
    let limits = runtime.limits();
    let bounds = Bounds {
        integration: &integration.name,
        cancel: request.cancel.as_ref(),
        deadline: started.deadline,
        stream_pages: limits.stream_pages,
        run_records: limits.run_records,
    };
    let mut rows: Vec<Option<RunStreamRow>> = vec![None; plan.streams.len()];
    let mut fatal: Option<(String, String)> = None;
    let mut interrupted: Option<Stop> = None;
    let concurrency = IntegrationOptions::from_json(&integration.options).concurrency();
    let fetch = fetch::Fetch::new(store, session, plan, run_id, &bounds);
    fetch
        .run(concurrency, |store, ended| {
            let mut row = ended.row;
            match ended.end {
                None => {
                    row.status = StreamStatus::Skipped;
                    store.transaction(|tx| tx.put_run_stream(run_id, &row))?;
                    rows[ended.index] = Some(row);
                    return Ok(());
                }
                Some(StreamEnd::Complete) => row.status = StreamStatus::Complete,
                Some(StreamEnd::Failed { message }) => {
                    row.status = StreamStatus::Failed;
                    row.error = Some(gate(&message));
                }
                Some(StreamEnd::Fatal { message, hint }) => {
                    let message = gate(&message);
                    row.status = StreamStatus::Failed;
                    row.error = Some(message.clone());
                    // Streams read at once may all hit it: the first tells.
                    fatal.get_or_insert((message, hint));
                }
                Some(StreamEnd::Interrupted(why)) => {
                    row.status = StreamStatus::Interrupted;
                    // Halted by another stream's fatal error: the run failed.
                    if why != Stop::RunFailed {
                        interrupted = Some(why);
                    }
                }
            }
            store.transaction(|tx| tx.put_run_stream(run_id, &row))?;
            observer.stream_finished(&row);
            rows[ended.index] = Some(row);
            Ok(())
        })
        .await?;
    let mut rows: Vec<RunStreamRow> = rows.into_iter().flatten().collect();

    let completed = rows.iter().filter(|r| r.status == StreamStatus::Complete).count();
    let failed = rows.iter().filter(|r| r.status == StreamStatus::Failed).count();
    let invalid: u64 = rows.iter().map(|r| r.invalid).sum();
    let status = if interrupted.is_some() {
        RunStatus::Interrupted
    } else if fatal.is_some() || completed == 0 && failed > 0 {
        RunStatus::Failed
    } else if failed > 0 || invalid > 0 {
        RunStatus::Partial
    } else {
        RunStatus::Succeeded
    };

    // Apply what arrived, unless the run failed outright or was stopped
    // (the next run resumes and applies).
    let mut apply_report = None;
    if !matches!(status, RunStatus::Failed | RunStatus::Interrupted) {
        observer.applying();
        let report = apply::apply_changes(store, integration.id)?;
        for row in &mut rows {
            if let Some(c) = report.stream(&row.stream) {
                row.archived = c.archived;
                row.skipped = c.skipped;
                store.transaction(|tx| tx.put_run_stream(run_id, row))?;
            }
        }
        apply_report = Some(report);
    }

    let (error, hint) = match (&fatal, status) {
        (Some((m, h)), _) => (Some(m.clone()), Some(h.clone())),
        (None, RunStatus::Interrupted) if interrupted == Some(Stop::RunLimit) => (
            Some(format!(
                "stopped after {} s, the longest a run may take (FERRY_RUN_MAX_SECONDS); the next sync resumes where \
                 this one stopped",
                limits.run_max.as_secs()
            )),
            Some(
                "run the sync again to go on; if the PSA is that slow or that large, raise FERRY_RUN_MAX_SECONDS"
                    .into(),
            ),
        ),
        (None, RunStatus::Interrupted) => (
            Some("stopped on request; the next sync resumes where this one stopped".into()),
            Some("run the sync again".into()),
        ),
        (None, RunStatus::Failed | RunStatus::Partial) => {
            let mut failed = stream_failures(
                rows.iter()
                    .filter(|r| r.status == StreamStatus::Failed)
                    .map(|r| (r.stream.to_string(), r.error.clone().unwrap_or_default())),
            );
            if invalid > 0 {
                failed.push(skipped_summary(&rows, invalid));
            }
            let mut hint = if status == RunStatus::Partial && failed.len() > usize::from(invalid > 0) {
                "the other streams were synced; fix the cause and run the sync again".to_string()
            } else if status == RunStatus::Partial {
                "everything else was synced".to_string()
            } else {
                "no stream completed; fix the cause and run the sync again (each stream resumes from its checkpoint)"
                    .to_string()
            };
            if invalid > 0 {
                hint.push_str(&format!(
                    "; `ferry runs show {run_id}` lists the skipped records with the reason (fix them in the PSA, or \
                     report it to the connector's author)"
                ));
            }
            (Some(gate(&failed.join("; "))), Some(hint))
        }
        _ => (None, None),
    };
    let http = session.http_stats();
    let http_json = serde_json::to_value(&http).unwrap_or(serde_json::Value::Null);
    let requests = run_requests(session);
    store.transaction(|tx| {
        tx.put_run_requests(run_id, &requests)?;
        tx.finish_run(run_id, status, error.as_deref(), &http_json)
    })?;
    Ok(SyncReport {
        run_id,
        integration: integration.name.clone(),
        mode: request.mode,
        status,
        error,
        hint,
        streams: rows,
        apply: apply_report,
        http,
        elapsed_ms: started.at.elapsed().as_millis() as u64,
        deduplicated_from: None,
    })
}

/// The session's request log in the store's terms.
fn run_requests(session: &Session<'_>) -> Vec<crate::store::RunRequest> {
    session
        .request_log()
        .into_iter()
        .map(|r| crate::store::RunRequest {
            method: r.method,
            url: r.url,
            status: r.status,
            error: r.error,
            millis: r.millis,
            bytes: r.bytes,
        })
        .collect()
}

/// The streams to read: the kinds in dependency order, then the extra
/// streams in the order the connector declares them. An extra stream the
/// operator skips is not read (its records would be kept out anyway, and
/// reading costs the PSA's request budget) unless asked for by name.
fn plan_streams(
    info: &ConnectorInfo,
    wanted: &[StreamId],
    options: &crate::options::IntegrationOptions,
) -> Result<Vec<StreamId>, SyncError> {
    let offered = info.all_streams();
    for w in wanted {
        if !offered.contains(w) {
            return Err(SyncError::UnknownStream {
                connector: info.id.clone(),
                stream: w.to_string(),
                offered: offered.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            });
        }
    }
    Ok(offered
        .into_iter()
        .filter(|s| match wanted.is_empty() {
            true => crate::rules::skip_stream(options, s).is_none(),
            false => wanted.contains(s),
        })
        .collect())
}

/// Failed streams as `stream: error`, streams that failed with the same
/// error named together before it once (a PSA's long `Retry-After` ends
/// every stream with the same words).
fn stream_failures(failed: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut grouped: Vec<(Vec<String>, String)> = Vec::new();
    for (stream, error) in failed {
        match grouped.iter_mut().find(|(_, e)| *e == error) {
            Some((streams, _)) => streams.push(stream),
            None => grouped.push((vec![stream], error)),
        }
    }
    grouped.into_iter().map(|(streams, error)| format!("{}: {error}", streams.join(", "))).collect()
}

/// "N records skipped as invalid (stream: n, ...)".
fn skipped_summary(rows: &[RunStreamRow], invalid: u64) -> String {
    let per: Vec<String> =
        rows.iter().filter(|r| r.invalid > 0).map(|r| format!("{}: {}", r.stream, r.invalid)).collect();
    let noun = if invalid == 1 { "record" } else { "records" };
    format!("{invalid} {noun} skipped as invalid ({})", per.join(", "))
}

#[cfg(test)]
mod stream_failure_tests {
    #[test]
    fn streams_failing_alike_are_reported_once() {
        let failed =
            [("companies", "429 (retry after 297 s)"), ("contacts", "boom"), ("assets", "429 (retry after 297 s)")]
                .map(|(s, e)| (s.to_string(), e.to_string()));
        assert_eq!(
            super::stream_failures(failed.into_iter()),
            ["companies, assets: 429 (retry after 297 s)", "contacts: boom"]
        );
    }
}
