//! What the operator console (`ferry serve`) keeps besides the engine's
//! tables: the admin token's hash, install-wide settings, notifications of
//! failed scheduled runs; and the paginated and search queries its pages
//! need (a company page with thousands of assets reads one page of them).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::docs::{ASSET_COLUMNS, asset_from_row};
use super::{AssetRow, CardTarget, CompanyRow, Reader, Result, RunStatus, Trigger, Tx, now};

/// A failed or partial scheduled run the operator has been (or is being)
/// told about.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: i64,
    pub run_id: i64,
    pub integration: String,
    pub status: RunStatus,
    pub error: Option<String>,
    pub finished_at: Option<String>,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub delivered_at: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// A scheduled run that ended failed or partial and has no notification yet.
#[derive(Debug, Clone)]
pub struct RunToNotify {
    pub run_id: i64,
    pub integration: String,
    pub status: RunStatus,
    pub error: Option<String>,
    pub finished_at: Option<String>,
}

/// One hit of the console's global search.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub kind: CardTarget,
    pub id: i64,
    pub name: String,
    /// The company an asset belongs to.
    pub company: Option<String>,
    pub layout: Option<String>,
    /// The card value that matched (a serial, MAC, email...), when the
    /// match was not on the name.
    pub matched: Option<String>,
    pub archived: bool,
}

const NOTIFICATION_COLUMNS: &str = "id, run_id, integration, status, error, finished_at, created_at, acknowledged_at,
    delivered_at, attempts, last_error";

fn notification_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        run_id: r.get(1)?,
        integration: r.get(2)?,
        status: r.get(3)?,
        error: r.get(4)?,
        finished_at: r.get(5)?,
        created_at: r.get(6)?,
        acknowledged_at: r.get(7)?,
        delivered_at: r.get(8)?,
        attempts: r.get::<_, i64>(9)? as u32,
        last_error: r.get(10)?,
    })
}

/// `LIKE` pattern for a substring, with the wildcards in it escaped.
fn like(q: &str) -> String {
    let escaped = q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The console's admin token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleToken {
    /// Its argon2 hash (a PHC string with a random salt, so every new token
    /// has a new one: the console compares it to notice a rotation).
    pub hash: String,
    /// A short check of its SHA-256 (hex), absent on tokens made before it
    /// existed.
    pub quick_check: Option<String>,
}

impl Reader<'_> {
    /// The argon2 hash of the console's admin token, if one was created.
    pub fn console_token_hash(&self) -> Result<Option<String>> {
        Ok(self.console_token()?.map(|t| t.hash))
    }

    /// The console's admin token (its hash and quick check), if one was
    /// created. Read on every console request, so a token replaced by
    /// another process is seen at once.
    pub fn console_token(&self) -> Result<Option<ConsoleToken>> {
        Ok(self
            .conn()
            .query_row("SELECT hash, quick_check FROM console_tokens ORDER BY id DESC LIMIT 1", [], |r| {
                Ok(ConsoleToken { hash: r.get(0)?, quick_check: r.get(1)? })
            })
            .optional()?)
    }

    pub fn console_setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM console_settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// The newest run id (0 without runs): where notifications start on a
    /// database that has history, so old failures do not all fire at once.
    pub fn latest_run_id(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT COALESCE(MAX(id), 0) FROM runs", [], |r| r.get(0))?)
    }

    /// Scheduled runs after `after_run` that ended failed or partial and
    /// have no notification yet.
    pub fn runs_to_notify(&self, after_run: i64) -> Result<Vec<RunToNotify>> {
        let mut stmt = self.conn().prepare(
            "SELECT r.id, i.name, r.status, r.error, r.finished_at
             FROM runs r JOIN integrations i ON i.id = r.integration_id
             WHERE r.id > ?1 AND r.status IN (?2, ?3) AND r.finished_at IS NOT NULL
               AND r.trigger IN (?4, ?5)
               AND NOT EXISTS (SELECT 1 FROM console_notifications n WHERE n.run_id = r.id)
             ORDER BY r.id",
        )?;
        let rows = stmt
            .query_map(
                params![after_run, RunStatus::Failed, RunStatus::Partial, Trigger::Schedule, Trigger::DaemonStart],
                |r| {
                    Ok(RunToNotify {
                        run_id: r.get(0)?,
                        integration: r.get(1)?,
                        status: r.get(2)?,
                        error: r.get(3)?,
                        finished_at: r.get(4)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Notifications not acknowledged yet, newest first.
    pub fn open_notifications(&self) -> Result<Vec<Notification>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM console_notifications WHERE acknowledged_at IS NULL ORDER BY id DESC"
        ))?;
        let rows = stmt.query_map([], notification_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn notification(&self, id: i64) -> Result<Option<Notification>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {NOTIFICATION_COLUMNS} FROM console_notifications WHERE id = ?1"),
                [id],
                notification_from_row,
            )
            .optional()?)
    }

    /// One page of companies whose name contains `q` (all with `None`),
    /// with the number of all that match.
    pub fn companies_page(
        &self,
        q: Option<&str>,
        include_archived: bool,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<CompanyRow>, u64)> {
        let pattern = q.filter(|q| !q.trim().is_empty()).map(like);
        let total: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM companies WHERE (?1 OR archived_at IS NULL)
               AND (?2 IS NULL OR name LIKE ?2 ESCAPE '\\')",
            params![include_archived, pattern],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn().prepare(
            "SELECT id FROM companies WHERE (?1 OR archived_at IS NULL) AND (?2 IS NULL OR name LIKE ?2 ESCAPE '\\')
             ORDER BY name COLLATE NOCASE, id LIMIT ?3 OFFSET ?4",
        )?;
        let ids = stmt
            .query_map(params![include_archived, pattern, limit as i64, offset as i64], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = self.company(id)? {
                rows.push(c);
            }
        }
        Ok((rows, total as u64))
    }

    /// One page of a company's assets (live, or archived with
    /// `archived`), ordered by layout and name, with the number of all.
    /// The page's ids are picked first, so only its rows pay for their
    /// sources (a deep page of 5,000 assets stays cheap).
    pub fn company_assets_page(
        &self,
        company_id: i64,
        archived: bool,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<AssetRow>, u64)> {
        let total: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM assets WHERE company_id = ?1 AND (archived_at IS NOT NULL) = ?2",
            params![company_id, archived],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {ASSET_COLUMNS}
             FROM (SELECT a.id FROM assets a JOIN layouts l ON l.id = a.layout_id
                    WHERE a.company_id = ?1 AND (a.archived_at IS NOT NULL) = ?2
                    ORDER BY l.name COLLATE NOCASE, a.name COLLATE NOCASE, a.id LIMIT ?3 OFFSET ?4) page
             JOIN assets a ON a.id = page.id JOIN companies c ON c.id = a.company_id JOIN layouts l ON l.id = a.layout_id
             ORDER BY l.name COLLATE NOCASE, a.name COLLATE NOCASE, a.id",
        ))?;
        let rows = stmt
            .query_map(params![company_id, archived, limit as i64, offset as i64], asset_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, total as u64))
    }

    /// How many live assets a company holds (counted, not loaded).
    pub fn company_live_assets(&self, company_id: i64) -> Result<u64> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM assets WHERE company_id = ?1 AND archived_at IS NULL",
            [company_id],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Live asset counts of a company per layout.
    pub fn company_layout_counts(&self, company_id: i64) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn().prepare(
            "SELECT l.name, COUNT(*) FROM assets a JOIN layouts l ON l.id = a.layout_id
             WHERE a.company_id = ?1 AND a.archived_at IS NULL GROUP BY l.id ORDER BY l.name COLLATE NOCASE",
        )?;
        let rows = stmt
            .query_map([company_id], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The documentation company or asset a PSA record became: a company
    /// through its link (or card), an asset through its card.
    pub fn doc_id_of_psa_record(
        &self,
        integration_id: i64,
        kind: CardTarget,
        external_id: &str,
    ) -> Result<Option<i64>> {
        if kind == CardTarget::Company
            && let Some(id) = self
                .conn()
                .query_row(
                    "SELECT company_id FROM company_links WHERE integration_id = ?1 AND external_id = ?2
                       AND company_id IS NOT NULL AND state IN ('matched', 'created')",
                    params![integration_id, external_id],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
        {
            return Ok(Some(id));
        }
        Ok(self
            .conn()
            .query_row(
                "SELECT doc_id FROM cards WHERE integration_id = ?1 AND external_id = ?2 AND doc_kind = ?3
                 ORDER BY (stream IN ('companies', 'assets')) DESC, id LIMIT 1",
                params![integration_id, external_id, kind],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Companies and assets whose name, or a value on one of their PSA
    /// cards or operator fields (serial, MAC, email...), contains `q`. A MAC
    /// address matches in any notation (see [`search_terms`]).
    pub fn search(&self, q: &str, limit: u64) -> Result<Vec<SearchHit>> {
        let terms = search_terms(q);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let patterns: Vec<String> = terms.iter().map(|t| like(t)).collect();
        // `col LIKE ?1 ESCAPE '\' OR col LIKE ?2 ...`, one per term.
        let any = |col: &str| {
            let each: Vec<String> = (1..=patterns.len()).map(|i| format!("{col} LIKE ?{i} ESCAPE '\\'")).collect();
            format!("({})", each.join(" OR "))
        };
        let limit_param = patterns.len() + 1;
        let limit = limit as i64;
        let mut values: Vec<&dyn rusqlite::ToSql> = patterns.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
        values.push(&limit);
        let mut hits = Vec::new();
        let mut stmt = self.conn().prepare(&format!(
            "SELECT id, name, archived_at IS NOT NULL FROM companies WHERE {}
             ORDER BY archived_at IS NOT NULL, name COLLATE NOCASE LIMIT ?{limit_param}",
            any("name")
        ))?;
        for row in stmt.query_map(values.as_slice(), |r| {
            Ok(SearchHit {
                kind: CardTarget::Company,
                id: r.get(0)?,
                name: r.get(1)?,
                company: None,
                layout: None,
                matched: None,
                archived: r.get(2)?,
            })
        })? {
            hits.push(row?);
        }
        // Assets by name, by a card value or by an operator field; the
        // value that matched is picked out of the card in Rust.
        let mut stmt = self.conn().prepare(&format!(
            "SELECT a.id, a.name, c.name, l.name, a.archived_at IS NOT NULL,
                    (SELECT k.fields_json FROM cards k WHERE k.doc_kind = 'asset' AND k.doc_id = a.id
                       AND {card} LIMIT 1),
                    (SELECT f.value FROM asset_fields f WHERE f.asset_id = a.id AND {field} LIMIT 1)
             FROM assets a JOIN companies c ON c.id = a.company_id JOIN layouts l ON l.id = a.layout_id
             WHERE {name}
                OR EXISTS (SELECT 1 FROM cards k WHERE k.doc_kind = 'asset' AND k.doc_id = a.id AND {card})
                OR EXISTS (SELECT 1 FROM asset_fields f WHERE f.asset_id = a.id AND {field})
             ORDER BY a.archived_at IS NOT NULL, a.name COLLATE NOCASE LIMIT ?{limit_param}",
            card = any("k.fields_json"),
            field = any("f.value"),
            name = any("a.name"),
        ))?;
        let needles: Vec<String> = terms.iter().map(|t| t.to_lowercase()).collect();
        let contains = |text: &str| {
            let text = text.to_lowercase();
            needles.iter().any(|n| text.contains(n.as_str()))
        };
        for row in stmt.query_map(values.as_slice(), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })? {
            let (id, name, company, layout, archived, card, field) = row?;
            let matched = if contains(&name) {
                None
            } else {
                card.and_then(|json| serde_json::from_str::<Vec<crate::model::Field>>(&json).ok())
                    .and_then(|fields| {
                        fields.into_iter().find(|f| contains(&f.value)).map(|f| format!("{}: {}", f.label, f.value))
                    })
                    .or(field)
            };
            hits.push(SearchHit {
                kind: CardTarget::Asset,
                id,
                name,
                company: Some(company),
                layout: Some(layout),
                matched,
                archived,
            });
        }
        Ok(hits)
    }
}

/// What a search for `q` looks for: `q` itself (trimmed), and when it is a
/// MAC address in any notation (`6D2B7AD2F11C`, `6d-2b-…`, `6d:2b:…`,
/// `6d2b.7ad2.f11c`), the address in each notation PSAs store it in — an
/// operator pastes whatever their tool shows. `LIKE` ignores ASCII case.
pub(super) fn search_terms(q: &str) -> Vec<String> {
    let q = q.trim();
    if q.is_empty() {
        return Vec::new();
    }
    let mut terms = vec![q.to_string()];
    let hex: String = q.chars().filter(|c| !matches!(c, ':' | '-' | '.' | ' ')).collect();
    let separators_only = q.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '-' | '.' | ' '));
    if hex.len() == 12 && separators_only && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let hex = hex.to_ascii_uppercase();
        let pairs: Vec<&str> = (0..6).map(|i| &hex[2 * i..2 * i + 2]).collect();
        let quads: Vec<&str> = (0..3).map(|i| &hex[4 * i..4 * i + 4]).collect();
        for notation in [pairs.join(":"), pairs.join("-"), quads.join("."), hex.clone()] {
            if !terms.iter().any(|t| t.eq_ignore_ascii_case(&notation)) {
                terms.push(notation);
            }
        }
    }
    terms
}

impl Tx<'_> {
    /// Replace the admin token (only its hash is stored).
    pub fn set_console_token_hash(&self, hash: &str) -> Result<()> {
        self.set_console_token(hash, None)
    }

    /// Replace the admin token by its hash and quick check.
    pub fn set_console_token(&self, hash: &str, quick_check: Option<&str>) -> Result<()> {
        self.conn().execute("DELETE FROM console_tokens", [])?;
        self.conn().execute(
            "INSERT INTO console_tokens (hash, quick_check, created_at) VALUES (?1, ?2, ?3)",
            params![hash, quick_check, now()],
        )?;
        Ok(())
    }

    /// Add the quick check to a token stored without one, unless the token
    /// was replaced meanwhile.
    pub fn fill_console_token_check(&self, hash: &str, quick_check: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE console_tokens SET quick_check = ?2 WHERE hash = ?1 AND quick_check IS NULL",
            params![hash, quick_check],
        )?;
        Ok(())
    }

    /// Set (or with `None` delete) an install-wide console setting.
    pub fn set_console_setting(&self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.conn().execute(
                "INSERT INTO console_settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, v],
            )?,
            None => self.conn().execute("DELETE FROM console_settings WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    pub fn insert_notification(&self, run: &RunToNotify) -> Result<i64> {
        self.conn().execute(
            "INSERT OR IGNORE INTO console_notifications (run_id, integration, status, error, finished_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![run.run_id, run.integration, run.status, run.error, run.finished_at, now()],
        )?;
        Ok(self
            .conn()
            .query_row("SELECT id FROM console_notifications WHERE run_id = ?1", [run.run_id], |r| r.get(0))?)
    }

    /// Returns whether there was an open notification to acknowledge.
    pub fn acknowledge_notification(&self, id: i64) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE console_notifications SET acknowledged_at = ?2 WHERE id = ?1 AND acknowledged_at IS NULL",
            params![id, now()],
        )?;
        Ok(n > 0)
    }

    /// Record one webhook delivery attempt.
    pub fn record_delivery(&self, id: i64, delivered: bool, error: Option<&str>) -> Result<()> {
        self.conn().execute(
            "UPDATE console_notifications SET attempts = attempts + 1,
                    delivered_at = CASE WHEN ?2 THEN ?3 ELSE delivered_at END, last_error = ?4
             WHERE id = ?1",
            params![id, delivered, now(), error],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::search_terms;
    use crate::store::tests::temp_store;

    #[test]
    fn settings_and_token_round_trip() {
        let (_dir, mut store) = temp_store();
        assert_eq!(store.read().console_token_hash().expect("read"), None);
        store.transaction(|tx| tx.set_console_token_hash("h1")).expect("write");
        store.transaction(|tx| tx.set_console_token_hash("h2")).expect("write");
        assert_eq!(store.read().console_token_hash().expect("read").as_deref(), Some("h2"));
        store.transaction(|tx| tx.set_console_setting("webhook_url", Some("http://x"))).expect("write");
        assert_eq!(store.read().console_setting("webhook_url").expect("read").as_deref(), Some("http://x"));
        store.transaction(|tx| tx.set_console_setting("webhook_url", None)).expect("write");
        assert_eq!(store.read().console_setting("webhook_url").expect("read"), None);
    }

    #[test]
    fn a_mac_address_is_found_in_any_notation() {
        let (_dir, mut store) = temp_store();
        store
            .transaction(|tx| {
                let c = tx.insert_company("Ortiz Dental", None, None, "operator")?;
                let l = tx.ensure_layout("Computers", crate::rules::IdentityField::Serial)?;
                let a = tx.insert_asset(c, l, "odg-pc-01")?;
                tx.set_asset_field(a, "MAC", "6D:2B:7A:D2:F1:1C")?;
                let b = tx.insert_asset(c, l, "odg-pc-02")?;
                tx.set_asset_field(b, "MAC", "6d2b.7ad2.f100")?;
                Ok(())
            })
            .expect("seed");
        for q in ["6D2B7AD2F11C", "6d-2b-7a-d2-f1-1c", "6d:2b:7a:d2:f1:1c", "6d2b.7ad2.f11c", " 6D:2B:7A:D2:F1:1C "] {
            let hits = store.read().search(q, 10).expect("search");
            assert_eq!(hits.len(), 1, "{q}: {hits:?}");
            assert_eq!(hits[0].name, "odg-pc-01");
            assert_eq!(hits[0].matched.as_deref(), Some("6D:2B:7A:D2:F1:1C"), "{q}");
        }
        let hits = store.read().search("6D-2B-7A-D2-F1-00", 10).expect("search");
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].name, "odg-pc-02");
        // Not a MAC: searched as typed.
        assert_eq!(search_terms("odg-pc"), vec!["odg-pc".to_string()]);
        assert_eq!(search_terms("6D2B7AD2F11"), vec!["6D2B7AD2F11".to_string()]);
        assert!(search_terms("  ").is_empty());
    }

    #[test]
    fn search_finds_names_and_escapes_wildcards() {
        let (_dir, mut store) = temp_store();
        store
            .transaction(|tx| {
                let c = tx.insert_company("Ortiz 100% Dental", None, None, "operator")?;
                tx.insert_company("Other", None, None, "operator")?;
                let l = tx.ensure_layout("Computers", crate::rules::IdentityField::Serial)?;
                let a = tx.insert_asset(c, l, "odg-pc-01")?;
                tx.set_asset_field(a, "Rack", "R1-U12")?;
                Ok(())
            })
            .expect("seed");
        let hits = store.read().search("100%", 10).expect("search");
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].kind, crate::store::CardTarget::Company);
        assert!(store.read().search("_", 10).expect("search").is_empty(), "`_` is not a wildcard");
        let hits = store.read().search("r1-u12", 10).expect("search");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].matched.as_deref(), Some("R1-U12"));
        let (page, total) = store.read().companies_page(Some("o"), false, 0, 1).expect("page");
        assert_eq!((page.len(), total), (1, 2));
    }
}
