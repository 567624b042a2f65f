//! Installed connectors: what is available to integrations.
//!
//! Bundled connectors (compiled into the binary by `build.rs`) and
//! third-party `.wasm` files go through exactly the same path: inspect,
//! compile, call `info()`, check what it declares, store the bytes in the
//! database. A bundled connector is (re)installed when the binary carries a
//! different build of it, unless the operator installed their own build of
//! the same id, which then wins.

use std::collections::HashSet;

use crate::model::ConnectorInfo;
use crate::runtime::allowlist::Allowlist;
use crate::runtime::{LoadedConnector, Runtime, RuntimeError, sha256_hex};
use crate::store::{ConnectorOrigin, ConnectorRow, Store, StoreError};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

pub use bundled::BUNDLED;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the connector's info() is not acceptable: {0}")]
    BadInfo(String),
    #[error("connector `{0}` is not installed")]
    Unknown(String),
    #[error("connector `{id}` is used by integration(s) {integrations}")]
    InUse { id: String, integrations: String },
    #[error("connector `{0}` ships with Ferry and cannot be removed")]
    Bundled(String),
}

impl RegistryError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RegistryError::Runtime(e) => e.hint(),
            RegistryError::Store(e) => e.hint(),
            RegistryError::BadInfo(_) => {
                Some("fix the connector and build it again; `ferry plugin check FILE` lists every problem".into())
            }
            RegistryError::Unknown(_) => {
                Some("see `ferry plugin list`, or install one with `ferry plugin install FILE.wasm`".into())
            }
            RegistryError::InUse { .. } => {
                Some("remove those integrations first with `ferry integration remove NAME`".into())
            }
            RegistryError::Bundled(_) => Some(
                "bundled connectors update with Ferry itself; install your own build of the same id to override it"
                    .into(),
            ),
        }
    }
}

/// Install (or upgrade) a connector from component bytes.
pub async fn install(
    store: &mut Store,
    runtime: &Runtime,
    bytes: &[u8],
    origin: ConnectorOrigin,
) -> Result<ConnectorRow, RegistryError> {
    let loaded = runtime.load(bytes)?;
    let info = runtime.describe(&loaded).await?;
    check_info(&info).map_err(RegistryError::BadInfo)?;
    let row = ConnectorRow {
        id: info.id.clone(),
        name: info.name.clone(),
        version: info.version.clone(),
        contract: loaded.contract.to_string(),
        sha256: loaded.sha256.clone(),
        origin,
        info,
        installed_at: String::new(),
    };
    store.transaction(|tx| tx.put_connector(&row, bytes))?;
    Ok(row)
}

/// Make sure every bundled connector is installed at the build this binary
/// carries.
pub async fn ensure_bundled(store: &mut Store, runtime: &Runtime) -> Result<(), RegistryError> {
    for (id, bytes) in BUNDLED {
        let existing = store.read().connector(id)?;
        let wanted = sha256_hex(bytes);
        match existing {
            Some(row) if row.origin == ConnectorOrigin::Installed || row.sha256 == wanted => continue,
            _ => {
                install(store, runtime, bytes, ConnectorOrigin::Bundled).await?;
            }
        }
    }
    Ok(())
}

/// Is every bundled connector installed at the build this binary carries
/// (or overridden by the operator's own build)? Read-only.
pub fn bundled_current(store: &Store) -> Result<bool, StoreError> {
    for (id, bytes) in BUNDLED {
        match store.read().connector(id)? {
            Some(row) if row.origin == ConnectorOrigin::Installed || row.sha256 == sha256_hex(bytes) => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// Load an installed connector for use.
pub fn load(store: &Store, runtime: &Runtime, id: &str) -> Result<(ConnectorRow, LoadedConnector), RegistryError> {
    let tx = store.read();
    let row = tx.connector(id)?.ok_or_else(|| RegistryError::Unknown(id.to_string()))?;
    let bytes = tx.connector_component(id)?.ok_or_else(|| RegistryError::Unknown(id.to_string()))?;
    let loaded = runtime.load(&bytes)?;
    Ok((row, loaded))
}

/// The component bytes of an installed (or bundled) connector, e.g. for
/// `plugin check ID` and `plugin export ID FILE`.
pub fn component(store: &Store, id: &str) -> Result<Vec<u8>, RegistryError> {
    store.read().connector_component(id)?.ok_or_else(|| RegistryError::Unknown(id.to_string()))
}

pub fn remove(store: &mut Store, id: &str) -> Result<(), RegistryError> {
    let row = store.read().connector(id)?.ok_or_else(|| RegistryError::Unknown(id.to_string()))?;
    if row.origin == ConnectorOrigin::Bundled && BUNDLED.iter().any(|(b, _)| *b == id) {
        return Err(RegistryError::Bundled(id.to_string()));
    }
    let users = store.read().integrations_using(id)?;
    if !users.is_empty() {
        return Err(RegistryError::InUse { id: id.to_string(), integrations: users.join(", ") });
    }
    store.transaction(|tx| tx.delete_connector(id))?;
    Ok(())
}

/// What Ferry requires of `info()`; the list of problems, joined.
pub fn check_info(info: &ConnectorInfo) -> Result<(), String> {
    let problems = info_problems(info);
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// Sizes `info()` may have (README "Limits"): what is shown to people
/// stays readable, and a connector cannot make every `plugin list` or
/// database row carry megabytes. Characters, not bytes.
pub mod info_limits {
    pub const NAME: usize = 100;
    pub const VERSION: usize = 64;
    pub const DESCRIPTION: usize = 4_000;
    pub const LABEL: usize = 100;
    pub const HELP: usize = 1_000;
    pub const STREAM_DESCRIPTION: usize = 1_000;
    pub const DEFAULT_VALUE: usize = 1_000;
    pub const CONFIG_FIELDS: usize = 100;
    pub const HOST_TEMPLATES: usize = 20;
    pub const HOST_TEMPLATE: usize = 500;
    pub const EXTRA_STREAMS: usize = 50;
    pub const EXTRA_STREAM_NAME: usize = crate::model::EXTRA_STREAM_NAME_MAX;
}

/// "`what` is N characters; the limit is M", when it is too long.
fn too_long(what: &str, value: &str, max: usize) -> Option<String> {
    // Bytes bound characters from above: count only when it may matter.
    let n = if value.len() > max { value.chars().count() } else { 0 };
    (n > max).then(|| format!("{what} is {n} characters long; the limit is {max}"))
}

/// A value quoted in a problem: short, whatever the connector sent.
fn quote(value: &str) -> String {
    let mut s = value.to_string();
    crate::text::truncate_chars(&mut s, 60);
    s
}

/// Extra streams (contract 0.3) are named by operators and become mirror
/// kinds and layout names: lowercase `[a-z][a-z0-9-]*`, unique, never one
/// of the seven kinds.
fn extra_stream_problems(info: &ConnectorInfo) -> Vec<String> {
    use info_limits as max;
    let mut problems = Vec::new();
    if info.extra_streams.len() > max::EXTRA_STREAMS {
        problems.push(format!(
            "declares {} extra streams; the limit is {}",
            info.extra_streams.len(),
            max::EXTRA_STREAMS
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for st in info.extra_streams.iter().take(max::EXTRA_STREAMS) {
        let name = quote(&st.name);
        if !crate::model::extra_stream_name_well_formed(&st.name) {
            problems.push(format!(
                "extra stream `{name}`: a name is lowercase `[a-z][a-z0-9-]*`, at most {} characters",
                max::EXTRA_STREAM_NAME
            ));
        } else if st.name.parse::<crate::model::StreamKind>().is_ok() {
            problems.push(format!("extra stream `{name}` has the name of a stream kind; declare it in `streams`"));
        } else if !seen.insert(st.name.as_str()) {
            problems.push(format!("extra stream `{name}` is declared twice"));
        }
        problems.extend(too_long(
            &format!("the description of extra stream `{name}`"),
            &st.description,
            max::STREAM_DESCRIPTION,
        ));
    }
    problems
}

pub fn info_problems(info: &ConnectorInfo) -> Vec<String> {
    use info_limits as max;
    let mut problems: Vec<String> = [
        too_long("name", &info.name, max::NAME),
        too_long("version", &info.version, max::VERSION),
        too_long("description", &info.description, max::DESCRIPTION),
    ]
    .into_iter()
    .flatten()
    .collect();
    if info.config.len() > max::CONFIG_FIELDS {
        problems.push(format!("declares {} config fields; the limit is {}", info.config.len(), max::CONFIG_FIELDS));
    }
    for f in info.config.iter().take(max::CONFIG_FIELDS) {
        let key = quote(&f.key);
        problems.extend(too_long(&format!("the label of `{key}`"), &f.label, max::LABEL));
        problems.extend(too_long(&format!("the help of `{key}`"), &f.help, max::HELP));
        if let Some(d) = &f.default_value {
            problems.extend(too_long(&format!("the default of `{key}`"), d, max::DEFAULT_VALUE));
        }
    }
    for st in &info.streams {
        problems.extend(too_long(
            &format!("the description of stream {}", st.kind),
            &st.description,
            max::STREAM_DESCRIPTION,
        ));
    }
    problems.extend(extra_stream_problems(info));
    if info.allowed_hosts.len() > max::HOST_TEMPLATES {
        problems.push(format!(
            "declares {} host templates; the limit is {}",
            info.allowed_hosts.len(),
            max::HOST_TEMPLATES
        ));
    }
    for t in &info.allowed_hosts {
        problems.extend(too_long(&format!("host template `{}`", quote(t)), t, max::HOST_TEMPLATE));
    }
    if !problems.is_empty() {
        // The rest quotes these values; refuse on size alone.
        return problems;
    }
    let id_ok = !info.id.is_empty()
        && info.id.len() <= 64
        && info.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !info.id.starts_with('-');
    if !id_ok {
        problems.push(format!("id `{}` must be lowercase letters, digits and `-`", quote(&info.id)));
    }
    if info.name.trim().is_empty() {
        problems.push("name is empty".into());
    }
    if !is_semver(&info.version) {
        problems.push(format!("version `{}` is not semver (e.g. 1.2.0)", quote(&info.version)));
    }
    if info.streams.is_empty() {
        problems.push("offers no streams".into());
    }
    let mut kinds = HashSet::new();
    for s in &info.streams {
        if !kinds.insert(s.kind) {
            problems.push(format!("stream `{}` is listed twice", s.kind));
        }
    }
    let mut keys = HashSet::new();
    for f in &info.config {
        let key_ok =
            !f.key.is_empty() && f.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            problems.push(format!("config key `{}` must be snake_case", quote(&f.key)));
        }
        if !keys.insert(f.key.as_str()) {
            problems.push(format!("config key `{}` is declared twice", quote(&f.key)));
        }
    }
    if let Err(e) = Allowlist::validate_templates(&info.allowed_hosts) {
        problems.push(e.to_string());
    }
    for template in &info.allowed_hosts {
        for key in template.split('{').skip(1).filter_map(|s| s.split('}').next()) {
            if !keys.contains(key) {
                problems.push(format!("host template `{template}` uses `{{{key}}}`, which is not a config key"));
            }
        }
    }
    if let Some(r) = info.rate_limit
        && (r.requests == 0 || r.per_seconds == 0)
    {
        problems.push("rate limit must allow at least 1 request per window of at least 1 second".into());
    }
    problems
}

fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_stream_names_are_checked() {
        use crate::model::ExtraStreamInfo;
        let extra = |name: &str| ExtraStreamInfo { name: name.into(), description: "d".into(), incremental: false };
        let mut i = info();
        i.extra_streams = vec![extra("contracts"), extra("invoices-2")];
        assert!(check_info(&i).is_ok(), "{:?}", check_info(&i));
        for bad in ["Contracts", "9lives", "with space", "assets", "", &"x".repeat(41)] {
            i.extra_streams = vec![extra(bad)];
            assert!(check_info(&i).is_err(), "{bad:?} accepted");
        }
        i.extra_streams = vec![extra("contracts"), extra("contracts")];
        assert!(check_info(&i).unwrap_err().contains("twice"));
    }
    use crate::model::{ConfigField, StreamInfo, StreamKind};

    fn info() -> ConnectorInfo {
        ConnectorInfo {
            id: "acme-psa".into(),
            name: "Acme".into(),
            version: "0.1.0".into(),
            description: String::new(),
            config: vec![ConfigField {
                key: "site".into(),
                label: "Site".into(),
                help: String::new(),
                required: true,
                secret: false,
                default_value: None,
            }],
            streams: vec![StreamInfo { kind: StreamKind::Companies, incremental: false, description: String::new() }],
            allowed_hosts: vec!["https://{site}".into()],
            rate_limit: None,
            extra_streams: vec![],
        }
    }

    #[test]
    fn good_info_passes() {
        assert!(check_info(&info()).is_ok());
    }

    #[test]
    fn problems_are_named() {
        let mut i = info();
        i.id = "Acme PSA".into();
        i.version = "one".into();
        i.streams.push(i.streams[0].clone());
        i.allowed_hosts = vec!["https://{tenant}.acme.com".into(), "*".into()];
        let p = info_problems(&i).join("\n");
        assert!(p.contains("id `Acme PSA`"), "{p}");
        assert!(p.contains("not semver"), "{p}");
        assert!(p.contains("listed twice"), "{p}");
        assert!(p.contains("wildcards"), "{p}");
    }

    #[test]
    fn sizes_are_capped_and_problems_stay_short() {
        let mut i = info();
        i.description = "d".repeat(20 * 1024 * 1024);
        i.name = "n".repeat(101);
        i.config[0].help = "h".repeat(1_001);
        i.id = "x".repeat(10_000);
        let p = info_problems(&i).join("; ");
        assert!(p.contains("description is 20971520 characters long; the limit is 4000"), "{p}");
        assert!(p.contains("name is 101") && p.contains("the help of `site`"), "{p}");
        assert!(p.len() < 1_000, "{}", p.len());
        let mut ok = info();
        ok.description = "é".repeat(4_000);
        assert!(check_info(&ok).is_ok());
        let mut id = info();
        id.id = "X".repeat(10_000);
        assert!(info_problems(&id).join("").len() < 200);
    }

    #[test]
    fn template_keys_must_exist() {
        let mut i = info();
        i.allowed_hosts = vec!["https://{tenant}.acme.com".into()];
        assert!(info_problems(&i).iter().any(|p| p.contains("`{tenant}`")));
    }

    #[test]
    fn semver() {
        assert!(is_semver("1.2.3"));
        assert!(is_semver("0.1.0-beta.1"));
        assert!(!is_semver("1.2"));
        assert!(!is_semver("v1.2.3"));
    }
}
