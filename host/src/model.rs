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

/// Longest name of an extra stream, in bytes (ASCII).
pub const EXTRA_STREAM_NAME_MAX: usize = 40;

/// Whether `name` is spelled as an extra stream's name must be: lowercase
/// `[a-z][a-z0-9-]*`, at most [`EXTRA_STREAM_NAME_MAX`] characters. (That it
/// is not also a kind's name is checked apart, to say so.)
pub fn extra_stream_name_well_formed(name: &str) -> bool {
    name.len() <= EXTRA_STREAM_NAME_MAX
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// One stream of an integration: one of the seven kinds, or an extra stream
/// a 0.3+ connector declared, by its name. Its spelling is the kind's
/// (`companies`) or `extra:<name>` (`extra:contracts`): stored in the
/// mirror, run, checkpoint and skipped-record rows, printed, and parsed
/// back strictly (see [`StreamId::from_str`](std::str::FromStr)). The
/// prefix keeps an extra stream apart from any kind a later contract adds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    Kind(StreamKind),
    Extra(String),
}

/// The prefix of an extra stream's stored spelling.
const EXTRA_PREFIX: &str = "extra:";

impl StreamId {
    /// The kind, when this is one of the seven.
    pub fn kind(&self) -> Option<StreamKind> {
        match self {
            StreamId::Kind(k) => Some(*k),
            StreamId::Extra(_) => None,
        }
    }

    /// The extra stream's name, when this is one.
    pub fn extra(&self) -> Option<&str> {
        match self {
            StreamId::Kind(_) => None,
            StreamId::Extra(name) => Some(name),
        }
    }

    /// What an operator may type for a stream: a kind's name, an extra
    /// stream's stored spelling, or an extra stream's bare name (names never
    /// equal a kind's, so this is unambiguous).
    pub fn from_operator(text: &str) -> Option<StreamId> {
        let text = text.trim();
        if let Ok(id) = text.parse() {
            return Some(id);
        }
        (extra_stream_name_well_formed(text) && text.parse::<StreamKind>().is_err())
            .then(|| StreamId::Extra(text.to_string()))
    }
}

impl From<StreamKind> for StreamId {
    fn from(kind: StreamKind) -> Self {
        StreamId::Kind(kind)
    }
}

impl PartialEq<StreamKind> for StreamId {
    fn eq(&self, other: &StreamKind) -> bool {
        self.kind() == Some(*other)
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamId::Kind(k) => f.write_str(k.as_str()),
            StreamId::Extra(name) => write!(f, "{EXTRA_PREFIX}{name}"),
        }
    }
}

/// Text that names no stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` names no stream (a kind such as `companies`, or `extra:<name>`)")]
pub struct NotAStream(pub String);

impl std::str::FromStr for StreamId {
    type Err = NotAStream;

    /// Strict: a kind's spelling, or `extra:` and a well-formed name that is
    /// not a kind's.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(name) = s.strip_prefix(EXTRA_PREFIX) {
            if extra_stream_name_well_formed(name) && name.parse::<StreamKind>().is_err() {
                return Ok(StreamId::Extra(name.to_string()));
            }
            return Err(NotAStream(s.to_string()));
        }
        s.parse::<StreamKind>().map(StreamId::Kind).map_err(|_| NotAStream(s.to_string()))
    }
}

impl Serialize for StreamId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
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

/// What `info()` says about a connector. `Default` is the empty
/// placeholder a stored row carries until its info JSON is decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    pub fn extra_stream(&self, name: &str) -> Option<&ExtraStreamInfo> {
        self.extra_streams.iter().find(|s| s.name == name)
    }

    /// Whether the connector offers this stream.
    pub fn offers(&self, stream: &StreamId) -> bool {
        match stream {
            StreamId::Kind(k) => self.stream(*k).is_some(),
            StreamId::Extra(name) => self.extra_stream(name).is_some(),
        }
    }

    /// Whether `read` honours `since` for this stream.
    pub fn incremental(&self, stream: &StreamId) -> bool {
        match stream {
            StreamId::Kind(k) => self.stream(*k).is_some_and(|s| s.incremental),
            StreamId::Extra(name) => self.extra_stream(name).is_some_and(|s| s.incremental),
        }
    }

    /// Every stream offered, in the order a sync reads them: the kinds in
    /// dependency order, then the extra streams in the order declared.
    pub fn all_streams(&self) -> Vec<StreamId> {
        StreamKind::ALL
            .into_iter()
            .filter(|k| self.stream(*k).is_some())
            .map(StreamId::Kind)
            .chain(self.extra_streams.iter().map(|s| StreamId::Extra(s.name.clone())))
            .collect()
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
    /// A record of an extra stream (which one is the stream's business:
    /// the mirror row and the run say).
    Item(Item),
}

impl Record {
    /// The kind whose records these are; `None` for an extra stream's item.
    pub fn kind(&self) -> Option<StreamKind> {
        Some(match self {
            Record::Company(_) => StreamKind::Companies,
            Record::Contact(_) => StreamKind::Contacts,
            Record::Asset(_) => StreamKind::Assets,
            Record::Site(_) => StreamKind::Sites,
            Record::Agreement(_) => StreamKind::Agreements,
            Record::Ticket(_) => StreamKind::Tickets,
            Record::Lookup(_) => StreamKind::Lookups,
            Record::Item(_) => return None,
        })
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
            Record::Item(r) => r.id.clone(),
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
            Record::Item(r) => r.company_id.as_deref(),
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
            Record::Item(r) => r.updated_at.as_deref(),
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
            Record::Item(r) => &r.name,
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
    #[error("{}", timeout_words(detail))]
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

/// "The PSA did not answer in time", with the connector's detail unless it
/// only says the same (the SDK's words for a timed-out request).
fn timeout_words(detail: &str) -> String {
    const SAID: &str = "the PSA did not answer in time";
    let rest = detail.trim().strip_prefix(SAID).unwrap_or(detail.trim()).trim_start_matches([':', ' ', '.']);
    if rest.is_empty() { SAID.to_string() } else { format!("{SAID}: {rest}") }
}

/// A wait in words as an operator plans it: `297` → "about 5 minutes".
pub fn wait_words(secs: u32) -> String {
    let plural = |n: u32, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    match secs {
        0..=59 => plural(secs.max(1), "second"),
        60..=3569 => format!("about {}", plural((secs + 30) / 60, "minute")),
        _ => format!("about {}", plural((secs + 1800) / 3600, "hour")),
    }
}

impl ConnectorError {
    /// The operator's next step for this kind of failure, for an
    /// integration not named here (the commands say `NAME`).
    pub fn hint(&self) -> String {
        self.hint_for("NAME")
    }

    /// The operator's next step for this kind of failure of `integration`
    /// (a valid integration name: letters, digits, `-`, `_`, `.`, so it
    /// goes into a command as it is).
    pub fn hint_for(&self, integration: &str) -> String {
        match self {
            ConnectorError::Unauthorized { .. } => {
                format!(
                    "create new credentials in the PSA and store them with `ferry integration set {integration} --secret KEY=VALUE`"
                )
            }
            ConnectorError::Forbidden { permission: Some(p), .. } => {
                format!("grant the permission `{p}` to the API user in the PSA, then run the sync again")
            }
            ConnectorError::Forbidden { .. } => {
                "grant the API user read access to that data in the PSA, then run the sync again".into()
            }
            ConnectorError::NotFound { .. } => "check the site/subdomain configured for this integration".into(),
            ConnectorError::RateLimited { retry_after: Some(secs) } => format!(
                "the PSA asked to wait {}: run the sync again after that; Ferry resumes where it stopped",
                wait_words(*secs)
            ),
            ConnectorError::RateLimited { retry_after: None } => {
                "wait a minute and run the sync again; Ferry resumes where it stopped".into()
            }
            ConnectorError::Unreachable { .. } | ConnectorError::Timeout { .. } => {
                format!("check the site/subdomain and the network, then run `ferry integration test {integration}`")
            }
            ConnectorError::InvalidConfig { field, .. } => {
                format!("set a valid value with `ferry integration set {integration} {field}=VALUE`")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_spell_and_parse_alike() {
        let contracts = StreamId::Extra("contracts".into());
        assert_eq!(contracts.to_string(), "extra:contracts");
        assert_eq!("extra:contracts".parse::<StreamId>(), Ok(contracts.clone()));
        assert_eq!("companies".parse::<StreamId>(), Ok(StreamId::Kind(StreamKind::Companies)));
        // Stored spellings are strict; an operator may give the bare name.
        assert!("contracts".parse::<StreamId>().is_err());
        assert!("extra:companies".parse::<StreamId>().is_err());
        assert_eq!(StreamId::from_operator("contracts"), Some(contracts.clone()));
        assert_eq!(StreamId::from_operator("extra:contracts"), Some(contracts.clone()));
        assert_eq!(StreamId::from_operator("assets"), Some(StreamId::Kind(StreamKind::Assets)));
        assert_eq!(StreamId::from_operator("Not a stream"), None);
        // JSON (run rows, reports) uses the same spelling.
        assert_eq!(serde_json::to_string(&vec![contracts.clone()]).ok().as_deref(), Some(r#"["extra:contracts"]"#));
        assert_eq!(serde_json::from_str::<StreamId>(r#""extra:contracts""#).ok(), Some(contracts.clone()));
        // Kinds sort before extra streams, in their reading order.
        assert!(StreamId::Kind(StreamKind::Tickets) < contracts);
    }
}

#[cfg(test)]
mod wait_tests {
    use super::*;

    #[test]
    fn rate_limit_hints_state_the_actual_wait() {
        assert_eq!(wait_words(1), "1 second");
        assert_eq!(wait_words(45), "45 seconds");
        assert_eq!(wait_words(297), "about 5 minutes");
        assert_eq!(wait_words(60), "about 1 minute");
        assert_eq!(wait_words(7200), "about 2 hours");
        let hint = ConnectorError::RateLimited { retry_after: Some(297) }.hint();
        assert!(hint.contains("about 5 minutes") && !hint.contains("a minute"), "{hint}");
    }
}
