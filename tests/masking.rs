//! What is masked where (findings 14, F1–F2): a connector's `state` values
//! are kept out of output text, yet only token-like ones out of records and
//! never by rewriting an id; a secret is masked in the request log whatever
//! its percent-encoding.

mod common;

use common::*;

/// The token the probe's `state-words` mode keeps in state.
const STATE_TOKEN: &str = "tok_state_0123456789abcdef";

/// Every byte of the database and its WAL, to search for values at rest.
fn at_rest(ferry: &Ferry) -> Vec<u8> {
    let mut bytes = std::fs::read(&ferry.db).unwrap_or_default();
    let wal = ferry.db.with_extension("db-wal");
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    bytes
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_short_state_value_leaves_records_alone_a_token_is_masked_and_ids_are_never_rewritten() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.run(&["plugin", "install", artifact("ferry_test_probe").to_str().unwrap_or_default()]).ok();
    let base = format!("base_url={}", sim.base_url());
    ferry.run(&["integration", "add", "sw", "--plugin", "probe", "--set", &base, "--set", "mode=state-words"]).ok();

    let run = ferry.run(&["--json", "sync", "sw", "--stream", "companies"]);
    let report = run.json();
    assert_eq!(report["status"], "partial", "{report:#}");

    // `Work` is in state, yet names and types keep it; the ids too.
    let names: Vec<String> = ferry
        .json(&["company", "list"])
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.iter().any(|n| n == "Workstation Co"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("********")), "{names:?}");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM mirror WHERE external_id = 'Work-1'"), 1);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM mirror WHERE data LIKE '%\"Workstation\"%'"), 1);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM mirror WHERE external_id LIKE '%****%'"), 0);

    // The token in a card is masked; the record whose id holds it is kept
    // aside, not rewritten.
    assert_eq!(ferry.count("SELECT COUNT(*) FROM mirror WHERE data LIKE '%Bearer ********%'"), 1);
    let run_id = report["run_id"].as_i64().unwrap_or_default().to_string();
    let shown = ferry.json(&["runs", "show", &run_id]);
    let skipped = shown["skipped_records"].as_array().cloned().unwrap_or_default();
    assert_eq!(skipped.len(), 1, "{shown:#}");
    assert_eq!(skipped[0]["reason"], "its id contains a secret", "{shown:#}");
    assert_eq!(skipped[0]["field"], "id", "{shown:#}");
    let token = format!("%{STATE_TOKEN}%");
    let clear = format!(
        "SELECT (SELECT COUNT(*) FROM mirror WHERE data LIKE '{token}' OR external_id LIKE '{token}')
              + (SELECT COUNT(*) FROM skipped_records WHERE external_id LIKE '{token}' OR snippet LIKE '{token}')
              + (SELECT COUNT(*) FROM cards WHERE fields_json LIKE '{token}')"
    );
    assert_eq!(ferry.count(&clear), 0, "the token is stored in clear");
}
