//! Integrations: one connector plus one operator's configuration.
//!
//! Owns the rules for config values — keys must be declared by the
//! connector, required ones present, secret ones stored as secrets (a
//! literal or an `env:VAR` reference), and everything normalised by the
//! connector's `validate-config` before it is stored — and turns a stored
//! integration into what a connector session needs.

use std::collections::BTreeMap;
use std::collections::HashMap;

use crate::model::{ConnectorError, ConnectorInfo};
use crate::registry::{self, RegistryError};
use crate::runtime::allowlist::Allowlist;
use crate::runtime::{Runtime, RuntimeError, SessionConfig};
use crate::secrets::{SecretError, SecretSource};
use crate::store::{IntegrationRow, Store, StoreError};

/// New integrations re-sync fully every 3 hours (`schedule` reads these).
pub const DEFAULT_CRON: &str = "0 */3 * * *";
pub const DEFAULT_TZ: &str = "UTC";

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("`{0}` is not a valid integration name (letters, digits, `-`, `_`, `.`; up to 64)")]
    BadName(String),
    #[error("`{assignment}` is not KEY=VALUE")]
    BadAssignment { assignment: String },
    #[error("connector `{connector}` has no config key `{key}` (it has: {known})")]
    UnknownKey { connector: String, key: String, known: String },
    #[error("`{key}` is required by connector `{connector}` but was not given")]
    MissingRequired { connector: String, key: String },
    #[error("`{key}` is a secret: give it with --secret {key}=VALUE or --secret {key}=env:VAR")]
    SecretViaSet { key: String },
    #[error(
        "this change points `{integration}` at {origins}, and its stored secrets ({keys}) go only where they went \
         before"
    )]
    SecretsForNewOrigins { integration: String, keys: String, origins: String },
    #[error("`{key}` is not a secret; give it with --set {key}=VALUE")]
    NotSecret { key: String },
    #[error("the connector rejected the configuration: {0}")]
    Rejected(ConnectorError),
    #[error("the configuration gives the connector no usable host: {0}")]
    Hosts(String),
    #[error(
        "integration `{existing}` already syncs this {connector} account ({account}); a second integration would duplicate its documentation"
    )]
    SameAccount { existing: String, connector: String, account: String },
    #[error(
        "the connector put a secret into the plain config value `{key}`; Ferry stores and shows plain values, so it refused the configuration"
    )]
    SecretInConfig { key: String },
    #[error("removing integration `{name}` needs confirmation")]
    NotConfirmed { name: String },
    #[error(
        "integration `{name}` is syncing right now; removing it under a running sync could bring its documentation back"
    )]
    Syncing { name: String },
    #[error(transparent)]
    LockFile(#[from] crate::lock::LockFileError),
    #[error(
        "the connector changed {changes}, which moves the hosts it may reach from {before} to {after}; Ferry does not accept that silently"
    )]
    HostsMoved { changes: String, before: String, after: String },
}

impl IntegrationError {
    pub fn hint(&self) -> Option<String> {
        match self {
            IntegrationError::Store(e) => e.hint(),
            IntegrationError::Registry(e) => e.hint(),
            IntegrationError::Runtime(e) => e.hint(),
            IntegrationError::Secret(SecretError::EnvMissing { var, .. }) => {
                Some(format!("export {var}=... in the environment that runs ferry"))
            }
            IntegrationError::UnknownKey { connector, .. } => {
                Some(format!("`ferry plugin inspect {connector}` lists the config keys"))
            }
            IntegrationError::MissingRequired { key, .. } => {
                Some(format!("add --set {key}=VALUE (or --secret for secrets)"))
            }
            IntegrationError::Rejected(e) => Some(e.hint()),
            IntegrationError::Hosts(_) => {
                Some("fix the site/subdomain/base URL value with `ferry integration set`".into())
            }
            IntegrationError::BadName(_) => Some("e.g. `syncro`, `cw-main` or `acme_psa`".into()),
            IntegrationError::BadAssignment { .. } => Some("write KEY=VALUE, e.g. --set subdomain=acme".into()),
            IntegrationError::SecretViaSet { .. } | IntegrationError::NotSecret { .. } => {
                Some("`ferry plugin inspect ID` shows which keys are secrets".into())
            }
            IntegrationError::Secret(e) => Some(e.hint()),
            IntegrationError::SecretsForNewOrigins { integration, keys, .. } => Some(format!(
                "give the secrets again in the same command: `ferry integration set {integration} ... --secret \
                 KEY=VALUE` for each of {keys} (a stored secret is never sent to a new address)"
            )),
            IntegrationError::SameAccount { existing, .. } => Some(format!(
                "use `{existing}` (`ferry integration set {existing} ...` changes its credentials), or remove it first"
            )),
            IntegrationError::HostsMoved { .. } => Some(
                "check the value you gave; if the connector's version is what you want, run the command again with \
                 --accept-normalised"
                    .into(),
            ),
            IntegrationError::SecretInConfig { .. } => {
                Some("report it to the connector's author: secrets must stay in secret keys".into())
            }
            IntegrationError::Syncing { name } => Some(format!(
                "wait for the sync to finish (`ferry runs {name}`), or stop the daemon, then remove it again"
            )),
            IntegrationError::LockFile(_) => Some("check the folder beside the database is writable".into()),
            IntegrationError::NotConfirmed { name } => {
                Some(format!("read what goes and what stays above, then run `ferry integration remove {name} --yes`"))
            }
        }
    }
}

/// Split `KEY=VALUE`.
pub fn parse_assignment(s: &str) -> Result<(String, String), IntegrationError> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(IntegrationError::BadAssignment { assignment: mask_assignment(s) }),
    }
}

/// An assignment as it may be echoed: never the value (it may be a secret).
fn mask_assignment(s: &str) -> String {
    match s.split_once('=') {
        Some((k, _)) => format!("{k}=…"),
        None if s.len() > 24 => format!("{}…", &s[..s.char_indices().nth(24).map(|(i, _)| i).unwrap_or(s.len())]),
        None => s.to_string(),
    }
}

/// A name that is also a safe URL path segment and command argument: no
/// leading `-` (an option) and not only dots (`.` and `..` are path steps,
/// so the console's links to such an integration led elsewhere).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('-')
        && !name.bytes().all(|b| b == b'.')
}

/// What `add`/`set` did besides storing: the connector's notes.
#[derive(Debug, Clone, Default)]
pub struct Saved {
    pub notices: Vec<String>,
    /// `add` re-attached a removed integration of the same PSA account
    /// (its id) instead of starting empty.
    pub reattached: Option<i64>,
}

/// Config keys that name an account inside a shared host (a CW cloud site
/// serves many MSPs): part of the account identity besides the origins.
const ACCOUNT_KEYS: [&str; 5] = ["company_id", "tenant", "account", "account_id", "instance"];

/// The identity of the PSA account an integration syncs: the connector, the
/// origins its host templates expand to over the config, and the values of
/// account-naming keys ([`ACCOUNT_KEYS`]), case-folded. Two integrations
/// with the same identity would sync the same records; a removed
/// integration with it is re-attached by `add`. Credentials are not part of
/// it: new keys for the same account are the same account.
pub fn account_identity(info: &ConnectorInfo, config: &BTreeMap<String, String>) -> String {
    let mut map: HashMap<String, String> = HashMap::new();
    for f in &info.config {
        if f.secret {
            continue;
        }
        if let Some(v) = config.get(&f.key).or(f.default_value.as_ref()) {
            map.insert(f.key.clone(), v.clone());
        }
    }
    let mut parts: Vec<String> = Allowlist::expand(&info.allowed_hosts, &map)
        .map(|a| a.origins().iter().map(|o| o.to_string()).collect())
        .unwrap_or_default();
    parts.sort();
    for key in ACCOUNT_KEYS {
        if let Some(v) = map.get(key) {
            parts.push(format!("{key}={}", v.trim().to_lowercase()));
        }
    }
    format!("{} {}", info.id, parts.join(" "))
}

/// Refuse a config whose PSA account another live integration (other than
/// `except`) already syncs: a second one would duplicate its documentation.
fn refuse_same_account(
    store: &Store,
    info: &ConnectorInfo,
    config: &BTreeMap<String, String>,
    except: Option<i64>,
) -> Result<(), IntegrationError> {
    let account = account_identity(info, config);
    let existing =
        store.read().integrations()?.into_iter().find(|i| {
            Some(i.id) != except && i.connector_id == info.id && account_identity(info, &i.config) == account
        });
    match existing {
        Some(existing) => Err(IntegrationError::SameAccount {
            existing: existing.name,
            connector: info.name.clone(),
            account: account.split_once(' ').map(|(_, a)| a.to_string()).unwrap_or_default(),
        }),
        None => Ok(()),
    }
}

/// What `integration remove` does, for the operator to confirm.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemovalPlan {
    pub integration: String,
    pub counts: crate::store::RemovalCounts,
    pub removed: bool,
}

/// Remove an integration (see `Tx::remove_integration`); without
/// `confirmed` only say what would happen.
pub fn remove(store: &mut Store, name: &str, confirmed: bool) -> Result<RemovalPlan, IntegrationError> {
    let row = store.read().integration(name)?;
    let counts = store.read().removal_counts(row.id)?;
    if confirmed {
        // Held while removing: no sync of it runs now, and none can start
        // until the removal is committed.
        let Some(_lock) = crate::lock::try_acquire(store.path(), row.id)? else {
            return Err(IntegrationError::Syncing { name: row.name });
        };
        store.transaction(|tx| tx.remove_integration(row.id))?;
    }
    Ok(RemovalPlan { integration: row.name, counts, removed: confirmed })
}

pub async fn add(
    store: &mut Store,
    runtime: &Runtime,
    name: &str,
    connector_id: &str,
    values: &[(String, String)],
    secrets: &[(String, String)],
    accept_normalised: bool,
) -> Result<(IntegrationRow, Saved), IntegrationError> {
    if !valid_name(name) {
        return Err(IntegrationError::BadName(name.to_string()));
    }
    if store.read().integration(name).is_ok() {
        return Err(StoreError::Exists { what: "integration", name: name.to_string() }.into());
    }
    let (row, _) = registry::load(store, runtime, connector_id)?;
    let (config, secret_map) = assign(&row.info, BTreeMap::new(), BTreeMap::new(), values, secrets)?;
    let (config, secret_map, mut saved) =
        normalise(runtime, store, &row.info, config, secret_map, accept_normalised).await?;
    refuse_same_account(store, &row.info, &config, None)?;
    let account = account_identity(&row.info, &config);
    // The same PSA account was connected before: take its documentation,
    // match decisions and options back instead of duplicating them.
    let removed = store
        .read()
        .removed_integrations(connector_id)?
        .into_iter()
        .find(|i| account_identity(&row.info, &i.config) == account);
    let options = serde_json::json!({});
    let id = store.transaction(|tx| {
        let id = match &removed {
            Some(old) => {
                tx.reattach_integration(old.id, name, &config, &secret_map)?;
                old.id
            }
            None => tx.insert_integration(name, connector_id, &config, &secret_map, &options)?,
        };
        // A new integration keeps itself current: full sync every 3 hours.
        tx.insert_schedule(id, DEFAULT_CRON, DEFAULT_TZ, crate::model::Mode::Full)?;
        Ok(id)
    })?;
    if let Some(old) = &removed {
        saved.reattached = Some(old.id);
        saved.notices.push(format!(
            "this PSA account was connected before (integration #{}): its match decisions, options and archived \
             documentation are re-attached and come back live with the next sync",
            old.id
        ));
    }
    let row = store.read().integration_by_id(id)?;
    Ok((row, saved))
}

pub async fn set(
    store: &mut Store,
    runtime: &Runtime,
    name: &str,
    values: &[(String, String)],
    secrets: &[(String, String)],
    accept_normalised: bool,
) -> Result<(IntegrationRow, Saved), IntegrationError> {
    let current = store.read().integration(name)?;
    let (connector, _) = registry::load(store, runtime, &current.connector_id)?;
    let (config, secret_map) =
        assign(&connector.info, current.config.clone(), current.secrets.clone(), values, secrets)?;
    let (config, secret_map, saved) =
        normalise(runtime, store, &connector.info, config, secret_map, accept_normalised).await?;
    refuse_secrets_to_new_origins(&current, &connector.info, &config, values, secrets)?;
    refuse_same_account(store, &connector.info, &config, Some(current.id))?;
    store.transaction(|tx| tx.update_integration_config(current.id, &config, &secret_map))?;
    Ok((store.read().integration_by_id(current.id)?, saved))
}

/// An integration as `integration show --json` and the console's API show
/// it: config with secrets masked, mirror counts, the last run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Overview {
    pub name: String,
    pub plugin: String,
    pub config: Vec<ConfigValue>,
    pub created_at: String,
    pub updated_at: String,
    pub mirror: Vec<(crate::model::StreamId, u64)>,
    pub last_run: Option<crate::store::RunRow>,
    /// The origins the connector may call (its host templates expanded).
    pub allowed_origins: Vec<String>,
}

/// One config value for display: secrets masked (never their value).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConfigValue {
    pub key: String,
    pub value: String,
    pub secret: bool,
}

pub fn overview(store: &Store, name: &str) -> Result<(Overview, crate::store::ConnectorRow), IntegrationError> {
    let row = store.read().integration(name)?;
    let connector =
        store.read().connector(&row.connector_id)?.ok_or_else(|| RegistryError::Unknown(row.connector_id.clone()))?;
    let config = display_config(&row, &connector.info)
        .into_iter()
        .map(|(key, value, secret)| ConfigValue { key, value, secret })
        .collect();
    let overview = Overview {
        name: row.name.clone(),
        plugin: row.connector_id.clone(),
        config,
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        mirror: store.read().mirror_counts(row.id)?,
        last_run: store.read().runs(Some(&row.name), 1)?.into_iter().next(),
        allowed_origins: allowed_origins(&row, &connector.info).unwrap_or_else(|e| vec![format!("(none usable: {e})")]),
    };
    Ok((overview, connector))
}

/// An integration in `integration list --json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub name: String,
    pub plugin: String,
    pub last_run: Option<LastRun>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LastRun {
    pub id: i64,
    pub status: crate::store::RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
}

pub fn summaries(store: &Store) -> Result<Vec<Summary>, StoreError> {
    let mut out = Vec::new();
    for r in store.read().integrations()? {
        let last = store.read().runs(Some(&r.name), 1)?.into_iter().next();
        out.push(Summary {
            name: r.name.clone(),
            plugin: r.connector_id.clone(),
            last_run: last.map(|l| LastRun {
                id: l.id,
                status: l.status,
                started_at: l.started_at,
                finished_at: l.finished_at,
            }),
        });
    }
    Ok(out)
}

/// What a connection test found.
#[derive(Debug)]
pub enum TestOutcome {
    /// The connector reached the PSA with these credentials.
    Passed(crate::model::CheckReport),
    /// The connector's verdict: what is wrong (credentials, permissions...).
    Failed(ConnectorError),
    /// The connector crashed or broke a sandbox limit: the test failed too.
    Crashed(RuntimeError),
}

/// Test an integration's connection: the connector's `check` with the
/// stored config and secrets. Errors before the connector runs (unknown
/// integration, unreadable secret) are `Err`.
pub async fn test_connection(store: &Store, runtime: &Runtime, name: &str) -> Result<TestOutcome, IntegrationError> {
    let row = store.read().integration(name)?;
    let (connector, loaded) = registry::load(store, runtime, &row.connector_id)?;
    let mut config = session_config(&row, &connector.info)?;
    crate::connector_state::attach(store, row.id, &mut config)?;
    crate::kept_window::attach(store, row.id, &mut config)?;
    let mut session = runtime.session(&loaded, config)?;
    Ok(match session.check().await {
        Ok(Ok(report)) => TestOutcome::Passed(report),
        Ok(Err(e)) => TestOutcome::Failed(e),
        Err(e) => TestOutcome::Crashed(e),
    })
}

type Values = BTreeMap<String, String>;
type Secrets = BTreeMap<String, SecretSource>;

/// Apply assignments onto existing values, routing each key to config or
/// secrets as the connector declares it.
fn assign(
    info: &ConnectorInfo,
    mut config: BTreeMap<String, String>,
    mut secrets: BTreeMap<String, SecretSource>,
    values: &[(String, String)],
    secret_values: &[(String, String)],
) -> Result<(Values, Secrets), IntegrationError> {
    let known = || info.config.iter().map(|f| f.key.as_str()).collect::<Vec<_>>().join(", ");
    let field = |key: &str| {
        info.field(key).ok_or_else(|| IntegrationError::UnknownKey {
            connector: info.id.clone(),
            key: key.to_string(),
            known: known(),
        })
    };
    for (key, value) in values {
        let f = field(key)?;
        if f.secret {
            // A secret typed with --set still lands in the secret store,
            // unless it is an env reference, which is what --secret is for.
            if value.starts_with("env:") {
                return Err(IntegrationError::SecretViaSet { key: key.clone() });
            }
            secrets.insert(key.clone(), SecretSource::Literal(value.clone()));
            config.remove(key);
        } else if value.trim().is_empty() {
            config.remove(key);
        } else {
            config.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in secret_values {
        let f = field(key)?;
        if !f.secret {
            return Err(IntegrationError::NotSecret { key: key.clone() });
        }
        secrets.insert(key.clone(), SecretSource::parse(value)?);
        config.remove(key);
    }
    for f in &info.config {
        let present = config.contains_key(&f.key) || secrets.contains_key(&f.key);
        if f.required && !present && f.default_value.is_none() {
            return Err(IntegrationError::MissingRequired { connector: info.id.clone(), key: f.key.clone() });
        }
    }
    Ok((config, secrets))
}

/// Let the connector normalise the values, then check the result expands
/// into a usable allowlist. Every value the connector changed is reported
/// as a notice (key: old → new); a change that moves the hosts the
/// integration may reach is refused unless `accept_normalised` (see
/// [`hosts_moved`]).
async fn normalise(
    runtime: &Runtime,
    store: &Store,
    info: &ConnectorInfo,
    config: BTreeMap<String, String>,
    secrets: BTreeMap<String, SecretSource>,
    accept_normalised: bool,
) -> Result<(BTreeMap<String, String>, BTreeMap<String, SecretSource>, Saved), IntegrationError> {
    let (_, loaded) = registry::load(store, runtime, &info.id)?;
    // An `env:` secret need not be set yet (it is read at sync time); the
    // connector validates the rest with a stand-in value.
    let mut notices = Vec::new();
    let mut lenient = secrets.clone();
    for (key, source) in &secrets {
        if let (SecretSource::Env(var), Err(_)) = (source, source.resolve(key)) {
            notices.push(format!("{key}: environment variable {var} is not set now; it must be when ferry syncs"));
            lenient.insert(key.clone(), SecretSource::Literal(format!("unset-{var}")));
        }
        // A sealed secret this Ferry cannot open (key file missing) does not
        // block changing the other values; it must be entered again.
        if let SecretSource::Unreadable { why, .. } = source {
            notices.push(format!(
                "{key}: the stored secret cannot be read ({why}); enter it again with --secret {key}=..."
            ));
            lenient.insert(key.clone(), SecretSource::Literal(format!("unreadable-{key}")));
        }
    }
    let resolved = resolve(info, &config, &lenient)?;
    let mut session = runtime.session(
        &loaded,
        SessionConfig { label: info.id.clone(), secrets: resolved.secret_values.clone(), ..SessionConfig::anonymous() },
    )?;
    let validated = session.validate_config(resolved.pairs.clone()).await?.map_err(IntegrationError::Rejected)?;
    let mut new_config = BTreeMap::new();
    for (key, value) in validated.config {
        // Secrets come back too; only non-secret keys are taken from the
        // connector's answer (an env reference must stay a reference).
        if info.field(&key).is_some_and(|f| !f.secret) && !value.trim().is_empty() {
            new_config.insert(key, value);
        }
    }
    // A connector must not move a secret into a plain (stored, shown) key:
    // env secrets would touch the disk and literal ones be stored unsealed.
    let redactor = crate::secrets::Redactor::new(resolved.secret_values.clone());
    for (key, value) in &new_config {
        if redactor.redact(value) != *value {
            return Err(IntegrationError::SecretInConfig { key: key.clone() });
        }
    }
    let changes = changed_values(info, &config, &new_config);
    for (key, old, new) in &changes {
        notices.push(format!("{key}: {} → {} (normalised by the connector)", shown(old), shown(new)));
    }
    if !accept_normalised && let Some(moved) = hosts_moved(info, &config, &new_config, &changes) {
        return Err(moved);
    }
    let map: HashMap<String, String> = resolve(info, &new_config, &lenient)?.pairs.into_iter().collect();
    let allowlist = Allowlist::expand(&info.allowed_hosts, &map).map_err(|e| IntegrationError::Hosts(e.to_string()))?;
    if allowlist.origins().is_empty() && !info.allowed_hosts.is_empty() {
        return Err(IntegrationError::Hosts("no allowed host template could be filled from the config".into()));
    }
    notices.extend(validated.notices.iter().map(|n| redactor.gate(n, crate::text::ERROR_BYTES)));
    Ok((new_config, secrets, Saved { notices, reattached: None }))
}

/// A value as shown in a notice.
fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) => format!("`{v}`"),
        None => "(not set)".into(),
    }
}

/// Non-secret values the connector's `validate-config` changed, added or
/// dropped: (key, what the operator gave, what the connector returned).
fn changed_values(
    info: &ConnectorInfo,
    given: &BTreeMap<String, String>,
    normalised: &BTreeMap<String, String>,
) -> Vec<(String, Option<String>, Option<String>)> {
    info.config
        .iter()
        .filter(|f| !f.secret)
        .filter_map(|f| {
            let before = given.get(&f.key).cloned();
            let after = normalised.get(&f.key).cloned();
            (before != after).then(|| (f.key.clone(), before, after))
        })
        .collect()
}

/// A change to a key used in a host template is accepted only when the
/// normalised config reaches no host the operator did not name: every
/// origin the templates expand to after normalising must be one the
/// operator's own values gave — expanded through the templates, or named by
/// a changed value itself (`acme.syncromsp.com` → `acme` keeps
/// `https://acme.syncromsp.com`; `http://127.0.0.1:18181` →
/// `http://127.0.0.3:7` moves it).
fn hosts_moved(
    info: &ConnectorInfo,
    given: &BTreeMap<String, String>,
    normalised: &BTreeMap<String, String>,
    changes: &[(String, Option<String>, Option<String>)],
) -> Option<IntegrationError> {
    let template_keys = Allowlist::template_keys(&info.allowed_hosts);
    let touched: Vec<&(String, Option<String>, Option<String>)> =
        changes.iter().filter(|(k, _, _)| template_keys.contains(k)).collect();
    if touched.is_empty() {
        return None;
    }
    let expand = |config: &BTreeMap<String, String>| -> Vec<crate::runtime::allowlist::Origin> {
        let mut map: HashMap<String, String> = HashMap::new();
        for f in info.config.iter().filter(|f| !f.secret) {
            if let Some(v) = config.get(&f.key).or(f.default_value.as_ref()) {
                map.insert(f.key.clone(), v.clone());
            }
        }
        // Template by template: one value that does not fit one template
        // (a URL where a host label goes) must not hide the others.
        let mut origins: Vec<crate::runtime::allowlist::Origin> = Vec::new();
        for template in &info.allowed_hosts {
            if let Ok(a) = Allowlist::expand(std::slice::from_ref(template), &map) {
                for o in a.origins() {
                    if !origins.contains(o) {
                        origins.push(o.clone());
                    }
                }
            }
        }
        origins
    };
    let mut named = expand(given);
    named.extend(
        touched.iter().filter_map(|(_, old, _)| old.as_deref().and_then(crate::runtime::allowlist::Origin::named_by)),
    );
    let after = expand(normalised);
    if after.iter().all(|o| named.contains(o)) {
        return None;
    }
    let list = |origins: &[crate::runtime::allowlist::Origin]| {
        if origins.is_empty() {
            "(none)".to_string()
        } else {
            origins.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ")
        }
    };
    Some(IntegrationError::HostsMoved {
        changes: touched
            .iter()
            .map(|(k, o, n)| format!("{k}: {} → {}", shown(o), shown(n)))
            .collect::<Vec<_>>()
            .join(", "),
        before: list(&expand(given)),
        after: list(&after),
    })
}

/// An integration's config as a connector receives it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub pairs: Vec<(String, String)>,
    pub secret_values: Vec<String>,
}

impl std::fmt::Display for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} config values", self.pairs.len())
    }
}

/// Config plus secrets (resolved), defaults filled in.
pub fn resolve(
    info: &ConnectorInfo,
    config: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, SecretSource>,
) -> Result<Resolved, SecretError> {
    let mut pairs = Vec::new();
    let mut secret_values = Vec::new();
    for f in &info.config {
        if let Some(v) = config.get(&f.key) {
            pairs.push((f.key.clone(), v.clone()));
        } else if let Some(s) = secrets.get(&f.key) {
            let v = s.resolve(&f.key)?;
            secret_values.push(v.clone());
            pairs.push((f.key.clone(), v));
        } else if let Some(d) = &f.default_value {
            pairs.push((f.key.clone(), d.clone()));
        }
    }
    Ok(Resolved { pairs, secret_values })
}

/// What a connector session for this integration is granted.
pub fn session_config(row: &IntegrationRow, info: &ConnectorInfo) -> Result<SessionConfig, SecretError> {
    let resolved = resolve(info, &row.config, &row.secrets)?;
    Ok(SessionConfig {
        label: row.name.clone(),
        integration: true,
        config: resolved.pairs,
        secrets: resolved.secret_values,
        allowed_hosts: info.allowed_hosts.clone(),
        rate_limit: crate::options::IntegrationOptions::from_json(&row.options).rate_limit(info.rate_limit),
        in_flight: Some(crate::options::IntegrationOptions::from_json(&row.options).concurrency()),
        state: Default::default(),
        pacing: Default::default(),
        stop: None,
    })
}

/// A stored secret goes only to the origins it went to when it was given:
/// a change that moves the connector elsewhere (another `base_url`, site or
/// subdomain) must give every stored secret again in the same command, or
/// anyone able to change the address could read the secrets back at a host
/// of their own.
fn refuse_secrets_to_new_origins(
    current: &IntegrationRow,
    info: &ConnectorInfo,
    config: &BTreeMap<String, String>,
    values: &[(String, String)],
    secrets: &[(String, String)],
) -> Result<(), IntegrationError> {
    let before = allowed_origins(current, info).unwrap_or_default();
    let after = origins_of(config, info).unwrap_or_default();
    if before == after {
        return Ok(());
    }
    let given = |key: &str| values.iter().chain(secrets).any(|(k, _)| k == key);
    let kept: Vec<&str> = current.secrets.keys().map(String::as_str).filter(|k| !given(k)).collect();
    if kept.is_empty() {
        return Ok(());
    }
    Err(IntegrationError::SecretsForNewOrigins {
        integration: current.name.clone(),
        keys: kept.join(", "),
        origins: if after.is_empty() { "no usable address".into() } else { after.join(", ") },
    })
}

/// The exact origins the connector may call for this integration: its host
/// templates expanded over the stored config (defaults filled in), as a
/// sync expands them. Secrets are not used (host templates name non-secret
/// keys). An expansion error is returned as its message.
pub fn allowed_origins(row: &IntegrationRow, info: &ConnectorInfo) -> Result<Vec<String>, String> {
    origins_of(&row.config, info)
}

/// [`allowed_origins`] of a config not stored yet.
fn origins_of(config: &BTreeMap<String, String>, info: &ConnectorInfo) -> Result<Vec<String>, String> {
    let mut config: std::collections::HashMap<String, String> =
        config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for f in &info.config {
        if let Some(d) = &f.default_value {
            config.entry(f.key.clone()).or_insert_with(|| d.clone());
        }
    }
    crate::runtime::allowlist::Allowlist::expand(&info.allowed_hosts, &config)
        .map(|a| a.origins().iter().map(ToString::to_string).collect())
        .map_err(|e| e.to_string())
}

/// Config for display: (key, shown value, is secret). Secrets are masked.
pub fn display_config(row: &IntegrationRow, info: &ConnectorInfo) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for f in &info.config {
        if let Some(v) = row.config.get(&f.key) {
            out.push((f.key.clone(), v.clone(), false));
        } else if let Some(s) = row.secrets.get(&f.key) {
            out.push((f.key.clone(), s.display(), true));
        } else if f.secret {
            out.push((f.key.clone(), "(not set)".into(), true));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_path_segments_and_never_options() {
        for ok in ["syncro", "cw-main", "acme_psa", "acme.eu", ".hidden-ok"] {
            assert!(super::valid_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "...", "-x", "a/b", "a b", "x".repeat(65).as_str()] {
            assert!(!super::valid_name(bad), "{bad:?}");
        }
    }

    use super::*;
    use crate::model::{ConfigField, StreamInfo, StreamKind};

    fn info() -> ConnectorInfo {
        let field = |key: &str, required: bool, secret: bool| ConfigField {
            key: key.into(),
            label: key.into(),
            help: String::new(),
            required,
            secret,
            default_value: None,
        };
        ConnectorInfo {
            id: "syncro".into(),
            name: "Syncro".into(),
            version: "0.1.0".into(),
            description: String::new(),
            config: vec![
                field("subdomain", true, false),
                field("api_key", true, true),
                field("base_url", false, false),
            ],
            streams: vec![StreamInfo { kind: StreamKind::Companies, incremental: false, description: String::new() }],
            allowed_hosts: vec![],
            rate_limit: None,
            extra_streams: vec![],
        }
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn secrets_are_routed_and_required_checked() {
        let (config, secrets) = assign(
            &info(),
            BTreeMap::new(),
            BTreeMap::new(),
            &kv(&[("subdomain", "acme")]),
            &kv(&[("api_key", "env:TOKEN")]),
        )
        .unwrap();
        assert_eq!(config.get("subdomain").map(String::as_str), Some("acme"));
        assert_eq!(secrets.get("api_key"), Some(&SecretSource::Env("TOKEN".into())));

        let err = assign(&info(), BTreeMap::new(), BTreeMap::new(), &kv(&[("subdomain", "acme")]), &[]).unwrap_err();
        assert!(matches!(err, IntegrationError::MissingRequired { ref key, .. } if key == "api_key"));

        let err = assign(&info(), BTreeMap::new(), BTreeMap::new(), &kv(&[("nope", "1")]), &[]).unwrap_err();
        assert!(err.to_string().contains("subdomain, api_key, base_url"), "{err}");

        let err = assign(&info(), BTreeMap::new(), BTreeMap::new(), &[], &kv(&[("subdomain", "x")])).unwrap_err();
        assert!(matches!(err, IntegrationError::NotSecret { .. }));
    }

    #[test]
    fn secret_given_with_set_is_still_secret() {
        let (config, secrets) = assign(
            &info(),
            BTreeMap::new(),
            BTreeMap::new(),
            &kv(&[("subdomain", "acme"), ("api_key", "tok-123")]),
            &[],
        )
        .unwrap();
        assert!(!config.contains_key("api_key"));
        assert_eq!(secrets.get("api_key"), Some(&SecretSource::Literal("tok-123".into())));
    }

    #[test]
    fn bad_assignment_never_echoes_value() {
        let err = parse_assignment("=supersecretvalue").unwrap_err();
        assert!(!err.to_string().contains("supersecretvalue"));
        assert!(parse_assignment("a=b=c").is_ok_and(|(k, v)| k == "a" && v == "b=c"));
    }

    #[test]
    fn display_masks_literals() {
        let row = IntegrationRow {
            id: 1,
            name: "s".into(),
            connector_id: "syncro".into(),
            config: [("subdomain".to_string(), "acme".to_string())].into(),
            secrets: [("api_key".to_string(), SecretSource::Literal("tok-123".into()))].into(),
            options: serde_json::json!({}),
            created_at: String::new(),
            updated_at: String::new(),
        };
        let shown = display_config(&row, &info());
        assert!(shown.iter().all(|(_, v, _)| !v.contains("tok-123")));
        assert!(shown.iter().any(|(k, v, s)| k == "api_key" && v == crate::secrets::MASK && *s));
    }
}
