//! Past due: paying pays everything owed (one charge for every open invoice, oldest first),
//! failed renewals are retried on a schedule, and after the last retry the subscription is
//! canceled: no invoices pile up however far the clock moves, and the account may subscribe again.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{Value, json};
use time::Duration;

/// Retries over five weeks (the default's 3, 5 and 7 days, then 35 days after the failure), so the
/// next month's renewal falls due, and fails, before the last retry cancels the subscription.
fn patient() -> TestApp {
    TestApp::configured(fresh_store(), |cfg| {
        cfg.payment_retries = [3, 5, 7, 35].map(Duration::days).to_vec();
    })
}

fn types(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(kind, _)| kind.as_str()).collect()
}

async fn statuses(app: &TestApp, account: &str) -> Vec<String> {
    app.invoices(account).await.iter().map(|i| i["status"].as_str().unwrap().to_string()).collect()
}

async fn portal_view(app: &TestApp, portal: &str) -> Value {
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
    view.body
}

/// Subscribed on Jan 10 with 0341: the renewals of Feb 1 and Mar 1 both fail (and the retries
/// between them), before the retries run out. A new 4242 card pays both in one charge of their
/// total: nothing is left open and the plan is active again.
#[tokio::test]
async fn a_new_card_pays_every_open_invoice_in_one_charge() {
    let app = patient();
    app.set_clock("2027-01-10T00:00:00Z").await;
    app.subscribed_portal("acct-owes-two", "pro", "4000000000000341").await;
    app.set_clock("2027-03-01T01:00:00Z").await;
    let portal = app.open_portal("acct-owes-two").await;
    let view = portal_view(&app, &portal).await;
    assert_eq!(view["subscription"]["status"], "past_due");
    assert_eq!(view["amount_due"]["amount"], 4000, "{view:?}");
    assert_eq!(view["amount_due"]["invoices"].as_array().map(Vec::len), Some(2), "{view:?}");

    let updated = app.post(&format!("/api/portal/{portal}/payment-method"), None, &new_card("4242424242424242")).await;
    assert_eq!(updated.body["status"], "updated", "{:?}", updated.body);
    assert_eq!(
        (&updated.body["paid_invoice"], &updated.body["invoices_paid"]),
        (&json!(4000), &json!(2)),
        "one charge"
    );
    assert_eq!(statuses(&app, "acct-owes-two").await, ["paid", "paid", "paid"]);
    let sub = app.get("/v1/accounts/acct-owes-two/subscription", Some(KEY)).await;
    assert_eq!((sub.body["status"].as_str(), sub.body["credits"].as_i64()), (Some("active"), Some(1000)));
    let view = portal_view(&app, &portal).await;
    assert_eq!(view["amount_due"], Value::Null);
    let events = events_of(&app, "acct-owes-two").await;
    assert_eq!(types(&events[events.len() - 3..]), ["invoice.paid", "invoice.paid", "subscription.updated"]);
}

/// The banner's **Pay** charges the card on file (3184: renewals fail off-session, the user on the
/// page pays) once for the total the page showed; a stale total is refused before any charge.
#[tokio::test]
async fn pay_settles_every_open_invoice_at_the_total_shown() {
    let app = patient();
    app.set_clock("2027-01-10T00:00:00Z").await;
    let portal = app.subscribed_portal("acct-pay-two", "pro", "4242424242424242").await;
    let saved = app.post(&format!("/api/portal/{portal}/payment-method"), None, &new_card("4000002760003184")).await;
    let challenge = json!({"challenge_id": saved.body["challenge_id"], "outcome": "complete"});
    let saved = app.post(&format!("/api/portal/{portal}/payment-method/challenge"), None, &challenge).await;
    assert_eq!(saved.body["status"], "updated", "{:?}", saved.body);
    app.set_clock("2027-03-01T01:00:00Z").await;
    let portal = app.open_portal("acct-pay-two").await;
    assert_eq!(portal_view(&app, &portal).await["amount_due"]["amount"], 4000);

    let pay = |key: &'static str, total: i64| {
        let (app, path) = (&app, format!("/api/portal/{portal}/pay-invoice"));
        async move { app.post(&path, None, &json!({"idempotency_key": key, "expected_total": total})).await }
    };
    assert_error(&pay("stale", 2000).await, StatusCode::CONFLICT, "quote_changed");
    assert_eq!(statuses(&app, "acct-pay-two").await, ["paid", "open", "open"], "nothing was charged");
    let paid = pay("all", 4000).await;
    assert_eq!(paid.body, json!({"status": "paid", "amount": 4000, "invoices": 2}));
    assert_eq!(pay("all", 4000).await.body, paid.body, "a repeat gets the same answer");
    assert_eq!(statuses(&app, "acct-pay-two").await, ["paid", "paid", "paid"]);
    let view = portal_view(&app, &portal).await;
    assert_eq!((&view["subscription"]["status"], &view["amount_due"]), (&json!("active"), &Value::Null));
    let again = pay("after", 0).await;
    assert_error(&again, StatusCode::BAD_REQUEST, "invalid_request");
}

/// A failed renewal is retried 3, 5 and 7 days after it failed; each failed retry is told
/// (`invoice.payment_failed`), and after the last the subscription is canceled for it: the open
/// invoice is void, nothing is owed, no more renewals, and a new checkout subscribes again.
#[tokio::test]
async fn failed_renewals_are_retried_then_the_subscription_is_canceled() {
    let app = TestApp::new();
    app.subscribed_portal("acct-retried", "pro", "4000000000000341").await;
    let failed = |events: &[(String, Value)]| events.iter().filter(|(t, _)| t == "invoice.payment_failed").count();
    app.set_clock("2026-12-01T01:00:00Z").await;
    assert_eq!(failed(&events_of(&app, "acct-retried").await), 1);
    let portal = app.open_portal("acct-retried").await;
    let due = portal_view(&app, &portal).await["amount_due"].clone();
    assert_eq!(due["next_retry_at"], "2026-12-04T00:00:00Z", "{due:?}");
    assert_eq!(due["cancels_at"], "2026-12-08T00:00:00Z", "{due:?}");
    for (now, retries) in [("2026-12-03T23:59:59Z", 0), ("2026-12-04T00:00:00Z", 1), ("2026-12-07T00:00:00Z", 2)] {
        app.set_clock(now).await;
        assert_eq!(failed(&events_of(&app, "acct-retried").await), 1 + retries, "at {now}");
        let sub = app.get("/v1/accounts/acct-retried/subscription", Some(KEY)).await;
        assert_eq!(sub.body["status"], "past_due", "at {now}");
    }
    app.set_clock("2026-12-08T00:00:00Z").await;
    let events = events_of(&app, "acct-retried").await;
    assert_eq!(failed(&events), 4, "the renewal and three retries");
    let (kind, canceled) = events.last().unwrap();
    assert_eq!(kind, "subscription.canceled");
    assert_eq!((&canceled["status"], &canceled["cancellation_reason"]), (&json!("canceled"), &json!("payment_failed")));
    assert_eq!(statuses(&app, "acct-retried").await, ["paid", "void"]);

    app.set_clock("2027-03-01T01:00:00Z").await;
    assert_eq!(app.invoices("acct-retried").await.len(), 2, "no renewals after the cancel");
    let portal = app.open_portal("acct-retried").await;
    let view = portal_view(&app, &portal).await;
    assert_eq!((&view["subscription"]["status"], &view["amount_due"]), (&json!("canceled"), &Value::Null));

    let session = app.new_session("acct-retried", "pro").await;
    let card = app.tokenize(&session, "4242424242424242").await;
    assert_eq!(app.confirm(&session, &card, "again").await.body["status"], "succeeded");
    let sub = app.get("/v1/accounts/acct-retried/subscription", Some(KEY)).await;
    assert_eq!((&sub.body["status"], &sub.body["cancellation_reason"]), (&json!("active"), &Value::Null));
    assert_eq!(statuses(&app, "acct-retried").await, ["paid", "void", "paid"]);
}

/// Moving the clock centuries ahead with failing subscriptions writes a few invoices each (the
/// renewal that failed, then the cancel), not one a month; their portal still answers.
#[tokio::test]
async fn a_far_clock_move_leaves_failing_subscriptions_canceled_not_piling_up_invoices() {
    let app = TestApp::new();
    let accounts = ["acct-far-1", "acct-far-2", "acct-far-3"];
    for account in accounts {
        app.subscribed_portal(account, "pro", "4000000000000341").await;
    }
    assert_eq!(app.set_clock("2999-01-01T01:00:00Z").await.status, StatusCode::OK);
    for account in accounts {
        assert_eq!(statuses(&app, account).await, ["paid", "void"], "{account}");
        let portal = app.open_portal(account).await;
        assert_eq!(portal_view(&app, &portal).await["subscription"]["status"], "canceled", "{account}");
    }
}
