//! A minimal Ferry connector: copy this directory to start a new one.
//!
//! It reads companies and devices from "Example PSA", a tiny API in
//! `fake-api/fake_api.py`:
//!
//! - `GET /api/companies?page=N` and `GET /api/devices?page=N`
//! - auth: header `X-Api-Key: <key>`
//! - answer: `{"data": [...], "next_page": N | null}`
//!
//! Everything generic — bindings, HTTP through the host, JSON, paging
//! cursors, status → error mapping, cards — comes from `ferry-sdk`; this
//! file holds only what is specific to the PSA. See
//! docs/writing-a-connector.md for the walk-through.

use ferry_sdk::error::from_status;
use ferry_sdk::prelude::*;
use serde::Deserialize;

struct ExamplePsa;

/// One page of any list endpoint of the example API.
#[derive(Deserialize)]
struct ListPage<T> {
    data: Vec<T>,
    next_page: Option<u32>,
}

#[derive(Deserialize)]
struct ApiCompany {
    id: u64,
    name: String,
    #[serde(default)]
    active: bool,
    website: Option<String>,
    phone: Option<String>,
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct ApiDevice {
    id: u64,
    company_id: Option<u64>,
    hostname: String,
    kind: String,
    serial: Option<String>,
    os: Option<String>,
    updated_at: Option<String>,
}

/// The API root and key, validated.
fn client(config: RawConfig) -> Result<Client, ConnectorError> {
    let config = Config::new(config);
    let base = config.require("base_url")?;
    if !base.starts_with("http://") && !base.starts_with("https://") {
        return Err(invalid_config("base_url", "must start with http:// or https://"));
    }
    let key = config.require("api_key")?;
    Ok(Client::new(base).with_header("x-api-key", key))
}

/// GET one page of `path`, mapping errors the way every connector should.
fn list<T: for<'de> Deserialize<'de>>(
    client: &Client,
    path: &str,
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ConnectorError> {
    let page = PageNumber::from_cursor(cursor)?;
    let response = client.get(path, &[("page", &page.as_query())])?;
    if !response.is_success() {
        return Err(from_status(&response, path));
    }
    let body: ListPage<T> = response.json(path)?;
    let next = body.next_page.filter(|n| *n > page.0).map(|n| format!("page:{n}"));
    Ok((body.data, next))
}

impl Source for ExamplePsa {
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

    fn validate_config(config: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
        client(config.clone())?;
        Ok(ValidatedConfig { config, notices: vec![] })
    }

    fn check(config: RawConfig) -> Result<CheckReport, ConnectorError> {
        let client = client(config)?;
        let (companies, next) = list::<ApiCompany>(&client, "/api/companies", None)?;
        let summary = match next {
            Some(_) => format!("more than {} companies found", companies.len()),
            None => format!("{} companies found", companies.len()),
        };
        Ok(CheckReport { summary, facts: vec![], warnings: vec![] })
    }

    fn read(
        config: RawConfig,
        stream: StreamRef,
        cursor: Option<String>,
        _since: Option<String>,
    ) -> Result<Page, ConnectorError> {
        // Extra streams (contract 0.3): this connector declares none.
        let StreamRef::Kind(stream) = stream else { return Err(ConnectorError::UnsupportedStream(stream)) };
        let client = client(config)?;
        match stream {
            StreamKind::Companies => {
                let (items, next) = list::<ApiCompany>(&client, "/api/companies", cursor.as_deref())?;
                let records = items
                    .into_iter()
                    .map(|c| Company {
                        id: c.id.to_string(),
                        name: c.name,
                        active: c.active,
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
                let (items, next) = list::<ApiDevice>(&client, "/api/devices", cursor.as_deref())?;
                let records = items
                    .into_iter()
                    .map(|d| Asset {
                        id: d.id.to_string(),
                        company_id: d.company_id.map(|c| c.to_string()),
                        card: CardBuilder::new().add("Operating system", d.os.as_deref()).build(),
                        name: d.hostname,
                        type_name: d.kind,
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
            other => Err(ConnectorError::UnsupportedStream(StreamRef::Kind(other))),
        }
    }
}

ferry_sdk::export_connector!(ExamplePsa);
