//! Account management and what time brings: renewals, past due, a new card, cancel and resume,
//! overage, the billing history.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn renewals_run_once_per_period() {
    let app = TestApp::new();
    app.set_clock("2026-11-16T00:00:00Z").await;
    let session = app.new_session("acct-renew", "pro").await;
    let pm = app.tokenize(&session, "4242424242424242").await;
    app.confirm(&session, &pm, "k").await;
    for now in ["2026-12-01T01:00:00Z", "2026-12-15T00:00:00Z", "2027-01-01T01:00:01Z", "2027-02-01T01:00:00Z"] {
        assert_eq!(app.set_clock(now).await.status, StatusCode::OK);
    }
    let amounts: Vec<i64> = app.invoices("acct-renew").await.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![1000, 2000, 2000, 2000]);
}

#[tokio::test]
async fn a_failing_renewal_marks_the_subscription_past_due() {
    let app = TestApp::new();
    app.set_clock("2026-11-16T00:00:00Z").await;
    let session = app.new_session("acct-late", "pro").await;
    let pm = app.tokenize(&session, "4000000000000341").await;
    assert_eq!(app.confirm(&session, &pm, "k").await.body["status"], "succeeded");
    app.set_clock("2026-12-01T01:00:00Z").await;
    let sub = app.get("/v1/accounts/acct-late/subscription", Some(KEY)).await;
    assert_eq!(sub.body["status"], "past_due");
    assert_eq!(sub.body["credits"], 50);
}

#[tokio::test]
async fn a_failed_renewal_is_paid_with_a_new_card() {
    let app = TestApp::new();
    app.subscribed_portal("acct-pd", "pro", "4000000000000341").await;
    app.set_clock("2026-12-01T01:00:00Z").await;
    let portal = app.open_portal("acct-pd").await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["status"], "past_due");
    assert_eq!(view.body["amount_due"]["amount"], 2000);
    // The same failing card again: still declined.
    let retry = app.post(&format!("/api/portal/{portal}/pay-invoice"), None, &json!({"idempotency_key": "p1"})).await;
    assert_eq!(retry.body["status"], "declined");
    let updated = app.post(&format!("/api/portal/{portal}/payment-method"), None, &new_card("5555555555554444")).await;
    assert_eq!(updated.body["status"], "updated", "{:?}", updated.body);
    assert_eq!(updated.body["paid_invoice"], 2000);
    let sub = app.get("/v1/accounts/acct-pd/subscription", Some(KEY)).await;
    assert_eq!((sub.body["status"].as_str(), sub.body["credits"].as_i64()), (Some("active"), Some(1000)));
    let statuses: Vec<String> =
        app.invoices("acct-pd").await.iter().map(|i| i["status"].as_str().unwrap().to_string()).collect();
    assert_eq!(statuses, vec!["paid", "paid"]);
}

#[tokio::test]
async fn a_new_card_can_need_3_d_secure_and_replaces_the_old_one() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-card", "pro", "4242424242424242").await;
    let reply = app.post(&format!("/api/portal/{portal}/payment-method"), None, &new_card("4000002760003184")).await;
    assert_eq!(reply.body["status"], "requires_action");
    let challenge = reply.body["challenge_id"].as_str().unwrap();
    let path = format!("/api/portal/{portal}/payment-method/challenge");
    let done = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["status"], "updated");
    assert_eq!(done.body["card"]["last4"], "3184");
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["payment_method"]["last4"], "3184");
    let declined = app.post(&format!("/api/portal/{portal}/payment-method"), None, &new_card("4000000000009995")).await;
    assert_eq!(declined.body["decline"]["code"], "insufficient_funds");
    assert_eq!(app.get(&format!("/api/portal/{portal}"), None).await.body["payment_method"]["last4"], "3184");
    let bad = app.post(&format!("/api/portal/{portal}/payment-method"), None, &new_card("4242424242424241")).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_card");
}

#[tokio::test]
async fn cancel_keeps_the_plan_to_the_period_end_and_resume_takes_it_back() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-cancel", "pro", "4242424242424242").await;
    let canceled = app.post(&format!("/api/portal/{portal}/cancel"), None, &json!({})).await;
    assert_eq!(canceled.body["subscription"]["cancel_at_period_end"], true);
    assert_eq!(canceled.body["subscription"]["next_renewal_at"], Value::Null);
    let resumed = app.post(&format!("/api/portal/{portal}/resume"), None, &json!({})).await;
    assert_eq!(resumed.body["subscription"]["cancel_at_period_end"], false);
    assert_eq!(resumed.body["subscription"]["next_renewal_amount"], 2000);
    app.post(&format!("/api/portal/{portal}/cancel"), None, &json!({})).await;
    app.set_clock("2026-12-01T01:00:00Z").await;
    let sub = app.get("/v1/accounts/acct-cancel/subscription", Some(KEY)).await;
    assert_eq!(
        (sub.body["plan"].as_str(), sub.body["status"].as_str(), sub.body["credits"].as_i64()),
        (Some("free"), Some("canceled"), Some(50))
    );
    assert_eq!(app.invoices("acct-cancel").await.len(), 1, "no renewal after cancellation");
}

#[tokio::test]
async fn overage_is_an_opt_in_on_paid_plans() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-over", "pro", "4242424242424242").await;
    let on = app.post(&format!("/api/portal/{portal}/overage"), None, &json!({"enabled": true})).await;
    assert_eq!(on.body["overage_enabled"], true);
    assert_eq!(app.get("/v1/accounts/acct-over/subscription", Some(KEY)).await.body["overage_enabled"], true);
    let off = app.post(&format!("/api/portal/{portal}/overage"), None, &json!({"enabled": false})).await;
    assert_eq!(off.body["overage_enabled"], false);
    assert_error(
        &app.post(&format!("/api/portal/{portal}/overage"), None, &json!({"enabled": "yes"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn the_billing_history_lists_and_shows_only_the_accounts_invoices() {
    let app = TestApp::new();
    app.subscribed_portal("acct-hist", "pro", "4242424242424242").await;
    let other = app.subscribed_portal("acct-other", "pro", "4242424242424242").await;
    for now in ["2026-12-01T01:00:00Z", "2027-01-01T01:00:00Z", "2027-02-01T01:00:00Z"] {
        app.set_clock(now).await;
    }
    let portal = app.open_portal("acct-hist").await;
    let list = app.get(&format!("/api/portal/{portal}/invoices"), None).await;
    let amounts: Vec<i64> =
        list.body["invoices"].as_array().unwrap().iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, vec![2000, 2000, 2000, 1000], "newest first");
    let newest = list.body["invoices"][0]["id"].as_str().unwrap();
    let detail = app.get(&format!("/api/portal/{portal}/invoices/{newest}"), None).await;
    assert_eq!(detail.body["lines"][0]["description"], "Kiro Pro for February 2027");
    assert_eq!(detail.body["card"]["last4"], "4242");
    let foreign = app.get(&format!("/api/portal/{other}/invoices/{newest}"), None).await;
    assert!(foreign.status == StatusCode::NOT_FOUND || foreign.status == StatusCode::GONE);
    let other = app.open_portal("acct-other").await;
    assert_error(
        &app.get(&format!("/api/portal/{other}/invoices/{newest}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}
