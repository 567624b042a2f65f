//! One stream's listing within a run: what to read (plan), whether and what
//! to read next (next page), whether a page the connector returned is
//! acceptable (check), and the one transaction that writes it to the mirror
//! with its checkpoint (commit page).
//!
//! A [`StreamRun`] holds everything about its stream (checkpoint, cursor,
//! counts) and nothing about the others. Reading and committing are apart:
//! `check` moves the read position on, while each [`CheckedPage`] carries
//! the checkpoint and counts that its own commit writes, so pages may be
//! read several ahead of the last commit. The driver (`sync::fetch`) reads
//! one page ahead per stream and drives several `StreamRun`s at once; each
//! stream's pages are committed in the order they were checked.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Mode, records};
use crate::model::{ConnectorError, Page, Record, StreamId};
use crate::runtime::RuntimeError;
use crate::secrets::Redactor;
use crate::store::{MirrorWrite, PageOutcome, RunStreamRow, SkippedRecord, Store, StoreError, StreamState, now};

/// Incremental reads ask for a little more than strictly changed since the
/// last run, so clock skew between Ferry and the PSA loses nothing.
const WATERMARK_OVERLAP: Duration = Duration::from_secs(60);

/// What happened to one stream.
pub(super) enum StreamEnd {
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
pub(super) enum Stop {
    /// SIGINT/SIGTERM (the daemon) or another caller's cancel flag.
    Requested,
    /// The run reached `FERRY_RUN_MAX_SECONDS`.
    RunLimit,
    /// Another stream read at the same time hit an error that stops the
    /// run (credentials, config, unreachable PSA); the run fails for that
    /// one, and this stream's checkpoint stays.
    RunFailed,
}

/// What one `read` call gives: a call failure, the connector's error, or a
/// page.
pub(super) type ReadResult = Result<Result<Page, ConnectorError>, RuntimeError>;

/// The run-wide bounds every stream's next page is checked against.
pub(super) struct Bounds<'a> {
    /// The integration's name, for the commands a hint gives.
    pub integration: &'a str,
    pub cancel: Option<&'a Arc<AtomicBool>>,
    pub deadline: Instant,
    /// `FERRY_STREAM_MAX_PAGES`.
    pub stream_pages: u64,
    /// `FERRY_RUN_MAX_RECORDS`.
    pub run_records: u64,
}

impl Bounds<'_> {
    pub(super) fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// One `read` call to make: owned, so it can be in flight while the page
/// before it is committed.
#[derive(Debug, Clone)]
pub(super) struct PageRequest {
    pub stream: StreamId,
    pub cursor: Option<String>,
    pub since: Option<String>,
}

/// A page that passed the checks, ready to be committed.
pub(super) struct CheckedPage {
    writes: Vec<MirrorWrite>,
    skipped: Vec<SkippedRecord>,
    /// Ids of skipped records that still exist in the PSA.
    still_there: Vec<String>,
    /// The cursor after this page: the checkpoint its commit writes.
    next: Option<String>,
    /// Names and values cut to Ferry's limits on this page.
    truncated: u64,
    /// The listing ends with this page.
    pub done: bool,
    /// The connector's count of the stream's records, when the PSA tells.
    pub total: Option<u64>,
}

/// What a commit wrote: the stream's counts and checkpoint including this
/// page.
pub(super) struct Committed {
    row: RunStreamRow,
    state: StreamState,
}

/// One stream's listing in one run.
pub(super) struct StreamRun {
    integration_id: i64,
    run_id: i64,
    stream: StreamId,
    /// Run that started the full listing this read belongs to; `None` for
    /// an incremental read (which never proves a deletion).
    listing: Option<i64>,
    since: Option<String>,
    resumed: bool,
    /// The checkpoint as of the last commit.
    state: StreamState,
    /// sha256 of the connector build reading (and checkpointing) now.
    connector_sha: String,
    /// The cursor of the next page to read (ahead of the checkpoint while
    /// checked pages wait for their commit).
    read_cursor: Option<String>,
    /// Pages read and checked in this run.
    pages_read: u64,
    seen_cursors: HashSet<String>,
    /// The record count the PSA gave with this run's first page of the
    /// listing, and the first different count a later page gave.
    totals: (Option<u64>, Option<u64>),
    /// The stream's counts as of the last commit (status and error are the
    /// run's to set).
    pub row: RunStreamRow,
}

impl StreamRun {
    /// Decide what this read is: resume a full listing from its checkpoint,
    /// start a new one, or read incrementally from the watermark. A new
    /// listing's start is checkpointed at once.
    pub(super) fn plan(
        store: &mut Store,
        integration: &crate::store::IntegrationRow,
        info: &crate::model::ConnectorInfo,
        mode: Mode,
        run_id: i64,
        stream: StreamId,
    ) -> Result<StreamRun, StoreError> {
        let name = stream.to_string();
        let name = name.as_str();
        let mut state = store.read().stream_state(integration.id, name)?;
        let connector_sha = store.read().connector(&integration.connector_id)?.map(|c| c.sha256).unwrap_or_default();
        let incremental_capable = info.incremental(&stream);

        let (listing, since, resumed) = match mode {
            Mode::Incremental => {
                let since = state.watermark.as_deref().filter(|_| incremental_capable).map(overlap);
                (None, since, false)
            }
            // A checkpoint written by another build of the connector (upgraded
            // or reinstalled since) is not resumed: its cursor may mean
            // something else to this build, or be refused for ever.
            Mode::Full => match (state.listing, state.listing_mode) {
                (Some(listing), Some(Mode::Full))
                    if state.cursor.is_some() && state.cursor_connector.as_deref() == Some(connector_sha.as_str()) =>
                {
                    (Some(listing), None, true)
                }
                _ => (Some(run_id), None, false),
            },
        };
        if !resumed {
            state.listing = listing;
            state.listing_mode = Some(if listing.is_some() { Mode::Full } else { Mode::Incremental });
            state.listing_since = since.clone();
            state.listing_started_at = Some(now());
            state.cursor = None;
            store.transaction(|tx| tx.put_stream_state(integration.id, name, &state))?;
        }
        let state_cursor = state.cursor.clone();
        Ok(StreamRun {
            integration_id: integration.id,
            run_id,
            row: RunStreamRow::new(stream.clone()),
            stream,
            listing,
            since,
            resumed,
            state,
            connector_sha,
            read_cursor: if resumed { state_cursor } else { None },
            pages_read: 0,
            seen_cursors: HashSet::new(),
            totals: (None, None),
        })
    }

    /// Whether this listing goes on from an earlier run's checkpoint.
    pub(super) fn resumed(&self) -> bool {
        self.resumed
    }

    pub(super) fn stream(&self) -> &StreamId {
        &self.stream
    }

    /// The next page to read, or why none may be read now (cancelled, out
    /// of time, or paging without end).
    pub(super) fn next_page(&self, bounds: &Bounds<'_>) -> Result<PageRequest, StreamEnd> {
        if bounds.cancelled() {
            return Err(StreamEnd::Interrupted(Stop::Requested));
        }
        if Instant::now() >= bounds.deadline {
            return Err(StreamEnd::Interrupted(Stop::RunLimit));
        }
        if self.pages_read >= bounds.stream_pages {
            return Err(StreamEnd::Failed {
                message: format!(
                    "the connector kept paging: {} pages without reaching the end (limit FERRY_STREAM_MAX_PAGES)",
                    self.pages_read
                ),
            });
        }
        Ok(PageRequest { stream: self.stream.clone(), cursor: self.read_cursor.clone(), since: self.since.clone() })
    }

    /// Take in what the read of the page at the current cursor gave: bound
    /// and validate its records, refuse a page that would break paging or
    /// leak a secret into a checkpoint, and move the cursor on. Nothing is
    /// written yet (see [`StreamRun::commit`]). `run_records` counts the
    /// run's records across its streams.
    pub(super) fn check(
        &mut self,
        read: ReadResult,
        redactor: &Redactor,
        bounds: &Bounds<'_>,
        run_records: &mut u64,
    ) -> Result<CheckedPage, StreamEnd> {
        let mut page = match read {
            // A crash or limit breach fails this stream; the next stream
            // gets a fresh instance.
            Err(e) => return Err(StreamEnd::Failed { message: e.to_string() }),
            Ok(Err(e)) => return Err(classify(e, bounds.integration)),
            Ok(Ok(page)) => page,
        };
        let mut truncated = 0;
        for record in &mut page.records {
            truncated += records::bound(record, redactor);
        }
        match self.check_bounded(page, redactor, bounds, run_records) {
            Ok(checked) => Ok(CheckedPage { truncated, ..checked }),
            Err(end) => {
                // The stream ends here: what was cut still counts.
                self.row.truncated += truncated;
                Err(end)
            }
        }
    }

    /// [`StreamRun::check`] of a page whose records are bounded.
    fn check_bounded(
        &mut self,
        page: Page,
        redactor: &Redactor,
        bounds: &Bounds<'_>,
        run_records: &mut u64,
    ) -> Result<CheckedPage, StreamEnd> {
        // One invalid record costs that record only: it is kept aside with
        // its reason and the rest of the page syncs. A page mostly invalid
        // means a broken connector or PSA, and fails the stream.
        let mut writes = Vec::with_capacity(page.records.len());
        let mut skipped: Vec<SkippedRecord> = Vec::new();
        let mut first_invalid = None;
        let mut secret_ids = Vec::new();
        // Skipped records still exist in the PSA: they must not count as
        // deleted when this listing ends (ids that are themselves the fault
        // name nothing stored). Their ids as the mirror has them, unmasked.
        let mut still_there: Vec<String> = Vec::new();
        for (i, record) in page.records.iter().enumerate() {
            let checked = records::secret_in_ids(i, record, redactor).inspect_err(|_| secret_ids.push(i));
            match checked.and_then(|_| records::validate(i, record)).and_then(|_| records::to_mirror(i, record)) {
                Ok(w) => writes.push(w),
                Err(e) => {
                    if e.field != Some("id") {
                        still_there.push(record.external_id());
                    }
                    skipped.push(skipped_record(&self.stream, record, &e, redactor));
                    first_invalid.get_or_insert(e);
                }
            }
        }
        if records::mostly_invalid(skipped.len(), page.records.len())
            && let Some(e) = first_invalid
        {
            return Err(StreamEnd::Failed {
                message: redactor.redact(&format!(
                    "the connector returned an invalid page: {} of {} records are invalid, the first: {e}",
                    skipped.len(),
                    page.records.len()
                )),
            });
        }
        if let Err(e) = records::unique_ids_except(&self.stream, &page.records, &secret_ids) {
            return Err(StreamEnd::Failed {
                message: redactor.redact(&format!("the connector returned an invalid page: {e}")),
            });
        }
        *run_records += writes.len() as u64;
        if *run_records > bounds.run_records {
            return Err(StreamEnd::Fatal {
                message: format!("the run fetched more than {} records (limit FERRY_RUN_MAX_RECORDS)", bounds.run_records),
                hint: "raise FERRY_RUN_MAX_RECORDS if the PSA really holds that much, else report it to the connector's author".into(),
            });
        }
        if let Some(next) = &page.next
            && (Some(next) == self.read_cursor.as_ref() || !self.seen_cursors.insert(next.clone()))
        {
            return Err(StreamEnd::Failed {
                message: format!(
                    "the connector repeated a cursor (`{}`): paging would never end",
                    short(&redactor.redact(next))
                ),
            });
        }
        // A cursor is stored as the checkpoint, unmasked (the connector needs
        // it back exactly): one carrying a secret is refused.
        if let Some(next) = &page.next
            && redactor.redact(next) != *next
        {
            return Err(StreamEnd::Failed {
                message: "the connector put a secret into its cursor; Ferry stores cursors as checkpoints, so it \
                          stopped this stream (report it to the connector's author)"
                    .into(),
            });
        }
        self.read_cursor = page.next.clone();
        self.pages_read += 1;
        match (self.totals, page.total) {
            ((None, _), Some(total)) => self.totals.0 = Some(total),
            ((Some(first), None), Some(total)) if total != first => self.totals.1 = Some(total),
            _ => {}
        }
        Ok(CheckedPage {
            writes,
            skipped,
            still_there,
            done: page.next.is_none(),
            next: page.next,
            truncated: 0,
            total: page.total,
        })
    }

    /// Write a checked page in one transaction: its records into the
    /// mirror (created/updated/unchanged by hash), its skipped records, the
    /// checkpoint, and the stream's counts on the run. The page that ends a
    /// full listing also moves the watermark and, for a listing this run
    /// made uninterrupted, marks what it did not return deleted. Takes
    /// `&self` so the next page can be read meanwhile; hand the result to
    /// [`StreamRun::committed`].
    pub(super) fn commit(&self, store: &mut Store, page: &CheckedPage) -> Result<Committed, StoreError> {
        let name = self.stream.to_string();
        let (id, name, run_id, listing) = (self.integration_id, name.as_str(), self.run_id, self.listing);
        // A listing that began in an earlier run was stitched from segments.
        let stitched = listing.is_some_and(|l| l != run_id);
        let mut state = self.state.clone();
        state.cursor = page.next.clone();
        state.cursor_connector = Some(self.connector_sha.clone());
        let mut row = self.row.clone();
        row.pages += 1;
        row.fetched += page.writes.len() as u64;
        row.truncated += page.truncated;
        store.transaction(move |tx| {
            let outcome: PageOutcome = tx.write_page(id, name, run_id, listing, &page.writes)?;
            if !page.skipped.is_empty() {
                tx.put_skipped_records(run_id, id, &page.skipped)?;
                tx.keep_seen(id, name, run_id, listing, &page.still_there)?;
            }
            row.invalid += page.skipped.len() as u64;
            row.created += outcome.created;
            row.updated += outcome.updated;
            row.unchanged += outcome.unchanged;
            if page.done {
                match (listing, self.totals) {
                    (Some(started), _) if stitched => row.note = Some(deletions_deferred(started)),
                    // Records may have shifted between pages while the PSA
                    // changed: one it did not return may well exist.
                    (Some(_), (Some(from), Some(to))) => row.note = Some(count_changed(from, to)),
                    (Some(listing), _) => {
                        row.deleted = tx.mark_unseen_deleted(id, name, listing, run_id)?;
                    }
                    (None, _) => {}
                }
                let mut finished = state.clone();
                finished.watermark = state.listing_started_at.clone();
                finished.last_complete_at = Some(now());
                finished.listing = None;
                finished.listing_mode = None;
                finished.listing_since = None;
                finished.listing_started_at = None;
                finished.cursor = None;
                tx.put_stream_state(id, name, &finished)?;
            } else {
                tx.put_stream_state(id, name, &state)?;
            }
            tx.put_run_stream(run_id, &row)?;
            Ok(Committed { row, state })
        })
    }

    /// Take a commit's counts and checkpoint in.
    pub(super) fn committed(&mut self, committed: Committed) {
        self.row = committed.row;
        self.state = committed.state;
    }
}

/// A record kept aside: which, why, and a redacted snippet of it.
fn skipped_record(
    stream: &StreamId,
    record: &Record,
    e: &records::InvalidRecord,
    redactor: &Redactor,
) -> SkippedRecord {
    let id: String = record.external_id().chars().take(256).collect();
    SkippedRecord {
        stream: stream.clone(),
        external_id: redactor.redact(&id),
        field: e.field.map(str::to_string),
        reason: redactor.redact(&e.why),
        snippet: records::snippet(record, redactor),
    }
}

/// The note on a stream whose full listing saw the PSA's record count
/// change between its pages.
fn count_changed(from: u64, to: u64) -> String {
    format!(
        "the PSA's record count changed while the listing ran ({from} → {to}): records may have moved between pages, so nothing was marked deleted; deletions wait for the next full listing"
    )
}

/// The note on a stream whose full listing, started by run `started`, was
/// completed by a later run.
fn deletions_deferred(started: i64) -> String {
    format!(
        "listing resumed from interrupted run #{started}: nothing marked deleted; deletions wait for the next uninterrupted full listing"
    )
}

fn classify(e: ConnectorError, integration: &str) -> StreamEnd {
    let hint = e.hint_for(integration);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnectorInfo, StreamKind};
    use crate::store::tests::temp_store;
    use crate::sync::apply_during_sync_tests::{company, integration};

    fn page(ids: &[&str], next: Option<&str>) -> ReadResult {
        Ok(Ok(Page { records: ids.iter().map(|id| company(id)).collect(), next: next.map(String::from), total: None }))
    }

    #[test]
    fn pages_read_ahead_commit_their_own_checkpoints_in_order() {
        let (_dir, mut store) = temp_store();
        let id = integration(&mut store);
        let row = store.read().integration("acme").expect("integration");
        let info: ConnectorInfo = store.read().connector("test").expect("read").expect("connector").info;
        let run = store
            .transaction(|tx| {
                tx.start_run(id, Mode::Full, &[StreamKind::Companies.into()], crate::store::Trigger::Manual)
            })
            .expect("run");
        let mut listing =
            StreamRun::plan(&mut store, &row, &info, Mode::Full, run, StreamKind::Companies.into()).expect("plan");
        let bounds = Bounds {
            integration: "acme",
            cancel: None,
            deadline: Instant::now() + Duration::from_secs(3600),
            stream_pages: 10,
            run_records: 100,
        };
        let redactor = Redactor::new(Vec::new());
        let mut records = 0;
        // Three pages read and checked before any commit: the read position
        // moves on, the checkpoint does not.
        let mut checked = Vec::new();
        for (ids, next) in [(["a", "b"], Some("p2")), (["c", "d"], Some("p3")), (["e", "f"], None)] {
            let request = listing.next_page(&bounds).ok().expect("may read");
            assert_eq!(request.cursor.as_deref(), checked.last().and_then(|p: &CheckedPage| p.next.as_deref()));
            checked.push(listing.check(page(&ids, next), &redactor, &bounds, &mut records).ok().expect("valid"));
        }
        assert_eq!(store.read().stream_state(id, "companies").expect("state").cursor, None);
        // Each commit writes the checkpoint and counts of its own page.
        for (n, page) in checked.iter().enumerate() {
            let committed = listing.commit(&mut store, page).expect("commit");
            listing.committed(committed);
            let state = store.read().stream_state(id, "companies").expect("state");
            let want = ["p2", "p3"].get(n).map(|c| c.to_string());
            assert_eq!(state.cursor, want, "checkpoint after page {}", n + 1);
            assert_eq!(listing.row.pages, n as u64 + 1);
            assert_eq!(listing.row.fetched, 2 * (n as u64 + 1));
        }
        let state = store.read().stream_state(id, "companies").expect("state");
        assert!(state.listing.is_none() && state.watermark.is_some(), "the listing completed: {state:?}");
        assert_eq!(listing.row.created, 6);
    }

    #[test]
    fn overlap_moves_back_a_minute() {
        assert_eq!(overlap("2025-10-02T03:15:40.123Z"), "2025-10-02T03:14:40Z");
        assert_eq!(overlap("garbage"), "garbage");
    }

    /// The hint names the integration, and a timeout says so once (it said
    /// "the PSA did not answer in time: the PSA did not answer in time — …
    /// `ferry integration test NAME`").
    #[test]
    fn a_failure_names_the_integration_in_its_hint_and_says_its_cause_once() {
        let timeout = ConnectorError::Timeout { detail: "the PSA did not answer in time".into() };
        let StreamEnd::Failed { message } = classify(timeout, "acme-prod") else {
            panic!("a timeout fails its stream")
        };
        assert_eq!(
            message,
            "the PSA did not answer in time — check the site/subdomain and the network, then run `ferry integration test acme-prod`"
        );
        let refused = ConnectorError::Unauthorized { detail: "401".into() };
        let StreamEnd::Fatal { hint, .. } = classify(refused, "acme-prod") else { panic!("a 401 stops the run") };
        assert!(hint.contains("`ferry integration set acme-prod --secret KEY=VALUE`"), "{hint}");
        let detailed = ConnectorError::Timeout { detail: "tickets page 3 after 30 s".into() };
        assert_eq!(detailed.to_string(), "the PSA did not answer in time: tickets page 3 after 30 s");
    }

    #[test]
    fn fatal_errors_stop_the_run() {
        assert!(matches!(
            classify(ConnectorError::Unauthorized { detail: "x".into() }, "acme"),
            StreamEnd::Fatal { .. }
        ));
        assert!(matches!(
            classify(
                ConnectorError::Forbidden { resource: "a".into(), permission: None, detail: String::new() },
                "acme"
            ),
            StreamEnd::Failed { .. }
        ));
    }
}
