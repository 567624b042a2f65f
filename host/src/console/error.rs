//! One error type for the console: a cause, a hint (the next step, as the
//! CLI prints it) and an HTTP status. Pages render it as an HTML page; the
//! API layer turns the same value into JSON `{error, hint}` (see
//! [`json_errors`]), so every handler uses `?` the same way.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::store::StoreError;

#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub status: StatusCode,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Problem { status, message: message.into(), hint: hint.into() }
    }

    pub(crate) fn bad_request(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, message, hint)
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Problem::new(StatusCode::NOT_FOUND, format!("{what} not found"), None)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::FORBIDDEN,
            message,
            Some("reload the page and submit the form again; every change needs the form's CSRF token".to_string()),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, message, None)
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({"error": self.message, "hint": self.hint})
    }
}

/// The status a store failure maps to.
fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::Exists { .. } | StoreError::Ambiguous { .. } => StatusCode::CONFLICT,
        StoreError::Sqlite(_)
        | StoreError::NewerSchema { .. }
        | StoreError::CreateDir { .. }
        | StoreError::Open { .. }
        | StoreError::Corrupt(_)
        | StoreError::ReadOnly { .. }
        | StoreError::Full { .. }
        | StoreError::Vault(_)
        | StoreError::NeedsUpgrade { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        Problem::new(store_status(&e), e.to_string(), e.hint())
    }
}

macro_rules! problem_from {
    ($($t:ty => |$e:ident| ($status:expr, $hint:expr)),* $(,)?) => {
        $(impl From<$t> for Problem {
            fn from($e: $t) -> Self {
                let status = $status;
                let hint: Option<String> = $hint;
                Problem::new(status, $e.to_string(), hint)
            }
        })*
    };
}

problem_from! {
    crate::companies::DecisionError => |e| (match &e {
        crate::companies::DecisionError::Store(s) => store_status(s),
        crate::companies::DecisionError::UnknownPsaCompany { .. } => StatusCode::NOT_FOUND,
        crate::companies::DecisionError::SharedCompany(_) | crate::companies::DecisionError::CompanyExists { .. } => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }, e.hint()),
    crate::curation::CurationError => |e| (match &e {
        crate::curation::CurationError::Store(s) => store_status(s),
        _ => StatusCode::BAD_REQUEST,
    }, e.hint()),
    crate::integrations::IntegrationError => |e| (match &e {
        crate::integrations::IntegrationError::Store(s) => store_status(s),
        crate::integrations::IntegrationError::Syncing { .. } | crate::integrations::IntegrationError::SameAccount { .. } => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }, e.hint()),
    crate::settings::SettingsError => |e| (match &e {
        crate::settings::SettingsError::Store(s) => store_status(s),
        _ => StatusCode::BAD_REQUEST,
    }, e.hint()),
    crate::sync::SyncError => |e| (match &e {
        crate::sync::SyncError::Store(s) => store_status(s),
        crate::sync::SyncError::Busy { .. } => StatusCode::CONFLICT,
        crate::sync::SyncError::RunStore { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }, e.hint()),
    crate::registry::RegistryError => |e| (StatusCode::BAD_REQUEST, e.hint()),
    crate::runtime::RuntimeError => |e| (StatusCode::BAD_GATEWAY, e.hint()),
    crate::secrets::SecretError => |e| (StatusCode::BAD_REQUEST, Some(e.hint())),
}

impl IntoResponse for Problem {
    /// An HTML page; the API layer swaps it for JSON (it finds the
    /// problem in the response's extensions).
    fn into_response(self) -> Response {
        let page = html! {
            (maud::DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "Ferry: " (self.status.canonical_reason().unwrap_or("error")) }
                    link rel="stylesheet" href="/static/console.css";
                }
                body {
                    main {
                        h1 { (self.status.as_u16()) " " (self.status.canonical_reason().unwrap_or("")) }
                        p.error { (self.message) }
                        @if let Some(h) = &self.hint { p.hint { "Next: " (h) } }
                        p { a href="/" { "Back to the dashboard" } }
                    }
                }
            }
        };
        let mut response = (self.status, page).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware of the API router: a [`Problem`] becomes JSON `{error, hint}`,
/// and so does any error response the router or an extractor made itself
/// (a malformed JSON body, query or path value; a wrong method).
pub(super) async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let problem = match response.extensions().get::<Problem>() {
        Some(problem) => problem.clone(),
        None => match rejected(response, Audience::Api).await {
            Ok(problem) => problem,
            Err(response) => return response,
        },
    };
    (problem.status, axum::Json(problem.json())).into_response()
}

/// Middleware of the pages: an error response the router or an extractor
/// made itself (a form or query value of the wrong type, an unknown page)
/// becomes the console's error page; a form that cannot be read is a 400.
pub(super) async fn page_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    if response.extensions().get::<Problem>().is_some() {
        return response;
    }
    match rejected(response, Audience::Pages).await {
        Ok(mut problem) => {
            if matches!(problem.status, StatusCode::UNPROCESSABLE_ENTITY | StatusCode::UNSUPPORTED_MEDIA_TYPE) {
                problem.status = StatusCode::BAD_REQUEST;
            }
            problem.into_response()
        }
        Err(response) => response,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    Api,
    Pages,
}

/// The [`Problem`] behind an error response that is not one yet (plain
/// text or empty, as axum's rejections and its 404/405 are); any other
/// response back unchanged.
async fn rejected(response: Response, audience: Audience) -> Result<Problem, Response> {
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return Err(response);
    }
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    let text = crate::text::visible(String::from_utf8_lossy(&bytes).trim()).into_owned();
    let api = audience == Audience::Api;
    let (message, hint) = match status {
        StatusCode::NOT_FOUND => (
            if api { "no such API call".to_string() } else { "no such page".to_string() },
            if api { "docs/api.md lists every call under /api/v1" } else { "start from the dashboard" },
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "this address does not take that method".to_string(),
            if api {
                "docs/api.md gives each call's method (reads are GET, actions POST)"
            } else {
                "use the page's own forms"
            },
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            if text.is_empty() { "the request body is not of a type this call takes".to_string() } else { text },
            if api { "send JSON with `Content-Type: application/json`" } else { "use the page's own forms" },
        ),
        _ => (
            if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text },
            if api {
                "docs/api.md lists each call's fields and parameters with their types"
            } else {
                "reload the page and use its own form; numbers go in number fields"
            },
        ),
    };
    Ok(Problem::new(status, message, Some(hint.to_string())))
}
