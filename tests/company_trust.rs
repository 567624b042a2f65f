//! Trust in the company side, end to end: two customers of one PSA never
//! end up in one documentation company unless the operator says `--merge`,
//! names resolve to one company or fail, CSV imports are all-or-nothing and
//! idempotent, and apply counts every PSA company once.

mod common;

use common::*;
use serde_json::Value;

/// A PSA company as `match NAME list --json` shows it.
fn link(ferry: &Ferry, integration: &str, ext: &str) -> Value {
    let list = ferry.json(&["match", integration, "list"]);
    list.as_array()
        .and_then(|l| l.iter().find(|c| c["external_id"] == ext))
        .cloned()
        .unwrap_or_else(|| panic!("{ext} not listed in {list:#}"))
}

/// External id and name of the customers that have a business name.
fn businesses(sim: &Sim) -> Vec<(String, String, bool)> {
    sim.records("customers")
        .iter()
        .filter_map(|c| {
            let name = c["business_name"].as_str()?;
            Some((c["id"].to_string(), name.to_string(), c["disabled"] == true))
        })
        .collect()
}

fn company_id_named(ferry: &Ferry, name: &str) -> String {
    let list = ferry.json(&["company", "list"]);
    let id = list.as_array().and_then(|l| l.iter().find(|c| c["name"] == name)).expect("company")["id"].clone();
    format!("#{id}")
}

#[test]
fn a_second_psa_company_is_refused_a_company_already_holding_one_unless_merged() {
    let sim = syncro_sim(&small_world());
    let customers = businesses(&sim);
    let (a_ext, a_name, _) = customers[0].clone();
    let (b_ext, b_name, _) = customers[1].clone();
    let ferry = Ferry::new();
    // The operator's company carries B's name, so B is suggested onto it.
    ferry.run(&["company", "add", &b_name]).ok();
    let target = company_id_named(&ferry, &b_name);
    ferry.add_syncro("acme", &sim);
    ferry.run(&["match", "acme", "policy", "review"]).ok();
    ferry.json(&["sync", "acme"]);
    assert_eq!(link(&ferry, "acme", &b_ext)["state"], "suggested");

    // A goes there first, by hand.
    ferry.json(&["match", "acme", "set", &a_ext, &target]);
    // Accepting B's suggestion, or setting it, would mix two customers.
    for args in
        [vec!["match", "acme", "accept", b_ext.as_str()], vec!["match", "acme", "set", b_ext.as_str(), target.as_str()]]
    {
        let refused = ferry.run(&args).code(1);
        for needle in [a_name.as_str(), &format!("PSA id {a_ext}"), "--merge", "unmatch", "create"] {
            assert!(refused.stderr.contains(needle), "{needle} missing from:\n{}", refused.stderr);
        }
    }
    assert_eq!(link(&ferry, "acme", &b_ext)["state"], "suggested", "a refusal changes nothing");

    // Said explicitly, the merge is made and recorded; later applies and
    // confirmations accept it.
    ferry.json(&["match", "acme", "accept", &b_ext, "--merge", "--apply"]);
    let b = link(&ferry, "acme", &b_ext);
    assert_eq!((b["state"].as_str(), b["merged"].as_bool()), (Some("matched"), Some(true)), "{b:#}");
    assert_eq!(link(&ferry, "acme", &a_ext)["merged"], false);
    ferry.json(&["apply", "acme"]);
    ferry.json(&["match", "acme", "set", &b_ext, &target]);
    assert_eq!(link(&ferry, "acme", &b_ext)["merged"], true, "confirming keeps the recorded merge");

    // A third customer still needs the operator's word.
    let (c_ext, _, _) = customers[2].clone();
    ferry.run(&["match", "acme", "set", &c_ext, &target]).code(1);
    // Unmatching the holders frees the company.
    ferry.json(&["match", "acme", "unmatch", &a_ext]);
    ferry.json(&["match", "acme", "unmatch", &b_ext]);
    ferry.json(&["match", "acme", "set", &c_ext, &target]);

    // Another integration (another PSA account with the same customers)
    // may link the same company: one PSA company of each is no merge. Bulk
    // matching there claims it too.
    let other_account = syncro_sim(&small_world());
    ferry.add_syncro("second", &other_account);
    ferry.run(&["match", "second", "policy", "review"]).ok();
    ferry.json(&["sync", "second"]);
    ferry.json(&["match", "second", "set", &a_ext, &target]);
    ferry.json(&["match", "second", "auto"]);
    let list = ferry.json(&["match", "second", "list"]);
    let target_id: i64 = target.trim_start_matches('#').parse().expect("id");
    let holders: Vec<&Value> = list
        .as_array()
        .expect("list")
        .iter()
        .filter(|l| l["company_id"] == target_id && (l["state"] == "matched" || l["state"] == "created"))
        .collect();
    assert_eq!(holders.len(), 1, "{holders:#?}");
}

#[test]
fn apply_never_matches_a_new_psa_company_onto_a_company_held_since_an_earlier_run() {
    let sim = syncro_sim(&small_world());
    let customers = businesses(&sim);
    let (c_ext, c_name, _) = customers.iter().find(|c| c.2).cloned().expect("a disabled customer");
    let (a_ext, _, _) = customers.iter().find(|c| !c.2).cloned().expect("an active customer");
    // The PSA holds the customer twice under one name (it happens): A, and
    // C, which is inactive.
    assert!(sim.rename("customers", &a_ext, &c_name));
    let ferry = Ferry::new();
    ferry.run(&["company", "add", &c_name]).ok();
    let target = company_id_named(&ferry, &c_name);
    let target_id: i64 = target.trim_start_matches('#').parse().expect("id");
    ferry.add_syncro("acme", &sim);
    // Run 1: C is kept out (inactive companies skipped); policy auto
    // matches A to the company of its name.
    ferry.run(&["rules", "acme", "skip", "inactive-companies"]).ok();
    ferry.json(&["sync", "acme"]);
    let a = link(&ferry, "acme", &a_ext);
    assert_eq!((a["state"].as_str(), &a["company_id"]), (Some("matched"), &Value::from(target_id)), "{a:#}");
    // Run 2: C comes in and is decided now. It scores 100% on A's
    // company, which this integration already links: not a match.
    ferry.run(&["rules", "acme", "skip", "inactive-companies", "--off"]).ok();
    ferry.json(&["apply", "acme"]);
    let c = link(&ferry, "acme", &c_ext);
    assert!(
        !(c["company_id"] == target_id && (c["state"] == "matched" || c["state"] == "created")),
        "C was merged into A's company: {c:#}"
    );
}

/// Created + updated + unchanged + archived + skipped of the companies stream.
fn company_counts(report: &Value) -> (u64, [u64; 5]) {
    let c = &report["streams"]["companies"];
    let n = |k: &str| c[k].as_u64().unwrap_or_else(|| panic!("{k} in {report:#}"));
    let all = [n("created"), n("updated"), n("unchanged"), n("archived"), n("skipped")];
    (all.iter().sum(), all)
}

#[test]
fn apply_counts_every_psa_company_exactly_once() {
    let sim = syncro_sim(&small_world());
    let total = sim.records("customers").len() as u64;
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.run(&["match", "acme", "policy", "review"]).ok();
    let report = ferry.json(&["sync", "acme"]);
    let (sum, all) = company_counts(&report["apply"]);
    assert_eq!((sum, all[4]), (total, total), "all await the operator: {all:?}");

    // The reported case: `match create` then apply counted nothing for it.
    let ext = businesses(&sim)[0].0.clone();
    ferry.json(&["match", "acme", "create", &ext]);
    let (sum, all) = company_counts(&ferry.json(&["apply", "acme"]));
    assert_eq!(sum, total, "{all:?}");
    assert_eq!(all, [1, 0, 0, 0, total - 1], "created 1, skipped the rest");

    // Taking it out again is one archive, not an archive and a skip.
    ferry.json(&["match", "acme", "unmatch", &ext]);
    let (sum, all) = company_counts(&ferry.json(&["apply", "acme"]));
    assert_eq!((sum, all[3]), (total, 1), "{all:?}");

    // Policy auto on a fresh install: every company created, counted once.
    let fresh = Ferry::new();
    fresh.add_syncro("acme", &sim);
    let (sum, all) = company_counts(&fresh.json(&["sync", "acme"])["apply"]);
    assert_eq!(sum, total, "{all:?}");
    let (sum, all) = company_counts(&fresh.json(&["apply", "acme"]));
    assert_eq!((sum, all[2]), (total, total - all[4]), "then unchanged: {all:?}");
}

#[test]
fn duplicate_names_are_refused_and_ambiguous_names_never_resolve_silently() {
    let ferry = Ferry::new();
    ferry.run(&["company", "add", "Acme Legal", "--domain", "acme.example"]).ok();
    let again = ferry.run(&["company", "add", "  acme LEGAL "]).code(1);
    assert!(again.stderr.contains("already exists") && again.stderr.contains("--allow-duplicate"), "{}", again.stderr);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), 1);
    ferry.run(&["company", "add", "ACME Legal", "--allow-duplicate"]).ok();
    for args in [["asset", "list", "--company", "acme legal"], ["ticket", "list", "--company", "Acme Legal"]] {
        let ambiguous = ferry.run(&args).code(1);
        for needle in ["ambiguous", "#1 Acme Legal (acme.example)", "#2 ACME Legal (no domain)", "`#1`"] {
            assert!(ambiguous.stderr.contains(needle), "{needle} missing from:\n{}", ambiguous.stderr);
        }
    }
    ferry.run(&["asset", "list", "--company", "#2"]).ok();
}

#[test]
fn csv_import_is_all_or_nothing_names_every_bad_line_and_is_idempotent() {
    let ferry = Ferry::new();
    let csv = ferry.dir.path().join("companies.csv");
    std::fs::write(
        &csv,
        "name,domain\nAlpha,alpha.example\n,nameless.example\n\"B,unterminated\nCharlie,charlie.example\n",
    )
    .expect("csv");
    let path = csv.to_str().expect("path");
    let bad = ferry.run(&["company", "import", path]).code(1);
    for needle in ["line 3: the name is empty", "line 4: a double quote", "nothing was imported"] {
        assert!(bad.stderr.contains(needle), "{needle} missing from:\n{}", bad.stderr);
    }
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), 0);

    std::fs::write(&csv, "name,domain\nAlpha,alpha.example\n\"Baker, Lee & Co\",baker.example\n").expect("csv");
    let first = ferry.json(&["company", "import", path]);
    assert_eq!((first["added"].as_u64(), first["existing"].as_u64()), (Some(2), Some(0)));
    let second = ferry.json(&["company", "import", path]);
    assert_eq!((second["added"].as_u64(), second["existing"].as_u64()), (Some(0), Some(2)));
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), 2);
    std::fs::write(&csv, "name,domain\nALPHA,alpha-other.example\n").expect("csv");
    let text = ferry.run(&["company", "import", path]).ok();
    assert!(text.stdout.contains("added 0 companies, 1 already existed"), "{}", text.stdout);
    assert!(text.stdout.contains("alpha-other.example"), "the differing domain is reported:\n{}", text.stdout);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies WHERE domain = 'alpha.example'"), 1);
}
