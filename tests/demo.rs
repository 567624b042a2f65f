//! `ferry demo`, the README's first command: both simulated PSAs, the
//! bundled connectors, matching and apply, end to end through the binary.

mod common;

use common::*;

#[test]
fn the_demo_syncs_both_simulated_psas_into_one_documentation() {
    let ferry = Ferry::new();
    let run = ferry.run(&["demo", "--companies", "10"]).ok();
    for integration in ["demo-syncro", "demo-cw"] {
        assert!(run.stdout.contains(&format!("full sync of {integration}: succeeded")), "{}", run.all());
    }
    // With a database of its own (FERRY_DB here) the demo keeps it and says
    // where to look.
    assert!(
        run.stdout.contains(&format!("look around: ferry --db {} asset list", ferry.db.display())),
        "{}",
        run.stdout
    );
    let integrations = ferry.json(&["integration", "list"]);
    assert_eq!(integrations.as_array().map(Vec::len), Some(2), "{integrations:#}");
    assert!(ferry.count("SELECT COUNT(*) FROM assets WHERE archived_at IS NULL") > 10);
    // One customer known to both PSAs is one documentation company, and one
    // device in both is one asset with a card from each.
    let merged = ferry.count(
        "SELECT COUNT(*) FROM (SELECT doc_id FROM cards WHERE doc_kind = 'asset' AND stream = 'assets'
         GROUP BY doc_id HAVING COUNT(DISTINCT integration_id) = 2)",
    );
    assert!(merged > 0, "no device merged across the PSAs");
    assert!(
        run.stdout.contains("assets are the same device in both PSAs and carry a card from each"),
        "{}",
        run.stdout
    );
    // PSA companies left as suggestions are named, with the way to decide.
    let waiting = ferry.count("SELECT COUNT(*) FROM company_links WHERE state IN ('suggested', 'unmatched')");
    assert_eq!(run.stdout.contains("wait for your decision"), waiting > 0, "{waiting} waiting\n{}", run.stdout);
}

#[test]
fn without_a_database_of_its_own_the_demo_says_it_is_temporary() {
    let ferry = Ferry::new();
    let mut cmd = ferry.command(&["demo", "--companies", "3"]);
    let out = cmd.env_remove("FERRY_DB").env("HOME", ferry.dir.path()).output().expect("run ferry");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("the demo's database is temporary"), "{stdout}");
    assert!(!stdout.contains("look around"), "{stdout}");
}
