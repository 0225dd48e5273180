//! The checkout's browser API: one charge per session whatever the retries and races, declines,
//! 3-D Secure, and the accounts that may not buy.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_checkout_charges_the_prorated_month_once() {
    let app = TestApp::new();
    app.set_clock("2026-11-16T00:00:00Z").await;
    let session = app.new_session("acct-1", "pro").await;
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["plan"]["name"], "Kiro Pro");
    assert_eq!(view.body["plan"]["monthly_price"], 2000);
    assert_eq!(view.body["quote"]["total_due_today"], 1000);
    assert_eq!(view.body["quote"]["lines"][0]["description"], "Kiro Pro from Nov 16 to Dec 1");
    assert_eq!(view.body["eligibility"], "eligible");
    assert_eq!(view.body["test_mode"], true);
    assert_eq!(view.body["return_url"], format!("kiro://kiro.kiroAgent/upgrade-success?session_id={session}"));

    let pm = app.tokenize(&session, "4242 4242 4242 4242").await;
    let first = app.confirm(&session, &pm, "key-1").await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["status"], "succeeded");
    assert_eq!(first.body["receipt"]["amount_charged"], 1000);
    assert_eq!(first.body["receipt"]["card"]["last4"], "4242");

    // The same request again: the same answer, no second charge.
    let again = app.post(&format!("/api/checkout/{session}/confirm"), None, &confirm_body(&pm, "key-1", 1000)).await;
    assert_eq!(again.body, first.body);
    // The same key with another body: refused.
    let mut other = confirm_body(&pm, "key-1", 1000);
    other["email"] = json!("other@example.com");
    assert_error(
        &app.post(&format!("/api/checkout/{session}/confirm"), None, &other).await,
        StatusCode::CONFLICT,
        "idempotency_conflict",
    );
    // A new key on a completed session: refused.
    assert_error(&app.confirm(&session, &pm, "key-2").await, StatusCode::CONFLICT, "session_completed");
    assert_eq!(app.invoices("acct-1").await.len(), 1);

    let sub = app.get("/v1/accounts/acct-1/subscription", Some(KEY)).await;
    assert_eq!(sub.body["plan"], "pro");
    assert_eq!(sub.body["status"], "active");
    assert_eq!(sub.body["credits"], 1000);
    assert_eq!(sub.body["current_period"]["end"], "2026-12-01T00:00:00Z");

    // Reloading the page shows the success again.
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["status"], "complete");
    assert_eq!(view.body["receipt"]["amount_charged"], 1000);
}

#[tokio::test]
async fn a_checkout_whose_price_changed_is_refused() {
    let app = TestApp::new();
    app.set_clock("2026-11-16T12:00:00Z").await;
    let session = app.new_session("acct-price", "pro").await;
    let pm = app.tokenize(&session, "4242424242424242").await;
    // The page showed $10.00 all day on the 16th; from midnight the rest of the month costs less.
    app.set_clock("2026-11-16T23:59:59Z").await;
    let same_day = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(same_day.body["quote"]["total_due_today"], 1000);
    app.set_clock("2026-11-17T00:00:00Z").await;
    let stale = app.post(&format!("/api/checkout/{session}/confirm"), None, &confirm_body(&pm, "k", 1000)).await;
    assert_error(&stale, StatusCode::CONFLICT, "quote_changed");
    assert!(app.invoices("acct-price").await.is_empty());
    let fresh = app.confirm(&session, &pm, "k2").await;
    assert_eq!(fresh.body["receipt"]["amount_charged"], 933);
}

#[tokio::test]
async fn racing_confirms_charge_once() {
    let app = TestApp::new();
    let session = app.new_session("acct-race", "pro_plus").await;
    let pm = app.tokenize(&session, "4242424242424242").await;
    let mut handles = Vec::new();
    for i in 0..8 {
        let (app, session, pm) = (app.clone(), session.clone(), pm.clone());
        // Half share one key (a double click), half use their own (two tabs).
        let key = if i % 2 == 0 { "shared".to_string() } else { format!("own-{i}") };
        handles.push(tokio::spawn(async move { app.confirm(&session, &pm, &key).await.status }));
    }
    let mut ok = 0;
    for h in handles {
        let status = h.await.unwrap();
        assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
        ok += usize::from(status == StatusCode::OK);
    }
    assert!(ok >= 1);
    assert_eq!(app.invoices("acct-race").await.len(), 1);
}

#[tokio::test]
async fn declines_name_their_reason_and_lock_after_five() {
    let app = TestApp::new();
    let session = app.new_session("acct-decline", "pro").await;
    let cases = [
        ("4000000000000002", "generic"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "expired_card"),
        ("4000000000000127", "incorrect_cvc"),
        ("4000000000000119", "processing_error"),
    ];
    for (i, (number, code)) in cases.iter().enumerate() {
        let pm = app.tokenize(&session, number).await;
        let reply = app.confirm(&session, &pm, &format!("k{i}")).await;
        assert_eq!(reply.body["status"], "declined", "{number}");
        assert_eq!(reply.body["decline"]["code"], *code);
        assert_eq!(reply.body["attempts_left"], 4 - i);
    }
    assert_error(&app.get(&format!("/api/checkout/{session}"), None).await, StatusCode::LOCKED, "session_locked");
    let reply = app
        .post(
            &format!("/api/checkout/{session}/card"),
            None,
            &json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "A B"}),
        )
        .await;
    assert_error(&reply, StatusCode::LOCKED, "session_locked");
    assert!(app.invoices("acct-decline").await.is_empty());
}

#[tokio::test]
async fn non_test_cards_are_declined_and_invalid_cards_refused() {
    let app = TestApp::new();
    let session = app.new_session("acct-x", "pro").await;
    let pm = app.tokenize(&session, "6011111111111117").await;
    let reply = app.confirm(&session, &pm, "k").await;
    assert_eq!(reply.body["decline"]["code"], "test_cards_only");
    for (number, cvc) in [("4242424242424241", "123"), ("4242", "123"), ("4242424242424242", "12")] {
        let reply = app
            .post(
                &format!("/api/checkout/{session}/card"),
                None,
                &json!({"number": number, "exp_month": 12, "exp_year": 2034, "cvc": cvc, "name": "A B"}),
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_card");
    }
    let expired = json!({"number": "4242424242424242", "exp_month": 1, "exp_year": 2020, "cvc": "123", "name": "A B"});
    assert_error(
        &app.post(&format!("/api/checkout/{session}/card"), None, &expired).await,
        StatusCode::BAD_REQUEST,
        "invalid_card",
    );
}

#[tokio::test]
async fn confirm_checks_email_billing_and_payment_method() {
    let app = TestApp::new();
    let session = app.new_session("acct-v", "pro").await;
    let other_session = app.new_session("acct-w", "pro").await;
    let foreign_pm = app.tokenize(&other_session, "4242424242424242").await;
    assert_error(&app.confirm(&session, &foreign_pm, "k1").await, StatusCode::BAD_REQUEST, "invalid_payment_method");
    assert_error(&app.confirm(&session, "pm_forged", "k2").await, StatusCode::BAD_REQUEST, "invalid_payment_method");
    let pm = app.tokenize(&session, "4242424242424242").await;
    let mut bad_email = confirm_body(&pm, "k3", 1000);
    bad_email["email"] = json!("nope");
    assert_error(
        &app.post(&format!("/api/checkout/{session}/confirm"), None, &bad_email).await,
        StatusCode::BAD_REQUEST,
        "invalid_email",
    );
    let mut bad_zip = confirm_body(&pm, "k4", 1000);
    bad_zip["billing"] = json!({"country": "US", "postal_code": "12"});
    assert_error(
        &app.post(&format!("/api/checkout/{session}/confirm"), None, &bad_zip).await,
        StatusCode::BAD_REQUEST,
        "invalid_billing_details",
    );
    let mut bad_country = confirm_body(&pm, "k5", 1000);
    bad_country["billing"] = json!({"country": "RU"});
    assert_error(
        &app.post(&format!("/api/checkout/{session}/confirm"), None, &bad_country).await,
        StatusCode::BAD_REQUEST,
        "invalid_billing_details",
    );
    let mut no_key = confirm_body(&pm, "", 1000);
    no_key["idempotency_key"] = json!("");
    assert_error(
        &app.post(&format!("/api/checkout/{session}/confirm"), None, &no_key).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert!(app.invoices("acct-v").await.is_empty());
}

#[tokio::test]
async fn three_d_secure_completes_or_fails() {
    let app = TestApp::new();
    let session = app.new_session("acct-3ds", "pro").await;
    let pm = app.tokenize(&session, "4000002760003184").await;
    let reply = app.confirm(&session, &pm, "k1").await;
    assert_eq!(reply.body["status"], "requires_action");
    let challenge = reply.body["challenge_id"].as_str().unwrap().to_string();
    assert!(app.invoices("acct-3ds").await.is_empty());
    let path = format!("/api/checkout/{session}/challenge");
    let failed = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "fail"})).await;
    assert_eq!(failed.body["status"], "declined");
    assert_eq!(failed.body["decline"]["code"], "authentication_failed");
    // Answering again gives the first answer.
    let again = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(again.body, failed.body);

    let reply = app.confirm(&session, &pm, "k2").await;
    let challenge = reply.body["challenge_id"].as_str().unwrap().to_string();
    let done = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(app.invoices("acct-3ds").await.len(), 1);
    assert_error(
        &app.post(&path, None, &json!({"challenge_id": "ch_forged", "outcome": "complete"})).await,
        StatusCode::NOT_FOUND,
        "challenge_not_found",
    );
}

#[tokio::test]
async fn linked_builder_ids_and_subscribers_cannot_pay() {
    let app = TestApp::new();
    let mut linked = session_body("acct-aws", "pro");
    linked["account"]["login"] = json!("builder_id");
    linked["account"]["aws_account_linked"] = json!(true);
    let session = app.post("/v1/checkout/sessions", Some(KEY), &linked).await.body["id"].as_str().unwrap().to_string();
    assert_eq!(app.get(&format!("/api/checkout/{session}"), None).await.body["eligibility"], "account_linked_to_aws");
    let pm = app.tokenize(&session, "4242424242424242").await;
    assert_error(&app.confirm(&session, &pm, "k").await, StatusCode::FORBIDDEN, "account_linked_to_aws");

    let first = app.new_session("acct-sub", "pro").await;
    let second = app.new_session("acct-sub", "power").await;
    let pm = app.tokenize(&first, "4242424242424242").await;
    assert_eq!(app.confirm(&first, &pm, "k").await.body["status"], "succeeded");
    assert_eq!(app.get(&format!("/api/checkout/{second}"), None).await.body["eligibility"], "already_subscribed");
    let pm2 = app.tokenize(&second, "4242424242424242").await;
    assert_error(&app.confirm(&second, &pm2, "k").await, StatusCode::CONFLICT, "already_subscribed");
    assert_eq!(app.invoices("acct-sub").await.len(), 1);
    // Now the account has a portal.
    let portal = app
        .post(
            "/v1/portal/sessions",
            Some(KEY),
            &json!({"account_id": "acct-sub", "return_url": "kiro://kiro.kiroAgent/x"}),
        )
        .await;
    assert_eq!(portal.status, StatusCode::CREATED);
    assert!(portal.body["id"].as_str().unwrap().starts_with("ps_"));
}

#[tokio::test]
async fn paid_cards_are_saved_on_the_account_with_brand_last4_and_expiry_only() {
    let app = TestApp::new();
    let first = app.new_session("acct-saved", "pro").await;
    let pm = app.tokenize(&first, "5555555555554444").await;
    assert_eq!(app.confirm(&first, &pm, "k").await.body["status"], "succeeded");
    let second = app.new_session("acct-saved", "power").await;
    let view = app.get(&format!("/api/checkout/{second}"), None).await;
    let saved = view.body["saved_cards"].as_array().unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0], json!({"id": pm, "brand": "mastercard", "last4": "4444", "exp_month": 12, "exp_year": 2034}));
}

#[tokio::test]
async fn a_bank_approval_after_the_price_changed_charges_nothing() {
    let app = TestApp::new();
    app.set_clock("2026-11-30T23:50:00Z").await;
    let session = app.new_session("acct-late-3ds", "pro").await;
    let pm = app.tokenize(&session, "4000002760003184").await;
    let reply = app.confirm(&session, &pm, "k").await;
    let challenge = reply.body["challenge_id"].as_str().unwrap().to_string();
    app.set_clock("2026-12-01T00:10:00Z").await;
    let answer = app
        .post(
            &format!("/api/checkout/{session}/challenge"),
            None,
            &json!({"challenge_id": challenge, "outcome": "complete"}),
        )
        .await;
    assert_error(&answer, StatusCode::CONFLICT, "quote_changed");
    assert!(app.invoices("acct-late-3ds").await.is_empty());
}
