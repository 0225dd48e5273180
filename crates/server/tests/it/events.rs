//! What the IDE's backend hears: signed events for every change, delivered after commit and
//! retried until accepted, in order per account, across a restart; `GET /v1/events` for what it
//! missed; and the session lookup for a user coming back with `session_id`.

include!("common/verify_webhook.rs");

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post as post_route;
use checkout_server::jobs::webhooks::Schedule;
use checkout_server::{AppState, Config, Store, app, config, store};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A webhook endpoint that fails its first `failures` answers and records every attempt it
/// answers. While `hanging`, it takes requests and never answers them (the sender times out).
#[derive(Clone, Default)]
struct Receiver {
    attempts: Arc<Mutex<Vec<(String, Bytes)>>>,
    failures_left: Arc<AtomicUsize>,
    hanging: Arc<AtomicBool>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if receiver.hanging.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let signature = headers.get("kiro-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    receiver.attempts.lock().unwrap().push((signature, body));
    let failing = receiver.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if failing { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }
}

impl Receiver {
    /// Listens on a free port; the URL to register.
    async fn start(failures: usize) -> (Receiver, String) {
        let receiver = Receiver { failures_left: Arc::new(AtomicUsize::new(failures)), ..Receiver::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/kiro-events", listener.local_addr().unwrap());
        let router = Router::new().route("/kiro-events", post_route(receive)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (receiver, url)
    }

    /// Accepted events (answered 2xx or not), checked against the signature, deduplicated by id
    /// as a receiver should, in the order first received.
    fn events(&self, secret: &str) -> Vec<Value> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut seen = std::collections::HashSet::new();
        let mut events = Vec::new();
        for (signature, body) in self.attempts.lock().unwrap().iter() {
            assert!(verify_kiro_signature(secret, signature, body, now), "bad signature {signature}");
            assert!(!verify_kiro_signature("whsec_wrong", signature, body, now));
            let event: Value = serde_json::from_slice(body).unwrap();
            if seen.insert(event["id"].as_str().unwrap().to_string()) {
                events.push(event);
            }
        }
        events
    }

    /// Waits (10 s at most) until `count` distinct events have arrived and the last was accepted.
    async fn wait_for(&self, secret: &str, count: usize) -> Vec<Value> {
        self.wait_for_within(secret, count, Duration::from_secs(10)).await
    }

    async fn wait_for_within(&self, secret: &str, count: usize, within: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            let events = self.events(secret);
            if events.len() >= count && self.failures_left.load(Ordering::SeqCst) == 0 {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let events = self.events(secret);
        panic!("only {} of {count} events arrived within {within:?}", events.len());
    }
}

const SECRET: &str = "whsec_test_0123456789abcdef";

/// A fast retry schedule, so a test sees retries without waiting seconds.
fn quick() -> Schedule {
    Schedule { first_retry: Duration::from_millis(40), max_wait: Duration::from_millis(200), ..Schedule::default() }
}

fn state_with_webhook(store: Store, url: &str) -> AppState {
    state_with_webhooks(store, &[url], quick())
}

fn state_with_webhooks(store: Store, urls: &[&str], schedule: Schedule) -> AppState {
    let mut cfg = Config::new(KEY, "http://checkout.test");
    cfg.initial_clock = Some(time::macros::datetime!(2026-11-16 00:00 UTC));
    cfg.allowed_return_origins.push(config::parse_allowed_origin("https://app.kiro.dev").unwrap());
    cfg.webhook_urls = urls.iter().map(|url| url.to_string()).collect();
    cfg.webhook_secret = Some(SECRET.into());
    cfg.webhook_schedule = schedule;
    AppState::new(cfg, store).unwrap()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_delivered_signed_in_order_and_retried_until_accepted() {
    let (receiver, url) = Receiver::start(3).await;
    let state = state_with_webhook(fresh_store(), &url);
    let worker = state.start_webhooks();
    let app = TestApp::from(app(state));

    let portal = app.subscribed_portal("acct-events", "pro", "4242424242424242").await;
    let events = receiver.wait_for(SECRET, 2).await;
    assert_eq!(types(&events), ["subscription.created", "invoice.paid"]);
    assert_eq!(events[0]["data"]["plan"], "pro");
    assert_eq!(events[0]["data"]["account_id"], "acct-events");
    assert_eq!(events[1]["data"]["amount"], 1000);
    assert!(events[0]["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(events[0]["created"], time::macros::datetime!(2026-11-16 00:00 UTC).unix_timestamp());
    assert!(receiver.attempts.lock().unwrap().len() >= 5, "the first answers failed and were retried");

    assert_eq!(app.change(&portal, "pro_plus", 1000, "up").await.body["status"], "succeeded");
    assert_eq!(app.change(&portal, "pro", 0, "down").await.body["status"], "succeeded");
    app.post(&format!("/api/portal/{portal}/keep-plan"), None, &json!({})).await;
    app.post(&format!("/api/portal/{portal}/cancel"), None, &json!({})).await;
    app.post(&format!("/api/portal/{portal}/resume"), None, &json!({})).await;
    app.post(&format!("/api/portal/{portal}/overage"), None, &json!({"enabled": true})).await;
    app.set_clock("2026-12-01T01:00:00Z").await;
    let events = receiver.wait_for(SECRET, 11).await;
    assert_eq!(
        types(&events[2..]),
        [
            "invoice.paid",
            "subscription.updated",
            "subscription.updated",
            "subscription.updated",
            "subscription.updated",
            "subscription.updated",
            "subscription.updated",
            "invoice.paid",
            "subscription.updated",
        ]
    );
    assert_eq!(events[3]["data"]["plan"], "pro_plus", "the upgrade");
    assert_eq!(events[4]["data"]["scheduled_change"]["plan"], "pro", "the scheduled downgrade");
    assert_eq!(events[5]["data"]["scheduled_change"], Value::Null, "kept");
    assert_eq!(events[6]["data"]["cancel_at_period_end"], true);
    assert_eq!(events[7]["data"]["cancel_at_period_end"], false);
    assert_eq!(events[8]["data"]["overage_enabled"], true);
    assert_eq!(events[9]["data"]["amount"], 4000, "the renewal");
    assert_eq!(events[10]["data"]["current_period"]["start"], "2026-12-01T00:00:00Z");

    // The log holds the same events in the same order, for a backend that missed some.
    let all = app.get("/v1/events?limit=100", Some(KEY)).await;
    let logged: Vec<Value> = all.body["data"].as_array().unwrap().clone();
    assert_eq!(logged, events);
    let page = app.get(&format!("/v1/events?after={}&limit=2", events[8]["id"].as_str().unwrap()), Some(KEY)).await;
    assert_eq!(page.body["data"].as_array().unwrap(), &events[9..11].to_vec());
    assert_eq!(page.body["has_more"], false);
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_renewals_and_ended_cancellations_are_told() {
    let (receiver, url) = Receiver::start(0).await;
    let state = state_with_webhook(fresh_store(), &url);
    let worker = state.start_webhooks();
    let app = TestApp::from(app(state));
    app.subscribed_portal("acct-past-due", "pro", "4000000000000341").await;
    let leaving = app.subscribed_portal("acct-leaving", "power", "4242424242424242").await;
    app.post(&format!("/api/portal/{leaving}/cancel"), None, &json!({})).await;
    app.set_clock("2026-12-01T01:00:00Z").await;
    let events = receiver.wait_for(SECRET, 8).await;
    let of = |account: &str| -> Vec<&str> {
        events.iter().filter(|e| e["data"]["account_id"] == account).map(|e| e["type"].as_str().unwrap()).collect()
    };
    assert_eq!(
        of("acct-past-due"),
        ["subscription.created", "invoice.paid", "invoice.payment_failed", "subscription.past_due"]
    );
    assert_eq!(
        of("acct-leaving"),
        ["subscription.created", "invoice.paid", "subscription.updated", "subscription.canceled"]
    );
    let past_due = events.iter().find(|e| e["type"] == "subscription.past_due").unwrap();
    assert_eq!(past_due["data"]["status"], "past_due");
    let failed = events.iter().find(|e| e["type"] == "invoice.payment_failed").unwrap();
    assert_eq!(failed["data"]["status"], "open");
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_pending_at_a_restart_are_made_after_it() {
    let store = fresh_store();
    // The endpoint is down while the first server runs.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = down.local_addr().unwrap().port();
    drop(down);
    let url = format!("http://127.0.0.1:{port}/kiro-events");
    let first = state_with_webhook(store.clone(), &url);
    let worker = first.start_webhooks();
    let app_before = TestApp::from(app(first));
    app_before.subscribed_portal("acct-restart", "pro", "4242424242424242").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.abort();
    drop(app_before);

    // The endpoint comes back on the same address, and so does the server.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let receiver = Receiver::default();
    let router = Router::new().route("/kiro-events", post_route(receive)).with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let second = state_with_webhook(store, &url);
    let worker = second.start_webhooks();
    let events = receiver.wait_for(SECRET, 2).await;
    assert_eq!(types(&events), ["subscription.created", "invoice.paid"]);
    worker.abort();
}

/// Every event in the log, oldest first (`GET /v1/events` a page at a time).
async fn logged_events(app: &TestApp) -> Vec<Value> {
    let mut events: Vec<Value> = Vec::new();
    loop {
        let after = events.last().map(|e| format!("&after={}", e["id"].as_str().unwrap())).unwrap_or_default();
        let page = app.get(&format!("/v1/events?limit=100{after}"), Some(KEY)).await;
        events.extend(page.body["data"].as_array().unwrap().iter().cloned());
        if page.body["has_more"] != true {
            return events;
        }
    }
}

/// Each account's event ids, in the order given.
fn ids_by_account(events: &[Value]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut by_account = std::collections::BTreeMap::<String, Vec<String>>::new();
    for event in events {
        let account = event["data"]["account_id"].as_str().unwrap().to_string();
        by_account.entry(account).or_default().push(event["id"].as_str().unwrap().to_string());
    }
    by_account
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_hangs_does_not_hold_back_another() {
    let (healthy, healthy_url) = Receiver::start(0).await;
    let (hanging, hanging_url) = Receiver::start(0).await;
    hanging.hanging.store(true, Ordering::SeqCst);
    let schedule = Schedule { timeout: Duration::from_secs(2), ..quick() };
    let state = state_with_webhooks(fresh_store(), &[&healthy_url, &hanging_url], schedule);
    let app = TestApp::from(app(state.clone()));

    // 4 accounts x (2 + 74) = 304 events, all waiting before the worker starts.
    for n in 0..4 {
        let portal = app.subscribed_portal(&format!("acct-hang-{n}"), "pro", "4242424242424242").await;
        for toggle in 0..74 {
            let reply =
                app.post(&format!("/api/portal/{portal}/overage"), None, &json!({"enabled": toggle % 2 == 0})).await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        }
    }
    let logged = logged_events(&app).await;
    assert_eq!(logged.len(), 304);

    // Alone, the healthy endpoint takes these in well under a second. If deliveries waited on the
    // hanging endpoint's 2 s timeouts, it would get about one event per account per 2 s: 4 events
    // per 2 s, some 150 s for all 304 (at most ~60 within the 30 s allowed here).
    let worker = state.start_webhooks();
    let received = healthy.wait_for_within(SECRET, logged.len(), Duration::from_secs(30)).await;
    assert_eq!(ids_by_account(&received), ids_by_account(&logged), "in order per account");

    // The hanging endpoint comes back and gets every event, each account's in order.
    assert!(hanging.attempts.lock().unwrap().is_empty(), "nothing was answered while it hung");
    hanging.hanging.store(false, Ordering::SeqCst);
    let recovered = hanging.wait_for_within(SECRET, logged.len(), Duration::from_secs(30)).await;
    assert_eq!(ids_by_account(&recovered), ids_by_account(&logged), "in order per account");
    worker.abort();
}

#[tokio::test]
async fn the_api_docs_show_the_verification_this_test_uses() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md")).unwrap();
    let snippet = include_str!("common/verify_webhook.rs");
    assert!(readme.contains(snippet.trim()), "docs/api.md must show tests/it/common/verify_webhook.rs as it is");
    let body = br#"{"id":"evt_1"}"#;
    let header = checkout_server::jobs::webhooks::signature(SECRET, 1_800_000_000, std::str::from_utf8(body).unwrap());
    assert!(verify_kiro_signature(SECRET, &header, body, 1_800_000_100));
    assert!(!verify_kiro_signature(SECRET, &header, body, 1_800_000_301), "stale");
    assert!(!verify_kiro_signature(SECRET, &header, br#"{"id":"evt_2"}"#, 1_800_000_100), "forged body");
}

#[tokio::test]
async fn webhook_urls_are_https_or_loopback_http() {
    use checkout_server::jobs::webhooks::check_endpoint;
    for ok in ["https://ide.example/hooks", "http://127.0.0.1:9000/x", "http://localhost/x", "http://[::1]:8/x"] {
        assert!(check_endpoint(ok).is_ok(), "{ok}");
    }
    for bad in ["http://ide.example/hooks", "http://10.0.0.8/x", "ftp://127.0.0.1/x", "not a url"] {
        assert!(check_endpoint(bad).is_err(), "{bad}");
    }
}

// ---- Session lookup -------------------------------------------------------------------------

#[tokio::test]
async fn checkout_sessions_can_be_looked_up_open_complete_and_expired() {
    let app = TestApp::new();
    let open = app.new_session("acct-lookup", "pro").await;
    let looked = app.get(&format!("/v1/checkout/sessions/{open}"), Some(KEY)).await;
    assert_eq!(looked.status, StatusCode::OK);
    assert_eq!(looked.body["status"], "open");
    assert_eq!(looked.body["account_id"], "acct-lookup");
    assert_eq!(looked.body["plan"], "pro");
    assert_eq!(looked.body["subscription"], Value::Null);

    let paid = app.new_session("acct-lookup", "pro").await;
    let card = app.tokenize(&paid, "4242424242424242").await;
    assert_eq!(app.confirm(&paid, &card, "k").await.status, StatusCode::OK);
    let complete = app.get(&format!("/v1/checkout/sessions/{paid}"), Some(KEY)).await;
    assert_eq!(complete.body["status"], "complete");
    assert_eq!(complete.body["subscription"]["plan"], "pro");
    assert_eq!(complete.body["invoice"]["amount"], 1000);
    assert_eq!(complete.body["invoice"]["status"], "paid");

    app.set_clock("2026-11-18T00:00:00Z").await;
    let expired = app.get(&format!("/v1/checkout/sessions/{open}"), Some(KEY)).await;
    assert_eq!(expired.body["status"], "expired");
    let still_complete = app.get(&format!("/v1/checkout/sessions/{paid}"), Some(KEY)).await;
    assert_eq!(still_complete.body["status"], "complete");

    assert_error(
        &app.get("/v1/checkout/sessions/cs_forged", Some(KEY)).await,
        StatusCode::NOT_FOUND,
        "session_not_found",
    );
    assert_error(
        &app.get(&format!("/v1/checkout/sessions/{open}"), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[tokio::test]
async fn portal_sessions_can_be_looked_up_open_and_expired() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-portal-lookup", "pro", "4242424242424242").await;
    let open = app.get(&format!("/v1/portal/sessions/{portal}"), Some(KEY)).await;
    assert_eq!(open.body["status"], "open");
    assert_eq!(open.body["plan"], "pro");
    assert_eq!(open.body["subscription"]["status"], "active");
    app.set_clock("2026-11-16T01:00:00Z").await;
    let expired = app.get(&format!("/v1/portal/sessions/{portal}"), Some(KEY)).await;
    assert_eq!(expired.body["status"], "expired");
    assert_error(
        &app.get("/v1/portal/sessions/ps_forged", Some(KEY)).await,
        StatusCode::NOT_FOUND,
        "session_not_found",
    );
}

#[tokio::test]
async fn the_event_log_refuses_unknown_cursors_and_silly_limits() {
    let app = TestApp::new();
    assert_error(&app.get("/v1/events?after=evt_nope", Some(KEY)).await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_error(&app.get("/v1/events?limit=0", Some(KEY)).await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_error(&app.get("/v1/events?limit=lots", Some(KEY)).await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_error(&app.get("/v1/events", None).await, StatusCode::UNAUTHORIZED, "unauthorized");
    let empty = app.get("/v1/events", Some(KEY)).await;
    assert_eq!(empty.body, json!({"data": [], "has_more": false}));
}

/// A delivery's outcome is recorded only under the lease it was sent under: an instance whose
/// lease ran out (another sent the event since) cannot undo the other's record.
#[test]
fn a_late_record_from_an_expired_lease_changes_nothing() {
    let store = fresh_store();
    let url = "http://127.0.0.1:9/events".to_string();
    store
        .write_blocking(|tx| {
            store::set_endpoints(tx, std::slice::from_ref(&url))?;
            store::insert_event(tx, "evt_lease", "invoice.paid", "acct-lease", 0, "{}")
        })
        .unwrap();
    // Leases run on the database's clock: a short one, then a real wait.
    let first = store.write_blocking(|tx| store::claim_due_deliveries(tx, &url, 300)).unwrap();
    assert_eq!(first.len(), 1);
    // Still leased: no other claim gets it.
    assert!(store.write_blocking(|tx| store::claim_due_deliveries(tx, &url, 60_000)).unwrap().is_empty());
    std::thread::sleep(std::time::Duration::from_millis(400));
    // The lease ran out: a second instance takes it and delivers it.
    let second = store.write_blocking(|tx| store::claim_due_deliveries(tx, &url, 60_000)).unwrap();
    assert_eq!(second.len(), 1);
    let attempt = |lease_until, error| store::DeliveryAttempt {
        lease_until,
        attempts: 1,
        error,
        enqueued_at: 0,
        give_up_after: i64::MAX,
        wait: 60_000,
    };
    let delivered = attempt(second[0].lease_until, None);
    store.write_blocking(|tx| store::record_delivery(tx, second[0].event_seq, &url, &delivered)).unwrap();
    // The first instance's late failure changes nothing: the event stays delivered.
    let failed = attempt(first[0].lease_until, Some("timed out"));
    store.write_blocking(|tx| store::record_delivery(tx, first[0].event_seq, &url, &failed)).unwrap();
    let undone = "SELECT CAST(COUNT(*) AS BIGINT) FROM deliveries WHERE done_at IS NULL";
    let outbox = store.read_blocking(|c| c.query_row(undone, (), |r| r.get::<_, i64>(0)));
    assert_eq!(outbox.unwrap(), 0, "the event stays delivered");
}
