//! What every server test file shares: the app on a fresh database with its clock frozen at
//! 2026-11-16 00:00 UTC, request helpers, and assertions on the JSON error body.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use checkout_server::{AppState, Config, Store, app, config};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const KEY: &str = "sk_test_0123456789abcdef";

/// A server whose clock starts frozen at 2026-11-16 00:00 UTC: 15 of November's 30 days left.
pub fn test_app() -> Router {
    app_on(Store::in_memory().unwrap())
}

/// The app on `store` (a restart keeps the store and makes a new app).
pub fn app_on(store: Store) -> Router {
    let mut cfg = Config::new(KEY, "http://checkout.test");
    cfg.initial_clock = Some(time::macros::datetime!(2026-11-16 00:00 UTC));
    cfg.allowed_return_origins.push(config::parse_allowed_origin("https://app.kiro.dev").unwrap());
    app(AppState::new(cfg, store).unwrap())
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Reply { status, headers, body }
}

pub fn post_raw(path: &str, key: Option<&str>, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if let Some(key) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    req.body(body.into()).unwrap()
}

pub async fn post(app: &Router, path: &str, key: Option<&str>, body: &Value) -> Reply {
    send(app, post_raw(path, key, "application/json", body.to_string())).await
}

pub async fn get(app: &Router, path: &str, key: Option<&str>) -> Reply {
    let mut req = Request::get(path);
    if let Some(key) = key {
        req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

pub fn session_body(account: &str, plan: &str) -> Value {
    json!({
        "account": {"id": account, "email": "dev@example.com", "login": "github", "aws_account_linked": false},
        "plan": plan,
        "return_url": "kiro://kiro.kiroAgent/upgrade-success"
    })
}

pub fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{:?}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

pub async fn set_clock(app: &Router, now: &str) -> Reply {
    post(app, "/v1/test_helpers/clock", Some(KEY), &json!({ "now": now })).await
}

pub async fn new_session(app: &Router, account: &str, plan: &str) -> String {
    let reply = post(app, "/v1/checkout/sessions", Some(KEY), &session_body(account, plan)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

pub async fn tokenize(app: &Router, session: &str, number: &str) -> String {
    let cvc = if number.starts_with("37") { "1234" } else { "123" };
    let reply = post(
        app,
        &format!("/api/checkout/{session}/card"),
        None,
        &json!({"number": number, "exp_month": 12, "exp_year": 2034, "cvc": cvc, "name": "Ada Lovelace"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

pub fn confirm_body(pm: &str, key: &str, expected_total: i64) -> Value {
    json!({"email": "dev@example.com", "payment_method": pm, "billing": {"country": "US", "postal_code": "94107"},
           "expected_total": expected_total, "idempotency_key": key})
}

/// Confirms with the total the page would show: today's charge at the server's clock.
pub async fn confirm(app: &Router, session: &str, pm: &str, key: &str) -> Reply {
    let view = get(app, &format!("/api/checkout/{session}"), None).await;
    let total = view.body["quote"]["total_due_today"].as_i64().unwrap_or(0);
    post(app, &format!("/api/checkout/{session}/confirm"), None, &confirm_body(pm, key, total)).await
}

pub async fn invoices(app: &Router, account: &str) -> Vec<Value> {
    let reply = get(app, &format!("/v1/accounts/{account}/invoices"), Some(KEY)).await;
    reply.body["invoices"].as_array().cloned().unwrap_or_default()
}

/// Subscribes `account` to `plan` with `card` at the server's clock and opens a portal session.
pub async fn subscribed_portal(app: &Router, account: &str, plan: &str, card: &str) -> String {
    let session = new_session(app, account, plan).await;
    let pm = tokenize(app, &session, card).await;
    assert_eq!(confirm(app, &session, &pm, "first").await.body["status"], "succeeded");
    open_portal(app, account).await
}

/// A portal session (they last an hour) for an account that has subscribed.
pub async fn open_portal(app: &Router, account: &str) -> String {
    let portal = post(
        app,
        "/v1/portal/sessions",
        Some(KEY),
        &json!({"account_id": account, "return_url": "kiro://kiro.kiroAgent/manage-plan"}),
    )
    .await;
    assert_eq!(portal.status, StatusCode::CREATED, "{:?}", portal.body);
    portal.body["id"].as_str().unwrap().to_string()
}

pub async fn preview(app: &Router, portal: &str, plan: &str) -> Reply {
    post(app, &format!("/api/portal/{portal}/preview"), None, &json!({"plan": plan})).await
}

pub async fn change(app: &Router, portal: &str, plan: &str, expected: i64, key: &str) -> Reply {
    post(
        app,
        &format!("/api/portal/{portal}/change"),
        None,
        &json!({"plan": plan, "expected_total": expected, "idempotency_key": key}),
    )
    .await
}
