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

/// `s` percent-encoded: every byte but the unreserved ones as `%XX`, hex in
/// `upper` or lower case, a space as `+` when `plus`.
fn encode(s: &str, upper: bool, plus: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            b' ' if plus => "+".into(),
            _ if upper => format!("%{b:02X}"),
            _ => format!("%{b:02x}"),
        })
        .collect()
}

#[test]
fn a_secret_in_the_url_is_masked_in_the_request_log_whatever_its_encoding() {
    const KEY: &str = "p@ss/w+rd=1&x y";
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.run(&["plugin", "install", artifact("ferry_test_probe").to_str().unwrap_or_default()]).ok();
    let base = format!("base_url={}", sim.base_url());
    let token = format!("token={KEY}");
    ferry
        .run(&[
            "integration",
            "add",
            "u",
            "--plugin",
            "probe",
            "--set",
            &base,
            "--secret",
            &token,
            "--set",
            "mode=url-encodings",
        ])
        .ok();
    let run = ferry.run(&["-v", "--json", "sync", "u", "--stream", "companies"]);
    let run_id = run.json()["run_id"].as_i64().unwrap_or_default();

    let encodings: Vec<String> = [(true, false), (false, false), (true, true), (false, true)]
        .iter()
        .map(|(upper, plus)| encode(KEY, *upper, *plus))
        .collect();
    let urls: Vec<String> = {
        let shown = ferry.json(&["runs", "show", &run_id.to_string(), "--requests"]);
        let text = shown.to_string();
        assert!(text.contains("/k/********/u?q=********&page=1"), "{shown:#}");
        vec![text, run.stderr.clone()]
    };
    for text in &urls {
        assert!(text.contains("/k/********/u?q=********&page=1"), "{text}");
        for e in &encodings {
            assert!(!text.contains(e.as_str()), "{e} shown in:\n{text}");
        }
        assert!(!text.to_lowercase().contains("p%40ss") && !text.contains("p@ss"), "{text}");
    }
    let logged = ferry.count(&format!(
        "SELECT COUNT(*) FROM run_requests WHERE run_id = {run_id} AND url LIKE '%/k/********/u?q=********&page=1'"
    ));
    assert_eq!(logged, 4, "every request is logged, masked");
    let leaked = ferry
        .count("SELECT COUNT(*) FROM run_requests WHERE instr(lower(url), 'p%40ss') > 0 OR instr(url, 'p@ss') > 0");
    assert_eq!(leaked, 0);
    let rest = at_rest(&ferry).to_ascii_lowercase();
    assert!(!holds(&rest, "p%40ss") && !holds(&rest, "p@ss"), "the key is stored in clear");
}
