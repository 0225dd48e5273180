//! What an operator sees: `/readyz`, `/metrics` (Prometheus's text format, for the secret key or
//! the metrics token) and `--log-format json`.

use crate::common::{KEY, TestApp, assert_error, database_args, fake_dist, fresh_store, new_card};
use axum::http::{StatusCode, header};
use checkout_server::config::SecretKeyHash;
use checkout_server::store;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef";

/// The value of the sample written exactly as `series` (name and labels), if there is one.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let reply = app.get("/metrics", Some(KEY)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body.as_str().unwrap().to_string()
}

#[tokio::test]
async fn readyz_says_ready_while_the_database_answers_and_healthz_stays_ok() {
    let app = TestApp::new();
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{:?}", ready.body);
    assert_eq!(ready.body["status"], "ready");
    let health = app.get("/healthz", None).await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, Some("ok")));
}

#[tokio::test]
async fn metrics_need_the_metrics_token_or_the_secret_key() {
    let app = TestApp::configured(fresh_store(), |cfg| cfg.metrics_token = Some(SecretKeyHash::of(METRICS_TOKEN)));
    assert_error(&app.get("/metrics", None).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_error(
        &app.get("/metrics", Some("sk_test_not_the_key_000000")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    for token in [METRICS_TOKEN, KEY] {
        let reply = app.get("/metrics", Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let content_type = reply.headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        assert!(reply.body.as_str().unwrap().contains("# TYPE kiro_http_requests_total counter"));
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_payments_by_outcome_never_with_session_ids() {
    let app = TestApp::new();
    let session = app.new_session("acct-metrics", "pro").await;
    let declined = app.tokenize(&session, "4000000000000002").await;
    assert_eq!(app.confirm(&session, &declined, "k1").await.body["status"], "declined");
    let card = app.tokenize(&session, "4242424242424242").await;
    assert_eq!(app.confirm(&session, &card, "k2").await.body["status"], "succeeded");
    app.get("/api/checkout/cs_not_a_session_at_all_0000000000000000000000000", None).await;

    let metrics = scrape(&app).await;
    let payments =
        |outcome: &str| sample(&metrics, &format!("kiro_payments_total{{outcome=\"{outcome}\",purpose=\"checkout\"}}"));
    assert_eq!((payments("declined"), payments("succeeded")), (Some(1.0), Some(1.0)), "{metrics}");
    // Four views (two confirms read the page first), one of them of a session that does not exist.
    let views = |status: u16| {
        sample(
            &metrics,
            &format!("kiro_http_requests_total{{route=\"/api/checkout/{{session_id}}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!((views(200), views(404)), (Some(2.0), Some(1.0)), "{metrics}");
    let created = "kiro_http_requests_total{route=\"/v1/checkout/sessions\",status=\"201\"}";
    assert_eq!(sample(&metrics, created), Some(1.0), "{metrics}");
    assert!(!metrics.contains("cs_"), "a session id in the metrics: {metrics}");
    assert_eq!(sample(&metrics, "kiro_database_up"), Some(1.0), "{metrics}");
    assert!(sample(&metrics, "kiro_database_connections{state=\"idle\"}").is_some(), "{metrics}");
}

#[tokio::test]
async fn metrics_show_the_webhook_backlog_and_orphaned_attempts_as_the_database_holds_them() {
    let store = fresh_store();
    let app = TestApp::configured(store.clone(), |cfg| cfg.webhook_urls = vec!["http://127.0.0.1:9/hooks".into()]);
    let before = scrape(&app).await;
    assert_eq!(sample(&before, "kiro_webhook_backlog"), Some(0.0), "{before}");
    assert_eq!(sample(&before, "kiro_webhook_oldest_pending_age_seconds"), Some(0.0), "{before}");
    assert_eq!(sample(&before, "kiro_orphaned_payment_attempts"), Some(0.0), "{before}");

    // A paid checkout's events wait for delivery (this test app delivers nothing); an instance that
    // died between claiming an attempt and charging leaves it orphaned.
    let portal = app.subscribed_portal("acct-backlog", "pro", "4242424242424242").await;
    let card = app.post(&format!("/api/portal/{portal}/payment-method"), None, &new_card("4242424242424242")).await;
    assert_eq!(card.status, StatusCode::OK, "{:?}", card.body);
    let now = time::macros::datetime!(2026-11-16 00:00 UTC);
    store.write_blocking(move |tx| store::claim_attempt(tx, "acct-orphan", "checkout", now).map(drop)).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let after = scrape(&app).await;
    let events = app.get("/v1/events?limit=100", Some(KEY)).await;
    let events = events.body["data"].as_array().map_or(0, Vec::len);
    assert!(events >= 2, "{events} events");
    assert_eq!(sample(&after, "kiro_webhook_backlog"), Some(events as f64), "{after}");
    let age = sample(&after, "kiro_webhook_oldest_pending_age_seconds").unwrap();
    assert!((1.0..60.0).contains(&age), "oldest pending delivery {age} s old: {after}");
    assert_eq!(sample(&after, "kiro_orphaned_payment_attempts"), Some(1.0), "{after}");
}

/// A server process on a fresh database of the backend under test, logging JSON; its log lines
/// up to "listening", and the rest to read.
struct JsonLoggingServer {
    process: std::process::Child,
    started: Vec<String>,
    rest: std::io::Lines<BufReader<std::process::ChildStderr>>,
    port: u16,
    folders: [std::path::PathBuf; 2],
}

impl JsonLoggingServer {
    fn start(tag: &str) -> JsonLoggingServer {
        let dir = std::env::temp_dir().join(format!("kiro-ops-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dist = fake_dist(&format!("ops-{tag}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut process = Command::new(env!("CARGO_BIN_EXE_checkout-server"))
            .args(database_args(&dir.join("db.sqlite3")))
            .args(["--log-format", "json", "--port", &port.to_string(), "--dist"])
            .arg(&dist)
            .env("CHECKOUT_SECRET_KEY", KEY)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut rest = BufReader::new(process.stderr.take().unwrap()).lines();
        let mut started = Vec::new();
        for line in rest.by_ref() {
            let line = line.unwrap();
            let done = line.contains("listening");
            started.push(line);
            if done {
                break;
            }
        }
        JsonLoggingServer { process, started, rest, port, folders: [dir, dist] }
    }
}

impl Drop for JsonLoggingServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        for folder in &self.folders {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

fn parsed(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
}

#[test]
fn log_format_json_writes_one_json_object_a_line() {
    let server = JsonLoggingServer::start("json-logs");
    let (lines, port) = (&server.started, server.port);
    assert!(lines.last().is_some_and(|l| l.contains("listening")), "{lines:?}");
    for line in lines {
        let entry = parsed(line);
        assert!(entry["level"].is_string() && entry["timestamp"].is_string(), "{line}");
    }
    let listening = parsed(lines.last().unwrap());
    assert_eq!(listening["fields"]["message"], "listening");
    assert_eq!(listening["fields"]["addr"], format!("127.0.0.1:{port}"));
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let mut server = JsonLoggingServer::start("sigterm");
    let killed = Command::new("kill").args(["-TERM", &server.process.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = server.process.wait().unwrap();
    let rest: Vec<String> = server.rest.by_ref().map(Result::unwrap).collect();
    assert!(status.success(), "{status}: {rest:?}");
    assert!(rest.iter().any(|l| parsed(l)["fields"]["message"] == "shutting down"), "{rest:?}");
}
