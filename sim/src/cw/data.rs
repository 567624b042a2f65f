//! CW Manage data: the world's CW view in CW's JSON shapes (docs/psa-apis.md
//! §2.7), and loading a data set from a file.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::Table;
use crate::world::World;

/// A CW data set in CW's own JSON shapes (the format of `--data FILE.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CwData {
    pub companies: Vec<Value>,
    pub company_types: Vec<Value>,
    pub company_statuses: Vec<Value>,
    pub contacts: Vec<Value>,
    pub configurations: Vec<Value>,
    pub configuration_types: Vec<Value>,
    pub configuration_statuses: Vec<Value>,
    pub agreements: Vec<Value>,
    pub agreement_types: Vec<Value>,
    /// Company sites; each has `company: {id}`.
    pub sites: Vec<Value>,
    pub boards: Vec<Value>,
    /// Board statuses; each has `board: {id}`.
    pub board_statuses: Vec<Value>,
    pub tickets: Vec<Value>,
}

pub const COMPANY_ID_BASE: u64 = 250;
pub const CONTACT_ID_BASE: u64 = 800;
pub const CONFIGURATION_ID_BASE: u64 = 5500;
pub const AGREEMENT_ID_BASE: u64 = 30;
pub const SITE_ID_BASE: u64 = 1000;
pub const TICKET_ID_BASE: u64 = 200_000;

const HREF: &str = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0";
/// Help Desk board statuses, in the world's status order, with closedStatus.
pub const BOARD_STATUSES: [(&str, bool); 8] = [
    ("New", false),
    ("In Progress", false),
    ("Waiting Customer", false),
    ("Waiting Vendor", false),
    ("Scheduled", false),
    ("Customer Updated", false),
    ("Resolved", true),
    ("Closed", true),
];
const PRIORITIES: [&str; 4] = ["Priority 1 - Critical", "Priority 2 - High", "Priority 3 - Normal", "Priority 4 - Low"];

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The real API leaves null fields out; so does the simulator.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn reference(id: u64, name: &str, href_kind: &str, href: String) -> Value {
    json!({"id": id, "name": name, "_info": {format!("{href_kind}_href"): href}})
}

impl CwData {
    /// CW's view of a world: organisations present in CW Manage.
    pub fn from_world(world: &World) -> Self {
        let mut d = CwData::default();
        let types = [("Client", 1u64), ("Prospect", 2), ("Vendor", 3)];
        for (name, id) in types {
            d.company_types.push(json!({"id": id, "name": name, "defaultFlag": id == 1, "vendorFlag": id == 3,
                "_info": {"lastUpdated": "2020-01-01T00:00:00Z"}}));
        }
        for (id, name, inactive) in [(1u64, "Active", false), (2, "Inactive", true), (3, "Not Approved", false)] {
            d.company_statuses.push(json!({"id": id, "name": name, "defaultFlag": id == 1, "inactiveFlag": inactive,
                "notifyFlag": false, "disallowSavingFlag": false, "customNoteFlag": false, "cancelOpenTracksFlag": false,
                "_info": {"lastUpdated": "2020-01-01T00:00:00Z"}}));
        }
        let mut config_types: Vec<&str> = Vec::new();
        for (id, name, closed) in [(1u64, "Active", false), (2, "Inactive", true)] {
            d.configuration_statuses
                .push(json!({"id": id, "description": name, "closedFlag": closed, "defaultFlag": id == 1,
                "_info": {"lastUpdated": "2020-01-01T00:00:00Z"}}));
        }
        for (id, name) in [(5u64, "Managed Services"), (6, "Block Time")] {
            d.agreement_types.push(json!({"id": id, "name": name, "inactiveFlag": false,
                "employeeCompRate": "Actual", "employeeCompNotExceed": "Billing", "invoicingCycle": "CalendarYear",
                "billTime": "NoDefault", "billExpenses": "NoDefault", "billProducts": "Billable",
                "_info": {"lastUpdated": "2020-01-01T00:00:00Z"}}));
        }
        d.boards.push(json!({"id": 1, "name": "Help Desk", "inactiveFlag": false, "projectFlag": false,
            "location": {"id": 2, "name": "Main"}, "department": {"id": 10, "name": "Service"},
            "_info": {"lastUpdated": "2020-01-01T00:00:00Z"}}));
        for (i, (name, closed)) in BOARD_STATUSES.iter().enumerate() {
            d.board_statuses.push(json!({"id": 10 + i as u64, "name": name, "board": {"id": 1, "name": "Help Desk"},
                "sortOrder": i, "displayOnBoard": true, "inactive": false, "closedStatus": closed,
                "timeEntryNotAllowed": false, "defaultFlag": i == 0, "escalationStatus": "NotResponded",
                "customerPortalFlag": false, "_info": {"lastUpdated": "2020-01-01T00:00:00Z"}}));
        }
        let in_cw = |org: usize| world.organisations[org].presence.cw;
        let company_ref = |org: usize| {
            let o = &world.organisations[org];
            let id = COMPANY_ID_BASE + org as u64;
            json!({"id": id, "identifier": o.identifier, "name": o.cw_name,
                   "_info": {"company_href": format!("{HREF}/company/companies/{id}")}})
        };
        for o in world.organisations.iter().filter(|o| o.presence.cw) {
            let id = COMPANY_ID_BASE + o.index as u64;
            let (status_id, status) = if o.inactive { (2, "Inactive") } else { (1, "Active") };
            let type_id = if o.cw_type == "Prospect" { 2 } else { 1 };
            let primary_site = world.sites.iter().find(|s| s.org == o.index && s.primary);
            d.companies.push(strip_nulls(json!({
                "id": id, "identifier": o.identifier, "name": o.cw_name,
                "status": reference(status_id, status, "status", format!("{HREF}/company/companies/statuses/{status_id}")),
                "addressLine1": o.address.line1, "addressLine2": o.address.line2, "city": o.address.city,
                "state": o.address.state, "zip": o.address.zip,
                "country": {"id": 1, "identifier": "US", "name": "United States"},
                "phoneNumber": o.phone, "website": format!("www.{}", o.domain),
                "territory": {"id": 2, "name": "Main"},
                "leadFlag": false, "unsubscribeFlag": false, "deletedFlag": o.cw_deleted, "isVendorFlag": false,
                "dateDeleted": if o.cw_deleted { Value::String(ts(o.updated)) } else { Value::Null },
                "types": [reference(type_id, o.cw_type, "type", format!("{HREF}/company/companies/types/{type_id}"))],
                "site": primary_site.map(|s| json!({"id": SITE_ID_BASE + s.index as u64, "name": s.name})),
                "_info": {"lastUpdated": ts(o.updated), "updatedBy": "apimember",
                          "dateEntered": ts(o.updated - chrono::Duration::days(800)), "enteredBy": "jsmith",
                          "contacts_href": format!("{HREF}/company/contacts?conditions=company/id={id}"),
                          "sites_href": format!("{HREF}/company/companies/{id}/sites")},
                "customFields": []
            })));
        }
        for p in world.people.iter().filter(|p| in_cw(p.org)) {
            let id = CONTACT_ID_BASE + p.index as u64;
            let mut items = vec![
                json!({"id": id * 10, "type": {"id": 2, "name": "Direct"}, "value": p.phone, "defaultFlag": true, "communicationType": "Phone"}),
                json!({"id": id * 10 + 1, "type": {"id": 1, "name": "Email"}, "value": p.email, "defaultFlag": true,
                       "domain": format!("@{}", p.email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")), "communicationType": "Email"}),
            ];
            if let Some(m) = &p.mobile {
                items.push(json!({"id": id * 10 + 2, "type": {"id": 4, "name": "Mobile"}, "value": m, "defaultFlag": false, "communicationType": "Phone"}));
            }
            d.contacts.push(strip_nulls(json!({
                "id": id, "firstName": p.first, "lastName": p.last, "company": company_ref(p.org),
                "inactiveFlag": p.inactive, "title": p.title, "marriedFlag": false, "childrenFlag": false,
                "unsubscribeFlag": false, "disablePortalLoginFlag": false, "defaultPhoneType": "Direct",
                "defaultPhoneNbr": p.phone, "defaultBillingFlag": false, "defaultFlag": false,
                "communicationItems": items, "types": [], "ignoreDuplicates": false,
                "_info": {"lastUpdated": ts(p.updated), "updatedBy": "apimember",
                          "communications_href": format!("{HREF}/company/contacts/{id}/communications")}
            })));
        }
        for dev in world.devices.iter().filter(|d| d.presence.cw && in_cw(d.org)) {
            let id = CONFIGURATION_ID_BASE + dev.index as u64;
            let type_pos = match config_types.iter().position(|t| *t == dev.cw_type) {
                Some(p) => p,
                None => {
                    config_types.push(dev.cw_type);
                    config_types.len() - 1
                }
            };
            let type_id = 12 + type_pos as u64;
            let (status_id, status) = if dev.inactive { (2, "Inactive") } else { (1, "Active") };
            d.configurations.push(strip_nulls(json!({
                "id": id, "name": dev.name,
                "type": reference(type_id, dev.cw_type, "type", format!("{HREF}/company/configurations/types/{type_id}")),
                "status": {"id": status_id, "name": status},
                "company": company_ref(dev.org),
                "deviceIdentifier": format!("dev-{:08x}", dev.index * 7919 + 17),
                "serialNumber": dev.serial, "modelNumber": dev.model, "tagNumber": format!("TAG-{:05}", dev.index),
                "purchaseDate": ts(dev.updated - chrono::Duration::days(500)),
                "warrantyExpirationDate": ts(dev.updated + chrono::Duration::days(600)),
                "macAddress": dev.mac, "lastLoginName": dev.last_user, "billFlag": false,
                "ipAddress": dev.ip, "osType": dev.os, "manufacturer": {"id": 3, "name": dev.manufacturer},
                "questions": [{"answerId": id * 3, "questionId": 44, "question": "Backup Agent Installed?",
                               "answer": if dev.index % 3 == 0 { "No" } else { "Yes" }, "sequenceNumber": 1.0,
                               "numberOfDecimals": 0, "fieldType": "Text", "requiredFlag": false}],
                "activeFlag": !dev.inactive, "showRemoteFlag": false, "showAutomateFlag": dev.os.is_some(),
                "needsRenewalFlag": false,
                "_info": {"lastUpdated": ts(dev.updated), "updatedBy": "Automate",
                          "dateEntered": ts(dev.updated - chrono::Duration::days(400)), "enteredBy": "Automate"}
            })));
        }
        for (i, name) in config_types.iter().enumerate() {
            d.configuration_types
                .push(json!({"id": 12 + i as u64, "name": name, "inactiveFlag": false, "systemFlag": false,
                "_info": {"lastUpdated": "2020-01-01T00:00:00Z"}}));
        }
        d.configuration_types.push(json!({"id": 90, "name": "Retired Type", "inactiveFlag": true, "systemFlag": false,
            "_info": {"lastUpdated": "2020-01-01T00:00:00Z"}}));
        for s in world.sites.iter().filter(|s| in_cw(s.org)) {
            let id = SITE_ID_BASE + s.index as u64;
            d.sites.push(strip_nulls(json!({
                "id": id, "name": s.name, "addressLine1": s.address.line1, "addressLine2": s.address.line2,
                "city": s.address.city, "stateReference": {"id": 44, "identifier": s.address.state, "name": s.address.state},
                "zip": s.address.zip, "country": {"id": 1, "identifier": "US", "name": "United States"},
                "phoneNumber": world.organisations[s.org].phone, "primaryAddressFlag": s.primary,
                "defaultShippingFlag": s.primary, "defaultBillingFlag": s.primary, "defaultMailingFlag": s.primary,
                "inactiveFlag": s.inactive, "billSeparateFlag": false, "company": company_ref(s.org),
                "_info": {"lastUpdated": ts(s.updated), "updatedBy": "jsmith"}
            })));
        }
        for a in world.agreements.iter().filter(|a| in_cw(a.org)) {
            let id = AGREEMENT_ID_BASE + a.index as u64;
            let type_id = if a.kind == "Block Time" { 6 } else { 5 };
            let contact = world.people.iter().find(|p| p.org == a.org);
            d.agreements.push(strip_nulls(json!({
                "id": id, "name": a.name, "type": {"id": type_id, "name": a.kind}, "company": company_ref(a.org),
                "contact": contact.map(|p| json!({"id": CONTACT_ID_BASE + p.index as u64, "name": format!("{} {}", p.first, p.last)})),
                "startDate": ts(a.start), "endDate": a.end.map(ts), "noEndingDateFlag": a.end.is_none(),
                "cancelledFlag": false, "applicationUnits": "Hours", "applicationLimit": 10.0,
                "applicationCycle": "CalendarMonth", "applicationUnlimitedFlag": false, "oneTimeFlag": false,
                "coverAgreementTime": true, "coverAgreementProduct": false,
                "billingCycle": {"id": 2, "name": "Monthly"}, "billAmount": 1850.0, "taxable": false,
                "billTime": "NoDefault", "billExpenses": "NoDefault", "billProducts": "Billable",
                "agreementStatus": a.status,
                "_info": {"lastUpdated": ts(a.updated), "updatedBy": "jsmith", "dateEntered": ts(a.start), "enteredBy": "jsmith"}
            })));
        }
        for t in world.tickets.iter().filter(|t| in_cw(t.org)) {
            let id = TICKET_ID_BASE + t.index as u64;
            let (status, closed) = BOARD_STATUSES[t.status % BOARD_STATUSES.len()];
            let contact = t.contact.map(|c| &world.people[c]);
            d.tickets.push(strip_nulls(json!({
                "id": id, "summary": t.subject, "recordType": "ServiceTicket",
                "board": {"id": 1, "name": "Help Desk"},
                "status": {"id": 10 + (t.status % BOARD_STATUSES.len()) as u64, "name": status, "sort": t.status},
                "company": company_ref(t.org),
                "contact": contact.map(|p| json!({"id": CONTACT_ID_BASE + p.index as u64, "name": format!("{} {}", p.first, p.last)})),
                "contactEmailAddress": contact.map(|p| p.email.clone()),
                "type": {"id": 7, "name": t.problem_type},
                "priority": {"id": t.priority + 1, "name": PRIORITIES[t.priority % PRIORITIES.len()], "sort": t.priority},
                "source": {"id": 2, "name": "Email"}, "severity": "Medium", "impact": "Medium",
                "closedFlag": closed, "closedDate": if closed { Value::String(ts(t.updated)) } else { Value::Null },
                "_info": {"lastUpdated": ts(t.updated), "updatedBy": "jsmith", "dateEntered": ts(t.created), "enteredBy": "Email Connector"}
            })));
        }
        d
    }

    /// Load a data set from a JSON file (see sim/README.md).
    pub fn load_json(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub(crate) fn into_tables(self) -> Result<HashMap<&'static str, Table>, String> {
        let id = |v: &Value| v.get("id").and_then(Value::as_u64);
        let updated = |v: &Value| {
            v.get("_info")
                .and_then(|i| i.get("lastUpdated"))
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(crate::world::epoch)
        };
        let company = |v: &Value| v.get("company").and_then(|c| c.get("id")).and_then(Value::as_u64);
        let board = |v: &Value| v.get("board").and_then(|c| c.get("id")).and_then(Value::as_u64);
        let mut t = HashMap::new();
        let plain = |values: Vec<Value>| Table::from_values(values, |v| Some((id(v)?, None, updated(v))));
        t.insert("companies", plain(self.companies)?);
        t.insert("company_types", plain(self.company_types)?);
        t.insert("company_statuses", plain(self.company_statuses)?);
        t.insert("contacts", Table::from_values(self.contacts, |v| Some((id(v)?, company(v), updated(v))))?);
        t.insert(
            "configurations",
            Table::from_values(self.configurations, |v| Some((id(v)?, company(v), updated(v))))?,
        );
        t.insert("configuration_types", plain(self.configuration_types)?);
        t.insert("configuration_statuses", plain(self.configuration_statuses)?);
        t.insert("agreements", Table::from_values(self.agreements, |v| Some((id(v)?, company(v), updated(v))))?);
        t.insert("agreement_types", plain(self.agreement_types)?);
        t.insert("sites", Table::from_values(self.sites, |v| Some((id(v)?, company(v), updated(v))))?);
        t.insert("boards", plain(self.boards)?);
        t.insert("board_statuses", Table::from_values(self.board_statuses, |v| Some((id(v)?, board(v), updated(v))))?);
        t.insert("tickets", Table::from_values(self.tickets, |v| Some((id(v)?, company(v), updated(v))))?);
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Scale;

    #[test]
    fn cw_view_leaves_out_nulls_and_names_vary() {
        let w = World::generate(3, &Scale::small());
        let d = CwData::from_world(&w);
        assert!(!d.companies.is_empty());
        fn no_nulls(v: &Value) -> bool {
            match v {
                Value::Null => false,
                Value::Object(m) => m.values().all(no_nulls),
                Value::Array(a) => a.iter().all(no_nulls),
                _ => true,
            }
        }
        assert!(d.companies.iter().chain(&d.configurations).chain(&d.tickets).all(no_nulls));
        assert!(
            d.configurations.iter().all(|c| c["type"]["name"].is_string() && c["_info"]["lastUpdated"].is_string())
        );
        let syncro = crate::syncro::SyncroData::from_world(&w);
        let shared_serial =
            d.configurations.iter().any(|c| syncro.assets.iter().any(|a| a["asset_serial"] == c["serialNumber"]));
        assert!(shared_serial, "some devices are in both PSAs");
    }
}
