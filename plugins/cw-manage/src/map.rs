//! CW Manage JSON → Ferry records. CW leaves null fields out, so every
//! field is optional here; references are `{id, name}` objects; `_info`
//! carries `lastUpdated` and `dateEntered`.

use ferry_sdk::prelude::*;
use ferry_sdk::text::json_scalar_text;
use serde_json::Value;

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|x| !x.is_empty())
}

fn text(v: &Value, key: &str) -> Option<String> {
    s(v, key).map(str::to_string)
}

fn flag(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

/// `name` of a reference object such as `type: {id, name}`.
fn ref_name(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|r| s(r, "name")).map(str::to_string)
}

fn ref_id(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|r| r.get("id")).and_then(json_scalar_text)
}

fn info(v: &Value, key: &str) -> Option<String> {
    v.get("_info").and_then(|i| s(i, key)).map(str::to_string)
}

/// CW ids are int32, negative ones included (the API allows them). A record
/// without a usable id gets an empty one rather than failing its page: Ferry
/// skips that one record as invalid ("the id is empty") and keeps it aside
/// with its other fields, and the rest of the page syncs.
fn id(v: &Value) -> String {
    v.get("id").and_then(json_scalar_text).unwrap_or_default()
}

fn address(v: &Value, state_key: &str) -> Option<Address> {
    let state = match state_key {
        "stateReference" => {
            v.get("stateReference").and_then(|r| s(r, "identifier").or_else(|| s(r, "name"))).map(str::to_string)
        }
        _ => text(v, state_key),
    };
    let a = Address {
        line1: text(v, "addressLine1"),
        line2: text(v, "addressLine2"),
        city: text(v, "city"),
        state,
        postal_code: text(v, "zip"),
        country: ref_name(v, "country"),
    };
    (a.line1.is_some() || a.city.is_some() || a.postal_code.is_some()).then_some(a)
}

/// `inactive_statuses`: ids of company statuses with `inactiveFlag`.
pub fn company(v: &Value, inactive_statuses: &[u64]) -> Company {
    let id = id(v);
    // CW requires a name; an empty one is Ferry's to skip (as invalid).
    let name = text(v, "name").unwrap_or_default();
    let deleted = flag(v, "deletedFlag").unwrap_or(false);
    let status_id = v.get("status").and_then(|r| r.get("id")).and_then(Value::as_u64);
    let inactive = status_id.is_some_and(|sid| inactive_statuses.contains(&sid));
    let types: Vec<String> = v
        .get("types")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|t| s(t, "name").map(str::to_string)).collect())
        .unwrap_or_default();
    let card = CardBuilder::new()
        .add("Identifier", s(v, "identifier"))
        .add("Status", ref_name(v, "status").as_deref())
        .add("Territory", ref_name(v, "territory").as_deref())
        .add("Account number", s(v, "accountNumber"))
        .add("Fax", s(v, "faxNumber"))
        .add("Default contact", ref_name(v, "defaultContact").as_deref())
        .add("Date acquired", s(v, "dateAcquired"))
        .add("Deleted", deleted.then_some("Yes"))
        .build();
    Company {
        id,
        name,
        active: !deleted && !inactive,
        deleted,
        status: ref_name(v, "status"),
        types,
        website: text(v, "website"),
        email: None,
        phone: text(v, "phoneNumber"),
        address: address(v, "state"),
        updated_at: info(v, "lastUpdated"),
        card,
        raw: None,
    }
}

/// Email, phone and mobile from `communicationItems`, default items first.
fn communications(v: &Value) -> (Option<String>, Option<String>, Option<String>) {
    let mut items: Vec<&Value> =
        v.get("communicationItems").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    items.sort_by_key(|i| !flag(i, "defaultFlag").unwrap_or(false));
    let kind = |i: &Value| s(i, "communicationType").unwrap_or("").to_ascii_lowercase();
    let type_name = |i: &Value| ref_name(i, "type").unwrap_or_default().to_ascii_lowercase();
    let is_mobile = |i: &Value| matches!(type_name(i).as_str(), "mobile" | "cell" | "cell phone");
    let email = items.iter().find(|i| kind(i) == "email").and_then(|i| text(i, "value"));
    let phone = items.iter().find(|i| kind(i) == "phone" && !is_mobile(i)).and_then(|i| text(i, "value"));
    let mobile = items.iter().find(|i| kind(i) == "phone" && is_mobile(i)).and_then(|i| text(i, "value"));
    (email, phone, mobile)
}

pub fn contact(v: &Value) -> Contact {
    let id = id(v);
    let first = text(v, "firstName");
    let last = text(v, "lastName");
    let name = [first.as_deref(), last.as_deref()].iter().flatten().copied().collect::<Vec<_>>().join(" ");
    let (email, phone, mobile) = communications(v);
    let phone = phone.or_else(|| text(v, "defaultPhoneNbr"));
    let name = if name.is_empty() { email.clone().unwrap_or_else(|| format!("Contact {id}")) } else { name };
    let card = CardBuilder::new()
        .add("Site", ref_name(v, "site").as_deref())
        .add("Department", ref_name(v, "department").as_deref())
        .add("Relationship", ref_name(v, "relationship").as_deref())
        .add(
            "Types",
            Some(
                &v.get("types")
                    .and_then(Value::as_array)
                    .map(|t| t.iter().filter_map(|x| s(x, "name")).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default(),
            ),
        )
        .build();
    Contact {
        company_id: ref_id(v, "company"),
        first_name: first,
        last_name: last,
        title: text(v, "title"),
        email,
        phone,
        mobile,
        active: !flag(v, "inactiveFlag").unwrap_or(false),
        updated_at: info(v, "lastUpdated"),
        card,
        raw: None,
        id,
        name,
    }
}

pub fn configuration(v: &Value) -> Asset {
    let id = id(v);
    let name = text(v, "name").unwrap_or_else(|| format!("Configuration {id}"));
    let type_name = ref_name(v, "type").unwrap_or_else(|| "Unknown".into());
    let os = match (s(v, "osType"), s(v, "osInfo")) {
        (Some(t), Some(i)) => Some(format!("{t} ({i})")),
        (Some(t), None) => Some(t.to_string()),
        (None, i) => i.map(str::to_string),
    };
    let mut card = CardBuilder::new()
        .add("Contact", ref_name(v, "contact").as_deref())
        .add("Site", ref_name(v, "site").as_deref())
        .add("Device identifier", s(v, "deviceIdentifier"))
        .add("Purchase date", s(v, "purchaseDate"))
        .add("Installation date", s(v, "installationDate"))
        .add("Installed by", ref_name(v, "installedBy").as_deref())
        .add("Warranty expires", s(v, "warrantyExpirationDate"))
        .add("Vendor", ref_name(v, "vendor").as_deref())
        .add("Last login", s(v, "lastLoginName"))
        .add("Default gateway", s(v, "defaultGateway"))
        .add("CPU speed", s(v, "cpuSpeed"))
        .add("RAM", s(v, "ram"))
        .add("Local drives", s(v, "localHardDrives"))
        .add("Management link", s(v, "managementLink"))
        .add("Remote link", s(v, "remoteLink"))
        .add("Notes", s(v, "notes"))
        .add("Vendor notes", s(v, "vendorNotes"));
    if let Some(questions) = v.get("questions").and_then(Value::as_array) {
        for q in questions {
            if let Some(question) = s(q, "question") {
                card = card.add_json(question, q.get("answer"));
            }
        }
    }
    Asset {
        id,
        company_id: ref_id(v, "company"),
        name,
        type_name,
        status: ref_name(v, "status"),
        active: flag(v, "activeFlag").unwrap_or(true),
        serial_number: text(v, "serialNumber"),
        mac_address: text(v, "macAddress"),
        ip_address: text(v, "ipAddress"),
        manufacturer: ref_name(v, "manufacturer"),
        model: text(v, "modelNumber"),
        operating_system: os,
        tag: text(v, "tagNumber"),
        updated_at: info(v, "lastUpdated"),
        card: card.build(),
        raw: None,
    }
}

pub fn agreement(v: &Value) -> Agreement {
    let id = id(v);
    let status = text(v, "agreementStatus");
    let cancelled = flag(v, "cancelledFlag").unwrap_or(false);
    let card = CardBuilder::new()
        .add("Contact", ref_name(v, "contact").as_deref())
        .add("Billing cycle", ref_name(v, "billingCycle").as_deref())
        .add_json("Bill amount", v.get("billAmount"))
        .add("Application units", s(v, "applicationUnits"))
        .add_json("Application limit", v.get("applicationLimit"))
        .add("Application cycle", s(v, "applicationCycle"))
        .add_bool("No ending date", flag(v, "noEndingDateFlag"))
        .add("Customer PO", s(v, "customerPO"))
        .build();
    Agreement {
        company_id: ref_id(v, "company"),
        name: text(v, "name").unwrap_or_else(|| format!("Agreement {id}")),
        type_name: ref_name(v, "type"),
        active: !cancelled && status.as_deref().is_none_or(|s| s.eq_ignore_ascii_case("active")),
        status,
        start_date: text(v, "startDate"),
        end_date: text(v, "endDate"),
        updated_at: info(v, "lastUpdated"),
        card,
        raw: None,
        id,
    }
}

pub fn site(v: &Value, company_id: u64) -> Site {
    let id = id(v);
    let card = CardBuilder::new()
        .add("Fax", s(v, "faxNumber"))
        .add_bool("Default billing", flag(v, "defaultBillingFlag"))
        .add_bool("Default shipping", flag(v, "defaultShippingFlag"))
        .build();
    Site {
        company_id: ref_id(v, "company").or(Some(company_id.to_string())),
        name: text(v, "name").unwrap_or_else(|| format!("Site {id}")),
        address: address(v, "stateReference"),
        phone: text(v, "phoneNumber"),
        primary: flag(v, "primaryAddressFlag").unwrap_or(false),
        active: !flag(v, "inactiveFlag").unwrap_or(false),
        updated_at: info(v, "lastUpdated"),
        card,
        raw: None,
        id,
    }
}

pub fn ticket(v: &Value) -> Ticket {
    let id = id(v);
    let status = ref_name(v, "status").unwrap_or_else(|| "Unknown".into());
    let card = CardBuilder::new()
        .add("Sub-type", ref_name(v, "subType").as_deref())
        .add("Item", ref_name(v, "item").as_deref())
        .add("Team", ref_name(v, "team").as_deref())
        .add("Owner", ref_name(v, "owner").as_deref())
        .add("Source", ref_name(v, "source").as_deref())
        .add("Severity", s(v, "severity"))
        .add("Impact", s(v, "impact"))
        .add("Contact email", s(v, "contactEmailAddress"))
        .add("Agreement", ref_name(v, "agreement").as_deref())
        .build();
    Ticket {
        company_id: ref_id(v, "company"),
        contact_id: ref_id(v, "contact"),
        number: id.clone(),
        subject: text(v, "summary").unwrap_or_default(),
        status,
        priority: ref_name(v, "priority"),
        type_name: ref_name(v, "type"),
        board: ref_name(v, "board"),
        closed: flag(v, "closedFlag").unwrap_or(false),
        created_at: info(v, "dateEntered"),
        updated_at: info(v, "lastUpdated"),
        resolved_at: text(v, "dateResolved").or_else(|| text(v, "closedDate")),
        card,
        raw: None,
        id,
    }
}

/// An entry of a reference list (`description` is the name of
/// configuration statuses).
pub fn lookup(v: &Value, kind: LookupKind) -> Option<Lookup> {
    let id = v.get("id").and_then(json_scalar_text)?;
    let name = text(v, "name").or_else(|| text(v, "description"))?;
    let inactive = flag(v, "inactiveFlag").unwrap_or(false);
    let closed = matches!(kind, LookupKind::AssetStatus) && flag(v, "closedFlag").unwrap_or(false);
    Some(Lookup { kind, id, name, active: !inactive, closed })
}

pub fn ticket_status(v: &Value) -> Option<Lookup> {
    let id = v.get("id").and_then(json_scalar_text)?;
    let name = text(v, "name")?;
    Some(Lookup {
        kind: LookupKind::TicketStatus,
        id,
        name,
        active: !flag(v, "inactive").unwrap_or(false),
        closed: flag(v, "closedStatus").unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn company_with_inactive_status_and_deleted_flag() {
        let v = json!({"id": 250, "identifier": "OrtizDental", "name": "Ortiz Dental Group",
            "status": {"id": 2, "name": "Inactive"}, "types": [{"id": 1, "name": "Client"}],
            "addressLine1": "1200 Lamar Blvd", "city": "Austin", "state": "TX", "zip": "78704",
            "country": {"id": 1, "identifier": "US", "name": "United States"},
            "phoneNumber": "5125550142", "website": "www.ortizdental.example", "deletedFlag": false,
            "_info": {"lastUpdated": "2025-09-30T14:09:53Z"}});
        let c = company(&v, &[2]);
        assert_eq!(c.id, "250");
        assert!(!c.active && !c.deleted);
        assert_eq!(c.types, vec!["Client".to_string()]);
        assert_eq!(c.address.unwrap().country.as_deref(), Some("United States"));
        assert_eq!(c.updated_at.as_deref(), Some("2025-09-30T14:09:53Z"));
        let mut d = v.clone();
        d["deletedFlag"] = json!(true);
        d["status"] = json!({"id": 1, "name": "Active"});
        let c = company(&d, &[2]);
        assert!(c.deleted && !c.active);
        assert_eq!(company(&json!({"id": 1}), &[]).name, "", "no name: Ferry skips it as invalid, not the page");
        // Negative ids are valid int32 ids in CW.
        assert_eq!(company(&json!({"id": -42, "name": "Neg"}), &[]).id, "-42");
        assert_eq!(company(&json!({"name": "No id"}), &[]).id, "", "no id: Ferry skips it as invalid");
    }

    #[test]
    fn contact_reads_communication_items() {
        let v = json!({"id": 812, "firstName": "Maria", "lastName": "Chen", "company": {"id": 250, "name": "X"},
            "inactiveFlag": true, "title": "Office Manager",
            "communicationItems": [
                {"type": {"id": 4, "name": "Mobile"}, "value": "5125550199", "communicationType": "Phone"},
                {"type": {"id": 2, "name": "Direct"}, "value": "5125550143", "defaultFlag": true, "communicationType": "Phone"},
                {"type": {"id": 1, "name": "Email"}, "value": "maria@x.example", "defaultFlag": true, "communicationType": "Email"}]});
        let c = contact(&v);
        assert_eq!(c.name, "Maria Chen");
        assert_eq!(c.company_id.as_deref(), Some("250"));
        assert_eq!(c.email.as_deref(), Some("maria@x.example"));
        assert_eq!(c.phone.as_deref(), Some("5125550143"));
        assert_eq!(c.mobile.as_deref(), Some("5125550199"));
        assert!(!c.active);
    }

    #[test]
    fn configuration_with_questions() {
        let v = json!({"id": 5521, "name": "ODG-FRONTDESK-01", "type": {"id": 12, "name": "Managed Workstation"},
            "status": {"id": 1, "name": "Active"}, "company": {"id": 250, "identifier": "O", "name": "O"},
            "serialNumber": "5CG1234XYZ", "modelNumber": "EliteDesk 800 G6", "tagNumber": "ODG-0042",
            "macAddress": "00:11:22:33:44:55", "ipAddress": "10.0.10.21", "osType": "Windows 11 Pro", "osInfo": "10.0.22631",
            "manufacturer": {"id": 3, "name": "HP"}, "activeFlag": false,
            "questions": [{"question": "Backup Agent Installed?", "answer": "Yes"}, {"question": "Seats", "answer": 3}],
            "_info": {"lastUpdated": "2025-10-02T03:20:11Z"}});
        let a = configuration(&v);
        assert_eq!(a.type_name, "Managed Workstation");
        assert_eq!(a.serial_number.as_deref(), Some("5CG1234XYZ"));
        assert_eq!(a.operating_system.as_deref(), Some("Windows 11 Pro (10.0.22631)"));
        assert_eq!(a.manufacturer.as_deref(), Some("HP"));
        assert!(!a.active);
        assert!(a.card.iter().any(|f| f.label == "Backup Agent Installed?" && f.value == "Yes"));
        assert!(a.card.iter().any(|f| f.label == "Seats" && f.value == "3"));
        assert_eq!(configuration(&json!({"id": 1, "name": "x"})).type_name, "Unknown");
    }

    #[test]
    fn agreement_site_ticket_lookups() {
        let a = agreement(&json!({"id": 31, "name": "MS", "type": {"id": 5, "name": "Managed Services"},
            "company": {"id": 250}, "agreementStatus": "Active", "startDate": "2024-01-01T00:00:00Z"}));
        assert!(a.active);
        assert_eq!(a.type_name.as_deref(), Some("Managed Services"));
        let s = site(
            &json!({"id": 1000, "name": "Main", "stateReference": {"identifier": "TX", "name": "Texas"},
            "city": "Austin", "primaryAddressFlag": true}),
            250,
        );
        assert_eq!(s.company_id.as_deref(), Some("250"));
        assert_eq!(s.address.unwrap().state.as_deref(), Some("TX"));
        let t =
            ticket(&json!({"id": 200001, "summary": "Printer", "status": {"id": 16, "name": "Resolved", "Sort": 30},
            "board": {"id": 1, "name": "Help Desk"}, "company": {"id": 250}, "closedFlag": true,
            "_info": {"lastUpdated": "2025-10-01T15:40:12Z", "dateEntered": "2025-10-01T13:05:00Z"}}));
        assert!(t.closed);
        assert_eq!(t.board.as_deref(), Some("Help Desk"));
        assert_eq!(t.created_at.as_deref(), Some("2025-10-01T13:05:00Z"));
        let l =
            lookup(&json!({"id": 2, "description": "Inactive", "closedFlag": true}), LookupKind::AssetStatus).unwrap();
        assert_eq!(l.name, "Inactive");
        assert!(l.closed);
        let st = ticket_status(&json!({"id": 16, "name": "Resolved", "closedStatus": true})).unwrap();
        assert!(st.closed);
    }
}
