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

/// Validated settings used by every call.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub api_key: String,
    pub subdomain: String,
}

impl Settings {
    pub fn from_raw(raw: RawConfig) -> Result<Self, ConnectorError> {
        let config = Config::new(raw);
        let subdomain = normalise_subdomain(config.require(SUBDOMAIN)?)?;
        let api_key = config.require(API_KEY)?.to_string();
        let base_url = match config.get(BASE_URL) {
            Some(url) => validate_base_url(url)?,
            None => format!("https://{subdomain}{SYNCRO_DOMAIN}/api/v1"),
        };
        Ok(Settings { base_url, api_key, subdomain })
    }
}

/// Normalise what the operator typed and say what changed.
pub fn validate(raw: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
    let mut config = Config::new(raw);
    let mut notices = Vec::new();
    let given = config.require(SUBDOMAIN)?.to_string();
    let subdomain = normalise_subdomain(&given)?;
    if subdomain != given {
        notices.push(format!("subdomain: `{given}` normalised to `{subdomain}`"));
        config.set(SUBDOMAIN, subdomain);
    }
    config.require(API_KEY)?;
    if let Some(url) = config.get(BASE_URL).map(str::to_string) {
        let clean = validate_base_url(&url)?;
        if clean != url {
            notices.push(format!("base_url: `{url}` normalised to `{clean}`"));
            config.set(BASE_URL, clean);
        }
    }
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

fn validate_base_url(url: &str) -> Result<String, ConnectorError> {
    let trimmed = url.trim().trim_end_matches('/');
    let lower = trimmed.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(trimmed.to_string()),
        _ => {
            Err(invalid_config(BASE_URL, format!("`{url}` is not an http(s) URL such as http://127.0.0.1:8080/api/v1")))
        }
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
        let v = validate(vec![(SUBDOMAIN.into(), "https://acme.syncromsp.com/".into()), (API_KEY.into(), "t".into())])
            .unwrap();
        assert!(v.config.contains(&(SUBDOMAIN.into(), "acme".into())));
        assert_eq!(v.notices.len(), 1);
        assert!(v.notices[0].contains("normalised to `acme`"));
    }

    #[test]
    fn missing_key_names_field() {
        match validate(vec![(SUBDOMAIN.into(), "acme".into())]) {
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
        assert_eq!(s.base_url, "http://127.0.0.1:9/api/v1");
        assert!(validate_base_url("ftp://x").is_err());
    }
}
