//! A test-only connector that attacks what is *around* the sandbox: the
//! host's output, redaction and bounds. Its `mode` config value picks the
//! attack: escape sequences and every control character in names, errors
//! and logs; the integration's secret (`token`) echoed through check
//! reports, ids, timestamps, cursors, stderr and logs; huge errors, names
//! and log floods; exiting, recursing too deep, sleeping. Its own `info()`
//! name carries escape sequences too. Ferry's end-to-end tests
//! (`tests/hostile.rs`) check that none of it reaches a terminal raw, leaks
//! the secret, or grows without bound.

use ferry_sdk::bindings::ferry::connector::log::{Level, emit};
use ferry_sdk::prelude::*;

struct Hostile;

/// The title-setting, screen-clearing, red name of the issue.
pub const EVIL: &str = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31m Corp";

/// Every character a terminal or a log could act on: C0, DEL, C1, and the
/// Unicode format characters (bidi overrides and isolates, zero-width
/// characters, BOM, line/paragraph separators, a tag character).
pub fn unsafe_chars() -> Vec<char> {
    let mut all: Vec<char> = (0u32..0x20).chain([0x7f]).chain(0x80..0xa0).filter_map(char::from_u32).collect();
    all.extend(
        [
            0xad, 0x061c, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c,
            0x202d, 0x202e, 0x2060, 0x2066, 0x2067, 0x2068, 0x2069, 0xfeff, 0xe0041,
        ]
        .into_iter()
        .filter_map(char::from_u32),
    );
    all
}

fn company(id: String, name: String) -> Company {
    Company {
        id,
        name,
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
    }
}

fn page(records: Vec<Company>, next: Option<String>) -> Result<Page, ConnectorError> {
    Ok(Page { records: Records::Companies(records), next, total: None })
}

fn field(key: &str, secret: bool) -> ConfigField {
    ConfigField {
        key: key.into(),
        label: format!("{key}\u{1b}[8m"),
        help: format!("hostile setting {key}\r\n\u{202e}"),
        required: key == "mode",
        secret,
        default_value: None,
    }
}

/// Recurse without end; the local buffer lives on the shadow stack in
/// linear memory, so that stack runs out first.
#[inline(never)]
fn deep(n: u64) -> u64 {
    let buf = std::hint::black_box([n as u8; 512]);
    if std::hint::black_box(n) == u64::MAX {
        return 0;
    }
    deep(n + 1).wrapping_add(buf[(n % 512) as usize] as u64)
}

impl Source for Hostile {
    fn info() -> ConnectorInfo {
        ConnectorInfo {
            id: "hostile".into(),
            name: "Hostile\u{1b}]0;pwned\u{7}\u{1b}[2J (test only)\r\u{8}\u{202e}".to_string(),
            version: "0.1.0".into(),
            description: "Attacks the host's output.\n\u{1b}[31mERROR forged line\u{1b}[0m\u{0}".to_string(),
            config: vec![field("mode", false), field("base_url", false), field("count", false), field("token", true)],
            streams: vec![StreamInfo {
                kind: StreamKind::Companies,
                incremental: false,
                description: "companies\u{1b}[2J".into(),
            }],
            allowed_hosts: vec!["{base_url}".into()],
            rate_limit: None,
            extra_streams: vec![],
        }
    }

    fn validate_config(config: RawConfig) -> Result<ValidatedConfig, ConnectorError> {
        let c = Config::new(config);
        let token = c.get("token").unwrap_or("").to_string();
        let notices = match c.get("mode") {
            Some("notice") => vec![format!("normalised\u{1b}[2J; the token was {token}\nforged line")],
            _ => vec![],
        };
        let copy = c.get("mode") == Some("copy-secret");
        let mut config = c.into_pairs();
        if copy {
            // Moves the secret into a plain (stored, shown) key.
            config.retain(|(k, _)| k != "count");
            config.push(("count".into(), token.clone()));
        }
        Ok(ValidatedConfig { config, notices })
    }

    fn check(config: RawConfig) -> Result<CheckReport, ConnectorError> {
        let c = Config::new(config);
        let token = c.get("token").unwrap_or("");
        match c.get("mode") {
            Some("exit") => std::process::exit(0),
            Some("check-error") => Err(ConnectorError::Unauthorized(format!("refused {token}\u{1b}[2J\nforged"))),
            _ => Ok(CheckReport {
                summary: format!("{EVIL}: signed in with {token}"),
                facts: vec![
                    Field { label: "Token\u{1b}]0;x\u{7}".to_string(), value: token.to_string() },
                    Field { label: "Tenant".into(), value: format!("t\r\n{token}") },
                ],
                warnings: vec![format!("the token {token} expires\r\nERROR forged")],
            }),
        }
    }

    fn read(
        config: RawConfig,
        stream: StreamRef,
        cursor: Option<String>,
        _since: Option<String>,
    ) -> Result<Page, ConnectorError> {
        // Extra streams (contract 0.3): this connector declares none.
        let StreamRef::Kind(stream) = stream else { return Err(ConnectorError::UnsupportedStream(stream)) };
        if stream != StreamKind::Companies {
            return Err(ConnectorError::UnsupportedStream(StreamRef::Kind(stream)));
        }
        let c = Config::new(config);
        let token = c.get("token").unwrap_or("").to_string();
        let count: u64 = c.get("count").and_then(|n| n.parse().ok()).unwrap_or(0);
        let at: u64 = cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
        match c.require("mode")? {
            "ok" => page(vec![company("1".into(), "Fine Corp".into())], None),
            // Every unsafe character in a name and a card, one company each.
            "escapes" => {
                let mut list = vec![company("evil".into(), EVIL.into())];
                for (i, ch) in unsafe_chars().into_iter().enumerate() {
                    let mut co = company(format!("c{i}"), format!("Evil{ch}Corp {i}"));
                    co.card = vec![Field { label: format!("Label{ch}"), value: format!("Value{ch}{i}") }];
                    list.push(co);
                }
                emit(Level::Warn, &format!("{EVIL}\nERROR forged log line\r\u{1b}[2K"));
                page(list, None)
            }
            "escape-error" => Err(ConnectorError::Other(format!(
                "{EVIL} failed\nERROR forged log line\r\u{0}\u{8}\u{202e}with {token}"
            ))),
            "secret-log" => {
                for level in [Level::Trace, Level::Debug, Level::Info, Level::Warn, Level::Error] {
                    emit(level, &format!("token={token}\nERROR forged \u{1b}[2J"));
                }
                emit(Level::Error, &format!("{}{token}", "x".repeat(4090)));
                page(vec![company("1".into(), "Fine Corp".into())], None)
            }
            // The secret in an id the host rejects (and quotes).
            "secret-id" => page(vec![company(format!("id-{token}\u{0}\u{1b}[2J"), "Corp".into())], None),
            // The secret where the host's 60-character quote of a bad
            // timestamp would cut it.
            "secret-time" => {
                let mut co = company("1".into(), "Corp".into());
                co.updated_at = Some(format!("{}{token}", "t".repeat(55)));
                page(vec![co], None)
            }
            // A repeating cursor holding the secret, cut by the host's quote.
            "secret-cursor" => {
                page(vec![company("1".into(), "Corp".into())], Some(format!("{}{token}", "c".repeat(75))))
            }
            // The secret placed so that keeping stderr's last 300 characters
            // before redaction would keep all of it but its first character.
            "secret-stderr" => {
                let tail = 300 - token.chars().count() + 1;
                eprint!("{token}{}", "y".repeat(tail));
                std::process::abort()
            }
            // More stderr than the host captures, so the capture ends inside
            // a copy of the secret; then a panic repeating it.
            "stderr-flood" => {
                for _ in 0..5_000 {
                    eprint!("{token}");
                }
                panic!("{}", token.repeat(300))
            }
            "traceback" => {
                eprintln!(
                    "Traceback (most recent call last):\n  File \"app.py\", line 7, in read\n    fetch({token})\nValueError: bad page \u{1b}[2J"
                );
                std::process::abort()
            }
            "huge-error" => Err(ConnectorError::Other(format!("{token} {}", "E".repeat(30 * 1024 * 1024)))),
            // `count` companies, 10,000 a page; the first has a
            // 900,000-character name and a 50,000-character card value.
            "huge-name" => {
                let end = (at + 10_000).min(count);
                let list = (at..end)
                    .map(|i| {
                        let mut co = company(format!("{i}"), format!("Company {i}"));
                        if i == 0 {
                            co.name = "N".repeat(900_000);
                            co.card = vec![Field { label: "Notes".into(), value: "v".repeat(50_000) }];
                        }
                        co
                    })
                    .collect();
                page(list, (end < count).then(|| end.to_string()))
            }
            // 3,000 log lines a page, `count` pages: past the run's budget.
            "log-flood" => {
                for i in 0..3_000 {
                    emit(Level::Warn, &format!("flood {at}/{i}"));
                }
                let next = (at + 1 < count).then(|| (at + 1).to_string());
                page(vec![company(format!("{at}"), format!("Flood {at}"))], next)
            }
            "exit" => std::process::exit(count as i32),
            "recurse" => {
                let n = deep(std::hint::black_box(0));
                page(vec![company("1".into(), format!("depth {n}"))], None)
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(count));
                page(vec![company("1".into(), "Rested Corp".into())], None)
            }
            other => Err(invalid_config("mode", format!("unknown mode `{other}`"))),
        }
    }
}

ferry_sdk::export_connector!(Hostile);
