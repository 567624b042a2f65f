//! Access to the operator's configuration, with `invalid-config` errors that
//! name the field, so every connector reports missing values the same way.

use crate::bindings::ferry::connector::types::{ConfigProblem, ConnectorError};

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
    fn host_name_validation() {
        assert!(is_host_name("support.mymsp.com"));
        assert!(is_host_name("127.0.0.1:8080"));
        assert!(!is_host_name("evil.com@good.com"));
        assert!(!is_host_name("a..b"));
        assert!(!is_host_name("a.b:99999"));
    }
}
