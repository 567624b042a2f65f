//! Golden files: a connector's mapped output pinned as text in its
//! `testdata/`, so that any change of mapping shows as a diff to
//! understand before it ships (stored content hashes depend on every label,
//! order and value).
//!
//! ```ignore
//! use ferry_sdk::testing::golden::{Sections, assert_pinned, show};
//!
//! let mut out = Sections::new();
//! out.add("companies", show(&read_companies()));
//! assert_pinned(&out.into_text(), concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/golden.txt"),
//!     include_str!("../testdata/golden.txt"));
//! ```
//!
//! `FERRY_GOLDEN_WRITE=1 cargo test -p <connector> golden` rewrites the files.

use std::fmt::Write as _;

use crate::bindings::ferry::connector::types::{ConnectorError, Page, Records};

/// A golden file's text: titled sections, one per case.
#[derive(Debug, Default)]
pub struct Sections(String);

impl Sections {
    pub fn new() -> Sections {
        Sections::default()
    }

    /// Append a section `=== title` followed by `text`.
    pub fn add(&mut self, title: &str, text: impl AsRef<str>) {
        let _ = writeln!(self.0, "=== {title}\n{}", text.as_ref());
    }

    pub fn into_text(self) -> String {
        self.0
    }
}

/// A page (its cursor, total and records) or an error, as golden text.
pub fn show(result: Result<Page, ConnectorError>) -> String {
    match result {
        Ok(page) => format!("next: {:?}, total: {:?}\n{:#?}", page.next, page.total, page.records),
        Err(e) => format!("error: {e:?}"),
    }
}

/// The id of each record of a page, in order.
pub fn record_ids(page: &Page) -> Vec<String> {
    match &page.records {
        Records::Companies(r) => r.iter().map(|x| x.id.clone()).collect(),
        Records::Contacts(r) => r.iter().map(|x| x.id.clone()).collect(),
        Records::Assets(r) => r.iter().map(|x| x.id.clone()).collect(),
        Records::Sites(r) => r.iter().map(|x| x.id.clone()).collect(),
        Records::Agreements(r) => r.iter().map(|x| x.id.clone()).collect(),
        Records::Tickets(r) => r.iter().map(|x| x.id.clone()).collect(),
        Records::Lookups(r) => r.iter().map(|x| x.id.clone()).collect(),
        Records::Items(r) => r.iter().map(|x| x.id.clone()).collect(),
    }
}

/// Panics, naming the first differing line, unless `actual` equals the
/// pinned `expected` (the file at `path`, usually by `include_str!`). Under
/// `FERRY_GOLDEN_WRITE` it writes `actual` to `path` instead.
pub fn assert_pinned(actual: &str, path: &str, expected: &str) {
    if std::env::var_os("FERRY_GOLDEN_WRITE").is_some() {
        if let Err(e) = std::fs::write(path, actual) {
            panic!("cannot write the golden file {path}: {e}");
        }
        return;
    }
    if actual != expected {
        let line = actual.lines().zip(expected.lines()).position(|(a, e)| a != e);
        let at = line.unwrap_or(actual.lines().count().min(expected.lines().count()));
        panic!(
            "the mapping changed at line {} of {path}:\n  expected: {:?}\n  actual:   {:?}",
            at + 1,
            expected.lines().nth(at),
            actual.lines().nth(at)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::ferry::connector::types::Lookup;
    use crate::bindings::ferry::connector::types::LookupKind;

    #[test]
    fn sections_and_ids_read_as_pinned() {
        let page = Page {
            records: Records::Lookups(vec![Lookup {
                kind: LookupKind::TicketStatus,
                id: "7".into(),
                name: "New".into(),
                active: true,
                closed: false,
            }]),
            next: None,
            total: Some(1),
        };
        assert_eq!(record_ids(&page), vec!["7".to_string()]);
        let mut out = Sections::new();
        out.add("one", "a");
        out.add("two", show(Err(ConnectorError::Unauthorized("no".into()))));
        let text = out.into_text();
        assert_eq!(text, "=== one\na\n=== two\nerror: ConnectorError::Unauthorized(\"no\")\n");
        assert_pinned(&text, "unused", &text);
        let differs = std::panic::catch_unwind(|| assert_pinned("=== one\nb\n", "golden.txt", "=== one\na\n"));
        let message = differs.err().and_then(|e| e.downcast_ref::<String>().cloned()).unwrap_or_default();
        assert!(message.contains("line 2 of golden.txt"), "{message}");
    }
}
