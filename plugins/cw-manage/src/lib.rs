//! ConnectWise Manage (CW PSA) connector for Ferry.
//!
//! Speaks the Manage REST API 3.0 (`https://{site}/{codebase}/apis/3.0`):
//! Basic auth over `companyId+publicKey:privateKey` plus the `clientId`
//! header, bare JSON arrays paged with `page`/`pageSize` (1,000, the
//! maximum) and `Link` headers, `conditions` for incremental reads
//! (`lastUpdated > [since]`). Facts and sources: `docs/psa-apis.md` §2.
//! Paging, JSON and error mapping come from `ferry-sdk`; this crate holds
//! only what is CW's own.

mod api;
mod config;
mod map;

use ferry_sdk::prelude::*;

/// CW publishes no fixed quota; it warns that integrations above ~1,000
/// requests a minute will be throttled (docs/psa-apis.md §2.4). Ferry stays well
/// below that and honours 429 Retry-After when CW throttles earlier.
const RATE_LIMIT: RateLimit = RateLimit { requests: 600, per_seconds: 60 };

struct CwManage;

impl Source for CwManage {
    fn info() -> ConnectorInfo {
        let s =
            |kind, incremental, description: &str| StreamInfo { kind, incremental, description: description.into() };
        ConnectorInfo {
            id: "cw-manage".into(),
            name: "ConnectWise Manage".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "ConnectWise Manage (CW PSA): companies, contacts, configurations, agreements, sites and \
                          service tickets over the REST API 3.0 with API member keys and a client id."
                .into(),
            config: config::fields(),
            streams: vec![
                s(
                    StreamKind::Lookups,
                    false,
                    "company types and statuses, configuration types and statuses, agreement types, ticket statuses",
                ),
                s(StreamKind::Companies, true, "companies, deleted ones included (marked deleted)"),
                s(
                    StreamKind::Sites,
                    true,
                    "sites of every company (one request per company; incremental: of companies changed since)",
                ),
                s(StreamKind::Contacts, true, "contacts, email and phones from communication items"),
                s(StreamKind::Assets, true, "configurations, with their questions and answers"),
                s(StreamKind::Agreements, true, "active agreements"),
                s(StreamKind::Tickets, true, "service tickets"),
            ],
            allowed_hosts: vec!["https://{site}".into(), "{base_url}".into()],
            rate_limit: Some(RATE_LIMIT),
            extra_streams: vec![],
        }
    }

    fn validate_config(raw: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
        config::validate(raw)
    }

    fn check(raw: RawConfig) -> Result<CheckReport, ConnectorError> {
        api::Api::new(&config::Settings::from_raw(raw)?).check()
    }

    fn read(
        raw: RawConfig,
        stream: StreamRef,
        cursor: Option<String>,
        since: Option<String>,
    ) -> Result<Page, ConnectorError> {
        // Extra streams (contract 0.3): this connector declares none.
        let StreamRef::Kind(stream) = stream else { return Err(ConnectorError::UnsupportedStream(stream)) };
        let api = api::Api::new(&config::Settings::from_raw(raw)?);
        let since = since.as_deref().map(api::since_condition).transpose()?;
        match stream {
            StreamKind::Companies => api.companies(cursor.as_deref(), since.as_deref()),
            StreamKind::Contacts => api.contacts(cursor.as_deref(), since.as_deref()),
            StreamKind::Assets => api.configurations(cursor.as_deref(), since.as_deref()),
            StreamKind::Agreements => api.agreements(cursor.as_deref(), since.as_deref()),
            StreamKind::Tickets => api.tickets(cursor.as_deref(), since.as_deref()),
            StreamKind::Sites => api.sites(cursor.as_deref(), since.as_deref()),
            StreamKind::Lookups => api.lookups(cursor.as_deref()),
        }
    }
}

ferry_sdk::export_connector!(CwManage);
