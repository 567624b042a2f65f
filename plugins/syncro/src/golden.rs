//! Golden test of the whole mapping: rich Syncro records read through the
//! connector as the host reads them (`FakeHttp` answering Syncro's
//! endpoints), the mapped records pinned as text in `testdata/golden.txt`
//! (well-formed records, including what Syncro sends loosely: nulls, blank
//! text, ids as text) and `testdata/golden-hostile.txt` (fields of the wrong
//! JSON type, records without id or name, entries that are no objects).
//!
//! Stored content hashes depend on every label, order and value here, so a
//! difference is a change of behaviour, not of formatting: understand it
//! before regenerating the files (`FERRY_GOLDEN_WRITE=1 cargo test -p
//! ferry-syncro golden`).
//!
//! The samples take their shapes from the simulator (`sim/src/syncro.rs`).

use ferry_sdk::connector;
use ferry_sdk::testing::golden::{Sections, assert_pinned, record_ids, show};
use ferry_sdk::testing::hostile::{changed_member, each_json_type, wrong_types};
use ferry_sdk::testing::{FakeHttp, Reply};

use super::*;

const API: &str = "https://acme.syncromsp.com/api/v1";

fn config() -> RawConfig {
    vec![("subdomain".into(), "acme".into()), ("api_key".into(), "tok".into())]
}

fn route(path: &str) -> String {
    format!("{API}{path}")
}

const CUSTOMERS: &str = r#"[
  {"id": 31245001, "firstname": "Dana", "lastname": "Ortiz", "fullname": "Dana Ortiz",
   "business_name": "Ortiz Dental Group", "email": "office@OrtizDental.example", "phone": "512-555-0142",
   "mobile": null, "created_at": "2024-08-26T09:12:44.001-05:00", "updated_at": "2025-09-30T09:12:44.001-05:00",
   "pdf_url": null, "address": "1200 Lamar Blvd", "address_2": "Suite 4", "city": "Austin", "state": "TX",
   "zip": "78704", "latitude": null, "longitude": null, "notes": "Front desk opens 7am",
   "get_sms": false, "opt_out": false, "disabled": false, "no_email": false,
   "location_name": null, "location_id": null,
   "properties": {"Managed Status": "Managed", "Industry": "Dental", "Seats": 12, "Rate": 2.5,
                  "Backups": true, "Empty": "", "Null": null, "Nested": {"a": 1}, "List": [1, 2],
                  "kabuto_information": {"x": 1}},
   "online_profile_url": null, "tax_rate_id": null, "notification_email": null,
   "invoice_cc_emails": null, "invoice_term_id": null, "referred_by": null, "ref_customer_id": null,
   "business_and_full_name": "Ortiz Dental Group - Dana Ortiz", "business_then_name": "Ortiz Dental Group",
   "contacts": []},
  {"id": 31245002, "firstname": "Walkin", "lastname": "Customer", "fullname": "Walkin Customer",
   "business_name": null, "email": "walkin@mail.example", "phone": null, "mobile": "512-555-0199",
   "updated_at": "2025-09-29T10:00:00Z", "address": null, "city": "Round Rock", "zip": null,
   "disabled": true, "properties": {"Managed Status": "Former"}},
  {"id": "31245003", "firstname": "", "lastname": null, "fullname": "Only Fullname", "business_name": "  ",
   "email": "  ", "phone": "", "address": "", "address_2": "Unit 9", "city": null, "state": "TX",
   "zip": "78701", "notes": "", "properties": {}},
  {"id": 31245004, "business_name": "  Padded Name  ", "email": "no-at-sign", "disabled": false,
   "updated_at": null},
  {"id": 31245005, "firstname": "Ann", "lastname": null, "fullname": null, "business_name": null}
]"#;

/// Newest first (`sort=updated_at DESC`), reaching back past `since`.
const CUSTOMERS_NEWEST: &str = r#"[
  {"id": 31245010, "business_name": "Newest", "updated_at": "2025-10-02T08:00:00.000-05:00"},
  {"id": 31245011, "business_name": "Changed since", "updated_at": "2025-10-01T00:00:00Z"},
  {"id": 31245012, "business_name": "Older", "updated_at": "2025-09-01T00:00:00Z"}
]"#;

const CONTACTS: &str = r#"[
  {"id": 4378001, "name": "Maria Chen", "address1": "1200 Lamar Blvd", "address2": "Suite 4", "city": "Austin",
   "state": "TX", "zip": "78704", "email": "maria@ortiz.example", "phone": "512-555-0143",
   "mobile": "512-555-0144", "latitude": null, "longitude": null, "customer_id": 31245001, "account_id": 1,
   "notes": "Prefers email", "created_at": "2025-03-14T10:00:00Z", "updated_at": "2025-09-30T14:09:53.120-05:00",
   "vendor_id": null, "properties": {"title": "Office Manager"}, "opt_out": false, "extension": null},
  {"id": 4378002, "name": "Cher", "customer_id": "31245001", "email": null, "properties": {}},
  {"id": 4378003, "name": "  ", "email": "nameless@ortiz.example", "customer_id": null, "properties": null},
  {"id": 4378004, "name": null, "email": null, "customer_id": "", "properties": {"title": "  "}},
  {"id": "4378005", "name": "Jean Paul Sartre", "city": "Paris", "properties": {"title": 7}}
]"#;

const ASSETS: &str = r#"[
  {"id": 12313001, "name": "ODG-FRONTDESK-01", "customer_id": 31245001, "contact_id": null,
   "created_at": "2024-12-01T00:00:00Z", "updated_at": "2025-10-02T03:20:11.000-05:00",
   "properties": {"Warranty Expires": "2027-09-02",
     "kabuto_information": {"last_synced_at": "2025-10-02T03:20:11.000-05:00", "last_user": "ODENTAL\\mchen",
       "general": {"form_factor": "Desktop", "domain": "ORTIZDENTAL", "ip": "203.0.113.17",
                   "manufacturer": "HP", "model": "EliteDesk 800 G6"},
       "os": {"name": "Microsoft Windows 11 Pro", "build": "22631", "os_architecture": "64-bit"}}},
   "asset_type": "Syncro Device", "asset_serial": "5CG1234XYZ", "external_rmm_link": null,
   "customer": {"id": 31245001, "business_name": "Ortiz Dental Group"},
   "rmm_links": [], "has_live_chat": false, "snmp_enabled": false, "address": null},
  {"id": 12313002, "name": "ODG-PRINTER", "customer_id": "31245001", "asset_type": "Printer",
   "asset_serial": null, "updated_at": "2025-09-01T00:00:00Z",
   "properties": {"Manufacturer": "Brother", "Model": "HL-L2350", "IP Address": "10.0.0.40",
                  "MAC Address": "00:1A:2B:3C:4D:5E"}},
  {"id": 12313003, "name": "", "customer_id": null, "asset_type": "  ", "properties": null},
  {"id": 12313004, "name": "Odd kabuto", "asset_type": "Syncro Device",
   "properties": {"kabuto_information": {"general": {"manufacturer": 5, "model": "", "ip": null},
                                         "os": "Windows", "last_user": true}}}
]"#;

const TICKETS: &str = r#"[
  {"id": 108430001, "number": 5001, "subject": "Printer offline", "created_at": "2025-10-01T13:05:00Z",
   "customer_id": 31245001, "customer_business_then_name": "Ortiz Dental Group",
   "due_date": "2025-10-02T13:05:00Z", "resolved_at": "2025-10-01T15:40:00Z", "start_at": null, "end_at": null,
   "location_id": null, "location_name": null, "problem_type": "Hardware", "status": "Resolved",
   "ticket_type_id": null, "ticket_type_name": null, "properties": {}, "user_id": null,
   "updated_at": "2025-10-01T15:40:12Z", "pdf_url": null, "priority": "2 Normal", "billing_status": null,
   "tag_list": [], "sla_name": null, "contact_id": 4378001, "contact_fullname": "Maria Chen",
   "contract_id": null, "contract_name": null, "asset_ids": [12313001], "comments": [], "user": null},
  {"id": 108430002, "number": "A-5002", "subject": "  Email down  ", "status": "In Progress",
   "customer_id": "31245001", "contact_id": null, "priority": null, "problem_type": "Software",
   "ticket_type_name": "Incident", "due_date": null, "resolved_at": null},
  {"id": 108430003, "number": null, "subject": null, "status": "", "customer_id": null,
   "problem_type": "", "ticket_type_name": "  "},
  {"id": 108430004, "number": 5004, "subject": "Invoiced", "status": "Invoiced", "resolved_at": null},
  {"id": 108430005, "number": 5005, "subject": "Resolved time only", "status": "Waiting on Customer",
   "resolved_at": "2025-10-03T00:00:00Z"}
]"#;

const TICKET_SETTINGS: &str = r#"{"ticket_status_list": ["New", "In Progress", "Waiting on Customer",
  "Waiting for Parts", "Scheduled", "Customer Reply", "Resolved", "Invoiced", "  ", " Padded "],
  "default_labor_product_id": null, "ticket_types": [], "ticket_type_fields": [],
  "users": [{"id": 1, "name": "API User"}], "worksheet_templates": [], "require_ticket_type": null}"#;

const ACCOUNT_SETTINGS: &str = r#"{
  "customers": {"required_fields": null, "customer_fields": [], "customer_field_answers": []},
  "assets": {"asset_types": [{"id": 100, "name": "Syncro Device"}, {"id": "101", "name": "Printer"}, "Firewall",
                             {"name": "No id"}, {"id": 103}, 5, null],
             "asset_type_fields": [], "asset_type_field_answers": []},
  "locale": {"iso_code": "en"}, "ticket": {"problem_types": ["Hardware"], "priorities": ["0 Urgent"]}}"#;

const ME: &str = r#"{"user_token": "sim-user-token-id", "user_email": "api@sim.example", "user_name": "API User",
  "user_id": 1, "admin": false, "subdomain": "acme",
  "permissions": {"asset": {"read": true, "write": false}, "customer": {"read": true},
                  "ticket": {"read": false, "write": false}}}"#;

/// A list endpoint's answer: `items` under `key`, one page in all.
fn envelope(key: &str, items: &str) -> String {
    format!(r#"{{"{key}": {items}, "meta": {{"total_pages": 1, "total_entries": 99, "per_page": 25, "page": 1}}}}"#)
}

fn read_page(
    http: &FakeHttp,
    kind: StreamKind,
    cursor: Option<&str>,
    since: Option<&str>,
) -> Result<Page, ConnectorError> {
    let _installed = http.install();
    connector::read::<Syncro>(config(), kind, cursor.map(str::to_string), since.map(str::to_string))
}

fn customers_http(body: String) -> FakeHttp {
    one_page("/customers?include_disabled=true&page=", body, "customers")
}

/// A listing of one page: `body` as page 1, and an empty page 2 (a
/// listing's first read also asks for page 2, and drops it when page 1
/// says it is the only one).
fn one_page(path: &str, body: String, key: &str) -> FakeHttp {
    FakeHttp::new().on(Method::Get, &route(&format!("{path}1")), Reply::json(200, body)).on(
        Method::Get,
        &route(&format!("{path}2")),
        Reply::json(200, envelope(key, "[]")),
    )
}

/// The stream `kind` with `items` as its one page.
fn read_items(kind: StreamKind, items: &str) -> Result<Page, ConnectorError> {
    let http = match kind {
        StreamKind::Companies => customers_http(envelope("customers", items)),
        StreamKind::Contacts => one_page("/contacts?page=", envelope("contacts", items), "contacts"),
        StreamKind::Assets => one_page("/customer_assets?page=", envelope("assets", items), "assets"),
        StreamKind::Tickets => one_page("/tickets?page=", envelope("tickets", items), "tickets"),
        other => panic!("no list endpoint for {other:?}"),
    };
    read_page(&http, kind, None, None)
}

/// Both pages of the lookups stream.
fn lookups(ticket_settings: &str, account_settings: &str) -> String {
    let http = FakeHttp::new().on(Method::Get, &route("/tickets/settings"), Reply::json(200, ticket_settings)).on(
        Method::Get,
        &route("/settings"),
        Reply::json(200, account_settings),
    );
    let first = show(read_page(&http, StreamKind::Lookups, None, None));
    let second = show(read_page(&http, StreamKind::Lookups, Some("asset-types"), None));
    format!("{first}\n{second}")
}

fn check(me: &str, customers: &str) -> Result<CheckReport, ConnectorError> {
    let http = FakeHttp::new().on(Method::Get, &route("/me"), Reply::json(200, me)).on(
        Method::Get,
        &route("/customers?include_disabled=true&page=1"),
        Reply::json(200, customers),
    );
    let _installed = http.install();
    connector::check::<Syncro>(config())
}

fn well_formed() -> String {
    let mut out = Sections::new();
    out.add("customers", show(read_items(StreamKind::Companies, CUSTOMERS)));
    let http = FakeHttp::new().on(
        Method::Get,
        &route("/customers?include_disabled=true&sort=updated_at+DESC&page=1"),
        Reply::json(200, r#"{"customers": [], "meta": {"total_pages": 3}}"#.replace("[]", CUSTOMERS_NEWEST)),
    );
    out.add(
        "customers newest first since",
        show(read_page(&http, StreamKind::Companies, None, Some("2025-09-15T00:00:00Z"))),
    );
    out.add("contacts", show(read_items(StreamKind::Contacts, CONTACTS)));
    out.add("assets", show(read_items(StreamKind::Assets, ASSETS)));
    out.add("tickets", show(read_items(StreamKind::Tickets, TICKETS)));
    out.add("lookups", lookups(TICKET_SETTINGS, ACCOUNT_SETTINGS));
    out.add("check", format!("{:#?}", check(ME, &envelope("customers", CUSTOMERS))));
    out.into_text()
}

/// Records Syncro should never send, but one of them must not fail its page.
const HOSTILE_CUSTOMERS: &str = r#"[
  {"id": 31245101, "business_name": "Zip as number", "zip": 78704, "city": "Austin"},
  {"id": 31245102, "business_name": "Properties as a list", "properties": []},
  {"id": 31245103, "business_name": "Disabled as text", "disabled": "true", "email": ["a@b.example"]},
  {"id": 31245104, "business_name": 42, "firstname": {"f": 1}, "lastname": "Lastname only"},
  {"id": 31245105, "updated_at": 1727705393, "business_name": "Time as number"},
  {"id": 1.5, "business_name": "Fractional id"},
  {"id": true, "business_name": "Id as bool"},
  {"id": {"v": 1}, "business_name": "Id as object"},
  {"business_name": "No id"},
  {"id": 31245106},
  {"id": 31245107, "business_name": "Duplicate key", "business_name": "Second name"},
  17, "a string", null, [31245108, "Array"]
]"#;

const HOSTILE_CONTACTS: &str = r#"[
  {"id": 4378101, "name": "Customer id as text", "customer_id": "abc"},
  {"id": 4378102, "name": ["List"], "email": "list-name@x.example", "properties": [], "phone": 5125550100},
  {"id": 4378103, "name": "Customer id as object", "customer_id": {"id": 1}, "updated_at": {"t": 1}},
  {"name": "No id"}, "not a contact"
]"#;

const HOSTILE_ASSETS: &str = r#"[
  {"id": 12313101, "name": "Serial as number", "asset_serial": 123456, "customer_id": 31245001},
  {"id": 12313102, "name": "Properties as text", "properties": "none", "asset_type": ["Printer"]},
  {"id": 12313103, "name": {"n": 1}, "customer_id": 1.5, "properties": {"kabuto_information": []}},
  {"id": null, "name": "Null id"}
]"#;

const HOSTILE_TICKETS: &str = r#"[
  {"id": 108430101, "number": 5101, "subject": "Customer id as text", "customer_id": "abc", "status": "New"},
  {"id": 108430102, "number": {"n": 1}, "subject": ["List"], "status": 3, "resolved_at": true},
  {"id": 108430103, "number": 5103, "subject": "Contact as object", "contact_id": {"id": 1}, "priority": 2},
  {"subject": "No id"}, 5
]"#;

const HOSTILE_TICKET_SETTINGS: &str = r#"{"ticket_status_list": ["New", 5, null, {"name": "Open"}, "Resolved"]}"#;

const HOSTILE_ACCOUNT_SETTINGS: &str =
    r#"{"assets": {"asset_types": [{"id": 100, "name": 5}, {"id": [1], "name": "List id"}, "Firewall"]}}"#;

const HOSTILE_ME: &str = r#"{"user_email": 5, "user_name": "API User", "permissions": []}"#;

fn hostile() -> String {
    let mut out = Sections::new();
    out.add("customers", show(read_items(StreamKind::Companies, HOSTILE_CUSTOMERS)));
    out.add("contacts", show(read_items(StreamKind::Contacts, HOSTILE_CONTACTS)));
    out.add("assets", show(read_items(StreamKind::Assets, HOSTILE_ASSETS)));
    out.add("tickets", show(read_items(StreamKind::Tickets, HOSTILE_TICKETS)));
    out.add("lookups", lookups(HOSTILE_TICKET_SETTINGS, HOSTILE_ACCOUNT_SETTINGS));
    out.add("lookups with lists of the wrong type", lookups(r#"{"ticket_status_list": "New"}"#, r#"{"assets": []}"#));
    out.add("lookups with asset types of the wrong type", lookups("{}", r#"{"assets": {"asset_types": {"id": 1}}}"#));
    out.add("lookups without lists", lookups("{}", r#"{"assets": null}"#));
    out.add("check", format!("{:#?}", check(HOSTILE_ME, &envelope("customers", "[]"))));
    out.add(
        "page not an object",
        show(read_items(StreamKind::Contacts, "[]").and(read_page(
            &FakeHttp::new().on(Method::Get, &route("/contacts?page=1"), Reply::json(200, "[1]")).on(
                Method::Get,
                &route("/contacts?page=2"),
                Reply::json(200, envelope("contacts", "[]")),
            ),
            StreamKind::Contacts,
            None,
            None,
        ))),
    );
    out.add("list not a list", show(read_items(StreamKind::Contacts, r#"{"id": 1}"#)));
    out.into_text()
}

#[test]
fn golden_records_are_unchanged() {
    assert_pinned(
        &well_formed(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/golden.txt"),
        include_str!("../testdata/golden.txt"),
    );
}

#[test]
fn golden_hostile_records_are_unchanged() {
    assert_pinned(
        &hostile(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/golden-hostile.txt"),
        include_str!("../testdata/golden-hostile.txt"),
    );
}

/// Each record of `items` with every member (nested ones included) of each
/// wrong JSON type, read alone as a page of `kind`: the page must read, its
/// one record keeping the id the sample maps to unless the id itself was
/// replaced (a field
/// read strictly would fail the page, or blank the whole record).
fn tolerates_wrong_types(kind: StreamKind, items: &str) -> usize {
    let records: Vec<Value> = serde_json::from_str(items).unwrap();
    let mut tried = 0;
    for record in &records {
        let id = record_ids(&read_items(kind, &format!("[{record}]")).expect("the sample reads")).concat();
        for variant in wrong_types(record) {
            let page = match read_items(kind, &format!("[{variant}]")) {
                Ok(page) => page,
                Err(e) => panic!("{kind:?}: the page failed: {e:?}\n{variant}"),
            };
            let ids = record_ids(&page);
            if changed_member(record, &variant) != Some("id") {
                assert_eq!(ids, std::slice::from_ref(&id), "{kind:?}: the record lost its id\n{variant}");
            }
            tried += 1;
        }
    }
    tried
}

/// Whether the lookups page in `body` is itself of the wrong type: the
/// status list, or the asset types (or the `assets` holding them), present
/// but no list. That page must fail (so nothing counts as deleted).
fn lookups_list_broken(body: &Value) -> bool {
    let not_list = |v: Option<&Value>| v.is_some_and(|v| !v.is_array());
    match body.get("assets") {
        _ if not_list(body.get("ticket_status_list")) => true,
        None | Some(Value::Null) => false,
        Some(Value::Object(assets)) => not_list(assets.get("asset_types")),
        Some(_) => true,
    }
}

/// Both settings bodies with every member (nested ones included) and every
/// entry of their lists of each wrong JSON type: a page fails only when its
/// list is no list; an odd entry or member is skipped.
fn lookups_tolerate_wrong_types() -> usize {
    let mut tried = 0;
    for (ticket_page, sample) in [(true, TICKET_SETTINGS), (false, ACCOUNT_SETTINGS)] {
        let value: Value = serde_json::from_str(sample).unwrap();
        let mut variants = wrong_types(&value);
        let list = if ticket_page { "/ticket_status_list" } else { "/assets/asset_types" };
        let entries = value.pointer(list).and_then(Value::as_array).expect("a list in the sample").len();
        for (i, wrong) in (0..entries).flat_map(|i| each_json_type().map(|w| (i, w))) {
            let mut variant = value.clone();
            if let Some(entry) = variant.pointer_mut(&format!("{list}/{i}")) {
                *entry = wrong;
            }
            variants.push(variant);
        }
        for variant in variants {
            let (ticket, account) = if ticket_page {
                (variant.to_string(), ACCOUNT_SETTINGS.to_string())
            } else {
                (TICKET_SETTINGS.to_string(), variant.to_string())
            };
            let text = lookups(&ticket, &account);
            assert_eq!(text.contains("error:"), lookups_list_broken(&variant), "{text}\n{variant}");
            tried += 1;
        }
    }
    tried
}

#[test]
fn every_field_reads_a_wrong_json_type_as_absent() {
    let mut tried = tolerates_wrong_types(StreamKind::Companies, CUSTOMERS);
    tried += tolerates_wrong_types(StreamKind::Contacts, CONTACTS);
    tried += tolerates_wrong_types(StreamKind::Assets, ASSETS);
    tried += tolerates_wrong_types(StreamKind::Tickets, TICKETS);
    tried += lookups_tolerate_wrong_types();
    for variant in wrong_types(&serde_json::from_str(ME).unwrap()) {
        if let Err(e) = check(&variant.to_string(), &envelope("customers", "[]")) {
            panic!("check failed: {e:?}\n{variant}");
        }
        tried += 1;
    }
    assert!(tried > 1_500, "only {tried} variants");
}
