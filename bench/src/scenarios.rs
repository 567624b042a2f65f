//! The benchmark scenarios of issue 7, each measured and compared with its
//! target.

use std::path::Path;
use std::time::{Duration, Instant};

use ferry::matching::{CompanyFeatures, Index};
use ferry::runtime::{Limits, Runtime, SessionConfig};
use ferry_sim::cw::{CwData, CwOptions};
use ferry_sim::syncro::{SyncroData, SyncroOptions};
use ferry_sim::world::Presence;
use ferry_sim::{Scale, Simulator, World};

use crate::Args;
use crate::floor;
use crate::measure::{Ferry, SYNCRO_TOKEN, machine, median, records_and_requests};

/// One line of the results table.
pub struct Row {
    pub scenario: String,
    pub measured: String,
    pub target: String,
    pub verdict: String,
}

pub fn row(scenario: &str, measured: String, target: &str, met: Option<bool>) -> Row {
    let verdict = match met {
        Some(true) => "met".into(),
        Some(false) => "NOT met".into(),
        None => "-".into(),
    };
    Row { scenario: scenario.into(), measured, target: target.into(), verdict }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

pub fn run_all(rt: &tokio::runtime::Runtime, args: &Args, ferry_bin: &Path) -> anyhow::Result<Vec<Row>> {
    // The big world serves the syncro and cw groups only; without them a
    // tiny one saves minutes of generating.
    let scale = if args.smoke || !(args.wants("syncro") || args.wants("cw")) {
        Scale { companies: 20, contacts_per_company: 3, assets_per_company: 8, tickets_per_company: 1 }
    } else {
        Scale { companies: 2000, contacts_per_company: 10, assets_per_company: 50, tickets_per_company: 1 }
    };
    let runs = if args.smoke { 1 } else { args.runs.max(1) };
    eprintln!("generating the world: {} companies, {} assets per company", scale.companies, scale.assets_per_company);
    let mut world = World::generate(42, &scale);
    // The generated world spreads customers over the two PSAs (some in one,
    // some in both) for matching; the benchmark wants the full data
    // set (2,000 / 20,000 / 100,000) in each PSA.
    for o in &mut world.organisations {
        o.presence = Presence { syncro: true, cw: true };
    }
    for d in &mut world.devices {
        d.presence = Presence { syncro: true, cw: true };
    }
    let cache = tempfile::tempdir()?;
    let mut rows = Vec::new();

    // Connector start, first: it compiles into the shared cache.
    if args.wants("start") {
        rows.extend(connector_start(rt, cache.path())?);
    }

    let syncro = rt.block_on(ferry_sim::syncro::start(
        SyncroData::from_world(&world),
        SyncroOptions { token: SYNCRO_TOKEN.into(), ..SyncroOptions::default() },
    ))?;
    let cw_options = CwOptions::default();
    let cw = rt.block_on(ferry_sim::cw::start(CwData::from_world(&world), cw_options.clone()))?;

    for psa in ["syncro", "cw"].into_iter().filter(|p| args.wants(p)) {
        let sim = if psa == "syncro" { &syncro } else { &cw };
        eprintln!("{psa}: full sync x{runs}");
        let mut walls = Vec::new();
        let mut rss = Vec::new();
        let mut last = None;
        for _ in 0..runs {
            let ferry = Ferry::new(ferry_bin, cache.path())?;
            add(&ferry, psa, sim, &cw_options)?;
            let m = ferry.measure(&["sync", psa])?;
            anyhow::ensure!(m.json["status"] == "succeeded", "{psa} sync did not succeed: {}", m.json);
            walls.push(secs(m.wall));
            rss.push(m.peak_rss_mib);
            last = Some((ferry, m));
        }
        let (ferry, m) = last.ok_or_else(|| anyhow::anyhow!("no run"))?;
        let (records, requests) = records_and_requests(&m.json);
        let wall = median(walls);
        eprintln!("{psa}: floor x{runs}");
        let mut floors = Vec::new();
        let mut floor_requests = 0;
        let mut floor_records = 0;
        for i in 0..runs {
            let db = ferry.dir.path().join(format!("floor-{i}.db"));
            let f = if psa == "syncro" {
                rt.block_on(floor::syncro(&sim.api_url(), SYNCRO_TOKEN, &db))?
            } else {
                rt.block_on(floor::cw(&sim.base_url(), &cw_options, &db))?
            };
            floors.push(secs(f.wall));
            floor_requests = f.requests;
            floor_records = f.records;
        }
        let floor = median(floors);
        let ratio = wall / floor;
        rows.push(row(
            &format!("{psa}: full sync"),
            format!(
                "{wall:.2} s, {:.0} records/s, {records} records, {requests} requests, peak RSS {:.0} MiB",
                records as f64 / wall,
                median(rss)
            ),
            "-",
            None,
        ));
        rows.push(row(
            &format!("{psa}: vs native floor"),
            format!(
                "floor {floor:.2} s ({floor_records} records, {floor_requests} requests); Ferry/floor = {ratio:.2}x"
            ),
            "<= 1.5x",
            Some(ratio <= 1.5),
        ));

        // Incremental after touching 0.1% of the records.
        let touched = (records as f64 * 0.001).ceil() as usize;
        let kinds: &[&str] = if psa == "syncro" {
            &["assets", "contacts", "tickets"]
        } else {
            &["configurations", "contacts", "companies"]
        };
        let per = touched.div_ceil(kinds.len()).max(1);
        for k in kinds {
            sim.touch(k, per);
        }
        sim.clear_requests();
        let inc = ferry.measure(&["sync", psa, "--incremental"])?;
        let (inc_records, inc_requests) = records_and_requests(&inc.json);
        let fraction = secs(inc.wall) / wall;
        let note = if psa == "syncro" {
            " (tickets by since_updated_at, customers newest first to the watermark; contacts and assets are read whole)"
        } else {
            " (sites: only of the companies changed)"
        };
        rows.push(row(
            &format!("{psa}: incremental after 0.1% changed"),
            format!(
                "{:.2} s = {:.1}% of full, {inc_records} records, {inc_requests} requests{note}",
                secs(inc.wall),
                fraction * 100.0
            ),
            "<= 5% of full",
            Some(fraction <= 0.05),
        ));
        if psa == "cw" {
            // The same, without `sites`: CW lists sites per company only, one
            // request per changed company. This row shows what the
            // condition-filtered streams cost alone.
            for k in kinds {
                sim.touch(k, per);
            }
            sim.clear_requests();
            let mut filtered = vec!["sync", psa, "--incremental"];
            for s in ["companies", "contacts", "assets", "agreements", "tickets"] {
                filtered.extend(["--stream", s]);
            }
            let f = ferry.measure(&filtered)?;
            let (f_records, f_requests) = records_and_requests(&f.json);
            let f_fraction = secs(f.wall) / wall;
            rows.push(row(
                "cw: incremental, filtered streams only (no sites)",
                format!(
                    "{:.2} s = {:.1}% of full, {f_records} records, {f_requests} requests",
                    secs(f.wall),
                    f_fraction * 100.0
                ),
                "<= 5% of full",
                Some(f_fraction <= 0.05),
            ));
        }

        // Apply after a rule change, no network.
        if psa == "syncro" {
            ferry.ok(&["layout", "add", "Network Gear"])?;
            ferry.ok(&["rules", psa, "add", "--when-type", "Firewall", "--layout", "Network Gear"])?;
            let mut applies = Vec::new();
            for i in 0..runs {
                if i > 0 {
                    // Flip the rule so every run moves assets.
                    ferry.ok(&["rules", psa, "remove", "1"])?;
                    ferry.ok(&["rules", psa, "add", "--when-type", "Firewall", "--layout", "Network Gear"])?;
                }
                let a = ferry.measure(&["apply", psa])?;
                applies.push(secs(a.wall));
            }
            rows.push(row(
                "syncro: apply after a rule change",
                format!("{:.2} s over {records} mirror records", median(applies)),
                "-",
                None,
            ));
        }
    }
    drop(syncro);
    drop(cw);

    if args.wants("scale") || args.wants("apply") {
        rows.extend(crate::scale::scale_and_apply(rt, args, ferry_bin, cache.path())?);
    }

    if !args.skip_rate_limited && args.wants("rate-limited") {
        rows.extend(crate::network::rate_limited(rt, ferry_bin, cache.path(), args.smoke)?);
    }
    if args.wants("latency") {
        rows.extend(crate::network::latency(rt, ferry_bin, cache.path(), args.smoke, args.skip_slow_latency)?);
    }
    if args.wants("matching") {
        rows.push(matching(if args.smoke { 500 } else { 20_000 }));
        rows.push(matching_quality()?);
    }
    Ok(rows)
}

fn add(ferry: &Ferry, psa: &str, sim: &Simulator, cw: &CwOptions) -> anyhow::Result<()> {
    if psa == "syncro" {
        ferry.add_syncro(psa, &sim.api_url())?;
    } else {
        ferry.ok(&[
            "integration",
            "add",
            psa,
            "--plugin",
            "cw-manage",
            "--set",
            "site=cw.bench.example",
            "--set",
            &format!("base_url={}", sim.base_url()),
            "--set",
            &format!("company_id={}", cw.company_id),
            "--set",
            &format!("public_key={}", cw.public_key),
            "--set",
            &format!("client_id={}", cw.client_id),
            "--secret",
            &format!("private_key={}", cw.private_key),
        ])?;
    }
    // "No rate limit": the scenario measures Ferry, not the PSA's budget.
    ferry.ok(&["rules", psa, "option", "requests-per-minute=100000000"])?;
    Ok(())
}

/// Compile, cached load and per-call instantiation of the bundled Syncro
/// connector, through the library.
fn connector_start(rt: &tokio::runtime::Runtime, cache: &Path) -> anyhow::Result<Vec<Row>> {
    let bytes = ferry::registry::BUNDLED
        .iter()
        .find(|(id, _)| *id == "syncro")
        .map(|(_, b)| *b)
        .ok_or_else(|| anyhow::anyhow!("no bundled syncro"))?;
    let cold = Runtime::new(None, Limits::default())?;
    let t = Instant::now();
    let loaded = cold.load(bytes)?;
    let compile = t.elapsed();
    drop(loaded);
    // Populate the cache, then time a fresh runtime's cached load.
    Runtime::new(Some(cache.to_path_buf()), Limits::default())?.load(bytes)?;
    let mut cached = Vec::new();
    for _ in 0..10 {
        let warm = Runtime::new(Some(cache.to_path_buf()), Limits::default())?;
        let t = Instant::now();
        warm.load(bytes)?;
        cached.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let runtime = Runtime::new(Some(cache.to_path_buf()), Limits::default())?;
    let loaded = runtime.load(bytes)?;
    let calls = 500;
    let per_call = rt.block_on(async {
        let mut session = runtime.session(&loaded, SessionConfig::anonymous())?;
        session.info().await?;
        let t = Instant::now();
        for _ in 0..calls {
            session.info().await?;
        }
        Ok::<_, anyhow::Error>(t.elapsed() / calls)
    })?;
    let cached_ms = median(cached);
    let per_call_ms = per_call.as_secs_f64() * 1000.0;
    Ok(vec![
        row("connector start: compile (no cache)", format!("{:.0} ms", compile.as_secs_f64() * 1000.0), "-", None),
        row("connector start: cached load", format!("{cached_ms:.2} ms"), "<= 10 ms", Some(cached_ms <= 10.0)),
        row(
            "connector start: instantiate + info() call",
            format!("{:.3} ms per call ({calls} calls)", per_call_ms),
            "<= 1 ms",
            Some(per_call_ms <= 1.0),
        ),
    ])
}

/// Suggestions for `n` PSA companies against `n` documentation companies.
fn matching(n: usize) -> Row {
    let world = World::generate(
        99,
        &Scale { companies: n, contacts_per_company: 0, assets_per_company: 0, tickets_per_company: 0 },
    );
    let docs: Vec<(i64, CompanyFeatures)> = world
        .organisations
        .iter()
        .map(|o| (o.index as i64, CompanyFeatures::new(&o.name, Some(&o.domain), Some(&o.phone))))
        .collect();
    let queries: Vec<CompanyFeatures> =
        world.organisations.iter().map(|o| CompanyFeatures::new(&o.cw_name, None, None)).collect();
    let t = Instant::now();
    let index = Index::from_companies(docs);
    let built = t.elapsed().as_secs_f64();
    let mut right = 0;
    for (i, q) in queries.iter().enumerate() {
        if index.best(q).is_some_and(|s| s.company_id == i as i64) {
            right += 1;
        }
    }
    let took = t.elapsed().as_secs_f64();
    row(
        &format!("matching: {n} x {n} suggestions"),
        format!(
            "{took:.2} s (index {built:.2} s, then the best match for each; {right} of {n} found their own company)"
        ),
        "<= 1 s",
        Some(took <= 1.0),
    )
}

/// Precision and recall of `match auto` at the default threshold on the
/// labelled pairs the tests use (tests/data/company_pairs.csv).
fn matching_quality() -> anyhow::Result<Row> {
    use ferry::matching::evaluate::{evaluate, parse_pairs};
    let pairs = parse_pairs(include_str!("../../tests/data/company_pairs.csv")).map_err(anyhow::Error::msg)?;
    let threshold = ferry::options::DEFAULT_MATCH_THRESHOLD;
    let e = evaluate(&pairs, threshold);
    let same = pairs.iter().filter(|p| p.2).count();
    Ok(row(
        &format!(
            "matching quality: {} labelled pairs ({same} same company, {} near misses)",
            pairs.len(),
            pairs.len() - same
        ),
        format!(
            "precision {:.3}, recall {:.3} at threshold {threshold} ({} right, {} wrong, {} missed)",
            e.precision(),
            e.recall(),
            e.true_positives,
            e.false_positives,
            e.false_negatives
        ),
        "-",
        None,
    ))
}

pub fn render(rows: &[Row], args: &Args) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Measured {} on {} ({}; median of {} run{}).\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        machine(),
        if args.smoke { "smoke run" } else { "2,000 companies, 20,000 contacts and 100,000 assets per PSA" },
        if args.smoke { 1 } else { args.runs },
        if args.smoke || args.runs == 1 { "" } else { "s" }
    ));
    out.push_str("| scenario | measured | target | |\n|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!("| {} | {} | {} | {} |\n", r.scenario, r.measured, r.target, r.verdict));
    }
    out
}
