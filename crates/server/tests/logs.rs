//! Logs never hold card data, the secret key or whole session ids. Its own test binary, so the
//! capturing subscriber is the process's global one.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use checkout_server::{AppState, Config, Store, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const KEY: &str = "sk_test_0123456789abcdef";

async fn get(app: &Router, path: &str) -> Value {
    let response = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

async fn post(app: &Router, path: &str, key: Option<&str>, body: &Value) -> Value {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let response = app.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_hold_neither_card_data_nor_whole_session_ids() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let app = app(AppState::new(Config::new(KEY, "http://checkout.test"), Store::in_memory().unwrap()).unwrap());
    let account =
        json!({"id": "acct-logs", "email": "dev@example.com", "login": "github", "aws_account_linked": false});
    let created = post(
        &app,
        "/v1/checkout/sessions",
        Some(KEY),
        &json!({"account": account, "plan": "pro", "return_url": "kiro://kiro.kiroAgent/x"}),
    )
    .await;
    let session = created["id"].as_str().unwrap().to_string();
    for (i, number) in ["4000000000009995", "4242424242424242"].iter().enumerate() {
        let card = json!({"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "Ada Lovelace"});
        let pm =
            post(&app, &format!("/api/checkout/{session}/card"), None, &card).await["id"].as_str().unwrap().to_string();
        let view = get(&app, &format!("/api/checkout/{session}")).await;
        let body = json!({"email": "dev@example.com", "payment_method": pm, "billing": {"country": "US", "postal_code": "94107"},
                          "expected_total": view["quote"]["total_due_today"], "idempotency_key": format!("k{i}")});
        post(&app, &format!("/api/checkout/{session}/confirm"), None, &body).await;
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("checkout paid"), "the capture works: {logs}");
    assert!(logs.contains("/api/checkout/cs_"), "requests are logged: {logs}");
    for secret in [session.as_str(), "4242424242424242", "4000000000009995", "Ada Lovelace", KEY] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}
