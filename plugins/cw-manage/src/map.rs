//! CW Manage JSON → Ferry records, in two steps: each record is read into
//! a typed struct of what CW sends (the `Cw*` structs, the 2025.8 models
//! pinned by the `Accept` header), then mapped to Ferry's record.
//!
//! CW leaves null fields out, so every field is optional; a field of the
//! wrong JSON type reads as absent ([`ferry_sdk::de`]), so one odd record never
//! fails its page. References are `{id, identifier, name}` objects
//! ([`Ref`]); `_info` carries `lastUpdated` and `dateEntered` ([`Info`]).
//! Text is trimmed and a blank value is absent.
//!
//! Card labels, their order and values are part of what Ferry stores and
//! hashes: `testdata/golden.txt` pins them.

use ferry_sdk::prelude::*;
use serde::Deserialize;

use ferry_sdk::de::{self, Scalar, id_text};

/// A reference to another record: `{id, identifier, name}` (the `_info`
/// with its href is ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Ref {
    #[serde(deserialize_with = "de::lenient")]
    pub id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    pub identifier: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    pub name: Option<String>,
}

/// `_info`: when CW last changed the record and when it was entered.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Info {
    #[serde(deserialize_with = "de::lenient")]
    pub last_updated: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    pub date_entered: Option<String>,
}

/// Trimmed text, absent when blank.
fn s(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|x| !x.is_empty())
}

fn text(v: &Option<String>) -> Option<String> {
    s(v).map(str::to_string)
}

/// `name` of a reference such as `type: {id, name}`.
fn ref_name(r: &Option<Ref>) -> Option<String> {
    r.as_ref().and_then(|r| text(&r.name))
}

/// `id` of a reference, as text (`json_scalar_text`).
fn ref_id(r: &Option<Ref>) -> Option<String> {
    r.as_ref().and_then(|r| r.id.as_ref()).map(Scalar::text)
}

fn last_updated(info: &Option<Info>) -> Option<String> {
    info.as_ref().and_then(|i| text(&i.last_updated))
}

/// A postal address, when it has a first line, a city or a postal code.
fn address(
    line1: &Option<String>,
    line2: &Option<String>,
    city: &Option<String>,
    state: Option<String>,
    zip: &Option<String>,
    country: &Option<Ref>,
) -> Option<Address> {
    let a = Address {
        line1: text(line1),
        line2: text(line2),
        city: text(city),
        state,
        postal_code: text(zip),
        country: ref_name(country),
    };
    (a.line1.is_some() || a.city.is_some() || a.postal_code.is_some()).then_some(a)
}

/// `/company/companies` (CW ids are int32, negative ones included: the
/// API allows them).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CwCompany {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    identifier: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    status: Option<Ref>,
    #[serde(deserialize_with = "de::list")]
    types: Vec<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    address_line1: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    address_line2: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    city: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    state: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    zip: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    country: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    phone_number: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    fax_number: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    website: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    territory: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    account_number: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    default_contact: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    date_acquired: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    deleted_flag: Option<bool>,
    #[serde(rename = "_info", deserialize_with = "de::lenient")]
    info: Option<Info>,
}

/// A company. `inactive_statuses`: ids of company statuses with
/// `inactiveFlag`. A record without a usable id gets an empty one rather
/// than failing its page: Ferry skips that one record as invalid ("the id
/// is empty") and keeps it aside with its other fields, and the rest of
/// the page syncs.
pub fn company(c: &CwCompany, inactive_statuses: &[u64]) -> Company {
    let id = id_text(&c.id);
    // CW requires a name; an empty one is Ferry's to skip (as invalid).
    let name = text(&c.name).unwrap_or_default();
    let deleted = c.deleted_flag.unwrap_or(false);
    let status_id = c.status.as_ref().and_then(|r| r.id.as_ref()).and_then(Scalar::as_u64);
    let inactive = status_id.is_some_and(|sid| inactive_statuses.contains(&sid));
    let types: Vec<String> = c.types.iter().filter_map(|t| text(&t.name)).collect();
    let card = CardBuilder::new()
        .add("Identifier", s(&c.identifier))
        .add("Status", ref_name(&c.status).as_deref())
        .add("Territory", ref_name(&c.territory).as_deref())
        .add("Account number", s(&c.account_number))
        .add("Fax", s(&c.fax_number))
        .add("Default contact", ref_name(&c.default_contact).as_deref())
        .add("Date acquired", s(&c.date_acquired))
        .add("Deleted", deleted.then_some("Yes"))
        .build();
    Company {
        id,
        name,
        active: !deleted && !inactive,
        deleted,
        status: ref_name(&c.status),
        types,
        website: text(&c.website),
        email: None,
        phone: text(&c.phone_number),
        address: address(&c.address_line1, &c.address_line2, &c.city, text(&c.state), &c.zip, &c.country),
        updated_at: last_updated(&c.info),
        card,
        raw: None,
    }
}

/// One of a contact's `communicationItems`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CommunicationItem {
    #[serde(rename = "type", deserialize_with = "de::lenient")]
    kind: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    value: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    default_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    communication_type: Option<String>,
}

/// `/company/contacts`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CwContact {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    first_name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    last_name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    company: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    site: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    department: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    relationship: Option<Ref>,
    #[serde(deserialize_with = "de::list")]
    types: Vec<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    title: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    inactive_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    default_phone_nbr: Option<String>,
    #[serde(deserialize_with = "de::list")]
    communication_items: Vec<CommunicationItem>,
    #[serde(rename = "_info", deserialize_with = "de::lenient")]
    info: Option<Info>,
}

/// Email, phone and mobile from `communicationItems`, default items first
/// (the first item of a kind decides, even when its value is blank).
fn communications(items: &[CommunicationItem]) -> (Option<String>, Option<String>, Option<String>) {
    let mut items: Vec<&CommunicationItem> = items.iter().collect();
    items.sort_by_key(|i| !i.default_flag.unwrap_or(false));
    let kind = |i: &CommunicationItem| s(&i.communication_type).unwrap_or("").to_ascii_lowercase();
    let type_name = |i: &CommunicationItem| ref_name(&i.kind).unwrap_or_default().to_ascii_lowercase();
    let is_mobile = |i: &CommunicationItem| matches!(type_name(i).as_str(), "mobile" | "cell" | "cell phone");
    let email = items.iter().find(|i| kind(i) == "email").and_then(|i| text(&i.value));
    let phone = items.iter().find(|i| kind(i) == "phone" && !is_mobile(i)).and_then(|i| text(&i.value));
    let mobile = items.iter().find(|i| kind(i) == "phone" && is_mobile(i)).and_then(|i| text(&i.value));
    (email, phone, mobile)
}

pub fn contact(c: &CwContact) -> Contact {
    let id = id_text(&c.id);
    let first = text(&c.first_name);
    let last = text(&c.last_name);
    let name = [first.as_deref(), last.as_deref()].iter().flatten().copied().collect::<Vec<_>>().join(" ");
    let (email, phone, mobile) = communications(&c.communication_items);
    let phone = phone.or_else(|| text(&c.default_phone_nbr));
    let name = if name.is_empty() { email.clone().unwrap_or_else(|| format!("Contact {id}")) } else { name };
    let types = c.types.iter().filter_map(|t| s(&t.name)).collect::<Vec<_>>().join(", ");
    let card = CardBuilder::new()
        .add("Site", ref_name(&c.site).as_deref())
        .add("Department", ref_name(&c.department).as_deref())
        .add("Relationship", ref_name(&c.relationship).as_deref())
        .add("Types", Some(&types))
        .build();
    Contact {
        company_id: ref_id(&c.company),
        first_name: first,
        last_name: last,
        title: text(&c.title),
        email,
        phone,
        mobile,
        active: !c.inactive_flag.unwrap_or(false),
        updated_at: last_updated(&c.info),
        card,
        raw: None,
        id,
        name,
    }
}

/// A configuration's question with its answer (text, number or flag).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Question {
    #[serde(deserialize_with = "de::lenient")]
    question: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    answer: Option<Scalar>,
}

/// `/company/configurations` (model `CompanyConfiguration`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CwConfiguration {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(rename = "type", deserialize_with = "de::lenient")]
    kind: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    status: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    company: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    contact: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    site: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    device_identifier: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    serial_number: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    model_number: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    tag_number: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    purchase_date: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    installation_date: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    installed_by: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    warranty_expiration_date: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    vendor_notes: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    notes: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    mac_address: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    last_login_name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    ip_address: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    default_gateway: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    os_type: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    os_info: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    cpu_speed: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    ram: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    local_hard_drives: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    vendor: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    manufacturer: Option<Ref>,
    #[serde(deserialize_with = "de::list")]
    questions: Vec<Question>,
    #[serde(deserialize_with = "de::lenient")]
    active_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    management_link: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    remote_link: Option<String>,
    #[serde(rename = "_info", deserialize_with = "de::lenient")]
    info: Option<Info>,
}

pub fn configuration(c: &CwConfiguration) -> Asset {
    let id = id_text(&c.id);
    let name = text(&c.name).unwrap_or_else(|| format!("Configuration {id}"));
    let type_name = ref_name(&c.kind).unwrap_or_else(|| "Unknown".into());
    let os = match (s(&c.os_type), s(&c.os_info)) {
        (Some(t), Some(i)) => Some(format!("{t} ({i})")),
        (Some(t), None) => Some(t.to_string()),
        (None, i) => i.map(str::to_string),
    };
    let mut card = CardBuilder::new()
        .add("Contact", ref_name(&c.contact).as_deref())
        .add("Site", ref_name(&c.site).as_deref())
        .add("Device identifier", s(&c.device_identifier))
        .add("Purchase date", s(&c.purchase_date))
        .add("Installation date", s(&c.installation_date))
        .add("Installed by", ref_name(&c.installed_by).as_deref())
        .add("Warranty expires", s(&c.warranty_expiration_date))
        .add("Vendor", ref_name(&c.vendor).as_deref())
        .add("Last login", s(&c.last_login_name))
        .add("Default gateway", s(&c.default_gateway))
        .add("CPU speed", s(&c.cpu_speed))
        .add("RAM", s(&c.ram))
        .add("Local drives", s(&c.local_hard_drives))
        .add("Management link", s(&c.management_link))
        .add("Remote link", s(&c.remote_link))
        .add("Notes", s(&c.notes))
        .add("Vendor notes", s(&c.vendor_notes));
    for q in &c.questions {
        if let Some(question) = s(&q.question) {
            card = card.add(question, q.answer.as_ref().map(Scalar::text).as_deref());
        }
    }
    Asset {
        id,
        company_id: ref_id(&c.company),
        name,
        type_name,
        status: ref_name(&c.status),
        active: c.active_flag.unwrap_or(true),
        serial_number: text(&c.serial_number),
        mac_address: text(&c.mac_address),
        ip_address: text(&c.ip_address),
        manufacturer: ref_name(&c.manufacturer),
        model: text(&c.model_number),
        operating_system: os,
        tag: text(&c.tag_number),
        updated_at: last_updated(&c.info),
        card: card.build(),
        raw: None,
    }
}

/// `/finance/agreements`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CwAgreement {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(rename = "type", deserialize_with = "de::lenient")]
    kind: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    company: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    contact: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    agreement_status: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    cancelled_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    start_date: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    end_date: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    no_ending_date_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    billing_cycle: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    bill_amount: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    application_units: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    application_limit: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    application_cycle: Option<String>,
    #[serde(rename = "customerPO", deserialize_with = "de::lenient")]
    customer_po: Option<String>,
    #[serde(rename = "_info", deserialize_with = "de::lenient")]
    info: Option<Info>,
}

pub fn agreement(a: &CwAgreement) -> Agreement {
    let id = id_text(&a.id);
    let status = text(&a.agreement_status);
    let cancelled = a.cancelled_flag.unwrap_or(false);
    let scalar = |v: &Option<Scalar>| v.as_ref().map(Scalar::text);
    let card = CardBuilder::new()
        .add("Contact", ref_name(&a.contact).as_deref())
        .add("Billing cycle", ref_name(&a.billing_cycle).as_deref())
        .add("Bill amount", scalar(&a.bill_amount).as_deref())
        .add("Application units", s(&a.application_units))
        .add("Application limit", scalar(&a.application_limit).as_deref())
        .add("Application cycle", s(&a.application_cycle))
        .add_bool("No ending date", a.no_ending_date_flag)
        .add("Customer PO", s(&a.customer_po))
        .build();
    Agreement {
        company_id: ref_id(&a.company),
        name: text(&a.name).unwrap_or_else(|| format!("Agreement {id}")),
        type_name: ref_name(&a.kind),
        active: !cancelled && status.as_deref().is_none_or(|s| s.eq_ignore_ascii_case("active")),
        status,
        start_date: text(&a.start_date),
        end_date: text(&a.end_date),
        updated_at: last_updated(&a.info),
        card,
        raw: None,
        id,
    }
}

/// `/company/companies/{id}/sites`: `stateReference` rather than `state`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CwSite {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    company: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    address_line1: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    address_line2: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    city: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    state_reference: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    zip: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    country: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    phone_number: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    fax_number: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    primary_address_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    default_billing_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    default_shipping_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    inactive_flag: Option<bool>,
    #[serde(rename = "_info", deserialize_with = "de::lenient")]
    info: Option<Info>,
}

/// A site of company `company_id` (the one whose sites were listed, when
/// the site does not name its company).
pub fn site(v: &CwSite, company_id: u64) -> Site {
    let id = id_text(&v.id);
    let state = v.state_reference.as_ref().and_then(|r| s(&r.identifier).or_else(|| s(&r.name))).map(str::to_string);
    let card = CardBuilder::new()
        .add("Fax", s(&v.fax_number))
        .add_bool("Default billing", v.default_billing_flag)
        .add_bool("Default shipping", v.default_shipping_flag)
        .build();
    Site {
        company_id: ref_id(&v.company).or(Some(company_id.to_string())),
        name: text(&v.name).unwrap_or_else(|| format!("Site {id}")),
        address: address(&v.address_line1, &v.address_line2, &v.city, state, &v.zip, &v.country),
        phone: text(&v.phone_number),
        primary: v.primary_address_flag.unwrap_or(false),
        active: !v.inactive_flag.unwrap_or(false),
        updated_at: last_updated(&v.info),
        card,
        raw: None,
        id,
    }
}

/// `/service/tickets`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CwTicket {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    summary: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    board: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    status: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    company: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    contact: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    contact_email_address: Option<String>,
    #[serde(rename = "type", deserialize_with = "de::lenient")]
    kind: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    sub_type: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    item: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    team: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    owner: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    priority: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    source: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    severity: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    impact: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    agreement: Option<Ref>,
    #[serde(deserialize_with = "de::lenient")]
    closed_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    date_resolved: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    closed_date: Option<String>,
    #[serde(rename = "_info", deserialize_with = "de::lenient")]
    info: Option<Info>,
}

pub fn ticket(t: &CwTicket) -> Ticket {
    let id = id_text(&t.id);
    let status = ref_name(&t.status).unwrap_or_else(|| "Unknown".into());
    let card = CardBuilder::new()
        .add("Sub-type", ref_name(&t.sub_type).as_deref())
        .add("Item", ref_name(&t.item).as_deref())
        .add("Team", ref_name(&t.team).as_deref())
        .add("Owner", ref_name(&t.owner).as_deref())
        .add("Source", ref_name(&t.source).as_deref())
        .add("Severity", s(&t.severity))
        .add("Impact", s(&t.impact))
        .add("Contact email", s(&t.contact_email_address))
        .add("Agreement", ref_name(&t.agreement).as_deref())
        .build();
    Ticket {
        company_id: ref_id(&t.company),
        contact_id: ref_id(&t.contact),
        number: id.clone(),
        subject: text(&t.summary).unwrap_or_default(),
        status,
        priority: ref_name(&t.priority),
        type_name: ref_name(&t.kind),
        board: ref_name(&t.board),
        closed: t.closed_flag.unwrap_or(false),
        created_at: t.info.as_ref().and_then(|i| text(&i.date_entered)),
        updated_at: last_updated(&t.info),
        resolved_at: text(&t.date_resolved).or_else(|| text(&t.closed_date)),
        card,
        raw: None,
        id,
    }
}

/// An entry of a reference list (types, company and configuration
/// statuses); configuration statuses name themselves in `description`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListEntry {
    #[serde(deserialize_with = "de::lenient")]
    pub id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    description: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    pub inactive_flag: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    closed_flag: Option<bool>,
}

/// An entry of a reference list; `None` without an id or a name.
pub fn lookup(e: &ListEntry, kind: LookupKind) -> Option<Lookup> {
    let id = e.id.as_ref()?.text();
    let name = text(&e.name).or_else(|| text(&e.description))?;
    let inactive = e.inactive_flag.unwrap_or(false);
    let closed = matches!(kind, LookupKind::AssetStatus) && e.closed_flag.unwrap_or(false);
    Some(Lookup { kind, id, name, active: !inactive, closed })
}

/// `/service/boards/{id}/statuses`: `inactive` and `closedStatus` rather
/// than the `…Flag` names of the other lists.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BoardStatus {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    inactive: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    closed_status: Option<bool>,
}

pub fn ticket_status(st: &BoardStatus) -> Option<Lookup> {
    let id = st.id.as_ref()?.text();
    let name = text(&st.name)?;
    Some(Lookup {
        kind: LookupKind::TicketStatus,
        id,
        name,
        active: !st.inactive.unwrap_or(false),
        closed: st.closed_status.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_sdk::de::OrDefault;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    /// A record read as the connector reads a page entry.
    fn read<T: DeserializeOwned + Default>(v: &Value) -> T {
        serde_json::from_value::<OrDefault<T>>(v.clone()).expect("an entry always reads").0
    }

    // The mapping from JSON, as the connector runs it.
    fn company(v: &Value, inactive: &[u64]) -> Company {
        super::company(&read(v), inactive)
    }
    fn contact(v: &Value) -> Contact {
        super::contact(&read(v))
    }
    fn configuration(v: &Value) -> Asset {
        super::configuration(&read(v))
    }
    fn agreement(v: &Value) -> Agreement {
        super::agreement(&read(v))
    }
    fn site(v: &Value, company_id: u64) -> Site {
        super::site(&read(v), company_id)
    }
    fn ticket(v: &Value) -> Ticket {
        super::ticket(&read(v))
    }
    fn lookup(v: &Value, kind: LookupKind) -> Option<Lookup> {
        super::lookup(&read(v), kind)
    }
    fn ticket_status(v: &Value) -> Option<Lookup> {
        super::ticket_status(&read(v))
    }

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
