//! Golden test of the whole mapping: rich and hostile CW records, read
//! through the connector as the host reads them (`FakeHttp` answering CW's
//! endpoints), with the records pinned as text in `testdata/golden.txt`.
//!
//! Stored content hashes depend on every label, order and value here, so a
//! difference is a change of behaviour, not of formatting: understand it
//! before regenerating the file (`FERRY_GOLDEN_WRITE=1 cargo test -p
//! ferry-cw-manage golden`).
//!
//! The samples take their shapes from the simulator (`sim/src/cw/data.rs`)
//! and the 2025.8 models (`sim/tests/data/cw-models-2025.8.txt`); the
//! hostile ones put a wrong JSON type into every kind of field: a record
//! must still map (the field absent, or an empty id that Ferry skips as
//! invalid) and never fail its page.

use ferry_sdk::connector;
use ferry_sdk::testing::golden::{Sections, assert_pinned};
use ferry_sdk::testing::hostile::wrong_types;
use ferry_sdk::testing::{FakeHttp, Reply};

use super::*;

use crate::test_config::{config, route};

/// A list endpoint's `/count`: every sample fits one page.
fn count() -> Reply {
    Reply::json(200, r#"{"count": 12}"#)
}

const COMPANY_STATUSES: &str = r#"[
  {"id": 1, "name": "Active", "inactiveFlag": false},
  {"id": 2, "name": "Inactive", "inactiveFlag": true},
  {"id": "3", "name": "Id as text", "inactiveFlag": true},
  {"id": 4, "name": "Flag as text", "inactiveFlag": "true"},
  {"id": 5.0, "name": "Id as float", "inactiveFlag": true},
  {"id": -6, "name": "Negative id", "inactiveFlag": true},
  {"id": 7, "name": "Also inactive", "inactiveFlag": true},
  "not an object", null, [7, true]
]"#;

const COMPANIES: &str = r#"[
  {"id": 250, "identifier": "OrtizDental", "name": "  Ortiz Dental Group  ",
   "status": {"id": 1, "name": "Active", "_info": {"status_href": "https://x/statuses/1"}},
   "addressLine1": "1200 Lamar Blvd", "addressLine2": "Suite 4", "city": "Austin", "state": "TX", "zip": "78704",
   "country": {"id": 1, "identifier": "US", "name": "United States"},
   "phoneNumber": "5125550142", "faxNumber": "5125550100", "website": "www.ortizdental.example",
   "territory": {"id": 2, "name": "Main"}, "accountNumber": "A-1001",
   "defaultContact": {"id": 812, "name": "Maria Chen"}, "dateAcquired": "2019-03-01T00:00:00Z",
   "leadFlag": false, "unsubscribeFlag": false, "deletedFlag": false, "isVendorFlag": false,
   "types": [{"id": 1, "name": "Client"}, {"id": 3, "name": " Vendor "}, {"id": 9, "name": ""}, "Prospect", {"id": 4}],
   "site": {"id": 1000, "name": "Main"},
   "_info": {"lastUpdated": "2025-09-30T14:09:53Z", "updatedBy": "apimember", "dateEntered": "2023-07-23T14:09:53Z"},
   "customFields": [], "somethingNew": {"nested": [1, 2, 3]}},
  {"id": 251, "identifier": "Gone", "name": "Gone Inc", "status": {"id": 2, "name": "Inactive"},
   "deletedFlag": true, "dateDeleted": "2025-01-01T00:00:00Z", "addressLine2": "only line 2", "state": "TX",
   "_info": {"lastUpdated": "2025-01-01T00:00:00Z"}},
  {"id": 252, "name": "Inactive by status", "status": {"id": 7}, "city": "Round Rock"},
  {"id": 253, "name": "Status id as text", "status": {"id": "2", "name": "Inactive"}, "zip": "78701"},
  {"id": 254, "name": "Status id as float", "status": {"id": 2.0, "name": "Inactive"}},
  {"id": 255, "name": "Status as a list", "status": [2, "Inactive"], "types": {"name": "Client"}},
  {"id": "256", "name": 42, "identifier": {"x": 1}, "status": "Active", "territory": "Main",
   "addressLine1": {"line": "1 Main"}, "city": ["Austin"], "state": 48, "zip": 78704, "country": "US",
   "phoneNumber": true, "faxNumber": 5125550100, "website": "", "accountNumber": "   ",
   "defaultContact": {"id": {"x": 1}, "name": 7}, "dateAcquired": 20190301, "deletedFlag": "true",
   "types": "Client", "_info": "2025-09-30T14:09:53Z"},
  {"id": 257, "name": "Dates of the wrong kind", "_info": {"lastUpdated": 1727705393, "dateEntered": {"t": 1}}},
  {"id": 258, "name": "Not a timestamp", "_info": {"lastUpdated": "yesterday"}},
  {"id": 259, "name": "Info as a list", "_info": ["2025-09-30T14:09:53Z"]},
  {"id": -42, "name": "Negative id"},
  {"id": 3000000000, "name": "Beyond int32"},
  {"id": 1e30, "name": "Huge id"},
  {"id": 12.5, "name": "Fractional id"},
  {"id": " 77 ", "name": "Id as padded text"},
  {"id": true, "name": "Id as bool"},
  {"id": {"value": 1}, "name": "Id as object"},
  {"id": [1], "name": "Id as list"},
  {"id": null, "name": "Id null"},
  {"name": "No id"},
  {"id": 260, "id": 261, "name": "Duplicate key, the last wins", "name": "Second name"},
  {"id": 262},
  17, "a string record", null, [250, "Ortiz"], {}
]"#;

const CONTACTS: &str = r#"[
  {"id": 812, "firstName": "Maria", "lastName": "Chen", "company": {"id": 250, "identifier": "OrtizDental", "name": "Ortiz"},
   "site": {"id": 1000, "name": "Main"}, "department": {"id": 3, "name": "Front Office"},
   "relationship": {"id": 2, "name": "Decision Maker"}, "types": [{"id": 1, "name": "Billing"}, {"id": 2, "name": "Owner"}],
   "inactiveFlag": false, "title": "Office Manager", "defaultPhoneType": "Direct", "defaultPhoneNbr": "5125550000",
   "communicationItems": [
     {"id": 8120, "type": {"id": 4, "name": "Mobile"}, "value": "5125550199", "defaultFlag": false, "communicationType": "Phone"},
     {"id": 8121, "type": {"id": 2, "name": "Direct"}, "value": "5125550143", "defaultFlag": true, "communicationType": "Phone"},
     {"id": 8122, "type": {"id": 1, "name": "Email"}, "value": "maria@ortiz.example", "defaultFlag": true, "domain": "@ortiz.example", "communicationType": "Email"},
     {"id": 8123, "type": {"id": 1, "name": "Email"}, "value": "other@ortiz.example", "communicationType": "Email"}],
   "_info": {"lastUpdated": "2025-09-30T14:09:53Z", "communications_href": "https://x"}},
  {"id": 813, "lastName": "Only", "inactiveFlag": true, "defaultPhoneNbr": "5125550001",
   "communicationItems": [
     {"type": {"name": "Cell"}, "value": "5125550002", "communicationType": "phone"},
     {"type": {"name": "Email"}, "value": "  ", "defaultFlag": true, "communicationType": "EMAIL"},
     {"type": {"name": "Email"}, "value": "second@x.example", "communicationType": "Email"}]},
  {"id": 814, "communicationItems": [{"value": "nameless@x.example", "communicationType": "Email"}], "types": []},
  {"id": 815},
  {"id": 816, "firstName": "  ", "lastName": "", "company": {"id": "250"},
   "communicationItems": [
     {"type": "Mobile", "value": "5125550003", "communicationType": "Phone"},
     {"type": {"name": "Cell Phone"}, "value": 5125550004, "communicationType": "Phone"},
     {"type": {"name": "Direct"}, "value": "5125550005", "communicationType": "Phone", "defaultFlag": "yes"},
     "not an item", null,
     {"type": {"name": "Email"}, "value": "x@x.example", "communicationType": ["Email"]}]},
  {"id": 817, "firstName": ["Maria"], "lastName": {"n": 1}, "title": 3, "inactiveFlag": "true",
   "company": "Ortiz", "site": [1000, "Main"], "types": "Billing", "communicationItems": {"value": "x"},
   "defaultPhoneNbr": 5125550006, "_info": {"lastUpdated": ["2025-09-30T14:09:53Z"]}},
  {"id": 818, "firstName": "Ann", "types": [{"name": "A"}, "B", {"name": 3}, {"name": " C "}],
   "company": {"id": -250}}
]"#;

const CONFIGURATIONS: &str = r#"[
  {"id": 5001, "name": "OD-FRONT-01", "type": {"id": 12, "name": "Managed Workstation"},
   "status": {"id": 1, "name": "Active"}, "company": {"id": 250, "identifier": "OrtizDental", "name": "Ortiz"},
   "contact": {"id": 812, "name": "Maria Chen"}, "site": {"id": 1000, "name": "Main"},
   "deviceIdentifier": "dev-0001", "serialNumber": "5CG1234XYZ", "modelNumber": "EliteDesk 800 G6",
   "tagNumber": "TAG-00001", "purchaseDate": "2023-05-01T00:00:00Z", "installationDate": "2023-05-10T00:00:00Z",
   "installedBy": {"id": 5, "identifier": "jsmith", "name": "John Smith"},
   "warrantyExpirationDate": "2026-05-01T00:00:00Z", "vendorNotes": "Bought via CDW", "notes": "Front desk PC",
   "macAddress": "00:1A:2B:3C:4D:5E", "lastLoginName": "ODENTAL\\mchen", "ipAddress": "10.0.0.21",
   "defaultGateway": "10.0.0.1", "osType": "Windows 11 Pro", "osInfo": "10.0.22631", "cpuSpeed": "3.2 GHz",
   "ram": "16 GB", "localHardDrives": "C: 512 GB", "vendor": {"id": 300, "name": "CDW"},
   "manufacturer": {"id": 3, "name": "HP"}, "managementLink": "https://rmm.example/d/1",
   "remoteLink": "https://remote.example/d/1", "activeFlag": true, "billFlag": false,
   "questions": [
     {"answerId": 15003, "questionId": 44, "question": "Backup Agent Installed?", "answer": "Yes", "sequenceNumber": 1.0},
     {"question": "Seats", "answer": 3},
     {"question": "Rate", "answer": 2.5},
     {"question": "Encrypted", "answer": true},
     {"question": "Empty", "answer": ""},
     {"question": "Null", "answer": null},
     {"question": "Object", "answer": {"a": 1}},
     {"question": "  ", "answer": "no label"},
     {"question": 5, "answer": "numeric label"},
     {"answer": "no question"},
     "not a question"],
   "_info": {"lastUpdated": "2025-10-02T03:20:11Z", "dateEntered": "2024-09-01T00:00:00Z"}},
  {"id": 5002, "type": {"id": 13, "name": "Server"}, "osInfo": "Ubuntu 24.04", "activeFlag": false},
  {"id": 5003, "name": "Only OS type", "osType": "macOS"},
  {"id": 5004, "name": "Wrong types", "type": "Server", "status": 1, "company": 250, "serialNumber": 123456,
   "macAddress": ["00:1A"], "ipAddress": {"v4": "10.0.0.2"}, "manufacturer": "HP", "modelNumber": false,
   "osType": 11, "osInfo": "  ", "tagNumber": null, "activeFlag": "false", "questions": {"question": "x"},
   "cpuSpeed": 3.2, "ram": 16, "_info": {"lastUpdated": null}},
  {"id": 5005, "name": "Type without name", "type": {"id": 14}, "company": {"id": 250.5}},
  {"name": "No id configuration"}
]"#;

const AGREEMENTS: &str = r#"[
  {"id": 31, "name": "Managed Services", "type": {"id": 5, "name": "Managed Services"},
   "company": {"id": 250, "identifier": "OrtizDental", "name": "Ortiz"}, "contact": {"id": 812, "name": "Maria Chen"},
   "startDate": "2024-01-01T00:00:00Z", "endDate": "2026-12-31T00:00:00Z", "noEndingDateFlag": false,
   "cancelledFlag": false, "applicationUnits": "Hours", "applicationLimit": 10.0, "applicationCycle": "CalendarMonth",
   "billingCycle": {"id": 2, "name": "Monthly"}, "billAmount": 1850.0, "customerPO": "PO-77",
   "agreementStatus": "Active", "_info": {"lastUpdated": "2025-09-01T00:00:00Z", "dateEntered": "2024-01-01T00:00:00Z"}},
  {"id": 32, "name": "Block", "agreementStatus": "Expired", "noEndingDateFlag": true, "billAmount": "1,850.00",
   "applicationLimit": 12},
  {"id": 33, "agreementStatus": "active", "cancelledFlag": true},
  {"id": 34, "name": "No status"},
  {"id": 35, "name": "Wrong types", "agreementStatus": 1, "cancelledFlag": "yes", "type": ["Managed"],
   "company": {"id": false}, "startDate": 20240101, "endDate": {"d": 1}, "noEndingDateFlag": "true",
   "billAmount": {"amount": 1}, "applicationLimit": [10], "billingCycle": "Monthly", "customerPO": 77,
   "applicationUnits": true},
  {"id": 36, "name": "Bad date", "startDate": "January"}
]"#;

const TICKETS: &str = r#"[
  {"id": 200001, "summary": "Printer offline", "recordType": "ServiceTicket",
   "board": {"id": 1, "name": "Help Desk"}, "status": {"id": 16, "name": "Resolved", "sort": 30},
   "company": {"id": 250, "identifier": "OrtizDental", "name": "Ortiz"}, "contact": {"id": 812, "name": "Maria Chen"},
   "contactEmailAddress": "maria@ortiz.example", "type": {"id": 7, "name": "Hardware"},
   "subType": {"id": 8, "name": "Printer"}, "item": {"id": 9, "name": "Toner"}, "team": {"id": 2, "name": "Tier 1"},
   "owner": {"id": 5, "identifier": "jsmith", "name": "John Smith"}, "priority": {"id": 3, "name": "Priority 3 - Normal", "sort": 6},
   "source": {"id": 2, "name": "Email"}, "severity": "Medium", "impact": "Low",
   "agreement": {"id": 31, "name": "Managed Services"}, "closedFlag": true,
   "dateResolved": "2025-10-01T15:00:00Z", "closedDate": "2025-10-01T15:40:00Z",
   "_info": {"lastUpdated": "2025-10-01T15:40:12Z", "dateEntered": "2025-10-01T13:05:00Z"}},
  {"id": 200002, "summary": "  Email down  ", "status": {"id": 10, "name": "New"}, "closedDate": "2025-10-02T00:00:00Z"},
  {"id": 200003},
  {"id": 200004, "summary": 5, "status": "New", "board": 1, "company": {"id": "250"}, "contact": [812],
   "priority": {"name": ["High"]}, "closedFlag": 1, "severity": {"s": 1}, "dateResolved": 20251001,
   "closedDate": "  ", "_info": {"lastUpdated": "2025-10-01T15:40:12Z", "dateEntered": 5}},
  {"id": "T-5", "summary": "Text id"}
]"#;

const SITE_COMPANIES: &str = r#"[{"id": 250}, {"id": "251"}, {"id": -5}, {"id": 252.0}, {"id": 253}, {"x": 1}, 7]"#;

const SITES_250: &str = r#"[
  {"id": 1000, "name": "Main", "addressLine1": "1200 Lamar Blvd", "addressLine2": "Suite 4", "city": "Austin",
   "stateReference": {"id": 44, "identifier": "TX", "name": "Texas"}, "zip": "78704",
   "country": {"id": 1, "identifier": "US", "name": "United States"}, "phoneNumber": "5125550142",
   "faxNumber": "5125550100", "primaryAddressFlag": true, "defaultShippingFlag": true, "defaultBillingFlag": false,
   "defaultMailingFlag": true, "inactiveFlag": false, "company": {"id": 250, "identifier": "OrtizDental", "name": "Ortiz"},
   "_info": {"lastUpdated": "2025-09-30T14:09:53Z"}},
  {"id": 1001, "stateReference": {"identifier": "  ", "name": "Texas"}, "zip": "78701", "inactiveFlag": true},
  {"id": 1002, "name": "State as text", "state": "TX", "stateReference": "TX", "city": "Round Rock"}
]"#;

const SITES_253: &str = r#"[
  {"id": 1003, "name": "Wrong types", "company": {"id": [253]}, "stateReference": {"identifier": 48, "name": {"n": 1}},
   "city": "Dallas", "country": {"name": 1}, "primaryAddressFlag": "true", "defaultBillingFlag": 1,
   "defaultShippingFlag": null, "inactiveFlag": "no", "faxNumber": {"f": 1}, "phoneNumber": 5125550142},
  {"id": 1004, "name": "Other company", "company": {"id": 999}},
  "not a site"
]"#;

/// One lookup list per step; each mixes good entries with hostile ones.
const LOOKUP_LISTS: [(&str, &str); 5] = [
    (
        "/company/companies/types",
        r#"[{"id": 1, "name": "Client", "defaultFlag": true}, {"id": 2, "name": "Prospect", "inactiveFlag": true},
            {"id": "3", "name": " Vendor "}, {"id": 4, "name": ""}, {"id": 5}, {"name": "No id"},
            {"id": {"x": 1}, "name": "Object id"}, {"id": 6, "name": 6, "description": "Description instead"},
            {"id": 7, "name": "Flag text", "inactiveFlag": "true"}, 8, null]"#,
    ),
    (
        "/company/companies/statuses",
        r#"[{"id": 1, "name": "Active"}, {"id": 2, "name": "Inactive", "inactiveFlag": true, "closedFlag": true}]"#,
    ),
    (
        "/company/configurations/types",
        r#"[{"id": 12, "name": "Managed Workstation"}, {"id": 90, "name": "Retired Type", "inactiveFlag": true},
            {"id": -1, "name": "Negative"}, {"id": 1.5, "name": "Fraction"}, {"id": true, "name": "Bool id"}]"#,
    ),
    (
        "/company/configurations/statuses",
        r#"[{"id": 1, "description": "Active", "closedFlag": false}, {"id": 2, "description": "Inactive", "closedFlag": true},
            {"id": 3, "description": "Flag text", "closedFlag": "true"}, {"id": 4, "name": "Named", "description": "Described"},
            {"id": 5, "name": "  ", "description": "Blank name"}, {"id": 6, "description": ["x"]}]"#,
    ),
    (
        "/finance/agreements/types",
        r#"[{"id": 5, "name": "Managed Services", "inactiveFlag": false, "employeeCompRate": "Actual"},
            {"id": 6, "name": "Block Time", "closedFlag": true}]"#,
    ),
];

const BOARDS: &str = r#"[{"id": 1, "name": "Help Desk"}, {"id": "2", "name": "Text id"}, {"id": -3}, {"id": 4.0},
    {"id": 5, "name": "Projects"}, {"name": "No id"}, "board"]"#;

const BOARD_1_STATUSES: &str = r#"[
  {"id": 10, "name": "New", "board": {"id": 1, "name": "Help Desk"}, "inactive": false, "closedStatus": false},
  {"id": 16, "name": "Resolved", "closedStatus": true},
  {"id": 17, "name": "Old", "inactive": true},
  {"id": 18, "name": "Flags as text", "inactive": "true", "closedStatus": "true"},
  {"id": 19, "description": "No name"},
  {"id": "20", "name": " Text id "},
  {"name": "No id"}, 21
]"#;

const BOARD_5_STATUSES: &str = r#"[{"id": 30, "name": "Planned", "closedStatus": false}]"#;

fn read(http: &FakeHttp, kind: StreamKind, cursor: Option<&str>) -> String {
    let _installed = http.install();
    match connector::read::<CwManage>(config(), kind, cursor.map(str::to_string), None) {
        Ok(page) => format!("next: {:?}\n{:#?}", page.next, page.records),
        Err(e) => format!("error: {e:?}"),
    }
}

fn all_streams() -> String {
    let mut out = Sections::new();
    let mut section = |title: &str, text: String| out.add(title, text);

    let http = FakeHttp::new()
        .on(Method::Get, &route("/company/companies/count"), count())
        .on(Method::Get, &route("/company/companies?page=1"), Reply::json(200, COMPANIES))
        .on(Method::Get, &route("/company/companies/statuses"), Reply::json(200, COMPANY_STATUSES));
    section("companies", read(&http, StreamKind::Companies, None));

    let http = FakeHttp::new().on(Method::Get, &route("/company/contacts/count"), count()).on(
        Method::Get,
        &route("/company/contacts"),
        Reply::json(200, CONTACTS),
    );
    section("contacts", read(&http, StreamKind::Contacts, None));

    let http = FakeHttp::new().on(Method::Get, &route("/company/configurations/count"), count()).on(
        Method::Get,
        &route("/company/configurations"),
        Reply::json(200, CONFIGURATIONS),
    );
    section("configurations", read(&http, StreamKind::Assets, None));

    let http = FakeHttp::new().on(Method::Get, &route("/finance/agreements/count"), count()).on(
        Method::Get,
        &route("/finance/agreements"),
        Reply::json(200, AGREEMENTS),
    );
    section("agreements", read(&http, StreamKind::Agreements, None));

    let http = FakeHttp::new().on(Method::Get, &route("/service/tickets/count"), count()).on(
        Method::Get,
        &route("/service/tickets"),
        Reply::json(200, TICKETS),
    );
    section("tickets", read(&http, StreamKind::Tickets, None));

    let http = FakeHttp::new()
        .on(Method::Get, &route("/company/companies?fields=id"), Reply::json(200, SITE_COMPANIES))
        .on(Method::Get, &route("/company/companies/250/sites"), Reply::json(200, SITES_250))
        .on(Method::Get, &route("/company/companies/253/sites"), Reply::json(200, SITES_253));
    section("sites", read(&http, StreamKind::Sites, None));

    let mut http = FakeHttp::new();
    for (path, body) in LOOKUP_LISTS {
        http = http.on(Method::Get, &route(path), Reply::json(200, body));
    }
    let http = http
        .on(Method::Get, &route("/service/boards"), Reply::json(200, BOARDS))
        .on(Method::Get, &route("/service/boards/1/statuses"), Reply::json(200, BOARD_1_STATUSES))
        .on(Method::Get, &route("/service/boards/4/statuses"), Reply::json(200, "[]"))
        .on(Method::Get, &route("/service/boards/5/statuses"), Reply::json(200, BOARD_5_STATUSES));
    let mut cursor: Option<String> = None;
    for step in 0..=LOOKUP_LISTS.len() {
        let _installed = http.install();
        match connector::read::<CwManage>(config(), StreamKind::Lookups, cursor.clone(), None) {
            Ok(page) => {
                section(&format!("lookups step {step}"), format!("next: {:?}\n{:#?}", page.next, page.records));
                cursor = page.next;
            }
            Err(e) => section(&format!("lookups step {step}"), format!("error: {e:?}")),
        }
    }
    let asked: Vec<String> =
        http.requests().iter().filter(|s| s.path().starts_with("/v4_6_release")).map(|s| s.path().into()).collect();
    section("lookups requests", format!("{asked:#?}"));

    out.into_text()
}

/// `check` with facts of every JSON type, and CW's error bodies.
fn check_and_errors() -> String {
    let mut out = Sections::new();
    let mut section = |title: &str, text: String| out.add(title, text);
    for (title, info, count) in [
        ("check", r#"{"version": "v2025.1.12345", "isCloud": true, "cloudRegion": "NA", "x": 1}"#, r#"{"count": 12}"#),
        ("check odd types", r#"{"version": 2025, "isCloud": "yes", "cloudRegion": {"r": 1}}"#, r#"{"count": 0}"#),
        ("check info not an object", r#"["v2025"]"#, r#"{"count": 3}"#),
        ("check count as text", "{}", r#"{"count": "12"}"#),
        ("check negative count", "{}", r#"{"count": -1}"#),
        ("check count not an object", "{}", "[12]"),
    ] {
        let http = FakeHttp::new().on(Method::Get, &route("/system/info"), Reply::json(200, info)).on(
            Method::Get,
            &route("/company/companies/count"),
            Reply::json(200, count),
        );
        let _installed = http.install();
        section(title, format!("{:#?}", connector::check::<CwManage>(config())));
    }
    for (title, status, body) in [
        (
            "400 with errors",
            400,
            r#"{"code": "InvalidObject", "message": "bad", "errors": [{"message": "field x"}, {"message": 5}, "y", {"message": "field z"}]}"#,
        ),
        ("400 errors not a list", 400, r#"{"code": "InvalidObject", "message": "bad", "errors": {"message": "x"}}"#),
        ("400 message not text", 400, r#"{"code": "InvalidObject", "message": {"text": "bad"}}"#),
        ("400 body a list", 400, r#"[{"message": "bad"}]"#),
        ("401", 401, r#"{"code": "Unauthorized", "message": "Authentication failed.", "errors": null}"#),
        ("403", 403, r#"{"code": "Forbidden", "message": "no access"}"#),
        ("403 without message", 403, r#"{"code": "Forbidden"}"#),
        ("404 with message", 404, r#"{"message": "not here"}"#),
        ("429 with error key", 429, r#"{"error": "slow down"}"#),
    ] {
        let http = FakeHttp::new().on(Method::Get, &route("/company/contacts"), Reply::json(status, body)).on(
            Method::Get,
            &route("/company/contacts/count"),
            count(),
        );
        section(title, read(&http, StreamKind::Contacts, None));
    }
    let http = FakeHttp::new()
        .on(Method::Get, &route("/company/contacts"), Reply::json(200, r#"{"not": "a list"}"#))
        .on(Method::Get, &route("/company/contacts/count"), count());
    section("page not a list", read(&http, StreamKind::Contacts, None));
    out.into_text()
}

#[test]
fn golden_records_are_unchanged() {
    let actual = format!("{}{}", all_streams(), check_and_errors());
    assert_pinned(
        &actual,
        concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/golden.txt"),
        include_str!("../testdata/golden.txt"),
    );
}

/// Every value under `key` (the entries of it, when it is a list) in the
/// records of `pages`, at any depth, as a JSON list.
fn nested(pages: &[&str], key: &str) -> String {
    fn collect(value: &serde_json::Value, key: &str, out: &mut Vec<serde_json::Value>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k == key {
                        match v {
                            serde_json::Value::Array(items) => out.extend(items.iter().cloned()),
                            other => out.push(other.clone()),
                        }
                    }
                    collect(v, key, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, key, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for page in pages {
        collect(&serde_json::from_str(page).unwrap(), key, &mut out);
    }
    assert!(out.iter().any(serde_json::Value::is_object), "no `{key}` object in the samples");
    serde_json::Value::Array(out).to_string()
}

/// Reads `T` straight from each record of `page` (not through
/// `OrDefault`, which would hide a failure) with every member of every
/// object in it, nested ones included, of each wrong JSON type: a field
/// without a lenient reader fails here.
fn tolerates_wrong_types<T: serde::de::DeserializeOwned>(page: &str) -> usize {
    let records: Vec<serde_json::Value> = serde_json::from_str(page).unwrap();
    let mut tried = 0;
    for record in records.iter().filter(|r| r.is_object()) {
        for variant in std::iter::once(record.clone()).chain(wrong_types(record)) {
            if let Err(e) = serde_json::from_value::<T>(variant.clone()) {
                panic!("{} did not read: {e}\n{variant}", std::any::type_name::<T>());
            }
            tried += 1;
        }
    }
    tried
}

#[test]
fn every_field_reads_a_wrong_json_type_as_absent() {
    use crate::map::*;
    let mut tried = tolerates_wrong_types::<CwCompany>(COMPANIES);
    tried += tolerates_wrong_types::<CwContact>(CONTACTS);
    tried += tolerates_wrong_types::<CwConfiguration>(CONFIGURATIONS);
    tried += tolerates_wrong_types::<CwAgreement>(AGREEMENTS);
    tried += tolerates_wrong_types::<CwTicket>(TICKETS);
    tried += tolerates_wrong_types::<CwSite>(SITES_250);
    tried += tolerates_wrong_types::<CwSite>(SITES_253);
    for (_, list) in LOOKUP_LISTS {
        tried += tolerates_wrong_types::<ListEntry>(list);
    }
    tried += tolerates_wrong_types::<ListEntry>(COMPANY_STATUSES);
    tried += tolerates_wrong_types::<BoardStatus>(BOARD_1_STATUSES);
    // The nested structs: a record reads them leniently, which would hide a
    // field of theirs that fails.
    let records = [COMPANIES, CONTACTS, CONFIGURATIONS, AGREEMENTS, TICKETS, SITES_250, SITES_253, BOARD_1_STATUSES];
    let at = |key: &str| nested(&records, key);
    tried += tolerates_wrong_types::<Info>(&at("_info"));
    tried += tolerates_wrong_types::<CommunicationItem>(&at("communicationItems"));
    tried += tolerates_wrong_types::<Question>(&at("questions"));
    for key in [
        "status",
        "type",
        "types",
        "company",
        "contact",
        "site",
        "country",
        "territory",
        "defaultContact",
        "department",
        "relationship",
        "installedBy",
        "vendor",
        "manufacturer",
        "billingCycle",
        "subType",
        "item",
        "team",
        "owner",
        "priority",
        "source",
        "agreement",
        "board",
        "stateReference",
    ] {
        tried += tolerates_wrong_types::<Ref>(&at(key));
    }
    assert!(tried > 4_000, "only {tried} variants");
}
