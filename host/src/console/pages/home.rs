//! Sign-in, the dashboard, live progress, install-wide settings.

use std::convert::Infallible;

use axum::Extension;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::{act, done};
use crate::console::AppState;
use crate::console::auth::{self, Session};
use crate::console::error::Problem;
use crate::console::listen::Peer;
use crate::console::notify::{self, WEBHOOK_SETTING};
use crate::console::views::{self, button, csrf, status, when};
use crate::integrations;
use crate::settings;

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// Only a path on this console (never `//host` or a full URL).
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| is_local_path(n)).unwrap_or("/").to_string()
}

/// A path on this console that no browser reads as another host: it starts
/// with one `/`, and has no backslash (read as `/`), no whitespace or control
/// character (a TAB or newline is dropped, so `/<TAB>/host` becomes
/// `//host`) anywhere.
pub(crate) fn is_local_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

fn login_markup(next: &str, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Sign in · Ferry" }
                link rel="stylesheet" href="/static/console.css";
            }
            body {
                main.login {
                    h1 { "Ferry console" }
                    @if let Some(e) = error { p.error { (e) } }
                    form method="post" action="/login" {
                        input type="hidden" name="next" value=(next);
                        label for="token" { "Admin token" }
                        input id="token" type="password" name="token" autocomplete="current-password" required autofocus;
                        p.hint { "Shown once when `ferry serve` first started; `ferry serve --new-token --no-serve` makes a new one (this console takes it at once)." }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    }
}

pub(crate) async fn login_page(Query(q): Query<LoginQuery>) -> Markup {
    login_markup(&safe_next(q.next.as_deref()), None)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    token: String,
    next: Option<String>,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    // The token is always checked: the right one is accepted whatever
    // others sent (see `auth`); wrong ones are counted per address.
    let verdict = auth::verify(&state, form.token).await;
    if let Some((status, wait)) = auth::refusal(&state, peer.ip(), verdict) {
        let message = match verdict {
            auth::Verdict::Busy => "Too many sign-ins are being checked right now; try again in a second.".to_string(),
            _ if status == StatusCode::TOO_MANY_REQUESTS => format!(
                "Too many wrong tokens from this address: wrong ones are refused for {wait} s. The admin token still works."
            ),
            _ => "That is not the admin token.".to_string(),
        };
        return auth::retry_after((status, login_markup(&next, Some(&message))).into_response(), wait);
    }
    let session = match verdict {
        auth::Verdict::Admin { epoch } => state.auth().start_session(epoch),
        _ => None,
    };
    let Some(session) = session else {
        let message = "The admin token was replaced just now; sign in with the new one.";
        return (StatusCode::UNAUTHORIZED, login_markup(&next, Some(message))).into_response();
    };
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&session.id, state.secure_cookies())) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

pub(crate) async fn logout(State(state): State<AppState>, Extension(session): Extension<Session>) -> Response {
    state.auth().end_session(&session.id);
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie(state.secure_cookies())) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// One integration's line on the dashboard.
struct Row {
    refused: Option<Problem>,
    summary: integrations::Summary,
    last: Option<crate::store::RunRow>,
    next_fire: Option<String>,
}

pub(crate) async fn dashboard(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Markup, Problem> {
    let (rows, notifications) = state
        .db(|store| {
            let mut rows = Vec::new();
            for summary in integrations::summaries(store)? {
                let row = store.read().integration(&summary.name)?;
                let last = store.read().runs(Some(&summary.name), 1)?.into_iter().next();
                let next_fire = settings::next_fire(store, &row)?.map(|t| t.to_rfc3339());
                rows.push(Row { refused: None, summary, last, next_fire });
            }
            Ok((rows, store.read().open_notifications()?))
        })
        .await?;
    let live = state.engine().progress.snapshot();
    let mut rows = rows;
    for r in &mut rows {
        r.refused = state.engine().progress.refused(&r.summary.name);
    }
    let flash = state.auth().take_flash(&session);
    let body = html! {
        @for n in &notifications {
            div.alert role="alert" {
                strong { "Scheduled run #" (n.run_id) " of " (n.integration) " " (n.status) }
                @if let Some(at) = &n.finished_at { " · " (when(at)) }
                @if let Some(e) = &n.error { p { (e) } }
                p.muted {
                    @if n.delivered_at.is_some() { "Sent to the webhook." }
                    @else if n.attempts > 0 { "Webhook not reached after " (n.attempts) " attempts" @if let Some(e) = &n.last_error { ": " (e) } "." }
                }
                div.actions {
                    a href={ "/runs/" (n.run_id) } { "Open the run" }
                    (button(&session, &format!("/notifications/{}/ack", n.id), "Acknowledge", "secondary"))
                }
            }
        }
        p.actions { a href="/integrations/new" { "Connect a PSA" } }
        @if rows.is_empty() {
            p { "No integration yet. " a href="/integrations/new" { "Connect your first PSA" } "." }
        }
        div.grid {
            @for r in &rows {
                @let name = &r.summary.name;
                @let st = r.last.as_ref().map(|l| l.status.as_str()).unwrap_or("never");
                @let running = live.contains_key(name);
                section class={ "card " (st) } data-integration=(name) {
                    h2 { a href={ "/integrations/" (views::enc(name)) } { (name) } " " span.muted { "(" (r.summary.plugin) ")" } }
                    @match &r.last {
                        Some(l) => {
                            p { "Last run " a href={ "/runs/" (l.id) } { "#" (l.id) } " " (status(l.status.as_str())) " · " (l.mode) " · " (when(&l.started_at)) }
                            p.muted {
                                (l.stream_results.iter().map(|s| s.fetched).sum::<u64>()) " fetched, "
                                (l.stream_results.iter().map(|s| s.created).sum::<u64>()) " new, "
                                (l.stream_results.iter().map(|s| s.updated).sum::<u64>()) " changed"
                            }
                            @if let Some(e) = &l.error { p.error { (e) } }
                        }
                        None => { p.muted { "Never synced." } }
                    }
                    @if let Some(p) = &r.refused {
                        p.error { "The sync asked for did not run: " (p.message) }
                        @if let Some(h) = &p.hint { p.hint { "Next: " (h) } }
                    }
                    p { "Next scheduled sync: " @match &r.next_fire { Some(t) => { (when(t)) }, None => { "none" } } }
                    div.live data-live=(name) data-running=(if running { "yes" } else { "no" }) hidden[!running] {
                        progress {}
                        " " span.live-text { "syncing…" }
                    }
                    div.actions {
                        (button(&session, &format!("/integrations/{}/sync", views::enc(name)), "Sync now", ""))
                        a href={ "/integrations/" (views::enc(name)) "/match" } { "Match companies" }
                        a href={ "/runs?integration=" (views::enc(name)) } { "Runs" }
                        a href={ "/integrations/" (views::enc(name)) } { "Settings" }
                    }
                }
            }
        }
    };
    Ok(views::page("Dashboard", &session, &flash, body))
}

/// Server-sent events: the live state of every console sync, sent on
/// every change.
pub(crate) async fn events(
    State(state): State<AppState>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let progress = state.engine().progress.clone();
    let mut changes = progress.subscribe();
    let stream = async_stream(move |tx| async move {
        loop {
            let snapshot = progress.snapshot();
            let data = serde_json::to_string(&snapshot).unwrap_or_else(|_| "{}".into());
            if tx.send(Ok(Event::default().event("progress").data(data))).await.is_err() {
                return;
            }
            if changes.changed().await.is_err() || progress.closing() {
                return;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A stream fed by a task (no extra crate for generators).
fn async_stream<T: Send + 'static, F, Fut>(f: F) -> tokio_stream_lite::Receiver<T>
where
    F: FnOnce(tokio::sync::mpsc::Sender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(f(tx));
    tokio_stream_lite::Receiver(rx)
}

/// The few lines of a receiver-as-stream adapter.
mod tokio_stream_lite {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub(super) struct Receiver<T>(pub tokio::sync::mpsc::Receiver<T>);

    impl<T> futures_util::Stream for Receiver<T> {
        type Item = T;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            self.0.poll_recv(cx)
        }
    }
}

pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Redirect {
    act(&state, &session, "/", move |store| {
        if store.transaction(|tx| tx.acknowledge_notification(id))? {
            Ok("acknowledged".to_string())
        } else {
            Err(Problem::not_found("open notification"))
        }
    })
    .await
}

pub(crate) async fn settings(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Markup, Problem> {
    let url = state.db(|store| Ok(store.read().console_setting(WEBHOOK_SETTING)?)).await?;
    let flash = state.auth().take_flash(&session);
    let body = html! {
        h2 { "Notifications" }
        p { "A scheduled sync that fails or ends partial shows on the dashboard until acknowledged. "
            "With a webhook URL it is also POSTed there as JSON (retried with backoff)." }
        p #webhook-now {
            @match &url {
                // Write-only, like a PSA secret: hook URLs carry their secret.
                Some(u) => { "Webhook: " code { (notify::shown(u)) } " " span.muted { "(the rest of the URL is kept secret)" } }
                None => { "No webhook." }
            }
        }
        form method="post" action="/settings/webhook" autocomplete="off" {
            (csrf(&session))
            label for="webhook" { @if url.is_some() { "Replace the webhook URL" } @else { "Webhook URL" } }
            input #webhook type="url" name="url" size="60" required placeholder="https://hooks.example.com/ferry";
            " " button type="submit" { "Save" }
        }
        @if url.is_some() {
            form method="post" action="/settings/webhook" {
                (csrf(&session))
                input type="hidden" name="url" value="";
                button.secondary type="submit" { "Turn webhooks off" }
            }
        }
    };
    Ok(views::page("Settings", &session, &flash, body))
}

#[derive(Deserialize)]
pub(crate) struct WebhookForm {
    url: String,
}

pub(crate) async fn set_webhook(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<WebhookForm>,
) -> Redirect {
    let outcome = save_webhook(&state, form.url).await;
    done(&state, &session, outcome, "/settings")
}

/// Check and store the webhook URL (empty: off).
pub(crate) async fn save_webhook(state: &AppState, url: String) -> Result<String, Problem> {
    let url = url.trim().to_string();
    if !url.is_empty() {
        // The URL is not echoed: it may hold a secret.
        let parsed = url::Url::parse(&url).map_err(|e| {
            Problem::bad_request(
                format!("the webhook URL is not a URL: {e}"),
                Some("e.g. https://hooks.example.com/ferry".to_string()),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Problem::bad_request(
                "the webhook must be an http or https URL",
                Some("e.g. https://hooks.example.com/ferry".to_string()),
            ));
        }
    }
    state
        .db(move |store| {
            let value = (!url.is_empty()).then_some(url.as_str());
            store.transaction(|tx| tx.set_console_setting(WEBHOOK_SETTING, value))?;
            Ok(if url.is_empty() {
                "webhook turned off".to_string()
            } else {
                format!("webhook set to {}", notify::shown(&url))
            })
        })
        .await
}

#[cfg(test)]
mod local_path_tests {
    use super::is_local_path;

    #[test]
    fn only_paths_on_this_console() {
        for ok in ["/", "/runs", "/integrations/cw/match?state=review&page=2"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in ["//evil", "/\\evil", "/\t/evil", "/\n/evil", "/ /evil", "https://evil", "evil", "", "/x\\y"] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
