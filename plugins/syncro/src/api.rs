//! Calls to Syncro's API and the Syncro-specific reading of its errors:
//! a missing permission comes back as HTTP 401 with a "group permissions"
//! body, which must not be mistaken for a bad token.

use ferry_sdk::de::OrDefault;
use ferry_sdk::error::{from_status, snippet};
use ferry_sdk::prelude::*;

use crate::config::Settings;
use crate::{map, newest};

/// Numbered pages one read asks for (contract 0.4's `send-batch`).
///
/// Once the page count is known, up to 32 pages a read: Ferry's request
/// slots (the integration's `concurrency`) are kept busy while a read's
/// slowest page is still out, where 8 at a time left them idle at each
/// read's end (100 customers at 150 ms: 2.1 s against a 1.6 s floor). Up
/// to 32 pages of at most 100 records is what one read holds in memory.
///
/// The first read of a listing asks for pages 1 and 2: at the start of a
/// sync every stream has only its first page to ask for, so the slots
/// would idle for a round trip; a listing of one page spends one request
/// for nothing (a 100-customer sync makes 86).
const READ_AHEAD: Ahead = Ahead { known: 32, first: 2 };

pub struct Api {
    client: Client,
    subdomain: String,
}

/// A list endpoint: its path, the envelope key and the permission a token
/// needs for it (as Syncro names it).
struct Endpoint {
    path: &'static str,
    key: &'static str,
    resource: &'static str,
    permission: &'static str,
}

const CUSTOMERS: Endpoint =
    Endpoint { path: "/customers", key: "customers", resource: "customers", permission: "Customers - List/Search" };
const CONTACTS: Endpoint =
    Endpoint { path: "/contacts", key: "contacts", resource: "contacts", permission: "Customers - View Detail" };
const ASSETS: Endpoint =
    Endpoint { path: "/customer_assets", key: "assets", resource: "assets", permission: "Assets - List/Search" };
const TICKETS: Endpoint =
    Endpoint { path: "/tickets", key: "tickets", resource: "tickets", permission: "Tickets - List/Search" };

impl Api {
    pub fn new(settings: &Settings) -> Self {
        let client = Client::new(settings.api_root())
            .with_header("authorization", format!("Bearer {}", settings.api_key))
            .with_header("accept", "application/json");
        Api { client, subdomain: settings.subdomain.clone() }
    }

    /// `/me` proves the token; the first customers page counts customers.
    pub fn check(&self) -> Result<CheckReport, ConnectorError> {
        let me = self.client.get("/me", &[])?;
        let OrDefault(me): OrDefault<map::Me> = self.ok(me, "the current user (/me)", None)?.json("/me")?;
        let first = self.list_page(&CUSTOMERS, PageNumber(1), &[("include_disabled", "true")])?;
        let total = first
            .total_entries
            .unwrap_or_else(|| if first.total_pages.unwrap_or(1) <= 1 { first.items.len() as u64 } else { 0 });
        let exact = first.total_entries.is_some() || first.total_pages.unwrap_or(1) <= 1;
        let mut warnings = Vec::new();
        if total == 0 && exact {
            warnings.push(
                "0 customers found: the token's user may not be allowed to see customers \
                 (check the token's Customers permissions in Syncro)"
                    .to_string(),
            );
        }
        if let Some(false) = me.permissions.as_ref().and_then(|p| p.read("asset")) {
            warnings.push("the token cannot read assets: add the permission Assets - List/Search".into());
        }
        if let Some(false) = me.permissions.as_ref().and_then(|p| p.read("ticket")) {
            warnings.push("the token cannot read tickets: add the permission Tickets - List/Search".into());
        }
        let summary = if exact {
            format!("{total} customers found")
        } else {
            format!("more than {} customers found ({} pages)", first.items.len(), first.total_pages.unwrap_or(0))
        };
        let mut facts = vec![Field { label: "subdomain".into(), value: self.subdomain.clone() }];
        if let Some(user) = me.user_email.or(me.user_name) {
            facts.push(Field { label: "user".into(), value: user });
        }
        Ok(CheckReport { summary, facts, warnings })
    }

    /// Customers: all of them in id order, or with `since` newest first
    /// down to `since` (see [`crate::newest`]).
    pub fn companies(&self, cursor: Option<&str>, since: Option<&str>) -> Result<Page, ConnectorError> {
        let since = match since {
            Some(s) => Some(
                newest::instant(s).ok_or_else(|| bad_response(format!("`since` is not an RFC 3339 time: `{s}`")))?,
            ),
            None => None,
        };
        let (page, after) = match newest::Cursor::parse(cursor, since.is_some())? {
            newest::Cursor::Full(at) => {
                let span = self.list_ahead(&CUSTOMERS, at, &[("include_disabled", "true")])?;
                let records = changed_since(span.items.into_iter().map(map::company).collect(), since);
                return Ok(Page {
                    records: Records::Companies(records),
                    next: span.next,
                    total: since.is_none().then_some(span.total).flatten(),
                });
            }
            newest::Cursor::Newest { page, after } => (PageNumber(page), after),
        };
        let since_ms = since.unwrap_or(i64::MIN);
        let list = self.list_page(&CUSTOMERS, page, &[("include_disabled", "true"), ("sort", "updated_at DESC")])?;
        let more = list.next(page).is_some();
        let records = list.decode(map::company);
        let times: Vec<Option<i64>> =
            records.iter().map(|c| c.updated_at.as_deref().and_then(newest::instant)).collect();
        match newest::verify(after, &times) {
            Ok(last) => {
                // The page reaching back past `since` is the last one needed.
                let reached = last.is_some_and(|t| t < since_ms);
                let next = (more && !reached).then(|| newest::Cursor::Newest { page: page.0 + 1, after: last }.text());
                let records = changed_since(records, since);
                Ok(Page { records: Records::Companies(records), next, total: None })
            }
            Err(why) => {
                ferry_sdk::log::warn(&format!(
                    "Syncro did not return customers newest first (sort=updated_at DESC; page {}: {why}): \
                     reading all customers instead",
                    page.0
                ));
                let records = changed_since(records, since);
                let next = Some(newest::Cursor::Full(ReadAhead::from_cursor(None)?).text());
                Ok(Page { records: Records::Companies(records), next, total: None })
            }
        }
    }

    pub fn contacts(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        let span = self.list_ahead(&CONTACTS, ReadAhead::from_cursor(cursor)?, &[])?;
        let records = span.items.into_iter().map(map::contact).collect();
        Ok(Page { records: Records::Contacts(records), next: span.next, total: span.total })
    }

    pub fn assets(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        let span = self.list_ahead(&ASSETS, ReadAhead::from_cursor(cursor)?, &[])?;
        let records = span.items.into_iter().map(map::asset).collect();
        Ok(Page { records: Records::Assets(records), next: span.next, total: span.total })
    }

    pub fn tickets(&self, cursor: Option<&str>, since: Option<&str>) -> Result<Page, ConnectorError> {
        let mut query = Vec::new();
        if let Some(since) = since {
            query.push(("since_updated_at", since));
        }
        let span = self.list_ahead(&TICKETS, ReadAhead::from_cursor(cursor)?, &query)?;
        let records = span.items.into_iter().map(map::ticket).collect();
        Ok(Page { records: Records::Tickets(records), next: span.next, total: span.total })
    }

    /// The pages of a list endpoint from `at`, read ahead once Syncro has
    /// given the page count (`meta.total_pages`): the items in order, the
    /// exact cursor after them, the record count.
    fn list_ahead(
        &self,
        endpoint: &Endpoint,
        at: ReadAhead,
        extra: &[(&str, &str)],
    ) -> Result<ferry_sdk::paging::Span<serde_json::Value>, ConnectorError> {
        at.read(
            READ_AHEAD,
            None,
            |page| self.list_request(endpoint, page, extra),
            |page, resp| {
                let list = self.list_parse(endpoint, page, resp)?;
                Ok(NumberedPage { items: list.items, total_pages: list.total_pages, total: list.total_entries })
            },
        )
    }

    /// Ticket statuses (`/tickets/settings`) then asset types (`/settings`),
    /// one request per page.
    pub fn lookups(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        match cursor {
            None => {
                let resp = self.client.get("/tickets/settings", &[])?;
                let settings: map::TicketSettings =
                    self.ok(resp, "ticket settings", Some(TICKETS.permission))?.json("/tickets/settings")?;
                Ok(Page {
                    records: Records::Lookups(map::ticket_statuses(&settings)),
                    next: Some("asset-types".into()),
                    total: None,
                })
            }
            Some("asset-types") => {
                let resp = self.client.get("/settings", &[])?;
                let settings: map::AccountSettings = self.ok(resp, "account settings", None)?.json("/settings")?;
                Ok(Page { records: Records::Lookups(map::asset_types(&settings)), next: None, total: None })
            }
            Some(other) => Err(bad_response(format!("unknown lookups cursor `{other}`"))),
        }
    }

    fn list_page(
        &self,
        endpoint: &Endpoint,
        page: PageNumber,
        extra: &[(&str, &str)],
    ) -> Result<ListPage, ConnectorError> {
        let resp = self.list_request(endpoint, page, extra).send()?;
        self.list_parse(endpoint, page, resp)
    }

    /// The request for one page of a list endpoint.
    fn list_request(&self, endpoint: &Endpoint, page: PageNumber, extra: &[(&str, &str)]) -> Request {
        let page_text = page.as_query();
        let mut query: Vec<(&str, &str)> = extra.to_vec();
        query.push(("page", &page_text));
        self.client.request(Method::Get, endpoint.path).query(&query)
    }

    /// One page of a list endpoint from its answer, envelope removed; a
    /// status that is no success is the connector-error it means.
    fn list_parse(&self, endpoint: &Endpoint, page: PageNumber, resp: Response) -> Result<ListPage, ConnectorError> {
        let resp = self.ok(resp, endpoint.resource, Some(endpoint.permission))?;
        let what = format!("{} page {}", endpoint.resource, page.0);
        let mut body: serde_json::Map<String, serde_json::Value> = resp.json(&what)?;
        let items = match body.remove(endpoint.key) {
            Some(serde_json::Value::Array(items)) => items,
            Some(_) => {
                return Err(bad_response(format!("{what}: `{}` is not a list", endpoint.key)));
            }
            None => {
                return Err(bad_response(format!(
                    "{what}: the response has no `{}` list; body starts: {}",
                    endpoint.key,
                    snippet(&resp.body)
                )));
            }
        };
        let meta = body.get("meta");
        let number = |k: &str| meta.and_then(|m| m.get(k)).and_then(serde_json::Value::as_u64);
        Ok(ListPage { items, total_pages: number("total_pages"), total_entries: number("total_entries") })
    }

    /// Pass a 2xx through; turn anything else into the right connector-error.
    fn ok(&self, resp: Response, resource: &str, permission: Option<&str>) -> Result<Response, ConnectorError> {
        if resp.is_success() {
            return Ok(resp);
        }
        Err(classify(&resp, resource, permission))
    }
}

/// Syncro's error statuses → connector-error.
pub fn classify(resp: &Response, resource: &str, permission: Option<&str>) -> ConnectorError {
    let body = String::from_utf8_lossy(&resp.body).to_ascii_lowercase();
    match resp.status {
        401 if body.contains("group permissions") => ConnectorError::Forbidden(PermissionDenied {
            resource: resource.to_string(),
            permission: permission.map(str::to_string),
            detail: snippet(&resp.body),
        }),
        401 => ConnectorError::Unauthorized(
            "Syncro refused the API token (HTTP 401): it is wrong, expired or revoked. Create a \
             new one under Admin > API > API Tokens"
                .to_string(),
        ),
        403 => ConnectorError::Forbidden(PermissionDenied {
            resource: resource.to_string(),
            permission: permission.map(str::to_string),
            detail: snippet(&resp.body),
        }),
        _ => from_status(resp, resource),
    }
}

/// The customers updated at or after `since` (all without it); one whose
/// update time cannot be read is kept.
fn changed_since(records: Vec<Company>, since: Option<i64>) -> Vec<Company> {
    match since {
        None => records,
        Some(since) => records
            .into_iter()
            .filter(|c| c.updated_at.as_deref().and_then(newest::instant).is_none_or(|t| t >= since))
            .collect(),
    }
}

/// One page of a list endpoint, envelope removed.
struct ListPage {
    items: Vec<serde_json::Value>,
    total_pages: Option<u64>,
    total_entries: Option<u64>,
}

impl ListPage {
    fn next(&self, page: PageNumber) -> Option<String> {
        // Syncro's page size differs per endpoint (25/50/100), so without
        // `total_pages` only an empty page proves the end.
        page.next(self.total_pages, self.items.len(), None)
    }

    /// Each item mapped. Mapping never fails (see [`crate::map`]): one odd
    /// record is Ferry's to skip, never its page's undoing.
    fn decode<T>(self, convert: fn(serde_json::Value) -> T) -> Vec<T> {
        self.items.into_iter().map(convert).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response { status, headers: vec![], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn permission_401_is_forbidden_with_permission_name() {
        let r = resp(401, r#"{"error": "Not authorized. Please ask account admin to update your group permissions."}"#);
        match classify(&r, "contacts", Some("Customers - View Detail")) {
            ConnectorError::Forbidden(p) => {
                assert_eq!(p.resource, "contacts");
                assert_eq!(p.permission.as_deref(), Some("Customers - View Detail"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn plain_401_is_unauthorized() {
        assert!(matches!(
            classify(&resp(401, r#"{"error":"Not authorized"}"#), "customers", None),
            ConnectorError::Unauthorized(_)
        ));
    }
}
