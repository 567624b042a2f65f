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

pub use normalize::{GENERIC_WORDS, normalize_domain, normalize_name, normalize_phone, tokens};

use crate::model::Company;
use crate::options::{IntegrationOptions, NewCompanies};
use crate::store::{CompanyRow, StoreError, Tx};

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

/// What matching looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyFeatures {
    pub name: String,
    pub normalized: String,
    pub tokens: Vec<String>,
    pub domain: Option<String>,
    pub phone: Option<String>,
}

impl CompanyFeatures {
    pub fn new(name: &str, domain: Option<&str>, phone: Option<&str>) -> Self {
        let normalized = normalize_name(name);
        CompanyFeatures {
            name: name.to_string(),
            tokens: tokens(&normalized),
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

    pub fn of_row(c: &CompanyRow) -> Self {
        Self::new(&c.name, c.domain.as_deref(), c.phone.as_deref())
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
#[derive(Debug, Default)]
pub struct Index {
    companies: Vec<(i64, CompanyFeatures)>,
    by_name: HashMap<String, Vec<usize>>,
    by_key: HashMap<String, Vec<usize>>,
    df: HashMap<String, usize>,
    /// Companies one PSA company of this integration already maps to: two
    /// PSA companies of one integration are never merged automatically.
    claimed: HashSet<i64>,
}

impl Index {
    /// Every documentation company; those already linked by
    /// `integration_id` are claimed.
    pub fn build(tx: &Tx<'_>, integration_id: i64) -> Result<Index, StoreError> {
        let companies = tx.companies(true)?.iter().map(|c| (c.id, CompanyFeatures::of_row(c))).collect();
        let mut index = Index::from_companies(companies);
        for link in tx.company_links(integration_id)? {
            if let Some(id) = link.company_id.filter(|_| link.state.brings_data()) {
                index.claim(id);
            }
        }
        Ok(index)
    }

    pub fn from_companies(companies: Vec<(i64, CompanyFeatures)>) -> Index {
        let mut index = Index::default();
        for (i, (_, f)) in companies.iter().enumerate() {
            index.by_name.entry(f.normalized.replace(' ', "")).or_default().push(i);
            for t in unique(&f.tokens) {
                *index.df.entry(t.clone()).or_default() += 1;
            }
            for key in block_keys(f) {
                index.by_key.entry(key).or_default().push(i);
            }
        }
        index.companies = companies;
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

    /// Add a company created during this apply.
    pub fn insert(&mut self, company_id: i64, features: CompanyFeatures) {
        let i = self.companies.len();
        self.by_name.entry(features.normalized.replace(' ', "")).or_default().push(i);
        for t in unique(&features.tokens) {
            *self.df.entry(t.clone()).or_default() += 1;
        }
        for key in block_keys(&features) {
            self.by_key.entry(key).or_default().push(i);
        }
        self.companies.push((company_id, features));
    }

    fn weight(&self, token: &str) -> f64 {
        let n = self.companies.len().max(1) as f64;
        let df = *self.df.get(token).unwrap_or(&0) as f64;
        let idf = (1.0 + n / (df + 1.0)).ln();
        if GENERIC_WORDS.contains(&token) { idf * GENERIC_WEIGHT } else { idf }
    }

    /// Scored candidates for `query`, best first, at or above the floor.
    pub fn suggestions(&self, query: &CompanyFeatures, limit: usize) -> Vec<Suggestion> {
        let mut seen = HashSet::new();
        let mut candidates = Vec::new();
        if let Some(exact) = self.by_name.get(&query.normalized.replace(' ', "")) {
            candidates.extend(exact.iter().copied());
        }
        for key in block_keys(query) {
            if let Some(list) = self.by_key.get(&key)
                && list.len() <= MAX_BLOCK_DF
            {
                candidates.extend(list.iter().copied());
            }
            if candidates.len() > MAX_CANDIDATES {
                break;
            }
        }
        let mut out: Vec<Suggestion> = candidates
            .into_iter()
            .filter(|i| seen.insert(*i))
            .filter_map(|i| {
                let (id, f) = &self.companies[i];
                let (score, reason) = self.score(query, f);
                (score >= SUGGEST_FLOOR).then(|| Suggestion { company_id: *id, company: f.name.clone(), score, reason })
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.company_id.cmp(&b.company_id)));
        out.truncate(limit);
        out
    }

    /// The best unclaimed candidate.
    pub fn best(&self, query: &CompanyFeatures) -> Option<Suggestion> {
        self.suggestions(query, 8).into_iter().find(|s| !self.claimed.contains(&s.company_id))
    }

    /// Score in [0, 1] and the reason, for one pair.
    pub fn score(&self, a: &CompanyFeatures, b: &CompanyFeatures) -> (f64, String) {
        if !a.normalized.is_empty() && a.normalized == b.normalized {
            let reason = if a.name.trim().eq_ignore_ascii_case(b.name.trim()) {
                "same name"
            } else {
                "same name after normalising (case, punctuation, legal suffix)"
            };
            return (1.0, reason.into());
        }
        if !a.normalized.is_empty() && a.normalized.replace(' ', "") == b.normalized.replace(' ', "") {
            return (0.97, "same name except spacing".into());
        }
        let name = self.name_similarity(&a.tokens, &b.tokens);
        let same_domain = a.domain.is_some() && a.domain == b.domain;
        let same_phone = a.phone.is_some() && a.phone == b.phone;
        let mut score = name;
        let mut reasons = vec![format!("similar name ({:.0}%)", name * 100.0)];
        if same_domain {
            score = score.max(0.95).max(name + (1.0 - name) * 0.6);
            reasons.push(format!("same domain {}", a.domain.as_deref().unwrap_or_default()));
        }
        if same_phone {
            if name >= 0.5 {
                score = score.max(0.92).max(name + (1.0 - name) * 0.5);
            } else {
                score = score.max(0.7);
            }
            reasons.push("same phone".into());
        }
        (score.min(0.99), reasons.join(", "))
    }

    /// IDF-weighted soft token overlap (Dice over weights), with a little
    /// whole-string Jaro-Winkler to break ties.
    fn name_similarity(&self, a: &[String], b: &[String]) -> f64 {
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        let side = |from: &[String], to: &[String]| -> (f64, f64) {
            let mut matched = 0.0;
            let mut total = 0.0;
            for t in from {
                let w = self.weight(t);
                total += w;
                let best = to.iter().map(|u| token_similarity(t, u)).fold(0.0, f64::max);
                if best >= TOKEN_SIMILAR {
                    matched += w * best;
                }
            }
            (matched, total)
        };
        let (ma, ta) = side(a, b);
        let (mb, tb) = side(b, a);
        let dice = if ta + tb > 0.0 { (ma + mb) / (ta + tb) } else { 0.0 };
        let whole = strsim::jaro_winkler(&a.join(" "), &b.join(" "));
        (0.85 * dice + 0.15 * whole).clamp(0.0, 1.0)
    }
}

fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    // Short tokens must match exactly: "ab" vs "ac" are different firms.
    if a.chars().count() < 4 || b.chars().count() < 4 {
        return 0.0;
    }
    strsim::jaro_winkler(a, b)
}

fn unique(tokens: &[String]) -> Vec<&String> {
    let mut seen = HashSet::new();
    tokens.iter().filter(|t| seen.insert(t.as_str())).collect()
}

/// Blocking keys: every token, each token's 4-letter prefix, domain, phone.
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
        NewCompanies::Auto => match index.best(query) {
            Some(s) if s.score >= options.match_threshold => Decision::Match(s),
            Some(s) => Decision::Suggest(s),
            None => Decision::Create,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn claimed_companies_are_not_offered_twice() {
        let mut index = idx(&["John Smith"]);
        assert!(index.best(&q("John Smith")).is_some());
        index.claim(1);
        assert!(index.best(&q("John Smith")).is_none());
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
