//! The PSA mirror: every record a PSA has shown, as canonical JSON with a
//! content hash. Change detection compares hashes, so an unchanged re-sync
//! only moves bookkeeping columns. Deletion is decided per full listing: a
//! record not seen by a *complete* listing is marked deleted, never removed.
//!
//! Every insert, content change and deletion mark takes the next number of
//! one mirror-wide sequence (`mirror_sequence`), inside the transaction that
//! writes it. Writers are serialised by SQLite's IMMEDIATE transactions, so
//! sequence order is commit order: an apply that recorded sequence S has
//! seen exactly the changes numbered up to S, whichever run wrote them and
//! whether or not that run was still going.

use rusqlite::{OptionalExtension, params};

use super::{Reader, Result, Tx, now};
use crate::model::StreamId;

/// One record to write.
#[derive(Debug, Clone)]
pub struct MirrorWrite {
    pub external_id: String,
    pub company_ext_id: Option<String>,
    pub hash: String,
    pub data: String,
    pub psa_updated_at: Option<String>,
}

/// What a page did to the mirror.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageOutcome {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

#[derive(Debug, Clone)]
pub struct MirrorRow {
    pub external_id: String,
    pub company_ext_id: Option<String>,
    pub data: String,
    pub deleted_at: Option<String>,
    /// Position of the row's last change in the mirror sequence.
    pub change_seq: i64,
}

fn mirror_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MirrorRow> {
    Ok(MirrorRow {
        external_id: row.get(0)?,
        company_ext_id: row.get(1)?,
        data: row.get(2)?,
        deleted_at: row.get(3)?,
        change_seq: row.get(4)?,
    })
}

impl Tx<'_> {
    /// Upsert one page of records. `listing` is the full listing this page
    /// belongs to (`None` for incremental reads, which prove nothing about
    /// records they did not return).
    pub fn write_page(
        &self,
        integration_id: i64,
        stream: &str,
        run_id: i64,
        listing: Option<i64>,
        records: &[MirrorWrite],
    ) -> Result<PageOutcome> {
        let mut outcome = PageOutcome::default();
        let mut seq = Sequence::start(self)?;
        let mut find = self.conn().prepare_cached(
            "SELECT id, hash, deleted_at IS NOT NULL FROM mirror
             WHERE integration_id = ?1 AND stream = ?2 AND external_id = ?3",
        )?;
        let mut insert = self.conn().prepare_cached(
            "INSERT INTO mirror (integration_id, stream, external_id, company_ext_id, hash, data, psa_updated_at,
                                 first_seen_run, last_seen_run, changed_run, listing, change_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8, ?9, ?10)",
        )?;
        let mut touch = self
            .conn()
            .prepare_cached("UPDATE mirror SET last_seen_run = ?2, listing = COALESCE(?3, listing) WHERE id = ?1")?;
        let mut change = self.conn().prepare_cached(
            "UPDATE mirror SET company_ext_id = ?2, hash = ?3, data = ?4, psa_updated_at = ?5,
                    last_seen_run = ?6, changed_run = ?6, listing = COALESCE(?7, listing), deleted_at = NULL,
                    change_seq = ?8
             WHERE id = ?1",
        )?;
        for r in records {
            let existing: Option<(i64, String, bool)> = find
                .query_row(params![integration_id, stream, r.external_id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()?;
            match existing {
                None => {
                    insert.execute(params![
                        integration_id,
                        stream,
                        r.external_id,
                        r.company_ext_id,
                        r.hash,
                        r.data,
                        r.psa_updated_at,
                        run_id,
                        listing,
                        seq.next()
                    ])?;
                    outcome.created += 1;
                }
                Some((id, hash, deleted)) if hash == r.hash && !deleted => {
                    touch.execute(params![id, run_id, listing])?;
                    outcome.unchanged += 1;
                }
                Some((id, _, _)) => {
                    change.execute(params![
                        id,
                        r.company_ext_id,
                        r.hash,
                        r.data,
                        r.psa_updated_at,
                        run_id,
                        listing,
                        seq.next()
                    ])?;
                    outcome.updated += 1;
                }
            }
        }
        seq.finish(self)?;
        Ok(outcome)
    }

    /// After listing `listing` of a stream completed: mark what it did not
    /// see as deleted. Returns how many records were newly marked.
    ///
    /// A deletion is a change: it takes a sequence number, so an apply of
    /// changes sees it.
    pub fn mark_unseen_deleted(&self, integration_id: i64, stream: &str, listing: i64, run: i64) -> Result<u64> {
        let unseen: Vec<i64> = self
            .conn()
            .prepare_cached(
                "SELECT id FROM mirror
             WHERE integration_id = ?1 AND stream = ?2 AND deleted_at IS NULL
               AND (listing IS NULL OR listing <> ?3)
             ORDER BY id",
            )?
            .query_map(params![integration_id, stream, listing], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut seq = Sequence::start(self)?;
        let mut mark = self
            .conn()
            .prepare_cached("UPDATE mirror SET deleted_at = ?2, changed_run = ?3, change_seq = ?4 WHERE id = ?1")?;
        let at = now();
        for id in &unseen {
            mark.execute(params![id, at, run, seq.next()])?;
        }
        seq.finish(self)?;
        Ok(unseen.len() as u64)
    }
}

impl Reader<'_> {
    /// The stream's records changed after sequence number `since`, and every
    /// record of the PSA companies in `companies` (whose owner may have
    /// changed).
    pub fn for_each_mirror_changed(
        &self,
        integration_id: i64,
        stream: &str,
        since: i64,
        companies: &std::collections::HashSet<String>,
        mut f: impl FnMut(MirrorRow) -> Result<()>,
    ) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        let mut changed = self.conn().prepare_cached(
            "SELECT external_id, company_ext_id, data, deleted_at, change_seq FROM mirror
             WHERE integration_id = ?1 AND stream = ?2 AND change_seq > ?3 ORDER BY id",
        )?;
        let mut rows = changed.query(params![integration_id, stream, since])?;
        while let Some(row) = rows.next()? {
            let r = mirror_row(row)?;
            seen.insert(r.external_id.clone());
            f(r)?;
        }
        let mut of_company = self.conn().prepare_cached(
            "SELECT external_id, company_ext_id, data, deleted_at, change_seq FROM mirror
             WHERE integration_id = ?1 AND stream = ?2 AND company_ext_id = ?3 ORDER BY id",
        )?;
        let mut companies: Vec<&String> = companies.iter().collect();
        companies.sort();
        for company in companies {
            let mut rows = of_company.query(params![integration_id, stream, company])?;
            while let Some(row) = rows.next()? {
                let r = mirror_row(row)?;
                if seen.insert(r.external_id.clone()) {
                    f(r)?;
                }
            }
        }
        Ok(())
    }

    /// The last mirror sequence number handed out and committed, as this
    /// transaction sees it: every change numbered up to it is visible here,
    /// none after it is.
    pub fn mirror_sequence(&self) -> Result<i64> {
        Ok(self.conn().prepare_cached("SELECT value FROM mirror_sequence WHERE id = 1")?.query_row([], |r| r.get(0))?)
    }

    /// Visit the mirror rows of one stream in external-id order, without
    /// loading the whole stream.
    pub fn for_each_mirror(
        &self,
        integration_id: i64,
        stream: &str,
        mut f: impl FnMut(MirrorRow) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT external_id, company_ext_id, data, deleted_at, change_seq FROM mirror
             WHERE integration_id = ?1 AND stream = ?2 ORDER BY id",
        )?;
        let mut rows = stmt.query(params![integration_id, stream])?;
        while let Some(row) = rows.next()? {
            f(mirror_row(row)?)?;
        }
        Ok(())
    }

    /// Up to `limit` mirror rows of a stream after row `after` (0: from the
    /// start), in row order, with the last row's id to continue from. Apply
    /// reads whole streams this way, so its memory does not grow with the
    /// mirror.
    pub fn mirror_chunk(
        &self,
        integration_id: i64,
        stream: &str,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<MirrorRow>, Option<i64>)> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT external_id, company_ext_id, data, deleted_at, change_seq, id FROM mirror
             WHERE integration_id = ?1 AND stream = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
        )?;
        let mut rows = stmt.query(params![integration_id, stream, after, limit as i64])?;
        let mut out = Vec::with_capacity(limit.min(4096));
        let mut last = None;
        while let Some(row) = rows.next()? {
            out.push(mirror_row(row)?);
            last = Some(row.get::<_, i64>(5)?);
        }
        Ok((out, last))
    }

    pub fn mirror_row(&self, integration_id: i64, stream: &str, external_id: &str) -> Result<Option<MirrorRow>> {
        let r = self
            .conn()
            .prepare_cached(
                "SELECT external_id, company_ext_id, data, deleted_at, change_seq FROM mirror
             WHERE integration_id = ?1 AND stream = ?2 AND external_id = ?3",
            )?
            .query_row(params![integration_id, stream, external_id], mirror_row);
        self.optional(r)
    }

    /// The extra streams (contract 0.3) this integration's mirror holds
    /// records of, in name order.
    pub fn mirror_extra_streams(&self, integration_id: i64) -> Result<Vec<StreamId>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT stream FROM mirror WHERE integration_id = ?1 AND stream LIKE 'extra:%' ORDER BY stream",
        )?;
        let rows = stmt.query_map([integration_id], |r| r.get::<_, StreamId>(0))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Live (not deleted) records per stream.
    pub fn mirror_counts(&self, integration_id: i64) -> Result<Vec<(StreamId, u64)>> {
        let mut stmt = self.conn().prepare(
            "SELECT stream, COUNT(*) FROM mirror WHERE integration_id = ?1 AND deleted_at IS NULL
             GROUP BY stream ORDER BY stream",
        )?;
        let rows = stmt
            .query_map([integration_id], |r| Ok((r.get::<_, StreamId>(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// PSA types seen, with how many live records carry each:
    /// (`asset-type` | `company-type` | an extra stream (`extra:NAME`, its
    /// items' type names, what `--when-type` sorts them by) | other lookup
    /// kinds, name, count).
    /// Types known only from lookups count 0.
    pub fn type_counts(&self, integration_id: i64) -> Result<Vec<(String, String, u64)>> {
        let mut stmt = self.conn().prepare(
            "WITH seen(kind, name) AS (
                 SELECT 'asset-type', json_extract(data, '$.record.type_name') FROM mirror
                  WHERE integration_id = ?1 AND stream = 'assets' AND deleted_at IS NULL
                 UNION ALL
                 SELECT 'company-type', j.value FROM mirror, json_each(json_extract(mirror.data, '$.record.types')) j
                  WHERE integration_id = ?1 AND stream = 'companies' AND deleted_at IS NULL
                 UNION ALL
                 SELECT stream, json_extract(data, '$.record.type_name') FROM mirror
                  WHERE integration_id = ?1 AND stream LIKE 'extra:%' AND deleted_at IS NULL
             ),
             known(kind, name) AS (
                 SELECT json_extract(data, '$.record.kind'), json_extract(data, '$.record.name') FROM mirror
                  WHERE integration_id = ?1 AND stream = 'lookups' AND deleted_at IS NULL
             )
             SELECT kind, name, SUM(n) FROM (
                 SELECT kind, name, 1 AS n FROM seen
                 UNION ALL SELECT kind, name, 0 FROM known
             ) WHERE name IS NOT NULL GROUP BY kind, name ORDER BY kind, SUM(n) DESC, name",
        )?;
        let rows = stmt
            .query_map([integration_id], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    /// Forget a stream's records (e.g. tickets "clear & resync").
    pub fn clear_mirror_stream(&self, integration_id: i64, stream: &str) -> Result<u64> {
        let n = self
            .conn()
            .execute("DELETE FROM mirror WHERE integration_id = ?1 AND stream = ?2", params![integration_id, stream])?;
        // Removed rows leave nothing to carry a change sequence number, so
        // an apply of changes could not see them: the next apply looks at
        // everything.
        self.forget_applied_state(integration_id)?;
        Ok(n as u64)
    }
}

/// Sequence numbers handed out within one transaction: read the counter
/// once, number each change, write the counter back once. The counter row
/// is written in the same transaction as the changes it numbers, so no two
/// transactions can hand out the same numbers.
struct Sequence {
    start: i64,
    last: i64,
}

impl Sequence {
    fn start(tx: &Tx<'_>) -> Result<Sequence> {
        let last = tx.mirror_sequence()?;
        Ok(Sequence { start: last, last })
    }

    fn next(&mut self) -> i64 {
        self.last += 1;
        self.last
    }

    fn finish(self, tx: &Tx<'_>) -> Result<()> {
        if self.last != self.start {
            tx.conn().prepare_cached("UPDATE mirror_sequence SET value = ?1 WHERE id = 1")?.execute([self.last])?;
        }
        Ok(())
    }
}
