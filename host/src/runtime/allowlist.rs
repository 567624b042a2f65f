//! Which origins a connector may call.
//!
//! A connector declares host templates over its config
//! (`https://{subdomain}.syncromsp.com`, `{base_url}`); Ferry expands them
//! with the integration's config into exact origins (scheme, host, port) and
//! checks every request's *parsed* URL against them. Lessons from Spin's
//! CVE-2024-32980: no relative or authority-less URLs, no userinfo, no
//! prefix matching, no wildcard, and the Host header is never the connector's
//! to set.

use std::collections::HashMap;
use std::fmt;

use url::Url;

/// One allowed origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

impl Origin {
    fn of(url: &Url) -> Option<Origin> {
        let host = url.host_str()?.to_ascii_lowercase();
        let port = url.port_or_known_default()?;
        Some(Origin { scheme: url.scheme().to_string(), host, port })
    }

    /// The origin a config value names by itself, when it reads as one: an
    /// http(s) URL, or a bare host name (taken as https). What an operator
    /// who typed `acme.syncromsp.com` or `https://acme.syncromsp.com/` means.
    pub fn named_by(value: &str) -> Option<Origin> {
        let v = value.trim();
        let url = match Url::parse(v) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            _ if !v.is_empty() && v.split('.').all(is_dns_label) => Url::parse(&format!("https://{v}")).ok()?,
            _ => return None,
        };
        if !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        Origin::of(&url)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("host template `{template}` is malformed: {why}")]
    Malformed { template: String, why: String },
    #[error("config value for `{key}` cannot be used in host template `{template}`: {why}")]
    BadValue { template: String, key: String, why: String },
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{url}` is not an absolute http(s) URL")]
    NotAbsolute { url: String },
    #[error("`{url}` carries user info (`user@host`), which Ferry never sends")]
    UserInfo { url: String },
    #[error("{origin} is not among the connector's allowed hosts ({allowed})")]
    NotAllowed { origin: String, allowed: String },
}

/// The expanded allowlist of one integration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    origins: Vec<Origin>,
}

impl Allowlist {
    /// Expand `templates` over `config`. Templates whose placeholders are all
    /// unset are skipped (e.g. `{base_url}` when no override is configured).
    pub fn expand(templates: &[String], config: &HashMap<String, String>) -> Result<Allowlist, TemplateError> {
        let mut origins = Vec::new();
        for template in templates {
            if let Some(origin) = expand_one(template, config)?
                && !origins.contains(&origin)
            {
                origins.push(origin);
            }
        }
        Ok(Allowlist { origins })
    }

    /// The config keys the templates use (`{base_url}`, `{subdomain}`...).
    pub fn template_keys(templates: &[String]) -> Vec<String> {
        let mut keys: Vec<String> = templates.iter().filter_map(|t| placeholders(t).ok()).flatten().collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Check templates are well formed, without any config (install time).
    pub fn validate_templates(templates: &[String]) -> Result<(), TemplateError> {
        for template in templates {
            let keys = placeholders(template)?;
            let sample: HashMap<String, String> = keys
                .iter()
                .map(|k| {
                    let v = if template.trim() == format!("{{{k}}}") { "https://example.test" } else { "example" };
                    (k.clone(), v.to_string())
                })
                .collect();
            expand_one(template, &sample)?;
        }
        Ok(())
    }

    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// The parsed URL if the connector may call it.
    pub fn check(&self, raw: &str) -> Result<Url, Refusal> {
        let url = Url::parse(raw).map_err(|_| Refusal::NotAbsolute { url: short(raw) })?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host().is_none() {
            return Err(Refusal::NotAbsolute { url: short(raw) });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::UserInfo { url: short(raw) });
        }
        let origin = Origin::of(&url).ok_or_else(|| Refusal::NotAbsolute { url: short(raw) })?;
        if self.origins.contains(&origin) {
            Ok(url)
        } else {
            Err(Refusal::NotAllowed { origin: origin.to_string(), allowed: self.describe() })
        }
    }

    pub fn describe(&self) -> String {
        if self.origins.is_empty() {
            "none".to_string()
        } else {
            self.origins.iter().map(Origin::to_string).collect::<Vec<_>>().join(", ")
        }
    }
}

/// `{key}` names in a template, in order.
fn placeholders(template: &str) -> Result<Vec<String>, TemplateError> {
    let malformed = |why: &str| TemplateError::Malformed { template: template.to_string(), why: why.to_string() };
    let mut keys = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let end = after.find('}').ok_or_else(|| malformed("unclosed `{`"))?;
        let key = &after[..end];
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(malformed("placeholder names use letters, digits, `_` and `-`"));
        }
        keys.push(key.to_string());
        rest = &after[end + 1..];
    }
    if rest.contains('}') {
        return Err(malformed("stray `}`"));
    }
    if template.contains('*') {
        return Err(malformed("wildcards are not allowed"));
    }
    Ok(keys)
}

fn expand_one(template: &str, config: &HashMap<String, String>) -> Result<Option<Origin>, TemplateError> {
    let keys = placeholders(template)?;
    let value = |k: &str| config.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    if !keys.is_empty() && keys.iter().all(|k| value(k).is_none()) {
        return Ok(None);
    }
    let trimmed = template.trim();
    // A template that is one placeholder holds a whole URL (a base URL override).
    if keys.len() == 1 && trimmed == format!("{{{}}}", keys[0]) {
        let key = &keys[0];
        let Some(v) = value(key) else { return Ok(None) };
        let bad = |why: &str| TemplateError::BadValue { template: template.into(), key: key.clone(), why: why.into() };
        let url = Url::parse(v).map_err(|e| bad(&format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("only http and https URLs are allowed"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("user info is not allowed"));
        }
        return Origin::of(&url).map(Some).ok_or_else(|| bad("the URL has no host"));
    }
    let mut expanded = trimmed.to_string();
    for key in &keys {
        let Some(v) = value(key) else { return Ok(None) };
        let ok = !v.is_empty() && v.split('.').all(is_dns_label);
        if !ok {
            return Err(TemplateError::BadValue {
                template: template.into(),
                key: key.clone(),
                why: "inside a host name a value may only hold DNS labels (letters, digits, `-`, `.`)".into(),
            });
        }
        expanded = expanded.replace(&format!("{{{key}}}"), &v.to_ascii_lowercase());
    }
    let malformed = |why: &str| TemplateError::Malformed { template: template.to_string(), why: why.to_string() };
    let url = Url::parse(&expanded).map_err(|_| malformed("not a `scheme://host[:port]` URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(malformed("only http and https are allowed"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(malformed("give only `scheme://host[:port]`"));
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(malformed("give only `scheme://host[:port]`, without a path"));
    }
    Origin::of(&url).map(Some).ok_or_else(|| malformed("no host"))
}

fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

fn short(url: &str) -> String {
    let mut s: String = url.chars().take(200).collect();
    if url.chars().count() > 200 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn syncro(pairs: &[(&str, &str)]) -> Allowlist {
        Allowlist::expand(&["https://{subdomain}.syncromsp.com".into(), "{base_url}".into()], &cfg(pairs)).unwrap()
    }

    #[test]
    fn expands_host_template_and_skips_unset_override() {
        let a = syncro(&[("subdomain", "acme")]);
        assert_eq!(a.origins().len(), 1);
        assert!(a.check("https://acme.syncromsp.com/api/v1/customers?page=2").is_ok());
        assert!(a.check("https://ACME.syncromsp.com:443/api/v1/me").is_ok());
    }

    #[test]
    fn base_url_override_allows_exactly_that_origin() {
        let a = syncro(&[("subdomain", "acme"), ("base_url", "http://127.0.0.1:8123/api/v1")]);
        assert!(a.check("http://127.0.0.1:8123/api/v1/me").is_ok());
        assert!(a.check("http://127.0.0.1:8124/api/v1/me").is_err(), "other port");
        assert!(a.check("https://127.0.0.1:8123/api/v1/me").is_err(), "other scheme");
        assert!(a.check("http://localhost:8123/api/v1/me").is_err(), "other name for the same host");
    }

    #[test]
    fn refuses_tricks() {
        let a = syncro(&[("subdomain", "acme")]);
        for url in [
            "https://acme.syncromsp.com@evil.com/",
            "https://acme.syncromsp.com.evil.com/",
            "https://evil.com/acme.syncromsp.com",
            "https://xacme.syncromsp.com/",
            "http://acme.syncromsp.com/",
            "https://acme.syncromsp.com:8443/",
            "https://93.184.216.34/",
            "//acme.syncromsp.com/api",
            "/api/v1/me",
            "file:///etc/passwd",
            "https://user:pw@acme.syncromsp.com/",
            "data:text/plain,hi",
        ] {
            assert!(a.check(url).is_err(), "{url} must be refused");
        }
        match a.check("https://acme.syncromsp.com@evil.com/") {
            Err(Refusal::UserInfo { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn config_values_cannot_smuggle_hosts() {
        let t = vec!["https://{subdomain}.syncromsp.com".to_string()];
        for bad in ["evil.com/", "evil.com#", "a@evil.com", "evil.com:80", "x y"] {
            assert!(Allowlist::expand(&t, &cfg(&[("subdomain", bad)])).is_err(), "{bad}");
        }
        let b = vec!["{base_url}".to_string()];
        assert!(Allowlist::expand(&b, &cfg(&[("base_url", "ftp://x")])).is_err());
        assert!(Allowlist::expand(&b, &cfg(&[("base_url", "http://u@x")])).is_err());
    }

    #[test]
    fn template_validation() {
        assert!(Allowlist::validate_templates(&["https://{site}".into(), "{base_url}".into()]).is_ok());
        for bad in ["*", "https://*.example.com", "https://{a", "example.com", "https://x.com/path", "ftp://{a}.com"] {
            assert!(Allowlist::validate_templates(&[bad.to_string()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_allowlist_refuses_everything() {
        let a = Allowlist::default();
        assert!(matches!(a.check("https://example.com/"), Err(Refusal::NotAllowed { .. })));
    }
}
