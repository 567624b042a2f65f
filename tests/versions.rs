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
    let check = old.run(&[
        "--json",
        "plugin",
        "check",
        &fixture("syncro-0.1.0.wasm"),
        "--set",
        "subdomain=sim",
        "--set",
        &format!("base_url={}", sim.api_url()),
        "--secret",
        &format!("api_key={SYNCRO_TOKEN}"),
    ]);
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
