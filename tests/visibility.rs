//! What an author or operator can see: every outbound request at `-v` and
//! per run (`runs show ID --requests`), config defaults in `plugin inspect`,
//! the expanded allowlist in `integration show`, `plugin check` and
//! `plugin export` by connector id, the wrong-credentials check, and
//! rate-limit hints that state the actual wait.

mod common;

use common::*;
use ferry_sim::faults::{FailNext, Faults};

#[test]
fn every_request_is_logged_at_v_and_kept_per_run_without_secrets() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("s", &sim);
    let run = ferry.run(&["-v", "--json", "sync", "s"]).ok();
    let report = run.json();
    let first = format!("HTTP GET {}/customers?include_disabled=true&page=1 → 200 in ", sim.api_url());
    assert!(run.stderr.contains(&first), "{}", run.stderr);
    assert!(!run.all().contains(SYNCRO_TOKEN), "the token is never shown");

    let id = report["run_id"].as_i64().expect("run id");
    let shown = ferry.json(&["runs", "show", &id.to_string(), "--requests"]);
    let requests = shown["requests"].as_array().expect("requests listed");
    assert_eq!(requests.len() as u64, report["http"]["requests"].as_u64().expect("count"), "one row per request");
    let customers = &requests
        .iter()
        .find(|r| r["url"].as_str().is_some_and(|u| u.contains("/customers?")))
        .expect("a customers request");
    assert_eq!(customers["method"], "GET");
    assert_eq!(customers["status"], 200);
    assert!(customers["bytes"].as_u64().is_some_and(|b| b > 0) && customers["millis"].is_u64());
    let text = ferry.run(&["runs", "show", &id.to_string(), "--requests"]).ok();
    assert!(text.stdout.contains("/customer_assets?page=1"), "{}", text.stdout);
    assert!(!ferry.json(&["runs", "show", &id.to_string()]).as_object().is_some_and(|o| o.contains_key("requests")));
}

#[test]
fn inspect_shows_defaults_and_show_lists_the_allowed_origins() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    let inspect = ferry.run(&["plugin", "inspect", "cw-manage"]).ok();
    let codebase = inspect.stdout.lines().find(|l| l.starts_with("codebase")).unwrap_or_default().to_string();
    assert!(codebase.contains("v4_6_release"), "{}", inspect.stdout);

    ferry.add_syncro("s", &sim);
    let shown = ferry.json(&["integration", "show", "s"]);
    let origins: Vec<&str> =
        shown["allowed_origins"].as_array().expect("origins").iter().filter_map(|o| o.as_str()).collect();
    assert_eq!(origins, ["https://sim.syncromsp.com:443", sim.base_url().as_str()]);
    let text = ferry.run(&["integration", "show", "s"]).ok();
    assert!(text.stdout.contains("https://sim.syncromsp.com"), "{}", text.stdout);
}

#[test]
fn plugin_check_and_export_take_a_bundled_id() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    let mut args = vec!["--json", "plugin", "check", "syncro"];
    let settings = syncro_settings(&sim);
    args.extend(settings.iter().map(String::as_str));
    let report = ferry.run(&args).ok().json();
    assert_eq!(report["passed"], true, "{report:#}");

    let file = ferry.dir.path().join("syncro.wasm");
    ferry.run(&["plugin", "export", "syncro", file.to_str().unwrap_or_default()]).ok();
    let bytes = std::fs::read(&file).expect("exported");
    assert_eq!(
        bytes,
        std::fs::read(artifact("ferry_syncro")).expect("artifact"),
        "the bundled component, byte for byte"
    );
    assert_eq!(ferry.json(&["plugin", "inspect", file.to_str().unwrap_or_default()])["id"], "syncro");

    let missing = ferry.run(&["plugin", "export", "no-such", file.to_str().unwrap_or_default()]);
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains("no-such"), "{}", missing.stderr);
}

#[test]
fn wrong_credentials_must_be_refused_as_unauthorized() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    let base = format!("base_url={}", sim.base_url());
    let probe = artifact("ferry_test_probe");
    let run = ferry.run(&[
        "--json",
        "plugin",
        "check",
        probe.to_str().unwrap_or_default(),
        "--set",
        "mode=wrong-token-not-found",
        "--set",
        &base,
        "--secret",
        "token=abcd",
    ]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let report = run.json();
    let line = report["report"]["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|x| x["name"] == "check with wrong credentials"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(line["outcome"], "fail", "{report:#}");
    assert!(line["detail"].as_str().is_some_and(|d| d.contains("`not-found`") && d.contains("unauthorized")), "{line}");
}

#[test]
fn a_long_retry_after_is_stated_in_the_hint() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("s", &sim);
    sim.set_faults(Faults {
        fail_next: Some(FailNext { status: 429, count: 1000, retry_after: Some(297) }),
        ..Faults::default()
    });
    let run = ferry.run(&["integration", "test", "s"]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.all().contains("about 5 minutes"), "{}", run.all());
    assert!(!run.all().contains("wait a minute"), "{}", run.all());
}
