//! End to end with ConnectWise Manage: the bundled CW connector in the
//! sandbox against the CW simulator on loopback.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use ferry_sim::Faults;
use serde_json::Value;

fn stream<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["stream"] == name))
        .unwrap_or_else(|| panic!("no stream {name} in {report:#}"))
}

#[test]
fn add_test_sync_lists_every_kind_with_the_right_companies() {
    let world = small_world();
    let sim = cw_sim(&world);
    let ferry = Ferry::new();
    ferry.add_cw("cw", &sim);

    let companies = sim.records("companies");
    let test = ferry.json(&["integration", "test", "cw"]);
    assert_eq!(test["ok"], true, "{test:#}");
    assert_eq!(test["summary"], format!("{} companies found", companies.len()));
    assert!(test["facts"].as_array().is_some_and(|f| f.iter().any(|x| x["label"] == "version")));

    let report = ferry.json(&["sync", "cw"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    for s in ["lookups", "companies", "sites", "contacts", "assets", "agreements", "tickets"] {
        assert_eq!(stream(&report, s)["status"], "complete", "{s}");
    }
    assert_eq!(stream(&report, "assets")["fetched"], sim.records("configurations").len() as u64);

    // Each configuration sits under the company CW says it belongs to.
    // Live and archived (an inactive company's data arrives archived).
    let mut list: Vec<Value> = ferry.json(&["asset", "list"]).as_array().cloned().unwrap_or_default();
    list.extend(ferry.json(&["asset", "list", "--archived"]).as_array().cloned().unwrap_or_default());
    let live_company = |id: &Value| companies.iter().find(|c| &c["id"] == id && c["deletedFlag"] == false);
    for config in sim.records("configurations") {
        let Some(company) = live_company(&config["company"]["id"]) else { continue };
        // Device names repeat across customers (as in real MSPs): find it
        // under its company.
        let found = list
            .iter()
            .find(|a| a["name"] == config["name"] && a["company"] == company["name"])
            .unwrap_or_else(|| panic!("configuration {} not under {}", config["name"], company["name"]));
        assert_eq!(found["layout"], config["type"]["name"], "sorted by configuration type");
    }
    // Contacts, sites and agreements arrive in their layouts.
    for (layout, kind) in [("People", "contacts"), ("Locations", "sites"), ("Agreements", "agreements")] {
        let n = list.iter().filter(|a| a["layout"] == layout).count();
        let expected = sim
            .records(kind)
            .iter()
            .filter(|r| live_company(&r["company"]["id"]).is_some())
            .filter(|r| kind != "agreements" || r["agreementStatus"] == "Active")
            .count();
        assert_eq!(n, expected, "{layout}");
    }
    // Deleted CW companies are not created.
    let deleted: Vec<&Value> = companies.iter().filter(|c| c["deletedFlag"] == true).collect();
    let docs = ferry.json(&["company", "list", "--archived"]);
    for d in &deleted {
        assert!(
            !docs.as_array().expect("list").iter().any(|c| c["name"] == d["name"]),
            "{} was deleted in CW",
            d["name"]
        );
    }

    // The reference lists are there after one sync.
    let types = ferry.json(&["rules", "cw", "types"]);
    let kinds: Vec<&str> = types.as_array().expect("types").iter().filter_map(|t| t["kind"].as_str()).collect();
    for k in ["asset-type", "company-type", "company-status", "agreement-type", "ticket-status"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(
        types.as_array().expect("types").iter().any(|t| t["name"] == "Retired Type" && t["count"] == 0),
        "types with no record are listed too"
    );
}

#[test]
fn wrong_keys_fail_with_the_401_and_change_nothing() {
    let sim = cw_sim(&small_world());
    let ferry = Ferry::new();
    let o = cw_options();
    ferry
        .run(&[
            "integration",
            "add",
            "cw",
            "--plugin",
            "cw-manage",
            "--set",
            "site=cw.example.com",
            "--set",
            &format!("base_url={}", sim.base_url()),
            "--set",
            &format!("company_id={}", o.company_id),
            "--set",
            &format!("public_key={}", o.public_key),
            "--set",
            &format!("client_id={}", o.client_id),
            "--secret",
            "private_key=wrong-private-key",
        ])
        .ok();
    ferry.unpaced("cw");
    let test = ferry.run(&["integration", "test", "cw"]).code(3);
    assert!(test.stderr.contains("401") && test.stderr.contains("API Members"), "{}", test.stderr);
    let sync = ferry.run(&["sync", "cw"]).code(3);
    assert!(sync.stderr.contains("401"), "{}", sync.stderr);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), 0);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM assets"), 0);
    assert!(!sync.all().contains("wrong-private-key") && !test.all().contains("wrong-private-key"));
}

#[test]
fn missing_client_id_is_an_invalid_config_naming_the_field() {
    let sim = cw_sim(&small_world());
    let ferry = Ferry::new();
    let o = cw_options();
    let add = ferry
        .run(&[
            "integration",
            "add",
            "cw",
            "--plugin",
            "cw-manage",
            "--set",
            "site=api-na.myconnectwise.net",
            "--set",
            &format!("base_url={}", sim.base_url()),
            "--set",
            &format!("company_id={}", o.company_id),
            "--set",
            &format!("public_key={}", o.public_key),
            "--secret",
            &format!("private_key={}", o.private_key),
        ])
        .code(1);
    assert!(add.stderr.contains("client_id"), "{}", add.stderr);
    assert!(sim.requests().is_empty(), "nothing was sent");
    assert_eq!(ferry.json(&["integration", "list"]).as_array().map(Vec::len), Some(0));
}

#[test]
fn site_given_as_login_url_is_normalised() {
    let sim = cw_sim(&small_world());
    let ferry = Ferry::new();
    let o = cw_options();
    let base_url = format!("base_url={}", sim.base_url());
    let company = format!("company_id={}", o.company_id);
    let public = format!("public_key={}", o.public_key);
    let client = format!("client_id={}", o.client_id);
    let private = format!("private_key={}", o.private_key);
    let mut args = vec![
        "integration",
        "add",
        "cw",
        "--plugin",
        "cw-manage",
        "--set",
        "site=https://na.myconnectwise.net/",
        "--set",
        &base_url,
        "--set",
        &company,
        "--set",
        &public,
        "--set",
        &client,
        "--secret",
        &private,
    ];
    // The login host becomes the API host: the hosts the integration may
    // reach change, so Ferry asks for the operator's word first.
    let refused = ferry.run(&args).code(1);
    assert!(
        refused.stderr.contains("site: `https://na.myconnectwise.net/` → `api-na.myconnectwise.net`"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--accept-normalised"), "{}", refused.stderr);
    args.push("--accept-normalised");
    let add = ferry.run(&args).ok();
    assert!(add.stderr.contains("api-na.myconnectwise.net"), "{}", add.stderr);
}

#[test]
fn a_403_on_configurations_names_the_module_and_the_rest_syncs() {
    let sim = cw_sim(&small_world());
    sim.set_faults(Faults { missing_permissions: vec!["configurations".into()], ..Faults::default() });
    let ferry = Ferry::new();
    ferry.add_cw("cw", &sim);
    let run = ferry.run(&["--json", "sync", "cw"]).code(4);
    let report = run.json();
    assert_eq!(report["status"], "partial");
    let assets = stream(&report, "assets");
    assert_eq!(assets["status"], "failed");
    assert!(assets["error"].as_str().is_some_and(|e| e.contains("Companies > Configurations")), "{assets}");
    // The lookups stream reads configuration types too, so it fails the same way.
    for s in ["companies", "contacts", "sites", "agreements", "tickets"] {
        assert_eq!(stream(&report, s)["status"], "complete", "{s}");
    }
    assert!(ferry.count("SELECT COUNT(*) FROM companies") > 0);
    assert_eq!(ferry.json(&["runs", "cw"])[0]["status"], "partial");
}

#[test]
fn incremental_sync_asks_only_for_changes_and_updates_exactly_those() {
    let sim = cw_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_cw("cw", &sim);
    assert_eq!(ferry.json(&["sync", "cw"])["status"], "succeeded");
    sim.clear_requests();
    let touched = sim.touch("configurations", 3);
    assert_eq!(touched.len(), 3);

    let report = ferry.json(&["sync", "cw", "--incremental"]);
    assert_eq!(report["mode"], "incremental");
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let assets = stream(&report, "assets");
    assert_eq!(assets["fetched"], 3, "{assets}");
    assert_eq!(assets["updated"], 3);
    assert_eq!(assets["created"], 0);
    assert_eq!(report["apply"]["streams"]["assets"]["updated"], 3);

    // Every list request of an incremental stream carried the watermark.
    let config_requests: Vec<_> =
        sim.requests().into_iter().filter(|r| r.path.ends_with("/company/configurations")).collect();
    assert!(!config_requests.is_empty());
    for r in &config_requests {
        let conditions = r.param("conditions").unwrap_or_default();
        assert!(conditions.starts_with("lastUpdated > ["), "{conditions}");
    }
    // Incremental runs never mark anything deleted.
    assert!(report["streams"].as_array().expect("streams").iter().all(|s| s["deleted"] == 0));
}

#[test]
fn incremental_reads_sites_of_changed_companies_only_and_full_reads_them_all() {
    let sim = cw_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_cw("cw", &sim);
    assert_eq!(ferry.json(&["sync", "cw"])["status"], "succeeded");
    let companies = sim.records("companies").len();
    let is_sites = |r: &ferry_sim::RequestRecord| r.path.ends_with("/sites");
    sim.clear_requests();
    let changed = sim.touch("companies", 1);

    let report = ferry.json(&["sync", "cw", "--incremental"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let sites: Vec<_> = sim.requests().into_iter().filter(|r| is_sites(r)).collect();
    assert_eq!(sites.len(), 1, "one request, for the changed company: {sites:?}");
    assert!(sites[0].path.contains(&format!("/companies/{}/sites", changed[0])));

    // The operator asks for every site: a full read of that stream.
    sim.clear_requests();
    let report = ferry.json(&["sync", "cw", "--full", "--stream", "sites"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(sim.requests().into_iter().filter(|r| is_sites(r)).count(), companies);
}

/// Contract 0.4's `send-batch`: the sites of a page of companies are asked
/// for at once, so the PSA sees several requests of one `read` in flight,
/// never more than the integration's concurrency option; and the mirror and
/// documentation, after a full and an incremental sync, are what reading
/// one request at a time (concurrency 1) gives.
#[test]
fn sites_go_concurrently_within_the_concurrency_option_with_the_same_documentation() {
    let sim = cw_sim(&small_world());
    let many = Ferry::new();
    many.add_cw("cw", &sim);
    many.run(&["rules", "cw", "option", "concurrency=3"]).ok();
    let one = Ferry::new();
    one.add_cw("cw", &sim);
    one.run(&["rules", "cw", "option", "concurrency=1"]).ok();
    assert!(sim.records("companies").len() > 3, "more companies than the bound");

    // Sites alone: one request for a page of company ids, then their sites,
    // each held at the PSA until the test lets them go. A connector reading
    // them one at a time would never have two held at once.
    sim.reset_max_in_flight();
    sim.hold_after(1);
    let child = many
        .command(&["--json", "sync", "cw", "--stream", "sites"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    // Less than Ferry's HTTP timeout (30 s), after which a held request is
    // abandoned and retried, which the simulator would count twice.
    let concurrent = wait_for(Duration::from_secs(25), || sim.held() >= 2);
    sim.release();
    let out = child.wait_with_output().expect("ferry sync");
    assert!(concurrent, "never two sites requests in flight at once");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let max = sim.max_in_flight();
    assert!((2..=3).contains(&max), "{max} requests in flight at once; the option allows 3");

    // The same PSA, synced fully then incrementally by both.
    let sync = |ferry: &Ferry, mode: &str, bound: u32| {
        sim.reset_max_in_flight();
        let report = ferry.json(&["sync", "cw", mode]);
        assert_eq!(report["status"], "succeeded", "{report:#}");
        let max = sim.max_in_flight();
        assert!(max <= bound, "{max} requests in flight at once with concurrency={bound}");
    };
    sync(&one, "--full", 1);
    sync(&many, "--full", 3);
    assert_same(&many.mirror(), &one.mirror(), "mirrors after a full sync");
    assert_same(&many.documentation(), &one.documentation(), "documentation after a full sync");
    sim.touch("companies", 3);
    sync(&one, "--incremental", 1);
    sync(&many, "--incremental", 3);
    assert_same(&many.mirror(), &one.mirror(), "mirrors after an incremental sync");
    assert_same(&many.documentation(), &one.documentation(), "documentation after an incremental sync");
}
