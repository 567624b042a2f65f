//! Company matching: which documentation company a PSA company is.
//!
//! Pure code over plain types. Names are normalised (case, punctuation,
//! `&`/"and", a leading "The", legal suffixes such as Inc/LLC/Ltd/GmbH/Pty
//! Ltd, common abbreviations), then compared token by token with
//! Jaro-Winkler and IDF weights, so a shared rare word counts more than a
//! shared "Services" and "Acme Dental" stays apart from "Acme Legal".
//! Matching domains (not free-mail ones) and phone numbers add evidence.
//! Candidates come from blocking keys (normalised name, rare tokens, token
//! prefixes, domain, phone), never from comparing every pair, which keeps
//! 20,000 × 20,000 well under a second.

pub mod evaluate;
mod normalize;

use std::collections::{HashMap, HashSet};

pub use normalize::{DESCRIPTIVE_WORDS, GENERIC_WORDS, normalize_domain, normalize_name, normalize_phone, tokens};

use crate::model::Company;
use crate::options::{IntegrationOptions, NewCompanies};

/// Below this score a candidate is not worth showing.
pub const SUGGEST_FLOOR: f64 = 0.6;
/// Two tokens this similar (Jaro-Winkler) count as the same word.
const TOKEN_SIMILAR: f64 = 0.93;
/// Weight factor of generic words (see [`GENERIC_WORDS`]).
const GENERIC_WEIGHT: f64 = 0.35;
/// Tokens in more companies than this are too common to block on.
const MAX_BLOCK_DF: usize = 500;
/// Candidates scored per query, at most.
const MAX_CANDIDATES: usize = 2000;
/// A word in at most this many documentation companies is rare: sharing it
/// (when it is neither generic nor descriptive) makes a candidate worth
/// showing even when the names are otherwise unlike ("McAllister
/// Bookkeeping" / "McAllister Accounting"), so that a policy of `auto`
/// asks the operator instead of creating a likely duplicate.
const RARE_DF: usize = 3;

/// What matching looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyFeatures {
    pub name: String,
    pub normalized: String,
    pub tokens: Vec<String>,
    pub domain: Option<String>,
    pub phone: Option<String>,
    /// `normalized` without spaces ("micro soft" = "microsoft").
    compact: String,
    /// `tokens` joined by single spaces, for the whole-name comparison.
    joined: String,
}

impl CompanyFeatures {
    pub fn new(name: &str, domain: Option<&str>, phone: Option<&str>) -> Self {
        let normalized = normalize_name(name);
        let tokens = tokens(&normalized);
        CompanyFeatures {
            name: name.to_string(),
            compact: normalized.replace(' ', ""),
            joined: tokens.join(" "),
            tokens,
            normalized,
            domain: domain.and_then(normalize_domain),
            phone: phone.and_then(normalize_phone),
        }
    }

    /// Features of a PSA company (website, else email domain).
    pub fn of(c: &Company) -> Self {
        let domain = c
            .website
            .as_deref()
            .and_then(normalize_domain)
            .or_else(|| c.email.as_deref().and_then(|e| e.rsplit_once('@')).and_then(|(_, d)| normalize_domain(d)));
        Self::new(&c.name, domain.as_deref(), c.phone.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Suggestion {
    pub company_id: i64,
    pub company: String,
    pub score: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Match(Suggestion),
    Create,
    Suggest(Suggestion),
    NoCandidate,
}

/// Documentation companies prepared for fast lookup.
///
/// A query never meets every company: blocking keys (tokens, token
/// prefixes, domain, phone) gather the companies that share something with
/// it, a cheap pre-score (the rarity of what they share) keeps the most
/// promising [`SHORTLIST`] of them, and only those get the full, costlier
/// similarity score. Reasons are written for the few suggestions returned.
#[derive(Debug, Default)]
pub struct Index {
    companies: Vec<(i64, CompanyFeatures)>,
    /// Normalised name without spaces → companies.
    by_name: HashMap<String, Vec<u32>>,
    by_key: HashMap<String, Vec<u32>>,
    /// Per token: in how many companies it occurs, and whether it is a
    /// generic word (looked up once here, not on every comparison).
    tokens: HashMap<String, TokenStats>,
    /// Companies one PSA company of this integration already maps to: two
    /// PSA companies of one integration are never merged automatically.
    claimed: HashSet<i64>,
}

/// Candidates that get the full score, per query, after the pre-score.
/// On the labelled pairs and the 20,000-company benchmark the right company
/// is always within the first few; 16 leaves room and halves the cost of 32.
const SHORTLIST: usize = 16;

thread_local! {
    /// Per-thread pre-score accumulator, one slot per indexed company,
    /// reused across queries so a query allocates nothing per candidate.
    static PRESCORE: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[derive(Debug, Clone, Copy)]
struct TokenStats {
    df: usize,
    generic: bool,
    /// Neither generic nor descriptive, and long enough to name someone.
    naming: bool,
}

impl TokenStats {
    /// Stats of a word not in the index (only `generic` is read).
    fn of(token: &str) -> TokenStats {
        TokenStats { df: 0, generic: GENERIC_WORDS.contains(&token), naming: false }
    }

    /// Stats of a word entering the index, looked up once per word.
    fn indexed(token: &str) -> TokenStats {
        let generic = GENERIC_WORDS.contains(&token);
        let naming = !generic && token.chars().count() >= 3 && !DESCRIPTIVE_WORDS.contains(&token);
        TokenStats { df: 0, generic, naming }
    }
}

/// How one pair scored, before it is put into words.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored {
    value: f64,
    basis: Basis,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Basis {
    SameName {
        literally: bool,
    },
    SameNameExceptSpacing,
    Similar {
        name: f64,
        same_domain: bool,
        same_phone: bool,
    },
    /// Below [`SUGGEST_FLOOR`], but the names share a rare naming word
    /// (index into the candidate's tokens): a possible twin, never a match.
    SharedWord {
        name: f64,
        token: usize,
    },
}

impl Index {
    /// The documentation companies, with those the integration already
    /// links (`claimed`): a claimed company is never matched again, only
    /// suggested. The caller loads both (`companies::match_index`).
    pub fn new(companies: Vec<(i64, CompanyFeatures)>, claimed: impl IntoIterator<Item = i64>) -> Index {
        let mut index = Index::from_companies(companies);
        for id in claimed {
            index.claim(id);
        }
        index
    }

    pub fn from_companies(companies: Vec<(i64, CompanyFeatures)>) -> Index {
        let mut index = Index::default();
        index.companies.reserve(companies.len());
        for (id, f) in companies {
            index.insert(id, f);
        }
        index
    }

    pub fn len(&self) -> usize {
        self.companies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.companies.is_empty()
    }

    pub fn claim(&mut self, company_id: i64) {
        self.claimed.insert(company_id);
    }

    /// Add a company (also one created during this apply).
    pub fn insert(&mut self, company_id: i64, features: CompanyFeatures) {
        let Ok(i) = u32::try_from(self.companies.len()) else {
            // Four billion documentation companies: not a real store.
            return;
        };
        self.by_name.entry(features.compact.clone()).or_default().push(i);
        for t in unique(&features.tokens) {
            self.tokens.entry(t.clone()).or_insert_with(|| TokenStats::indexed(t)).df += 1;
        }
        for key in block_keys(&features) {
            self.by_key.entry(key).or_default().push(i);
        }
        self.companies.push((company_id, features));
    }

    fn weight(&self, token: &str) -> f64 {
        let n = self.companies.len().max(1) as f64;
        let stats = self.tokens.get(token).copied().unwrap_or_else(|| TokenStats::of(token));
        let idf = (1.0 + n / (stats.df as f64 + 1.0)).ln();
        if stats.generic { idf * GENERIC_WEIGHT } else { idf }
    }

    /// The companies worth a full score: every company with the same
    /// compact name, then the best [`SHORTLIST`] by pre-score.
    fn shortlist(&self, query: &CompanyFeatures) -> Vec<u32> {
        let n = self.companies.len();
        let mut out: Vec<u32> = self.by_name.get(&query.compact).cloned().unwrap_or_default();
        PRESCORE.with(|cell| {
            let mut acc = cell.borrow_mut();
            if acc.len() < n {
                acc.resize(n, 0.0);
            }
            let mut touched: Vec<u32> = Vec::new();
            for key in block_keys(query) {
                let Some(list) = self.by_key.get(&key).filter(|l| l.len() <= MAX_BLOCK_DF) else { continue };
                // Rarer keys say more; a shared prefix says less than a
                // shared word, a shared domain or phone says a lot.
                let rarity = (1.0 + n as f32 / (list.len() as f32 + 1.0)).ln();
                let w = match key.as_bytes().first() {
                    Some(b'p') => 0.5 * rarity,
                    Some(b'd') | Some(b'f') => 2.0 * rarity,
                    _ => rarity,
                };
                for &i in list {
                    let slot = &mut acc[i as usize];
                    if *slot == 0.0 {
                        touched.push(i);
                    }
                    *slot += w;
                }
                if touched.len() > MAX_CANDIDATES {
                    break;
                }
            }
            let by_prescore = |a: &u32, b: &u32| acc[*b as usize].total_cmp(&acc[*a as usize]).then(a.cmp(b));
            if touched.len() > SHORTLIST {
                touched.select_nth_unstable_by(SHORTLIST - 1, by_prescore);
            }
            out.extend(touched.iter().take(SHORTLIST));
            // Every slot this query touched goes back to zero for the next.
            for i in &touched {
                acc[*i as usize] = 0.0;
            }
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Scored candidates for `query`, best first, at or above the floor.
    pub fn suggestions(&self, query: &CompanyFeatures, limit: usize) -> Vec<Suggestion> {
        self.ranked(query, |_| true, limit)
    }

    /// The best unclaimed candidate.
    pub fn best(&self, query: &CompanyFeatures) -> Option<Suggestion> {
        self.ranked(query, |id| !self.claimed.contains(&id), 1).into_iter().next()
    }

    fn ranked(&self, query: &CompanyFeatures, keep: impl Fn(i64) -> bool, limit: usize) -> Vec<Suggestion> {
        let mut scored: Vec<(Scored, usize)> = self
            .shortlist(query)
            .into_iter()
            .map(|i| i as usize)
            .filter(|&i| keep(self.companies[i].0))
            .filter_map(|i| {
                let s = self.score_pair(query, &self.companies[i].1);
                if s.value >= SUGGEST_FLOOR {
                    return Some((s, i));
                }
                let token = self.shared_rare_word(query, &self.companies[i].1)?;
                let name = match s.basis {
                    Basis::Similar { name, .. } => name,
                    _ => s.value,
                };
                Some((Scored { value: s.value, basis: Basis::SharedWord { name, token } }, i))
            })
            .collect();
        scored.sort_by(|(a, i), (b, j)| {
            b.value.total_cmp(&a.value).then(self.companies[*i].0.cmp(&self.companies[*j].0))
        });
        scored.truncate(limit);
        scored
            .into_iter()
            .map(|(s, i)| {
                let (id, f) = &self.companies[i];
                Suggestion { company_id: *id, company: f.name.clone(), score: s.value, reason: reason(query, f, &s) }
            })
            .collect()
    }

    /// Score in [0, 1] and the reason, for one pair.
    pub fn score(&self, a: &CompanyFeatures, b: &CompanyFeatures) -> (f64, String) {
        let s = self.score_pair(a, b);
        (s.value, reason(a, b, &s))
    }

    fn score_pair(&self, a: &CompanyFeatures, b: &CompanyFeatures) -> Scored {
        if !a.normalized.is_empty() && a.normalized == b.normalized {
            let literally = a.name.trim().eq_ignore_ascii_case(b.name.trim());
            return Scored { value: 1.0, basis: Basis::SameName { literally } };
        }
        if !a.compact.is_empty() && a.compact == b.compact {
            return Scored { value: 0.97, basis: Basis::SameNameExceptSpacing };
        }
        let name = self.name_similarity(a, b);
        let same_domain = a.domain.is_some() && a.domain == b.domain;
        let same_phone = a.phone.is_some() && a.phone == b.phone;
        let mut score = name;
        if same_domain {
            score = score.max(0.95).max(name + (1.0 - name) * 0.6);
        }
        if same_phone {
            if name >= 0.5 {
                score = score.max(0.92).max(name + (1.0 - name) * 0.5);
            } else {
                score = score.max(0.7);
            }
        }
        Scored { value: score.min(0.99), basis: Basis::Similar { name, same_domain, same_phone } }
    }

    /// The first word of `candidate` that is rare in the index, names
    /// someone (see [`TokenStats`]) and is (nearly) a word of `query`.
    fn shared_rare_word(&self, query: &CompanyFeatures, candidate: &CompanyFeatures) -> Option<usize> {
        candidate.tokens.iter().take(16).position(|u| {
            self.tokens.get(u).is_some_and(|st| st.naming && st.df <= RARE_DF)
                && query.tokens.iter().take(16).any(|t| token_similarity(t, u) >= TOKEN_SIMILAR)
        })
    }

    /// IDF-weighted soft token overlap (Dice over weights), with a little
    /// whole-string Jaro-Winkler to break ties.
    fn name_similarity(&self, fa: &CompanyFeatures, fb: &CompanyFeatures) -> f64 {
        let (a, b) = (&fa.tokens, &fb.tokens);
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        // Token similarities once, read by rows (a's side) and columns (b's).
        // Names of more than 16 words are compared on their first 16.
        let mut best_a = [0.0f64; 16];
        let mut best_b = [0.0f64; 16];
        let (a, b) = (&a[..a.len().min(16)], &b[..b.len().min(16)]);
        for (i, t) in a.iter().enumerate() {
            for (j, u) in b.iter().enumerate() {
                let sim = token_similarity(t, u);
                best_a[i] = best_a[i].max(sim);
                best_b[j] = best_b[j].max(sim);
            }
        }
        let side = |tokens: &[String], best: &[f64]| -> (f64, f64) {
            let mut matched = 0.0;
            let mut total = 0.0;
            for (t, &best) in tokens.iter().zip(best) {
                let w = self.weight(t);
                total += w;
                if best >= TOKEN_SIMILAR {
                    matched += w * best;
                }
            }
            (matched, total)
        };
        let (ma, ta) = side(a, &best_a);
        let (mb, tb) = side(b, &best_b);
        let dice = if ta + tb > 0.0 { (ma + mb) / (ta + tb) } else { 0.0 };
        let whole = strsim::jaro_winkler(&fa.joined, &fb.joined);
        (0.85 * dice + 0.15 * whole).clamp(0.0, 1.0)
    }
}

fn reason(query: &CompanyFeatures, candidate: &CompanyFeatures, s: &Scored) -> String {
    match s.basis {
        Basis::SameName { literally: true } => "same name".into(),
        Basis::SameName { literally: false } => "same name after normalising (case, punctuation, legal suffix)".into(),
        Basis::SameNameExceptSpacing => "same name except spacing".into(),
        Basis::Similar { name, same_domain, same_phone } => {
            let mut reasons = vec![format!("similar name ({:.0}%)", name * 100.0)];
            if same_domain {
                reasons.push(format!("same domain {}", query.domain.as_deref().unwrap_or_default()));
            }
            if same_phone {
                reasons.push("same phone".into());
            }
            reasons.join(", ")
        }
        Basis::SharedWord { name, token } => format!(
            "possible twin: shares the rare word `{}` (similar name {:.0}%); decide by hand",
            candidate.tokens.get(token).map(String::as_str).unwrap_or_default(),
            name * 100.0
        ),
    }
}

fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    // Short tokens must match exactly: "ab" vs "ac" are different firms.
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la < 4 || lb < 4 {
        return 0.0;
    }
    // Only similarities of at least TOKEN_SIMILAR count. Jaro-Winkler
    // cannot reach 0.93 when one word is under 65% of the other's length
    // (Jaro <= (2 + short/long) / 3, and the prefix bonus adds at most 40%
    // of the gap), so such pairs skip the comparison.
    if la.min(lb) * 100 < la.max(lb) * 65 {
        return 0.0;
    }
    strsim::jaro_winkler(a, b)
}

fn unique(tokens: &[String]) -> Vec<&String> {
    let mut seen = HashSet::new();
    tokens.iter().filter(|t| seen.insert(t.as_str())).collect()
}

/// Blocking keys: every token, each token's 4-letter prefix, domain, phone.
/// The first letter says the kind (the pre-score weighs kinds differently).
fn block_keys(f: &CompanyFeatures) -> Vec<String> {
    let mut keys = Vec::new();
    for t in unique(&f.tokens) {
        keys.push(format!("t:{t}"));
        if t.chars().count() >= 5 {
            keys.push(format!("p:{}", t.chars().take(4).collect::<String>()));
        }
    }
    if let Some(d) = &f.domain {
        keys.push(format!("d:{d}"));
    }
    if let Some(p) = &f.phone {
        keys.push(format!("f:{p}"));
    }
    keys
}

/// What apply does with a PSA company that has no link yet.
pub fn decide(index: &Index, query: &CompanyFeatures, options: &IntegrationOptions) -> Decision {
    match options.new_companies {
        NewCompanies::Create => Decision::Create,
        NewCompanies::Review => match index.best(query) {
            Some(s) => Decision::Suggest(s),
            None => Decision::NoCandidate,
        },
        // A possible twin (a shared rare word, see [`RARE_DF`]) scores below
        // the floor: it is suggested, never matched, whatever the threshold.
        NewCompanies::Auto => match index.best(query) {
            Some(s) if s.score >= options.match_threshold.max(SUGGEST_FLOOR) => Decision::Match(s),
            Some(s) => Decision::Suggest(s),
            None => Decision::Create,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DEFAULT_MATCH_THRESHOLD;

    fn idx(names: &[&str]) -> Index {
        Index::from_companies(
            names.iter().enumerate().map(|(i, n)| (i as i64 + 1, CompanyFeatures::new(n, None, None))).collect(),
        )
    }

    fn q(name: &str) -> CompanyFeatures {
        CompanyFeatures::new(name, None, None)
    }

    #[test]
    fn legal_suffix_and_punctuation_variants_match() {
        let index = idx(&["Ortiz Dental Group", "Smith & Sons Plumbing", "The Lakeside Clinic", "Müller GmbH"]);
        for (query, want) in [
            ("Ortiz Dental Group, LLC", 1),
            ("ortiz dental grp inc.", 1),
            ("Smith and Sons Plumbing Ltd", 2),
            ("Lakeside Clinic", 3),
            ("MÜLLER", 4),
        ] {
            let best = index.best(&q(query)).unwrap_or_else(|| panic!("{query}: no match"));
            assert_eq!(best.company_id, want, "{query}");
            assert!(best.score >= 0.9, "{query}: {}", best.score);
        }
    }

    #[test]
    fn near_misses_stay_apart() {
        let index = idx(&["Acme Dental", "Northwind Traders", "Contoso Pharmaceuticals"]);
        for query in ["Acme Legal", "Northwind Logistics", "Contoso Bank"] {
            if let Some(s) = index.best(&q(query)) {
                assert!(s.score < 0.9, "{query} scored {} against {}", s.score, s.company);
            }
        }
    }

    #[test]
    fn typos_are_forgiven() {
        let index = idx(&["Johnson Controls", "Riverside Veterinary Hospital"]);
        let s = index.best(&q("Jonhson Controls")).unwrap();
        assert_eq!(s.company_id, 1);
        assert!(s.score > 0.85, "{}", s.score);
        let s = index.best(&q("Riverside Veterinarian Hospital")).unwrap();
        assert_eq!(s.company_id, 2);
    }

    #[test]
    fn domain_and_phone_add_evidence() {
        let index = Index::from_companies(vec![
            (1, CompanyFeatures::new("Blue Harbor Logistics", Some("https://www.blueharbor.example/"), None)),
            (2, CompanyFeatures::new("Peak Fitness", None, Some("+1 (512) 555-0142"))),
        ]);
        let s = index.best(&CompanyFeatures::new("BH Logistics", Some("blueharbor.example"), None)).unwrap();
        assert_eq!(s.company_id, 1);
        assert!(s.score >= 0.95 && s.reason.contains("same domain"), "{s:?}");
        let s = index.best(&CompanyFeatures::new("Peak Fitness Center", None, Some("512-555-0142"))).unwrap();
        assert_eq!(s.company_id, 2);
        assert!(s.reason.contains("same phone"));
    }

    #[test]
    fn free_mail_domains_are_not_evidence() {
        let index = Index::from_companies(vec![(1, CompanyFeatures::new("Dana Ortiz", Some("gmail.com"), None))]);
        let s = index.best(&CompanyFeatures::new("Sam Park", Some("gmail.com"), None));
        assert!(s.is_none(), "{s:?}");
    }

    #[test]
    fn the_shortlist_keeps_the_company_sharing_the_rare_word() {
        // 400 companies share two words with the query; only the last one
        // also shares the rare word. Taking the first SHORTLIST candidates
        // in any order but rarity would miss it.
        let mut companies: Vec<(i64, CompanyFeatures)> = (0..400)
            .map(|i| (i, CompanyFeatures::new(&format!("Lakeside Dental Studio {}", number_word(i)), None, None)))
            .collect();
        companies.push((400, CompanyFeatures::new("Ortiz Lakeside Dental Studio", None, None)));
        let index = Index::from_companies(companies);
        let best = index.best(&q("Lakeside Dental Studio (Ortiz)")).expect("a candidate");
        assert_eq!(best.company_id, 400, "{best:?}");
        assert!(best.score >= 0.9, "{best:?}");
        // The query touched 401 companies but kept 16: none of the others'
        // pre-scores may leak into the next query on this thread.
        PRESCORE.with(|acc| assert!(acc.borrow().iter().all(|v| *v == 0.0), "stale pre-scores left behind"));
    }

    /// Distinct letter-only words (digits are dropped by normalisation).
    fn number_word(mut i: i64) -> String {
        let mut w = String::from("x");
        loop {
            w.push((b'a' + (i % 26) as u8) as char);
            i /= 26;
            if i == 0 {
                return w;
            }
        }
    }

    #[test]
    fn claimed_companies_are_not_offered_twice() {
        let mut index = idx(&["John Smith"]);
        assert!(index.best(&q("John Smith")).is_some());
        index.claim(1);
        assert!(index.best(&q("John Smith")).is_none());
    }

    /// The customers that policy `auto` created beside their existing
    /// twins: abbreviations now normalise to the full word and match.
    #[test]
    fn abbreviated_twins_match_instead_of_being_created() {
        let index =
            idx(&["McAllister Accounting", "Riverside Accounting", "Northstar Construction Co.", "Acme Dental"]);
        let o = IntegrationOptions::default();
        for (query, want) in [
            ("McAllister Acctg", 1),
            ("McAllister Acctg.", 1),
            ("Riverside Acctg", 2),
            ("Northstar Constr.", 3),
            ("Northstar Constr", 3),
        ] {
            match decide(&index, &q(query), &o) {
                Decision::Match(s) => assert_eq!(s.company_id, want, "{query}: {s:?}"),
                other => panic!("{query}: {other:?}"),
            }
        }
        for (short, long) in [
            ("Harbison Svcs", "Harbison Services"),
            ("Okonkwo Intl", "Okonkwo International"),
            ("Lindqvist Mgmt.", "Lindqvist Management"),
            ("Tremaine Assoc.", "Tremaine Associates"),
            ("Abernathy Bros", "Abernathy Brothers"),
            ("Pemberton Dept.", "Pemberton Department"),
            ("Castellan Dist.", "Castellan Distribution"),
            ("Quillfeather Eng.", "Quillfeather Engineering"),
            ("Brightwater Mfg", "Brightwater Manufacturing"),
            ("Vantreight Tech.", "Vantreight Technologies"),
        ] {
            assert_eq!(normalize_name(short), normalize_name(long), "{short} / {long}");
        }
    }

    #[test]
    fn a_shared_rare_word_is_suggested_never_created_nor_matched() {
        let index =
            idx(&["McAllister Accounting", "Riverside Accounting", "Northstar Construction Co.", "Acme Dental"]);
        let mut o = IntegrationOptions::default();
        for (query, want) in [("McAllister Bookkeeping", 1), ("Northstar Builders", 3), ("Mcallistar Tax Prep", 1)] {
            match decide(&index, &q(query), &o) {
                Decision::Suggest(s) => {
                    assert_eq!(s.company_id, want, "{query}: {s:?}");
                    assert!(s.score < SUGGEST_FLOOR && s.reason.contains("rare word"), "{query}: {s:?}");
                }
                other => panic!("{query}: {other:?}"),
            }
        }
        // Even an operator's low threshold does not turn a twin into a match.
        o.match_threshold = 0.1;
        assert!(matches!(decide(&index, &q("McAllister Bookkeeping"), &o), Decision::Suggest(_)));
        // Sharing only a trade word ("dental") or a generic one is no twin.
        o.match_threshold = DEFAULT_MATCH_THRESHOLD;
        for query in ["Bright Dental", "Summit Accounting", "Completely New Co"] {
            assert!(matches!(decide(&index, &q(query), &o), Decision::Create), "{query}");
        }
        // A word many companies share is not rare.
        let mut many: Vec<&str> = vec!["Cedar Plumbing", "Cedar Dental", "Cedar Legal", "Cedar Realty"];
        many.push("Other");
        let index = idx(&many);
        assert!(matches!(decide(&index, &q("Cedar Bakery"), &o), Decision::Create));
    }

    #[test]
    fn decide_policies() {
        let index = idx(&["Ortiz Dental Group", "Acme Dental"]);
        let mut o = IntegrationOptions::default();
        assert!(matches!(decide(&index, &q("Ortiz Dental Group LLC"), &o), Decision::Match(_)));
        assert!(matches!(decide(&index, &q("Completely New Co"), &o), Decision::Create));
        assert!(matches!(decide(&index, &q("Acme Dental Care"), &o), Decision::Suggest(_) | Decision::Create));
        o.new_companies = NewCompanies::Review;
        assert!(matches!(decide(&index, &q("Completely New Co"), &o), Decision::NoCandidate));
        o.new_companies = NewCompanies::Create;
        assert!(matches!(decide(&index, &q("Ortiz Dental Group"), &o), Decision::Create));
    }
}
