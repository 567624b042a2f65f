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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde::Serialize;

use crate::matching::{self, CompanyFeatures, Decision};
use crate::model::{Company, Field, Record, StreamKind};
use crate::options::IntegrationOptions;
use crate::rules;
use crate::store::{CardTarget, CompanyLink, LinkState, MirrorRow, Store, StoreError, Tx};
use crate::sync::records::content_hash;

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
    pub streams: BTreeMap<StreamKind, Counts>,
    /// PSA companies waiting for the operator (suggested or unmatched).
    pub awaiting_match: u64,
    pub elapsed_ms: u64,
}

impl ApplyReport {
    pub fn stream(&self, kind: StreamKind) -> Option<&Counts> {
        self.streams.get(&kind)
    }

    /// Whether apply wrote anything to the documentation tables.
    pub fn changed_anything(&self) -> bool {
        self.streams.values().any(|c| c.created + c.updated + c.archived > 0)
    }
}

/// Streams projected as assets, in order.
const ASSET_STREAMS: [StreamKind; 4] =
    [StreamKind::Sites, StreamKind::Contacts, StreamKind::Assets, StreamKind::Agreements];

/// Project everything in the mirror (after an operator changed a match, a
/// rule or an option, and for `ferry apply`).
pub fn apply(store: &mut Store, integration_id: i64) -> Result<ApplyReport, StoreError> {
    run(store, integration_id, false)
}

/// Project what changed since the last apply (after a sync). When anything
/// besides the mirror changed since then — options, company links, layouts,
/// documentation companies — or there was no earlier apply, this is a full
/// [`apply`]: a record the sync did not change projects differently only
/// if one of those did.
pub fn apply_changes(store: &mut Store, integration_id: i64) -> Result<ApplyReport, StoreError> {
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
            let counts = apply_assets(tx, integration_id, stream, &options, &owners, &reach)?;
            report.streams.insert(stream, counts);
        }
        let counts = apply_tickets(tx, integration_id, &options, &owners, &reach)?;
        report.streams.insert(StreamKind::Tickets, counts);
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
    fn rows<'t>(&self, tx: &'t Tx<'t>, integration_id: i64, stream: StreamKind) -> Result<Rows<'t>, StoreError> {
        match self {
            Reach::Everything => {
                Ok(Rows::Chunked { tx, integration_id, stream, after: Some(0), chunk: Vec::new().into_iter() })
            }
            Reach::ChangedSince { since, companies } => {
                let mut rows = Vec::new();
                tx.for_each_mirror_changed(integration_id, stream.as_str(), *since, companies, |row| {
                    rows.push(row);
                    Ok(())
                })?;
                Ok(Rows::Collected(rows.into_iter()))
            }
        }
    }
}

/// Mirror rows read per query when apply looks at everything.
const CHUNK: usize = 2000;

/// The mirror rows an apply looks at: a stream read chunk by chunk, or the
/// (few) changed records collected up front.
enum Rows<'t> {
    Chunked {
        tx: &'t Tx<'t>,
        integration_id: i64,
        stream: StreamKind,
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
                match tx.mirror_chunk(*integration_id, stream.as_str(), from, CHUNK) {
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
    content_hash(&serde_json::to_string(decided).unwrap_or_default())
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

/// Companies: decide links for new PSA companies, then project each linked
/// one. Returns PSA company id → owner, for those whose data comes in.
fn apply_companies(
    tx: &Tx<'_>,
    integration_id: i64,
    integration_name: &str,
    options: &IntegrationOptions,
    since: Option<i64>,
    report: &mut ApplyReport,
) -> Result<(HashMap<String, Owner>, HashSet<String>), StoreError> {
    let mut counts = Counts::default();
    let mut owners = HashMap::new();
    // PSA companies whose records must be re-projected in an apply of
    // changes: the company record changed, or it was linked just now.
    let mut changed = HashSet::new();
    let mut index: Option<matching::Index> = None;
    let mut touched_companies = Vec::new();
    let mut rows = Vec::new();
    tx.for_each_mirror(integration_id, StreamKind::Companies.as_str(), |row| {
        rows.push(row);
        Ok(())
    })?;
    for row in rows {
        let Record::Company(company) = parse(&row)? else {
            continue;
        };
        if since.is_some_and(|since| row.change_seq > since) {
            changed.insert(company.id.clone());
        }
        let deleted = row.deleted_at.is_some() || company.deleted;
        if rules::skip_company(options, &company).is_some() {
            let archived = archive_card(tx, integration_id, StreamKind::Companies, &company.id, CardTarget::Company)?;
            counts.count_kept_out(archived);
            continue;
        }
        let mut link = tx.company_link(integration_id, &company.id)?;
        if link.is_none() && !deleted {
            let idx = match &mut index {
                Some(idx) => idx,
                None => index.insert(matching::Index::build(tx, integration_id)?),
            };
            let decision = matching::decide(idx, &CompanyFeatures::of(&company), options);
            let new_link = match decision {
                Decision::Match(s) => CompanyLink {
                    external_id: company.id.clone(),
                    state: LinkState::Matched,
                    company_id: Some(s.company_id),
                    score: Some(s.score),
                    reason: Some(s.reason),
                    merged: false,
                },
                Decision::Create => {
                    let id = create_company(tx, &company, integration_id, integration_name)?;
                    idx.insert(id, CompanyFeatures::of(&company));
                    idx.claim(id);
                    CompanyLink {
                        external_id: company.id.clone(),
                        state: LinkState::Created,
                        company_id: Some(id),
                        score: None,
                        reason: None,
                        merged: false,
                    }
                }
                Decision::Suggest(s) => CompanyLink {
                    external_id: company.id.clone(),
                    state: LinkState::Suggested,
                    company_id: Some(s.company_id),
                    score: Some(s.score),
                    reason: Some(s.reason),
                    merged: false,
                },
                Decision::NoCandidate => CompanyLink {
                    external_id: company.id.clone(),
                    state: LinkState::Unmatched,
                    company_id: None,
                    score: None,
                    reason: None,
                    merged: false,
                },
            };
            let new_link = one_psa_company_per_company(tx, (integration_id, integration_name), new_link, &company)?;
            if let (LinkState::Matched, Some(id)) = (new_link.state, new_link.company_id) {
                idx.claim(id);
            }
            tx.put_company_link(integration_id, &new_link)?;
            changed.insert(company.id.clone());
            link = Some(new_link);
        }
        let target = match &link {
            Some(l) if l.state.brings_data() => l.company_id,
            _ => None,
        };
        let doc_company = match target {
            Some(id) => tx.company(id)?,
            None => None,
        };
        let Some(doc_company) = doc_company else {
            if link.as_ref().is_some_and(|l| matches!(l.state, LinkState::Suggested | LinkState::Unmatched)) {
                report.awaiting_match += 1;
            }
            let archived = archive_card(tx, integration_id, StreamKind::Companies, &company.id, CardTarget::Company)?;
            counts.count_kept_out(archived);
            continue;
        };
        let company_id = doc_company.id;
        // Inactive companies arrive archived, with their data; deleted ones
        // are archived when the operator asked for auto-archive; a company
        // the operator archived keeps everything of it archived.
        let archived = !company.active || (deleted && options.auto_archive) || doc_company.operator_archived;
        owners.insert(company.id.clone(), Owner { company_id, archived });
        // Only the PSA company the company came from (its source) updates
        // its details, and not when the operator keeps them; a company the
        // operator added or imported keeps its own, and a second PSA
        // company merged onto it never drives it.
        let follows = doc_company.source_integration_id == Some(integration_id)
            && doc_company.source_external_id.as_deref() == Some(company.id.as_str())
            && !options.keep_company_details;
        let fields = company_card(&company);
        let hash = hash_of(&(company_id, &company.name, &fields, archived, options.keep_company_details, follows));
        match tx.card_link(integration_id, StreamKind::Companies.as_str(), &company.id)? {
            Some((doc, h)) if doc == company_id && h == hash => {
                counts.unchanged += 1;
                continue;
            }
            // Its live card goes out of the documentation now.
            Some(_)
                if archived
                    && tx
                        .card(integration_id, StreamKind::Companies.as_str(), &company.id)?
                        .is_some_and(|c| c.archived_at.is_none()) =>
            {
                counts.archived += 1
            }
            Some(_) => counts.updated += 1,
            // Its data arrives for the first time. Created when the
            // documentation company exists because of this PSA company
            // (link `created`: made by apply's own decision just now, or by
            // the operator's `match create` before this apply, which made
            // only the bare company); updated when it joins a company that
            // was there already (link `matched`).
            None if link.as_ref().is_some_and(|l| l.state == LinkState::Created) => counts.created += 1,
            None => counts.updated += 1,
        }
        if follows {
            tx.update_company_from_psa(
                company_id,
                integration_id,
                &format!("integration:{integration_name}"),
                &company.name,
                domain_of(&company).as_deref(),
                company.phone.as_deref(),
            )?;
        }
        tx.put_card(
            integration_id,
            StreamKind::Companies.as_str(),
            &company.id,
            CardTarget::Company,
            company_id,
            &company.name,
            &fields,
            &hash,
            None,
            archived,
        )?;
        touched_companies.push(company_id);
    }
    // Documentation companies follow their cards; the PSA companies that
    // moved them were counted above, one bucket each.
    for company_id in touched_companies {
        let all_archived = tx.all_cards_archived(CardTarget::Company, company_id)?;
        tx.set_company_archived(company_id, all_archived)?;
    }
    report.streams.insert(StreamKind::Companies, counts);
    Ok((owners, changed))
}

impl Counts {
    /// A PSA company whose data does not come in (skipped by a rule, not
    /// linked, or its company gone): archived when this apply took its live
    /// card out, else skipped.
    fn count_kept_out(&mut self, archived_now: u64) {
        if archived_now > 0 {
            self.archived += 1;
        } else {
            self.skipped += 1;
        }
    }
}

/// Apply's automatic match obeys the same rule as the operator's commands
/// ([`crate::companies::link_conflict`]). The index already claims every
/// company this integration links, so this holds only if the store changed
/// under the index; the match then becomes a suggestion for the operator.
fn one_psa_company_per_company(
    tx: &Tx<'_>,
    integration: (i64, &str),
    link: CompanyLink,
    company: &Company,
) -> Result<CompanyLink, StoreError> {
    if link.state != LinkState::Matched {
        return Ok(link);
    }
    Ok(match crate::companies::link_conflict(tx, integration, &link, &company.name)? {
        None => link,
        Some(c) => CompanyLink {
            state: LinkState::Suggested,
            reason: Some(format!(
                "{}; but `{}` already holds PSA company {} ({})",
                link.reason.as_deref().unwrap_or("similar"),
                c.company,
                c.other_name,
                c.other_external_id
            )),
            ..link
        },
    })
}

/// A documentation company for a PSA company; that PSA is its source.
pub(crate) fn create_company(
    tx: &Tx<'_>,
    company: &Company,
    integration_id: i64,
    integration_name: &str,
) -> Result<i64, StoreError> {
    let id = tx.insert_company(
        &company.name,
        domain_of(company).as_deref(),
        company.phone.as_deref(),
        &format!("integration:{integration_name}"),
    )?;
    tx.set_company_source(id, Some((integration_id, &company.id)))?;
    Ok(id)
}

/// The company's web domain: its website's host, else its email's domain.
pub fn domain_of(company: &Company) -> Option<String> {
    company.website.as_deref().and_then(matching::normalize_domain).or_else(|| {
        company.email.as_deref().and_then(|e| e.rsplit_once('@')).and_then(|(_, d)| matching::normalize_domain(d))
    })
}

fn company_card(c: &Company) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut push = |label: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            fields.push(Field { label: label.into(), value: v });
        }
    };
    push("Status", c.status.clone());
    push("Types", (!c.types.is_empty()).then(|| c.types.join(", ")));
    push("Website", c.website.clone());
    push("Phone", c.phone.clone());
    if let Some(a) = &c.address {
        let line = [&a.line1, &a.line2, &a.city, &a.state, &a.postal_code, &a.country]
            .iter()
            .filter_map(|p| p.as_deref())
            .filter(|p| !p.trim().is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        push("Address", Some(line));
    }
    for f in &c.card {
        if !fields.iter().any(|x| x.label == f.label) {
            fields.push(f.clone());
        }
    }
    fields
}

/// Archive an existing card (and its document once no live card remains).
/// Returns 1 when something was archived.
fn archive_card(
    tx: &Tx<'_>,
    integration_id: i64,
    stream: StreamKind,
    external_id: &str,
    target: CardTarget,
) -> Result<u64, StoreError> {
    let Some(card) = tx.card(integration_id, stream.as_str(), external_id)? else {
        return Ok(0);
    };
    if card.archived_at.is_some() {
        return Ok(0);
    }
    tx.put_card(
        integration_id,
        stream.as_str(),
        external_id,
        target,
        card.doc_id,
        &card.title,
        &card.fields,
        "archived",
        None,
        true,
    )?;
    if target == CardTarget::Asset {
        tx.unsettle_others_on(card.doc_id, integration_id)?;
    }
    if tx.all_cards_archived(target, card.doc_id)? {
        match target {
            CardTarget::Company => tx.set_company_archived(card.doc_id, true)?,
            CardTarget::Asset => tx.set_asset_archived(card.doc_id, true)?,
        };
    }
    Ok(1)
}

/// Contacts, sites, agreements and assets: one asset per device (merged
/// across integrations by identity), one card per PSA record.
fn apply_assets(
    tx: &Tx<'_>,
    integration_id: i64,
    stream: StreamKind,
    options: &IntegrationOptions,
    owners: &HashMap<String, Owner>,
    reach: &Reach<'_>,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    let mut layouts: HashMap<String, (i64, String)> = HashMap::new();
    let mut active_layouts: HashMap<String, bool> = HashMap::new();
    for row in reach.rows(tx, integration_id, stream)? {
        let row = row?;
        let record = parse(&row)?;
        let ext = record.external_id();
        let owner = record.company_id().and_then(|c| owners.get(c)).copied();
        let skipped = owner.is_none() || rules::skip_record(options, &record).is_some();
        let Some(Owner { company_id, archived: owner_archived }) = owner.filter(|_| !skipped) else {
            counts.skipped += 1;
            counts.archived += archive_card(tx, integration_id, stream, &ext, CardTarget::Asset)?;
            continue;
        };
        for layout in options.layouts_named() {
            if !active_layouts.contains_key(layout) {
                active_layouts.insert(layout.clone(), tx.active_layout_id(layout)?.is_some());
            }
        }
        let Some(layout_name) =
            rules::layout_for(options, &record, |l| active_layouts.get(l).copied().unwrap_or(false))
        else {
            continue;
        };
        let (layout_id, identity_field) = match layouts.get(&layout_name) {
            Some(l) => l.clone(),
            None => {
                let id = tx.ensure_layout(&layout_name, default_identity(stream))?;
                let identity = tx.layout_identity(id)?;
                layouts.insert(layout_name.clone(), (id, identity.clone()));
                (id, identity)
            }
        };
        let deleted = row.deleted_at.is_some();
        let archived = owner_archived || (deleted && options.auto_archive) || rules::is_inactive(&record);
        let identity = match &record {
            Record::Asset(a) => rules::device_identity(&identity_field, a),
            Record::Contact(c) => rules::person_identity(c),
            _ => None,
        };
        let title = record.display_name().to_string();
        let fields = record_card(&record);
        let hash = hash_of(&(company_id, layout_id, &title, &fields, archived, &identity, options.auto_update_names));
        let existing = tx.card_link(integration_id, stream.as_str(), &ext)?;
        if let Some((_, h)) = &existing
            && *h == hash
        {
            counts.unchanged += 1;
            continue;
        }
        let mut fresh_asset = false;
        let current = match existing.as_ref() {
            Some((id, _)) => tx.asset_placement(*id)?.map(|p| (*id, p)),
            None => None,
        };
        // A device several PSAs bring (live cards of other integrations on
        // it) never changes company: a card whose company or device identity
        // no longer fits it leaves for an asset of its own company. Within
        // the company it is placed (layout, name) by the earliest-connected
        // of its integrations, so two PSAs never move it back and forth and
        // the result does not depend on which synced first.
        let left_asset = current.as_ref().map(|(id, _)| *id);
        let kept = match current {
            Some((asset_id, (asset_company, _, current_name))) => {
                let shared = tx.asset_shared_with_others(asset_id, integration_id)?;
                let fits =
                    asset_company == company_id && tx.card_identity(integration_id, stream.as_str(), &ext)? == identity;
                if !shared || fits {
                    if !shared || !tx.asset_placed_by_earlier(asset_id, integration_id)? {
                        let name = if options.auto_update_names { title.as_str() } else { current_name.as_str() };
                        tx.update_asset(asset_id, company_id, layout_id, name)?;
                    }
                    Some(asset_id)
                } else {
                    None
                }
            }
            None => None,
        };
        let asset_id = match kept {
            Some(asset_id) => {
                counts.updated += 1;
                asset_id
            }
            None => {
                let merged = match &identity {
                    Some(ident) => tx.asset_by_identity(company_id, ident, integration_id)?,
                    None => None,
                };
                match merged {
                    Some(asset_id) => {
                        if !archived && !tx.asset_placed_by_earlier(asset_id, integration_id)? {
                            let name = match options.auto_update_names {
                                true => title.clone(),
                                false => tx.asset_placement(asset_id)?.map(|p| p.2).unwrap_or_else(|| title.clone()),
                            };
                            tx.update_asset(asset_id, company_id, layout_id, &name)?;
                        }
                        counts.updated += 1;
                        asset_id
                    }
                    None if left_asset.is_some() => {
                        // Leaving a shared asset: the device gets its own.
                        if let Some(left) = left_asset {
                            tx.unsettle_others_on(left, integration_id)?;
                        }
                        counts.updated += 1;
                        fresh_asset = true;
                        tx.insert_asset(company_id, layout_id, &title)?
                    }
                    None => {
                        counts.created += 1;
                        fresh_asset = true;
                        tx.insert_asset(company_id, layout_id, &title)?
                    }
                }
            }
        };
        tx.put_card(
            integration_id,
            stream.as_str(),
            &ext,
            CardTarget::Asset,
            asset_id,
            &title,
            &fields,
            &hash,
            identity.as_deref(),
            archived,
        )?;
        if archived {
            tx.unsettle_others_on(asset_id, integration_id)?;
        }
        // A just-created asset has this one card: live unless it is archived.
        if fresh_asset && !archived {
            continue;
        }
        let all_archived = tx.all_cards_archived(CardTarget::Asset, asset_id)?;
        if tx.set_asset_archived(asset_id, all_archived)? && all_archived {
            counts.archived += 1;
        }
    }
    Ok(counts)
}

/// Tickets of companies whose data comes in, with their stage. Tickets are
/// a view of the PSA's queue, not documentation: an excluded, orphaned or
/// deleted ticket is removed (counted as archived).
fn apply_tickets(
    tx: &Tx<'_>,
    integration_id: i64,
    options: &IntegrationOptions,
    owners: &HashMap<String, Owner>,
    reach: &Reach<'_>,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    let t = &options.tickets;
    for row in reach.rows(tx, integration_id, StreamKind::Tickets)? {
        let row = row?;
        let Record::Ticket(ticket) = parse(&row)? else { continue };
        let owner = ticket.company_id.as_deref().and_then(|c| owners.get(c)).copied();
        let keep = row.deleted_at.is_none() && !rules::ticket_excluded(t, &ticket.status);
        let Some(Owner { company_id, .. }) = owner.filter(|_| keep) else {
            if tx.delete_ticket(integration_id, &ticket.id)? {
                counts.archived += 1;
            }
            counts.skipped += 1;
            continue;
        };
        let closed = rules::ticket_closed(t, &ticket.status, ticket.closed);
        let stage = rules::ticket_stage(t, &ticket.status, closed);
        let mut fields = ticket.card.clone();
        if let Some(c) = &ticket.contact_id {
            fields.insert(0, Field { label: "PSA contact id".into(), value: c.clone() });
        }
        let hash = hash_of(&(company_id, stage.as_str(), closed, &row.data));
        match tx.ticket_hash(integration_id, &ticket.id)? {
            Some(h) if h == hash => {
                counts.unchanged += 1;
                continue;
            }
            Some(_) => counts.updated += 1,
            None => counts.created += 1,
        }
        tx.put_ticket(
            integration_id,
            &crate::store::TicketWrite {
                external_id: &ticket.id,
                company_id,
                number: &ticket.number,
                subject: &ticket.subject,
                status: &ticket.status,
                stage: stage.as_str(),
                closed,
                priority: ticket.priority.as_deref(),
                type_name: ticket.type_name.as_deref(),
                board: ticket.board.as_deref(),
                created_at: ticket.created_at.as_deref(),
                updated_at: ticket.updated_at.as_deref(),
                resolved_at: ticket.resolved_at.as_deref(),
                fields: &fields,
                hash: &hash,
            },
        )?;
    }
    Ok(counts)
}

fn default_identity(stream: StreamKind) -> &'static str {
    match stream {
        StreamKind::Assets => "serial",
        _ => "name",
    }
}

/// The PSA-owned card of an asset-like record: the standard fields Ferry
/// knows, then whatever the connector put on its card.
fn record_card(record: &Record) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut push = |label: &str, value: Option<&str>| {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            fields.push(Field { label: label.into(), value: v.to_string() });
        }
    };
    match record {
        Record::Asset(a) => {
            push("Type", Some(&a.type_name));
            push("Status", a.status.as_deref());
            push("Serial number", a.serial_number.as_deref());
            push("Manufacturer", a.manufacturer.as_deref());
            push("Model", a.model.as_deref());
            push("Operating system", a.operating_system.as_deref());
            push("IP address", a.ip_address.as_deref());
            push("MAC address", a.mac_address.as_deref());
            push("Tag", a.tag.as_deref());
        }
        Record::Contact(c) => {
            push("Title", c.title.as_deref());
            push("Email", c.email.as_deref());
            push("Phone", c.phone.as_deref());
            push("Mobile", c.mobile.as_deref());
        }
        Record::Site(s) => {
            if let Some(a) = &s.address {
                let line = [&a.line1, &a.line2, &a.city, &a.state, &a.postal_code, &a.country]
                    .iter()
                    .filter_map(|p| p.as_deref())
                    .filter(|p| !p.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(", ");
                push("Address", Some(&line));
            }
            push("Phone", s.phone.as_deref());
            push("Primary", s.primary.then_some("Yes"));
        }
        Record::Agreement(a) => {
            push("Type", a.type_name.as_deref());
            push("Status", a.status.as_deref());
            push("Start", a.start_date.as_deref());
            push("End", a.end_date.as_deref());
        }
        _ => {}
    }
    let card = match record {
        Record::Asset(a) => &a.card,
        Record::Contact(c) => &c.card,
        Record::Site(s) => &s.card,
        Record::Agreement(a) => &a.card,
        _ => return fields,
    };
    for f in card {
        if !fields.iter().any(|x| x.label.eq_ignore_ascii_case(&f.label)) {
            fields.push(f.clone());
        }
    }
    fields
}

#[cfg(test)]
mod chunk_tests;
#[cfg(test)]
mod during_sync_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_hashes_match_the_json_array_form() {
        // Hashes stored by earlier versions were taken over `json!([...])`.
        let fields = vec![Field { label: "Serial".into(), value: "SN-1".into() }];
        let identity = Some("serial:sn-1".to_string());
        let old = content_hash(&serde_json::json!([7, 3, "Laptop \"A\"", &fields, false, &identity, true]).to_string());
        assert_eq!(hash_of(&(7i64, 3i64, "Laptop \"A\"", &fields, false, &identity, true)), old);
    }
}
