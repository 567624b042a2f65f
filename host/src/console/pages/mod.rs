//! The console's pages: each handler calls the library (the same
//! functions as the CLI command of the same name) and renders the result;
//! each form posts, then redirects back with a message (POST-redirect-GET).

mod docs;
pub(super) mod home;
pub(super) mod integrations;
pub(super) mod matching;
mod runs;

/// What the API shares with the pages (one implementation of each).
pub(super) use self::home as docs_api;
pub(super) use self::integrations as integrations_api;
pub(super) use self::matching as matching_api;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use super::AppState;
use super::auth::{Flash, Session};
use super::error::Problem;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::dashboard))
        .route("/login", get(home::login_page).post(home::login))
        .route("/logout", post(home::logout))
        .route("/events", get(home::events))
        .route("/settings", get(home::settings))
        .route("/settings/webhook", post(home::set_webhook))
        .route("/notifications/{id}/ack", post(home::acknowledge))
        .route("/integrations/new", get(integrations::choose))
        .route("/integrations/new/{plugin}", get(integrations::wizard).post(integrations::connect))
        .route("/integrations/{name}", get(integrations::show))
        .route("/integrations/{name}/test", post(integrations::test))
        .route("/integrations/{name}/config", post(integrations::configure))
        .route("/integrations/{name}/sync", post(integrations::sync_now))
        .route("/integrations/{name}/apply", post(integrations::apply_now))
        .route("/integrations/{name}/schedules", post(integrations::add_schedule))
        .route("/integrations/{name}/schedules/remove", post(integrations::remove_schedule))
        .route("/integrations/{name}/schedules/preset", post(integrations::preset))
        .route("/integrations/{name}/rules", post(integrations::add_rule))
        .route("/integrations/{name}/rules/remove", post(integrations::remove_rule))
        .route("/integrations/{name}/skip", post(integrations::skip))
        .route("/integrations/{name}/option", post(integrations::option))
        .route("/integrations/{name}/policy", post(integrations::policy))
        .route("/integrations/{name}/stage", post(integrations::stage))
        .route("/integrations/{name}/match", get(matching::list))
        .route("/integrations/{name}/match/decide", post(matching::decide))
        .route("/integrations/{name}/match/bulk", post(matching::bulk))
        .route("/companies", get(docs::companies))
        .route("/companies/{id}", get(docs::company))
        .route("/assets/{id}", get(docs::asset))
        .route("/assets/{id}/fields", post(docs::set_field))
        .route("/assets/{id}/fields/delete", post(docs::delete_field))
        .route("/search", get(docs::search))
        .route("/links/{integration}/company/{psa_id}", get(docs::link_company))
        .route("/links/{integration}/org/{psa_id}", get(docs::link_company))
        .route("/links/{integration}/asset/{psa_id}", get(docs::link_asset))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(runs::show))
        .route("/tickets", get(runs::tickets))
        .fallback(unknown_page)
}

/// Any other path: the console's 404 page — or the API's JSON 404 for a
/// path under `/api/` the API router does not see (`/api/v1/` itself).
async fn unknown_page(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        let problem = Problem::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("no API call at {}", uri.path()),
            Some("docs/api.md lists every call under /api/v1".to_string()),
        );
        return (problem.status, axum::Json(problem.json())).into_response();
    }
    Problem::not_found("page").into_response()
}

/// After a form: the outcome as a message on the next page, then back —
/// or to the dashboard when what the form was about does not exist (its
/// page would be a 404 that shows no message).
pub(super) fn done(state: &AppState, session: &Session, outcome: Result<String, Problem>, back: &str) -> Redirect {
    let (flash, back) = match outcome {
        Ok(message) => (Flash { ok: true, message, hint: None }, back),
        Err(p) => {
            let back = if p.status == axum::http::StatusCode::NOT_FOUND { "/" } else { back };
            (Flash { ok: false, message: p.message, hint: p.hint }, back)
        }
    };
    state.auth().flash(session, flash);
    Redirect::to(back)
}

/// A form that changes something: run `f` on the web connection, then
/// back to `back` with its outcome as the next page's message (see
/// [`done`]). Every page's change handler is this plus its own closure.
pub(super) async fn act(
    state: &AppState,
    session: &Session,
    back: &str,
    f: impl FnOnce(&mut crate::store::Store) -> Result<String, Problem> + Send + 'static,
) -> Redirect {
    let outcome = state.db(f).await;
    done(state, session, outcome, back)
}

/// A checkbox's value in a form.
pub(super) fn checked(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("on" | "true" | "1" | "yes"))
}
