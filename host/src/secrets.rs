//! Secret values: where they come from and how they are kept out of output.
//!
//! A secret config value is stored either literally or as a reference
//! (`env:VAR`) resolved only when a connector needs it. Anything that may echo
//! a secret — connector logs, connector errors, trap messages, HTTP errors —
//! goes through a [`Redactor`] holding the resolved values of the
//! integration at hand.

use std::fmt;

/// What is shown instead of a secret.
pub const MASK: &str = "********";

/// Secrets shorter than this are not scrubbed from free text (a one-letter
/// "secret" would mask every occurrence of that letter); they are still
/// never printed by Ferry itself.
const MIN_REDACT_LEN: usize = 4;

/// A secret as stored: a literal value, or a reference to an environment
/// variable read at use time.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    Literal(String),
    Env(String),
    /// A literal sealed in the database that this Ferry cannot open (key
    /// file missing or another key, see `vault`): kept as stored, so saving
    /// the integration keeps it, and failing with `why` when used.
    Unreadable {
        stored: String,
        why: String,
    },
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Literal(_) => write!(f, "Literal({MASK})"),
            SecretSource::Env(var) => write!(f, "Env({var})"),
            SecretSource::Unreadable { .. } => write!(f, "Unreadable({MASK})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{var}` (referenced by `{key}`) is not set")]
    EnvMissing { key: String, var: String },
    #[error("`env:` needs a variable name, e.g. `env:SYNCRO_TOKEN`")]
    EmptyEnvName,
    #[error("the secret `{key}` cannot be read: {why}")]
    Unreadable { key: String, why: String },
    #[error("`env:{var}` names one of Ferry's own settings, which are never given to a connector")]
    FerryVariable { var: String },
}

impl SecretError {
    /// The operator's next step.
    pub fn hint(&self) -> String {
        match self {
            SecretError::EnvMissing { var, .. } => format!("export {var}=... in the environment that runs ferry"),
            SecretError::EmptyEnvName => "write --secret KEY=env:VARIABLE_NAME".into(),
            SecretError::FerryVariable { .. } => {
                "keep the PSA credential in a variable of its own, e.g. --secret api_key=env:SYNCRO_TOKEN".into()
            }
            SecretError::Unreadable { key, .. } => format!(
                "put the key file that belongs to this database back beside it (or set FERRY_SECRET_KEY), or enter \
                 the secret again: `ferry integration set NAME --secret {key}=VALUE`"
            ),
        }
    }
}

impl SecretSource {
    /// Parse what an operator typed: `env:VAR` is a reference, anything else
    /// a literal.
    pub fn parse(input: &str) -> Result<SecretSource, SecretError> {
        match input.strip_prefix("env:") {
            Some(var) if var.trim().is_empty() => Err(SecretError::EmptyEnvName),
            Some(var) if is_ferry_setting(var.trim()) => {
                Err(SecretError::FerryVariable { var: var.trim().to_string() })
            }
            Some(var) => Ok(SecretSource::Env(var.trim().to_string())),
            None => Ok(SecretSource::Literal(input.to_string())),
        }
    }

    /// The plain stored form (the store seals literals before they reach
    /// the database, see `vault`).
    pub fn to_stored(&self) -> String {
        match self {
            SecretSource::Literal(v) => format!("literal:{v}"),
            SecretSource::Env(var) => format!("env:{var}"),
            SecretSource::Unreadable { stored, .. } => stored.clone(),
        }
    }

    pub fn from_stored(stored: &str) -> SecretSource {
        if let Some(v) = stored.strip_prefix("literal:") {
            SecretSource::Literal(v.to_string())
        } else if let Some(var) = stored.strip_prefix("env:") {
            SecretSource::Env(var.to_string())
        } else {
            SecretSource::Literal(stored.to_string())
        }
    }

    pub fn resolve(&self, key: &str) -> Result<String, SecretError> {
        match self {
            SecretSource::Literal(v) => Ok(v.clone()),
            // Refused when typed; a reference stored before that rule is
            // refused here, so `FERRY_SECRET_KEY` never reaches a connector.
            SecretSource::Env(var) if is_ferry_setting(var) => Err(SecretError::FerryVariable { var: var.clone() }),
            SecretSource::Env(var) => std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| SecretError::EnvMissing { key: key.to_string(), var: var.clone() }),
            SecretSource::Unreadable { why, .. } => {
                Err(SecretError::Unreadable { key: key.to_string(), why: why.clone() })
            }
        }
    }

    /// How the secret is shown: masked, or the reference (not a secret).
    pub fn display(&self) -> String {
        match self {
            SecretSource::Literal(_) => MASK.to_string(),
            SecretSource::Env(var) => format!("env:{var}"),
            SecretSource::Unreadable { .. } => format!("{MASK} (cannot be read: re-enter it)"),
        }
    }
}

/// Ferry's own settings (`FERRY_SECRET_KEY` unseals every stored secret,
/// `FERRY_DB` …) are never a connector's secret: an `env:` reference to one
/// would hand it to whatever host the integration is pointed at.
fn is_ferry_setting(var: &str) -> bool {
    var.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("FERRY_"))
}

/// The shortest piece of a secret masked at the edge of cut text.
pub const EDGE_PIECE: usize = 4;

/// State values at least this long are masked in records too; shorter ones
/// only in output text (logs, errors, the request log).
///
/// A connector keeps all kinds of things in its `state`: tokens, but also a
/// region, a tenant name, an account number, an epoch. Masked inside
/// records, a short value such as `Work` rewrites names and types
/// (`Workstation` → `********station`) in the documentation. Tokens, keys
/// and session ids are long (an OAuth access token or API key is 20+
/// characters, a UUID 36), while words, numbers and epochs are short: 16
/// characters keeps what is token-like out of the documentation and leaves
/// ordinary data alone. What the operator configured as a secret is masked
/// in records whatever its length.
pub const TOKEN_LIKE_CHARS: usize = 16;

/// One value the redactor masks.
struct Known {
    text: String,
    /// Masked inside records too (configured secrets, token-like state
    /// values), not only in output text.
    in_records: bool,
    /// The value itself, not one of its encodings: what a decoded URL is
    /// searched for.
    plain: bool,
}

/// Scrubs known secret values out of text.
///
/// It can learn values while in use ([`Redactor::learn`]): what a connector
/// keeps in its `state` store is treated as a secret in output text from
/// the moment it is stored, for the rest of the session, and in records
/// only when token-like (see [`TOKEN_LIKE_CHARS`]).
///
/// Text is searched for each value verbatim, form-encoded, and
/// percent-decoded (any mix of `%XX` in upper or lower case, `+` or `%20`
/// for a space), so a secret in a URL path or query is masked whichever
/// valid encoding carried it.
#[derive(Default)]
pub struct Redactor {
    secrets: std::sync::RwLock<Vec<Known>>,
}

impl Clone for Redactor {
    fn clone(&self) -> Self {
        let copy = self
            .secrets()
            .iter()
            .map(|k| Known { text: k.text.clone(), in_records: k.in_records, plain: k.plain })
            .collect();
        Redactor { secrets: std::sync::RwLock::new(copy) }
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets().len())
    }
}

impl Redactor {
    /// The operator's configured secrets: masked everywhere, records included.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let redactor = Redactor::default();
        redactor.add(values, |_| true);
        redactor
    }

    /// Treat `values` (what a connector keeps in `state`) as secrets too,
    /// from now on: in output text always, in records when token-like.
    pub fn learn(&self, values: impl IntoIterator<Item = String>) {
        self.add(values, |v| v.chars().count() >= TOKEN_LIKE_CHARS);
    }

    fn add(&self, values: impl IntoIterator<Item = String>, in_records: impl Fn(&str) -> bool) {
        let mut secrets = self.secrets.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut fresh = Vec::new();
        for value in values.into_iter().filter(|v| v.len() >= MIN_REDACT_LEN) {
            let masked_in_records = in_records(&value);
            // Percent-encoded forms too: a secret may travel in a query string.
            let encoded = url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
            for (text, plain) in [(value, true), (encoded, false)] {
                match secrets.iter_mut().chain(fresh.iter_mut()).find(|k: &&mut Known| k.text == text) {
                    Some(known) => {
                        known.in_records |= masked_in_records;
                        known.plain |= plain;
                    }
                    None => fresh.push(Known { text, in_records: masked_in_records, plain }),
                }
            }
        }
        if fresh.is_empty() {
            return;
        }
        secrets.extend(fresh);
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|k| std::cmp::Reverse(k.text.len()));
    }

    fn secrets(&self) -> std::sync::RwLockReadGuard<'_, Vec<Known>> {
        self.secrets.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        self.redact_in_place(&mut out);
        out
    }

    /// Scrub `text` where it is; says whether anything was masked. Costs a
    /// search per secret and no allocation when nothing matches.
    pub fn redact_in_place(&self, text: &mut String) -> bool {
        self.mask(text, |_| true)
    }

    /// Scrub a record's value: only what must never be stored (configured
    /// secrets, token-like state values); a short state value stays, so
    /// ordinary words in the documentation are not rewritten. Records go
    /// through this field by field.
    pub fn redact_record_in_place(&self, text: &mut String) -> bool {
        self.mask(text, |k| k.in_records)
    }

    /// Does `text` hold a value that must never be stored (see
    /// [`Redactor::redact_record_in_place`])? Ids are checked with this
    /// rather than masked: a rewritten id would name another record.
    pub fn in_record(&self, text: &str) -> bool {
        let mut copy = text.to_string();
        self.redact_record_in_place(&mut copy)
    }

    fn mask(&self, text: &mut String, which: impl Fn(&Known) -> bool) -> bool {
        let secrets = self.secrets();
        let mut changed = false;
        for secret in secrets.iter().filter(|k| which(k)) {
            if text.contains(secret.text.as_str()) {
                *text = text.replace(secret.text.as_str(), MASK);
                changed = true;
            }
        }
        if text.contains(['%', '+']) {
            let plain: Vec<&str> = secrets.iter().filter(|k| k.plain && which(k)).map(|k| k.text.as_str()).collect();
            for plus_is_space in [true, false].into_iter().filter(|_| !plain.is_empty()) {
                if let Some(masked) = mask_decoded(text, &plain, plus_is_space) {
                    *text = masked;
                    changed = true;
                }
            }
        }
        changed
    }

    /// The gate for connector- or PSA-derived text that is printed, logged
    /// or stored: secrets masked first, *then* capped at `max_bytes` (a cut
    /// before redaction could keep part of a secret the mask no longer
    /// matches).
    ///
    /// Text that was already cut upstream (a connector's stderr capture, a
    /// tail) can start or end inside a secret: a piece of a secret of at
    /// least [`EDGE_PIECE`] characters at either edge is masked too.
    pub fn gate(&self, text: &str, max_bytes: usize) -> String {
        let mut redacted = self.redact(text);
        self.mask_edges(&mut redacted);
        crate::text::cap_bytes(&redacted, max_bytes).into_owned()
    }

    /// Mask a secret's head at the end of `text` and its tail at the start.
    pub fn mask_edges(&self, text: &mut String) {
        for secret in self.secrets().iter().map(|k| &k.text) {
            let bounds: Vec<usize> = secret.char_indices().map(|(i, _)| i).skip(1).collect();
            // Longest piece first: the end of the text holding a head.
            if let Some(&cut) = bounds
                .iter()
                .rev()
                .find(|&&i| secret[..i].chars().count() >= EDGE_PIECE && text.ends_with(&secret[..i]))
            {
                let keep = text.len() - cut;
                text.truncate(keep);
                text.push_str(MASK);
            }
            if let Some(&from) =
                bounds.iter().find(|&&i| secret[i..].chars().count() >= EDGE_PIECE && text.starts_with(&secret[i..]))
            {
                let piece = secret.len() - from;
                text.replace_range(..piece, MASK);
            }
        }
    }
}

/// `text` with every percent-encoded occurrence of a `secrets` value
/// masked: `text` is decoded (`%XX` in either case; `+` as a space when
/// `plus_is_space`) with each decoded byte remembering the span of `text`
/// it came from, the decoded bytes are searched, and the spans of each
/// match are replaced. `None` when nothing matched.
fn mask_decoded(text: &str, secrets: &[&str], plus_is_space: bool) -> Option<String> {
    let raw = text.as_bytes();
    let mut decoded = Vec::with_capacity(raw.len());
    let mut spans = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        let escape = match (raw[i], raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => Some((hi * 16 + lo) as u8),
            _ => None,
        };
        let (byte, len) = match escape {
            Some(byte) => (byte, 3),
            None if raw[i] == b'+' && plus_is_space => (b' ', 1),
            None => (raw[i], 1),
        };
        decoded.push(byte);
        spans.push((i, i + len));
        i += len;
    }
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for secret in secrets.iter().map(|s| s.as_bytes()).filter(|s| !s.is_empty()) {
        let mut from = 0;
        while let Some(at) = decoded[from..].windows(secret.len()).position(|w| w == secret) {
            let start = from + at;
            let end = start + secret.len();
            hits.push((spans[start].0, spans[end - 1].1));
            from = end;
        }
    }
    if hits.is_empty() {
        return None;
    }
    hits.sort_unstable();
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    for (start, end) in hits {
        if end <= at {
            continue;
        }
        if start >= at {
            out.extend_from_slice(&raw[at..start]);
            out.extend_from_slice(MASK.as_bytes());
        }
        at = end;
    }
    out.extend_from_slice(&raw[at..]);
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_masks_pieces_of_a_secret_left_at_a_cut() {
        let r = Redactor::new(["SuperSecretKey123XYZ".to_string()]);
        let cut_end = "panic: SuperSecretKey123XYZSuperSecretKey123X";
        let out = r.gate(cut_end, 4096);
        assert!(!out.contains("SuperSecret") && !out.contains("Key123"), "{out}");
        let cut_start = "Key123XYZ then the rest";
        let out = r.gate(cut_start, 4096);
        assert!(!out.contains("Key123"), "{out}");
        assert!(out.ends_with("then the rest"), "{out}");
        // Short pieces and unrelated text stay.
        assert_eq!(r.gate("ends with Sup", 4096), "ends with Sup");
    }

    #[test]
    fn parse_and_store_round_trip() {
        let lit = SecretSource::parse("abc123").unwrap();
        assert_eq!(SecretSource::from_stored(&lit.to_stored()), lit);
        for own in ["env:FERRY_SECRET_KEY", "env: ferry_db"] {
            assert!(matches!(SecretSource::parse(own), Err(SecretError::FerryVariable { .. })), "{own}");
        }
        let stored = SecretSource::from_stored("env:FERRY_SECRET_KEY");
        assert!(matches!(stored.resolve("api_key"), Err(SecretError::FerryVariable { .. })));
        let env = SecretSource::parse("env:SYNCRO_TOKEN").unwrap();
        assert_eq!(env, SecretSource::Env("SYNCRO_TOKEN".into()));
        assert_eq!(SecretSource::from_stored(&env.to_stored()), env);
        assert!(SecretSource::parse("env:").is_err());
    }

    #[test]
    fn debug_and_display_never_show_literal() {
        let lit = SecretSource::Literal("hunter22".into());
        assert!(!format!("{lit:?}").contains("hunter22"));
        assert_eq!(lit.display(), MASK);
        assert_eq!(SecretSource::Env("X".into()).display(), "env:X");
    }

    #[test]
    fn env_resolution_names_the_variable() {
        let s = SecretSource::Env("SURELY_UNSET_VAR_OF_A_FERRY_TEST".into());
        let err = s.resolve("api_key").unwrap_err();
        assert!(err.to_string().contains("SURELY_UNSET_VAR_OF_A_FERRY_TEST"));
        assert!(err.to_string().contains("api_key"));
    }

    #[test]
    fn redacts_plain_and_encoded() {
        let r = Redactor::new(["s3cr3t+key/=".to_string(), "ab".to_string()]);
        let text = "token s3cr3t+key/= in url ?api_key=s3cr3t%2Bkey%2F%3D and ab stays";
        let out = r.redact(text);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(out.contains("ab stays"));
    }

    #[test]
    fn a_secret_is_masked_in_any_percent_encoding() {
        let key = "p@ss/w+rd=1&x y";
        let r = Redactor::new([key.to_string()]);
        let encodings = [
            "p%40ss%2Fw%2Brd%3D1%26x%20y",
            "p%40ss%2fw%2brd%3d1%26x%20y",
            "p%40ss%2Fw%2Brd%3D1%26x+y",
            "p%40ss%2fw%2brd%3d1%26x+y",
            "p@ss%2Fw%2Brd=1%26x%20y",
            "p%40ss%2fw%2Brd%3D1%26x%20y",
        ];
        for e in encodings {
            let url = format!("http://h/k/{e}/u?q={e}&page=2");
            let out = r.redact(&url);
            assert_eq!(out, "http://h/k/********/u?q=********&page=2", "{e}");
        }
        // Two secrets side by side, one of them a state value, and text
        // around them kept as it was.
        r.learn(["state-token".to_string()]);
        assert_eq!(r.redact("a%20b/p%40ss%2fw%2brd%3d1%26x+y%73tate-token/%ZZ"), "a%20b/****************/%ZZ");
        assert_eq!(r.redact("100%25 of p+w"), "100%25 of p+w");
    }

    #[test]
    fn the_gate_redacts_before_it_cuts() {
        let token = "tok-0123456789abcdef";
        let r = Redactor::new([token.to_string()]);
        // A cut at 300 bytes would keep all but the last character of the
        // token, which then no longer matches: redaction must come first.
        let text = format!("{}{token} and more{}", "x".repeat(300 - token.len() + 1), "y".repeat(50));
        let out = r.gate(&text, 300);
        assert!(!out.contains("tok-0123456789abcde"), "{out}");
        assert!(out.contains("more bytes)"), "{out}");
    }
}
