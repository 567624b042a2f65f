//! Ferry's own plain types for what connectors return.
//!
//! The runtime converts the WIT-generated types into these at the boundary,
//! so storage, sync, matching and rules never see wasmtime types and keep
//! working unchanged when a new contract version arrives. They serialise to
//! the canonical JSON stored in the PSA mirror, whose hash drives change
//! detection: field order here is part of that hash, so only append fields.

use serde::{Deserialize, Serialize};

/// A stream of records a connector can offer. Its spelling (`companies`)
/// is the one stored in the mirror, run and checkpoint rows and printed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum StreamKind {
    Lookups,
    Companies,
    Sites,
    Contacts,
    Assets,
    Agreements,
    Tickets,
}

impl StreamKind {
    /// Every stream, in the order a sync reads them: reference data first,
    /// companies before what belongs to them.
    pub const ALL: [StreamKind; 7] = [
        StreamKind::Lookups,
        StreamKind::Companies,
        StreamKind::Sites,
        StreamKind::Contacts,
        StreamKind::Assets,
        StreamKind::Agreements,
        StreamKind::Tickets,
    ];

    /// The stored and printed spelling (strum's).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigField {
    pub key: String,
    pub label: String,
    pub help: String,
    pub required: bool,
    pub secret: bool,
    pub default_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub kind: StreamKind,
    pub incremental: bool,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub per_seconds: u32,
}

/// A stream beyond the seven kinds, declared by a 0.3+ connector; its
/// records are [`Item`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraStreamInfo {
    pub name: String,
    pub description: String,
    pub incremental: bool,
}

/// What `info()` says about a connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub config: Vec<ConfigField>,
    pub streams: Vec<StreamInfo>,
    pub allowed_hosts: Vec<String>,
    pub rate_limit: Option<RateLimit>,
    /// Streams beyond the seven kinds (contract 0.3+; empty before).
    #[serde(default)]
    pub extra_streams: Vec<ExtraStreamInfo>,
}

impl ConnectorInfo {
    pub fn field(&self, key: &str) -> Option<&ConfigField> {
        self.config.iter().find(|f| f.key == key)
    }

    pub fn stream(&self, kind: StreamKind) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == kind)
    }

    pub fn secret_keys(&self) -> impl Iterator<Item = &str> {
        self.config.iter().filter(|f| f.secret).map(|f| f.key.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub deleted: bool,
    pub status: Option<String>,
    pub types: Vec<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub updated_at: Option<String>,
    pub card: Vec<Field>,
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub company_id: Option<String>,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub active: bool,
    pub updated_at: Option<String>,
    pub card: Vec<Field>,
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: String,
    pub company_id: Option<String>,
    pub name: String,
    pub type_name: String,
    pub status: Option<String>,
    pub active: bool,
    pub serial_number: Option<String>,
    pub mac_address: Option<String>,
    pub ip_address: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub operating_system: Option<String>,
    pub tag: Option<String>,
    pub updated_at: Option<String>,
    pub card: Vec<Field>,
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub company_id: Option<String>,
    pub name: String,
    pub address: Option<Address>,
    pub phone: Option<String>,
    pub primary: bool,
    pub active: bool,
    pub updated_at: Option<String>,
    pub card: Vec<Field>,
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: String,
    pub company_id: Option<String>,
    pub name: String,
    pub type_name: Option<String>,
    pub status: Option<String>,
    pub active: bool,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub updated_at: Option<String>,
    pub card: Vec<Field>,
    pub raw: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    pub company_id: Option<String>,
    pub contact_id: Option<String>,
    pub number: String,
    pub subject: String,
    pub status: String,
    pub priority: Option<String>,
    pub type_name: Option<String>,
    pub board: Option<String>,
    pub closed: bool,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub card: Vec<Field>,
    pub raw: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::Display, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum LookupKind {
    CompanyType,
    CompanyStatus,
    AssetType,
    AssetStatus,
    AgreementType,
    TicketStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    pub kind: LookupKind,
    pub id: String,
    pub name: String,
    pub active: bool,
    pub closed: bool,
}

/// A record of an extra stream: a generic card, placed like an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub company_id: Option<String>,
    pub name: String,
    pub type_name: String,
    pub active: bool,
    pub updated_at: Option<String>,
    pub card: Vec<Field>,
    pub raw: Option<String>,
}

/// One page of an extra stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPage {
    pub items: Vec<Item>,
    pub next: Option<String>,
    pub total: Option<u64>,
}

/// One record of any stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "kebab-case")]
pub enum Record {
    Company(Company),
    Contact(Contact),
    Asset(Asset),
    Site(Site),
    Agreement(Agreement),
    Ticket(Ticket),
    Lookup(Lookup),
}

impl Record {
    pub fn stream(&self) -> StreamKind {
        match self {
            Record::Company(_) => StreamKind::Companies,
            Record::Contact(_) => StreamKind::Contacts,
            Record::Asset(_) => StreamKind::Assets,
            Record::Site(_) => StreamKind::Sites,
            Record::Agreement(_) => StreamKind::Agreements,
            Record::Ticket(_) => StreamKind::Tickets,
            Record::Lookup(_) => StreamKind::Lookups,
        }
    }

    /// The PSA's id, unique within the stream (lookups: per list).
    pub fn external_id(&self) -> String {
        match self {
            Record::Company(r) => r.id.clone(),
            Record::Contact(r) => r.id.clone(),
            Record::Asset(r) => r.id.clone(),
            Record::Site(r) => r.id.clone(),
            Record::Agreement(r) => r.id.clone(),
            Record::Ticket(r) => r.id.clone(),
            Record::Lookup(r) => format!("{}:{}", r.kind, r.id),
        }
    }

    /// The owning company's PSA id, where the record has one.
    pub fn company_id(&self) -> Option<&str> {
        match self {
            Record::Company(r) => Some(&r.id),
            Record::Contact(r) => r.company_id.as_deref(),
            Record::Asset(r) => r.company_id.as_deref(),
            Record::Site(r) => r.company_id.as_deref(),
            Record::Agreement(r) => r.company_id.as_deref(),
            Record::Ticket(r) => r.company_id.as_deref(),
            Record::Lookup(_) => None,
        }
    }

    pub fn updated_at(&self) -> Option<&str> {
        match self {
            Record::Company(r) => r.updated_at.as_deref(),
            Record::Contact(r) => r.updated_at.as_deref(),
            Record::Asset(r) => r.updated_at.as_deref(),
            Record::Site(r) => r.updated_at.as_deref(),
            Record::Agreement(r) => r.updated_at.as_deref(),
            Record::Ticket(r) => r.updated_at.as_deref(),
            Record::Lookup(_) => None,
        }
    }

    /// A short display name for messages.
    pub fn display_name(&self) -> &str {
        match self {
            Record::Company(r) => &r.name,
            Record::Contact(r) => &r.name,
            Record::Asset(r) => &r.name,
            Record::Site(r) => &r.name,
            Record::Agreement(r) => &r.name,
            Record::Ticket(r) => &r.subject,
            Record::Lookup(r) => &r.name,
        }
    }
}

/// One page of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<Record>,
    pub next: Option<String>,
    /// Records the whole stream holds, if the connector says (progress only).
    pub total: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub summary: String,
    pub facts: Vec<Field>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedConfig {
    pub config: Vec<(String, String)>,
    pub notices: Vec<String>,
}

/// A connector's own account of a failure (the WIT `connector-error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ConnectorError {
    #[error("the PSA refused the credentials: {detail}")]
    Unauthorized { detail: String },
    #[error("the PSA denied access to {resource}{}: {detail}", permission.as_ref().map(|p| format!(" (grant: {p})")).unwrap_or_default())]
    Forbidden { resource: String, permission: Option<String>, detail: String },
    #[error("not found: {detail}")]
    NotFound { detail: String },
    #[error("the PSA is rate limiting{}", retry_after.map(|s| format!(" (retry after {s} s)")).unwrap_or_default())]
    RateLimited { retry_after: Option<u32> },
    #[error("the PSA could not be reached: {detail}")]
    Unreachable { detail: String },
    #[error("the PSA did not answer in time: {detail}")]
    Timeout { detail: String },
    #[error("invalid configuration: `{field}` {reason}")]
    InvalidConfig { field: String, reason: String },
    #[error("the PSA answered something unexpected: {detail}")]
    BadResponse { detail: String },
    /// `stream` is a kind's name or an extra stream's name.
    #[error("the connector does not offer the {stream} stream")]
    UnsupportedStream { stream: String },
    #[error("{detail}")]
    Other { detail: String },
}

impl ConnectorError {
    /// The operator's next step for this kind of failure.
    pub fn hint(&self) -> String {
        match self {
            ConnectorError::Unauthorized { .. } => {
                "create new credentials in the PSA and store them with `ferry integration set NAME KEY=VALUE`".into()
            }
            ConnectorError::Forbidden { permission: Some(p), .. } => {
                format!("grant the permission `{p}` to the API user in the PSA, then run the sync again")
            }
            ConnectorError::Forbidden { .. } => {
                "grant the API user read access to that data in the PSA, then run the sync again".into()
            }
            ConnectorError::NotFound { .. } => "check the site/subdomain configured for this integration".into(),
            ConnectorError::RateLimited { .. } => {
                "wait a minute and run the sync again; Ferry resumes where it stopped".into()
            }
            ConnectorError::Unreachable { .. } | ConnectorError::Timeout { .. } => {
                "check the site/subdomain and the network, then run `ferry integration test NAME`".into()
            }
            ConnectorError::InvalidConfig { field, .. } => {
                format!("set a valid value with `ferry integration set NAME {field}=VALUE`")
            }
            ConnectorError::BadResponse { .. } | ConnectorError::Other { .. } => {
                "run again with RUST_LOG=debug for details; if it persists, report it to the connector's author".into()
            }
            ConnectorError::UnsupportedStream { .. } => "leave that stream out with --stream".into(),
        }
    }

    /// Failures that stop a whole sync rather than one stream.
    pub fn is_fatal_for_run(&self) -> bool {
        matches!(
            self,
            ConnectorError::Unauthorized { .. }
                | ConnectorError::InvalidConfig { .. }
                | ConnectorError::Unreachable { .. }
        )
    }
}

/// How a run reads its streams; stored on runs, schedules and checkpoints
/// as `full` / `incremental`. Here, below `sync` and `store`, because both
/// speak it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Mode {
    Full,
    Incremental,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}
