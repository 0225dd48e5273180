//! The server as a process in Stripe mode. Crash safety: the process is killed while a charge is
//! with Stripe (after Stripe charged, before our record; or before the request reached Stripe),
//! then started again on the same database. Nothing is charged twice; what was paid is granted.
//!
//! A proxy between the server and localstripe does the killing, at the exact moment: it forwards
//! the PaymentIntent's confirm (where money moves), and kills the server before the answer can
//! reach it. It can also hold Stripe's answer while the month ends, so that the checks made again
//! refuse a charge Stripe took: it is refunded. And it can hold the confirm itself on its way to
//! Stripe while the server restarts or a second instance starts on the same database: the
//! PaymentIntent whose id was recorded first is settled by that id, never charged and forgotten.
//!
//! The same runs show what a deployment keeps: neither the logs nor the database file hold a
//! card number or a secret, and the logs no whole session id. And what `--demo` prints.

use crate::common::{KEY, TestApp, confirm_body, fresh_store, session_body, setup_stripe_card};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use checkout_server::config;
use headless::localstripe::{LocalStripe, PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A safety net so a broken server fails the test instead of hanging it; not a timing assertion.
const AT_MOST: Duration = Duration::from_secs(60);

const PASS: u8 = 0;
/// Kill the server once Stripe has answered the PaymentIntent's confirm (it charged).
const KILL_AFTER_CHARGE: u8 = 1;
/// Kill the server when it asks Stripe to charge, before the request reaches Stripe.
const KILL_BEFORE_CHARGE: u8 = 2;
/// Hold Stripe's answer to the charge until `released` is notified (`holding` says it came).
const HOLD_ANSWER: u8 = 3;
/// Hold the charge itself before it reaches Stripe until `released` is notified; `forwarded`
/// says when Stripe has answered it.
const HOLD_REQUEST: u8 = 4;
/// The lease the servers here hold on a payment attempt: short, so a killed one's is soon over.
const LEASE_SECS: &str = "1";

#[derive(Clone)]
struct Proxy {
    upstream: String,
    mode: Arc<AtomicU8>,
    server: Arc<Mutex<Option<Child>>>,
    holding: Arc<tokio::sync::Notify>,
    released: Arc<tokio::sync::Notify>,
    forwarded: Arc<tokio::sync::Notify>,
}

impl Proxy {
    fn kill_server(&self) {
        if let Some(mut child) = self.server.lock().unwrap().take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts.uri.path();
    let charges =
        parts.method == Method::POST && path.starts_with("/v1/payment_intents/") && path.ends_with("/confirm");
    let mode = if charges { proxy.mode.swap(PASS, Ordering::SeqCst) } else { PASS };
    if mode == KILL_BEFORE_CHARGE {
        proxy.kill_server();
        return StatusCode::BAD_GATEWAY.into_response();
    }
    if mode == HOLD_REQUEST {
        // Its own task: the held charge still lands when the server that sent it is gone.
        let (proxy, parts) = (proxy.clone(), parts.clone());
        let forwarding = tokio::spawn(async move {
            proxy.holding.notify_one();
            proxy.released.notified().await;
            let answer = pass_on(&proxy, parts, body).await;
            proxy.forwarded.notify_one();
            answer
        });
        let (status, bytes) = forwarding.await.unwrap();
        return (status, bytes).into_response();
    }
    let (status, bytes) = pass_on(&proxy, parts, body).await;
    if mode == KILL_AFTER_CHARGE {
        proxy.kill_server();
        return StatusCode::BAD_GATEWAY.into_response();
    }
    if mode == HOLD_ANSWER {
        proxy.holding.notify_one();
        proxy.released.notified().await;
    }
    (status, bytes).into_response()
}

/// Sends the request on to localstripe: its status and body.
async fn pass_on(proxy: &Proxy, parts: axum::http::request::Parts, body: Bytes) -> (StatusCode, Bytes) {
    let url = format!("{}{}", proxy.upstream, parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut headers = HeaderMap::new();
    for name in ["authorization", "content-type", "idempotency-key", "stripe-version"] {
        if let Some(value) = parts.headers.get(name) {
            headers.insert(name, value.clone());
        }
    }
    // localstripe (one Python process) has been seen refusing a connection on a loaded machine:
    // the proxy tries again, as a network would, before it gives up.
    let mut tries = 0;
    let answer = loop {
        let sent =
            reqwest::Client::new().request(parts.method.clone(), &url).headers(headers.clone()).body(body.clone());
        match sent.send().await {
            Err(e) if e.is_connect() && tries < 5 => tries += 1,
            sent => break sent.unwrap(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let status = answer.status();
    (status, answer.bytes().await.unwrap())
}

async fn start_proxy(upstream: &str) -> (Proxy, String) {
    let proxy = Proxy {
        upstream: upstream.to_string(),
        mode: Arc::new(AtomicU8::new(PASS)),
        server: Arc::new(Mutex::new(None)),
        holding: Arc::default(),
        released: Arc::default(),
        forwarded: Arc::default(),
    };
    let router = axum::Router::new().fallback(forward).with_state(proxy.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (proxy, base)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn shell_dist(dir: &Path) -> PathBuf {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for entry in checkout_server::http::static_files::ENTRY_NAMES {
        std::fs::write(dist.join(format!("{entry}.html")), "<!doctype html><title>shell</title>").unwrap();
    }
    dist
}

/// The server as a process in Stripe mode on the database `db` opens (see
/// [`crate::common::database_args`]), talking to Stripe through `api_base`, its logs appended to
/// `log`.
async fn start_server(db: &[String], log: &Path, dist: &Path, api_base: &str, js_url: &str) -> (Child, String) {
    let port = free_port();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["--processor", "stripe", "--port", &port.to_string(), "--stripe-api-base", api_base])
        .args(["--stripe-js-url", js_url, "--attempt-lease-secs", LEASE_SECS])
        .args(db)
        .arg("--dist")
        .arg(dist)
        .env("CHECKOUT_SECRET_KEY", KEY)
        .env("STRIPE_SECRET_KEY", SECRET_KEY)
        .env("STRIPE_PUBLISHABLE_KEY", PUBLISHABLE_KEY)
        .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + AT_MOST;
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, base)
}

async fn call(base: &str, method: Method, path: &str, body: Option<Value>) -> Result<(u16, Value), reqwest::Error> {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(KEY);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let answer = request.send().await?;
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    call(base, Method::POST, path, Some(body)).await.unwrap()
}

/// A checkout session for `account` with a 4242 card saved through a SetupIntent: the session
/// id, the card and today's total.
async fn ready_to_pay(base: &str, stripe: &LocalStripe, account: &str) -> (String, String, i64) {
    let (status, session) = post(base, "/v1/checkout/sessions", session_body(account, "pro")).await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap().to_string();
    let (_, setup) = post(base, &format!("/api/checkout/{id}/setup-intent"), json!({})).await;
    let setup_intent = setup["client_secret"].as_str().unwrap().split("_secret_").next().unwrap().to_string();
    assert_eq!(stripe.confirm_setup_with_card(&setup_intent, "4242424242424242").await.status(), 200);
    let (_, card) = post(base, &format!("/api/checkout/{id}/stripe-card"), json!({"setup_intent": setup_intent})).await;
    let (_, view) = call(base, Method::GET, &format!("/api/checkout/{id}"), None).await.unwrap();
    let total = view["quote"]["total_due_today"].as_i64().unwrap();
    (id, card["id"].as_str().unwrap().to_string(), total)
}

/// Confirms, again while the account's earlier attempt is still being settled (`409
/// payment_in_progress` until its lease runs out), as a page's retry would.
async fn pay_when_free(base: &str, confirm: &str, body: Value) -> Value {
    let deadline = Instant::now() + AT_MOST;
    loop {
        let (status, answer) = post(base, confirm, body.clone()).await;
        if status != 409 || answer["error"]["code"] != "payment_in_progress" {
            return answer;
        }
        assert!(Instant::now() < deadline, "the account was never free to pay: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn invoices(base: &str, account: &str) -> Vec<Value> {
    let (_, list) = call(base, Method::GET, &format!("/v1/accounts/{account}/invoices"), None).await.unwrap();
    list["invoices"].as_array().cloned().unwrap_or_default()
}

/// One test's world: localstripe, the proxy in front of it, and a folder with the database and a
/// shell app for the server processes (removed at the end).
struct Rig {
    stripe: LocalStripe,
    proxy: Proxy,
    proxy_base: String,
    dir: PathBuf,
    /// The one database every server of the rig opens.
    db: Vec<String>,
    dist: PathBuf,
}

impl Rig {
    async fn new(name: &str) -> Rig {
        let stripe = LocalStripe::start();
        let (proxy, proxy_base) = start_proxy(&stripe.base).await;
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (db, dist) = (crate::common::database_args(&dir.join("billing.sqlite3")), shell_dist(&dir));
        Rig { stripe, proxy, proxy_base, dir, db, dist }
    }

    /// A server process on the rig's database, talking to Stripe through the proxy.
    async fn start_unowned(&self) -> (Child, String) {
        start_server(&self.db, &self.dir.join("server.log"), &self.dist, &self.proxy_base, &self.stripe.js_url()).await
    }

    /// [`Rig::start_unowned`], the process given to the proxy (which may kill it): its base URL.
    async fn start(&self) -> String {
        let (child, base) = self.start_unowned().await;
        *self.proxy.server.lock().unwrap() = Some(child);
        base
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.proxy.kill_server();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_payment_charges_once_and_grants_what_was_paid() {
    let rig = Rig::new("kiro-crash").await;
    let (stripe, proxy) = (&rig.stripe, &rig.proxy);

    // Killed after Stripe charged, before the record.
    let base = rig.start().await;
    let (session, card, total) = ready_to_pay(&base, stripe, "acct-crash-charged").await;
    proxy.mode.store(KILL_AFTER_CHARGE, Ordering::SeqCst);
    let confirm = format!("/api/checkout/{session}/confirm");
    let lost = call(&base, Method::POST, &confirm, Some(confirm_body(&card, "k1", total))).await;
    assert!(lost.is_err(), "the server was killed mid-payment: {lost:?}");
    assert_eq!(stripe.succeeded_payments().await, [total], "Stripe charged");

    // Started again: the charge is found with Stripe and granted, once.
    let base = rig.start().await;
    let deadline = Instant::now() + AT_MOST;
    while invoices(&base, "acct-crash-charged").await.is_empty() {
        assert!(Instant::now() < deadline, "what was paid was never granted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, retried) = post(&base, &confirm, confirm_body(&card, "k1", total)).await;
    assert_eq!(retried["status"], "succeeded", "the page's retry gets the payment's outcome: {retried}");
    let (status, again) = post(&base, &confirm, confirm_body(&card, "k2", total)).await;
    assert_eq!(status, 409, "a new key does not pay twice: {again}");
    assert_eq!(invoices(&base, "acct-crash-charged").await.len(), 1);
    assert_eq!(stripe.succeeded_payments().await, [total], "charged once");

    // Killed before the request reached Stripe: nothing charged, the account may pay again.
    let (session, card, total) = ready_to_pay(&base, stripe, "acct-crash-uncharged").await;
    proxy.mode.store(KILL_BEFORE_CHARGE, Ordering::SeqCst);
    let confirm = format!("/api/checkout/{session}/confirm");
    assert!(call(&base, Method::POST, &confirm, Some(confirm_body(&card, "k1", total))).await.is_err());
    let base = rig.start().await;
    let paid = pay_when_free(&base, &confirm, confirm_body(&card, "k2", total)).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(stripe.succeeded_payments().await, [total, total], "one charge for each account");
    assert_eq!(invoices(&base, "acct-crash-uncharged").await.len(), 1);
    proxy.kill_server();

    let log = std::fs::read_to_string(rig.dir.join("server.log")).unwrap();
    assert!(log.contains("recording a charge a request left unrecorded"), "{log}");
    let stored = crate::common::stored_text(&rig.db);
    for secret in ["4242424242424242", SECRET_KEY, WEBHOOK_SECRET, KEY] {
        assert!(!log.contains(secret), "{secret} in the logs");
        assert!(!stored.contains(secret), "{secret} in the database");
    }
    assert!(!log.contains(&session), "a whole session id in the logs");
}

/// A month ends while an upgrade's charge is with Stripe: the renewal moves the subscription into
/// the new period, so the upgrade's price, checked again when its result is recorded, no longer
/// holds. The money Stripe took is given back, the plan stays, and the page is asked to confirm
/// the new price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_the_checks_refuse_after_stripe_took_it_is_refunded() {
    let rig = Rig::new("kiro-refund").await;
    let (stripe, proxy) = (&rig.stripe, &rig.proxy);
    let base = rig.start().await;
    let set_clock = |now: &'static str| post(&base, "/v1/test_helpers/clock", json!({ "now": now }));
    // Frozen ahead of the real date, so the test does not depend on the day it runs.
    assert_eq!(set_clock("2027-01-10T00:00:00Z").await.0, 200);
    let (session, card, total) = ready_to_pay(&base, stripe, "acct-refund").await;
    let (_, paid) = post(&base, &format!("/api/checkout/{session}/confirm"), confirm_body(&card, "k1", total)).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let portal_body = json!({"account_id": "acct-refund", "return_url": "kiro://kiro.kiroAgent/manage-plan"});
    let (_, portal) = post(&base, "/v1/portal/sessions", portal_body).await;
    let portal = portal["id"].as_str().unwrap().to_string();
    let (_, quote) = post(&base, &format!("/api/portal/{portal}/preview"), json!({"plan": "pro_plus"})).await;
    let amount = quote["total_due_today"].as_i64().unwrap();

    proxy.mode.store(HOLD_ANSWER, Ordering::SeqCst);
    let change = json!({"plan": "pro_plus", "expected_total": amount, "idempotency_key": "up-1"});
    let upgrading = tokio::spawn(call_owned(base.clone(), format!("/api/portal/{portal}/change"), change));
    proxy.holding.notified().await;
    // Stripe has charged; the answer is on its way when the month ends.
    assert_eq!(set_clock("2027-02-01T01:00:01Z").await.0, 200);
    proxy.released.notify_one();
    let (status, refused) = upgrading.await.unwrap();
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("quote_changed")), "{refused}");

    assert_eq!(stripe.refunded_payments().await, [amount], "the upgrade's charge was given back");
    let (_, sub) = call(&base, Method::GET, "/v1/accounts/acct-refund/subscription", None).await.unwrap();
    assert_eq!(sub["plan"], "pro", "{sub}");
}

/// A second instance starts on the same database while the first one's charge is on its way to
/// Stripe. The attempt is the first one's while it renews its lease: the second instance's
/// reconciliation leaves it alone, and the charge, when it lands, is granted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_never_takes_a_live_attempt_for_an_orphan() {
    let rig = Rig::new("kiro-two").await;
    let (stripe, proxy) = (&rig.stripe, &rig.proxy);
    let base = rig.start().await;
    let (session, card, total) = ready_to_pay(&base, stripe, "acct-two-instances").await;

    proxy.mode.store(HOLD_REQUEST, Ordering::SeqCst);
    let confirm = format!("/api/checkout/{session}/confirm");
    let paying = tokio::spawn(call_owned(base.clone(), confirm.clone(), confirm_body(&card, "k1", total)));
    proxy.holding.notified().await;
    let (mut second, second_base) = rig.start_unowned().await;
    // Several of the second instance's reconciliations, and several leases, go by.
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.released.notify_one();
    let (status, paid) = paying.await.unwrap();
    assert_eq!((status, paid["status"].as_str()), (200, Some("succeeded")), "{paid}");

    assert_eq!(stripe.succeeded_payments().await, [total], "charged once");
    assert!(stripe.refunded_payments().await.is_empty(), "nothing to give back");
    assert_eq!(invoices(&second_base, "acct-two-instances").await.len(), 1, "granted once, seen by both");
    let (status, again) = post(&second_base, &confirm, confirm_body(&card, "k1", total)).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("succeeded")), "the retry replays it: {again}");
    second.kill().unwrap();
    second.wait().unwrap();
}

/// The server is killed while its charge is on its way to Stripe, and starts again before the
/// charge lands. The attempt's PaymentIntent was recorded before it was confirmed: the new process
/// cancels it, so the confirm that lands afterwards charges nothing, and the account pays once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_landing_after_a_restart_is_cancelled_not_taken() {
    let rig = Rig::new("kiro-late").await;
    let (stripe, proxy) = (&rig.stripe, &rig.proxy);
    let base = rig.start().await;
    let (session, card, total) = ready_to_pay(&base, stripe, "acct-late-landing").await;

    proxy.mode.store(HOLD_REQUEST, Ordering::SeqCst);
    let confirm = format!("/api/checkout/{session}/confirm");
    let request = (base.clone(), confirm.clone(), confirm_body(&card, "k1", total));
    let lost = tokio::spawn(async move { call(&request.0, Method::POST, &request.1, Some(request.2)).await.is_err() });
    proxy.holding.notified().await;
    proxy.kill_server();
    let base = rig.start().await;
    // The page's retry waits while the orphan is settled, then pays with a new PaymentIntent.
    let paid = pay_when_free(&base, &confirm, confirm_body(&card, "k2", total)).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    proxy.released.notify_one();
    proxy.forwarded.notified().await;
    assert!(lost.await.unwrap(), "the first server was killed mid-payment");

    assert_eq!(stripe.succeeded_payments().await, [total], "the confirm that landed late charged nothing");
    assert_eq!(invoices(&base, "acct-late-landing").await.len(), 1);
    proxy.kill_server();
    let log = std::fs::read_to_string(rig.dir.join("server.log")).unwrap();
    assert!(log.contains("cancelled a PaymentIntent we stopped waiting for"), "{log}");
}

/// A past-due account pays with a new card while the month ends and the cancel it asked for
/// takes effect: by the time the charge is recorded, the invoice it was for is void. Checked
/// again, it no longer holds: what Stripe took is given back and nothing is marked paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_for_invoices_voided_meanwhile_is_refunded() {
    let stripe = LocalStripe::start();
    let (proxy, proxy_base) = start_proxy(&stripe.base).await;
    let app = TestApp::configured(fresh_store(), |cfg| {
        let keys = (Some(SECRET_KEY), Some(PUBLISHABLE_KEY), Some(WEBHOOK_SECRET));
        let settings = config::StripeSettings::new(keys.0, keys.1, keys.2, &proxy_base, &stripe.js_url());
        cfg.stripe = Some(settings.unwrap());
        // Retried only after the next period end, so that period end comes first.
        cfg.payment_retries = vec![time::Duration::days(35)];
    });
    app.set_clock("2027-01-10T00:00:00Z").await;
    let session = app.new_session("acct-voided", "pro").await;
    let card = stripe_card(&app, &stripe, "checkout", &session, "4242424242424242").await;
    assert_eq!(app.confirm(&session, card["id"].as_str().unwrap(), "k1").await.body["status"], "succeeded");
    let portal = app.open_portal("acct-voided").await;
    assert_eq!(stripe_card(&app, &stripe, "portal", &portal, "4000000000000341").await["status"], "updated");
    app.set_clock("2027-02-01T01:00:01Z").await;
    let portal = app.open_portal("acct-voided").await;
    let canceled = app.post(&format!("/api/portal/{portal}/cancel"), None, &json!({})).await;
    assert_eq!(canceled.body["amount_due"]["amount"], 2000, "{:?}", canceled.body);

    proxy.mode.store(HOLD_ANSWER, Ordering::SeqCst);
    let month_ends = async {
        proxy.holding.notified().await;
        // Stripe has charged; the answer is on its way when the period ends.
        assert_eq!(app.set_clock("2027-03-01T01:00:01Z").await.status, StatusCode::OK);
        proxy.released.notify_one();
    };
    let (saved, ()) = tokio::join!(stripe_card(&app, &stripe, "portal", &portal, "4242424242424242"), month_ends);
    assert_eq!((&saved["status"], &saved["paid_invoice"]), (&json!("updated"), &Value::Null), "{saved}");
    assert_eq!(stripe.refunded_payments().await, [2000], "the payment was given back");
    let statuses: Vec<Value> = app.invoices("acct-voided").await.iter().map(|i| i["status"].clone()).collect();
    assert_eq!(statuses, [json!("paid"), json!("void")]);
    let sub = app.get("/v1/accounts/acct-voided/subscription", Some(KEY)).await;
    assert_eq!(sub.body["status"], "canceled", "{:?}", sub.body);
}

/// A card saved with Stripe for a checkout or portal (`area`) session: our answer.
async fn stripe_card(app: &TestApp, stripe: &LocalStripe, area: &str, session: &str, number: &str) -> Value {
    setup_stripe_card(app, stripe, area, session, number).await.unwrap().body
}

async fn call_owned(base: String, path: String, body: Value) -> (u16, Value) {
    post(&base, &path, body).await
}

/// `--demo` in Stripe mode: a checkout link, and how to open its portal once paid (an account
/// seeded with a test-mode card could not pay an upgrade through Stripe).
#[test]
fn the_demo_in_stripe_mode_links_the_checkout_and_explains_the_portal() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("kiro-demo-stripe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dist = shell_dist(&dir);
    let mut server = Command::new(env!("CARGO_BIN_EXE_checkout-server"))
        .args(["--demo", "--db", ":memory:", "--port", &free_port().to_string(), "--processor", "stripe"])
        .args(["--stripe-api-base", "http://127.0.0.1:9", "--dist"])
        .arg(&dist)
        .env("CHECKOUT_SECRET_KEY", KEY)
        .env("STRIPE_SECRET_KEY", SECRET_KEY)
        .env("STRIPE_PUBLISHABLE_KEY", PUBLISHABLE_KEY)
        .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut demo = String::new();
    for line in BufReader::new(server.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        demo.push_str(&line);
        demo.push('\n');
        if line.contains("Press Ctrl-C") {
            break;
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(demo.contains("(Stripe mode, test keys)"), "{demo}");
    assert!(demo.contains("/checkout/cs_") && demo.contains("/v1/portal/sessions"), "{demo}");
    assert!(!demo.contains("/portal/ps_") && !demo.contains(SECRET_KEY), "{demo}");
    let _ = std::fs::remove_dir_all(&dir);
}
