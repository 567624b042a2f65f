//! The operator's clean-up of the documentation: renaming, archiving and
//! merging companies, choosing which PSA (if any) keeps a company's details
//! current, archiving assets, removing layouts and operator fields.
//!
//! Every action here is the operator's, so it wins over the PSAs: a renamed
//! company stops following its PSA, an archived company or asset stays
//! archived whatever an apply finds, and every change to a company's
//! details is recorded in its history.

use serde::Serialize;

use crate::store::{CompanyChange, CompanyRow, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CurationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a company needs a name")]
    EmptyName,
    #[error("cannot merge company #{0} into itself")]
    SelfMerge(i64),
    #[error("company #{0} is archived; merging into it would archive everything moved")]
    MergeIntoArchived(i64),
    #[error("a company named `{name}` exists already ({existing})")]
    NameTaken { name: String, existing: String },
    #[error("`{0}` looks like a company id (`#12` or `12`), so lookups would take it for one")]
    IdLikeName(String),
    #[error("layout `{name}` still holds {assets} assets")]
    LayoutInUse { name: String, assets: u64 },
    #[error("layout `{name}` is used by the sort rules of {integrations}")]
    LayoutInRules { name: String, integrations: String },
    #[error("the field needs a name")]
    EmptyField,
    #[error("the {what} of field `{field}` has {chars} characters; at most {max} are kept")]
    FieldTooLong { what: &'static str, field: String, chars: usize, max: usize },
    #[error("asset #{asset} has no field `{field}`")]
    NoSuchField { asset: i64, field: String },
    #[error("integration `{integration}` has no PSA company linked to company #{company}")]
    NotLinked { integration: String, company: i64 },
}

impl CurationError {
    pub fn hint(&self) -> Option<String> {
        match self {
            CurationError::Store(e) => e.hint(),
            CurationError::EmptyName => Some("ferry company rename COMPANY \"New name\"".into()),
            CurationError::EmptyField => Some("e.g. ferry asset set ID \"Rack position\" R1-U12".into()),
            CurationError::SelfMerge(_) => Some("name two different companies: ferry company merge FROM INTO".into()),
            CurationError::MergeIntoArchived(id) => Some(format!(
                "restore it first with `ferry company archive #{id} --undo`, or merge into a live company"
            )),
            CurationError::NameTaken { .. } => {
                Some("choose another name, or add --allow-duplicate if two companies really share it".into())
            }
            CurationError::IdLikeName(_) => Some("add a word, e.g. `Company 12`".into()),
            CurationError::LayoutInUse { name, .. } => Some(format!(
                "assets are never deleted; stop using it with `ferry layout set {name} --active false` instead"
            )),
            CurationError::LayoutInRules { .. } => {
                Some("change those rules first (`ferry rules NAME show`), or they would create it again".into())
            }
            CurationError::FieldTooLong { .. } => {
                Some("keep long text (a runbook, a config dump) in a document and put its link in the field".into())
            }
            CurationError::NoSuchField { asset, .. } => Some(format!("`ferry asset show {asset}` lists its fields")),
            CurationError::NotLinked { integration, .. } => Some(format!(
                "only a PSA whose company is matched or created here can drive it; see `ferry match {integration} list`"
            )),
        }
    }
}

/// A name lookups would read as an id (`#12`, `12`).
pub(crate) fn looks_like_id(name: &str) -> bool {
    let digits = name.trim().trim_start_matches('#');
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A company with everything the operator needs to judge it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CompanyDetail {
    #[serde(flatten)]
    pub company: CompanyRow,
    /// PSA companies linked to it: (integration, PSA id, PSA name).
    pub links: Vec<LinkedPsa>,
    pub live_assets: u64,
    pub history: Vec<CompanyChange>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LinkedPsa {
    pub integration: String,
    pub external_id: String,
}

pub(crate) fn show(store: &Store, key: &str) -> Result<CompanyDetail, CurationError> {
    let tx = store.read();
    let company = tx.find_company(key)?;
    let mut links = Vec::new();
    for (integration_id, external_id) in tx.links_to_company(company.id)? {
        let integration = tx.integration_by_id(integration_id)?.name;
        links.push(LinkedPsa { integration, external_id });
    }
    let live_assets = tx.company_live_assets(company.id)?;
    let history = tx.company_history(company.id)?;
    Ok(CompanyDetail { company, links, live_assets, history })
}

/// Rename a company. The operator now owns its details: it stops following
/// its PSA (turn that back on with [`follow`]).
pub(crate) fn rename(
    store: &mut Store,
    key: &str,
    name: &str,
    allow_duplicate: bool,
) -> Result<CompanyRow, CurationError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CurationError::EmptyName);
    }
    if looks_like_id(name) {
        return Err(CurationError::IdLikeName(name.to_string()));
    }
    let company = store.read().find_company(key)?;
    let others: Vec<CompanyRow> =
        store.read().companies_named(name)?.into_iter().filter(|c| c.id != company.id).collect();
    if !others.is_empty() && !allow_duplicate {
        return Err(CurationError::NameTaken {
            name: name.to_string(),
            existing: others.iter().map(|c| format!("#{} {}", c.id, c.name)).collect::<Vec<_>>().join(", "),
        });
    }
    store.transaction(|tx| {
        tx.set_company_detail_by_operator(company.id, "name", Some(name))?;
        tx.set_company_source(company.id, None)
    })?;
    Ok(store.read().find_company(&format!("#{}", company.id))?)
}

/// Let one integration's PSA keep the company's name, domain and phone
/// current (`Some`), or keep them as they are (`None`).
pub(crate) fn follow(store: &mut Store, key: &str, integration: Option<&str>) -> Result<CompanyRow, CurationError> {
    let company = store.read().find_company(key)?;
    let source = match integration {
        Some(name) => {
            let row = store.read().integration(name)?;
            // With two PSA companies merged onto it, the first (by PSA id)
            // drives it.
            let Some((_, external_id)) =
                store.read().links_to_company(company.id)?.into_iter().find(|(i, _)| *i == row.id)
            else {
                return Err(CurationError::NotLinked { integration: row.name, company: company.id });
            };
            Some((row.id, external_id))
        }
        None => None,
    };
    store.transaction(|tx| tx.set_company_source(company.id, source.as_ref().map(|(i, e)| (*i, e.as_str()))))?;
    Ok(store.read().find_company(&format!("#{}", company.id))?)
}

/// Archive (or restore) a company by the operator's decision.
pub(crate) fn archive_company(store: &mut Store, key: &str, archived: bool) -> Result<CompanyRow, CurationError> {
    let company = store.read().find_company(key)?;
    store.transaction(|tx| tx.set_company_operator_archived(company.id, archived))?;
    Ok(store.read().find_company(&format!("#{}", company.id))?)
}

/// What `company merge` did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MergeReport {
    pub from: i64,
    pub into: i64,
    pub assets_moved: u64,
}

/// Move everything of `from` onto `into` and archive `from`.
pub(crate) fn merge(store: &mut Store, from: &str, into: &str) -> Result<MergeReport, CurationError> {
    let a = store.read().find_company(from)?;
    let b = store.read().find_company(into)?;
    if a.id == b.id {
        return Err(CurationError::SelfMerge(a.id));
    }
    if b.archived_at.is_some() {
        return Err(CurationError::MergeIntoArchived(b.id));
    }
    let assets_moved = store.transaction(|tx| tx.merge_companies(a.id, b.id))?;
    Ok(MergeReport { from: a.id, into: b.id, assets_moved })
}

/// Archive (or restore) an asset by the operator's decision.
pub(crate) fn archive_asset(store: &mut Store, id: i64, archived: bool) -> Result<bool, CurationError> {
    store.read().asset(id)?;
    Ok(store.transaction(|tx| tx.set_asset_operator_archived(id, archived))?)
}

/// Longest operator field name, in characters (as a PSA card label, whose
/// cap is `sync::records::MAX_NAME_CHARS`).
pub(crate) const MAX_FIELD_NAME_CHARS: usize = 1_000;
/// Longest operator field value, in characters (as a PSA card value, whose
/// cap is `sync::records::MAX_VALUE_CHARS`): a page shows it whole.
pub(crate) const MAX_FIELD_VALUE_CHARS: usize = 10_000;

/// Set an operator field (`ferry asset set`): never touched by a sync. The
/// name is trimmed (`  Rack ` is `Rack`); a name or value over its cap is
/// refused, never cut. Returns the name as stored.
pub(crate) fn set_field(store: &mut Store, id: i64, field: &str, value: &str) -> Result<String, CurationError> {
    store.read().asset(id)?;
    let field = field.trim();
    if field.is_empty() {
        return Err(CurationError::EmptyField);
    }
    let short = |s: &str| s.chars().take(40).collect::<String>();
    for (what, text, max) in [("name", field, MAX_FIELD_NAME_CHARS), ("value", value, MAX_FIELD_VALUE_CHARS)] {
        let chars = text.chars().count();
        if chars > max {
            return Err(CurationError::FieldTooLong { what, field: short(field), chars, max });
        }
    }
    store.transaction(|tx| tx.set_asset_field(id, field, value))?;
    Ok(field.to_string())
}

/// Delete an operator field from an asset (the name trimmed, as stored).
pub(crate) fn unset_field(store: &mut Store, id: i64, field: &str) -> Result<(), CurationError> {
    store.read().asset(id)?;
    if !store.transaction(|tx| tx.delete_asset_field(id, field.trim()))? {
        return Err(CurationError::NoSuchField { asset: id, field: field.trim().to_string() });
    }
    Ok(())
}

/// Remove a layout that holds no asset and no sort rule names.
pub(crate) fn remove_layout(store: &mut Store, name: &str) -> Result<(), CurationError> {
    let layout = store
        .read()
        .layout_by_name(name)?
        .ok_or_else(|| StoreError::NotFound { what: "layout", name: name.to_string() })?;
    let assets = store.read().layout_asset_count(layout.id)?;
    if assets > 0 {
        return Err(CurationError::LayoutInUse { name: layout.name, assets });
    }
    let mut users = Vec::new();
    for integration in store.read().integrations()? {
        let o = crate::options::IntegrationOptions::from_json(&integration.options);
        if o.layouts_named().any(|l| l.eq_ignore_ascii_case(&layout.name)) {
            users.push(integration.name);
        }
    }
    if !users.is_empty() {
        return Err(CurationError::LayoutInRules { name: layout.name, integrations: users.join(", ") });
    }
    store.transaction(|tx| tx.delete_layout(layout.id))?;
    Ok(())
}
