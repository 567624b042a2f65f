//! Sync run history and per-stream checkpoints (cursors for resume,
//! watermarks for incremental reads).

use rusqlite::params;
use serde::Serialize;

use super::codec::Json;
use super::{Reader, Result, StoreError, Tx, now};
use crate::model::Mode;
use crate::model::StreamId;

/// Where a run stands; stored as spelled in lowercase (`succeeded`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    /// Some streams failed; what did arrive was applied, nothing archived
    /// for the failed streams.
    Partial,
    Failed,
    /// The process died or was stopped mid-run; the next run resumes.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Where one stream of a run stands; stored as spelled in lowercase
/// (`complete`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum StreamStatus {
    Running,
    /// The listing reached its end.
    Complete,
    Failed,
    /// Stopped on request or at the run's time limit; the checkpoint stays.
    Interrupted,
    /// Not read: an earlier stream stopped the run.
    Skipped,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Who started a run; stored in `runs.trigger` (`daemon-start`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Trigger {
    /// `ferry sync`.
    Manual,
    /// A schedule entry fired while the daemon ran.
    Schedule,
    /// A fire time missed while the daemon was down, run when it started.
    DaemonStart,
    /// `ferry demo`.
    Demo,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunStreamRow {
    pub stream: StreamId,
    pub status: StreamStatus,
    pub pages: u64,
    pub fetched: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Gone from the PSA, per a complete listing.
    pub deleted: u64,
    /// Documentation records archived by the apply that followed.
    pub archived: u64,
    /// Records apply did not bring in (unmatched company, skip options).
    pub skipped: u64,
    /// Records the sync skipped as invalid (kept aside, see
    /// `skipped_records`); the rest of their page was synced.
    #[serde(default)]
    pub invalid: u64,
    pub error: Option<String>,
    /// What the operator should know besides the counts, e.g. that a
    /// listing stitched from interrupted runs left deletions for the next
    /// uninterrupted one.
    pub note: Option<String>,
    /// Names and values cut to Ferry's limits on the way in.
    pub truncated: u64,
}

impl RunStreamRow {
    pub fn new(stream: StreamId) -> Self {
        RunStreamRow {
            stream,
            status: StreamStatus::Running,
            pages: 0,
            fetched: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            deleted: 0,
            archived: 0,
            skipped: 0,
            invalid: 0,
            error: None,
            note: None,
            truncated: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub integration: String,
    pub mode: Mode,
    pub streams: Vec<StreamId>,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub pid: Option<i64>,
    pub error: Option<String>,
    pub http: serde_json::Value,
    pub stream_results: Vec<RunStreamRow>,
}

/// Checkpoint of one stream of one integration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamState {
    /// Run id that started the full listing in progress, if any. A listing
    /// resumed by a later run is *stitched*: it proves no deletion.
    pub listing: Option<i64>,
    pub listing_mode: Option<Mode>,
    pub listing_since: Option<String>,
    pub listing_started_at: Option<String>,
    /// Cursor of the next page to read in that listing.
    pub cursor: Option<String>,
    /// Start time of the last listing that completed: the next incremental
    /// read asks for records updated since then.
    pub watermark: Option<String>,
    pub last_complete_at: Option<String>,
    /// sha256 of the connector build that wrote `cursor`.
    pub cursor_connector: Option<String>,
}

impl Tx<'_> {
    pub fn start_run(&self, integration_id: i64, mode: Mode, streams: &[StreamId], trigger: Trigger) -> Result<i64> {
        self.conn()
            .prepare_cached(
                "INSERT INTO runs (integration_id, mode, streams_json, trigger, status, started_at, pid)
             VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6)",
            )?
            .execute(params![integration_id, mode, Json(streams), trigger, now(), std::process::id()])?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn finish_run(
        &self,
        run_id: i64,
        status: RunStatus,
        error: Option<&str>,
        http: &serde_json::Value,
    ) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE runs SET status = ?2, finished_at = ?3, error = ?4, http_json = ?5 WHERE id = ?1")?
            .execute(params![run_id, status, now(), error, http.to_string()])?;
        Ok(())
    }

    /// Finish a run that stopped on an error of Ferry's own (its database
    /// failing under it), with that cause, and its open streams with it.
    pub fn fail_run(&self, run_id: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE runs SET status = 'failed', finished_at = ?2, error = ?3 WHERE id = ?1",
            params![run_id, now(), error],
        )?;
        self.conn().execute(
            "UPDATE run_streams SET status = 'failed', error = COALESCE(error, ?2) WHERE run_id = ?1 AND status = 'running'",
            params![run_id, error],
        )?;
        Ok(())
    }

    /// Record what made this run "the same sync" (see `sync::dedup`).
    pub fn set_run_fingerprint(&self, run_id: i64, fingerprint: &str) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE runs SET fingerprint = ?2 WHERE id = ?1")?
            .execute(params![run_id, fingerprint])?;
        Ok(())
    }
}

impl Reader<'_> {
    pub fn run_fingerprint(&self, run_id: i64) -> Result<Option<String>> {
        let r = self
            .conn()
            .prepare_cached("SELECT fingerprint FROM runs WHERE id = ?1")?
            .query_row([run_id], |r| r.get::<_, Option<String>>(0));
        Ok(self.optional(r)?.flatten())
    }
}

impl Tx<'_> {
    /// Runs of an integration left `running` become `interrupted` (their
    /// checkpoints stay, so the next run resumes). Called by the holder of
    /// the integration's sync lock before it starts a run: while it holds
    /// the lock no other run of the integration can be going on, so any
    /// left `running` belongs to a process that stopped.
    pub fn reap_stale_runs(&self, integration_id: i64) -> Result<u64> {
        let mut stmt = self.conn().prepare("SELECT id FROM runs WHERE status = 'running' AND integration_id = ?1")?;
        let running =
            stmt.query_map([integration_id], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        for id in &running {
            self.conn()
                .prepare_cached(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?2,
                       error = COALESCE(error, 'the Ferry process running it stopped before it finished') WHERE id = ?1",
                )?
                .execute(params![id, now()])?;
            self.conn()
                .prepare_cached(
                    "UPDATE run_streams SET status = 'interrupted' WHERE run_id = ?1 AND status = 'running'",
                )?
                .execute([id])?;
        }
        Ok(running.len() as u64)
    }

    pub fn put_run_stream(&self, run_id: i64, row: &RunStreamRow) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO run_streams (run_id, stream, status, pages, fetched, created, updated, unchanged, deleted,
                                      archived, skipped, error, note, truncated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (run_id, stream) DO UPDATE SET status = excluded.status, pages = excluded.pages,
               fetched = excluded.fetched, created = excluded.created, updated = excluded.updated,
               unchanged = excluded.unchanged, deleted = excluded.deleted, archived = excluded.archived,
               skipped = excluded.skipped, error = excluded.error, note = excluded.note,
               truncated = excluded.truncated",
            )?
            .execute(params![
                run_id,
                row.stream,
                row.status,
                row.pages as i64,
                row.fetched as i64,
                row.created as i64,
                row.updated as i64,
                row.unchanged as i64,
                row.deleted as i64,
                row.archived as i64,
                row.skipped as i64,
                row.error,
                row.note,
                row.truncated as i64
            ])?;
        Ok(())
    }
}

impl Reader<'_> {
    pub fn runs(&self, integration: Option<&str>, limit: usize) -> Result<Vec<RunRow>> {
        let mut stmt = self.conn().prepare(
            "SELECT r.id, i.name, r.mode, r.streams_json, r.trigger, r.status, r.started_at, r.finished_at,
                    r.pid, r.error, r.http_json
             FROM runs r JOIN integrations i ON i.id = r.integration_id
             WHERE (?1 IS NULL OR i.name = ?1)
             ORDER BY r.id DESC LIMIT ?2",
        )?;
        let rows =
            stmt.query_map(params![integration, limit as i64], run_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| self.with_streams(r)).collect()
    }

    pub fn run(&self, id: i64) -> Result<RunRow> {
        let r = self
            .conn()
            .prepare_cached(
                "SELECT r.id, i.name, r.mode, r.streams_json, r.trigger, r.status, r.started_at, r.finished_at,
                    r.pid, r.error, r.http_json
             FROM runs r JOIN integrations i ON i.id = r.integration_id WHERE r.id = ?1",
            )?
            .query_row([id], run_from_row);
        match self.optional(r)? {
            Some(row) => self.with_streams(row),
            None => Err(StoreError::NotFound { what: "run", name: id.to_string() }),
        }
    }

    fn with_streams(&self, mut run: RunRow) -> Result<RunRow> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT stream, status, pages, fetched, created, updated, unchanged, deleted, archived, skipped, error, note,
                    truncated
             FROM run_streams WHERE run_id = ?1 ORDER BY rowid",
        )?;
        run.stream_results = stmt
            .query_map([run.id], |r| {
                Ok(RunStreamRow {
                    stream: r.get(0)?,
                    status: r.get(1)?,
                    pages: r.get::<_, i64>(2)? as u64,
                    fetched: r.get::<_, i64>(3)? as u64,
                    created: r.get::<_, i64>(4)? as u64,
                    updated: r.get::<_, i64>(5)? as u64,
                    unchanged: r.get::<_, i64>(6)? as u64,
                    deleted: r.get::<_, i64>(7)? as u64,
                    archived: r.get::<_, i64>(8)? as u64,
                    skipped: r.get::<_, i64>(9)? as u64,
                    invalid: 0,
                    error: r.get(10)?,
                    note: r.get(11)?,
                    truncated: r.get::<_, i64>(12)? as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (stream, n) in self.skipped_counts(run.id)? {
            if let Some(row) = run.stream_results.iter_mut().find(|r| r.stream == stream) {
                row.invalid = n;
            }
        }
        Ok(run)
    }

    pub fn stream_state(&self, integration_id: i64, stream: &str) -> Result<StreamState> {
        let r = self
            .conn()
            .prepare_cached(
                "SELECT listing, listing_mode, listing_since, listing_started_at, cursor, watermark, last_complete_at,
                    cursor_connector
             FROM stream_state WHERE integration_id = ?1 AND stream = ?2",
            )?
            .query_row(params![integration_id, stream], |r| {
                Ok(StreamState {
                    listing: r.get(0)?,
                    listing_mode: r.get(1)?,
                    listing_since: r.get(2)?,
                    listing_started_at: r.get(3)?,
                    cursor: r.get(4)?,
                    watermark: r.get(5)?,
                    last_complete_at: r.get(6)?,
                    cursor_connector: r.get(7)?,
                })
            });
        Ok(self.optional(r)?.unwrap_or_default())
    }
}

impl Tx<'_> {
    pub fn put_stream_state(&self, integration_id: i64, stream: &str, s: &StreamState) -> Result<()> {
        self.conn().prepare_cached("INSERT INTO stream_state (integration_id, stream, listing, listing_mode, listing_since, listing_started_at,
                                       cursor, watermark, last_complete_at, cursor_connector)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (integration_id, stream) DO UPDATE SET listing = excluded.listing,
               listing_mode = excluded.listing_mode, listing_since = excluded.listing_since,
               listing_started_at = excluded.listing_started_at, cursor = excluded.cursor,
               watermark = excluded.watermark, last_complete_at = excluded.last_complete_at,
               cursor_connector = excluded.cursor_connector")?.execute(params![
                integration_id,
                stream,
                s.listing,
                s.listing_mode,
                s.listing_since,
                s.listing_started_at,
                s.cursor,
                s.watermark,
                s.last_complete_at,
                s.cursor_connector
            ],
        )?;
        Ok(())
    }
}

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let http: Option<Json<serde_json::Value>> = r.get(10)?;
    Ok(RunRow {
        id: r.get(0)?,
        integration: r.get(1)?,
        mode: r.get(2)?,
        streams: r.get::<_, Json<Vec<StreamId>>>(3)?.0,
        trigger: r.get(4)?,
        status: r.get(5)?,
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        pid: r.get(8)?,
        error: r.get(9)?,
        http: http.map(|h| h.0).unwrap_or(serde_json::Value::Null),
        stream_results: Vec::new(),
    })
}
