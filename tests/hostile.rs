//! Hostile data around the sandbox: a connector (`tests/connectors/hostile`)
//! and PSA data that try to drive the operator's terminal, forge log and
//! table lines, leak the integration's secret past redaction, exhaust the
//! host by size, or hide why a call failed. Each test attacks a class:
//! every unsafe character × every listing command, the secret through
//! every path that quotes connector text, every size cap.

mod common;

use common::*;
use ferry_sim::syncro::SyncroData;
use serde_json::json;

/// The secret each hostile integration is given.
const TOKEN: &str = "hostile-token-5f3a9c1e7b";

/// The customer name: sets the title, clears the screen, paints red.
const EVIL: &str = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31m Corp";

/// Characters that must never reach a terminal raw (written out here, not
/// taken from Ferry, so the test does not share the code it checks).
fn unsafe_chars() -> Vec<char> {
    let mut all: Vec<char> = (0u32..0x20).chain([0x7f]).chain(0x80..0xa0).filter_map(char::from_u32).collect();
    all.extend(
        [
            0xad, 0x061c, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c,
            0x202d, 0x202e, 0x2060, 0x2066, 0x2067, 0x2068, 0x2069, 0xfeff, 0xe0041,
        ]
        .into_iter()
        .filter_map(char::from_u32),
    );
    all
}

/// The first raw unsafe character in `text` (a newline ends a line and is
/// allowed; everything else is not), with some context.
fn raw_unsafe(text: &str) -> Option<String> {
    let bad = unsafe_chars();
    text.char_indices().find(|(_, c)| *c != '\n' && bad.contains(c)).map(|(i, c)| {
        let start = text[..i].char_indices().rev().nth(40).map(|(j, _)| j).unwrap_or(0);
        format!("{c:?} at byte {i}, after {:?}", &text[start..i])
    })
}

#[track_caller]
fn assert_clean(what: &str, run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        if let Some(found) = raw_unsafe(text) {
            panic!("`{what}` wrote a raw {found} to {stream}");
        }
    }
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    // The whole token, and the token less one character at either end (a
    // cut before redaction keeps all but one character).
    let n = TOKEN.len();
    for part in [TOKEN, &TOKEN[1..], &TOKEN[..n - 1]] {
        assert!(!text.contains(part), "`{what}` leaked the secret ({part}):\n{}", &text[..text.len().min(3000)]);
    }
    // Nor any piece of it a cut could leave (8 characters of its
    // distinctive part).
    let tail = &TOKEN["hostile-".len()..];
    for i in 0..=tail.len() - 8 {
        let piece = &tail[i..i + 8];
        assert!(!text.contains(piece), "`{what}` leaked a piece of the secret ({piece})");
    }
}

/// Ferry with the hostile connector installed.
fn ferry(env: &[(&str, &str)]) -> Ferry {
    let mut ferry = Ferry::new();
    for (k, v) in env {
        ferry = ferry.with_env(k, v);
    }
    ferry.run(&["plugin", "install", artifact("ferry_test_hostile").to_str().unwrap_or_default()]).ok();
    ferry
}

/// Add a hostile integration in `mode` (each on its own port, so each is
/// its own PSA account).
fn hostile(ferry: &Ferry, name: &str, mode: &str, extra: &[(&str, &str)]) -> Run {
    let port = 20_000 + name.bytes().map(u16::from).sum::<u16>() % 20_000;
    let base = format!("base_url=http://127.0.0.1:{port}");
    let mode = format!("mode={mode}");
    let token = format!("token={TOKEN}");
    let mut args = vec!["integration", "add", name, "--plugin", "hostile", "--set", &mode, "--set", &base];
    args.extend(["--secret", &token]);
    let sets: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for s in &sets {
        args.extend(["--set", s]);
    }
    ferry.run(&args).ok()
}

/// Every command that lists or shows something, in text and JSON.
fn listings(integration: &str) -> Vec<Vec<String>> {
    let base: Vec<Vec<&str>> = vec![
        vec!["company", "list"],
        vec!["asset", "list"],
        vec!["ticket", "list"],
        vec!["match", integration, "list"],
        vec!["runs"],
        vec!["runs", integration],
        vec!["runs", "show", "1"],
        vec!["plugin", "list"],
        vec!["plugin", "inspect", "hostile"],
        vec!["integration", "list"],
        vec!["integration", "show", integration],
    ];
    let mut all = Vec::new();
    for args in base {
        all.push(args.iter().map(|s| s.to_string()).collect());
        let mut json = vec!["--json".to_string()];
        json.extend(args.iter().map(|s| s.to_string()));
        all.push(json);
    }
    all
}

#[test]
fn no_command_writes_a_raw_control_character_from_a_connector() {
    let ferry = ferry(&[]);
    hostile(&ferry, "evil", "escapes", &[]);
    // The sync itself: its table, and the connector's log line on stderr.
    let sync = ferry.run(&["sync", "evil"]).ok();
    assert_clean("sync", &sync);
    assert!(sync.stderr.contains("Evil\\e]0;pwned\\x07\\e[2J\\e[31m Corp\\nERROR forged"), "{}", sync.stderr);
    assert!(!sync.stderr.lines().any(|l| l.starts_with("ERROR forged")), "a log line was forged:\n{}", sync.stderr);

    for args in listings("evil") {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = ferry.run(&refs).ok();
        assert_clean(&args.join(" "), &run);
    }
    // Every character is shown, escaped, somewhere in the company list...
    let list = ferry.run(&["company", "list"]).ok();
    for shown in ["Evil\\e]0;pwned\\x07\\e[2J\\e[31m Corp", "Evil\\0Corp", "Evil\\rCorp", "Evil\\u{202e}Corp"] {
        assert!(list.stdout.contains(shown), "{shown} missing from\n{}", list.stdout);
    }
    // ... and JSON keeps the exact values.
    let companies = ferry.json(&["company", "list"]);
    let names: Vec<&str> = companies.as_array().expect("list").iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.contains(&EVIL), "{names:?}");
    for c in unsafe_chars() {
        assert!(names.iter().any(|n| n.starts_with(&format!("Evil{c}Corp"))), "{c:?} lost in JSON");
    }

    // A connector error full of escapes and newlines: one line, shown
    // escaped, in the sync's error, `runs` and `runs show`.
    hostile(&ferry, "oops", "escape-error", &[]);
    for args in [vec!["sync", "oops"], vec!["--json", "sync", "oops"]] {
        let run = ferry.run(&args).code(3);
        assert_clean(&args.join(" "), &run);
    }
    let runs = ferry.run(&["runs", "oops"]).ok();
    assert_clean("runs oops", &runs);
    assert_eq!(runs.stdout.lines().count(), 4, "two runs, one line each:\n{}", runs.stdout);
    let id = ferry.json(&["runs", "oops"])[0]["id"].to_string();
    let show = ferry.run(&["runs", "show", &id]).ok();
    assert_clean("runs show", &show);
    assert!(
        show.stdout.contains("Corp failed\\nERROR forged log line\\r\\0\\x08\\u{202e}with ********"),
        "{}",
        show.stdout
    );

    // `integration test`: the check report's summary, facts and warnings.
    for args in [vec!["integration", "test", "evil"], vec!["--json", "integration", "test", "evil"]] {
        let run = ferry.run(&args).ok();
        assert_clean(&args.join(" "), &run);
        assert_no_secret(&args.join(" "), &run.all());
    }
}

/// Syncro customers, assets and tickets named with every unsafe character.
fn hostile_psa() -> SyncroData {
    let mut data = SyncroData::default();
    let stamp = "2025-10-01T08:00:00.000Z";
    let mut names: Vec<String> = unsafe_chars().into_iter().map(|c| format!("Evil{c}Corp")).collect();
    names.push(EVIL.to_string());
    for (i, name) in names.iter().enumerate() {
        let id = 1000 + i as u64;
        data.customers.push(json!({
            "id": id, "firstname": null, "lastname": null, "fullname": null, "business_name": name,
            "email": null, "phone": null, "mobile": null, "updated_at": stamp, "disabled": false,
            "properties": {"Industry": name}
        }));
        data.assets.push(json!({
            "id": 5000 + i as u64, "name": format!("PC {name}"), "customer_id": id, "contact_id": null,
            "updated_at": stamp, "properties": {"Manufacturer": name, "Model": "M", "IP Address": null, "MAC Address": null},
            "asset_type": "Laptop", "asset_serial": format!("SN{i}"), "customer": {"id": id, "business_name": name}
        }));
        data.tickets.push(json!({
            "id": 9000 + i as u64, "number": 100 + i, "subject": format!("Broken {name}"), "created_at": stamp,
            "customer_id": id, "customer_business_then_name": name, "resolved_at": null, "problem_type": name,
            "status": "New", "priority": "1 High", "updated_at": stamp, "properties": {}, "contact_id": null
        }));
    }
    data.asset_types = vec![json!({"id": 100, "name": "Laptop"})];
    data.ticket_statuses = vec!["New".into()];
    data
}

#[test]
fn hostile_psa_names_are_shown_escaped_by_every_listing() {
    let sim = syncro_sim_data(hostile_psa());
    let ferry = Ferry::new();
    ferry.add_syncro("psa", &sim);
    let sync = ferry.run(&["sync", "psa"]);
    assert_clean("sync", &sync);
    assert!(sync.code == 0 || sync.code == 4, "{}\n{}", sync.stdout, sync.stderr);
    // Every listing has something to show.
    assert!(!ferry.json(&["company", "list"]).as_array().is_some_and(Vec::is_empty));
    assert!(!ferry.json(&["asset", "list"]).as_array().is_some_and(Vec::is_empty));
    assert!(!ferry.json(&["ticket", "list"]).as_array().is_some_and(Vec::is_empty));
    for args in listings("psa") {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = ferry.run(&refs);
        assert!(run.code == 0 || args.contains(&"hostile".to_string()), "{args:?}: {}", run.stderr);
        assert_clean(&args.join(" "), &run);
    }
    let companies = ferry.run(&["company", "list"]).ok();
    assert!(companies.stdout.contains("Evil\\e]0;pwned\\x07\\e[2J\\e[31m Corp"), "{}", companies.stdout);
    // An error quoting PSA data quotes it escaped too.
    let missing = ferry.run(&["company", "show", EVIL]);
    assert_clean("company show", &missing);
}

#[test]
fn the_secret_never_leaks_through_connector_text() {
    let ferry = ferry(&[]);
    let modes = [
        "secret-id",
        "secret-time",
        "secret-cursor",
        "secret-stderr",
        "stderr-flood",
        "traceback",
        "secret-log",
        "escape-error",
    ];
    let mut seen = String::new();
    for mode in modes {
        hostile(&ferry, mode, mode, &[]);
        for args in [vec!["sync", mode], vec!["--json", "sync", mode]] {
            let run = ferry.run(&args);
            assert_no_secret(&args.join(" "), &run.all());
            seen.push_str(&run.all());
        }
    }
    // The traps and host-built errors still say what went wrong.
    // An id holding the secret is kept aside for that, never rewritten.
    assert!(seen.contains("its id contains a secret"), "{seen}");
    assert!(seen.contains("is not an RFC 3339 timestamp"), "{seen}");
    assert!(seen.contains("put a secret into its cursor"), "{seen}");
    assert!(seen.contains("ValueError: bad page"), "the traceback is kept: {seen}");
    assert!(seen.contains("token=********"), "log lines are kept, masked: {seen}");
    for args in [
        vec!["runs"],
        vec!["--json", "runs"],
        vec!["integration", "test", "secret-log"],
        vec!["--json", "integration", "test", "secret-log"],
        vec!["match", "secret-log", "list"],
        vec!["--json", "company", "list"],
    ] {
        let run = ferry.run(&args);
        assert_no_secret(&args.join(" "), &run.all());
    }
    for id in 1..=modes.len() {
        let run = ferry.run(&["--json", "runs", "show", &id.to_string()]).ok();
        assert_no_secret("runs show", &run.all());
    }
    // A validate-config notice quoting it, printed when the integration
    // is added.
    let noticed = hostile(&ferry, "noticed", "notice", &[]);
    assert!(noticed.stderr.contains("note: normalised\\e[2J; the token was ********\\nforged"), "{}", noticed.stderr);
    assert_no_secret("integration add (notice)", &noticed.all());
    assert_clean("integration add (notice)", &noticed);

    // A connector moving the secret into a plain config value is refused,
    // and the value is stored nowhere.
    let port = 20_000 + "copier".bytes().map(u16::from).sum::<u16>() % 20_000;
    let copied = ferry.run(&[
        "integration",
        "add",
        "copier",
        "--plugin",
        "hostile",
        "--set",
        "mode=copy-secret",
        "--set",
        &format!("base_url=http://127.0.0.1:{port}"),
        "--secret",
        &format!("token={TOKEN}"),
    ]);
    assert_eq!(copied.code, 1, "{}", copied.all());
    assert!(copied.stderr.contains("put a secret into the plain config value `count`"), "{}", copied.stderr);
    assert_no_secret("integration add (copy-secret)", &copied.all());

    // A check failure quoting the secret.
    hostile(&ferry, "refused", "check-error", &[]);
    let refused = ferry.run(&["integration", "test", "refused"]);
    assert_no_secret("integration test (refused)", &refused.all());
    assert_clean("integration test (refused)", &refused);

    // Nothing in the database's run history or mirror either.
    let conn = rusqlite::Connection::open(&ferry.db).expect("db");
    for sql in [
        "SELECT COALESCE(error, '') FROM runs",
        "SELECT COALESCE(error, '') FROM run_streams",
        "SELECT data FROM mirror",
        "SELECT COALESCE(cursor, '') FROM stream_state",
        "SELECT config_json FROM integrations",
    ] {
        let mut stmt = conn.prepare(sql).expect("query");
        let rows: Vec<String> =
            stmt.query_map([], |r| r.get(0)).expect("rows").collect::<Result<_, _>>().expect("text");
        assert_no_secret(sql, &rows.join("\n"));
    }

    // `plugin check` quotes the connector's check report and errors.
    let wasm = artifact("ferry_test_hostile");
    let secret = format!("token={TOKEN}");
    for mode in ["mode=escapes", "mode=secret-cursor", "mode=secret-id"] {
        let args = ["plugin", "check", wasm.to_str().unwrap_or_default(), "--set", mode, "--secret", &secret];
        for json in [false, true] {
            let mut full: Vec<&str> = if json { vec!["--json"] } else { vec![] };
            full.extend(args);
            let run = ferry.run(&full);
            assert_no_secret(&full.join(" "), &run.all());
            assert_clean(&full.join(" "), &run);
        }
    }
}

#[test]
fn plugin_check_warns_about_control_characters() {
    let ferry = Ferry::new();
    let wasm = artifact("ferry_test_hostile");
    let secret = format!("token={TOKEN}");
    let args = ["plugin", "check", wasm.to_str().unwrap_or_default(), "--set", "mode=escapes", "--secret", &secret];
    let mut full = vec!["--json"];
    full.extend(args);
    let report = ferry.run(&full).json();
    let checks = report["report"]["checks"].as_array().expect("checks");
    let control = checks.iter().find(|c| c["name"] == "control characters").expect("a control-character check");
    assert_eq!(control["outcome"], "warn", "{control:#}");
    let detail = control["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("info name `Hostile\\e]0;pwned"), "{control:#}");
    // The info strings, the check report and every hostile company.
    let count: usize = detail.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(count > 2 * 88, "{control:#}");
    assert_eq!(report["tally"]["warnings"], 1, "{report:#}");
    let text = ferry.run(&args);
    assert!(text.stdout.contains("WARN  control characters"), "{}", text.stdout);
}

#[test]
fn sizes_are_capped_from_connector_to_screen() {
    let ferry = ferry(&[("FERRY_MEMORY_MB", "512")]);

    // A 30 MB error: stored and printed capped, once per stream and run.
    hostile(&ferry, "huge", "huge-error", &[]);
    let sync = ferry.run(&["sync", "huge"]).code(3);
    assert!(sync.stderr.len() < 10_000, "{} bytes of stderr", sync.stderr.len());
    assert!(sync.stderr.contains("more bytes)"), "{}", sync.stderr);
    let run_id = ferry.json(&["runs", "huge"])[0]["id"].to_string();
    let show = ferry.run(&["runs", "show", &run_id]).ok();
    assert!(show.stdout.len() < 20_000, "runs show printed {} bytes", show.stdout.len());
    let json_show = ferry.run(&["--json", "runs", "show", &run_id]).ok();
    assert!(json_show.stdout.len() < 20_000, "runs show --json printed {} bytes", json_show.stdout.len());
    let stored = ferry
        .count("SELECT MAX(LENGTH(r.error)) + MAX(LENGTH(s.error)) FROM runs r JOIN run_streams s ON s.run_id = r.id");
    assert!(stored < 2 * 4_200, "stored {stored} bytes of error text");

    // One 900,000-character name among 20,000 companies: cut at the
    // boundary (counted), and no listing pads to it.
    hostile(&ferry, "big", "huge-name", &[("count", "20000")]);
    ferry.run(&["rules", "big", "option", "requests-per-minute=1000000"]).ok();
    let report = ferry.json(&["sync", "big"]);
    assert_eq!(report["streams"][0]["truncated"], 2, "{:#}", report["streams"]);
    let text = ferry.run(&["runs", "show", &report["run_id"].to_string()]).ok();
    assert!(text.stdout.contains("truncated: 2 in companies"), "{}", text.stdout);
    let list = ferry.run(&["company", "list"]).ok();
    let widest = list.stdout.lines().map(str::len).max().unwrap_or(0);
    assert!(widest < 1_000, "a company list line is {widest} bytes wide");
    assert!(list.stdout.len() < 20_000 * 300, "company list printed {} bytes", list.stdout.len());
    assert!(list.stdout.contains('…'), "the long name is cut with an ellipsis");
    let companies = ferry.json(&["company", "list"]);
    let longest =
        companies.as_array().expect("list").iter().filter_map(|c| c["name"].as_str()).map(|n| n.chars().count()).max();
    assert_eq!(longest, Some(1_000), "names are kept up to 1,000 characters");
    let matches = ferry.run(&["match", "big", "list"]).ok();
    assert!(matches.stdout.lines().map(str::len).max().unwrap_or(0) < 1_000);

    // A 20 MB description is refused at install, in a short error.
    let bloated =
        ferry.run(&["plugin", "install", artifact("ferry_test_bloated").to_str().unwrap_or_default()]).code(1);
    assert!(
        bloated.stderr.contains("description is 20971520 characters long; the limit is 4000"),
        "{}",
        bloated.stderr
    );
    assert!(bloated.stderr.len() < 2_000, "{} bytes of error", bloated.stderr.len());

    // A connector that logs without end: the run's budget, then one line
    // saying how many were dropped.
    hostile(&ferry, "flood", "log-flood", &[("count", "3")]);
    let flood = ferry.run(&["sync", "flood"]).ok();
    let lines = flood.stderr.lines().count();
    assert!((5_000..5_100).contains(&lines), "{lines} lines of log");
    assert!(
        flood.stderr.contains("4000 connector log lines were dropped"),
        "{}",
        &flood.stderr[flood.stderr.len().saturating_sub(500)..]
    );
}

#[test]
fn traps_are_explained_by_what_the_host_saw() {
    let ferry = ferry(&[("FERRY_CPU_SECONDS", "1"), ("FERRY_CALL_TIMEOUT_SECONDS", "3")]);
    let error = |name: &str| -> String {
        let run = ferry.run(&["--json", "sync", name]).code(3);
        run.json()["error"].as_str().unwrap_or_default().to_string()
    };
    hostile(&ferry, "exit0", "exit", &[("count", "0")]);
    let e = error("exit0");
    assert!(e.contains("exited (code 0) instead of returning a result"), "{e}");
    hostile(&ferry, "exit3", "exit", &[("count", "3")]);
    // WASI preview 2 carries success or failure, not the number.
    let e = error("exit3");
    assert!(e.contains("exited (code 1)"), "{e}");
    hostile(&ferry, "deep", "recurse", &[]);
    let e = error("deep");
    assert!(e.contains("ran out of stack") && !e.contains("out of bounds"), "{e}");
    hostile(&ferry, "python", "traceback", &[]);
    let e = error("python");
    assert!(e.contains("Traceback (most recent call last)") && e.contains("ValueError: bad page"), "{e}");
    assert_no_secret("traceback", &e);

    // Sleeping is not computing: two seconds asleep on a one-second CPU
    // budget is fine; sleeping past the deadline says so.
    hostile(&ferry, "nap", "sleep", &[("count", "2")]);
    assert_eq!(ferry.json(&["sync", "nap"])["status"], "succeeded");
    hostile(&ferry, "coma", "sleep", &[("count", "60")]);
    let e = error("coma");
    assert!(e.contains("within 3s") && e.contains("sleeping or waiting") && !e.contains("CPU"), "{e}");

    // `integration test` of a connector that exits names it too.
    let test = ferry.run(&["integration", "test", "exit0"]);
    assert!(test.stderr.contains("exited (code 0)"), "{}", test.stderr);
}

#[test]
fn log_lines_carry_no_colour_off_a_terminal() {
    let ferry = ferry(&[]);
    hostile(&ferry, "evil", "escapes", &[]);
    // NO_COLOR unset, stderr a pipe (journald, a log file): no colour.
    let run = ferry.command(&["sync", "evil"]).env_remove("NO_COLOR").output().expect("run ferry");
    assert!(!run.stderr.contains(&0x1b), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("WARN"), "the log line is there");
}
