//! A small HTTP client over the host's `http.send` import, with the JSON
//! decoding, form and query encoding and transport-error mapping every
//! connector needs.
//!
//! The host enforces the allowlist, timeouts, response caps, rate limiting
//! and retries of 429/503; this client only shapes requests and answers.
//! Natively (unit tests) requests go to [`crate::testing::FakeHttp`].

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::bindings::ferry::connector::http::{HttpError, Method};
use crate::bindings::ferry::connector::http::{Request as WireRequest, Response as WireResponse};
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

    /// `Retry-After` in seconds: the number given, or the seconds until the
    /// HTTP date given (0 when it is past), as the host reads it; capped at
    /// `u32::MAX`. `None` when missing or neither form.
    pub fn retry_after(&self) -> Option<u32> {
        let value = self.header("retry-after")?.trim();
        let secs = match value.parse::<u64>() {
            Ok(secs) => secs,
            Err(_) => crate::http_date::parse(value)?.saturating_sub(crate::host::now_secs()),
        };
        Some(u32::try_from(secs).unwrap_or(u32::MAX))
    }

    /// Decode the body as JSON, or explain what came back instead.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            bad_response(format!("{what}: the PSA's JSON did not parse ({e}); body starts: {}", snippet(&self.body)))
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The method as HTTP spells it (`GET`), for messages.
pub fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
    }
}

/// `key=value&…`, form-encoded (`application/x-www-form-urlencoded`): the
/// body of an OAuth token request, or a query string.
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k.as_ref(), v.as_ref());
    }
    out.finish()
}

/// The pairs of a form-encoded string (a body or a query), decoded.
pub fn form_decode(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// `url` with `query` appended (`?` or `&` as needed), form-encoded.
pub fn with_query<K: AsRef<str>, V: AsRef<str>>(url: &str, query: &[(K, V)]) -> String {
    let mut url = url.to_string();
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&form_encode(query));
    }
    url
}

/// One request, built up and then sent with [`Request::send`].
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request { method, url: url.into(), headers: Vec::new(), body: None }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Append query parameters, form-encoded.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.url = with_query(&self.url, pairs);
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// A form-encoded body with its content type (e.g. an OAuth token request).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.body = Some(form_encode(pairs).into_bytes());
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// A JSON body with its content type.
    pub fn json<T: Serialize>(mut self, value: &T) -> Result<Self, ConnectorError> {
        let body = serde_json::to_vec(value).map_err(|e| ConnectorError::Other(format!("encoding JSON: {e}")))?;
        self.body = Some(body);
        Ok(self.header("content-type", "application/json"))
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Send through the host; any status is returned, transport failures mapped.
    pub fn send(self) -> Result<Response, ConnectorError> {
        let wire = WireRequest { method: self.method, url: self.url, headers: self.headers, body: self.body };
        match crate::host::send(&wire) {
            Ok(WireResponse { status, headers, body }) => Ok(Response { status, headers, body }),
            Err(e) => Err(transport_error(e)),
        }
    }
}

/// Requests one host `send-batch` call takes (the contract's cap);
/// [`send_batch`] splits longer lists.
pub const MAX_BATCH: usize = 64;

/// Send several requests at once and get their answers in the same order,
/// each as [`Request::send`] would give it (any status returned, transport
/// failures mapped), one failing request failing only its own answer.
///
/// Ferry sends them concurrently (contract 0.4's `http.send-batch`), each
/// paced, retried and counted like a single request, never more in flight
/// than the integration allows; so a batch saves round trips, never the
/// PSA's rate limit. Use it for requests already known to be needed: the
/// sub-resources of one page of records, the next numbered pages once the
/// total is known. Lists longer than [`MAX_BATCH`] go as several batches,
/// one after the other.
///
/// A 401 to one request ends its batch at once: every request not answered
/// yet gets a copy of that 401 (marked with the header
/// `ferry-batch-cancelled`), so a revoked key stops the run without waiting
/// for requests that hang, and a connector's handling of 401 applies to
/// each.
pub fn send_batch(requests: Vec<Request>) -> Vec<Result<Response, ConnectorError>> {
    let wire: Vec<WireRequest> = requests
        .into_iter()
        .map(|r| WireRequest { method: r.method, url: r.url, headers: r.headers, body: r.body })
        .collect();
    let mut out = Vec::with_capacity(wire.len());
    for chunk in wire.chunks(MAX_BATCH) {
        let answers = crate::host::send_batch(chunk);
        // The host answers each request; should it not, the missing ones
        // fail rather than shift the answers onto the wrong requests.
        let mut answers = answers.into_iter();
        for _ in chunk {
            out.push(match answers.next() {
                Some(Ok(WireResponse { status, headers, body })) => Ok(Response { status, headers, body }),
                Some(Err(e)) => Err(transport_error(e)),
                None => Err(ConnectorError::Other("the host answered fewer requests than the batch held".into())),
            });
        }
    }
    out
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
        with_query(&format!("{}{}", self.base_url, path), query)
    }

    /// A request to `path` with the default headers, to add to and send.
    pub fn request(&self, method: Method, path: &str) -> Request {
        let mut request = Request::new(method, format!("{}{}", self.base_url, path));
        request.headers.clone_from(&self.headers);
        request
    }

    /// GET `path?query`; any status is returned, transport failures mapped.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Response, ConnectorError> {
        self.request(Method::Get, path).query(query).send()
    }

    /// GET an absolute URL (e.g. from a `Link` header) with the default headers.
    pub fn get_url(&self, url: &str) -> Result<Response, ConnectorError> {
        send(Method::Get, url, &self.headers, None)
    }

    /// GET each `(path, query)` with the default headers, all at once
    /// ([`send_batch`]); answers in the same order.
    pub fn get_batch(&self, requests: &[(String, Vec<(String, String)>)]) -> Vec<Result<Response, ConnectorError>> {
        send_batch(requests.iter().map(|(path, query)| self.request(Method::Get, path).query(query)).collect())
    }

    /// POST a form-encoded body to `path`.
    pub fn post_form<K: AsRef<str>, V: AsRef<str>>(
        &self,
        path: &str,
        form: &[(K, V)],
    ) -> Result<Response, ConnectorError> {
        self.request(Method::Post, path).form(form).send()
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
    Request { method, url: url.to_string(), headers: headers.to_vec(), body }.send()
}

/// The connector-error for an http-error from the host: only a PSA that
/// cannot be reached stops the run; the rest fail the stream they happen in.
/// The Python and JavaScript helpers (`plugins/examples/*/ferry_helpers*`)
/// map the same way.
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
    use crate::testing::{FakeHttp, Reply};

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
    fn form_round_trips() {
        let body = form_encode(&[("grant_type", "client_credentials"), ("client_secret", "a&b=c d")]);
        assert_eq!(body, "grant_type=client_credentials&client_secret=a%26b%3Dc+d");
        assert_eq!(form_decode(&body)[1], ("client_secret".to_string(), "a&b=c d".to_string()));
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

    #[test]
    fn post_form_goes_through_the_fake_with_headers_and_body() {
        let http = FakeHttp::new().on(Method::Post, "https://x.example/token", Reply::json(200, r#"{"ok":true}"#));
        let _installed = http.install();
        let c = Client::new("https://x.example").with_header("accept", "application/json");
        let r = c.post_form("/token", &[("grant_type", "client_credentials")]).unwrap();
        assert_eq!(r.status, 200);
        let sent = http.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].header("content-type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(sent[0].header("accept"), Some("application/json"));
        assert_eq!(sent[0].form_value("grant_type").as_deref(), Some("client_credentials"));
    }

    #[test]
    fn a_batch_answers_in_order_and_the_fake_notes_it() {
        let http = FakeHttp::new()
            .on(Method::Get, "/a", Reply::json(200, "1"))
            .on(Method::Get, "/b", Reply::error(HttpError::Timeout))
            .on(Method::Get, "/c", Reply::json(404, "3"));
        let _installed = http.install();
        let c = Client::new("https://x.example").with_header("accept", "application/json");
        let paths = ["/a", "/b", "/c"].map(|p| (p.to_string(), vec![("page".to_string(), "2".to_string())]));
        let answers = c.get_batch(&paths);
        assert_eq!(answers[0].as_ref().map(|r| r.status).ok(), Some(200));
        assert!(matches!(answers[1], Err(ConnectorError::Timeout(_))));
        assert_eq!(answers[2].as_ref().map(|r| r.status).ok(), Some(404));
        assert_eq!(http.batches(), vec![3]);
        let sent = http.requests();
        assert_eq!(sent.iter().map(|s| s.path().to_string()).collect::<Vec<_>>(), ["/a", "/b", "/c"]);
        assert!(sent.iter().all(|s| s.header("accept") == Some("application/json") && s.query("page").is_some()));
    }

    #[test]
    fn a_long_batch_goes_as_several() {
        let http = FakeHttp::new().on(Method::Get, "/x", Reply::json(200, "{}"));
        let _installed = http.install();
        let requests: Vec<Request> = (0..MAX_BATCH + 6).map(|_| Request::get("https://x.example/x")).collect();
        let answers = send_batch(requests);
        assert_eq!(answers.len(), MAX_BATCH + 6);
        assert_eq!(http.batches(), vec![MAX_BATCH, 6]);
    }

    #[test]
    fn transport_errors_map_like_the_contract_says() {
        let http = FakeHttp::new().on(Method::Get, "/slow", Reply::error(HttpError::Timeout)).on(
            Method::Get,
            "/gone",
            Reply::error(HttpError::Unreachable("dns".into())),
        );
        let _installed = http.install();
        let c = Client::new("https://x.example");
        assert!(matches!(c.get("/slow", &[]), Err(ConnectorError::Timeout(_))));
        assert!(matches!(c.get("/gone", &[]), Err(ConnectorError::Unreachable(_))));
    }
}
