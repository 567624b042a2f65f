//! Adversarial connectors: a test-only component (`tests/connectors/probe`)
//! that loops, exhausts memory, panics, reaches for forbidden hosts, pages
//! forever and lies about its records. Each must end in a clear error for
//! its own run, with the process healthy, other integrations unaffected and
//! the documentation unchanged.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::*;

/// Ferry with the probe installed, a healthy Syncro integration beside it
/// (already synced once), and the documentation fingerprint after that.
struct Setup {
    ferry: Ferry,
    sim: Sim,
    docs: String,
}

fn setup(env: &[(&str, &str)]) -> Setup {
    let sim = syncro_sim(&small_world());
    let mut ferry = Ferry::new();
    for (k, v) in env {
        ferry = ferry.with_env(k, v);
    }
    ferry.run(&["plugin", "install", artifact("ferry_test_probe").to_str().unwrap_or_default()]).ok();
    ferry.add_syncro("healthy", &sim);
    ferry.json(&["sync", "healthy"]);
    let docs = ferry.docs_fingerprint();
    Setup { ferry, sim, docs }
}

impl Setup {
    fn probe(&self, name: &str, settings: &[(&str, &str)]) {
        let mut args: Vec<String> =
            vec!["integration".into(), "add".into(), name.into(), "--plugin".into(), "probe".into()];
        args.push("--set".into());
        args.push(format!("base_url={}", self.sim.base_url()));
        args.push("--set".into());
        args.push(format!("account={name}"));
        for (k, v) in settings {
            args.push(if *k == "token" { "--secret".into() } else { "--set".into() });
            args.push(format!("{k}={v}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ferry.run(&refs).ok();
    }

    /// Sync the probe's companies (the stream that misbehaves; its extra
    /// stream, empty in these modes, would complete and make the run a
    /// partial one that applies), expect failure, return the error text.
    fn failing_sync(&self, name: &str) -> String {
        let run = self.ferry.run(&["--json", "sync", name, "--stream", "companies"]);
        assert!(run.code == 3 || run.code == 4, "expected failure, got {}:\n{}\n{}", run.code, run.stdout, run.stderr);
        let report = run.json();
        let error = report["error"].as_str().unwrap_or_default().to_string();
        assert!(!error.is_empty(), "{report:#}");
        error
    }

    /// The host is healthy and the rest unaffected: the documentation is
    /// as it was, and the healthy integration still syncs.
    fn still_fine(&self) {
        assert_eq!(self.ferry.docs_fingerprint(), self.docs, "documentation unchanged");
        let report = self.ferry.json(&["sync", "healthy"]);
        assert_eq!(report["status"], "succeeded");
    }
}

#[test]
fn an_endless_loop_hits_the_cpu_budget() {
    let s = setup(&[("FERRY_CPU_SECONDS", "1")]);
    s.probe("loop", &[("mode", "loop")]);
    let error = s.failing_sync("loop");
    assert!(error.contains("CPU budget") && error.contains("loop"), "{error}");
    // `loop` is the integration: named as such, not as a connector.
    assert!(error.contains("the connector of integration `loop`"), "{error}");
    s.still_fine();
}

#[test]
fn a_huge_allocation_hits_the_memory_cap() {
    let s = setup(&[("FERRY_MEMORY_MB", "64")]);
    s.probe("alloc", &[("mode", "alloc")]);
    let error = s.failing_sync("alloc");
    assert!(error.contains("memory limit of 64 MiB"), "{error}");
    s.still_fine();
}

#[test]
fn a_panic_is_a_clean_error_with_its_message() {
    let s = setup(&[]);
    s.probe("panic", &[("mode", "panic")]);
    let error = s.failing_sync("panic");
    assert!(error.contains("crashed") && error.contains("probe panics on purpose"), "{error}");
    let test = s.ferry.run(&["integration", "test", "panic"]);
    assert_eq!(test.code, 3, "a crash fails the test (README: 3): {}", test.stderr);
    assert!(test.stderr.contains("crashed"), "{}", test.stderr);
    s.still_fine();
}

/// A server answering every request with a redirect to `location`.
fn redirector(location: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let response =
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://{addr}")
}

#[test]
fn tricks_to_reach_other_hosts_are_refused() {
    let s = setup(&[]);
    let other = syncro_sim(&small_world());
    let allowed = s.sim.base_url();
    let port = s.sim.addr().port();
    let cases = [
        ("userinfo", format!("http://127.0.0.1:{port}@{}/api/v1/me", other.addr())),
        ("other port", format!("{}/api/v1/me", other.base_url())),
        ("other scheme", format!("https://127.0.0.1:{port}/api/v1/me")),
        ("name for the same ip", format!("http://localhost:{port}/api/v1/me")),
        ("prefix match", format!("http://127.0.0.1.nip.io:{port}/api/v1/me")),
        ("ip literal", format!("http://[::1]:{port}/api/v1/me")),
        ("no authority", "/api/v1/me".to_string()),
        ("file", "file:///etc/passwd".to_string()),
    ];
    for (i, (what, target)) in cases.iter().enumerate() {
        let name = format!("trick{i}");
        s.probe(&name, &[("mode", "outside"), ("target", target)]);
        let error = s.failing_sync(&name);
        assert!(error.contains("refused by Ferry") || error.contains("invalid URL"), "{what}: {target} gave {error}");
    }
    assert!(other.requests().is_empty(), "the other host saw nothing: {:?}", other.requests());

    // A redirect from the allowed host to another is not followed by Ferry,
    // and a connector following it by hand is checked again.
    let redirect_from = redirector(format!("{}/api/v1/me", other.base_url()));
    s.probe("redirected", &[("mode", "follow"), ("target", &format!("{redirect_from}/start"))]);
    // The redirector itself is not allowed either; allow it via base_url.
    s.ferry.run(&["integration", "set", "redirected", &format!("base_url={redirect_from}")]).ok();
    let error = s.failing_sync("redirected");
    assert!(error.contains("refused by Ferry"), "{error}");
    assert!(other.requests().is_empty());
    let _ = allowed;
    s.still_fine();
}

#[test]
fn oversized_pages_endless_and_repeating_cursors_and_lies_fail_cleanly() {
    let s = setup(&[("FERRY_STREAM_MAX_PAGES", "40"), ("FERRY_PAGE_MAX_RECORDS", "1000")]);
    s.probe("huge", &[("mode", "huge-page"), ("count", "5000")]);
    assert!(s.failing_sync("huge").contains("5000 records in one page"));
    s.probe("million", &[("mode", "huge-page"), ("count", "10000000")]);
    let e = s.failing_sync("million");
    assert!(e.contains("memory limit") || e.contains("records in one page"), "{e}");
    s.probe("endless", &[("mode", "endless")]);
    assert!(s.failing_sync("endless").contains("kept paging"));
    s.probe("repeat", &[("mode", "repeat-cursor")]);
    assert!(s.failing_sync("repeat").contains("repeated a cursor"));
    s.probe("liar", &[("mode", "bad-record")]);
    let e = s.failing_sync("liar");
    assert!(e.contains("invalid page") && e.contains("RFC 3339"), "{e}");
    s.probe("twice", &[("mode", "duplicate-in-page")]);
    let e = s.failing_sync("twice");
    assert!(e.contains("invalid page") && e.contains("stream `companies`: id `p0` appears twice in one page"), "{e}");
    s.probe("wrong", &[("mode", "wrong-stream")]);
    assert!(s.failing_sync("wrong").contains("returned contacts records when asked for companies"));
    s.probe("invalid", &[("mode", "ok")]);
    let bad = s.ferry.run(&["integration", "set", "invalid", "mode=invalid"]).code(1);
    assert!(bad.stderr.contains("`mode`"), "{}", bad.stderr);
    s.still_fine();
    // The mirror holds nothing from the liars: only the endless probe's 40
    // checkpointed pages and the repeating probe's first page.
    assert_eq!(
        s.ferry.count("SELECT COUNT(*) FROM mirror m JOIN integrations i ON i.id = m.integration_id WHERE i.connector_id = 'probe'"),
        41
    );
}

#[test]
fn a_connector_sees_only_its_own_config_and_cannot_leak_secrets() {
    let s = setup(&[]);
    s.probe("a", &[("mode", "echo-config"), ("token", "secret-of-a-1234")]);
    s.probe("b", &[("mode", "echo-secret"), ("token", "secret-of-b-5678")]);
    let a = s.ferry.run(&["--json", "sync", "a"]);
    let b = s.ferry.run(&["--json", "sync", "b"]);
    let runs = s.ferry.run(&["--json", "runs"]);
    let shown = s.ferry.run(&["--json", "integration", "show", "a"]);
    for out in [&a, &b, &runs, &shown] {
        let text = out.all();
        assert!(!text.contains("secret-of-a-1234") && !text.contains("secret-of-b-5678"), "secret leaked:\n{text}");
    }
    let error = a.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("mode=echo-config") && error.contains("token=********"), "{error}");
    assert!(!error.contains("secret-of-b") && !error.contains("echo-secret"), "nothing of integration b: {error}");
    assert!(b.json()["error"].as_str().is_some_and(|e| e.contains("the token is ********")));
    s.still_fine();
}
