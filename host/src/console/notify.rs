//! Notifications of failed or partial scheduled runs. Whoever ran them
//! (`ferry serve --schedules`, or a separate `ferry daemon` on the same
//! database), each such run gets a notification row: it shows on the
//! dashboard until acknowledged, and when a webhook URL is set it is
//! POSTed there as JSON, retried with exponential backoff.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::store::{Notification, RunStatus, Store};

/// The install-wide webhook URL (a console setting).
pub(super) const WEBHOOK_SETTING: &str = "webhook_url";
/// Runs up to this id existed before notifications started: not notified.
const START_SETTING: &str = "notify_after_run";
/// Delivery attempts per notification.
pub(super) const ATTEMPTS: u32 = 5;
/// How often the runs table is looked at besides when a console sync ends.
const SCAN_EVERY: Duration = Duration::from_secs(2);

/// The webhook URL as the console shows it: scheme and host (and port)
/// only. Slack, Teams and Discord hooks carry their secret in the path or
/// query, and user info is a password, so once saved the URL is write-only,
/// like a PSA secret: never in a page, an API answer or a log.
pub(crate) fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{}{port}/…", u.scheme(), u.host_str().unwrap_or(""))
        }
        Err(_) => "(not a URL)".to_string(),
    }
}

/// The JSON body POSTed to the webhook.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Payload<'a> {
    pub event: &'static str,
    pub integration: &'a str,
    pub run_id: i64,
    pub status: RunStatus,
    pub error: Option<&'a str>,
    pub finished_at: Option<&'a str>,
    /// Where the run is shown, relative to the console's address.
    pub path: String,
}

impl<'a> Payload<'a> {
    pub(super) fn of(n: &'a Notification) -> Payload<'a> {
        Payload {
            event: if n.status == RunStatus::Partial { "run.partial" } else { "run.failed" },
            integration: &n.integration,
            run_id: n.run_id,
            status: n.status,
            error: n.error.as_deref(),
            finished_at: n.finished_at.as_deref(),
            path: format!("/runs/{}", n.run_id),
        }
    }
}

/// The delay before attempt `n` (1-based; the first goes at once):
/// base, 2×base, 4×base... (`FERRY_NOTIFY_BACKOFF_MS`, default 1000).
pub(super) fn backoff(n: u32, base: Duration) -> Duration {
    if n <= 1 { Duration::ZERO } else { base * 2u32.saturating_pow(n - 2) }
}

fn base_delay() -> Duration {
    std::env::var("FERRY_NOTIFY_BACKOFF_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(1))
}

/// Look for new failed scheduled runs forever: record each, deliver it.
pub(super) async fn run(db: PathBuf, wake: Arc<tokio::sync::Notify>) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "notifications are off: no HTTP client");
            return;
        }
    };
    loop {
        let found = {
            let db = db.clone();
            tokio::task::spawn_blocking(move || scan(&db)).await
        };
        match found {
            Ok(Ok((list, url))) => {
                for n in list {
                    if let Some(url) = url.clone() {
                        tokio::spawn(deliver(db.clone(), client.clone(), url, n));
                    }
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "looking for failed runs failed"),
            Err(e) => tracing::warn!(error = %e, "looking for failed runs failed"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(SCAN_EVERY) => {}
        }
    }
}

/// New notifications (recorded now) and the webhook URL.
fn scan(db: &std::path::Path) -> Result<(Vec<Notification>, Option<String>), crate::store::StoreError> {
    let mut store = Store::open(db)?;
    let after = match store.read().console_setting(START_SETTING)? {
        Some(v) => v.parse().unwrap_or(0),
        None => {
            let latest = store.read().latest_run_id()?;
            store.transaction(|tx| tx.set_console_setting(START_SETTING, Some(&latest.to_string())))?;
            latest
        }
    };
    let runs = store.read().runs_to_notify(after)?;
    let mut out = Vec::new();
    for run in runs {
        let id = store.transaction(|tx| tx.insert_notification(&run))?;
        if let Some(n) = store.read().notification(id)? {
            out.push(n);
        }
    }
    let url = store.read().console_setting(WEBHOOK_SETTING)?;
    Ok((out, url))
}

/// POST one notification, retrying with backoff; every attempt recorded.
async fn deliver(db: PathBuf, client: reqwest::Client, url: String, n: Notification) {
    let body = match serde_json::to_vec(&Payload::of(&n)) {
        Ok(b) => b,
        Err(_) => return,
    };
    let base = base_delay();
    for attempt in 1..=ATTEMPTS {
        tokio::time::sleep(backoff(attempt, base)).await;
        let result = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .body(body.clone())
            .send()
            .await;
        let error = match result {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("the webhook answered {}", r.status())),
            // `without_url`: reqwest's message would name the secret URL.
            Err(e) => Some(format!("the webhook could not be reached: {}", e.without_url())),
        };
        let delivered = error.is_none();
        let (db2, id) = (db.clone(), n.id);
        let _ = tokio::task::spawn_blocking(move || {
            Store::open(&db2).and_then(|mut s| s.transaction(|tx| tx.record_delivery(id, delivered, error.as_deref())))
        })
        .await;
        if delivered {
            return;
        }
    }
    tracing::warn!(
        run = n.run_id,
        webhook = %shown(&url),
        "the webhook did not take the notification after {ATTEMPTS} attempts"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_url_is_shown_as_scheme_and_host_only() {
        let url = "https://hookuser:hooksecret@hooks.example.com:8443/services/T0/B0/SECRET?token=HOOKTOKEN#x";
        let shown = shown(url);
        assert_eq!(shown, "https://hooks.example.com:8443/…");
        for secret in ["hookuser", "hooksecret", "SECRET", "HOOKTOKEN", "services"] {
            assert!(!shown.contains(secret), "{secret}");
        }
        assert_eq!(super::shown("http://127.0.0.1/hook"), "http://127.0.0.1/…");
        assert_eq!(super::shown("nonsense"), "(not a URL)");
    }

    #[test]
    fn backoff_doubles_after_the_first_attempt() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(1, base), Duration::ZERO);
        assert_eq!(backoff(2, base), Duration::from_millis(100));
        assert_eq!(backoff(3, base), Duration::from_millis(200));
        assert_eq!(backoff(5, base), Duration::from_millis(800));
    }
}
