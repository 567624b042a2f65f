//! Records a sync skipped as invalid, kept aside per run with the reason,
//! so one bad record costs that record only and the operator can see which
//! and why (`ferry runs show ID`).

use rusqlite::params;
use serde::Serialize;

use super::{Reader, Result, Tx, now};
use crate::model::StreamId;

/// One record kept aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRecord {
    pub stream: StreamId,
    /// The PSA's id of the record, as the connector gave it (may be empty:
    /// that can be the reason).
    pub external_id: String,
    /// The field at fault, when one is.
    pub field: Option<String>,
    pub reason: String,
    /// The record's JSON, secrets scrubbed, at most ~200 characters.
    pub snippet: String,
}

impl Tx<'_> {
    pub fn put_skipped_records(&self, run_id: i64, integration_id: i64, records: &[SkippedRecord]) -> Result<()> {
        let mut insert = self.conn().prepare_cached(
            "INSERT INTO skipped_records (run_id, integration_id, stream, external_id, field, reason, snippet, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let at = now();
        for r in records {
            insert.execute(params![
                run_id,
                integration_id,
                r.stream,
                r.external_id,
                r.field,
                r.reason,
                r.snippet,
                at
            ])?;
        }
        Ok(())
    }
}

impl Reader<'_> {
    pub fn skipped_records(&self, run_id: i64) -> Result<Vec<SkippedRecord>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT stream, external_id, field, reason, snippet FROM skipped_records WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok(SkippedRecord {
                    stream: r.get(0)?,
                    external_id: r.get(1)?,
                    field: r.get(2)?,
                    reason: r.get(3)?,
                    snippet: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How many records each stream of a run skipped as invalid.
    pub fn skipped_counts(&self, run_id: i64) -> Result<Vec<(StreamId, u64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT stream, COUNT(*) FROM skipped_records WHERE run_id = ?1 GROUP BY stream ORDER BY stream",
        )?;
        let rows = stmt
            .query_map([run_id], |r| Ok((r.get::<_, StreamId>(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    /// A record skipped in a full listing still exists in the PSA: mark it
    /// seen in that listing (its stored data unchanged), so the end of the
    /// listing does not count it deleted.
    pub fn keep_seen(
        &self,
        integration_id: i64,
        stream: &str,
        run_id: i64,
        listing: Option<i64>,
        external_ids: &[String],
    ) -> Result<()> {
        let mut touch = self.conn().prepare_cached(
            "UPDATE mirror SET last_seen_run = ?4, listing = COALESCE(?5, listing)
             WHERE integration_id = ?1 AND stream = ?2 AND external_id = ?3",
        )?;
        for id in external_ids {
            touch.execute(params![integration_id, stream, id, run_id, listing])?;
        }
        Ok(())
    }
}
