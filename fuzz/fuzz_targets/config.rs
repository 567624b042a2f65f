//! Operator and connector text Ferry parses: host templates expanded over
//! config values, URL checks, secret references, KEY=VALUE assignments,
//! company names, domains, phones, cron expressions and time zones. None
//! may panic.
#![no_main]

use std::collections::HashMap;

use ferry::integrations::parse_assignment;
use ferry::matching::{CompanyFeatures, Index, normalize_domain, normalize_name, normalize_phone};
use ferry::runtime::allowlist::Allowlist;
use ferry::schedule::Entry;
use ferry::secrets::{Redactor, SecretSource};
use ferry::sync::Mode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parts: Vec<&str> = text.splitn(4, '\u{1f}').collect();
    let template = parts.first().copied().unwrap_or_default();
    let value = parts.get(1).copied().unwrap_or_default();
    let url = parts.get(2).copied().unwrap_or_default();
    let rest = parts.get(3).copied().unwrap_or_default();

    let _ = Allowlist::validate_templates(&[template.to_string()]);
    let config: HashMap<String, String> =
        [("site".to_string(), value.to_string()), ("base_url".to_string(), value.to_string())].into();
    if let Ok(allow) = Allowlist::expand(&[template.to_string(), "{base_url}".to_string()], &config) {
        if let Ok(parsed) = allow.check(url) {
            // Anything accepted is an absolute http(s) URL without userinfo.
            assert!(matches!(parsed.scheme(), "http" | "https"));
            assert!(parsed.username().is_empty() && parsed.password().is_none());
        }
    }
    let _ = SecretSource::parse(value).map(|s| s.to_stored());
    let _ = Redactor::new([value.to_string()]).redact(rest);
    let _ = parse_assignment(rest);
    let _ = normalize_domain(url);
    let _ = normalize_phone(value);
    let name = normalize_name(rest);
    let index = Index::from_companies(vec![(1, CompanyFeatures::new(template, Some(url), Some(value)))]);
    let _ = index.suggestions(&CompanyFeatures::new(&name, None, None), 3);
    let _ = Entry::parse(template, value, Mode::Full);
});
