//! `ferry serve`: the console and its API, over the real binary. HTTP-level
//! tests (reqwest) check the security rules and the API; the browser
//! scenario drives headless Chromium through WebDriver (fantoccini) the
//! way an operator would. Without chromedriver the browser test says so
//! and passes, unless `FERRY_REQUIRE_BROWSER=1` (CI) makes it fail.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{Ferry, SYNCRO_TOKEN, small_world, syncro_sim_data};
use ferry_sim::syncro::SyncroData;
use serde_json::Value;

/// A running `ferry serve`, killed on drop.
struct Console {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `ferry serve` on a free loopback port; read where it listens and
/// its admin token from its first lines.
fn serve(ferry: &Ferry, extra: &[&str]) -> Console {
    serve_with(ferry, extra, None)
}

/// [`serve`] with another `ferry` binary (a release build, to measure it),
/// given the same arguments and environment.
/// A Syncro simulator of the small world, a Ferry with integration
/// `syncro` on it (not synced), and a console over that Ferry.
fn serve_syncro() -> (common::Sim, Ferry, Console) {
    let sim = common::syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &sim);
    let console = serve(&ferry, &[]);
    (sim, ferry, console)
}

fn serve_with(ferry: &Ferry, extra: &[&str], bin: Option<&std::ffi::OsStr>) -> Console {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut command = ferry.command(&args);
    if let Some(bin) = bin {
        let mut other = std::process::Command::new(bin);
        other.args(command.get_args());
        for (k, v) in command.get_envs() {
            match v {
                Some(v) => other.env(k, v),
                None => other.env_remove(k),
            };
        }
        command = other;
    }
    let mut child = command
        .env("FERRY_NOTIFY_BACKOFF_MS", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ferry serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut token = String::new();
    let url = loop {
        let line = lines.next().expect("ferry serve ended before listening").expect("read line");
        if let Some(t) = line.split_whitespace().find(|w| w.starts_with("ferry_")) {
            token = t.to_string();
        }
        if let Some(at) = line.strip_prefix("ferry console listening on ") {
            break at.trim_end_matches('/').to_string();
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Console { child, url, token }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// Sign in; returns the session cookie and the CSRF token of its pages.
async fn sign_in(c: &reqwest::Client, console: &Console) -> (String, String) {
    let r = c
        .post(format!("{}/login", console.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", &console.token), ("next", "/")]))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303, "login redirects");
    let set = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie").to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().expect("cookie").to_string();
    let page = c.get(format!("{}/", console.url)).header("cookie", &cookie).send().await.expect("dashboard");
    let html = page.text().await.expect("html");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF field on the dashboard")
        .to_string();
    (cookie, csrf)
}

async fn api(c: &reqwest::Client, console: &Console, path: &str) -> (u16, Value) {
    let r = c.get(format!("{}/api/v1{path}", console.url)).bearer_auth(&console.token).send().await.expect("api call");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

async fn api_post(c: &reqwest::Client, console: &Console, path: &str, body: Value) -> (u16, Value) {
    let r = c
        .post(format!("{}/api/v1{path}", console.url))
        .bearer_auth(&console.token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("api call");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

#[test]
fn pages_need_a_session_and_every_post_its_csrf_token() {
    let ferry = Ferry::new();
    let console = serve(&ferry, &[]);
    rt().block_on(async {
        let c = client();
        // No session: the login page.
        let r = c.get(format!("{}/companies", console.url)).send().await.expect("get");
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/login?next=%2Fcompanies");
        // No session, a POST: refused.
        let r = c.post(format!("{}/settings/webhook", console.url)).body("url=").send().await.expect("post");
        assert_eq!(r.status(), 403);
        let (cookie, csrf) = sign_in(&c, &console).await;
        // A session without the CSRF token: 403, nothing changed.
        let post = |body: String| {
            c.post(format!("{}/settings/webhook", console.url))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
        };
        let r = post(form(&[("url", "http://127.0.0.1:9/hook")])).await.expect("post");
        assert_eq!(r.status(), 403);
        assert!(r.text().await.expect("body").contains("CSRF"));
        let r = post(form(&[("url", "http://127.0.0.1:9/hook"), ("csrf", "wrong")])).await.expect("post");
        assert_eq!(r.status(), 403);
        assert_eq!(ferry.count("SELECT COUNT(*) FROM console_settings WHERE key = 'webhook_url'"), 0);
        // With it: done, and back to the page.
        let r = post(form(&[("url", "http://127.0.0.1:9/hook"), ("csrf", &csrf)])).await.expect("post");
        assert_eq!(r.status(), 303);
        assert_eq!(ferry.count("SELECT COUNT(*) FROM console_settings WHERE key = 'webhook_url'"), 1);
    });
}

/// POST the sign-in form with `token`, from `client`.
async fn login(c: &reqwest::Client, console: &Console, token: &str) -> reqwest::Response {
    c.post(format!("{}/login", console.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", token), ("next", "/")]))
        .send()
        .await
        .expect("login")
}

/// A client whose requests come from `ip` (any 127.x.y.z is this machine).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .expect("client")
}

/// Console attack F4: wrong tokens are answered 429 once an address sent
/// too many (sign-in page and API alike), but they never lock the operator
/// out: the right token is accepted from any address, throttled or not,
/// however many addresses guessed.
#[test]
fn wrong_tokens_are_throttled_without_locking_out_the_admin() {
    let ferry = Ferry::new();
    let console = serve(&ferry, &[]);
    let conn = rusqlite::Connection::open(&ferry.db).expect("db");
    let hash: String = conn.query_row("SELECT hash FROM console_tokens", [], |r| r.get(0)).expect("hash");
    assert!(hash.starts_with("$argon2"), "{hash}");
    assert!(!hash.contains(&console.token));
    rt().block_on(async {
        let c = client();
        for _ in 0..5 {
            assert_eq!(login(&c, &console, "ferry_wrong").await.status(), 401);
        }
        let r = login(&c, &console, "ferry_wrong").await;
        assert_eq!(r.status(), 429);
        let wait: u64 = r.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
        assert!((1..=60).contains(&wait), "{wait}");
        // The right token still signs in from the same (throttled) address.
        assert_eq!(login(&c, &console, &console.token).await.status(), 303, "the admin is not locked out");
        // The API counts the same way, and takes the right token meanwhile;
        // the scheme is case-insensitive.
        let r = c.get(format!("{}/api/v1/integrations", console.url)).bearer_auth("ferry_wrong").send().await;
        let r = r.expect("api");
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        let body: Value = serde_json::from_str(&r.text().await.expect("body")).expect("JSON");
        assert!(body["hint"].as_str().is_some_and(|h| h.contains("right token")), "{body}");
        let r = c
            .get(format!("{}/api/v1/integrations", console.url))
            .header("authorization", format!("bearer {}", console.token))
            .send()
            .await
            .expect("api");
        assert_eq!(r.status(), 200);
        // Wrong tokens from many addresses (a proxy's clients, a botnet):
        // each is throttled, none shuts the operator out.
        for last in 2..=41u8 {
            let from = client_from([127, 0, 0, last]);
            let mut statuses = Vec::new();
            for _ in 0..6 {
                statuses.push(login(&from, &console, &format!("ferry_guess{last}")).await.status().as_u16());
            }
            assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "from 127.0.0.{last}");
        }
        assert_eq!(login(&client_from([127, 0, 0, 41]), &console, &console.token).await.status(), 303);
        assert_eq!(login(&client_from([127, 0, 0, 42]), &console, &console.token).await.status(), 303);
    });
    let token = console.token.clone();
    drop(console);
    // A restart keeps the token: no new one is shown, the old one works.
    let mut again = serve(&ferry, &[]);
    assert!(again.token.is_empty(), "no new token on a second start");
    rt().block_on(async {
        again.token = String::from("ferry_not_it");
        let (status, body) = api(&client(), &again, "/integrations").await;
        assert_eq!(status, 401);
        assert!(body["hint"].as_str().is_some_and(|h| h.contains("Bearer")), "{body}");
        again.token = token;
        assert_eq!(api(&client(), &again, "/integrations").await.0, 200);
    });
}

/// The admin token a `ferry serve --new-token --no-serve` printed.
fn rotate(ferry: &Ferry) -> String {
    let run = ferry.run(&["serve", "--new-token", "--no-serve"]).ok();
    assert!(run.stdout.contains("signed out"), "{}", run.stdout);
    run.stdout.split_whitespace().find(|w| w.starts_with("ferry_")).expect("a new token").to_string()
}

/// Whether `cookie` still opens the dashboard (else: the login page).
async fn signed_in(c: &reqwest::Client, console: &Console, cookie: &str) -> bool {
    let r = c.get(format!("{}/", console.url)).header("cookie", cookie).send().await.expect("get");
    r.status() == 200
}

/// Console attack F2: a token replaced by another process on the same
/// database (a second `serve --new-token`, or `--new-token --no-serve`) is
/// refused by a console that is already running, from its next request,
/// and every session made with it ends; the new token works there at once.
#[test]
fn a_rotated_token_is_refused_by_a_running_console() {
    let ferry = Ferry::new();
    let mut a = serve(&ferry, &[]);
    let first = a.token.clone();
    rt().block_on(async {
        let c = client();
        let (cookie, _) = sign_in(&c, &a).await;
        assert!(signed_in(&c, &a, &cookie).await);
        assert_eq!(api(&c, &a, "/integrations").await.0, 200);

        // Another console on the same database, started with --new-token.
        let b = serve(&ferry, &["--new-token"]);
        let second = b.token.clone();
        assert!(second.starts_with("ferry_") && second != first, "B shows a new token");
        assert_eq!(api(&c, &a, "/integrations").await.0, 401, "A refuses the old token");
        assert!(!signed_in(&c, &a, &cookie).await, "A ended the old token's session");
        assert_eq!(login(&c, &a, &first).await.status(), 401, "A refuses to sign in with it");
        a.token = second.clone();
        assert_eq!(api(&c, &a, "/integrations").await.0, 200, "A accepts the new token");
        let (cookie_a, _) = sign_in(&c, &a).await;
        let (cookie_b, _) = sign_in(&c, &b).await;

        // Without serving: both consoles take the rotation at once.
        let third = rotate(&ferry);
        for console in [&a, &b] {
            assert_eq!(api(&c, console, "/integrations").await.0, 401, "{}: the old token", console.url);
        }
        assert!(!signed_in(&c, &a, &cookie_a).await && !signed_in(&c, &b, &cookie_b).await, "sessions end");
        a.token = third.clone();
        assert_eq!(api(&c, &a, "/integrations").await.0, 200);
        assert_eq!(login(&c, &b, &third).await.status(), 303, "B signs in with the new token");
        // Rotations racing with sign-ins: whatever interleaves, only the
        // newest token works afterwards.
        let mut children: Vec<_> = (0..3)
            .map(|_| {
                ferry.command(&["serve", "--new-token", "--no-serve"]).stdout(Stdio::null()).spawn().expect("rotate")
            })
            .collect();
        for _ in 0..3 {
            let _ = login(&c, &a, &third).await;
        }
        for child in &mut children {
            assert!(child.wait().expect("wait").success());
        }
        assert_eq!(login(&c, &a, &third).await.status(), 401, "an older token after the race");
        let newest = rotate(&ferry);
        a.token = newest;
        assert_eq!(api(&c, &a, "/integrations").await.0, 200);
    });
}

#[test]
fn a_non_loopback_address_needs_tls() {
    let ferry = Ferry::new();
    let run = ferry.run(&["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("refusing to listen on 0.0.0.0:0 without TLS"), "{}", run.stderr);
    assert!(run.stderr.contains("--tls-cert"), "{}", run.stderr);
}

/// Console attack F1: a start that cannot listen (the port is taken) must
/// not create or replace the admin token, which it would never show.
#[test]
fn a_start_that_cannot_listen_keeps_the_admin_token() {
    let ferry = Ferry::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let listen = format!("127.0.0.1:{port}");
    for extra in [&[][..], &["--new-token"][..]] {
        let mut args = vec!["serve", "--listen", listen.as_str()];
        args.extend_from_slice(extra);
        let run = ferry.run(&args);
        assert_ne!(run.code, 0, "{extra:?}: {}", run.all());
        assert_eq!(ferry.count("SELECT COUNT(*) FROM console_tokens"), 0, "{extra:?}: no token made");
    }
    drop(taken);
}

#[test]
fn the_console_speaks_tls_with_a_certificate() {
    let ferry = Ferry::new();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert_path = ferry.dir.path().join("cert.pem");
    let key_path = ferry.dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let console = serve(
        &ferry,
        &["--tls-cert", cert_path.to_str().expect("path"), "--tls-key", key_path.to_str().expect("path")],
    );
    assert!(console.url.starts_with("https://"), "{}", console.url);
    rt().block_on(async {
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_danger_accept_invalid_certs(true)
            .build()
            .expect("client");
        let r = c
            .post(format!("{}/login", console.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("token", &console.token)]))
            .send()
            .await
            .expect("login over TLS");
        assert_eq!(r.status(), 303);
        let cookie = r.headers()["set-cookie"].to_str().expect("cookie").to_string();
        assert!(cookie.contains("; Secure"), "{cookie}");
    });
}

#[test]
fn the_api_answers_as_the_cli_does() {
    let sim = common::syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &sim);
    ferry.json(&["sync", "syncro"]);
    let console = serve(&ferry, &[]);
    rt().block_on(async {
        let c = client();
        let (status, body) = api(&c, &console, "/integrations").await;
        assert_eq!(status, 200);
        assert_eq!(body, ferry.json(&["integration", "list"]));
        assert_eq!(api(&c, &console, "/integrations/syncro").await.1, ferry.json(&["integration", "show", "syncro"]));
        assert_eq!(api(&c, &console, "/integrations/syncro/matches").await.1, ferry.json(&["match", "syncro", "list"]));
        assert_eq!(api(&c, &console, "/integrations/syncro/rules").await.1, ferry.json(&["rules", "syncro", "show"]));
        assert_eq!(api(&c, &console, "/companies").await.1, ferry.json(&["company", "list"]));
        assert_eq!(api(&c, &console, "/assets").await.1, ferry.json(&["asset", "list"]));
        assert_eq!(api(&c, &console, "/tickets").await.1, ferry.json(&["ticket", "list"]));
        assert_eq!(api(&c, &console, "/runs?integration=syncro").await.1, ferry.json(&["runs", "syncro"]));
        // Errors: the CLI's cause and hint, as JSON.
        let (status, body) = api(&c, &console, "/integrations/nope").await;
        assert_eq!(status, 404);
        let cli = ferry.run(&["--json", "integration", "show", "nope"]).code(1).json_error();
        assert_eq!(body["error"], cli["error"], "{body} vs {cli}");
        assert_eq!(body["hint"], cli["hint"]);
        // Actions: a sort rule, then a sync whose report is the CLI's.
        let types = ferry.json(&["rules", "syncro", "types"]);
        let when = types[0]["name"].as_str().expect("a type").to_string();
        let (status, options) = api_post(
            &c,
            &console,
            "/integrations/syncro/rules",
            serde_json::json!({"when_type": when, "layout": "Nowhere"}),
        )
        .await;
        assert_eq!(status, 400, "{options}");
        assert!(options["hint"].as_str().is_some_and(|h| h.contains("layout add")), "{options}");
        let layout = ferry.json(&["layout", "list"])[0]["name"].as_str().expect("layout").to_string();
        let (status, options) = api_post(
            &c,
            &console,
            "/integrations/syncro/rules",
            serde_json::json!({"when_type": when, "layout": layout}),
        )
        .await;
        assert_eq!(status, 200, "{options}");
        assert_eq!(options["rules"][0]["layout"], layout.as_str());
        let (status, report) =
            api_post(&c, &console, "/integrations/syncro/sync", serde_json::json!({"mode": "incremental"})).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["status"], "succeeded");
        assert_eq!(report["mode"], "incremental");
        let asset = ferry.json(&["asset", "list"])[0]["id"].as_i64().expect("asset id");
        let (status, _) = api_post(
            &c,
            &console,
            &format!("/assets/{asset}/fields"),
            serde_json::json!({"field": "Rack", "value": "R1-U12"}),
        )
        .await;
        assert_eq!(status, 200);
        let shown = ferry.json(&["asset", "show", &asset.to_string()]);
        assert_eq!(shown["fields"][0]["value"], "R1-U12");
        // The bearer call needs no CSRF token; a session would.
        let (status, body) = api(&c, &console, &format!("/assets/{asset}")).await;
        assert_eq!(status, 200);
        assert_eq!(body, shown);
    });
}

/// A value no form or call offers (a state, policy, stage, preset, sync
/// mode, decision) is a 400 naming the values that would do, from the pages
/// and the API alike, and changes nothing; the options form sets the
/// number of streams read at once as `rules NAME option concurrency=N` does.
#[test]
fn a_value_outside_an_enum_is_a_400_naming_the_valid_ones() {
    let sim = common::syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &sim);
    let before = ferry.json(&["rules", "syncro", "show"]);
    let console = serve(&ferry, &[]);
    rt().block_on(async {
        let c = client();
        let (status, body) = api(&c, &console, "/integrations/syncro/matches?state=linked").await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "unknown state `linked`");
        assert_eq!(body["hint"], "use one of: suggested, matched, created, ignored, unmatched");
        let (status, body) =
            api_post(&c, &console, "/integrations/syncro/sync", serde_json::json!({"mode": "sometimes"})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["hint"], "use one of: full, incremental, tickets, resync-tickets");
        assert_eq!(ferry.count("SELECT COUNT(*) FROM runs"), 0, "no sync ran");
        let (status, body) = api(&c, &console, "/tickets?stage=Closed").await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["hint"], "use one of: New, Triaged, Working, Waiting, Resolved");

        let (cookie, csrf) = sign_in(&c, &console).await;
        let post = |path: &str, pairs: &[(&str, &str)]| {
            let mut pairs = pairs.to_vec();
            pairs.push(("csrf", &csrf));
            c.post(format!("{}/integrations/syncro{path}", console.url))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&pairs))
                .send()
        };
        for (path, pairs, values) in [
            ("/policy", vec![("policy", "sometimes")], "auto, create, review"),
            ("/stage", vec![("stage", "Closed"), ("status", "Done")], "New, Triaged, Working, Waiting, Resolved"),
            ("/schedules/preset", vec![("preset", "hourly")], "nightly, default"),
            ("/sync", vec![("mode", "sometimes")], "full, incremental, tickets, resync-tickets"),
            ("/match/decide", vec![("ext", "1"), ("action", "merge")], "accept, set, create, ignore, unmatch"),
        ] {
            let r = post(path, &pairs).await.expect("post");
            assert_eq!(r.status(), 400, "{path}");
            let page = r.text().await.expect("page");
            assert!(page.contains(&format!("use one of: {values}")), "{path}: {page}");
        }
        assert_eq!(ferry.json(&["rules", "syncro", "show"]), before, "nothing changed");

        let r = post("/option", &[("concurrency", "2")]).await.expect("post");
        assert_eq!(r.status(), 303);
        assert_eq!(ferry.json(&["rules", "syncro", "show"])["concurrency"], 2);
        let page = c
            .get(format!("{}/integrations/syncro", console.url))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("page");
        assert!(page.contains(r#"name="concurrency" value="2""#), "the form shows it");
        let r = post("/option", &[("concurrency", "")]).await.expect("post");
        assert_eq!(r.status(), 303);
        assert!(ferry.json(&["rules", "syncro", "show"]).get("concurrency").is_none(), "back to the default");
    });
}

/// A loopback HTTP receiver: answers 500 to the first request, 200 after,
/// and hands every body to the test.
fn webhook_receiver() -> (String, std::sync::mpsc::Receiver<(u16, String)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read headers, then the body by Content-Length.
            let body = loop {
                let Ok(k) = stream.read(&mut chunk) else { break String::new() };
                if k == 0 {
                    break String::new();
                }
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if rest.len() >= len {
                        break rest.to_string();
                    }
                }
            };
            let status = if n == 0 { 500 } else { 200 };
            let _ = write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tx.send((status, body));
        }
    });
    (url, rx)
}

#[test]
fn a_failed_scheduled_run_notifies_the_webhook_and_the_dashboard() {
    let (_sim, ferry, console) = serve_syncro();
    let (hook, received) = webhook_receiver();
    rt().block_on(async {
        let c = client();
        let (status, _) = api_post(&c, &console, "/settings/webhook", serde_json::json!({"url": hook})).await;
        assert_eq!(status, 200);
        // Before any failure: nothing to show.
        assert_eq!(api(&c, &console, "/notifications").await.1, serde_json::json!([]));
    });
    // The scheduled sync fails (the PSA refuses the token), run by a daemon
    // pass three hours on, whose entry is then due.
    ferry.run(&["integration", "set", "syncro", "--secret", "api_key=not-the-token"]).ok();
    let later = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    ferry.command(&["daemon", "--once"]).env("FERRY_NOW", &later).output().expect("daemon");
    let run = ferry.json(&["runs", "syncro"]);
    assert_eq!(run[0]["status"], "failed", "{run:#}");
    assert_eq!(run[0]["trigger"], "daemon-start");
    let run_id = run[0]["id"].as_i64().expect("run id");
    // The first delivery is refused (500); the retry is taken.
    let (first, _) = received.recv_timeout(Duration::from_secs(60)).expect("a first delivery");
    assert_eq!(first, 500);
    let (second, body) = received.recv_timeout(Duration::from_secs(60)).expect("a retry");
    assert_eq!(second, 200);
    let body: Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(body["event"], "run.failed");
    assert_eq!(body["integration"], "syncro");
    assert_eq!(body["run_id"], run_id);
    assert!(!body.to_string().contains("not-the-token"), "no secret in the notification");
    rt().block_on(async {
        let c = client();
        let (cookie, csrf) = sign_in(&c, &console).await;
        let html = c.get(format!("{}/", console.url)).header("cookie", &cookie).send().await.expect("get");
        let html = html.text().await.expect("html");
        assert!(html.contains(&format!("Scheduled run #{run_id} of syncro failed")), "{html}");
        let open = api(&c, &console, "/notifications").await.1;
        let id = open[0]["id"].as_i64().expect("notification id");
        let r = c
            .post(format!("{}/notifications/{id}/ack", console.url))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf", &csrf)]))
            .send()
            .await
            .expect("ack");
        assert_eq!(r.status(), 303);
        let html = c.get(format!("{}/", console.url)).header("cookie", &cookie).send().await.expect("get");
        assert!(!html.text().await.expect("html").contains("Scheduled run #"), "acknowledged: gone");
    });
}

#[test]
fn sigterm_stops_the_console_with_a_live_event_stream_open() {
    let ferry = Ferry::new();
    let mut console = serve(&ferry, &[]);
    rt().block_on(async {
        let c = client();
        let (cookie, _) = sign_in(&c, &console).await;
        let mut events =
            c.get(format!("{}/events", console.url)).header("cookie", &cookie).send().await.expect("events");
        assert_eq!(events.status(), 200);
        let first = events.chunk().await.expect("read").expect("a first event");
        assert!(String::from_utf8_lossy(&first).contains("event: progress"));
        let pid = console.child.id().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        // The stream ends and the process exits by itself.
        let drained =
            tokio::time::timeout(Duration::from_secs(30), async { while let Ok(Some(_)) = events.chunk().await {} })
                .await;
        assert!(drained.is_ok(), "the event stream stayed open after SIGTERM");
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = console.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "ferry serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

// ---- the browser ----

const XSS: &str = "<script>alert(1)</script>";

/// chromedriver on a free port, ended on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Option<Driver> {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let required = std::env::var("FERRY_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    if !std::path::Path::new(&path).exists() {
        assert!(!required, "FERRY_REQUIRE_BROWSER=1 but there is no chromedriver at {path}");
        eprintln!("skipping the browser test: no chromedriver at {path} (apt-get install chromium chromium-driver)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let child = std::process::Command::new(&path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    // Ready when it accepts connections.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(driver)
}

/// The Syncro data: one customer with assets renamed to the XSS string;
/// returns the data, that customer's id, another customer's id and name.
fn scenario_data() -> (SyncroData, String, String, String) {
    let mut data = SyncroData::from_world(&small_world());
    let with_assets = |c: &Value| {
        let id = c["id"].as_u64();
        c["business_name"].is_string() && data.assets.iter().any(|a| a["customer_id"].as_u64() == id)
    };
    let picked: Vec<usize> =
        data.customers.iter().enumerate().filter(|(_, c)| with_assets(c)).map(|(i, _)| i).collect();
    let (xss, other) = (picked[0], picked[1]);
    let xss_id = data.customers[xss]["id"].as_u64().expect("id");
    let other_name = data.customers[other]["business_name"].as_str().expect("name").to_string();
    let other_id = data.customers[other]["id"].as_u64().expect("id").to_string();
    data.customers[xss]["business_name"] = Value::String(XSS.into());
    for a in &mut data.assets {
        if a["customer_id"].as_u64() == Some(xss_id) && a["customer"].is_object() {
            a["customer"]["business_name"] = Value::String(XSS.into());
        }
    }
    (data, xss_id.to_string(), other_id, other_name)
}

async fn wait_for_run(c: &reqwest::Client, console: &Console, after: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, runs) = api(c, console, "/runs?integration=syncro&limit=1").await;
        if let Some(run) = runs.get(0)
            && run["id"].as_i64().unwrap_or(0) > after
            && run["status"] != "running"
        {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "the sync did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn an_operator_connects_syncro_decides_and_documents_in_a_browser() {
    let Some(driver) = chromedriver() else { return };
    let (data, xss_ext, other_ext, other_name) = scenario_data();
    let sim = syncro_sim_data(data);
    let ferry = Ferry::new();
    // A company the operator had before: the sync suggests it.
    ferry.run(&["company", "add", &other_name]).ok();
    let console = serve(&ferry, &[]);
    let profile = tempfile::tempdir().expect("profile dir");
    let shots = std::env::var_os("FERRY_SCREENSHOTS").map(std::path::PathBuf::from);
    rt().block_on(async {
        use fantoccini::{ClientBuilder, Locator};
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.path().display())],
            }),
        );
        let b = ClientBuilder::rustls()
            .expect("webdriver client")
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a Chromium session");
        let api_client = client();
        let base = console.url.clone();
        let mut pages: Vec<String> = Vec::new();
        let path = |u: url::Url| u.path().to_string();
        macro_rules! css {
            ($sel:expr) => {
                b.find(Locator::Css($sel)).await.unwrap_or_else(|e| panic!("no `{}`: {e}", $sel))
            };
        }
        macro_rules! shot {
            ($name:expr) => {
                if let Some(dir) = &shots {
                    let png = b.screenshot().await.expect("screenshot");
                    std::fs::write(dir.join($name), png).expect("write screenshot");
                }
            };
        }
        // Click something that loads a new page, and wait for that page:
        // a mark set on the old document is gone on the new one.
        // Wait for the page a click or a script loads: a mark set on the
        // old document is gone on the new one.
        macro_rules! wait_fresh {
            () => {{
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let fresh = b
                        .execute(
                            "return window.__ferryOld === undefined && document.readyState === 'complete';",
                            vec![],
                        )
                        .await
                        .ok();
                    if fresh == Some(Value::Bool(true)) {
                        break;
                    }
                    assert!(Instant::now() < deadline, "the page did not load");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }};
        }
        macro_rules! submit {
            ($el:expr) => {{
                b.execute("window.__ferryOld = true;", vec![]).await.expect("mark the page");
                $el.click().await.expect("click");
                wait_fresh!();
            }};
        }
        macro_rules! flash {
            () => {
                css!(".flash").text().await.expect("flash text")
            };
        }

        // No session: the login page.
        b.goto(&format!("{base}/")).await.expect("goto");
        assert_eq!(path(b.current_url().await.expect("url")), "/login");
        css!("#token").send_keys(&console.token).await.expect("type");
        submit!(css!("form button[type=submit]"));
        assert_eq!(path(b.current_url().await.expect("url")), "/");

        // The wizard, generated from the connector's info().
        b.goto(&format!("{base}/integrations/new")).await.expect("goto");
        submit!(css!("a[href='/integrations/new/syncro']"));
        assert_eq!(css!("#cfg-api_key").attr("type").await.expect("attr").as_deref(), Some("password"));
        css!("#cfg-subdomain").send_keys("sim").await.expect("type");
        css!("#cfg-base_url").send_keys(&sim.api_url()).await.expect("type");
        css!("#cfg-api_key").send_keys(SYNCRO_TOKEN).await.expect("type");
        shot!("console-wizard.png");
        pages.push(b.source().await.expect("source"));
        submit!(css!("form[action='/integrations/new/syncro'] button[type=submit]"));
        assert_eq!(path(b.current_url().await.expect("url")), "/integrations/syncro");
        assert!(flash!().contains("added integration syncro"));

        // Settings: no pacing against the simulator; review new companies.
        css!("#rpm").send_keys("1000000").await.expect("type");
        submit!(css!("form[action='/integrations/syncro/option'] button"));
        css!("select[name=policy]").select_by_value("review").await.expect("policy");
        submit!(css!("form[action='/integrations/syncro/policy'] button"));
        assert!(flash!().contains("review"));

        // Test Connection: the connector's verdict.
        submit!(css!("form[action='/integrations/syncro/test'] button"));
        let verdict = flash!();
        assert!(verdict.starts_with("Connection OK"), "{verdict}");
        pages.push(b.source().await.expect("source"));

        // Sync: the dashboard shows the run when it ends.
        submit!(css!("button[name=mode][value=full]"));
        assert_eq!(path(b.current_url().await.expect("url")), "/");
        let run = wait_for_run(&api_client, &console, 0).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        b.goto(&format!("{base}/")).await.expect("goto");
        css!("section[data-integration=syncro] .badge.succeeded");
        shot!("console-dashboard.png");
        pages.push(b.source().await.expect("source"));

        // Match: accept the suggestion, create the XSS-named one.
        b.goto(&format!("{base}/integrations/syncro/match?state=suggested")).await.expect("goto");
        shot!("console-match.png");
        submit!(css!(&format!("tr[data-ext='{other_ext}'] button[value=accept]")));
        assert!(flash!().contains("matched"), "{}", flash!());
        let matches = api(&api_client, &console, "/integrations/syncro/matches?state=matched").await.1;
        assert_eq!(matches[0]["external_id"], other_ext.as_str(), "{matches}");
        assert_eq!(matches[0]["company"], other_name.as_str(), "{matches}");
        b.goto(&format!("{base}/integrations/syncro/match?state=unmatched")).await.expect("goto");
        let xss_row = format!("tr[data-ext='{xss_ext}']");
        // Rendered as text: the DOM text is the name, and no dialog opened.
        assert_eq!(css!(&format!("{xss_row} td.psa-name")).text().await.expect("text"), XSS);
        assert!(b.get_alert_text().await.is_err(), "no alert dialog");
        pages.push(b.source().await.expect("source"));
        submit!(css!(&format!("{xss_row} button[value=create]")));
        assert!(flash!().contains("created"));

        // A sort rule with the PSA's types and the layouts.
        b.goto(&format!("{base}/integrations/syncro")).await.expect("goto");
        submit!(css!("form[action='/integrations/syncro/rules'] button"));
        assert!(flash!().contains("when the type is"), "{}", flash!());
        let rules = api(&api_client, &console, "/integrations/syncro/rules").await.1;
        assert_eq!(rules["rules"].as_array().map(Vec::len), Some(1), "{rules}");

        // The company page: its assets, each with the PSA card.
        b.goto(&format!("{base}/companies?q=script")).await.expect("goto");
        let link = css!("a.company-name");
        assert_eq!(link.text().await.expect("text"), XSS);
        submit!(link);
        assert_eq!(css!("h1").text().await.expect("text"), XSS);
        assert!(b.get_alert_text().await.is_err(), "no alert dialog");
        let company_path = path(b.current_url().await.expect("url"));
        shot!("console-company.png");
        pages.push(b.source().await.expect("source"));
        submit!(css!("tr:not([data-layout=People]) a.asset-name"));
        let asset_path = path(b.current_url().await.expect("url"));
        css!(".card.psa[data-source=syncro]");

        // An operator field survives a re-sync.
        css!("#field").send_keys("Rack").await.expect("type");
        css!("#value").send_keys("R1-U12").await.expect("type");
        submit!(css!("#add-field button"));
        assert!(flash!().contains("Rack = R1-U12"));
        shot!("console-asset.png");
        pages.push(b.source().await.expect("source"));
        let before = run["id"].as_i64().expect("run id");
        b.goto(&format!("{base}/integrations/syncro")).await.expect("goto");
        submit!(css!("button[name=mode][value=full]"));
        let again = wait_for_run(&api_client, &console, before).await;
        assert_eq!(again["status"], "succeeded", "{again}");
        b.goto(&format!("{base}{asset_path}")).await.expect("goto");
        assert_eq!(
            css!("tr[data-field=Rack] input[name=value]").prop("value").await.expect("value").as_deref(),
            Some("R1-U12")
        );

        // A PSA link lands on the documentation page.
        b.goto(&format!("{base}/links/syncro/company/{xss_ext}")).await.expect("goto");
        assert_eq!(path(b.current_url().await.expect("url")), company_path);

        // A form without its CSRF token: 403.
        b.goto(&format!("{base}{asset_path}")).await.expect("goto");
        b.execute(
            "window.__ferryOld = true; var f = document.querySelector('#add-field'); \
             f.querySelector('input[name=csrf]').remove(); f.querySelector('#field').value = 'Forged'; f.submit();",
            vec![],
        )
        .await
        .expect("submit without token");
        wait_fresh!();
        let forbidden = b.source().await.expect("source");
        assert!(forbidden.contains("403") && forbidden.contains("CSRF"), "{forbidden}");
        assert_eq!(ferry.count("SELECT COUNT(*) FROM asset_fields WHERE field = 'Forged'"), 0);

        // Search by a serial or a name finds the asset.
        b.goto(&format!("{base}/search?q=R1-U12")).await.expect("goto");
        css!(&format!("a[href='{asset_path}']"));
        for p in ["/", "/runs", "/tickets", "/settings", "/integrations/new/syncro"] {
            b.goto(&format!("{base}{p}")).await.expect("goto");
            pages.push(b.source().await.expect("source"));
        }

        // No secret anywhere in any page's HTML.
        for html in &pages {
            assert!(!html.contains(SYNCRO_TOKEN), "the PSA token leaked into a page");
            assert!(!html.contains(&console.token), "the admin token leaked into a page");
        }
        b.close().await.expect("close the browser");
    });
}

/// BENCHMARKS.md's console numbers: the server time (`Server-Timing`) of a
/// company page holding 5,000 assets and of the match page over 2,000 PSA
/// companies. Not a timed test: it prints, the operator reads.
/// `cargo test -p ferry --test console console_pages_at_scale -- --ignored --nocapture`;
/// `FERRY_CONSOLE_BIN=target/release/ferry` measures that binary's console
/// (the data is still set up with the test's own build).
#[test]
#[ignore]
fn console_pages_at_scale() {
    let scale =
        ferry_sim::Scale { companies: 3000, contacts_per_company: 0, assets_per_company: 1, tickets_per_company: 0 };
    let mut data = SyncroData::from_world(&ferry_sim::World::generate(7, &scale));
    let template = data.assets[0].clone();
    let owner = template["customer_id"].clone();
    for i in 0..5000u64 {
        let mut a = template.clone();
        a["id"] = Value::from(90_000_000 + i);
        a["name"] = Value::String(format!("bulk-pc-{i:05}"));
        a["asset_serial"] = Value::String(format!("BULK{i:08}"));
        a["customer_id"] = owner.clone();
        data.assets.push(a);
    }
    let sim = syncro_sim_data(data);
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &sim);
    ferry.run(&["match", "syncro", "policy", "review"]).ok();
    ferry.json(&["sync", "syncro"]);
    let psa = ferry.json(&["match", "syncro", "list"]);
    let owner_ext = owner.to_string();
    let psa_count = psa.as_array().map(Vec::len).unwrap_or(0);
    println!("{psa_count} PSA companies in Syncro");
    assert!(psa_count >= 2000, "at least 2,000 PSA companies");
    ferry.json(&["match", "syncro", "create", &owner_ext, "--apply"]);
    let company = ferry.json(&["company", "list"])[0]["id"].as_i64().expect("company");
    let bin = std::env::var_os("FERRY_CONSOLE_BIN");
    println!(
        "console binary: {}",
        bin.as_ref().map(|b| b.to_string_lossy().into_owned()).unwrap_or("this build's".into())
    );
    let console = serve_with(&ferry, &[], bin.as_deref());
    rt().block_on(async {
        let c = client();
        let (cookie, _) = sign_in(&c, &console).await;
        for (what, path) in [
            ("company page, 5,000 assets (page 1)", format!("/companies/{company}")),
            ("company page, 5,000 assets (page 100)", format!("/companies/{company}?page=100")),
            ("match page, 2,000 PSA companies (page 1)", "/integrations/syncro/match".to_string()),
            ("match page, 2,000 PSA companies (page 40)", "/integrations/syncro/match?page=40".to_string()),
        ] {
            let mut times = Vec::new();
            for _ in 0..7 {
                let r = c.get(format!("{}{path}", console.url)).header("cookie", &cookie).send().await.expect("get");
                assert_eq!(r.status(), 200, "{path}");
                let timing = r.headers()["server-timing"].to_str().expect("timing").to_string();
                let ms: f64 = timing.trim_start_matches("app;dur=").parse().expect("ms");
                let _ = r.text().await;
                times.push(ms);
            }
            times.sort_by(f64::total_cmp);
            println!("{what}: median {:.1} ms (min {:.1}, max {:.1})", times[3], times[0], times[6]);
        }
    });
}

/// A signed-in form POST: `pairs` plus the session's CSRF token.
async fn post_form(
    c: &reqwest::Client,
    console: &Console,
    session: &(String, String),
    path: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let mut pairs = pairs.to_vec();
    pairs.push(("csrf", &session.1));
    c.post(format!("{}{path}", console.url))
        .header("cookie", &session.0)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&pairs))
        .send()
        .await
        .expect("post")
}

async fn page(c: &reqwest::Client, console: &Console, cookie: &str, path: &str) -> (u16, String) {
    let r = c.get(format!("{}{path}", console.url)).header("cookie", cookie).send().await.expect("get");
    (r.status().as_u16(), r.text().await.expect("page"))
}

/// Console attack F10: every `/api/v1` error is JSON with a cause and a
/// hint, including what the router and the extractors refuse (bad JSON,
/// query or path values, an unknown call, a wrong method); the pages
/// answer a form they cannot read with their 400 page.
#[test]
fn api_errors_are_json_and_form_errors_are_pages() {
    let (_sim, _ferry, console) = serve_syncro();
    rt().block_on(async {
        let c = client();
        let call = |method: reqwest::Method, path: &str, ctype: Option<&str>, body: &str| {
            let mut r = c
                .request(method, format!("{}/api/v1{path}", console.url))
                .bearer_auth(&console.token)
                .body(body.to_string());
            if let Some(t) = ctype {
                r = r.header("content-type", t);
            }
            r.send()
        };
        use reqwest::Method;
        for (method, path, ctype, body, status) in [
            (Method::POST, "/integrations/syncro/rules", Some("application/json"), "{", 400),
            (Method::POST, "/integrations/syncro/rules", Some("text/plain"), "when_type=x", 400),
            (Method::GET, "/runs?limit=-1", None, "", 400),
            (Method::GET, "/runs/abc", None, "", 400),
            (Method::GET, "/assets?archived=maybe", None, "", 400),
            (Method::GET, "/search", None, "", 400),
            (Method::GET, "/nope", None, "", 404),
            (Method::GET, "/", None, "", 404),
            (Method::GET, "/integrations/syncro/nope/deeper", None, "", 404),
            (Method::DELETE, "/integrations", None, "", 405),
        ] {
            let r = call(method.clone(), path, ctype, body).await.expect("call");
            assert_eq!(r.status().as_u16(), status, "{method} {path}");
            let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            assert!(ct.starts_with("application/json"), "{method} {path}: {ct}");
            let json: Value = serde_json::from_str(&r.text().await.expect("body")).expect("JSON");
            assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()), "{method} {path}: {json}");
            assert!(json["hint"].as_str().is_some_and(|h| !h.is_empty()), "{method} {path}: {json}");
        }
        let session = sign_in(&c, &console).await;
        let r = post_form(&c, &console, &session, "/integrations/syncro/match/bulk", &[("threshold", "abc")]).await;
        assert_eq!(r.status(), 400);
        let html = r.text().await.expect("page");
        assert!(html.contains("<h1>400 Bad Request</h1>") && html.contains("Next: "), "{html}");
        let r = post_form(&c, &console, &session, "/integrations/syncro/match/bulk", &[("threshold", "150")]).await;
        assert_eq!(r.status(), 303);
        let (_, html) = page(&c, &console, &session.0, "/integrations/syncro/match").await;
        assert!(html.contains("threshold 150% is outside 0–100%"), "the bulk error speaks percent");
        for (path, status) in [("/runs/abc", 400), ("/nope", 404)] {
            let (got, html) = page(&c, &console, &session.0, path).await;
            assert_eq!(got, status, "{path}");
            assert!(html.contains("Back to the dashboard"), "{path}: {html}");
        }
    });
}

/// Console attack F8: the webhook URL is write-only once saved (Slack and
/// Teams hooks carry their secret in the path or query): pages, API
/// answers and delivery errors show only its scheme and host.
#[test]
fn the_webhook_url_is_write_only() {
    let (_sim, ferry, console) = serve_syncro();
    // Port 1 on loopback: nothing listens, every delivery fails.
    let hook = "http://hookuser:hooksecret@127.0.0.1:1/services/T0/B0/SECRETPATH?token=HOOKTOKEN";
    let secrets = ["hookuser", "hooksecret", "SECRETPATH", "HOOKTOKEN", "services"];
    let clean = |text: &str, what: &str| {
        for s in secrets {
            assert!(!text.contains(s), "{what} shows `{s}`: {text}");
        }
    };
    rt().block_on(async {
        let c = client();
        let (status, body) = api_post(&c, &console, "/settings/webhook", serde_json::json!({"url": hook})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["message"], "webhook set to http://127.0.0.1:1/…");
        let (status, body) = api_post(&c, &console, "/settings/webhook", serde_json::json!({"url": "x y"})).await;
        assert_eq!(status, 400, "{body}");
        let session = sign_in(&c, &console).await;
        let r = post_form(&c, &console, &session, "/settings/webhook", &[("url", hook)]).await;
        assert_eq!(r.status(), 303);
        let (_, html) = page(&c, &console, &session.0, "/settings").await;
        assert!(html.contains("webhook set to http://127.0.0.1:1/…"), "the flash: {html}");
        assert!(html.contains("<code>http://127.0.0.1:1/…</code>"), "{html}");
        clean(&html, "the settings page");
    });
    assert_eq!(ferry.count("SELECT COUNT(*) FROM console_settings WHERE key = 'webhook_url'"), 1);
    // A failed scheduled run: every delivery fails, and says why without the URL.
    ferry.run(&["integration", "set", "syncro", "--secret", "api_key=not-the-token"]).ok();
    let later = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    ferry.command(&["daemon", "--once"]).env("FERRY_NOW", &later).output().expect("daemon");
    rt().block_on(async {
        let c = client();
        let deadline = Instant::now() + Duration::from_secs(120);
        let open = loop {
            let open = api(&c, &console, "/notifications").await.1;
            if open[0]["attempts"].as_u64() == Some(5) {
                break open;
            }
            assert!(Instant::now() < deadline, "five delivery attempts: {open}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let error = open[0]["last_error"].as_str().expect("why").to_string();
        assert!(error.contains("could not be reached"), "{error}");
        clean(&open.to_string(), "the notifications API");
        let session = sign_in(&c, &console).await;
        let (_, html) = page(&c, &console, &session.0, "/").await;
        assert!(html.contains("Webhook not reached after 5 attempts"), "{html}");
        clean(&html, "the dashboard");
    });
}

/// Console attack F11: operator fields are capped like PSA values, their
/// names trimmed, and they can be removed from the API as from the page; a
/// form about an asset that does not exist says so on the dashboard.
#[test]
fn operator_fields_are_capped_trimmed_and_removable() {
    let sim = common::syncro_sim(&small_world());
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &sim);
    ferry.json(&["sync", "syncro"]);
    let asset = ferry.json(&["asset", "list"])[0]["id"].as_i64().expect("asset id");
    let console = serve(&ferry, &[]);
    let fields = || ferry.json(&["asset", "show", &asset.to_string()])["fields"].clone();
    rt().block_on(async {
        let c = client();
        let path = format!("/assets/{asset}/fields");
        let (status, body) =
            api_post(&c, &console, &path, serde_json::json!({"field": "  Rack  ", "value": "R1"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["field"], "Rack");
        assert_eq!(fields()[0]["label"], "Rack");
        let long = "x".repeat(10_001);
        let (status, body) = api_post(&c, &console, &path, serde_json::json!({"field": "Big", "value": long})).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("10001") && e.contains("10000")), "{body}");
        assert!(body["hint"].is_string(), "{body}");
        let (status, body) =
            api_post(&c, &console, &path, serde_json::json!({"field": "Big", "value": "x".repeat(10_000)})).await;
        assert_eq!(status, 200);
        assert_eq!(body["value"].as_str().map(str::len), Some(10_000));
        let (status, body) =
            api_post(&c, &console, &format!("{path}/remove"), serde_json::json!({"field": " Rack "})).await;
        assert_eq!(status, 200, "{body}");
        assert!(!fields().to_string().contains("Rack"), "removed");
        let (status, _) = api_post(&c, &console, &format!("{path}/remove"), serde_json::json!({"field": "Rack"})).await;
        assert_eq!(status, 400, "gone already");
        let session = sign_in(&c, &console).await;
        let r = post_form(&c, &console, &session, &format!("{path}/delete"), &[("field", "Big")]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(fields(), serde_json::json!([]), "removed from the page");
        let r = post_form(&c, &console, &session, &path, &[("field", "Big"), ("value", &long)]).await;
        assert_eq!(r.status(), 303);
        let (_, html) = page(&c, &console, &session.0, &format!("/assets/{asset}")).await;
        assert!(html.contains("at most 10000 are kept"), "the flash says why");
        // An asset that does not exist: the message lands on the dashboard.
        let r = post_form(&c, &console, &session, "/assets/999999/fields", &[("field", "x"), ("value", "y")]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/");
        let (_, html) = page(&c, &console, &session.0, "/").await;
        assert!(html.contains("flash error") && html.contains("999999"), "{html}");
    });
}

/// Console attack F9: PSA names are isolated for bidi, and on the match
/// page (where two names must be told apart) invisible format characters
/// are shown as escapes.
#[test]
fn psa_names_are_isolated_and_invisible_characters_shown() {
    let mut data = SyncroData::from_world(&small_world());
    let named: Vec<usize> =
        data.customers.iter().enumerate().filter(|(_, c)| c["business_name"].is_string()).map(|(i, _)| i).collect();
    data.customers[named[0]]["business_name"] = Value::String("Evil\u{202e}LTR\u{200b}ZW\u{2066}Corp".into());
    data.customers[named[1]]["business_name"] = Value::String("Acme\u{200b}Corp".into());
    data.customers[named[2]]["business_name"] = Value::String("AcmeCorp".into());
    let sim = syncro_sim_data(data);
    let ferry = Ferry::new();
    ferry.add_syncro("syncro", &sim);
    ferry.run(&["match", "syncro", "policy", "create"]).ok();
    ferry.json(&["sync", "syncro"]);
    let console = serve(&ferry, &[]);
    rt().block_on(async {
        let c = client();
        let (cookie, _) = sign_in(&c, &console).await;
        let (_, html) = page(&c, &console, &cookie, "/integrations/syncro/match").await;
        for raw in ['\u{202e}', '\u{200b}', '\u{2066}'] {
            assert!(!html.contains(raw), "U+{:04X} is shown, not applied", raw as u32);
        }
        assert!(html.contains(r"<bdi>Evil\u{202e}LTR\u{200b}ZW\u{2066}Corp</bdi>"), "{html}");
        assert!(html.contains(r"<bdi>Acme\u{200b}Corp</bdi>") && html.contains("<bdi>AcmeCorp</bdi>"));
        let (_, html) = page(&c, &console, &cookie, "/companies?q=Corp").await;
        assert!(html.contains("<bdi>Evil\u{202e}LTR\u{200b}ZW\u{2066}Corp</bdi>"), "{html}");
        let company = ferry
            .json(&["company", "list"])
            .as_array()
            .and_then(|l| l.iter().find(|c| c["name"].as_str().is_some_and(|n| n.starts_with("Evil"))).cloned())
            .expect("the company");
        let (_, html) = page(&c, &console, &cookie, &format!("/companies/{}", company["id"])).await;
        assert!(html.contains(r"<title>Evil\u{202e}LTR\u{200b}ZW\u{2066}Corp · Ferry</title>"), "{html}");
        assert!(html.contains("<h1><bdi>Evil\u{202e}"), "{html}");
        // A flash naming the PSA company (re-attack F2): shown, not applied.
        let ext = ferry
            .json(&["match", "syncro", "list"])
            .as_array()
            .and_then(|l| {
                l.iter()
                    .find(|r| r["psa_name"].as_str().is_some_and(|n| n.starts_with("Evil")))
                    .map(|r| r["external_id"].clone())
            })
            .and_then(|e| e.as_str().map(str::to_string))
            .expect("the PSA company");
        let session = sign_in(&c, &console).await;
        let form = [("ext", ext.as_str()), ("action", "ignore")];
        let r = post_form(&c, &console, &session, "/integrations/syncro/match/decide", &form).await;
        assert_eq!(r.status(), 303);
        let (_, html) = page(&c, &console, &session.0, "/integrations/syncro/match").await;
        let flash = html.split("role=\"status\"").nth(1).expect("a flash").split("</div>").next().unwrap_or_default();
        assert!(flash.contains(r"Evil\u{202e}LTR"), "{flash}");
        assert!(!flash.contains('\u{202e}'), "{flash}");
    });
}

/// Console Info findings: "Sync now" never says "started" for a sync that
/// did not start (another sync holds the integration).
#[test]
fn sync_now_says_when_the_sync_did_not_start() {
    let (_sim, ferry, console) = serve_syncro();
    // A CLI sync held inside apply (the test hook), so it holds the lock.
    let marker = ferry.dir.path().join("apply-holding");
    let mut cli = ferry
        .command(&["sync", "syncro"])
        .env("FERRY_TEST_HOLD_APPLY", &marker)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    assert!(common::wait_for(Duration::from_secs(120), || marker.exists()), "the CLI sync reached apply");
    rt().block_on(async {
        let c = client();
        let session = sign_in(&c, &console).await;
        let r = post_form(&c, &console, &session, "/integrations/syncro/sync", &[("mode", "full")]).await;
        assert_eq!(r.status(), 303);
        let (_, html) = page(&c, &console, &session.0, "/").await;
        assert!(html.contains("flash error") && html.contains("syncro is already syncing"), "{html}");
        assert!(!html.contains("sync of syncro started"), "{html}");
    });
    std::fs::remove_file(&marker).expect("release");
    assert!(cli.wait().expect("wait").success());
    rt().block_on(async {
        let c = client();
        let session = sign_in(&c, &console).await;
        let r = post_form(&c, &console, &session, "/integrations/syncro/sync", &[("mode", "incremental")]).await;
        assert_eq!(r.status(), 303);
        let (_, html) = page(&c, &console, &session.0, "/").await;
        assert!(html.contains("incremental sync of syncro started"), "{html}");
    });
}

/// Console Info findings: a state-changing POST a browser marks as sent
/// from another site is refused even with the right CSRF token; a request
/// whose head never completes is cut off.
#[test]
fn cross_site_posts_and_half_sent_requests_are_refused() {
    let ferry = Ferry::new().with_env("FERRY_HEADER_TIMEOUT_MS", "1000");
    let console = serve(&ferry, &[]);
    rt().block_on(async {
        // A new connection per request: the console closes idle ones fast here.
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let session = sign_in(&c, &console).await;
        let host = console.url.trim_start_matches("http://").to_string();
        for (header, value, status) in [
            ("sec-fetch-site", "cross-site", 403),
            ("sec-fetch-site", "same-site", 403),
            ("origin", "https://evil.example", 403),
            ("origin", "null", 403),
            ("sec-fetch-site", "same-origin", 303),
            ("origin", &format!("http://{host}") as &str, 303),
        ] {
            let r = c
                .post(format!("{}/settings/webhook", console.url))
                .header("cookie", &session.0)
                .header("content-type", "application/x-www-form-urlencoded")
                .header(header, value)
                .body(form(&[("url", ""), ("csrf", &session.1)]))
                .send()
                .await
                .expect("post");
            assert_eq!(r.status().as_u16(), status, "{header}: {value}");
        }
    });
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(console.url.trim_start_matches("http://")).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    tcp.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n").expect("half a head");
    let mut buf = [0u8; 256];
    let n = tcp.read(&mut buf).expect("closed by the console, not by our 30 s timeout");
    assert_eq!(n, 0, "closed without an answer: {}", String::from_utf8_lossy(&buf[..n]));

    // A whole head, then a body that never comes (re-attack F8): sign-in is
    // open to anyone, so this must not hold the connection either.
    let mut tcp = std::net::TcpStream::connect(console.url.trim_start_matches("http://")).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    tcp.write_all(
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntoken=",
    )
    .expect("a head and the start of a body");
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).expect("answered and closed by the console, not by our 30 s timeout");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// Console re-attack F3 and F7: the console and the API never take an
/// `env:` reference (it would hand the server's environment to whoever holds
/// the admin token, through a test connection to a host of theirs), and a
/// token rotation on a database no console has run on (a mistyped `--db`)
/// is refused instead of claiming the leaked token was replaced.
#[test]
fn environment_references_and_rotations_of_the_wrong_database_are_refused() {
    let (_sim, ferry, console) = serve_syncro();
    rt().block_on(async {
        let c = client();
        let (status, body) = api_post(
            &c,
            &console,
            "/integrations/syncro/config",
            serde_json::json!({"secret": {"api_key": "env:HOME"}}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body["hint"].as_str().is_some_and(|h| h.contains("ferry integration set")), "{body}");
        let (status, body) = api_post(
            &c,
            &console,
            "/integrations",
            serde_json::json!({"name": "other", "plugin": "syncro", "set": {"subdomain": "x"}, "secret": {"api_key": "env:PATH"}}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(api(&c, &console, "/integrations/other").await.0, 404, "nothing was added");
    });
    let elsewhere = ferry.dir.path().join("mistyped.db");
    let run = ferry.run(&["--db", elsewhere.to_str().expect("utf-8"), "serve", "--new-token", "--no-serve"]).code(1);
    assert!(run.stderr.contains("no console has run on the database"), "{}", run.stderr);
    assert!(!run.stdout.contains("ferry_"), "no token is printed: {}", run.stdout);
    // The running console's token still works: nothing was rotated.
    rt().block_on(async { assert_eq!(api(&client(), &console, "/integrations").await.0, 200) });
}
