//! From a connector's records to mirror rows: validation (a connector that
//! lies gets a clear error, not a corrupt mirror), canonical JSON and its
//! content hash.

use sha2::{Digest, Sha256};

use std::collections::HashMap;

use crate::model::{Record, StreamKind};
use crate::store::MirrorWrite;

/// Longest external id accepted.
const MAX_ID_LEN: usize = 256;
/// Largest canonical record accepted (card and raw JSON included).
const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// Most card fields on one record.
const MAX_CARD_FIELDS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {index} ({id}) is invalid: {why}")]
pub struct InvalidRecord {
    pub index: usize,
    pub id: String,
    /// The field at fault (`id`, `name`, `updated-at`, ...), when one is.
    pub field: Option<&'static str>,
    pub why: String,
}

fn check_time(field: &'static str, value: Option<&str>) -> Result<(), (Option<&'static str>, String)> {
    match value {
        Some(v) if chrono::DateTime::parse_from_rfc3339(v).is_err() => {
            Err((Some(field), format!("`{field}` = `{}` is not an RFC 3339 timestamp", short(v))))
        }
        _ => Ok(()),
    }
}

/// Longest snippet of a skipped record kept with it.
pub const SNIPPET_CHARS: usize = 200;

/// A record as kept aside when skipped: its JSON, secrets scrubbed first,
/// then cut to [`SNIPPET_CHARS`] (cutting first could leave part of a
/// secret that redaction no longer recognises).
pub fn snippet(record: &Record, redactor: &crate::secrets::Redactor) -> String {
    let json = serde_json::to_string(record).unwrap_or_default();
    let clean = redactor.redact(&json);
    if clean.chars().count() <= SNIPPET_CHARS {
        return clean;
    }
    let mut out: String = clean.chars().take(SNIPPET_CHARS).collect();
    out.push('…');
    out
}

/// Does a page with `invalid` of `total` records fail as a whole? Only when
/// most of it is bad: then the connector (or the PSA) is broken, not one
/// record, and skipping would hide it.
pub fn mostly_invalid(invalid: usize, total: usize) -> bool {
    invalid * 2 > total
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

fn card_len(r: &Record) -> usize {
    match r {
        Record::Company(x) => x.card.len(),
        Record::Contact(x) => x.card.len(),
        Record::Asset(x) => x.card.len(),
        Record::Site(x) => x.card.len(),
        Record::Agreement(x) => x.card.len(),
        Record::Ticket(x) => x.card.len(),
        Record::Lookup(_) => 0,
    }
}

/// Check one record's invariants.
pub fn validate(index: usize, record: &Record) -> Result<(), InvalidRecord> {
    let id = record.external_id();
    let fail = |(field, why): (Option<&'static str>, String)| InvalidRecord { index, id: short(&id), field, why };
    let on = |field: &'static str, why: &str| (Some(field), why.to_string());
    let raw_id = match record {
        Record::Lookup(l) => l.id.as_str(),
        _ => id.as_str(),
    };
    if raw_id.trim().is_empty() {
        return Err(fail(on("id", "the id is empty")));
    }
    if raw_id.len() > MAX_ID_LEN {
        return Err(fail(on("id", &format!("the id is longer than {MAX_ID_LEN} bytes"))));
    }
    if raw_id.chars().any(char::is_control) {
        return Err(fail(on("id", "the id contains control characters")));
    }
    if record.display_name().trim().is_empty() && !matches!(record, Record::Ticket(_)) {
        return Err(fail(on("name", "the name is empty")));
    }
    if card_len(record) > MAX_CARD_FIELDS {
        return Err(fail(on("card", &format!("the card has more than {MAX_CARD_FIELDS} fields"))));
    }
    if let Some(company) = record.company_id()
        && company.trim().is_empty()
    {
        return Err(fail(on("company-id", "the company id is an empty string (use none)")));
    }
    check_time("updated-at", record.updated_at()).map_err(fail)?;
    match record {
        Record::Agreement(a) => {
            check_time("start-date", a.start_date.as_deref()).map_err(fail)?;
            check_time("end-date", a.end_date.as_deref()).map_err(fail)?;
        }
        Record::Ticket(t) => {
            check_time("created-at", t.created_at.as_deref()).map_err(fail)?;
            check_time("resolved-at", t.resolved_at.as_deref()).map_err(fail)?;
            if t.number.trim().is_empty() {
                return Err(fail(on("number", "the ticket number is empty")));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Two records of one page that share an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "stream `{stream}`: id `{id}` appears twice in one page (records {first} and {second}); ids must be unique in a stream"
)]
pub struct DuplicateId {
    pub stream: StreamKind,
    pub id: String,
    pub first: usize,
    pub second: usize,
}

/// Check that no id repeats within one page. One page is one answer of the
/// PSA, so a repeat there is never paging drift (which can repeat a record
/// across pages): the connector mapped two records to one id, and keeping
/// either would silently lose the other. Sync fails the stream and
/// `ferry plugin check` fails the read with this same message.
pub fn unique_ids(stream: StreamKind, records: &[Record]) -> Result<(), DuplicateId> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let id = record.external_id();
        if let Some(first) = seen.get(&id) {
            return Err(DuplicateId { stream, id: short(&id), first: *first, second: i });
        }
        seen.insert(id, i);
    }
    Ok(())
}

/// The mirror row for a valid record.
pub fn to_mirror(index: usize, record: &Record) -> Result<MirrorWrite, InvalidRecord> {
    let data = serde_json::to_string(record).map_err(|e| InvalidRecord {
        index,
        id: short(&record.external_id()),
        field: None,
        why: format!("cannot be serialised: {e}"),
    })?;
    if data.len() > MAX_RECORD_BYTES {
        return Err(InvalidRecord {
            index,
            id: short(&record.external_id()),
            field: None,
            why: format!("it is {} bytes; the limit is {MAX_RECORD_BYTES}", data.len()),
        });
    }
    Ok(MirrorWrite {
        external_id: record.external_id(),
        company_ext_id: match record {
            Record::Company(_) => None,
            other => other.company_id().map(str::to_string),
        },
        hash: content_hash(&data),
        psa_updated_at: record.updated_at().map(str::to_string),
        data,
    })
}

pub fn content_hash(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Asset, Lookup, LookupKind};

    fn asset(id: &str, updated: Option<&str>) -> Record {
        Record::Asset(Asset {
            id: id.into(),
            company_id: Some("1".into()),
            name: "PC-1".into(),
            type_name: "Laptop".into(),
            status: None,
            active: true,
            serial_number: None,
            mac_address: None,
            ip_address: None,
            manufacturer: None,
            model: None,
            operating_system: None,
            tag: None,
            updated_at: updated.map(str::to_string),
            card: vec![],
            raw: None,
        })
    }

    #[test]
    fn valid_record_hashes_stably() {
        let r = asset("7", Some("2025-10-02T03:15:40Z"));
        validate(0, &r).unwrap();
        let a = to_mirror(0, &r).unwrap();
        let b = to_mirror(0, &r).unwrap();
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.company_ext_id.as_deref(), Some("1"));
        let c = to_mirror(0, &asset("7", Some("2025-10-02T03:15:41Z"))).unwrap();
        assert_ne!(a.hash, c.hash);
    }

    #[test]
    fn rejects_lies() {
        assert!(validate(0, &asset("", None)).is_err());
        assert!(validate(0, &asset("a\u{0}b", None)).is_err());
        assert!(validate(0, &asset(&"x".repeat(300), None)).is_err());
        let err = validate(3, &asset("9", Some("yesterday"))).unwrap_err();
        assert_eq!(err.index, 3);
        assert_eq!(err.field, Some("updated-at"));
        assert!(err.why.contains("RFC 3339"));
        assert_eq!(validate(0, &asset("", None)).unwrap_err().field, Some("id"));
        // Ids are opaque text: a negative number is a valid id.
        assert!(validate(0, &asset("-17", None)).is_ok());
    }

    #[test]
    fn a_page_fails_only_when_most_of_it_is_invalid() {
        assert!(!mostly_invalid(1, 2));
        assert!(!mostly_invalid(1, 1000));
        assert!(mostly_invalid(2, 3));
        assert!(mostly_invalid(1, 1));
        assert!(!mostly_invalid(0, 0));
    }

    #[test]
    fn snippets_are_redacted_then_cut() {
        let secret = "tok-abcdef-123456".to_string();
        let mut r = asset("1", None);
        if let Record::Asset(a) = &mut r {
            a.name = format!("{}{secret}", "x".repeat(190));
        }
        let s = snippet(&r, &crate::secrets::Redactor::new([secret.clone()]));
        assert!(!s.contains("tok-abc"), "{s}");
        assert!(s.chars().count() <= SNIPPET_CHARS + 1 && s.ends_with('…'), "{s}");
    }

    #[test]
    fn repeated_ids_within_a_page_are_named() {
        let page = vec![asset("1", None), asset("2", None), asset("1", None)];
        let err = unique_ids(StreamKind::Assets, &page).unwrap_err();
        assert_eq!(err, DuplicateId { stream: StreamKind::Assets, id: "1".into(), first: 0, second: 2 });
        let text = err.to_string();
        assert!(text.contains("`assets`") && text.contains("id `1`"), "{text}");
        assert!(unique_ids(StreamKind::Assets, &page[..2]).is_ok());
        assert!(unique_ids(StreamKind::Assets, &[]).is_ok());
    }

    #[test]
    fn lookup_ids_are_namespaced() {
        let r = Record::Lookup(Lookup {
            kind: LookupKind::AssetType,
            id: "3".into(),
            name: "Laptop".into(),
            active: true,
            closed: false,
        });
        assert_eq!(to_mirror(0, &r).unwrap().external_id, "asset-type:3");
    }
}
