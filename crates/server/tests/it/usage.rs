//! Credits (issue 33): meter events counted exactly once, every refusal a JSON error naming its
//! field with nothing counted, what the IDE reads before work, overage billed on the renewal
//! after the grace hour, an upgrade's re-rating, the spending limit and the thresholds' events.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// Nov 16 2026 00:00 UTC, the tests' clock at start.
const NOV_16: i64 = 1_794_787_200;

fn event(identifier: &str, account: &str, value: &str) -> Value {
    json!({"event_name": "kiro_credits", "identifier": identifier, "payload": {"account_id": account, "value": value}})
}

async fn report(app: &TestApp, identifier: &str, account: &str, value: &str) -> Reply {
    app.post("/v1/billing/meter_events", Some(KEY), &event(identifier, account, value)).await
}

async fn credits(app: &TestApp, account: &str) -> Value {
    let reply = app.get(&format!("/v1/accounts/{account}/credits"), Some(KEY)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

/// A Pro subscriber (bought Nov 16) with overage on, and their portal session.
async fn pro_with_overage(app: &TestApp, account: &str) -> String {
    let portal = app.subscribed_portal(account, "pro", "4242424242424242").await;
    let on = app.post(&format!("/api/portal/{portal}/overage"), None, &json!({"enabled": true})).await;
    assert_eq!(on.body["overage_enabled"], true, "{:?}", on.body);
    portal
}

fn assert_refused(reply: &Reply, status: StatusCode, code: &str, param: &str) {
    assert_error(reply, status, code);
    assert_eq!(reply.body["error"]["param"], param, "{:?}", reply.body);
}

#[tokio::test]
async fn an_event_counts_once_and_its_identifier_cannot_be_reused() {
    let app = TestApp::new();
    app.subscribed_portal("acct-once", "pro", "4242424242424242").await;
    let first = report(&app, "req_1", "acct-once", "1.25").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["object"], "billing.meter_event");
    assert_eq!(first.body["payload"], json!({"account_id": "acct-once", "value": "1.25"}));
    assert_eq!(first.body["timestamp"], NOV_16, "defaults to the server's clock");
    let again = report(&app, "req_1", "acct-once", "1.25").await;
    assert_eq!(again.status, StatusCode::OK, "a retry is a duplicate: {:?}", again.body);
    assert_eq!(again.body, first.body, "answered with the first event");
    let reused = report(&app, "req_1", "acct-once", "2.00").await;
    assert_refused(&reused, StatusCode::CONFLICT, "identifier_reused", "identifier");
    let view = credits(&app, "acct-once").await;
    assert_eq!((view["used"].as_str(), view["remaining"].as_str()), (Some("1.25"), Some("998.75")));
    assert_eq!(view["included"], "1000.00");
    assert_eq!(view["plan"], "pro");
    assert_eq!(view["can_use"], true);
}

#[tokio::test]
async fn every_refusal_names_its_field_and_counts_nothing() {
    let app = TestApp::new();
    app.subscribed_portal("acct-refuse", "pro", "4242424242424242").await;
    for (value, why) in [(json!("-1"), "negative"), (json!("0"), "zero"), (json!("1.234"), "three places")]
        .into_iter()
        .chain([(json!("abc"), "not a number"), (json!(1.25), "a number"), (json!("100000.01"), "too large")])
    {
        let mut body = event("req_bad", "acct-refuse", "1");
        body["payload"]["value"] = value;
        let reply = app.post("/v1/billing/meter_events", Some(KEY), &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{why}: {:?}", reply.body);
        assert_eq!(reply.body["error"]["param"], "payload.value", "{why}");
    }
    let mut unknown_meter = event("req_bad", "acct-refuse", "1");
    unknown_meter["event_name"] = json!("kiro_tokens");
    assert_refused(
        &app.post("/v1/billing/meter_events", Some(KEY), &unknown_meter).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "event_name",
    );
    let never_seen = report(&app, "req_bad", "acct-nobody", "1").await;
    assert_refused(&never_seen, StatusCode::NOT_FOUND, "account_not_found", "payload.account_id");
    for (timestamp, why) in [(NOV_16 - 36 * 86_400, "36 days old"), (NOV_16 + 301, "5 minutes and 1 second ahead")] {
        let mut body = event("req_bad", "acct-refuse", "1");
        body["timestamp"] = json!(timestamp);
        let reply = app.post("/v1/billing/meter_events", Some(KEY), &body).await;
        assert_refused(&reply, StatusCode::BAD_REQUEST, "invalid_request", "timestamp");
        assert!(reply.body["error"]["message"].as_str().unwrap().contains("timestamp"), "{why}");
    }
    let mut no_id = event("", "acct-refuse", "1");
    no_id.as_object_mut().unwrap().remove("identifier");
    assert_refused(
        &app.post("/v1/billing/meter_events", Some(KEY), &no_id).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "identifier",
    );
    let hidden = report(&app, "req\u{200b}", "acct-refuse", "1").await;
    assert_refused(&hidden, StatusCode::BAD_REQUEST, "invalid_request", "identifier");
    let malformed =
        app.send(post_raw("/v1/billing/meter_events", Some(KEY), "application/json", "{\"event_name\":")).await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, "invalid_json");
    let unsigned = app.post("/v1/billing/meter_events", None, &event("req_x", "acct-refuse", "1")).await;
    assert_error(&unsigned, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(credits(&app, "acct-refuse").await["used"], "0.00", "nothing was counted");
    assert_error(
        &app.get("/v1/accounts/acct-nobody/credits", Some(KEY)).await,
        StatusCode::NOT_FOUND,
        "account_not_found",
    );
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    let app = TestApp::new();
    app.subscribed_portal("acct-batch", "pro", "4242424242424242").await;
    app.open_portal("acct-batch").await;
    let stream = "/v1/billing/meter_event_stream";
    let events: Vec<Value> = (0..100).map(|i| event(&format!("b{i}"), "acct-batch", "0.50")).collect();
    let mut with_one_bad = events.clone();
    with_one_bad[57]["payload"]["value"] = json!("-1");
    let refused = app.post(stream, Some(KEY), &json!({ "events": with_one_bad })).await;
    assert_refused(&refused, StatusCode::BAD_REQUEST, "invalid_request", "events[57].payload.value");
    let mut with_a_stranger = events.clone();
    with_a_stranger[99]["payload"]["account_id"] = json!("acct-stranger");
    let refused = app.post(stream, Some(KEY), &json!({ "events": with_a_stranger })).await;
    assert_refused(&refused, StatusCode::NOT_FOUND, "account_not_found", "events[99].payload.account_id");
    assert_eq!(credits(&app, "acct-batch").await["used"], "0.00", "neither batch counted anything");

    let recorded = app.post(stream, Some(KEY), &json!({ "events": events })).await;
    assert_eq!(recorded.status, StatusCode::OK, "{:?}", recorded.body);
    assert_eq!((recorded.body["recorded"].as_i64(), recorded.body["duplicates"].as_i64()), (Some(100), Some(0)));
    // A retry of part of it, with one new event.
    let mut retry: Vec<Value> = events[..10].to_vec();
    retry.push(event("b100", "acct-batch", "1"));
    let again = app.post(stream, Some(KEY), &json!({ "events": retry })).await;
    assert_eq!((again.body["recorded"].as_i64(), again.body["duplicates"].as_i64()), (Some(1), Some(10)));
    assert_eq!(credits(&app, "acct-batch").await["used"], "51.00");

    // One identifier twice in a batch: the second is a duplicate, or refused with another payload.
    let twice = [event("t1", "acct-batch", "1"), event("t1", "acct-batch", "1")];
    let answered = app.post(stream, Some(KEY), &json!({ "events": twice })).await;
    assert_eq!((answered.body["recorded"].as_i64(), answered.body["duplicates"].as_i64()), (Some(1), Some(1)));
    let clash = [event("t2", "acct-batch", "1"), event("t2", "acct-batch", "2")];
    let refused = app.post(stream, Some(KEY), &json!({ "events": clash })).await;
    assert_refused(&refused, StatusCode::CONFLICT, "identifier_reused", "events[1].identifier");
    assert_eq!(credits(&app, "acct-batch").await["used"], "52.00");

    let too_many: Vec<Value> = (0..101).map(|i| event(&format!("m{i}"), "acct-batch", "1")).collect();
    assert_refused(
        &app.post(stream, Some(KEY), &json!({ "events": too_many })).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "events",
    );
    assert_refused(
        &app.post(stream, Some(KEY), &json!({ "events": [] })).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "events",
    );
    assert_refused(
        &app.post(stream, Some(KEY), &json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "events",
    );
    let huge = format!(r#"{{"events": ["{}"]}}"#, "x".repeat(70 * 1024));
    let too_big = app.send(post_raw(stream, Some(KEY), "application/json", huge)).await;
    assert_error(&too_big, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    assert_eq!(credits(&app, "acct-batch").await["used"], "52.00");
}

#[tokio::test]
async fn a_known_account_without_a_paid_plan_has_free_credits() {
    let app = TestApp::new();
    app.new_session("acct-free", "pro").await;
    let view = credits(&app, "acct-free").await;
    assert_eq!((view["plan"].as_str(), view["included"].as_str()), (Some("free"), Some("50.00")));
    assert_eq!(report(&app, "f1", "acct-free", "49.99").await.status, StatusCode::CREATED);
    assert_eq!(credits(&app, "acct-free").await["can_use"], true);
    assert_eq!(report(&app, "f2", "acct-free", "0.01").await.status, StatusCode::CREATED);
    let spent = credits(&app, "acct-free").await;
    assert_eq!((spent["remaining"].as_str(), spent["can_use"].as_bool()), (Some("0.00"), Some(false)));
    assert_eq!(spent["overage_enabled"], false);
}

#[tokio::test]
async fn overage_is_billed_on_the_renewal_after_the_grace_hour() {
    let app = TestApp::new();
    let portal = pro_with_overage(&app, "acct-over").await;
    assert_eq!(report(&app, "o1", "acct-over", "1200").await.status, StatusCode::CREATED);
    let view = credits(&app, "acct-over").await;
    assert_eq!((view["overage_credits"].as_str(), view["overage_amount"].as_i64()), (Some("200.00"), Some(800)));
    assert_eq!(view["can_use"], true);

    app.set_clock("2026-12-01T00:30:00Z").await;
    let invoices = app.invoices("acct-over").await;
    assert_eq!(invoices[1]["status"], "draft", "not final in the grace hour: {invoices:?}");
    // Late usage of November is still counted in its grace hour; December's credits are whole.
    let mut late = event("o2", "acct-over", "50");
    late["timestamp"] = json!(1_796_083_199);
    assert_eq!(app.post("/v1/billing/meter_events", Some(KEY), &late).await.status, StatusCode::CREATED);
    let december = credits(&app, "acct-over").await;
    assert_eq!((december["used"].as_str(), december["remaining"].as_str()), (Some("0.00"), Some("1000.00")));
    let home = app.get(&format!("/api/portal/{portal}"), None).await;
    assert!(home.body["amount_due"].is_null(), "a draft is not owed: {:?}", home.body["amount_due"]);

    app.set_clock("2026-12-01T01:00:00Z").await;
    let invoices = app.invoices("acct-over").await;
    let renewal = &invoices[1];
    assert_eq!(renewal["status"], "paid", "{renewal:?}");
    assert_eq!(renewal["amount"], 2000 + 1000, "December's plan and 250 credits of November's overage");
    let descriptions: Vec<&str> =
        renewal["lines"].as_array().unwrap().iter().map(|l| l["description"].as_str().unwrap()).collect();
    assert_eq!(descriptions, ["Kiro Pro for December 2026", "Overage, Nov 1 to Dec 1: 250.00 credits at $0.04"]);
    let mut too_late = event("o3", "acct-over", "1");
    too_late["timestamp"] = json!(1_796_083_199);
    let closed = app.post("/v1/billing/meter_events", Some(KEY), &too_late).await;
    assert_refused(&closed, StatusCode::CONFLICT, "usage_period_closed", "timestamp");
    let paid: Vec<Value> = app.get("/v1/events?limit=100", Some(KEY)).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "invoice.paid" && e["data"]["id"] == renewal["id"])
        .cloned()
        .collect();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0]["data"]["lines"][1]["amount"], 1000, "the event carries the overage line");
}

#[tokio::test]
async fn usage_beyond_the_plan_with_overage_off_is_recorded_never_billed() {
    let app = TestApp::new();
    app.subscribed_portal("acct-off", "pro", "4242424242424242").await;
    report(&app, "x1", "acct-off", "1500").await;
    let view = credits(&app, "acct-off").await;
    assert_eq!((view["used"].as_str(), view["overage_credits"].as_str()), (Some("1500.00"), Some("0.00")));
    assert_eq!(view["can_use"], false);
    app.set_clock("2026-12-01T02:00:00Z").await;
    assert_eq!(app.invoices("acct-off").await[1]["amount"], 2000);
}

#[tokio::test]
async fn an_upgrade_rerates_the_whole_period() {
    let app = TestApp::new();
    let portal = pro_with_overage(&app, "acct-up").await;
    report(&app, "u1", "acct-up", "1500").await;
    assert_eq!(credits(&app, "acct-up").await["overage_credits"], "500.00");
    let home = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(home.body["usage"]["overage"], 50_000, "the portal sees it too (hundredths)");
    let quote = app.preview(&portal, "pro_plus").await;
    let total = quote.body["total_due_today"].as_i64().unwrap();
    assert_eq!(app.change(&portal, "pro_plus", total, "up").await.body["status"], "succeeded");
    let view = credits(&app, "acct-up").await;
    assert_eq!((view["included"].as_str(), view["overage_credits"].as_str()), (Some("2000.00"), Some("0.00")));
    assert_eq!(view["remaining"], "500.00");
    app.set_clock("2026-12-01T01:00:00Z").await;
    let renewal = &app.invoices("acct-up").await[2];
    assert_eq!(renewal["amount"], 4000, "no overage line: {renewal:?}");
}

#[tokio::test]
async fn a_scheduled_downgrade_leaves_this_periods_usage_on_the_current_plan() {
    let app = TestApp::new();
    let portal = pro_with_overage(&app, "acct-down").await;
    let upgrade = app.preview(&portal, "pro_plus").await.body["total_due_today"].as_i64().unwrap();
    app.change(&portal, "pro_plus", upgrade, "up").await;
    report(&app, "d1", "acct-down", "2100").await;
    assert_eq!(app.change(&portal, "pro", 0, "down").await.body["status"], "succeeded");
    assert_eq!(credits(&app, "acct-down").await["overage_credits"], "100.00", "still Pro+'s 2,000");
    app.set_clock("2026-12-01T01:00:00Z").await;
    let renewal = &app.invoices("acct-down").await[2];
    assert_eq!(renewal["amount"], 2000 + 400, "Pro for December and 100 credits of Pro+'s overage");
}

#[tokio::test]
async fn the_spending_limit_stops_overage_and_is_told_once() {
    let app = TestApp::new();
    let portal = pro_with_overage(&app, "acct-limit").await;
    let set = app.post(&format!("/api/portal/{portal}/spending-limit"), None, &json!({"limit": 400})).await;
    assert_eq!(set.body["usage"]["spending_limit"], 400, "{:?}", set.body);
    for bad in [json!({"limit": 0}), json!({"limit": -5}), json!({"limit": "4"}), json!({"limit": 10_000_001})] {
        let refused = app.post(&format!("/api/portal/{portal}/spending-limit"), None, &bad).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", refused.body);
    }
    report(&app, "l1", "acct-limit", "1050").await;
    assert_eq!(credits(&app, "acct-limit").await["can_use"], true);
    report(&app, "l2", "acct-limit", "60").await;
    report(&app, "l3", "acct-limit", "10").await;
    let view = credits(&app, "acct-limit").await;
    assert_eq!(view["used"], "1120.00", "usage is still recorded");
    assert_eq!((view["overage_credits"].as_str(), view["overage_amount"].as_i64()), (Some("100.00"), Some(400)));
    assert_eq!((view["spending_limit"].as_i64(), view["can_use"].as_bool()), (Some(400), Some(false)));
    let told = event_types(&app, "acct-limit").await;
    assert_eq!(told.iter().filter(|t| *t == "credits.spending_limit_reached").count(), 1, "{told:?}");
    let cleared = app.post(&format!("/api/portal/{portal}/spending-limit"), None, &json!({"limit": null})).await;
    assert!(cleared.body["usage"]["spending_limit"].is_null());
    assert_eq!(credits(&app, "acct-limit").await["can_use"], true);
}

async fn event_types(app: &TestApp, account: &str) -> Vec<String> {
    let page = app.get("/v1/events?limit=100", Some(KEY)).await;
    let events = page.body["data"].as_array().cloned().unwrap_or_default();
    events
        .iter()
        .filter(|e| e["data"]["account_id"] == account)
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn thresholds_are_told_once_per_period() {
    let app = TestApp::new();
    pro_with_overage(&app, "acct-told").await;
    for (i, value) in ["500", "300", "100", "100", "50"].iter().enumerate() {
        report(&app, &format!("t{i}"), "acct-told", value).await;
    }
    let page = app.get("/v1/events?limit=100", Some(KEY)).await;
    let thresholds: Vec<(i64, bool)> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "credits.threshold_reached")
        .map(|e| (e["data"]["threshold"].as_i64().unwrap(), e["data"]["overage_enabled"].as_bool().unwrap()))
        .collect();
    assert_eq!(thresholds, [(80, true), (100, true)]);
    // A new period: told again.
    app.set_clock("2026-12-01T01:00:00Z").await;
    report(&app, "t-dec", "acct-told", "1000").await;
    let types = event_types(&app, "acct-told").await;
    assert_eq!(types.iter().filter(|t| *t == "credits.threshold_reached").count(), 4, "{types:?}");
}

#[tokio::test]
async fn a_subscription_canceled_at_period_end_gets_a_last_invoice_for_its_overage() {
    let app = TestApp::new();
    let portal = pro_with_overage(&app, "acct-last").await;
    report(&app, "c1", "acct-last", "1100").await;
    assert_eq!(app.post(&format!("/api/portal/{portal}/cancel"), None, &json!({})).await.status, StatusCode::OK);
    app.set_clock("2026-12-01T00:10:00Z").await;
    assert_eq!(app.invoices("acct-last").await.len(), 1, "nothing yet in the grace hour");
    app.set_clock("2026-12-01T01:00:00Z").await;
    let invoices = app.invoices("acct-last").await;
    assert_eq!(invoices.len(), 2, "{invoices:?}");
    assert_eq!((invoices[1]["amount"].as_i64(), invoices[1]["status"].as_str()), (Some(400), Some("paid")));
    let sub = app.get("/v1/accounts/acct-last/subscription", Some(KEY)).await;
    assert_eq!(sub.body["status"], "canceled");
    app.set_clock("2027-01-01T02:00:00Z").await;
    assert_eq!(app.invoices("acct-last").await.len(), 2, "billed once");
}

#[tokio::test]
async fn two_instances_given_the_same_identifier_count_it_once() {
    let store = fresh_store();
    let (one, two) = (TestApp::on(store.clone()), TestApp::on(store));
    one.subscribed_portal("acct-twice", "pro", "4242424242424242").await;
    let bodies: Vec<Value> = (0..20).map(|i| event(&format!("same-{}", i % 5), "acct-twice", "2.50")).collect();
    let sends = bodies.iter().enumerate().map(|(i, body)| {
        let app = if i % 2 == 0 { one.clone() } else { two.clone() };
        async move { app.post("/v1/billing/meter_events", Some(KEY), body).await.status }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 5, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(credits(&two, "acct-twice").await["used"], "12.50");
}

#[tokio::test]
async fn an_upgrade_in_the_grace_hour_charges_the_difference_never_the_month_twice() {
    let app = TestApp::new();
    app.subscribed_portal("acct-grace-up", "pro", "4242424242424242").await;
    app.set_clock("2026-12-01T00:30:00Z").await;
    let portal = app.open_portal("acct-grace-up").await;
    let quote = app.preview(&portal, "power").await;
    assert_eq!(quote.body["total_due_today"], 18_000, "December's Pro is already owed: {:?}", quote.body);
    assert_eq!(app.change(&portal, "power", 18_000, "up").await.body["status"], "succeeded");
    app.set_clock("2026-12-01T01:00:00Z").await;
    let invoices = app.invoices("acct-grace-up").await;
    let december: i64 = invoices[1..].iter().map(|i| i["amount"].as_i64().unwrap()).sum();
    assert_eq!(december, 20_000, "Power's month, once: {invoices:?}");
    assert!(invoices.iter().all(|i| i["status"] == "paid"), "{invoices:?}");
}

#[tokio::test]
async fn a_failed_renewal_owes_its_overage_too() {
    let app = TestApp::new();
    let portal = app.subscribed_portal("acct-owes-overage", "pro", "4000000000000341").await;
    app.post(&format!("/api/portal/{portal}/overage"), None, &json!({"enabled": true})).await;
    report(&app, "p1", "acct-owes-overage", "1200").await;
    app.set_clock("2026-12-01T01:00:00Z").await;
    let portal = app.open_portal("acct-owes-overage").await;
    let home = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(home.body["subscription"]["status"], "past_due");
    assert_eq!(home.body["amount_due"]["amount"], 2000 + 800, "{:?}", home.body["amount_due"]);
}

#[tokio::test]
async fn raw_events_are_pruned_after_35_days_and_the_totals_stay() {
    let store = fresh_store();
    let app = TestApp::on(store.clone());
    app.subscribed_portal("acct-prune", "pro", "4242424242424242").await;
    report(&app, "old-1", "acct-prune", "7.50").await;
    app.set_clock("2026-12-20T00:00:00Z").await;
    report(&app, "new-1", "acct-prune", "1").await;
    let at = time::macros::datetime!(2026-12-21 00:00:01 UTC);
    let pruned = store.write_blocking(move |tx| checkout_server::usage::prune(tx, at, 100)).unwrap();
    assert_eq!(pruned, 1, "the event of Nov 16, 35 days and a second before");
    let november = time::macros::datetime!(2026-11-01 00:00 UTC);
    let kept = store
        .read_blocking(move |conn| checkout_server::store::get_usage_period(conn, "acct-prune", november))
        .unwrap()
        .unwrap();
    assert_eq!(kept.usage.used.to_string(), "7.50", "November's total stays");
    assert_eq!(credits(&app, "acct-prune").await["used"], "1.00");
    assert_eq!(report(&app, "new-1", "acct-prune", "1").await.status, StatusCode::OK, "the recent one is kept");
}

/// A catch-up that reaches the overage's finalization before the subscription's renewal (more
/// were due than one batch closes) leaves the overage to the renewal: billed once, on it.
#[tokio::test]
async fn a_live_subscriptions_overage_waits_for_its_renewal_not_a_separate_invoice() {
    let store = fresh_store();
    let app = TestApp::on(store.clone());
    pro_with_overage(&app, "acct-catch-up").await;
    report(&app, "cu1", "acct-catch-up", "1100").await;
    let late = time::macros::datetime!(2026-12-01 02:00 UTC);
    let finalized = store.write_blocking(move |tx| checkout_server::usage::finalize_due(tx, late, None, 100)).unwrap();
    assert_eq!(finalized, 0, "nothing to finalize before the renewal is written");
    app.set_clock("2026-12-01T02:00:00Z").await;
    let invoices = app.invoices("acct-catch-up").await;
    assert_eq!(invoices.len(), 2, "{invoices:?}");
    assert_eq!((invoices[1]["amount"].as_i64(), invoices[1]["status"].as_str()), (Some(2400), Some("paid")));
}
