//! The documentation side, end to end: company matching, sort rules, skip
//! and additional options, cards and operator fields, archiving, and
//! re-applying without the network.

mod common;

use common::*;
use ferry_sim::Faults;
use ferry_sim::syncro::SyncroOptions;
use serde_json::Value;

fn synced_syncro() -> (Sim, Ferry) {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");
    (sim, ferry)
}

fn find<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    list.iter().find(|a| a["name"] == name)
}

#[test]
fn by_type_rule_beats_primary_and_apply_moves_assets_without_the_network() {
    let (sim, ferry) = synced_syncro();
    ferry.run(&["layout", "add", "Computers"]).ok();
    ferry.run(&["layout", "add", "Network Gear"]).ok();
    ferry.run(&["rules", "acme", "primary", "Computers"]).ok();
    ferry.run(&["rules", "acme", "add", "--when-type", "Firewall", "--layout", "Network Gear"]).ok();
    sim.clear_requests();
    let applied = ferry.json(&["apply", "acme"]);
    assert!(applied["streams"]["assets"]["updated"].as_u64().unwrap_or(0) > 0, "{applied:#}");
    assert!(sim.requests().is_empty(), "apply made requests: {:?}", sim.requests());

    let (live, _) = ferry.assets();
    let psa_assets = sim.records("assets");
    let mut checked = 0;
    for a in live.iter().filter(|a| a["layout"] != "People") {
        let psa = psa_assets.iter().find(|p| p["name"] == a["name"]).expect("psa asset");
        let want = if psa["asset_type"] == "Firewall" { "Network Gear" } else { "Computers" };
        assert_eq!(a["layout"], want, "{}", a["name"]);
        checked += 1;
    }
    assert!(checked > 0);
    assert!(psa_assets.iter().any(|p| p["asset_type"] == "Firewall"), "the world has firewalls");

    // Removing the by-type rule moves firewalls to the primary location.
    let shown = ferry.json(&["rules", "acme", "show"]);
    assert_eq!(shown["rules"][0]["when_type"], "Firewall");
    ferry.run(&["rules", "acme", "remove", "1", "--apply"]).ok();
    let (live, _) = ferry.assets();
    assert!(live.iter().filter(|a| a["layout"] != "People").all(|a| a["layout"] == "Computers"));
    assert!(sim.requests().is_empty());

    // Re-applying unchanged rules writes nothing.
    let before = ferry.docs_fingerprint();
    ferry.json(&["apply", "acme"]);
    assert_eq!(ferry.docs_fingerprint(), before);
}

#[test]
fn only_active_existing_layouts_can_be_chosen() {
    let (_sim, ferry) = synced_syncro();
    let missing = ferry.run(&["rules", "acme", "primary", "Nowhere"]).code(1);
    assert!(missing.stderr.contains("layout add"), "{}", missing.stderr);
    ferry.run(&["layout", "add", "Old Stuff"]).ok();
    ferry.run(&["layout", "set", "Old Stuff", "--active", "false"]).ok();
    let inactive = ferry.run(&["rules", "acme", "add", "--when-type", "Printer", "--layout", "Old Stuff"]).code(1);
    assert!(inactive.stderr.contains("inactive"), "{}", inactive.stderr);
    let layouts = ferry.json(&["layout", "list"]);
    assert!(layouts.as_array().expect("layouts").iter().any(|l| l["name"] == "Old Stuff" && l["active"] == false));
}

#[test]
fn contacts_go_to_the_chosen_layout() {
    let (_sim, ferry) = synced_syncro();
    ferry.run(&["layout", "add", "Staff"]).ok();
    ferry.run(&["rules", "acme", "contacts", "Staff", "--apply"]).ok();
    let (live, _) = ferry.assets();
    assert!(live.iter().any(|a| a["layout"] == "Staff"));
    assert!(!live.iter().any(|a| a["layout"] == "People"));
}

#[test]
fn operator_fields_survive_resync_while_the_card_is_overwritten() {
    let (sim, ferry) = synced_syncro();
    let (live, _) = ferry.assets();
    let first_psa = &sim.records("assets")[0];
    let asset = find(&live, first_psa["name"].as_str().expect("name")).expect("asset").clone();
    let id = asset["id"].to_string();
    ferry.run(&["asset", "set", &id, "Rack position", "R2-U14"]).ok();
    sim.touch("assets", 1);
    let report = ferry.json(&["sync", "acme"]);
    assert_eq!(report["streams"][3]["updated"], 1, "{report:#}");
    let shown = ferry.json(&["asset", "show", &id]);
    assert_eq!(shown["fields"][0]["label"], "Rack position");
    assert_eq!(shown["fields"][0]["value"], "R2-U14");
    let card = &shown["cards"][0];
    assert!(
        card["fields"].as_array().expect("fields").iter().any(|f| f["label"] == "PSA revision"),
        "card overwritten: {card:#}"
    );
}

#[test]
fn renamed_psa_asset_keeps_its_name_unless_auto_update_names() {
    let (sim, ferry) = synced_syncro();
    let psa = sim.records("assets")[0].clone();
    let old = psa["name"].as_str().expect("name").to_string();
    assert!(sim.rename("assets", &psa["id"].to_string(), "RENAMED-PC-99"));
    ferry.json(&["sync", "acme"]);
    let (live, _) = ferry.assets();
    let asset = live.iter().find(|a| a["name"] == old.as_str()).expect("still under its old name").clone();
    let shown = ferry.json(&["asset", "show", &asset["id"].to_string()]);
    assert_eq!(shown["cards"][0]["title"], "RENAMED-PC-99", "the PSA card shows the new name");

    ferry.run(&["rules", "acme", "option", "auto-update-names"]).ok();
    sim.clear_requests();
    ferry.json(&["apply", "acme"]);
    assert!(sim.requests().is_empty());
    let (live, _) = ferry.assets();
    assert!(find(&live, "RENAMED-PC-99").is_some());
    assert!(find(&live, &old).is_none() || live.iter().filter(|a| a["name"] == old.as_str()).count() < 2);
}

#[test]
fn deleted_devices_are_archived_only_with_auto_archive_and_after_a_complete_listing() {
    let world = small_world();
    let sim = syncro_sim_with(&world, SyncroOptions { assets_per_page: 5, ..SyncroOptions::default() });
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    // The token dies after a count of requests, below: one stream at a time
    // makes that count land mid-assets.
    ferry.run(&["rules", "acme", "option", "concurrency=1"]).ok();
    ferry.json(&["sync", "acme"]);
    let psa = sim.records("assets");
    let (gone, gone_later) = (psa[0].clone(), psa[1].clone());
    let name = |v: &Value| v["name"].as_str().expect("name").to_string();
    let live_named = |ferry: &Ferry, n: &str| ferry.assets().0.iter().any(|a| a["name"] == n);

    // Off: a device deleted in the PSA stays as it is.
    assert!(sim.remove("assets", &gone["id"].to_string()));
    sim.clear_requests();
    let report = ferry.json(&["sync", "acme"]);
    // Where the token must die below: at the assets' second read (page 3
    // on; the first read asks for pages 1 and 2).
    let second_assets_read = sim
        .requests()
        .iter()
        .position(|r| r.path.ends_with("/customer_assets") && r.query.as_deref() == Some("page=3"))
        .expect("assets take more than one read") as u32;
    assert_eq!(report["streams"][3]["deleted"], 1, "the mirror knows it is gone: {report:#}");
    assert!(live_named(&ferry, &name(&gone)), "not archived without auto-archive");

    // On: archived (kept, in the archive), without any request.
    ferry.run(&["rules", "acme", "option", "auto-archive"]).ok();
    sim.clear_requests();
    ferry.json(&["apply", "acme"]);
    assert!(sim.requests().is_empty());
    assert!(!live_named(&ferry, &name(&gone)));
    assert!(ferry.assets().1.iter().any(|a| a["name"] == name(&gone).as_str()), "archived, not deleted");

    // An interrupted listing proves nothing: the token dies mid-assets.
    assert!(sim.remove("assets", &gone_later["id"].to_string()));
    let before = ferry.docs_fingerprint();
    sim.set_faults(Faults { revoke_token_after: Some(second_assets_read), ..Faults::default() });
    let failed = ferry.run(&["--json", "sync", "acme"]).code(3);
    assert_eq!(failed.json()["status"], "failed");
    assert_eq!(ferry.docs_fingerprint(), before, "a failed sync changes no documentation");
    ferry.json(&["apply", "acme"]);
    assert!(live_named(&ferry, &name(&gone_later)), "not archived after an incomplete listing");

    // The next sync completes that listing, resumed from the interrupted
    // run: stitched together, it proves no deletion either.
    sim.set_faults(Faults::default());
    let stitched = ferry.json(&["sync", "acme"]);
    assert_eq!(stitched["streams"][3]["deleted"], 0, "{stitched:#}");
    assert!(live_named(&ferry, &name(&gone_later)), "not archived after a stitched listing");
    // The next complete, uninterrupted listing archives it.
    ferry.json(&["sync", "acme"]);
    assert!(!live_named(&ferry, &name(&gone_later)));
}

#[test]
fn unmatched_companies_bring_no_data_until_matched() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.run(&["match", "acme", "policy", "review"]).ok();
    let report = ferry.json(&["sync", "acme"]);
    assert!(report["apply"]["awaiting_match"].as_u64().unwrap_or(0) > 0);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), 0);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM assets"), 0, "nothing of unmatched companies arrives");

    let list = ferry.json(&["match", "acme", "list"]);
    let first = list
        .as_array()
        .and_then(|l| l.iter().find(|c| c["state"] == "unmatched"))
        .expect("an unmatched company")
        .clone();
    let ext = first["external_id"].as_str().expect("ext").to_string();
    ferry.json(&["match", "acme", "create", &ext, "--apply"]);
    let (live, archived) = ferry.assets();
    let customer_id: u64 = ext.parse().expect("numeric");
    let expected = sim.records("assets").iter().filter(|a| a["customer_id"] == customer_id).count()
        + sim.records("contacts").iter().filter(|c| c["customer_id"] == customer_id).count();
    assert_eq!(live.len() + archived.len(), expected, "exactly that company's data arrived");
    assert!(live.iter().chain(&archived).all(|a| a["company"] == first["psa_name"]));

    // Unmatching takes the data out again (archived, not deleted).
    ferry.json(&["match", "acme", "unmatch", &ext, "--apply"]);
    assert!(ferry.assets().0.is_empty());
    ferry.json(&["match", "acme", "ignore", &ext]);
    let ignored = ferry.json(&["match", "acme", "list", "--state", "ignored"]);
    assert_eq!(ignored.as_array().map(Vec::len), Some(1));
}

#[test]
fn existing_companies_are_matched_suggested_and_decided() {
    let world = small_world();
    let sim = syncro_sim(&world);
    let customers = sim.records("customers");
    let business: Vec<String> =
        customers.iter().filter_map(|c| c["business_name"].as_str().map(str::to_string)).collect();
    let ferry = Ferry::new();
    // The operator's own companies, before any PSA: one exact, one a
    // variant with a legal suffix, one by CSV.
    ferry.run(&["company", "add", &business[0], "--domain", "example.invalid"]).ok();
    let csv = ferry.dir.path().join("companies.csv");
    std::fs::write(&csv, format!("name,domain,phone\n\"{}, LLC\",,\nUnrelated Holdings,,\n", business[1]))
        .expect("csv");
    assert_eq!(ferry.json(&["company", "import", csv.to_str().expect("path")])["added"], 2);
    let before = ferry.count("SELECT COUNT(*) FROM companies");

    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    let list = ferry.json(&["match", "acme", "list"]);
    let entry =
        |name: &str| list.as_array().and_then(|l| l.iter().find(|c| c["psa_name"] == name)).expect("listed").clone();
    let exact = entry(&business[0]);
    assert_eq!(exact["state"], "matched");
    assert_eq!(exact["reason"], "same name");
    let variant = entry(&business[1]);
    assert_eq!(variant["state"], "matched", "{variant:#}");
    assert!(variant["score"].as_f64().unwrap_or(0.0) >= 0.9);
    assert!(variant["reason"].as_str().is_some_and(|r| r.contains("normalising")));
    // Matched companies were not created again.
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), before + customers.len() as i64 - 2);

    // Bulk: a dry run changes nothing, then unmatch two and re-decide them.
    for name in [&business[0], &business[1]] {
        ferry.json(&["match", "acme", "unmatch", name]);
    }
    let fp = ferry.docs_fingerprint();
    let plan = ferry.json(&["match", "acme", "auto", "--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["matched"].as_array().map(Vec::len), Some(2));
    assert_eq!(ferry.docs_fingerprint(), fp);
    assert_eq!(ferry.json(&["match", "acme", "list", "--state", "unmatched"]).as_array().map(Vec::len), Some(2));
    let done = ferry.json(&["match", "acme", "auto", "--apply"]);
    assert_eq!(done["matched"].as_array().map(Vec::len), Some(2));
    assert_eq!(ferry.json(&["match", "acme", "list", "--state", "unmatched"]).as_array().map(Vec::len), Some(0));

    // Set by hand, and by name.
    ferry.json(&["match", "acme", "set", &business[2], "Unrelated Holdings"]);
    let set = ferry.json(&["match", "acme", "list", "--state", "matched"]);
    assert!(
        set.as_array()
            .expect("list")
            .iter()
            .any(|c| c["psa_name"] == business[2].as_str() && c["company"] == "Unrelated Holdings")
    );
    let unknown = ferry.run(&["match", "acme", "accept", "No Such Customer"]).code(1);
    assert!(unknown.stderr.contains("no PSA company"), "{}", unknown.stderr);
}

#[test]
fn the_same_device_in_two_psas_is_one_asset_with_two_cards() {
    let world = small_world();
    let syncro = syncro_sim(&world);
    let cw = cw_sim(&world);
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &syncro);
    ferry.add_cw("cw", &cw);
    ferry.json(&["sync", "syncro"]);
    let companies_after_syncro = ferry.count("SELECT COUNT(*) FROM companies");
    let report = ferry.json(&["sync", "cw"]);
    assert_eq!(report["status"], "succeeded");

    // Customers known to both PSAs under name variants became one company.
    let cw_links = ferry.json(&["match", "cw", "list", "--state", "matched"]);
    let matched = cw_links.as_array().expect("links");
    assert!(!matched.is_empty(), "cross-PSA matches");
    for m in matched {
        assert!(m["reason"].as_str().is_some(), "{m}");
    }
    assert!(
        ferry.count("SELECT COUNT(*) FROM companies") < companies_after_syncro + cw.records("companies").len() as i64
    );

    let serials: Vec<String> =
        syncro.records("assets").iter().filter_map(|a| a["asset_serial"].as_str().map(str::to_string)).collect();
    let shared: Vec<Value> = cw
        .records("configurations")
        .into_iter()
        .filter(|c| c["serialNumber"].as_str().is_some_and(|s| serials.iter().any(|x| x == s)))
        .collect();
    assert!(!shared.is_empty(), "the world has devices in both PSAs");
    let (live, archived) = ferry.assets();
    let all: Vec<&Value> = live.iter().chain(&archived).collect();
    let mut merged = 0;
    for config in &shared {
        let name = config["name"].as_str().expect("name");
        let hits: Vec<&&Value> =
            all.iter().filter(|a| a["name"] == name && a["sources"].as_array().is_some_and(|s| s.len() == 2)).collect();
        if let Some(asset) = hits.first() {
            let shown = ferry.json(&["asset", "show", &asset["id"].to_string()]);
            let cards = shown["cards"].as_array().expect("cards");
            assert_eq!(cards.len(), 2, "{shown:#}");
            merged += 1;
        }
    }
    // Devices of companies that matched merge; a shared device under a
    // company only suggested (not matched) does not.
    assert!(merged > 0, "one asset with two cards for the same serial");
    let two_card_assets = all.iter().filter(|a| a["sources"].as_array().is_some_and(|s| s.len() == 2)).count();
    assert!(two_card_assets >= merged);
}

#[test]
fn skip_options_keep_things_out_and_apply_without_the_network() {
    let world = small_world();
    let sim = cw_sim(&world);
    let ferry = Ferry::new();
    ferry.add_cw("cw", &sim);
    ferry.json(&["sync", "cw"]);
    let layouts = |ferry: &Ferry| -> Vec<String> {
        ferry.assets().0.iter().filter_map(|a| a["layout"].as_str().map(str::to_string)).collect()
    };
    assert!(layouts(&ferry).iter().any(|l| l == "Agreements"));
    assert!(layouts(&ferry).iter().any(|l| l == "Locations"));
    assert!(layouts(&ferry).iter().any(|l| l == "Printer"));
    sim.clear_requests();

    let skip = |what: &str| ferry.run(&["rules", "cw", "skip", what, "--apply"]).ok();
    skip("agreements");
    assert!(!layouts(&ferry).iter().any(|l| l == "Agreements"));
    skip("sites");
    assert!(!layouts(&ferry).iter().any(|l| l == "Locations"));
    skip("asset-type=Printer");
    assert!(!layouts(&ferry).iter().any(|l| l == "Printer"));
    skip("contacts");
    assert!(!layouts(&ferry).iter().any(|l| l == "People"));

    // Inactive configurations arrive archived unless skipped.
    let inactive = sim.records("configurations").into_iter().find(|c| c["activeFlag"] == false);
    if let Some(c) = &inactive {
        assert!(ferry.assets().1.iter().any(|a| a["name"] == c["name"]), "inactive arrives archived");
    }
    skip("inactive-assets");
    let archived_before = ferry.assets().1.len();
    skip("assets");
    assert!(ferry.assets().0.is_empty(), "nothing left but skipped kinds");
    assert!(ferry.assets().1.len() >= archived_before, "skipped things are archived, never deleted");

    // Company-level skips.
    let prospects: Vec<Value> =
        sim.records("companies").into_iter().filter(|c| c["types"][0]["name"] == "Prospect").collect();
    skip("company-type=Prospect");
    let live = ferry.json(&["company", "list"]);
    for p in &prospects {
        assert!(!live.as_array().expect("list").iter().any(|c| c["name"] == p["name"]), "{} is a prospect", p["name"]);
    }
    skip("inactive-companies");
    assert!(sim.requests().is_empty(), "every change applied without a request");

    // Turning a skip off brings things back.
    ferry.run(&["rules", "cw", "skip", "contacts", "--off", "--apply"]).ok();
    assert!(layouts(&ferry).iter().any(|l| l == "People"));
    let shown = ferry.json(&["rules", "cw", "show"]);
    assert_eq!(shown["skip"]["contacts"], false);
    assert_eq!(shown["skip"]["agreements"], true);
    let bad = ferry.run(&["rules", "cw", "skip", "everything"]).code(1);
    assert!(bad.stderr.contains("hint:"));
}

#[test]
fn keep_company_details_leaves_names_alone() {
    let (sim, ferry) = synced_syncro();
    let customer = sim
        .records("customers")
        .into_iter()
        .find(|c| c["business_name"].is_string() && c["disabled"] == false)
        .expect("business");
    let id = customer["id"].to_string();
    ferry.run(&["rules", "acme", "option", "keep-company-details"]).ok();
    assert!(sim.rename("customers", &id, "Renamed In PSA"));
    ferry.json(&["sync", "acme"]);
    let names: Vec<String> = ferry
        .json(&["company", "list"])
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.contains(&customer["business_name"].as_str().expect("name").to_string()));
    assert!(!names.contains(&"Renamed In PSA".to_string()));
    ferry.run(&["rules", "acme", "option", "keep-company-details", "--off", "--apply"]).ok();
    let names = ferry.json(&["company", "list"]);
    assert!(names.as_array().expect("list").iter().any(|c| c["name"] == "Renamed In PSA"));
}

#[test]
fn rules_types_lists_psa_types_with_counts() {
    let (sim, ferry) = synced_syncro();
    let types = ferry.json(&["rules", "acme", "types"]);
    let assets = sim.records("assets");
    let firewalls = assets.iter().filter(|a| a["asset_type"] == "Firewall").count() as u64;
    let row = types
        .as_array()
        .expect("types")
        .iter()
        .find(|t| t["kind"] == "asset-type" && t["name"] == "Firewall")
        .expect("listed");
    assert_eq!(row["count"], firewalls);
    let text = ferry.run(&["rules", "acme", "types"]).ok();
    assert!(text.stdout.contains("Firewall"));
}

#[test]
fn a_sync_applies_only_what_changed_with_the_result_of_a_full_apply() {
    let sim = cw_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_cw("cw", &sim);
    let first = ferry.json(&["sync", "cw"]);
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["apply"]["scope"], "everything", "no earlier apply to build on");
    let mirror_assets = ferry.count("SELECT COUNT(*) FROM mirror WHERE stream = 'assets'");
    assert!(mirror_assets > 10);

    // One configuration renamed in the PSA: an incremental sync fetches it,
    // and apply looks at it (and nothing like the whole mirror).
    let id = sim
        .records("configurations")
        .iter()
        .map(|c| c["id"].to_string())
        .find(|id| {
            ferry.count(&format!(
                "SELECT COUNT(*) FROM cards WHERE stream = 'assets' AND external_id = '{id}' AND archived_at IS NULL"
            )) > 0
        })
        .expect("a documented configuration");
    assert!(sim.rename("configurations", &id, "Renamed In CW"));
    let inc = ferry.json(&["sync", "cw", "--incremental"]);
    assert_eq!(inc["status"], "succeeded", "{inc:#}");
    assert_eq!(inc["apply"]["scope"], "changes", "{inc:#}");
    let assets = &inc["apply"]["streams"]["assets"];
    let looked_at: u64 = ["created", "updated", "unchanged", "skipped"].iter().filter_map(|k| assets[k].as_u64()).sum();
    assert!(looked_at >= 1 && looked_at < mirror_assets as u64 / 2, "{assets}");
    assert_eq!(assets["updated"], 1, "{assets}");
    // The card carries the PSA's new name (the asset keeps its own unless
    // auto-update-names is on).
    assert_eq!(ferry.count("SELECT COUNT(*) FROM cards WHERE title = 'Renamed In CW'"), 1);

    // A full apply from the same mirror changes nothing: the partial apply
    // left exactly what a full one would.
    let after_changes = ferry.docs_fingerprint();
    let full = ferry.json(&["apply", "cw"]);
    assert_eq!(full["scope"], "everything");
    assert_eq!(ferry.docs_fingerprint(), after_changes);

    // A rule changed since the last apply: the next sync looks at everything.
    ferry.run(&["layout", "add", "Gear"]).ok();
    ferry.run(&["rules", "cw", "primary", "Gear"]).ok();
    let inc = ferry.json(&["sync", "cw", "--incremental"]);
    assert_eq!(inc["apply"]["scope"], "everything", "{inc:#}");
    let (live, _) = ferry.assets();
    assert!(live.iter().any(|a| a["layout"] == "Gear"), "the new primary location was applied");
}
