//! Syncro JSON → Ferry records. Every field is optional on the wire (Syncro
//! sends nulls freely), so the structs default everything and the mapping
//! decides what a missing value means.
//!
//! Each field is read leniently ([`ferry_sdk::de`]): a value of the wrong
//! JSON type is absent, so one odd record never fails its page. A record
//! without a usable id or name is mapped with it empty: Ferry skips that one
//! record as invalid and keeps it aside, and the rest of the page syncs.
//!
//! Card labels, their order and values are part of what Ferry stores and
//! hashes: `testdata/golden.txt` pins them.

use ferry_sdk::de::{self, OrDefault, Scalar};
use ferry_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value};

/// An id Syncro may send as a number or a string (anything else reads as
/// absent).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Id {
    Num(i64),
    Text(String),
}

impl Id {
    fn text(&self) -> String {
        match self {
            Id::Num(n) => n.to_string(),
            Id::Text(s) => s.clone(),
        }
    }
}

/// A reference to another record: absent when missing or empty.
fn id_text(id: &Option<Id>) -> Option<String> {
    id.as_ref().map(Id::text).filter(|s| !s.is_empty())
}

/// The record's own id: empty when missing or unusable, which Ferry skips
/// as invalid ("the id is empty").
fn own_id(id: &Option<Id>) -> String {
    id.as_ref().map(Id::text).unwrap_or_default()
}

/// One entry of a list page; an entry that is not an object reads as a
/// record without fields (see [`de::or_default`]).
fn entry<T: serde::de::DeserializeOwned + Default>(value: Value) -> T {
    de::or_default(value)
}

/// `/me`: who the token belongs to and what it may read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Me {
    #[serde(deserialize_with = "de::lenient")]
    pub user_email: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    pub user_name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    pub permissions: Option<Permissions>,
}

#[derive(Debug, Deserialize)]
pub struct Permissions(Map<String, Value>);

impl Permissions {
    /// `permissions.<area>.read`, when present.
    pub fn read(&self, area: &str) -> Option<bool> {
        self.0.get(area)?.get("read")?.as_bool()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Customer {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Id>,
    #[serde(deserialize_with = "de::lenient")]
    firstname: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    lastname: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    fullname: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    business_name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    email: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    phone: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    mobile: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    address: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    address_2: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    city: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    state: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    zip: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    notes: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    disabled: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    updated_at: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    properties: Option<Map<String, Value>>,
}

/// A customer: its business name, else the person's name. A customer with
/// neither gets an empty name, which Ferry skips as invalid.
pub fn company(value: Value) -> Company {
    let c: Customer = entry(value);
    let person = person_name(c.firstname.as_deref(), c.lastname.as_deref(), c.fullname.as_deref());
    let name = non_empty(c.business_name.as_deref()).or_else(|| person.clone()).unwrap_or_default();
    let address = Address {
        line1: non_empty(c.address.as_deref()),
        line2: non_empty(c.address_2.as_deref()),
        city: non_empty(c.city.as_deref()),
        state: non_empty(c.state.as_deref()),
        postal_code: non_empty(c.zip.as_deref()),
        country: None,
    };
    let mut card = CardBuilder::new()
        .add("Business name", c.business_name.as_deref())
        .add("Contact", person.as_deref())
        .add("Email", c.email.as_deref())
        .add("Phone", c.phone.as_deref())
        .add("Mobile", c.mobile.as_deref())
        .add("Notes", c.notes.as_deref());
    card = add_properties(card, c.properties.as_ref());
    let website = c.email.as_deref().and_then(email_domain);
    let disabled = c.disabled.unwrap_or(false);
    Company {
        id: own_id(&c.id),
        name,
        active: !disabled,
        deleted: false,
        status: Some(if disabled { "Disabled" } else { "Active" }.to_string()),
        types: Vec::new(),
        website,
        email: non_empty(c.email.as_deref()),
        phone: non_empty(c.phone.as_deref()).or_else(|| non_empty(c.mobile.as_deref())),
        address: has_address(&address).then_some(address),
        updated_at: non_empty(c.updated_at.as_deref()),
        card: card.build(),
        raw: None,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SyncroContact {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Id>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    customer_id: Option<Id>,
    #[serde(deserialize_with = "de::lenient")]
    email: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    phone: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    mobile: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    address1: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    city: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    notes: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    updated_at: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    properties: Option<Map<String, Value>>,
}

pub fn contact(value: Value) -> Contact {
    let c: SyncroContact = entry(value);
    let id = own_id(&c.id);
    let name = non_empty(c.name.as_deref())
        .or_else(|| non_empty(c.email.as_deref()))
        .unwrap_or_else(|| format!("Contact {id}"));
    let (first, last) = split_name(&name);
    let title =
        c.properties.as_ref().and_then(|p| p.get("title")).and_then(Value::as_str).and_then(|t| non_empty(Some(t)));
    let card = CardBuilder::new()
        .add("Email", c.email.as_deref())
        .add("Phone", c.phone.as_deref())
        .add("Mobile", c.mobile.as_deref())
        .add("Title", title.as_deref())
        .add("Address", c.address1.as_deref())
        .add("City", c.city.as_deref())
        .add("Notes", c.notes.as_deref())
        .build();
    Contact {
        id,
        company_id: id_text(&c.customer_id),
        name,
        first_name: first,
        last_name: last,
        title,
        email: non_empty(c.email.as_deref()),
        phone: non_empty(c.phone.as_deref()),
        mobile: non_empty(c.mobile.as_deref()),
        active: true,
        updated_at: non_empty(c.updated_at.as_deref()),
        card,
        raw: None,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SyncroAsset {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Id>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    customer_id: Option<Id>,
    #[serde(deserialize_with = "de::lenient")]
    asset_type: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    asset_serial: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    updated_at: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    properties: Option<Map<String, Value>>,
}

pub fn asset(value: Value) -> Asset {
    let a: SyncroAsset = entry(value);
    let id = own_id(&a.id);
    let props = a.properties.as_ref();
    let kabuto = props.and_then(|p| p.get("kabuto_information"));
    let k = |path: &[&str]| -> Option<String> {
        let mut v = kabuto?;
        for key in path {
            v = v.get(key)?;
        }
        json_scalar_text(v).and_then(|s| non_empty(Some(&s)))
    };
    let manufacturer = k(&["general", "manufacturer"]);
    let model = k(&["general", "model"]);
    let os = k(&["os", "name"]);
    let ip = k(&["general", "ip"]);
    let mut card = CardBuilder::new()
        .add("Asset type", a.asset_type.as_deref())
        .add("Serial number", a.asset_serial.as_deref())
        .add("Manufacturer", manufacturer.as_deref())
        .add("Model", model.as_deref())
        .add("Form factor", k(&["general", "form_factor"]).as_deref())
        .add("Operating system", os.as_deref())
        .add("OS build", k(&["os", "build"]).as_deref())
        .add("Domain", k(&["general", "domain"]).as_deref())
        .add("IP address", ip.as_deref())
        .add("Last user", k(&["last_user"]).as_deref())
        .add("Last RMM sync", k(&["last_synced_at"]).as_deref());
    card = add_properties(card, props);
    let name = non_empty(a.name.as_deref()).unwrap_or_else(|| format!("Asset {id}"));
    Asset {
        id,
        company_id: id_text(&a.customer_id),
        name,
        type_name: non_empty(a.asset_type.as_deref()).unwrap_or_else(|| "Unknown".into()),
        status: None,
        active: true,
        serial_number: non_empty(a.asset_serial.as_deref()),
        mac_address: None,
        ip_address: ip,
        manufacturer,
        model,
        operating_system: os,
        tag: None,
        updated_at: non_empty(a.updated_at.as_deref()),
        card: card.build(),
        raw: None,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SyncroTicket {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Id>,
    #[serde(deserialize_with = "de::lenient")]
    number: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    subject: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    status: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    customer_id: Option<Id>,
    #[serde(deserialize_with = "de::lenient")]
    contact_id: Option<Id>,
    #[serde(deserialize_with = "de::lenient")]
    priority: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    problem_type: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    ticket_type_name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    created_at: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    updated_at: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    resolved_at: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    due_date: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    contact_fullname: Option<String>,
}

/// Statuses Syncro treats as done.
const CLOSED_STATUSES: [&str; 2] = ["Resolved", "Invoiced"];

pub fn ticket(value: Value) -> Ticket {
    let t: SyncroTicket = entry(value);
    let id = own_id(&t.id);
    let number = t.number.as_ref().map(Scalar::text).unwrap_or_else(|| id.clone());
    let status = non_empty(t.status.as_deref()).unwrap_or_else(|| "New".into());
    let closed = CLOSED_STATUSES.contains(&status.as_str()) || non_empty(t.resolved_at.as_deref()).is_some();
    let card = CardBuilder::new()
        .add("Problem type", t.problem_type.as_deref())
        .add("Ticket type", t.ticket_type_name.as_deref())
        .add("Contact", t.contact_fullname.as_deref())
        .add("Due", t.due_date.as_deref())
        .build();
    Ticket {
        id,
        company_id: id_text(&t.customer_id),
        contact_id: id_text(&t.contact_id),
        number,
        subject: non_empty(t.subject.as_deref()).unwrap_or_default(),
        status,
        priority: non_empty(t.priority.as_deref()),
        type_name: non_empty(t.ticket_type_name.as_deref()).or_else(|| non_empty(t.problem_type.as_deref())),
        board: None,
        closed,
        created_at: non_empty(t.created_at.as_deref()),
        updated_at: non_empty(t.updated_at.as_deref()),
        resolved_at: non_empty(t.resolved_at.as_deref()),
        card,
        raw: None,
    }
}

/// `/tickets/settings`. The status list is the lookups page itself: a list
/// of another type fails it (so nothing counts as deleted), while an entry
/// that is not a name is skipped.
#[derive(Debug, Deserialize)]
pub struct TicketSettings {
    #[serde(default)]
    ticket_status_list: Vec<OrDefault<String>>,
}

pub fn ticket_statuses(settings: &TicketSettings) -> Vec<Lookup> {
    settings
        .ticket_status_list
        .iter()
        .filter_map(|OrDefault(s)| non_empty(Some(s)))
        .map(|name| Lookup {
            kind: LookupKind::TicketStatus,
            id: name.clone(),
            closed: CLOSED_STATUSES.contains(&name.as_str()),
            name,
            active: true,
        })
        .collect()
}

/// `/settings`. As with the ticket statuses, `assets.asset_types` is the
/// lookups page: a list of another type fails it, an odd entry is skipped.
#[derive(Debug, Deserialize)]
pub struct AccountSettings {
    assets: Option<AssetSettings>,
}

/// `assets` of `/settings`, read from an object only (serde would read a
/// struct from a list by position).
#[derive(Debug, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
struct AssetSettings {
    asset_types: Vec<Value>,
}

impl TryFrom<Map<String, Value>> for AssetSettings {
    type Error = String;

    fn try_from(mut assets: Map<String, Value>) -> Result<Self, String> {
        match assets.remove("asset_types") {
            None => Ok(AssetSettings { asset_types: Vec::new() }),
            Some(Value::Array(asset_types)) => Ok(AssetSettings { asset_types }),
            Some(_) => Err("`assets.asset_types` is not a list".into()),
        }
    }
}

/// Asset types from `/settings`; Syncro documents the list but not its item
/// shape, so both `{id, name}` objects and plain names are accepted.
pub fn asset_types(settings: &AccountSettings) -> Vec<Lookup> {
    let Some(assets) = &settings.assets else {
        return Vec::new();
    };
    assets
        .asset_types
        .iter()
        .filter_map(|v| match v {
            Value::String(name) => Some((name.clone(), name.clone())),
            Value::Object(o) => {
                let name = o.get("name").and_then(Value::as_str)?.to_string();
                let id = o.get("id").and_then(json_scalar_text).unwrap_or_else(|| name.clone());
                Some((id, name))
            }
            _ => None,
        })
        .map(|(id, name)| Lookup { kind: LookupKind::AssetType, id, name, active: true, closed: false })
        .collect()
}

fn person_name(first: Option<&str>, last: Option<&str>, full: Option<&str>) -> Option<String> {
    let joined = [first, last].iter().filter_map(|p| non_empty(*p)).collect::<Vec<_>>().join(" ");
    non_empty(Some(&joined)).or_else(|| non_empty(full))
}

fn split_name(name: &str) -> (Option<String>, Option<String>) {
    match name.trim().rsplit_once(' ') {
        Some((first, last)) => (non_empty(Some(first)), non_empty(Some(last))),
        None => (non_empty(Some(name)), None),
    }
}

fn email_domain(email: &str) -> Option<String> {
    let domain = email.rsplit_once('@')?.1.trim().to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

fn has_address(a: &Address) -> bool {
    a.line1.is_some() || a.city.is_some() || a.postal_code.is_some()
}

/// Top-level scalar custom properties go on the card as they are.
fn add_properties(mut card: CardBuilder, props: Option<&serde_json::Map<String, Value>>) -> CardBuilder {
    if let Some(props) = props {
        for (key, value) in props {
            if key == "kabuto_information" {
                continue;
            }
            card = card.add_json(key, Some(value));
        }
    }
    card
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn business_customer_uses_business_name() {
        let c = company(json!({"id": 7, "business_name": "Ortiz Dental Group", "firstname": "Dana",
            "lastname": "Ortiz", "email": "office@OrtizDental.example", "disabled": false,
            "properties": {"Contract Tier": "Gold"}}));
        assert_eq!(c.id, "7");
        assert_eq!(c.name, "Ortiz Dental Group");
        assert!(c.active);
        assert_eq!(c.website.as_deref(), Some("ortizdental.example"));
        assert!(c.card.iter().any(|f| f.label == "Contract Tier" && f.value == "Gold"));
    }

    #[test]
    fn individual_customer_uses_person_name_and_disabled_is_inactive() {
        let c = company(json!({"id": "8", "business_name": null, "firstname": "Walkin",
            "lastname": "Customer", "disabled": true}));
        assert_eq!(c.name, "Walkin Customer");
        assert!(!c.active);
    }

    #[test]
    fn a_customer_without_name_or_id_maps_with_them_empty() {
        // Ferry skips such a record as invalid and keeps it aside; its page
        // syncs.
        assert_eq!(company(json!({"id": 9})).name, "");
        assert_eq!(company(json!({"business_name": "No id"})).id, "");
        assert_eq!(company(json!({"id": 9.5, "business_name": "Fractional id"})).id, "");
        assert_eq!(company(json!([9, "Array"])).id, "");
    }

    #[test]
    fn asset_reads_kabuto_information() {
        let a = asset(json!({"id": 12313068, "name": "ODG-FRONTDESK-01", "customer_id": 31245078,
            "asset_type": "Syncro Device", "asset_serial": "5CG1234XYZ",
            "properties": {"Warranty Expires": "2026-03-31", "kabuto_information": {
                "general": {"manufacturer": "HP", "model": "EliteDesk 800 G6", "ip": "203.0.113.17"},
                "os": {"name": "Microsoft Windows 11 Pro"}}}}));
        assert_eq!(a.company_id.as_deref(), Some("31245078"));
        assert_eq!(a.type_name, "Syncro Device");
        assert_eq!(a.serial_number.as_deref(), Some("5CG1234XYZ"));
        assert_eq!(a.model.as_deref(), Some("EliteDesk 800 G6"));
        assert_eq!(a.operating_system.as_deref(), Some("Microsoft Windows 11 Pro"));
        assert!(a.card.iter().any(|f| f.label == "Warranty Expires"));
        assert!(!a.card.iter().any(|f| f.label == "kabuto_information"));
    }

    #[test]
    fn ticket_closed_by_status() {
        let t = ticket(json!({"id": 1, "number": 5028, "subject": "x", "status": "Resolved", "customer_id": 3}));
        assert_eq!(t.number, "5028");
        assert!(t.closed);
        let t = ticket(json!({"id": 2, "number": "A-1", "subject": "y", "status": "In Progress"}));
        assert!(!t.closed);
        assert_eq!(t.number, "A-1");
    }

    #[test]
    fn asset_types_accept_both_shapes() {
        let s: AccountSettings = serde_json::from_value(json!({"assets": {"asset_types": [
            {"id": 3, "name": "Syncro Device"}, "Printer", 5]}}))
        .unwrap();
        let names: Vec<_> = asset_types(&s).into_iter().map(|l| (l.id, l.name)).collect();
        assert_eq!(names, vec![("3".into(), "Syncro Device".into()), ("Printer".into(), "Printer".into())]);
    }
}
