//! A test-only connector whose behaviour is chosen by its `mode` config
//! value: well-behaved, or one of the ways a third-party connector can go
//! wrong (reach outside its allowlist, loop, exhaust memory, panic, page
//! forever, lie about its records, repeat an id within a page, answer
//! slowly for ever) — and the `state` store, `token-expired` and extra
//! streams of contract 0.3 (modes `state`, `expire-once`, `expire-always`,
//! `contracts`). Ferry's end-to-end
//! tests load it like
//! any other connector and check that each misbehaviour ends in a clear
//! error for that run only.

use ferry_sdk::prelude::*;

struct Probe;

fn companies(n: usize, prefix: &str) -> Vec<Company> {
    (0..n)
        .map(|i| Company {
            id: format!("{prefix}{i}"),
            name: format!("Probe Company {prefix}{i}"),
            active: true,
            deleted: false,
            status: None,
            types: vec![],
            website: None,
            email: None,
            phone: None,
            address: None,
            updated_at: Some("2025-01-01T00:00:00Z".into()),
            card: vec![],
            raw: None,
        })
        .collect()
}

fn field(key: &str, secret: bool) -> ConfigField {
    ConfigField {
        key: key.into(),
        label: key.into(),
        help: format!("probe setting {key}"),
        required: key == "mode",
        secret,
        default_value: None,
    }
}

impl Source for Probe {
    fn info() -> ConnectorInfo {
        ConnectorInfo {
            id: "probe".into(),
            name: "Probe (test only)".into(),
            version: "0.1.0".into(),
            description: "Misbehaves on purpose; used by Ferry's tests.".into(),
            config: vec![
                field("mode", false),
                field("base_url", false),
                field("target", false),
                field("count", false),
                field("token", true),
                // Tests run several probes against one server; each is its
                // own "PSA account" to Ferry's account identity.
                field("account", false),
                // Mode `contracts`: a contract id the PSA no longer lists,
                // and whether one contract is invalid (empty name).
                field("drop", false),
                field("bad", false),
            ],
            streams: vec![StreamInfo {
                kind: StreamKind::Companies,
                incremental: false,
                description: "probe companies".into(),
            }],
            allowed_hosts: vec!["{base_url}".into()],
            rate_limit: None,
            // Declared in every mode (info() sees no config): only mode
            // `contracts` lists any; the others return an empty page, which
            // completes. Tests about a failing companies stream sync
            // `--stream companies`, or the run would be partial.
            extra_streams: vec![ExtraStreamInfo {
                name: "contracts".into(),
                description: "probe contracts".into(),
                incremental: true,
            }],
        }
    }

    fn validate_config(config: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
        let c = Config::new(config);
        if c.get("mode") == Some("invalid") {
            return Err(invalid_config("mode", "is `invalid` on purpose"));
        }
        let mut pairs = c.clone().into_pairs();
        for (k, v) in pairs.iter_mut() {
            match (c.get("mode"), k.as_str()) {
                // Rewrites the base URL to another host: the allowlist moves.
                (Some("move-host"), "base_url") => *v = "http://127.0.0.3:7".into(),
                // Tidies the base URL without changing its origin.
                (Some("tidy-host"), "base_url") => *v = format!("{}/", v.trim_end_matches('/')),
                // Changes a value no host template uses.
                (_, "account") => *v = v.trim().to_lowercase(),
                _ => {}
            }
        }
        Ok(ValidatedConfig { config: pairs, notices: vec![] })
    }

    fn check(config: RawConfig) -> Result<CheckReport, ConnectorError> {
        let c = Config::new(config);
        match c.get("mode") {
            Some("outside") => {
                let target = c.require("target")?;
                let r = Client::new(target).get_url(target)?;
                Ok(CheckReport {
                    summary: format!("reached {target}: HTTP {}", r.status),
                    facts: vec![],
                    warnings: vec![],
                })
            }
            Some("panic") => panic!("probe panics on purpose"),
            // Wrong credentials answered as something other than
            // `unauthorized`: `plugin check` must fail that.
            Some("wrong-token-not-found") if c.get("token") != Some("abcd") => {
                Err(ConnectorError::NotFound("no such tenant".into()))
            }
            // Keep a session for `read` to find; one value that expires at
            // once.
            Some("state") => {
                let before = if ferry_sdk::state::get(SESSION).is_some() { "kept" } else { "none" };
                ferry_sdk::state::set(SESSION, &session_value(&c), None)
                    .map_err(|e| ConnectorError::Other(format!("state.set: {e:?}")))?;
                ferry_sdk::state::set("gone", "soon gone", Some(0))
                    .map_err(|e| ConnectorError::Other(format!("state.set: {e:?}")))?;
                Ok(CheckReport { summary: format!("session before: {before}"), facts: vec![], warnings: vec![] })
            }
            _ => {
                let base = c.require("base_url")?;
                let r = Client::new(base).get("/", &[])?;
                Ok(CheckReport { summary: format!("base answered HTTP {}", r.status), facts: vec![], warnings: vec![] })
            }
        }
    }

    fn read(
        config: RawConfig,
        stream: StreamRef,
        cursor: Option<String>,
        since: Option<String>,
    ) -> Result<Page, ConnectorError> {
        let c = Config::new(config);
        match stream {
            StreamRef::Extra(name) if name == "contracts" => return read_contracts(&c, cursor, since),
            StreamRef::Kind(StreamKind::Companies) => {}
            other => return Err(ConnectorError::UnsupportedStream(other)),
        }
        let count: usize = c.get("count").and_then(|n| n.parse().ok()).unwrap_or(3);
        match c.require("mode")? {
            "ok" | "contracts" => {
                Ok(Page { records: Records::Companies(companies(count, "")), next: None, total: None })
            }
            "outside" => {
                let target = c.require("target")?;
                Client::new(target).get_url(target)?;
                Ok(Page { records: Records::Companies(vec![]), next: None, total: None })
            }
            // Follow one redirect by hand, as a connector might.
            "follow" => {
                let target = c.require("target")?;
                let first = Client::new(target).get_url(target)?;
                let location = first
                    .header("location")
                    .ok_or_else(|| ConnectorError::Other(format!("expected a redirect, got HTTP {}", first.status)))?
                    .to_string();
                let second = Client::new(&location).get_url(&location)?;
                Ok(Page {
                    records: Records::Companies(companies(second.status as usize % 3, "f")),
                    next: None,
                    total: None,
                })
            }
            // Report every config value this connector was given.
            "echo-config" => Err(ConnectorError::Other(format!(
                "config seen: {}",
                c.clone().into_pairs().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ))),
            "loop" => {
                let mut x: u64 = 1;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            // 2 GiB in 64 MiB steps: real memory growth, not a capacity
            // overflow (a single 2 GiB Vec is over wasm32's isize::MAX).
            "alloc" => {
                let mut held: Vec<Vec<u8>> = Vec::new();
                for _ in 0..32 {
                    held.push(vec![7u8; 64 * 1024 * 1024]);
                }
                Err(ConnectorError::Other(format!("allocated {} chunks", held.len())))
            }
            "panic" => panic!("probe panics on purpose"),
            "huge-page" => Ok(Page { records: Records::Companies(companies(count, "h")), next: None, total: None }),
            // The same id on two pages.
            "duplicates" => match cursor.as_deref() {
                None => {
                    Ok(Page { records: Records::Companies(companies(2, "d")), next: Some("2".into()), total: None })
                }
                _ => Ok(Page { records: Records::Companies(companies(2, "d")), next: None, total: None }),
            },
            // Two records with one id in a single page (the second differs).
            "duplicate-in-page" => {
                let mut list = companies(3, "p");
                list[2].id = list[0].id.clone();
                Ok(Page { records: Records::Companies(list), next: None, total: None })
            }
            "repeat-cursor" => {
                Ok(Page { records: Records::Companies(companies(1, "r")), next: Some("same".into()), total: None })
            }
            "endless" => {
                let n: u64 = cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
                Ok(Page {
                    records: Records::Companies(companies(1, &format!("e{n}-"))),
                    next: Some((n + 1).to_string()),
                    total: None,
                })
            }
            // Within every limit and never ending: each page waits on the
            // PSA (a slow simulator) and names the next.
            "slow-endless" => {
                let base = c.require("base_url")?;
                Client::new(base).get("/", &[])?;
                let n: u64 = cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
                Ok(Page {
                    records: Records::Companies(companies(1, &format!("s{n}-"))),
                    next: Some((n + 1).to_string()),
                    total: None,
                })
            }
            // Mostly valid: one record in `count` has a negative id (valid),
            // one an unreadable timestamp, one an empty name.
            "some-bad-records" => {
                let mut list = companies(count.max(3), "q");
                list[0].id = "-7".into();
                list[1].updated_at = Some("next week".into());
                list[2].name = String::new();
                Ok(Page { records: Records::Companies(list), next: None, total: None })
            }
            // Mostly lies: two of three records have unreadable timestamps.
            "bad-record" => {
                let mut list = companies(3, "b");
                list[1].updated_at = Some("last tuesday".into());
                list[2].updated_at = Some("the day before".into());
                Ok(Page { records: Records::Companies(list), next: None, total: None })
            }
            "wrong-stream" => Ok(Page { records: Records::Assets(vec![]), next: None, total: None }.with_contacts()),
            // Report what state holds in the company names (a marker, never
            // the value), and log the value itself (the host must mask it).
            "state" => {
                let session = ferry_sdk::state::get(SESSION);
                if let Some(v) = &session {
                    ferry_sdk::log::warn(&format!("probe session value {v}"));
                }
                let gone = ferry_sdk::state::get("gone");
                let cap = match ferry_sdk::state::set("big", &"b".repeat(70 * 1024), None) {
                    Err(ferry_sdk::state::StateError::TooLarge(cap)) => format!("refused-{cap}"),
                    Err(e) => format!("{e:?}"),
                    Ok(()) => "stored".into(),
                };
                let key = match ferry_sdk::state::set("no spaces", "x", None) {
                    Err(ferry_sdk::state::StateError::InvalidKey(_)) => "refused",
                    _ => "accepted",
                };
                let marker = format!(
                    "session-{} gone-{} cap-{cap} key-{key}",
                    if session.is_some() { "kept" } else { "none" },
                    if gone.is_some() { "kept" } else { "none" },
                );
                let mut list = companies(1, "s");
                list[0].name = marker;
                Ok(Page { records: Records::Companies(list), next: None, total: None })
            }
            // A cached token works once: the next call finds it and says it
            // expired. The host clears state and calls again, which fetches
            // a fresh one.
            "expire-once" => {
                if ferry_sdk::state::get("token").is_some() {
                    return Err(ConnectorError::TokenExpired("the cached token expired".into()));
                }
                ferry_sdk::state::set("token", "probe-token-fresh", None)
                    .map_err(|e| ConnectorError::Other(format!("state.set: {e:?}")))?;
                Ok(Page { records: Records::Companies(companies(count, "t")), next: None, total: None })
            }
            // Every token is refused as expired: the credentials are bad.
            "expire-always" => {
                let seen = ferry_sdk::state::get("token").is_some();
                ferry_sdk::state::set("token", "probe-token-any", None)
                    .map_err(|e| ConnectorError::Other(format!("state.set: {e:?}")))?;
                Err(ConnectorError::TokenExpired(format!("refused (state had a token: {seen})")))
            }
            // Ordinary words and a token kept in state, then found in the
            // records: the word must stay, the token never be stored, and
            // a record whose id holds the token be kept aside unrewritten.
            "state-words" => {
                for (key, value) in [("w", "Work"), ("tok", STATE_TOKEN)] {
                    ferry_sdk::state::set(key, value, None)
                        .map_err(|e| ConnectorError::Other(format!("state.set: {e:?}")))?;
                }
                let mut list = companies(3, "sw");
                list[0].name = "Workstation Co".into();
                list[0].types = vec!["Workstation".into()];
                list[0].card = vec![Field { label: "Session".into(), value: format!("Bearer {STATE_TOKEN}") }];
                list[1].id = "Work-1".into();
                list[2].id = format!("{STATE_TOKEN}-2");
                Ok(Page { records: Records::Companies(list), next: None, total: None })
            }
            // The secret token sent in the URL path and query in every
            // valid percent-encoding (the request log must mask them all).
            "url-encodings" => {
                let base = c.require("base_url")?.trim_end_matches('/').to_string();
                let token = c.require("token")?;
                for (upper, plus) in [(true, false), (false, false), (true, true), (false, true)] {
                    let e = percent_encode(token, upper, plus);
                    let path = percent_encode(token, upper, false);
                    let _ = Client::new(&base).get_url(&format!("{base}/k/{path}/u?q={e}&page=1"));
                }
                Ok(Page { records: Records::Companies(companies(1, "u")), next: None, total: None })
            }
            "echo-secret" => Err(ConnectorError::Other(format!("the token is {}", c.get("token").unwrap_or("")))),
            other => Err(invalid_config("mode", format!("unknown mode `{other}`"))),
        }
    }
}

/// Mode `contracts`: three contracts of company `0` over two pages
/// (cursor `2`), all updated 2025-01-01 (`since` after that returns none);
/// `drop=ID` leaves one out, `bad=1` adds one without a name to page two.
/// Other modes list no contracts.
fn read_contracts(c: &Config, cursor: Option<String>, since: Option<String>) -> Result<Page, ConnectorError> {
    const UPDATED: &str = "2025-01-01T00:00:00Z";
    let empty = Page { records: Records::Items(vec![]), next: None, total: None };
    if c.get("mode") != Some("contracts") || since.as_deref().is_some_and(|s| s > UPDATED) {
        return Ok(empty);
    }
    let item = |id: &str, name: &str, type_name: &str| Item {
        id: id.into(),
        company_id: Some("0".into()),
        name: name.into(),
        type_name: type_name.into(),
        active: true,
        updated_at: Some(UPDATED.into()),
        card: vec![Field { label: "Billing".into(), value: format!("monthly ({id})") }],
        raw: None,
    };
    let (mut items, next) = match cursor.as_deref() {
        None => {
            (vec![item("c1", "Managed services", "Managed"), item("c2", "Break-fix hours", "Block hours")], Some("2"))
        }
        Some("2") => {
            let mut page = vec![item("c3", "Backup add-on", "Managed")];
            if c.get("bad") == Some("1") {
                page.push(item("c4", "", "Managed"));
            }
            (page, None)
        }
        Some(other) => return Err(ConnectorError::BadResponse(format!("no page `{other}`"))),
    };
    items.retain(|i| Some(i.id.as_str()) != c.get("drop"));
    Ok(Page { records: Records::Items(items), next: next.map(str::to_string), total: Some(3) })
}

/// Every byte but RFC 3986's unreserved ones as `%XX` (hex in `upper` or
/// lower case), a space as `+` when `plus`.
fn percent_encode(s: &str, upper: bool, plus: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            b' ' if plus => "+".into(),
            _ if upper => format!("%{b:02X}"),
            _ => format!("%{b:02x}"),
        })
        .collect()
}

/// The token the `state-words` mode keeps in state (token-like: long).
const STATE_TOKEN: &str = "tok_state_0123456789abcdef";

/// The `state` mode's session key and value (long enough to be masked).
const SESSION: &str = "session";

fn session_value(c: &Config) -> String {
    format!("probe-session-{}", c.get("account").unwrap_or("none"))
}

/// A page that claims contacts while companies were asked for.
trait WithContacts {
    fn with_contacts(self) -> Self;
}

impl WithContacts for Page {
    fn with_contacts(mut self) -> Self {
        self.records = Records::Contacts(vec![Contact {
            id: "x".into(),
            company_id: None,
            name: "Wrong Stream".into(),
            first_name: None,
            last_name: None,
            title: None,
            email: None,
            phone: None,
            mobile: None,
            active: true,
            updated_at: None,
            card: vec![],
            raw: None,
        }]);
        self
    }
}

ferry_sdk::export_source!(Probe);
