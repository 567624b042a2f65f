//! Each integration's rate window between runs (see
//! `crate::runtime::pacer`): one JSON document per integration, replaced on
//! every change, removed when nothing in it matters any more.

use rusqlite::params;

use super::{Reader, Result, Tx, now};

impl Reader<'_> {
    /// The integration's kept rate window (JSON), if any.
    pub fn rate_window(&self, integration_id: i64) -> Result<Option<String>> {
        let r =
            self.conn().query_row("SELECT kept FROM rate_windows WHERE integration_id = ?1", [integration_id], |r| {
                r.get::<_, String>(0)
            });
        self.optional(r)
    }
}

impl Tx<'_> {
    /// Keep `json` as the integration's rate window; `None` removes it.
    pub fn keep_rate_window(&self, integration_id: i64, json: Option<&str>) -> Result<()> {
        match json {
            None => {
                self.conn()
                    .prepare_cached("DELETE FROM rate_windows WHERE integration_id = ?1")?
                    .execute([integration_id])?;
            }
            Some(json) => {
                self.conn()
                    .prepare_cached(
                        "INSERT INTO rate_windows (integration_id, kept, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (integration_id) DO UPDATE SET kept = excluded.kept, updated_at = excluded.updated_at",
                    )?
                    .execute(params![integration_id, json, now()])?;
            }
        }
        Ok(())
    }
}
