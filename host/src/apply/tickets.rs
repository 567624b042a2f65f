//! Tickets: the PSA's queue for companies whose data comes in, with the
//! stage the integration's ticket options give each status.

use std::collections::HashMap;

use super::{Counts, Owner, Reach, hash_of, parse};
use crate::model::{Field, Record, StreamKind};
use crate::options::IntegrationOptions;
use crate::rules;
use crate::store::{StoreError, Tx};

/// Tickets of companies whose data comes in, with their stage. Tickets are
/// a view of the PSA's queue, not documentation: an excluded, orphaned or
/// deleted ticket is removed (counted as archived).
pub(super) fn apply_tickets(
    tx: &Tx<'_>,
    integration_id: i64,
    options: &IntegrationOptions,
    owners: &HashMap<String, Owner>,
    reach: &Reach<'_>,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    let t = &options.tickets;
    for row in reach.rows(tx, integration_id, &StreamKind::Tickets.into())? {
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
        let hash = TicketDecision { company_id, stage: stage.as_str(), closed, data: &row.data }.hash();
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
                stage,
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

/// What apply decides for a ticket: its hash covers all of it (the mirror
/// record whole, as tickets carry many fields).
pub(super) struct TicketDecision<'a> {
    pub company_id: i64,
    pub stage: &'a str,
    pub closed: bool,
    /// The mirror record's canonical JSON.
    pub data: &'a str,
}

impl TicketDecision<'_> {
    /// Over the JSON array of the fields in this order (stored hashes
    /// depend on it; pinned in `apply::tests`).
    pub(super) fn hash(&self) -> String {
        hash_of(&(self.company_id, self.stage, self.closed, self.data))
    }
}
