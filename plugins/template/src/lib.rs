//! A minimal Ferry connector: copy this directory to start a new one.
//!
//! It reads companies and devices from "Example PSA", a tiny API in
//! `fake-api/fake_api.py`:
//!
//! - `GET /api/companies?page=N` and `GET /api/devices?page=N`
//! - auth: header `X-Api-Key: <key>`
//! - answer: `{"data": [...], "next_page": N | null, "total_pages": N}`
//!
//! Devices show reading ahead (contract 0.4's `http.send-batch`, through
//! the SDK's `ReadAhead`): once the API has said how many pages there are,
//! one `read` asks for the next few at once, which saves a round trip per
//! page against a PSA far away.
//!
//! Everything generic — bindings, HTTP through the host, JSON, paging
//! cursors, status → error mapping, cards — comes from `ferry-sdk`; this
//! file holds only what is specific to the PSA. See
//! docs/writing-a-connector.md for the walk-through.

use ferry_sdk::de::{self, Scalar};
use ferry_sdk::prelude::*;

struct ExamplePsa;

/// The operator's configuration, typed: field names are the config keys.
/// A missing or malformed value is an `invalid-config` naming the key
/// before any of the code below runs.
#[derive(Deserialize)]
struct Settings {
    base_url: BaseUrl,
    api_key: String,
}

/// One page of any list endpoint of the example API. The page itself is
/// read strictly (a page that is not this shape is a `bad-response`), each
/// record in it leniently ([`de::or_default`]: an entry that is no object
/// reads as a record without fields).
#[derive(Deserialize)]
struct ListPage {
    data: Vec<Value>,
    next_page: Option<u32>,
    /// How many pages the listing has; APIs that say so can be read ahead.
    #[serde(default)]
    total_pages: Option<u64>,
}

/// A company as the API sends it. Every field is read leniently
/// (`ferry_sdk::de`): a value of the wrong JSON type is absent, so one odd
/// record never fails its page. A record without a usable id or name maps
/// with it empty, and Ferry skips that one record as invalid (keeping it
/// aside with the reason) while the rest of the page syncs.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ApiCompany {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    name: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    active: Option<bool>,
    #[serde(deserialize_with = "de::lenient")]
    website: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    phone: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    updated_at: Option<String>,
}

/// A device, read as leniently as [`ApiCompany`].
#[derive(Default, Deserialize)]
#[serde(default)]
struct ApiDevice {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    company_id: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    hostname: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    kind: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    serial: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    os: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    updated_at: Option<String>,
}

fn client(settings: &Settings) -> Client {
    Client::new(settings.base_url.as_str()).with_header("x-api-key", settings.api_key.as_str())
}

/// GET one page of `path`, mapping errors the way every connector should.
fn list<T: serde::de::DeserializeOwned + Default>(
    client: &Client,
    path: &str,
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ConnectorError> {
    let page = PageNumber::from_cursor(cursor)?;
    let response = client.get(path, &[("page", &page.as_query())])?;
    if !response.is_success() {
        return Err(from_status(&response, path));
    }
    let body: ListPage = response.json(path)?;
    ferry_sdk::log::debug(&format!("{path} page {}: {} records", page.0, body.data.len()));
    let next = body.next_page.filter(|n| *n > page.0).map(|n| format!("page:{n}"));
    Ok((body.data.into_iter().map(de::or_default).collect(), next))
}

/// Pages one read of devices asks for at once, once their number is known.
const READ_AHEAD: u32 = 4;

/// GET the pages of `path` from `cursor`, several at once once the API has
/// said how many there are: [`ReadAhead`] sends them as one batch (Ferry
/// sends them concurrently, each paced and counted like a single request)
/// and keeps the cursor exact, naming the first page not returned.
fn list_ahead<T: serde::de::DeserializeOwned + Default>(
    client: &Client,
    path: &str,
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ConnectorError> {
    let span = ReadAhead::from_cursor(cursor)?.read(
        READ_AHEAD,
        None,
        |page| client.request(Method::Get, path).query(&[("page", page.as_query())]),
        |page, response| {
            if !response.is_success() {
                return Err(from_status(&response, path));
            }
            let body: ListPage = response.json(path)?;
            ferry_sdk::log::debug(&format!("{path} page {}: {} records", page.0, body.data.len()));
            let items = body.data.into_iter().map(de::or_default).collect();
            Ok(NumberedPage { items, total_pages: body.total_pages, total: None })
        },
    )?;
    Ok((span.items, span.next))
}

impl Connector for ExamplePsa {
    type Settings = Settings;

    fn info() -> ConnectorInfo {
        let field = |key: &str, label: &str, help: &str, secret: bool| ConfigField {
            key: key.into(),
            label: label.into(),
            help: help.into(),
            required: true,
            secret,
            default_value: None,
        };
        ConnectorInfo {
            id: "example-psa".into(),
            name: "Example PSA".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "The connector template: companies and devices of the example API.".into(),
            config: vec![
                field("base_url", "API address", "e.g. http://127.0.0.1:8099", false),
                field("api_key", "API key", "any key the fake API was started with", true),
            ],
            streams: vec![
                StreamInfo { kind: StreamKind::Companies, incremental: false, description: "companies".into() },
                StreamInfo { kind: StreamKind::Assets, incremental: false, description: "devices".into() },
            ],
            allowed_hosts: vec!["{base_url}".into()],
            rate_limit: None,
            extra_streams: vec![],
        }
    }

    // `validate_config` is the SDK's default: the config must make `Settings`.

    fn check(settings: &Settings) -> Result<CheckReport, ConnectorError> {
        let client = client(settings);
        let (companies, next) = list::<ApiCompany>(&client, "/api/companies", None)?;
        let summary = match next {
            Some(_) => format!("more than {} companies found", companies.len()),
            None => format!("{} companies found", companies.len()),
        };
        Ok(CheckReport { summary, facts: vec![], warnings: vec![] })
    }

    fn read(settings: &Settings, read: Read) -> Result<Page, ConnectorError> {
        let client = client(settings);
        let cursor = read.cursor.as_deref();
        // Extra streams (contract 0.3): this connector declares none.
        let Some(stream) = read.kind() else { return Err(read.unsupported()) };
        match stream {
            StreamKind::Companies => {
                let (items, next) = list::<ApiCompany>(&client, "/api/companies", cursor)?;
                let records = items
                    .into_iter()
                    .map(|c| Company {
                        id: de::id_text(&c.id),
                        name: c.name.unwrap_or_default(),
                        active: c.active.unwrap_or(false),
                        deleted: false,
                        status: None,
                        types: vec![],
                        website: c.website,
                        email: None,
                        phone: c.phone,
                        address: None,
                        updated_at: c.updated_at,
                        card: vec![],
                        raw: None,
                    })
                    .collect();
                Ok(Page { records: Records::Companies(records), next, total: None })
            }
            StreamKind::Assets => {
                let (items, next) = list_ahead::<ApiDevice>(&client, "/api/devices", cursor)?;
                let records = items
                    .into_iter()
                    .map(|d| Asset {
                        id: de::id_text(&d.id),
                        company_id: d.company_id.as_ref().map(Scalar::text),
                        card: CardBuilder::new().add("Operating system", d.os.as_deref()).build(),
                        name: d.hostname.unwrap_or_default(),
                        type_name: d.kind.unwrap_or_default(),
                        status: None,
                        active: true,
                        serial_number: d.serial,
                        mac_address: None,
                        ip_address: None,
                        manufacturer: None,
                        model: None,
                        operating_system: d.os,
                        tag: None,
                        updated_at: d.updated_at,
                        raw: None,
                    })
                    .collect();
                Ok(Page { records: Records::Assets(records), next, total: None })
            }
            _ => Err(read.unsupported()),
        }
    }
}

ferry_sdk::export_connector!(ExamplePsa);

/// Native unit tests: `cargo test -p ferry-template`. `FakeHttp` answers the
/// requests the connector sends, so paging, mapping and error handling are
/// tested without a component or a server.
#[cfg(test)]
mod tests {
    use ferry_sdk::connector;
    use ferry_sdk::testing::{FakeHttp, Reply};

    use super::*;

    fn config() -> RawConfig {
        vec![("base_url".into(), "http://psa.test/".into()), ("api_key".into(), "k".into())]
    }

    #[test]
    fn reads_companies_page_by_page_with_the_key() {
        let http = FakeHttp::new()
            .on(
                Method::Get,
                "http://psa.test/api/companies?page=1",
                Reply::json(200, r#"{"data":[{"id":1,"name":"Acme","active":true}],"next_page":2}"#),
            )
            .on(
                Method::Get,
                "http://psa.test/api/companies?page=2",
                Reply::json(200, r#"{"data":[],"next_page":null}"#),
            );
        let _installed = http.install();
        let page = connector::read::<ExamplePsa>(config(), StreamKind::Companies, None, None).unwrap();
        assert_eq!(page.next.as_deref(), Some("page:2"));
        match page.records {
            Records::Companies(c) => assert_eq!((c[0].id.as_str(), c[0].name.as_str()), ("1", "Acme")),
            other => panic!("unexpected {other:?}"),
        }
        let page = connector::read::<ExamplePsa>(config(), StreamKind::Companies, page.next, None).unwrap();
        assert_eq!(page.next, None);
        assert_eq!(http.requests()[0].header("x-api-key"), Some("k"));
    }

    #[test]
    fn devices_are_read_ahead_once_the_page_count_is_known() {
        let page = |n: u32| {
            let body = format!(r#"{{"data":[{{"id":{n},"hostname":"pc-{n}"}}],"next_page":null,"total_pages":6}}"#);
            Reply::json(200, body)
        };
        let mut http = FakeHttp::new();
        for n in 1..=6 {
            http = http.on(Method::Get, &format!("http://psa.test/api/devices?page={n}"), page(n));
        }
        let _installed = http.install();
        let first = connector::read::<ExamplePsa>(config(), StreamKind::Assets, None, None).unwrap();
        assert_eq!(first.next.as_deref(), Some("page:2/6"), "one page, then the count is known");
        let ahead = connector::read::<ExamplePsa>(config(), StreamKind::Assets, first.next, None).unwrap();
        assert!(matches!(&ahead.records, Records::Assets(a) if a.len() == 5));
        assert_eq!(ahead.next, None);
        assert_eq!(http.batches(), vec![1, 5], "pages 2-5 in one batch, and page 6 with them rather than alone");
    }

    #[test]
    fn a_field_of_the_wrong_type_never_fails_the_page() {
        let body =
            r#"{"data":[{"id":1,"name":"Acme","phone":5550100},{"id":"x2","name":["Beta"]},7],"next_page":null}"#;
        let http = FakeHttp::new().on(Method::Get, "/api/companies", Reply::json(200, body));
        let _installed = http.install();
        let page = connector::read::<ExamplePsa>(config(), StreamKind::Companies, None, None).unwrap();
        let Records::Companies(c) = page.records else { panic!("companies expected") };
        let read: Vec<_> = c.iter().map(|c| (c.id.as_str(), c.name.as_str(), c.phone.is_some())).collect();
        // The last two have no name or id: Ferry skips them as invalid.
        assert_eq!(read, [("1", "Acme", false), ("x2", "", false), ("", "", false)]);
    }

    #[test]
    fn a_wrong_key_is_unauthorized_and_config_errors_name_the_field() {
        let http =
            FakeHttp::new().on(Method::Get, "/api/companies", Reply::json(401, r#"{"error":"invalid API key"}"#));
        let _installed = http.install();
        assert!(matches!(connector::check::<ExamplePsa>(config()), Err(ConnectorError::Unauthorized(_))));
        match connector::validate_config::<ExamplePsa>(vec![("base_url".into(), "psa.test".into())]) {
            Err(ConnectorError::InvalidConfig(p)) => assert_eq!(p.field, "base_url"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
