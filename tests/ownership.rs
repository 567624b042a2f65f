//! Who owns what in the documentation: company details belong to the
//! operator or to the one PSA a company came from, never to whichever PSA
//! matched last; removing an integration archives (never orphans or
//! doubles) its documentation; the same person in two PSAs is one asset;
//! the operator's clean-up commands.

mod common;

use common::*;
use ferry_sim::syncro::SyncroData;
use serde_json::{Value, json};

fn company<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array().expect("company list").iter().find(|c| c["name"] == name)
}

/// One Syncro customer, as the PSA spells it, with no email or phone.
fn ortiz_llc() -> SyncroData {
    SyncroData {
        customers: vec![json!({
            "id": 501, "firstname": "Ana", "lastname": "Ortiz", "fullname": "Ana Ortiz",
            "business_name": "Ortiz Dental Group, LLC", "email": null, "phone": null, "mobile": null,
            "updated_at": "2025-10-01T08:00:00.000Z", "disabled": false, "properties": {}
        })],
        ..Default::default()
    }
}

#[test]
fn a_match_never_overwrites_the_operators_company_and_an_empty_psa_value_never_erases() {
    let sim = syncro_sim_data(ortiz_llc());
    let ferry = Ferry::new();
    let csv = ferry.dir.path().join("companies.csv");
    std::fs::write(&csv, "name,domain,phone\nOrtiz Dental Group,ortizdental.example,512-555-0142\n").expect("csv");
    ferry.run(&["company", "import", csv.to_str().expect("path")]).ok();
    ferry.add_syncro("acme", &sim);
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");

    let links = ferry.json(&["match", "acme", "list"]);
    assert_eq!(links[0]["state"], "matched", "{links:#}");
    let list = ferry.json(&["company", "list"]);
    let ortiz = company(&list, "Ortiz Dental Group").expect("the operator's name stays");
    assert_eq!(ortiz["domain"], "ortizdental.example");
    assert_eq!(ortiz["phone"], "512-555-0142");
    assert!(ortiz["source"].is_null(), "the operator owns it: {ortiz}");
    let shown = ferry.json(&["company", "show", "Ortiz Dental Group"]);
    assert_eq!(shown["history"].as_array().map(Vec::len), Some(0), "{shown:#}");
    assert_eq!(shown["links"][0]["integration"], "acme");

    // The operator lets the PSA drive it: the name follows, and the PSA's
    // empty email and phone erase nothing.
    ferry.run(&["company", "follow", "Ortiz Dental Group", "acme"]).ok();
    ferry.json(&["apply", "acme"]);
    let list = ferry.json(&["company", "list"]);
    let ortiz = company(&list, "Ortiz Dental Group, LLC").expect("renamed by its source");
    assert_eq!(ortiz["domain"], "ortizdental.example");
    assert_eq!(ortiz["phone"], "512-555-0142");
    let history = ferry.json(&["company", "history", &ortiz["id"].to_string()]);
    let changes = history.as_array().expect("history");
    assert_eq!(changes.len(), 1, "{history:#}");
    assert_eq!(changes[0]["field"], "name");
    assert_eq!(changes[0]["old"], "Ortiz Dental Group");
    assert_eq!(changes[0]["new"], "Ortiz Dental Group, LLC");
    assert_eq!(changes[0]["actor"], "integration:acme");

    // Renaming by hand takes the company back from the PSA.
    let renamed = ferry.run(&["company", "rename", "Ortiz Dental Group, LLC", "Ortiz Dental"]).ok();
    assert!(renamed.all().contains("no longer follow acme"), "{}", renamed.all());
    sim.touch("customers", 1);
    ferry.json(&["sync", "acme"]);
    assert!(company(&ferry.json(&["company", "list"]), "Ortiz Dental").is_some());
}

#[test]
fn only_the_psa_a_company_came_from_updates_it() {
    let world = small_world();
    let syncro = syncro_sim(&world);
    let cw = cw_sim(&world);
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &syncro);
    ferry.add_cw("cw", &cw);
    ferry.json(&["sync", "syncro"]);
    ferry.json(&["sync", "cw"]);
    // A company Syncro created that CW matched: CW renames it in its PSA.
    let matched = ferry.json(&["match", "cw", "list", "--state", "matched"]);
    let link = matched.as_array().expect("links").first().expect("a cross-PSA match").clone();
    let doc = ferry.json(&["company", "show", &link["company_id"].to_string()]);
    assert_eq!(doc["source"], "syncro", "{doc:#}");
    let before = doc["name"].as_str().expect("name").to_string();
    assert!(cw.rename("companies", link["external_id"].as_str().expect("ext"), "Renamed By CW"));
    ferry.json(&["sync", "cw"]);
    let after = ferry.json(&["company", "show", &link["company_id"].to_string()]);
    assert_eq!(after["name"], before.as_str(), "CW must not rename Syncro's company");

    // Syncro renaming it is recorded.
    let syncro_link = ferry
        .json(&["match", "syncro", "list"])
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["company_id"] == link["company_id"])
        .cloned()
        .expect("syncro link");
    assert!(syncro.rename("customers", syncro_link["external_id"].as_str().expect("ext"), "Renamed By Syncro"));
    ferry.json(&["sync", "syncro"]);
    let after = ferry.json(&["company", "show", &link["company_id"].to_string()]);
    assert_eq!(after["name"], "Renamed By Syncro");
    let history = after["history"].as_array().expect("history");
    assert!(history.iter().any(|h| h["actor"] == "integration:syncro" && h["new"] == "Renamed By Syncro"));
    assert!(!history.iter().any(|h| h["actor"] == "integration:cw"), "{history:#?}");
}

#[test]
fn removing_an_integration_archives_and_re_adding_the_same_account_reattaches() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    let (live, archived_before) = ferry.assets();
    let assets_before = live.len();
    let live_before = live.clone();
    let asset_id = live[0]["id"].to_string();
    ferry.run(&["asset", "set", &asset_id, "Rack", "R2"]).ok();
    let companies_before = ferry.json(&["company", "list"]).as_array().map(Vec::len).unwrap_or(0);

    // Without --yes: a plan, a non-zero exit, nothing changed.
    let before = ferry.docs_fingerprint();
    let plan = ferry.run(&["integration", "remove", "acme"]).code(1);
    assert!(plan.stdout.contains("archived:") && plan.stdout.contains("kept for re-adding"), "{}", plan.stdout);
    assert!(plan.stderr.contains("--yes"), "{}", plan.stderr);
    assert_eq!(ferry.docs_fingerprint(), before);
    assert_eq!(ferry.json(&["integration", "list"]).as_array().map(Vec::len), Some(1));

    let removed = ferry.json(&["integration", "remove", "acme", "--yes"]);
    assert_eq!(removed["removed"], true);
    assert_eq!(removed["counts"]["assets_archived"].as_u64(), Some(assets_before as u64));
    let (live, archived) = ferry.assets();
    assert!(live.is_empty(), "its assets are archived, not orphaned");
    assert_eq!(archived.len(), assets_before + archived_before.len());
    assert!(ferry.json(&["company", "list"]).as_array().is_some_and(Vec::is_empty));
    let shown = ferry.json(&["asset", "show", &asset_id]);
    assert_eq!(shown["fields"][0]["value"], "R2", "operator fields stay");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM integrations WHERE secrets_json <> '{}'"), 0, "secrets go");

    // Re-adding the same PSA account under another name re-attaches.
    let mut args = vec!["integration", "add", "acme2", "--plugin", "syncro"];
    let settings = syncro_settings(&sim);
    args.extend(settings.iter().map(String::as_str));
    let added = ferry.run(&args).ok();
    assert!(added.stderr.contains("connected before"), "{}", added.all());
    ferry.unpaced("acme2");
    assert_eq!(ferry.json(&["sync", "acme2"])["status"], "succeeded");
    let (live, archived) = ferry.assets();
    if live.len() != assets_before {
        let ids: Vec<String> =
            live.iter().map(|a| format!("{} {} {} {}", a["id"], a["name"], a["layout"], a["company"])).collect();
        let before_ids: Vec<String> =
            live_before.iter().map(|a| format!("{} {} {} {}", a["id"], a["name"], a["layout"], a["company"])).collect();
        let extra: Vec<&String> = ids.iter().filter(|i| !before_ids.contains(i)).collect();
        panic!("extra: {extra:#?}");
    }
    assert_eq!(live.len(), assets_before, "nothing doubles");
    assert_eq!(archived.len(), archived_before.len(), "{archived:#?}");
    assert_eq!(ferry.json(&["company", "list"]).as_array().map(Vec::len), Some(companies_before));
    let shown = ferry.json(&["asset", "show", &asset_id]);
    assert_eq!(shown["archived_at"], Value::Null);
    assert_eq!(shown["fields"][0]["value"], "R2");

    // A second integration of the same account is refused.
    let mut args = vec!["integration", "add", "acme3", "--plugin", "syncro"];
    args.extend(settings.iter().map(String::as_str));
    let refused = ferry.run(&args).code(1);
    assert!(refused.stderr.contains("already syncs this"), "{}", refused.stderr);
}

#[test]
fn the_same_person_in_two_psas_is_one_asset_with_two_cards() {
    let world = small_world();
    let syncro = syncro_sim(&world);
    let cw = cw_sim(&world);
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &syncro);
    ferry.add_cw("cw", &cw);
    ferry.json(&["sync", "syncro"]);
    ferry.json(&["sync", "cw"]);
    let people = ferry.json(&["asset", "list", "--layout", "People"]);
    let people = people.as_array().expect("people");
    let both = people.iter().filter(|p| p["sources"].as_array().is_some_and(|s| s.len() == 2)).count();
    assert!(both > 0, "people known to both PSAs merged");
    // No company holds the same person twice.
    let mut seen = std::collections::HashSet::new();
    for p in people {
        let key = (p["company_id"].to_string(), p["name"].as_str().unwrap_or("").to_lowercase());
        assert!(seen.insert(key.clone()), "{key:?} twice");
    }
}

#[test]
fn clean_up_commands_archive_merge_and_remove_without_losing_anything() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    let (live, _) = ferry.assets();
    let asset = live.iter().find(|a| a["layout"] != "People").expect("a device").clone();
    let id = asset["id"].to_string();
    let asset_id = asset["id"].as_i64().expect("asset id");

    // An archived asset stays archived through syncs; --undo restores it.
    ferry.run(&["asset", "archive", &id]).ok();
    sim.touch("assets", 3);
    ferry.json(&["sync", "acme", "--full"]);
    assert!(ferry.assets().1.iter().any(|a| a["id"].as_i64() == Some(asset_id)));
    ferry.run(&["asset", "archive", &id, "--undo"]).ok();
    ferry.json(&["apply", "acme"]);
    assert!(ferry.assets().0.iter().any(|a| a["id"].as_i64() == Some(asset_id)));

    // Operator fields can be deleted.
    ferry.run(&["asset", "set", &id, "Rack", "R2"]).ok();
    ferry.run(&["asset", "unset", &id, "Rack"]).ok();
    assert!(ferry.json(&["asset", "show", &id])["fields"].as_array().is_some_and(Vec::is_empty));
    let missing = ferry.run(&["asset", "unset", &id, "Rack"]).code(1);
    assert!(missing.stderr.contains("no field"), "{}", missing.stderr);

    // An archived company keeps everything of it archived, through syncs.
    let company_id = asset["company_id"].to_string();
    let company_num = asset["company_id"].as_i64().expect("company id");
    ferry.run(&["company", "archive", &company_id]).ok();
    ferry.json(&["sync", "acme", "--full"]);
    let (live, _) = ferry.assets();
    assert!(!live.iter().any(|a| a["company_id"].as_i64() == Some(company_num)));
    ferry.run(&["company", "archive", &company_id, "--undo"]).ok();
    ferry.json(&["apply", "acme"]);
    assert!(ferry.assets().0.iter().any(|a| a["company_id"].as_i64() == Some(company_num)));

    // Merge moves assets and links, archives the source.
    let list = ferry.json(&["company", "list"]);
    let companies = list.as_array().expect("companies");
    let (a, b) = (companies[0]["id"].to_string(), companies[1]["id"].to_string());
    let a_assets = ferry.json(&["asset", "list", "--company", &format!("#{a}")]).as_array().map(Vec::len).unwrap_or(0);
    let b_assets = ferry.json(&["asset", "list", "--company", &format!("#{b}")]).as_array().map(Vec::len).unwrap_or(0);
    let merged = ferry.json(&["company", "merge", &a, &b]);
    assert_eq!(merged["assets_moved"].as_u64(), Some(a_assets as u64));
    ferry.json(&["sync", "acme", "--full"]);
    let after = ferry.json(&["asset", "list", "--company", &format!("#{b}")]).as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(after, a_assets + b_assets, "a re-sync keeps the merge");
    assert!(company(&ferry.json(&["company", "list"]), companies[0]["name"].as_str().expect("name")).is_none());

    // A layout in use cannot be removed; an unused one can.
    let in_use = ferry.run(&["layout", "remove", "People"]).code(1);
    assert!(in_use.stderr.contains("still holds"), "{}", in_use.stderr);
    ferry.run(&["layout", "add", "Spare"]).ok();
    ferry.run(&["layout", "remove", "Spare"]).ok();
    assert!(!ferry.json(&["layout", "list"]).as_array().expect("layouts").iter().any(|l| l["name"] == "Spare"));
}

#[test]
fn repeating_a_decision_changes_nothing_and_never_duplicates() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    let links = ferry.json(&["match", "acme", "list", "--state", "created"]);
    let link = links.as_array().and_then(|l| l.first()).cloned().expect("a created link");
    let ext = link["external_id"].as_str().expect("ext").to_string();
    let companies = ferry.json(&["company", "list"]).as_array().map(Vec::len);
    // Accepting, setting to the same company, or creating again keeps the
    // link "created" (the company's source) and adds no company.
    ferry.json(&["match", "acme", "accept", &ext]);
    ferry.json(&["match", "acme", "set", &ext, &format!("#{}", link["company_id"])]);
    ferry.json(&["match", "acme", "create", &ext]);
    let after = ferry.json(&["match", "acme", "list"]);
    let same = after.as_array().and_then(|l| l.iter().find(|x| x["external_id"] == ext.as_str())).expect("link");
    assert_eq!(same["state"], "created", "{same:#}");
    assert_eq!(same["company_id"], link["company_id"]);
    assert_eq!(ferry.json(&["company", "list"]).as_array().map(Vec::len), companies);
    let shown = ferry.json(&["company", "show", &link["company_id"].to_string()]);
    assert_eq!(shown["source"], "acme");
}

#[test]
fn names_stay_unambiguous_and_merges_never_land_in_an_archive() {
    let ferry = Ferry::new();
    ferry.run(&["company", "add", "Acme Legal"]).ok();
    ferry.run(&["company", "add", "Birch Dental"]).ok();
    // Renaming onto another company's name is refused like adding it.
    let taken = ferry.run(&["company", "rename", "Birch Dental", "ACME legal"]).code(1);
    assert!(taken.stderr.contains("exists already"), "{}", taken.stderr);
    ferry.run(&["company", "rename", "Birch Dental", "ACME legal", "--allow-duplicate"]).ok();
    // Names that read as ids are refused everywhere.
    ferry.run(&["company", "add", "#7"]).code(1);
    ferry.run(&["company", "rename", "Acme Legal", "12"]).code(1);
    let csv = ferry.dir.path().join("ids.csv");
    std::fs::write(&csv, "name\n#3\n").expect("csv");
    ferry.run(&["company", "import", csv.to_str().expect("path")]).code(1);
    let header = ferry.dir.path().join("header.csv");
    std::fs::write(&header, "name,name\nA,B\n").expect("csv");
    let twice = ferry.run(&["company", "import", header.to_str().expect("path")]).code(1);
    assert!(twice.stderr.contains("twice"), "{}", twice.stderr);
    // Merging into an archived company is refused.
    ferry.run(&["company", "add", "Cedar Tax"]).ok();
    ferry.run(&["company", "archive", "Cedar Tax"]).ok();
    let archived = ferry.run(&["company", "merge", "#1", "Cedar Tax"]).code(1);
    assert!(archived.stderr.contains("archived"), "{}", archived.stderr);
}

#[test]
fn an_integration_is_not_removed_under_a_running_sync() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    // A sync provably mid-listing: the simulator holds its next request.
    sim.hold_after(2);
    let mut sync = ferry.command(&["sync", "acme", "--full"]).spawn().expect("spawn sync");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while sim.held() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(sim.held() > 0, "the sync reached the held request");
    let refused = ferry.run(&["integration", "remove", "acme", "--yes"]).code(5);
    assert!(refused.stderr.contains("syncing"), "{}", refused.stderr);
    sim.release();
    assert!(sync.wait().expect("sync exits").success());
    // Once it finished, the removal goes through, and stays: nothing of
    // the integration is live afterwards.
    ferry.run(&["integration", "remove", "acme", "--yes"]).ok();
    let (live, _) = ferry.assets();
    assert!(live.is_empty(), "{live:#?}");
}
