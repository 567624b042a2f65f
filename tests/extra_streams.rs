//! Open-ended streams (contract 0.3) end to end, through the real binary:
//! the probe connector declares an extra stream `contracts` (mode
//! `contracts`: three contracts of one company over two pages), and Ferry
//! mirrors its items, places them like assets (a layout named after the
//! stream, or a by-type sort rule), archives one the PSA no longer lists,
//! keeps an invalid one aside, skips the stream by option, and pages it in
//! `plugin check`.

mod common;

use serde_json::Value;

use common::*;

/// Ferry with the probe installed and a probe integration listing contracts.
fn with_contracts(sim: &Sim, name: &str) -> Ferry {
    let ferry = Ferry::new();
    ferry.run(&["plugin", "install", artifact("ferry_test_probe").to_str().unwrap_or_default()]).ok();
    let base = format!("base_url={}", sim.base_url());
    let account = format!("account={name}");
    ferry
        .run(&[
            "integration",
            "add",
            name,
            "--plugin",
            "probe",
            "--set",
            &base,
            "--set",
            &account,
            "--set",
            "mode=contracts",
        ])
        .ok();
    ferry
}

/// The run's row for one stream.
fn stream<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["stream"] == name))
        .unwrap_or_else(|| panic!("no stream {name}: {report:#}"))
}

fn stream_names(report: &Value) -> Vec<String> {
    report["streams"]
        .as_array()
        .map(|s| s.iter().filter_map(|x| x["stream"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// "layout/name" of every contract asset, live and archived apart, sorted.
fn contracts(ferry: &Ferry) -> (Vec<String>, Vec<String>) {
    let (live, archived) = ferry.assets();
    let names = |list: &[Value]| {
        let mut v: Vec<String> = list
            .iter()
            .filter(|a| a["company"] == "Probe Company 0")
            .map(|a| format!("{}/{}", a["layout"].as_str().unwrap_or("?"), a["name"].as_str().unwrap_or("?")))
            .collect();
        v.sort();
        v
    };
    (names(&live), names(&archived))
}

#[test]
fn extra_stream_items_are_mirrored_placed_sorted_and_archived() {
    let sim = syncro_sim(&small_world());
    let ferry = with_contracts(&sim, "halo");

    // `plugin inspect` lists the extra stream with its default layout.
    let inspect = ferry.run(&["plugin", "inspect", "probe"]).ok();
    assert!(
        inspect.stdout.contains("extra stream") && inspect.stdout.contains("probe contracts"),
        "{}",
        inspect.stdout
    );
    assert!(inspect.stdout.contains("Contracts"), "{}", inspect.stdout);

    // Read after the kinds, both pages, into the mirror.
    let report = ferry.json(&["sync", "halo"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(stream_names(&report), ["companies", "extra:contracts"]);
    let row = stream(&report, "extra:contracts");
    assert_eq!((row["pages"].as_u64(), row["fetched"].as_u64(), row["created"].as_u64()), (Some(2), Some(3), Some(3)));
    assert_eq!(ferry.count("SELECT COUNT(*) FROM mirror WHERE stream = 'extra:contracts' AND company_ext_id = '0'"), 3);

    // Placed like assets: a layout named after the stream, one asset per
    // contract on the company's documentation, each with its PSA card.
    let (live, archived) = contracts(&ferry);
    assert_eq!(live, ["Contracts/Backup add-on", "Contracts/Break-fix hours", "Contracts/Managed services"]);
    assert!(archived.is_empty());
    assert_eq!(
        ferry.count(
            "SELECT COUNT(*) FROM cards WHERE stream = 'extra:contracts' AND doc_kind = 'asset' AND archived_at IS NULL
                AND fields_json LIKE '%\"Billing\"%' AND fields_json LIKE '%\"Type\"%'"
        ),
        3
    );

    // Counts show in `integration show` and `runs show`.
    let shown = ferry.json(&["integration", "show", "halo"]);
    let mirror = shown["mirror"].as_array().cloned().unwrap_or_default();
    assert!(mirror.iter().any(|m| m[0] == "extra:contracts" && m[1] == 3), "{shown:#}");
    let run_id = report["run_id"].as_i64().unwrap_or_default().to_string();
    let runs_show = ferry.run(&["runs", "show", &run_id]).ok();
    assert!(runs_show.stdout.contains("extra:contracts"), "{}", runs_show.stdout);

    // A by-type sort rule moves the "Managed" contracts to another layout.
    ferry.run(&["layout", "add", "Service plans"]).ok();
    ferry.run(&["rules", "halo", "add", "--when-type", "managed", "--layout", "Service plans", "--apply"]).ok();
    let (live, _) = contracts(&ferry);
    assert_eq!(live, ["Contracts/Break-fix hours", "Service plans/Backup add-on", "Service plans/Managed services"]);

    // `--stream NAME` reads just that extra stream.
    let only = ferry.json(&["sync", "halo", "--stream", "contracts"]);
    assert_eq!(stream_names(&only), ["extra:contracts"]);
    assert_eq!(stream(&only, "extra:contracts")["unchanged"], 3);

    // Deleted in the PSA: archived (auto-archive on) after a clean full listing.
    ferry.run(&["rules", "halo", "option", "auto-archive"]).ok();
    ferry.run(&["integration", "set", "halo", "drop=c3"]).ok();
    let report = ferry.json(&["sync", "halo"]);
    assert_eq!(stream(&report, "extra:contracts")["deleted"], 1, "{report:#}");
    let (live, archived) = contracts(&ferry);
    assert_eq!(live, ["Contracts/Break-fix hours", "Service plans/Managed services"]);
    assert_eq!(archived, ["Service plans/Backup add-on"]);

    // An item without a name is kept aside with its reason; the rest syncs.
    ferry.run(&["integration", "set", "halo", "drop=none", "bad=1"]).ok();
    let run = ferry.run(&["--json", "sync", "halo"]).code(4);
    let report = run.json();
    assert_eq!(stream(&report, "extra:contracts")["invalid"], 1, "{report:#}");
    let run_id = report["run_id"].as_i64().unwrap_or_default().to_string();
    let shown = ferry.json(&["runs", "show", &run_id]);
    let skipped = shown["skipped_records"].as_array().cloned().unwrap_or_default();
    assert!(
        skipped.iter().any(|r| r["stream"] == "extra:contracts" && r["external_id"] == "c4" && r["field"] == "name"),
        "{shown:#}"
    );
}

#[test]
fn a_skipped_extra_stream_is_not_read_and_its_cards_are_kept_out() {
    let sim = syncro_sim(&small_world());

    // Skipped before the first sync: neither mirror nor documentation.
    let fresh = with_contracts(&sim, "fresh");
    let typo = fresh.run(&["rules", "fresh", "skip", "stream=contrcts"]).code(1);
    assert!(typo.stderr.contains("declares no extra stream `contrcts`") && typo.stderr.contains("contracts"));
    fresh.run(&["rules", "fresh", "skip", "stream=contracts"]).ok();
    assert!(fresh.run(&["rules", "fresh", "show"]).ok().stdout.contains("skip streams"));
    let report = fresh.json(&["sync", "fresh"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(stream_names(&report), ["companies"]);
    assert_eq!(fresh.count("SELECT COUNT(*) FROM mirror WHERE stream = 'extra:contracts'"), 0);
    assert_eq!(fresh.count("SELECT COUNT(*) FROM cards WHERE stream = 'extra:contracts'"), 0);
    assert_eq!(fresh.count("SELECT COUNT(*) FROM layouts WHERE name = 'Contracts'"), 0);

    // Skipped after they came in: their cards are archived like any skipped
    // record's, the mirror keeps them, and later syncs leave it alone.
    let ferry = with_contracts(&sim, "halo");
    ferry.json(&["sync", "halo"]);
    assert_eq!(contracts(&ferry).0.len(), 3);
    let mirror = "SELECT COUNT(*) || '/' || MAX(change_seq) || '/' || MAX(last_seen_run) FROM mirror WHERE stream = 'extra:contracts'";
    let conn = || rusqlite::Connection::open(&ferry.db).expect("open db");
    let before: String = conn().query_row(mirror, [], |r| r.get(0)).expect("mirror");
    ferry.run(&["rules", "halo", "skip", "stream=contracts", "--apply"]).ok();
    let (live, archived) = contracts(&ferry);
    assert!(live.is_empty(), "{live:?}");
    assert_eq!(archived.len(), 3);
    let report = ferry.json(&["sync", "halo"]);
    assert_eq!(stream_names(&report), ["companies"]);
    let after: String = conn().query_row(mirror, [], |r| r.get(0)).expect("mirror");
    assert_eq!(before, after, "the mirror of a skipped stream is untouched");

    // Turned off again: read and restored.
    ferry.run(&["rules", "halo", "skip", "stream=contracts", "--off"]).ok();
    let report = ferry.json(&["sync", "halo"]);
    assert_eq!(stream_names(&report), ["companies", "extra:contracts"]);
    assert_eq!(contracts(&ferry).0.len(), 3);
}

#[test]
fn plugin_check_pages_extra_streams_with_the_same_checks() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    let probe = artifact("ferry_test_probe");
    let base = format!("base_url={}", sim.base_url());
    let path = probe.to_str().unwrap_or_default();
    let run = ferry.run(&["--json", "plugin", "check", path, "--set", "mode=contracts", "--set", &base]);
    let report = run.json();
    let line = |name: &str| {
        report["report"]["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|x| x["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
    };
    let read = line("read extra:contracts");
    assert_eq!(read["outcome"], "pass", "{read}");
    assert!(read["detail"].as_str().is_some_and(|d| d.starts_with("3 records in 2 pages")), "{read}");
    assert_eq!(line("read extra:contracts since")["outcome"], "pass");
    assert!(line("info")["detail"].as_str().is_some_and(|d| d.contains("1 extra")));
    // Its records are checked like any: an item without a name fails the read.
    let run =
        ferry.run(&["--json", "plugin", "check", path, "--set", "mode=contracts", "--set", "bad=1", "--set", &base]);
    let report = run.json();
    let failed = report["report"]["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|x| x["name"] == "read extra:contracts").cloned())
        .unwrap_or_default();
    assert_eq!(failed["outcome"], "fail", "{report:#}");
    assert!(failed["detail"].as_str().is_some_and(|d| d.contains("name is empty")), "{failed}");
}

/// Operator items of findings 14 (F8): `rules NAME types` lists the type
/// names of extra-stream items, a by-type rule for a type that has one
/// says it replaced it, and `option concurrency --off` needs no value.
#[test]
fn item_types_are_listed_a_replaced_rule_is_named_and_concurrency_off_resets() {
    let sim = syncro_sim(&small_world());
    let ferry = with_contracts(&sim, "halo");
    ferry.json(&["sync", "halo"]);
    let types = ferry.json(&["rules", "halo", "types"]);
    let listed = types.as_array().cloned().unwrap_or_default();
    assert!(
        listed.iter().any(|t| t["kind"] == "extra:contracts" && t["name"] == "Managed" && t["count"] == 2),
        "{types:#}"
    );
    assert!(ferry.run(&["rules", "halo", "types"]).ok().stdout.contains("Block hours"));

    ferry.run(&["layout", "add", "Service plans"]).ok();
    ferry.run(&["layout", "add", "Plans"]).ok();
    let first = ferry.run(&["rules", "halo", "add", "--when-type", "Managed", "--layout", "Service plans"]).ok();
    assert!(!first.stdout.contains("replaced"), "{}", first.stdout);
    let again = ferry.run(&["rules", "halo", "add", "--when-type", "managed", "--layout", "Plans"]).ok();
    assert!(again.stdout.contains("replaced the rule when type is Managed → Service plans"), "{}", again.stdout);
    let json = ferry.json(&["rules", "halo", "add", "--when-type", "Managed", "--layout", "Service plans"]);
    assert_eq!(json["replaced"]["layout"], "Plans", "{json:#}");
    assert_eq!(json["rules"].as_array().map(Vec::len), Some(1), "{json:#}");

    ferry.run(&["rules", "halo", "option", "concurrency=2"]).ok();
    let off = ferry.run(&["rules", "halo", "option", "concurrency", "--off"]).ok();
    assert!(off.stdout.contains("streams read at once: 4") && !off.stdout.contains("ferry apply"), "{}", off.stdout);
    assert_eq!(ferry.json(&["rules", "halo", "show"])["concurrency"], serde_json::Value::Null);
}
