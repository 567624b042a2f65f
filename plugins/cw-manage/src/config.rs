//! CW Manage configuration: the credentials CW wants (site, company id,
//! public/private key, client id) and the normalisation of the site an
//! operator types.

use ferry_sdk::config::{bare_host, is_host_name};
use ferry_sdk::prelude::*;

pub const SITE: &str = "site";
pub const COMPANY_ID: &str = "company_id";
pub const PUBLIC_KEY: &str = "public_key";
pub const PRIVATE_KEY: &str = "private_key";
pub const CLIENT_ID: &str = "client_id";
pub const CODEBASE: &str = "codebase";
pub const BASE_URL: &str = "base_url";

const DEFAULT_CODEBASE: &str = "v4_6_release";

/// Cloud login hosts and the API hosts they need instead (docs/psa-apis.md §2.1:
/// without the `api-` prefix CW answers "SSL is required").
const CLOUD_LOGIN_HOSTS: &[&str] = &[
    "na.myconnectwise.net",
    "eu.myconnectwise.net",
    "au.myconnectwise.net",
    "aus.myconnectwise.net",
    "za.myconnectwise.net",
    "staging.connectwisedev.com",
];

fn field(key: &str, label: &str, help: &str, required: bool, secret: bool) -> ConfigField {
    ConfigField { key: key.into(), label: label.into(), help: help.into(), required, secret, default_value: None }
}

pub fn fields() -> Vec<ConfigField> {
    vec![
        field(
            SITE,
            "Site",
            "Your Manage API host: api-na.myconnectwise.net (or api-eu / api-au) for cloud, your server's name \
             (e.g. support.mymsp.com) on premises. A URL is accepted and shortened.",
            true,
            false,
        ),
        field(COMPANY_ID, "Company ID", "The company id you log in to Manage with.", true, false),
        field(PUBLIC_KEY, "Public key", "From System > Members > API Members > (member) > API Keys.", true, false),
        field(PRIVATE_KEY, "Private key", "Shown once when the API key is created.", true, true),
        field(
            CLIENT_ID,
            "Client ID",
            "Your integration's clientId GUID from developer.connectwise.com (required on every API call).",
            true,
            false,
        ),
        ConfigField {
            default_value: Some(DEFAULT_CODEBASE.into()),
            ..field(CODEBASE, "Codebase", "API codebase; v4_6_release routes to the current version.", false, false)
        },
        field(
            BASE_URL,
            "Base URL override",
            "Only for testing against a simulator, e.g. http://127.0.0.1:8081. Leave empty for Manage itself.",
            false,
            false,
        ),
    ]
}

/// What every call needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `https://{site}/{codebase}/apis/3.0` (or the override's equivalent).
    pub api_root: String,
    pub site: String,
    pub company_id: String,
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
}

impl Settings {
    pub fn from_raw(raw: RawConfig) -> Result<Settings, ConnectorError> {
        let c = Config::new(raw);
        let (site, _) = normalise_site(c.require(SITE)?)?;
        let company_id = c.require(COMPANY_ID)?.to_string();
        let public_key = c.require(PUBLIC_KEY)?.to_string();
        let private_key = c.require(PRIVATE_KEY)?.to_string();
        let client_id = c.require(CLIENT_ID)?.to_string();
        let codebase = c.get(CODEBASE).unwrap_or(DEFAULT_CODEBASE).trim_matches('/').to_string();
        if codebase.is_empty() || !codebase.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(invalid_config(CODEBASE, "must look like v4_6_release or v2025_1"));
        }
        let root = match c.get(BASE_URL) {
            Some(base) => validate_base_url(base)?,
            None => format!("https://{site}"),
        };
        Ok(Settings {
            api_root: format!("{root}/{codebase}/apis/3.0"),
            site,
            company_id,
            public_key,
            private_key,
            client_id,
        })
    }
}

/// Normalise the site; the second value says what changed, if anything.
pub fn normalise_site(input: &str) -> Result<(String, Option<String>), ConnectorError> {
    let host = bare_host(input).ok_or_else(|| invalid_config(SITE, "is empty: give e.g. api-na.myconnectwise.net"))?;
    if !is_host_name(&host) {
        return Err(invalid_config(
            SITE,
            format!("`{}` is not a host name; give e.g. api-na.myconnectwise.net or support.mymsp.com", input.trim()),
        ));
    }
    let host = if CLOUD_LOGIN_HOSTS.contains(&host.as_str()) { format!("api-{host}") } else { host };
    let changed = (host != input.trim()).then(|| format!("site: `{}` normalised to `{host}`", input.trim()));
    Ok((host, changed))
}

fn validate_base_url(url: &str) -> Result<String, ConnectorError> {
    let trimmed = url.trim().trim_end_matches('/');
    let lower = trimmed.to_ascii_lowercase();
    match lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(trimmed.to_string()),
        _ => Err(invalid_config(BASE_URL, format!("`{url}` is not an http(s) URL such as http://127.0.0.1:8081"))),
    }
}

pub fn validate(raw: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
    let mut c = Config::new(raw.clone());
    let mut notices = Vec::new();
    let (site, note) = normalise_site(c.require(SITE)?)?;
    if let Some(n) = note {
        notices.push(n);
        c.set(SITE, site);
    }
    if let Some(base) = c.get(BASE_URL).map(str::to_string) {
        let clean = validate_base_url(&base)?;
        if clean != base {
            c.set(BASE_URL, clean);
        }
    }
    // Everything else must be present and well formed.
    Settings::from_raw(c.clone().into_pairs())?;
    Ok(ValidatedConfig { config: c.into_pairs(), notices })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(extra: &[(&str, &str)]) -> RawConfig {
        let mut v: RawConfig = vec![
            (SITE.into(), "api-na.myconnectwise.net".into()),
            (COMPANY_ID.into(), "acme".into()),
            (PUBLIC_KEY.into(), "pub".into()),
            (PRIVATE_KEY.into(), "priv".into()),
            (CLIENT_ID.into(), "guid".into()),
        ];
        for (k, val) in extra {
            v.retain(|(key, _)| key != k);
            v.push((k.to_string(), val.to_string()));
        }
        v
    }

    #[test]
    fn site_forms() {
        assert_eq!(normalise_site("api-na.myconnectwise.net").unwrap().0, "api-na.myconnectwise.net");
        assert_eq!(
            normalise_site("https://api-eu.myconnectwise.net/v4_6_release/").unwrap().0,
            "api-eu.myconnectwise.net"
        );
        assert_eq!(normalise_site("na.myconnectwise.net").unwrap().0, "api-na.myconnectwise.net");
        assert_eq!(normalise_site("SUPPORT.mymsp.com").unwrap().0, "support.mymsp.com");
        assert!(normalise_site("not a host").is_err());
        assert!(normalise_site("evil.com@good.com").is_err());
    }

    #[test]
    fn api_root_and_override() {
        let s = Settings::from_raw(full(&[])).unwrap();
        assert_eq!(s.api_root, "https://api-na.myconnectwise.net/v4_6_release/apis/3.0");
        let s = Settings::from_raw(full(&[(BASE_URL, "http://127.0.0.1:8081/"), (CODEBASE, "v2025_1/")])).unwrap();
        assert_eq!(s.api_root, "http://127.0.0.1:8081/v2025_1/apis/3.0");
        assert!(Settings::from_raw(full(&[(CODEBASE, "../x")])).is_err());
    }

    #[test]
    fn missing_client_id_names_the_field() {
        let mut raw = full(&[]);
        raw.retain(|(k, _)| k != CLIENT_ID);
        match validate(raw) {
            Err(ConnectorError::InvalidConfig(p)) => assert_eq!(p.field, CLIENT_ID),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn validate_reports_normalisation() {
        let v = validate(full(&[(SITE, "https://na.myconnectwise.net/")])).unwrap();
        assert!(v.config.contains(&(SITE.into(), "api-na.myconnectwise.net".into())));
        assert_eq!(v.notices.len(), 1);
    }
}
