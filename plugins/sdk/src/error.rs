//! HTTP status → `connector-error` mapping shared by all connectors, so the
//! host can act the same way on every PSA (retry, mark partial, explain).

use crate::bindings::ferry::connector::types::{ConfigProblem, ConnectorError, PermissionDenied};
use crate::http::Response;

/// Longest slice of a PSA's body quoted back in an error.
const SNIPPET: usize = 200;

/// An error that stops the run (refused credentials, a wrong setting, a PSA
/// out of reach) or asks Ferry to call again (an expired token): returned
/// at once from any part of a read that fans out (a read ahead, a batch),
/// since a next read would only meet it again, or wait for requests that
/// will not be answered; what the read had gathered is read again when the
/// listing resumes.
pub fn ends_the_call(e: &ConnectorError) -> bool {
    matches!(
        e,
        ConnectorError::Unauthorized(_)
            | ConnectorError::TokenExpired(_)
            | ConnectorError::InvalidConfig(_)
            | ConnectorError::Unreachable(_)
    )
}

/// An `invalid-config` error for `field`.
pub fn invalid_config(field: &str, reason: impl Into<String>) -> ConnectorError {
    ConnectorError::InvalidConfig(ConfigProblem { field: field.to_string(), reason: reason.into() })
}

/// A `bad-response` error with context.
pub fn bad_response(what: impl Into<String>) -> ConnectorError {
    ConnectorError::BadResponse(what.into())
}

/// A short, printable excerpt of a response body.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out: String = text.chars().take(SNIPPET).collect();
    if text.chars().count() > SNIPPET {
        out.push('…');
    }
    out.replace(['\n', '\r'], " ")
}

/// The generic meaning of a non-success status while reading `resource`.
/// Connectors call this after handling PSA-specific cases themselves.
pub fn from_status(response: &Response, resource: &str) -> ConnectorError {
    let status = response.status;
    let body = snippet(&response.body);
    match status {
        401 => ConnectorError::Unauthorized(format!("HTTP 401 while reading {resource}: {body}")),
        403 => ConnectorError::Forbidden(PermissionDenied {
            resource: resource.to_string(),
            permission: None,
            detail: body,
        }),
        404 => ConnectorError::NotFound(format!("HTTP 404 for {resource}: {body}")),
        408 | 504 => ConnectorError::Timeout(format!("HTTP {status} while reading {resource}")),
        429 => ConnectorError::RateLimited(response.retry_after()),
        500..=599 => ConnectorError::Other(format!("HTTP {status} from the PSA while reading {resource}: {body}")),
        _ => ConnectorError::BadResponse(format!("unexpected HTTP {status} while reading {resource}: {body}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn maps_common_statuses() {
        assert!(matches!(from_status(&resp(401, "", &[]), "x"), ConnectorError::Unauthorized(_)));
        assert!(matches!(from_status(&resp(403, "", &[]), "x"), ConnectorError::Forbidden(_)));
        assert!(matches!(from_status(&resp(404, "", &[]), "x"), ConnectorError::NotFound(_)));
        assert!(matches!(
            from_status(&resp(429, "", &[("retry-after", "7")]), "x"),
            ConnectorError::RateLimited(Some(7))
        ));
        assert!(matches!(from_status(&resp(502, "", &[]), "x"), ConnectorError::Other(_)));
        assert!(matches!(from_status(&resp(302, "", &[]), "x"), ConnectorError::BadResponse(_)));
    }

    /// A 429 read through the SDK's client, as a connector sees it.
    fn throttled(retry_after: &str) -> ConnectorError {
        use crate::http::{Method, Request};
        use crate::testing::{FakeHttp, Reply};
        let http =
            FakeHttp::new().on(Method::Get, "/x", Reply::status(429, "slow down").header("Retry-After", retry_after));
        let _i = http.install();
        let response = Request::get("https://psa.example/x").send().unwrap();
        from_status(&response, "x")
    }

    #[test]
    fn retry_after_as_an_http_date_is_the_seconds_until_then() {
        let in_90s = crate::http_date::format(crate::host::now_secs() + 90);
        let ConnectorError::RateLimited(Some(wait)) = throttled(&in_90s) else {
            panic!("{in_90s}: the PSA's wait was lost");
        };
        // The clock may tick once between writing the date and reading it.
        assert!((89..=90).contains(&wait), "{wait}");
        assert!(
            matches!(throttled("Wed, 21 Oct 2015 07:28:00 GMT"), ConnectorError::RateLimited(Some(0))),
            "past: now"
        );
        assert!(matches!(throttled(" 7 "), ConnectorError::RateLimited(Some(7))));
        assert!(matches!(throttled("99999999999"), ConnectorError::RateLimited(Some(u32::MAX))));
        assert!(matches!(throttled("soon"), ConnectorError::RateLimited(None)));
    }

    #[test]
    fn snippet_is_bounded_and_single_line() {
        let long = "a\n".repeat(500);
        let s = snippet(long.as_bytes());
        assert!(s.chars().count() <= SNIPPET + 1);
        assert!(!s.contains('\n'));
    }
}
