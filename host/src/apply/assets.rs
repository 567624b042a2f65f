//! Contacts, sites, agreements, assets and the items of extra streams: each
//! PSA record a card on an asset of its company's documentation, placed by
//! sort rules and merged across integrations by device identity.

use std::collections::HashMap;

use super::cards::{archive_card, record_card};
use super::{Counts, Owner, Reach, hash_of_json, json_text, parse};
use crate::model::{Record, StreamId, StreamKind};
use crate::options::IntegrationOptions;
use crate::rules::{self, IdentityField};
use crate::store::{CardTarget, CardWrite, StoreError, Tx};

/// Contacts, sites, agreements, assets and extra streams' items: one asset
/// per device (merged across integrations by identity), one card per PSA
/// record.
pub(super) fn apply_assets(
    tx: &Tx<'_>,
    integration_id: i64,
    stream: &StreamId,
    options: &IntegrationOptions,
    owners: &HashMap<String, Owner>,
    reach: &Reach<'_>,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    let mut layouts: HashMap<String, (i64, IdentityField)> = HashMap::new();
    let mut active_layouts: HashMap<String, bool> = HashMap::new();
    let stream_name = stream.to_string();
    let stream_name = stream_name.as_str();
    let others_have_identities = tx.others_have_asset_identities(integration_id)?;
    let has_cards = tx.stream_has_cards(integration_id, stream_name)?;
    for row in reach.rows(tx, integration_id, stream)? {
        let row = row?;
        let record = parse(&row)?;
        let ext = record.external_id();
        let owner = record.company_id().and_then(|c| owners.get(c)).copied();
        let skipped = owner.is_none()
            || rules::skip_record(options, &record).is_some()
            || rules::skip_stream(options, stream).is_some();
        let Some(Owner { company_id, archived: owner_archived }) = owner.filter(|_| !skipped) else {
            counts.skipped += 1;
            if has_cards {
                counts.archived += archive_card(tx, integration_id, stream_name, &ext, CardTarget::Asset)?;
            }
            continue;
        };
        for layout in options.layouts_named() {
            if !active_layouts.contains_key(layout) {
                active_layouts.insert(layout.clone(), tx.active_layout_id(layout)?.is_some());
            }
        }
        let Some(layout_name) =
            rules::layout_for(options, stream, &record, |l| active_layouts.get(l).copied().unwrap_or(false))
        else {
            continue;
        };
        let (layout_id, identity_field) = match layouts.get(&layout_name) {
            Some(l) => *l,
            None => {
                let id = tx.ensure_layout(&layout_name, default_identity(stream))?;
                let identity = tx.layout_identity(id)?;
                layouts.insert(layout_name.clone(), (id, identity));
                (id, identity)
            }
        };
        let deleted = row.deleted_at.is_some();
        let archived = owner_archived || (deleted && options.auto_archive) || rules::is_inactive(&record);
        let identity = match &record {
            Record::Asset(a) => rules::device_identity(identity_field, a),
            Record::Contact(c) => rules::person_identity(c),
            _ => None,
        };
        let title = record.display_name().to_string();
        let fields = json_text(&record_card(&record));
        let hash = AssetDecision {
            company_id,
            layout_id,
            title: &title,
            fields_json: &fields,
            archived,
            identity: identity.as_deref(),
            auto_update_names: options.auto_update_names,
        }
        .hash();
        let existing = match has_cards {
            true => tx.card_link(integration_id, stream_name, &ext)?,
            false => None,
        };
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
                    asset_company == company_id && tx.card_identity(integration_id, stream_name, &ext)? == identity;
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
                    Some(ident) if others_have_identities => tx.asset_by_identity(company_id, ident, integration_id)?,
                    _ => None,
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
            &CardWrite {
                stream: stream_name,
                external_id: &ext,
                target: CardTarget::Asset,
                doc_id: asset_id,
                title: &title,
                fields_json: &fields,
                hash: &hash,
                identity: identity.as_deref(),
                archived,
            },
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

fn default_identity(stream: &StreamId) -> IdentityField {
    match stream {
        StreamId::Kind(StreamKind::Assets) => IdentityField::Serial,
        _ => IdentityField::Name,
    }
}

/// What apply decides for an asset-like record: its card's hash covers all
/// of it, so a record whose decision is unchanged costs no write.
pub(super) struct AssetDecision<'a> {
    pub company_id: i64,
    pub layout_id: i64,
    pub title: &'a str,
    /// The card's fields as JSON text.
    pub fields_json: &'a str,
    pub archived: bool,
    pub identity: Option<&'a str>,
    pub auto_update_names: bool,
}

impl AssetDecision<'_> {
    /// Over the JSON array of the fields in this order (stored hashes
    /// depend on it; pinned in `apply::tests`).
    pub(super) fn hash(&self) -> String {
        hash_of_json(&[
            &self.company_id.to_string(),
            &self.layout_id.to_string(),
            &json_text(self.title),
            self.fields_json,
            &self.archived.to_string(),
            &json_text(&self.identity),
            &self.auto_update_names.to_string(),
        ])
    }
}
