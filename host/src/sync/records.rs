//! From a connector's records to mirror rows: bounds (secrets masked,
//! over-long text cut), validation (a connector that lies gets a clear
//! error, not a corrupt mirror), canonical JSON and its content hash.

use std::collections::HashMap;

use crate::hashing::content_hash;
use crate::model::{Address, Field, Record, StreamId};
use crate::secrets::Redactor;
use crate::store::MirrorWrite;

/// Longest name kept, in characters: record names, ticket subjects, types,
/// statuses, card labels. Longer ones are cut (ending in `…`) and counted
/// in the run report (`truncated`).
pub const MAX_NAME_CHARS: usize = 1_000;
/// Longest other value kept, in characters: card values, addresses,
/// e-mails, serial numbers, … Cut and counted like names.
pub const MAX_VALUE_CHARS: usize = 10_000;

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

/// A value quoted in an error: its first 60 characters, control
/// characters shown as escapes (the error is stored and printed; an id
/// rejected for control characters must not carry them along).
fn short(s: &str) -> String {
    let head: String = s.chars().take(60).collect();
    crate::text::visible(&head).into_owned()
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
        Record::Item(x) => x.card.len(),
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

/// Is the record's id, or an id it refers to, holding a value that must
/// never be stored (a configured secret, a token-like state value)? Such a
/// record is kept aside as invalid: masking the id would rewrite it into
/// another record's (two ids can collapse into one), and storing it would
/// store the secret.
pub fn secret_in_ids(index: usize, record: &Record, redactor: &Redactor) -> Result<(), InvalidRecord> {
    let external = record.external_id();
    let own = match record {
        Record::Lookup(l) => l.id.as_str(),
        _ => external.as_str(),
    };
    let contact = match record {
        Record::Ticket(t) => t.contact_id.as_deref(),
        _ => None,
    };
    let found = if redactor.in_record(own) {
        Some(("id", "its id contains a secret"))
    } else if record.company_id().is_some_and(|c| redactor.in_record(c)) {
        Some(("company-id", "its company id contains a secret"))
    } else if contact.is_some_and(|c| redactor.in_record(c)) {
        Some(("contact-id", "its contact id contains a secret"))
    } else {
        None
    };
    match found {
        Some((field, why)) => {
            Err(InvalidRecord { index, id: crate::secrets::MASK.to_string(), field: Some(field), why: why.to_string() })
        }
        None => Ok(()),
    }
}

/// Two records of one page that share an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "stream `{stream}`: id `{id}` appears twice in one page (records {first} and {second}); ids must be unique in a stream"
)]
pub struct DuplicateId {
    pub stream: StreamId,
    pub id: String,
    pub first: usize,
    pub second: usize,
}

/// Check that no id repeats within one page with different content: the
/// connector mapped two records to one id, and keeping either would
/// silently lose the other. Sync fails the stream and `ferry plugin check`
/// fails the read with this same message. A record repeated *identically*
/// is paging drift, not ambiguity: since contract 0.4 one page may hold
/// several answers of the PSA read at once (`send-batch`), and a record that
/// shifted from one PSA page onto the next arrives twice, as it always
/// could across pages; the copies write one row. Invalid records do not
/// count: they are kept aside one by one, so two of them without a usable
/// id (both mapped to an empty one) lose nothing and must not fail the
/// page.
pub fn unique_ids(stream: &StreamId, records: &[Record]) -> Result<(), DuplicateId> {
    unique_ids_except(stream, records, &[])
}

/// [`unique_ids`], the records at `invalid` (indices found invalid by the
/// caller's other checks) not counting either.
pub fn unique_ids_except(stream: &StreamId, records: &[Record], invalid: &[usize]) -> Result<(), DuplicateId> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        if invalid.contains(&i) || validate(i, record).is_err() {
            continue;
        }
        let id = record.external_id();
        match seen.get(&id) {
            Some(first) if records[*first] == *record => {}
            Some(first) => {
                return Err(DuplicateId { stream: stream.clone(), id: short(&id), first: *first, second: i });
            }
            None => {
                seen.insert(id, i);
            }
        }
    }
    Ok(())
}

/// Bring one record within bounds, before anything else reads it: every
/// string but the ids has what must never be stored masked (configured
/// secrets and token-like state values, see
/// [`Redactor::redact_record_in_place`]; timestamps and raw JSON included),
/// then names and values longer than [`MAX_NAME_CHARS`] / [`MAX_VALUE_CHARS`]
/// are cut. Ids and references are never rewritten (a rewritten id names
/// another record): [`secret_in_ids`] keeps a record whose id holds a
/// secret aside instead. Ids and timestamps are not cut: validation refuses
/// bad ones whole. Returns how many values were cut.
pub fn bound(record: &mut Record, redactor: &Redactor) -> u64 {
    let mut b = Bounds { redactor, cut: 0 };
    match record {
        Record::Company(c) => {
            b.name(&mut c.name);
            b.opt_name(&mut c.status);
            c.types.iter_mut().for_each(|t| b.name(t));
            b.opt_value(&mut c.website);
            b.opt_value(&mut c.email);
            b.opt_value(&mut c.phone);
            b.address(&mut c.address);
            b.opt_exact(&mut c.updated_at);
            b.card(&mut c.card);
            b.opt_exact(&mut c.raw);
        }
        Record::Contact(c) => {
            b.name(&mut c.name);
            b.opt_name(&mut c.first_name);
            b.opt_name(&mut c.last_name);
            b.opt_name(&mut c.title);
            b.opt_value(&mut c.email);
            b.opt_value(&mut c.phone);
            b.opt_value(&mut c.mobile);
            b.opt_exact(&mut c.updated_at);
            b.card(&mut c.card);
            b.opt_exact(&mut c.raw);
        }
        Record::Asset(a) => {
            b.name(&mut a.name);
            b.name(&mut a.type_name);
            b.opt_name(&mut a.status);
            for v in [
                &mut a.serial_number,
                &mut a.mac_address,
                &mut a.ip_address,
                &mut a.manufacturer,
                &mut a.model,
                &mut a.operating_system,
                &mut a.tag,
            ] {
                b.opt_value(v);
            }
            b.opt_exact(&mut a.updated_at);
            b.card(&mut a.card);
            b.opt_exact(&mut a.raw);
        }
        Record::Site(x) => {
            b.name(&mut x.name);
            b.address(&mut x.address);
            b.opt_value(&mut x.phone);
            b.opt_exact(&mut x.updated_at);
            b.card(&mut x.card);
            b.opt_exact(&mut x.raw);
        }
        Record::Agreement(a) => {
            b.name(&mut a.name);
            b.opt_name(&mut a.type_name);
            b.opt_name(&mut a.status);
            b.opt_exact(&mut a.start_date);
            b.opt_exact(&mut a.end_date);
            b.opt_exact(&mut a.updated_at);
            b.card(&mut a.card);
            b.opt_exact(&mut a.raw);
        }
        Record::Ticket(t) => {
            b.exact(&mut t.number);
            b.name(&mut t.subject);
            b.name(&mut t.status);
            b.opt_name(&mut t.priority);
            b.opt_name(&mut t.type_name);
            b.opt_name(&mut t.board);
            b.opt_exact(&mut t.created_at);
            b.opt_exact(&mut t.updated_at);
            b.opt_exact(&mut t.resolved_at);
            b.card(&mut t.card);
            b.opt_exact(&mut t.raw);
        }
        Record::Lookup(l) => {
            b.name(&mut l.name);
        }
        Record::Item(x) => {
            b.name(&mut x.name);
            b.name(&mut x.type_name);
            b.opt_exact(&mut x.updated_at);
            b.card(&mut x.card);
            b.opt_exact(&mut x.raw);
        }
    }
    b.cut
}

struct Bounds<'a> {
    redactor: &'a Redactor,
    cut: u64,
}

impl Bounds<'_> {
    fn exact(&mut self, s: &mut String) {
        self.redactor.redact_record_in_place(s);
    }

    fn opt_exact(&mut self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.exact(s);
        }
    }

    fn limit(&mut self, s: &mut String, max: usize) {
        self.redactor.redact_record_in_place(s);
        if crate::text::truncate_chars(s, max) {
            self.cut += 1;
        }
    }

    fn name(&mut self, s: &mut String) {
        self.limit(s, MAX_NAME_CHARS);
    }

    fn opt_name(&mut self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.name(s);
        }
    }

    fn opt_value(&mut self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.limit(s, MAX_VALUE_CHARS);
        }
    }

    fn address(&mut self, a: &mut Option<Address>) {
        if let Some(a) = a {
            for v in [&mut a.line1, &mut a.line2, &mut a.city, &mut a.state, &mut a.postal_code, &mut a.country] {
                self.opt_value(v);
            }
        }
    }

    fn card(&mut self, fields: &mut [Field]) {
        for f in fields {
            self.name(&mut f.label);
            self.limit(&mut f.value, MAX_VALUE_CHARS);
        }
    }
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
        let nul = validate(0, &asset("a\u{0}b\u{1b}[2J", None)).unwrap_err();
        assert_eq!(nul.id, "a\\0b\\e[2J", "quoted escaped");
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
        let Record::Asset(mut other) = asset("1", None) else { unreachable!() };
        other.serial_number = Some("another".into());
        let page = vec![asset("1", None), asset("2", None), Record::Asset(other)];
        let assets = StreamId::Kind(crate::model::StreamKind::Assets);
        let err = unique_ids(&assets, &page).unwrap_err();
        assert_eq!(err, DuplicateId { stream: assets.clone(), id: "1".into(), first: 0, second: 2 });
        let text = err.to_string();
        assert!(text.contains("`assets`") && text.contains("id `1`"), "{text}");
        assert!(unique_ids(&assets, &page[..2]).is_ok());
        assert!(unique_ids(&assets, &[]).is_ok());
    }

    #[test]
    fn invalid_records_never_count_as_repeated_ids() {
        // Two records a connector could not read an id for: each is kept
        // aside as invalid, and the page's valid records still sync.
        let page = vec![asset("", None), asset("1", None), asset("", None)];
        let assets = StreamId::Kind(crate::model::StreamKind::Assets);
        assert!(validate(0, &page[0]).is_err(), "an empty id is invalid");
        assert!(unique_ids(&assets, &page).is_ok());
    }

    #[test]
    fn bounds_mask_secrets_then_cut_and_count() {
        let secret = "s3cr3t-token-value";
        let r = Redactor::new([secret.to_string()]);
        let Record::Asset(mut a) = asset("id-1", Some(&format!("{secret}-not-a-time"))) else { unreachable!() };
        a.name = "n".repeat(MAX_NAME_CHARS + 5);
        a.serial_number = Some(format!("{}{secret}", "v".repeat(MAX_VALUE_CHARS - 3)));
        a.card = vec![Field { label: "Note".into(), value: format!("see {secret}") }];
        a.raw = Some(format!("{{\"key\":\"{secret}\"}}"));
        let mut record = Record::Asset(a);
        assert_eq!(bound(&mut record, &r), 2);
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("s3cr3t"), "{json}");
        let Record::Asset(a) = &record else { unreachable!() };
        assert_eq!(a.name.chars().count(), MAX_NAME_CHARS);
        assert!(a.name.ends_with('…'));
        assert_eq!(a.serial_number.as_ref().map(|s| s.chars().count()), Some(MAX_VALUE_CHARS));
        // The error quoting a bad timestamp quotes the masked one.
        let err = validate(0, &record).unwrap_err().to_string();
        assert!(err.contains("********") && !err.contains("s3cr3t"), "{err}");
        // Nothing to do: nothing cut, nothing changed.
        let mut fine = asset("7", None);
        let before = fine.clone();
        assert_eq!(bound(&mut fine, &r), 0);
        assert_eq!(fine, before);
    }

    #[test]
    fn a_short_state_value_stays_in_records_a_token_like_one_is_masked() {
        let r = Redactor::new(Vec::new());
        let token = "tok_0123456789abcdefXYZ";
        r.learn(["Work".to_string(), token.to_string()]);
        let Record::Asset(mut a) = asset("Work-1", None) else { unreachable!() };
        a.type_name = "Workstation".into();
        a.name = "Work PC".into();
        a.card = vec![Field { label: "Token".into(), value: format!("Bearer {token}") }];
        let mut record = Record::Asset(a);
        bound(&mut record, &r);
        let Record::Asset(a) = &record else { unreachable!() };
        assert_eq!((a.id.as_str(), a.type_name.as_str(), a.name.as_str()), ("Work-1", "Workstation", "Work PC"));
        assert_eq!(a.card[0].value, "Bearer ********");
        assert!(secret_in_ids(0, &record, &r).is_ok(), "a short state value in an id is no secret in records");
        // In output text the short value is still masked.
        assert_eq!(r.redact("Workstation"), "********station");
    }

    #[test]
    fn ids_are_never_rewritten_a_secret_in_one_keeps_the_record_aside() {
        let token = "tok_0123456789abcdefXYZ";
        let r = Redactor::new(["configured-key".to_string()]);
        r.learn([token.to_string()]);
        for id in [format!("huge-{token}"), "configured-key-7".to_string()] {
            let mut record = asset(&id, None);
            bound(&mut record, &r);
            assert_eq!(record.external_id(), id, "the id is not rewritten");
            let err = secret_in_ids(3, &record, &r).unwrap_err();
            assert_eq!((err.field, err.why.as_str()), (Some("id"), "its id contains a secret"));
            assert!(!err.to_string().contains(token) && !err.to_string().contains("configured-key"), "{err}");
        }
        let Record::Asset(mut a) = asset("5", None) else { unreachable!() };
        a.company_id = Some(token.to_string());
        let record = Record::Asset(a);
        assert_eq!(secret_in_ids(0, &record, &r).unwrap_err().field, Some("company-id"));
        // Two records whose ids would have collapsed into one once masked
        // are each kept aside; the page's other ids are still checked.
        let page = vec![asset(&format!("{token}-a"), None), asset(&format!("{token}-b"), None), asset("1", None)];
        let assets = StreamId::Kind(crate::model::StreamKind::Assets);
        assert!(unique_ids_except(&assets, &page, &[0, 1]).is_ok());
    }

    #[test]
    fn an_identical_repeat_in_a_page_is_drift_and_a_different_one_ambiguity() {
        let assets = StreamId::Kind(crate::model::StreamKind::Assets);
        let drift = vec![asset("1", None), asset("2", None), asset("1", None)];
        assert!(unique_ids(&assets, &drift).is_ok(), "the same record twice (read-ahead drift) writes one row");
        let Record::Asset(mut other) = asset("1", None) else { unreachable!() };
        other.name = "another device".into();
        let ambiguous = vec![asset("1", None), asset("2", None), Record::Asset(other)];
        let e = unique_ids(&assets, &ambiguous).unwrap_err();
        assert_eq!((e.first, e.second), (0, 2));
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
