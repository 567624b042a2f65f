//! Cards: what the card of a PSA record shows, and taking a card out of
//! the documentation (archiving its document once no live card remains).

use crate::model::{Company, Field, Record};
use crate::store::{CardTarget, CardWrite, StoreError, Tx};

pub(super) fn company_card(c: &Company) -> Vec<Field> {
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
pub(super) fn archive_card(
    tx: &Tx<'_>,
    integration_id: i64,
    stream: &str,
    external_id: &str,
    target: CardTarget,
) -> Result<u64, StoreError> {
    let Some(card) = tx.card(integration_id, stream, external_id)? else {
        return Ok(0);
    };
    if card.archived_at.is_some() {
        return Ok(0);
    }
    tx.put_card(
        integration_id,
        &CardWrite {
            stream,
            external_id,
            target,
            doc_id: card.doc_id,
            title: &card.title,
            fields_json: &super::json_text(&card.fields),
            hash: "archived",
            identity: None,
            archived: true,
        },
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

/// The PSA-owned card of an asset-like record: the standard fields Ferry
/// knows, then whatever the connector put on its card.
pub(super) fn record_card(record: &Record) -> Vec<Field> {
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
        Record::Item(i) => push("Type", Some(&i.type_name)),
        _ => {}
    }
    let card = match record {
        Record::Asset(a) => &a.card,
        Record::Contact(c) => &c.card,
        Record::Site(s) => &s.card,
        Record::Agreement(a) => &a.card,
        Record::Item(i) => &i.card,
        _ => return fields,
    };
    for f in card {
        if !fields.iter().any(|x| x.label.eq_ignore_ascii_case(&f.label)) {
            fields.push(f.clone());
        }
    }
    fields
}
