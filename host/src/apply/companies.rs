//! Companies: decide a link for each new PSA company (matching per the
//! integration's policy, under the one-PSA-company-per-company rule), then
//! project each linked one onto its documentation company as a card.

use std::collections::{HashMap, HashSet};

use super::cards::{archive_card, company_card};
use super::{ApplyReport, Counts, Owner, hash_of_json, json_text, parse};
use crate::companies::{create_company, domain_of, link_conflict, match_index};
use crate::matching::{self, CompanyFeatures, Decision};
use crate::model::{Company, Record, StreamKind};
use crate::options::IntegrationOptions;
use crate::rules;
use crate::store::{CardTarget, CardWrite, CompanyLink, LinkState, StoreError, Tx};

/// Companies: decide links for new PSA companies, then project each linked
/// one. Returns PSA company id → owner, for those whose data comes in.
pub(super) fn apply_companies(
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
            let archived =
                archive_card(tx, integration_id, StreamKind::Companies.as_str(), &company.id, CardTarget::Company)?;
            counts.count_kept_out(archived);
            continue;
        }
        let mut link = tx.company_link(integration_id, &company.id)?;
        if link.is_none() && !deleted {
            let new_link = decide_link(tx, (integration_id, integration_name), options, &mut index, &company)?;
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
            let archived =
                archive_card(tx, integration_id, StreamKind::Companies.as_str(), &company.id, CardTarget::Company)?;
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
        let fields = json_text(&company_card(&company));
        let hash = CompanyDecision {
            company_id,
            name: &company.name,
            fields_json: &fields,
            archived,
            keep_details: options.keep_company_details,
            follows,
        }
        .hash();
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
            &CardWrite {
                stream: StreamKind::Companies.as_str(),
                external_id: &company.id,
                target: CardTarget::Company,
                doc_id: company_id,
                title: &company.name,
                fields_json: &fields,
                hash: &hash,
                identity: None,
                archived,
            },
        )?;
        touched_companies.push(company_id);
    }
    // Documentation companies follow their cards; the PSA companies that
    // moved them were counted above, one bucket each.
    for company_id in touched_companies {
        let all_archived = tx.all_cards_archived(CardTarget::Company, company_id)?;
        tx.set_company_archived(company_id, all_archived)?;
    }
    report.streams.insert(StreamKind::Companies.into(), counts);
    Ok((owners, changed))
}

/// A link for a PSA company that has none: matching decides per the
/// integration's policy (creating the company when it says so), under the
/// one-PSA-company-per-company rule. The index is loaded on first need
/// (`companies::match_index`) and kept in step with what this apply links.
fn decide_link(
    tx: &Tx<'_>,
    (integration_id, integration_name): (i64, &str),
    options: &IntegrationOptions,
    index: &mut Option<matching::Index>,
    company: &Company,
) -> Result<CompanyLink, StoreError> {
    let idx = match index {
        Some(idx) => idx,
        None => index.insert(match_index(tx, integration_id)?),
    };
    let decision = matching::decide(idx, &CompanyFeatures::of(company), options);
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
            let id = create_company(tx, company, integration_id, integration_name)?;
            idx.insert(id, CompanyFeatures::of(company));
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
    let new_link = one_psa_company_per_company(tx, (integration_id, integration_name), new_link, company)?;
    if let (LinkState::Matched, Some(id)) = (new_link.state, new_link.company_id) {
        idx.claim(id);
    }
    Ok(new_link)
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
    Ok(match link_conflict(tx, integration, &link, &company.name)? {
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

/// What apply decides for a PSA company: its card's hash covers all of it.
pub(super) struct CompanyDecision<'a> {
    pub company_id: i64,
    pub name: &'a str,
    /// The card's fields as JSON text.
    pub fields_json: &'a str,
    pub archived: bool,
    /// The operator keeps the company's details (`keep_company_details`).
    pub keep_details: bool,
    /// This PSA company drives the company's details.
    pub follows: bool,
}

impl CompanyDecision<'_> {
    /// Over the JSON array of the fields in this order (stored hashes
    /// depend on it; pinned in `apply::tests`).
    pub(super) fn hash(&self) -> String {
        hash_of_json(&[
            &self.company_id.to_string(),
            &json_text(self.name),
            self.fields_json,
            &self.archived.to_string(),
            &self.keep_details.to_string(),
            &self.follows.to_string(),
        ])
    }
}
