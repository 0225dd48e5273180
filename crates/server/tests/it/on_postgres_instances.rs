//! Several instances on one PostgreSQL database, as a load balancer without sticky sessions sees
//! them: what one instance does, every other sees (the test clock, the wrong-key limit, invoice
//! numbers, a charge in flight, webhook deliveries). Only on PostgreSQL: `cargo xtask test` runs
//! this module with `KIRO_TEST_POSTGRES_URL` set.

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post as post_route;
use checkout_server::jobs::webhooks::Schedule;
use checkout_server::store::PostgresOptions;
use checkout_server::{AppState, Store, app};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Two stores on one new PostgreSQL schema: two instances' views of one database.
fn one_database(instances: usize) -> Vec<Store> {
    let url = fresh_database_url().expect("this module runs only on PostgreSQL: set KIRO_TEST_POSTGRES_URL");
    (0..instances).map(|_| Store::connect(&url, &PostgresOptions::default()).unwrap()).collect()
}

fn instances(count: usize) -> Vec<TestApp> {
    one_database(count).into_iter().map(TestApp::on).collect()
}

#[tokio::test]
async fn a_clock_moved_on_one_instance_is_what_every_instance_reads() {
    let apps = instances(2);
    let session = apps[0].new_session("acct-clock", "pro").await;
    let pm = apps[0].tokenize(&session, "4242424242424242").await;
    assert_eq!(apps[1].confirm(&session, &pm, "k1").await.body["status"], "succeeded");
    assert_eq!(apps[0].set_clock("2027-01-15T00:00:00Z").await.status, StatusCode::OK);
    let clock = apps[1].get("/v1/test_helpers/clock", Some(KEY)).await;
    assert_eq!(clock.body["now"], "2027-01-15T00:00:00Z", "{}", clock.body);
    // The renewals that fell due on the way were run once, and every instance shows them.
    let invoices = apps[1].invoices("acct-clock").await;
    assert_eq!(invoices.len(), 3, "the first payment and two renewals: {invoices:?}");
    // And it only moves forwards, whichever instance is asked.
    let back = apps[1].set_clock("2027-01-01T01:00:00Z").await;
    assert_error(&back, StatusCode::CONFLICT, "clock_backwards");
}

#[tokio::test]
async fn wrong_keys_count_at_every_instance_together() {
    let apps = instances(3);
    let body = session_body("acct-guess", "pro");
    for n in 0..10 {
        let reply = apps[n % 3].post("/v1/checkout/sessions", Some("sk_test_wrong_guess_000000"), &body).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // Ten wrong keys spread over three instances use up the address's allowance at all of them.
    for app in &apps {
        let reply = app.post("/v1/checkout/sessions", Some("sk_test_wrong_guess_000000"), &body).await;
        assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
    // The right key is never refused.
    assert_eq!(apps[2].post("/v1/checkout/sessions", Some(KEY), &body).await.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_made_at_once_on_two_instances_get_distinct_invoice_numbers_without_gaps() {
    let apps = instances(2);
    let mut paying = Vec::new();
    for n in 0..12 {
        let app = apps[n % 2].clone();
        paying.push(tokio::spawn(async move {
            let account = format!("acct-number-{n}");
            let session = app.new_session(&account, "pro").await;
            let pm = app.tokenize(&session, "4242424242424242").await;
            let paid = app.confirm(&session, &pm, "k1").await;
            assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
            account
        }));
    }
    let mut numbers = Vec::new();
    for paid in paying {
        let account = paid.await.unwrap();
        numbers.extend(apps[0].invoices(&account).await.iter().map(|i| i["number"].as_str().unwrap().to_string()));
    }
    numbers.sort();
    let expected: Vec<String> = (1..=12).map(|n| format!("KIRO-{n:06}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_checkout_confirmed_on_two_instances_at_once_is_charged_once() {
    let stores = one_database(2);
    let apps: Vec<TestApp> = stores.iter().cloned().map(TestApp::on).collect();
    for round in 0..20 {
        let account = format!("acct-two-tabs-{round}");
        let session = apps[0].new_session(&account, "pro").await;
        let pm = apps[0].tokenize(&session, "4242424242424242").await;
        let tabs = [0, 1].map(|tab| {
            let (app, session, pm) = (apps[tab].clone(), session.clone(), pm.clone());
            tokio::spawn(async move { app.confirm(&session, &pm, &format!("tab-{tab}")).await })
        });
        let mut succeeded = 0;
        for tab in tabs {
            let reply = tab.await.unwrap();
            match reply.body["status"].as_str() {
                Some("succeeded") => succeeded += 1,
                _ => assert!(
                    ["session_completed", "payment_in_progress", "already_subscribed"]
                        .contains(&reply.body["error"]["code"].as_str().unwrap_or_default()),
                    "{}",
                    reply.body
                ),
            }
        }
        assert!(succeeded >= 1, "neither tab's payment went through");
        let paid = apps[1].invoices(&account).await;
        assert_eq!(paid.len(), 1, "one invoice, one charge: {paid:?}");
        assert_eq!(attempts_of(&stores[0], &account), ["succeeded"], "the processor was called once");
    }
}

/// How each payment attempt of `account` ended: one per call to the processor.
fn attempts_of(store: &Store, account: &str) -> Vec<String> {
    let account = account.to_string();
    store
        .read_blocking(move |c| {
            let mut statuses = c.prepare("SELECT status FROM payment_attempts WHERE account_id = ?1")?;
            Ok::<_, checkout_server::error::AppError>(
                statuses.query_map([account.as_str()], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?,
            )
        })
        .unwrap()
}

/// Two tabs upgrading one account at once, each on its own instance: the second must learn of the
/// first before it charges, never be charged and then refused ("That is already your plan").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_upgrade_from_two_tabs_on_two_instances_calls_the_processor_once() {
    let stores = one_database(2);
    let apps: Vec<TestApp> = stores.iter().cloned().map(TestApp::on).collect();
    // A payment history of some size: PostgreSQL's conflict checks then watch single rows, not
    // the few pages a new table has (where they would catch the race by chance).
    stores[0]
        .write_blocking(|tx| {
            tx.execute(
                "INSERT INTO payment_attempts (id, account_id, purpose, status, created_at, recorded_first)
                 SELECT md5(n::text), 'acct-history-' || n, 'checkout', 'succeeded', 0, 1
                 FROM generate_series(1, 50000) AS n",
                (),
            )?;
            Ok::<_, checkout_server::error::AppError>(())
        })
        .unwrap();
    // Many accounts at once: the load that widens the moment between one tab's record and the
    // other's claim.
    let mut accounts = Vec::new();
    for round in 0..40 {
        let apps = apps.clone();
        accounts.push(tokio::spawn(async move {
            let account = format!("acct-two-upgrades-{round}");
            let portal = apps[0].subscribed_portal(&account, "pro", "4242424242424242").await;
            let expected = apps[0].preview(&portal, "pro_plus").await.body["total_due_today"].as_i64().unwrap();
            let tabs = [0, 1].map(|tab| {
                let (app, portal) = (apps[tab].clone(), portal.clone());
                tokio::spawn(async move { app.change(&portal, "pro_plus", expected, &format!("tab-{tab}")).await })
            });
            for tab in tabs {
                let reply = tab.await.unwrap();
                let code = reply.body["error"]["code"].as_str().unwrap_or_default().to_string();
                let refused_before_charging = ["payment_in_progress", "invalid_request"].contains(&code.as_str());
                assert!(reply.status == StatusCode::OK || refused_before_charging, "{}", reply.body);
            }
            account
        }));
    }
    for account in accounts {
        let account = account.await.unwrap();
        let attempts = attempts_of(&stores[1], &account);
        assert_eq!(attempts, ["succeeded", "succeeded"], "the checkout and one upgrade, each charged once");
    }
}

/// Records every delivery it receives (the event's id and account, in arrival order).
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<(String, String)>>>);

/// A receiver on a port of its own, answering after `delay`: its URL.
async fn start_receiver(receiver: &Receiver, delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let slow = move |state: State<Receiver>, body: Bytes| async move {
        tokio::time::sleep(delay).await;
        receive(state, body).await
    };
    let router = Router::new().route("/events", post_route(slow)).with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

async fn receive(State(receiver): State<Receiver>, body: Bytes) -> StatusCode {
    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
    let account = event["data"]["account_id"].as_str().unwrap_or_default();
    receiver.0.lock().unwrap().push((event["id"].as_str().unwrap_or_default().to_string(), account.to_string()));
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_deliver_each_event_once_and_each_accounts_events_in_order() {
    let receiver = Receiver::default();
    let url = start_receiver(&receiver, Duration::ZERO).await;
    let schedule = Schedule { first_retry: Duration::from_millis(40), ..Schedule::default() };
    let states: Vec<AppState> = one_database(2)
        .into_iter()
        .map(|store| {
            let mut cfg = test_config();
            cfg.webhook_urls = vec![url.clone()];
            cfg.webhook_secret = Some("whsec_test_0123456789abcdef".into());
            cfg.webhook_schedule = schedule;
            AppState::new(cfg, store).unwrap()
        })
        .collect();
    let senders: Vec<_> = states.iter().map(AppState::start_webhooks).collect();
    let apps: Vec<TestApp> = states.into_iter().map(|s| TestApp::from(app(s))).collect();
    for n in 0..8 {
        let app = &apps[n % 2];
        let account = format!("acct-events-{n}");
        let session = app.new_session(&account, "pro").await;
        let pm = app.tokenize(&session, "4242424242424242").await;
        assert_eq!(apps[(n + 1) % 2].confirm(&session, &pm, "k").await.body["status"], "succeeded");
        let portal = app.open_portal(&account).await;
        let change = app.preview(&portal, "pro_plus").await;
        let total = change.body["total_due_today"].as_i64().unwrap_or_default();
        let changed = apps[(n + 1) % 2].change(&portal, "pro_plus", total, "up").await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    }
    let listed = apps[0].get("/v1/events?limit=100", Some(KEY)).await;
    let expected: Vec<(String, String)> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (e["id"].as_str().unwrap().to_string(), e["data"]["account_id"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    assert!(expected.len() >= 16, "{}", listed.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while receiver.0.lock().unwrap().len() < expected.len() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.0.lock().unwrap().clone();
    senders.iter().for_each(tokio::task::JoinHandle::abort);
    let ids: HashSet<&String> = received.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), received.len(), "an event was delivered twice: {received:?}");
    assert_eq!(received.len(), expected.len(), "every event delivered once");
    let mut order: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, account) in &expected {
        order.entry(account).or_default().push(id);
    }
    let mut arrived: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, account) in &received {
        arrived.entry(account).or_default().push(id);
    }
    assert_eq!(arrived, order, "each account's events arrive in the order they happened");
}

/// The tables and columns of a database, each column with whether it may be NULL.
type Schema = std::collections::BTreeMap<String, std::collections::BTreeSet<(String, bool)>>;

fn sqlite_schema(path: &std::path::Path) -> Schema {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut tables =
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").unwrap();
    let names: Vec<String> = tables.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let mut schema = Schema::new();
    for table in names {
        let mut columns = conn.prepare(&format!("PRAGMA table_info({table})")).unwrap();
        let rows = columns
            .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(3)? == 0 && r.get::<_, i64>(5)? == 0)));
        schema.insert(table, rows.unwrap().map(Result::unwrap).collect());
    }
    schema
}

fn postgres_schema(url: String) -> Schema {
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let rows = client
            .query(
                "SELECT c.table_name::text, c.column_name::text, c.is_nullable = 'YES'
                 FROM information_schema.columns c WHERE c.table_schema = current_schema()",
                &[],
            )
            .unwrap();
        let mut schema = Schema::new();
        for row in rows {
            let (table, column, nullable): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
            // PostgreSQL's own bookkeeping and the explicit `rowid` SQLite has implicitly.
            if table != "schema_migrations" && column != "rowid" {
                schema.entry(table).or_default().insert((column, nullable));
            }
        }
        schema
    })
    .join()
    .unwrap()
}

#[test]
fn both_backends_have_the_same_tables_and_columns() {
    let url = fresh_database_url().expect("this module runs only on PostgreSQL: set KIRO_TEST_POSTGRES_URL");
    drop(Store::connect(&url, &PostgresOptions::default()).unwrap());
    let path = std::env::temp_dir().join(format!("kiro-schema-{}.sqlite3", std::process::id()));
    drop(Store::open(&path).unwrap());
    let (sqlite, postgres) = (sqlite_schema(&path), postgres_schema(url));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    assert_eq!(sqlite, postgres);
}

/// On PostgreSQL a failed statement aborts its transaction, and a COMMIT after it quietly rolls
/// back: a write that went on after one is an error, never a success that kept nothing.
#[test]
fn a_write_that_went_on_after_a_failed_statement_is_an_error_not_a_lost_success() {
    let store = one_database(1).remove(0);
    let went_on = store.write_blocking(|tx| {
        let _ = tx.execute("INSERT INTO no_such_table (x) VALUES (1)", ());
        checkout_server::store::set_meta(tx, "probe", "written")
    });
    assert!(went_on.is_err(), "reported as written");
    assert_eq!(store.read_blocking(|c| checkout_server::store::get_meta(c, "probe")).unwrap(), None);
}

/// An instance whose clock runs two minutes ahead of the other's (clocks drift; a VM resumes):
/// leases are on the database's clock, so it never takes a delivery the other is still sending,
/// and a receiver that answers slowly gets each event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_whose_clock_runs_ahead_delivers_nothing_twice() {
    let receiver = Receiver::default();
    let url = start_receiver(&receiver, Duration::from_millis(1500)).await;
    let secret = "whsec_test_0123456789abcdef";
    let database = fresh_database_url().expect("this module runs only on PostgreSQL: set KIRO_TEST_POSTGRES_URL");
    let mut cfg = test_config();
    cfg.webhook_urls = vec![url.clone()];
    cfg.webhook_secret = Some(secret.into());
    let state = AppState::new(cfg, Store::connect(&database, &PostgresOptions::default()).unwrap()).unwrap();
    let sender = state.start_webhooks();
    let app = TestApp::from(app(state));
    let ahead = SkewedInstance::start(&database, &url, secret, 120);
    for n in 0..4 {
        let account = format!("acct-skew-{n}");
        let session = app.new_session(&account, "pro").await;
        let pm = app.tokenize(&session, "4242424242424242").await;
        assert_eq!(app.confirm(&session, &pm, "k").await.body["status"], "succeeded");
    }
    let listed = app.get("/v1/events?limit=100", Some(KEY)).await;
    let events: HashSet<String> =
        listed.body["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    let arrived =
        |receiver: &Receiver| receiver.0.lock().unwrap().iter().map(|(id, _)| id.clone()).collect::<HashSet<_>>();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !arrived(&receiver).is_superset(&events) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a second delivery of the last ones to arrive, if one were made.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sender.abort();
    drop(ahead);
    let received = receiver.0.lock().unwrap().clone();
    let ids: HashSet<&String> = received.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), received.len(), "an event was delivered twice: {received:?}");
    // Every event listed arrived (the instance ahead may have made more of its own: its billing
    // clock is ahead too, so renewals fall due for it).
    assert!(arrived(&receiver).is_superset(&events), "every event delivered: {received:?}");
}

/// The server as a process on `database`, its clock `skew_secs` ahead, delivering to `url`.
struct SkewedInstance(std::process::Child);

impl SkewedInstance {
    fn start(database: &str, url: &str, secret: &str, skew_secs: i64) -> SkewedInstance {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-server"))
            .args(["--database-url", database, "--port", &port.to_string(), "--webhook-url", url])
            .args(["--clock-skew-secs", &skew_secs.to_string()])
            .arg("--dist")
            .arg(fake_dist("skewed"))
            .env("CHECKOUT_SECRET_KEY", KEY)
            .env("CHECKOUT_WEBHOOK_SECRET", secret)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        SkewedInstance(child)
    }
}

impl Drop for SkewedInstance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ten refunds of one $10.00 invoice, $3.00 each, sent at once to two instances: three succeed,
/// the others are refused, and the credit notes are numbered without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refunds_racing_on_two_instances_give_back_at_most_what_was_paid() {
    let apps = instances(2);
    apps[0].subscribed_portal("acct-refund-race", "pro", "4242424242424242").await;
    let invoice = apps[1].invoices("acct-refund-race").await[0]["id"].as_str().unwrap().to_string();
    let numbers = race_refunds(&apps, &invoice).await;
    assert_eq!(numbers, ["CN-000001", "CN-000002", "CN-000003"]);
    assert_eq!(apps[0].invoices("acct-refund-race").await[0]["amount_refunded"], 900);
}
