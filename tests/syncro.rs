//! End to end with Syncro: the real `ferry` binary, the bundled Syncro
//! connector in the wasmtime sandbox, the Syncro simulator on loopback, a
//! real SQLite file.

mod common;

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
fn add_test_sync_and_list() {
    let world = small_world();
    let sim = syncro_sim(&world);
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);

    let customers = sim.records("customers");
    let test = ferry.json(&["integration", "test", "acme"]);
    assert_eq!(test["ok"], true);
    assert_eq!(test["summary"], format!("{} customers found", customers.len()));

    let report = ferry.json(&["sync", "acme"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(stream(&report, "companies")["fetched"], customers.len() as u64);

    // Every Syncro customer became a company; disabled ones arrive archived.
    let companies = ferry.json(&["company", "list", "--archived"]);
    assert_eq!(companies.as_array().map(Vec::len), Some(customers.len()));
    let disabled = customers.iter().filter(|c| c["disabled"] == true).count();
    let archived = companies.as_array().map(|a| a.iter().filter(|c| !c["archived_at"].is_null()).count());
    assert_eq!(archived, Some(disabled));
    let individual = customers.iter().find(|c| c["business_name"].is_null()).expect("an individual customer");
    let person =
        format!("{} {}", individual["firstname"].as_str().unwrap_or(""), individual["lastname"].as_str().unwrap_or(""));
    assert!(
        companies.as_array().is_some_and(|a| a.iter().any(|c| c["name"] == person.as_str())),
        "individual named {person}"
    );

    // Contacts land in People, assets in a layout per Syncro asset type.
    let assets = ferry.json(&["asset", "list"]);
    let list = assets.as_array().expect("asset list");
    let people = list.iter().filter(|a| a["layout"] == "People").count();
    let devices: Vec<&Value> = list.iter().filter(|a| a["layout"] != "People").collect();
    let live_contacts_of_live_companies = sim
        .records("contacts")
        .iter()
        .filter(|c| customers.iter().any(|k| k["id"] == c["customer_id"] && k["disabled"] == false))
        .count();
    assert_eq!(people, live_contacts_of_live_companies);
    let sim_assets = sim.records("assets");
    let live_assets = sim_assets
        .iter()
        .filter(|a| customers.iter().any(|k| k["id"] == a["customer_id"] && k["disabled"] == false))
        .count();
    assert_eq!(devices.len(), live_assets);
    for a in &sim_assets {
        let name = a["name"].as_str().unwrap_or("");
        let layout = a["asset_type"].as_str().unwrap_or("");
        if let Some(found) = devices.iter().find(|d| d["name"] == name) {
            assert_eq!(found["layout"], layout, "asset {name} sorted by its Syncro type");
            assert_eq!(found["sources"][0], "acme");
        }
    }

    // Text output names what arrived.
    let text = ferry.run(&["asset", "list", "--layout", "People"]).ok();
    assert!(text.stdout.contains("People"));
    let runs = ferry.json(&["runs", "acme"]);
    assert_eq!(runs[0]["status"], "succeeded");
    assert_eq!(runs[0]["trigger"], "manual");
}

/// `runs` is a subcommand group: an integration may be called `show` (or
/// `list`) and its runs stay reachable, while `ferry runs show ID` keeps
/// showing one run.
#[test]
fn an_integration_named_show_keeps_runs_show_id_working() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    // Added by hand: `add_syncro` lifts the rate limit with `ferry rules NAME
    // option ...`, and `rules show` is that group's own subcommand. One
    // stream keeps the paced sync short.
    let settings = syncro_settings(&sim);
    let mut add = vec!["integration", "add", "show", "--plugin", "syncro"];
    add.extend(settings.iter().map(String::as_str));
    ferry.run(&add).ok();
    let other = syncro_sim(&small_world());
    ferry.add_syncro("acme", &other);
    let show_run = ferry.json(&["sync", "show", "--stream", "companies"])["run_id"].clone();
    let acme_run = ferry.json(&["sync", "acme", "--stream", "companies"])["run_id"].clone();

    let listed = ferry.json(&["runs", "list", "show"]);
    let listed = listed.as_array().expect("runs");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], show_run);
    assert_eq!(listed[0]["integration"], "show");
    assert_eq!(ferry.json(&["runs", "list", "show", "--limit", "5"]).as_array().map(Vec::len), Some(1));

    let one = ferry.json(&["runs", "show", &acme_run.to_string()]);
    assert_eq!(one["id"], acme_run);
    assert_eq!(one["integration"], "acme");
    let text = ferry.run(&["runs", "show", &show_run.to_string()]).ok();
    assert!(text.stdout.contains("show") && text.stdout.contains("companies"), "{}", text.stdout);

    // The documented forms: all runs, one integration's, with a limit.
    assert_eq!(ferry.json(&["runs"]).as_array().map(Vec::len), Some(2));
    assert_eq!(ferry.json(&["runs", "acme", "--limit", "5"])[0]["id"], acme_run);
    assert_eq!(ferry.json(&["runs", "list"]).as_array().map(Vec::len), Some(2));
    // `runs show` wants the run's id, and says so.
    let r = ferry.run(&["runs", "show"]).code(2);
    assert!(r.stderr.contains("<ID>"), "{}", r.stderr);
}

#[test]
fn second_sync_reports_everything_unchanged_and_writes_nothing() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    let before = ferry.docs_fingerprint();

    let report = ferry.json(&["sync", "acme"]);
    assert_eq!(report["status"], "succeeded");
    for s in report["streams"].as_array().expect("streams") {
        assert_eq!(s["created"], 0, "{s}");
        assert_eq!(s["updated"], 0, "{s}");
        assert_eq!(s["unchanged"], s["fetched"], "{s}");
    }
    for (_, c) in report["apply"]["streams"].as_object().expect("apply streams") {
        assert_eq!(c["created"], 0);
        assert_eq!(c["updated"], 0);
        assert_eq!(c["archived"], 0);
    }
    assert_eq!(ferry.docs_fingerprint(), before, "a re-sync of unchanged data writes nothing to the documentation");
}

#[test]
fn wrong_token_fails_clearly_and_changes_nothing() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry
        .run(&[
            "integration",
            "add",
            "acme",
            "--plugin",
            "syncro",
            "--set",
            "subdomain=sim",
            "--set",
            &format!("base_url={}", sim.api_url()),
            "--secret",
            "api_key=not-the-token",
        ])
        .ok();
    ferry.unpaced("acme");
    let before = ferry.docs_fingerprint();

    let test = ferry.run(&["integration", "test", "acme"]).code(3);
    assert!(test.stderr.contains("401"), "{}", test.stderr);
    assert!(test.stderr.contains("API Tokens"), "names where to make a new token: {}", test.stderr);
    assert!(test.stderr.contains("hint:"), "{}", test.stderr);

    let sync = ferry.run(&["sync", "acme"]).code(3);
    assert!(sync.stderr.contains("401"), "{}", sync.stderr);
    assert_eq!(ferry.docs_fingerprint(), before, "documentation untouched");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), 0);
    let runs = ferry.json(&["runs", "acme"]);
    assert_eq!(runs[0]["status"], "failed");
    assert!(runs[0]["error"].as_str().is_some_and(|e| e.contains("401")));
    assert!(!sync.all().contains("not-the-token"), "the secret is never printed");
}

#[test]
fn subdomain_given_as_url_is_normalised() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    let add = ferry
        .run(&[
            "integration",
            "add",
            "acme",
            "--plugin",
            "syncro",
            "--set",
            "subdomain=https://acme.syncromsp.com/",
            "--set",
            &format!("base_url={}", sim.api_url()),
            "--secret",
            &format!("api_key={SYNCRO_TOKEN}"),
        ])
        .ok();
    assert!(add.stderr.contains("normalised to `acme`"), "tells the user: {}", add.stderr);
    let shown = ferry.json(&["integration", "show", "acme"]);
    let subdomain =
        shown["config"].as_array().and_then(|c| c.iter().find(|v| v["key"] == "subdomain")).expect("subdomain");
    assert_eq!(subdomain["value"], "acme");
    ferry.unpaced("acme");
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");

    let bad = ferry.run(&[
        "integration",
        "add",
        "other",
        "--plugin",
        "syncro",
        "--set",
        "subdomain=acme.example.com",
        "--secret",
        "api_key=x",
    ]);
    let bad = bad.code(1);
    assert!(bad.stderr.contains("subdomain"), "{}", bad.stderr);
    assert!(ferry.json(&["integration", "list"]).as_array().is_some_and(|l| l.len() == 1));
}

#[test]
fn plugin_install_refuses_what_is_not_a_connector() {
    let ferry = Ferry::new();
    let dir = ferry.dir.path();
    let cases: [(&str, &[u8], &str); 4] = [
        ("garbage.wasm", b"#!/bin/sh\necho not wasm\n", "not WebAssembly"),
        ("module.wasm", b"\0asm\x01\0\0\0", "plain WebAssembly module"),
        ("empty-component.wasm", b"\0asm\x0d\0\x01\0", "not a Ferry connector"),
        ("empty.wasm", b"", "empty"),
    ];
    for (name, bytes, reason) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        let run = ferry.run(&["plugin", "install", path.to_str().unwrap_or_default()]).code(1);
        assert!(run.stderr.contains(reason), "{name}: {}", run.stderr);
        assert!(run.stderr.contains("hint:"), "{name}: {}", run.stderr);
    }
    let missing = ferry.run(&["plugin", "install", "/nonexistent/x.wasm"]).code(1);
    assert!(missing.stderr.contains("cannot read"));
    let plugins = ferry.json(&["plugin", "list"]);
    assert_eq!(plugins.as_array().map(|p| p.iter().filter(|x| x["origin"] == "installed").count()), Some(0));
}

#[test]
fn connector_cannot_reach_hosts_outside_its_allowlist() {
    let world = small_world();
    let allowed = syncro_sim(&world);
    let forbidden = syncro_sim(&world);
    let ferry = Ferry::new();
    ferry.run(&["plugin", "install", artifact("ferry_test_probe").to_str().unwrap_or_default()]).ok();
    ferry
        .run(&[
            "integration",
            "add",
            "probe",
            "--plugin",
            "probe",
            "--set",
            "mode=outside",
            "--set",
            &format!("base_url={}", allowed.base_url()),
            "--set",
            &format!("target={}/api/v1/customers", forbidden.base_url()),
        ])
        .ok();
    let test = ferry.run(&["integration", "test", "probe"]).code(3);
    assert!(test.stderr.contains("not among the connector's allowed hosts"), "{}", test.stderr);
    // Only its companies: the probe's (empty) extra stream would complete
    // and make the run partial.
    let sync = ferry.run(&["--json", "sync", "probe", "--stream", "companies"]).code(3);
    let report = sync.json();
    assert!(report["error"].as_str().is_some_and(|e| e.contains("allowed hosts")), "{report:#}");
    assert!(forbidden.requests().is_empty(), "the forbidden host saw no request: {:?}", forbidden.requests());
    assert_eq!(report["http"]["refused"], 1);
}

#[test]
fn the_built_component_installs_and_syncs_the_same_data() {
    let world = small_world();
    let sim = syncro_sim(&world);
    let bundled = Ferry::new();
    bundled.add_syncro("acme", &sim);
    bundled.json(&["sync", "acme"]);

    let installed = Ferry::new();
    let path = artifact("ferry_syncro");
    let out = installed.json(&["plugin", "install", path.to_str().unwrap_or_default()]);
    assert_eq!(out["id"], "syncro");
    assert_eq!(out["origin"], "installed");
    let inspect = installed.json(&["plugin", "inspect", "syncro"]);
    assert_eq!(inspect["contract"], "0.4.0");
    assert_eq!(inspect["info"]["allowed_hosts"][0], "https://{subdomain}.syncromsp.com");
    installed.add_syncro("acme", &sim);
    installed.json(&["sync", "acme"]);

    let names = |f: &Ferry| {
        let mut v: Vec<String> = f
            .json(&["asset", "list"])
            .as_array()
            .map(|a| a.iter().map(|x| format!("{}/{}/{}", x["company"], x["layout"], x["name"])).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    assert_eq!(names(&bundled), names(&installed));
    assert!(!names(&installed).is_empty());
}

#[test]
fn missing_permission_names_it_and_the_rest_still_syncs() {
    let sim = syncro_sim(&small_world());
    sim.set_faults(Faults { missing_permissions: vec!["assets".into()], ..Faults::default() });
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    let run = ferry.run(&["--json", "sync", "acme"]).code(4);
    let report = run.json();
    assert_eq!(report["status"], "partial");
    let assets = stream(&report, "assets");
    assert_eq!(assets["status"], "failed");
    assert!(assets["error"].as_str().is_some_and(|e| e.contains("Assets - List/Search")), "{assets}");
    assert_eq!(stream(&report, "companies")["status"], "complete");
    assert!(run.stderr.contains("partial"), "{}", run.stderr);
    assert!(ferry.count("SELECT COUNT(*) FROM companies") > 0, "what was allowed arrived");
}

/// A Syncro simulator with 3 customers a page, a full sync done, then the
/// customer with the highest id renamed (so it is on the last page in id
/// order and first newest-first). Returns its id.
fn synced_then_last_customer_renamed(ferry: &Ferry) -> (Sim, String) {
    let sim = syncro_sim_with(
        &small_world(),
        ferry_sim::syncro::SyncroOptions { customers_per_page: 3, ..ferry_sim::syncro::SyncroOptions::default() },
    );
    ferry.add_syncro("acme", &sim);
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");
    let last = sim.records("customers").iter().filter_map(|c| c["id"].as_u64()).max().expect("customers");
    assert!(sim.rename("customers", &last.to_string(), "Renamed In Syncro"));
    sim.clear_requests();
    (sim, last.to_string())
}

#[test]
fn incremental_reads_customers_newest_first_and_stops_at_the_watermark() {
    let ferry = Ferry::new();
    let (sim, renamed) = synced_then_last_customer_renamed(&ferry);
    let pages = sim.records("customers").len().div_ceil(3);
    assert!(pages >= 3, "the listing spans pages");

    let report = ferry.json(&["sync", "acme", "--incremental"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let customers: Vec<_> = sim.requests().into_iter().filter(|r| r.path.ends_with("/customers")).collect();
    assert_eq!(customers.len(), 1, "one page newest first reaches back past the watermark: {customers:?}");
    assert_eq!(customers[0].param("sort").as_deref(), Some("updated_at DESC"));
    let companies = stream(&report, "companies");
    assert_eq!((companies["fetched"].as_u64(), companies["updated"].as_u64()), (Some(1), Some(1)), "{companies}");
    assert_eq!(
        ferry.count(&format!(
            "SELECT COUNT(*) FROM mirror WHERE external_id = '{renamed}' AND data LIKE '%Renamed In Syncro%'"
        )),
        1
    );
    // A full sync still reads every page, in id order, without the sort.
    sim.clear_requests();
    assert_eq!(ferry.json(&["sync", "acme", "--force"])["status"], "succeeded");
    let full: Vec<_> = sim.requests().into_iter().filter(|r| r.path.ends_with("/customers")).collect();
    assert_eq!(full.len(), pages);
    assert!(full.iter().all(|r| r.param("sort").is_none()));
}

#[test]
fn a_tenant_ignoring_the_sort_falls_back_to_reading_every_customer() {
    let ferry = Ferry::new();
    let (sim, renamed) = synced_then_last_customer_renamed(&ferry);
    let pages = sim.records("customers").len().div_ceil(3);
    sim.set_faults(Faults { ignore_sort: true, ..Faults::default() });

    let run = ferry.run(&["--json", "sync", "acme", "--incremental"]).ok();
    let report = run.json();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let customers: Vec<_> = sim.requests().into_iter().filter(|r| r.path.ends_with("/customers")).collect();
    assert_eq!(customers.len(), 1 + pages, "the unsorted first page, then every page: {customers:?}");
    assert!(customers[1..].iter().all(|r| r.param("sort").is_none()));
    let companies = stream(&report, "companies");
    assert_eq!(companies["updated"], 1, "the change on the last page is found: {companies}");
    assert_eq!(
        ferry.count(&format!(
            "SELECT COUNT(*) FROM mirror WHERE external_id = '{renamed}' AND data LIKE '%Renamed In Syncro%'"
        )),
        1
    );
}

/// Console attack F3: pointing an integration at another address must not
/// carry its stored secrets there, and an `env:` reference may never name
/// one of Ferry's own settings (`FERRY_SECRET_KEY` unseals every secret).
#[test]
fn stored_secrets_never_follow_a_changed_address() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    let mut add = vec!["integration".to_string(), "add".into(), "acme".into(), "--plugin".into(), "syncro".into()];
    add.extend(syncro_settings(&sim));
    ferry.run(&add.iter().map(String::as_str).collect::<Vec<_>>()).ok();

    // Another base URL without the secret: refused, nothing changed.
    let moved = ferry.run(&["integration", "set", "acme", "base_url=http://127.0.0.1:9"]);
    assert_ne!(moved.code, 0, "{}", moved.stdout);
    assert!(moved.stderr.contains("api_key") && moved.stderr.contains("--secret"), "{}", moved.stderr);
    let shown = ferry.json(&["integration", "show", "acme"]);
    assert!(!shown.to_string().contains("127.0.0.1:9"), "the address is unchanged: {shown:#}");

    // Given again in the same command, the move is the operator's own.
    ferry
        .run(&[
            "integration",
            "set",
            "acme",
            "base_url=http://127.0.0.1:9",
            "--secret",
            &format!("api_key={SYNCRO_TOKEN}"),
        ])
        .ok();
    assert!(ferry.json(&["integration", "show", "acme"]).to_string().contains("127.0.0.1:9"));
    // A change that keeps the address needs no secret.
    ferry.run(&["integration", "set", "acme", "base_url=http://127.0.0.1:9/"]).ok();

    for own in ["env:FERRY_SECRET_KEY", "env:ferry_db"] {
        let refused = ferry.run(&["integration", "set", "acme", "--secret", &format!("api_key={own}")]);
        assert_ne!(refused.code, 0, "{own}");
        assert!(refused.stderr.contains("Ferry's own settings"), "{own}: {}", refused.stderr);
    }
}
