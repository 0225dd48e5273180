//! The portal's plan changes: Kiro's proration, downgrades that wait, stale quotes, and sessions
//! that are forged or expired.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn upgrades_in_the_first_paid_month_are_re_rated_from_the_first_paid_moment() {
    let app = TestApp::new();
    app.subscribed_portal("acct-up1", "pro", "4242424242424242").await;
    app.set_clock("2026-11-25T15:30:00Z").await;
    let portal = app.open_portal("acct-up1").await;
    let quote = app.preview(&portal, "pro_plus").await;
    assert_eq!(quote.body["total_due_today"], 1000, "{:?}", quote.body);
    assert_eq!(quote.body["lines"][0]["description"], "Kiro Pro+ from Nov 16 to Dec 1");
    assert_eq!(quote.body["lines"][1]["description"], "Already paid for Kiro Pro this month");
    let done = app.change(&portal, "pro_plus", 1000, "k1").await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(done.body["change"]["amount_charged"], 1000);
    // Double Confirm: the same answer, one charge.
    assert_eq!(app.change(&portal, "pro_plus", 1000, "k1").await.body, done.body);
    let amounts: Vec<i64> = app.invoices("acct-up1").await.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![1000, 1000]);
    let sub = app.get("/v1/accounts/acct-up1/subscription", Some(KEY)).await;
    assert_eq!((sub.body["plan"].as_str(), sub.body["credits"].as_i64()), (Some("pro_plus"), Some(2000)));
}

#[tokio::test]
async fn from_the_second_month_upgrades_charge_the_price_difference() {
    let app = TestApp::new();
    let plus = app.subscribed_portal("acct-up2", "pro", "4242424242424242").await;
    app.subscribed_portal("acct-up3", "pro", "5555555555554444").await;
    app.set_clock("2026-12-10T09:00:00Z").await;
    // Portal sessions last an hour: open new ones after the clock moved.
    assert_error(&app.preview(&plus, "pro_plus").await, StatusCode::GONE, "session_expired");
    let (plus, power) = (app.open_portal("acct-up2").await, app.open_portal("acct-up3").await);
    assert_eq!(app.preview(&plus, "pro_plus").await.body["total_due_today"], 2000);
    assert_eq!(app.change(&plus, "pro_plus", 2000, "k").await.body["status"], "succeeded");
    assert_eq!(app.preview(&power, "power").await.body["total_due_today"], 18000);
    assert_eq!(app.change(&power, "power", 18000, "k").await.body["status"], "succeeded");
    let amounts: Vec<i64> = app.invoices("acct-up3").await.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![1000, 2000, 18000]);
}

#[tokio::test]
async fn downgrades_wait_for_the_first_and_can_be_undone() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-down", "power", "4242424242424242").await;
    let quote = app.preview(&portal, "pro").await;
    assert_eq!(quote.body["total_due_today"], 0);
    assert_eq!(quote.body["effective_at"], "2026-12-01T00:00:00Z");
    assert_eq!(app.change(&portal, "pro", 0, "k1").await.body["status"], "succeeded");
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["scheduled_change"]["plan"], "pro");
    assert_eq!(view.body["subscription"]["next_renewal_amount"], 2000);
    let kept = app.post(&format!("/api/portal/{portal}/keep-plan"), None, &json!({})).await;
    assert_eq!(kept.body["subscription"]["scheduled_change"], Value::Null);
    assert_eq!(kept.body["subscription"]["next_renewal_amount"], 20000);
    // Scheduled again, it applies at renewal with the lower amount.
    assert_eq!(app.change(&portal, "pro", 0, "k2").await.body["status"], "succeeded");
    app.set_clock("2026-12-01T01:00:00Z").await;
    let sub = app.get("/v1/accounts/acct-down/subscription", Some(KEY)).await;
    assert_eq!(sub.body["plan"], "pro");
    let amounts: Vec<i64> = app.invoices("acct-down").await.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![10000, 2000]);
}

#[tokio::test]
async fn a_stale_quote_is_refused() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-stale", "pro", "4242424242424242").await;
    app.set_clock("2026-11-16T00:30:00Z").await;
    assert_eq!(app.preview(&portal, "power").await.body["total_due_today"], 9000);
    assert_error(&app.change(&portal, "power", 1, "k").await, StatusCode::CONFLICT, "quote_changed");
    assert_error(&app.change(&portal, "pro", 0, "k2").await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(app.invoices("acct-stale").await.len(), 1);
}

#[tokio::test]
async fn a_card_that_fails_later_leaves_the_plan_unchanged() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-fail", "pro", "4000000000000341").await;
    let reply = app.change(&portal, "pro_plus", 1000, "k").await;
    assert_eq!(reply.body["status"], "declined");
    assert!(reply.body["decline"]["message"].as_str().unwrap().contains("Your plan has not changed."));
    let sub = app.get("/v1/accounts/acct-fail/subscription", Some(KEY)).await;
    assert_eq!(sub.body["plan"], "pro");
    assert_eq!(app.invoices("acct-fail").await.len(), 1);
}

#[tokio::test]
async fn portal_sessions_refuse_unknown_and_bad_input() {
    let app = TestApp::new();
    assert_error(&app.get("/api/portal/ps_forged", None).await, StatusCode::NOT_FOUND, "session_not_found");
    let portal = app.subscribed_portal("acct-bad", "pro", "4242424242424242").await;
    assert_error(
        &app.post(&format!("/api/portal/{portal}/preview"), None, &json!({"plan": "gold"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &app.post(
            &format!("/api/portal/{portal}/change"),
            None,
            &json!({"plan": "power", "expected_total": "9000", "idempotency_key": "k"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    app.set_clock("2026-11-16T01:00:00Z").await;
    assert_error(&app.get(&format!("/api/portal/{portal}"), None).await, StatusCode::GONE, "session_expired");
}

#[tokio::test]
async fn every_portal_endpoint_refuses_forged_and_expired_sessions() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-forge", "pro", "4242424242424242").await;
    let posts: [(&str, Value); 9] = [
        ("preview", json!({"plan": "power"})),
        ("change", json!({"plan": "power", "expected_total": 9000, "idempotency_key": "k"})),
        ("keep-plan", json!({})),
        ("cancel", json!({})),
        ("resume", json!({})),
        ("overage", json!({"enabled": true})),
        ("payment-method", new_card("4242424242424242")),
        ("pay-invoice", json!({"idempotency_key": "k"})),
        ("challenge", json!({"challenge_id": "ch_x", "outcome": "complete"})),
    ];
    for (path, body) in &posts {
        let forged = app.post(&format!("/api/portal/ps_forged/{path}"), None, body).await;
        assert!(
            ["session_not_found", "challenge_not_found"].contains(&forged.body["error"]["code"].as_str().unwrap_or("")),
            "{path}: {:?}",
            forged.body
        );
    }
    for path in ["", "/invoices", "/invoices/in_x"] {
        assert_error(
            &app.get(&format!("/api/portal/ps_forged{path}"), None).await,
            StatusCode::NOT_FOUND,
            "session_not_found",
        );
    }
    app.set_clock("2026-11-16T01:00:00Z").await;
    for (path, body) in &posts[..8] {
        assert_error(
            &app.post(&format!("/api/portal/{portal}/{path}"), None, body).await,
            StatusCode::GONE,
            "session_expired",
        );
    }
    assert_eq!(app.invoices("acct-forge").await.len(), 1, "nothing was charged");
}
