//! Calls to the Manage API and CW's own reading of errors: which security
//! role module a 403 means, and the cloud quirk where bad credentials can
//! come back as 404.

use ferry_sdk::error::{ends_the_call, from_status, snippet};
use ferry_sdk::paging::Span;
use ferry_sdk::prelude::*;
use serde::de::DeserializeOwned;

use crate::config::Settings;
use crate::map;
use ferry_sdk::de::{self, OrDefault, Scalar};

/// The model version Ferry's mapping was written against; without it CW
/// answers with its newest model, which may rename fields.
const ACCEPT: &str = "application/vnd.connectwise.com+json; version=2025.8";
/// CW's maximum page size.
const PAGE_SIZE: &str = "1000";
/// [`PAGE_SIZE`] as a number.
const PAGE_ROWS: u64 = 1000;
/// Pages of a list endpoint one read asks for at once, once the count is
/// known (contract 0.4's `send-batch`): as many as Ferry's default
/// requests in flight allow twice over, so a read keeps them busy.
const READ_AHEAD: u32 = 8;
/// Companies per `sites` page: each costs one request for its sites, and
/// their first pages go in one `send-batch` together with the request for
/// the next page's company ids, so a page is one batch as large as the
/// contract allows (64 requests) and costs one round trip's wait, the ids
/// of the next page included.
const SITES_PER_PAGE: usize = 63;

/// A list endpoint with the security-role module that guards it.
struct Endpoint {
    path: &'static str,
    resource: &'static str,
    module: &'static str,
    /// Conditions always applied.
    base_condition: Option<&'static str>,
}

const COMPANIES: Endpoint = Endpoint {
    path: "/company/companies",
    resource: "companies",
    module: "Companies > Company Maintenance (Inquire)",
    base_condition: None,
};
const CONTACTS: Endpoint = Endpoint {
    path: "/company/contacts",
    resource: "contacts",
    module: "Companies > Contacts (Inquire)",
    base_condition: None,
};
const CONFIGURATIONS: Endpoint = Endpoint {
    path: "/company/configurations",
    resource: "configurations",
    module: "Companies > Configurations (Inquire)",
    base_condition: None,
};
const AGREEMENTS: Endpoint = Endpoint {
    path: "/finance/agreements",
    resource: "agreements",
    module: "Finance > Agreements (Inquire)",
    base_condition: Some("agreementStatus = \"Active\""),
};
const TICKETS: Endpoint = Endpoint {
    path: "/service/tickets",
    resource: "service tickets",
    module: "Service Desk > Service Tickets (Inquire)",
    base_condition: None,
};
const SITES_MODULE: &str = "Companies > Company Maintenance (Inquire)";
const SYSTEM_MODULE: &str = "System > Table Setup (Inquire)";

/// Reference lists read by the `lookups` stream, one per page, in order.
const LOOKUPS: &[(&str, &str, LookupKind)] = &[
    ("/company/companies/types", "company types", LookupKind::CompanyType),
    ("/company/companies/statuses", "company statuses", LookupKind::CompanyStatus),
    ("/company/configurations/types", "configuration types", LookupKind::AssetType),
    ("/company/configurations/statuses", "configuration statuses", LookupKind::AssetStatus),
    ("/finance/agreements/types", "agreement types", LookupKind::AgreementType),
];

pub struct Api {
    client: Client,
    site: String,
}

/// `/system/info`: the facts `check` reports.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SystemInfo {
    #[serde(deserialize_with = "de::lenient")]
    version: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    is_cloud: Option<Scalar>,
    #[serde(deserialize_with = "de::lenient")]
    cloud_region: Option<Scalar>,
}

/// `…/count`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Count {
    #[serde(deserialize_with = "de::lenient")]
    count: Option<u64>,
}

/// An entry read for its id only (companies whose sites are read, service
/// boards): ids that go into a path are non-negative integers.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IdOnly {
    #[serde(deserialize_with = "de::lenient")]
    id: Option<u64>,
}

/// CW's error body `{code, message, errors: [{message}]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    #[serde(deserialize_with = "de::lenient")]
    message: Option<String>,
    #[serde(deserialize_with = "de::list")]
    errors: Vec<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorDetail {
    #[serde(deserialize_with = "de::lenient")]
    message: Option<String>,
}

/// `lastUpdated > [since]`, with `since` normalised to what CW parses.
pub fn since_condition(since: &str) -> Result<String, ConnectorError> {
    let t = since.trim();
    // CW wants `YYYY-MM-DDTHH:MM:SSZ`; accept any RFC 3339 the host sends by
    // keeping the seconds part and requiring a UTC designator.
    let valid = t.len() >= 19
        && t.as_bytes().get(10) == Some(&b'T')
        && t[..19].bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        })
        && (t.ends_with('Z') || t.ends_with("+00:00"));
    if !valid {
        return Err(bad_response(format!("`since` must be a UTC RFC 3339 time, got `{t}`")));
    }
    Ok(format!("lastUpdated > [{}Z]", &t[..19]))
}

/// Where a `sites` listing stands: after a company id (the next page's ids
/// still to be asked for), or with the next page's company ids in hand.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SitesCursor {
    After(u64),
    Ids(Vec<u64>),
}

impl SitesCursor {
    /// Only the spellings [`SitesCursor::render`] writes are cursors: Ferry
    /// refuses a repeated cursor by comparing strings, so one position must
    /// have one spelling.
    fn parse(cursor: Option<&str>) -> Result<SitesCursor, ConnectorError> {
        let Some(c) = cursor else { return Ok(SitesCursor::After(0)) };
        let bad = || bad_response(format!("cursor `{}` is not a sites cursor", c.chars().take(80).collect::<String>()));
        if let Some(n) = c.strip_prefix("after:") {
            return canonical_id(n).map(SitesCursor::After).ok_or_else(bad);
        }
        let list = c.strip_prefix("ids:").ok_or_else(bad)?;
        let mut ids: Vec<u64> = Vec::new();
        for part in list.split(',') {
            let id = canonical_id(part).ok_or_else(bad)?;
            if ids.last().is_some_and(|prev| *prev >= id) || ids.len() == SITES_PER_PAGE {
                return Err(bad());
            }
            ids.push(id);
        }
        Ok(SitesCursor::Ids(ids))
    }

    fn render(&self) -> String {
        match self {
            SitesCursor::After(after) => format!("after:{after}"),
            SitesCursor::Ids(ids) => {
                let list: Vec<String> = ids.iter().map(u64::to_string).collect();
                format!("ids:{}", list.join(","))
            }
        }
    }
}

/// A decimal id as `render` writes it: digits, no sign, no leading zero
/// (0 itself allowed).
fn canonical_id(n: &str) -> Option<u64> {
    let ok = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'));
    if ok { n.parse().ok() } else { None }
}

fn and(a: Option<&str>, b: Option<&str>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a} and {b}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
        (None, None) => None,
    }
}

impl Api {
    pub fn new(s: &Settings) -> Api {
        let client = Client::new(s.api_root())
            .with_header("authorization", basic_auth(&format!("{}+{}", s.company_id, s.public_key), &s.private_key))
            .with_header("clientid", s.client_id.clone())
            .with_header("accept", ACCEPT);
        Api { client, site: s.site.clone() }
    }

    /// `/system/info` proves the keys; `/company/companies/count` counts.
    pub fn check(&self) -> Result<CheckReport, ConnectorError> {
        let info = self.get("/system/info", &[], "system info", SYSTEM_MODULE)?;
        let OrDefault(info): OrDefault<SystemInfo> = info.json("/system/info")?;
        let count = self.get("/company/companies/count", &[], COMPANIES.resource, COMPANIES.module)?;
        let OrDefault(count): OrDefault<Count> = count.json("/company/companies/count")?;
        let n = count.count.ok_or_else(|| bad_response("companies count has no `count`"))?;
        let mut facts = vec![Field { label: "site".into(), value: self.site.clone() }];
        for (label, value) in [("version", &info.version), ("cloud", &info.is_cloud), ("region", &info.cloud_region)] {
            if let Some(v) = value {
                facts.push(Field { label: label.into(), value: v.text() });
            }
        }
        let mut warnings = Vec::new();
        if n == 0 {
            warnings.push(
                "0 companies found: the API member's security role may not see companies (Companies > Company \
                 Maintenance, Inquire level All)"
                    .into(),
            );
        }
        Ok(CheckReport { summary: format!("{n} companies found"), facts, warnings })
    }

    fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        resource: &str,
        module: &str,
    ) -> Result<Response, ConnectorError> {
        ok_or_classify(self.client.get(path, query)?, resource, module)
    }

    /// The request for one page of a company's sites.
    fn sites_request(&self, company: u64, page: PageNumber) -> Request {
        let page_text = page.as_query();
        self.client
            .request(Method::Get, &format!("/company/companies/{company}/sites"))
            .query(&[("pageSize", PAGE_SIZE), ("page", page_text.as_str())])
    }

    /// The next pages of a list endpoint: records and the next cursor.
    /// Reading a record never fails its page (see [`ferry_sdk::de`]): a
    /// record CW sends with a field Ferry cannot use (no id, no name) is
    /// mapped as it is and Ferry's validation skips that one record with
    /// the reason.
    ///
    /// CW's list answers carry no count, so the first read asks for page 1
    /// and the endpoint's `/count` (same conditions) in one batch; once the
    /// count is known, each read asks for the next [`READ_AHEAD`] pages at
    /// once ([`ReadAhead`]: the cursor, `page:N/T`, still names the first
    /// page not returned, so a resumed listing is exact). Without a count
    /// (the request failed, or a cursor written before), a short page ends
    /// the listing, as CW's `Link` header would.
    fn pages<T: DeserializeOwned + Default>(
        &self,
        endpoint: &Endpoint,
        cursor: Option<&str>,
        since: Option<&str>,
    ) -> Result<Span<T>, ConnectorError> {
        let at = ReadAhead::from_cursor(cursor)?;
        let conditions = and(endpoint.base_condition, since);
        let pages = at.pages(READ_AHEAD);
        let mut requests: Vec<Request> = pages.iter().map(|p| self.list_request(endpoint, *p, &conditions)).collect();
        // The count is asked with page 1 (it gives the page count) and
        // again with the last pages: given with both, a count that changed
        // tells Ferry the records may have shifted between pages, and the
        // listing proves no deletion.
        let known_pages = at.total_pages.map(u64::from);
        let reaches_end = known_pages.is_some_and(|t| pages.last().is_some_and(|p| u64::from(p.0) >= t));
        let ask_count = known_pages.is_none() || reaches_end;
        if ask_count {
            requests.push(self.count_request(endpoint, &conditions));
        }
        let mut answers = send_batch(requests);
        let count = match ask_count.then(|| answers.pop()).flatten() {
            Some(answer) => match self.count(answer, endpoint) {
                Ok(count) => Some(count),
                Err(e) if ends_the_call(&e) => return Err(e),
                Err(e) => {
                    ferry_sdk::log::debug(&format!("{}: no count ({e})", endpoint.resource));
                    None
                }
            },
            None => None,
        };
        // Without a count, a short page ends the listing.
        let total_pages = known_pages.or(count.map(|c| c.div_ceil(PAGE_ROWS)));
        at.gather(pages, answers, Some(PAGE_ROWS as usize), |page, resp| {
            let resp = ok_or_classify(resp, endpoint.resource, endpoint.module)?;
            let items: Vec<OrDefault<T>> = resp.json(&format!("{} page {}", endpoint.resource, page.0))?;
            Ok(NumberedPage { items: de::entries(items), total_pages, total: count })
        })
    }

    /// The request for one page of a list endpoint.
    fn list_request(&self, endpoint: &Endpoint, page: PageNumber, conditions: &Option<String>) -> Request {
        let page_text = page.as_query();
        let mut query = vec![("pageSize", PAGE_SIZE), ("orderBy", "id asc"), ("page", page_text.as_str())];
        if let Some(c) = conditions {
            query.push(("conditions", c));
        }
        self.client.request(Method::Get, endpoint.path).query(&query)
    }

    /// The request for a list endpoint's record count (`{"count": N}`).
    fn count_request(&self, endpoint: &Endpoint, conditions: &Option<String>) -> Request {
        let path = format!("{}/count", endpoint.path);
        let query: Vec<(&str, &str)> = conditions.iter().map(|c| ("conditions", c.as_str())).collect();
        self.client.request(Method::Get, &path).query(&query)
    }

    fn count(&self, answer: Result<Response, ConnectorError>, endpoint: &Endpoint) -> Result<u64, ConnectorError> {
        let resp = answer.and_then(|r| ok_or_classify(r, endpoint.resource, endpoint.module))?;
        let OrDefault(count): OrDefault<Count> = resp.json(&format!("{} count", endpoint.resource))?;
        count.count.ok_or_else(|| bad_response(format!("{} count: no `count` number", endpoint.resource)))
    }

    /// A reference list (one page of at most [`PAGE_SIZE`] entries):
    /// `resource` names it in HTTP errors, `what` in an unreadable body.
    fn list<T: DeserializeOwned + Default>(
        &self,
        path: &str,
        resource: &str,
        what: &str,
        module: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let resp = self.get(path, &[("pageSize", PAGE_SIZE)], resource, module)?;
        Ok(de::entries(resp.json(what)?))
    }

    pub fn companies(&self, cursor: Option<&str>, since: Option<&str>) -> Result<Page, ConnectorError> {
        let Span { items, next, total } = self.pages::<map::CwCompany>(&COMPANIES, cursor, since)?;
        // Which statuses mean inactive is tenant setup; read it with the page.
        let statuses: Vec<map::ListEntry> =
            self.list("/company/companies/statuses", COMPANIES.resource, "company statuses", COMPANIES.module)?;
        let inactive: Vec<u64> = statuses
            .iter()
            .filter(|s| s.inactive_flag == Some(true))
            .filter_map(|s| s.id.as_ref().and_then(Scalar::as_u64))
            .collect();
        let records = items.iter().map(|c| map::company(c, &inactive)).collect();
        Ok(Page { records: Records::Companies(records), next, total })
    }

    pub fn contacts(&self, cursor: Option<&str>, since: Option<&str>) -> Result<Page, ConnectorError> {
        let Span { items, next, total } = self.pages(&CONTACTS, cursor, since)?;
        Ok(Page { records: Records::Contacts(items.iter().map(map::contact).collect()), next, total })
    }

    pub fn configurations(&self, cursor: Option<&str>, since: Option<&str>) -> Result<Page, ConnectorError> {
        let Span { items, next, total } = self.pages(&CONFIGURATIONS, cursor, since)?;
        Ok(Page { records: Records::Assets(items.iter().map(map::configuration).collect()), next, total })
    }

    pub fn agreements(&self, cursor: Option<&str>, since: Option<&str>) -> Result<Page, ConnectorError> {
        let Span { items, next, total } = self.pages(&AGREEMENTS, cursor, since)?;
        Ok(Page { records: Records::Agreements(items.iter().map(map::agreement).collect()), next, total })
    }

    pub fn tickets(&self, cursor: Option<&str>, since: Option<&str>) -> Result<Page, ConnectorError> {
        let Span { items, next, total } = self.pages(&TICKETS, cursor, since)?;
        Ok(Page { records: Records::Tickets(items.iter().map(map::ticket).collect()), next, total })
    }

    /// Sites live under each company; there is no global list. A page is
    /// the sites of the next companies by id (at most [`SITES_PER_PAGE`]).
    ///
    /// The first sites page of every company of the page and the ids of the
    /// companies of the next page (`id >` the last one) are asked for in one
    /// `send-batch` (contract 0.4), so a page costs one round trip's wait,
    /// not one per company, and no round trip is spent on ids alone except
    /// on the first page. The cursor carries the next page's company ids
    /// (`ids:7,9,12`); should that request fail in a way that does not end
    /// the run, the cursor is the last company done (`after:12`) and the
    /// next read asks for the ids again. Cursors only move forward: the ids
    /// a cursor carries are all above the page's last.
    ///
    /// Each company costs one request, so an incremental read (`since`, a
    /// CW condition) reads the sites of companies changed since only (new
    /// ones included); a site edited on an unchanged company waits for the
    /// next full read.
    pub fn sites(&self, cursor: Option<&str>, since: Option<&str>) -> Result<Page, ConnectorError> {
        let ids = match SitesCursor::parse(cursor)? {
            SitesCursor::After(after) => {
                let resp = self.company_ids_request(after, since).send();
                self.company_ids(resp, after)?
            }
            SitesCursor::Ids(ids) => ids,
        };
        let last = ids.last().copied();
        let mut requests: Vec<Request> = ids.iter().map(|id| self.sites_request(*id, PageNumber(1))).collect();
        let ask_next = match last {
            Some(last) if ids.len() == SITES_PER_PAGE => {
                requests.push(self.company_ids_request(last, since));
                true
            }
            _ => false,
        };
        // Sent concurrently by Ferry; the rare further sites pages one by
        // one. Taken in company order, so records, errors and their order
        // are what reading them one at a time gave.
        let mut answers = send_batch(requests);
        let next_ids = if ask_next { answers.pop() } else { None };
        let mut records = Vec::new();
        for (id, first) in ids.iter().zip(answers) {
            let mut page = PageNumber(1);
            let mut answer = Some(first);
            loop {
                let resp = answer.take().unwrap_or_else(|| self.sites_request(*id, page).send());
                let resp = match resp.and_then(|r| ok_or_classify(r, "sites", SITES_MODULE)) {
                    // A company deleted since its id was read has no sites;
                    // one that still exists must not look as if it had
                    // none (its sites would be marked deleted).
                    Err(ConnectorError::NotFound(why)) => match self.company_exists(*id)? {
                        false => break,
                        true => {
                            return Err(ConnectorError::NotFound(format!(
                                "the sites of company {id} answered 404 ({why}) though the company exists: its sites were not listed and none is marked deleted; check the API member's access to company sites, and report it if it persists"
                            )));
                        }
                    },
                    other => other?,
                };
                let items: Vec<OrDefault<map::CwSite>> = resp.json(&format!("sites of company {id}"))?;
                records.extend(items.iter().map(|OrDefault(site)| map::site(site, *id)));
                match page.next_from_link(resp.header("link")) {
                    Some(next) if !items.is_empty() => page = PageNumber::from_cursor(Some(&next))?,
                    _ => break,
                }
            }
        }
        let next = match (next_ids, last) {
            (Some(answer), Some(last)) => match self.company_ids(answer, last) {
                Ok(next) if next.is_empty() => None,
                Ok(next) => Some(SitesCursor::Ids(next).render()),
                Err(e) if ends_the_call(&e) => return Err(e),
                Err(e) => {
                    ferry_sdk::log::warn(&format!("the next companies for sites: {e}; asked again on the next page"));
                    Some(SitesCursor::After(last).render())
                }
            },
            _ => None,
        };
        Ok(Page { records: Records::Sites(records), next, total: None })
    }

    /// Whether company `id` exists (its own record answers), asked only
    /// when its sites answered 404.
    fn company_exists(&self, id: u64) -> Result<bool, ConnectorError> {
        let path = format!("{}/{id}", COMPANIES.path);
        match self.get(&path, &[("fields", "id")], COMPANIES.resource, COMPANIES.module) {
            Ok(_) => Ok(true),
            Err(ConnectorError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The request for the ids of the next [`SITES_PER_PAGE`] companies
    /// after company `after` (changed since `since`, if given).
    fn company_ids_request(&self, after: u64, since: Option<&str>) -> Request {
        let condition = and(Some(&format!("id > {after}")), since).unwrap_or_default();
        let page_size = SITES_PER_PAGE.to_string();
        self.client.request(Method::Get, COMPANIES.path).query(&[
            ("fields", "id"),
            ("orderBy", "id asc"),
            ("pageSize", page_size.as_str()),
            ("conditions", condition.as_str()),
        ])
    }

    /// The company ids of an answer to [`Api::company_ids_request`]: those
    /// above `after`, ascending, each once (a PSA that ignored the
    /// condition or the order cannot make the listing go back or repeat).
    fn company_ids(&self, answer: Result<Response, ConnectorError>, after: u64) -> Result<Vec<u64>, ConnectorError> {
        let resp = answer.and_then(|r| ok_or_classify(r, "companies (for their sites)", SITES_MODULE))?;
        let companies: Vec<OrDefault<IdOnly>> = resp.json("companies for sites")?;
        let mut ids: Vec<u64> =
            de::entries(companies).into_iter().filter_map(|c| c.id).filter(|id| *id > after).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(SITES_PER_PAGE);
        Ok(ids)
    }

    /// Reference lists, one per page; ticket statuses of every board last.
    ///
    /// One list failing (a 404 on a tenant without it, a missing permission,
    /// an unreadable body) fails that list only: the others are read, and
    /// the failed ones are tried once more at the end; if they still fail,
    /// that last page is the stream's error, naming them. The stream then
    /// fails (so nothing of it counts as deleted) with every other list
    /// stored, and a resumed listing starts at that retry.
    pub fn lookups(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        let lookups = |records: Vec<Lookup>, next: Option<String>| {
            Ok(Page { records: Records::Lookups(records), next, total: None })
        };
        match LookupCursor::parse(cursor)? {
            LookupCursor::List { step, mut failed } => {
                let records = match self.lookup_list(step) {
                    Ok(records) => records,
                    Err(e) if fails_one_list(&e) => {
                        ferry_sdk::log::warn(&format!("{}: {e}; the other lookup lists go on", lookup_name(step)));
                        failed.push(step);
                        Vec::new()
                    }
                    Err(e) => return Err(e),
                };
                let next = if step < LOOKUPS.len() {
                    Some(LookupCursor::List { step: step + 1, failed }.render())
                } else if failed.is_empty() {
                    None
                } else {
                    Some(LookupCursor::Retry { failed }.render())
                };
                lookups(records, next)
            }
            LookupCursor::Retry { failed } => {
                let mut records = Vec::new();
                let mut still: Vec<(usize, ConnectorError)> = Vec::new();
                for step in failed {
                    match self.lookup_list(step) {
                        Ok(r) => records.extend(r),
                        Err(e) => still.push((step, e)),
                    }
                }
                let names: Vec<&str> = still.iter().map(|(step, _)| lookup_name(*step)).collect();
                match still.into_iter().next() {
                    None => lookups(records, None),
                    Some((_, e)) => Err(only_these_failed(e, &names.join(", "))),
                }
            }
        }
    }

    /// One reference list (`step` < LOOKUPS.len()) or, last, the ticket
    /// statuses of every board.
    fn lookup_list(&self, step: usize) -> Result<Vec<Lookup>, ConnectorError> {
        if let Some((path, what, kind)) = LOOKUPS.get(step) {
            let module = if path.starts_with("/finance") {
                AGREEMENTS.module
            } else if path.contains("configurations") {
                CONFIGURATIONS.module
            } else {
                COMPANIES.module
            };
            let items: Vec<map::ListEntry> = self.list(path, what, what, module)?;
            return Ok(items.iter().filter_map(|e| map::lookup(e, *kind)).collect());
        }
        let boards: Vec<IdOnly> = self.list("/service/boards", "service boards", "service boards", TICKETS.module)?;
        let mut records = Vec::new();
        for id in boards.into_iter().filter_map(|b| b.id) {
            let statuses: Vec<map::BoardStatus> = self.list(
                &format!("/service/boards/{id}/statuses"),
                "ticket statuses",
                "board statuses",
                TICKETS.module,
            )?;
            records.extend(statuses.iter().filter_map(map::ticket_status));
        }
        Ok(records)
    }
}

/// Where the lookups stream is: the next list and the lists failed so far,
/// or the final retry of those.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LookupCursor {
    List { step: usize, failed: Vec<usize> },
    Retry { failed: Vec<usize> },
}

impl LookupCursor {
    fn parse(cursor: Option<&str>) -> Result<LookupCursor, ConnectorError> {
        let Some(c) = cursor else { return Ok(LookupCursor::List { step: 0, failed: Vec::new() }) };
        let bad = || bad_response(format!("cursor `{c}` is not a lookups cursor"));
        let list = |text: &str| -> Result<Vec<usize>, ConnectorError> {
            text.split(',').filter(|s| !s.is_empty()).map(|n| n.parse().map_err(|_| bad())).collect()
        };
        let rest = c.strip_prefix("lookup:").ok_or_else(bad)?;
        let parsed = if let Some(failed) = rest.strip_prefix("retry:") {
            LookupCursor::Retry { failed: list(failed)? }
        } else {
            let (step, failed) = rest.split_once(":failed=").unwrap_or((rest, ""));
            LookupCursor::List { step: step.parse().map_err(|_| bad())?, failed: list(failed)? }
        };
        let in_range = match &parsed {
            LookupCursor::List { step, failed } => *step <= LOOKUPS.len() && failed.iter().all(|f| f < step),
            LookupCursor::Retry { failed } => !failed.is_empty() && failed.iter().all(|f| *f <= LOOKUPS.len()),
        };
        if in_range { Ok(parsed) } else { Err(bad_response(format!("lookups cursor `{c}` is past the end"))) }
    }

    fn render(&self) -> String {
        let join = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        match self {
            LookupCursor::List { step, failed } if failed.is_empty() => format!("lookup:{step}"),
            LookupCursor::List { step, failed } => format!("lookup:{step}:failed={}", join(failed)),
            LookupCursor::Retry { failed } => format!("lookup:retry:{}", join(failed)),
        }
    }
}

fn lookup_name(step: usize) -> &'static str {
    LOOKUPS.get(step).map(|(_, what, _)| *what).unwrap_or("ticket statuses")
}

/// Errors that concern one reference list only; anything else (bad keys,
/// an unreachable or throttling PSA) stops the stream as before.
fn fails_one_list(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::NotFound(_) | ConnectorError::Forbidden(_) | ConnectorError::BadResponse(_))
}

/// The stream's error when some lists still fail: their names, the cause,
/// and that the other lists were read.
fn only_these_failed(e: ConnectorError, names: &str) -> ConnectorError {
    let note = |m: &str| format!("lookup list(s) {names} could not be read ({m}); the other lookup lists were read");
    match e {
        ConnectorError::NotFound(m) => ConnectorError::NotFound(note(&m)),
        ConnectorError::Forbidden(mut p) => {
            p.detail = note(&p.detail);
            ConnectorError::Forbidden(p)
        }
        ConnectorError::BadResponse(m) => bad_response(note(&m)),
        other => other,
    }
}

/// A 2xx as it is; anything else the connector-error it means.
fn ok_or_classify(resp: Response, resource: &str, module: &str) -> Result<Response, ConnectorError> {
    if resp.is_success() { Ok(resp) } else { Err(classify(&resp, resource, module)) }
}

/// CW's statuses → connector-error. Clients must key off the status, not
/// the body, which CW does not document (docs/psa-apis.md §2.3).
pub fn classify(resp: &Response, resource: &str, module: &str) -> ConnectorError {
    let message = cw_message(&resp.body);
    match resp.status {
        401 => ConnectorError::Unauthorized(format!(
            "ConnectWise refused the API keys (HTTP 401{}): the company id, public or private key is wrong, or the \
             API member is inactive. Check them under System > Members > API Members",
            message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        )),
        403 => ConnectorError::Forbidden(PermissionDenied {
            resource: resource.to_string(),
            permission: Some(module.to_string()),
            detail: message.unwrap_or_else(|| snippet(&resp.body)),
        }),
        404 => ConnectorError::NotFound(format!(
            "HTTP 404 for {resource}: check the site and codebase; on CW cloud a 404 can also mean wrong credentials{}",
            message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
        )),
        400 => bad_response(format!(
            "CW rejected the request for {resource} (HTTP 400): {}",
            message.unwrap_or_else(|| snippet(&resp.body))
        )),
        _ => from_status(resp, resource),
    }
}

/// `message` (and validation errors) from CW's `{code, message, errors}`.
fn cw_message(body: &[u8]) -> Option<String> {
    let OrDefault(body): OrDefault<ErrorBody> = serde_json::from_slice(body).ok()?;
    let mut text = body.message?;
    for e in body.errors.iter().filter_map(|e| e.message.as_deref()) {
        text.push_str("; ");
        text.push_str(e);
    }
    Some(text)
}

#[cfg(test)]
#[path = "sites_tests.rs"]
mod sites_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response { status, headers: vec![], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn since_becomes_a_condition() {
        assert_eq!(since_condition("2025-10-02T03:14:40Z").unwrap(), "lastUpdated > [2025-10-02T03:14:40Z]");
        assert_eq!(since_condition("2025-10-02T03:14:40.123Z").unwrap(), "lastUpdated > [2025-10-02T03:14:40Z]");
        assert!(since_condition("2025-10-02").is_err());
        assert!(since_condition("2025-10-02T03:14:40+02:00").is_err(), "CW conditions are UTC");
        assert_eq!(
            and(AGREEMENTS.base_condition, Some("lastUpdated > [x]")).unwrap(),
            "agreementStatus = \"Active\" and lastUpdated > [x]"
        );
    }

    #[test]
    fn lookup_cursors_round_trip_and_refuse_garbage() {
        for c in [
            LookupCursor::List { step: 0, failed: vec![] },
            LookupCursor::List { step: 4, failed: vec![2] },
            LookupCursor::Retry { failed: vec![2, 5] },
        ] {
            assert_eq!(LookupCursor::parse(Some(&c.render())).unwrap(), c);
        }
        assert_eq!(LookupCursor::parse(None).unwrap(), LookupCursor::List { step: 0, failed: vec![] });
        for bad in ["lookup:x", "page:2", "lookup:99", "lookup:2:failed=3", "lookup:retry:", "lookup:retry:77"] {
            assert!(LookupCursor::parse(Some(bad)).is_err(), "{bad}");
        }
        let e = only_these_failed(ConnectorError::NotFound("HTTP 404".into()), "configuration types");
        assert!(
            matches!(&e, ConnectorError::NotFound(m) if m.contains("configuration types") && m.contains("other lookup lists were read"))
        );
    }

    #[test]
    fn forbidden_names_the_module() {
        let r = resp(403, r#"{"code":"Forbidden","message":"no access","errors":null}"#);
        match classify(&r, "configurations", CONFIGURATIONS.module) {
            ConnectorError::Forbidden(p) => {
                assert_eq!(p.permission.as_deref(), Some("Companies > Configurations (Inquire)"));
                assert_eq!(p.detail, "no access");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unauthorized_and_not_found_explain() {
        match classify(
            &resp(401, r#"{"code":"Unauthorized","message":"Authentication failed.","errors":null}"#),
            "x",
            "m",
        ) {
            ConnectorError::Unauthorized(m) => {
                assert!(m.contains("API Members") && m.contains("Authentication failed."))
            }
            other => panic!("unexpected {other:?}"),
        }
        match classify(&resp(404, ""), "companies", "m") {
            ConnectorError::NotFound(m) => assert!(m.contains("wrong credentials")),
            other => panic!("unexpected {other:?}"),
        }
        match classify(
            &resp(400, r#"{"code":"InvalidObject","message":"bad","errors":[{"message":"field x"}]}"#),
            "c",
            "m",
        ) {
            ConnectorError::BadResponse(m) => assert!(m.contains("bad; field x")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
