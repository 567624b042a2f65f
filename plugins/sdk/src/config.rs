//! Access to the operator's configuration, with `invalid-config` errors that
//! name the field, so every connector reports missing values the same way.

use crate::bindings::ferry::connector::types::{ConfigProblem, ConnectorError};
use crate::error::invalid_config;

/// Configuration as the host passes it: `(key, value)` pairs.
pub type RawConfig = Vec<(String, String)>;

/// Read-only view over a [`RawConfig`].
#[derive(Debug, Clone, Default)]
pub struct Config {
    pairs: RawConfig,
}

impl Config {
    pub fn new(pairs: RawConfig) -> Self {
        Self { pairs }
    }

    /// The value of `key`, trimmed; `None` when absent or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The value of `key`, or an `invalid-config` error naming it.
    pub fn require(&self, key: &str) -> Result<&str, ConnectorError> {
        self.get(key).ok_or_else(|| {
            ConnectorError::InvalidConfig(ConfigProblem {
                field: key.to_string(),
                reason: "is required but was not set".to_string(),
            })
        })
    }

    /// Replace (or add) `key` with `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        self.pairs.retain(|(k, _)| k != key);
        self.pairs.push((key.to_string(), value));
    }

    /// Back to the wire form, e.g. for `validated-config`.
    pub fn into_pairs(self) -> RawConfig {
        self.pairs
    }

    /// The pairs as given.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Typed settings: see [`crate::settings`]. A missing or malformed value
    /// is an `invalid-config` naming its key.
    pub fn settings<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        crate::settings::from_pairs(&self.pairs)
    }
}

/// An `http(s)://host[:port][/path]` URL an operator typed (a PSA's API root
/// or a simulator's), trimmed and without trailing slashes, so paths can be
/// appended with a leading `/`. Usable as a settings field type; the host's
/// allowlist still decides which origins may be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Validate `value` as the base URL given for `field`.
    pub fn parse(field: &str, value: &str) -> Result<BaseUrl, ConnectorError> {
        BaseUrl::check(value).map_err(|reason| invalid_config(field, reason))
    }

    fn check(value: &str) -> Result<BaseUrl, String> {
        let trimmed = value.trim().trim_end_matches('/');
        let lower = trimmed.to_ascii_lowercase();
        let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
        let authority = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        match authority {
            Some(a) if !a.is_empty() && !a.contains('@') && !trimmed.contains(char::is_whitespace) => {
                Ok(BaseUrl(trimmed.to_string()))
            }
            _ => Err(format!(
                "`{}` is not an http(s) URL such as https://psa.example.com/api (no user info or spaces)",
                value.trim()
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scheme, host and port: what an allowlist entry names.
    pub fn origin(&self) -> &str {
        let start = self.0.find("://").map(|i| i + 3).unwrap_or(0);
        match self.0[start..].find('/') {
            Some(i) => &self.0[..start + i],
            None => &self.0,
        }
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<BaseUrl> for String {
    fn from(url: BaseUrl) -> String {
        url.0
    }
}

impl<'de> serde::Deserialize<'de> for BaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        BaseUrl::check(&text).map_err(serde::de::Error::custom)
    }
}

/// Normalise a host name typed by an operator: strips scheme, path, port-less
/// trailing slashes and surrounding whitespace, lowercases. Returns the bare
/// host (with `:port` if one was given) or `None` if nothing host-like is left.
pub fn bare_host(input: &str) -> Option<String> {
    let mut s = input.trim();
    for scheme in ["https://", "http://"] {
        if s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme) {
            s = &s[scheme.len()..];
            break;
        }
    }
    let s = s.split(['/', '?', '#']).next().unwrap_or("");
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() { None } else { Some(s) }
}

/// True when `label` is a valid DNS label (letters, digits, inner hyphens).
pub fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// True when `host` is a DNS name made of valid labels, optionally `:port`.
pub fn is_host_name(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return false;
    }
    !name.is_empty() && name.len() <= 253 && name.split('.').all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_ignores_blank_and_takes_last() {
        let c = Config::new(vec![("a".into(), "1".into()), ("b".into(), "  ".into()), ("a".into(), " 2 ".into())]);
        assert_eq!(c.get("a"), Some("2"));
        assert_eq!(c.get("b"), None);
        assert_eq!(c.get("c"), None);
    }

    #[test]
    fn require_names_the_field() {
        let c = Config::default();
        match c.require("api_key") {
            Err(ConnectorError::InvalidConfig(p)) => assert_eq!(p.field, "api_key"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bare_host_strips_scheme_and_path() {
        assert_eq!(bare_host("https://Acme.SyncroMSP.com/"), Some("acme.syncromsp.com".into()));
        assert_eq!(bare_host(" api-na.myconnectwise.net "), Some("api-na.myconnectwise.net".into()));
        assert_eq!(bare_host("http://x.example:8443/v4_6_release"), Some("x.example:8443".into()));
        assert_eq!(bare_host("https:///"), None);
    }

    #[test]
    fn base_urls() {
        let ok = |v: &str| BaseUrl::parse("base_url", v).map(|u| u.as_str().to_string());
        assert_eq!(ok(" http://127.0.0.1:9/api/v1/ ").unwrap(), "http://127.0.0.1:9/api/v1");
        assert_eq!(ok("HTTPS://Halo.example").unwrap(), "HTTPS://Halo.example");
        assert_eq!(BaseUrl::parse("x", "https://h.example:8443/a/b").unwrap().origin(), "https://h.example:8443");
        for bad in ["ftp://x", "https://", "https:///path", "https://user@evil.example", "http://a b", "halo.example"] {
            match BaseUrl::parse("auth_url", bad) {
                Err(ConnectorError::InvalidConfig(p)) => assert_eq!(p.field, "auth_url", "{bad}"),
                other => panic!("{bad}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn host_name_validation() {
        assert!(is_host_name("support.mymsp.com"));
        assert!(is_host_name("127.0.0.1:8080"));
        assert!(!is_host_name("evil.com@good.com"));
        assert!(!is_host_name("a..b"));
        assert!(!is_host_name("a.b:99999"));
    }
}
