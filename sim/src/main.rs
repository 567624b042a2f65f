//! `ferry-sim`: run the PSA simulators standalone, for manual tries and
//! benchmarks, or write their generated data sets out as JSON.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ferry_sim::cw::{CwData, CwOptions};
use ferry_sim::syncro::{SyncroData, SyncroOptions};
use ferry_sim::{Scale, World};

#[derive(Parser)]
#[command(name = "ferry-sim", version, about = "Simulated Syncro and ConnectWise Manage APIs on 127.0.0.1")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a simulated Syncro tenant.
    Syncro(ServeArgs),
    /// Serve a simulated CW Manage tenant.
    Cw(ServeArgs),
    /// Serve both (Syncro on --port, CW on --port + 1 when --port is given).
    Both(ServeArgs),
    /// Serve a simulated HaloPSA tenant: auth server on --port, resource
    /// server on --port + 1 (two origins, as a real tenant has).
    Halopsa {
        #[command(flatten)]
        serve: ServeArgs,
        /// Seconds an access token works before the API answers 401.
        #[arg(long, default_value_t = 3600)]
        token_lifetime: u64,
    },
    /// Write a generated data set as JSON (the format `--data` reads).
    Dump {
        #[arg(value_parser = ["syncro", "cw"])]
        psa: String,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        scale: ScaleArgs,
    },
}

#[derive(Args, Clone)]
struct ScaleArgs {
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 40)]
    companies: usize,
    #[arg(long, default_value_t = 5)]
    contacts_per_company: usize,
    #[arg(long, default_value_t = 10)]
    assets_per_company: usize,
    #[arg(long, default_value_t = 3)]
    tickets_per_company: usize,
}

impl ScaleArgs {
    fn world(&self) -> World {
        World::generate(
            self.seed,
            &Scale {
                companies: self.companies,
                contacts_per_company: self.contacts_per_company,
                assets_per_company: self.assets_per_company,
                tickets_per_company: self.tickets_per_company,
            },
        )
    }
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Serve this data set (JSON, the PSA's own shapes) instead of a generated one.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Enforce a request limit per minute (Syncro publishes 180).
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Delay every API response by this round trip, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Vary each round trip by up to this much either way (deterministic per --latency-seed).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    #[arg(long, default_value_t = 1)]
    latency_seed: u64,
    /// Syncro: ignore `sort` on customers (a tenant that does not honour it).
    #[arg(long)]
    ignore_sort: bool,
    #[command(flatten)]
    scale: ScaleArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Dump { psa, out, scale } => {
            let world = scale.world();
            let json = if psa == "syncro" {
                serde_json::to_string_pretty(&SyncroData::from_world(&world))?
            } else {
                serde_json::to_string_pretty(&CwData::from_world(&world))?
            };
            std::fs::write(&out, json).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
            return Ok(());
        }
        Command::Syncro(args) => {
            let sim = serve_syncro(&args, args.port).await?;
            wait(vec![sim]).await;
        }
        Command::Cw(args) => {
            let sim = serve_cw(&args, args.port).await?;
            wait(vec![sim]).await;
        }
        Command::Halopsa { serve, token_lifetime } => {
            // What the HaloPSA simulator does not simulate is refused, not
            // ignored: a test run with it would prove nothing.
            let unsupported: Vec<&str> = [
                (serve.data.is_some(), "--data"),
                (serve.rate_limit.is_some(), "--rate-limit"),
                (serve.ignore_sort, "--ignore-sort"),
            ]
            .into_iter()
            .filter_map(|(given, flag)| given.then_some(flag))
            .collect();
            anyhow::ensure!(
                unsupported.is_empty(),
                "ferry-sim halopsa does not simulate {} (the Syncro and CW simulators do)",
                unsupported.join(", ")
            );
            let options = ferry_sim::halopsa::HaloOptions {
                token_lifetime: std::time::Duration::from_secs(token_lifetime),
                auth_port: serve.port,
                resource_port: if serve.port == 0 { 0 } else { serve.port + 1 },
                latency: ferry_sim::Latency {
                    ms: serve.latency_ms,
                    jitter_ms: serve.jitter_ms,
                    seed: serve.latency_seed,
                },
                ..Default::default()
            };
            let data = ferry_sim::halopsa::HaloData::from_world(&serve.scale.world());
            let sim = ferry_sim::halopsa::start(data, options.clone()).await?;
            println!("HaloPSA auth server: {}  resource server: {}", sim.auth_url(), sim.resource_url());
            println!("admin: GET/DELETE {}/_sim/requests; Ctrl-C to stop", sim.resource_url());
            println!(
                "  ferry integration add halo --plugin halopsa --set auth_url={} --set resource_url={} --set client_id={} --secret client_secret={}",
                sim.auth_url(),
                sim.resource_url(),
                options.client_id,
                options.client_secret
            );
            let _ = tokio::signal::ctrl_c().await;
            drop(sim);
        }
        Command::Both(args) => {
            let s = serve_syncro(&args, args.port).await?;
            let c = serve_cw(&args, if args.port == 0 { 0 } else { args.port + 1 }).await?;
            wait(vec![s, c]).await;
        }
    }
    Ok(())
}

/// The behaviour the command line asks for: rate limit, latency, sort.
fn configure(sim: &ferry_sim::Simulator, args: &ServeArgs) {
    sim.set_faults(ferry_sim::Faults {
        rate_limit: args.rate_limit.map(|n| ferry_sim::faults::RateLimit {
            requests: n,
            window_secs: 60,
            retry_after: false,
        }),
        ignore_sort: args.ignore_sort,
        ..Default::default()
    });
    sim.set_latency(ferry_sim::Latency { ms: args.latency_ms, jitter_ms: args.jitter_ms, seed: args.latency_seed });
}

async fn serve_syncro(args: &ServeArgs, port: u16) -> anyhow::Result<ferry_sim::Simulator> {
    let data = match &args.data {
        Some(path) => SyncroData::load_json(path).map_err(anyhow::Error::msg)?,
        None => SyncroData::from_world(&args.scale.world()),
    };
    let options = SyncroOptions { port, ..SyncroOptions::default() };
    let token = options.token.clone();
    let sim = ferry_sim::syncro::start(data, options).await?;
    configure(&sim, args);
    println!("Syncro API: {}  (subdomain any, api_key {token})", sim.api_url());
    println!(
        "  ferry integration add syncro --plugin syncro --set subdomain=sim --set base_url={} --secret api_key={token}",
        sim.api_url()
    );
    Ok(sim)
}

async fn serve_cw(args: &ServeArgs, port: u16) -> anyhow::Result<ferry_sim::Simulator> {
    let data = match &args.data {
        Some(path) => CwData::load_json(path).map_err(anyhow::Error::msg)?,
        None => CwData::from_world(&args.scale.world()),
    };
    let options = CwOptions { port, ..CwOptions::default() };
    let sim = ferry_sim::cw::start(data, options.clone()).await?;
    configure(&sim, args);
    println!("CW Manage API: {}", sim.api_url());
    println!(
        "  ferry integration add cw --plugin cw-manage --set site=cw.example --set base_url={} --set company_id={} --set public_key={} --set client_id={} --secret private_key={}",
        sim.base_url(),
        options.company_id,
        options.public_key,
        options.client_id,
        options.private_key
    );
    Ok(sim)
}

async fn wait(sims: Vec<ferry_sim::Simulator>) {
    println!("admin: GET/PUT /_sim/faults, GET /_sim/requests, POST /_sim/touch|remove|rename|add; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    for s in sims {
        s.shutdown().await;
    }
}
