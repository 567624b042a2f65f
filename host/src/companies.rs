//! The operator's decisions about PSA companies: accept a suggestion, match
//! to a chosen company, create a new one, ignore, unmatch, or decide in bulk
//! above a threshold. Also bringing in documentation companies that exist
//! before any PSA is connected (add, CSV import).
//!
//! Scoring lives in [`crate::matching`] (pure); this module reads and writes
//! the links, and owns the rule that keeps two customers of one PSA out of
//! one documentation company ([`link_conflict`]).

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::matching::{CompanyFeatures, Index, SUGGEST_FLOOR};
use crate::model::{Company, Record, StreamKind};
use crate::options::IntegrationOptions;
use crate::store::{CompanyLink, CompanyRow, IntegrationRow, LinkState, Reader, Store, StoreError, Tx};

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
    #[error("cannot import {file}: {} bad row(s), nothing was imported: {}", problems.len(), problems.join("; "))]
    CsvRows { file: String, problems: Vec<String> },
    #[error("threshold {0} is outside 0..1")]
    BadThreshold(f64),
    #[error(
        "documentation company `{}` (#{}) already holds PSA company `{}` (PSA id {}) of integration `{}`; \
         linking `{}` (PSA id {}) too would merge two customers",
        .0.company, .0.company_id, .0.other_name, .0.other_external_id, .0.integration, .0.name, .0.external_id
    )]
    SharedCompany(Box<LinkConflict>),
    #[error("a company named `{name}` already exists: {}", existing.join(", "))]
    CompanyExists { name: String, existing: Vec<String> },
    #[error("`{0}` looks like a company id (`#12` or `12`), so lookups would take it for one")]
    IdLikeName(String),
}

impl DecisionError {
    pub fn hint(&self) -> Option<String> {
        match self {
            DecisionError::Store(e) => e.hint(),
            DecisionError::IdLikeName(_) => Some("add a word, e.g. `Company 12`".into()),
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
            DecisionError::CsvRows { .. } => Some(
                "fix those lines and import again (a name containing a comma needs double quotes: \"Baker, Lee & Co\"); \
                 companies that already exist are skipped, so the whole file can be imported again"
                    .into(),
            ),
            DecisionError::BadThreshold(_) => Some("give a score between 0 and 1, e.g. --threshold 0.9".into()),
            DecisionError::SharedCompany(c) => Some(format!(
                "if they really are one customer, add --merge; otherwise `ferry match {i} unmatch {other}` first, \
                 or `ferry match {i} create {ext}` to give it a company of its own",
                i = c.integration,
                other = c.other_external_id,
                ext = c.external_id
            )),
            DecisionError::CompanyExists { .. } => Some(
                "add --allow-duplicate if it really is another customer of the same name; \
                 to use the existing one, name it by id (`#ID`)"
                    .into(),
            ),
        }
    }
}

/// One PSA company as `ferry match NAME list` shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LinkView {
    pub external_id: String,
    pub psa_name: String,
    pub state: LinkState,
    pub company_id: Option<i64>,
    pub company: Option<String>,
    pub score: Option<f64>,
    pub reason: Option<String>,
    /// Shares its documentation company with another PSA company of this
    /// integration because the operator said `--merge`.
    pub merged: bool,
}

/// Why a link may not be written: another PSA company of the same
/// integration already brings its data into that documentation company.
#[derive(Debug, Clone, Serialize)]
pub struct LinkConflict {
    pub integration: String,
    /// The PSA company the refused link was for.
    pub external_id: String,
    pub name: String,
    pub company_id: i64,
    pub company: String,
    /// The PSA company already there.
    pub other_external_id: String,
    pub other_name: String,
}

/// The one rule every writer of a company link obeys — `accept`, `set`,
/// `create`, `auto` here and apply's automatic decisions: a documentation
/// company holds at most one PSA company *per integration* (matched or
/// created), because two PSA companies of one integration are two
/// customers and mixing their people and devices is silent damage. Other
/// integrations may link the same company (that is the point of matching
/// across PSAs). The operator may merge on purpose (`--merge`, recorded as
/// `merged` on the link), and re-confirming a link that already brings data
/// into the same company is not a new merge.
///
/// Returns the conflict, or `None` when `link` may be written.
pub(crate) fn link_conflict(
    tx: &Reader<'_>,
    integration: (i64, &str),
    link: &CompanyLink,
    psa_name: &str,
) -> Result<Option<LinkConflict>, StoreError> {
    let (integration_id, integration_name) = integration;
    let Some(company_id) = link.company_id.filter(|_| link.state.brings_data() && !link.merged) else {
        return Ok(None);
    };
    let already_there = tx
        .company_link(integration_id, &link.external_id)?
        .is_some_and(|l| l.state.brings_data() && l.company_id == Some(company_id));
    if already_there {
        return Ok(None);
    }
    let Some(other) =
        tx.links_bringing_data_to(integration_id, company_id)?.into_iter().find(|l| l.external_id != link.external_id)
    else {
        return Ok(None);
    };
    let other_name = tx
        .mirror_row(integration_id, StreamKind::Companies.as_str(), &other.external_id)?
        .and_then(|row| match serde_json::from_str::<Record>(&row.data) {
            Ok(Record::Company(c)) => Some(c.name),
            _ => None,
        })
        .unwrap_or_else(|| "(no longer in the PSA)".into());
    let company = tx.company(company_id)?.map(|c| c.name).unwrap_or_default();
    Ok(Some(LinkConflict {
        integration: integration_name.to_string(),
        external_id: link.external_id.clone(),
        name: psa_name.to_string(),
        company_id,
        company,
        other_external_id: other.external_id,
        other_name,
    }))
}

/// Write a link after [`link_conflict`]; a `merged` flag is kept only when
/// the link really joins another PSA company (and carried over when an
/// already merged link is confirmed again), so `match list` tells the truth.
fn write_link(
    store: &mut Store,
    integration: &IntegrationRow,
    psa: &Company,
    mut link: CompanyLink,
) -> Result<(), DecisionError> {
    let conflict = store.transaction(|tx| {
        let plain = CompanyLink { merged: false, ..link.clone() };
        let joins = link_conflict(tx, (integration.id, &integration.name), &plain, &psa.name)?;
        let before = tx.company_link(integration.id, &psa.id)?;
        let was_merged = before.is_some_and(|b| b.merged && b.company_id == link.company_id && b.state.brings_data());
        link.merged = link.state.brings_data() && (was_merged || (link.merged && joins.is_some()));
        if !link.merged
            && let Some(conflict) = joins
        {
            return Ok(Some(conflict));
        }
        tx.put_company_link(integration.id, &link)?;
        Ok(None)
    })?;
    match conflict {
        Some(c) => Err(DecisionError::SharedCompany(Box::new(c))),
        None => Ok(()),
    }
}

/// The PSA companies of an integration (from the mirror), by external id.
/// The matching index over every documentation company, with those already
/// linked by `integration_id` (in a state that brings data) claimed: loaded
/// here, so `matching` stays pure.
pub(crate) fn match_index(tx: &Reader<'_>, integration_id: i64) -> Result<Index, StoreError> {
    let companies = tx
        .companies(true)?
        .iter()
        .map(|c| (c.id, CompanyFeatures::new(&c.name, c.domain.as_deref(), c.phone.as_deref())))
        .collect();
    let claimed = tx
        .company_links(integration_id)?
        .into_iter()
        .filter(|link| link.state.brings_data())
        .filter_map(|link| link.company_id);
    Ok(Index::new(companies, claimed))
}

/// A documentation company for a PSA company; that PSA is its source.
pub(crate) fn create_company(
    tx: &Tx<'_>,
    company: &Company,
    integration_id: i64,
    integration_name: &str,
) -> Result<i64, StoreError> {
    let id = tx.insert_company(
        &company.name,
        domain_of(company).as_deref(),
        company.phone.as_deref(),
        &format!("integration:{integration_name}"),
    )?;
    tx.set_company_source(id, Some((integration_id, &company.id)))?;
    Ok(id)
}

/// The company's web domain: its website's host, else its email's domain.
pub(crate) fn domain_of(company: &Company) -> Option<String> {
    company.website.as_deref().and_then(crate::matching::normalize_domain).or_else(|| {
        company
            .email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .and_then(|(_, d)| crate::matching::normalize_domain(d))
    })
}

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

pub(crate) fn list(
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
                merged: link.is_some_and(|l| l.merged),
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

/// Accept the suggestion; `merge` allows joining another PSA company of
/// this integration in the same documentation company.
pub(crate) fn accept(
    store: &mut Store,
    integration: &IntegrationRow,
    key: &str,
    merge: bool,
) -> Result<LinkView, DecisionError> {
    let psa = find_psa(store, integration, key)?;
    let link = store.read().company_link(integration.id, &psa.id)?;
    let Some(link) = link.filter(|l| l.company_id.is_some() && l.state != LinkState::Ignored) else {
        return Err(DecisionError::NothingToAccept { name: psa.name });
    };
    // Accepting what is already decided changes nothing: a company created
    // from this PSA company stays "created" (its source), and a recorded
    // merge stays recorded.
    if matches!(link.state, LinkState::Matched | LinkState::Created) {
        if merge && !link.merged {
            write_link(store, integration, &psa, CompanyLink { merged: true, ..link })?;
        }
        return view(store, integration, &psa.id);
    }
    write_link(store, integration, &psa, CompanyLink { state: LinkState::Matched, merged: merge, ..link })?;
    view(store, integration, &psa.id)
}

pub(crate) fn set(
    store: &mut Store,
    integration: &IntegrationRow,
    key: &str,
    company: &str,
    merge: bool,
) -> Result<LinkView, DecisionError> {
    let psa = find_psa(store, integration, key)?;
    let target = store.read().find_company(company)?;
    // Setting the link it already has changes nothing (a created link
    // keeps its provenance).
    if let Some(current) = store.read().company_link(integration.id, &psa.id)?
        && current.company_id == Some(target.id)
        && matches!(current.state, LinkState::Matched | LinkState::Created)
        && (current.merged || !merge)
    {
        return view(store, integration, &psa.id);
    }
    let link = CompanyLink {
        external_id: psa.id.clone(),
        state: LinkState::Matched,
        company_id: Some(target.id),
        score: None,
        reason: Some("set by operator".into()),
        merged: merge,
    };
    write_link(store, integration, &psa, link)?;
    view(store, integration, &psa.id)
}

pub(crate) fn create(store: &mut Store, integration: &IntegrationRow, key: &str) -> Result<LinkView, DecisionError> {
    let psa = find_psa(store, integration, key)?;
    // A company created for it already exists: creating again would leave
    // a duplicate behind.
    let current = store.read().company_link(integration.id, &psa.id)?;
    if let Some(link) = current.filter(|l| l.state == LinkState::Created)
        && let Some(id) = link.company_id
        && store.read().company(id)?.is_some()
    {
        return view(store, integration, &psa.id);
    }
    create_for(store, integration, &psa)?;
    view(store, integration, &psa.id)
}

fn create_for(store: &mut Store, integration: &IntegrationRow, psa: &Company) -> Result<i64, DecisionError> {
    let id = store.transaction(|tx| {
        let id = create_company(tx, psa, integration.id, &integration.name)?;
        let link = CompanyLink {
            external_id: psa.id.clone(),
            state: LinkState::Created,
            company_id: Some(id),
            score: None,
            reason: Some("created by operator".into()),
            merged: false,
        };
        // A company made just now holds nobody; checked all the same, so
        // that every writer of a link goes through the one rule.
        if let Some(c) = link_conflict(tx, (integration.id, &integration.name), &link, &psa.name)? {
            return Err(StoreError::Corrupt(format!(
                "new company #{id} already holds PSA company {}",
                c.other_external_id
            )));
        }
        tx.put_company_link(integration.id, &link)?;
        Ok(id)
    })?;
    Ok(id)
}

pub(crate) fn ignore(store: &mut Store, integration: &IntegrationRow, key: &str) -> Result<LinkView, DecisionError> {
    set_state(store, integration, key, LinkState::Ignored)
}

pub(crate) fn unmatch(store: &mut Store, integration: &IntegrationRow, key: &str) -> Result<LinkView, DecisionError> {
    set_state(store, integration, key, LinkState::Unmatched)
}

fn set_state(
    store: &mut Store,
    integration: &IntegrationRow,
    key: &str,
    state: LinkState,
) -> Result<LinkView, DecisionError> {
    let psa = find_psa(store, integration, key)?;
    let link = CompanyLink {
        external_id: psa.id.clone(),
        state,
        company_id: None,
        score: None,
        reason: Some(format!("{} by operator", state.as_str())),
        merged: false,
    };
    write_link(store, integration, &psa, link)?;
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
pub(crate) struct AutoPlan {
    pub dry_run: bool,
    pub threshold: f64,
    pub matched: Vec<LinkView>,
    pub created: Vec<LinkView>,
    pub left: Vec<LinkView>,
}

/// Decide every PSA company that is not matched, created or ignored.
pub(crate) fn auto(
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
    let mut index = match_index(&store.read(), integration.id)?;
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
            merged: false,
        };
        match best {
            // A possible twin found only by a shared rare word scores below
            // the floor: never matched in bulk, whatever the threshold.
            Some(s) if s.score >= threshold.max(SUGGEST_FLOOR) => {
                let link = CompanyLink {
                    external_id: company.id.clone(),
                    state: LinkState::Matched,
                    company_id: Some(s.company_id),
                    score: Some(s.score),
                    reason: Some(s.reason),
                    merged: false,
                };
                // The index claims companies this integration links, so a
                // conflict means the store changed under us: leave it.
                if link_conflict(&store.read(), (integration.id, &integration.name), &link, &company.name)?.is_some() {
                    plan.left.push(v);
                    continue;
                }
                index.claim(s.company_id);
                v.state = LinkState::Matched;
                if !dry_run {
                    write_link(store, integration, &company, link)?;
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

/// How a company appears in a list of candidates: `#12 Name (domain)`.
fn describe(c: &CompanyRow) -> String {
    format!("#{} {} ({})", c.id, c.name, c.domain.as_deref().unwrap_or("no domain"))
}

/// Add a documentation company by hand. A name that exists already
/// (trimmed, case-insensitive, archived companies too) is refused unless
/// `allow_duplicate`: two companies of one name make every later lookup by
/// name ambiguous.
pub(crate) fn add_company(
    store: &mut Store,
    name: &str,
    domain: Option<&str>,
    phone: Option<&str>,
    allow_duplicate: bool,
) -> Result<i64, DecisionError> {
    if crate::curation::looks_like_id(name) {
        return Err(DecisionError::IdLikeName(name.trim().to_string()));
    }
    let domain = domain.and_then(crate::matching::normalize_domain).or_else(|| domain.map(str::to_string));
    let outcome = store.transaction(|tx| {
        let existing = tx.companies_named(name)?;
        if !existing.is_empty() && !allow_duplicate {
            return Ok(Err(existing));
        }
        Ok(Ok(tx.insert_company(name.trim(), domain.as_deref(), phone, "operator")?))
    })?;
    outcome.map_err(|existing| DecisionError::CompanyExists {
        name: name.trim().to_string(),
        existing: existing.iter().map(describe).collect(),
    })
}

/// What `ferry company import` did.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ImportReport {
    /// Rows that became new companies.
    pub added: usize,
    /// Rows naming a company that already exists (not added again).
    pub existing: usize,
    /// Existing companies whose domain or phone in the file differs from
    /// the stored one: reported, never changed by an import.
    pub differences: Vec<ImportDifference>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ImportDifference {
    pub line: u64,
    pub company_id: i64,
    pub company: String,
    pub field: &'static str,
    pub stored: Option<String>,
    pub in_file: String,
}

/// One usable row of an import file.
struct ImportRow {
    line: u64,
    name: String,
    domain: Option<String>,
    phone: Option<String>,
}

/// Import companies from CSV (`name` column required, `domain` and `phone`
/// optional).
///
/// All or nothing: every bad row is reported with its line (an unclosed
/// quote, an empty name, more fields than the header, a name repeated in
/// the file) and then nothing is written. Idempotent: a row whose name
/// (trimmed, case-insensitive) already exists is not added again, so
/// importing a file twice adds nothing the second time; when such a row
/// carries another domain or phone, the difference is reported, and the
/// stored company is left alone.
pub(crate) fn import_companies(store: &mut Store, path: &Path) -> Result<ImportReport, DecisionError> {
    let file = path.display().to_string();
    let rows = read_import(path).map_err(|e| match e {
        ImportProblem::File(why) => DecisionError::Csv { file: file.clone(), why },
        ImportProblem::Rows(problems) => DecisionError::CsvRows { file: file.clone(), problems },
    })?;
    let report = store.transaction(|tx| {
        let mut report = ImportReport::default();
        let mut by_name: HashMap<String, CompanyRow> = HashMap::new();
        for c in tx.companies(true)? {
            by_name.entry(c.name.trim().to_lowercase()).or_insert(c);
        }
        for row in &rows {
            let domain =
                row.domain.as_deref().and_then(crate::matching::normalize_domain).or_else(|| row.domain.clone());
            let Some(existing) = by_name.get(&row.name.to_lowercase()) else {
                tx.insert_company(&row.name, domain.as_deref(), row.phone.as_deref(), "import")?;
                report.added += 1;
                continue;
            };
            report.existing += 1;
            let same_phone =
                |a: &str, b: &str| match (crate::matching::normalize_phone(a), crate::matching::normalize_phone(b)) {
                    (Some(x), Some(y)) => x == y,
                    _ => a.trim() == b.trim(),
                };
            let differs = [
                (
                    "domain",
                    domain.as_deref(),
                    existing.domain.as_deref(),
                    domain.as_deref() != existing.domain.as_deref(),
                ),
                (
                    "phone",
                    row.phone.as_deref(),
                    existing.phone.as_deref(),
                    row.phone.as_deref().is_some_and(|p| !existing.phone.as_deref().is_some_and(|e| same_phone(p, e))),
                ),
            ];
            for (field, in_file, stored, different) in differs {
                if let Some(in_file) = in_file.filter(|_| different) {
                    report.differences.push(ImportDifference {
                        line: row.line,
                        company_id: existing.id,
                        company: existing.name.clone(),
                        field,
                        stored: stored.map(str::to_string),
                        in_file: in_file.to_string(),
                    });
                }
            }
        }
        Ok(report)
    })?;
    Ok(report)
}

enum ImportProblem {
    /// The file as a whole: unreadable, or no `name` column.
    File(String),
    /// Bad rows, each `line N: what`.
    Rows(Vec<String>),
}

/// Parse and check every row; nothing touches the store here.
fn read_import(path: &Path) -> Result<Vec<ImportRow>, ImportProblem> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .map_err(|e| ImportProblem::File(e.to_string()))?;
    let headers = reader.headers().map_err(|e| ImportProblem::File(e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    for (i, h) in headers.iter().enumerate() {
        if headers.iter().skip(i + 1).any(|o| o.eq_ignore_ascii_case(h)) && !h.is_empty() {
            return Err(ImportProblem::File(format!("the header names column `{h}` twice")));
        }
    }
    let name_col = col("name").ok_or_else(|| ImportProblem::File("no `name` column in the header".into()))?;
    let (domain_col, phone_col) = (col("domain"), col("phone"));
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        // A quote that is never closed makes the csv reader take the
        // following lines as part of the field: one wrong company, the next
        // rows swallowed. No name, domain or phone spans lines.
        if record.iter().any(|f| f.contains(['\n', '\r'])) {
            problems.push(format!(
                "line {line}: a double quote opened on this line is not closed on it (the rows after it cannot be read)"
            ));
            continue;
        }
        if record.len() > headers.len() {
            problems.push(format!(
                "line {line}: {} fields, but the header has {} (quote a name that contains a comma)",
                record.len(),
                headers.len()
            ));
            continue;
        }
        let name = record.get(name_col).unwrap_or("").trim().to_string();
        if name.is_empty() {
            problems.push(format!("line {line}: the name is empty"));
            continue;
        }
        if crate::curation::looks_like_id(&name) {
            problems.push(format!("line {line}: `{name}` looks like a company id; add a word"));
            continue;
        }
        if let Some(first) = first_line.get(&name.to_lowercase()) {
            problems.push(format!("line {line}: `{name}` is already on line {first}"));
            continue;
        }
        first_line.insert(name.to_lowercase(), line);
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c)).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
        };
        rows.push(ImportRow { line, name, domain: get(domain_col), phone: get(phone_col) });
    }
    if problems.is_empty() { Ok(rows) } else { Err(ImportProblem::Rows(problems)) }
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
        assert_eq!(import_companies(&mut store, &good).unwrap().added, 2);
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

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("f.db")).unwrap();
        (dir, store)
    }

    /// The report that came in: `"B,unterminated` took the next row into
    /// one wrong company. Now every bad line is named and nothing lands.
    #[test]
    fn import_names_every_bad_line_and_writes_nothing() {
        let (dir, mut store) = store();
        let path = dir.path().join("bad.csv");
        std::fs::write(
            &path,
            "name,domain,phone\nAlpha,alpha.example,\n,empty.example,\nBaker, Lee & Co,baker.example,555-0100\nAlpha,,\n\"B,unterminated\nCharlie,charlie.example,\n",
        )
        .unwrap();
        let err = import_companies(&mut store, &path).unwrap_err();
        let DecisionError::CsvRows { problems, .. } = &err else { panic!("{err:?}") };
        let text = problems.join("\n");
        assert_eq!(problems.len(), 4, "{text}");
        assert!(problems[0].starts_with("line 3: the name is empty"), "{text}");
        assert!(problems[1].starts_with("line 4: 4 fields"), "{text}");
        assert!(problems[2].starts_with("line 5: `Alpha` is already on line 2"), "{text}");
        assert!(problems[3].starts_with("line 6: a double quote"), "{text}");
        assert!(err.to_string().contains("nothing was imported") && err.hint().is_some());
        assert!(store.read().companies(true).unwrap().is_empty(), "all or nothing");
    }

    #[test]
    fn importing_twice_adds_nothing_and_reports_differing_details() {
        let (dir, mut store) = store();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, "name,domain,phone\nOrtiz Dental Group,ortizdental.example,512-555-0142\nAcme Legal,,\n")
            .unwrap();
        let first = import_companies(&mut store, &path).unwrap();
        assert_eq!((first.added, first.existing), (2, 0));
        let again = import_companies(&mut store, &path).unwrap();
        assert_eq!((again.added, again.existing), (0, 2));
        assert!(again.differences.is_empty(), "{:?}", again.differences);
        assert_eq!(store.read().companies(true).unwrap().len(), 2);

        // Same names, other case and spacing, other details: reported, not applied.
        std::fs::write(
            &path,
            "name,domain,phone\n  ortiz dental GROUP ,https://www.ortiz-new.example/,+1 (512) 555-0142\nAcme Legal,,555-0199\nNew One,,\n",
        )
        .unwrap();
        let third = import_companies(&mut store, &path).unwrap();
        assert_eq!((third.added, third.existing), (1, 2));
        let fields: Vec<(u64, &str, &str)> =
            third.differences.iter().map(|d| (d.line, d.field, d.in_file.as_str())).collect();
        assert_eq!(fields, vec![(2, "domain", "ortiz-new.example"), (3, "phone", "555-0199")]);
        let ortiz = store.read().find_company("Ortiz Dental Group").unwrap();
        assert_eq!(ortiz.domain.as_deref(), Some("ortizdental.example"), "stored details are left alone");
    }

    #[test]
    fn add_refuses_an_existing_name_and_lookups_refuse_ambiguity() {
        let (_dir, mut store) = store();
        let first = add_company(&mut store, "Acme Legal", Some("acme.example"), None, false).unwrap();
        let err = add_company(&mut store, "  ACME legal ", None, None, false).unwrap_err();
        assert!(
            matches!(&err, DecisionError::CompanyExists { existing, .. } if existing[0].starts_with(&format!("#{first} ")))
        );
        assert!(err.hint().is_some_and(|h| h.contains("--allow-duplicate")));
        assert_eq!(store.read().companies(true).unwrap().len(), 1);

        assert_eq!(store.read().find_company(" acme LEGAL").unwrap().id, first);
        let second = add_company(&mut store, "acme legal", None, None, true).unwrap();
        let err = store.read().find_company("Acme Legal").unwrap_err();
        let StoreError::Ambiguous { candidates, .. } = &err else { panic!("{err:?}") };
        assert_eq!(candidates.len(), 2);
        assert!(candidates[0].starts_with(&format!("#{first} Acme Legal (acme.example")), "{candidates:?}");
        assert!(candidates[1].starts_with(&format!("#{second} acme legal (no domain")), "{candidates:?}");
        assert!(err.hint().is_some_and(|h| h.contains(&format!("#{first}"))), "{:?}", err.hint());
        assert_eq!(store.read().find_company(&format!("#{second}")).unwrap().id, second);
    }
}
