//! `apply` while a sync is still writing pages: whatever that sync writes
//! afterwards must reach the documentation with the next apply of changes,
//! even though it belongs to the same run.

use super::records;
use crate::apply::{ApplyScope, apply, apply_changes};
use crate::model::{Asset, Company, Record, StreamKind};
use crate::store::Store;
use crate::store::tests::temp_store;

pub(super) fn company(id: &str) -> Record {
    Record::Company(Company {
        id: id.into(),
        name: format!("Company {id}"),
        active: true,
        deleted: false,
        status: None,
        types: vec![],
        website: None,
        email: None,
        phone: None,
        address: None,
        updated_at: None,
        card: vec![],
        raw: None,
    })
}

pub(super) fn asset(id: &str, company: &str) -> Record {
    Record::Asset(Asset {
        id: id.into(),
        company_id: Some(company.into()),
        name: format!("PC-{id}"),
        type_name: "Laptop".into(),
        status: None,
        active: true,
        serial_number: Some(format!("SN-{id}")),
        mac_address: None,
        ip_address: None,
        manufacturer: None,
        model: None,
        operating_system: None,
        tag: None,
        updated_at: None,
        card: vec![],
        raw: None,
    })
}

/// A store with one integration (of a connector that is only a row).
pub(super) fn integration(store: &mut Store) -> i64 {
    crate::store::tests::row_integration(store)
}

/// One page of `stream` written by run `run` in listing `run`, as sync does.
pub(super) fn page(store: &mut Store, integration: i64, stream: StreamKind, run: i64, records: &[Record]) {
    let writes: Vec<_> = records.iter().enumerate().map(|(i, r)| records::to_mirror(i, r).expect("valid")).collect();
    store.transaction(|tx| tx.write_page(integration, stream.as_str(), run, Some(run), &writes)).expect("page");
}

fn card_exists(store: &Store, integration: i64, stream: StreamKind, id: &str) -> bool {
    store.read().card(integration, stream.as_str(), id).expect("card").is_some()
}

#[test]
fn a_page_written_after_an_apply_in_the_same_run_is_applied_next() {
    let (_dir, mut store) = temp_store();
    let id = integration(&mut store);
    // Run 1 writes companies and the first page of assets...
    page(&mut store, id, StreamKind::Companies, 1, &[company("c1")]);
    page(&mut store, id, StreamKind::Assets, 1, &[asset("a1", "c1")]);
    // ... `ferry apply` runs meanwhile ...
    apply(&mut store, id).expect("apply");
    assert!(card_exists(&store, id, StreamKind::Assets, "a1"));
    // ... and run 1 goes on with page 2, then applies its changes.
    page(&mut store, id, StreamKind::Assets, 1, &[asset("a2", "c1")]);
    let report = apply_changes(&mut store, id).expect("apply changes");
    assert_eq!(report.scope, ApplyScope::Changes, "only changes were looked at");
    assert!(card_exists(&store, id, StreamKind::Assets, "a2"), "page 2 of the same run reached the documentation");
    assert_eq!(report.stream(&StreamKind::Assets.into()).map(|c| c.created), Some(1));

    // A deletion mark of that run is a change too.
    store.transaction(|tx| tx.mark_unseen_deleted(id, StreamKind::Assets.as_str(), 2, 1)).expect("mark");
    let report = apply_changes(&mut store, id).expect("apply changes");
    assert_eq!(report.scope, ApplyScope::Changes);
    assert_eq!(report.stream(&StreamKind::Assets.into()).map(|c| c.unchanged + c.updated), Some(2), "both seen again");
    // Nothing changed since: nothing to look at.
    let report = apply_changes(&mut store, id).expect("apply changes");
    assert_eq!(report.stream(&StreamKind::Assets.into()).map(|c| c.unchanged + c.updated + c.created), Some(0));
}
