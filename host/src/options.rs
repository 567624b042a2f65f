//! Per-integration options: how new PSA companies are handled, sort rules,
//! skip options and the additional options operators know from
//! documentation platforms. Stored as JSON on the integration; every field
//! has a default, so an older or partial document always loads.

use serde::{Deserialize, Serialize};

/// What apply does with a PSA company nobody has decided on yet.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum NewCompanies {
    /// Match confident suggestions, create companies that have no plausible
    /// match, hold the uncertain ones as suggestions for the operator.
    #[default]
    Auto,
    /// Create a documentation company for every new PSA company.
    Create,
    /// Only suggest; nothing comes in until the operator decides.
    Review,
}

/// "When the PSA type is T, the asset goes to layout L." Checked before the
/// primary sync location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRule {
    pub when_type: String,
    pub layout: String,
}

/// Skip options: what never reaches the documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Skip {
    /// Inactive companies are skipped (otherwise they arrive archived).
    pub inactive_companies: bool,
    pub contacts: bool,
    pub agreements: bool,
    /// Assets / configurations.
    pub assets: bool,
    /// Inactive assets / configurations (otherwise they arrive archived).
    pub inactive_assets: bool,
    pub sites: bool,
    /// Companies of these PSA types are skipped with all their data.
    pub company_types: Vec<String>,
    /// Assets of these PSA types are skipped.
    pub asset_types: Vec<String>,
    /// Extra streams (contract 0.3) skipped, by name: not read by a sync,
    /// and their records kept out of the documentation.
    pub streams: Vec<String>,
}

/// Where a ticket stands, whatever the PSA calls its statuses. Stored and
/// printed as spelled here (`Working`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
pub enum Stage {
    New,
    Triaged,
    Working,
    Waiting,
    Resolved,
}

impl Stage {
    /// The stored and printed spelling (strum's).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Ticket options of an integration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketOptions {
    /// Tickets in these PSA statuses are not synced into Ferry.
    pub exclude_statuses: Vec<String>,
    /// These statuses count as closed (besides what the PSA says).
    pub closed_statuses: Vec<String>,
    /// The status a ticket takes when the client comments (Syncro
    /// "Customer Reply", CW "Customer Updated"): such tickets go to Triaged
    /// unless the stage map says otherwise.
    pub client_comment_status: Option<String>,
    /// Stage → PSA statuses; statuses not listed get a stage guessed from
    /// their name.
    pub stages: std::collections::BTreeMap<Stage, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationOptions {
    pub new_companies: NewCompanies,
    /// Score at or above which `auto` matches without asking.
    pub match_threshold: f64,
    /// Primary sync location for assets; unset: a layout per PSA type.
    pub primary_layout: Option<String>,
    /// Layout for contacts.
    pub contacts_layout: Option<String>,
    pub sites_layout: Option<String>,
    pub agreements_layout: Option<String>,
    /// Other sync locations, by PSA type; they take precedence.
    pub rules: Vec<TypeRule>,
    pub skip: Skip,
    /// A renamed PSA asset renames the documentation asset.
    pub auto_update_names: bool,
    /// A device deleted in the PSA is archived (never deleted) here.
    pub auto_archive: bool,
    /// Never change a matched company's name, domain or phone.
    pub keep_company_details: bool,
    /// Requests per minute Ferry allows itself against this PSA; unset:
    /// the connector's published limit. Lower it when other tools share the
    /// PSA's budget (Syncro counts per IP address).
    pub requests_per_minute: Option<u32>,
    /// Streams a sync reads at once (after `lookups`, which goes first
    /// alone), and requests of the integration in flight at once (a
    /// connector's `send-batch` included, contract 0.4); unset:
    /// [`DEFAULT_CONCURRENCY`]. 1 reads them one after another. Requests
    /// stay within the rate limit whatever this is: the streams share it.
    /// Left out of the stored JSON while unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    pub tickets: TicketOptions,
}

pub const DEFAULT_MATCH_THRESHOLD: f64 = 0.9;
pub const DEFAULT_CONTACTS_LAYOUT: &str = "People";
pub const DEFAULT_SITES_LAYOUT: &str = "Locations";
pub const DEFAULT_AGREEMENTS_LAYOUT: &str = "Agreements";
/// Streams read at once when the operator has not said.
pub const DEFAULT_CONCURRENCY: u32 = 4;
/// The most streams an operator may ask to read at once (a connector
/// offers seven at most, so more would change nothing).
pub const MAX_CONCURRENCY: u32 = 16;

impl Default for IntegrationOptions {
    fn default() -> Self {
        IntegrationOptions {
            new_companies: NewCompanies::default(),
            match_threshold: DEFAULT_MATCH_THRESHOLD,
            primary_layout: None,
            contacts_layout: None,
            sites_layout: None,
            agreements_layout: None,
            rules: Vec::new(),
            skip: Skip::default(),
            auto_update_names: false,
            auto_archive: false,
            keep_company_details: false,
            requests_per_minute: None,
            concurrency: None,
            tickets: TicketOptions::default(),
        }
    }
}

impl IntegrationOptions {
    /// Every layout these options name: by-type rules first, then the
    /// primary, contacts, sites and agreements locations.
    pub fn layouts_named(&self) -> impl Iterator<Item = &String> {
        self.rules.iter().map(|r| &r.layout).chain(
            [&self.primary_layout, &self.contacts_layout, &self.sites_layout, &self.agreements_layout]
                .into_iter()
                .flatten(),
        )
    }

    /// Options from the stored JSON; unknown or malformed parts fall back to
    /// defaults rather than breaking a sync.
    pub fn from_json(value: &serde_json::Value) -> Self {
        if value.is_null() {
            return Self::default();
        }
        serde_json::from_value(value.clone()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "integration options unreadable; using defaults");
            Self::default()
        })
    }

    /// The rate limit to enforce: the operator's, else the connector's.
    pub fn rate_limit(&self, declared: Option<crate::model::RateLimit>) -> Option<crate::model::RateLimit> {
        match self.requests_per_minute {
            Some(n) if n > 0 => Some(crate::model::RateLimit { requests: n, per_seconds: 60 }),
            _ => declared,
        }
    }

    /// Streams to read at once: the operator's setting within
    /// 1..=[`MAX_CONCURRENCY`], else [`DEFAULT_CONCURRENCY`].
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY).clamp(1, MAX_CONCURRENCY) as usize
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_json_fills_defaults() {
        let o = IntegrationOptions::from_json(&serde_json::json!({"auto_archive": true, "skip": {"contacts": true}}));
        assert!(o.auto_archive);
        assert!(o.skip.contacts);
        assert!(!o.skip.sites);
        assert_eq!(o.new_companies, NewCompanies::Auto);
        assert_eq!(o.match_threshold, DEFAULT_MATCH_THRESHOLD);
    }

    #[test]
    fn round_trip() {
        let mut o = IntegrationOptions::default();
        o.rules.push(TypeRule { when_type: "Firewall".into(), layout: "Network".into() });
        assert_eq!(IntegrationOptions::from_json(&o.to_json()), o);
    }

    #[test]
    fn concurrency_defaults_to_four_and_stays_in_bounds() {
        let mut o = IntegrationOptions::default();
        assert_eq!(o.concurrency(), DEFAULT_CONCURRENCY as usize);
        assert!(o.to_json().get("concurrency").is_none(), "unset stays out of the stored JSON");
        o.concurrency = Some(0);
        assert_eq!(o.concurrency(), 1);
        o.concurrency = Some(1000);
        assert_eq!(o.concurrency(), MAX_CONCURRENCY as usize);
        o.concurrency = Some(2);
        assert_eq!(IntegrationOptions::from_json(&o.to_json()).concurrency(), 2);
    }

    #[test]
    fn garbage_falls_back() {
        let o = IntegrationOptions::from_json(&serde_json::json!({"skip": 3}));
        assert_eq!(o, IntegrationOptions::default());
    }
}
