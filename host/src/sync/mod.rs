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
pub mod lock;
pub mod records;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::apply::{self, ApplyReport};
use crate::integrations;
use crate::model::{ConnectorError, ConnectorInfo, StreamKind};
use crate::registry::{self, RegistryError};
use crate::runtime::http::HttpStats;
use crate::runtime::{Runtime, RuntimeError, Session};
use crate::secrets::SecretError;
use crate::store::{
    IntegrationRow, LockHolder, RunRow, RunStatus, RunStreamRow, SkippedRecord, Store, StoreError, StreamState, now,
};
use crate::text::ERROR_BYTES;

/// Incremental reads ask for a little more than strictly changed since the
/// last run, so clock skew between Ferry and the PSA loses nothing.
const WATERMARK_OVERLAP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Full,
    Incremental,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub integration: String,
    pub mode: Mode,
    /// Empty: every stream the connector offers.
    pub streams: Vec<StreamKind>,
    /// Who asked: manual, schedule, daemon-start, demo.
    pub trigger: String,
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
    pub fn new(integration: &str, mode: Mode, trigger: &str) -> Self {
        SyncRequest {
            integration: integration.to_string(),
            mode,
            streams: Vec::new(),
            trigger: trigger.to_string(),
            force: false,
            wait: None,
            reset: false,
            cancel: None,
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// What makes two requests "the same sync" for deduplication.
    fn scope(&self, streams: &[StreamKind]) -> String {
        let names: Vec<&str> = streams.iter().map(|s| s.as_str()).collect();
        format!("{}:{}", self.mode.as_str(), names.join(","))
    }
}

pub use dedup::dedup_window;

/// Progress callbacks (a terminal progress bar, or nothing).
pub trait Observer {
    fn stream_started(&self, _stream: StreamKind, _resumed: bool) {}
    /// `total` is the connector's count of the stream's records, when the
    /// PSA tells (contract 0.2.0 `page.total`).
    fn page(&self, _stream: StreamKind, _fetched: u64, _total: Option<u64>) {}
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
            elapsed_ms: 0,
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
    LockFile(#[from] lock::LockFileError),
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
            SyncError::Runtime(e) => Some(e.hint()),
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

/// What happened to one stream.
enum StreamEnd {
    /// The listing reached its end.
    Complete,
    /// This stream failed; others may go on.
    Failed { message: String },
    /// The whole run must stop (credentials, config, unreachable PSA).
    Fatal { message: String, hint: String },
    /// Stopped on request or at the run's time limit, after the page in
    /// flight; the checkpoint stays.
    Interrupted(Stop),
}

/// Why a stream stopped before its end, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGINT/SIGTERM (the daemon) or another caller's cancel flag.
    Requested,
    /// The run reached `FERRY_RUN_MAX_SECONDS`.
    RunLimit,
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
    let streams = plan_streams(&info, &request.streams)?;
    if request.reset && streams != [StreamKind::Tickets] {
        return Err(SyncError::ResetNeedsTickets);
    }
    let scope = request.scope(&streams);
    let fingerprint = dedup::fingerprint(&integration, &connector.sha256, &scope);
    if let Some(earlier) = dedup::earlier_run(&store.read(), &integration, request, &fingerprint)? {
        return Ok(SyncReport::from_run(earlier, request.mode));
    }
    // Held until this function returns; the kernel releases it if the
    // process dies first.
    let _lock = lock(store, &integration, request.wait).await?;
    // Removed while this sync waited for the lock (or was queued by the
    // daemon): it no longer exists for syncing.
    if store.read().integration_removed(integration.id)? {
        return Err(StoreError::NotFound { what: "integration", name: integration.name.clone() }.into());
    }
    store.transaction(|tx| tx.record_lock(integration.id, &scope))?;
    let result =
        run_locked(store, runtime, request, observer, &integration, &info, &loaded, &streams, &fingerprint).await;
    // A row left behind (a full disk refusing even this) is harmless: it
    // only names a holder, the OS lock decides.
    if let Err(e) = store.transaction(|tx| tx.unlock(integration.id)) {
        tracing::warn!(integration = %integration.name, error = %e, "could not clear the lock record");
    }
    result
}

/// Take the integration's OS lock, waiting up to `wait` for its holder.
async fn lock(
    store: &Store,
    integration: &IntegrationRow,
    wait: Option<Duration>,
) -> Result<lock::IntegrationLock, SyncError> {
    let deadline = Instant::now() + wait.unwrap_or_default();
    loop {
        if let Some(held) = lock::try_acquire(store.path(), integration.id)? {
            return Ok(held);
        }
        if Instant::now() >= deadline {
            let holder = store.read().lock_holder(integration.id)?;
            return Err(SyncError::Busy { integration: integration.name.clone(), holder });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_locked(
    store: &mut Store,
    runtime: &Runtime,
    request: &SyncRequest,
    observer: &dyn Observer,
    integration: &IntegrationRow,
    info: &ConnectorInfo,
    loaded: &crate::runtime::LoadedConnector,
    streams: &[StreamKind],
    fingerprint: &str,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let session_config = integrations::session_config(integration, info)?;
    let mut session = runtime.session(loaded, session_config)?;

    store.transaction(|tx| tx.reap_stale_runs(integration.id))?;
    let stream_names: Vec<String> = streams.iter().map(|s| s.to_string()).collect();
    let run_id = store.transaction(|tx| {
        let id = tx.start_run(integration.id, request.mode.as_str(), &stream_names, &request.trigger)?;
        tx.set_run_fingerprint(id, fingerprint)?;
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
    let result = run_started(
        store,
        runtime,
        request,
        observer,
        integration,
        info,
        streams,
        &mut session,
        run_id,
        started,
        deadline,
    )
    .await;
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
#[allow(clippy::too_many_arguments)]
async fn run_started(
    store: &mut Store,
    runtime: &Runtime,
    request: &SyncRequest,
    observer: &dyn Observer,
    integration: &IntegrationRow,
    info: &ConnectorInfo,
    streams: &[StreamKind],
    session: &mut Session<'_>,
    run_id: i64,
    started: Instant,
    deadline: Instant,
) -> Result<SyncReport, SyncError> {
    // Every error text of this run passes the redaction gate (secrets
    // masked, then capped) before it is stored or printed.
    let redactor = session.redactor().clone();
    let gate = |text: &str| redactor.gate(text, ERROR_BYTES);
    let mut rows: Vec<RunStreamRow> = Vec::new();
    let mut fatal: Option<(String, String)> = None;
    let mut run_records: u64 = 0;
    let mut interrupted: Option<Stop> = None;
    for stream in streams {
        let mut row = RunStreamRow::new(stream.as_str());
        if fatal.is_some() || interrupted.is_some() {
            row.status = "skipped".into();
            store.transaction(|tx| tx.put_run_stream(run_id, &row))?;
            rows.push(row);
            continue;
        }
        let end = fetch_stream(
            store,
            runtime,
            session,
            integration,
            info,
            *stream,
            request,
            deadline,
            run_id,
            &mut row,
            &mut run_records,
            observer,
        )
        .await?;
        match end {
            StreamEnd::Complete => row.status = "complete".into(),
            StreamEnd::Failed { message } => {
                row.status = "failed".into();
                row.error = Some(gate(&message));
            }
            StreamEnd::Fatal { message, hint } => {
                let message = gate(&message);
                row.status = "failed".into();
                row.error = Some(message.clone());
                fatal = Some((message, hint));
            }
            StreamEnd::Interrupted(why) => {
                row.status = "interrupted".into();
                interrupted = Some(why);
            }
        }
        store.transaction(|tx| tx.put_run_stream(run_id, &row))?;
        observer.stream_finished(&row);
        rows.push(row);
    }

    let completed = rows.iter().filter(|r| r.status == "complete").count();
    let failed = rows.iter().filter(|r| r.status == "failed").count();
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
            if let Some(kind) = StreamKind::parse(&row.stream)
                && let Some(c) = report.stream(kind)
            {
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
                runtime.limits().run_max.as_secs()
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
            let mut failed: Vec<String> = rows
                .iter()
                .filter(|r| r.status == "failed")
                .map(|r| format!("{}: {}", r.stream, r.error.clone().unwrap_or_default()))
                .collect();
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
        elapsed_ms: started.elapsed().as_millis() as u64,
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

/// The streams to read, in dependency order.
fn plan_streams(info: &ConnectorInfo, wanted: &[StreamKind]) -> Result<Vec<StreamKind>, SyncError> {
    for w in wanted {
        if info.stream(*w).is_none() {
            return Err(SyncError::UnknownStream {
                connector: info.id.clone(),
                stream: w.to_string(),
                offered: info.streams.iter().map(|s| s.kind.to_string()).collect::<Vec<_>>().join(", "),
            });
        }
    }
    Ok(StreamKind::ALL
        .into_iter()
        .filter(|k| info.stream(*k).is_some())
        .filter(|k| wanted.is_empty() || wanted.contains(k))
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn fetch_stream(
    store: &mut Store,
    runtime: &Runtime,
    session: &mut Session<'_>,
    integration: &IntegrationRow,
    info: &ConnectorInfo,
    stream: StreamKind,
    request: &SyncRequest,
    deadline: Instant,
    run_id: i64,
    row: &mut RunStreamRow,
    run_records: &mut u64,
    observer: &dyn Observer,
) -> Result<StreamEnd, SyncError> {
    let name = stream.as_str();
    let mut state = store.read().stream_state(integration.id, name)?;
    let connector_sha = store.read().connector(&integration.connector_id)?.map(|c| c.sha256).unwrap_or_default();
    let connector_sha = connector_sha.as_str();
    let incremental_capable = info.stream(stream).is_some_and(|s| s.incremental);

    // Decide what this read is: resume a full listing, start a new one, or
    // read incrementally (which never proves a deletion).
    let (listing, since, resumed) = match request.mode {
        Mode::Incremental => {
            let since = state.watermark.as_deref().filter(|_| incremental_capable).map(overlap);
            (None, since, false)
        }
        // A checkpoint written by another build of the connector (upgraded
        // or reinstalled since) is not resumed: its cursor may mean
        // something else to this build, or be refused for ever.
        Mode::Full => match (state.listing, state.listing_mode.as_deref()) {
            (Some(listing), Some("full"))
                if state.cursor.is_some() && state.cursor_connector.as_deref() == Some(connector_sha) =>
            {
                (Some(listing), None, true)
            }
            _ => (Some(run_id), None, false),
        },
    };
    let mut cursor = if resumed { state.cursor.clone() } else { None };
    if !resumed {
        state.listing = listing;
        state.listing_mode = Some(if listing.is_some() { "full" } else { "incremental" }.into());
        state.listing_since = since.clone();
        state.listing_started_at = Some(now());
        state.cursor = None;
        store.transaction(|tx| tx.put_stream_state(integration.id, name, &state))?;
    }
    observer.stream_started(stream, resumed);

    let limits = runtime.limits();
    let mut seen_cursors: HashSet<String> = HashSet::new();
    // The next page, when it was read while the previous one was written.
    let mut prefetched: Option<ReadResult> = None;
    loop {
        let read = match prefetched.take() {
            Some(read) => read,
            None => {
                if request.cancelled() {
                    return Ok(StreamEnd::Interrupted(Stop::Requested));
                }
                if Instant::now() >= deadline {
                    return Ok(StreamEnd::Interrupted(Stop::RunLimit));
                }
                if row.pages >= limits.stream_pages {
                    return Ok(StreamEnd::Failed {
                        message: format!(
                            "the connector kept paging: {} pages without reaching the end (limit FERRY_STREAM_MAX_PAGES)",
                            row.pages
                        ),
                    });
                }
                session.read(stream, cursor.clone(), since.clone()).await
            }
        };
        let page = match read {
            Err(e) => {
                // A crash or limit breach fails this stream; the next stream
                // gets a fresh instance.
                return Ok(StreamEnd::Failed { message: e.to_string() });
            }
            Ok(Err(e)) => return Ok(classify(e)),
            Ok(Ok(page)) => page,
        };
        let mut page = page;
        for record in &mut page.records {
            row.truncated += records::bound(record, session.redactor());
        }
        // One invalid record costs that record only: it is kept aside with
        // its reason and the rest of the page syncs. A page mostly invalid
        // means a broken connector or PSA, and fails the stream.
        let mut writes = Vec::with_capacity(page.records.len());
        let mut skipped: Vec<SkippedRecord> = Vec::new();
        let mut first_invalid = None;
        for (i, record) in page.records.iter().enumerate() {
            match records::validate(i, record).and_then(|_| records::to_mirror(i, record)) {
                Ok(w) => writes.push(w),
                Err(e) => {
                    skipped.push(skipped_record(name, record, &e, session.redactor()));
                    first_invalid.get_or_insert(e);
                }
            }
        }
        if records::mostly_invalid(skipped.len(), page.records.len())
            && let Some(e) = first_invalid
        {
            return Ok(StreamEnd::Failed {
                message: session.redactor().redact(&format!(
                    "the connector returned an invalid page: {} of {} records are invalid, the first: {e}",
                    skipped.len(),
                    page.records.len()
                )),
            });
        }
        // Skipped records still exist in the PSA: they must not count as
        // deleted when this listing ends (ids that are themselves the fault
        // name nothing stored).
        let still_there: Vec<String> =
            skipped.iter().filter(|r| r.field.as_deref() != Some("id")).map(|r| r.external_id.clone()).collect();
        if let Err(e) = records::unique_ids(stream, &page.records) {
            return Ok(StreamEnd::Failed { message: format!("the connector returned an invalid page: {e}") });
        }
        *run_records += writes.len() as u64;
        if *run_records > limits.run_records {
            return Ok(StreamEnd::Fatal {
                message: format!("the run fetched more than {} records (limit FERRY_RUN_MAX_RECORDS)", limits.run_records),
                hint: "raise FERRY_RUN_MAX_RECORDS if the PSA really holds that much, else report it to the connector's author".into(),
            });
        }
        if let Some(next) = &page.next
            && (Some(next) == cursor.as_ref() || !seen_cursors.insert(next.clone()))
        {
            {
                return Ok(StreamEnd::Failed {
                    message: format!(
                        "the connector repeated a cursor (`{}`): paging would never end",
                        short(&session.redactor().redact(next))
                    ),
                });
            }
        }
        // A cursor is stored as the checkpoint, unmasked (the connector needs
        // it back exactly): one carrying a secret is refused.
        if let Some(next) = &page.next
            && session.redactor().redact(next) != *next
        {
            return Ok(StreamEnd::Failed {
                message: "the connector put a secret into its cursor; Ferry stores cursors as checkpoints, so it \
                          stopped this stream (report it to the connector's author)"
                    .into(),
            });
        }
        let done = page.next.is_none();
        // A listing that began in an earlier run was stitched from segments.
        let stitched = listing.is_some_and(|l| l != run_id);
        state.cursor = page.next.clone();
        state.cursor_connector = Some(connector_sha.to_string());
        row.pages += 1;
        row.fetched += writes.len() as u64;
        let write = |store: &mut Store, row: &RunStreamRow, state: &StreamState| {
            store.transaction(|tx| {
                let outcome = tx.write_page(integration.id, name, run_id, listing, &writes)?;
                if !skipped.is_empty() {
                    tx.put_skipped_records(run_id, integration.id, &skipped)?;
                    tx.keep_seen(integration.id, name, run_id, listing, &still_there)?;
                }
                let mut updated_row = row.clone();
                updated_row.invalid += skipped.len() as u64;
                updated_row.created += outcome.created;
                updated_row.updated += outcome.updated;
                updated_row.unchanged += outcome.unchanged;
                if done {
                    match listing {
                        Some(started) if stitched => updated_row.note = Some(deletions_deferred(started)),
                        Some(listing) => {
                            updated_row.deleted = tx.mark_unseen_deleted(integration.id, name, listing, run_id)?;
                        }
                        None => {}
                    }
                    let mut finished = state.clone();
                    finished.watermark = state.listing_started_at.clone();
                    finished.last_complete_at = Some(now());
                    finished.listing = None;
                    finished.listing_mode = None;
                    finished.listing_since = None;
                    finished.listing_started_at = None;
                    finished.cursor = None;
                    tx.put_stream_state(integration.id, name, &finished)?;
                } else {
                    tx.put_stream_state(integration.id, name, state)?;
                }
                tx.put_run_stream(run_id, &updated_row)?;
                Ok((outcome, updated_row.deleted, updated_row.note))
            })
        };
        // While this page is written, the connector already asks the PSA for
        // the next one: the PSA's response time and the write overlap. Pages
        // are still written one after another, each with its checkpoint, so
        // a crash loses at most the page in flight, as before.
        let prefetch = !done && !request.cancelled() && Instant::now() < deadline && row.pages < limits.stream_pages;
        let outcome = if prefetch {
            let (next, written) = tokio::join!(session.read(stream, page.next.clone(), since.clone()), async {
                write(store, row, &state)
            });
            prefetched = Some(next);
            written?
        } else {
            write(store, row, &state)?
        };
        row.invalid += skipped.len() as u64;
        row.created += outcome.0.created;
        row.updated += outcome.0.updated;
        row.unchanged += outcome.0.unchanged;
        row.deleted = outcome.1;
        row.note = outcome.2;
        observer.page(stream, row.fetched, page.total);
        if done {
            return Ok(StreamEnd::Complete);
        }
        cursor = page.next;
    }
}

/// "N records skipped as invalid (stream: n, ...)".
fn skipped_summary(rows: &[RunStreamRow], invalid: u64) -> String {
    let per: Vec<String> =
        rows.iter().filter(|r| r.invalid > 0).map(|r| format!("{}: {}", r.stream, r.invalid)).collect();
    let noun = if invalid == 1 { "record" } else { "records" };
    format!("{invalid} {noun} skipped as invalid ({})", per.join(", "))
}

/// A record kept aside: which, why, and a redacted snippet of it.
fn skipped_record(
    stream: &str,
    record: &crate::model::Record,
    e: &records::InvalidRecord,
    redactor: &crate::secrets::Redactor,
) -> SkippedRecord {
    let id: String = record.external_id().chars().take(256).collect();
    SkippedRecord {
        stream: stream.to_string(),
        external_id: redactor.redact(&id),
        field: e.field.map(str::to_string),
        reason: redactor.redact(&e.why),
        snippet: records::snippet(record, redactor),
    }
}

/// The note on a stream whose full listing, started by run `started`, was
/// completed by a later run.
fn deletions_deferred(started: i64) -> String {
    format!(
        "listing resumed from interrupted run #{started}: nothing marked deleted; deletions wait for the next uninterrupted full listing"
    )
}

/// What one `read` call gives: a call failure, the connector's error, or a
/// page.
type ReadResult = Result<Result<crate::model::Page, ConnectorError>, crate::runtime::RuntimeError>;

fn classify(e: ConnectorError) -> StreamEnd {
    let hint = e.hint();
    if e.is_fatal_for_run() {
        StreamEnd::Fatal { message: e.to_string(), hint }
    } else {
        StreamEnd::Failed { message: format!("{e} — {hint}") }
    }
}

/// The watermark moved back by [`WATERMARK_OVERLAP`], as RFC 3339 seconds.
fn overlap(watermark: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(watermark) {
        Ok(t) => {
            let t = t.with_timezone(&chrono::Utc) - chrono::Duration::from_std(WATERMARK_OVERLAP).unwrap_or_default();
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
        Err(_) => watermark.to_string(),
    }
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// `StreamState` is re-exported for callers that inspect checkpoints.
pub type Checkpoint = StreamState;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_moves_back_a_minute() {
        assert_eq!(overlap("2025-10-02T03:15:40.123Z"), "2025-10-02T03:14:40Z");
        assert_eq!(overlap("garbage"), "garbage");
    }

    #[test]
    fn fatal_errors_stop_the_run() {
        assert!(matches!(classify(ConnectorError::Unauthorized { detail: "x".into() }), StreamEnd::Fatal { .. }));
        assert!(matches!(
            classify(ConnectorError::Forbidden { resource: "a".into(), permission: None, detail: String::new() }),
            StreamEnd::Failed { .. }
        ));
    }
}
