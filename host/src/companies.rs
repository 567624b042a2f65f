//! The operator's decisions about PSA companies: accept a suggestion, match
//! to a chosen company, create a new one, ignore, unmatch, or decide in bulk
//! above a threshold. Also bringing in documentation companies that exist
//! before any PSA is connected (add, CSV import).
//!
//! Scoring lives in [`crate::matching`] (pure); this module reads and writes
//! the links.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::matching::{CompanyFeatures, Index};
use crate::model::{Company, Record, StreamKind};
use crate::options::IntegrationOptions;
use crate::store::{CompanyLink, IntegrationRow, LinkState, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("integration `{integration}` has no PSA company `{key}`")]
    UnknownPsaCompany { integration: String, key: String },
    #[error("`{key}` names {count} PSA companies; give the PSA id instead")]
    Ambiguous { key: String, count: usize },
    #[error("PSA company `{name}` has no suggestion to accept")]
    NothingToAccept { name: String },
    #[error("cannot read {file}: {why}")]
    Csv { file: String, why: String },
    #[error("threshold {0} is outside 0..1")]
    BadThreshold(f64),
}

impl DecisionError {
    pub fn hint(&self) -> Option<String> {
        match self {
            DecisionError::Store(e) => e.hint(),
            DecisionError::UnknownPsaCompany { integration, .. } => {
                Some(format!("give its PSA id or exact name; `ferry match {integration} list` shows them"))
            }
            DecisionError::Ambiguous { .. } => Some("`ferry match NAME list` shows the PSA ids".into()),
            DecisionError::NothingToAccept { .. } => {
                Some("use `ferry match NAME set EXT COMPANY` or `ferry match NAME create EXT`".into())
            }
            DecisionError::Csv { .. } => {
                Some("the file needs a header row with a `name` column, optionally `domain` and `phone`".into())
            }
            DecisionError::BadThreshold(_) => Some("give a score between 0 and 1, e.g. --threshold 0.9".into()),
        }
    }
}

/// One PSA company as `ferry match NAME list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    pub external_id: String,
    pub psa_name: String,
    pub state: LinkState,
    pub company_id: Option<i64>,
    pub company: Option<String>,
    pub score: Option<f64>,
    pub reason: Option<String>,
}

/// The PSA companies of an integration (from the mirror), by external id.
fn psa_companies(store: &Store, integration_id: i64) -> Result<Vec<Company>, StoreError> {
    let mut out = Vec::new();
    store.read().for_each_mirror(integration_id, StreamKind::Companies.as_str(), |row| {
        if row.deleted_at.is_none()
            && let Ok(Record::Company(c)) = serde_json::from_str::<Record>(&row.data)
        {
            out.push(c);
        }
        Ok(())
    })?;
    Ok(out)
}

pub fn list(
    store: &Store,
    integration: &IntegrationRow,
    state: Option<LinkState>,
) -> Result<Vec<LinkView>, StoreError> {
    let links: HashMap<String, CompanyLink> =
        store.read().company_links(integration.id)?.into_iter().map(|l| (l.external_id.clone(), l)).collect();
    let names: HashMap<i64, String> = store.read().companies(true)?.into_iter().map(|c| (c.id, c.name)).collect();
    let mut views: Vec<LinkView> = psa_companies(store, integration.id)?
        .into_iter()
        .map(|c| {
            let link = links.get(&c.id);
            let company_id = link.and_then(|l| l.company_id);
            LinkView {
                external_id: c.id.clone(),
                psa_name: c.name.clone(),
                state: link.map(|l| l.state).unwrap_or(LinkState::Unmatched),
                company_id,
                company: company_id.and_then(|id| names.get(&id).cloned()),
                score: link.and_then(|l| l.score),
                reason: link.and_then(|l| l.reason.clone()),
            }
        })
        .filter(|v| state.is_none_or(|s| v.state == s))
        .collect();
    views.sort_by(|a, b| {
        a.psa_name.to_lowercase().cmp(&b.psa_name.to_lowercase()).then(a.external_id.cmp(&b.external_id))
    });
    Ok(views)
}

/// Resolve EXT: a PSA id, else a unique exact (case-insensitive) name.
fn find_psa(store: &Store, integration: &IntegrationRow, key: &str) -> Result<Company, DecisionError> {
    let all = psa_companies(store, integration.id)?;
    if let Some(c) = all.iter().find(|c| c.id == key) {
        return Ok(c.clone());
    }
    let by_name: Vec<&Company> = all.iter().filter(|c| c.name.eq_ignore_ascii_case(key.trim())).collect();
    match by_name.len() {
        1 => Ok(by_name[0].clone()),
        0 => Err(DecisionError::UnknownPsaCompany { integration: integration.name.clone(), key: key.to_string() }),
        count => Err(DecisionError::Ambiguous { key: key.to_string(), count }),
    }
}

fn put(store: &mut Store, integration_id: i64, link: CompanyLink) -> Result<(), DecisionError> {
    store.transaction(|tx| tx.put_company_link(integration_id, &link))?;
    Ok(())
}

pub fn accept(store: &mut Store, integration: &IntegrationRow, key: &str) -> Result<LinkView, DecisionError> {
    let psa = find_psa(store, integration, key)?;
    let link = store.read().company_link(integration.id, &psa.id)?;
    let Some(link) = link.filter(|l| l.company_id.is_some() && l.state != LinkState::Ignored) else {
        return Err(DecisionError::NothingToAccept { name: psa.name });
    };
    put(store, integration.id, CompanyLink { state: LinkState::Matched, ..link })?;
    view(store, integration, &psa.id)
}

pub fn set(
    store: &mut Store,
    integration: &IntegrationRow,
    key: &str,
    company: &str,
) -> Result<LinkView, DecisionError> {
    let psa = find_psa(store, integration, key)?;
    let target = store.read().find_company(company)?;
    put(
        store,
        integration.id,
        CompanyLink {
            external_id: psa.id.clone(),
            state: LinkState::Matched,
            company_id: Some(target.id),
            score: None,
            reason: Some("set by operator".into()),
        },
    )?;
    view(store, integration, &psa.id)
}

pub fn create(store: &mut Store, integration: &IntegrationRow, key: &str) -> Result<LinkView, DecisionError> {
    let psa = find_psa(store, integration, key)?;
    create_for(store, integration, &psa)?;
    view(store, integration, &psa.id)
}

fn create_for(store: &mut Store, integration: &IntegrationRow, psa: &Company) -> Result<i64, DecisionError> {
    let id = store.transaction(|tx| {
        let id = crate::apply::create_company(tx, psa, integration.id, &integration.name)?;
        tx.put_company_link(
            integration.id,
            &CompanyLink {
                external_id: psa.id.clone(),
                state: LinkState::Created,
                company_id: Some(id),
                score: None,
                reason: Some("created by operator".into()),
            },
        )?;
        Ok(id)
    })?;
    Ok(id)
}

pub fn ignore(store: &mut Store, integration: &IntegrationRow, key: &str) -> Result<LinkView, DecisionError> {
    set_state(store, integration, key, LinkState::Ignored)
}

pub fn unmatch(store: &mut Store, integration: &IntegrationRow, key: &str) -> Result<LinkView, DecisionError> {
    set_state(store, integration, key, LinkState::Unmatched)
}

fn set_state(
    store: &mut Store,
    integration: &IntegrationRow,
    key: &str,
    state: LinkState,
) -> Result<LinkView, DecisionError> {
    let psa = find_psa(store, integration, key)?;
    put(
        store,
        integration.id,
        CompanyLink {
            external_id: psa.id.clone(),
            state,
            company_id: None,
            score: None,
            reason: Some(format!("{} by operator", state.as_str())),
        },
    )?;
    view(store, integration, &psa.id)
}

fn view(store: &Store, integration: &IntegrationRow, ext: &str) -> Result<LinkView, DecisionError> {
    list(store, integration, None)?
        .into_iter()
        .find(|v| v.external_id == ext)
        .ok_or_else(|| DecisionError::UnknownPsaCompany { integration: integration.name.clone(), key: ext.to_string() })
}

/// What `match auto` did, or would do with `--dry-run`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AutoPlan {
    pub dry_run: bool,
    pub threshold: f64,
    pub matched: Vec<LinkView>,
    pub created: Vec<LinkView>,
    pub left: Vec<LinkView>,
}

/// Decide every PSA company that is not matched, created or ignored.
pub fn auto(
    store: &mut Store,
    integration: &IntegrationRow,
    threshold: Option<f64>,
    create_rest: bool,
    dry_run: bool,
) -> Result<AutoPlan, DecisionError> {
    let options = IntegrationOptions::from_json(&integration.options);
    let threshold = threshold.unwrap_or(options.match_threshold);
    if !(0.0..=1.0).contains(&threshold) {
        return Err(DecisionError::BadThreshold(threshold));
    }
    let mut index = Index::build(&store.read(), integration.id)?;
    let links: HashMap<String, CompanyLink> =
        store.read().company_links(integration.id)?.into_iter().map(|l| (l.external_id.clone(), l)).collect();
    let mut plan = AutoPlan { dry_run, threshold, ..Default::default() };
    let mut psa = psa_companies(store, integration.id)?;
    psa.sort_by_key(|c| c.name.to_lowercase());
    for company in psa {
        let state = links.get(&company.id).map(|l| l.state).unwrap_or(LinkState::Unmatched);
        if matches!(state, LinkState::Matched | LinkState::Created | LinkState::Ignored) {
            continue;
        }
        let best = index.best(&CompanyFeatures::of(&company));
        let mut v = LinkView {
            external_id: company.id.clone(),
            psa_name: company.name.clone(),
            state,
            company_id: best.as_ref().map(|s| s.company_id),
            company: best.as_ref().map(|s| s.company.clone()),
            score: best.as_ref().map(|s| s.score),
            reason: best.as_ref().map(|s| s.reason.clone()),
        };
        match best {
            Some(s) if s.score >= threshold => {
                index.claim(s.company_id);
                v.state = LinkState::Matched;
                if !dry_run {
                    put(
                        store,
                        integration.id,
                        CompanyLink {
                            external_id: company.id.clone(),
                            state: LinkState::Matched,
                            company_id: Some(s.company_id),
                            score: Some(s.score),
                            reason: Some(s.reason),
                        },
                    )?;
                }
                plan.matched.push(v);
            }
            _ if create_rest => {
                v.state = LinkState::Created;
                if !dry_run {
                    let id = create_for(store, integration, &company)?;
                    index.claim(id);
                    v.company_id = Some(id);
                    v.company = Some(company.name.clone());
                }
                plan.created.push(v);
            }
            _ => plan.left.push(v),
        }
    }
    Ok(plan)
}

/// Add a documentation company by hand.
pub fn add_company(
    store: &mut Store,
    name: &str,
    domain: Option<&str>,
    phone: Option<&str>,
) -> Result<i64, StoreError> {
    let domain = domain.and_then(crate::matching::normalize_domain).or_else(|| domain.map(str::to_string));
    store.transaction(|tx| tx.insert_company(name.trim(), domain.as_deref(), phone, "operator"))
}

/// Import companies from CSV (`name` column required, `domain` and `phone`
/// optional). All rows land, or none. Returns how many were added.
pub fn import_companies(store: &mut Store, path: &Path) -> Result<usize, DecisionError> {
    let file = path.display().to_string();
    let csv_err = |why: String| DecisionError::Csv { file: file.clone(), why };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .map_err(|e| csv_err(e.to_string()))?;
    let headers = reader.headers().map_err(|e| csv_err(e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let name_col = col("name").ok_or_else(|| csv_err("no `name` column in the header".into()))?;
    let (domain_col, phone_col) = (col("domain"), col("phone"));
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| csv_err(format!("row {}: {e}", i + 2)))?;
        let name = record.get(name_col).unwrap_or("").trim().to_string();
        if name.is_empty() {
            return Err(csv_err(format!("row {}: the name is empty", i + 2)));
        }
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c)).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
        };
        rows.push((name, get(domain_col), get(phone_col)));
    }
    let n = rows.len();
    store.transaction(|tx| {
        for (name, domain, phone) in &rows {
            let domain = domain.as_deref().and_then(crate::matching::normalize_domain).or_else(|| domain.clone());
            tx.insert_company(name, domain.as_deref(), phone.as_deref(), "import")?;
        }
        Ok(())
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_is_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("f.db")).unwrap();
        let good = dir.path().join("good.csv");
        std::fs::write(
            &good,
            "name,domain,phone\nOrtiz Dental Group,https://www.ortizdental.example/,512-555-0142\nAcme Legal,,\n",
        )
        .unwrap();
        assert_eq!(import_companies(&mut store, &good).unwrap(), 2);
        let companies = store.read().companies(true).unwrap();
        assert_eq!(companies.len(), 2);
        assert!(companies.iter().any(|c| c.domain.as_deref() == Some("ortizdental.example")));

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "name\nOne\n\"\"\n").unwrap();
        assert!(import_companies(&mut store, &bad).is_err());
        assert_eq!(store.read().companies(true).unwrap().len(), 2);

        let no_header = dir.path().join("nh.csv");
        std::fs::write(&no_header, "company\nX\n").unwrap();
        assert!(matches!(import_companies(&mut store, &no_header), Err(DecisionError::Csv { .. })));
    }
}
