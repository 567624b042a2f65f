//! Scale and apply throughput (issue 15): full Syncro syncs into a fresh
//! database from 1,000 to 16,000 companies, and the first apply of the
//! 2,000-company world in rows per second.
//!
//! Each size is a world of its own (10 contacts and 50 assets per company,
//! as the other Syncro rows), served by its own simulator without a rate
//! limit, so what grows is only the data. The verdict compares the wall
//! time per record at the largest size with the smallest (linear means a
//! ratio near 1) and the peak RSS at the largest with the bound.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use ferry_sim::syncro::{SyncroData, SyncroOptions};
use ferry_sim::world::Presence;
use ferry_sim::{Scale, World};

use crate::Args;
use crate::measure::{Ferry, SYNCRO_TOKEN, median, records_and_requests};
use crate::scenarios::{Row, row};

/// The sizes of the scale rows, in companies.
const SIZES: [usize; 5] = [1_000, 2_000, 4_000, 8_000, 16_000];
/// The size whose first apply is the apply-throughput row.
const APPLY_SIZE: usize = 2_000;
/// Linear means the wall time per record grows by at most this much from
/// the smallest size to the largest.
const LINEAR_RATIO: f64 = 1.3;
/// Issue 15: at most 150 MB peak RSS at 1M mirror records (in MiB).
const RSS_BOUND_MIB: f64 = 150e6 / (1024.0 * 1024.0);
/// Issue 15: the first apply writes at least this many documentation rows
/// per second.
const APPLY_TARGET_ROWS_PER_S: f64 = 100_000.0;

/// The documentation tables apply writes. Their row counts before and
/// after the first sync of a fresh database are what that apply wrote.
const DOC_TABLES: [&str; 7] =
    ["companies", "company_links", "company_history", "layouts", "assets", "cards", "tickets"];

fn scale(companies: usize) -> Scale {
    Scale { companies, contacts_per_company: 10, assets_per_company: 50, tickets_per_company: 1 }
}

/// What one full sync of one size measured (medians over the runs).
struct Run {
    companies: usize,
    records: u64,
    requests: u64,
    wall: f64,
    rss_mib: f64,
    cpu_user: f64,
    cpu_sys: f64,
    apply_s: f64,
    /// Documentation rows the first apply inserted (last run).
    doc_rows: u64,
}

impl Run {
    fn per_record(&self) -> f64 {
        self.wall / self.records.max(1) as f64
    }

    /// Ferry's own CPU time (user + system) per record.
    fn cpu_per_record(&self) -> f64 {
        (self.cpu_user + self.cpu_sys) / self.records.max(1) as f64
    }
}

/// The `scale` and `apply` groups (whichever `args` wants).
pub fn scale_and_apply(
    rt: &tokio::runtime::Runtime,
    args: &Args,
    ferry_bin: &Path,
    cache: &Path,
) -> anyhow::Result<Vec<Row>> {
    let want_scale = args.wants("scale");
    let want_apply = args.wants("apply");
    let sizes: Vec<usize> = if args.smoke {
        vec![20, 40]
    } else if want_scale {
        let mut s: Vec<usize> = SIZES.iter().copied().filter(|n| *n <= args.max_companies).collect();
        if s.is_empty() {
            s.push(SIZES[0]);
        }
        s
    } else {
        vec![APPLY_SIZE]
    };
    let apply_size = if args.smoke { sizes[0] } else { APPLY_SIZE };
    let runs = if args.smoke { 1 } else { args.runs.max(1) };
    let mut measured = Vec::new();
    for &n in &sizes {
        measured.push(one_size(rt, ferry_bin, cache, n, runs)?);
    }
    let mut rows = Vec::new();
    if want_scale {
        for r in &measured {
            rows.push(row(
                &format!("scale: Syncro full sync, {} companies", r.companies),
                format!(
                    "{:.1} s, {:.0} records/s, {} records, {} requests, peak RSS {:.0} MiB; \
                     CPU {:.1} s user + {:.1} s sys; of the wall, apply {:.1} s",
                    r.wall,
                    r.records as f64 / r.wall,
                    r.records,
                    r.requests,
                    r.rss_mib,
                    r.cpu_user,
                    r.cpu_sys,
                    r.apply_s
                ),
                "-",
                None,
            ));
        }
        if let (Some(first), Some(last)) = (measured.first(), measured.last()) {
            rows.push(scale_verdict(first, last));
        }
    }
    if want_apply && let Some(r) = measured.iter().find(|r| r.companies == apply_size) {
        let rate = r.doc_rows as f64 / r.apply_s;
        rows.push(row(
            &format!("apply: first apply, {} companies", r.companies),
            format!(
                "{:.2} s for {} mirror records, {} documentation rows written = {:.0} rows/s",
                r.apply_s, r.records, r.doc_rows, rate
            ),
            ">= 100,000 rows/s",
            Some(rate >= APPLY_TARGET_ROWS_PER_S),
        ));
    }
    Ok(rows)
}

/// Linear wall time and bounded memory, largest size against smallest.
fn scale_verdict(first: &Run, last: &Run) -> Row {
    let ratio = last.per_record() / first.per_record();
    let linear = ratio <= LINEAR_RATIO;
    let bounded = last.rss_mib <= RSS_BOUND_MIB;
    row(
        &format!("scale: {} vs {} companies", last.companies, first.companies),
        format!(
            "wall time per record {:.1} µs vs {:.1} µs = {ratio:.2}x ({}); Ferry's CPU per record {:.1} µs vs \
             {:.1} µs = {:.2}x; peak RSS {:.0} MiB at {} records ({})",
            last.per_record() * 1e6,
            first.per_record() * 1e6,
            if linear { "linear" } else { "NOT linear" },
            last.cpu_per_record() * 1e6,
            first.cpu_per_record() * 1e6,
            last.cpu_per_record() / first.cpu_per_record(),
            last.rss_mib,
            last.records,
            if bounded { "within the bound" } else { "NOT within the bound" },
        ),
        &format!("per-record ratio <= {LINEAR_RATIO}x, peak RSS <= 150 MB ({RSS_BOUND_MIB:.0} MiB)"),
        Some(linear && bounded),
    )
}

/// Full syncs of one world size into fresh databases.
fn one_size(
    rt: &tokio::runtime::Runtime,
    ferry_bin: &Path,
    cache: &Path,
    companies: usize,
    runs: usize,
) -> anyhow::Result<Run> {
    eprintln!("scale: generating {companies} companies");
    let mut world = World::generate(15, &scale(companies));
    for o in &mut world.organisations {
        o.presence = Presence { syncro: true, cw: true };
    }
    for d in &mut world.devices {
        d.presence = Presence { syncro: true, cw: true };
    }
    let sim = rt.block_on(ferry_sim::syncro::start(
        SyncroData::from_world(&world),
        SyncroOptions { token: SYNCRO_TOKEN.into(), ..SyncroOptions::default() },
    ))?;
    drop(world);
    let (mut walls, mut rss, mut user, mut sys, mut applies) = (vec![], vec![], vec![], vec![], vec![]);
    let mut last = None;
    for i in 0..runs {
        eprintln!("scale: {companies} companies, full sync {}/{runs}", i + 1);
        let ferry = Ferry::new(ferry_bin, cache)?;
        ferry.add_syncro("syncro", &sim.api_url())?;
        ferry.ok(&["rules", "syncro", "option", "requests-per-minute=100000000"])?;
        let before = doc_rows(&ferry.db())?;
        let m = ferry.measure(&["sync", "syncro"])?;
        anyhow::ensure!(m.json["status"] == "succeeded", "syncro sync did not succeed: {}", m.json);
        let after = doc_rows(&ferry.db())?;
        let apply_ms = m.json["apply"]["elapsed_ms"].as_u64().context("the sync report has no apply")?;
        walls.push(m.wall.as_secs_f64());
        rss.push(m.peak_rss_mib);
        user.push(m.cpu_user.as_secs_f64());
        sys.push(m.cpu_sys.as_secs_f64());
        applies.push(Duration::from_millis(apply_ms).as_secs_f64());
        let (records, requests) = records_and_requests(&m.json);
        last = Some((records, requests, after.saturating_sub(before)));
    }
    let (records, requests, doc_rows) = last.context("no run")?;
    Ok(Run {
        companies,
        records,
        requests,
        wall: median(walls),
        rss_mib: median(rss),
        cpu_user: median(user),
        cpu_sys: median(sys),
        apply_s: median(applies),
        doc_rows,
    })
}

/// Rows in the documentation tables of a Ferry database.
fn doc_rows(db: &Path) -> anyhow::Result<u64> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", db.display()))?;
    let mut total = 0u64;
    for table in DOC_TABLES {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .with_context(|| format!("counting {table}"))?;
        total += n as u64;
    }
    Ok(total)
}
