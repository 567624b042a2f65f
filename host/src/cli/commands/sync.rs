//! `ferry sync`, `ferry apply`, `ferry runs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{MultiProgress, ProgressBar};

use crate::apply::{self, ApplyReport};
use crate::cli::args::{ApplyArgs, RunsArgs, RunsCommand, SyncArgs};
use crate::cli::output::{Out, duration, show_total};
use crate::cli::{App, Failure, exit};
use crate::model::StreamId;
use crate::store::{RunRow, RunStatus, RunStreamRow, SkippedRecord, Trigger};
use crate::sync::{self, Mode, Observer, SyncReport, SyncRequest};

/// Progress on a terminal: one line per stream being read (several move
/// at once when the integration reads streams concurrently).
struct Bars<'a> {
    out: &'a Out,
    group: MultiProgress,
    bars: RefCell<HashMap<StreamId, ProgressBar>>,
}

impl<'a> Bars<'a> {
    fn new(out: &'a Out) -> Self {
        Bars { out, group: out.progress_group(), bars: RefCell::new(HashMap::new()) }
    }
}

impl Observer for Bars<'_> {
    fn stream_started(&self, stream: &StreamId, resumed: bool) {
        let label = if resumed { format!("{stream} (resuming)") } else { stream.to_string() };
        let bar = self.group.add(self.out.progress(&label));
        self.bars.borrow_mut().insert(stream.clone(), bar);
    }
    fn page(&self, stream: &StreamId, fetched: u64, total: Option<u64>) {
        if let Some(b) = self.bars.borrow().get(stream) {
            if let Some(total) = total.filter(|t| *t >= fetched) {
                show_total(b, total);
            }
            b.set_position(fetched);
        }
    }
    fn stream_finished(&self, row: &RunStreamRow) {
        if let Some(b) = self.bars.borrow_mut().remove(&row.stream) {
            b.finish_and_clear();
            self.group.remove(&b);
        }
    }
    fn applying(&self) {
        for (_, b) in self.bars.borrow_mut().drain() {
            b.finish_and_clear();
            self.group.remove(&b);
        }
    }
}

pub(super) async fn sync(app: &mut App, args: SyncArgs) -> Result<u8, Failure> {
    let mode = if args.incremental { Mode::Incremental } else { Mode::Full };
    // SIGINT or SIGTERM stops the sync after the pages in flight, as the
    // daemon does: the run is recorded interrupted with its checkpoints,
    // and the summary printed (exit 3). A second signal stops at once.
    let cancel = Arc::new(AtomicBool::new(false));
    let stopper = tokio::spawn({
        let flag = cancel.clone();
        async move {
            super::schedule::wait_for_stop().await;
            tracing::warn!("stop requested: finishing the pages in flight (signal again to stop at once)");
            flag.store(true, Ordering::Relaxed);
            super::schedule::wait_for_stop().await;
            std::process::exit(i32::from(exit::FAILED));
        }
    });
    let request = SyncRequest {
        cancel: Some(cancel),
        streams: args.streams,
        force: args.force,
        wait: args.wait.map(std::time::Duration::from_secs),
        reset: args.reset,
        ..SyncRequest::new(&args.name, mode, Trigger::Manual)
    };
    let observer = Bars::new(&app.out);
    let ran = sync::run(&mut app.store, &app.runtime, &request, &observer).await;
    stopper.abort();
    let report = ran.map_err(|e| {
        let code = match e {
            sync::SyncError::Busy { .. } => exit::BUSY,
            // The run had started: it failed, it did not stop before changing anything.
            sync::SyncError::RunStore { .. } => exit::FAILED,
            _ => exit::ERROR,
        };
        Failure::from(e).with_code(code)
    })?;
    print_sync(&app.out, &report);
    Ok(match report.status {
        RunStatus::Succeeded => exit::OK,
        RunStatus::Partial => exit::PARTIAL,
        _ => exit::FAILED,
    })
}

pub(super) fn print_sync(out: &Out, report: &SyncReport) {
    if let Some(earlier) = report.deduplicated_from {
        out.note(format!(
            "the same sync succeeded moments ago with the same configuration (run #{earlier}); showing its result (use --force to run again)"
        ));
    }
    if out.json {
        out.json(report);
    } else {
        out.line(format!(
            "run #{} {} sync of {}: {} in {}",
            report.run_id,
            report.mode.as_str(),
            report.integration,
            report.status.as_str(),
            duration(report.elapsed_ms)
        ));
        out.table(
            &["stream", "status", "fetched", "new", "changed", "unchanged", "deleted", "archived", "skipped"],
            report
                .streams
                .iter()
                .map(|s| {
                    vec![
                        s.stream.to_string(),
                        s.status.to_string(),
                        s.fetched.to_string(),
                        s.created.to_string(),
                        s.updated.to_string(),
                        s.unchanged.to_string(),
                        s.deleted.to_string(),
                        s.archived.to_string(),
                        s.skipped.to_string(),
                    ]
                })
                .collect(),
        );
        print_notes(out, &report.streams);
        if let Some(apply) = &report.apply {
            print_apply_summary(out, apply);
        }
        out.line(format!(
            "requests: {} ({} retried, {} answered 429)",
            report.http.requests, report.http.retries, report.http.rate_limited
        ));
        if report.http.window_wait_ms >= 1000 {
            out.line(format!(
                "the PSA's rate limit held requests up to {} (its window counts this run's requests and those of the runs just before)",
                duration(report.http.window_wait_ms)
            ));
        }
        if let Some(slowed) = report.http.slowed_to {
            out.line(format!(
                "the PSA's 429s slowed the pace to {} of {} requests per {} s (it grows back by a tenth each window without a 429)",
                slowed.allowed, slowed.of, slowed.window_secs
            ));
        }
        print_truncated(out, &report.streams);
    }
    // Errors go to stderr in both modes, so scripts see them.
    if let Some(e) = &report.error {
        if report.status == RunStatus::Partial {
            out.note(format!("warning: partial sync: {e}"));
        } else {
            out.note(format!("error: sync failed: {e}"));
        }
        if let Some(h) = &report.hint {
            out.note(format!("hint: {h}"));
        }
    }
}

/// One line per stream note (e.g. deletions deferred after a stitched
/// listing), below the table.
fn print_notes(out: &Out, streams: &[RunStreamRow]) {
    for s in streams {
        if let Some(note) = &s.note {
            out.line(format!("{}: {note}", s.stream));
        }
    }
}

/// Say when values were cut to Ferry's limits on the way in.
fn print_truncated(out: &Out, streams: &[RunStreamRow]) {
    let cut: Vec<String> =
        streams.iter().filter(|s| s.truncated > 0).map(|s| format!("{} in {}", s.truncated, s.stream)).collect();
    if !cut.is_empty() {
        out.line(format!(
            "truncated: {} (values longer than Ferry keeps: names {} characters, other values {})",
            cut.join(", "),
            crate::sync::records::MAX_NAME_CHARS,
            crate::sync::records::MAX_VALUE_CHARS
        ));
    }
}

fn print_apply_summary(out: &Out, apply: &ApplyReport) {
    let total = |f: fn(&apply::Counts) -> u64| apply.streams.values().map(f).sum::<u64>();
    out.line(format!(
        "documentation: {} created, {} updated, {} unchanged, {} archived, {} skipped",
        total(|c| c.created),
        total(|c| c.updated),
        total(|c| c.unchanged),
        total(|c| c.archived),
        total(|c| c.skipped),
    ));
    if apply.awaiting_match > 0 {
        out.line(format!(
            "{} PSA companies await a matching decision: ferry match {} list --state suggested",
            apply.awaiting_match, apply.integration
        ));
    }
}

pub(super) fn apply(app: &mut App, args: ApplyArgs) -> Result<u8, Failure> {
    let integration = app.store.read().integration(&args.name)?;
    let report = apply::apply(&mut app.store, integration.id)?;
    print_apply(&app.out, &report);
    Ok(exit::OK)
}

pub(super) fn print_apply(out: &Out, report: &ApplyReport) {
    if out.json {
        out.json(report);
        return;
    }
    out.line(format!("applied {} in {}", report.integration, duration(report.elapsed_ms)));
    out.table(
        &["stream", "created", "updated", "unchanged", "archived", "skipped"],
        report
            .streams
            .iter()
            .map(|(k, c)| {
                vec![
                    k.to_string(),
                    c.created.to_string(),
                    c.updated.to_string(),
                    c.unchanged.to_string(),
                    c.archived.to_string(),
                    c.skipped.to_string(),
                ]
            })
            .collect(),
    );
    if report.awaiting_match > 0 {
        out.line(format!("{} PSA companies await a matching decision", report.awaiting_match));
    }
}

/// `ferry runs show ID [--requests]`: one run with the records it skipped
/// and, on request, its outbound requests.
fn show_run(app: &mut App, id: i64, with_requests: bool) -> Result<u8, Failure> {
    let run = app.store.read().run(id)?;
    let skipped = app.store.read().skipped_records(id)?;
    let requests = if with_requests { Some(app.store.read().run_requests(id)?) } else { None };
    if app.out.json {
        let mut value = serde_json::to_value(&run).unwrap_or_default();
        value["skipped_records"] = serde_json::to_value(&skipped).unwrap_or_default();
        if let Some(requests) = &requests {
            value["requests"] = serde_json::to_value(requests).unwrap_or_default();
        }
        app.out.json(&value);
        return Ok(exit::OK);
    }
    print_run(&app.out, &run);
    print_skipped(&app.out, &skipped);
    if let Some(requests) = &requests {
        print_requests(&app.out, &run, requests);
    }
    Ok(exit::OK)
}

pub(super) fn runs(app: &mut App, args: RunsArgs) -> Result<u8, Failure> {
    let list = match args.command {
        Some(RunsCommand::Show { id, requests }) => return show_run(app, id, requests),
        Some(RunsCommand::List(list)) => list,
        None => args.list,
    };
    if let Some(name) = &list.name {
        app.store.read().integration(name)?;
    }
    let runs = app.store.read().runs(list.name.as_deref(), list.limit)?;
    if app.out.json {
        app.out.json(&runs);
        return Ok(exit::OK);
    }
    app.out.table(
        &["run", "integration", "mode", "trigger", "status", "started", "took", "fetched", "error"],
        runs.iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.integration.clone(),
                    r.mode.to_string(),
                    r.trigger.to_string(),
                    r.status.as_str().to_string(),
                    r.started_at.clone(),
                    took(r),
                    r.stream_results.iter().map(|s| s.fetched).sum::<u64>().to_string(),
                    r.error.clone().map(|e| e.chars().take(60).collect()).unwrap_or_default(),
                ]
            })
            .collect(),
    );
    Ok(exit::OK)
}

/// A run's outbound requests (the first ones kept; the rest counted).
fn print_requests(out: &Out, run: &crate::store::RunRow, requests: &[crate::store::RunRequest]) {
    out.blank();
    out.table(
        &["method", "url", "status", "ms", "bytes"],
        requests
            .iter()
            .map(|r| {
                vec![
                    r.method.clone(),
                    r.url.clone(),
                    r.status.map(|s| s.to_string()).unwrap_or_else(|| r.error.clone().unwrap_or_default()),
                    r.millis.to_string(),
                    r.bytes.to_string(),
                ]
            })
            .collect(),
    );
    let sent = run.http.get("requests").and_then(serde_json::Value::as_u64).unwrap_or(0);
    if sent > requests.len() as u64 {
        out.line(format!("{} requests sent; the first {} are kept", sent, requests.len()));
    }
}

/// The records a run skipped as invalid, with the reason.
fn print_skipped(out: &Out, skipped: &[SkippedRecord]) {
    if skipped.is_empty() {
        return;
    }
    out.line(format!("{} records skipped as invalid:", skipped.len()));
    out.table(
        &["stream", "PSA id", "field", "reason", "record"],
        skipped
            .iter()
            .map(|r| {
                vec![
                    r.stream.to_string(),
                    r.external_id.clone(),
                    r.field.clone().unwrap_or_else(|| "-".into()),
                    r.reason.clone(),
                    r.snippet.clone(),
                ]
            })
            .collect(),
    );
}

fn took(r: &RunRow) -> String {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    match (parse(&r.started_at), r.finished_at.as_deref().and_then(parse)) {
        (Some(a), Some(b)) => duration((b - a).num_milliseconds().max(0) as u64),
        _ => "-".into(),
    }
}

fn print_run(out: &Out, run: &RunRow) {
    if out.json {
        out.json(run);
        return;
    }
    out.pairs(&[
        ("run", run.id.to_string()),
        ("integration", run.integration.clone()),
        ("mode", run.mode.to_string()),
        ("streams", run.streams.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")),
        ("trigger", run.trigger.to_string()),
        ("status", run.status.as_str().to_string()),
        ("started", run.started_at.clone()),
        ("finished", run.finished_at.clone().unwrap_or_else(|| "-".into())),
        ("took", took(run)),
        ("requests", run.http.get("requests").map(|v| v.to_string()).unwrap_or_else(|| "-".into())),
        ("retries", run.http.get("retries").map(|v| v.to_string()).unwrap_or_else(|| "-".into())),
        ("429s", run.http.get("rate_limited").map(|v| v.to_string()).unwrap_or_else(|| "-".into())),
        ("error", run.error.clone().unwrap_or_else(|| "-".into())),
    ]);
    out.table(
        &[
            "stream",
            "status",
            "pages",
            "fetched",
            "new",
            "changed",
            "unchanged",
            "deleted",
            "archived",
            "skipped",
            "error",
        ],
        run.stream_results
            .iter()
            .map(|s| {
                vec![
                    s.stream.to_string(),
                    s.status.to_string(),
                    s.pages.to_string(),
                    s.fetched.to_string(),
                    s.created.to_string(),
                    s.updated.to_string(),
                    s.unchanged.to_string(),
                    s.deleted.to_string(),
                    s.archived.to_string(),
                    s.skipped.to_string(),
                    s.error.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    print_notes(out, &run.stream_results);
    print_truncated(out, &run.stream_results);
}
