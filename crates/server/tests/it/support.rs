//! Support operations (SPEC section 13): refunds of paid invoices with gapless credit notes, never
//! more than was paid however they race; ending a subscription now with or without a prorated
//! refund; every refusal a JSON error that moves nothing.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// Subscribes `account` to Pro on Nov 16 (15 of November's 30 days: $10.00); its invoice.
async fn paid_invoice(app: &TestApp, account: &str) -> Value {
    app.subscribed_portal(account, "pro", "4242424242424242").await;
    let invoices = app.invoices(account).await;
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["amount"], 1000);
    invoices[0].clone()
}

async fn refund(app: &TestApp, body: Value) -> Reply {
    app.post("/v1/refunds", Some(KEY), &body).await
}

fn types(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(kind, _)| kind.as_str()).collect()
}

#[tokio::test]
async fn a_refund_gives_back_part_writes_a_credit_note_and_leaves_the_plan_alone() {
    let app = TestApp::new();
    let invoice = paid_invoice(&app, "acct-refund").await;
    let id = invoice["id"].as_str().unwrap();

    let first = refund(&app, json!({"invoice": id, "amount": 400, "reason": "requested_by_customer"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["status"], "succeeded");
    assert_eq!(first.body["amount"], 400);
    assert_eq!(first.body["credit_note"]["number"], "CN-000001");
    assert_eq!(first.body["credit_note"]["invoice_number"], invoice["number"]);
    assert_eq!(first.body["credit_note"]["lines"][0]["amount"], 400);
    let after = &app.invoices("acct-refund").await[0];
    assert_eq!((after["status"].clone(), after["amount_refunded"].clone()), (json!("paid"), json!(400)));
    assert_eq!(after["refund_status"], "partially_refunded");
    // A refund does not take the plan away.
    let sub = app.get("/v1/accounts/acct-refund/subscription", Some(KEY)).await;
    assert_eq!((sub.body["plan"].clone(), sub.body["status"].clone()), (json!("pro"), json!("active")));

    // Without an amount: the rest.
    let rest = refund(&app, json!({"invoice": id})).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
    assert_eq!(
        (rest.body["amount"].clone(), rest.body["reason"].clone()),
        (json!(600), json!("requested_by_customer"))
    );
    assert_eq!(rest.body["credit_note"]["number"], "CN-000002");
    let after = &app.invoices("acct-refund").await[0];
    assert_eq!((after["amount_refunded"].clone(), after["refund_status"].clone()), (json!(1000), json!("refunded")));
    assert_error(&refund(&app, json!({"invoice": id})).await, StatusCode::BAD_REQUEST, "invoice_not_refundable");
    assert_error(
        &refund(&app, json!({"invoice": id, "amount": 1})).await,
        StatusCode::BAD_REQUEST,
        "invoice_not_refundable",
    );

    let listed = app.get(&format!("/v1/refunds?invoice={id}"), Some(KEY)).await;
    let numbers: Vec<&Value> =
        listed.body["data"].as_array().unwrap().iter().map(|r| &r["credit_note"]["number"]).collect();
    assert_eq!(numbers, [&json!("CN-000001"), &json!("CN-000002")]);
    let one = app.get(&format!("/v1/refunds/{}", first.body["id"].as_str().unwrap()), Some(KEY)).await;
    assert_eq!(one.body, first.body);

    let events = events_of(&app, "acct-refund").await;
    let refunded: Vec<&Value> = events.iter().filter(|(k, _)| k == "invoice.refunded").map(|(_, d)| d).collect();
    assert_eq!(refunded.len(), 2, "{:?}", types(&events));
    assert_eq!(refunded[0]["refund"]["credit_note"]["number"], "CN-000001");
    assert_eq!(refunded[1]["refund_status"], "refunded");
}

#[tokio::test]
async fn refusals_are_json_errors_and_move_nothing() {
    let app = TestApp::new();
    let invoice = paid_invoice(&app, "acct-refusals").await;
    let id = invoice["id"].as_str().unwrap();
    let cases = [
        (json!({"invoice": id, "amount": 1001}), StatusCode::BAD_REQUEST, "amount_too_large"),
        (json!({"invoice": "in_forged"}), StatusCode::NOT_FOUND, "not_found"),
        (json!({"invoice": id, "amount": 0}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"invoice": id, "amount": -5}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"invoice": id, "amount": "5"}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"invoice": id, "reason": "changed_my_mind"}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"invoice": id, "currency": "eur"}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"invoice": ""}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"invoice": "in_\u{200b}"}), StatusCode::NOT_FOUND, "not_found"),
        (json!({}), StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (body, status, code) in cases {
        let reply = refund(&app, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {}",
            reply.body
        );
    }
    let malformed = app.send(post_raw("/v1/refunds", Some(KEY), "application/json", "{\"invoice\": ")).await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, "invalid_json");
    assert_error(
        &app.post("/v1/refunds", None, &json!({"invoice": id})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(&app.get("/v1/refunds/re_forged", Some(KEY)).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&app.get("/v1/refunds", Some(KEY)).await, StatusCode::BAD_REQUEST, "invalid_request");
    assert_error(&app.get("/v1/refunds?invoice=in_forged", Some(KEY)).await, StatusCode::NOT_FOUND, "not_found");

    let after = &app.invoices("acct-refusals").await[0];
    assert_eq!((after["amount_refunded"].clone(), after["refund_status"].clone()), (json!(0), Value::Null));
    let events = events_of(&app, "acct-refusals").await;
    assert!(!types(&events).contains(&"invoice.refunded"), "{:?}", types(&events));
}

/// A renewal the card refuses leaves its invoice open: nothing paid, nothing to refund.
#[tokio::test]
async fn an_unpaid_invoice_has_nothing_to_refund() {
    let app = TestApp::new();
    app.subscribed_portal("acct-unpaid", "pro", "4000000000000341").await;
    app.set_clock("2026-12-01T02:00:00Z").await;
    let invoices = app.invoices("acct-unpaid").await;
    let open = invoices.iter().find(|i| i["status"] == "open").expect("the failed renewal's invoice");
    let reply = refund(&app, json!({"invoice": open["id"]})).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invoice_not_refundable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_racing_refunds_give_back_at_most_what_was_paid() {
    let app = TestApp::new();
    let invoice = paid_invoice(&app, "acct-race").await;
    let numbers = race_refunds(std::slice::from_ref(&app), invoice["id"].as_str().unwrap()).await;
    assert_eq!(numbers, ["CN-000001", "CN-000002", "CN-000003"]);
    assert_eq!(app.invoices("acct-race").await[0]["amount_refunded"], 900);
}

#[tokio::test]
async fn an_idempotency_key_gives_one_refund_however_often_it_is_sent() {
    let app = TestApp::new();
    let invoice = paid_invoice(&app, "acct-idem").await;
    let body = json!({"invoice": invoice["id"], "amount": 250});
    let send = |body: Value| {
        let app = app.clone();
        async move {
            let req = axum::http::Request::post("/v1/refunds")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {KEY}"))
                .header("idempotency-key", "refund-once")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            app.send(req).await
        }
    };
    let first = send(body.clone()).await;
    let again = send(body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!((again.status, &again.body), (StatusCode::CREATED, &first.body));
    assert_eq!(app.invoices("acct-idem").await[0]["amount_refunded"], 250);
    let other = send(json!({"invoice": invoice["id"], "amount": 100})).await;
    assert_error(&other, StatusCode::CONFLICT, "idempotency_conflict");
}

/// Nov 16 to Nov 21: 10 of the 15 days paid for are unused, $10.00 x 10/15 = $6.67 back.
#[tokio::test]
async fn canceling_now_with_a_prorated_refund_ends_the_plan_and_gives_back_the_unused_days() {
    let app = TestApp::new();
    app.subscribed_portal("acct-end-now", "pro", "4242424242424242").await;
    app.set_clock("2026-11-21T09:00:00Z").await;
    let path = "/v1/accounts/acct-end-now/subscription/cancel";
    let ended = app.post(path, Some(KEY), &json!({"at_period_end": false, "refund": "prorated"})).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["subscription"]["status"], "canceled");
    assert_eq!(ended.body["subscription"]["plan"], "free");
    assert_eq!(ended.body["subscription"]["cancellation_reason"], "cancellation_requested");
    let refunds = ended.body["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!((refunds[0]["amount"].clone(), refunds[0]["status"].clone()), (json!(667), json!("succeeded")));
    assert_eq!(app.invoices("acct-end-now").await[0]["amount_refunded"], 667);

    // The portal says so; nothing more is charged, and a second cancel is refused.
    let portal = app.open_portal("acct-end-now").await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["status"], "canceled", "{}", view.body);
    app.set_clock("2026-12-02T00:00:00Z").await;
    assert_eq!(app.invoices("acct-end-now").await.len(), 1);
    let again = app.post(path, Some(KEY), &json!({"at_period_end": false, "refund": "prorated"})).await;
    assert_error(&again, StatusCode::CONFLICT, "no_subscription");
    let events = events_of(&app, "acct-end-now").await;
    let kinds = types(&events);
    assert_eq!(kinds.iter().filter(|k| **k == "subscription.canceled").count(), 1, "{kinds:?}");
    assert!(kinds.contains(&"invoice.refunded"), "{kinds:?}");
}

/// $4.00 of the $10.00 was refunded already: the unused 10 of 15 days are of the $6.00 left,
/// $4.00 back, never the whole unused part again.
#[tokio::test]
async fn a_prorated_cancel_counts_what_was_refunded_already() {
    let app = TestApp::new();
    let invoice = paid_invoice(&app, "acct-refunded-then-ended").await;
    assert_eq!(refund(&app, json!({"invoice": invoice["id"], "amount": 400})).await.status, StatusCode::CREATED);
    app.set_clock("2026-11-21T09:00:00Z").await;
    let path = "/v1/accounts/acct-refunded-then-ended/subscription/cancel";
    let ended = app.post(path, Some(KEY), &json!({"at_period_end": false, "refund": "prorated"})).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["refunds"][0]["amount"], 400);
    assert_eq!(app.invoices("acct-refunded-then-ended").await[0]["amount_refunded"], 800);
}

#[tokio::test]
async fn canceling_without_a_refund_or_at_the_period_end_gives_nothing_back() {
    let app = TestApp::new();
    app.subscribed_portal("acct-no-refund", "pro", "4242424242424242").await;
    app.subscribed_portal("acct-later", "pro_plus", "4242424242424242").await;
    let now =
        app.post("/v1/accounts/acct-no-refund/subscription/cancel", Some(KEY), &json!({"at_period_end": false})).await;
    assert_eq!((now.status, now.body["refunds"].clone()), (StatusCode::OK, json!([])), "{}", now.body);
    assert_eq!(now.body["subscription"]["status"], "canceled");

    let path = "/v1/accounts/acct-later/subscription/cancel";
    let refused = app.post(path, Some(KEY), &json!({"at_period_end": true, "refund": "prorated"})).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_request");
    let later = app.post(path, Some(KEY), &json!({"at_period_end": true})).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);
    assert_eq!(later.body["subscription"]["cancel_at_period_end"], true);
    assert_eq!(later.body["subscription"]["plan"], "pro_plus");

    for (body, status, code) in [
        (json!({"at_period_end": false, "refund": "half"}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"refund": "none"}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"at_period_end": "no"}), StatusCode::BAD_REQUEST, "invalid_request"),
    ] {
        assert_error(&app.post(path, Some(KEY), &body).await, status, code);
    }
    let unknown =
        app.post("/v1/accounts/acct-nobody/subscription/cancel", Some(KEY), &json!({"at_period_end": false})).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "account_not_found");
    assert_eq!(app.invoices("acct-no-refund").await[0]["amount_refunded"], 0);
}

/// Canceled in the renewal's grace hour: its draft is voided, never charged.
#[tokio::test]
async fn a_cancel_in_the_renewal_grace_hour_voids_the_renewal() {
    let app = TestApp::new();
    app.subscribed_portal("acct-grace", "pro", "4242424242424242").await;
    app.set_clock("2026-12-01T00:20:00Z").await;
    let path = "/v1/accounts/acct-grace/subscription/cancel";
    let ended = app.post(path, Some(KEY), &json!({"at_period_end": false, "refund": "prorated"})).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    // December was not paid: nothing of it to give back.
    assert_eq!(ended.body["refunds"], json!([]));
    app.set_clock("2026-12-02T00:00:00Z").await;
    let statuses: Vec<Value> = app.invoices("acct-grace").await.iter().map(|i| i["status"].clone()).collect();
    assert_eq!(statuses, [json!("paid"), json!("void")]);
}

/// A process stopped between holding a refund and the processor's answer (its lease ran out).
/// Reconciliation finishes it: the refund asked for is given back, once, with its credit note.
#[tokio::test]
async fn a_refund_whose_process_stopped_is_given_back_once_by_reconciliation() {
    use checkout_server::payments::refunds::reconcile_refunds;
    use checkout_server::support::{Giving, hold_refund};
    let store = fresh_store();
    let state = checkout_server::AppState::new(test_config(), store.clone()).unwrap();
    let app = TestApp::from(checkout_server::app(state.clone()));
    let invoice = paid_invoice(&app, "acct-stopped").await;
    let id = invoice["id"].as_str().unwrap().to_string();
    let stopped = Giving { needs_intent: false, lease: std::time::Duration::ZERO };
    let now = time::macros::datetime!(2026-11-16 00:00 UTC);
    let held = store.write(move |tx| hold_refund(tx, &id, None, "requested_by_customer", stopped, now)).await.unwrap();
    assert_error(&refund(&app, json!({"invoice": invoice["id"]})).await, StatusCode::BAD_REQUEST, "amount_too_large");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(reconcile_refunds(&state.payments).await.unwrap(), 1);
    assert_eq!(reconcile_refunds(&state.payments).await.unwrap(), 0);
    let listed = app.get(&format!("/v1/refunds/{}", held.refund.id), Some(KEY)).await;
    assert_eq!(listed.body["status"], "succeeded", "{}", listed.body);
    assert_eq!(listed.body["credit_note"]["number"], "CN-000001");
    assert_eq!(app.invoices("acct-stopped").await[0]["amount_refunded"], 1000);
    assert_error(
        &refund(&app, json!({"invoice": invoice["id"]})).await,
        StatusCode::BAD_REQUEST,
        "invoice_not_refundable",
    );
}

/// Support ends the subscription while the user upgrades in the portal, on ten accounts at once:
/// each ends in one consistent state. Either the cancel came first (the upgrade is refused and
/// charges nothing), or the upgrade's charge was in flight (the cancel is refused, try again), or
/// the upgrade was paid first and the cancel's prorated refund gives back its unused days too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_racing_an_upgrade_ends_in_one_consistent_state() {
    let app = TestApp::new();
    let mut racing = Vec::new();
    for n in 0..10 {
        let account = format!("acct-race-cancel-{n}");
        let portal = app.subscribed_portal(&account, "pro", "4242424242424242").await;
        let total = app.preview(&portal, "power").await.body["total_due_today"].as_i64().unwrap();
        let (upgrading, canceling) = (app.clone(), app.clone());
        let upgrade = tokio::spawn(async move { upgrading.change(&portal, "power", total, "up").await });
        let path = format!("/v1/accounts/{account}/subscription/cancel");
        let cancel = tokio::spawn(async move {
            canceling.post(&path, Some(KEY), &json!({"at_period_end": false, "refund": "prorated"})).await
        });
        racing.push((account, upgrade, cancel));
    }
    for (account, upgrade, cancel) in racing {
        let (upgrade, cancel) = (upgrade.await.unwrap(), cancel.await.unwrap());
        let upgraded = upgrade.status == StatusCode::OK && upgrade.body["status"] == "succeeded";
        let invoices = app.invoices(&account).await;
        let sub = app.get(&format!("/v1/accounts/{account}/subscription"), Some(KEY)).await.body;
        let paid: i64 = invoices.iter().map(|i| i["amount"].as_i64().unwrap()).sum();
        let refunded: i64 = invoices.iter().map(|i| i["amount_refunded"].as_i64().unwrap()).sum();
        match (upgraded, cancel.status) {
            (false, StatusCode::OK) => {
                assert_eq!((invoices.len(), sub["status"].clone()), (1, json!("canceled")), "{account}");
                assert_eq!(refunded, 1000, "{account}: all 15 days unused");
            }
            (true, StatusCode::CONFLICT) => {
                assert_error(&cancel, StatusCode::CONFLICT, "payment_in_progress");
                assert_eq!(
                    (sub["plan"].clone(), sub["status"].clone()),
                    (json!("power"), json!("active")),
                    "{account}"
                );
                assert_eq!(refunded, 0, "{account}");
            }
            (true, StatusCode::OK) => {
                assert_eq!(sub["status"], "canceled", "{account}");
                assert_eq!(refunded, paid, "{account}: the upgrade's days are unused too");
            }
            other => panic!("{account}: {other:?} {} {}", upgrade.body, cancel.body),
        }
    }
}
