//! Contract versioning in practice: a connector built against
//! `ferry:connector@0.1.0` keeps loading and syncing after the contract
//! moved on, and a connector for a version Ferry does not know is refused
//! with the reason.

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
    assert_eq!(new.json(&["plugin", "inspect", "syncro"])["contract"], "0.2.0");
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
    assert!(run.stderr.contains("0.2.0, 0.1.0"), "names what this Ferry loads: {}", run.stderr);
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

    // Same build: the next sync goes on from page 2.
    let same = Ferry::new();
    same.add_syncro("acme", &sim);
    stop_early(&same);
    let resumed = same.json(&["sync", "acme", "--stream", "assets", "--force"]);
    assert_eq!(resumed["status"], "succeeded", "{resumed:#}");
    assert_eq!(assets_pages(&resumed), Some(serde_json::json!(total_pages - 1)), "{resumed:#}");

    // Another build installed in between: its listing starts over.
    let upgraded = Ferry::new();
    upgraded.add_syncro("acme", &sim);
    stop_early(&upgraded);
    upgraded.json(&["plugin", "install", &fixture("syncro-0.1.0.wasm")]);
    let restarted = upgraded.json(&["sync", "acme", "--stream", "assets", "--force"]);
    assert_eq!(restarted["status"], "succeeded", "{restarted:#}");
    assert_eq!(assets_pages(&restarted), Some(serde_json::json!(total_pages)), "{restarted:#}");
}
