//! Syncro (SyncroMSP) connector for Ferry.
//!
//! Speaks Syncro's REST API v1 (`https://{subdomain}.syncromsp.com/api/v1`):
//! bearer-token auth, numbered pages with `meta.total_pages`, list envelopes
//! keyed per endpoint (`customers`, `contacts`, `assets`, `tickets`).
//! Only tickets can be filtered by update time (`since_updated_at`);
//! customers are read newest first (`sort=updated_at DESC`) down to the
//! watermark where the tenant honours that sort (checked page by page,
//! falling back to a whole read); contacts and assets are read whole and
//! Ferry detects changes by content hash.
//! Facts and sources: `docs/psa-apis.md` §1.

mod api;
mod config;
mod map;
mod newest;

use ferry_sdk::prelude::*;

/// Syncro's published limit: 180 requests per minute per IP address.
const RATE_LIMIT: RateLimit = RateLimit { requests: 180, per_seconds: 60 };

struct Syncro;

impl Source for Syncro {
    fn info() -> ConnectorInfo {
        ConnectorInfo {
            id: "syncro".into(),
            name: "Syncro".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Syncro (SyncroMSP) PSA: customers, contacts, assets and tickets over the \
                          REST API v1 with an API token."
                .into(),
            config: config::fields(),
            streams: vec![
                stream(StreamKind::Lookups, false, "Syncro ticket statuses and asset types"),
                stream(
                    StreamKind::Companies,
                    true,
                    "Syncro customers (including disabled ones); incremental newest first by sort=updated_at DESC",
                ),
                stream(StreamKind::Contacts, false, "Syncro customer contacts"),
                stream(StreamKind::Assets, false, "Syncro customer assets"),
                stream(StreamKind::Tickets, true, "Syncro tickets (incremental by since_updated_at)"),
            ],
            allowed_hosts: vec!["https://{subdomain}.syncromsp.com".into(), "{base_url}".into()],
            rate_limit: Some(RATE_LIMIT),
            extra_streams: vec![],
        }
    }

    fn validate_config(raw: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
        config::validate(raw)
    }

    fn check(raw: RawConfig) -> Result<CheckReport, ConnectorError> {
        let settings = config::Settings::from_raw(raw)?;
        api::Api::new(&settings).check()
    }

    fn read(
        raw: RawConfig,
        stream: StreamRef,
        cursor: Option<String>,
        since: Option<String>,
    ) -> Result<Page, ConnectorError> {
        // Extra streams (contract 0.3): this connector declares none.
        let StreamRef::Kind(stream) = stream else { return Err(ConnectorError::UnsupportedStream(stream)) };
        let settings = config::Settings::from_raw(raw)?;
        let api = api::Api::new(&settings);
        let page = || PageNumber::from_cursor(cursor.as_deref());
        match stream {
            StreamKind::Companies => api.companies(cursor.as_deref(), since.as_deref()),
            StreamKind::Contacts => api.contacts(page()?),
            StreamKind::Assets => api.assets(page()?),
            StreamKind::Tickets => api.tickets(page()?, since.as_deref()),
            StreamKind::Lookups => api.lookups(cursor.as_deref()),
            other => Err(ConnectorError::UnsupportedStream(StreamRef::Kind(other))),
        }
    }
}

fn stream(kind: StreamKind, incremental: bool, description: &str) -> StreamInfo {
    StreamInfo { kind, incremental, description: description.into() }
}

ferry_sdk::export_connector!(Syncro);
