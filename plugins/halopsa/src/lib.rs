//! HaloPSA connector for Ferry.
//!
//! HaloPSA splits its API over two servers: the authorisation server issues
//! OAuth2 client-credentials tokens (`POST {auth}/auth/token`, form-encoded,
//! `scope=all`, optional `tenant` for hosted Halo) and the resource server
//! answers `GET {resource}/api/Client|Users|Asset|Site?pageinate=true&
//! page_no=N&page_size=M` with `{"record_count": N, "<key>": [...]}`. Both are
//! host templates, so an integration's allowlist holds exactly those two
//! origins.
//!
//! The token comes from `ferry_sdk::auth::ClientCredentials`, kept in the
//! integration's `state` (contract 0.3) for its lifetime: one token request
//! per token lifetime across calls and runs, not one per page. A cached
//! token Halo refuses ends the call in `token-expired`; Ferry clears the
//! state and calls once more, which fetches a new one.
//!
//! Besides the four kinds it reads client contracts
//! (`GET {resource}/api/ClientContract`, key `contracts`) as the extra
//! stream `contracts` (contract 0.3's open-ended streams), each an `item`.
//! The path follows public Halo API clients; the contract fields are a
//! guess (docs/psa-apis.md §4), mapped leniently.

#[cfg(test)]
mod golden;
mod map;

use ferry_sdk::prelude::*;

/// HaloPSA's documented limit: 700 requests per 5 minutes per tenant.
const RATE_LIMIT: RateLimit = RateLimit { requests: 700, per_seconds: 300 };
/// Records per page (Halo accepts larger pages; 100 keeps a page small).
const PAGE_SIZE: usize = 100;

struct HaloPsa;

/// The operator's configuration; field names are the config keys.
#[derive(Debug, Deserialize)]
pub struct Settings {
    auth_url: BaseUrl,
    resource_url: BaseUrl,
    client_id: String,
    client_secret: String,
    tenant: Option<String>,
}

impl Settings {
    /// The token endpoint: `{auth_url}/auth/token`, or `{auth_url}/token`
    /// when the operator gave the authorisation server with its `/auth` path
    /// (as Halo's API settings page shows it).
    fn token_url(&self) -> String {
        let base = self.auth_url.as_str();
        if base.to_ascii_lowercase().ends_with("/auth") {
            format!("{base}/token")
        } else {
            format!("{base}/auth/token")
        }
    }

    /// The API root: `{resource_url}/api` (the `/api` may be given).
    fn api_root(&self) -> String {
        let base = self.resource_url.as_str();
        if base.to_ascii_lowercase().ends_with("/api") { base.to_string() } else { format!("{base}/api") }
    }

    fn credentials(&self) -> ClientCredentials {
        let c = ClientCredentials::new(self.token_url(), &self.client_id, &self.client_secret).scope("all");
        match &self.tenant {
            Some(tenant) => c.extra("tenant", tenant),
            None => c,
        }
    }
}

/// One Halo list endpoint.
struct Endpoint {
    path: &'static str,
    key: &'static str,
    resource: &'static str,
}

const CLIENTS: Endpoint = Endpoint { path: "/Client", key: "clients", resource: "clients" };
const USERS: Endpoint = Endpoint { path: "/Users", key: "users", resource: "users" };
const ASSETS: Endpoint = Endpoint { path: "/Asset", key: "assets", resource: "assets" };
const SITES: Endpoint = Endpoint { path: "/Site", key: "sites", resource: "sites" };
const CONTRACTS: Endpoint = Endpoint { path: "/ClientContract", key: "contracts", resource: "contracts" };

/// The extra stream of client contracts (its declared name).
const CONTRACTS_STREAM: &str = "contracts";

/// Pages one read asks for at once once `record_count` gave their number
/// (contract 0.4's `send-batch`); the rate limit (700 per 5 minutes) still
/// paces each of them.
const READ_AHEAD: u32 = 8;

/// The pages of an endpoint from `at`, read ahead once the count is known
/// (see [`ReadAhead`]), all with one token.
fn list_ahead(
    settings: &Settings,
    endpoint: &Endpoint,
    at: ReadAhead,
) -> Result<ferry_sdk::paging::Span<Value>, ConnectorError> {
    let pages = at.pages(READ_AHEAD);
    let answers = settings
        .credentials()
        .send_batch(|token| pages.iter().map(|page| page_request(settings, endpoint, *page).bearer(token)).collect())?;
    at.gather(pages, answers, Some(PAGE_SIZE), |page, response| {
        let list = page_answer(endpoint, page, response)?;
        Ok(NumberedPage { items: list.items, total_pages: list.pages, total: list.total })
    })
}

/// The request for one page, without its token.
fn page_request(settings: &Settings, endpoint: &Endpoint, page: PageNumber) -> Request {
    let url = format!("{}{}", settings.api_root(), endpoint.path);
    let (page_no, size) = (page.as_query(), PAGE_SIZE.to_string());
    let query = [("pageinate", "true"), ("page_no", page_no.as_str()), ("page_size", size.as_str())];
    Request::get(&url).query(&query).header("accept", "application/json")
}

/// One page of an endpoint: its items, the page count and the record count.
struct Answered {
    items: Vec<Value>,
    pages: Option<u64>,
    total: Option<u64>,
}

fn page_answer(endpoint: &Endpoint, page: PageNumber, response: Response) -> Result<Answered, ConnectorError> {
    if !response.is_success() {
        return Err(classify(&response, endpoint.resource));
    }
    let what = format!("{} page {}", endpoint.resource, page.0);
    let mut body: serde_json::Map<String, Value> = response.json(&what)?;
    let items = match body.remove(endpoint.key) {
        Some(Value::Array(items)) => items,
        _ => return Err(bad_response(format!("{what}: the answer has no `{}` list", endpoint.key))),
    };
    let total = body.get("record_count").and_then(Value::as_u64);
    let pages = total.map(|t| t.div_ceil(PAGE_SIZE as u64));
    ferry_sdk::log::debug(&format!("{what}: {} of {:?}", items.len(), total));
    Ok(Answered { items, pages, total })
}

/// One page of an endpoint, alone.
fn list(settings: &Settings, endpoint: &Endpoint, page: PageNumber) -> Result<Answered, ConnectorError> {
    let response = settings.credentials().send(|token| page_request(settings, endpoint, page).bearer(token))?;
    page_answer(endpoint, page, response)
}

/// Halo's statuses: a 401 after a fresh token means the token itself is
/// refused (wrong tenant or an app without API access); the rest generic.
fn classify(response: &Response, resource: &str) -> ConnectorError {
    match response.status {
        401 => ConnectorError::Unauthorized(format!(
            "HaloPSA refused a fresh access token while reading {resource} (HTTP 401): check that the API \
             application is active and its permissions allow reading {resource}"
        )),
        _ => from_status(response, resource),
    }
}

impl Connector for HaloPsa {
    type Settings = Settings;

    fn info() -> ConnectorInfo {
        let field = |key: &str, label: &str, help: &str, required: bool, secret: bool| ConfigField {
            key: key.into(),
            label: label.into(),
            help: help.into(),
            required,
            secret,
            default_value: None,
        };
        let stream = |kind, description: &str| StreamInfo { kind, incremental: false, description: description.into() };
        ConnectorInfo {
            id: "halopsa".into(),
            name: "HaloPSA".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "HaloPSA: clients, end users, assets and sites over the REST API with an OAuth \
                          client-credentials application."
                .into(),
            config: vec![
                field(
                    "auth_url",
                    "Authorisation server",
                    "From Configuration > Integrations > HaloPSA API: e.g. https://acme.halopsa.com/auth.",
                    true,
                    false,
                ),
                field(
                    "resource_url",
                    "Resource server",
                    "From the same page: e.g. https://acme.halopsa.com/api.",
                    true,
                    false,
                ),
                field(
                    "client_id",
                    "Client ID",
                    "Of an API application with authentication method Client ID and Secret (Services), \
                     permission read:customers, read:assets.",
                    true,
                    false,
                ),
                field("client_secret", "Client secret", "Shown once when the application is created.", true, true),
                field(
                    "tenant",
                    "Tenant",
                    "Hosted HaloPSA only: your tenant name; leave empty otherwise.",
                    false,
                    false,
                ),
            ],
            streams: vec![
                stream(StreamKind::Companies, "HaloPSA clients"),
                stream(StreamKind::Sites, "HaloPSA sites"),
                stream(StreamKind::Contacts, "HaloPSA end users"),
                stream(StreamKind::Assets, "HaloPSA assets"),
            ],
            extra_streams: vec![ExtraStreamInfo {
                name: CONTRACTS_STREAM.into(),
                description: "HaloPSA client contracts".into(),
                incremental: false,
            }],
            allowed_hosts: vec!["{auth_url}".into(), "{resource_url}".into()],
            rate_limit: Some(RATE_LIMIT),
        }
    }

    fn check(settings: &Settings) -> Result<CheckReport, ConnectorError> {
        let first = list(settings, &CLIENTS, PageNumber(1))?;
        let total = first.total.unwrap_or(first.items.len() as u64);
        let warnings = if total == 0 {
            vec!["0 clients found: the API application may lack the read:customers permission".to_string()]
        } else {
            Vec::new()
        };
        let facts = vec![
            Field { label: "authorisation server".into(), value: settings.auth_url.origin().to_string() },
            Field { label: "resource server".into(), value: settings.resource_url.origin().to_string() },
        ];
        Ok(CheckReport { summary: format!("{total} clients found"), facts, warnings })
    }

    fn read(settings: &Settings, read: Read) -> Result<Page, ConnectorError> {
        let (endpoint, wrap): (&Endpoint, fn(Vec<Value>) -> Records) = match (read.kind(), read.extra()) {
            (None, Some(CONTRACTS_STREAM)) => (&CONTRACTS, |v| Records::Items(v.iter().map(map::contract).collect())),
            (None, _) => return Err(read.unsupported()),
            (Some(stream), _) => match stream {
                StreamKind::Companies => (&CLIENTS, |v| Records::Companies(v.iter().map(map::company).collect())),
                StreamKind::Contacts => (&USERS, |v| Records::Contacts(v.iter().map(map::contact).collect())),
                StreamKind::Assets => (&ASSETS, |v| Records::Assets(v.iter().map(map::asset).collect())),
                StreamKind::Sites => (&SITES, |v| Records::Sites(v.iter().map(map::site).collect())),
                _ => return Err(read.unsupported()),
            },
        };
        let span = list_ahead(settings, endpoint, ReadAhead::from_cursor(read.cursor.as_deref())?)?;
        Ok(Page { records: wrap(span.items), next: span.next, total: span.total })
    }
}

ferry_sdk::export_connector!(HaloPsa);

#[cfg(test)]
mod tests {
    use ferry_sdk::connector;
    use ferry_sdk::testing::{FakeHttp, Reply, clear_state, new_call};

    use super::*;

    const TOKEN: &str = r#"{"access_token":"tok-1","expires_in":3600,"token_type":"Bearer"}"#;

    fn config(auth: &str, resource: &str) -> RawConfig {
        [("auth_url", auth), ("resource_url", resource), ("client_id", "id"), ("client_secret", "s3cret")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_page_request_carries_a_client_credentials_token() {
        let http = FakeHttp::new().on(Method::Post, "https://auth.example/auth/token", Reply::json(200, TOKEN)).on(
            Method::Get,
            "https://api.example/api/Client?pageinate=true&page_no=1&page_size=100",
            Reply::value(200, &json!({"record_count": 150, "clients": [{"id": 1, "name": "Acme"}]})),
        );
        let _installed = http.install();
        let page = connector::read::<HaloPsa>(
            config("https://auth.example", "https://api.example"),
            StreamKind::Companies,
            None,
            None,
        )
        .unwrap();
        assert_eq!(page.next.as_deref(), Some("page:2/2"), "the page count is known from record_count");
        assert_eq!(page.total, Some(150));
        let post = &http.requests_to(Method::Post, "/auth/token")[0];
        assert_eq!(post.form_value("grant_type").as_deref(), Some("client_credentials"));
        assert_eq!(post.form_value("scope").as_deref(), Some("all"));
        assert_eq!(post.header("content-type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(http.requests()[1].header("authorization"), Some("Bearer tok-1"));
    }

    #[test]
    fn given_auth_and_api_paths_are_not_doubled_and_tenant_is_sent() {
        let http = FakeHttp::new().on(Method::Post, "https://h.example/auth/token", Reply::json(200, TOKEN)).on(
            Method::Get,
            "https://h.example/api/Site",
            Reply::value(200, &json!({"record_count": 0, "sites": []})),
        );
        let _installed = http.install();
        let mut cfg = config("https://h.example/auth/", "https://h.example/api");
        cfg.push(("tenant".into(), "acme".into()));
        let page = connector::read::<HaloPsa>(cfg, StreamKind::Sites, None, None).unwrap();
        assert_eq!(page.next, None);
        assert_eq!(http.requests()[0].form_value("tenant").as_deref(), Some("acme"));
    }

    #[test]
    fn one_token_serves_every_call_of_a_sync() {
        let empty = |key: &str| Reply::value(200, &json!({"record_count": 0, key: []}));
        let http = FakeHttp::new()
            .on(Method::Post, "/auth/token", Reply::json(200, TOKEN))
            .on(Method::Get, "/api/Client", empty("clients"))
            .on(Method::Get, "/api/Site", empty("sites"))
            .on(Method::Get, "/api/Users", empty("users"))
            .on(Method::Get, "/api/Asset", empty("assets"))
            .on(Method::Get, "/api/ClientContract", empty("contracts"));
        let _installed = http.install();
        let cfg = config("https://a.example", "https://r.example");
        connector::check::<HaloPsa>(cfg.clone()).unwrap();
        for stream in [StreamKind::Companies, StreamKind::Sites, StreamKind::Contacts, StreamKind::Assets] {
            new_call();
            connector::read::<HaloPsa>(cfg.clone(), stream, None, None).unwrap();
        }
        new_call();
        connector::read::<HaloPsa>(cfg, StreamRef::Extra("contracts".into()), None, None).unwrap();
        assert_eq!(http.count(Method::Post, "/auth/token"), 1, "one token for six calls");
        assert_eq!(http.requests().len(), 7);
    }

    #[test]
    fn a_refused_cached_token_is_token_expired_and_a_wrong_secret_is_unauthorized() {
        let http = FakeHttp::new()
            .on(Method::Post, "/auth/token", Reply::json(200, TOKEN))
            .on(Method::Get, "/api/Users", Reply::value(200, &json!({"record_count": 0, "users": []})))
            .on(Method::Get, "/api/Users", Reply::status(401, ""))
            .on(Method::Get, "/api/Users", Reply::value(200, &json!({"record_count": 0, "users": []})));
        let _installed = http.install();
        let cfg = config("https://a.example", "https://r.example");
        connector::read::<HaloPsa>(cfg.clone(), StreamKind::Contacts, None, None).unwrap();
        new_call();
        let expired = connector::read::<HaloPsa>(cfg.clone(), StreamKind::Contacts, None, None);
        assert!(matches!(expired, Err(ConnectorError::TokenExpired(_))), "{expired:?}");
        assert_eq!(http.count(Method::Post, "/auth/token"), 1, "no refresh loop in the connector");
        // The host clears state and calls once more: a new token.
        clear_state();
        connector::read::<HaloPsa>(cfg.clone(), StreamKind::Contacts, None, None).unwrap();
        assert_eq!(http.count(Method::Post, "/auth/token"), 2);
        assert_eq!(http.count(Method::Get, "/api/Users"), 3);

        clear_state();
        let refused =
            FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(401, r#"{"error":"invalid_client"}"#));
        let _installed = refused.install();
        assert!(matches!(connector::check::<HaloPsa>(cfg), Err(ConnectorError::Unauthorized(_))));
    }

    #[test]
    fn a_fresh_token_refused_is_unauthorized() {
        let http = FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(200, TOKEN)).on(
            Method::Get,
            "/api/Asset",
            Reply::status(401, ""),
        );
        let _installed = http.install();
        let read = connector::read::<HaloPsa>(
            config("https://a.example", "https://r.example"),
            StreamKind::Assets,
            None,
            None,
        );
        assert!(matches!(read, Err(ConnectorError::Unauthorized(m)) if m.contains("fresh access token")));
    }

    #[test]
    fn contracts_are_an_extra_stream_of_items() {
        let info = HaloPsa::info();
        assert_eq!(info.extra_streams.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["contracts"]);
        let contract = json!({"id": 11, "ref": "MS-11", "client_id": 2, "contract_type": "Managed Services",
            "active": true});
        let http = FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(200, TOKEN)).on(
            Method::Get,
            "https://r.example/api/ClientContract?pageinate=true&page_no=2&page_size=100",
            Reply::value(200, &json!({"record_count": 101, "contracts": [contract]})),
        );
        let _installed = http.install();
        let cfg = config("https://a.example", "https://r.example");
        let page =
            connector::read::<HaloPsa>(cfg.clone(), StreamRef::Extra("contracts".into()), Some("page:2".into()), None)
                .unwrap();
        let Records::Items(items) = page.records else { panic!("items expected") };
        assert_eq!(items.len(), 1);
        assert_eq!((items[0].id.as_str(), items[0].name.as_str()), ("11", "MS-11"));
        assert_eq!(items[0].company_id.as_deref(), Some("2"));
        assert_eq!((page.next, page.total), (None, Some(101)));
        let other = connector::read::<HaloPsa>(cfg, StreamRef::Extra("invoices".into()), None, None);
        assert!(matches!(other, Err(ConnectorError::UnsupportedStream(StreamRef::Extra(n))) if n == "invoices"));
    }

    #[test]
    fn config_errors_name_the_field() {
        match connector::validate_config::<HaloPsa>(config("auth.example", "https://r.example")) {
            Err(ConnectorError::InvalidConfig(p)) => assert_eq!(p.field, "auth_url"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
