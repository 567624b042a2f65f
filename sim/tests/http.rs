//! The simulators over real HTTP on 127.0.0.1: auth, paging, envelopes,
//! conditions, every fault switch, mutations, data-set loading.

use std::path::Path;

use ferry_sim::cw::{CwData, CwOptions};
use ferry_sim::faults::{FailNext, RateLimit};
use ferry_sim::syncro::{SyncroData, SyncroOptions};
use ferry_sim::{Faults, Scale, Simulator, World};
use serde_json::Value;

const TOKEN: &str = "t0ken";

fn world() -> World {
    World::generate(5, &Scale::small())
}

async fn syncro() -> Simulator {
    let options = SyncroOptions { token: TOKEN.into(), contacts_per_page: 10, ..SyncroOptions::default() };
    ferry_sim::syncro::start(SyncroData::from_world(&world()), options).await.expect("start")
}

async fn cw() -> Simulator {
    ferry_sim::cw::start(CwData::from_world(&world()), CwOptions::default()).await.expect("start")
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn syncro_get(sim: &Simulator, path_and_query: &str) -> reqwest::Response {
    client().get(format!("{}{path_and_query}", sim.api_url())).bearer_auth(TOKEN).send().await.expect("request")
}

fn cw_request(sim: &Simulator, path_and_query: &str) -> reqwest::RequestBuilder {
    let o = CwOptions::default();
    client()
        .get(format!("{}{path_and_query}", sim.api_url()))
        .basic_auth(format!("{}+{}", o.company_id, o.public_key), Some(o.private_key))
        .header("clientId", o.client_id)
}

#[tokio::test]
async fn syncro_auth_variants() {
    let sim = syncro().await;
    let me = |req: reqwest::RequestBuilder| async { req.send().await.expect("send").status().as_u16() };
    let url = format!("{}/me", sim.api_url());
    assert_eq!(me(client().get(&url).bearer_auth(TOKEN)).await, 200);
    assert_eq!(me(client().get(&url).header("Authorization", TOKEN)).await, 200);
    assert_eq!(me(client().get(format!("{url}?api_key={TOKEN}"))).await, 200);
    assert_eq!(me(client().get(&url).bearer_auth("wrong")).await, 401);
    assert_eq!(me(client().get(&url)).await, 401);
    let log = sim.requests();
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|r| !r.query.clone().unwrap_or_default().contains(TOKEN)), "token never logged: {log:?}");
}

#[tokio::test]
async fn syncro_envelopes_and_paging() {
    let sim = syncro().await;
    let first: Value = syncro_get(&sim, "/contacts?page=1").await.json().await.expect("json");
    let total = sim.records("contacts").len();
    assert_eq!(first["contacts"].as_array().map(Vec::len), Some(10.min(total)));
    assert_eq!(first["meta"]["total_entries"], total);
    assert_eq!(first["meta"]["per_page"], 10);
    let pages = first["meta"]["total_pages"].as_u64().expect("total_pages") as usize;
    let mut seen = 0;
    for page in 1..=pages + 1 {
        let body: Value = syncro_get(&sim, &format!("/contacts?page={page}")).await.json().await.expect("json");
        seen += body["contacts"].as_array().map(Vec::len).unwrap_or(0);
    }
    assert_eq!(seen, total, "pages cover every contact once; a page past the end is empty");

    let assets: Value = syncro_get(&sim, "/customer_assets").await.json().await.expect("json");
    assert!(assets["assets"].is_array(), "the list key of /customer_assets is `assets`");
    let tickets: Value = syncro_get(&sim, "/tickets").await.json().await.expect("json");
    assert!(tickets["meta"].get("total_entries").is_none(), "tickets meta has only pages");

    let visible: Value = syncro_get(&sim, "/customers").await.json().await.expect("json");
    let all: Value = syncro_get(&sim, "/customers?include_disabled=true").await.json().await.expect("json");
    let n = |v: &Value| v["customers"].as_array().map(Vec::len).unwrap_or(0);
    assert!(n(&all) > n(&visible), "disabled customers are hidden by default");

    let one: Value = syncro_get(&sim, &format!("/customer_assets/{}", sim.records("assets")[0]["id"]))
        .await
        .json()
        .await
        .expect("json");
    assert!(one["asset"]["id"].is_u64(), "detail wrapped in `asset`");
    assert_eq!(syncro_get(&sim, "/customer_assets/999").await.status(), 404);
}

#[tokio::test]
async fn syncro_since_updated_at_and_touch() {
    let sim = syncro().await;
    let since = "2030-01-01T00:00:00Z";
    let none: Value = syncro_get(&sim, &format!("/tickets?since_updated_at={since}")).await.json().await.expect("json");
    assert_eq!(none["tickets"].as_array().map(Vec::len), Some(0));
    let touched = sim.touch("tickets", 2);
    assert_eq!(touched.len(), 2);
    let recent: Value =
        syncro_get(&sim, "/tickets?since_updated_at=2026-01-01T00:00:00Z").await.json().await.expect("json");
    let ids: Vec<String> = recent["tickets"].as_array().expect("list").iter().map(|t| t["id"].to_string()).collect();
    assert_eq!(ids, touched);
    assert_eq!(syncro_get(&sim, "/tickets?since_updated_at=yesterday").await.status(), 422);
}

#[tokio::test]
async fn syncro_missing_permission_says_group_permissions() {
    let sim = syncro().await;
    sim.set_faults(Faults { missing_permissions: vec!["assets".into()], ..Faults::default() });
    let r = syncro_get(&sim, "/customer_assets").await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.expect("json");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("group permissions")));
    assert_eq!(syncro_get(&sim, "/customers").await.status(), 200);
}

#[tokio::test]
async fn rate_limit_fault_is_a_sliding_window() {
    let sim = syncro().await;
    sim.set_faults(Faults {
        rate_limit: Some(RateLimit { requests: 3, window_secs: 60, retry_after: true }),
        ..Faults::default()
    });
    for _ in 0..3 {
        assert_eq!(syncro_get(&sim, "/me").await.status(), 200);
    }
    let limited = syncro_get(&sim, "/me").await;
    assert_eq!(limited.status(), 429);
    let after: u64 = limited.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&after));
    sim.set_faults(Faults {
        rate_limit: Some(RateLimit { requests: 0, window_secs: 60, retry_after: false }),
        ..Faults::default()
    });
    let limited = syncro_get(&sim, "/me").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn fail_next_malformed_truncated_revoke() {
    let sim = syncro().await;
    sim.set_faults(Faults {
        fail_next: Some(FailNext { status: 503, count: 2, retry_after: Some(3) }),
        ..Faults::default()
    });
    let r = syncro_get(&sim, "/customers").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "3");
    assert_eq!(syncro_get(&sim, "/customers").await.status(), 503);
    assert_eq!(syncro_get(&sim, "/customers").await.status(), 200);

    sim.set_faults(Faults { malformed_json: 1, truncated_json: 1, ..Faults::default() });
    let body = syncro_get(&sim, "/customers").await.text().await.expect("text");
    assert!(serde_json::from_str::<Value>(&body).is_err() && body.starts_with('<'));
    let body = syncro_get(&sim, "/customers").await.text().await.expect("text");
    assert!(serde_json::from_str::<Value>(&body).is_err() && body.starts_with('{'), "truncated");
    assert!(serde_json::from_str::<Value>(&syncro_get(&sim, "/customers").await.text().await.expect("text")).is_ok());

    sim.set_faults(Faults { revoke_token_after: Some(1), ..Faults::default() });
    assert_eq!(syncro_get(&sim, "/me").await.status(), 200);
    assert_eq!(syncro_get(&sim, "/me").await.status(), 401);
}

#[tokio::test]
async fn duplicates_vanishing_and_resets() {
    let sim = syncro().await;
    sim.set_faults(Faults { duplicate_across_pages: true, ..Faults::default() });
    let p1: Value = syncro_get(&sim, "/contacts?page=1").await.json().await.expect("json");
    let p2: Value = syncro_get(&sim, "/contacts?page=2").await.json().await.expect("json");
    assert_eq!(
        p1["contacts"].as_array().and_then(|l| l.last()).map(|c| &c["id"]),
        p2["contacts"].get(0).map(|c| &c["id"])
    );

    let victim_id = sim.records("contacts")[15]["id"].clone();
    let victim = victim_id.to_string();
    sim.set_faults(Faults { vanish_after_first_page: Some(victim.clone()), ..Faults::default() });
    syncro_get(&sim, "/contacts?page=1").await;
    let p2: Value = syncro_get(&sim, "/contacts?page=2").await.json().await.expect("json");
    assert!(p2["contacts"].as_array().expect("list").iter().all(|c| c["id"] != victim_id));

    sim.set_faults(Faults { reset_connections: 1, ..Faults::default() });
    let err = client().get(format!("{}/me", sim.api_url())).bearer_auth(TOKEN).send().await;
    assert!(err.is_err(), "connection reset");
    assert_eq!(syncro_get(&sim, "/me").await.status(), 200);
}

#[tokio::test]
async fn cw_auth_client_id_and_permissions() {
    let sim = cw().await;
    assert_eq!(cw_request(&sim, "/system/info").send().await.expect("send").status(), 200);
    let o = CwOptions::default();
    let no_client = client()
        .get(format!("{}/system/info", sim.api_url()))
        .basic_auth(format!("{}+{}", o.company_id, o.public_key), Some(o.private_key.clone()))
        .send()
        .await
        .expect("send");
    assert_eq!(no_client.status(), 400);
    let bad = client()
        .get(format!("{}/system/info", sim.api_url()))
        .basic_auth(format!("{}+{}", o.company_id, o.public_key), Some("wrong"))
        .header("clientId", &o.client_id)
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body["code"], "Unauthorized");

    sim.set_faults(Faults { missing_permissions: vec!["configurations".into()], ..Faults::default() });
    assert_eq!(cw_request(&sim, "/company/configurations").send().await.expect("send").status(), 403);
    assert_eq!(cw_request(&sim, "/company/companies").send().await.expect("send").status(), 200);

    let info: Value = client()
        .get(format!("{}/login/companyinfo/{}", sim.base_url(), o.company_id))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(info["Codebase"], "v4_6_release/");
}

#[tokio::test]
async fn cw_paging_with_link_headers() {
    let sim = cw().await;
    let total = sim.records("configurations").len();
    let o = CwOptions::default();
    let mut url = format!("{}/company/configurations?pageSize=7&orderBy=id%20asc", sim.api_url());
    let mut ids = Vec::new();
    for _ in 0..100 {
        let r = client()
            .get(&url)
            .basic_auth(format!("{}+{}", o.company_id, o.public_key), Some(o.private_key.clone()))
            .header("clientId", &o.client_id)
            .send()
            .await
            .expect("send");
        let link = r.headers().get("link").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let page: Vec<Value> = r.json().await.expect("json");
        assert!(page.len() <= 7);
        ids.extend(page.iter().map(|c| c["id"].as_u64().expect("id")));
        let next = link
            .split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .and_then(|l| l.trim_start_matches('<').split('>').next())
            .map(str::to_string);
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    assert_eq!(ids.len(), total);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "orderBy id asc");
    let big: Vec<Value> = cw_request(&sim, "/company/configurations?pageSize=5000")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(big.len(), total.min(1000), "pageSize is clamped to 1000");
    let past: Vec<Value> =
        cw_request(&sim, "/company/configurations?page=999").send().await.expect("send").json().await.expect("json");
    assert!(past.is_empty());
}

#[tokio::test]
async fn cw_conditions_filter_and_reject() {
    let sim = cw().await;
    let get = |q: &str| cw_request(&sim, q).send();
    let all: Vec<Value> = get("/company/companies?pageSize=1000").await.expect("send").json().await.expect("json");
    let live: Vec<Value> = get("/company/companies?pageSize=1000&conditions=deletedFlag%3Dfalse")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(live.len() < all.len(), "some companies are deleted");
    assert!(live.iter().all(|c| c["deletedFlag"] == false));
    let touched = sim.touch("configurations", 3);
    let since = "lastUpdated > [2026-01-01T00:00:00Z]";
    let recent: Vec<Value> = cw_request(&sim, "/company/configurations")
        .query(&[("conditions", since)])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let ids: Vec<String> = recent.iter().map(|c| c["id"].to_string()).collect();
    assert_eq!(ids, touched);
    let company = all[0]["id"].as_u64().expect("id");
    let count: Value = cw_request(&sim, "/company/configurations/count")
        .query(&[("conditions", format!("company/id = {company}"))])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(count["count"].as_u64().is_some());
    for bad in ["lastUpdated > [soon]", "nosuchfield = 1", "id ="] {
        let r = cw_request(&sim, "/company/configurations").query(&[("conditions", bad)]).send().await.expect("send");
        assert_eq!(r.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn cw_sites_per_company_and_board_statuses() {
    let sim = cw().await;
    let company = sim.records("companies")[0]["id"].as_u64().expect("id");
    let sites: Vec<Value> = cw_request(&sim, &format!("/company/companies/{company}/sites"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(!sites.is_empty());
    assert!(sites.iter().all(|s| s["company"]["id"] == company));
    assert_eq!(cw_request(&sim, "/company/companies/1/sites").send().await.expect("send").status(), 404);
    let statuses: Vec<Value> =
        cw_request(&sim, "/service/boards/1/statuses").send().await.expect("send").json().await.expect("json");
    assert!(statuses.iter().any(|s| s["closedStatus"] == true));
}

#[tokio::test]
async fn data_sets_load_from_json_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let s = SyncroData::load_json(&dir.join("syncro-small.json")).expect("syncro example");
    let sim = ferry_sim::syncro::start(s, SyncroOptions { token: TOKEN.into(), ..SyncroOptions::default() })
        .await
        .expect("start");
    let body: Value = syncro_get(&sim, "/customers?include_disabled=true").await.json().await.expect("json");
    assert_eq!(body["customers"].as_array().map(Vec::len), Some(2));
    let c = CwData::load_json(&dir.join("cw-small.json")).expect("cw example");
    let sim = ferry_sim::cw::start(c, CwOptions::default()).await.expect("start");
    let configs: Vec<Value> =
        cw_request(&sim, "/company/configurations").send().await.expect("send").json().await.expect("json");
    assert_eq!(configs[0]["serialNumber"], "5CG1234XYZ");
    assert!(SyncroData::load_json(&dir.join("nope.json")).is_err());

    // A generated data set written out loads back to the same records.
    let generated = SyncroData::from_world(&world());
    let file = std::env::temp_dir().join(format!("ferry-sim-roundtrip-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_string(&generated).expect("serialise")).expect("write");
    let loaded = SyncroData::load_json(&file).expect("load");
    let _ = std::fs::remove_file(&file);
    assert_eq!(loaded, generated);
}

/// The published CW spec (2026.4): the schemas the simulator's responses are
/// checked against, extracted into the repository (see docs/psa-apis.md).
fn cw_spec() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cw-spec-subset.json");
    let text = std::fs::read_to_string(&path).expect("the CW spec subset is in the repository");
    serde_json::from_str(&text).expect("the CW spec subset is JSON")
}

/// Make every object schema with properties strict, so an unknown key fails.
fn strict(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (_, child) in map.iter_mut() {
                strict(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

#[tokio::test]
async fn cw_responses_validate_against_the_published_spec() {
    let mut spec = cw_spec();
    strict(&mut spec);
    let components = spec["components"].clone();
    let sim = cw().await;
    let company = sim.records("companies")[0]["id"].as_u64().expect("id");
    let cases = [
        ("/company/companies", "Company"),
        ("/company/companies/types", "CompanyType"),
        ("/company/companies/statuses", "CompanyStatus"),
        ("/company/contacts", "Contact"),
        ("/finance/agreements", "Agreement"),
        ("/finance/agreements/types", "AgreementType"),
        ("/service/boards", "Board"),
        ("/service/boards/1/statuses", "BoardStatus"),
        ("/service/tickets", "Ticket"),
    ];
    let site_path = format!("/company/companies/{company}/sites");
    let mut all = cases.iter().map(|(p, s)| (p.to_string(), *s)).collect::<Vec<_>>();
    all.push((site_path, "CompanySite"));
    all.push(("/company/companies/count".into(), "Count"));
    for (path, schema_name) in all {
        let body: Value = cw_request(&sim, &path).send().await.expect("send").json().await.expect("json");
        let schema = if schema_name == "Count" {
            serde_json::json!({"$ref": "#/components/schemas/Count", "components": components})
        } else {
            serde_json::json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{schema_name}")}, "components": components})
        };
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let errors: Vec<String> =
            validator.iter_errors(&body).take(5).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{path} does not match {schema_name}: {errors:#?}");
    }
}

#[tokio::test]
async fn cw_configurations_use_known_fields_only() {
    // Configurations and /system/info are not in the published GET subset;
    // check their keys against the 2025.8 model field lists instead.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cw-models-2025.8.txt");
    let fields = std::fs::read_to_string(&path).expect("the CW model field lists are in the repository");
    // Format: "## Model (file.go)" then one line "name*:type, name:type, ...".
    let known = |model: &str| -> Vec<String> {
        let header = format!("## {model} (");
        let Some(start) = fields.find(&header) else { return vec![] };
        fields[start..]
            .lines()
            .nth(1)
            .unwrap_or("")
            .split(", ")
            .filter_map(|f| f.split(':').next())
            .map(|n| n.trim().trim_end_matches('*').to_string())
            .collect()
    };
    let config_fields = known("CompanyConfiguration");
    assert!(!config_fields.is_empty(), "field list parsed");
    let sim = cw().await;
    let configs: Vec<Value> =
        cw_request(&sim, "/company/configurations").send().await.expect("send").json().await.expect("json");
    for c in &configs {
        for key in c.as_object().expect("object").keys() {
            assert!(config_fields.iter().any(|f| f == key), "configuration field `{key}` is not in the CW model");
        }
    }
    let info: Value = cw_request(&sim, "/system/info").send().await.expect("send").json().await.expect("json");
    let info_fields = known("Info");
    for key in info.as_object().expect("object").keys() {
        assert!(info_fields.iter().any(|f| f == key), "system/info field `{key}` is not in the CW model");
    }
}

/// `updated_at` of every customer on one page of `/customers?…`.
async fn customer_times(sim: &Simulator, query: &str) -> Vec<String> {
    let body: Value =
        syncro_get(sim, &format!("/customers?include_disabled=true&{query}")).await.json().await.expect("json");
    body["customers"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["updated_at"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn syncro_sorts_customers_newest_first_unless_told_to_ignore_it() {
    let sim = syncro().await;
    let touched = sim.touch("customers", 1);
    let body: Value =
        syncro_get(&sim, "/customers?include_disabled=true&sort=updated_at%20DESC").await.json().await.expect("json");
    assert_eq!(body["customers"][0]["id"].to_string(), touched[0], "the just-updated customer comes first");
    let times = customer_times(&sim, "sort=updated_at+DESC").await;
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let ascending = customer_times(&sim, "sort=updated_at+ASC").await;
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]), "oldest first: {ascending:?}");

    sim.set_faults(Faults { ignore_sort: true, ..Faults::default() });
    let ignored: Value =
        syncro_get(&sim, "/customers?include_disabled=true&sort=updated_at%20DESC").await.json().await.expect("json");
    let ids: Vec<u64> =
        ignored["customers"].as_array().expect("list").iter().filter_map(|c| c["id"].as_u64()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "a tenant ignoring the sort answers in id order: {ids:?}");
}

#[tokio::test]
async fn latency_delays_each_response_reproducibly() {
    let sim = syncro().await;
    sim.set_latency(ferry_sim::Latency { ms: 40, jitter_ms: 0, seed: 1 });
    let started = std::time::Instant::now();
    assert_eq!(syncro_get(&sim, "/me").await.status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(40), "{:?}", started.elapsed());
}

#[tokio::test]
async fn halopsa_answers_after_its_round_trip_and_lists_its_requests() {
    let options = ferry_sim::halopsa::HaloOptions {
        latency: ferry_sim::Latency { ms: 40, jitter_ms: 0, seed: 1 },
        ..Default::default()
    };
    let data = ferry_sim::halopsa::HaloData::from_world(&ferry_sim::World::generate(3, &ferry_sim::Scale::small()));
    let sim = ferry_sim::halopsa::start(data, options.clone()).await.expect("halopsa starts");
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let token = client
        .post(format!("{}/auth/token", sim.auth_url()))
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=all",
            options.client_id, options.client_secret
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("token");
    assert_eq!(token.status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(40), "{:?}", started.elapsed());
    let log: serde_json::Value = client
        .get(format!("{}/_sim/requests", sim.resource_url()))
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    assert_eq!(log.as_array().map(Vec::len), Some(1), "{log}");
    assert_eq!(log[0]["path"], "/auth/token");
    client.delete(format!("{}/_sim/requests", sim.resource_url())).send().await.expect("clear");
    assert!(sim.requests().is_empty());
}
