//! Cursor helpers for the two paging styles PSAs use: numbered pages
//! (Syncro's `page=N` with `meta.total_pages`) and RFC 8288 `Link` headers
//! (ConnectWise's `rel="next"`). Cursors are opaque to the host but must
//! never repeat, which these helpers guarantee by only moving forward.

use crate::bindings::ferry::connector::types::ConnectorError;
use crate::error::bad_response;

/// A 1-based page number carried in the cursor as `page:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber(pub u32);

impl PageNumber {
    const PREFIX: &'static str = "page:";

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
