//! Syncro JSON → Ferry records. Every field is optional on the wire (Syncro
//! sends nulls freely), so the structs default everything and the mapping
//! decides what a missing value means.

use ferry_sdk::prelude::*;
use ferry_sdk::text::json_scalar_text;
use serde::Deserialize;
use serde_json::Value;

/// An id Syncro may send as a number or a string.
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

fn id_text(id: &Option<Id>) -> Option<String> {
    id.as_ref().map(Id::text).filter(|s| !s.is_empty())
}

#[derive(Debug, Deserialize)]
pub struct Me {
    pub user_email: Option<String>,
    pub user_name: Option<String>,
    pub permissions: Option<Permissions>,
}

#[derive(Debug, Deserialize)]
pub struct Permissions(serde_json::Map<String, Value>);

impl Permissions {
    /// `permissions.<area>.read`, when present.
    pub fn read(&self, area: &str) -> Option<bool> {
        self.0.get(area)?.get("read")?.as_bool()
    }
}

#[derive(Debug, Deserialize)]
struct Customer {
    id: Id,
    firstname: Option<String>,
    lastname: Option<String>,
    fullname: Option<String>,
    business_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    address: Option<String>,
    address_2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    notes: Option<String>,
    #[serde(default)]
    disabled: bool,
    updated_at: Option<String>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, Value>>,
}

pub fn company(value: Value) -> Result<Company, String> {
    let c: Customer = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let person = person_name(c.firstname.as_deref(), c.lastname.as_deref(), c.fullname.as_deref());
    let name = non_empty(c.business_name.as_deref())
        .or_else(|| person.clone())
        .ok_or_else(|| format!("customer {} has neither a business name nor a person's name", c.id.text()))?;
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
    Ok(Company {
        id: c.id.text(),
        name,
        active: !c.disabled,
        deleted: false,
        status: Some(if c.disabled { "Disabled" } else { "Active" }.to_string()),
        types: Vec::new(),
        website,
        email: non_empty(c.email.as_deref()),
        phone: non_empty(c.phone.as_deref()).or_else(|| non_empty(c.mobile.as_deref())),
        address: has_address(&address).then_some(address),
        updated_at: non_empty(c.updated_at.as_deref()),
        card: card.build(),
        raw: None,
    })
}

#[derive(Debug, Deserialize)]
struct SyncroContact {
    id: Id,
    name: Option<String>,
    customer_id: Option<Id>,
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    address1: Option<String>,
    city: Option<String>,
    notes: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, Value>>,
}

pub fn contact(value: Value) -> Result<Contact, String> {
    let c: SyncroContact = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let name = non_empty(c.name.as_deref())
        .or_else(|| non_empty(c.email.as_deref()))
        .unwrap_or_else(|| format!("Contact {}", c.id.text()));
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
    Ok(Contact {
        id: c.id.text(),
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
    })
}

#[derive(Debug, Deserialize)]
struct SyncroAsset {
    id: Id,
    name: Option<String>,
    customer_id: Option<Id>,
    asset_type: Option<String>,
    asset_serial: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, Value>>,
}

pub fn asset(value: Value) -> Result<Asset, String> {
    let a: SyncroAsset = serde_json::from_value(value).map_err(|e| e.to_string())?;
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
    let name = non_empty(a.name.as_deref()).unwrap_or_else(|| format!("Asset {}", a.id.text()));
    Ok(Asset {
        id: a.id.text(),
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
    })
}

#[derive(Debug, Deserialize)]
struct SyncroTicket {
    id: Id,
    number: Option<Value>,
    subject: Option<String>,
    status: Option<String>,
    customer_id: Option<Id>,
    contact_id: Option<Id>,
    priority: Option<String>,
    problem_type: Option<String>,
    ticket_type_name: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    resolved_at: Option<String>,
    due_date: Option<String>,
    contact_fullname: Option<String>,
}

/// Statuses Syncro treats as done.
const CLOSED_STATUSES: [&str; 2] = ["Resolved", "Invoiced"];

pub fn ticket(value: Value) -> Result<Ticket, String> {
    let t: SyncroTicket = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let number = t.number.as_ref().and_then(json_scalar_text).unwrap_or_else(|| t.id.text());
    let status = non_empty(t.status.as_deref()).unwrap_or_else(|| "New".into());
    let closed = CLOSED_STATUSES.contains(&status.as_str()) || non_empty(t.resolved_at.as_deref()).is_some();
    let card = CardBuilder::new()
        .add("Problem type", t.problem_type.as_deref())
        .add("Ticket type", t.ticket_type_name.as_deref())
        .add("Contact", t.contact_fullname.as_deref())
        .add("Due", t.due_date.as_deref())
        .build();
    Ok(Ticket {
        id: t.id.text(),
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
    })
}

#[derive(Debug, Deserialize)]
pub struct TicketSettings {
    #[serde(default)]
    ticket_status_list: Vec<String>,
}

pub fn ticket_statuses(settings: &TicketSettings) -> Vec<Lookup> {
    settings
        .ticket_status_list
        .iter()
        .filter_map(|s| non_empty(Some(s)))
        .map(|name| Lookup {
            kind: LookupKind::TicketStatus,
            id: name.clone(),
            closed: CLOSED_STATUSES.contains(&name.as_str()),
            name,
            active: true,
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct AccountSettings {
    assets: Option<AssetSettings>,
}

#[derive(Debug, Deserialize)]
struct AssetSettings {
    #[serde(default)]
    asset_types: Vec<Value>,
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
            "properties": {"Contract Tier": "Gold"}}))
        .unwrap();
        assert_eq!(c.id, "7");
        assert_eq!(c.name, "Ortiz Dental Group");
        assert!(c.active);
        assert_eq!(c.website.as_deref(), Some("ortizdental.example"));
        assert!(c.card.iter().any(|f| f.label == "Contract Tier" && f.value == "Gold"));
    }

    #[test]
    fn individual_customer_uses_person_name_and_disabled_is_inactive() {
        let c = company(json!({"id": "8", "business_name": null, "firstname": "Walkin",
            "lastname": "Customer", "disabled": true}))
        .unwrap();
        assert_eq!(c.name, "Walkin Customer");
        assert!(!c.active);
    }

    #[test]
    fn nameless_customer_is_an_error() {
        assert!(company(json!({"id": 9})).is_err());
    }

    #[test]
    fn asset_reads_kabuto_information() {
        let a = asset(json!({"id": 12313068, "name": "ODG-FRONTDESK-01", "customer_id": 31245078,
            "asset_type": "Syncro Device", "asset_serial": "5CG1234XYZ",
            "properties": {"Warranty Expires": "2026-03-31", "kabuto_information": {
                "general": {"manufacturer": "HP", "model": "EliteDesk 800 G6", "ip": "203.0.113.17"},
                "os": {"name": "Microsoft Windows 11 Pro"}}}}))
        .unwrap();
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
        let t =
            ticket(json!({"id": 1, "number": 5028, "subject": "x", "status": "Resolved", "customer_id": 3})).unwrap();
        assert_eq!(t.number, "5028");
        assert!(t.closed);
        let t = ticket(json!({"id": 2, "number": "A-1", "subject": "y", "status": "In Progress"})).unwrap();
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
