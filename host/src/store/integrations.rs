//! Integrations: a connector plus an operator's config, secrets and options.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::{Reader, Result, StoreError, Tx, now};
use crate::secrets::SecretSource;
use crate::vault::Vault;

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

/// What `integration remove` archives, keeps and deletes.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RemovalCounts {
    /// Live cards that become archived.
    pub cards: u64,
    /// Live assets archived (no live card from another integration).
    pub assets_archived: u64,
    /// Live assets that stay live (another integration still brings them).
    pub assets_kept: u64,
    /// Companies created from this PSA, archived (no other PSA's card).
    pub companies_archived: u64,
    /// Operator fields on this integration's assets: kept.
    pub operator_fields: u64,
    /// Match decisions: kept for re-adding.
    pub links: u64,
    /// Mirror records: kept for re-adding.
    pub mirror: u64,
    /// Runs: kept as history.
    pub runs: u64,
    /// Tickets: deleted.
    pub tickets: u64,
    /// Schedules: deleted.
    pub schedules: u64,
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

fn finish(
    vault: &Vault,
    (mut row, config, secrets, options): (IntegrationRow, String, String, String),
) -> Result<IntegrationRow> {
    let corrupt =
        |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("integration {} {what}: {e}", row.name));
    row.config = serde_json::from_str(&config).map_err(|e| corrupt("config", e))?;
    let stored: BTreeMap<String, String> = serde_json::from_str(&secrets).map_err(|e| corrupt("secrets", e))?;
    row.secrets = stored.iter().map(|(k, v)| (k.clone(), unseal(vault, k, v))).collect();
    row.options = serde_json::from_str(&options).map_err(|e| corrupt("options", e))?;
    Ok(row)
}

/// A stored secret as a source: sealed literals opened with the vault; one
/// that does not open stays [`SecretSource::Unreadable`] (it fails when
/// used, and survives a save of the integration's other values).
fn unseal(vault: &Vault, key: &str, stored: &str) -> SecretSource {
    if !Vault::is_sealed(stored) {
        return SecretSource::from_stored(stored);
    }
    match vault.open(key, stored) {
        Ok(plain) => SecretSource::Literal(plain),
        Err(e) => SecretSource::Unreadable { stored: stored.to_string(), why: e.to_string() },
    }
}

/// Secrets as stored: literals sealed, references as they are.
fn secrets_json(vault: &Vault, secrets: &BTreeMap<String, SecretSource>) -> Result<String> {
    let mut stored: BTreeMap<&String, String> = BTreeMap::new();
    for (k, v) in secrets {
        let text = match v {
            SecretSource::Literal(plain) => vault.seal(k, plain)?,
            other => other.to_stored(),
        };
        stored.insert(k, text);
    }
    Ok(serde_json::to_string(&stored).unwrap_or_else(|_| "{}".into()))
}

impl Reader<'_> {
    pub fn integrations(&self) -> Result<Vec<IntegrationRow>> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM integrations WHERE removed_at IS NULL ORDER BY name"))?;
        let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| finish(self.vault(), r)).collect()
    }

    pub fn integration(&self, name: &str) -> Result<IntegrationRow> {
        let r = self.conn().query_row(
            &format!("SELECT {COLUMNS} FROM integrations WHERE name = ?1 AND removed_at IS NULL"),
            [name],
            from_row,
        );
        match self.optional(r)? {
            Some(row) => finish(self.vault(), row),
            None => Err(StoreError::NotFound { what: "integration", name: name.to_string() }),
        }
    }

    pub fn integration_by_id(&self, id: i64) -> Result<IntegrationRow> {
        let r = self.conn().query_row(&format!("SELECT {COLUMNS} FROM integrations WHERE id = ?1"), [id], from_row);
        match self.optional(r)? {
            Some(row) => finish(self.vault(), row),
            None => Err(StoreError::NotFound { what: "integration", name: format!("#{id}") }),
        }
    }
}

impl Tx<'_> {
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
                secrets_json(self.vault(), secrets)?,
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
                secrets_json(self.vault(), secrets)?,
                now()
            ])?;
        // What the connector kept (a token) belongs to the old credentials.
        self.clear_connector_state(id)?;
        Ok(())
    }

    pub fn update_integration_options(&self, id: i64, options: &serde_json::Value) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE integrations SET options_json = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id, options.to_string(), now()])?;
        Ok(())
    }
}

impl Reader<'_> {
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
}

impl Tx<'_> {
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
}

impl Reader<'_> {
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

    /// Whether the integration was removed (its documentation is archived
    /// and nothing may project it again until it is re-added).
    pub fn integration_removed(&self, id: i64) -> Result<bool> {
        let removed: Option<Option<String>> = self
            .conn()
            .prepare_cached("SELECT removed_at FROM integrations WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        Ok(removed.flatten().is_some())
    }

    /// Are literal secrets still stored in clear (a database from before
    /// secrets were sealed)?
    pub fn has_plain_secrets(&self) -> Result<bool> {
        let mut stmt = self.conn().prepare("SELECT secrets_json FROM integrations")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.iter().any(|json| {
            serde_json::from_str::<BTreeMap<String, String>>(json)
                .is_ok_and(|m| m.values().any(|v| !Vault::is_sealed(v) && !v.starts_with("env:")))
        }))
    }
}

impl Tx<'_> {
    /// Seal every literal secret stored in clear; returns the integrations
    /// changed.
    pub fn seal_plain_secrets(&self) -> Result<u64> {
        let mut stmt = self.conn().prepare("SELECT id, secrets_json FROM integrations")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut n = 0;
        for (id, json) in rows {
            let Ok(map) = serde_json::from_str::<BTreeMap<String, String>>(&json) else { continue };
            if map.values().all(|v| Vault::is_sealed(v) || v.starts_with("env:")) {
                continue;
            }
            let sources: BTreeMap<String, SecretSource> =
                map.iter().map(|(k, v)| (k.clone(), unseal(self.vault(), k, v))).collect();
            self.conn().execute(
                "UPDATE integrations SET secrets_json = ?2 WHERE id = ?1",
                params![id, secrets_json(self.vault(), &sources)?],
            )?;
            n += 1;
        }
        Ok(n)
    }
}

impl Reader<'_> {
    /// Removed integrations of a connector (candidates for re-attaching).
    pub fn removed_integrations(&self, connector_id: &str) -> Result<Vec<IntegrationRow>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM integrations WHERE removed_at IS NOT NULL AND connector_id = ?1 ORDER BY id DESC"
        ))?;
        let rows = stmt.query_map([connector_id], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| finish(self.vault(), r)).collect()
    }

    /// What removing an integration would do (see [`Tx::remove_integration`]).
    pub fn removal_counts(&self, id: i64) -> Result<RemovalCounts> {
        let one = |sql: &str| -> Result<u64> { Ok(self.conn().query_row(sql, [id], |r| r.get::<_, i64>(0))? as u64) };
        Ok(RemovalCounts {
            cards: one("SELECT COUNT(*) FROM cards WHERE integration_id = ?1 AND archived_at IS NULL")?,
            assets_archived: one(
                "SELECT COUNT(*) FROM assets a WHERE a.archived_at IS NULL
                   AND EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'asset' AND k.doc_id = a.id AND k.integration_id = ?1)
                   AND NOT EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'asset' AND k.doc_id = a.id
                                   AND k.archived_at IS NULL AND k.integration_id <> ?1)",
            )?,
            assets_kept: one(
                "SELECT COUNT(*) FROM assets a WHERE a.archived_at IS NULL
                   AND EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'asset' AND k.doc_id = a.id AND k.integration_id = ?1)
                   AND EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'asset' AND k.doc_id = a.id
                               AND k.archived_at IS NULL AND k.integration_id <> ?1)",
            )?,
            companies_archived: one(
                "SELECT COUNT(*) FROM companies c WHERE c.archived_at IS NULL AND c.source_integration_id = ?1
                   AND NOT EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'company' AND k.doc_id = c.id
                                   AND k.archived_at IS NULL AND k.integration_id <> ?1)",
            )?,
            operator_fields: one(
                "SELECT COUNT(*) FROM asset_fields f WHERE EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'asset'
                   AND k.doc_id = f.asset_id AND k.integration_id = ?1)",
            )?,
            links: one("SELECT COUNT(*) FROM company_links WHERE integration_id = ?1")?,
            mirror: one("SELECT COUNT(*) FROM mirror WHERE integration_id = ?1")?,
            runs: one("SELECT COUNT(*) FROM runs WHERE integration_id = ?1")?,
            tickets: one("SELECT COUNT(*) FROM tickets WHERE integration_id = ?1")?,
            schedules: one("SELECT COUNT(*) FROM schedules WHERE integration_id = ?1")?,
        })
    }
}

impl Tx<'_> {
    /// Remove an integration without losing documentation: its cards, and
    /// the assets and PSA-created companies only it kept live, are archived
    /// (operator fields stay on them); its mirror, company links, options
    /// and run history are kept so re-adding the same PSA account
    /// re-attaches; its secrets, schedules, checkpoints, lock and tickets (a
    /// view of the PSA's queue, fetched again on re-add) go. The name is
    /// freed for a new integration.
    pub fn remove_integration(&self, id: i64) -> Result<()> {
        let t = now();
        let conn = self.conn();
        // Devices this integration shared with others are placed by those
        // from now on: their cards are projected again at their next apply.
        conn.execute(
            "UPDATE integrations SET applied_seq = NULL, applied_inputs = NULL WHERE id IN (
                 SELECT k.integration_id FROM cards k WHERE k.doc_kind = 'asset' AND k.integration_id <> ?1
                    AND k.archived_at IS NULL AND k.doc_id IN (SELECT doc_id FROM cards WHERE integration_id = ?1
                                                                 AND doc_kind = 'asset' AND archived_at IS NULL))",
            [id],
        )?;
        conn.execute(
            "UPDATE cards SET hash = 'replace' WHERE doc_kind = 'asset' AND integration_id <> ?1 AND archived_at IS NULL
               AND doc_id IN (SELECT doc_id FROM cards WHERE integration_id = ?1 AND doc_kind = 'asset'
                                AND archived_at IS NULL)",
            [id],
        )?;
        // The hash is reset as for any archived card, so a later apply
        // (after re-adding) rewrites and restores each card.
        conn.execute(
            "UPDATE cards SET archived_at = ?2, updated_at = ?2, hash = 'archived'
             WHERE integration_id = ?1 AND archived_at IS NULL",
            params![id, t],
        )?;
        conn.execute(
            "UPDATE assets SET archived_at = ?2, updated_at = ?2 WHERE archived_at IS NULL
               AND EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'asset' AND k.doc_id = assets.id AND k.integration_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'asset' AND k.doc_id = assets.id AND k.archived_at IS NULL)",
            params![id, t],
        )?;
        conn.execute(
            "UPDATE companies SET archived_at = ?2, updated_at = ?2 WHERE archived_at IS NULL AND source_integration_id = ?1
               AND NOT EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'company' AND k.doc_id = companies.id
                               AND k.archived_at IS NULL)",
            params![id, t],
        )?;
        conn.execute("DELETE FROM tickets WHERE integration_id = ?1", [id])?;
        conn.execute("DELETE FROM schedules WHERE integration_id = ?1", [id])?;
        conn.execute("DELETE FROM locks WHERE integration_id = ?1", [id])?;
        conn.execute("DELETE FROM stream_state WHERE integration_id = ?1", [id])?;
        conn.execute("DELETE FROM connector_state WHERE integration_id = ?1", [id])?;
        conn.execute(
            "UPDATE integrations SET removed_at = ?2, updated_at = ?2, secrets_json = '{}',
                    name = name || ' (removed #' || id || ')', applied_run = NULL, applied_seq = NULL, applied_inputs = NULL
             WHERE id = ?1",
            params![id, t],
        )?;
        Ok(())
    }

    /// Bring a removed integration back under a (new) name and config; its
    /// documentation comes back live with the next sync and apply.
    pub fn reattach_integration(
        &self,
        id: i64,
        name: &str,
        config: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, SecretSource>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE integrations SET removed_at = NULL, name = ?2, config_json = ?3, secrets_json = ?4, updated_at = ?5,
                    applied_run = NULL, applied_seq = NULL, applied_inputs = NULL
             WHERE id = ?1",
            params![
                id,
                name,
                serde_json::to_string(config).unwrap_or_else(|_| "{}".into()),
                secrets_json(self.vault(), secrets)?,
                now()
            ],
        )?;
        self.clear_connector_state(id)?;
        Ok(())
    }
}
