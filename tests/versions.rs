//! Contract versioning in practice: connectors built against
//! `ferry:connector@0.1.0`, `@0.2.0` and `@0.3.0` keep loading and syncing
//! after the contract moved on, a connector for a version Ferry does not
//! know is refused with the reason, and what 0.3.0 added works end to end:
//! the `state` store and `token-expired` (0.4.0's `send-batch` is shown by
//! the bundled connectors: tests/cw_manage.rs, tests/syncro.rs).

mod common;

use std::path::Path;

use common::*;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name).display().to_string()
}

#[test]
fn a_connector_built_for_0_1_0_still_loads_and_syncs() {
    let world = small_world();
    let sim = syncro_sim(&world);

    let old = Ferry::new();
    let installed = old.json(&["plugin", "install", &fixture("syncro-0.1.0.wasm")]);
    assert_eq!(installed["contract"], "0.1.0");
    assert_eq!(installed["id"], "syncro");
    old.add_syncro("acme", &sim);
    assert_eq!(old.json(&["sync", "acme"])["status"], "succeeded");

    // The bundled connector speaks the newest contract and brings the same.
    let new = Ferry::new();
    assert_eq!(new.json(&["plugin", "inspect", "syncro"])["contract"], "0.4.0");
    new.add_syncro("acme", &sim);
    assert_eq!(new.json(&["sync", "acme"])["status"], "succeeded");
    let names = |f: &Ferry| {
        let (live, archived) = f.assets();
        let mut v: Vec<String> =
            live.iter().chain(&archived).map(|a| format!("{}/{}/{}", a["company"], a["layout"], a["name"])).collect();
        v.sort();
        v
    };
    assert_eq!(names(&old), names(&new));
    let fixture_path = fixture("syncro-0.1.0.wasm");
    let settings = syncro_settings(&sim);
    let mut args = vec!["--json", "plugin", "check", &fixture_path];
    args.extend(settings.iter().map(String::as_str));
    let check = old.run(&args);
    assert_eq!(check.json()["passed"], true, "{}", check.stdout);
}

#[test]
fn a_connector_for_an_unknown_contract_version_is_refused() {
    let ferry = Ferry::new();
    let future = artifact("ferry_test_future");
    let run = ferry.run(&["plugin", "install", future.to_str().unwrap_or_default()]).code(1);
    assert!(run.stderr.contains("ferry:connector@9.0.0"), "{}", run.stderr);
    assert!(run.stderr.contains("0.4.0, 0.3.0, 0.2.0, 0.1.0"), "names what this Ferry loads: {}", run.stderr);
    assert!(run.stderr.contains("hint:"));
}

#[test]
fn a_checkpoint_is_resumed_by_the_same_build_only() {
    let world = small_world();
    let options = ferry_sim::syncro::SyncroOptions { assets_per_page: 3, ..Default::default() };
    let sim = syncro_sim_with(&world, options);
    let total_pages = sim.records("assets").len().div_ceil(3) as u64;
    assert!(total_pages > 3);
    let stop_early = |f: &Ferry| {
        // One page per stream, then the stream fails with its checkpoint kept.
        let mut cut = f.command(&["--json", "sync", "acme", "--stream", "assets"]);
        let out = cut.env("FERRY_STREAM_MAX_PAGES", "1").output().expect("run ferry");
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    };
    let assets_pages = |report: &serde_json::Value| {
        report["streams"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["stream"] == "assets"))
            .map(|s| s["pages"].clone())
    };

    // Same build: the next sync goes on from page 3 (the first read asked
    // for pages 1 and 2), reading the rest up to 32 pages at a time, the
    // last few with the read before them (the first page gave the count).
    let same = Ferry::new();
    same.add_syncro("acme", &sim);
    stop_early(&same);
    sim.clear_requests();
    let resumed = same.json(&["sync", "acme", "--stream", "assets", "--force"]);
    assert_eq!(resumed["status"], "succeeded", "{resumed:#}");
    let reads = {
        let (mut page, mut reads) = (3, 0);
        while page <= total_pages {
            let end = page + 31;
            page = if total_pages.saturating_sub(end) <= 16 { total_pages } else { end } + 1;
            reads += 1;
        }
        reads
    };
    assert_eq!(assets_pages(&resumed), Some(serde_json::json!(reads)), "{resumed:#}");
    let asked: Vec<String> = sim.requests().iter().filter_map(|r| r.query.clone()).collect();
    let read_again = |n: &str| asked.iter().any(|q| q.split('&').any(|p| p == format!("page={n}")));
    assert!(!read_again("1") && !read_again("2"), "pages 1 and 2 are not read again: {asked:?}");
    assert_eq!(asked.len() as u64, total_pages - 2, "each remaining page once: {asked:?}");

    // Another build installed in between: its listing starts over.
    let upgraded = Ferry::new();
    upgraded.add_syncro("acme", &sim);
    stop_early(&upgraded);
    upgraded.json(&["plugin", "install", &fixture("syncro-0.1.0.wasm")]);
    let restarted = upgraded.json(&["sync", "acme", "--stream", "assets", "--force"]);
    assert_eq!(restarted["status"], "succeeded", "{restarted:#}");
    assert_eq!(assets_pages(&restarted), Some(serde_json::json!(total_pages)), "{restarted:#}");
}

#[test]
fn a_connector_built_for_0_2_0_still_loads_and_syncs() {
    let world = small_world();
    let sim = syncro_sim(&world);
    let old = Ferry::new();
    let installed = old.json(&["plugin", "install", &fixture("syncro-0.2.0.wasm")]);
    assert_eq!(installed["contract"], "0.2.0");
    old.add_syncro("acme", &sim);
    let report = old.json(&["sync", "acme"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    // Its streams keep the names they always had, and there is nothing extra.
    let streams: Vec<&str> = report["streams"]
        .as_array()
        .map(|s| s.iter().filter_map(|x| x["stream"].as_str()).collect())
        .unwrap_or_default();
    let kinds = ["lookups", "companies", "sites", "contacts", "assets", "agreements", "tickets"];
    assert!(streams.contains(&"companies") && streams.iter().all(|s| kinds.contains(s)), "{report:#}");
    assert_eq!(old.count("SELECT COUNT(*) FROM mirror WHERE stream NOT IN ('lookups', 'companies', 'sites', 'contacts', 'assets', 'agreements', 'tickets')"), 0);
    let (live, _) = old.assets();
    assert!(!live.is_empty());
    // No extra streams before 0.3.0.
    let inspect = old.json(&["plugin", "inspect", "syncro"]);
    assert_eq!(inspect["contract"], "0.2.0");
}

#[test]
fn a_connector_built_for_0_3_0_still_loads_and_syncs() {
    let world = small_world();
    let sim = syncro_sim(&world);
    let old = Ferry::new();
    let installed = old.json(&["plugin", "install", &fixture("syncro-0.3.0.wasm")]);
    assert_eq!(installed["contract"], "0.3.0");
    assert_eq!(old.json(&["plugin", "inspect", "syncro"])["contract"], "0.3.0");
    old.add_syncro("acme", &sim);
    let report = old.json(&["sync", "acme"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");

    // The bundled build (0.4.0, reading pages ahead) brings the same.
    let new = Ferry::new();
    new.add_syncro("acme", &sim);
    assert_eq!(new.json(&["sync", "acme"])["status"], "succeeded");
    assert_same(&old.mirror(), &new.mirror(), "mirror of the 0.3.0 build and the bundled one");
    assert_same(&old.documentation(), &new.documentation(), "documentation of the 0.3.0 build and the bundled one");

    let fixture_path = fixture("syncro-0.3.0.wasm");
    let settings = syncro_settings(&sim);
    let mut args = vec!["--json", "plugin", "check", &fixture_path];
    args.extend(settings.iter().map(String::as_str));
    let check = old.run(&args);
    assert_eq!(check.json()["passed"], true, "{}", check.stdout);
    assert_eq!(check.json()["report"]["contract"], "0.3.0", "{}", check.stdout);
}

/// Ferry with the probe installed and one probe integration in `mode`.
fn probe(ferry: &Ferry, sim: &Sim, name: &str, mode: &str) {
    ferry.run(&["plugin", "install", artifact("ferry_test_probe").to_str().unwrap_or_default()]).ok();
    let base = format!("base_url={}", sim.base_url());
    let account = format!("account={name}");
    let mode = format!("mode={mode}");
    ferry
        .run(&["integration", "add", name, "--plugin", "probe", "--set", &base, "--set", &account, "--set", &mode])
        .ok();
}

/// The marker the probe's `state` mode writes into its one company name.
fn state_marker(ferry: &Ferry) -> String {
    let conn = rusqlite::Connection::open(&ferry.db).expect("open db");
    conn.query_row(
        "SELECT COALESCE(json_extract(data, '$.record.name'), json_extract(data, '$.name')) FROM mirror
          WHERE stream = 'companies' AND deleted_at IS NULL",
        [],
        |r| r.get::<_, String>(0),
    )
    .expect("one probe company")
}

#[test]
fn connector_state_is_kept_sealed_masked_capped_and_cleared_with_the_config() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    probe(&ferry, &sim, "stateful", "state");

    // A fresh integration has no state; `check` keeps a session.
    let tested = ferry.run(&["integration", "test", "stateful"]).ok();
    assert!(tested.all().contains("session before: none"), "{}", tested.all());

    // Another process, another call: `read` finds it. The value that
    // expired at once is gone, the cap and bad keys are refused.
    let run = ferry.run(&["-v", "--json", "sync", "stateful"]).ok();
    assert_eq!(state_marker(&ferry), "session-kept gone-none cap-refused-65536 key-refused");
    // The connector logged the value: masked like a secret.
    let value = "probe-session-stateful";
    assert!(run.stderr.contains("probe session value"), "{}", run.stderr);
    assert!(!run.all().contains(value), "state values are masked: {}", run.all());
    // Sealed at rest: the value is nowhere in the database files.
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", ferry.db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(!String::from_utf8_lossy(&bytes).contains(value), "{path} holds the value in clear");
        }
    }

    // A config change clears it: the next read finds no session.
    ferry.run(&["integration", "set", "stateful", "count=2"]).ok();
    ferry.run(&["sync", "stateful"]).ok();
    assert_eq!(state_marker(&ferry), "session-none gone-none cap-refused-65536 key-refused");
}

#[test]
fn token_expired_clears_state_and_retries_once_then_is_unauthorized() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    // The first sync keeps a token; the second finds it "expired", and the
    // host's retry (state cleared) fetches a fresh one.
    probe(&ferry, &sim, "once", "expire-once");
    assert_eq!(ferry.json(&["sync", "once"])["status"], "succeeded");
    let again = ferry.json(&["sync", "once"]);
    assert_eq!(again["status"], "succeeded", "{again:#}");

    // A token refused every time: one retry with cleared state, then the
    // credentials are refused, with the usual hint.
    probe(&ferry, &sim, "always", "expire-always");
    let run = ferry.run(&["--json", "sync", "always"]).code(3);
    let report = run.json();
    let error = report["error"].as_str().unwrap_or_default();
    assert!(error.contains("refused the credentials"), "{report:#}");
    assert!(error.contains("state had a token: false"), "the retry saw cleared state: {report:#}");
    assert!(run.all().contains("create new credentials"), "{}", run.all());
}
