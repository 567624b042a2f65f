//! A small HTTP client over the host's `http.send` import, with the JSON
//! decoding and transport-error mapping every connector needs.
//!
//! The host enforces the allowlist, timeouts, response caps, rate limiting
//! and retries of 429/503; this client only shapes requests and answers.

use serde::de::DeserializeOwned;

use crate::bindings::ferry::connector::http::{self as host, HttpError, Method, Request};
use crate::bindings::ferry::connector::types::ConnectorError;
use crate::error::{bad_response, snippet};

/// An HTTP response as the host returned it (header names lowercase).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Retry-After` in seconds, when given as a number.
    pub fn retry_after(&self) -> Option<u32> {
        self.header("retry-after").and_then(|v| v.trim().parse().ok())
    }

    /// Decode the body as JSON, or explain what came back instead.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            bad_response(format!("{what}: the PSA's JSON did not parse ({e}); body starts: {}", snippet(&self.body)))
        })
    }
}

/// A base URL plus default headers.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    headers: Vec<(String, String)>,
}

impl Client {
    /// `base_url` is joined with request paths by plain concatenation, so
    /// give it without a trailing slash and paths with a leading one.
    pub fn new(base_url: impl Into<String>) -> Self {
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        Self { base_url, headers: Vec::new() }
    }

    /// Add a header sent with every request.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The absolute URL for `path` with `query` appended (form-encoded).
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{}", self.base_url, path);
        if !query.is_empty() {
            let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(query.iter()).finish();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&encoded);
        }
        url
    }

    /// GET `path?query`; any status is returned, transport failures mapped.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Response, ConnectorError> {
        self.get_url(&self.url(path, query))
    }

    /// GET an absolute URL (e.g. from a `Link` header) with the default headers.
    pub fn get_url(&self, url: &str) -> Result<Response, ConnectorError> {
        send(Method::Get, url, &self.headers, None)
    }
}

/// The value of an `Authorization: Basic` header for `user:password`.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// Send one request through the host.
pub fn send(
    method: Method,
    url: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
) -> Result<Response, ConnectorError> {
    let request = Request { method, url: url.to_string(), headers: headers.to_vec(), body };
    match host::send(&request) {
        Ok(r) => Ok(Response { status: r.status, headers: r.headers, body: r.body }),
        Err(e) => Err(transport_error(e)),
    }
}

/// The connector-error for an http-error from the host.
pub fn transport_error(e: HttpError) -> ConnectorError {
    match e {
        HttpError::NotAllowed(why) => ConnectorError::Other(format!("request refused by Ferry: {why}")),
        HttpError::InvalidUrl(why) => ConnectorError::Other(format!("invalid URL: {why}")),
        HttpError::Timeout => ConnectorError::Timeout("the PSA did not answer in time".to_string()),
        HttpError::Unreachable(why) => ConnectorError::Unreachable(why),
        HttpError::TooLarge(limit) => bad_response(format!("the PSA's response exceeded Ferry's {limit}-byte limit")),
        HttpError::BudgetExhausted => ConnectorError::Other("this run's request budget is spent".to_string()),
        HttpError::Other(why) => ConnectorError::Other(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joins_and_encodes() {
        let c = Client::new("https://x.example/api/v1/");
        assert_eq!(c.url("/customers", &[]), "https://x.example/api/v1/customers");
        assert_eq!(
            c.url("/companies", &[("conditions", "lastUpdated > [2024-01-01T00:00:00Z]"), ("page", "2")]),
            "https://x.example/api/v1/companies?conditions=lastUpdated+%3E+%5B2024-01-01T00%3A00%3A00Z%5D&page=2"
        );
        assert_eq!(c.url("/a?x=1", &[("y", "2")]), "https://x.example/api/v1/a?x=1&y=2");
    }

    #[test]
    fn basic_auth_header() {
        assert_eq!(basic_auth("acme+pub", "priv"), "Basic YWNtZStwdWI6cHJpdg==");
    }

    #[test]
    fn json_error_quotes_body() {
        let r = Response { status: 200, headers: vec![], body: b"<html>oops".to_vec() };
        let err = r.json::<serde_json::Value>("customers page 1").unwrap_err();
        match err {
            ConnectorError::BadResponse(m) => {
                assert!(m.contains("customers page 1"));
                assert!(m.contains("<html>oops"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
