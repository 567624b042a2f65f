//! Incremental customers: newest first, stopped at the watermark.
//!
//! Syncro has no updated-since filter on `/customers`, but it takes `sort`
//! ("a customer field to order by", e.g. `firstname ASC`). Asking for
//! `sort=updated_at DESC` and stopping at the first page that reaches back
//! past `since` reads only what changed — *if* the tenant honours that sort
//! key, which the API does not promise. So every page is checked: newest
//! first within itself and no newer than the end of the page before (the
//! cursor carries that time). A page that is not sorted means the sort was
//! ignored: the read falls back to all customers in id order, keeping only
//! those updated since, so nothing is missed either way.
//!
//! Cursors: `newest:N:MILLIS` (page N of the newest-first read; MILLIS the
//! update time of the last customer of page N-1), or the full read's
//! `page:N` (`page:N/T` once the page count is known: see
//! [`ReadAhead`]). The first page of an incremental read has no cursor.
//!
//! The newest-first read goes one page at a time, never ahead: it usually
//! ends at its first page, and each page must be verified against the one
//! before before the next is worth asking for.

use ferry_sdk::prelude::*;

/// Where a customers read stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Page `page` of the newest-first read; `after`: the update time
    /// (ms since 1970) of the last customer of the page before.
    Newest { page: u32, after: Option<i64> },
    /// Where the plain read in id order stands (full sync, or the
    /// fallback), read ahead once the page count is known.
    Full(ReadAhead),
}

const NEWEST: &str = "newest:";

impl Cursor {
    /// The cursor the host gave back; `incremental`: the host passed `since`.
    pub fn parse(cursor: Option<&str>, incremental: bool) -> Result<Cursor, ConnectorError> {
        match cursor {
            None if incremental => Ok(Cursor::Newest { page: 1, after: None }),
            Some(c) if c.starts_with(NEWEST) => {
                let bad = || bad_response(format!("cursor `{c}` is not a customers cursor"));
                let (page, after) = c[NEWEST.len()..].split_once(':').ok_or_else(bad)?;
                let page = page.parse::<u32>().ok().filter(|p| *p >= 1).ok_or_else(bad)?;
                let after = if after.is_empty() { None } else { Some(after.parse::<i64>().map_err(|_| bad())?) };
                if !incremental {
                    return Err(bad_response(format!("cursor `{c}` needs the `since` of its incremental read")));
                }
                Ok(Cursor::Newest { page, after })
            }
            other => Ok(Cursor::Full(ReadAhead::from_cursor(other)?)),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Cursor::Newest { page, after } => {
                format!("{NEWEST}{page}:{}", after.map(|a| a.to_string()).unwrap_or_default())
            }
            Cursor::Full(at) => ReadAhead::cursor(at.page.0, at.total_pages.map(u64::from)),
        }
    }
}

/// Check that a page's update times run newest first and start no newer
/// than `after`; returns the last time (or `after` for an empty page), or
/// why the page is not in order.
pub fn verify(after: Option<i64>, times: &[Option<i64>]) -> Result<Option<i64>, String> {
    let mut previous = after;
    for (i, t) in times.iter().enumerate() {
        let Some(t) = *t else {
            return Err(format!("customer {i} of the page has no readable updated_at"));
        };
        if previous.is_some_and(|p| t > p) {
            return Err(format!("customer {i} of the page is newer than the one before it"));
        }
        previous = Some(t);
    }
    Ok(previous)
}

/// Milliseconds since 1970 of an RFC 3339 time with a zone (`Z` or
/// `±HH:MM`), as Syncro writes them (`2025-09-30T09:12:44.001-05:00`).
pub fn instant(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let s = t.get(from..to)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok()).flatten()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &t[start..i.min(start + 3)];
        millis = digits.parse::<i64>().ok()? * 10_i64.pow(3 - digits.len() as u32);
    }
    let offset_minutes = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let minutes = num(i + 1, i + 3)? * 60 + num(i + 4, i + 6)?;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some((seconds - offset_minutes * 60) * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_zones_and_fractions() {
        assert_eq!(instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(instant("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(instant("2025-09-30T09:12:44.001-05:00"), instant("2025-09-30T14:12:44.001Z"));
        assert_eq!(instant("2024-02-29T12:00:00+01:00"), Some(1_709_204_400_000));
        assert_eq!(instant("2025-09-30T09:12:44.123456Z"), instant("2025-09-30T09:12:44.123Z"));
        for bad in ["", "2025-09-30", "2025-09-30T09:12:44", "2025-13-01T00:00:00Z", "2025-09-30T09:12:44.Z", "soon"] {
            assert_eq!(instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn pages_must_run_newest_first_across_pages() {
        assert_eq!(verify(None, &[Some(30), Some(30), Some(10)]), Ok(Some(10)));
        assert_eq!(verify(Some(10), &[Some(10), Some(5)]), Ok(Some(5)));
        assert_eq!(verify(Some(10), &[]), Ok(Some(10)));
        assert!(verify(None, &[Some(10), Some(30)]).is_err(), "not sorted within the page");
        assert!(verify(Some(10), &[Some(11)]).is_err(), "newer than the end of the page before");
        assert!(verify(None, &[Some(10), None]).is_err(), "no time to check");
    }

    #[test]
    fn cursors_round_trip() {
        for c in [Cursor::Newest { page: 3, after: Some(1_700_000_000_000) }, Cursor::Newest { page: 2, after: None }] {
            assert_eq!(Cursor::parse(Some(&c.text()), true).ok(), Some(c));
        }
        assert_eq!(Cursor::parse(None, true).ok(), Some(Cursor::Newest { page: 1, after: None }));
        let full =
            |page: u32, total_pages: Option<u32>| Some(Cursor::Full(ReadAhead { page: PageNumber(page), total_pages }));
        assert_eq!(Cursor::parse(None, false).ok(), full(1, None));
        assert_eq!(Cursor::parse(Some("page:4"), true).ok(), full(4, None), "the fallback");
        assert_eq!(Cursor::parse(Some("page:4/7"), false).ok(), full(4, Some(7)), "read ahead");
        assert_eq!(full(4, Some(7)).map(|c| c.text()).as_deref(), Some("page:4/7"));
        assert!(Cursor::parse(Some("newest:0:"), true).is_err());
        assert!(Cursor::parse(Some("newest:2:x"), true).is_err());
        assert!(Cursor::parse(Some("newest:2:"), false).is_err());
    }
}
