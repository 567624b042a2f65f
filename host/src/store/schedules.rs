//! Schedule entries and sync locks.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Reader, Result, StoreError, Tx, now};
use crate::model::Mode;

#[derive(Debug, Clone, Serialize)]
pub struct ScheduleRow {
    pub id: i64,
    pub integration_id: i64,
    pub integration: String,
    pub cron: String,
    pub tz: String,
    pub mode: Mode,
    pub last_fired_at: Option<String>,
    pub created_at: String,
}

/// Who holds an integration's sync lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    pub run_id: Option<i64>,
    pub pid: i64,
    pub scope: String,
    pub acquired_at: String,
}

impl Reader<'_> {
    pub fn schedules(&self, integration_id: Option<i64>) -> Result<Vec<ScheduleRow>> {
        let mut stmt = self.conn().prepare(
            "SELECT s.id, s.integration_id, i.name, s.cron, s.tz, s.mode, s.last_fired_at, s.created_at
             FROM schedules s JOIN integrations i ON i.id = s.integration_id
             WHERE (?1 IS NULL OR s.integration_id = ?1) ORDER BY i.name, s.id",
        )?;
        let rows = stmt
            .query_map([integration_id], |r| {
                Ok(ScheduleRow {
                    id: r.get(0)?,
                    integration_id: r.get(1)?,
                    integration: r.get(2)?,
                    cron: r.get(3)?,
                    tz: r.get(4)?,
                    mode: r.get(5)?,
                    last_fired_at: r.get(6)?,
                    created_at: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    pub fn insert_schedule(&self, integration_id: i64, cron: &str, tz: &str, mode: Mode) -> Result<i64> {
        self.conn().execute(
            "INSERT INTO schedules (integration_id, cron, tz, mode, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![integration_id, cron, tz, mode, now()],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn delete_schedule(&self, id: i64) -> Result<()> {
        if self.conn().execute("DELETE FROM schedules WHERE id = ?1", [id])? == 0 {
            return Err(StoreError::NotFound { what: "schedule", name: id.to_string() });
        }
        Ok(())
    }

    pub fn delete_schedules(&self, integration_id: i64) -> Result<()> {
        self.conn().execute("DELETE FROM schedules WHERE integration_id = ?1", [integration_id])?;
        Ok(())
    }

    pub fn mark_schedule_fired(&self, id: i64, at: &str) -> Result<()> {
        self.conn().execute("UPDATE schedules SET last_fired_at = ?2 WHERE id = ?1", params![id, at])?;
        Ok(())
    }

    /// Record that this process holds the integration's sync lock (the OS
    /// lock in `crate::lock` decides; this row only says who, for messages).
    pub fn record_lock(&self, integration_id: i64, scope: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO locks (integration_id, run_id, pid, scope, acquired_at) VALUES (?1, NULL, ?2, ?3, ?4)
             ON CONFLICT (integration_id) DO UPDATE SET run_id = NULL, pid = excluded.pid, scope = excluded.scope,
               acquired_at = excluded.acquired_at",
            params![integration_id, i64::from(std::process::id()), scope, now()],
        )?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Who last recorded holding the integration's lock (may be stale: a
    /// holder that died leaves its row until the next holder replaces it).
    pub fn lock_holder(&self, integration_id: i64) -> Result<Option<LockHolder>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT run_id, pid, scope, acquired_at FROM locks WHERE integration_id = ?1",
                [integration_id],
                |r| Ok(LockHolder { run_id: r.get(0)?, pid: r.get(1)?, scope: r.get(2)?, acquired_at: r.get(3)? }),
            )
            .optional()?)
    }
}

impl Tx<'_> {
    pub fn set_lock_run(&self, integration_id: i64, run_id: i64) -> Result<()> {
        self.conn()
            .execute("UPDATE locks SET run_id = ?2 WHERE integration_id = ?1", params![integration_id, run_id])?;
        Ok(())
    }

    /// Forget the record of the lock (called by its holder on release).
    pub fn unlock(&self, integration_id: i64) -> Result<()> {
        self.conn().execute("DELETE FROM locks WHERE integration_id = ?1", [integration_id])?;
        Ok(())
    }
}
