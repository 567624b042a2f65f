//! Connector records → the store's path: whatever JSON a record claims to
//! be must either be rejected with an error or validate, hash and place
//! without panicking.
#![no_main]

use ferry::model::Record;
use ferry::options::IntegrationOptions;
use ferry::rules;
use ferry::sync::records;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = serde_json::from_slice::<Record>(data) else { return };
    if records::validate(0, &record).is_err() {
        return;
    }
    let Ok(row) = records::to_mirror(0, &record) else { return };
    // The mirror form reads back to the same record.
    let back: Record = serde_json::from_str(&row.data).expect("mirror JSON reads back");
    assert_eq!(back, record);
    let options = IntegrationOptions::default();
    let _ = rules::layout_for(&options, &record, |_| true);
    let _ = rules::skip_record(&options, &record);
    if let Record::Asset(a) = &record {
        for field in ["serial", "mac", "name"] {
            let _ = rules::device_identity(field, a);
        }
    }
    if let Record::Ticket(t) = &record {
        let _ = rules::ticket_stage(&options.tickets, &t.status, t.closed);
    }
});
