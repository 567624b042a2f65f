//! HaloPSA through the real binary: the bundled connector against the fake
//! HaloPSA (`ferry_sim::halopsa`), whose token and resource servers are two
//! origins. `plugin check` passes, a sync brings every client, user, asset
//! and site, and the token is fetched once per token lifetime across the
//! whole sync (kept in the integration's `state`, contract 0.3), and once
//! more after the fake expired it (`token-expired`, retried by Ferry).

mod common;

use common::*;
use ferry_sim::halopsa::{HaloData, HaloOptions, HaloSim};

struct Halo {
    sim: HaloSim,
    _rt: tokio::runtime::Runtime,
}

fn halo_sim() -> Halo {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let sim = rt
        .block_on(ferry_sim::halopsa::start(HaloData::from_world(&small_world()), HaloOptions::default()))
        .expect("start halopsa sim");
    Halo { sim, _rt: rt }
}

fn settings(sim: &HaloSim) -> Vec<String> {
    let o = sim.options();
    [
        "--set".to_string(),
        format!("auth_url={}", sim.auth_url()),
        "--set".into(),
        format!("resource_url={}", sim.resource_url()),
        "--set".into(),
        format!("client_id={}", o.client_id),
        "--secret".into(),
        format!("client_secret={}", o.client_secret),
    ]
    .to_vec()
}

#[test]
fn halopsa_passes_check_and_syncs_with_one_token_per_lifetime() {
    let halo = halo_sim();
    let sim = &halo.sim;
    let ferry = Ferry::new();
    let args = settings(sim);

    let mut check = vec!["--json", "plugin", "check", "halopsa"];
    check.extend(args.iter().map(String::as_str));
    let report = ferry.run(&check).json();
    assert_eq!(report["passed"], true, "{report:#}");
    assert!(!report.to_string().contains(&sim.options().client_secret), "the secret is scrubbed");

    let mut add = vec!["integration", "add", "halo", "--plugin", "halopsa"];
    add.extend(args.iter().map(String::as_str));
    ferry.run(&add).ok();
    ferry.unpaced("halo");
    let shown = ferry.json(&["integration", "show", "halo"]);
    assert_eq!(shown["allowed_origins"].as_array().map(Vec::len), Some(2), "two origins: {shown:#}");

    let tokens_before = sim.token_requests();
    let gets_before = sim.requests().iter().filter(|r| r.method == "GET").count();
    let sync = ferry.json(&["sync", "halo"]);
    assert_eq!(sync["status"], "succeeded", "{sync:#}");
    let data = sim.data();
    let mirrored = |stream: &str| ferry.count(&format!("SELECT COUNT(*) FROM mirror WHERE stream = '{stream}'"));
    assert_eq!(mirrored("companies"), data.clients.len() as i64, "every client mirrored");
    assert_eq!(mirrored("contacts"), data.users.len() as i64, "every end user mirrored");
    assert_eq!(mirrored("assets"), data.assets.len() as i64, "every asset mirrored");
    assert_eq!(mirrored("sites"), data.sites.len() as i64, "every site mirrored");
    assert_eq!(ferry.count("SELECT COUNT(*) FROM companies"), data.clients.len() as i64);
    let (live, archived) = ferry.assets();
    assert!(!live.is_empty() || !archived.is_empty(), "assets reach the documentation");

    // Client contracts come through as the extra stream `contracts`: every
    // one mirrored, and each placed like an asset in a layout named after
    // the stream, on its client's documentation, with a read-only PSA card.
    assert!(!data.contracts.is_empty(), "the fake serves contracts");
    assert_eq!(mirrored("extra:contracts"), data.contracts.len() as i64, "every contract mirrored");
    let placed = |list: &[serde_json::Value]| list.iter().filter(|a| a["layout"] == "Contracts").count();
    assert_eq!(placed(&live) + placed(&archived), data.contracts.len(), "every contract documented");
    assert_eq!(
        ferry.count("SELECT COUNT(*) FROM cards WHERE stream = 'extra:contracts' AND doc_kind = 'asset'"),
        data.contracts.len() as i64,
        "one PSA card per contract"
    );
    let streams: Vec<&str> =
        sync["streams"].as_array().into_iter().flatten().filter_map(|s| s["stream"].as_str()).collect();
    assert!(streams.contains(&"extra:contracts"), "the run lists the extra stream: {streams:?}");

    // One token for the whole sync: every `read` is a fresh instance, but
    // the token lives in the integration's state for its lifetime.
    let pages = sim.requests().iter().filter(|r| r.method == "GET").count() - gets_before;
    let tokens = sim.token_requests() - tokens_before;
    assert!(pages >= 4, "{pages} pages read: one call each");
    assert_eq!(tokens, 1, "{tokens} token requests for {pages} pages");

    // Another sync within the lifetime needs no token at all.
    assert_eq!(ferry.json(&["sync", "halo", "--force"])["status"], "succeeded");
    assert_eq!(sim.token_requests() - tokens_before, 1, "the token outlives the run");

    // The fake expires the token early: the first request with it gets 401,
    // the connector answers `token-expired`, Ferry clears state and retries
    // the call, which fetches exactly one new token.
    let unauthorized_before = sim.requests().iter().filter(|r| r.status == 401).count();
    sim.expire_tokens();
    let resync = ferry.json(&["sync", "halo", "--force"]);
    assert_eq!(resync["status"], "succeeded", "{resync:#}");
    assert_eq!(sim.token_requests() - tokens_before, 2, "one refresh after expiry");
    let refused = sim.requests().iter().filter(|r| r.status == 401).count() - unauthorized_before;
    assert_eq!(refused, 1, "only the first request met the expired token");
}

#[test]
fn a_wrong_client_secret_stops_the_sync_as_unauthorized() {
    let halo = halo_sim();
    let ferry = Ferry::new();
    let mut args = settings(&halo.sim);
    if let Some(last) = args.last_mut() {
        *last = "client_secret=wrong".into();
    }
    let mut add = vec!["integration", "add", "halo", "--plugin", "halopsa"];
    add.extend(args.iter().map(String::as_str));
    ferry.run(&add).ok();
    let run = ferry.run(&["integration", "test", "halo"]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.all().contains("refused the client id and secret"), "{}", run.all());
}
