//! Connector authors: `ferry plugin check` on every shipped connector, the
//! template against its fake API, deliberately broken connectors, and
//! connectors written in Python and JavaScript.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn check(ferry: &Ferry, file: &Path, args: &[&str]) -> Run {
    let mut full = vec!["--json", "plugin", "check", file.to_str().unwrap_or_default()];
    full.extend_from_slice(args);
    ferry.run(&full)
}

fn outcome<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["report"]["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no check `{name}` in {report:#}"))
}

#[track_caller]
fn passes(run: Run) -> Value {
    let report = run.json();
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(run.code, 0);
    assert_eq!(report["tally"]["failed"].as_u64().unwrap_or(0), 0);
    report
}

/// The template's fake API (Python standard library), on a free port.
struct FakeApi {
    child: Child,
    url: String,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fake_api() -> Option<FakeApi> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/template/fake-api/fake_api.py");
    let mut child = match Command::new("python3")
        .arg(&script)
        .args(["--port", "0", "--key", "template-key"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("skipped: python3 is not available ({e})");
            return None;
        }
    };
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("banner");
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("url in banner").to_string();
    Some(FakeApi { child, url })
}

#[test]
fn plugin_check_passes_for_syncro_cw_and_the_template() {
    let world = small_world();
    let syncro = syncro_sim(&world);
    let cw = cw_sim(&world);
    let ferry = Ferry::new();
    let r = passes(check(
        &ferry,
        &artifact("ferry_syncro"),
        &syncro_settings(&syncro).iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(outcome(&r, "read tickets since")["outcome"], "pass");
    let o = cw_options();
    let r = passes(check(
        &ferry,
        &artifact("ferry_cw_manage"),
        &[
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
        ],
    ));
    assert_eq!(outcome(&r, "read sites")["outcome"], "pass");
    assert_eq!(outcome(&r, "company references")["outcome"], "pass");

    let Some(api) = fake_api() else { return };
    let template = artifact("ferry_template");
    let r = passes(check(
        &ferry,
        &template,
        &["--set", &format!("base_url={}", api.url), "--secret", "api_key=template-key"],
    ));
    assert!(outcome(&r, "read assets")["detail"].as_str().is_some_and(|d| d.contains("36 records")));

    // And the template becomes an installed connector that syncs.
    ferry.run(&["plugin", "install", template.to_str().unwrap_or_default()]).ok();
    ferry
        .run(&[
            "integration",
            "add",
            "example",
            "--plugin",
            "example-psa",
            "--set",
            &format!("base_url={}", api.url),
            "--secret",
            "api_key=template-key",
        ])
        .ok();
    assert_eq!(ferry.json(&["integration", "test", "example"])["ok"], true);
    assert_eq!(ferry.json(&["sync", "example"])["status"], "succeeded");
    let (live, archived) = ferry.assets();
    assert_eq!(live.len() + archived.len(), 36);
    let text = ferry
        .run(&[
            "plugin",
            "check",
            template.to_str().unwrap_or_default(),
            "--set",
            &format!("base_url={}", api.url),
            "--secret",
            "api_key=template-key",
        ])
        .ok();
    assert!(text.stdout.contains("pass  read companies"), "{}", text.stdout);
    assert!(!text.all().contains("template-key"), "the secret is scrubbed");
}

#[test]
fn plugin_check_names_what_is_wrong_with_broken_connectors() {
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new().with_env("FERRY_CPU_SECONDS", "2");
    let probe = artifact("ferry_test_probe");
    let base = format!("base_url={}", sim.base_url());
    let cases: [(&str, &str, &str); 7] = [
        ("panic", "check", "probe panics on purpose"),
        ("repeat-cursor", "read companies", "repeated"),
        ("bad-record", "read companies", "RFC 3339"),
        ("wrong-stream", "read companies", "returned contacts records when asked for companies"),
        ("duplicates", "read companies", "ids must be unique"),
        // The same words sync fails the stream with (tests/sandbox.rs).
        ("duplicate-in-page", "read companies", "stream `companies`: id `p0` appears twice in one page"),
        ("loop", "read companies", "CPU budget"),
    ];
    for (mode, failing, needle) in cases {
        let args = [
            "--set".to_string(),
            format!("mode={mode}"),
            "--set".to_string(),
            base.clone(),
            "--secret".into(),
            "token=abcd".into(),
        ];
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = check(&ferry, &probe, &refs);
        assert_eq!(run.code, 3, "{mode}: non-zero exit on failure\n{}", run.stdout);
        let report = run.json();
        let line = outcome(&report, failing);
        assert_eq!(line["outcome"], "fail", "{mode}: {report:#}");
        assert!(line["detail"].as_str().is_some_and(|d| d.contains(needle)), "{mode}: {line}");
    }
    // Every probe also trusts wrong credentials: named as such.
    let run = check(&ferry, &probe, &["--set", "mode=ok", "--set", &base, "--secret", "token=abcd"]);
    let report = run.json();
    assert!(
        outcome(&report, "check with wrong credentials")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("must prove the credentials"))
    );
    // Not a connector at all.
    let junk = ferry.dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0").expect("write");
    let run = check(&ferry, &junk, &[]);
    assert_eq!(run.code, 3);
    assert!(outcome(&run.json(), "loads")["detail"].as_str().is_some_and(|d| d.contains("plain WebAssembly module")));
}

/// Build the Python and JavaScript examples once (plugins/examples/build.sh),
/// when their toolchains exist.
fn examples() -> Option<(PathBuf, PathBuf)> {
    static BUILT: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            // CI sets FERRY_REQUIRE_EXAMPLES so that a missing toolchain fails
            // there instead of silently skipping.
            let required = std::env::var_os("FERRY_REQUIRE_EXAMPLES").is_some();
            for tool in ["python3", "npm"] {
                if Command::new(tool).arg("--version").output().is_err() {
                    assert!(!required, "{tool} is not installed and FERRY_REQUIRE_EXAMPLES is set");
                    println!("skipped: {tool} is not installed, so the {tool} example cannot be built");
                    return None;
                }
            }
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let status =
                Command::new("bash").arg(root.join("plugins/examples/build.sh")).status().expect("run build.sh");
            assert!(status.success(), "plugins/examples/build.sh failed");
            let out = root.join("target/examples");
            Some((out.join("syncro-python.wasm"), out.join("syncro-js.wasm")))
        })
        .clone()
}

fn foreign_language_connector(which: usize, id: &str) {
    let Some(files) = examples() else { return };
    let file = if which == 0 { files.0 } else { files.1 };
    let sim = syncro_sim(&small_world());
    let ferry = Ferry::new();
    let installed = ferry.json(&["plugin", "install", file.to_str().unwrap_or_default()]);
    assert_eq!(installed["id"], id);
    // The Python and JavaScript examples stay on contract 0.3.0 (built
    // from the frozen `wit/v0.3.0/`; they never batch requests), which this
    // Ferry keeps loading beside the newest.
    assert_eq!(installed["contract"], "0.3.0");
    passes(check(&ferry, &file, &syncro_settings(&sim).iter().map(String::as_str).collect::<Vec<_>>()));
    ferry
        .run(&[
            "integration",
            "add",
            "foreign",
            "--plugin",
            id,
            "--set",
            "subdomain=https://sim.syncromsp.com/",
            "--set",
            &format!("base_url={}", sim.api_url()),
            "--secret",
            &format!("api_key={SYNCRO_TOKEN}"),
        ])
        .ok();
    ferry.unpaced("foreign");
    let report = ferry.json(&["sync", "foreign"]);
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let customers = sim.records("customers");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), customers.len() as i64);
    let (live, archived) = ferry.assets();
    assert_eq!(live.len() + archived.len(), sim.records("assets").len());
}

#[test]
fn the_python_connector_syncs_and_passes_check() {
    foreign_language_connector(0, "syncro-python");
}

#[test]
fn the_javascript_connector_syncs_and_passes_check() {
    foreign_language_connector(1, "syncro-js");
}

/// The Python and JavaScript examples' own unit tests run in plain
/// `python3 -m unittest` / `node --test`, outside any component: their
/// helpers make the contract's imports optional and fake HTTP.
#[test]
fn the_example_connectors_unit_test_without_componentize() {
    let required = std::env::var_os("FERRY_REQUIRE_EXAMPLES").is_some();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/examples");
    for (tool, args, dir) in [("python3", ["-m", "unittest"], "python-syncro"), ("node", ["--test", "."], "js-syncro")]
    {
        let out = match Command::new(tool).args(args).current_dir(root.join(dir)).output() {
            Ok(out) => out,
            Err(e) => {
                assert!(!required, "{tool} is not installed and FERRY_REQUIRE_EXAMPLES is set");
                println!("skipped: {tool} is not available ({e})");
                continue;
            }
        };
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{tool} {args:?} in {dir} failed:\n{text}");
        // Eight each: the Syncro streams, error mapping, config and bugs,
        // cursors and stream refs, info, state, client credentials with
        // token-expired, a wrong secret.
        assert!(text.contains("Ran 8 tests") || text.contains("# pass 8"), "{dir}: all eight tests ran\n{text}");
    }
}
