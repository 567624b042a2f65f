//! The HTML around every page, and small pieces pages share. maud escapes
//! every value it interpolates; nothing from a PSA, a connector or a form
//! is ever written with `PreEscaped`.

use axum::http::header;
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};

use super::auth::{Flash, Session};

/// Rows per page in every paginated list.
pub(super) const PER_PAGE: u64 = 50;

/// A whole page: navigation, the session's messages, the body.
pub(super) fn page(title: &str, session: &Session, flash: &[Flash], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (crate::text::visible(title)) " · Ferry" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "Ferry" }
                    nav {
                        a href="/" { "Dashboard" }
                        a href="/companies" { "Documentation" }
                        a href="/runs" { "Runs" }
                        a href="/tickets" { "Tickets" }
                        a href="/settings" { "Settings" }
                    }
                    form.search method="get" action="/search" {
                        input type="search" name="q" placeholder="Name, serial, MAC, email" aria-label="Search";
                    }
                    form.inline method="post" action="/logout" {
                        (csrf(session))
                        button.link type="submit" { "Sign out" }
                    }
                }
                main {
                    @for f in flash {
                        // Flashes mix Ferry's words with PSA names, which
                        // cannot be isolated inside the sentence: invisible
                        // format characters (an RLO reversing the rest) are
                        // shown as escapes instead.
                        div class=(if f.ok { "flash ok" } else { "flash error" }) role="status" {
                            p { (crate::text::visible(&f.message)) }
                            @if let Some(h) = &f.hint { p.hint { "Next: " (crate::text::visible(h)) } }
                        }
                    }
                    h1 { (name(title)) }
                    (body)
                }
            }
        }
    }
}

/// A name from a PSA or the operator, isolated for bidi (`<bdi>`): a
/// right-to-left override in it cannot reorder the text around it.
pub(super) fn name(s: &str) -> Markup {
    html! { bdi { (s) } }
}

/// [`name`], with invisible format characters (bidi controls, zero-width
/// spaces and joiners...) shown as escapes: where two names must be told
/// apart (the match page), `Acme` and `Ac\u{200b}me` must not look alike.
pub(super) fn visible_name(s: &str) -> Markup {
    html! { bdi { (crate::text::visible(s)) } }
}

/// The hidden CSRF field every POST form carries.
pub(super) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A one-button form posting to `action`.
pub(super) fn button(session: &Session, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(session))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// A run or stream status as a coloured badge; failures stand out.
pub(super) fn status(status: &str) -> Markup {
    html! { span class={ "badge " (status) } { (status) } }
}

/// An RFC 3339 time as `2026-11-30 08:52 UTC`.
pub(super) fn when(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(t) => t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => t.to_string(),
    }
}

/// Previous/next links of a paginated list; `base` carries the other query
/// parameters (ending in `?` or `&`).
pub(super) fn pager(base: &str, page: u64, total: u64) -> Markup {
    let pages = total.div_ceil(PER_PAGE).max(1);
    html! {
        @if pages > 1 {
            nav.pager {
                @if page > 1 { a rel="prev" href={ (base) "page=" (page - 1) } { "← Previous" } }
                span { "Page " (page) " of " (pages) " (" (total) ")" }
                @if page < pages { a rel="next" href={ (base) "page=" (page + 1) } { "Next →" } }
            }
        }
    }
}

/// Page number from a query (1-based) and its offset.
pub(super) fn offset(page: Option<u64>) -> (u64, u64) {
    let page = page.unwrap_or(1).max(1);
    (page, (page - 1) * PER_PAGE)
}

/// A query string value, percent-encoded.
pub(super) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const CSS: &str = r#"
:root { --fg:#1d2430; --muted:#5b6473; --line:#d8dde5; --bg:#f6f7f9; --accent:#1f5fbf; --bad:#b3261e; --warn:#a15c00; --good:#1b7a3a; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header.top { display:flex; gap:1.2rem; align-items:center; padding:.6rem 1.2rem; background:#fff; border-bottom:1px solid var(--line); }
header.top nav { display:flex; gap:1rem; }
header.top a { color:var(--fg); text-decoration:none; }
header.top .brand { font-weight:700; color:var(--accent); }
form.search { margin-left:auto; }
form.search input { width:18rem; }
main { max-width:76rem; margin:0 auto; padding:1rem 1.2rem 3rem; }
h1 { font-size:1.5rem; margin:.6rem 0 1rem; }
h2 { font-size:1.15rem; margin:1.6rem 0 .6rem; }
table { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:.4rem .6rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef1f5; font-weight:600; }
a { color:var(--accent); }
input, select, button { font:inherit; padding:.3rem .5rem; border:1px solid var(--line); border-radius:4px; background:#fff; }
button { cursor:pointer; background:var(--accent); color:#fff; border-color:var(--accent); }
button.secondary { background:#fff; color:var(--accent); }
button.danger { background:var(--bad); border-color:var(--bad); }
button.link { background:none; border:none; color:var(--accent); padding:0; }
form.inline { display:inline; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:.8rem 1rem; margin:.6rem 0; }
.card h2, .card h3 { margin-top:0; }
.card.psa { border-left:4px solid #8a94a6; }
.card.failed, .card.partial { border-left:4px solid var(--bad); }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(22rem, 1fr)); gap:.8rem; }
dl.fields { display:grid; grid-template-columns:max-content 1fr; gap:.2rem 1rem; margin:.4rem 0; }
dl.fields dt { color:var(--muted); }
dl.fields dd { margin:0; overflow-wrap:anywhere; }
.badge { display:inline-block; padding:0 .5rem; border-radius:1rem; font-size:.85rem; background:#e6e9ef; }
.badge.succeeded, .badge.matched, .badge.created { background:#dcf2e3; color:var(--good); }
.badge.failed { background:#fbe0de; color:var(--bad); font-weight:700; }
.badge.partial, .badge.interrupted, .badge.suggested { background:#fdebd0; color:var(--warn); }
.badge.running { background:#dde8fa; color:var(--accent); }
.flash { padding:.6rem 1rem; border-radius:6px; margin:.6rem 0; }
.flash.ok { background:#dcf2e3; }
.flash.error, p.error { background:#fbe0de; color:var(--bad); padding:.6rem 1rem; border-radius:6px; }
.hint, .muted { color:var(--muted); }
.alert { border:2px solid var(--bad); background:#fff5f4; border-radius:6px; padding:.6rem 1rem; margin:.6rem 0; }
progress { width:14rem; }
nav.pager { display:flex; gap:1rem; margin:.6rem 0; align-items:center; }
ol.stepper { display:flex; gap:.3rem; list-style:none; padding:0; margin:0; }
ol.stepper li { padding:0 .5rem; border-radius:1rem; font-size:.8rem; background:#eef1f5; color:var(--muted); }
ol.stepper li.done { background:#dde8fa; color:var(--accent); }
ol.stepper li.current { background:var(--accent); color:#fff; }
.actions { display:flex; flex-wrap:wrap; gap:.4rem; align-items:center; }
fieldset { border:1px solid var(--line); border-radius:6px; background:#fff; margin:.6rem 0; }
label { display:block; margin:.5rem 0 .2rem; font-weight:600; }
label.check { display:inline; font-weight:400; }
.login { max-width:26rem; margin:4rem auto; }
"#;

/// Live progress: the dashboard's bars follow the server-sent events;
/// when a sync ends the page reloads to show its result. Everything works
/// without it (reload by hand).
const JS: &str = r#"
(function () {
  var bars = document.querySelectorAll('[data-live]');
  if (!bars.length || !window.EventSource) return;
  var running = {};
  bars.forEach(function (b) { if (b.dataset.running === 'yes') running[b.dataset.live] = true; });
  var source = new EventSource('/events');
  source.addEventListener('progress', function (e) {
    var live = JSON.parse(e.data);
    var ended = false;
    bars.forEach(function (b) {
      var name = b.dataset.live, state = live[name];
      var text = b.querySelector('.live-text'), bar = b.querySelector('progress');
      if (state) {
        running[name] = true;
        b.hidden = false;
        text.textContent = state.applying ? 'applying to the documentation' :
          (state.stream || 'starting') + ': ' + state.fetched + (state.total ? ' of ' + state.total : '') + ' records';
        if (state.total) { bar.max = state.total; bar.value = state.fetched; } else { bar.removeAttribute('value'); }
      } else if (running[name]) {
        ended = true;
      }
    });
    if (ended) { source.close(); window.location.reload(); }
  });
})();
"#;

pub(super) async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], CSS)
}

pub(super) async fn js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], JS)
}
