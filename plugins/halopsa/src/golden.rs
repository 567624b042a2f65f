//! Golden test of the whole mapping: rich HaloPSA records read through the
//! connector as the host reads them (`FakeHttp` answering the token and
//! resource servers), the mapped records pinned as text in
//! `testdata/golden.txt` (well-formed records, nulls and blanks included)
//! and `testdata/golden-hostile.txt` (fields of the wrong JSON type, records
//! without id or name, entries that are no objects).
//!
//! Stored content hashes depend on every label, order and value here, so a
//! difference is a change of behaviour, not of formatting: understand it
//! before regenerating the files (`FERRY_GOLDEN_WRITE=1 cargo test -p
//! ferry-halopsa golden`).
//!
//! The samples take their shapes from the simulator (`sim/src/halopsa.rs`).

use ferry_sdk::connector;
use ferry_sdk::testing::golden::{Sections, assert_pinned, record_ids, show};
use ferry_sdk::testing::hostile::{changed_member, wrong_types};
use ferry_sdk::testing::{FakeHttp, Reply};

use super::*;

const TOKEN: &str = r#"{"access_token":"tok-1","expires_in":3600,"token_type":"Bearer"}"#;

fn config() -> RawConfig {
    [("auth_url", "https://auth.example"), ("resource_url", "https://api.example"), ("client_id", "id")]
        .into_iter()
        .chain([("client_secret", "s3cret")])
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const CLIENTS: &str = r#"[
  {"id": 1, "name": "Ortiz Dental Group", "inactive": false, "website": "ortizdental.example",
   "phonenumber": "512-555-0142"},
  {"id": 2, "name": "  Former Client  ", "inactive": true, "website": "", "phonenumber": null},
  {"id": "3", "name": "Id as text", "website": null},
  {"id": 0, "name": "Id zero"},
  {"id": 5, "name": null, "inactive": null}
]"#;

const USERS: &str = r#"[
  {"id": 1, "name": "Maria Chen", "firstname": "Maria", "surname": "Chen", "emailaddress": "maria@ortiz.example",
   "phonenumber": "512-555-0143", "mobilenumber": "512-555-0144", "jobtitle": "Office Manager", "client_id": 1,
   "client_name": "Ortiz Dental Group", "inactive": false},
  {"id": 2, "name": null, "firstname": "Cher", "surname": null, "client_id": 0, "inactive": true},
  {"id": 3, "name": "", "firstname": "  ", "surname": "Only", "emailaddress": "  ", "client_id": "1"},
  {"id": 4, "jobtitle": null}
]"#;

const ASSETS: &str = r#"[
  {"id": 1, "inventory_number": "HALO-00001", "key_field": "ODG-FRONTDESK-01", "key_field2": "5CG1234XYZ",
   "key_field3": "00:1A:2B:3C:4D:5E", "assettype_name": "Desktop", "client_id": 1,
   "client_name": "Ortiz Dental Group", "inactive": false},
  {"id": 2, "inventory_number": "HALO-00002", "key_field": null, "key_field2": "", "assettype_name": null,
   "client_id": 0, "inactive": true},
  {"id": 3, "inventory_number": null, "key_field": "  "}
]"#;

const SITES: &str = r#"[
  {"id": 1, "name": "Main", "client_id": 1, "client_name": "Ortiz Dental Group", "inactive": false,
   "isinvoicesite": true, "phonenumber": "512-555-0142",
   "delivery_address": {"line1": "1200 Lamar Blvd", "line2": "Austin", "line3": "TX", "postcode": "78704"}},
  {"id": 2, "name": "Branch", "client_id": 1, "client_name": "  ", "inactive": true, "isinvoicesite": false,
   "delivery_address": {"line1": null, "line2": "", "line3": "TX", "postcode": null}},
  {"id": 3, "name": "No address", "client_id": null, "delivery_address": null}
]"#;

const CONTRACTS: &str = r#"[
  {"id": 1, "ref": "MSP-2024", "client_id": 1, "client_name": "Ortiz Dental Group",
   "contract_type": "Managed Services", "start_date": "2024-01-01T00:00:00", "end_date": "2026-12-31T00:00:00",
   "active": true},
  {"id": 2, "ref": null, "client_id": 1, "contract_type": "Block Time", "start_date": "2024-06-01T00:00:00",
   "end_date": null, "active": false},
  {"id": 3, "ref": "  ", "contract_type": ""}
]"#;

/// The stream and its endpoint's path and envelope key.
const STREAMS: [(&str, &str, &str); 5] = [
    ("companies", "/api/Client", "clients"),
    ("contacts", "/api/Users", "users"),
    ("assets", "/api/Asset", "assets"),
    ("sites", "/api/Site", "sites"),
    ("contracts", "/api/ClientContract", "contracts"),
];

fn stream_ref(name: &str) -> StreamRef {
    match name {
        "companies" => StreamRef::Kind(StreamKind::Companies),
        "contacts" => StreamRef::Kind(StreamKind::Contacts),
        "assets" => StreamRef::Kind(StreamKind::Assets),
        "sites" => StreamRef::Kind(StreamKind::Sites),
        extra => StreamRef::Extra(extra.into()),
    }
}

/// The stream `name` with `items` as its one page (`record_count` 250).
fn read_items(name: &str, items: &str) -> Result<Page, ConnectorError> {
    let (_, path, key) = STREAMS.iter().find(|(n, ..)| *n == name).expect("a stream of STREAMS");
    let body = format!(r#"{{"record_count": 250, "{key}": {items}}}"#);
    read_body(name, path, body)
}

fn read_body(name: &str, path: &str, body: String) -> Result<Page, ConnectorError> {
    let url = format!("https://api.example{path}?pageinate=true&page_no=1&page_size=100");
    let http = FakeHttp::new().on(Method::Post, "https://auth.example/auth/token", Reply::json(200, TOKEN)).on(
        Method::Get,
        &url,
        Reply::json(200, body),
    );
    let _installed = http.install();
    connector::read::<HaloPsa>(config(), stream_ref(name), None, None)
}

fn well_formed() -> String {
    let mut out = Sections::new();
    for (name, items) in
        [("companies", CLIENTS), ("contacts", USERS), ("assets", ASSETS), ("sites", SITES), ("contracts", CONTRACTS)]
    {
        out.add(name, show(read_items(name, items)));
    }
    out.into_text()
}

const HOSTILE_CLIENTS: &str = r#"[
  {"id": 11, "name": 42, "inactive": "true", "website": ["x.example"], "phonenumber": 5125550142},
  {"id": 1.5, "name": "Fractional id"},
  {"id": true, "name": "Id as bool"},
  {"id": {"v": 1}, "name": "Id as object"},
  {"name": "No id"},
  {"id": 12, "name": "Duplicate key", "name": "Second name"},
  17, "a string", null, [13, "Array"]
]"#;

const HOSTILE_USERS: &str = r#"[
  {"id": 21, "name": ["List"], "firstname": 5, "surname": "Surname", "client_id": "abc", "inactive": 1},
  {"id": 22, "name": "Client as object", "client_id": {"id": 1}, "emailaddress": true, "jobtitle": {}}
]"#;

const HOSTILE_ASSETS: &str = r#"[
  {"id": 31, "key_field": 123, "inventory_number": "HALO-31", "key_field2": 5, "client_id": 1.5,
   "assettype_name": ["Desktop"]}
]"#;

const HOSTILE_SITES: &str = r#"[
  {"id": 41, "name": "Address as list", "delivery_address": ["1 Road"], "isinvoicesite": "yes", "client_id": []},
  {"id": 42, "name": "Address lines of the wrong type", "delivery_address": {"line1": 1, "line2": {"c": 1},
   "postcode": 78704}, "client_name": 7}
]"#;

const HOSTILE_CONTRACTS: &str = r#"[
  {"id": 51, "ref": 5, "client_id": "x", "contract_type": ["Block"], "start_date": 20240101, "active": "no",
   "client_name": {}, "end_date": true}
]"#;

fn hostile() -> String {
    let mut out = Sections::new();
    for (name, items) in [
        ("companies", HOSTILE_CLIENTS),
        ("contacts", HOSTILE_USERS),
        ("assets", HOSTILE_ASSETS),
        ("sites", HOSTILE_SITES),
        ("contracts", HOSTILE_CONTRACTS),
    ] {
        out.add(name, show(read_items(name, items)));
    }
    out.add(
        "record count as text",
        show(read_body(
            "companies",
            "/api/Client",
            r#"{"record_count": "250", "clients": [{"id": 1, "name": "A"}]}"#.into(),
        )),
    );
    out.add("list not a list", show(read_items("companies", r#"{"id": 1}"#)));
    out.add("page not an object", show(read_body("companies", "/api/Client", "[1]".into())));
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
/// wrong JSON type, read alone as a page of stream `name`: the page must
/// read, its one record keeping the id the sample maps to unless the id
/// itself was replaced (a field read strictly would fail the page, or blank
/// the whole record).
fn tolerates_wrong_types(name: &str, items: &str) -> usize {
    let records: Vec<Value> = serde_json::from_str(items).unwrap();
    let mut tried = 0;
    for record in &records {
        let id = record_ids(&read_items(name, &format!("[{record}]")).expect("the sample reads")).concat();
        for variant in wrong_types(record) {
            let page = match read_items(name, &format!("[{variant}]")) {
                Ok(page) => page,
                Err(e) => panic!("{name}: the page failed: {e:?}\n{variant}"),
            };
            if changed_member(record, &variant) != Some("id") {
                assert_eq!(record_ids(&page), std::slice::from_ref(&id), "{name}: the record lost its id\n{variant}");
            }
            tried += 1;
        }
    }
    tried
}

#[test]
fn every_field_reads_a_wrong_json_type_as_absent() {
    let mut tried = 0;
    for (name, items) in
        [("companies", CLIENTS), ("contacts", USERS), ("assets", ASSETS), ("sites", SITES), ("contracts", CONTRACTS)]
    {
        tried += tolerates_wrong_types(name, items);
    }
    assert!(tried > 500, "only {tried} variants");
}
