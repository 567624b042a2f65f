//! Tickets in the documentation store: what the operator sees per company,
//! with the stage Ferry mapped each PSA status to.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::codec::Json;
use super::{Reader, Result, Tx, now};
use crate::model::Field;
use crate::options::Stage;

#[derive(Debug, Clone, Serialize)]
pub struct TicketRow {
    pub id: i64,
    pub integration: String,
    pub external_id: String,
    pub company_id: i64,
    pub company: String,
    pub number: String,
    pub subject: String,
    pub status: String,
    pub stage: Stage,
    pub closed: bool,
    pub priority: Option<String>,
    pub type_name: Option<String>,
    pub board: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub fields: Vec<Field>,
}

/// A ticket as apply writes it.
#[derive(Debug, Clone)]
pub struct TicketWrite<'a> {
    pub external_id: &'a str,
    pub company_id: i64,
    pub number: &'a str,
    pub subject: &'a str,
    pub status: &'a str,
    pub stage: Stage,
    pub closed: bool,
    pub priority: Option<&'a str>,
    pub type_name: Option<&'a str>,
    pub board: Option<&'a str>,
    pub created_at: Option<&'a str>,
    pub updated_at: Option<&'a str>,
    pub resolved_at: Option<&'a str>,
    pub fields: &'a [Field],
    pub hash: &'a str,
}

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub integration: Option<String>,
    pub company: Option<i64>,
    pub stage: Option<Stage>,
    pub open_only: bool,
}

impl Reader<'_> {
    pub fn ticket_hash(&self, integration_id: i64, external_id: &str) -> Result<Option<String>> {
        let mut stmt =
            self.conn().prepare_cached("SELECT hash FROM tickets WHERE integration_id = ?1 AND external_id = ?2")?;
        Ok(stmt.query_row(params![integration_id, external_id], |r| r.get(0)).optional()?)
    }
}

impl Tx<'_> {
    pub fn put_ticket(&self, integration_id: i64, t: &TicketWrite<'_>) -> Result<()> {
        let fields = serde_json::to_string(t.fields).unwrap_or_else(|_| "[]".into());
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO tickets (integration_id, external_id, company_id, number, subject, status, stage, closed, priority,
                                  type_name, board, created_at, updated_at, resolved_at, fields_json, hash, synced_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (integration_id, external_id) DO UPDATE SET company_id = excluded.company_id,
               number = excluded.number, subject = excluded.subject, status = excluded.status, stage = excluded.stage,
               closed = excluded.closed, priority = excluded.priority, type_name = excluded.type_name,
               board = excluded.board, created_at = excluded.created_at, updated_at = excluded.updated_at,
               resolved_at = excluded.resolved_at, fields_json = excluded.fields_json, hash = excluded.hash,
               synced_at = excluded.synced_at",
        )?;
        stmt.execute(params![
            integration_id,
            t.external_id,
            t.company_id,
            t.number,
            t.subject,
            t.status,
            t.stage,
            t.closed,
            t.priority,
            t.type_name,
            t.board,
            t.created_at,
            t.updated_at,
            t.resolved_at,
            fields,
            t.hash,
            now()
        ])?;
        Ok(())
    }

    /// Remove one ticket (excluded status, company no longer matched,
    /// deleted in the PSA). Returns whether it existed.
    pub fn delete_ticket(&self, integration_id: i64, external_id: &str) -> Result<bool> {
        let mut stmt =
            self.conn().prepare_cached("DELETE FROM tickets WHERE integration_id = ?1 AND external_id = ?2")?;
        Ok(stmt.execute(params![integration_id, external_id])? > 0)
    }

    /// Clear an integration's tickets ("clear & resync").
    pub fn clear_tickets(&self, integration_id: i64) -> Result<u64> {
        Ok(self.conn().prepare_cached("DELETE FROM tickets WHERE integration_id = ?1")?.execute([integration_id])?
            as u64)
    }
}

impl Reader<'_> {
    pub fn tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketRow>> {
        let mut stmt = self.conn().prepare(
            "SELECT t.id, i.name, t.external_id, t.company_id, c.name, t.number, t.subject, t.status, t.stage, t.closed,
                    t.priority, t.type_name, t.board, t.created_at, t.updated_at, t.resolved_at, t.fields_json
             FROM tickets t JOIN integrations i ON i.id = t.integration_id JOIN companies c ON c.id = t.company_id
             WHERE (?1 IS NULL OR i.name = ?1) AND (?2 IS NULL OR t.company_id = ?2)
               AND (?3 IS NULL OR t.stage = ?3) AND (?4 = 0 OR t.closed = 0)
             ORDER BY c.name COLLATE NOCASE, t.created_at DESC, t.id",
        )?;
        let rows = stmt
            .query_map(params![filter.integration, filter.company, filter.stage, filter.open_only], |r| {
                Ok(TicketRow {
                    id: r.get(0)?,
                    integration: r.get(1)?,
                    external_id: r.get(2)?,
                    company_id: r.get(3)?,
                    company: r.get(4)?,
                    number: r.get(5)?,
                    subject: r.get(6)?,
                    status: r.get(7)?,
                    stage: r.get(8)?,
                    closed: r.get(9)?,
                    priority: r.get(10)?,
                    type_name: r.get(11)?,
                    board: r.get(12)?,
                    created_at: r.get(13)?,
                    updated_at: r.get(14)?,
                    resolved_at: r.get(15)?,
                    fields: r.get::<_, Json<Vec<Field>>>(16)?.0,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// PSA ticket statuses seen (mirror records and the status list), with
    /// how many live tickets carry each and whether the PSA calls it closed.
    pub fn ticket_statuses(&self, integration_id: i64) -> Result<Vec<(String, u64, bool)>> {
        let mut stmt = self.conn().prepare(
            "WITH seen(name, n, closed) AS (
                 SELECT json_extract(data, '$.record.status'), 1, 0 FROM mirror
                  WHERE integration_id = ?1 AND stream = 'tickets' AND deleted_at IS NULL
                 UNION ALL
                 SELECT json_extract(data, '$.record.name'), 0, json_extract(data, '$.record.closed') FROM mirror
                  WHERE integration_id = ?1 AND stream = 'lookups' AND deleted_at IS NULL
                    AND json_extract(data, '$.record.kind') = 'ticket-status'
             )
             SELECT name, SUM(n), MAX(closed) FROM seen WHERE name IS NOT NULL GROUP BY name ORDER BY SUM(n) DESC, name",
        )?;
        let rows = stmt
            .query_map([integration_id], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? != 0)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    /// Reset an integration's stream checkpoints (e.g. before a resync).
    pub fn reset_stream_state(&self, integration_id: i64, stream: &str) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM stream_state WHERE integration_id = ?1 AND stream = ?2")?
            .execute(params![integration_id, stream])?;
        Ok(())
    }
}
