//! OAuth 2.0 client credentials (RFC 6749 §4.4): fetch an access token with
//! a client id and secret, keep it in [`crate::state`] until shortly before
//! it expires, and send requests with it.
//!
//! The token lives in the integration's `state` (contract 0.3) with the
//! lifetime the token endpoint gave, so a whole sync — and the next ones,
//! while it lasts — uses one token. When the PSA refuses a cached token
//! (revoked or expired early), [`ClientCredentials::send`] returns
//! `token-expired`: Ferry clears the state and calls once more, which
//! fetches a new token; no retry loop in the connector. A token refused
//! right after it was issued is the operator's problem and comes back as
//! the 401 it is (mapped to `unauthorized` by the caller).

use serde::Deserialize;

use crate::bindings::ferry::connector::types::ConnectorError;
use crate::de::{self, Scalar};
use crate::error::{bad_response, from_status, snippet};
use crate::http::{Request, Response};

/// Tokens are treated as expired this many seconds early, so a request never
/// leaves with a token about to lapse.
const EARLY_SECONDS: u64 = 30;
/// Lifetime assumed when the token endpoint gives no `expires_in`.
const DEFAULT_LIFETIME: u64 = 3600;

/// A client-credentials token endpoint and what to send it.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// `scope`, if the PSA wants one (HaloPSA: `all`).
    pub scope: Option<String>,
    /// Further form fields (e.g. HaloPSA's `tenant`).
    pub extra: Vec<(String, String)>,
}

/// A token endpoint's answer, read leniently: OAuth servers differ in
/// details RFC 6749 §5.1 leaves loose in practice (`expires_in` as a string,
/// `token_type` in any case or padded), and refusing those would leave a
/// connector unable to authenticate at all.
#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenAnswer {
    #[serde(deserialize_with = "de::lenient")]
    access_token: Option<String>,
    #[serde(deserialize_with = "de::lenient")]
    expires_in: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    token_type: Option<String>,
}

impl TokenAnswer {
    /// Seconds the token lasts: a non-negative whole number, as a number or
    /// as text with surrounding spaces; anything else is taken as absent.
    fn lifetime(&self) -> Option<u64> {
        match self.expires_in.as_ref()? {
            Scalar::Number(n) => n.as_u64(),
            Scalar::Text(t) => t.trim().parse().ok(),
            Scalar::Bool(_) => None,
        }
    }
}

impl ClientCredentials {
    pub fn new(token_url: impl Into<String>, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientCredentials {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            extra: Vec::new(),
        }
    }

    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_string());
        self
    }

    pub fn extra(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_string(), value.to_string()));
        self
    }

    /// The state key of this client's token: a hash of the endpoint and the
    /// client id (never the secret), since state keys allow only
    /// `[A-Za-z0-9._:-]` and a URL does not fit.
    fn key(&self) -> String {
        format!("oauth-cc:{:016x}", fnv1a(&[self.token_url.as_bytes(), b"\n", self.client_id.as_bytes()]))
    }

    /// A valid access token: the cached one, or a new one.
    pub fn token(&self) -> Result<String, ConnectorError> {
        Ok(self.token_fresh()?.0)
    }

    /// The token and whether it was fetched just now.
    fn token_fresh(&self) -> Result<(String, bool), ConnectorError> {
        if let Some(token) = crate::state::get(&self.key()) {
            return Ok((token, false));
        }
        Ok((self.fetch()?, true))
    }

    /// Forget the cached token (e.g. after the PSA refused it).
    pub fn forget(&self) {
        crate::state::delete(&self.key());
    }

    /// POST the token request and cache the answer.
    pub fn fetch(&self) -> Result<String, ConnectorError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        form.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let response = Request::post(&self.token_url).header("accept", "application/json").form(&form).send()?;
        if !response.is_success() {
            return Err(token_refused(&response));
        }
        let answer: TokenAnswer = response.json("the token endpoint's answer")?;
        let Some(token) = answer.access_token.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Err(bad_response("the token endpoint returned no access_token (missing, empty or not text)"));
        };
        if let Some(kind) = &answer.token_type
            && !kind.trim().eq_ignore_ascii_case("bearer")
        {
            return Err(bad_response(format!("the token endpoint returned a `{kind}` token, not a bearer token")));
        }
        let lifetime = answer.lifetime().unwrap_or(DEFAULT_LIFETIME);
        let keep = u32::try_from(lifetime.saturating_sub(EARLY_SECONDS)).unwrap_or(u32::MAX);
        // A token that cannot be kept still serves this call; the next call
        // fetches another.
        if keep > 0
            && let Err(e) = crate::state::set(&self.key(), token, Some(keep))
        {
            crate::log::warn(&format!("the access token could not be kept in state: {e:?}"));
        }
        crate::log::debug(&format!("new access token from {} (valid {lifetime} s)", self.token_url));
        Ok(token.to_string())
    }

    /// Send `build(token)` with a valid token. When the PSA answers 401 to a
    /// token that came from state (it expired early or was revoked), the
    /// token is forgotten and the call ends in `token-expired`: Ferry clears
    /// the state and calls once more, and that call fetches a new token. A
    /// 401 to a token fetched just now, and any other answer, is returned as
    /// it is.
    pub fn send(&self, build: impl Fn(&str) -> Request) -> Result<Response, ConnectorError> {
        let (token, fresh) = self.token_fresh()?;
        self.judge(build(&token).send()?, fresh)
    }

    /// Several requests with one valid token, sent at once
    /// ([`crate::http::send_batch`], contract 0.4): `build(token)` makes
    /// them, and each answer is judged as [`ClientCredentials::send`] judges
    /// its one (a 401 to a cached token is `token-expired` for that answer,
    /// and the token is forgotten).
    pub fn send_batch(
        &self,
        build: impl Fn(&str) -> Vec<Request>,
    ) -> Result<Vec<Result<Response, ConnectorError>>, ConnectorError> {
        let (token, fresh) = self.token_fresh()?;
        let answers = crate::http::send_batch(build(&token));
        Ok(answers.into_iter().map(|a| a.and_then(|response| self.judge(response, fresh))).collect())
    }

    /// An answer to a request made with a token fetched just now (`fresh`)
    /// or taken from state.
    fn judge(&self, response: Response, fresh: bool) -> Result<Response, ConnectorError> {
        if response.status != 401 || fresh {
            return Ok(response);
        }
        self.forget();
        Err(ConnectorError::TokenExpired(format!(
            "the PSA refused the cached access token from {} (HTTP 401)",
            self.token_url
        )))
    }
}

/// 64-bit FNV-1a over `parts`: a short, stable, dependency-free name.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// What a failed token request means: wrong client id/secret is
/// `unauthorized` (RFC 6749 §5.2: 400 `invalid_client`/`unauthorized_client`
/// or 401), anything else as the status says.
fn token_refused(response: &Response) -> ConnectorError {
    let body = snippet(&response.body);
    let lower = body.to_ascii_lowercase();
    let refused = response.status == 401
        || (response.status == 400
            && ["invalid_client", "unauthorized_client", "invalid_grant"].iter().any(|c| lower.contains(c)));
    if refused {
        return ConnectorError::Unauthorized(format!(
            "the token endpoint refused the client id and secret (HTTP {}): {body}",
            response.status
        ));
    }
    from_status(response, "the access token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;
    use crate::testing::{FakeHttp, Reply, advance_clock};

    const TOKEN: &str = r#"{"access_token":"t1","expires_in":3600,"token_type":"Bearer"}"#;

    fn credentials() -> ClientCredentials {
        ClientCredentials::new("https://auth.example/auth/token", "id", "s3cret").scope("all")
    }

    #[test]
    fn fetches_once_and_reuses_until_expiry() {
        let http = FakeHttp::new().on(Method::Post, "https://auth.example/auth/token", Reply::json(200, TOKEN)).on(
            Method::Get,
            "https://api.example/x",
            Reply::status(200, "ok"),
        );
        let _i = http.install();
        let auth = credentials();
        for _ in 0..3 {
            let r = auth.send(|t| Request::get("https://api.example/x").bearer(t)).unwrap();
            assert_eq!(r.status, 200);
        }
        let posts = http.requests_to(Method::Post, "/auth/token");
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].form_value("grant_type").as_deref(), Some("client_credentials"));
        assert_eq!(posts[0].form_value("scope").as_deref(), Some("all"));
        assert_eq!(posts[0].form_value("client_secret").as_deref(), Some("s3cret"));
        assert_eq!(http.requests()[1].header("authorization"), Some("Bearer t1"));
        advance_clock(3600);
        auth.send(|t| Request::get("https://api.example/x").bearer(t)).unwrap();
        assert_eq!(http.count(Method::Post, "/auth/token"), 2, "refreshed after its lifetime");
    }

    #[test]
    fn a_refused_cached_token_is_token_expired_and_the_retry_fetches_anew() {
        let http = FakeHttp::new()
            .on(Method::Post, "/auth/token", Reply::json(200, TOKEN))
            .on(Method::Get, "/x", Reply::status(200, "ok"))
            .on(Method::Get, "/x", Reply::status(401, "expired"))
            .on(Method::Get, "/x", Reply::status(200, "ok"));
        let _i = http.install();
        let auth = credentials();
        let get = |t: &str| Request::get("https://api.example/x").bearer(t);
        assert_eq!(auth.send(get).unwrap().status, 200);
        // Second call: the cached token is refused; no loop of its own.
        assert!(matches!(auth.send(get), Err(ConnectorError::TokenExpired(_))));
        assert_eq!(http.count(Method::Post, "/auth/token"), 1);
        // The host clears state and retries the call once.
        crate::testing::clear_state();
        assert_eq!(auth.send(get).unwrap().status, 200);
        assert_eq!(http.count(Method::Post, "/auth/token"), 2);
        assert_eq!(http.count(Method::Get, "/x"), 3);
    }

    #[test]
    fn a_fresh_token_refused_is_the_401_it_is() {
        let http = FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(200, TOKEN)).on(
            Method::Get,
            "/x",
            Reply::status(401, "no"),
        );
        let _i = http.install();
        let r = credentials().send(|t| Request::get("https://api.example/x").bearer(t)).unwrap();
        assert_eq!(r.status, 401);
    }

    #[test]
    fn the_token_is_kept_under_a_valid_key_with_its_lifetime() {
        let http = FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(200, TOKEN));
        let _i = http.install();
        credentials().token().unwrap();
        let kept = crate::testing::state();
        assert_eq!(kept.len(), 1);
        assert!(crate::state::valid_key(&kept[0].0), "{}", kept[0].0);
        assert_eq!(kept[0].1, "t1");
        advance_clock(3600 - EARLY_SECONDS - 1);
        assert_eq!(crate::testing::state().len(), 1);
        advance_clock(1);
        assert!(crate::testing::state().is_empty(), "gone with its TTL");
    }

    #[test]
    fn expires_in_as_text_and_a_padded_token_type_are_read() {
        let answer = r#"{"access_token":"t1","expires_in":" 120 ","token_type":" bearer "}"#;
        let http = FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(200, answer));
        let _i = http.install();
        assert_eq!(credentials().token().unwrap(), "t1");
        advance_clock(120 - EARLY_SECONDS - 1);
        assert_eq!(crate::testing::state().len(), 1, "kept for the lifetime given as text");
        advance_clock(1);
        assert!(crate::testing::state().is_empty());
    }

    #[test]
    fn an_unreadable_expires_in_falls_back_to_the_default_lifetime() {
        for expires_in in [r#""soon""#, "-5", "null", "[]"] {
            let answer = format!(r#"{{"access_token":"t1","expires_in":{expires_in},"token_type":"BEARER"}}"#);
            let http = FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(200, answer));
            let _i = http.install();
            crate::testing::clear_state();
            assert_eq!(credentials().token().unwrap(), "t1", "{expires_in}");
            advance_clock(DEFAULT_LIFETIME - EARLY_SECONDS - 1);
            assert_eq!(crate::testing::state().len(), 1, "{expires_in}");
            advance_clock(1);
        }
    }

    #[test]
    fn a_token_that_is_no_bearer_token_or_no_token_is_a_bad_response() {
        for answer in [
            r#"{"access_token":"t1","token_type":"mac"}"#,
            r#"{"access_token":"  ","token_type":"Bearer"}"#,
            r#"{"access_token":42}"#,
            r#"{"token_type":"Bearer"}"#,
        ] {
            let http = FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(200, answer));
            let _i = http.install();
            assert!(matches!(credentials().token(), Err(ConnectorError::BadResponse(_))), "{answer}");
        }
    }

    #[test]
    fn wrong_client_secret_is_unauthorized() {
        let http = FakeHttp::new().on(Method::Post, "/auth/token", Reply::json(400, r#"{"error":"invalid_client"}"#));
        let _i = http.install();
        assert!(matches!(credentials().token(), Err(ConnectorError::Unauthorized(_))));
    }
}
