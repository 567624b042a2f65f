//! Cursor helpers for the two paging styles PSAs use: numbered pages
//! (Syncro's `page=N` with `meta.total_pages`) and RFC 8288 `Link` headers
//! (ConnectWise's `rel="next"`). Cursors are opaque to the host but must
//! never repeat, which these helpers guarantee by only moving forward.
//! [`ReadAhead`] reads numbered pages several at a time once their count is
//! known (contract 0.4's `send-batch`).

use crate::bindings::ferry::connector::types::ConnectorError;
use crate::error::bad_response;

/// A 1-based page number carried in the cursor as `page:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber(pub u32);

impl PageNumber {
    pub(crate) const PREFIX: &'static str = "page:";

    /// The page a cursor points at (`None` = first page). Only the spelling
    /// [`PageNumber::next`] writes is a cursor (`page:2`, not `page:02` or
    /// `page:+2`): the host refuses a listing whose cursor repeats by
    /// comparing strings, so two spellings of one page must not both read.
    pub fn from_cursor(cursor: Option<&str>) -> Result<Self, ConnectorError> {
        match cursor {
            None => Ok(PageNumber(1)),
            Some(c) => c
                .strip_prefix(Self::PREFIX)
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n >= 1)
                .map(PageNumber)
                .ok_or_else(|| bad_response(format!("cursor `{c}` is not a page cursor"))),
        }
    }

    /// The cursor for the page after this one, or `None` when this page was
    /// the last: decided by the PSA's total page count when it gives one,
    /// else by whether this page was empty or shorter than a full page.
    pub fn next(self, total_pages: Option<u64>, returned: usize, full_page: Option<usize>) -> Option<String> {
        let more = match total_pages {
            Some(total) => u64::from(self.0) < total,
            None => match full_page {
                Some(size) => returned >= size && returned > 0,
                None => returned > 0,
            },
        };
        more.then(|| format!("{}{}", Self::PREFIX, self.0 + 1))
    }

    pub fn as_query(self) -> String {
        self.0.to_string()
    }

    /// The next page announced by a `Link` header's `rel="next"` URL
    /// (its `page` parameter), as a cursor. The URL itself is not kept: a
    /// PSA behind a proxy may announce an internal host, so the next request
    /// is rebuilt against the configured base.
    pub fn next_from_link(self, link: Option<&str>) -> Option<String> {
        let next = LinkHeader::parse(link?).get("next")?.to_string();
        let query = next.split_once('?')?.1;
        let page = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "page")?.1.parse::<u32>().ok()?;
        (page > self.0).then(|| format!("{}{page}", Self::PREFIX))
    }
}

/// One numbered page as the connector read it: its records and what the PSA
/// said about the whole listing.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberedPage<T> {
    pub items: Vec<T>,
    /// The PSA's page count, when it gives one (Syncro's `meta.total_pages`,
    /// or a record count divided by the page size).
    pub total_pages: Option<u64>,
    /// The PSA's record count, for [`Page::total`](crate::prelude::Page).
    pub total: Option<u64>,
}

/// What one read of [`ReadAhead`] returns: the records of its pages in
/// order, the cursor after the last of them, the last record count seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Span<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    pub total: Option<u64>,
}

/// Most pages one read of [`ReadAhead`] asks for: one batch of
/// [`crate::http::MAX_BATCH`] with room for one more request (CW asks for
/// its record count with the last pages).
pub const MAX_READ: u32 = crate::http::MAX_BATCH as u32 - 1;

/// How many pages one read of [`ReadAhead`] asks for. A plain number is
/// `known` with `first` = 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ahead {
    /// Once the page count is known: this many pages a read.
    pub known: u32,
    /// The first read of a listing, before any count is known: pages 1 to
    /// `first`. More than 1 guesses that the listing has more than one page:
    /// every page past the count page 1 gives is a request spent for
    /// nothing (its answer is dropped), but while the integration's other
    /// streams still ask for their first page too, slots that would idle
    /// for a round trip carry pages that are usually needed.
    pub first: u32,
}

impl From<u32> for Ahead {
    fn from(known: u32) -> Self {
        Ahead { known, first: 1 }
    }
}

/// Numbered pages read several at a time once the PSA has said how many
/// there are (contract 0.4's `send-batch`): the first read asks for one
/// page; when its answer gives the page count, each later read asks for the
/// next `ahead` pages at once, never past the count, and returns their
/// records as one page for Ferry.
///
/// The cursor stays exact: it names the first page not yet returned
/// (`page:N`, or `page:N/T` once the count `T` is known), so a resumed
/// listing reads from there exactly as a page-at-a-time one would. Pages are
/// taken in order and the listing ends at the first page that says it is
/// the last (by the count it gives, or by being empty); a page that fails
/// after the first returns the pages before it, with the cursor at the
/// failed one, so the next read meets the failure first, unless the failure
/// ends the run or the call (unauthorized, token expired, invalid config,
/// unreachable): that one is returned at once. A page whose record count
/// differs from the pages before it in the same read ends the read before
/// it, so each read reports one count and Ferry sees a listing the PSA
/// changed under it (and marks nothing deleted from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAhead {
    pub page: PageNumber,
    /// The page count the last page read gave, if any.
    pub total_pages: Option<u32>,
}

impl ReadAhead {
    /// The position a cursor names (`None`: page 1, count unknown). Only
    /// the spellings [`ReadAhead::cursor`] writes are cursors.
    pub fn from_cursor(cursor: Option<&str>) -> Result<Self, ConnectorError> {
        let Some(c) = cursor else { return Ok(ReadAhead { page: PageNumber(1), total_pages: None }) };
        let bad = || bad_response(format!("cursor `{c}` is not a page cursor"));
        let Some((page, total)) = c.split_once('/') else {
            return Ok(ReadAhead { page: PageNumber::from_cursor(Some(c))?, total_pages: None });
        };
        let page = PageNumber::from_cursor(Some(page)).map_err(|_| bad())?;
        let total = canonical_number(total).filter(|t| *t >= page.0).ok_or_else(bad)?;
        Ok(ReadAhead { page, total_pages: Some(total) })
    }

    /// The cursor of `page` with the count known so far.
    pub fn cursor(page: u32, total_pages: Option<u64>) -> String {
        match total_pages.and_then(|t| u32::try_from(t).ok()).filter(|t| *t >= page) {
            Some(total) => format!("{}{page}/{total}", PageNumber::PREFIX),
            None => format!("{}{page}", PageNumber::PREFIX),
        }
    }

    /// The pages one read asks for: this one alone while the count is
    /// unknown (the first read: [`Ahead::first`] pages from page 1), else
    /// up to `ahead` (at least 1) from here, never past it; and the
    /// listing's last pages with them when fewer than half of `ahead` would
    /// be left (at most [`MAX_READ`] in all). A read ends when its slowest
    /// page answers, so a short last read is one round trip with most of
    /// the integration's request slots idle (50 pages read 16 at a time:
    /// 2-17, 18-33, 34-50, not a fourth read of page 50 alone).
    pub fn pages(self, ahead: impl Into<Ahead>) -> Vec<PageNumber> {
        let Ahead { known, first } = ahead.into();
        let ahead = known.max(1);
        let last = match self.total_pages {
            Some(total) => {
                let batch_end = self.page.0.saturating_add(ahead - 1);
                let left_after = total.saturating_sub(batch_end);
                let end = if left_after > 0 && left_after <= ahead / 2 { total } else { batch_end };
                end.min(total).min(self.page.0.saturating_add(MAX_READ - 1)).max(self.page.0)
            }
            None if self.page.0 == 1 => first.clamp(1, MAX_READ),
            None => self.page.0,
        };
        (self.page.0..=last).map(PageNumber).collect()
    }

    /// Read from here: the pages of [`ReadAhead::pages`] in one batch,
    /// `request` building each page's request and `parse` reading its
    /// answer (status included: return the connector-error a bad status
    /// means). `full_page`: the PSA's page size where a short page proves
    /// the end (see [`PageNumber::next`]).
    pub fn read<T>(
        self,
        ahead: impl Into<Ahead>,
        full_page: Option<usize>,
        request: impl Fn(PageNumber) -> crate::http::Request,
        parse: impl FnMut(PageNumber, crate::http::Response) -> Result<NumberedPage<T>, ConnectorError>,
    ) -> Result<Span<T>, ConnectorError> {
        let pages = self.pages(ahead);
        let answers = crate::http::send_batch(pages.iter().map(|p| request(*p)).collect());
        self.gather(pages, answers, full_page, parse)
    }

    /// [`ReadAhead::read`] for answers sent some other way (with an OAuth
    /// token: [`crate::auth::ClientCredentials::send_batch`]): `pages` as
    /// [`ReadAhead::pages`] gave them, `answers` in the same order.
    pub fn gather<T>(
        self,
        pages: Vec<PageNumber>,
        answers: Vec<Result<crate::http::Response, ConnectorError>>,
        full_page: Option<usize>,
        mut parse: impl FnMut(PageNumber, crate::http::Response) -> Result<NumberedPage<T>, ConnectorError>,
    ) -> Result<Span<T>, ConnectorError> {
        if answers.len() != pages.len() {
            return Err(ConnectorError::Other(format!(
                "{} answers for {} pages: each page needs its own",
                answers.len(),
                pages.len()
            )));
        }
        let mut span = Span { items: Vec::new(), next: None, total: None };
        for (page, answer) in pages.into_iter().zip(answers) {
            let numbered = match answer.and_then(|response| parse(page, response)) {
                Ok(numbered) => numbered,
                Err(e) if page == self.page || crate::error::ends_the_call(&e) => return Err(e),
                // The pages before it stand, and the cursor already names
                // this one: the next read starts with it.
                Err(_) => return Ok(span),
            };
            // The PSA's count changed between this read's pages (records
            // added or removed while the listing runs): end the read before
            // this page, so Ferry sees each count with its own read and
            // marks nothing deleted from a listing that may have shifted
            // (the page is asked again by the next read).
            if page != self.page && span.total.is_some() && numbered.total.is_some() && numbered.total != span.total {
                return Ok(span);
            }
            let more = page.next(numbered.total_pages, numbered.items.len(), full_page).is_some();
            span.items.extend(numbered.items);
            span.total = numbered.total.or(span.total);
            span.next = more.then(|| Self::cursor(page.0 + 1, numbered.total_pages));
            if !more {
                break;
            }
        }
        Ok(span)
    }
}

/// A positive decimal number written as `next` writes it (no sign, no
/// leading zero).
fn canonical_number(n: &str) -> Option<u32> {
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
        return None;
    }
    n.parse().ok()
}

/// The links of an RFC 8288 `Link` header, e.g.
/// `<https://h/x?page=2>; rel="next", <https://h/x?page=9>; rel="last"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkHeader {
    pub links: Vec<(String, String)>,
}

impl LinkHeader {
    pub fn parse(value: &str) -> Self {
        let mut links = Vec::new();
        for part in split_links(value) {
            let part = part.trim();
            let Some(rest) = part.strip_prefix('<') else {
                continue;
            };
            let Some((url, params)) = rest.split_once('>') else {
                continue;
            };
            for param in params.split(';') {
                let param = param.trim();
                if let Some((k, v)) = param.split_once('=')
                    && k.trim().eq_ignore_ascii_case("rel")
                {
                    for rel in v.trim().trim_matches('"').split_ascii_whitespace() {
                        links.push((rel.to_ascii_lowercase(), url.trim().to_string()));
                    }
                }
            }
        }
        LinkHeader { links }
    }

    /// The URL with relation `rel` (e.g. "next").
    pub fn get(&self, rel: &str) -> Option<&str> {
        self.links.iter().find(|(r, _)| r == rel).map(|(_, u)| u.as_str())
    }
}

/// Split on commas that separate links (not commas inside `<...>` or quotes).
fn split_links(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in value.char_indices() {
        match c {
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            '"' => quoted = !quoted,
            ',' if depth == 0 && !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers() {
        assert_eq!(PageNumber::from_cursor(None).unwrap(), PageNumber(1));
        assert_eq!(PageNumber::from_cursor(Some("page:3")).unwrap(), PageNumber(3));
        assert!(PageNumber::from_cursor(Some("page:0")).is_err());
        assert!(PageNumber::from_cursor(Some("x")).is_err());
        assert_eq!(PageNumber(1).next(Some(2), 100, None), Some("page:2".into()));
        assert_eq!(PageNumber(2).next(Some(2), 100, None), None);
        assert_eq!(PageNumber(1).next(None, 0, None), None);
        assert_eq!(PageNumber(1).next(None, 3, None), Some("page:2".into()));
        assert_eq!(PageNumber(1).next(None, 3, Some(25)), None);
        assert_eq!(PageNumber(1).next(None, 25, Some(25)), Some("page:2".into()));
    }

    /// The host refuses a cursor that repeats, comparing strings; two
    /// spellings of one page would slip past it, so only the spelling
    /// `next` writes is a cursor.
    #[test]
    fn only_canonical_page_cursors() {
        for bad in ["page:02", "page:+2", "page: 2", "page:2 ", "page:", "page:-1", "Page:2", "page:4294967296"] {
            assert!(
                matches!(PageNumber::from_cursor(Some(bad)), Err(ConnectorError::BadResponse(_))),
                "{bad} accepted"
            );
        }
        assert_eq!(PageNumber::from_cursor(Some("page:10")).unwrap(), PageNumber(10));
        assert_eq!(PageNumber::from_cursor(Some("page:4294967295")).unwrap(), PageNumber(u32::MAX));
        // Every cursor `next` and `next_from_link` write reads back.
        let next = PageNumber(9).next(None, 1, None).unwrap();
        assert_eq!(PageNumber::from_cursor(Some(&next)).unwrap(), PageNumber(10));
        let linked = PageNumber(1).next_from_link(Some("<https://h/x?page=02>; rel=\"next\"")).unwrap();
        assert_eq!(linked, "page:2");
        assert_eq!(PageNumber::from_cursor(Some(&linked)).unwrap(), PageNumber(2));
    }

    #[test]
    fn read_ahead_cursors_are_exact_and_canonical() {
        let at = |c: Option<&str>| ReadAhead::from_cursor(c).unwrap();
        assert_eq!(at(None), ReadAhead { page: PageNumber(1), total_pages: None });
        assert_eq!(at(Some("page:3")), ReadAhead { page: PageNumber(3), total_pages: None });
        assert_eq!(at(Some("page:3/9")), ReadAhead { page: PageNumber(3), total_pages: Some(9) });
        for bad in ["page:3/", "page:3/09", "page:3/2", "page:03/9", "page:3/x", "page:/9"] {
            assert!(ReadAhead::from_cursor(Some(bad)).is_err(), "{bad} accepted");
        }
        assert_eq!(ReadAhead::cursor(4, Some(9)), "page:4/9");
        assert_eq!(ReadAhead::cursor(4, None), "page:4");
        assert_eq!(at(Some(&ReadAhead::cursor(4, Some(9)))), ReadAhead { page: PageNumber(4), total_pages: Some(9) });
        assert_eq!(at(Some("page:3/9")).pages(4), [3, 4, 5, 6].map(PageNumber));
        assert_eq!(at(Some("page:8/9")).pages(4), [8, 9].map(PageNumber));
        assert_eq!(at(Some("page:8")).pages(4), [PageNumber(8)], "one at a time until the count is known");
        // A short last read is merged into the one before it.
        assert_eq!(at(Some("page:2/50")).pages(16), (2..=17).map(PageNumber).collect::<Vec<_>>());
        assert_eq!(at(Some("page:34/50")).pages(16), (34..=50).map(PageNumber).collect::<Vec<_>>());
        assert_eq!(at(Some("page:34/58")).pages(16), (34..=49).map(PageNumber).collect::<Vec<_>>(), "9 left: a read");
        assert_eq!(at(Some("page:1/500")).pages(200).len(), MAX_READ as usize, "never over one batch");
        assert_eq!(at(Some("page:5/9")).pages(4), [5, 6, 7, 8, 9].map(PageNumber), "1 left of 4: merged");
        assert_eq!(at(Some("page:5/9")).pages(1), [PageNumber(5)], "reading one at a time stays one at a time");
        // A guess at the first read only: a resumed listing without a
        // count still goes one page at a time.
        let guess = Ahead { known: 16, first: 2 };
        assert_eq!(at(None).pages(guess), [1, 2].map(PageNumber));
        assert_eq!(at(Some("page:3")).pages(guess), [PageNumber(3)]);
        assert_eq!(at(Some("page:3/40")).pages(guess).len(), 16);
    }

    /// A listing of six numbered pages of one record each, read three
    /// ahead through the fake host.
    #[test]
    fn read_ahead_batches_the_known_pages_and_stops_exactly() {
        use crate::bindings::ferry::connector::http::Method;
        use crate::testing::{FakeHttp, Reply};
        let mut http = FakeHttp::new();
        for p in 1..=6 {
            let body = format!(r#"{{"items":[{p}],"total_pages":6}}"#);
            http = http.on(Method::Get, &format!("https://h.example/x?page={p}"), Reply::json(200, body));
        }
        let _installed = http.install();
        let read = |cursor: Option<&str>| {
            ReadAhead::from_cursor(cursor).unwrap().read(
                3,
                None,
                |p| crate::http::Request::get(format!("https://h.example/x?page={}", p.0)),
                |_, r| {
                    if !r.is_success() {
                        return Err(bad_response(format!("HTTP {}", r.status)));
                    }
                    let v: serde_json::Value = r.json("x")?;
                    let items: Vec<u64> = v["items"].as_array().unwrap().iter().filter_map(|i| i.as_u64()).collect();
                    Ok(NumberedPage { items, total_pages: v["total_pages"].as_u64(), total: Some(5) })
                },
            )
        };
        let first = read(None).unwrap();
        assert_eq!((first.items.clone(), first.next.as_deref()), (vec![1], Some("page:2/6")));
        let second = read(first.next.as_deref()).unwrap();
        assert_eq!((second.items.clone(), second.next.as_deref()), (vec![2, 3, 4], Some("page:5/6")));
        let last = read(second.next.as_deref()).unwrap();
        assert_eq!((last.items, last.next), (vec![5, 6], None));
        assert_eq!(http.batches(), vec![1, 3, 2]);
    }

    #[test]
    fn a_page_failing_after_the_first_ends_the_read_before_it() {
        use crate::bindings::ferry::connector::http::Method;
        use crate::testing::{FakeHttp, Reply};
        let page = |p: u32| Reply::json(200, format!(r#"{{"items":[{p}],"total_pages":6}}"#));
        let http = FakeHttp::new()
            .on(Method::Get, "https://h.example/x?page=2", page(2))
            .on(Method::Get, "https://h.example/x?page=3", Reply::json(500, "{}"))
            .on(Method::Get, "https://h.example/x?page=4", page(4))
            .on(Method::Get, "https://h.example/x?page=5", page(5))
            .on(Method::Get, "https://h.example/x?page=6", page(6));
        let _installed = http.install();
        let read = |cursor: &str| {
            ReadAhead::from_cursor(Some(cursor)).unwrap().read(
                3,
                None,
                |p| crate::http::Request::get(format!("https://h.example/x?page={}", p.0)),
                |p, r| {
                    if !r.is_success() {
                        return Err(bad_response(format!("page {} HTTP {}", p.0, r.status)));
                    }
                    let v: serde_json::Value = r.json("x")?;
                    let items: Vec<u64> = v["items"].as_array().unwrap().iter().filter_map(|i| i.as_u64()).collect();
                    Ok(NumberedPage { items, total_pages: v["total_pages"].as_u64(), total: None })
                },
            )
        };
        let span = read("page:2/6").unwrap();
        assert_eq!((span.items, span.next.as_deref()), (vec![2], Some("page:3/6")));
        assert!(matches!(read("page:3/6"), Err(ConnectorError::BadResponse(m)) if m.contains("page 3")));
    }

    /// A count that changes between the pages of one read ends the read
    /// before the page that gives the new count: each read reports one
    /// count, so Ferry sees the change between its reads.
    #[test]
    fn a_count_changing_within_a_read_ends_it_before_the_new_count() {
        use crate::bindings::ferry::connector::http::Method;
        use crate::testing::{FakeHttp, Reply};
        let page =
            |p: u32, total: u32| Reply::json(200, format!(r#"{{"items":[{p}],"total_pages":5,"total":{total}}}"#));
        let http = FakeHttp::new()
            .on(Method::Get, "https://h.example/x?page=2", page(2, 50))
            .on(Method::Get, "https://h.example/x?page=3", page(3, 50))
            .on(Method::Get, "https://h.example/x?page=4", page(4, 49))
            .on(Method::Get, "https://h.example/x?page=5", page(5, 49));
        let _installed = http.install();
        let span = ReadAhead::from_cursor(Some("page:2/5"))
            .unwrap()
            .read(
                4,
                None,
                |p| crate::http::Request::get(format!("https://h.example/x?page={}", p.0)),
                |_, r| {
                    let v: serde_json::Value = r.json("x")?;
                    let items: Vec<u64> = v["items"].as_array().unwrap().iter().filter_map(|i| i.as_u64()).collect();
                    Ok(NumberedPage { items, total_pages: v["total_pages"].as_u64(), total: v["total"].as_u64() })
                },
            )
            .unwrap();
        assert_eq!((span.items, span.next.as_deref(), span.total), (vec![2, 3], Some("page:4/5"), Some(50)));
    }

    /// A refusal that stops the run is not deferred to the next read (which
    /// might wait on requests that are never answered): the read fails at
    /// once, whichever page met it, and the pages before it are read again
    /// when the listing resumes.
    #[test]
    fn a_page_refused_after_the_first_fails_the_read_at_once() {
        use crate::bindings::ferry::connector::http::Method;
        use crate::testing::{FakeHttp, Reply};
        let page = |p: u32| Reply::json(200, format!(r#"{{"items":[{p}],"total_pages":6}}"#));
        let http = FakeHttp::new()
            .on(Method::Get, "https://h.example/x?page=2", page(2))
            .on(Method::Get, "https://h.example/x?page=3", page(3))
            .on(Method::Get, "https://h.example/x?page=4", Reply::json(401, "{}"))
            .on(Method::Get, "https://h.example/x?page=5", Reply::json(500, "{}"))
            .on(Method::Get, "https://h.example/x?page=6", page(6));
        // (A failure that does not end the run still waits for the next
        // read: `a_page_failing_after_the_first_ends_the_read_before_it`.)
        let _installed = http.install();
        let read = |cursor: &str| {
            ReadAhead::from_cursor(Some(cursor)).unwrap().read(
                4,
                None,
                |p| crate::http::Request::get(format!("https://h.example/x?page={}", p.0)),
                |p, r| match r.status {
                    401 => Err(ConnectorError::Unauthorized(format!("page {}", p.0))),
                    200 => {
                        let v: serde_json::Value = r.json("x")?;
                        let items = v["items"].as_array().unwrap().iter().filter_map(|i| i.as_u64()).collect();
                        Ok(NumberedPage { items, total_pages: v["total_pages"].as_u64(), total: None })
                    }
                    s => Err(bad_response(format!("page {} HTTP {s}", p.0))),
                },
            )
        };
        // Pages 2 and 3 came back, page 5 failed too: the refusal wins.
        assert!(matches!(read("page:2/6"), Err(ConnectorError::Unauthorized(m)) if m == "page 4"));
    }

    #[test]
    fn next_page_from_link() {
        let link = "<https://internal.host/v4_6_release/apis/3.0/company/companies?pageSize=1000&page=3>; rel=\"next\"";
        assert_eq!(PageNumber(2).next_from_link(Some(link)), Some("page:3".into()));
        assert_eq!(PageNumber(3).next_from_link(Some(link)), None, "never backwards or repeating");
        assert_eq!(PageNumber(1).next_from_link(Some("<https://h/x?page=2>; rel=\"last\"")), None);
        assert_eq!(PageNumber(1).next_from_link(None), None);
    }

    #[test]
    fn link_header_cw_style() {
        let h = LinkHeader::parse(
            "<https://h/v4_6_release/apis/3.0/company/companies?pageSize=50&page=2>; rel=\"next\", <https://h/v4_6_release/apis/3.0/company/companies?pageSize=50&page=4>; rel=\"last\"",
        );
        assert_eq!(h.get("next"), Some("https://h/v4_6_release/apis/3.0/company/companies?pageSize=50&page=2"));
        assert_eq!(h.get("last"), Some("https://h/v4_6_release/apis/3.0/company/companies?pageSize=50&page=4"));
        assert_eq!(h.get("prev"), None);
    }

    #[test]
    fn link_header_with_commas_in_url_and_empty() {
        let h = LinkHeader::parse("<https://h/x?conditions=id%20in%20(1,2)>; rel=\"next\"");
        assert_eq!(h.get("next"), Some("https://h/x?conditions=id%20in%20(1,2)"));
        assert_eq!(LinkHeader::parse("").links.len(), 0);
    }
}
