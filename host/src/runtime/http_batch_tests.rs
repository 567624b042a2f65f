//! `HttpGate::send_batch` against a local server whose handlers wait for
//! each other or for the test, so order, concurrency and pacing are shown
//! by states (what the server holds, what the gate has queued), never by
//! timing.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::*;

/// What the server saw, and the test's hold on `/hold`.
struct Seen {
    received: AtomicUsize,
    holding: AtomicUsize,
    max_holding: AtomicUsize,
    fast_done: AtomicBool,
    fast: tokio::sync::Notify,
    release: tokio::sync::Semaphore,
}

async fn fast(State(seen): State<Arc<Seen>>) -> &'static str {
    seen.received.fetch_add(1, Ordering::SeqCst);
    seen.fast_done.store(true, Ordering::SeqCst);
    seen.fast.notify_waiters();
    "fast"
}

/// Answers only after `/fast` was answered: in order of arrival, the
/// second request of a batch finishes first.
async fn slow(State(seen): State<Arc<Seen>>) -> &'static str {
    seen.received.fetch_add(1, Ordering::SeqCst);
    loop {
        let notified = seen.fast.notified();
        if seen.fast_done.load(Ordering::SeqCst) {
            break;
        }
        notified.await;
    }
    "slow"
}

async fn big(State(seen): State<Arc<Seen>>) -> String {
    seen.received.fetch_add(1, Ordering::SeqCst);
    "x".repeat(100)
}

/// Held until the test releases it.
async fn hold(State(seen): State<Arc<Seen>>) -> &'static str {
    seen.received.fetch_add(1, Ordering::SeqCst);
    let now = seen.holding.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_holding.fetch_max(now, Ordering::SeqCst);
    if let Ok(permit) = seen.release.acquire().await {
        permit.forget();
    }
    seen.holding.fetch_sub(1, Ordering::SeqCst);
    "held"
}

async fn refused(State(seen): State<Arc<Seen>>) -> (axum::http::StatusCode, &'static str) {
    seen.received.fetch_add(1, Ordering::SeqCst);
    (axum::http::StatusCode::UNAUTHORIZED, "token revoked")
}

struct Server {
    base: String,
    seen: Arc<Seen>,
}

async fn server() -> Server {
    let seen = Arc::new(Seen {
        received: AtomicUsize::new(0),
        holding: AtomicUsize::new(0),
        max_holding: AtomicUsize::new(0),
        fast_done: AtomicBool::new(false),
        fast: tokio::sync::Notify::new(),
        release: tokio::sync::Semaphore::new(0),
    });
    let app = Router::new()
        .route("/fast", get(fast))
        .route("/slow", get(slow))
        .route("/big", get(big))
        .route("/hold", get(hold))
        .route("/refused", get(refused))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server { base: format!("http://{addr}"), seen }
}

fn gate(server: &Server, rate: Option<RateLimit>, policy: HttpPolicy) -> HttpGate {
    let config: HashMap<String, String> = [("base_url".to_string(), server.base.clone())].into();
    let allowlist = Allowlist::expand(&["{base_url}".to_string()], &config).expect("allowlist");
    let client = HttpGate::build_client(&policy).expect("client");
    HttpGate::new(client, allowlist, rate, policy)
}

fn get_req(url: String) -> OutboundRequest {
    OutboundRequest { method: reqwest::Method::GET, url, headers: Vec::new(), body: None }
}

fn body(result: &Result<OutboundResponse, HttpFailure>) -> String {
    match result {
        Ok(r) => String::from_utf8_lossy(&r.body).into_owned(),
        Err(e) => format!("error: {e}"),
    }
}

/// Wait (without a clock deciding anything) until `done` holds; a guard
/// turns a hang into a failure.
async fn until(what: &str, done: impl Fn() -> bool) {
    let wait = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait).await.unwrap_or_else(|_| panic!("never reached: {what}"));
}

#[tokio::test]
async fn results_come_in_the_order_of_the_requests_each_checked_against_the_allowlist() {
    let s = server().await;
    let g = Arc::new(gate(&s, None, HttpPolicy::default()));
    let batch = vec![
        get_req(format!("{}/slow", s.base)),
        get_req("http://elsewhere.example/x".into()),
        get_req(format!("{}/fast", s.base)),
    ];
    // `/slow` answers only once `/fast` was answered: a gate sending one at
    // a time would never finish.
    let results = tokio::time::timeout(Duration::from_secs(20), g.send_batch(batch)).await.expect("concurrent");
    assert_eq!(body(&results[0]), "slow");
    assert!(matches!(&results[1], Err(HttpFailure::NotAllowed(_))), "{:?}", results[1]);
    assert_eq!(body(&results[2]), "fast");
    assert_eq!(s.seen.received.load(Ordering::SeqCst), 2, "the refused request was not sent");
    let stats = g.stats();
    assert_eq!((stats.requests, stats.refused), (2, 1));
}

#[tokio::test]
async fn a_failing_request_fails_only_its_own_result() {
    let s = server().await;
    let g = Arc::new(gate(&s, None, HttpPolicy { max_response_bytes: 10, ..HttpPolicy::default() }));
    let batch = vec![
        get_req(format!("{}/fast", s.base)),
        get_req(format!("{}/big", s.base)),
        get_req("not a url".into()),
        get_req(format!("{}/fast", s.base)),
    ];
    let results = g.send_batch(batch).await;
    assert_eq!(results.len(), 4);
    assert_eq!(body(&results[0]), "fast");
    assert_eq!(results[1].as_ref().err(), Some(&HttpFailure::TooLarge(10)));
    assert!(matches!(&results[2], Err(HttpFailure::NotAllowed(_))), "{:?}", results[2]);
    assert_eq!(body(&results[3]), "fast");
}

#[tokio::test]
async fn requests_in_flight_never_exceed_the_integrations_bound() {
    let s = server().await;
    let g = Arc::new(gate(&s, None, HttpPolicy::default()).with_in_flight(3));
    let batch: Vec<OutboundRequest> = (0..10).map(|_| get_req(format!("{}/hold", s.base))).collect();
    let running = tokio::spawn({
        let g = g.clone();
        async move { g.send_batch(batch).await }
    });
    let seen = s.seen.clone();
    let gate_view = g.clone();
    // Either three are held and seven wait for a slot, or the bound leaked.
    until("3 held and 7 queued, or more than 3 held", || {
        let holding = seen.holding.load(Ordering::SeqCst);
        holding > 3 || (holding == 3 && gate_view.queued() == 7)
    })
    .await;
    assert_eq!(s.seen.holding.load(Ordering::SeqCst), 3, "at most the bound in flight");
    s.seen.release.add_permits(10);
    let results = running.await.expect("batch");
    assert!(results.iter().all(|r| body(r) == "held"), "{results:?}");
    assert_eq!(s.seen.max_holding.load(Ordering::SeqCst), 3);
    assert_eq!(s.seen.received.load(Ordering::SeqCst), 10);
}

#[tokio::test]
async fn a_batch_never_goes_past_the_rate_limiters_window() {
    let s = server().await;
    let rate = RateLimit { requests: 3, per_seconds: 60 };
    let g = Arc::new(gate(&s, Some(rate), HttpPolicy { rate_headroom: 1.0, ..HttpPolicy::default() }));
    let batch: Vec<OutboundRequest> = (0..5).map(|_| get_req(format!("{}/fast", s.base))).collect();
    let running = tokio::spawn({
        let g = g.clone();
        async move { g.send_batch(batch).await }
    });
    let seen = s.seen.clone();
    let gate_view = g.clone();
    until("3 answered and 2 waiting for the window, or more than 3 sent", || {
        let received = seen.received.load(Ordering::SeqCst);
        received > 3 || (received == 3 && gate_view.queued() == 2)
    })
    .await;
    assert_eq!(s.seen.received.load(Ordering::SeqCst), 3, "the window allows 3");
    running.abort();
}

#[tokio::test]
async fn concurrent_requests_never_overrun_the_runs_budget() {
    let s = server().await;
    let g = Arc::new(gate(&s, None, HttpPolicy { request_budget: 3, ..HttpPolicy::default() }).with_in_flight(2));
    let batch: Vec<OutboundRequest> = (0..6).map(|_| get_req(format!("{}/fast", s.base))).collect();
    let results = g.send_batch(batch).await;
    let sent = results.iter().filter(|r| r.is_ok()).count();
    let refused = results.iter().filter(|r| matches!(r, Err(HttpFailure::BudgetExhausted(3)))).count();
    assert_eq!((sent, refused), (3, 3), "{results:?}");
    assert_eq!(s.seen.received.load(Ordering::SeqCst), 3);
    assert_eq!(g.stats().requests, 3);
}

#[tokio::test]
async fn a_batch_longer_than_the_cap_is_refused_whole() {
    let s = server().await;
    let g = Arc::new(gate(&s, None, HttpPolicy::default()));
    let batch: Vec<OutboundRequest> = (0..=MAX_BATCH).map(|_| get_req(format!("{}/fast", s.base))).collect();
    let results = g.send_batch(batch).await;
    assert_eq!(results.len(), MAX_BATCH + 1);
    assert!(results.iter().all(|r| matches!(r, Err(HttpFailure::Other(why)) if why.contains("at most 64"))));
    assert_eq!(s.seen.received.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_401_ends_the_batch_without_waiting_for_the_requests_still_held() {
    let s = server().await;
    let g = Arc::new(gate(&s, None, HttpPolicy::default()).with_in_flight(4));
    // Two held forever (the test never releases them), the refusal, and one
    // that waits for a slot behind them.
    let batch = vec![
        get_req(format!("{}/hold", s.base)),
        get_req(format!("{}/hold", s.base)),
        get_req(format!("{}/refused", s.base)),
        get_req(format!("{}/fast", s.base)),
        get_req(format!("{}/hold", s.base)),
    ];
    let results = tokio::time::timeout(Duration::from_secs(20), g.send_batch(batch))
        .await
        .expect("a 401 must end the batch, not wait for the held requests");
    assert_eq!(results.len(), 5);
    let refusal = results[2].as_ref().expect("the refusal itself");
    assert_eq!(refusal.status, 401);
    assert!(!refusal.headers.iter().any(|(k, _)| k == CANCELLED_HEADER), "the refused request's own answer");
    for i in [0, 1, 4] {
        let answer = results[i].as_ref().expect("a cancelled request answers as the refusal");
        assert_eq!((answer.status, answer.body.as_slice()), (401, b"token revoked".as_slice()), "request {i}");
        assert!(answer.headers.iter().any(|(k, _)| k == CANCELLED_HEADER), "request {i} is marked cancelled");
    }
    // `/fast` may or may not have been answered before the 401 came back.
    match &results[3] {
        Ok(r) if r.status == 200 => assert_eq!(r.body, b"fast"),
        Ok(r) => assert!(r.status == 401 && r.headers.iter().any(|(k, _)| k == CANCELLED_HEADER), "{r:?}"),
        Err(e) => panic!("request 3: {e}"),
    }
    // The abandoned requests gave their slots back.
    let after = tokio::time::timeout(Duration::from_secs(20), g.send(get_req(format!("{}/fast", s.base))))
        .await
        .expect("slots freed");
    assert_eq!(body(&after), "fast");
}
