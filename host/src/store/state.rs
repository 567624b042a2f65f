//! The connector `state` store of each integration (contract 0.3): one
//! sealed JSON document per integration, opened and sealed with the vault
//! like literal secrets. Cleared with the integration's config or secrets
//! (`update_integration_config`), on remove and on re-attach.

use rusqlite::params;

use super::{Reader, Result, Tx, now};

/// The vault's name for an integration's state (bound into the seal, so a
/// sealed state cannot be moved to another integration).
fn seal_name(integration_id: i64) -> String {
    format!("connector-state:{integration_id}")
}

impl Reader<'_> {
    /// The integration's state as plain JSON, if any is kept.
    pub fn connector_state(&self, integration_id: i64) -> Result<Option<String>> {
        let r = self.conn().query_row(
            "SELECT sealed FROM connector_state WHERE integration_id = ?1",
            [integration_id],
            |r| r.get::<_, String>(0),
        );
        match self.optional(r)? {
            None => Ok(None),
            Some(sealed) => Ok(Some(self.vault().open(&seal_name(integration_id), &sealed)?)),
        }
    }
}

impl Tx<'_> {
    /// Keep `json` as the integration's state (sealed); an empty document
    /// removes the row.
    pub fn save_connector_state(&self, integration_id: i64, json: Option<&str>) -> Result<()> {
        match json {
            None => self.clear_connector_state(integration_id),
            Some(json) => {
                let sealed = self.vault().seal(&seal_name(integration_id), json)?;
                self.conn()
                    .prepare_cached(
                        "INSERT INTO connector_state (integration_id, sealed, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (integration_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
                    )?
                    .execute(params![integration_id, sealed, now()])?;
                Ok(())
            }
        }
    }

    pub fn clear_connector_state(&self, integration_id: i64) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM connector_state WHERE integration_id = ?1")?
            .execute([integration_id])?;
        Ok(())
    }
}
