//! Sort rules and skip options: where a PSA record lands, or whether it
//! lands at all. Pure functions over plain types — no I/O — so apply stays
//! fast and every rule is testable on its own.

use serde::Serialize;

use crate::model::{Agreement, Asset, Company, Contact, Item, Record, Site, StreamId};
use crate::options::{
    DEFAULT_AGREEMENTS_LAYOUT, DEFAULT_CONTACTS_LAYOUT, DEFAULT_SITES_LAYOUT, IntegrationOptions, Stage, TicketOptions,
};

/// Why a record is not brought in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    InactiveCompany,
    CompanyType(String),
    Stream(&'static str),
    InactiveAsset,
    AssetType(String),
    /// An extra stream the operator skips, by name.
    ExtraStream(String),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::InactiveCompany => write!(f, "inactive company skipped"),
            SkipReason::CompanyType(t) => write!(f, "company type `{t}` skipped"),
            SkipReason::Stream(s) => write!(f, "{s} skipped"),
            SkipReason::InactiveAsset => write!(f, "inactive asset skipped"),
            SkipReason::AssetType(t) => write!(f, "asset type `{t}` skipped"),
            SkipReason::ExtraStream(s) => write!(f, "stream `{s}` skipped"),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Is this PSA company (and so all its data) skipped?
pub fn skip_company(options: &IntegrationOptions, company: &Company) -> Option<SkipReason> {
    if options.skip.inactive_companies && !company.active {
        return Some(SkipReason::InactiveCompany);
    }
    company
        .types
        .iter()
        .find(|t| options.skip.company_types.iter().any(|s| same(s, t)))
        .map(|t| SkipReason::CompanyType(t.clone()))
}

/// Is this record (of a company that is brought in) skipped?
pub fn skip_record(options: &IntegrationOptions, record: &Record) -> Option<SkipReason> {
    let s = &options.skip;
    match record {
        Record::Contact(_) if s.contacts => Some(SkipReason::Stream("contacts")),
        Record::Agreement(_) if s.agreements => Some(SkipReason::Stream("agreements")),
        Record::Site(_) if s.sites => Some(SkipReason::Stream("sites")),
        Record::Asset(_) if s.assets => Some(SkipReason::Stream("assets")),
        Record::Asset(a) if s.inactive_assets && !a.active => Some(SkipReason::InactiveAsset),
        Record::Asset(a) => {
            s.asset_types.iter().find(|t| same(t, &a.type_name)).map(|_| SkipReason::AssetType(a.type_name.clone()))
        }
        _ => None,
    }
}

/// Is this whole stream skipped? Only extra streams are skipped by name
/// (`skip.streams`); the kinds have their own switches, checked per record
/// by [`skip_record`].
pub fn skip_stream(options: &IntegrationOptions, stream: &StreamId) -> Option<SkipReason> {
    let name = stream.extra()?;
    options.skip.streams.iter().any(|s| same(s, name)).then(|| SkipReason::ExtraStream(name.to_string()))
}

/// The layout an extra stream's items go to when no rule places them: the
/// stream's name as a title, `contracts` → "Contracts", `service-contracts`
/// → "Service contracts".
pub fn default_item_layout(stream_name: &str) -> String {
    let spaced = stream_name.replace('-', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Items".to_string(),
    }
}

/// Where an item of extra stream `stream_name` goes: the first by-type rule
/// whose type matches (as for assets), else [`default_item_layout`]. The
/// primary sync location is for assets only.
pub fn item_layout(
    options: &IntegrationOptions,
    stream_name: &str,
    item: &Item,
    is_active_layout: impl Fn(&str) -> bool,
) -> String {
    match options.rules.iter().find(|r| same(&r.when_type, &item.type_name) && is_active_layout(&r.layout)) {
        Some(rule) => rule.layout.clone(),
        None => default_item_layout(stream_name),
    }
}

/// Where an asset goes: the first by-type rule whose type matches, else the
/// primary sync location, else a layout named after the PSA type.
pub fn asset_layout(options: &IntegrationOptions, asset: &Asset, is_active_layout: impl Fn(&str) -> bool) -> String {
    if let Some(rule) =
        options.rules.iter().find(|r| same(&r.when_type, &asset.type_name) && is_active_layout(&r.layout))
    {
        return rule.layout.clone();
    }
    if let Some(primary) = options.primary_layout.as_ref().filter(|l| is_active_layout(l)) {
        return primary.clone();
    }
    let t = asset.type_name.trim();
    if t.is_empty() { "Devices".to_string() } else { t.to_string() }
}

/// The layout of any asset-like record.
pub fn layout_for(
    options: &IntegrationOptions,
    stream: &StreamId,
    record: &Record,
    is_active_layout: impl Fn(&str) -> bool,
) -> Option<String> {
    let pick = |chosen: &Option<String>, default: &str| -> String {
        chosen.as_ref().filter(|l| is_active_layout(l)).cloned().unwrap_or_else(|| default.to_string())
    };
    match record {
        Record::Asset(a) => Some(asset_layout(options, a, &is_active_layout)),
        Record::Contact(_) => Some(pick(&options.contacts_layout, DEFAULT_CONTACTS_LAYOUT)),
        Record::Site(_) => Some(pick(&options.sites_layout, DEFAULT_SITES_LAYOUT)),
        Record::Agreement(_) => Some(pick(&options.agreements_layout, DEFAULT_AGREEMENTS_LAYOUT)),
        Record::Item(item) => stream.extra().map(|name| item_layout(options, name, item, &is_active_layout)),
        _ => None,
    }
}

/// Is a ticket in this status left out of Ferry?
pub fn ticket_excluded(options: &TicketOptions, status: &str) -> bool {
    options.exclude_statuses.iter().any(|s| same(s, status))
}

/// Closed by the PSA's word or by the operator's list of closed statuses.
pub fn ticket_closed(options: &TicketOptions, status: &str, psa_closed: bool) -> bool {
    psa_closed || options.closed_statuses.iter().any(|s| same(s, status))
}

/// The stage of a ticket: the operator's map first, then closed →
/// Resolved, the client-comment status → Triaged, then a guess from the
/// status name as PSAs commonly spell it.
pub fn ticket_stage(options: &TicketOptions, status: &str, closed: bool) -> Stage {
    if let Some((stage, _)) = options.stages.iter().find(|(_, list)| list.iter().any(|s| same(s, status))) {
        return *stage;
    }
    if closed {
        return Stage::Resolved;
    }
    if options.client_comment_status.as_deref().is_some_and(|c| same(c, status)) {
        return Stage::Triaged;
    }
    let s = status.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| s.contains(w));
    if has(&["resolved", "closed", "complete", "invoiced", "done", "cancel"]) {
        Stage::Resolved
    } else if has(&["wait", "hold", "scheduled", "pending", "parts", "vendor"]) {
        Stage::Waiting
    } else if has(&["progress", "working", "assigned", "active"]) {
        Stage::Working
    } else if has(&["reply", "updated", "respon", "escalat", "triage", "review"]) {
        Stage::Triaged
    } else {
        Stage::New
    }
}

/// Whether an asset-like record is inactive in the PSA.
pub fn is_inactive(record: &Record) -> bool {
    match record {
        Record::Asset(Asset { active, .. })
        | Record::Contact(Contact { active, .. })
        | Record::Site(Site { active, .. })
        | Record::Agreement(Agreement { active, .. })
        | Record::Item(Item { active, .. }) => !active,
        Record::Company(c) => !c.active,
        _ => false,
    }
}

/// Which field of a device identifies it across integrations, per layout;
/// stored in `layouts.identity`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum IdentityField {
    #[default]
    Serial,
    Mac,
    Name,
}

/// The identity of the device behind an asset for the layout's identity
/// field, falling back to the name: "serial:5CG1234XYZ", "name:odg-pc-01".
pub fn device_identity(identity_field: IdentityField, asset: &Asset) -> Option<String> {
    let norm = |s: &str| -> Option<String> {
        let v: String = s.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_uppercase();
        (v.len() >= 3 && !is_placeholder(&v)).then_some(v)
    };
    let by_field = match identity_field {
        IdentityField::Mac => asset.mac_address.as_deref().and_then(norm).map(|v| format!("mac:{v}")),
        IdentityField::Name => None,
        IdentityField::Serial => asset.serial_number.as_deref().and_then(norm).map(|v| format!("serial:{v}")),
    };
    by_field.or_else(|| {
        let name = asset.name.trim().to_lowercase();
        (!name.is_empty()).then(|| format!("name:{name}"))
    })
}

/// The identity of the person behind a contact, so the same person in two
/// PSAs becomes one documentation asset (as devices merge by serial): the
/// email address when there is one ("email:ana@ortiz.example"), else the
/// full name with case and spacing folded ("person:ana ortiz"). Merging is
/// always within one documentation company, so two people of one name at
/// different customers stay apart.
pub fn person_identity(contact: &crate::model::Contact) -> Option<String> {
    let email = contact
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')));
    if let Some(email) = email {
        return Some(format!("email:{email}"));
    }
    let name = match (contact.first_name.as_deref(), contact.last_name.as_deref()) {
        (Some(f), Some(l)) if !f.trim().is_empty() || !l.trim().is_empty() => format!("{f} {l}"),
        _ => contact.name.clone(),
    };
    let folded = name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    (!folded.is_empty()).then(|| format!("person:{folded}"))
}

/// Serials that RMMs and vendors put where they have none.
fn is_placeholder(v: &str) -> bool {
    const PLACEHOLDERS: [&str; 8] = [
        "TOBEFILLEDBYOEM",
        "DEFAULTSTRING",
        "SYSTEMSERIALNUMBER",
        "NONE",
        "UNKNOWN",
        "000000000000",
        "0123456789",
        "NA",
    ];
    PLACEHOLDERS.contains(&v) || v.chars().all(|c| c == '0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::TypeRule;

    fn contact(name: &str, first: Option<&str>, last: Option<&str>, email: Option<&str>) -> crate::model::Contact {
        crate::model::Contact {
            id: "1".into(),
            company_id: Some("c".into()),
            name: name.into(),
            first_name: first.map(Into::into),
            last_name: last.map(Into::into),
            title: None,
            email: email.map(Into::into),
            phone: None,
            mobile: None,
            active: true,
            updated_at: None,
            card: vec![],
            raw: None,
        }
    }

    #[test]
    fn people_are_identified_by_email_then_name() {
        let a = contact("Ana Ortiz", Some("Ana"), Some("Ortiz"), Some(" Ana.Ortiz@Ortiz.example "));
        let b = contact("A. Ortiz", None, None, Some("ana.ortiz@ortiz.example"));
        assert_eq!(person_identity(&a).as_deref(), Some("email:ana.ortiz@ortiz.example"));
        assert_eq!(person_identity(&a), person_identity(&b));
        // No usable email: the folded full name.
        let c = contact("ANA  ortiz", None, None, Some("not-an-email"));
        let d = contact("x", Some("Ana"), Some("Ortiz"), None);
        assert_eq!(person_identity(&c).as_deref(), Some("person:ana ortiz"));
        assert_eq!(person_identity(&c), person_identity(&d));
        assert_eq!(person_identity(&contact("  ", None, None, None)), None);
    }

    fn asset(type_name: &str) -> Asset {
        Asset {
            id: "1".into(),
            company_id: Some("c".into()),
            name: "ODG-PC-01".into(),
            type_name: type_name.into(),
            status: None,
            active: true,
            serial_number: Some("5cg-1234 xyz".into()),
            mac_address: Some("00:11:22:33:44:55".into()),
            ip_address: None,
            manufacturer: None,
            model: None,
            operating_system: None,
            tag: None,
            updated_at: None,
            card: vec![],
            raw: None,
        }
    }

    #[test]
    fn by_type_rule_beats_primary() {
        let o = IntegrationOptions {
            primary_layout: Some("Computers".into()),
            rules: vec![TypeRule { when_type: "firewall".into(), layout: "Network".into() }],
            ..Default::default()
        };
        let all = |_: &str| true;
        assert_eq!(asset_layout(&o, &asset("Firewall"), all), "Network");
        assert_eq!(asset_layout(&o, &asset("Laptop"), all), "Computers");
    }

    #[test]
    fn inactive_layouts_are_passed_over() {
        let o = IntegrationOptions {
            primary_layout: Some("Computers".into()),
            rules: vec![TypeRule { when_type: "Firewall".into(), layout: "Old".into() }],
            ..Default::default()
        };
        assert_eq!(asset_layout(&o, &asset("Firewall"), |l| l != "Old"), "Computers");
        assert_eq!(asset_layout(&IntegrationOptions::default(), &asset("Laptop"), |_| true), "Laptop");
    }

    #[test]
    fn skips() {
        let mut o = IntegrationOptions::default();
        o.skip.asset_types = vec!["printer".into()];
        o.skip.inactive_assets = true;
        assert_eq!(skip_record(&o, &Record::Asset(asset("Printer"))), Some(SkipReason::AssetType("Printer".into())));
        let mut inactive = asset("Laptop");
        inactive.active = false;
        assert_eq!(skip_record(&o, &Record::Asset(inactive)), Some(SkipReason::InactiveAsset));
        assert_eq!(skip_record(&o, &Record::Asset(asset("Laptop"))), None);
    }

    fn item(type_name: &str) -> Item {
        Item {
            id: "c-1".into(),
            company_id: Some("c".into()),
            name: "Managed services 2025".into(),
            type_name: type_name.into(),
            active: true,
            updated_at: None,
            card: vec![],
            raw: None,
        }
    }

    #[test]
    fn items_go_by_type_rule_else_to_their_stream_layout() {
        let contracts = StreamId::Extra("contracts".into());
        let o = IntegrationOptions {
            primary_layout: Some("Computers".into()),
            rules: vec![TypeRule { when_type: "break-fix".into(), layout: "Ad hoc".into() }],
            ..Default::default()
        };
        let all = |_: &str| true;
        let place = |i: Item, active: &dyn Fn(&str) -> bool| layout_for(&o, &contracts, &Record::Item(i), active);
        assert_eq!(place(item("Break-Fix"), &all).as_deref(), Some("Ad hoc"));
        // Not the primary location: that is the assets'.
        assert_eq!(place(item("Managed"), &all).as_deref(), Some("Contracts"));
        assert_eq!(place(item("Break-Fix"), &|l: &str| l != "Ad hoc").as_deref(), Some("Contracts"));
        assert_eq!(default_item_layout("service-contracts"), "Service contracts");
        // An item read as a kind's record places nowhere.
        assert_eq!(
            layout_for(&o, &StreamId::Kind(crate::model::StreamKind::Assets), &Record::Item(item("x")), all),
            None
        );
    }

    #[test]
    fn extra_streams_are_skipped_by_name() {
        let mut o = IntegrationOptions::default();
        o.skip.streams = vec!["contracts".into()];
        assert_eq!(
            skip_stream(&o, &StreamId::Extra("contracts".into())),
            Some(SkipReason::ExtraStream("contracts".into()))
        );
        assert_eq!(skip_stream(&o, &StreamId::Extra("invoices".into())), None);
        assert_eq!(skip_stream(&o, &StreamId::Kind(crate::model::StreamKind::Contacts)), None);
        let mut inactive = item("x");
        inactive.active = false;
        assert!(is_inactive(&Record::Item(inactive)));
    }

    #[test]
    fn ticket_stages() {
        let mut t = TicketOptions::default();
        assert_eq!(ticket_stage(&t, "New", false), Stage::New);
        assert_eq!(ticket_stage(&t, "In Progress", false), Stage::Working);
        assert_eq!(ticket_stage(&t, "Waiting on Customer", false), Stage::Waiting);
        assert_eq!(ticket_stage(&t, "Customer Reply", false), Stage::Triaged);
        assert_eq!(ticket_stage(&t, "Invoiced", true), Stage::Resolved);
        t.stages.insert(Stage::Working, vec!["scheduled".into(), "Customer Reply".into()]);
        t.closed_statuses.push("Done-ish".into());
        t.exclude_statuses.push("Spam".into());
        assert_eq!(ticket_stage(&t, "Scheduled", false), Stage::Working, "explicit map wins");
        assert_eq!(ticket_stage(&t, "Customer Reply", false), Stage::Working);
        assert!(ticket_closed(&t, "done-ish", false));
        assert!(ticket_excluded(&t, "spam"));
        t.client_comment_status = Some("Client Said".into());
        assert_eq!(ticket_stage(&t, "Client Said", false), Stage::Triaged);
    }

    #[test]
    fn identity_prefers_field_then_name() {
        let a = asset("Laptop");
        assert_eq!(device_identity(IdentityField::Serial, &a).as_deref(), Some("serial:5CG1234XYZ"));
        assert_eq!(device_identity(IdentityField::Mac, &a).as_deref(), Some("mac:001122334455"));
        assert_eq!(device_identity(IdentityField::Name, &a).as_deref(), Some("name:odg-pc-01"));
        let mut b = asset("Laptop");
        b.serial_number = Some("To be filled by O.E.M.".into());
        assert_eq!(device_identity(IdentityField::Serial, &b).as_deref(), Some("name:odg-pc-01"));
    }
}
