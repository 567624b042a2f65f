//! Deduplication: a repeat of the same sync within a short window (a double
//! click, a cron entry and a manual run colliding) is answered with the
//! earlier run instead of asking the PSA again.
//!
//! Only a run that *succeeded* is ever repeated, and only when it ran with
//! the same configuration: a failed, partial or interrupted run, or one
//! whose streams left a note (deletions deferred to the next listing), is
//! exactly what the operator wants to run again, and a changed key, config value,
//! option or connector build makes it a different sync. `--force` and
//! `--reset` always run.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::SyncRequest;
use crate::store::{IntegrationRow, Reader, RunRow, RunStatus, StoreError};

/// A repeat of the same sync within this many seconds is answered with the
/// earlier run (`FERRY_DEDUP_SECONDS`, default 120; 0 turns it off).
pub fn dedup_window() -> Duration {
    let secs = std::env::var("FERRY_DEDUP_SECONDS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(120);
    Duration::from_secs(secs)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What makes two syncs "the same", as one hash: the connector build, the
/// scope (mode and streams), the integration's config, its secret *sources*
/// and its options. A literal secret enters only as its own hash, so the
/// fingerprint stored on the run never holds a secret in clear; an `env:`
/// reference enters as the reference (its value is never stored anywhere).
pub fn fingerprint(integration: &IntegrationRow, connector_sha: &str, scope: &str) -> String {
    let secrets: BTreeMap<&String, String> =
        integration.secrets.iter().map(|(k, v)| (k, sha256_hex(&v.to_stored()))).collect();
    let canonical = serde_json::json!({
        "connector": connector_sha,
        "scope": scope,
        "config": integration.config,
        "secrets": secrets,
        "options": integration.options,
    });
    sha256_hex(&canonical.to_string())
}

/// The earlier run a new request repeats, if any: the integration's latest
/// run, when it succeeded, had the same fingerprint (which covers the
/// scope) and finished within the window.
pub fn earlier_run(
    tx: &Reader<'_>,
    integration: &IntegrationRow,
    request: &SyncRequest,
    fingerprint: &str,
) -> Result<Option<RunRow>, StoreError> {
    if request.force || request.reset {
        return Ok(None);
    }
    let window = dedup_window();
    if window.is_zero() {
        return Ok(None);
    }
    let Some(last) = tx.runs(Some(&integration.name), 1)?.into_iter().next() else { return Ok(None) };
    if last.status != RunStatus::Succeeded || last.mode != request.mode {
        return Ok(None);
    }
    // A stream note says the run left something for the next listing
    // (deletions deferred after a stitched or shifted listing): the
    // operator who runs the sync again is doing what it said.
    if last.stream_results.iter().any(|s| s.note.is_some()) {
        return Ok(None);
    }
    if tx.run_fingerprint(last.id)?.as_deref() != Some(fingerprint) {
        return Ok(None);
    }
    let finished = last.finished_at.as_deref().and_then(|f| chrono::DateTime::parse_from_rfc3339(f).ok());
    let recent = finished
        .is_some_and(|f| (chrono::Utc::now() - f.with_timezone(&chrono::Utc)).to_std().unwrap_or_default() < window);
    // Anything done to the integration since (config, options, removal and
    // re-adding) makes the earlier run a different sync.
    let changed_since = match (finished, chrono::DateTime::parse_from_rfc3339(&integration.updated_at).ok()) {
        (Some(f), Some(u)) => u >= f,
        _ => true,
    };
    Ok((recent && !changed_since).then_some(last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::SecretSource;

    fn integration() -> IntegrationRow {
        IntegrationRow {
            id: 1,
            name: "acme".into(),
            connector_id: "syncro".into(),
            config: [("subdomain".to_string(), "acme".to_string())].into_iter().collect(),
            secrets: [("api_key".to_string(), SecretSource::Literal("s3cret-token-value".into()))]
                .into_iter()
                .collect(),
            options: serde_json::json!({"auto_archive": false}),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn fingerprint_covers_config_secrets_options_build_and_scope_but_holds_no_secret() {
        let base = integration();
        let fp = fingerprint(&base, "sha-a", "full:assets");
        assert_eq!(fp, fingerprint(&base, "sha-a", "full:assets"), "stable");
        assert!(!fp.contains("s3cret"));
        let mut key = base.clone();
        key.secrets.insert("api_key".into(), SecretSource::Literal("fixed-token".into()));
        let mut env = base.clone();
        env.secrets.insert("api_key".into(), SecretSource::Env("ACME_TOKEN".into()));
        let mut config = base.clone();
        config.config.insert("subdomain".into(), "other".into());
        let mut options = base.clone();
        options.options = serde_json::json!({"auto_archive": true});
        let others = [
            fingerprint(&key, "sha-a", "full:assets"),
            fingerprint(&env, "sha-a", "full:assets"),
            fingerprint(&config, "sha-a", "full:assets"),
            fingerprint(&options, "sha-a", "full:assets"),
            fingerprint(&base, "sha-b", "full:assets"),
            fingerprint(&base, "sha-a", "incremental:assets"),
        ];
        for other in &others {
            assert_ne!(&fp, other);
        }
    }
}
