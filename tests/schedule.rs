//! Schedules, the daemon, locking and deduplication, incremental syncs and
//! tickets, through the real binary. Time is injected (`FERRY_NOW`); no test
//! sleeps to prove anything, waits are bounded polls.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ferry_sim::Faults;
use serde_json::Value;

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn schedule_add_show_remove_against_a_fixed_clock() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new().with_env("FERRY_NOW", "2026-11-22T10:15:00Z");
    ferry.add_syncro("acme", &sim);

    let shown = ferry.json(&["schedule", "acme", "show"]);
    assert_eq!(shown[0]["cron"], "0 */3 * * *", "new integrations re-sync every 3 hours");
    assert_eq!(shown[0]["mode"], "full");
    let next: Vec<&str> = shown[0]["next"].as_array().expect("next").iter().filter_map(Value::as_str).collect();
    assert_eq!(
        next,
        [
            "2026-11-22T12:00:00+00:00",
            "2026-11-22T15:00:00+00:00",
            "2026-11-22T18:00:00+00:00",
            "2026-11-22T21:00:00+00:00",
            "2026-11-23T00:00:00+00:00"
        ]
    );

    let added = ferry.json(&["schedule", "acme", "add", "30 6 * * 1-5", "--tz", "Europe/Berlin", "--incremental"]);
    let entry = &added[1];
    assert_eq!(entry["tz"], "Europe/Berlin");
    assert_eq!(entry["mode"], "incremental");
    assert_eq!(entry["next"][0], "2026-11-23T06:30:00+01:00", "next weekday 06:30 Berlin");
    assert_eq!(entry["next"].as_array().map(Vec::len), Some(5));

    let bad = ferry.run(&["schedule", "acme", "add", "every morning"]).code(1);
    assert!(bad.stderr.contains("not a valid cron expression") && bad.stderr.contains("hint:"), "{}", bad.stderr);
    let bad = ferry.run(&["schedule", "acme", "add", "0 2 * * *", "--tz", "Mars/Olympus"]).code(1);
    assert!(bad.stderr.contains("time zone"), "{}", bad.stderr);

    let removed = ferry.json(&["schedule", "acme", "remove", "1"]);
    assert_eq!(removed.as_array().map(Vec::len), Some(1));
    assert_eq!(removed[0]["mode"], "incremental");
    ferry.run(&["schedule", "acme", "remove", "7"]).code(1);

    let nightly = ferry.json(&["schedule", "acme", "preset", "nightly", "--tz", "America/Chicago"]);
    assert_eq!(nightly[0]["cron"], "0 2 * * *");
    assert_eq!(nightly[0]["mode"], "full");
    assert_eq!(nightly[0]["next"][0], "2026-11-23T02:00:00-06:00");
    assert_eq!(nightly[1]["cron"], "0 */4 * * *");
    assert_eq!(nightly[1]["mode"], "incremental");
    assert_eq!(nightly[1]["next"][0], "2026-11-22T08:00:00-06:00");
}

#[test]
fn daemon_runs_what_is_due_once_survives_failures_and_records_runs() {
    let world = small_world();
    let sim = syncro_sim(&world);
    let ferry = Ferry::new();
    ferry.add_syncro("good", &sim);
    // Another account (a second tenant) whose token was revoked.
    let other = syncro_sim(&world);
    ferry
        .run(&[
            "integration",
            "add",
            "bad",
            "--plugin",
            "syncro",
            "--set",
            // Another account than `good`'s (a second integration of the
            // same account is refused).
            "subdomain=sim-bad",
            "--set",
            &format!("base_url={}", other.api_url()),
            "--secret",
            "api_key=revoked-token",
        ])
        .ok();
    ferry.unpaced("bad");

    // Nothing is due right after adding.
    let quiet = ferry.json(&["daemon", "--once"]);
    assert_eq!(quiet["fired"].as_array().map(Vec::len), Some(0));

    // Seven hours later: two slots were missed; each integration runs once.
    // One hour after a 3-hourly slot, at least six hours from now: the two
    // minutes added below never reach the next slot, whatever time it is.
    let ahead = chrono::Utc::now() + chrono::Duration::hours(8);
    let slot = ahead.timestamp() - ahead.timestamp().rem_euclid(3 * 3600);
    let later = chrono::DateTime::from_timestamp(slot + 3600, 0).expect("time").to_rfc3339();
    let ferry = Ferry { env: vec![("FERRY_NOW".into(), later.clone())], ..ferry };
    let summary = ferry.json(&["daemon", "--once"]);
    let fired = summary["fired"].as_array().expect("fired");
    assert_eq!(fired.len(), 2, "{summary:#}");
    let by = |name: &str| fired.iter().find(|f| f["integration"] == name).expect("fired").clone();
    assert_eq!(by("good")["status"], "succeeded");
    assert_eq!(by("good")["trigger"], "daemon-start");
    assert_eq!(by("bad")["status"], "failed", "a failing integration is recorded, the daemon carries on");
    let runs = ferry.json(&["runs"]);
    assert_eq!(runs.as_array().map(Vec::len), Some(2));
    assert!(runs.as_array().expect("runs").iter().all(|r| r["trigger"] == "daemon-start"));

    // Run again at the same clock: already done.
    let again = ferry.json(&["daemon", "--once"]);
    assert_eq!(again["fired"].as_array().map(Vec::len), Some(0));

    // A schedule changed in the database is picked up by the next pass.
    ferry.json(&["schedule", "good", "add", "* * * * *"]);
    let minute_later =
        (chrono::DateTime::parse_from_rfc3339(&later).expect("time") + chrono::Duration::seconds(150)).to_rfc3339();
    let ferry = Ferry { env: vec![("FERRY_NOW".into(), minute_later)], ..ferry };
    let next = ferry.json(&["daemon", "--once"]);
    let fired = next["fired"].as_array().expect("fired");
    assert_eq!(fired.len(), 1, "{next:#}");
    assert_eq!(fired[0]["integration"], "good");
    // `--once` finds everything at its start, so it reports a missed slot.
    assert_eq!(fired[0]["trigger"], "daemon-start");
}

#[test]
fn two_syncs_of_one_integration_never_run_at_once() {
    let sim = syncro_sim(&small_world());
    sim.set_faults(Faults { delay_ms: 150, ..Faults::default() });
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    let mut first =
        ferry.command(&["--json", "sync", "acme"]).stdout(std::process::Stdio::piped()).spawn().expect("spawn");
    wait_until("the first sync to take the lock", Duration::from_secs(60), || {
        ferry.count("SELECT COUNT(*) FROM locks") == 1
    });
    let second = ferry.run(&["sync", "acme"]).code(5);
    assert!(second.stderr.contains("already syncing"), "{}", second.stderr);
    assert!(second.stderr.contains("--wait"), "{}", second.stderr);
    let status = first.wait().expect("first sync");
    assert!(status.success());
    assert_eq!(ferry.count("SELECT COUNT(*) FROM locks"), 0, "the lock is released");
    assert_eq!(ferry.json(&["runs", "acme"]).as_array().map(Vec::len), Some(1), "only one run happened");
}

#[test]
fn a_repeat_within_two_minutes_returns_the_earlier_run() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    let dedup = Ferry { env: vec![("FERRY_DEDUP_SECONDS".into(), "120".into())], ..ferry };
    let first = dedup.json(&["sync", "acme"]);
    let run = dedup.run(&["--json", "sync", "acme"]).ok();
    let repeat = run.json();
    assert_eq!(repeat["deduplicated_from"], first["run_id"]);
    assert!(run.stderr.contains("--force"));
    assert_eq!(dedup.json(&["runs", "acme"]).as_array().map(Vec::len), Some(1));
    // A different scope is a different sync; --force always runs.
    dedup.json(&["sync", "acme", "--incremental"]);
    dedup.json(&["sync", "acme", "--force"]);
    assert_eq!(dedup.json(&["runs", "acme"]).as_array().map(Vec::len), Some(3));
}

/// The run a `--json sync` report repeats (null when it really ran).
fn repeated(report: &Value) -> Value {
    report["deduplicated_from"].clone()
}

#[test]
fn only_a_success_with_the_same_config_is_repeated_and_reset_always_runs() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new().with_env("FERRY_DEDUP_SECONDS", "120");
    let mut add = vec!["integration", "add", "acme", "--plugin", "syncro"];
    let settings = syncro_settings(&sim);
    let wrong = settings.iter().map(|s| if s.starts_with("api_key=") { "api_key=wrong-key-0000" } else { s.as_str() });
    add.extend(wrong);
    ferry.run(&add).ok();
    ferry.unpaced("acme");

    // A failure is never replayed: the same wrong key runs (and fails) again.
    let first = ferry.run(&["--json", "sync", "acme"]).code(3).json();
    let again = ferry.run(&["--json", "sync", "acme"]).code(3).json();
    assert!(repeated(&again).is_null(), "a failed run is not repeated: {again:#}");
    assert_ne!(again["run_id"], first["run_id"]);

    // The key fixed: the sync runs and succeeds.
    ferry.run(&["integration", "set", "acme", "--secret", &format!("api_key={SYNCRO_TOKEN}")]).ok();
    let fixed = ferry.json(&["sync", "acme"]);
    assert!(repeated(&fixed).is_null(), "{fixed:#}");
    assert_eq!(fixed["status"], "succeeded");
    // Now, and only now, a repeat is answered with that run.
    let repeat = ferry.json(&["sync", "acme"]);
    assert_eq!(repeated(&repeat), fixed["run_id"]);

    // Removed and added again: the documentation comes back with the next
    // sync, which is never answered with the run from before the removal.
    ferry.run(&["integration", "remove", "acme", "--yes"]).ok();
    let mut readd = vec!["integration", "add", "acme", "--plugin", "syncro"];
    readd.extend(settings.iter().map(String::as_str));
    ferry.run(&readd).ok();
    let back = ferry.json(&["sync", "acme"]);
    assert!(repeated(&back).is_null(), "re-added: {back:#}");
    assert!(ferry.json(&["asset", "list"]).as_array().is_some_and(|a| !a.is_empty()), "documentation is back");

    // Another option, config value or key is another sync.
    ferry.run(&["rules", "acme", "option", "auto-archive"]).ok();
    let after_option = ferry.json(&["sync", "acme"]);
    assert!(repeated(&after_option).is_null(), "an option changed: {after_option:#}");
    assert_eq!(repeated(&ferry.json(&["sync", "acme"])), after_option["run_id"]);
    ferry.run(&["integration", "set", "acme", "subdomain=sim2", "--secret", &format!("api_key={SYNCRO_TOKEN}")]).ok();
    assert!(repeated(&ferry.json(&["sync", "acme"])).is_null(), "a config value changed");

    // `--reset` always runs, and clears: every ticket is fetched anew.
    let tickets = ferry.json(&["sync", "acme", "--stream", "tickets"]);
    assert!(repeated(&tickets).is_null());
    let reset = ferry.json(&["sync", "acme", "--stream", "tickets", "--reset"]);
    assert!(repeated(&reset).is_null(), "--reset is never answered with an earlier run: {reset:#}");
    assert_eq!(reset["streams"][0]["created"], sim.records("tickets").len(), "{reset:#}");
    // `--force` always runs.
    assert!(repeated(&ferry.json(&["sync", "acme", "--stream", "tickets", "--reset", "--force"])).is_null());
    let runs = ferry.json(&["runs", "acme", "--limit", "100"]);
    assert_eq!(runs.as_array().map(Vec::len), Some(9), "{runs:#}");
}

/// A run whose listing was stitched from an interrupted one says deletions
/// wait for the next listing: a sync run right after it is that listing,
/// never a replay of it (black-box attack, 30 November). A replay shows how
/// long the repeated run took, not "0 ms".
#[test]
fn a_run_that_left_deletions_for_the_next_listing_is_not_repeated() {
    let sim =
        syncro_sim_with(&small_world(), ferry_sim::syncro::SyncroOptions { assets_per_page: 3, ..Default::default() });
    let ferry = Ferry::new().with_env("FERRY_DEDUP_SECONDS", "120");
    ferry.add_syncro("acme", &sim);
    let cut = ferry
        .command(&["--json", "sync", "acme", "--stream", "assets"])
        .env("FERRY_STREAM_MAX_PAGES", "1")
        .output()
        .expect("run ferry");
    assert_eq!(cut.status.code(), Some(3), "{}", String::from_utf8_lossy(&cut.stdout));
    let stitched = ferry.json(&["sync", "acme", "--stream", "assets"]);
    assert_eq!(stitched["status"], "succeeded", "{stitched:#}");
    assert!(stitched["streams"][0]["note"].as_str().is_some_and(|n| n.contains("deletions wait")), "{stitched:#}");

    let next = ferry.json(&["sync", "acme", "--stream", "assets"]);
    assert!(repeated(&next).is_null(), "the listing the note asked for ran: {next:#}");
    assert!(next["streams"][0]["note"].is_null(), "{next:#}");
    let again = ferry.json(&["sync", "acme", "--stream", "assets"]);
    assert_eq!(repeated(&again), next["run_id"], "a run without a note is repeated");
    assert!(again["elapsed_ms"].as_u64().is_some_and(|ms| ms > 0), "the repeated run's own time: {again:#}");
}

#[test]
fn incremental_syncro_tickets_ask_only_for_changes() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    let touched = sim.touch("tickets", 2);
    sim.clear_requests();
    let report = ferry.json(&["sync", "acme", "--incremental"]);
    let tickets =
        report["streams"].as_array().and_then(|s| s.iter().find(|x| x["stream"] == "tickets")).expect("tickets");
    assert_eq!(tickets["fetched"], 2, "{tickets}");
    assert_eq!(tickets["updated"], 2);
    let requests = sim.requests();
    let ticket_requests: Vec<_> = requests.iter().filter(|r| r.path.ends_with("/tickets")).collect();
    assert!(ticket_requests.iter().all(|r| r.param("since_updated_at").is_some()), "{ticket_requests:?}");
    // Streams Syncro cannot filter are read whole, documented, and prove no deletion.
    assert!(requests.iter().any(|r| r.path.ends_with("/customers") && r.param("since_updated_at").is_none()));
    assert!(report["streams"].as_array().expect("streams").iter().all(|s| s["deleted"] == 0));
    assert_eq!(touched.len(), 2);
}

#[test]
fn tickets_exclusions_stages_and_reset() {
    let world = small_world();
    let sim = syncro_sim(&world);
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);

    let statuses = ferry.json(&["tickets", "acme", "statuses"]);
    let list = statuses.as_array().expect("statuses");
    assert!(list.iter().any(|s| s["status"] == "Resolved" && s["closed"] == true && s["stage"] == "Resolved"));
    assert!(list.iter().any(|s| s["status"] == "In Progress" && s["stage"] == "Working"));
    assert!(list.iter().any(|s| s["status"] == "Customer Reply" && s["stage"] == "Triaged"));

    let all = ferry.json(&["ticket", "list"]);
    let n = all.as_array().map(Vec::len).unwrap_or(0);
    assert!(n > 0);
    let invoiced = all.as_array().expect("tickets").iter().filter(|t| t["status"] == "Invoiced").count();
    assert!(invoiced > 0, "the world has invoiced tickets");

    ferry.run(&["tickets", "acme", "exclude", "Invoiced", "--apply"]).ok();
    let now = ferry.json(&["ticket", "list"]);
    assert_eq!(now.as_array().map(Vec::len), Some(n - invoiced));
    assert!(!now.as_array().expect("tickets").iter().any(|t| t["status"] == "Invoiced"));

    ferry.run(&["tickets", "acme", "stage", "Working", "Scheduled", "Waiting for Parts", "--apply"]).ok();
    ferry.run(&["tickets", "acme", "closed", "Waiting on Customer", "--apply"]).ok();
    for t in ferry.json(&["ticket", "list"]).as_array().expect("tickets") {
        match t["status"].as_str().unwrap_or("") {
            "Scheduled" | "Waiting for Parts" => assert_eq!(t["stage"], "Working"),
            "Waiting on Customer" => assert_eq!(t["closed"], true),
            "Resolved" => assert_eq!(t["stage"], "Resolved"),
            _ => {}
        }
    }
    let open = ferry.json(&["ticket", "list", "--open"]);
    assert!(open.as_array().expect("open").iter().all(|t| t["closed"] == false));
    let resolved = ferry.json(&["ticket", "list", "--stage", "resolved"]);
    assert!(resolved.as_array().expect("resolved").iter().all(|t| t["stage"] == "Resolved"));
    // Not a stage: refused by the argument parser, which lists the stages.
    let someday = ferry.run(&["ticket", "list", "--stage", "Someday"]).code(2);
    assert!(someday.stderr.contains("Working"), "{}", someday.stderr);

    // Clear & resync: only this integration's tickets, refetched.
    let before = ferry.json(&["ticket", "list"]).as_array().map(Vec::len);
    sim.clear_requests();
    let reset = ferry.json(&["sync", "acme", "--stream", "tickets", "--reset"]);
    let tickets = &reset["streams"][0];
    assert_eq!(tickets["stream"], "tickets");
    assert_eq!(tickets["created"], tickets["fetched"], "everything fetched anew");
    assert!(sim.requests().iter().all(|r| r.path.ends_with("/tickets")), "quick sync reads tickets only");
    assert_eq!(ferry.json(&["ticket", "list"]).as_array().map(Vec::len), before);
    let refused = ferry.run(&["sync", "acme", "--reset"]).code(1);
    assert!(refused.stderr.contains("--stream tickets"));
}

#[test]
fn daemon_stops_cleanly_on_sigterm_and_the_next_sync_resumes() {
    let world = small_world();
    let sim = syncro_sim_with(&world, ferry_sim::syncro::SyncroOptions { contacts_per_page: 3, ..Default::default() });
    sim.set_faults(Faults { delay_ms: 100, ..Faults::default() });
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    let later = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    let daemon = Ferry { env: vec![("FERRY_NOW".into(), later)], ..ferry };
    let mut child = daemon.command(&["daemon"]).spawn().expect("spawn daemon");
    wait_until("the scheduled sync to be under way", Duration::from_secs(60), || {
        daemon.count("SELECT COUNT(*) FROM mirror WHERE stream = 'contacts'") >= 3
    });
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = child.wait().expect("daemon exits");
    assert!(status.success(), "clean exit: {status:?}");
    let runs = daemon.json(&["runs", "acme"]);
    assert_eq!(runs[0]["status"], "interrupted", "{runs:#}");
    assert_eq!(daemon.count("SELECT COUNT(*) FROM locks"), 0);
    let pages_before: u64 = runs[0]["stream_results"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["stream"] == "contacts"))
        .and_then(|x| x["pages"].as_u64())
        .unwrap_or(0);

    // The next sync resumes the interrupted listing rather than starting over.
    sim.set_faults(Faults::default());
    let report = daemon.json(&["sync", "acme"]);
    assert_eq!(report["status"], "succeeded");
    let contacts =
        report["streams"].as_array().and_then(|s| s.iter().find(|x| x["stream"] == "contacts")).expect("contacts");
    let total_pages = sim.records("contacts").len().div_ceil(3) as u64;
    if pages_before > 0 {
        assert!(contacts["pages"].as_u64().unwrap_or(0) < total_pages, "resumed: {contacts}");
    }
    assert_eq!(
        daemon.count("SELECT COUNT(*) FROM mirror WHERE stream = 'contacts' AND deleted_at IS NULL"),
        sim.records("contacts").len() as i64
    );
}
