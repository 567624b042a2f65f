//! Syncro (SyncroMSP) connector for Ferry.
//!
//! Speaks Syncro's REST API v1 (`https://{subdomain}.syncromsp.com/api/v1`):
//! bearer-token auth, numbered pages with `meta.total_pages`, list envelopes
//! keyed per endpoint (`customers`, `contacts`, `assets`, `tickets`).
//! Once a listing's page count is known, each read fetches the next
//! several pages in one batch (contract 0.4's `send-batch`, see
//! [`ferry_sdk::paging::ReadAhead`]), the cursor still naming the first page
//! not returned.
//! Only tickets can be filtered by update time (`since_updated_at`);
//! customers are read newest first (`sort=updated_at DESC`) down to the
//! watermark where the tenant honours that sort (checked page by page,
//! falling back to a whole read); contacts and assets are read whole and
//! Ferry detects changes by content hash.
//! Facts and sources: `docs/psa-apis.md` §1.

mod api;
mod config;
#[cfg(test)]
mod golden;
mod map;
mod newest;

use ferry_sdk::prelude::*;

/// Syncro's published limit: 180 requests per minute per IP address.
const RATE_LIMIT: RateLimit = RateLimit { requests: 180, per_seconds: 60 };

struct Syncro;

impl Connector for Syncro {
    type Settings = config::Settings;

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
        // Extra streams (contract 0.3): this connector declares none.
        let Some(stream) = read.kind() else { return Err(read.unsupported()) };
        match stream {
            StreamKind::Companies => api.companies(read.cursor.as_deref(), read.since.as_deref()),
            StreamKind::Contacts => api.contacts(read.cursor.as_deref()),
            StreamKind::Assets => api.assets(read.cursor.as_deref()),
            StreamKind::Tickets => api.tickets(read.cursor.as_deref(), read.since.as_deref()),
            StreamKind::Lookups => api.lookups(read.cursor.as_deref()),
            _ => Err(read.unsupported()),
        }
    }
}

fn stream(kind: StreamKind, incremental: bool, description: &str) -> StreamInfo {
    StreamInfo { kind, incremental, description: description.into() }
}

ferry_sdk::export_connector!(Syncro);

/// Native tests of the whole connector through the SDK's adapter, with
/// `FakeHttp` in place of the host: `cargo test -p ferry-syncro`.
#[cfg(test)]
mod tests {
    use ferry_sdk::connector;
    use ferry_sdk::testing::{FakeHttp, Reply};

    use super::*;

    const API: &str = "https://acme.syncromsp.com/api/v1";

    fn config() -> RawConfig {
        vec![("subdomain".into(), "https://Acme.syncromsp.com/".into()), ("api_key".into(), "tok".into())]
    }

    #[test]
    fn companies_page_asks_for_disabled_ones_and_pages_by_total_pages() {
        let body = json!({"customers": [{"id": 7, "business_name": "Ortiz Dental"}],
            "meta": {"total_pages": 3, "total_entries": 61}});
        let http = FakeHttp::new().on(
            Method::Get,
            &format!("{API}/customers?include_disabled=true&page=2"),
            Reply::value(200, &body),
        );
        let _installed = http.install();
        let page = connector::read::<Syncro>(config(), StreamKind::Companies, Some("page:2".into()), None).unwrap();
        assert_eq!(page.next.as_deref(), Some("page:3/3"), "the page count is known from here on");
        assert_eq!(page.total, Some(61));
        assert!(matches!(&page.records, Records::Companies(c) if c[0].name == "Ortiz Dental"));
        assert_eq!(http.requests()[0].header("authorization"), Some("Bearer tok"));
    }

    /// Assets of `pages` numbered pages, one asset each.
    fn asset_pages(pages: u32) -> FakeHttp {
        let mut http = FakeHttp::new();
        for p in 1..=pages {
            let body = json!({"assets": [{"id": p, "name": format!("pc-{p}"), "customer_id": 1}],
                "meta": {"total_pages": pages, "total_entries": pages}});
            http = http.on(Method::Get, &format!("{API}/customer_assets?page={p}"), Reply::value(200, &body));
        }
        http
    }

    fn asset_ids(page: &Page) -> Vec<String> {
        let Records::Assets(assets) = &page.records else { panic!("assets expected") };
        assets.iter().map(|a| a.id.clone()).collect()
    }

    /// The first read asks for pages 1 and 2; once the page count is known,
    /// one read asks for the next 32 pages at once (the last few with them
    /// rather than alone), and its cursor names the first page it did not
    /// return.
    #[test]
    fn assets_read_ahead_once_the_page_count_is_known() {
        let http = asset_pages(60);
        let _installed = http.install();
        let first = connector::read::<Syncro>(config(), StreamKind::Assets, None, None).unwrap();
        assert_eq!(asset_ids(&first), ["1", "2"]);
        assert_eq!(first.next.as_deref(), Some("page:3/60"));
        let second = connector::read::<Syncro>(config(), StreamKind::Assets, first.next, None).unwrap();
        assert_eq!(asset_ids(&second), (3..=34).map(|p| p.to_string()).collect::<Vec<_>>());
        assert_eq!(second.next.as_deref(), Some("page:35/60"));
        let last = connector::read::<Syncro>(config(), StreamKind::Assets, second.next, None).unwrap();
        assert_eq!(asset_ids(&last), (35..=60).map(|p| p.to_string()).collect::<Vec<_>>(), "26 left: one read");
        assert_eq!(last.next, None);
        assert_eq!(http.batches(), vec![2, 32, 26]);
    }

    /// A listing of one page: the guessed page 2 is asked for with page 1
    /// and its answer dropped.
    #[test]
    fn a_listing_of_one_page_drops_the_guessed_second() {
        let http = asset_pages(1).on(
            Method::Get,
            &format!("{API}/customer_assets?page=2"),
            Reply::value(200, &json!({"assets": [], "meta": {"total_pages": 1, "total_entries": 1}})),
        );
        let _installed = http.install();
        let page = connector::read::<Syncro>(config(), StreamKind::Assets, None, None).unwrap();
        assert_eq!(asset_ids(&page), ["1"]);
        assert_eq!(page.next, None);
        assert_eq!(http.batches(), vec![2]);
    }

    #[test]
    fn tickets_pass_since_and_a_missing_permission_is_forbidden() {
        let http = FakeHttp::new()
            .on(
                Method::Get,
                "/api/v1/tickets?since_updated_at=2025-10-02T03:14:40Z",
                Reply::value(200, &json!({"tickets": [], "meta": {"total_pages": 1}})),
            )
            .on(
                Method::Get,
                "/api/v1/contacts",
                Reply::json(401, r#"{"error":"Please ask account admin to update your group permissions."}"#),
            );
        let _installed = http.install();
        let page = connector::read::<Syncro>(config(), StreamKind::Tickets, None, Some("2025-10-02T03:14:40Z".into()))
            .unwrap();
        assert_eq!(page.next, None);
        match connector::read::<Syncro>(config(), StreamKind::Contacts, None, None) {
            Err(ConnectorError::Forbidden(p)) => assert_eq!(p.permission.as_deref(), Some("Customers - View Detail")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            connector::read::<Syncro>(config(), StreamKind::Sites, None, None),
            Err(ConnectorError::UnsupportedStream(StreamRef::Kind(StreamKind::Sites)))
        ));
    }

    #[test]
    fn check_warns_when_the_token_cannot_read_assets() {
        let http = FakeHttp::new()
            .on(
                Method::Get,
                "/api/v1/me",
                Reply::value(
                    200,
                    &json!({"user_email": "joe@acme.example", "permissions": {"asset": {"read": false}}}),
                ),
            )
            .on(
                Method::Get,
                "/api/v1/customers?page=1",
                Reply::value(200, &json!({"customers": [], "meta": {"total_pages": 1, "total_entries": 12}})),
            );
        let _installed = http.install();
        let report = connector::check::<Syncro>(config()).unwrap();
        assert_eq!(report.summary, "12 customers found");
        assert!(report.warnings.iter().any(|w| w.contains("Assets - List/Search")), "{:?}", report.warnings);
        assert!(report.facts.iter().any(|f| f.value == "joe@acme.example"));
    }
}
