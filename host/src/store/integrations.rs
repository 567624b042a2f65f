//! Integrations: a connector plus an operator's config, secrets and options.

use std::collections::BTreeMap;

use rusqlite::params;

use super::{Result, StoreError, Tx, now};
use crate::secrets::SecretSource;

#[derive(Debug, Clone)]
pub struct IntegrationRow {
    pub id: i64,
    pub name: String,
    pub connector_id: String,
    /// Non-secret config values.
    pub config: BTreeMap<String, String>,
    /// Secret config values, as stored (literal or `env:` reference).
    pub secrets: BTreeMap<String, SecretSource>,
    /// Options (matching, rules, skips...) as a JSON object.
    pub options: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, name, connector_id, config_json, secrets_json, options_json, created_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(IntegrationRow, String, String, String)> {
    Ok((
        IntegrationRow {
            id: r.get(0)?,
            name: r.get(1)?,
            connector_id: r.get(2)?,
            config: BTreeMap::new(),
            secrets: BTreeMap::new(),
            options: serde_json::Value::Null,
            created_at: r.get(6)?,
            updated_at: r.get(7)?,
        },
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn finish((mut row, config, secrets, options): (IntegrationRow, String, String, String)) -> Result<IntegrationRow> {
    let corrupt =
        |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("integration {} {what}: {e}", row.name));
    row.config = serde_json::from_str(&config).map_err(|e| corrupt("config", e))?;
    let stored: BTreeMap<String, String> = serde_json::from_str(&secrets).map_err(|e| corrupt("secrets", e))?;
    row.secrets = stored.iter().map(|(k, v)| (k.clone(), SecretSource::from_stored(v))).collect();
    row.options = serde_json::from_str(&options).map_err(|e| corrupt("options", e))?;
    Ok(row)
}

fn secrets_json(secrets: &BTreeMap<String, SecretSource>) -> String {
    let stored: BTreeMap<&String, String> = secrets.iter().map(|(k, v)| (k, v.to_stored())).collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "{}".into())
}

impl Tx<'_> {
    pub fn integrations(&self) -> Result<Vec<IntegrationRow>> {
        let mut stmt = self.conn().prepare(&format!("SELECT {COLUMNS} FROM integrations ORDER BY name"))?;
        let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    pub fn integration(&self, name: &str) -> Result<IntegrationRow> {
        let r = self.conn().query_row(&format!("SELECT {COLUMNS} FROM integrations WHERE name = ?1"), [name], from_row);
        match self.optional(r)? {
            Some(row) => finish(row),
            None => Err(StoreError::NotFound { what: "integration", name: name.to_string() }),
        }
    }

    pub fn integration_by_id(&self, id: i64) -> Result<IntegrationRow> {
        let r = self.conn().query_row(&format!("SELECT {COLUMNS} FROM integrations WHERE id = ?1"), [id], from_row);
        match self.optional(r)? {
            Some(row) => finish(row),
            None => Err(StoreError::NotFound { what: "integration", name: format!("#{id}") }),
        }
    }

    pub fn insert_integration(
        &self,
        name: &str,
        connector_id: &str,
        config: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, SecretSource>,
        options: &serde_json::Value,
    ) -> Result<i64> {
        let exists: i64 = self
            .conn()
            .prepare_cached("SELECT COUNT(*) FROM integrations WHERE name = ?1")?
            .query_row([name], |r| r.get(0))?;
        if exists > 0 {
            return Err(StoreError::Exists { what: "integration", name: name.to_string() });
        }
        let t = now();
        self.conn().prepare_cached("INSERT INTO integrations (name, connector_id, config_json, secrets_json, options_json, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)")?.execute(params![
                name,
                connector_id,
                serde_json::to_string(config).unwrap_or_else(|_| "{}".into()),
                secrets_json(secrets),
                options.to_string(),
                t
            ],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn update_integration_config(
        &self,
        id: i64,
        config: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, SecretSource>,
    ) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE integrations SET config_json = ?2, secrets_json = ?3, updated_at = ?4 WHERE id = ?1",
            )?
            .execute(params![
                id,
                serde_json::to_string(config).unwrap_or_else(|_| "{}".into()),
                secrets_json(secrets),
                now()
            ])?;
        Ok(())
    }

    pub fn update_integration_options(&self, id: i64, options: &serde_json::Value) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE integrations SET options_json = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id, options.to_string(), now()])?;
        Ok(())
    }

    /// What the last apply of this integration saw: the mirror sequence
    /// number it had seen up to (`applied_seq`) and the fingerprint of its
    /// other inputs.
    pub fn applied_state(&self, id: i64) -> Result<Option<(i64, String)>> {
        let (seq, inputs): (Option<i64>, Option<String>) = self
            .conn()
            .prepare_cached("SELECT applied_seq, applied_inputs FROM integrations WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(seq.zip(inputs))
    }

    pub fn set_applied_state(&self, id: i64, seq: i64, inputs: &str) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE integrations SET applied_seq = ?2, applied_inputs = ?3 WHERE id = ?1")?
            .execute(rusqlite::params![id, seq, inputs])?;
        Ok(())
    }

    pub fn forget_applied_state(&self, id: i64) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE integrations SET applied_run = NULL, applied_seq = NULL, applied_inputs = NULL WHERE id = ?1",
            )?
            .execute([id])?;
        Ok(())
    }

    /// Everything apply reads besides the mirror, as text: the integration's
    /// options and company links, every layout, and a summary of the
    /// documentation companies. When this is unchanged since the last
    /// apply, records the mirror did not change would project exactly as
    /// before.
    pub fn apply_inputs(&self, id: i64) -> Result<String> {
        let mut out = String::new();
        let options: String = self
            .conn()
            .prepare_cached("SELECT options_json FROM integrations WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        out.push_str(&options);
        out.push('\n');
        let mut links = self.conn().prepare_cached(
            "SELECT external_id, state, COALESCE(company_id, 0) FROM company_links
             WHERE integration_id = ?1 ORDER BY external_id",
        )?;
        let mut rows = links.query([id])?;
        while let Some(r) = rows.next()? {
            let (ext, state, company): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            out.push_str(&format!("{ext}\t{state}\t{company}\n"));
        }
        let mut layouts = self.conn().prepare_cached("SELECT id, name, active, identity FROM layouts ORDER BY id")?;
        let mut rows = layouts.query([])?;
        while let Some(r) = rows.next()? {
            let (lid, name, active, identity): (i64, String, bool, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            out.push_str(&format!("{lid}\t{name}\t{active}\t{identity}\n"));
        }
        let companies: (i64, i64, i64, String) = self.conn().prepare_cached("SELECT COUNT(*), COALESCE(MAX(id), 0), COUNT(archived_at), COALESCE(MAX(updated_at), '') FROM companies")?.query_row([],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        out.push_str(&format!("{companies:?}"));
        Ok(out)
    }

    /// Remove an integration and what only it owns (mirror, runs, cards,
    /// links). Documentation companies and assets stay: they are the
    /// operator's now.
    pub fn delete_integration(&self, id: i64) -> Result<()> {
        self.conn().prepare_cached("DELETE FROM integrations WHERE id = ?1")?.execute([id])?;
        Ok(())
    }
}
