//! A flaky PSA never costs data: retries, rate limiting, clear errors,
//! partial runs, crash consistency, secrets that never show, and bad
//! operator input that changes nothing.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ferry_sim::faults::{FailNext, RateLimit};
use ferry_sim::syncro::SyncroOptions;
use ferry_sim::{Faults, Scale, World};
use serde_json::Value;

fn fast_retries() -> Ferry {
    Ferry::new().with_env("FERRY_RETRY_BASE_MS", "10")
}

/// What the documentation looks like, independent of ids and timestamps.
fn state(ferry: &Ferry) -> Vec<String> {
    let (live, archived) = ferry.assets();
    let mut out: Vec<String> = live
        .iter()
        .map(|a| format!("{}|{}|{}|live", a["company"], a["layout"], a["name"]))
        .chain(archived.iter().map(|a| format!("{}|{}|{}|archived", a["company"], a["layout"], a["name"])))
        .collect();
    for c in ferry.json(&["company", "list", "--archived"]).as_array().cloned().unwrap_or_default() {
        out.push(format!("company|{}|{}", c["name"], c["archived_at"].is_null()));
    }
    out.sort();
    out
}

#[test]
fn retries_ride_out_429s_5xx_bursts_and_resets() {
    let sim = syncro_sim(&small_world());
    let ferry = fast_retries();
    ferry.add_syncro("acme", &sim);
    let cases = [
        Faults { fail_next: Some(FailNext { status: 429, count: 3, retry_after: None }), ..Faults::default() },
        Faults { fail_next: Some(FailNext { status: 429, count: 2, retry_after: Some(1) }), ..Faults::default() },
        Faults { fail_next: Some(FailNext { status: 503, count: 3, retry_after: None }), ..Faults::default() },
        Faults { fail_next: Some(FailNext { status: 502, count: 2, retry_after: None }), ..Faults::default() },
        Faults { fail_next: Some(FailNext { status: 500, count: 2, retry_after: None }), ..Faults::default() },
        Faults { reset_connections: 2, ..Faults::default() },
    ];
    for faults in cases {
        sim.set_faults(faults.clone());
        let started = Instant::now();
        let report = ferry.json(&["sync", "acme"]);
        assert_eq!(report["status"], "succeeded", "{faults:?}: {report:#}");
        assert!(report["http"]["retries"].as_u64().unwrap_or(0) >= 2, "{faults:?}: {}", report["http"]);
        if let Some(FailNext { status: 429, count, retry_after }) = faults.fail_next {
            assert_eq!(report["http"]["rate_limited"], count);
            // Each 429 holds the integration for its Retry-After (1 s).
            // Syncro's streams start together, so the two 429s may come
            // back at once and be waited out together: at least one second.
            if retry_after.is_some() {
                assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After honoured");
            }
            // The run says its pace was lowered, once for the burst.
            let slowed = &report["http"]["slowed_to"];
            assert!(slowed["allowed"].as_u64() < slowed["of"].as_u64(), "{}", report["http"]);
        } else {
            assert!(report["http"].get("slowed_to").is_none(), "{faults:?}: {}", report["http"]);
        }
    }
    assert_eq!(ferry.json(&["runs", "acme"]).as_array().map(Vec::len), Some(6));
    // And in words, below the summary.
    sim.set_faults(Faults {
        fail_next: Some(FailNext { status: 429, count: 2, retry_after: Some(1) }),
        ..Faults::default()
    });
    let said = ferry.run(&["sync", "acme", "--force"]).ok();
    assert!(said.stdout.contains("the PSA's 429s slowed the pace to"), "{}", said.stdout);
}

#[test]
fn timeouts_fail_clearly_and_archive_nothing_then_the_next_sync_completes() {
    let sim = syncro_sim(&small_world());
    let ferry = fast_retries().with_env("FERRY_HTTP_TIMEOUT_SECONDS", "1").with_env("FERRY_HTTP_MAX_RETRIES", "0");
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    ferry.run(&["rules", "acme", "option", "auto-archive"]).ok();
    let gone = sim.records("assets")[0].clone();
    assert!(sim.remove("assets", &gone["id"].to_string()));
    let before = ferry.docs_fingerprint();

    sim.set_faults(Faults { delay_ms: 1500, ..Faults::default() });
    let run = ferry.run(&["--json", "sync", "acme"]).code(3);
    let report = run.json();
    assert!(report["error"].as_str().is_some_and(|e| e.contains("did not answer in time")), "{report:#}");
    assert_eq!(ferry.docs_fingerprint(), before, "nothing archived, nothing changed");

    sim.set_faults(Faults::default());
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");
    assert!(
        ferry.assets().1.iter().any(|a| a["name"] == gone["name"]),
        "archived once a complete listing proved it gone"
    );
}

#[test]
fn malformed_and_truncated_json_make_a_partial_run_and_the_next_completes() {
    for faults in [Faults { malformed_json: 1, ..Faults::default() }, Faults { truncated_json: 1, ..Faults::default() }]
    {
        let sim = syncro_sim(&small_world());
        let ferry = fast_retries();
        ferry.add_syncro("acme", &sim);
        // One request at a time: the broken answer is the run's first, one
        // Ferry needs (with several in flight it may be a guessed page past
        // a listing's end, rightly dropped unread).
        ferry.run(&["rules", "acme", "option", "concurrency=1"]).ok();
        ferry.json(&["sync", "acme"]);
        ferry.run(&["rules", "acme", "option", "auto-archive"]).ok();
        let reference = state(&ferry);
        sim.set_faults(faults.clone());
        let run = ferry.run(&["--json", "sync", "acme"]).code(4);
        let report = run.json();
        assert_eq!(report["status"], "partial");
        let failed: Vec<&Value> =
            report["streams"].as_array().expect("streams").iter().filter(|s| s["status"] == "failed").collect();
        assert_eq!(failed.len(), 1, "{report:#}");
        assert!(failed[0]["error"].as_str().is_some_and(|e| e.contains("did not parse")), "{}", failed[0]);
        assert_eq!(state(&ferry), reference, "nothing archived by a partial run");
        sim.set_faults(Faults::default());
        assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");
        assert_eq!(state(&ferry), reference);
    }
}

#[test]
fn duplicates_across_pages_and_vanishing_records_converge() {
    let world = small_world();
    let options = SyncroOptions { contacts_per_page: 4, assets_per_page: 4, ..SyncroOptions::default() };
    let clean = syncro_sim_with(&world, options.clone());
    let reference = fast_retries();
    reference.add_syncro("acme", &clean);
    reference.json(&["sync", "acme"]);

    let sim = syncro_sim_with(&world, options);
    sim.set_faults(Faults { duplicate_across_pages: true, ..Faults::default() });
    let ferry = fast_retries();
    ferry.add_syncro("acme", &sim);
    let report = ferry.json(&["sync", "acme"]);
    assert_eq!(report["status"], "succeeded");
    let assets =
        report["streams"].as_array().and_then(|s| s.iter().find(|x| x["stream"] == "assets")).expect("assets").clone();
    assert!(assets["fetched"].as_u64() > assets["created"].as_u64(), "duplicates were fetched: {assets}");
    assert_eq!(assets["created"], sim.records("assets").len());
    assert_eq!(state(&ferry), state(&reference));

    // A record on page 2 vanishes while the listing runs: it is gone from
    // that listing, marked deleted in the mirror, archived only with
    // auto-archive (off here), and back with the next listing.
    let victim = sim.records("contacts")[6]["id"].to_string();
    sim.set_faults(Faults { vanish_after_first_page: Some(victim.clone()), ..Faults::default() });
    ferry.json(&["sync", "acme"]);
    assert_eq!(state(&ferry), state(&reference), "nothing archived without auto-archive");
    sim.set_faults(Faults::default());
    let again = ferry.json(&["sync", "acme"]);
    assert_eq!(again["status"], "succeeded");
    assert_eq!(
        ferry.count(&format!("SELECT COUNT(*) FROM mirror WHERE external_id = '{victim}' AND deleted_at IS NULL")),
        1
    );
    assert_eq!(state(&ferry), state(&reference));
}

/// A Syncro whose 180/min is scaled to 10 per 3 s so the tests stay short,
/// and a Ferry whose integration's budget says the same (200/min, counted
/// over 3 s). Ferry sends what fits the window at once, so it must count
/// the window as the PSA does.
fn syncro_at_ten_per_three_seconds() -> (Sim, Ferry) {
    let world = small_world();
    let sim =
        syncro_sim_with(&world, SyncroOptions { contacts_per_page: 3, assets_per_page: 3, ..SyncroOptions::default() });
    sim.set_faults(Faults {
        rate_limit: Some(RateLimit { requests: 10, window_secs: 3, retry_after: false }),
        ..Faults::default()
    });
    let ferry = Ferry::new().with_env("FERRY_RATE_WINDOW_SECONDS", "3");
    ferry.add_syncro("acme", &sim);
    ferry.run(&["rules", "acme", "option", "requests-per-minute=200"]).ok();
    (sim, ferry)
}

/// The most requests the simulator saw in any 3-second window.
fn busiest_three_seconds(sim: &Sim) -> usize {
    let times: Vec<u64> = sim.requests().iter().map(|r| r.at_ms).collect();
    times.iter().map(|t| times.iter().filter(|u| **u >= *t && **u < t + 3000).count()).max().unwrap_or(0)
}

#[test]
fn the_rate_limiter_keeps_syncro_under_its_limit() {
    let (sim, ferry) = syncro_at_ten_per_three_seconds();
    let report = ferry.json(&["sync", "acme"]);
    assert_eq!(report["status"], "succeeded");
    let requests = sim.requests();
    assert!(requests.len() >= 20, "a sync of {} requests", requests.len());
    assert_eq!(report["http"]["rate_limited"], 0, "no 429s");
    assert!(requests.iter().all(|r| r.status != 429));
    let busiest = busiest_three_seconds(&sim);
    assert!(busiest <= 10, "{busiest} requests in one window");
    // The run says how long its requests waited for the window.
    assert!(report["http"]["window_wait_ms"].as_u64().is_some_and(|ms| ms > 0), "{}", report["http"]);
}

#[test]
fn runs_back_to_back_share_the_psa_window_and_meet_no_429() {
    // The PSA counts 10 requests per 3 s whoever sends them; each run alone
    // fits its own pacing, so only a window kept from the run before keeps
    // the second run (started at once, another process) out of the 429s.
    let (sim, ferry) = syncro_at_ten_per_three_seconds();
    for mode in ["--full", "--full"] {
        let report = ferry.json(&["sync", "acme", mode]);
        assert_eq!(report["status"], "succeeded");
        assert_eq!(report["http"]["rate_limited"], 0, "no 429s in any run");
    }
    let requests = sim.requests();
    assert!(requests.len() >= 40, "two runs of {} requests", requests.len());
    assert!(requests.iter().all(|r| r.status != 429));
    let busiest = busiest_three_seconds(&sim);
    assert!(busiest <= 10, "{busiest} requests in one window across runs");
    // What the next run starts from is in the database, not in a process.
    assert_eq!(ferry.count("SELECT COUNT(*) FROM rate_windows"), 1);
    // Kept but unreadable (a damaged database): the window is taken as
    // full, not as empty; the run waits for it, says so, and meets no 429.
    let conn = rusqlite::Connection::open(&ferry.db).expect("open db");
    conn.execute("UPDATE rate_windows SET kept = 'not json'", []).expect("damage the kept window");
    drop(conn);
    let report = ferry.json(&["sync", "acme", "--full"]);
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["http"]["rate_limited"], 0, "{}", report["http"]);
    assert!(report["http"]["window_wait_ms"].as_u64().is_some_and(|ms| ms >= 3000), "{}", report["http"]);
    assert!(sim.requests().iter().all(|r| r.status != 429));
}

#[test]
fn sigkill_mid_page_and_mid_apply_leaves_a_consistent_database_that_converges() {
    let world = World::generate(
        23,
        &Scale { companies: 30, contacts_per_company: 4, assets_per_company: 12, tickets_per_company: 1 },
    );
    let options = SyncroOptions { contacts_per_page: 5, assets_per_page: 5, ..SyncroOptions::default() };
    let sim = syncro_sim_with(&world, options);
    let reference = Ferry::new();
    reference.add_syncro("acme", &sim);
    reference.json(&["sync", "acme"]);
    let want = state(&reference);
    let assets_total = reference.count("SELECT COUNT(*) FROM assets");

    // Mid-page: kill while assets are being fetched.
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    sim.set_faults(Faults { delay_ms: 20, ..Faults::default() });
    let mut child = ferry.command(&["sync", "acme"]).stdout(std::process::Stdio::null()).spawn().expect("spawn");
    assert!(
        wait_for(Duration::from_secs(60), || ferry.count("SELECT COUNT(*) FROM mirror WHERE stream = 'assets'") >= 10)
    );
    kill(&mut child);
    assert_eq!(integrity(&ferry), "ok");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM assets"), 0, "no half-applied projection");
    sim.set_faults(Faults::default());
    let resumed = ferry.json(&["sync", "acme"]);
    assert_eq!(resumed["status"], "succeeded");
    let runs = ferry.json(&["runs", "acme"]);
    assert_eq!(runs[1]["status"], "interrupted", "the killed run is recorded as interrupted: {runs:#}");
    assert_eq!(state(&ferry), want);

    // Mid-apply: the test hook holds apply when all its work is done but not
    // committed (it writes the marker, then waits), so the kill provably
    // lands inside apply's transaction.
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    let marker = ferry.dir.path().join("apply-holding");
    let mut child = ferry
        .command(&["sync", "acme"])
        .env("FERRY_TEST_HOLD_APPLY", &marker)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let in_apply = wait_for(Duration::from_secs(120), || marker.exists());
    kill(&mut child);
    assert!(in_apply, "the sync never reached apply");
    std::fs::remove_file(&marker).expect("the marker is there");
    assert_eq!(integrity(&ferry), "ok");
    assert_eq!(
        ferry.count("SELECT COUNT(*) FROM run_streams WHERE status = 'complete'"),
        5,
        "every stream was fetched and committed before apply"
    );
    for table in ["companies", "assets", "cards", "company_links"] {
        assert_eq!(ferry.count(&format!("SELECT COUNT(*) FROM {table}")), 0, "nothing of the killed apply in {table}");
    }
    let applied = ferry.json(&["apply", "acme"]);
    assert_eq!(ferry.count("SELECT COUNT(*) FROM assets"), assets_total, "the next apply completes: {applied:#}");
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");
    assert_eq!(state(&ferry), want);
}

#[test]
fn secrets_never_appear_in_any_output() {
    let world = small_world();
    let syncro = syncro_sim(&world);
    let cw = cw_sim(&world);
    let ferry = Ferry::new().with_env("RUST_LOG", "trace");
    let o = cw_options();
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{}+{}:{}", o.company_id, o.public_key, o.private_key))
    };
    let mut outputs = Vec::new();
    let mut run = |args: &[&str]| {
        let mut full = vec!["-vv"];
        full.extend_from_slice(args);
        let r = ferry.run(&full);
        outputs.push(r.all());
        r
    };
    run(&[
        "integration",
        "add",
        "syncro",
        "--plugin",
        "syncro",
        "--set",
        "subdomain=sim",
        "--set",
        &format!("base_url={}", syncro.api_url()),
        "--secret",
        &format!("api_key={SYNCRO_TOKEN}"),
    ]);
    run(&[
        "integration",
        "add",
        "cw",
        "--plugin",
        "cw-manage",
        "--set",
        "site=cw.example.com",
        "--set",
        &format!("base_url={}", cw.base_url()),
        "--set",
        &format!("company_id={}", o.company_id),
        "--set",
        &format!("public_key={}", o.public_key),
        "--set",
        &format!("client_id={}", o.client_id),
        "--secret",
        &format!("private_key={}", o.private_key),
    ]);
    for name in ["syncro", "cw"] {
        run(&["rules", name, "option", "requests-per-minute=1000000"]);
        run(&["integration", "test", name]);
        run(&["sync", name]);
        run(&["--json", "sync", name, "--incremental"]);
        run(&["integration", "show", name]);
        run(&["--json", "integration", "show", name]);
        run(&["--json", "runs", name]);
    }
    // Failures echo nothing either: a revoked token, a CW 403.
    syncro.set_faults(Faults { revoke_token_after: Some(0), ..Faults::default() });
    run(&["sync", "syncro"]);
    cw.set_faults(Faults { missing_permissions: vec!["configurations".into()], ..Faults::default() });
    run(&["--json", "sync", "cw"]);
    run(&["--json", "runs", "show", "1"]);
    let all = outputs.join("\n");
    assert!(all.contains("TRACE") || all.contains("DEBUG"), "logs were on");
    for secret in [SYNCRO_TOKEN, o.private_key.as_str(), basic.as_str()] {
        assert!(!all.contains(secret), "secret {secret} leaked");
    }
    // `integration show` masks literals.
    assert!(all.contains("********"));
    // The simulators' request logs, as Ferry's tests read them, hold no secrets.
    let logs = format!("{:?}{:?}", syncro.requests(), cw.requests());
    assert!(!logs.contains(SYNCRO_TOKEN) && !logs.contains(&o.private_key));
    // The database file itself is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&ferry.db).expect("db").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn secrets_can_live_in_the_environment() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    let add = ferry.run(&[
        "integration",
        "add",
        "acme",
        "--plugin",
        "syncro",
        "--set",
        "subdomain=sim",
        "--set",
        &format!("base_url={}", sim.api_url()),
        "--secret",
        "api_key=env:ACME_SYNCRO_TOKEN",
    ]);
    add.ok();
    ferry.unpaced("acme");
    let missing = ferry.run(&["sync", "acme"]).code(1);
    assert!(missing.stderr.contains("ACME_SYNCRO_TOKEN") && missing.stderr.contains("hint:"), "{}", missing.stderr);
    let with = Ferry { env: vec![("ACME_SYNCRO_TOKEN".into(), SYNCRO_TOKEN.into())], ..ferry };
    assert_eq!(with.json(&["sync", "acme"])["status"], "succeeded");
    let shown = with.json(&["integration", "show", "acme"]);
    assert!(shown["config"].as_array().expect("config").iter().any(|c| c["value"] == "env:ACME_SYNCRO_TOKEN"));
    let raw = std::fs::read(&with.db).expect("db");
    assert!(!raw.windows(SYNCRO_TOKEN.len()).any(|w| w == SYNCRO_TOKEN.as_bytes()), "an env secret is never stored");
}

#[test]
fn bad_operator_input_is_one_line_and_a_hint_and_changes_nothing() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    ferry.json(&["sync", "acme"]);
    let before = ferry.docs_fingerprint();
    let bytes_before = ferry.json(&["integration", "list"]);
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["sync", "nope"], 1, "integration `nope` not found"),
        (vec!["integration", "add", "x", "--plugin", "no-such-plugin"], 1, "not installed"),
        (vec!["integration", "add", "x", "--plugin", "syncro", "--set", "subdomain"], 1, "not KEY=VALUE"),
        (vec!["integration", "add", "x", "--plugin", "syncro", "--set", "colour=blue"], 1, "no config key `colour`"),
        (vec!["integration", "set", "acme", "=oops"], 1, "not KEY=VALUE"),
        (vec!["rules", "acme", "primary", "No Such Layout"], 1, "no layout"),
        (vec!["asset", "list", "--layout", "No Such Layout"], 1, "not found"),
        (vec!["schedule", "acme", "add", "61 * * * *"], 1, "cron"),
        (vec!["plugin", "remove", "syncro"], 1, "ships with Ferry"),
        (vec!["match", "acme", "set", "nobody", "nothing"], 1, "no PSA company"),
        // A stream name may be a connector's extra stream (contract 0.3), so
        // only the connector can refuse it: the error lists what it offers.
        (vec!["sync", "acme", "--stream", "invoices"], 1, "(it offers: "),
    ];
    for (args, code, needle) in &cases {
        let r = ferry.run(args).code(*code);
        let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            lines.first().is_some_and(|l| l.starts_with("error: ") && l.contains(needle)),
            "{args:?}: {}",
            r.stderr
        );
        assert!(lines.iter().any(|l| l.starts_with("hint: ")), "{args:?} has a hint: {}", r.stderr);
        assert!(lines.len() <= 2, "{args:?}: one line of cause, one of hint: {}", r.stderr);
    }
    // A value outside a fixed set is refused by the argument parser (usage,
    // exit 2), which lists the values there are.
    for (args, listed) in [
        (vec!["match", "acme", "policy", "sometimes"], "review"),
        (vec!["tickets", "acme", "stage", "Closed", "Done"], "Resolved"),
        (vec!["schedule", "acme", "preset", "weekly"], "nightly"),
        (vec!["layout", "add", "Phones", "--identity", "imei"], "mac"),
    ] {
        let r = ferry.run(&args).code(2);
        assert!(r.stderr.contains("invalid value") && r.stderr.contains(listed), "{args:?}: {}", r.stderr);
    }
    // JSON errors are JSON on stderr.
    let j = ferry.run(&["--json", "sync", "nope"]).code(1);
    assert_eq!(j.json_error()["exit_code"], 1);
    assert_eq!(ferry.docs_fingerprint(), before);
    assert_eq!(ferry.json(&["integration", "list"]), bytes_before);

    // A database from a newer Ferry is refused, not touched.
    let newer = Ferry::new();
    {
        let conn = rusqlite::Connection::open(&newer.db).expect("create");
        conn.pragma_update(None, "user_version", 999).expect("version");
    }
    let raw = std::fs::read(&newer.db).expect("read");
    let r = newer.run(&["company", "list"]).code(1);
    assert!(r.stderr.contains("newer Ferry") && r.stderr.contains("upgrade Ferry"), "{}", r.stderr);
    assert_eq!(std::fs::read(&newer.db).expect("read"), raw);

    // A missing or unwritable database folder.
    let missing = ferry.run(&["--db", "/nonexistent/ferry/ferry.db", "company", "list"]).code(1);
    assert!(missing.stderr.contains("does not exist") && missing.stderr.contains("hint:"));
    let readonly = ferry.run(&["--db", "/sys/ferry.db", "company", "list"]).code(1);
    assert!(
        readonly.stderr.contains("cannot open the database") && readonly.stderr.contains("hint:"),
        "{}",
        readonly.stderr
    );
}

/// External ids of the asset cards, archived or not.
fn asset_cards(ferry: &Ferry, archived: bool) -> std::collections::BTreeSet<String> {
    let conn = rusqlite::Connection::open(&ferry.db).expect("open db");
    let sql = format!(
        "SELECT external_id FROM cards WHERE stream = 'assets' AND archived_at IS {} NULL",
        if archived { "NOT" } else { "" }
    );
    let mut stmt = conn.prepare(&sql).expect("prepare");
    stmt.query_map([], |r| r.get::<_, String>(0)).expect("query").map(|r| r.expect("row")).collect()
}

fn stream<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["stream"] == name))
        .unwrap_or_else(|| panic!("no stream {name} in {report:#}"))
}

#[test]
fn a_listing_stitched_from_interrupted_runs_archives_nothing_and_the_next_clean_one_does() {
    const PER_PAGE: usize = 4;
    let sim = syncro_sim_with(&small_world(), SyncroOptions { assets_per_page: PER_PAGE, ..SyncroOptions::default() });
    let ferry = fast_retries();
    ferry.add_syncro("acme", &sim);
    ferry.run(&["rules", "acme", "option", "auto-archive"]).ok();
    // Segments end after a count of requests: one stream at a time makes
    // that count land at a known assets page.
    ferry.run(&["rules", "acme", "option", "concurrency=1"]).ok();
    sim.clear_requests();
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");
    // Requests a full sync makes before its first assets page (the streams
    // before assets do not change here, so every run makes as many).
    let before_assets =
        sim.requests().iter().position(|r| r.path.ends_with("/customer_assets")).expect("assets were listed") as u32;
    let psa = sim.records("assets");
    assert!(psa.len() >= 6 * PER_PAGE, "enough pages: {}", psa.len());
    let inactive = asset_cards(&ferry, true);
    let id = |v: &Value| v["id"].to_string();
    // Live assets among the first two pages: those the first segment reads.
    let early: Vec<String> = psa[..2 * PER_PAGE].iter().map(id).filter(|i| !inactive.contains(i)).collect();
    assert!(early.len() >= 5, "{early:?}");
    let template = psa.iter().find(|a| !inactive.contains(&id(a))).expect("an active asset").clone();
    let new_asset = |n: u64, asset_id: u64| {
        let mut a = template.clone();
        a["id"] = serde_json::json!(asset_id);
        a["name"] = serde_json::json!(format!("NEW-PC-{n}"));
        a["asset_serial"] = serde_json::json!(format!("NEWSERIAL{n}"));
        a
    };
    let base = ferry_sim::syncro::ASSET_ID_BASE;

    // Segment 1: assets pages 1-2, then the token dies.
    sim.set_faults(Faults { revoke_token_after: Some(before_assets + 2), ..Faults::default() });
    assert_eq!(ferry.run(&["--json", "sync", "acme"]).code(3).json()["status"], "failed");
    // The PSA changes under the listing: three read records go, one arrives
    // before them and one at the end, so page 3 now starts two records later.
    let mut removed: Vec<String> = early[..3].to_vec();
    for r in &removed {
        assert!(sim.remove("assets", r));
    }
    assert!(sim.add("assets", &new_asset(1, base - 1)));
    assert!(sim.add("assets", &new_asset(2, base + 100_000)));

    // Segment 2: one more page, then the token dies again; more changes.
    sim.set_faults(Faults { revoke_token_after: Some(before_assets + 1), ..Faults::default() });
    assert_eq!(ferry.run(&["--json", "sync", "acme"]).code(3).json()["status"], "failed");
    removed.extend(early[3..5].iter().cloned());
    for r in &early[3..5] {
        assert!(sim.remove("assets", r));
    }
    assert!(sim.add("assets", &new_asset(3, base - 2)));

    // Segment 3 completes the stitched listing: nothing is marked deleted,
    // nothing archived, and the report says deletions wait.
    sim.set_faults(Faults::default());
    let stitched = ferry.json(&["sync", "acme"]);
    assert_eq!(stitched["status"], "succeeded", "{stitched:#}");
    let assets = stream(&stitched, "assets");
    assert_eq!(assets["status"], "complete");
    assert_eq!(assets["deleted"], 0, "{assets}");
    assert!(
        assets["note"].as_str().is_some_and(|n| n.contains("deletions wait for the next uninterrupted full listing")),
        "{assets}"
    );
    assert_eq!(ferry.count("SELECT COUNT(*) FROM mirror WHERE stream = 'assets' AND deleted_at IS NOT NULL"), 0);
    assert_eq!(asset_cards(&ferry, true), inactive, "no asset archived by a stitched listing");
    let run_id = stitched["run_id"].to_string();
    let shown = ferry.json(&["runs", "show", &run_id]);
    let shown_assets = shown["stream_results"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["stream"] == "assets"))
        .expect("assets")
        .clone();
    assert_eq!(shown_assets["note"], assets["note"]);
    let text = ferry.run(&["runs", "show", &run_id]).ok();
    assert!(text.stdout.contains("deletions wait"), "{}", text.stdout);

    // The next full sync lists from scratch, uninterrupted: the removed
    // ones are archived, every live one (the new ones too) is live.
    let clean = ferry.json(&["sync", "acme"]);
    assert_eq!(clean["status"], "succeeded");
    let assets = stream(&clean, "assets");
    assert_eq!(assets["deleted"], removed.len(), "{assets}");
    assert!(assets["note"].is_null(), "{assets}");
    let mut archived = inactive.clone();
    archived.extend(removed.iter().cloned());
    assert_eq!(asset_cards(&ferry, true), archived);
    let live_psa: std::collections::BTreeSet<String> = sim.records("assets").iter().map(id).collect();
    let live_cards = asset_cards(&ferry, false);
    assert_eq!(live_cards, live_psa.difference(&inactive).cloned().collect(), "every live PSA asset is live");
    for n in [base - 1, base - 2, base + 100_000] {
        assert!(live_cards.contains(&n.to_string()), "new asset {n} arrived");
    }
}

/// A 429 whose `Retry-After` is longer than Ferry waits within a run holds
/// every stream of the integration: the streams read beside the failing
/// one fail at once as rate-limited without calling the PSA, and the run's
/// error states the wait once.
#[test]
fn a_long_retry_after_holds_every_stream_and_is_reported_once() {
    let sim = syncro_sim(&small_world());
    let ferry = fast_retries();
    ferry.add_syncro("acme", &sim);
    ferry.run(&["rules", "acme", "option", "concurrency=4"]).ok();
    sim.clear_requests();
    sim.set_faults(Faults {
        fail_next: Some(FailNext { status: 429, count: 1000, retry_after: Some(297) }),
        ..Faults::default()
    });
    let run = ferry.run(&["--json", "sync", "acme"]);
    let report = run.json();
    // Syncro keeps no token, so its streams' first requests go out
    // together (up to the concurrency, 4): each may meet the 429 before the
    // first answer holds the rest. Nothing after them reaches the PSA.
    let answered_429 = sim.requests().iter().filter(|r| r.status == 429).count();
    assert!((1..=4).contains(&answered_429), "{:#?}", sim.requests());
    assert_eq!(sim.requests().len(), answered_429, "nothing else reached the PSA");
    assert_eq!(report["http"]["rate_limited"], answered_429, "{report:#}");
    assert_ne!(report["status"], "succeeded", "{report:#}");
    let error = report["error"].as_str().unwrap_or_default();
    assert_eq!(error.matches("retry after 297 s").count(), 1, "{error}");
    assert!(error.contains("about 5 minutes"), "{error}");
}
