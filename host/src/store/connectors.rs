//! Installed connectors: the component bytes and what `info()` said.

use rusqlite::params;

use super::{Reader, Result, StoreError, Tx, now};
use crate::model::ConnectorInfo;

/// Where an installed connector came from; stored in `connectors.origin`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::Display, strum::IntoStaticStr, strum::EnumIter,
)]
#[strum(serialize_all = "lowercase")]
pub enum ConnectorOrigin {
    /// Shipped in the binary; replaced when the binary carries another build.
    Bundled,
    /// From a file the operator installed; never replaced by a bundled one.
    Installed,
}

impl ConnectorOrigin {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone)]
pub struct ConnectorRow {
    pub id: String,
    pub name: String,
    pub version: String,
    pub contract: String,
    pub sha256: String,
    pub origin: ConnectorOrigin,
    pub info: ConnectorInfo,
    pub installed_at: String,
}

const COLUMNS: &str = "id, name, version, contract, sha256, origin, info_json, installed_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ConnectorRow, String)> {
    let info_json: String = r.get(6)?;
    Ok((
        ConnectorRow {
            id: r.get(0)?,
            name: r.get(1)?,
            version: r.get(2)?,
            contract: r.get(3)?,
            sha256: r.get(4)?,
            origin: r.get(5)?,
            info: ConnectorInfo::default(),
            installed_at: r.get(7)?,
        },
        info_json,
    ))
}

fn finish((mut row, json): (ConnectorRow, String)) -> Result<ConnectorRow> {
    row.info =
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("connector {} info: {e}", row.id)))?;
    Ok(row)
}

impl Reader<'_> {
    pub fn connectors(&self) -> Result<Vec<ConnectorRow>> {
        let mut stmt = self.conn().prepare(&format!("SELECT {COLUMNS} FROM connectors ORDER BY id"))?;
        let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    pub fn connector(&self, id: &str) -> Result<Option<ConnectorRow>> {
        let r = self.conn().query_row(&format!("SELECT {COLUMNS} FROM connectors WHERE id = ?1"), [id], from_row);
        self.optional(r)?.map(finish).transpose()
    }

    pub fn connector_component(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let r = self.conn().query_row("SELECT component FROM connectors WHERE id = ?1", [id], |r| r.get(0));
        self.optional(r)
    }
}

impl Tx<'_> {
    /// Insert or replace a connector (same id = upgrade in place).
    pub fn put_connector(&self, row: &ConnectorRow, component: &[u8]) -> Result<()> {
        let info = serde_json::to_string(&row.info).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO connectors (id, name, version, contract, sha256, origin, info_json, component, installed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, version = excluded.version,
               contract = excluded.contract, sha256 = excluded.sha256, origin = excluded.origin,
               info_json = excluded.info_json, component = excluded.component, installed_at = excluded.installed_at",
            params![row.id, row.name, row.version, row.contract, row.sha256, row.origin, info, component, now()],
        )?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Integrations that use connector `id`.
    pub fn integrations_using(&self, id: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare("SELECT name FROM integrations WHERE connector_id = ?1 ORDER BY name")?;
        let names = stmt.query_map([id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(names)
    }
}

impl Tx<'_> {
    pub fn delete_connector(&self, id: &str) -> Result<bool> {
        Ok(self.conn().execute("DELETE FROM connectors WHERE id = ?1", [id])? > 0)
    }
}
