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

fn default_codebase() -> String {
    DEFAULT_CODEBASE.to_string()
}

/// What every call needs; field names are the config keys.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Normalised: `api-na.myconnectwise.net`.
    pub site: String,
    pub company_id: String,
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
    #[serde(default = "default_codebase")]
    pub codebase: String,
    pub base_url: Option<BaseUrl>,
}

impl Settings {
    /// Deserialize, then normalise the site and check the codebase.
    pub fn from_config(config: &Config) -> Result<Settings, ConnectorError> {
        let mut s: Settings = config.settings()?;
        s.site = normalise_site(&s.site)?.0;
        s.codebase = s.codebase.trim_matches('/').to_string();
        if s.codebase.is_empty() || !s.codebase.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(invalid_config(CODEBASE, "must look like v4_6_release or v2025_1"));
        }
        Ok(s)
    }

    /// `https://{site}/{codebase}/apis/3.0` (or the override's equivalent).
    pub fn api_root(&self) -> String {
        let root = match &self.base_url {
            Some(base) => base.to_string(),
            None => format!("https://{}", self.site),
        };
        format!("{root}/{}/apis/3.0", self.codebase)
    }

    #[cfg(test)]
    pub fn from_raw(raw: RawConfig) -> Result<Settings, ConnectorError> {
        Self::from_config(&Config::new(raw))
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

pub fn validate(mut c: Config) -> Result<ValidatedConfig, ConnectorError> {
    let mut notices = Vec::new();
    let (site, note) = normalise_site(c.require(SITE)?)?;
    if let Some(n) = note {
        notices.push(n);
        c.set(SITE, site);
    }
    if let Some(base) = c.get(BASE_URL).map(str::to_string) {
        let clean = BaseUrl::parse(BASE_URL, &base)?;
        if clean.as_str() != base {
            c.set(BASE_URL, clean);
        }
    }
    // Everything else must be present and well formed.
    Settings::from_config(&c)?;
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
        assert_eq!(s.api_root(), "https://api-na.myconnectwise.net/v4_6_release/apis/3.0");
        let s = Settings::from_raw(full(&[(BASE_URL, "http://127.0.0.1:8081/"), (CODEBASE, "v2025_1/")])).unwrap();
        assert_eq!(s.api_root(), "http://127.0.0.1:8081/v2025_1/apis/3.0");
        assert!(Settings::from_raw(full(&[(CODEBASE, "../x")])).is_err());
    }

    #[test]
    fn missing_client_id_names_the_field() {
        let mut raw = full(&[]);
        raw.retain(|(k, _)| k != CLIENT_ID);
        match validate(Config::new(raw)) {
            Err(ConnectorError::InvalidConfig(p)) => assert_eq!(p.field, CLIENT_ID),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn validate_reports_normalisation() {
        let v = validate(Config::new(full(&[(SITE, "https://na.myconnectwise.net/")]))).unwrap();
        assert!(v.config.contains(&(SITE.into(), "api-na.myconnectwise.net".into())));
        assert_eq!(v.notices.len(), 1);
    }
}
