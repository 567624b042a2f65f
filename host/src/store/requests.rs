//! The outbound requests of a run, kept for `ferry runs show ID --requests`
//! so an author or operator can see what a sync asked the PSA and how it
//! answered. URLs arrive with secrets already removed.

use rusqlite::params;
use serde::Serialize;

use super::{Reader, Result, Tx};

/// One request as sent (each retry is its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRequest {
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub millis: u64,
    pub bytes: u64,
}

impl Tx<'_> {
    pub fn put_run_requests(&self, run_id: i64, requests: &[RunRequest]) -> Result<()> {
        let mut insert = self.conn().prepare_cached(
            "INSERT INTO run_requests (run_id, method, url, status, error, millis, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in requests {
            insert.execute(params![run_id, r.method, r.url, r.status, r.error, r.millis as i64, r.bytes as i64])?;
        }
        Ok(())
    }
}

impl Reader<'_> {
    pub fn run_requests(&self, run_id: i64) -> Result<Vec<RunRequest>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT method, url, status, error, millis, bytes FROM run_requests WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok(RunRequest {
                    method: r.get(0)?,
                    url: r.get(1)?,
                    status: r.get(2)?,
                    error: r.get(3)?,
                    millis: r.get::<_, i64>(4)? as u64,
                    bytes: r.get::<_, i64>(5)? as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
