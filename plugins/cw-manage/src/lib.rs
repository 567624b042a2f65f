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
#[cfg(test)]
mod golden;
mod map;
#[cfg(test)]
mod test_config;

use ferry_sdk::prelude::*;

/// CW publishes no fixed quota; it warns that integrations above ~1,000
/// requests a minute will be throttled (docs/psa-apis.md §2.4). Ferry stays well
/// below that and honours 429 Retry-After when CW throttles earlier.
const RATE_LIMIT: RateLimit = RateLimit { requests: 600, per_seconds: 60 };

struct CwManage;

impl Connector for CwManage {
    type Settings = config::Settings;

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

    fn settings(config: &Config) -> Result<config::Settings, ConnectorError> {
        config::Settings::from_config(config)
    }

    fn validate_config(config: Config) -> Result<ValidatedConfig, ConnectorError> {
        config::validate(config)
    }

    fn check(settings: &config::Settings) -> Result<CheckReport, ConnectorError> {
        api::Api::new(settings).check()
    }

    fn read(settings: &config::Settings, read: Read) -> Result<Page, ConnectorError> {
        let api = api::Api::new(settings);
        let since = read.since.as_deref().map(api::since_condition).transpose()?;
        let (cursor, since) = (read.cursor.as_deref(), since.as_deref());
        // Extra streams (contract 0.3): this connector declares none.
        let Some(stream) = read.kind() else { return Err(read.unsupported()) };
        match stream {
            StreamKind::Companies => api.companies(cursor, since),
            StreamKind::Contacts => api.contacts(cursor, since),
            StreamKind::Assets => api.configurations(cursor, since),
            StreamKind::Agreements => api.agreements(cursor, since),
            StreamKind::Tickets => api.tickets(cursor, since),
            StreamKind::Sites => api.sites(cursor, since),
            StreamKind::Lookups => api.lookups(cursor),
        }
    }
}

ferry_sdk::export_connector!(CwManage);

/// Native tests of the whole connector through the SDK's adapter, with
/// `FakeHttp` in place of the host: `cargo test -p ferry-cw-manage`.
#[cfg(test)]
mod tests {
    use ferry_sdk::connector;
    use ferry_sdk::testing::{FakeHttp, Reply};

    use super::*;
    use crate::test_config::{API, config};

    #[test]
    fn companies_are_read_ahead_once_their_count_is_known_with_conditions_and_keys() {
        let since = "conditions=lastUpdated+%3E+%5B2025-10-02T03%3A14%3A40Z%5D";
        let company = |id: u64| json!({"id": id, "name": format!("Company {id}"), "status": {"id": 1}});
        let full: Vec<serde_json::Value> = (1..=1000).map(company).collect();
        let http = FakeHttp::new()
            .on(Method::Get, &format!("{API}/company/companies?page=1&{since}"), Reply::value(200, &json!(full)))
            .on(
                Method::Get,
                &format!("{API}/company/companies/count?{since}"),
                Reply::value(200, &json!({"count": 2500})),
            )
            .on(Method::Get, &format!("{API}/company/companies?page=2&{since}"), Reply::value(200, &json!(full)))
            .on(
                Method::Get,
                &format!("{API}/company/companies?page=3&{since}"),
                Reply::value(200, &json!([company(2001)])),
            )
            .on(
                Method::Get,
                &format!("{API}/company/companies/statuses"),
                Reply::value(200, &json!([{"id": 1, "name": "Active", "inactiveFlag": false}])),
            );
        let _installed = http.install();
        let since_at = || Some("2025-10-02T03:14:40.500Z".to_string());
        // The first read: page 1 and the count in one batch.
        let page = connector::read::<CwManage>(config(), StreamKind::Companies, None, since_at()).unwrap();
        assert_eq!(page.next.as_deref(), Some("page:2/3"));
        assert!(matches!(&page.records, Records::Companies(c) if c.len() == 1000 && c[0].active));
        let sent = &http.requests()[0];
        assert_eq!(sent.header("authorization"), Some(ferry_sdk::http::basic_auth("acme+pub", "priv").as_str()));
        assert_eq!(sent.header("clientid"), Some("guid"));
        // The rest at once, and the listing ends at the count.
        let rest = connector::read::<CwManage>(config(), StreamKind::Companies, page.next, since_at()).unwrap();
        assert!(matches!(&rest.records, Records::Companies(c) if c.len() == 1001));
        assert_eq!(rest.next, None);
        // The count again with the last pages: Ferry compares the two.
        assert_eq!(http.batches(), [2, 3], "page 1 and the count, then pages 2 and 3 and the count");
        assert_eq!((page.total, rest.total), (Some(2500), Some(2500)));
    }

    #[test]
    fn without_a_count_a_short_page_ends_the_listing() {
        let http = FakeHttp::new()
            .on(Method::Get, &format!("{API}/company/contacts?page=1"), Reply::value(200, &json!([{"id": 7}])))
            .on(Method::Get, &format!("{API}/company/contacts/count"), Reply::json(500, r#"{"message":"busy"}"#));
        let _installed = http.install();
        let page = connector::read::<CwManage>(config(), StreamKind::Contacts, None, None).unwrap();
        assert_eq!(page.next, None);
        assert!(matches!(&page.records, Records::Contacts(c) if c.len() == 1));
        // A refused count is a refusal, whatever page 1 said.
        let http = FakeHttp::new()
            .on(Method::Get, &format!("{API}/company/contacts?page=1"), Reply::value(200, &json!([{"id": 7}])))
            .on(
                Method::Get,
                &format!("{API}/company/contacts/count"),
                Reply::json(401, r#"{"message":"Authentication failed."}"#),
            );
        let _installed = http.install();
        let read = connector::read::<CwManage>(config(), StreamKind::Contacts, None, None);
        assert!(matches!(read, Err(ConnectorError::Unauthorized(_))), "{read:?}");
    }

    #[test]
    fn check_counts_and_wrong_keys_are_unauthorized() {
        let http = FakeHttp::new()
            .on(Method::Get, "/v4_6_release/apis/3.0/system/info", Reply::value(200, &json!({"version": "v2025.1"})))
            .on(Method::Get, "/v4_6_release/apis/3.0/company/companies/count", Reply::value(200, &json!({"count": 0})))
            .on(
                Method::Get,
                "/v4_6_release/apis/3.0/system/info",
                Reply::json(401, r#"{"message":"Authentication failed."}"#),
            );
        let _installed = http.install();
        let report = connector::check::<CwManage>(config()).unwrap();
        assert_eq!(report.summary, "0 companies found");
        assert!(!report.warnings.is_empty());
        assert!(
            matches!(connector::check::<CwManage>(config()), Err(ConnectorError::Unauthorized(m)) if m.contains("API Members"))
        );
    }

    #[test]
    fn a_lookup_list_that_fails_does_not_stop_the_others() {
        let http =
            FakeHttp::new().on(Method::Get, "/v4_6_release/apis/3.0/company/companies/types", Reply::status(404, ""));
        let _installed = http.install();
        let page = connector::read::<CwManage>(config(), StreamKind::Lookups, None, None).unwrap();
        assert_eq!(page.next.as_deref(), Some("lookup:1:failed=0"));
        assert!(ferry_sdk::testing::logs().iter().any(|(_, m)| m.contains("company types")));
    }
}
