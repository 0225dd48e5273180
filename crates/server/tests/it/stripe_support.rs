//! Support operations in Stripe mode against localstripe: a refund is a Stripe Refund of the
//! PaymentIntent that paid the invoice (localstripe's refunds list shows it); ending a
//! subscription now refunds the unused days through Stripe; Stripe's signed dispute events mark
//! the invoice, tell the backend and end the subscription at the period's end.

use crate::common::*;
use axum::http::StatusCode;
use headless::localstripe::{LocalStripe, WEBHOOK_SECRET};
use serde_json::{Value, json};

async fn first_invoice(app: &TestApp, account: &str) -> Value {
    let invoices = app.invoices(account).await;
    assert_eq!(invoices[0]["amount"], 1000);
    assert!(invoices[0]["payment_intent"].as_str().is_some_and(|pi| pi.starts_with("pi_")), "{}", invoices[0]);
    invoices[0].clone()
}

#[tokio::test]
async fn a_refund_is_a_stripe_refund_of_the_payment_intent_that_paid_the_invoice() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    stripe_subscribed(&app, &stripe, "acct-stripe-refund").await;
    let invoice = first_invoice(&app, "acct-stripe-refund").await;
    let part = app.post("/v1/refunds", Some(KEY), &json!({"invoice": invoice["id"], "amount": 400})).await;
    assert_eq!(part.status, StatusCode::CREATED, "{}", part.body);
    assert_eq!(part.body["credit_note"]["number"], "CN-000001");
    assert_eq!(stripe.refunded_payments().await, [400]);
    let rest = app.post("/v1/refunds", Some(KEY), &json!({"invoice": invoice["id"], "reason": "duplicate"})).await;
    assert_eq!((rest.status, rest.body["amount"].clone()), (StatusCode::CREATED, json!(600)), "{}", rest.body);
    let over = app.post("/v1/refunds", Some(KEY), &json!({"invoice": invoice["id"], "amount": 1})).await;
    assert_error(&over, StatusCode::BAD_REQUEST, "invoice_not_refundable");
    assert_eq!(stripe.refunded_payments().await, [400, 600], "nothing more went back");
    assert_eq!(app.invoices("acct-stripe-refund").await[0]["refund_status"], "refunded");
}

#[tokio::test]
async fn canceling_now_refunds_the_unused_days_through_stripe() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    stripe_subscribed(&app, &stripe, "acct-stripe-end").await;
    app.set_clock("2026-11-21T09:00:00Z").await;
    let ended = app
        .post(
            "/v1/accounts/acct-stripe-end/subscription/cancel",
            Some(KEY),
            &json!({"at_period_end": false, "refund": "prorated"}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["refunds"][0]["status"], "succeeded");
    assert_eq!(stripe.refunded_payments().await, [667]);
    assert_eq!(ended.body["subscription"]["status"], "canceled");
}

fn dispute_event(id: &str, kind: &str, intent: &str, status: &str) -> String {
    json!({"id": id, "type": kind, "data": {"object": {
        "id": "dp_1", "object": "dispute", "payment_intent": intent, "status": status, "amount": 1000, "reason": "fraudulent"
    }}})
    .to_string()
}

async fn signed(app: &TestApp, event: &str) -> Reply {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    send_stripe_event(app, event, &stripe_signature(event, WEBHOOK_SECRET, now)).await
}

#[tokio::test]
async fn a_dispute_marks_the_invoice_tells_the_backend_and_ends_the_plan_at_the_period_end() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    stripe_subscribed(&app, &stripe, "acct-disputed").await;
    let invoice = first_invoice(&app, "acct-disputed").await;
    let intent = invoice["payment_intent"].as_str().unwrap();

    let opened = dispute_event("evt_dispute_1", "charge.dispute.created", intent, "needs_response");
    let forged = send_stripe_event(&app, &opened, "t=1,v1=00").await;
    assert_error(&forged, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(app.invoices("acct-disputed").await[0]["dispute"], Value::Null, "a forged event changes nothing");
    assert_eq!(signed(&app, &opened).await.status, StatusCode::OK);
    assert_eq!(signed(&app, &opened).await.status, StatusCode::OK, "delivered twice, handled once");
    assert_eq!(app.invoices("acct-disputed").await[0]["dispute"], "needs_response");
    let sub = app.get("/v1/accounts/acct-disputed/subscription", Some(KEY)).await;
    assert_eq!((sub.body["plan"].clone(), sub.body["cancel_at_period_end"].clone()), (json!("pro"), json!(true)));

    let closed = dispute_event("evt_dispute_2", "charge.dispute.closed", intent, "lost");
    assert_eq!(signed(&app, &closed).await.status, StatusCode::OK);
    assert_eq!(app.invoices("acct-disputed").await[0]["dispute"], "lost");
    let events = events_of(&app, "acct-disputed").await;
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "invoice.disputed").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "invoice.dispute_closed").count(), 1, "{kinds:?}");

    app.set_clock("2026-12-01T02:00:00Z").await;
    let sub = app.get("/v1/accounts/acct-disputed/subscription", Some(KEY)).await;
    assert_eq!(sub.body["status"], "canceled", "{}", sub.body);
    assert_eq!(sub.body["cancellation_reason"], "payment_disputed");
    assert_eq!(stripe.succeeded_payments().await, [1000], "nothing charged after the dispute");
}

/// A process stopped after Stripe made the refund and before our record: reconciliation finds it
/// among the PaymentIntent's refunds (by our id in its metadata) and records it, once; one that
/// stopped before sending it is sent by reconciliation, once.
#[tokio::test]
async fn a_refund_stripe_made_before_the_process_stopped_is_recorded_once() {
    use checkout_server::payments::refunds::reconcile_refunds;
    use checkout_server::support::{Giving, hold_refund};
    let stripe = LocalStripe::start();
    let store = fresh_store();
    let mut config = test_config();
    config.stripe = Some(stripe_settings(&stripe));
    let state = checkout_server::AppState::new(config, store.clone()).unwrap();
    let app = TestApp::from(checkout_server::app(state.clone()));
    stripe_subscribed(&app, &stripe, "acct-stripe-stopped").await;
    let invoice = first_invoice(&app, "acct-stripe-stopped").await;
    let id = invoice["id"].as_str().unwrap().to_string();
    let stopped = Giving { needs_intent: true, lease: std::time::Duration::ZERO };
    let now = time::macros::datetime!(2026-11-16 00:00 UTC);
    let held = store
        .write(move |tx| hold_refund(tx, &id, Some(billing::Money::from_cents(300)), "duplicate", stopped, now))
        .await
        .unwrap();
    let client = checkout_server::payments::stripe::StripeClient::new(&stripe.base, headless::localstripe::SECRET_KEY);
    client.refund_part(held.intent.as_deref().unwrap(), 300, &held.refund.id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(reconcile_refunds(&state.payments).await.unwrap(), 1);
    assert_eq!(reconcile_refunds(&state.payments).await.unwrap(), 0);
    let recorded = app.get(&format!("/v1/refunds/{}", held.refund.id), Some(KEY)).await;
    assert_eq!(recorded.body["status"], "succeeded", "{}", recorded.body);
    assert_eq!(recorded.body["credit_note"]["number"], "CN-000001");
    assert_eq!(stripe.refunded_payments().await, [300]);
    assert_eq!(app.invoices("acct-stripe-stopped").await[0]["amount_refunded"], 300);

    // Held, then the process stopped before sending it: reconciliation sends it, once.
    let id = invoice["id"].as_str().unwrap().to_string();
    let unsent = store
        .write(move |tx| hold_refund(tx, &id, Some(billing::Money::from_cents(200)), "duplicate", stopped, now))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(reconcile_refunds(&state.payments).await.unwrap(), 1);
    assert_eq!(reconcile_refunds(&state.payments).await.unwrap(), 0);
    let sent = app.get(&format!("/v1/refunds/{}", unsent.refund.id), Some(KEY)).await;
    assert_eq!(sent.body["credit_note"]["number"], "CN-000002", "{}", sent.body);
    assert_eq!(stripe.refunded_payments().await, [300, 200]);
    assert_eq!(app.invoices("acct-stripe-stopped").await[0]["amount_refunded"], 500);
}
