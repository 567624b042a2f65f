//! Real-network scenarios: the PSA's rate limit and a round trip of 150 ms,
//! each against its true floor.
//!
//! The floor of a sync of R requests against a PSA allowing N requests per
//! window W, at round trip T, with C requests allowed in flight at once, is
//! the larger of
//! - what the window forces: request k (from 0) cannot go before
//!   `floor(k / N) * W`, so the last goes at `floor((R - 1) / N) * W` and
//!   answers one round trip later;
//! - what latency forces: `R * T / C`.
//!
//! Neither PSA publishes a concurrency limit; C = [`IN_FLIGHT`] is assumed,
//! and the latency scenarios set the integration's `concurrency` option to
//! it (requests in flight and streams read at once). Since contract 0.4 the
//! connectors hand Ferry several requests at once (`send-batch`: CW's sites
//! of a page of companies, Syncro's next numbered pages once the count is
//! known), so one stream is no longer one request at a time; the
//! one-at-a-time floor `R * T` is shown beside the true one.

use std::path::Path;
use std::time::Duration;

use ferry_sim::faults::RateLimit;
use ferry_sim::syncro::{SyncroData, SyncroOptions};
use ferry_sim::world::Presence;
use ferry_sim::{Faults, Latency, Scale, Simulator, World};

use crate::measure::{Ferry, SYNCRO_TOKEN, records_and_requests};
use crate::scenarios::{Row, row};

/// The round trip the scenarios simulate.
pub const RTT: Duration = Duration::from_millis(150);
/// Requests a PSA is assumed to allow in flight at once.
pub const IN_FLIGHT: f64 = 8.0;

/// One measured sync against a paced or distant simulator.
struct Paced {
    wall: Duration,
    requests: usize,
    rejected: usize,
    records: u64,
}

/// The true floor (see the module doc).
pub fn floor(requests: usize, limit: Option<(u32, Duration)>, rtt: Duration) -> Duration {
    let window = match limit {
        Some((n, w)) if requests > 0 => w * ((requests as u32 - 1) / n) + rtt,
        _ => rtt,
    };
    window.max(rtt.mul_f64(requests as f64 / IN_FLIGHT))
}

/// A world with every company in both PSAs.
fn world(scale: &Scale) -> World {
    let mut world = World::generate(7, scale);
    for o in &mut world.organisations {
        o.presence = Presence { syncro: true, cw: true };
    }
    for d in &mut world.devices {
        d.presence = Presence { syncro: true, cw: true };
    }
    world
}

/// Syncro customers of an MSP: 10 contacts and 30 assets each, so 100
/// customers cost about 86 requests, as in issue 15.
fn customers(n: usize) -> Scale {
    Scale { companies: n, contacts_per_company: 10, assets_per_company: 30, tickets_per_company: 1 }
}

fn syncro_sync(
    rt: &tokio::runtime::Runtime,
    ferry_bin: &Path,
    cache: &Path,
    scale: &Scale,
    limit: Option<u32>,
    rtt: Duration,
    in_flight: Option<u32>,
) -> anyhow::Result<Paced> {
    let sim = rt.block_on(ferry_sim::syncro::start(
        SyncroData::from_world(&world(scale)),
        SyncroOptions { token: SYNCRO_TOKEN.into(), ..SyncroOptions::default() },
    ))?;
    configure(&sim, limit, rtt);
    let ferry = Ferry::new(ferry_bin, cache)?;
    ferry.add_syncro("syncro", &sim.api_url())?;
    if limit.is_none() {
        ferry.ok(&["rules", "syncro", "option", "requests-per-minute=100000000"])?;
    }
    if let Some(n) = in_flight {
        ferry.ok(&["rules", "syncro", "option", &format!("concurrency={n}")])?;
    }
    measure(&ferry, &sim, "syncro")
}

fn cw_sync(
    rt: &tokio::runtime::Runtime,
    ferry_bin: &Path,
    cache: &Path,
    scale: &Scale,
    rtt: Duration,
    in_flight: Option<u32>,
) -> anyhow::Result<Paced> {
    let options = ferry_sim::cw::CwOptions::default();
    let sim = rt.block_on(ferry_sim::cw::start(ferry_sim::cw::CwData::from_world(&world(scale)), options.clone()))?;
    configure(&sim, None, rtt);
    let ferry = Ferry::new(ferry_bin, cache)?;
    ferry.ok(&[
        "integration",
        "add",
        "cw",
        "--plugin",
        "cw-manage",
        "--set",
        "site=cw.bench.example",
        "--set",
        &format!("base_url={}", sim.base_url()),
        "--set",
        &format!("company_id={}", options.company_id),
        "--set",
        &format!("public_key={}", options.public_key),
        "--set",
        &format!("client_id={}", options.client_id),
        "--secret",
        &format!("private_key={}", options.private_key),
    ])?;
    ferry.ok(&["rules", "cw", "option", "requests-per-minute=100000000"])?;
    if let Some(n) = in_flight {
        ferry.ok(&["rules", "cw", "option", &format!("concurrency={n}")])?;
    }
    measure(&ferry, &sim, "cw")
}

fn configure(sim: &Simulator, limit: Option<u32>, rtt: Duration) {
    sim.set_faults(Faults {
        rate_limit: limit.map(|n| RateLimit { requests: n, window_secs: 60, retry_after: false }),
        ..Faults::default()
    });
    sim.set_latency(Latency { ms: rtt.as_millis() as u64, jitter_ms: rtt.as_millis() as u64 / 10, seed: 15 });
}

fn measure(ferry: &Ferry, sim: &Simulator, name: &str) -> anyhow::Result<Paced> {
    sim.clear_requests();
    let m = ferry.measure(&["sync", name])?;
    anyhow::ensure!(m.json["status"] == "succeeded", "{name} sync did not succeed: {}", m.json);
    let log = sim.requests();
    let (records, _) = records_and_requests(&m.json);
    Ok(Paced { wall: m.wall, requests: log.len(), rejected: log.iter().filter(|r| r.status == 429).count(), records })
}

/// Syncro at its published 180 requests/minute on loopback: 100 customers
/// (fits one window) and 300 (one window's wait).
pub fn rate_limited(
    rt: &tokio::runtime::Runtime,
    ferry_bin: &Path,
    cache: &Path,
    smoke: bool,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for n in if smoke { vec![5] } else { vec![100, 300] } {
        eprintln!("rate-limited: Syncro at 180/min, {n} customers");
        let p = syncro_sync(rt, ferry_bin, cache, &customers(n), Some(180), Duration::ZERO, None)?;
        let floor = floor(p.requests, Some((180, Duration::from_secs(60))), Duration::ZERO);
        let wall = p.wall.as_secs_f64();
        // Within one window the floor is ~0: the target is an absolute 2 s.
        let (target, met) = if floor.is_zero() {
            ("< 2 s, 0 x 429", wall < 2.0 && p.rejected == 0)
        } else {
            ("<= 1.05x floor, 0 x 429", wall / floor.as_secs_f64() <= 1.05 && p.rejected == 0)
        };
        rows.push(row(
            &format!("syncro: rate-limited (180/min), {n} customers"),
            format!(
                "{wall:.1} s for {} requests; floor {:.1} s (the window's){}; {} answered 429",
                p.requests,
                floor.as_secs_f64(),
                if floor.is_zero() { String::new() } else { format!("; ratio {:.3}x", wall / floor.as_secs_f64()) },
                p.rejected
            ),
            target,
            Some(met),
        ));
    }
    Ok(rows)
}

/// 150 ms round trip: Syncro at 180/min with 100, 300 and 2,000 customers
/// (`skip_slow`: without the 2,000), CW without a limit with 2,000
/// companies; each integration allowed [`IN_FLIGHT`] requests at once.
pub fn latency(
    rt: &tokio::runtime::Runtime,
    ferry_bin: &Path,
    cache: &Path,
    smoke: bool,
    skip_slow: bool,
) -> anyhow::Result<Vec<Row>> {
    let in_flight = Some(IN_FLIGHT as u32);
    let mut rows = Vec::new();
    let rtt = if smoke { Duration::from_millis(5) } else { RTT };
    let big = if smoke {
        Scale { companies: 10, contacts_per_company: 2, assets_per_company: 4, tickets_per_company: 1 }
    } else {
        Scale { companies: 2000, contacts_per_company: 10, assets_per_company: 50, tickets_per_company: 1 }
    };
    let syncro_cases: Vec<(String, Scale)> = if smoke {
        vec![("5 customers".into(), customers(5))]
    } else {
        vec![
            ("100 customers".into(), customers(100)),
            ("300 customers".into(), customers(300)),
            ("2,000 companies".into(), big.clone()),
        ]
        .into_iter()
        .filter(|(what, _)| !(skip_slow && what == "2,000 companies"))
        .collect()
    };
    let ms = rtt.as_millis();
    for (what, scale) in syncro_cases {
        eprintln!("latency: Syncro at 180/min, {what}, {ms} ms round trip");
        let p = syncro_sync(rt, ferry_bin, cache, &scale, Some(180), rtt, in_flight)?;
        rows.push(latency_row(&format!("syncro: 180/min, {ms} ms RTT, {what}"), &p, Some(180), rtt));
    }
    eprintln!("latency: CW without a limit, {} companies, {ms} ms round trip", big.companies);
    let p = cw_sync(rt, ferry_bin, cache, &big, rtt, in_flight)?;
    rows.push(latency_row(&format!("cw: no limit, {ms} ms RTT, {} companies", big.companies), &p, None, rtt));
    Ok(rows)
}

fn latency_row(scenario: &str, p: &Paced, limit: Option<u32>, rtt: Duration) -> Row {
    let window = limit.map(|n| (n, Duration::from_secs(60)));
    let floor = floor(p.requests, window, rtt).as_secs_f64();
    let sequential = floor_sequential(p.requests, window, rtt).as_secs_f64();
    let wall = p.wall.as_secs_f64();
    let ratio = wall / floor;
    row(
        scenario,
        format!(
            "{wall:.1} s, {} records, {} requests, {} answered 429; floor {floor:.1} s ({IN_FLIGHT} in flight), \
             {sequential:.1} s one at a time; Ferry/floor = {ratio:.2}x",
            p.records, p.requests, p.rejected
        ),
        "<= 1.15x floor, 0 x 429",
        Some(ratio <= 1.15 && p.rejected == 0),
    )
}

/// The floor with one request in flight at a time.
fn floor_sequential(requests: usize, limit: Option<(u32, Duration)>, rtt: Duration) -> Duration {
    floor(requests, limit, rtt).max(rtt * requests as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors() {
        let minute = Some((180, Duration::from_secs(60)));
        assert_eq!(floor(86, minute, Duration::ZERO), Duration::ZERO, "one window");
        assert_eq!(floor(251, minute, Duration::ZERO), Duration::from_secs(60), "one wait");
        assert_eq!(floor(361, minute, Duration::ZERO), Duration::from_secs(120));
        assert_eq!(floor(86, minute, RTT), RTT.mul_f64(86.0 / IN_FLIGHT), "latency decides");
        assert_eq!(floor(2460, minute, RTT), Duration::from_secs(13 * 60) + RTT, "the window decides");
        assert_eq!(floor(800, None, RTT), RTT * 100);
        assert_eq!(floor_sequential(800, None, RTT), RTT * 800);
    }
}
