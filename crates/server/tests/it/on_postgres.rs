//! Tests that only mean something on PostgreSQL (run with `KIRO_TEST_POSTGRES_URL` set; `cargo
//! xtask test` skips this module in its SQLite pass): the database going away and coming back.
//!
//! A TCP proxy stands between the server and the suite's PostgreSQL, so a test can "stop" the
//! database the way a crash or a failover looks from the server: every open connection closed,
//! new ones refused; then "start" it again on the same address. Or cut the network: connections
//! stay open and nothing goes through them (a partition), until it heals.

use crate::common::{TestApp, assert_error, fresh_database_url};
use axum::http::StatusCode;
use checkout_server::Store;
use headless::db_proxy::DbProxy;
use std::time::{Duration, Instant};

/// How long an answer may take while the database is away: well within the 20 s request timeout.
const QUICKLY: Duration = Duration::from_secs(10);

/// `request`, and how long it took.
async fn timed<T>(request: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let answer = request.await;
    (answer, started.elapsed())
}

// Multi-threaded: the store's blocking client and start-up block a worker while the proxy's tasks
// must go on forwarding.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_database_answers_503_quickly_and_the_server_recovers_on_its_own() {
    let url = fresh_database_url().expect("this module runs only on PostgreSQL: set KIRO_TEST_POSTGRES_URL");
    let (proxy, proxied) = DbProxy::start(&url).await;
    let app = TestApp::on(Store::connect(&proxied, &Default::default()).unwrap());
    let session = app.new_session("acct-db-down", "pro").await;
    let card = app.tokenize(&session, "4242424242424242").await;
    // Several pooled connections, as under load, all idle when the database goes.
    let view_path = format!("/api/checkout/{session}");
    let views = (0..8).map(|_| app.get(&view_path, None));
    for view in futures_util::future::join_all(views).await {
        assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
    }

    proxy.stop().await;
    let ((ready, view, confirm, health), took) = timed(async {
        tokio::join!(
            app.get("/readyz", None),
            app.get(&view_path, None),
            app.confirm(&session, &card, "while-down"),
            app.get("/healthz", None),
        )
    })
    .await;
    eprintln!("with the database away, four requests at once answered in {took:?}");
    assert!(took < QUICKLY, "requests took {took:?} to answer while the database was away");
    assert_error(&ready, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    assert_error(&view, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    assert_error(&confirm, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, Some("ok")), "liveness");
    // Once the pool has no connection left, a new one is refused: still a quick 503.
    let (ready, took) = timed(app.get("/readyz", None)).await;
    eprintln!("with the database away and its connections gone, readyz answered in {took:?}");
    assert!(took < QUICKLY, "readyz took {took:?} while the database was away");
    assert_error(&ready, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    let (metrics, took) = timed(app.get("/metrics", Some(crate::common::KEY))).await;
    assert!(took < QUICKLY, "metrics took {took:?} while the database was away");
    assert!(metrics.body.as_str().is_some_and(|m| m.contains("\nkiro_database_up 0\n")), "{:?}", metrics.body);

    proxy.resume();
    // The first request once the database is back goes through: no connection the outage broke
    // is handed out again.
    let paid = app.confirm(&session, &card, "after-restart").await;
    assert_eq!(paid.status, StatusCode::OK, "{:?}", paid.body);
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    let ready = app.get("/readyz", None).await;
    assert_eq!((ready.status, &ready.body["status"]), (StatusCode::OK, &serde_json::json!("ready")));
    assert_eq!(app.invoices("acct-db-down").await.len(), 1, "one payment, recorded once");
}

/// A transaction of the test's own that took some locks and holds them until released.
struct Holder {
    pid: i32,
    release: Option<std::sync::mpsc::Sender<()>>,
    done: Option<std::thread::JoinHandle<()>>,
}

impl Holder {
    fn take(url: &str, locks: &'static str) -> Holder {
        let (url, (ready_tx, ready_rx), (release_tx, release_rx)) =
            (url.to_string(), std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let done = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut tx = client.transaction().unwrap();
            tx.batch_execute(locks).unwrap();
            let pid: i32 = tx.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
            ready_tx.send(pid).unwrap();
            let _ = release_rx.recv();
            tx.commit().unwrap();
        });
        let pid = ready_rx.recv().unwrap();
        Holder { pid, release: Some(release_tx), done: Some(done) }
    }

    /// The sessions waiting for this one's locks, once there are `count` (within 10 s).
    async fn waiters(&self, url: &str, count: usize) -> Vec<i32> {
        for _ in 0..200 {
            let waiting = on_own_connection(
                url,
                &format!("SELECT pid FROM pg_stat_activity WHERE {} = ANY(pg_blocking_pids(pid))", self.pid),
            );
            if waiting.len() >= count {
                return waiting;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nothing came to wait for the test's locks");
    }

    fn release(mut self) {
        drop(self.release.take());
        self.done.take().unwrap().join().unwrap();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.release.take());
    }
}

/// The pids a query returns, run on a connection of the test's own.
fn on_own_connection(url: &str, sql: &str) -> Vec<i32> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.query(&sql, &[]).unwrap().iter().map(|row| row.get(0)).collect()
    })
    .join()
    .unwrap()
}

/// Pending payment attempts in the database of `store`.
fn pending_attempts(store: &Store) -> i64 {
    let pending = "SELECT CAST(COUNT(*) AS BIGINT) FROM payment_attempts WHERE status = 'pending'";
    store
        .read_blocking(|c| Ok::<_, checkout_server::error::AppError>(c.query_row(pending, (), |r| r.get::<_, i64>(0))?))
        .unwrap()
}

/// A checkout ready to pay on `app`, and its card.
async fn ready_checkout(app: &TestApp, account: &str) -> (String, String) {
    let session = app.new_session(account, "pro").await;
    let card = app.tokenize(&session, "4242424242424242").await;
    (session, card)
}

/// An administrator (or a failover) ends the session a request is using: the answer is `503`,
/// retryable, not `500`, and the next try goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_the_database_ends_mid_request_answers_503() {
    let url = fresh_database_url().expect("this module runs only on PostgreSQL: set KIRO_TEST_POSTGRES_URL");
    let app = TestApp::on(Store::connect(&url, &Default::default()).unwrap());
    let (session, card) = ready_checkout(&app, "acct-terminated").await;
    let holder = Holder::take(&url, "LOCK TABLE lock_writes IN EXCLUSIVE MODE");
    let paying = tokio::spawn({
        let (app, session, card) = (app.clone(), session.clone(), card.clone());
        async move { app.confirm(&session, &card, "terminated").await }
    });
    for pid in holder.waiters(&url, 1).await {
        on_own_connection(&url, &format!("SELECT pg_terminate_backend({pid})::int"));
    }
    assert_error(&paying.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    holder.release();
    let paid = app.confirm(&session, &card, "again").await;
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
}

/// A statement that waits longer than the statement timeout (here on locks) is `503`, whether it
/// writes or reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_statement_that_runs_out_of_time_answers_503() {
    let url = fresh_database_url().expect("this module runs only on PostgreSQL: set KIRO_TEST_POSTGRES_URL");
    let options =
        checkout_server::store::PostgresOptions { statement_timeout: Duration::from_millis(300), ..Default::default() };
    let app = TestApp::on(Store::connect(&url, &options).unwrap());
    let (session, card) = ready_checkout(&app, "acct-timeout").await;
    let holder = Holder::take(
        &url,
        "LOCK TABLE lock_writes IN EXCLUSIVE MODE; LOCK TABLE checkout_sessions IN ACCESS EXCLUSIVE MODE",
    );
    let paid = app.confirm(&session, &card, "timeout").await;
    assert_error(&paid, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_error(&view, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    holder.release();
    let paid = app.confirm(&session, &card, "again").await;
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
}

/// One instance's network to the database breaks while it is inside a payment's transaction,
/// holding the invoice counter every payment takes: PostgreSQL ends that session once it has sat
/// idle in its transaction, so the other instance's payments go through; the cut-off instance
/// answers `503` within its deadline, commits nothing it began before, and works again with
/// nothing left pending once the network heals.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_cut_off_from_the_database_answers_503_and_stops_no_other() {
    let url = fresh_database_url().expect("this module runs only on PostgreSQL: set KIRO_TEST_POSTGRES_URL");
    let (proxy, proxied) = DbProxy::start(&url).await;
    let cut_off = TestApp::on(Store::connect(&proxied, &Default::default()).unwrap());
    let healthy_store = Store::connect(&url, &Default::default()).unwrap();
    let healthy = TestApp::on(healthy_store.clone());
    let (stuck_session, stuck_card) = ready_checkout(&cut_off, "acct-cut-off").await;
    let mut others = Vec::new();
    for n in 0..3 {
        others.push(ready_checkout(&healthy, &format!("acct-healthy-{n}")).await);
    }

    // The cut-off instance's payment waits inside its record, after taking the invoice number.
    let holder = Holder::take(&url, "LOCK TABLE events IN EXCLUSIVE MODE");
    let stuck = tokio::spawn({
        let (app, session, card) = (cut_off.clone(), stuck_session.clone(), stuck_card.clone());
        async move { timed(app.confirm(&session, &card, "cut")).await }
    });
    holder.waiters(&url, 1).await;
    proxy.cut();
    holder.release();

    let paying = others.iter().map(|(session, card)| timed(healthy.confirm(session, card, "healthy")));
    for (paid, took) in futures_util::future::join_all(paying).await {
        eprintln!("another instance's payment during the partition took {took:?}");
        assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
        assert!(took < QUICKLY, "another instance's payment took {took:?} during the partition");
    }
    let (ready, took) = timed(cut_off.get("/readyz", None)).await;
    eprintln!("the cut-off instance's readyz answered in {took:?}");
    assert_error(&ready, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    assert!(took < QUICKLY, "readyz took {took:?}");
    let (stuck, took) = stuck.await.unwrap();
    eprintln!("the cut-off instance's payment answered in {took:?}");
    assert_error(&stuck, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");

    proxy.heal();
    // Nothing of the cut-off payment landed, and its attempt is settled once the network is back.
    for _ in 0..100 {
        if pending_attempts(&healthy_store) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending_attempts(&healthy_store), 0, "an attempt was left pending");
    assert!(healthy.invoices("acct-cut-off").await.is_empty(), "the cut-off payment committed after its 503");
    let paid = cut_off.confirm(&stuck_session, &stuck_card, "healed").await;
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    let mut numbers: Vec<String> = Vec::new();
    for account in ["acct-cut-off", "acct-healthy-0", "acct-healthy-1", "acct-healthy-2"] {
        numbers.extend(healthy.invoices(account).await.iter().map(|i| i["number"].as_str().unwrap().to_string()));
    }
    numbers.sort();
    let expected: Vec<String> = (1..=4).map(|n| format!("KIRO-{n:06}")).collect();
    assert_eq!(numbers, expected, "invoice numbers without a gap");
}
