//! The documentation store: companies, asset layouts, assets, the PSA-owned
//! cards projected onto them, operator-owned fields, and company links
//! (how each PSA company maps to a documentation company).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::codec::Json;
use super::{Reader, Result, StoreError, Tx, now};
use crate::model::{Field, StreamId};
use crate::rules::IdentityField;

#[derive(Debug, Clone, Serialize)]
pub struct CompanyRow {
    pub id: i64,
    pub name: String,
    pub domain: Option<String>,
    pub phone: Option<String>,
    pub archived_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// The integration whose PSA drives name, domain and phone; `None`:
    /// the operator owns them.
    pub source_integration_id: Option<i64>,
    /// The PSA company (of that integration) that drives them.
    pub source_external_id: Option<String>,
    /// That integration's name.
    pub source: Option<String>,
    /// Archived by the operator (apply never restores it).
    pub operator_archived: bool,
}

/// One recorded change to a company's details.
#[derive(Debug, Clone, Serialize)]
pub struct CompanyChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    /// `operator`, or `integration:NAME`.
    pub actor: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayoutRow {
    pub id: i64,
    pub name: String,
    pub active: bool,
    /// Which field identifies one device across integrations: serial, mac, name.
    pub identity: IdentityField,
    pub assets: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssetRow {
    pub id: i64,
    pub company_id: i64,
    pub company: String,
    pub layout_id: i64,
    pub layout: String,
    pub name: String,
    pub archived_at: Option<String>,
    pub updated_at: String,
    /// Integrations whose cards this asset carries.
    pub sources: Vec<String>,
}

/// The columns an [`AssetRow`] is read from (`a` assets, `c` companies, `l`
/// layouts; the sources are the integrations with a card on it), for
/// [`asset_from_row`]: every query of asset rows selects these.
pub(super) const ASSET_COLUMNS: &str =
    "a.id, a.company_id, c.name, a.layout_id, l.name, a.name, a.archived_at, a.updated_at,
    (SELECT group_concat(DISTINCT i.name) FROM cards k JOIN integrations i ON i.id = k.integration_id
      WHERE k.doc_kind = 'asset' AND k.doc_id = a.id)";

/// An [`AssetRow`] from [`ASSET_COLUMNS`] (sources sorted).
pub(super) fn asset_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AssetRow> {
    let sources: Option<String> = r.get(8)?;
    let mut sources: Vec<String> = sources.map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default();
    sources.sort();
    Ok(AssetRow {
        id: r.get(0)?,
        company_id: r.get(1)?,
        company: r.get(2)?,
        layout_id: r.get(3)?,
        layout: r.get(4)?,
        name: r.get(5)?,
        archived_at: r.get(6)?,
        updated_at: r.get(7)?,
        sources,
    })
}

#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub company: Option<String>,
    pub layout: Option<String>,
    /// Some(true): only archived; Some(false): only live; None: both.
    pub archived: Option<bool>,
    pub integration: Option<String>,
}

/// What a card lands on; stored in `cards.doc_kind`.
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
pub enum CardTarget {
    Company,
    Asset,
}

/// A card as apply writes it.
#[derive(Debug, Clone, Copy)]
pub struct CardWrite<'a> {
    pub stream: &'a str,
    pub external_id: &'a str,
    pub target: CardTarget,
    pub doc_id: i64,
    pub title: &'a str,
    /// The card's fields as their JSON array (`cards.fields_json`):
    /// apply serialises them once, for this and for its decision hash.
    pub fields_json: &'a str,
    /// What apply decided for the record (see `apply::hash_of`).
    pub hash: &'a str,
    /// Device or person identity, for merging across integrations.
    pub identity: Option<&'a str>,
    pub archived: bool,
}

/// A PSA record's card and where it landed.
#[derive(Debug, Clone, Serialize)]
pub struct CardRow {
    pub id: i64,
    pub integration_id: i64,
    pub integration: String,
    pub stream: StreamId,
    pub external_id: String,
    pub target: CardTarget,
    pub doc_id: i64,
    pub title: String,
    pub fields: Vec<Field>,
    pub hash: String,
    pub archived_at: Option<String>,
}

/// How a PSA company relates to a documentation company; stored in
/// `company_links.state`.
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
pub enum LinkState {
    Suggested,
    Matched,
    Created,
    Ignored,
    Unmatched,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether data of a PSA company in this state reaches the documentation.
    pub fn brings_data(self) -> bool {
        matches!(self, LinkState::Matched | LinkState::Created)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CompanyLink {
    pub external_id: String,
    pub state: LinkState,
    pub company_id: Option<i64>,
    pub score: Option<f64>,
    pub reason: Option<String>,
    /// The operator said `--merge`: this PSA company shares its
    /// documentation company with another of the same integration on
    /// purpose (see `companies::link_conflict`).
    pub merged: bool,
}

const COMPANY_COLUMNS: &str = "id, name, domain, phone, archived_at, created_by, created_at, updated_at,
    source_integration_id, (SELECT name FROM integrations WHERE id = source_integration_id), operator_archived,
    source_external_id";

fn company_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CompanyRow> {
    Ok(CompanyRow {
        id: r.get(0)?,
        name: r.get(1)?,
        domain: r.get(2)?,
        phone: r.get(3)?,
        archived_at: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        source_integration_id: r.get(8)?,
        source: r.get(9)?,
        operator_archived: r.get(10)?,
        source_external_id: r.get(11)?,
    })
}

impl Reader<'_> {
    // ---- companies ----

    pub fn companies(&self, include_archived: bool) -> Result<Vec<CompanyRow>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COMPANY_COLUMNS} FROM companies WHERE (?1 OR archived_at IS NULL) ORDER BY name COLLATE NOCASE, id"
        ))?;
        let rows = stmt.query_map([include_archived], company_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn company(&self, id: i64) -> Result<Option<CompanyRow>> {
        let r = self.conn().query_row(
            &format!("SELECT {COMPANY_COLUMNS} FROM companies WHERE id = ?1"),
            [id],
            company_from_row,
        );
        self.optional(r)
    }

    /// A company by id (`#12` or `12`) or by name (trimmed,
    /// case-insensitive). A name two companies share is an error listing
    /// them: picking one silently would put data on the wrong customer.
    pub fn find_company(&self, key: &str) -> Result<CompanyRow> {
        if let Ok(id) = key.trim().trim_start_matches('#').parse::<i64>()
            && let Some(c) = self.company(id)?
        {
            return Ok(c);
        }
        let mut found = self.companies_named(key)?;
        match found.len() {
            0 => Err(StoreError::NotFound { what: "company", name: key.to_string() }),
            1 => Ok(found.remove(0)),
            _ => Err(StoreError::Ambiguous {
                what: "company",
                name: key.trim().to_string(),
                candidates: found
                    .iter()
                    .map(|c| {
                        let archived = if c.archived_at.is_some() { ", archived" } else { "" };
                        format!("#{} {} ({}{archived})", c.id, c.name, c.domain.as_deref().unwrap_or("no domain"))
                    })
                    .collect(),
            }),
        }
    }

    /// Every company (archived too) whose name equals `name`, both trimmed
    /// and compared case-insensitively (Unicode, so "MÜLLER" is "Müller"),
    /// by id.
    pub fn companies_named(&self, name: &str) -> Result<Vec<CompanyRow>> {
        let key = name.trim().to_lowercase();
        // SQLite's NOCASE folds ASCII only, so names are compared here.
        let mut stmt = self.conn().prepare_cached(&format!("SELECT {COMPANY_COLUMNS} FROM companies ORDER BY id"))?;
        let rows = stmt.query_map([], company_from_row)?;
        let mut out = Vec::new();
        for row in rows {
            let row = row?;
            if row.name.trim().to_lowercase() == key {
                out.push(row);
            }
        }
        Ok(out)
    }
}

impl Tx<'_> {
    pub fn insert_company(
        &self,
        name: &str,
        domain: Option<&str>,
        phone: Option<&str>,
        created_by: &str,
    ) -> Result<i64> {
        let t = now();
        self.conn().prepare_cached("INSERT INTO companies (name, domain, phone, created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)")?.execute(params![name, domain, phone, created_by, t],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Update basic details; returns whether anything changed.
    pub fn update_company(&self, id: i64, name: &str, domain: Option<&str>, phone: Option<&str>) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE companies SET name = ?2, domain = ?3, phone = ?4, updated_at = ?5
             WHERE id = ?1 AND (name IS NOT ?2 OR domain IS NOT ?3 OR phone IS NOT ?4)",
            )?
            .execute(params![id, name, domain, phone, now()])?;
        Ok(n > 0)
    }

    /// Archive (`true`) or restore a company; returns whether it changed.
    pub fn set_company_archived(&self, id: i64, archived: bool) -> Result<bool> {
        let n = if archived {
            self.conn()
                .prepare_cached(
                    "UPDATE companies SET archived_at = ?2, updated_at = ?2 WHERE id = ?1 AND archived_at IS NULL",
                )?
                .execute(params![id, now()])?
        } else {
            self.conn()
                .prepare_cached(
                    "UPDATE companies SET archived_at = NULL, updated_at = ?2
                     WHERE id = ?1 AND archived_at IS NOT NULL AND operator_archived = 0",
                )?
                .execute(params![id, now()])?
        };
        Ok(n > 0)
    }

    /// Which PSA company (integration, PSA id) drives the company's details
    /// (`None`: the operator).
    pub fn set_company_source(&self, id: i64, source: Option<(i64, &str)>) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE companies SET source_integration_id = ?2, source_external_id = ?3, updated_at = ?4 WHERE id = ?1",
            )?
            .execute(params![id, source.map(|s| s.0), source.map(|s| s.1), now()])?;
        Ok(())
    }

    /// Take the PSA's values for name, domain and phone where they are
    /// non-empty and differ, recording each change. An empty PSA value never
    /// erases a stored one. Returns the changes made.
    pub fn update_company_from_psa(
        &self,
        id: i64,
        integration_id: i64,
        actor: &str,
        name: &str,
        domain: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Vec<CompanyChange>> {
        let Some(current) = self.company(id)? else {
            return Err(StoreError::NotFound { what: "company", name: format!("#{id}") });
        };
        let mut changes = Vec::new();
        let wanted = [
            ("name", Some(name), Some(current.name.as_str())),
            ("domain", domain, current.domain.as_deref()),
            ("phone", phone, current.phone.as_deref()),
        ];
        for (field, new, old) in wanted {
            let Some(new) = new.map(str::trim).filter(|v| !v.is_empty()) else { continue };
            if old == Some(new) {
                continue;
            }
            self.set_company_field(id, field, Some(new))?;
            let change = CompanyChange {
                field: field.into(),
                old: old.map(str::to_string),
                new: Some(new.to_string()),
                actor: actor.to_string(),
                at: now(),
            };
            self.record_company_change(id, Some(integration_id), &change)?;
            changes.push(change);
        }
        Ok(changes)
    }

    /// An operator's change to one detail (name, domain, phone), recorded.
    pub fn set_company_detail_by_operator(&self, id: i64, field: &str, value: Option<&str>) -> Result<bool> {
        let Some(current) = self.company(id)? else {
            return Err(StoreError::NotFound { what: "company", name: format!("#{id}") });
        };
        let old = match field {
            "name" => Some(current.name.clone()),
            "domain" => current.domain.clone(),
            "phone" => current.phone.clone(),
            other => return Err(StoreError::Corrupt(format!("unknown company field {other}"))),
        };
        if old.as_deref() == value {
            return Ok(false);
        }
        self.set_company_field(id, field, value)?;
        let change = CompanyChange {
            field: field.into(),
            old,
            new: value.map(str::to_string),
            actor: "operator".into(),
            at: now(),
        };
        self.record_company_change(id, None, &change)?;
        Ok(true)
    }

    fn set_company_field(&self, id: i64, field: &str, value: Option<&str>) -> Result<()> {
        let sql = match field {
            "name" => "UPDATE companies SET name = ?2, updated_at = ?3 WHERE id = ?1",
            "domain" => "UPDATE companies SET domain = ?2, updated_at = ?3 WHERE id = ?1",
            "phone" => "UPDATE companies SET phone = ?2, updated_at = ?3 WHERE id = ?1",
            other => return Err(StoreError::Corrupt(format!("unknown company field {other}"))),
        };
        self.conn().prepare_cached(sql)?.execute(params![id, value, now()])?;
        Ok(())
    }

    fn record_company_change(&self, id: i64, integration_id: Option<i64>, c: &CompanyChange) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO company_history (company_id, field, old_value, new_value, actor, integration_id, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![id, c.field, c.old, c.new, c.actor, integration_id, c.at])?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Recorded changes to a company's details, oldest first.
    pub fn company_history(&self, id: i64) -> Result<Vec<CompanyChange>> {
        let mut stmt = self.conn().prepare(
            "SELECT field, old_value, new_value, actor, at FROM company_history WHERE company_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(CompanyChange { field: r.get(0)?, old: r.get(1)?, new: r.get(2)?, actor: r.get(3)?, at: r.get(4)? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    /// The operator archives (`true`) or restores a company. A restored
    /// company is live until an apply finds all its cards archived.
    pub fn set_company_operator_archived(&self, id: i64, archived: bool) -> Result<()> {
        let t = now();
        let sql = if archived {
            "UPDATE companies SET operator_archived = 1, archived_at = COALESCE(archived_at, ?2), updated_at = ?2 WHERE id = ?1"
        } else {
            "UPDATE companies SET operator_archived = 0, archived_at = NULL, updated_at = ?2 WHERE id = ?1"
        };
        self.conn().prepare_cached(sql)?.execute(params![id, t])?;
        let change = CompanyChange {
            field: "archived".into(),
            old: Some((!archived).to_string()),
            new: Some(archived.to_string()),
            actor: "operator".into(),
            at: now(),
        };
        self.record_company_change(id, None, &change)
    }

    /// The operator archives (`true`) or restores an asset.
    pub fn set_asset_operator_archived(&self, id: i64, archived: bool) -> Result<bool> {
        let sql = if archived {
            "UPDATE assets SET operator_archived = 1, archived_at = COALESCE(archived_at, ?2), updated_at = ?2
             WHERE id = ?1 AND operator_archived = 0"
        } else {
            "UPDATE assets SET operator_archived = 0, archived_at = NULL, updated_at = ?2
             WHERE id = ?1 AND (operator_archived = 1 OR archived_at IS NOT NULL)"
        };
        Ok(self.conn().prepare_cached(sql)?.execute(params![id, now()])? > 0)
    }

    /// Move everything of company `from` onto `into` (assets, cards, links,
    /// tickets, history), then archive `from` as merged. Returns how many
    /// assets moved.
    pub fn merge_companies(&self, from: i64, into: i64) -> Result<u64> {
        let t = now();
        let moved = self.conn().execute(
            "UPDATE assets SET company_id = ?2, updated_at = ?3 WHERE company_id = ?1",
            params![from, into, t],
        )?;
        self.conn().execute(
            "UPDATE cards SET doc_id = ?2, updated_at = ?3 WHERE doc_kind = 'company' AND doc_id = ?1",
            params![from, into, t],
        )?;
        self.conn().execute(
            "UPDATE company_links SET company_id = ?2, updated_at = ?3 WHERE company_id = ?1",
            params![from, into, t],
        )?;
        // Merging companies is the operator's explicit consent that one
        // company holds several PSA companies of one integration.
        self.conn().execute(
            "UPDATE company_links SET merged = 1 WHERE company_id = ?1 AND state IN ('matched', 'created')
               AND integration_id IN (SELECT integration_id FROM company_links WHERE company_id = ?1
                                        AND state IN ('matched', 'created')
                                      GROUP BY integration_id HAVING COUNT(*) > 1)",
            params![into],
        )?;
        self.conn().execute("UPDATE tickets SET company_id = ?2 WHERE company_id = ?1", params![from, into])?;
        self.conn().execute("UPDATE company_history SET company_id = ?2 WHERE company_id = ?1", params![from, into])?;
        self.conn().execute(
            "UPDATE companies SET operator_archived = 1, archived_at = COALESCE(archived_at, ?2), updated_at = ?2
             WHERE id = ?1",
            params![from, t],
        )?;
        let change = CompanyChange {
            field: "merged".into(),
            old: Some(format!("#{from}")),
            new: Some(format!("#{into}")),
            actor: "operator".into(),
            at: t,
        };
        self.record_company_change(into, None, &change)?;
        self.record_company_change(from, None, &change)?;
        Ok(moved as u64)
    }
}

impl Reader<'_> {
    /// The integrations whose company links point at a company, with the
    /// PSA ids: (integration id, external id).
    pub fn links_to_company(&self, company_id: i64) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn().prepare(
            "SELECT integration_id, external_id FROM company_links WHERE company_id = ?1
             AND state IN ('matched', 'created') ORDER BY integration_id, external_id",
        )?;
        let rows =
            stmt.query_map([company_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    // ---- layouts ----

    pub fn layouts(&self) -> Result<Vec<LayoutRow>> {
        let mut stmt = self.conn().prepare(
            "SELECT l.id, l.name, l.active, l.identity,
                    (SELECT COUNT(*) FROM assets a WHERE a.layout_id = l.id AND a.archived_at IS NULL)
             FROM layouts l ORDER BY l.name COLLATE NOCASE",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LayoutRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    active: r.get(2)?,
                    identity: r.get(3)?,
                    assets: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn layout_by_name(&self, name: &str) -> Result<Option<LayoutRow>> {
        Ok(self.layouts()?.into_iter().find(|l| l.name.eq_ignore_ascii_case(name)))
    }
}

impl Tx<'_> {
    pub fn insert_layout(&self, name: &str, identity: IdentityField) -> Result<i64> {
        if self.layout_by_name(name)?.is_some() {
            return Err(StoreError::Exists { what: "layout", name: name.to_string() });
        }
        self.conn()
            .prepare_cached("INSERT INTO layouts (name, identity, created_at) VALUES (?1, ?2, ?3)")?
            .execute(params![name, identity, now()])?;
        Ok(self.conn().last_insert_rowid())
    }

    pub fn update_layout(&self, id: i64, identity: Option<IdentityField>, active: Option<bool>) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE layouts SET identity = COALESCE(?2, identity), active = COALESCE(?3, active) WHERE id = ?1",
            )?
            .execute(params![id, identity, active])?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Assets in a layout, archived ones included.
    pub fn layout_asset_count(&self, id: i64) -> Result<u64> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT COUNT(*) FROM assets WHERE layout_id = ?1")?
            .query_row([id], |r| r.get(0))?;
        Ok(n as u64)
    }
}

impl Tx<'_> {
    pub fn delete_layout(&self, id: i64) -> Result<()> {
        self.conn().prepare_cached("DELETE FROM layouts WHERE id = ?1")?.execute([id])?;
        Ok(())
    }

    /// The id of layout `name`, creating it when missing.
    pub fn ensure_layout(&self, name: &str, identity: IdentityField) -> Result<i64> {
        let found: Option<i64> = self
            .conn()
            .query_row("SELECT id FROM layouts WHERE name = ?1 COLLATE NOCASE", [name], |r| r.get(0))
            .optional()?;
        match found {
            Some(id) => Ok(id),
            None => self.insert_layout(name, identity),
        }
    }

    // ---- assets ----

    pub fn insert_asset(&self, company_id: i64, layout_id: i64, name: &str) -> Result<i64> {
        let t = now();
        self.conn()
            .prepare_cached(
                "INSERT INTO assets (company_id, layout_id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![company_id, layout_id, name, t])?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Move/rename an asset; returns whether anything changed.
    pub fn update_asset(&self, id: i64, company_id: i64, layout_id: i64, name: &str) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE assets SET company_id = ?2, layout_id = ?3, name = ?4, updated_at = ?5
             WHERE id = ?1 AND (company_id <> ?2 OR layout_id <> ?3 OR name <> ?4)",
            )?
            .execute(params![id, company_id, layout_id, name, now()])?;
        Ok(n > 0)
    }

    pub fn set_asset_archived(&self, id: i64, archived: bool) -> Result<bool> {
        let n = if archived {
            self.conn()
                .prepare_cached(
                    "UPDATE assets SET archived_at = ?2, updated_at = ?2 WHERE id = ?1 AND archived_at IS NULL",
                )?
                .execute(params![id, now()])?
        } else {
            self.conn()
                .prepare_cached(
                    "UPDATE assets SET archived_at = NULL, updated_at = ?2
                     WHERE id = ?1 AND archived_at IS NOT NULL AND operator_archived = 0",
                )?
                .execute(params![id, now()])?
        };
        Ok(n > 0)
    }
}

impl Reader<'_> {
    pub fn asset(&self, id: i64) -> Result<AssetRow> {
        self.assets_where("a.id = ?1", params![id])?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound { what: "asset", name: id.to_string() })
    }

    pub fn assets(&self, filter: &AssetFilter) -> Result<Vec<AssetRow>> {
        let company = match &filter.company {
            Some(key) => Some(self.find_company(key)?.id),
            None => None,
        };
        let layout = match &filter.layout {
            Some(name) => Some(
                self.layout_by_name(name)?
                    .ok_or_else(|| StoreError::NotFound { what: "layout", name: name.clone() })?
                    .id,
            ),
            None => None,
        };
        let archived = filter.archived.map(i64::from);
        self.assets_where(
            "(?1 IS NULL OR a.company_id = ?1) AND (?2 IS NULL OR a.layout_id = ?2)
             AND (?3 IS NULL OR (a.archived_at IS NOT NULL) = ?3)
             AND (?4 IS NULL OR EXISTS (SELECT 1 FROM cards k JOIN integrations i ON i.id = k.integration_id
                                        WHERE k.doc_kind = 'asset' AND k.doc_id = a.id AND i.name = ?4))",
            params![company, layout, archived, filter.integration],
        )
    }

    fn assets_where(&self, condition: &str, args: impl rusqlite::Params) -> Result<Vec<AssetRow>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {ASSET_COLUMNS}
             FROM assets a JOIN companies c ON c.id = a.company_id JOIN layouts l ON l.id = a.layout_id
             WHERE {condition}
             ORDER BY c.name COLLATE NOCASE, l.name COLLATE NOCASE, a.name COLLATE NOCASE, a.id"
        ))?;
        let rows = stmt.query_map(args, asset_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    // ---- operator fields ----

    pub fn set_asset_field(&self, asset_id: i64, field: &str, value: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO asset_fields (asset_id, field, value, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (asset_id, field) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )?
            .execute(params![asset_id, field, value, now()])?;
        Ok(())
    }

    /// Delete an operator field; returns whether it existed.
    pub fn delete_asset_field(&self, asset_id: i64, field: &str) -> Result<bool> {
        let n = self
            .conn()
            .prepare_cached("DELETE FROM asset_fields WHERE asset_id = ?1 AND field = ?2")?
            .execute(params![asset_id, field])?;
        Ok(n > 0)
    }
}

impl Reader<'_> {
    pub fn asset_fields(&self, asset_id: i64) -> Result<Vec<Field>> {
        let mut stmt =
            self.conn().prepare("SELECT field, value FROM asset_fields WHERE asset_id = ?1 ORDER BY field")?;
        let rows = stmt
            .query_map([asset_id], |r| Ok(Field { label: r.get(0)?, value: r.get(1)? }))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    // ---- cards ----

    pub fn card(&self, integration_id: i64, stream: &str, external_id: &str) -> Result<Option<CardRow>> {
        let mut rows = self.cards_where(
            "k.integration_id = ?1 AND k.stream = ?2 AND k.external_id = ?3",
            params![integration_id, stream, external_id],
        )?;
        Ok(rows.pop())
    }

    pub fn cards_of(&self, target: CardTarget, doc_id: i64) -> Result<Vec<CardRow>> {
        self.cards_where("k.doc_kind = ?1 AND k.doc_id = ?2", params![target, doc_id])
    }

    fn cards_where(&self, condition: &str, args: impl rusqlite::Params) -> Result<Vec<CardRow>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT k.id, k.integration_id, i.name, k.stream, k.external_id, k.doc_kind, k.doc_id, k.title,
                    k.fields_json, k.hash, k.archived_at
             FROM cards k JOIN integrations i ON i.id = k.integration_id WHERE {condition} ORDER BY i.name, k.id"
        ))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(CardRow {
                    id: r.get(0)?,
                    integration_id: r.get(1)?,
                    integration: r.get(2)?,
                    stream: r.get(3)?,
                    external_id: r.get(4)?,
                    target: r.get(5)?,
                    doc_id: r.get(6)?,
                    title: r.get(7)?,
                    fields: r.get::<_, Json<Vec<Field>>>(8)?.0,
                    hash: r.get(9)?,
                    archived_at: r.get(10)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Whether the stream has any card yet. Before its first apply it has
    /// none, and apply skips looking each record's card up (5% of a first
    /// apply): the mirror holds each record once, so none can appear
    /// during that apply before its own record is written.
    pub fn stream_has_cards(&self, integration_id: i64, stream: &str) -> Result<bool> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM cards WHERE integration_id = ?1 AND stream = ?2)")?;
        Ok(stmt.query_row(params![integration_id, stream], |r| r.get(0))?)
    }

    /// Where a card sits and its hash, cheaply (for apply's change detection).
    pub fn card_link(&self, integration_id: i64, stream: &str, external_id: &str) -> Result<Option<(i64, String)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT doc_id, hash FROM cards WHERE integration_id = ?1 AND stream = ?2 AND external_id = ?3",
        )?;
        Ok(stmt.query_row(params![integration_id, stream, external_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
    }
}

impl Tx<'_> {
    /// Insert or update one card; an archived card keeps the time it was
    /// first archived.
    pub fn put_card(&self, integration_id: i64, card: &CardWrite<'_>) -> Result<()> {
        let CardWrite { stream, external_id, target, doc_id, title, fields_json: fields, hash, identity, archived } =
            *card;
        let t = now();
        let archived_at = archived.then(|| t.clone());
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO cards (integration_id, stream, external_id, doc_kind, doc_id, title, fields_json, hash,
                                identity, archived_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?11, ?9, ?10)
             ON CONFLICT (integration_id, stream, external_id) DO UPDATE SET doc_kind = excluded.doc_kind,
               doc_id = excluded.doc_id, title = excluded.title, fields_json = excluded.fields_json,
               hash = excluded.hash, identity = excluded.identity, archived_at = CASE WHEN excluded.archived_at IS NULL THEN NULL
                                                       ELSE COALESCE(cards.archived_at, excluded.archived_at) END,
               updated_at = excluded.updated_at",
        )?;
        stmt.execute(params![
            integration_id,
            stream,
            external_id,
            target,
            doc_id,
            title,
            fields,
            hash,
            archived_at,
            t,
            identity
        ])?;
        Ok(())
    }
}

pub(super) const ASSET_BY_IDENTITY: &str =
    "SELECT MIN(k.doc_id) FROM cards k INDEXED BY cards_identity JOIN assets a ON a.id = k.doc_id
     WHERE k.identity = ?1 AND k.doc_kind = 'asset' AND a.company_id = ?2 AND k.integration_id <> ?3
       AND NOT EXISTS (SELECT 1 FROM cards o WHERE o.doc_kind = 'asset' AND o.doc_id = k.doc_id
                       AND o.integration_id = ?3 AND o.archived_at IS NULL)";

impl Reader<'_> {
    /// An asset of `company_id` carrying another integration's card for the
    /// same device identity, and no live card of this integration: one asset
    /// holds at most one live record of each PSA, so two records of one PSA
    /// never merge (whichever PSA synced first).
    pub fn asset_by_identity(&self, company_id: i64, identity: &str, not_integration: i64) -> Result<Option<i64>> {
        let mut stmt = self.conn().prepare_cached(ASSET_BY_IDENTITY)?;
        Ok(stmt.query_row(params![identity, company_id, not_integration], |r| r.get::<_, Option<i64>>(0))?)
    }

    /// Whether another integration has a card with a device or person
    /// identity on an asset. When none has, no record of this integration
    /// can merge onto an existing asset, and apply skips the lookup per
    /// record (12% of a first apply). Cheap: probes each other
    /// integration's cards by their leading key.
    pub fn others_have_asset_identities(&self, integration_id: i64) -> Result<bool> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM integrations i WHERE i.id <> ?1 AND EXISTS (
                SELECT 1 FROM cards c WHERE c.integration_id = i.id AND c.doc_kind = 'asset'
                                        AND c.identity IS NOT NULL))",
        )?;
        Ok(stmt.query_row(params![integration_id], |r| r.get(0))?)
    }

    /// Whether a live card of an earlier-connected integration (lower id)
    /// sits on the asset: that integration places it.
    pub fn asset_placed_by_earlier(&self, asset_id: i64, integration_id: i64) -> Result<bool> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM cards WHERE doc_kind = 'asset' AND doc_id = ?1
                              AND archived_at IS NULL AND integration_id < ?2)",
        )?;
        Ok(stmt.query_row(params![asset_id, integration_id], |r| r.get(0))?)
    }
}

impl Tx<'_> {
    /// This integration's card left an asset or was archived there: the
    /// other integrations' live cards on it are projected again at their
    /// next apply (their hash reset, their applied state forgotten), so the
    /// earliest of them that is still live places the asset — the same
    /// result as if this card had never been there.
    pub fn unsettle_others_on(&self, asset_id: i64, integration_id: i64) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE integrations SET applied_seq = NULL, applied_inputs = NULL
                 WHERE id IN (SELECT integration_id FROM cards WHERE doc_kind = 'asset' AND doc_id = ?1
                                AND integration_id <> ?2 AND archived_at IS NULL)",
            )?
            .execute(params![asset_id, integration_id])?;
        self.conn()
            .prepare_cached(
                "UPDATE cards SET hash = 'replace' WHERE doc_kind = 'asset' AND doc_id = ?1
                   AND integration_id <> ?2 AND archived_at IS NULL",
            )?
            .execute(params![asset_id, integration_id])?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Whether another integration has a live card on the asset.
    pub fn asset_shared_with_others(&self, asset_id: i64, integration_id: i64) -> Result<bool> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM cards WHERE doc_kind = 'asset' AND doc_id = ?1
                              AND archived_at IS NULL AND integration_id <> ?2)",
        )?;
        Ok(stmt.query_row(params![asset_id, integration_id], |r| r.get(0))?)
    }

    /// The device identity a card was placed by.
    pub fn card_identity(&self, integration_id: i64, stream: &str, external_id: &str) -> Result<Option<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT identity FROM cards WHERE integration_id = ?1 AND stream = ?2 AND external_id = ?3",
        )?;
        Ok(stmt.query_row(params![integration_id, stream, external_id], |r| r.get(0)).optional()?.flatten())
    }

    /// Whether every card on a document is archived (none live).
    pub fn all_cards_archived(&self, target: CardTarget, doc_id: i64) -> Result<bool> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(archived_at IS NULL), 0) FROM cards WHERE doc_kind = ?1 AND doc_id = ?2",
        )?;
        let (total, live): (i64, i64) = stmt.query_row(params![target, doc_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(total > 0 && live == 0)
    }

    /// The layout's identity field (serial, mac or name).
    pub fn layout_identity(&self, layout_id: i64) -> Result<IdentityField> {
        let mut stmt = self.conn().prepare_cached("SELECT identity FROM layouts WHERE id = ?1")?;
        Ok(stmt.query_row([layout_id], |r| r.get(0)).optional()?.unwrap_or(IdentityField::Serial))
    }

    /// The layout's id by name, when it exists and is active.
    pub fn active_layout_id(&self, name: &str) -> Result<Option<i64>> {
        let mut stmt =
            self.conn().prepare_cached("SELECT id FROM layouts WHERE name = ?1 COLLATE NOCASE AND active = 1")?;
        Ok(stmt.query_row([name], |r| r.get(0)).optional()?)
    }

    /// An asset's company, layout and name.
    pub fn asset_placement(&self, id: i64) -> Result<Option<(i64, i64, String)>> {
        let mut stmt = self.conn().prepare_cached("SELECT company_id, layout_id, name FROM assets WHERE id = ?1")?;
        Ok(stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?)
    }
}

impl Tx<'_> {}

impl Reader<'_> {
    // ---- company links ----

    pub fn company_link(&self, integration_id: i64, external_id: &str) -> Result<Option<CompanyLink>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT external_id, state, company_id, score, reason, merged FROM company_links
             WHERE integration_id = ?1 AND external_id = ?2",
        )?;
        Ok(stmt.query_row(params![integration_id, external_id], link_from_row).optional()?)
    }

    pub fn company_links(&self, integration_id: i64) -> Result<Vec<CompanyLink>> {
        let mut stmt = self.conn().prepare(
            "SELECT external_id, state, company_id, score, reason, merged FROM company_links WHERE integration_id = ?1",
        )?;
        let rows = stmt.query_map([integration_id], link_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    pub fn put_company_link(&self, integration_id: i64, link: &CompanyLink) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO company_links (integration_id, external_id, state, company_id, score, reason, updated_at, merged)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (integration_id, external_id) DO UPDATE SET state = excluded.state,
               company_id = excluded.company_id, score = excluded.score, reason = excluded.reason,
               updated_at = excluded.updated_at, merged = excluded.merged",
        )?;
        stmt.execute(params![
            integration_id,
            link.external_id,
            link.state.as_str(),
            link.company_id,
            link.score,
            link.reason,
            now(),
            link.merged
        ])?;
        Ok(())
    }
}

impl Reader<'_> {
    /// The links of one integration that bring data into `company_id`
    /// (matched or created), by PSA id.
    pub fn links_bringing_data_to(&self, integration_id: i64, company_id: i64) -> Result<Vec<CompanyLink>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT external_id, state, company_id, score, reason, merged FROM company_links
             WHERE integration_id = ?1 AND company_id = ?2 AND state IN ('matched', 'created')
             ORDER BY external_id",
        )?;
        let rows = stmt
            .query_map(params![integration_id, company_id], link_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

fn link_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CompanyLink> {
    Ok(CompanyLink {
        external_id: r.get(0)?,
        state: r.get(1)?,
        company_id: r.get(2)?,
        score: r.get(3)?,
        reason: r.get(4)?,
        merged: r.get(5)?,
    })
}
