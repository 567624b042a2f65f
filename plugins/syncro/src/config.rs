//! Syncro configuration: the fields an operator fills in and their
//! normalisation (`https://acme.syncromsp.com/` → `acme`).

use ferry_sdk::config::{bare_host, is_dns_label};
use ferry_sdk::prelude::*;

pub const SUBDOMAIN: &str = "subdomain";
pub const API_KEY: &str = "api_key";
pub const BASE_URL: &str = "base_url";

const SYNCRO_DOMAIN: &str = ".syncromsp.com";

pub fn fields() -> Vec<ConfigField> {
    vec![
        ConfigField {
            key: SUBDOMAIN.into(),
            label: "Subdomain".into(),
            help: "Your Syncro subdomain: `acme` for https://acme.syncromsp.com (the full URL is \
                   accepted and shortened)."
                .into(),
            required: true,
            secret: false,
            default_value: None,
        },
        ConfigField {
            key: API_KEY.into(),
            label: "API token".into(),
            help: "Create one in Syncro under Admin > API > API Tokens, with the permissions \
                   Customers - List/Search, Customers - View Detail, Assets - List/Search and \
                   Tickets - List/Search."
                .into(),
            required: true,
            secret: true,
            default_value: None,
        },
        ConfigField {
            key: BASE_URL.into(),
            label: "API base URL override".into(),
            help: "Only for testing against a simulator, e.g. http://127.0.0.1:8080/api/v1. \
                   Leave empty for Syncro itself."
                .into(),
            required: false,
            secret: false,
            default_value: None,
        },
    ]
}

/// Validated settings used by every call; field names are the config keys.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Normalised: `acme`.
    pub subdomain: String,
    pub api_key: String,
    pub base_url: Option<BaseUrl>,
}

impl Settings {
    /// Deserialize, then normalise the subdomain.
    pub fn from_config(config: &Config) -> Result<Self, ConnectorError> {
        let mut settings: Settings = config.settings()?;
        settings.subdomain = normalise_subdomain(&settings.subdomain)?;
        Ok(settings)
    }

    /// `https://{subdomain}.syncromsp.com/api/v1`, or the override.
    pub fn api_root(&self) -> String {
        match &self.base_url {
            Some(url) => url.to_string(),
            None => format!("https://{}{SYNCRO_DOMAIN}/api/v1", self.subdomain),
        }
    }

    #[cfg(test)]
    pub fn from_raw(raw: RawConfig) -> Result<Self, ConnectorError> {
        Self::from_config(&Config::new(raw))
    }
}

/// Normalise what the operator typed and say what changed.
pub fn validate(mut config: Config) -> Result<ValidatedConfig, ConnectorError> {
    let mut notices = Vec::new();
    let given = config.require(SUBDOMAIN)?.to_string();
    let subdomain = normalise_subdomain(&given)?;
    if subdomain != given {
        notices.push(format!("subdomain: `{given}` normalised to `{subdomain}`"));
        config.set(SUBDOMAIN, subdomain);
    }
    if let Some(url) = config.get(BASE_URL).map(str::to_string) {
        let clean = BaseUrl::parse(BASE_URL, &url)?;
        if clean.as_str() != url {
            notices.push(format!("base_url: `{url}` normalised to `{clean}`"));
            config.set(BASE_URL, clean);
        }
    }
    // Everything else must be present and well formed.
    Settings::from_config(&config)?;
    Ok(ValidatedConfig { config: config.into_pairs(), notices })
}

/// `acme`, `acme.syncromsp.com` or `https://acme.syncromsp.com/` → `acme`.
pub fn normalise_subdomain(input: &str) -> Result<String, ConnectorError> {
    let host = bare_host(input)
        .ok_or_else(|| invalid_config(SUBDOMAIN, "is empty: give your Syncro subdomain, e.g. `acme`"))?;
    let label = host.strip_suffix(SYNCRO_DOMAIN).unwrap_or(&host);
    if is_dns_label(label) {
        Ok(label.to_string())
    } else {
        Err(invalid_config(
            SUBDOMAIN,
            format!("`{}` is not a Syncro subdomain: give `acme` for https://acme.syncromsp.com", input.trim()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        normalise_subdomain(input).unwrap()
    }

    #[test]
    fn subdomain_forms() {
        assert_eq!(ok("acme"), "acme");
        assert_eq!(ok("acme.syncromsp.com"), "acme");
        assert_eq!(ok("https://acme.syncromsp.com/"), "acme");
        assert_eq!(ok("  HTTPS://Acme.SyncroMSP.com/tickets "), "acme");
    }

    #[test]
    fn subdomain_rejects_other_hosts() {
        for bad in ["acme.example.com", "ac me", "", "https://", "a.b.syncromsp.com", "evil.com@acme"] {
            match normalise_subdomain(bad) {
                Err(ConnectorError::InvalidConfig(p)) => assert_eq!(p.field, SUBDOMAIN, "{bad}"),
                other => panic!("{bad}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn validate_reports_normalisation() {
        let v = validate(Config::new(vec![
            (SUBDOMAIN.into(), "https://acme.syncromsp.com/".into()),
            (API_KEY.into(), "t".into()),
        ]))
        .unwrap();
        assert!(v.config.contains(&(SUBDOMAIN.into(), "acme".into())));
        assert_eq!(v.notices.len(), 1);
        assert!(v.notices[0].contains("normalised to `acme`"));
    }

    #[test]
    fn missing_key_names_field() {
        match validate(Config::new(vec![(SUBDOMAIN.into(), "acme".into())])) {
            Err(ConnectorError::InvalidConfig(p)) => assert_eq!(p.field, API_KEY),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn base_url_override() {
        let s = Settings::from_raw(vec![
            (SUBDOMAIN.into(), "acme".into()),
            (API_KEY.into(), "t".into()),
            (BASE_URL.into(), "http://127.0.0.1:9/api/v1/".into()),
        ])
        .unwrap();
        assert_eq!(s.api_root(), "http://127.0.0.1:9/api/v1");
        let bad = Settings::from_raw(vec![
            (SUBDOMAIN.into(), "acme".into()),
            (API_KEY.into(), "t".into()),
            (BASE_URL.into(), "ftp://x".into()),
        ]);
        assert!(matches!(bad, Err(ConnectorError::InvalidConfig(p)) if p.field == BASE_URL));
    }
}
