//! What surrounds the sandbox, attacked: file permissions, locks, the daemon,
//! secrets at rest, storage failures and bad records (issue 12, items 5–11).
//! Every test drives the real `ferry` binary; waits are bounded polls.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
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

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// `ferry ARGS` against `db` as a user who does not own the files: root
/// ignores permissions, so when the tests run as root the command runs as
/// `nobody` (setpriv); otherwise as the current user, for whom the modes
/// set by the test hold.
fn run_as_other(db: &Path, args: &[&str]) -> Run {
    let ferry = env!("CARGO_BIN_EXE_ferry");
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", ferry]);
        c
    } else {
        Command::new(ferry)
    };
    cmd.args(args)
        .env("FERRY_DB", db)
        .env("FERRY_CACHE_DIR", "off")
        .env("FERRY_DEDUP_SECONDS", "0")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    let out = cmd.output().expect("run ferry");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A synced Syncro integration `acme` in a database at `<tmp>/data/ferry.db`.
fn synced(sim: &Sim) -> (Ferry, PathBuf) {
    let mut ferry = Ferry::new();
    let data = ferry.dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    ferry.db = data.join("ferry.db");
    ferry.add_syncro("acme", sim);
    ferry.json(&["sync", "acme"]);
    (ferry, data)
}

/// Item 5: a read-only database stays read-only; read commands work on it
/// (also in a read-only folder, where no WAL index can be created); writes
/// say the database is read-only, with a hint, and change nothing.
#[cfg(unix)]
#[test]
fn read_commands_work_on_a_read_only_database_and_writes_say_so() {
    let sim = syncro_sim(&small_world());
    let (ferry, data) = synced(&sim);
    let companies = ferry.json(&["company", "list"]).as_array().map(Vec::len).unwrap_or(0);
    assert!(companies > 0);
    chmod(ferry.dir.path(), 0o755);
    let reads: [&[&str]; 7] = [
        &["--json", "company", "list"],
        &["--json", "runs"],
        &["--json", "integration", "list"],
        &["--json", "match", "acme", "list"],
        &["--json", "rules", "acme", "show"],
        &["--json", "asset", "list"],
        &["--json", "schedule", "acme", "show"],
    ];

    // A 0444 file in a folder others may write.
    chmod(&data, 0o777);
    chmod(&ferry.db, 0o444);
    for args in reads {
        let run = run_as_other(&ferry.db, args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    assert_eq!(
        run_as_other(&ferry.db, &["--json", "company", "list"]).json().as_array().map(Vec::len),
        Some(companies)
    );
    for _ in 0..2 {
        let sync = run_as_other(&ferry.db, &["sync", "acme"]);
        assert_eq!(sync.code, 1, "{}", sync.all());
        assert!(sync.stderr.contains("is read-only"), "{}", sync.stderr);
        assert!(sync.stderr.contains("hint:") && sync.stderr.contains("never changes"), "{}", sync.stderr);
        assert_eq!(mode(&ferry.db), 0o444, "the mode of the database is never changed");
    }
    let write = run_as_other(&ferry.db, &["layout", "add", "Printers"]);
    assert_eq!(write.code, 1);
    assert!(write.stderr.contains("is read-only"), "{}", write.stderr);

    // The same file in a read-only folder, after the last writer removed
    // its WAL files: reading cannot create a WAL index there.
    for suffix in ["-wal", "-shm"] {
        let mut p = ferry.db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    chmod(&data, 0o555);
    for args in reads {
        let run = run_as_other(&ferry.db, args);
        assert_eq!(run.code, 0, "read-only folder, {args:?}: {}", run.stderr);
    }
    let sync = run_as_other(&ferry.db, &["sync", "acme"]);
    assert_eq!(sync.code, 1, "{}", sync.all());
    assert!(sync.stderr.contains("read-only"), "{}", sync.stderr);
    assert_eq!(mode(&ferry.db), 0o444);
    chmod(&data, 0o755);
    chmod(&ferry.db, 0o644);
    assert_eq!(mode(&ferry.db), 0o644, "an operator's chosen mode is kept by writing commands too");
    ferry.json(&["sync", "acme"]);
    assert_eq!(mode(&ferry.db), 0o644);
}

/// Item 7: the sync lock is the OS's. A holder killed with SIGKILL releases
/// it at once; a stale `locks` row naming a live, unrelated process (this
/// test's own pid) blocks nothing.
#[test]
fn a_killed_holder_releases_the_lock_and_a_stale_record_does_not_block() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    {
        let conn = rusqlite::Connection::open(&ferry.db).expect("open");
        conn.execute(
            "INSERT INTO locks (integration_id, run_id, pid, scope, acquired_at)
             SELECT id, 999, ?1, 'full:companies', '2026-01-01T00:00:00Z' FROM integrations WHERE name = 'acme'",
            [i64::from(std::process::id())],
        )
        .expect("stale lock row");
    }
    let report = ferry.run(&["--json", "sync", "acme"]).ok().json();
    assert_eq!(report["status"], "succeeded", "{report:#}");

    sim.set_faults(Faults { delay_ms: 200, ..Faults::default() });
    let mut holder = ferry.command(&["sync", "acme"]).spawn().expect("spawn");
    wait_until("the sync to hold the lock", Duration::from_secs(60), || ferry.count("SELECT COUNT(*) FROM locks") == 1);
    let busy = ferry.run(&["sync", "acme"]).code(5);
    assert!(busy.stderr.contains("already syncing") && busy.stderr.contains("--wait"), "{}", busy.stderr);
    holder.kill().expect("SIGKILL");
    holder.wait().expect("reaped");
    sim.set_faults(Faults::default());
    let after = ferry.run(&["--json", "sync", "acme"]).ok().json();
    assert_eq!(after["status"], "succeeded");
    let runs = ferry.json(&["runs", "acme"]);
    assert_eq!(runs[1]["status"], "interrupted", "the killed run is not running: {runs:#}");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM locks"), 0);
}

/// Item 9: the database failing under a run (SQLITE_FULL here, through the
/// test hook that caps its pages) fails the run with the real cause, exits
/// 3 with a hint, and the next sync (with room) completes.
#[test]
fn a_full_database_fails_the_run_with_its_cause() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    let pages = ferry.count("PRAGMA page_count");
    let full = Ferry { env: vec![("FERRY_TEST_MAX_PAGE_COUNT".into(), (pages + 4).to_string())], ..ferry };
    let run = full.run(&["sync", "acme"]).code(3);
    assert!(run.stderr.contains("disk is full"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:") && run.stderr.contains("free space"), "{}", run.stderr);
    let ferry = Ferry { env: vec![], ..full };
    let runs = ferry.json(&["runs", "acme"]);
    assert_eq!(runs[0]["status"], "failed", "{runs:#}");
    assert!(runs[0]["error"].as_str().is_some_and(|e| e.contains("disk is full")), "{runs:#}");
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");
}

/// Every place a secret could rest in clear: the database file and its WAL.
fn on_disk(db: &Path, secret: &str) -> bool {
    ["", "-wal", "-shm"].iter().any(|suffix| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        std::fs::read(PathBuf::from(p)).is_ok_and(|bytes| bytes.windows(secret.len()).any(|w| w == secret.as_bytes()))
    })
}

fn key_file(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

/// Item 10: literal secrets are sealed with a key outside the database: the
/// file alone (a backup) holds no secret after add, set, sync and remove; a
/// lost key is a clear error with a hint, and re-entering the secret
/// mends it; FERRY_SECRET_KEY replaces the key file; databases from before
/// are sealed on their first writable open.
#[test]
fn secrets_at_rest_are_sealed_with_a_key_outside_the_database() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("acme", &sim);
    assert!(!on_disk(&ferry.db, SYNCRO_TOKEN), "after add");
    #[cfg(unix)]
    assert_eq!(mode(&key_file(&ferry.db)), 0o600);
    ferry.run(&["integration", "set", "acme", "--secret", &format!("api_key={SYNCRO_TOKEN}")]).ok();
    assert!(!on_disk(&ferry.db, SYNCRO_TOKEN), "after set");
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded", "the sealed secret opens");
    assert!(!on_disk(&ferry.db, SYNCRO_TOKEN), "after sync");
    ferry.run(&["integration", "remove", "acme", "--yes"]).ok();
    assert!(!on_disk(&ferry.db, SYNCRO_TOKEN), "after remove");

    // The database without its key (a backup restored elsewhere).
    ferry.add_syncro("beta", &sim);
    std::fs::remove_file(key_file(&ferry.db)).expect("remove key");
    let sync = ferry.run(&["sync", "beta"]).code(1);
    assert!(sync.stderr.contains("cannot be read") && sync.stderr.contains(".key"), "{}", sync.stderr);
    assert!(sync.stderr.contains("hint:") && sync.stderr.contains("--secret api_key="), "{}", sync.stderr);
    let shown = ferry.run(&["integration", "show", "beta"]).ok();
    assert!(shown.stdout.contains("cannot be read"), "{}", shown.stdout);
    ferry.run(&["integration", "set", "beta", "--secret", &format!("api_key={SYNCRO_TOKEN}")]).ok();
    assert_eq!(ferry.json(&["sync", "beta"])["status"], "succeeded", "re-entered");

    // The key from the environment: no key file at all.
    let with_env = Ferry::new().with_env("FERRY_SECRET_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    with_env.add_syncro("acme", &sim);
    assert!(!key_file(&with_env.db).exists());
    assert!(!on_disk(&with_env.db, SYNCRO_TOKEN));
    assert_eq!(with_env.json(&["sync", "acme"])["status"], "succeeded");
    let without = Ferry { env: vec![], ..with_env };
    let refused = without.run(&["sync", "acme"]).code(1);
    assert!(refused.stderr.contains("FERRY_SECRET_KEY"), "{}", refused.stderr);

    // A database from before secrets were sealed.
    let old = Ferry::new();
    old.add_syncro("acme", &sim);
    {
        let conn = rusqlite::Connection::open(&old.db).expect("open");
        conn.execute(
            "UPDATE integrations SET secrets_json = ?1 WHERE name = 'acme'",
            [format!("{{\"api_key\":\"literal:{SYNCRO_TOKEN}\"}}")],
        )
        .expect("old format");
    }
    assert!(on_disk(&old.db, SYNCRO_TOKEN), "the old format holds it in clear");
    old.json(&["integration", "list"]);
    assert!(!on_disk(&old.db, SYNCRO_TOKEN), "sealed on the first writable open");
    assert_eq!(old.json(&["sync", "acme"])["status"], "succeeded");
}

/// Ferry with the probe installed.
fn with_probe(ferry: Ferry) -> Ferry {
    ferry.run(&["plugin", "install", artifact("ferry_test_probe").to_str().unwrap_or_default()]).ok();
    ferry
}

fn add_probe(ferry: &Ferry, name: &str, base_url: &str, settings: &[(&str, &str)], extra: &[&str]) -> Run {
    let mut args: Vec<String> = ["integration", "add", name, "--plugin", "probe"].map(str::to_string).to_vec();
    args.extend(["--set".to_string(), format!("base_url={base_url}"), "--set".into(), format!("account={name}")]);
    for (k, v) in settings {
        args.push("--set".into());
        args.push(format!("{k}={v}"));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ferry.run(&refs)
}

/// Item 6: every value `validate-config` changes is shown (key: old → new);
/// a change that moves the hosts an integration may reach is refused unless
/// `--accept-normalised`; one that keeps them (a tidied URL, Syncro's
/// `acme.syncromsp.com` → `acme`) is only reported.
#[test]
fn config_the_connector_rewrites_is_shown_and_moved_hosts_are_refused() {
    let sim = syncro_sim(&small_world());
    let ferry = with_probe(Ferry::new());
    let base = sim.base_url();

    let refused = add_probe(&ferry, "moved", &base, &[("mode", "move-host")], &[]).code(1);
    assert!(refused.stderr.contains("base_url") && refused.stderr.contains("http://127.0.0.3:7"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--accept-normalised"), "{}", refused.stderr);
    assert!(ferry.json(&["integration", "list"]).as_array().is_some_and(|l| l.is_empty()), "nothing added");
    let accepted = add_probe(&ferry, "moved", &base, &[("mode", "move-host")], &["--accept-normalised"]).ok();
    assert!(
        accepted.stderr.contains(&format!("base_url: `{base}` → `http://127.0.0.3:7`")),
        "the change is shown even when accepted: {}",
        accepted.stderr
    );

    let tidy = add_probe(&ferry, "tidy", &base, &[("mode", "tidy-host")], &[]).ok();
    assert!(tidy.stderr.contains(&format!("base_url: `{base}` → `{base}/`")), "{}", tidy.stderr);
    let set = ferry.run(&["integration", "set", "tidy", "account=Tidy-Two"]).ok();
    assert!(set.stderr.contains("account: `Tidy-Two` → `tidy-two`"), "{}", set.stderr);

    let syncro = ferry
        .run(&[
            "integration",
            "add",
            "acme",
            "--plugin",
            "syncro",
            "--set",
            "subdomain=acme.syncromsp.com",
            "--secret",
            &format!("api_key={SYNCRO_TOKEN}"),
        ])
        .ok();
    assert!(syncro.stderr.contains("subdomain: `acme.syncromsp.com` → `acme`"), "{}", syncro.stderr);
}

/// Item 8: a connector that pages slowly for ever delays nobody: the daemon
/// runs integrations concurrently, so the other integration's run is
/// recorded while the slow one is still running; SIGTERM stops both.
#[test]
fn one_slow_connector_does_not_block_the_daemon() {
    let slow_psa = syncro_sim(&small_world());
    slow_psa.set_faults(Faults { delay_ms: 300, ..Faults::default() });
    let sim = syncro_sim(&small_world());
    let ferry = with_probe(Ferry::new());
    add_probe(&ferry, "slow", &slow_psa.base_url(), &[("mode", "slow-endless")], &[]).ok();
    ferry.add_syncro("fast", &sim);
    let later = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    let daemon = Ferry { env: vec![("FERRY_NOW".into(), later)], ..ferry };
    let mut child = daemon.command(&["daemon"]).spawn().expect("spawn daemon");
    let status = |name: &str| -> Option<String> {
        let runs = daemon.json(&["runs", name]);
        runs.as_array()?.first()?["status"].as_str().map(str::to_string)
    };
    wait_until("the fast integration's run to finish", Duration::from_secs(120), || {
        status("fast").is_some_and(|s| s != "running")
    });
    assert_eq!(status("fast").as_deref(), Some("succeeded"));
    assert_eq!(status("slow").as_deref(), Some("running"), "the slow one is still going: it did not hold the other up");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    assert!(child.wait().expect("daemon exits").success());
    assert_eq!(status("slow").as_deref(), Some("interrupted"));
}

/// Item 8: a run has a wall-clock limit; it stops resumably (checkpoint
/// kept, recorded interrupted with that reason) and the next run goes on
/// from there.
#[test]
fn a_run_stops_at_its_time_limit_and_the_next_resumes() {
    let slow_psa = syncro_sim(&small_world());
    slow_psa.set_faults(Faults { delay_ms: 100, ..Faults::default() });
    let ferry = with_probe(Ferry::new()).with_env("FERRY_RUN_MAX_SECONDS", "1");
    add_probe(&ferry, "slow", &slow_psa.base_url(), &[("mode", "slow-endless")], &[]).ok();
    let first = ferry.run(&["--json", "sync", "slow"]).code(3).json();
    assert_eq!(first["status"], "interrupted", "{first:#}");
    assert!(first["error"].as_str().is_some_and(|e| e.contains("FERRY_RUN_MAX_SECONDS")), "{first:#}");
    let pages = first["streams"][0]["pages"].as_u64().unwrap_or(0);
    assert!(pages > 0, "{first:#}");
    let second = ferry.run(&["--json", "sync", "slow"]).code(3).json();
    assert_eq!(second["streams"][0]["unchanged"], 0, "resumed after the checkpoint, nothing read twice: {second:#}");
    assert!(second["streams"][0]["created"].as_u64().unwrap_or(0) > 0);
    let limits = ferry.run(&["limits"]).ok();
    assert!(limits.stdout.contains("FERRY_RUN_MAX_SECONDS") && limits.stdout.contains("FERRY_DAEMON_CONCURRENCY"));
}

fn stream<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["streams"].as_array().and_then(|s| s.iter().find(|x| x["stream"] == name)).expect("stream")
}

/// Item 11: a record that fails validation is skipped and kept aside with
/// its reason; the rest of its page syncs; the run is partial and `runs
/// show` lists it. Negative ids are valid ids. Only a page mostly invalid
/// fails the stream.
#[test]
fn bad_records_are_kept_aside_and_the_rest_syncs() {
    let sim = syncro_sim(&small_world());
    let ferry = with_probe(Ferry::new());
    add_probe(&ferry, "some", &sim.base_url(), &[("mode", "some-bad-records"), ("count", "10")], &[]).ok();
    let run = ferry.run(&["--json", "sync", "some"]).code(4);
    let report = run.json();
    assert_eq!(report["status"], "partial");
    let companies = stream(&report, "companies");
    assert_eq!(companies["status"], "complete", "{report:#}");
    assert_eq!(companies["created"], 8, "the negative id and seven good ones: {report:#}");
    assert_eq!(companies["invalid"], 2);
    assert!(report["error"].as_str().is_some_and(|e| e.contains("2 records skipped as invalid")), "{report:#}");
    let hint = report["hint"].as_str().unwrap_or_default();
    assert!(hint.contains(&format!("ferry runs show {}", report["run_id"])), "{hint}");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM mirror WHERE external_id = '-7'"), 1, "a negative id is an id");

    let shown = ferry.json(&["runs", "show", &report["run_id"].to_string()]);
    let skipped = shown["skipped_records"].as_array().expect("skipped records");
    assert_eq!(skipped.len(), 2, "{shown:#}");
    assert!(skipped.iter().any(|r| r["external_id"] == "q1"
        && r["field"] == "updated-at"
        && r["reason"].as_str().is_some_and(|w| w.contains("next week"))));
    assert!(skipped.iter().any(|r| r["external_id"] == "q2" && r["field"] == "name"));
    assert!(skipped.iter().all(|r| r["snippet"].as_str().is_some_and(|s| s.chars().count() <= 201)));
    let text = ferry.run(&["runs", "show", &report["run_id"].to_string()]).ok();
    assert!(
        text.stdout.contains("2 records skipped as invalid") && text.stdout.contains("next week"),
        "{}",
        text.stdout
    );

    // A record skipped in a full listing is not taken for deleted.
    let again = ferry.run(&["--json", "sync", "some"]).code(4).json();
    assert_eq!(stream(&again, "companies")["deleted"], 0, "{again:#}");

    // Most of a page bad: the stream fails, nothing of it is stored.
    add_probe(&ferry, "mostly", &sim.base_url(), &[("mode", "some-bad-records"), ("count", "4")], &[]).ok();
    let mostly = ferry.run(&["--json", "sync", "mostly"]).json();
    let companies = stream(&mostly, "companies");
    assert_eq!(companies["status"], "complete", "2 of 4 is not most: {mostly:#}");
    add_probe(&ferry, "liar", &sim.base_url(), &[("mode", "some-bad-records"), ("count", "3")], &[]).ok();
    // Only its companies: the probe's (empty) extra stream would complete
    // and make the run partial.
    let liar = ferry.run(&["--json", "sync", "liar", "--stream", "companies"]).code(3).json();
    assert!(
        liar["error"].as_str().is_some_and(|e| e.contains("invalid page") && e.contains("2 of 3 records")),
        "{liar:#}"
    );
}

/// Item 11 against CW: a negative company id (valid in CW's spec) syncs; a
/// ticket whose `dateResolved` is not a time is kept aside, the other
/// tickets sync; a 404 on one lookup list fails only that list.
#[test]
fn cw_records_the_spec_allows_and_one_missing_lookup_list_cost_only_themselves() {
    let sim = cw_sim(&small_world());
    let company = sim.records("companies")[0]["id"].to_string();
    assert!(sim.patch("companies", &company, &serde_json::json!({"id": -5})));
    let ticket = sim.records("tickets")[0]["id"].to_string();
    assert!(sim.patch("tickets", &ticket, &serde_json::json!({"dateResolved": "when it's done"})));
    sim.set_faults(Faults { not_found_paths: vec!["/company/configurations/types".into()], ..Faults::default() });
    let ferry = Ferry::new();
    ferry.add_cw("cw", &sim);
    let report = ferry.run(&["--json", "sync", "cw"]).code(4).json();
    for s in ["companies", "contacts", "sites", "assets", "agreements", "tickets"] {
        assert_eq!(stream(&report, s)["status"], "complete", "{s}: {report:#}");
    }
    assert_eq!(ferry.count("SELECT COUNT(*) FROM mirror WHERE stream = 'companies' AND external_id = '-5'"), 1);
    let tickets = stream(&report, "tickets");
    assert_eq!(tickets["invalid"], 1, "{tickets}");
    assert_eq!(tickets["created"].as_u64(), Some(sim.records("tickets").len() as u64 - 1));
    let lookups = stream(&report, "lookups");
    assert_eq!(lookups["status"], "failed");
    assert!(lookups["error"].as_str().is_some_and(|e| e.contains("configuration types")), "{lookups}");
    assert!(
        ferry.count("SELECT COUNT(*) FROM mirror WHERE stream = 'lookups' AND external_id LIKE 'ticket-status:%'") > 0
    );
    assert!(
        ferry.count("SELECT COUNT(*) FROM mirror WHERE stream = 'lookups' AND external_id LIKE 'company-type:%'") > 0
    );
    let shown = ferry.json(&["runs", "show", &report["run_id"].to_string()]);
    let skipped = &shown["skipped_records"][0];
    assert_eq!(skipped["external_id"], ticket);
    assert_eq!(skipped["field"], "resolved-at");

    // The list back: the next sync reads it (the failed list is retried).
    sim.set_faults(Faults::default());
    let next = ferry.run(&["--json", "sync", "cw"]).json();
    assert_eq!(stream(&next, "lookups")["status"], "complete", "{next:#}");
    assert!(
        ferry.count("SELECT COUNT(*) FROM mirror WHERE stream = 'lookups' AND external_id LIKE 'asset-type:%'") > 0
    );
}
