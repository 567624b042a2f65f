//! `ferry plugin check`: a conformance run for connector authors, in the
//! spirit of Airbyte's connector acceptance tests. It loads a component
//! without installing it and exercises the whole contract — info, config
//! validation, check, every stream's paging — reporting one line per check
//! with what was wrong.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde::Serialize;

use crate::model::{ConnectorError, ConnectorInfo, Record, StreamId, StreamKind};
use crate::registry;
use crate::runtime::{LoadedConnector, Runtime, RuntimeError, SessionConfig};
use crate::secrets::Redactor;
use crate::sync::records;
use crate::text;

/// Pages read per stream at most; a connector needing more to finish a
/// test data set is treated as never ending.
const MAX_PAGES: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    Pass,
    /// Works, but something the author should fix (does not fail the run).
    Warn,
    Fail,
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckLine {
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub connector: Option<String>,
    pub contract: Option<String>,
    pub checks: Vec<CheckLine>,
}

impl Report {
    pub(crate) fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    fn push(&mut self, name: impl Into<String>, outcome: Outcome, detail: impl Into<String>) {
        self.checks.push(CheckLine { name: name.into(), outcome, detail: detail.into() });
    }
}

/// Strings a connector returned that hold control or format characters
/// (shown escaped; the first few are listed).
#[derive(Default)]
struct Unsafe {
    count: usize,
    examples: Vec<String>,
}

impl Unsafe {
    fn look(&mut self, what: impl FnOnce() -> String, value: &str) {
        if text::has_unsafe(value) {
            self.count += 1;
            if self.examples.len() < 5 {
                self.examples.push(format!("{} `{}`", what(), text::visible_capped(value, 60)));
            }
        }
    }

    fn record(&mut self, stream: &StreamId, r: &Record) {
        let id = r.external_id();
        self.look(|| format!("{stream} id"), &id);
        self.look(|| format!("{stream} {id} name"), r.display_name());
        let card = match r {
            Record::Company(x) => &x.card,
            Record::Contact(x) => &x.card,
            Record::Asset(x) => &x.card,
            Record::Site(x) => &x.card,
            Record::Agreement(x) => &x.card,
            Record::Ticket(x) => &x.card,
            Record::Item(x) => &x.card,
            Record::Lookup(_) => return,
        };
        for f in card {
            self.look(|| format!("{stream} {id} card label"), &f.label);
            self.look(|| format!("{stream} {id} card value `{}`", text::visible_capped(&f.label, 30)), &f.value);
        }
    }
}

/// Run every check on `bytes` with the operator-style `config` (secrets
/// included, in clear, as the connector would receive them). Everything
/// the report quotes from the connector has those secrets masked, then is
/// capped.
pub(crate) async fn run(
    runtime: &Runtime,
    bytes: &[u8],
    config: &[(String, String)],
    secret_keys: &[String],
) -> Report {
    let redactor = Redactor::new(config.iter().filter(|(k, _)| secret_keys.contains(k)).map(|(_, v)| v.clone()));
    let mut report = checks(runtime, bytes, config, secret_keys).await;
    report.connector = report.connector.map(|c| redactor.gate(&c, 200));
    for c in &mut report.checks {
        c.detail = redactor.gate(&c.detail, text::ERROR_BYTES);
    }
    report
}

async fn checks(runtime: &Runtime, bytes: &[u8], config: &[(String, String)], secret_keys: &[String]) -> Report {
    let mut report = Report { connector: None, contract: None, checks: Vec::new() };
    let mut unsafe_text = Unsafe::default();

    // 1. It is a component of a contract version this host speaks.
    let loaded = match runtime.load(bytes) {
        Ok(l) => {
            report.contract = Some(l.contract.to_string());
            report.push("loads", Outcome::Pass, format!("component targets ferry:connector@{}", l.contract));
            l
        }
        Err(e) => {
            report.push("loads", Outcome::Fail, e.to_string());
            return report;
        }
    };

    // 2. info() is well formed.
    let info = match runtime.describe(&loaded).await {
        Ok(i) => i,
        Err(e) => {
            report.push("info", Outcome::Fail, format!("info() failed: {e}"));
            return report;
        }
    };
    report.connector = Some(format!("{} {}", info.id, info.version));
    unsafe_text.look(|| "info name".into(), &info.name);
    unsafe_text.look(|| "info description".into(), &info.description);
    for f in &info.config {
        unsafe_text.look(|| format!("config `{}` label", f.key), &f.label);
        unsafe_text.look(|| format!("config `{}` help", f.key), &f.help);
    }
    let problems = registry::info_problems(&info);
    if problems.is_empty() {
        report.push(
            "info",
            Outcome::Pass,
            format!(
                "{} streams{}, {} config fields, {} host templates",
                info.streams.len(),
                match info.extra_streams.len() {
                    0 => String::new(),
                    n => format!(" and {n} extra"),
                },
                info.config.len(),
                info.allowed_hosts.len()
            ),
        );
    } else {
        report.push("info", Outcome::Fail, problems.join("; "));
    }

    // 3. validate-config refuses an empty config with invalid-config naming a field.
    let required: Vec<&str> =
        info.config.iter().filter(|f| f.required && f.default_value.is_none()).map(|f| f.key.as_str()).collect();
    let empty = session(runtime, &loaded, &info, &[], &[]).map_err(|e| e.to_string());
    match (required.is_empty(), empty) {
        (true, _) => report.push("rejects empty config", Outcome::Skip, "no required config fields"),
        (false, Err(e)) => report.push("rejects empty config", Outcome::Fail, e),
        (false, Ok(mut s)) => match s.validate_config(Vec::new()).await {
            Ok(Err(ConnectorError::InvalidConfig { field, .. })) if info.field(&field).is_some() => {
                report.push("rejects empty config", Outcome::Pass, format!("invalid-config naming `{field}`"))
            }
            Ok(Err(ConnectorError::InvalidConfig { field, .. })) => report.push(
                "rejects empty config",
                Outcome::Fail,
                format!("invalid-config names `{field}`, which info() does not declare"),
            ),
            Ok(Err(other)) => {
                report.push("rejects empty config", Outcome::Fail, format!("expected invalid-config, got: {other}"))
            }
            Ok(Ok(_)) => report.push(
                "rejects empty config",
                Outcome::Fail,
                format!("accepted an empty config although {} is required", required.join(", ")),
            ),
            Err(e) => report.push(
                "rejects empty config",
                Outcome::Fail,
                format!("trapped instead of returning invalid-config: {e}"),
            ),
        },
    }

    // 4. validate-config accepts the given config.
    let given: Vec<(String, String)> = with_defaults(&info, config);
    let secrets: Vec<String> = given.iter().filter(|(k, _)| secret_keys.contains(k)).map(|(_, v)| v.clone()).collect();
    let mut config_ok = false;
    match session(runtime, &loaded, &info, &given, &secrets) {
        Err(e) => report.push("accepts the config", Outcome::Fail, e.to_string()),
        Ok(mut s) => match s.validate_config(given.clone()).await {
            Ok(Ok(v)) => {
                config_ok = true;
                let notes = if v.notices.is_empty() { String::new() } else { format!(" ({})", v.notices.join("; ")) };
                report.push("accepts the config", Outcome::Pass, format!("valid{notes}"));
            }
            Ok(Err(e)) => {
                report.push("accepts the config", Outcome::Fail, format!("{e} — give the config with --set/--secret"))
            }
            Err(e) => report.push("accepts the config", Outcome::Fail, e.to_string()),
        },
    }
    if !config_ok {
        report.push("check", Outcome::Skip, "needs a valid config");
        report.push("read", Outcome::Skip, "needs a valid config");
        return report;
    }

    // 5. check() works with it, and fails cleanly with wrong secrets.
    let mut reachable = false;
    match session(runtime, &loaded, &info, &given, &secrets) {
        Err(e) => report.push("check", Outcome::Fail, e.to_string()),
        Ok(mut s) => match s.check().await {
            Ok(Ok(r)) => {
                reachable = true;
                unsafe_text.look(|| "check summary".into(), &r.summary);
                for f in &r.facts {
                    unsafe_text.look(|| "check fact".into(), &format!("{}{}", f.label, f.value));
                }
                for w in &r.warnings {
                    unsafe_text.look(|| "check warning".into(), w);
                }
                report.push("check", Outcome::Pass, r.summary);
            }
            Ok(Err(e)) => report.push("check", Outcome::Fail, format!("{e}")),
            Err(e) => report.push("check", Outcome::Fail, e.to_string()),
        },
    }
    let secret_fields: Vec<&str> = info.config.iter().filter(|f| f.secret).map(|f| f.key.as_str()).collect();
    if secret_fields.is_empty() || !reachable {
        report.push("check with wrong credentials", Outcome::Skip, "no secret config fields, or check failed");
    } else {
        let wrong: Vec<(String, String)> = given
            .iter()
            .map(|(k, v)| {
                if secret_fields.contains(&k.as_str()) {
                    (k.clone(), format!("wrong-{}", v.len()))
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        match session(runtime, &loaded, &info, &wrong, &[]) {
            Err(e) => report.push("check with wrong credentials", Outcome::Fail, e.to_string()),
            Ok(mut s) => match s.check().await {
                Ok(Err(e)) if refuses_credentials(&e) => {
                    report.push("check with wrong credentials", Outcome::Pass, format!("refused: {e}"))
                }
                Ok(Err(e)) => report.push(
                    "check with wrong credentials",
                    Outcome::Fail,
                    format!(
                        "failed with `{}` ({e}): wrong credentials must come back as `unauthorized` (or \
                         `forbidden`), which stops a sync and tells the operator to renew them",
                        error_kind(&e)
                    ),
                ),
                Ok(Ok(r)) => report.push(
                    "check with wrong credentials",
                    Outcome::Fail,
                    format!("succeeded with wrong secrets ({}): check() must prove the credentials", r.summary),
                ),
                Err(e) => report.push("check with wrong credentials", Outcome::Fail, format!("trapped: {e}")),
            },
        }
    }

    // 6. Every stream pages to its end with unique ids and valid records.
    let mut companies: Option<HashSet<String>> = None;
    // The kinds in dependency order, then the extra streams as declared,
    // each paged with the same checks.
    let mut references: Vec<(StreamId, String, String)> = Vec::new();
    for stream in info.all_streams() {
        let name = format!("read {stream}");
        let mut s = match session(runtime, &loaded, &info, &given, &secrets) {
            Ok(s) => s,
            Err(e) => {
                report.push(name, Outcome::Fail, e.to_string());
                continue;
            }
        };
        match read_all(&mut s, &stream, &mut unsafe_text).await {
            Ok(r) => {
                if stream == StreamKind::Companies {
                    companies = Some(r.ids.iter().cloned().collect());
                }
                references.extend(r.references.into_iter().map(|(id, company)| (stream.clone(), id, company)));
                report.push(
                    name,
                    Outcome::Pass,
                    format!("{} records in {} pages ({} ms)", r.ids.len(), r.pages, r.elapsed_ms),
                );
            }
            Err(why) => report.push(name, Outcome::Fail, why),
        }
        if info.incremental(&stream) {
            let since = "2999-01-01T00:00:00Z".to_string();
            let detail = match s.read(&stream, None, Some(since)).await {
                Ok(Ok(p)) if p.records.is_empty() => {
                    (Outcome::Pass, "nothing updated after 2999: since is honoured".to_string())
                }
                Ok(Ok(p)) => (
                    Outcome::Fail,
                    format!("declared incremental, but `since` = 2999 still returned {} records", p.records.len()),
                ),
                Ok(Err(e)) => (Outcome::Fail, e.to_string()),
                Err(e) => (Outcome::Fail, e.to_string()),
            };
            report.push(format!("read {stream} since"), detail.0, detail.1);
        }
    }

    // 7. Strings hold no control characters (Ferry shows them escaped,
    // but a name with `\e[2J` in it is a bug in the connector or its PSA
    // data worth knowing about).
    if unsafe_text.count == 0 {
        report.push("control characters", Outcome::Pass, "no control or format characters in names, ids or cards");
    } else {
        report.push(
            "control characters",
            Outcome::Warn,
            format!(
                "{} strings hold control or format characters (shown escaped): {}",
                unsafe_text.count,
                unsafe_text.examples.join(", ")
            ),
        );
    }

    // 8. Records refer to companies that exist.
    match companies {
        None => report.push("company references", Outcome::Skip, "no companies stream"),
        Some(known) => {
            let dangling: Vec<String> = references
                .iter()
                .filter(|(_, _, c)| !known.contains(c))
                .take(5)
                .map(|(s, id, c)| format!("{s} {id} → company {c}"))
                .collect();
            if dangling.is_empty() {
                report.push(
                    "company references",
                    Outcome::Pass,
                    format!("{} references, all to listed companies", references.len()),
                );
            } else {
                report.push("company references", Outcome::Fail, format!("unknown companies: {}", dangling.join(", ")));
            }
        }
    }

    // 9. A stream it does not offer is refused cleanly.
    let offered: HashSet<StreamKind> = info.streams.iter().map(|s| s.kind).collect();
    match StreamKind::ALL.into_iter().find(|k| !offered.contains(k)) {
        None => report.push("unsupported stream", Outcome::Skip, "every stream is offered"),
        Some(kind) => match session(runtime, &loaded, &info, &given, &secrets) {
            Err(e) => report.push("unsupported stream", Outcome::Fail, e.to_string()),
            Ok(s) => match s.read(&kind.into(), None, None).await {
                Ok(Err(ConnectorError::UnsupportedStream { .. })) => {
                    report.push("unsupported stream", Outcome::Pass, format!("{kind}: unsupported-stream"))
                }
                Ok(Err(e)) => report.push(
                    "unsupported stream",
                    Outcome::Fail,
                    format!("{kind}: expected unsupported-stream, got {e}"),
                ),
                Ok(Ok(_)) => report.push(
                    "unsupported stream",
                    Outcome::Fail,
                    format!("{kind}: returned a page for a stream info() does not offer"),
                ),
                Err(e) => report.push("unsupported stream", Outcome::Fail, format!("{kind}: {e}")),
            },
        },
    }
    report
}

fn with_defaults(info: &ConnectorInfo, config: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = config.to_vec();
    for f in &info.config {
        if let Some(d) = &f.default_value
            && !out.iter().any(|(k, _)| k == &f.key)
        {
            out.push((f.key.clone(), d.clone()));
        }
    }
    out
}

fn session<'r>(
    runtime: &'r Runtime,
    loaded: &LoadedConnector,
    info: &ConnectorInfo,
    config: &[(String, String)],
    secrets: &[String],
) -> Result<crate::runtime::Session<'r>, RuntimeError> {
    runtime.session(
        loaded,
        SessionConfig {
            label: info.id.clone(),
            integration: false,
            config: config.to_vec(),
            secrets: secrets.to_vec(),
            allowed_hosts: info.allowed_hosts.clone(),
            // The author's test server is theirs: no pacing.
            rate_limit: None,
            in_flight: None,
            // A state store for this check only.
            state: Default::default(),
            pacing: Default::default(),
            stop: None,
        },
    )
}

struct StreamRead {
    ids: Vec<String>,
    pages: usize,
    /// (record id, company id) for records that name a company.
    references: Vec<(String, String)>,
    elapsed_ms: u128,
}

async fn read_all(
    s: &mut crate::runtime::Session<'_>,
    stream: &StreamId,
    unsafe_text: &mut Unsafe,
) -> Result<StreamRead, String> {
    let started = Instant::now();
    let mut cursor: Option<String> = None;
    let mut seen_cursors = HashSet::new();
    let mut ids: Vec<String> = Vec::new();
    let mut unique: HashMap<String, usize> = HashMap::new();
    let mut references = Vec::new();
    let mut pages = 0;
    loop {
        if pages >= MAX_PAGES {
            return Err(format!("still paging after {MAX_PAGES} pages: the cursor never ends"));
        }
        let mut page = match s.read(stream, cursor.clone(), None).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(format!("page {}: {e}", pages + 1)),
            Err(e) => return Err(format!("page {}: {e}", pages + 1)),
        };
        pages += 1;
        // A repeating cursor is the root cause of anything else on the page.
        if let Some(next) = &page.next
            && (Some(next) == cursor.as_ref() || seen_cursors.contains(next))
        {
            return Err(format!(
                "cursor `{}` repeated: paging would never end",
                s.redactor().redact(next).chars().take(60).collect::<String>()
            ));
        }
        for r in &mut page.records {
            unsafe_text.record(stream, r);
            // As a sync would: secrets masked before any message quotes them.
            records::bound(r, s.redactor());
        }
        for (i, r) in page.records.iter().enumerate() {
            records::secret_in_ids(i, r, s.redactor()).map_err(|e| format!("page {pages}: {e}"))?;
            records::validate(i, r).map_err(|e| format!("page {pages}: {e}"))?;
            records::to_mirror(i, r).map_err(|e| format!("page {pages}: {e}"))?;
        }
        // The same check and message as sync's, before the across-pages one.
        records::unique_ids(stream, &page.records).map_err(|e| format!("page {pages}: {e}"))?;
        for r in &page.records {
            let id = r.external_id();
            if let Some(first) = unique.insert(id.clone(), pages) {
                return Err(format!(
                    "id `{id}` appears on page {first} and again on page {pages}: ids must be unique in a stream"
                ));
            }
            if !matches!(r, Record::Company(_))
                && let Some(company) = r.company_id()
            {
                references.push((id.clone(), company.to_string()));
            }
            ids.push(id);
        }
        match page.next {
            None => break,
            Some(next) => {
                seen_cursors.insert(next.clone());
                cursor = Some(next);
            }
        }
    }
    Ok(StreamRead { ids, pages, references, elapsed_ms: started.elapsed().as_millis() })
}

/// Counts per outcome, for the summary line.
pub(crate) fn tally(report: &Report) -> BTreeMap<&'static str, usize> {
    let mut t = BTreeMap::new();
    for c in &report.checks {
        let k = match c.outcome {
            Outcome::Pass => "passed",
            Outcome::Warn => "warnings",
            Outcome::Fail => "failed",
            Outcome::Skip => "skipped",
        };
        *t.entry(k).or_default() += 1;
    }
    t
}

/// The errors that say "these credentials are refused": anything else for
/// wrong secrets (not-found, bad-response, other…) would send an operator
/// with expired keys looking in the wrong place.
fn refuses_credentials(e: &crate::model::ConnectorError) -> bool {
    matches!(e, crate::model::ConnectorError::Unauthorized { .. } | crate::model::ConnectorError::Forbidden { .. })
}

/// The contract's name of an error case (`not-found`), for messages.
fn error_kind(e: &crate::model::ConnectorError) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_else(|| "error".into())
}
