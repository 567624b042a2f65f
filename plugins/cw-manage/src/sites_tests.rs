//! The `sites` listing read as Ferry reads it (page after page through the
//! cursor), with `FakeHttp` as CW: each page is one batch holding the next
//! page's company ids, the cursor carries them, and no answer of the PSA
//! can make the listing go back or skip a company.

use ferry_sdk::connector;
use ferry_sdk::testing::{FakeHttp, Reply};

use super::*;
use crate::CwManage;

use crate::test_config::{config, route};

const IDS: &str = "/company/companies?fields=id";

fn ids_json(ids: impl IntoIterator<Item = u64>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|id| format!(r#"{{"id":{id}}}"#)).collect();
    format!("[{}]", ids.join(","))
}

/// CW with companies `1..=n`, one site each; the ids pages answer in
/// order of asking, as CW would for `id > last`.
fn cw(n: u64) -> FakeHttp {
    let per_page = SITES_PER_PAGE as u64;
    let mut http = FakeHttp::new();
    let mut from = 1;
    loop {
        let to = (from + per_page - 1).min(n);
        http = http.on(Method::Get, &route(IDS), Reply::json(200, ids_json(from..=to)));
        if to == n {
            break;
        }
        from = to + 1;
    }
    // The request past the last full page finds nothing.
    http = http.on(Method::Get, &route(IDS), Reply::json(200, "[]"));
    for id in 1..=n {
        let site = format!(r#"[{{"id":{},"name":"Site of {id}"}}]"#, 10_000 + id);
        http = http.on(Method::Get, &route(&format!("/company/companies/{id}/sites")), Reply::json(200, site));
    }
    http
}

/// Read the whole listing; the site ids of each page and the cursors.
fn list(http: &FakeHttp) -> Result<(Vec<Vec<String>>, Vec<String>), ConnectorError> {
    let _installed = http.install();
    let (mut pages, mut cursors) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    loop {
        let page = connector::read::<CwManage>(config(), StreamKind::Sites, cursor.clone(), None)?;
        let Records::Sites(sites) = page.records else { panic!("not sites") };
        pages.push(sites.into_iter().map(|s| s.id).collect());
        match page.next {
            Some(next) => {
                cursors.push(next.clone());
                cursor = Some(next);
            }
            None => return Ok((pages, cursors)),
        }
        assert!(pages.len() < 100, "the listing never ended");
    }
}

#[test]
fn each_page_is_one_batch_that_also_asks_for_the_next_pages_companies() {
    let http = cw(130);
    let (pages, cursors) = list(&http).expect("listing");
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [63, 63, 4]);
    let all: Vec<String> = pages.concat();
    let want: Vec<String> = (1..=130).map(|id| (10_000 + id).to_string()).collect();
    assert_eq!(all, want, "every company's sites once, in company order");
    // Ids alone only for the first page; then each page's batch carries
    // the next page's ids (63 sites + 1), the last page has nothing after it.
    assert_eq!(http.batches(), [64, 64, 4]);
    assert_eq!(http.count(Method::Get, &route(IDS)), 3);
    let want_cursor =
        |from: u64, to: u64| format!("ids:{}", (from..=to).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    assert_eq!(cursors, [want_cursor(64, 126), want_cursor(127, 130)]);
}

#[test]
fn a_full_last_page_ends_on_an_empty_next_page() {
    let http = cw(126);
    let (pages, _) = list(&http).expect("listing");
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [63, 63]);
    assert_eq!(http.batches(), [64, 64]);
}

#[test]
fn a_resumed_listing_reads_from_its_cursor_exactly() {
    let http = cw(130);
    let (_, cursors) = list(&http).expect("listing");
    // Resume from the second cursor: only the last four companies.
    let http = cw(130);
    let _installed = http.install();
    let page = connector::read::<CwManage>(config(), StreamKind::Sites, Some(cursors[1].clone()), None).unwrap();
    let Records::Sites(sites) = page.records else { panic!("not sites") };
    assert_eq!(sites.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["10127", "10128", "10129", "10130"]);
    assert_eq!(page.next, None);
    assert_eq!(http.count(Method::Get, &route(IDS)), 0, "the cursor carried the ids");
}

#[test]
fn ids_a_psa_sends_out_of_order_or_again_never_move_the_listing_back_or_repeat() {
    // The next page's answer repeats ids of this page and goes backwards.
    let http = FakeHttp::new().on(Method::Get, &route(IDS), Reply::json(200, ids_json(1..=63))).on(
        Method::Get,
        &route(IDS),
        Reply::json(200, ids_json([5, 63, 70, 64, 71, 71, 2])),
    );
    let mut http = http;
    for id in 1..=71 {
        http = http.on(Method::Get, &route(&format!("/company/companies/{id}/sites")), Reply::json(200, "[]"));
    }
    let _installed = http.install();
    let page = connector::read::<CwManage>(config(), StreamKind::Sites, None, None).unwrap();
    assert_eq!(page.next.as_deref(), Some("ids:64,70,71"), "above the page's last, ascending, once each");
}

#[test]
fn a_failed_request_for_the_next_ids_asks_again_and_a_refusal_ends_the_read() {
    let pages = |next: Reply| {
        let mut http = FakeHttp::new().on(Method::Get, &route(IDS), Reply::json(200, ids_json(1..=63))).on(
            Method::Get,
            &route(IDS),
            next,
        );
        for id in 1..=63 {
            http = http.on(Method::Get, &route(&format!("/company/companies/{id}/sites")), Reply::json(200, "[]"));
        }
        http
    };
    let http = pages(Reply::json(500, r#"{"code":"x","message":"busy"}"#));
    let _installed = http.install();
    let page = connector::read::<CwManage>(config(), StreamKind::Sites, None, None).unwrap();
    assert_eq!(page.next.as_deref(), Some("after:63"), "the next read asks for the ids again");
    drop(_installed);

    let http = pages(Reply::json(401, r#"{"code":"Unauthorized","message":"Authentication failed."}"#));
    let _installed = http.install();
    let read = connector::read::<CwManage>(config(), StreamKind::Sites, None, None);
    assert!(matches!(read, Err(ConnectorError::Unauthorized(_))), "{read:?}");
}

#[test]
fn sites_cursors_have_one_spelling() {
    let ok = |c: &str| SitesCursor::parse(Some(c)).map(|p| p.render());
    assert_eq!(ok("after:0").unwrap(), "after:0");
    assert_eq!(ok("after:12").unwrap(), "after:12");
    assert_eq!(ok("ids:3,7,12").unwrap(), "ids:3,7,12");
    assert_eq!(SitesCursor::parse(None).unwrap(), SitesCursor::After(0));
    let too_many = format!("ids:{}", (1..=64).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    for bad in
        ["after:", "after:012", "after:-1", "ids:", "ids:3,3", "ids:7,3", "ids:03", "ids:1,,2", "page:2", &too_many]
    {
        assert!(SitesCursor::parse(Some(bad)).is_err(), "{bad} accepted");
    }
}

/// A 404 on a company's sites means "no sites" only if the company is gone
/// too; if it still exists, the page fails (a succeeded listing would mark
/// its sites deleted and, with auto-archive, archive them).
#[test]
fn sites_answering_404_fail_the_page_unless_the_company_is_gone() {
    let listing = |company: Reply| {
        FakeHttp::new()
            .on(Method::Get, &route(IDS), Reply::json(200, ids_json([5, 6])))
            .on(Method::Get, &route("/company/companies/5/sites"), Reply::json(200, r#"[{"id": 50, "name": "Main"}]"#))
            .on(Method::Get, &route("/company/companies/6/sites"), Reply::json(404, r#"{"message":"not found"}"#))
            .on(Method::Get, &route("/company/companies/6"), company)
    };
    let http = listing(Reply::json(200, r#"{"id": 6}"#));
    let installed = http.install();
    let read = connector::read::<CwManage>(config(), StreamKind::Sites, None, None);
    assert!(
        matches!(&read, Err(ConnectorError::NotFound(m)) if m.contains("company 6") && m.contains("exists")),
        "{read:?}"
    );
    drop(installed);

    let http = listing(Reply::json(404, r#"{"message":"not found"}"#));
    let _installed = http.install();
    let page =
        connector::read::<CwManage>(config(), StreamKind::Sites, None, None).expect("a deleted company has no sites");
    let Records::Sites(sites) = page.records else { panic!("not sites") };
    assert_eq!(sites.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["50"]);
}
