//! Streams read at once: the same mirror and documentation as one stream
//! after another, exact resumption after a kill, a failing stream that
//! disturbs none beside it, and a run-stopping error that halts the streams
//! in flight.
//!
//! "At once" is shown without timing: the simulator holds every request
//! after a point unanswered (`hold_after`) and counts the held ones. A
//! stream has at most one read in flight and a read one request, so N held
//! requests are N streams in flight.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use ferry_sim::syncro::SyncroOptions;
use ferry_sim::{Faults, Scale, World};
use serde_json::Value;

/// How long a state a test waits for may take to arrive (it arrives in
/// well under a second when the code is right).
const LIMIT: Duration = Duration::from_secs(60);

/// A Ferry whose held requests never time out while a test looks: a
/// timed-out request would be retried and held a second time, and a held
/// request must stand for one read in flight.
fn patient() -> Ferry {
    Ferry::new().with_env("FERRY_HTTP_TIMEOUT_SECONDS", "600")
}

fn set_concurrency(ferry: &Ferry, name: &str, n: u32) {
    ferry.run(&["rules", name, "option", &format!("concurrency={n}")]).ok();
}

/// `ferry --json sync NAME` in the background.
fn spawn_sync(ferry: &Ferry, name: &str) -> Child {
    ferry.command(&["--json", "sync", name]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn")
}

/// The report of a background sync that has ended (or ends now), and its
/// exit code.
fn report(child: Child) -> (i32, Value) {
    let out = child.wait_with_output().expect("sync output");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), report)
}

fn rows(report: &Value) -> Vec<Value> {
    report["streams"].as_array().cloned().unwrap_or_default()
}

fn row<'a>(rows: &'a [Value], stream: &str) -> &'a Value {
    rows.iter().find(|r| r["stream"] == stream).unwrap_or_else(|| panic!("no stream {stream} in {rows:#?}"))
}

/// Every stream of CW Manage, lookups included; sites read one request
/// per company.
fn cw_world() -> World {
    World::generate(5, &Scale { companies: 30, contacts_per_company: 3, assets_per_company: 5, tickets_per_company: 2 })
}

/// A Syncro world whose streams each take many pages: more than the
/// requests the tests let through before holding the rest, so no stream
/// can complete there.
fn syncro_paged() -> (World, SyncroOptions) {
    let world = World::generate(
        9,
        &Scale { companies: 30, contacts_per_company: 4, assets_per_company: 6, tickets_per_company: 2 },
    );
    let options = SyncroOptions {
        customers_per_page: 3,
        contacts_per_page: 5,
        assets_per_page: 5,
        tickets_per_page: 5,
        ..SyncroOptions::default()
    };
    (world, options)
}

/// How many streams have a request held by the simulator now (their held
/// requests' distinct paths).
fn streams_held(sim: &Sim) -> usize {
    let mut paths = sim.held_paths();
    paths.dedup();
    paths.len()
}

/// Requests a sequential sync (`concurrency=1`) made before its first page
/// of `path`: those of `lookups`, the first stream. (With more streams at
/// once, lookups' requests mix with the others': counts built on this
/// number are numbers of requests, not of lookups' pages.)
fn lookups_requests(sim: &Sim, path: &str) -> u32 {
    sim.requests().iter().position(|r| r.path.ends_with(path)).expect("the stream after lookups was listed") as u32
}

/// A run that ended part way (killed or halted) and the one that resumed
/// it read each record once between them: a listing the first completed is
/// listed afresh, any other goes on from its checkpoint.
#[track_caller]
fn resumed_exactly(first: &[Value], resumed: &[Value], reference: &[Value]) {
    for want in reference {
        let stream = want["stream"].as_str().expect("stream");
        let (before, after) = (row(first, stream), row(resumed, stream));
        assert_eq!(after["status"], "complete", "{after}");
        let fetched = |r: &Value| r["fetched"].as_u64().unwrap_or(0);
        if before["status"] == "complete" {
            assert_eq!(fetched(after), fetched(want), "{stream} listed afresh");
        } else {
            assert_eq!(fetched(before) + fetched(after), fetched(want), "{stream}: before {before}, after {after}");
        }
    }
}

#[test]
fn four_streams_at_once_build_the_same_mirror_and_documentation_as_one_at_a_time() {
    let sim = cw_sim(&cw_world());
    let one = Ferry::new();
    one.add_cw("cw", &sim);
    set_concurrency(&one, "cw", 1);
    sim.clear_requests();
    let sequential = one.json(&["sync", "cw"]);
    assert_eq!(sequential["status"], "succeeded", "{sequential:#}");
    let lookups = lookups_requests(&sim, "/company/companies");

    let four = patient();
    four.add_cw("cw", &sim);
    set_concurrency(&four, "cw", 4);
    // Every request after lookups waits: the streams started hold one
    // each, and four streams start at once.
    sim.hold_after(lookups);
    let child = spawn_sync(&four, "cw");
    let reached = wait_for(LIMIT, || sim.held() >= 4);
    let held = sim.held();
    sim.release();
    let (code, concurrent) = report(child);
    assert!(reached, "four streams were read at once (requests held: {held})");
    assert_eq!(held, 4, "never more than the concurrency");
    assert_eq!(code, 0, "{concurrent:#}");
    assert_eq!(concurrent["status"], "succeeded");

    // The same streams, in dependency order, with the same counts.
    assert_eq!(rows(&concurrent), rows(&sequential));
    assert_same(&four.mirror(), &one.mirror(), "mirrors");
    assert_same(&four.documentation(), &one.documentation(), "documentation");
    assert!(four.documentation().iter().any(|l| l.starts_with("ticket|")), "tickets were applied");
}

#[test]
fn a_sync_killed_with_several_streams_in_flight_resumes_each_exactly() {
    let (world, options) = syncro_paged();
    let sim = syncro_sim_with(&world, options);
    let reference = Ferry::new();
    reference.add_syncro("acme", &sim);
    set_concurrency(&reference, "acme", 1);
    sim.clear_requests();
    let want = reference.json(&["sync", "acme"]);
    assert_eq!(want["status"], "succeeded", "{want:#}");
    let lookups = lookups_requests(&sim, "/customers");

    // Syncro's four streams at once, with 16 requests in flight (room for
    // two read-aheads of 8 pages). Four requests after lookups go through
    // (fewer than any stream's pages), then every one waits, until either
    // four streams have a read held or all 16 slots are (which takes at
    // least two streams: a read ahead is at most 8 pages). Which streams
    // get the slots first is a race of read-aheads and is not asserted; the
    // kill lands with several streams mid-listing, and each must resume
    // exactly.
    let ferry = patient();
    ferry.add_syncro("acme", &sim);
    set_concurrency(&ferry, "acme", 16);
    sim.hold_after(lookups + 4);
    let mut child =
        ferry.command(&["sync", "acme"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let in_flight = wait_for(LIMIT, || streams_held(&sim) >= 4 || sim.held() >= 16);
    let checkpoints = || ferry.count("SELECT COUNT(*) FROM stream_state WHERE cursor IS NOT NULL");
    // A stream whose second request went out has committed its first page.
    let checkpointed = in_flight && wait_for(LIMIT, || checkpoints() >= 1);
    let held = sim.held_paths();
    kill(&mut child);
    sim.set_faults(Faults::default());
    assert!(in_flight, "four streams, or every slot, held a read (requests held: {held:?})");
    let mut streams = held.clone();
    streams.dedup();
    assert!(streams.len() >= 2, "several streams were in flight: {held:?}");
    assert!(held.len() <= 16, "never more than the concurrency in flight: {held:?}");
    assert!(checkpointed, "a stream had committed a page");
    assert_eq!(integrity(&ferry), "ok");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM assets"), 0, "nothing applied by the killed run");
    let checkpoints = checkpoints();

    let resumed = ferry.json(&["sync", "acme"]);
    assert_eq!(resumed["status"], "succeeded", "{resumed:#}");
    let runs = ferry.json(&["runs", "acme"]);
    assert_eq!(runs[1]["status"], "interrupted", "{runs:#}");
    let killed = ferry.json(&["runs", "show", &runs[1]["id"].to_string()]);
    let killed = killed["stream_results"].as_array().cloned().unwrap_or_default();
    assert!(killed.iter().all(|r| r["stream"] == "lookups" || r["status"] == "interrupted"), "{killed:#?}");
    let went_on = rows(&resumed).iter().filter(|r| r["note"].as_str().is_some_and(|n| n.contains("resumed"))).count();
    assert_eq!(went_on as i64, checkpoints, "every checkpointed stream went on from its checkpoint");
    resumed_exactly(&killed, &rows(&resumed), &rows(&want));
    assert_same(&ferry.mirror(), &reference.mirror(), "mirrors");
    assert_same(&ferry.documentation(), &reference.documentation(), "documentation");
}

#[test]
fn a_failing_stream_leaves_the_streams_read_beside_it_alone() {
    let sim = cw_sim(&cw_world());
    let reference = Ferry::new();
    reference.add_cw("cw", &sim);
    set_concurrency(&reference, "cw", 1);
    let want = reference.json(&["sync", "cw"]);
    assert_eq!(want["status"], "succeeded", "{want:#}");

    // Sites fail on their first request, while companies, contacts and
    // assets are being read beside them.
    sim.set_faults(Faults { missing_permissions: vec!["sites".into()], ..Faults::default() });
    let ferry = Ferry::new();
    ferry.add_cw("cw", &sim);
    set_concurrency(&ferry, "cw", 4);
    let report = ferry.run(&["--json", "sync", "cw"]).code(4).json();
    assert_eq!(report["status"], "partial");
    let got = rows(&report);
    for want in rows(&want) {
        let stream = want["stream"].as_str().expect("stream");
        let got = row(&got, stream);
        if stream == "sites" {
            assert_eq!(got["status"], "failed", "{got}");
            assert_eq!(got["fetched"], 0, "{got}");
        } else {
            assert_eq!(got["status"], "complete", "{got}");
            for count in ["pages", "fetched", "created", "deleted"] {
                assert_eq!(got[count], want[count], "{stream} {count}");
            }
        }
    }
    let not_sites: Vec<String> = reference.mirror().into_iter().filter(|l| !l.starts_with("sites|")).collect();
    assert_same(&ferry.mirror(), &not_sites, "mirrors of the other streams");
    assert!(ferry.mirror().len() > 100, "the other streams were synced");
}

#[test]
fn a_run_stopping_error_halts_the_streams_in_flight_and_the_next_run_resumes_them() {
    let (world, options) = syncro_paged();
    let sim = syncro_sim_with(&world, options);
    let reference = Ferry::new();
    reference.add_syncro("acme", &sim);
    set_concurrency(&reference, "acme", 1);
    sim.clear_requests();
    let want = reference.json(&["sync", "acme"]);
    assert_eq!(want["status"], "succeeded", "{want:#}");
    let lookups = lookups_requests(&sim, "/customers");

    // Four requests after lookups' two are answered; the next one is
    // refused (the token was revoked: the run must stop) and every later
    // one waits unanswered. The streams beside the refused one have a read
    // in flight that would never end: the sync ends only if it halts them.
    let ferry = patient();
    ferry.add_syncro("acme", &sim);
    sim.set_faults(Faults {
        revoke_token_after: Some(lookups + 4),
        hold_after: Some(lookups + 5),
        ..Faults::default()
    });
    let mut child = spawn_sync(&ferry, "acme");
    let ended = wait_for(LIMIT, || child.try_wait().ok().flatten().is_some());
    sim.set_faults(Faults::default());
    let (code, failed) = report(child);
    assert!(ended, "the sync ended without waiting for its held reads");
    assert_eq!(code, 3, "{failed:#}");
    assert_eq!(failed["status"], "failed");
    let got = rows(&failed);
    let refused: Vec<&Value> = got.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(refused.len(), 1, "one stream met the refusal: {got:#?}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert_eq!(Some(error), refused[0]["error"].as_str(), "the run says why it stopped");
    // Which streams had read what when the refusal came is a race (Syncro's
    // streams start together: it keeps no token to share); what must hold:
    // every stream beside the refused one was halted (or had already
    // ended, or never started), and several were halted mid-listing.
    let halted = got.iter().filter(|r| r["status"] == "interrupted").count();
    assert!(halted >= 2, "the streams beside it were halted: {got:#?}");
    assert!(
        got.iter()
            .all(|r| ["failed", "interrupted", "complete", "skipped"].contains(&r["status"].as_str().unwrap_or(""))),
        "{got:#?}"
    );

    let resumed = ferry.json(&["sync", "acme"]);
    assert_eq!(resumed["status"], "succeeded", "{resumed:#}");
    resumed_exactly(&got, &rows(&resumed), &rows(&want));
    assert_same(&ferry.mirror(), &reference.mirror(), "mirrors");
    assert_same(&ferry.documentation(), &reference.documentation(), "documentation");
}

#[test]
fn the_daemon_reads_several_integrations_each_several_streams_at_once() {
    let (world, options) = syncro_paged();
    let sims = [syncro_sim_with(&world, options.clone()), syncro_sim_with(&world, options)];
    let lookups = {
        let probe = Ferry::new();
        probe.add_syncro("probe", &sims[0]);
        set_concurrency(&probe, "probe", 1);
        sims[0].clear_requests();
        probe.json(&["sync", "probe"]);
        lookups_requests(&sims[0], "/customers")
    };
    let ferry = patient();
    for (name, sim) in ["north", "south"].iter().zip(&sims) {
        ferry.add_syncro(name, sim);
        sim.hold_after(lookups);
    }
    // Both integrations' schedules are due four hours from now.
    let later = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    let daemon = ferry.with_env("FERRY_NOW", &later);
    let child =
        daemon.command(&["daemon", "--once"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    // Two syncs (FERRY_DAEMON_CONCURRENCY 4) of four streams each: eight
    // reads in flight in one process.
    let reached = wait_for(LIMIT, || sims.iter().all(|s| s.held() >= 4));
    let held: Vec<u32> = sims.iter().map(|s| s.held()).collect();
    for sim in &sims {
        sim.release();
    }
    let out = child.wait_with_output().expect("daemon exits");
    assert!(reached, "each integration read four streams at once (requests held: {held:?})");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in ["north", "south"] {
        let runs = daemon.json(&["runs", name]);
        assert_eq!(runs[0]["status"], "succeeded", "{runs:#}");
    }
}

/// A run's first call goes alone only for a connector that imports `state`
/// (a token it fetches serves the others, HaloPSA's case, see
/// tests/halopsa.rs). Syncro keeps nothing across calls: its streams' first
/// requests go out together, so a small account does not pay a round trip
/// for a token it never fetches.
#[test]
fn a_connector_without_state_starts_its_streams_together() {
    let (world, options) = syncro_paged();
    let sim = syncro_sim_with(&world, options);
    let ferry = patient();
    ferry.add_syncro("acme", &sim);
    // Eight slots: each stream's first read asks for pages 1 and 2, so four
    // streams' first reads fit at once.
    set_concurrency(&ferry, "acme", 8);
    sim.hold_after(0);
    let child = spawn_sync(&ferry, "acme");
    let together = wait_for(LIMIT, || streams_held(&sim) >= 4);
    let held = sim.held_paths();
    sim.release();
    let (code, report) = report(child);
    assert!(together, "the first requests of four streams were out at once (held: {held:?})");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "succeeded");
}

/// A record removed from the PSA while a full listing runs moves every
/// later one back a place: the record that moves from an unread page onto
/// a page already read is not returned, though it exists. The PSA's record
/// count, given with every page, changes meanwhile; that listing then marks
/// nothing deleted (with auto-archive, nothing is archived), and the next
/// listing, with a steady count, settles the removal exactly.
#[test]
fn a_listing_during_which_the_psa_count_changed_marks_nothing_deleted() {
    let (world, options) = syncro_paged();
    let sim = syncro_sim_with(&world, options);
    let ferry = patient();
    ferry.add_syncro("acme", &sim);
    set_concurrency(&ferry, "acme", 1);
    assert_eq!(ferry.json(&["sync", "acme"])["status"], "succeeded");
    ferry.run(&["rules", "acme", "option", "auto-archive"]).ok();
    let before = ferry.assets();

    // Hold the second full listing right after its first page of assets.
    sim.clear_requests();
    let probe = Ferry::new();
    probe.add_syncro("probe", &sim);
    set_concurrency(&probe, "probe", 1);
    probe.json(&["sync", "probe"]);
    let first_assets_page =
        sim.requests().iter().position(|r| r.path.ends_with("/customer_assets")).expect("assets listed") as u32;
    sim.hold_after(first_assets_page + 1);
    let child = ferry
        .command(&["--json", "sync", "acme", "--force"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let held = wait_for(LIMIT, || sim.held() >= 1);
    // The PSA drops the first asset of the page already read.
    let gone = sim.records("assets")[0]["id"].to_string();
    assert!(sim.remove("assets", &gone));
    sim.release();
    let (code, shifted) = report(child);
    assert!(held, "the listing was held after its first page of assets");
    assert_eq!(code, 0, "{shifted:#}");
    let assets = row(&rows(&shifted), "assets").clone();
    assert_eq!(assets["deleted"], 0, "nothing marked deleted by a listing the PSA shifted: {assets:#}");
    assert!(assets["note"].as_str().is_some_and(|n| n.contains("record count changed")), "{assets:#}");
    assert_eq!(ferry.assets(), before, "nothing archived, nothing changed");

    // With the count steady again, the next listing settles it: exactly the
    // removed asset is gone, as a fresh integration sees the PSA.
    let settled = ferry.json(&["sync", "acme", "--force"]);
    assert_eq!(row(&rows(&settled), "assets")["deleted"], 1, "{settled:#}");
    let fresh = Ferry::new();
    fresh.add_syncro("acme", &sim);
    fresh.json(&["sync", "acme"]);
    let live_mirror = |f: &Ferry| -> Vec<String> { f.mirror().into_iter().filter(|l| l.ends_with("|1")).collect() };
    assert_same(&live_mirror(&ferry), &live_mirror(&fresh), "live mirror records");
}

/// SIGTERM (or Ctrl-C) stops `ferry sync` the way it stops the daemon: the
/// pages in flight are finished and committed, the run is recorded
/// interrupted with its checkpoints, the summary is printed, the exit code
/// is 3; the next sync resumes every stream and ends as an uninterrupted
/// one would.
#[test]
fn sigterm_stops_a_sync_after_the_pages_in_flight_and_records_it_interrupted() {
    let (world, options) = syncro_paged();
    let sim = syncro_sim_with(&world, options);
    let reference = Ferry::new();
    reference.add_syncro("acme", &sim);
    let want = reference.json(&["sync", "acme"]);
    assert_eq!(want["status"], "succeeded", "{want:#}");

    let ferry = patient();
    ferry.add_syncro("acme", &sim);
    sim.hold_after(6);
    let mut child = spawn_sync(&ferry, "acme");
    let held = wait_for(LIMIT, || sim.held() >= 1);
    // Follow stderr: the held pages come back only once `ferry` has said it
    // took the signal (the reads in flight still wait for their answers).
    let (said, heard) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().expect("stderr");
    let follow = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = said.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let took_it = loop {
        match heard.recv_timeout(LIMIT) {
            Ok(line) if line.contains("stop requested") => break true,
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    sim.release();
    let (code, stopped) = report(child);
    let stderr = follow.join().unwrap_or_default();
    assert!(held, "requests were in flight");
    assert!(took_it, "ferry said it took the signal: {stderr}");
    assert_eq!(code, 3, "{stopped:#}");
    assert_eq!(stopped["status"], "interrupted", "{stopped:#}");
    let runs = ferry.json(&["runs", "acme"]);
    assert_eq!(runs[0]["status"], "interrupted", "{runs:#}");

    let resumed = ferry.json(&["sync", "acme"]);
    assert_eq!(resumed["status"], "succeeded", "{resumed:#}");
    assert_same(&ferry.mirror(), &reference.mirror(), "mirrors");
    assert_same(&ferry.documentation(), &reference.documentation(), "documentation");
}

/// A stop while requests wait for the PSA's window (black-box attack, 30
/// November: the daemon took 55 s to stop and kept sending after it): the
/// requests not yet sent are not sent, the run stops at once, recorded
/// interrupted, and the next sync resumes it to the same result.
#[test]
fn a_stop_while_requests_wait_for_the_window_sends_none_of_them() {
    let (world, options) = syncro_paged();
    let sim = syncro_sim_with(&world, options);
    let reference = Ferry::new();
    reference.add_syncro("acme", &sim);
    assert_eq!(reference.json(&["sync", "acme"])["status"], "succeeded");
    sim.clear_requests();

    // 10 requests per 10 minutes (9 with Ferry's margin): the sync sends 9
    // and every other request waits for the window.
    let ferry = patient().with_env("FERRY_RATE_WINDOW_SECONDS", "600");
    ferry.add_syncro("acme", &sim);
    ferry.run(&["rules", "acme", "option", "requests-per-minute=1"]).ok();
    let mut child = spawn_sync(&ferry, "acme");
    assert!(wait_for(LIMIT, || sim.requests().len() >= 9), "the window's allowance was sent");
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let exited = wait_for(LIMIT, || child.try_wait().ok().flatten().is_some());
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the sync did not stop within a minute: it waited for the ten-minute window");
    }
    let (code, stopped) = report(child);
    assert_eq!(code, 3, "{stopped:#}");
    assert_eq!(stopped["status"], "interrupted", "{stopped:#}");
    assert_eq!(sim.requests().len(), 9, "no request sent after the stop");

    ferry.run(&["rules", "acme", "option", "requests-per-minute=1000000"]).ok();
    let resumed = ferry.json(&["sync", "acme"]);
    assert_eq!(resumed["status"], "succeeded", "{resumed:#}");
    assert_same(&ferry.mirror(), &reference.mirror(), "mirrors");
    assert_same(&ferry.documentation(), &reference.documentation(), "documentation");
}
