//! Apply: project one integration's PSA mirror into the documentation store
//! through company links, sort rules and options — with no network, in one
//! transaction, idempotently.
//!
//! Each PSA record becomes a *card* on a documentation company or asset.
//! A card's hash covers everything apply decides (target, layout, title,
//! fields, archived), so re-applying an unchanged mirror writes nothing, and
//! a changed match or rule moves exactly the records it affects. Operator
//! fields are never touched; companies and assets are archived, never
//! deleted.

mod assets;
mod cards;
mod companies;
mod tickets;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde::Serialize;

use self::assets::apply_assets;
use self::companies::apply_companies;
use self::tickets::apply_tickets;
use crate::hashing::content_hash;
use crate::model::{Record, StreamId, StreamKind};
use crate::options::IntegrationOptions;
use crate::store::{MirrorRow, Store, StoreError, Tx};

/// What apply did to one kind of record. For companies every PSA company
/// lands in exactly one bucket, so they add up to the PSA's companies:
/// `created` when its data first arrives into a company that exists
/// because of it (apply's own creation, or the operator's `match create`),
/// `updated` when its data first arrives into a company it was matched to,
/// or changed; `archived` when this apply took its live card out; `skipped`
/// when its data does not come in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub archived: u64,
    pub skipped: u64,
}

/// Whether an apply looked at the whole mirror or only at what changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyScope {
    #[default]
    Everything,
    Changes,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub integration: String,
    pub scope: ApplyScope,
    pub streams: BTreeMap<StreamId, Counts>,
    /// PSA companies waiting for the operator (suggested or unmatched).
    pub awaiting_match: u64,
    pub elapsed_ms: u64,
}

impl ApplyReport {
    pub fn stream(&self, stream: &StreamId) -> Option<&Counts> {
        self.streams.get(stream)
    }
}

/// Streams projected as assets, in order.
const ASSET_STREAMS: [StreamKind; 4] =
    [StreamKind::Sites, StreamKind::Contacts, StreamKind::Assets, StreamKind::Agreements];

/// Project everything in the mirror (after an operator changed a match, a
/// rule or an option, and for `ferry apply`).
pub(crate) fn apply(store: &mut Store, integration_id: i64) -> Result<ApplyReport, StoreError> {
    run(store, integration_id, false)
}

/// Project what changed since the last apply (after a sync). When anything
/// besides the mirror changed since then — options, company links, layouts,
/// documentation companies — or there was no earlier apply, this is a full
/// [`apply`]: a record the sync did not change projects differently only
/// if one of those did.
pub(crate) fn apply_changes(store: &mut Store, integration_id: i64) -> Result<ApplyReport, StoreError> {
    run(store, integration_id, true)
}

fn run(store: &mut Store, integration_id: i64, changes_only: bool) -> Result<ApplyReport, StoreError> {
    let started = Instant::now();
    let integration = store.read().integration_by_id(integration_id)?;
    let options = IntegrationOptions::from_json(&integration.options);
    let mut report = store.transaction(|tx| {
        let mut report = ApplyReport { integration: integration.name.clone(), ..Default::default() };
        // Removed while a sync of it was running: its documentation stays
        // archived; nothing of it is projected again until it is re-added.
        if tx.integration_removed(integration_id)? {
            return Ok(report);
        }
        // The mirror sequence seen by this transaction: a sync still writing
        // pages numbers its later changes above it, so the next apply of
        // changes picks them up.
        let seen_seq = tx.mirror_sequence()?;
        let since = match changes_only {
            true => {
                let inputs = content_hash(&tx.apply_inputs(integration_id)?);
                tx.applied_state(integration_id)?.filter(|(_, seen)| *seen == inputs).map(|(run, _)| run)
            }
            false => None,
        };
        report.scope = if since.is_some() { ApplyScope::Changes } else { ApplyScope::Everything };
        let (owners, changed_companies) =
            apply_companies(tx, integration_id, &integration.name, &options, since, &mut report)?;
        let reach = match since {
            Some(since) => Reach::ChangedSince { since, companies: &changed_companies },
            None => Reach::Everything,
        };
        for stream in ASSET_STREAMS {
            let stream = StreamId::Kind(stream);
            let counts = apply_assets(tx, integration_id, &stream, &options, &owners, &reach)?;
            report.streams.insert(stream, counts);
        }
        let counts = apply_tickets(tx, integration_id, &options, &owners, &reach)?;
        report.streams.insert(StreamKind::Tickets.into(), counts);
        // Extra streams' items are placed like assets; apply knows them
        // from the mirror, so it needs no connector.
        for stream in tx.mirror_extra_streams(integration_id)? {
            let counts = apply_assets(tx, integration_id, &stream, &options, &owners, &reach)?;
            report.streams.insert(stream, counts);
        }
        // What this apply leaves behind (it writes links and companies
        // itself) is what the next one compares with.
        tx.set_applied_state(integration_id, seen_seq, &content_hash(&tx.apply_inputs(integration_id)?))?;
        hold_for_tests();
        Ok(report)
    })?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Test hook: with `FERRY_TEST_HOLD_APPLY=FILE`, apply writes FILE when all
/// its work is done but not committed, and waits while FILE exists. Crash
/// tests kill the process there, provably inside apply.
fn hold_for_tests() {
    let Some(path) = std::env::var_os("FERRY_TEST_HOLD_APPLY") else { return };
    let path = std::path::PathBuf::from(path);
    if std::fs::write(&path, b"holding").is_err() {
        return;
    }
    while path.exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Which mirror records an apply looks at.
enum Reach<'a> {
    Everything,
    /// Records changed after mirror sequence number `since`, and all
    /// records of `companies`.
    ChangedSince {
        since: i64,
        companies: &'a HashSet<String>,
    },
}

impl<'a> Reach<'a> {
    /// The records to look at, read in chunks of [`CHUNK`] (a whole
    /// stream is never held in memory at once).
    fn rows<'t>(&self, tx: &'t Tx<'t>, integration_id: i64, stream: &StreamId) -> Result<Rows<'t>, StoreError> {
        let stream = stream.to_string();
        match self {
            Reach::Everything => {
                Ok(Rows::Chunked { tx, integration_id, stream, after: Some(0), chunk: Vec::new().into_iter() })
            }
            Reach::ChangedSince { since, companies } => {
                let mut rows = Vec::new();
                tx.for_each_mirror_changed(integration_id, &stream, *since, companies, |row| {
                    rows.push(row);
                    Ok(())
                })?;
                Ok(Rows::Collected(rows.into_iter()))
            }
        }
    }
}

/// Mirror rows read per query when apply looks at everything.
pub(crate) const CHUNK: usize = 2000;

/// The mirror rows an apply looks at: a stream read chunk by chunk, or the
/// (few) changed records collected up front.
enum Rows<'t> {
    Chunked {
        tx: &'t Tx<'t>,
        integration_id: i64,
        /// The stream's stored spelling (`assets`, `extra:contracts`).
        stream: String,
        /// The row to continue after; `None` once the stream is exhausted.
        after: Option<i64>,
        chunk: std::vec::IntoIter<MirrorRow>,
    },
    Collected(std::vec::IntoIter<MirrorRow>),
}

impl Iterator for Rows<'_> {
    type Item = Result<MirrorRow, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Collected(rows) => rows.next().map(Ok),
            Rows::Chunked { tx, integration_id, stream, after, chunk } => loop {
                if let Some(row) = chunk.next() {
                    return Some(Ok(row));
                }
                let from = (*after)?;
                match tx.mirror_chunk(*integration_id, stream, from, CHUNK) {
                    Ok((rows, last)) => {
                        *after = last.filter(|_| rows.len() == CHUNK);
                        if rows.is_empty() {
                            return None;
                        }
                        *chunk = rows.into_iter();
                    }
                    Err(e) => {
                        *after = None;
                        return Some(Err(e));
                    }
                }
            },
        }
    }
}

/// The hash of what apply decided for one record, over its JSON text (a
/// tuple serialises as the JSON array earlier versions hashed, so stored
/// hashes stay valid).
fn hash_of(decided: &impl Serialize) -> String {
    content_hash(&json_text(decided))
}

/// [`hash_of`] a tuple some of whose members are already JSON text (a
/// card's fields, serialised once for the card and its hash): the same
/// bytes, so the same hash.
fn hash_of_json(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
    text.push('[');
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(part);
    }
    text.push(']');
    content_hash(&text)
}

/// `value` as compact JSON text, as `serde_json` writes it inside a tuple.
fn json_text(value: &(impl Serialize + ?Sized)) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn parse(row: &MirrorRow) -> Result<Record, StoreError> {
    serde_json::from_str(&row.data).map_err(|e| StoreError::Corrupt(format!("mirror record {}: {e}", row.external_id)))
}

/// Where a PSA company's data lands.
#[derive(Debug, Clone, Copy)]
struct Owner {
    company_id: i64,
    /// The company arrives archived; so does everything of it.
    archived: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;

    // Hashes stored by earlier versions were taken over `json!([...])` of
    // each decision; every stored card and ticket compares against them, so
    // a change here re-writes the whole documentation once. Each decision
    // is pinned twice: against that array form and against its value.

    #[test]
    fn asset_decision_hash_is_pinned() {
        let fields = vec![Field { label: "Serial".into(), value: "SN-1".into() }];
        let identity = Some("serial:sn-1".to_string());
        let old = content_hash(&serde_json::json!([7, 3, "Laptop \"A\"", &fields, false, &identity, true]).to_string());
        let decided = assets::AssetDecision {
            company_id: 7,
            layout_id: 3,
            title: "Laptop \"A\"",
            fields_json: &json_text(&fields),
            archived: false,
            identity: identity.as_deref(),
            auto_update_names: true,
        };
        assert_eq!(decided.hash(), old);
        assert_eq!(decided.hash(), "a762d047c5832c6e7daf2d902735970d");
    }

    #[test]
    fn company_decision_hash_is_pinned() {
        let fields = vec![Field { label: "Website".into(), value: "acme.example".into() }];
        let old = content_hash(&serde_json::json!([12, "Acme & Co", &fields, true, false, true]).to_string());
        let decided = companies::CompanyDecision {
            company_id: 12,
            name: "Acme & Co",
            fields_json: &json_text(&fields),
            archived: true,
            keep_details: false,
            follows: true,
        };
        assert_eq!(decided.hash(), old);
        assert_eq!(decided.hash(), "4cbfb12f47f979c0f6a5c2b36971e6be");
    }

    #[test]
    fn ticket_decision_hash_is_pinned() {
        let data = r#"{"kind":"ticket","id":"T-1","subject":"Printer"}"#;
        let old = content_hash(&serde_json::json!([12, "open", false, data]).to_string());
        let decided = tickets::TicketDecision { company_id: 12, stage: "open", closed: false, data };
        assert_eq!(decided.hash(), old);
        assert_eq!(decided.hash(), "830da39ffece80d92581cf60342300bc");
    }
}
