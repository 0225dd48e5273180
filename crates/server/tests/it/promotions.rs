//! Promotion codes and discounts (issue 22): the backend's coupons and codes, the checkout's
//! code (each refusal named, guessing limited, the coupon hidden until the code applies), money
//! that adds up from the first charge through the renewals, exact redemptions, and the portal.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

async fn coupon(app: &TestApp, body: Value) -> String {
    let reply = app.post("/v1/coupons", Some(KEY), &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

async fn code(app: &TestApp, body: Value) -> Value {
    let reply = app.post("/v1/promotion_codes", Some(KEY), &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

/// `LAUNCH`: 20% off for 3 months, any plan.
async fn launch_code(app: &TestApp, extra: Value) -> Value {
    let coupon = coupon(app, json!({"percent_off": 20, "duration": "repeating", "duration_in_months": 3})).await;
    let mut body = json!({"code": "LAUNCH", "coupon": coupon});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    code(app, body).await
}

/// A checkout session that offers codes (and carries `promotion_code` if given).
async fn session_with_codes(app: &TestApp, account: &str, plan: &str, promotion_code: Option<&str>) -> Reply {
    let mut body = session_body(account, plan);
    body["allow_promotion_codes"] = json!(true);
    if let Some(code) = promotion_code {
        body["promotion_code"] = json!(code);
    }
    app.post("/v1/checkout/sessions", Some(KEY), &body).await
}

async fn open_session(app: &TestApp, account: &str, plan: &str, promotion_code: Option<&str>) -> String {
    let reply = session_with_codes(app, account, plan, promotion_code).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

async fn apply(app: &TestApp, session: &str, typed: &str) -> Reply {
    app.post(&format!("/api/checkout/{session}/promotion-code"), None, &json!({ "code": typed })).await
}

fn amounts(lines: &Value) -> Vec<i64> {
    lines.as_array().unwrap().iter().map(|l| l["amount"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn coupons_and_codes_are_created_read_listed_and_deactivated() {
    let app = TestApp::new();
    let body = json!({"percent_off": 20, "duration": "repeating", "duration_in_months": 3,
                      "applies_to": {"plans": ["pro", "pro_plus"]}, "name": "Launch"});
    let created = app.post("/v1/coupons", Some(KEY), &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let coupon_id = created.body["id"].as_str().unwrap();
    assert!(coupon_id.starts_with("co_"));
    assert_eq!(created.body["object"], "coupon");
    assert_eq!(created.body["percent_off"], 20);
    assert_eq!(created.body["amount_off"], Value::Null);
    assert_eq!(created.body["duration_in_months"], 3);
    assert_eq!(created.body["applies_to"]["plans"], json!(["pro", "pro_plus"]));
    assert_eq!(created.body["times_redeemed"], 0);
    assert_eq!(app.get(&format!("/v1/coupons/{coupon_id}"), Some(KEY)).await.body, created.body);

    let promo = code(
        &app,
        json!({"code": "Launch-2026", "coupon": coupon_id, "max_redemptions": 100,
               "expires_at": "2027-01-01T00:00:00Z", "first_time_transaction": true}),
    )
    .await;
    let promo_id = promo["id"].as_str().unwrap();
    assert!(promo_id.starts_with("promo_"));
    assert_eq!(promo["object"], "promotion_code");
    assert_eq!(promo["code"], "Launch-2026");
    assert_eq!(promo["coupon"]["id"], coupon_id);
    assert_eq!(promo["active"], true);
    assert_eq!(promo["max_redemptions"], 100);
    assert_eq!(promo["expires_at"], "2027-01-01T00:00:00Z");
    assert_eq!(promo["first_time_transaction"], true);
    assert_eq!(promo["times_redeemed"], 0);
    // Codes are case-insensitive: the same text in another case is taken.
    let taken = app.post("/v1/promotion_codes", Some(KEY), &json!({"code": "LAUNCH-2026", "coupon": coupon_id})).await;
    assert_error(&taken, StatusCode::CONFLICT, "promotion_code_taken");

    let list = app.get("/v1/promotion_codes?limit=10", Some(KEY)).await;
    assert_eq!(list.body["object"], "list");
    assert_eq!(list.body["data"][0]["id"], promo_id);
    assert_eq!(list.body["has_more"], false);
    assert_eq!(app.get("/v1/coupons", Some(KEY)).await.body["data"][0]["id"], coupon_id);

    let off = app.post(&format!("/v1/promotion_codes/{promo_id}"), Some(KEY), &json!({"active": false})).await;
    assert_eq!(off.status, StatusCode::OK, "{:?}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(app.get(&format!("/v1/promotion_codes/{promo_id}"), Some(KEY)).await.body["active"], false);

    let invalidated = app.send(delete(&format!("/v1/coupons/{coupon_id}"))).await;
    assert_eq!(invalidated.body["valid"], false);
    assert_error(&app.get("/v1/coupons/co_nope", Some(KEY)).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&app.get("/v1/coupons", None).await, StatusCode::UNAUTHORIZED, "unauthorized");
}

fn delete(path: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::delete(path)
        .header("authorization", format!("Bearer {KEY}"))
        .body(axum::body::Body::empty())
        .unwrap()
}

#[tokio::test]
async fn bad_coupons_and_codes_are_refused_with_a_reason() {
    let app = TestApp::new();
    for body in [
        json!({"duration": "once"}),
        json!({"percent_off": 20, "amount_off": 500, "duration": "once"}),
        json!({"percent_off": 101, "duration": "once"}),
        json!({"amount_off": 0, "duration": "once"}),
        json!({"percent_off": 20, "duration": "repeating"}),
        json!({"percent_off": 20, "duration": "once", "duration_in_months": 3}),
        json!({"percent_off": 20, "duration": "weekly"}),
        json!({"percent_off": 20, "duration": "once", "applies_to": {"plans": ["free"]}}),
        json!({"amount_off": 500, "currency": "eur", "duration": "once"}),
    ] {
        assert_error(&app.post("/v1/coupons", Some(KEY), &body).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let coupon = coupon(&app, json!({"amount_off": 500, "duration": "forever"})).await;
    for body in [
        json!({"code": "no spaces", "coupon": coupon}),
        json!({"code": "OK", "coupon": coupon}),
        json!({"code": "FINE", "coupon": "co_missing"}),
        json!({"code": "FINE", "coupon": coupon, "max_redemptions": 0}),
    ] {
        let reply = app.post("/v1/promotion_codes", Some(KEY), &body).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

/// Nov 16, Pro, `LAUNCH` (20% off for 3 months): $8.00 today, then $16.00 on Dec 1, Jan 1 and
/// Feb 1, then $20.00 from Mar 1; every invoice, the events and the subscription say so.
#[tokio::test]
async fn a_code_discounts_the_first_charge_and_the_renewals_it_covers_then_stops() {
    let app = TestApp::new();
    let promo = launch_code(&app, json!({})).await;
    let session = open_session(&app, "acct-launch", "pro", None).await;
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["promotion_codes"], true);
    assert_eq!(view.body["quote"]["total_due_today"], 1000);
    assert_eq!(view.body["quote"]["discount"], Value::Null);

    let applied = apply(&app, &session, "launch").await;
    assert_eq!(applied.status, StatusCode::OK, "{:?}", applied.body);
    let quote = &applied.body["quote"];
    assert_eq!(quote["lines"][1]["description"], "Promotion LAUNCH (20% off)");
    assert_eq!(amounts(&quote["lines"]), vec![1000, -200]);
    assert_eq!(quote["total_due_today"], 800);
    assert_eq!(quote["next_renewal_amount"], 1600);
    assert_eq!(quote["discount"]["discounted_renewals"], 3);
    assert_eq!(quote["discount"]["ends_at"], "2027-02-16T00:00:00Z");
    let summary: billing::discount::DiscountSummary = serde_json::from_value(quote["discount"].clone()).unwrap();
    assert_eq!(billing::discount::what_follows(&summary), "then $16.00 per month for 3 months, then $20.00");

    // Remove takes it off; Apply again puts it back.
    let removed = app.send(delete_api(&format!("/api/checkout/{session}/promotion-code"))).await;
    assert_eq!(removed.body["quote"]["total_due_today"], 1000);
    assert_eq!(apply(&app, &session, "LAUNCH").await.body["quote"]["total_due_today"], 800);

    let pm = app.tokenize(&session, "4242424242424242").await;
    let paid = app.confirm(&session, &pm, "k1").await;
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    assert_eq!(paid.body["receipt"]["amount_charged"], 800);
    assert_eq!(paid.body["receipt"]["next_renewal_amount"], 1600);
    let promo_id = promo["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/promotion_codes/{promo_id}"), Some(KEY)).await.body["times_redeemed"], 1);

    let sub = app.get("/v1/accounts/acct-launch/subscription", Some(KEY)).await;
    assert_eq!(sub.body["discount"]["code"], "LAUNCH");
    assert_eq!(sub.body["discount"]["label"], "20% off");
    assert_eq!(sub.body["discount"]["ends_at"], "2027-02-16T00:00:00Z");

    app.set_clock("2027-03-01T01:00:00Z").await;
    let invoices = app.invoices("acct-launch").await;
    let charged: Vec<i64> = invoices.iter().map(|i| i["amount"].as_i64().unwrap()).collect();
    assert_eq!(charged, vec![800, 1600, 1600, 1600, 2000]);
    assert!(invoices.iter().all(|i| i["status"] == "paid"));
    assert_eq!(amounts(&invoices[1]["lines"]), vec![2000, -400]);
    assert_eq!(invoices[1]["lines"][1]["description"], "Promotion LAUNCH (20% off)");
    assert_eq!(amounts(&invoices[4]["lines"]), vec![2000]);
    // The discount has ended: the subscription no longer shows it.
    let sub = app.get("/v1/accounts/acct-launch/subscription", Some(KEY)).await;
    assert_eq!(sub.body["discount"], Value::Null);

    // The events carry the same lines.
    let events = app.get("/v1/events?limit=100", Some(KEY)).await;
    let paid_events: Vec<&Value> =
        events.body["data"].as_array().unwrap().iter().filter(|e| e["type"] == "invoice.paid").collect();
    assert_eq!(amounts(&paid_events[0]["data"]["lines"]), vec![1000, -200]);
    assert_eq!(amounts(&paid_events[1]["data"]["lines"]), vec![2000, -400]);
    let created = events.body["data"].as_array().unwrap().iter().find(|e| e["type"] == "subscription.created").unwrap();
    assert_eq!(created["data"]["discount"]["code"], "LAUNCH");
}

fn delete_api(path: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::delete(path).body(axum::body::Body::empty()).unwrap()
}

/// Unknown, expired, used-up, wrong-plan and not-first-time codes each get their own code and
/// plain message, none of which shows the coupon; after five refusals the session gets `429`.
#[tokio::test]
async fn each_refusal_is_named_the_coupon_stays_hidden_and_guessing_is_limited() {
    let app = TestApp::new();
    let pro_only = coupon(&app, json!({"percent_off": 35, "duration": "once", "applies_to": {"plans": ["pro"]}})).await;
    code(&app, json!({"code": "PROONLY", "coupon": pro_only})).await;
    code(&app, json!({"code": "OLD", "coupon": pro_only, "expires_at": "2026-11-16T00:00:30Z"})).await;
    code(&app, json!({"code": "NEWBIES", "coupon": pro_only, "first_time_transaction": true})).await;
    code(&app, json!({"code": "GONE", "coupon": pro_only, "max_redemptions": 1})).await;
    // GONE's one redemption is taken by another account.
    let other = open_session(&app, "acct-first", "pro", Some("gone")).await;
    let pm = app.tokenize(&other, "4242424242424242").await;
    assert_eq!(app.confirm(&other, &pm, "k").await.body["status"], "succeeded");
    // An account that has paid before is not a first-time subscriber.
    let returning = open_session(&app, "acct-first", "pro", None).await;
    let first_time = apply(&app, &returning, "newbies").await;
    assert_error(&first_time, StatusCode::BAD_REQUEST, "promotion_code_first_time_only");

    app.set_clock("2026-11-16T00:01:00Z").await; // OLD has expired.
    let session = open_session(&app, "acct-guess", "power", None).await;
    for (typed, code, message) in [
        ("NOPE", "promotion_code_not_found", "That code isn't valid. Check it and try again."),
        ("old", "promotion_code_expired", "That code has expired."),
        ("gone", "promotion_code_used_up", "That code has already been used as many times as it can be."),
        ("PROONLY", "promotion_code_wrong_plan", "That code can't be used with Kiro Power."),
        ("nope2", "promotion_code_not_found", "That code isn't valid. Check it and try again."),
    ] {
        let reply = apply(&app, &session, typed).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, code);
        assert_eq!(reply.body["error"]["message"], message);
        assert!(!reply.body.to_string().contains("35"), "the coupon shows: {:?}", reply.body);
    }
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["quote"]["discount"], Value::Null);
    assert!(!view.body.to_string().contains("PROONLY"));
    // Five refused: the sixth try is refused before it is looked at, even a good code.
    let limited = apply(&app, &session, "PROONLY").await;
    assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));

    // A session that does not offer codes refuses them.
    let plain = app.new_session("acct-plain", "pro").await;
    assert_eq!(app.get(&format!("/api/checkout/{plain}"), None).await.body["promotion_codes"], false);
    assert_error(&apply(&app, &plain, "PROONLY").await, StatusCode::BAD_REQUEST, "promotion_codes_not_allowed");
    // A code given in advance must apply, or the session is not created.
    let refused = session_with_codes(&app, "acct-advance", "power", Some("PROONLY")).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "promotion_code_wrong_plan");
}

/// `max_redemptions: 1` raced by ten checkouts (ten accounts, the code applied in advance): one
/// is paid with the discount, nine are told the price changed (it no longer has the code) before
/// anything is charged.
#[tokio::test]
async fn a_code_for_one_redemption_raced_by_ten_checkouts_is_redeemed_once() {
    let app = TestApp::new();
    let promo = launch_code(&app, json!({"code": "ONCEONLY", "max_redemptions": 1})).await;
    let mut ready = Vec::new();
    for i in 0..10 {
        let session = open_session(&app, &format!("acct-race-{i}"), "pro", Some("onceonly")).await;
        let pm = app.tokenize(&session, "4242424242424242").await;
        assert_eq!(app.get(&format!("/api/checkout/{session}"), None).await.body["quote"]["total_due_today"], 800);
        ready.push((session, pm));
    }
    let mut racers = Vec::new();
    for (session, pm) in ready {
        let app = app.clone();
        racers.push(tokio::spawn(async move {
            app.post(&format!("/api/checkout/{session}/confirm"), None, &confirm_body(&pm, "k", 800)).await
        }));
    }
    let mut succeeded = 0;
    for racer in racers {
        let reply = racer.await.unwrap();
        if reply.body["status"] == "succeeded" {
            succeeded += 1;
            assert_eq!(reply.body["receipt"]["amount_charged"], 800);
        } else {
            // The code's one redemption is another's: the price without it is what is quoted now.
            assert_error(&reply, StatusCode::CONFLICT, "quote_changed");
        }
    }
    assert_eq!(succeeded, 1);
    for i in 1..10 {
        let session = open_session(&app, &format!("acct-late-{i}"), "pro", None).await;
        assert_eq!(app.get(&format!("/api/checkout/{session}"), None).await.body["quote"]["total_due_today"], 1000);
    }
    let promo_id = promo["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/promotion_codes/{promo_id}"), Some(KEY)).await.body["times_redeemed"], 1);
    let mut paid = 0;
    for i in 0..10 {
        paid += app.invoices(&format!("acct-race-{i}")).await.len();
    }
    assert_eq!(paid, 1);
}

/// A redemption counts only when the payment succeeds: a decline frees it at once, a 3-D Secure
/// check left unanswered holds it for 30 minutes, a failed one frees it.
#[tokio::test]
async fn declines_and_abandoned_bank_checks_free_the_redemption() {
    let app = TestApp::new();
    let promo = launch_code(&app, json!({"code": "SOLO", "max_redemptions": 1})).await;
    let promo_id = promo["id"].as_str().unwrap().to_string();

    let declined = open_session(&app, "acct-declined", "pro", Some("SOLO")).await;
    let card = app.tokenize(&declined, "4000000000000002").await;
    assert_eq!(app.confirm(&declined, &card, "k").await.body["status"], "declined");
    assert_eq!(app.get(&format!("/v1/promotion_codes/{promo_id}"), Some(KEY)).await.body["times_redeemed"], 0);

    let at_bank = open_session(&app, "acct-bank", "pro", Some("SOLO")).await;
    let card = app.tokenize(&at_bank, "4000002760003184").await;
    let waiting = app.confirm(&at_bank, &card, "k").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);

    // Held while the bank's check waits: another buyer is told it is used up.
    let later = open_session(&app, "acct-later", "pro", None).await;
    let held = apply(&app, &later, "SOLO").await;
    assert_error(&held, StatusCode::BAD_REQUEST, "promotion_code_used_up");

    // The check is failed: freed.
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let failed = app
        .post(
            &format!("/api/checkout/{at_bank}/challenge"),
            None,
            &json!({"challenge_id": challenge, "outcome": "fail"}),
        )
        .await;
    assert_eq!(failed.body["status"], "declined");
    let free_again = apply(&app, &later, "SOLO").await;
    assert_eq!(free_again.status, StatusCode::OK, "{:?}", free_again.body);

    // Another check left unanswered is let go after 30 minutes.
    let waiting = app.confirm(&at_bank, &card, "k2").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let card_later = app.tokenize(&later, "4242424242424242").await;
    // Its quote no longer has the code: the discounted total it was shown is refused, uncharged.
    let confirm_later = format!("/api/checkout/{later}/confirm");
    let stale = app.post(&confirm_later, None, &confirm_body(&card_later, "k", 800)).await;
    assert_error(&stale, StatusCode::CONFLICT, "quote_changed");
    assert_eq!(app.get(&format!("/api/checkout/{later}"), None).await.body["quote"]["total_due_today"], 1000);
    app.set_clock("2026-11-16T00:31:00Z").await;
    let paid = app.confirm(&later, &card_later, "k2").await;
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    assert_eq!(app.get(&format!("/v1/promotion_codes/{promo_id}"), Some(KEY)).await.body["times_redeemed"], 1);
    // The abandoned payment, answered at last, no longer gets the code.
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let late = app
        .post(
            &format!("/api/checkout/{at_bank}/challenge"),
            None,
            &json!({"challenge_id": challenge, "outcome": "complete"}),
        )
        .await;
    assert_error(&late, StatusCode::BAD_REQUEST, "promotion_code_used_up");
    assert!(app.invoices("acct-bank").await.is_empty());
}

/// An upgrade while 20% runs forever is discounted too (Pro+ re-rated from Nov 16: $20.00, less
/// 20%, less the $8.00 paid); a coupon for Pro only says, before Confirm, that Power is not covered.
#[tokio::test]
async fn a_portal_upgrade_honours_a_running_discount_or_says_it_is_not_covered() {
    let app = TestApp::new();
    let forever = coupon(&app, json!({"percent_off": 20, "duration": "forever"})).await;
    code(&app, json!({"code": "ALWAYS", "coupon": forever})).await;
    let session = open_session(&app, "acct-up", "pro", Some("ALWAYS")).await;
    let pm = app.tokenize(&session, "4242424242424242").await;
    assert_eq!(app.confirm(&session, &pm, "k").await.body["receipt"]["amount_charged"], 800);
    app.set_clock("2026-11-25T00:00:00Z").await;
    let portal = app.open_portal("acct-up").await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["discount"]["code"], "ALWAYS");
    assert_eq!(view.body["subscription"]["discount"]["ends_at"], Value::Null);
    assert_eq!(view.body["subscription"]["next_renewal_amount"], 1600);

    let preview = app.preview(&portal, "pro_plus").await;
    assert_eq!(amounts(&preview.body["lines"]), vec![2000, -400, -800]);
    assert_eq!(preview.body["total_due_today"], 800);
    assert_eq!(preview.body["next_renewal_amount"], 3200);
    let changed = app.change(&portal, "pro_plus", 800, "up").await;
    assert_eq!(changed.body["status"], "succeeded", "{:?}", changed.body);
    let invoices = app.invoices("acct-up").await;
    assert_eq!(amounts(&invoices[1]["lines"]), vec![2000, -400, -800]);
    // The portal's invoice page (and its printable copy) shows the same lines.
    let first = invoices[0]["id"].as_str().unwrap();
    let detail = app.get(&format!("/api/portal/{portal}/invoices/{first}"), None).await;
    assert_eq!(detail.body["lines"][1]["description"], "Promotion ALWAYS (20% off)", "{:?}", detail.body);
    assert_eq!(amounts(&detail.body["lines"]), vec![1000, -200]);

    let pro_only =
        coupon(&app, json!({"amount_off": 500, "duration": "forever", "applies_to": {"plans": ["pro"]}})).await;
    code(&app, json!({"code": "PROFIVE", "coupon": pro_only})).await;
    let session = open_session(&app, "acct-narrow", "pro", Some("PROFIVE")).await;
    let pm = app.tokenize(&session, "4242424242424242").await;
    // Nov 25: 6 of 30 days, $4.00, less $5.00: nothing to pay today.
    assert_eq!(app.confirm(&session, &pm, "k").await.body["receipt"]["amount_charged"], 0);
    let portal = app.open_portal("acct-narrow").await;
    let preview = app.preview(&portal, "power").await;
    assert_eq!(preview.body["discount"], Value::Null);
    assert_eq!(
        preview.body["discount_note"],
        "Your promotion PROFIVE ($5.00 off) doesn't cover Kiro Power: it is charged at the full price."
    );
    // Power from Nov 25 ($40.00), less the $4.00 the code already took off Pro: as without it.
    assert_eq!(amounts(&preview.body["lines"]), vec![4000, -400]);
    assert_eq!(preview.body["total_due_today"], 3600);
}

/// An upgrade never takes back a discount already given. 100% off `once` on Nov 16 (Pro, $0.00 to
/// Dec 1): Pro+ on Nov 17 costs $10.00, what a buyer without a code pays (Pro+ from Nov 16, less
/// the $10.00 Pro was worth), not $20.00. 20% off for 1 month on Nov 16 ($16.00 on Dec 1, ended
/// Dec 16): Pro+ on Dec 20 costs $20.00 as without the code, not $24.00.
#[tokio::test]
async fn an_upgrade_after_a_discount_stopped_does_not_take_it_back() {
    let app = TestApp::new();
    let free = coupon(&app, json!({"percent_off": 100, "duration": "once"})).await;
    code(&app, json!({"code": "FIRSTFREE", "coupon": free})).await;
    let month = coupon(&app, json!({"percent_off": 20, "duration": "repeating", "duration_in_months": 1})).await;
    code(&app, json!({"code": "MONTH", "coupon": month})).await;
    for (account, typed) in [("acct-once", "FIRSTFREE"), ("acct-month", "MONTH")] {
        let session = open_session(&app, account, "pro", Some(typed)).await;
        let card = app.tokenize(&session, "4242424242424242").await;
        assert_eq!(app.confirm(&session, &card, "k").await.body["status"], "succeeded");
    }
    app.subscribed_portal("acct-plain", "pro", "4242424242424242").await;

    app.set_clock("2026-11-17T00:00:00Z").await;
    let plain = app.open_portal("acct-plain").await;
    assert_eq!(app.preview(&plain, "pro_plus").await.body["total_due_today"], 1000);
    let portal = app.open_portal("acct-once").await;
    let preview = app.preview(&portal, "pro_plus").await;
    assert_eq!(preview.body["total_due_today"], 1000, "{:?}", preview.body);
    assert_eq!(amounts(&preview.body["lines"]).iter().sum::<i64>(), 1000);
    let changed = app.change(&portal, "pro_plus", 1000, "up").await;
    assert_eq!(changed.body["status"], "succeeded", "{:?}", changed.body);
    assert_eq!(changed.body["change"]["amount_charged"], 1000, "{:?}", changed.body);

    app.set_clock("2026-12-20T00:00:00Z").await;
    assert_eq!(app.invoices("acct-month").await[1]["amount"], 1600);
    let portal = app.open_portal("acct-month").await;
    let preview = app.preview(&portal, "pro_plus").await;
    assert_eq!(preview.body["total_due_today"], 2000, "{:?}", preview.body);
    let changed = app.change(&portal, "pro_plus", 2000, "up").await;
    assert_eq!(changed.body["status"], "succeeded", "{:?}", changed.body);
    assert_eq!(app.invoices("acct-month").await[2]["amount"], 2000);
}

/// 100% off `once`: nothing charged today, but the card is checked and saved, and the first
/// renewal is charged to it at the full price. A card that declines is refused even at $0.00.
#[tokio::test]
async fn a_free_first_period_charges_nothing_and_keeps_the_card_for_the_renewal() {
    let app = TestApp::new();
    let free = coupon(&app, json!({"percent_off": 100, "duration": "once"})).await;
    code(&app, json!({"code": "FIRSTFREE", "coupon": free})).await;
    let session = open_session(&app, "acct-free", "pro", Some("FIRSTFREE")).await;
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(amounts(&view.body["quote"]["lines"]), vec![1000, -1000]);
    assert_eq!(view.body["quote"]["total_due_today"], 0);
    assert_eq!(view.body["quote"]["next_renewal_amount"], 2000);

    let bad_card = app.tokenize(&session, "4000000000000002").await;
    let declined = app.confirm(&session, &bad_card, "k1").await;
    assert_eq!(declined.body["status"], "declined", "{:?}", declined.body);
    let card = app.tokenize(&session, "4242424242424242").await;
    let paid = app.confirm(&session, &card, "k2").await;
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    assert_eq!(paid.body["receipt"]["amount_charged"], 0);
    assert_eq!(paid.body["receipt"]["card"]["last4"], "4242");

    app.set_clock("2026-12-01T01:00:00Z").await;
    let invoices = app.invoices("acct-free").await;
    assert_eq!(invoices.iter().map(|i| i["amount"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 2000]);
    assert_eq!(invoices[1]["status"], "paid");
    assert_eq!(app.get("/v1/accounts/acct-free/subscription", Some(KEY)).await.body["status"], "active");
}

/// 100% off `forever` with a card: every charge is $0.00 and the subscription stays active.
#[tokio::test]
async fn a_forever_free_code_keeps_every_renewal_at_zero() {
    let app = TestApp::new();
    let free = coupon(&app, json!({"percent_off": 100, "duration": "forever"})).await;
    code(&app, json!({"code": "STAFF", "coupon": free})).await;
    let session = open_session(&app, "acct-staff", "power", Some("staff")).await;
    let card = app.tokenize(&session, "4242424242424242").await;
    assert_eq!(app.confirm(&session, &card, "k").await.body["receipt"]["amount_charged"], 0);
    app.set_clock("2027-02-01T01:00:00Z").await;
    let invoices = app.invoices("acct-staff").await;
    assert_eq!(invoices.iter().map(|i| i["amount"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 0, 0, 0]);
    assert!(invoices.iter().all(|i| i["status"] == "paid"));
    assert_eq!(amounts(&invoices[3]["lines"]), vec![20000, -20000]);
}

/// Stripe mode against localstripe: the PaymentIntents are our discounted quote ($8.00 today,
/// $16.00 on Dec 1), and a free first period makes none until the renewal ($20.00).
#[tokio::test]
async fn in_stripe_mode_the_payment_intents_are_the_discounted_quote() {
    let stripe = headless::localstripe::LocalStripe::start();
    let app = stripe_app(&stripe);
    launch_code(&app, json!({})).await;
    let free = coupon(&app, json!({"percent_off": 100, "duration": "once"})).await;
    code(&app, json!({"code": "FIRSTFREE", "coupon": free})).await;
    for (account, typed) in [("acct-stripe-launch", "launch"), ("acct-stripe-free", "firstfree")] {
        let session = open_session(&app, account, "pro", Some(typed)).await;
        let card = setup_stripe_card(&app, &stripe, "checkout", &session, "4242424242424242").await.unwrap();
        let card = card.body["id"].as_str().unwrap().to_string();
        let paid = app.confirm(&session, &card, "k").await;
        assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    }
    assert_eq!(stripe.succeeded_payments().await, vec![800]);
    app.set_clock("2026-12-01T01:00:00Z").await;
    let mut payments = stripe.succeeded_payments().await;
    payments.sort_unstable();
    assert_eq!(payments, vec![800, 1600, 2000]);
    assert_eq!(app.invoices("acct-stripe-free").await[0]["amount"], 0);
}

/// 100% off `forever` subscribes without a card (and renews at $0.00 with none); a checkout with
/// anything to pay, now or later, still needs one.
#[tokio::test]
async fn a_forever_free_code_subscribes_without_a_card() {
    let app = TestApp::new();
    let free = coupon(&app, json!({"percent_off": 100, "duration": "forever"})).await;
    code(&app, json!({"code": "STAFF", "coupon": free})).await;
    launch_code(&app, json!({})).await;
    let paying = open_session(&app, "acct-needs-card", "pro", Some("LAUNCH")).await;
    let body = json!({"email": "dev@example.com", "expected_total": 800});
    let refused = app.post(&format!("/api/checkout/{paying}/confirm-free"), None, &body).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(app.invoices("acct-needs-card").await.is_empty());

    let session = open_session(&app, "acct-no-card", "pro", Some("STAFF")).await;
    let body = json!({"email": "staff@example.com", "expected_total": 0});
    let done = app.post(&format!("/api/checkout/{session}/confirm-free"), None, &body).await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(done.body["receipt"]["card"], Value::Null);
    assert_eq!(done.body["receipt"]["amount_charged"], 0);
    assert_error(
        &app.post(&format!("/api/checkout/{session}/confirm-free"), None, &body).await,
        StatusCode::CONFLICT,
        "session_completed",
    );
    app.set_clock("2027-01-01T01:00:00Z").await;
    let invoices = app.invoices("acct-no-card").await;
    assert_eq!(invoices.iter().map(|i| i["amount"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 0, 0]);
    assert!(invoices.iter().all(|i| i["status"] == "paid"), "{invoices:?}");
    let sub = app.get("/v1/accounts/acct-no-card/subscription", Some(KEY)).await;
    assert_eq!((sub.body["status"].as_str(), sub.body["plan"].as_str()), (Some("active"), Some("pro")));
    // The page shows the receipt again after a reload.
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["receipt"]["card"], Value::Null);
}

/// `account` on Pro since Nov 16 with no card, through a code of `coupon` that makes every Pro
/// payment $0.00; its portal session on Nov 25.
async fn free_for_good_on_nov_25(app: &TestApp, account: &str, coupon_terms: Value) -> String {
    let coupon = coupon(app, coupon_terms).await;
    let typed = format!("FREE-{account}");
    code(app, json!({"code": typed, "coupon": coupon})).await;
    let session = open_session(app, account, "pro", Some(&typed)).await;
    let body = json!({"email": "dev@example.com", "expected_total": 0});
    let done = app.post(&format!("/api/checkout/{session}/confirm-free"), None, &body).await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    app.set_clock("2026-11-25T00:00:00Z").await;
    app.open_portal(account).await
}

/// A subscriber free for good, with no card, upgrades at $0.00 when the discount covers the new
/// plan (once, however often Confirm is sent); a plan it doesn't cover needs a card first, and
/// the refusal says so without changing anything.
#[tokio::test]
async fn a_forever_free_subscriber_without_a_card_upgrades_when_the_discount_covers_it() {
    let app = TestApp::new();
    let portal = free_for_good_on_nov_25(
        &app,
        "acct-staff",
        json!({"percent_off": 100, "duration": "forever", "applies_to": {"plans": ["pro", "pro_plus"]}}),
    )
    .await;

    let power = app.preview(&portal, "power").await;
    assert!(power.body["total_due_today"].as_i64().unwrap() > 0, "{:?}", power.body);
    let refused = app.change(&portal, "power", power.body["total_due_today"].as_i64().unwrap(), "p").await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_payment_method");
    assert_eq!(app.invoices("acct-staff").await.len(), 1);

    let plus = app.preview(&portal, "pro_plus").await;
    assert_eq!(plus.body["total_due_today"], 0, "{:?}", plus.body);
    let changed = app.change(&portal, "pro_plus", 0, "up").await;
    assert_eq!(changed.body["status"], "succeeded", "{:?}", changed.body);
    assert_eq!(changed.body["change"]["card"], Value::Null);
    assert_eq!(changed.body["change"]["amount_charged"], 0);
    assert_eq!(changed.body["change"]["to_plan"]["id"], "pro_plus");
    let again = app.change(&portal, "pro_plus", 0, "up").await;
    assert_eq!(again.body, changed.body);
    let invoices = app.invoices("acct-staff").await;
    assert_eq!(invoices.iter().map(|i| i["amount"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 0]);
    assert!(invoices.iter().all(|i| i["status"] == "paid"), "{invoices:?}");
    let sub = app.get("/v1/accounts/acct-staff/subscription", Some(KEY)).await;
    assert_eq!((sub.body["status"].as_str(), sub.body["plan"].as_str()), (Some("active"), Some("pro_plus")));
}

/// $20 off forever makes Pro free for good (no card), but not Pro+: an upgrade that costs $0.00
/// today and $20.00 a month from the renewal needs a card first, or the renewal would fail.
#[tokio::test]
async fn a_free_upgrade_whose_renewals_are_not_free_needs_a_card() {
    let app = TestApp::new();
    let portal = free_for_good_on_nov_25(&app, "acct-twenty", json!({"amount_off": 2000, "duration": "forever"})).await;
    let plus = app.preview(&portal, "pro_plus").await;
    assert_eq!(
        (plus.body["total_due_today"].as_i64(), plus.body["next_renewal_amount"].as_i64()),
        (Some(0), Some(2000))
    );
    let refused = app.change(&portal, "pro_plus", 0, "up").await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_payment_method");
    assert_eq!(app.invoices("acct-twenty").await.len(), 1);
    let sub = app.get("/v1/accounts/acct-twenty/subscription", Some(KEY)).await;
    assert_eq!(sub.body["plan"], "pro");
}

/// A creation retried with the same `Idempotency-Key` gets the first answer (one coupon, one
/// code); the same key with another body is refused.
#[tokio::test]
async fn creations_retried_with_an_idempotency_key_happen_once() {
    let app = TestApp::new();
    let keyed = |path: &str, key: &str, body: &Value| {
        axum::http::Request::post(path)
            .header("authorization", format!("Bearer {KEY}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    let body = json!({"amount_off": 500, "duration": "once"});
    let first = app.send(keyed("/v1/coupons", "c-1", &body)).await;
    let again = app.send(keyed("/v1/coupons", "c-1", &body)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(app.get("/v1/coupons", Some(KEY)).await.body["data"].as_array().unwrap().len(), 1);
    let other = app.send(keyed("/v1/coupons", "c-1", &json!({"amount_off": 600, "duration": "once"}))).await;
    assert_error(&other, StatusCode::CONFLICT, "idempotency_conflict");

    let code_body = json!({"code": "RETRY", "coupon": first.body["id"]});
    let first = app.send(keyed("/v1/promotion_codes", "p-1", &code_body)).await;
    let again = app.send(keyed("/v1/promotion_codes", "p-1", &code_body)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!((again.status, &again.body["id"]), (StatusCode::CREATED, &first.body["id"]));
}

/// While a payment waits at the bank, the code it was quoted with stays: Remove (or another code)
/// is refused, and the payment is recorded at the amount charged, its discount line with it.
#[tokio::test]
async fn a_code_cannot_be_removed_while_its_payment_waits_at_the_bank() {
    let app = TestApp::new();
    launch_code(&app, json!({})).await;
    let session = open_session(&app, "acct-swap", "pro", Some("LAUNCH")).await;
    let card = app.tokenize(&session, "4000002760003184").await;
    let waiting = app.confirm(&session, &card, "k").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let removed = app.send(delete_api(&format!("/api/checkout/{session}/promotion-code"))).await;
    assert_error(&removed, StatusCode::CONFLICT, "payment_in_progress");
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let path = format!("/api/checkout/{session}/challenge");
    let done = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["receipt"]["amount_charged"], 800, "{:?}", done.body);
    let invoices = app.invoices("acct-swap").await;
    assert_eq!((invoices[0]["amount"].as_i64(), amounts(&invoices[0]["lines"])), (Some(800), vec![1000, -200]));
}

/// The bank's approval is the end of the checks: a code deactivated (or its coupon deleted)
/// while the payment waited at the bank does not undo a payment the buyer was quoted and approved.
/// The payment is recorded with its discount, and the code counts one more redemption.
#[tokio::test]
async fn a_code_deactivated_while_its_payment_waits_at_the_bank_still_holds_for_it() {
    let app = TestApp::new();
    let launch = launch_code(&app, json!({})).await;
    let session = open_session(&app, "acct-late-off", "pro", Some("LAUNCH")).await;
    let card = app.tokenize(&session, "4000002760003184").await;
    let waiting = app.confirm(&session, &card, "k").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let code_path = format!("/v1/promotion_codes/{}", launch["id"].as_str().unwrap());
    let off = app.post(&code_path, Some(KEY), &json!({"active": false})).await;
    assert_eq!(off.body["active"], false, "{:?}", off.body);
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let path = format!("/api/checkout/{session}/challenge");
    let done = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(done.body["receipt"]["amount_charged"], 800);
    let invoices = app.invoices("acct-late-off").await;
    assert_eq!(amounts(&invoices[0]["lines"]), vec![1000, -200]);
    assert_eq!(app.get(&code_path, Some(KEY)).await.body["times_redeemed"], 1);
    // A new checkout can't use it any more.
    let refused = session_with_codes(&app, "acct-other", "pro", Some("LAUNCH")).await;
    assert_ne!(refused.status, StatusCode::CREATED, "{:?}", refused.body);
}

/// A bank check answered after its hold lapsed (30 minutes) is checked again like a new confirm:
/// a code still free is held again and redeemed, and the buyer pays the total they approved.
/// (Its other side, a code taken meanwhile, is in `declines_and_abandoned_bank_checks_free_the_redemption`.)
#[tokio::test]
async fn a_bank_check_answered_after_its_hold_lapsed_keeps_a_code_still_free() {
    let app = TestApp::new();
    let launch = launch_code(&app, json!({"max_redemptions": 1})).await;
    let session = open_session(&app, "acct-slow-bank", "pro", Some("LAUNCH")).await;
    let card = app.tokenize(&session, "4000002760003184").await;
    let waiting = app.confirm(&session, &card, "k").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let next = open_session(&app, "acct-next", "pro", None).await;
    assert_error(&apply(&app, &next, "LAUNCH").await, StatusCode::BAD_REQUEST, "promotion_code_used_up");
    app.set_clock("2026-11-16T00:45:00Z").await;
    let lapsed = apply(&app, &next, "LAUNCH").await;
    assert_eq!(lapsed.status, StatusCode::OK, "the hold has lapsed: {:?}", lapsed.body);
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let path = format!("/api/checkout/{session}/challenge");
    let done = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(done.body["receipt"]["amount_charged"], 800);
    assert_eq!(amounts(&app.invoices("acct-slow-bank").await[0]["lines"]), vec![1000, -200]);
    let code_path = format!("/v1/promotion_codes/{}", launch["id"].as_str().unwrap());
    assert_eq!(app.get(&code_path, Some(KEY)).await.body["times_redeemed"], 1);
    // The one redemption went to the late payment: the next buyer's code no longer pays.
    let card = app.tokenize(&next, "4242424242424242").await;
    let stale = app.post(&format!("/api/checkout/{next}/confirm"), None, &confirm_body(&card, "k", 800)).await;
    assert_error(&stale, StatusCode::CONFLICT, "quote_changed");
}

/// While a payment quoted without a code waits at the bank, no code can be applied (nor removed):
/// the payment is recorded at the amount it was quoted, with its lines.
#[tokio::test]
async fn a_code_cannot_be_applied_while_a_payment_without_one_waits_at_the_bank() {
    let app = TestApp::new();
    launch_code(&app, json!({})).await;
    let session = open_session(&app, "acct-late-code", "pro", None).await;
    let card = app.tokenize(&session, "4000002760003184").await;
    let waiting = app.confirm(&session, &card, "k").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    assert_error(&apply(&app, &session, "LAUNCH").await, StatusCode::CONFLICT, "payment_in_progress");
    let removed = app.send(delete_api(&format!("/api/checkout/{session}/promotion-code"))).await;
    assert_error(&removed, StatusCode::CONFLICT, "payment_in_progress");
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let path = format!("/api/checkout/{session}/challenge");
    let done = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["receipt"]["amount_charged"], 1000, "{:?}", done.body);
    let invoices = app.invoices("acct-late-code").await;
    assert_eq!((invoices[0]["amount"].as_i64(), amounts(&invoices[0]["lines"])), (Some(1000), vec![1000]));
}

/// A downgrade to a plan the running coupon does not cover says so before Confirm.
#[tokio::test]
async fn a_downgrade_the_coupon_does_not_cover_says_so_before_confirm() {
    let app = TestApp::new();
    let plus_only =
        coupon(&app, json!({"percent_off": 20, "duration": "forever", "applies_to": {"plans": ["pro_plus"]}})).await;
    code(&app, json!({"code": "PLUSONLY", "coupon": plus_only})).await;
    let session = open_session(&app, "acct-down", "pro_plus", Some("PLUSONLY")).await;
    let card = app.tokenize(&session, "4242424242424242").await;
    assert_eq!(app.confirm(&session, &card, "k").await.body["status"], "succeeded");
    let portal = app.open_portal("acct-down").await;
    let preview = app.preview(&portal, "pro").await;
    assert_eq!(preview.body["kind"], "downgrade", "{:?}", preview.body);
    assert_eq!(
        preview.body["discount_note"],
        "Your promotion PLUSONLY (20% off) doesn't cover Kiro Pro: it is charged at the full price."
    );
    assert_eq!(preview.body["next_renewal_amount"], 2000);
}

/// A payment whose attempt ends without success other than by a decline (a processor error, a
/// record that failed) frees its code's hold: the last redemption of a limited code is free again
/// for others, and the session's own Remove works (before: 30 minutes of `used_up` and
/// `payment_in_progress`).
#[tokio::test]
async fn a_failed_attempt_frees_its_hold_for_others_and_for_remove() {
    use checkout_server::store;
    let db = fresh_store();
    let app = TestApp::on(db.clone());
    launch_code(&app, json!({"code": "SOLO", "max_redemptions": 1})).await;
    let failed = open_session(&app, "acct-failed", "pro", Some("SOLO")).await;
    // As the confirm does: the attempt and the hold, then (the charge failing) the attempt ended.
    db.write(|tx| {
        let now = time::macros::datetime!(2026-11-16 00:00 UTC);
        let id: String =
            tx.query_row("SELECT id FROM checkout_sessions WHERE account_id = ?1", ["acct-failed"], |r| r.get(0))?;
        let session = store::get_checkout_session(tx, &id)?.unwrap();
        let attempt = store::claim_attempt(tx, &session.account_id, "checkout", now)?.unwrap();
        checkout_server::promotions::checkout::hold_for_payment(tx, &session, now)?;
        store::finish_attempt(tx, &attempt.id, "failed", now)?;
        Ok::<_, checkout_server::error::AppError>(())
    })
    .await
    .unwrap();
    let other = open_session(&app, "acct-other", "pro", None).await;
    let applied = apply(&app, &other, "SOLO").await;
    assert_eq!(applied.status, StatusCode::OK, "{:?}", applied.body);
    let removed = app.send(delete_api(&format!("/api/checkout/{failed}/promotion-code"))).await;
    assert_eq!(removed.status, StatusCode::OK, "{:?}", removed.body);
    assert_eq!(removed.body["quote"]["total_due_today"], 1000);
}

/// A code that has expired already, a coupon name with control or invisible characters, and a
/// typed code longer than any code can be are refused before anything is stored or looked up.
#[tokio::test]
async fn past_expiry_odd_names_and_overlong_typed_codes_are_refused() {
    let app = TestApp::new();
    let coupon_id = coupon(&app, json!({"percent_off": 20, "duration": "once"})).await;
    let past = json!({"code": "OLD", "coupon": coupon_id, "expires_at": "2026-11-15T00:00:00Z"});
    assert_error(&app.post("/v1/promotion_codes", Some(KEY), &past).await, StatusCode::BAD_REQUEST, "invalid_request");
    for name in ["Launch\u{7}", "Launch\u{200B}", "Laun\u{202E}ch", "Launch\nday"] {
        let body = json!({"percent_off": 20, "duration": "once", "name": name});
        assert_error(&app.post("/v1/coupons", Some(KEY), &body).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let session = open_session(&app, "acct-long", "pro", None).await;
    let long = "A".repeat(41);
    assert_error(&apply(&app, &session, &long).await, StatusCode::BAD_REQUEST, "invalid_request");
}

/// At the second a code expires, the quote and the charge agree: the page is quoted the full
/// price, and a Subscribe sent with the discounted total is told the price changed, with nothing
/// charged; the full price then goes through without the code.
#[tokio::test]
async fn at_its_expiry_second_a_code_is_neither_quoted_nor_charged() {
    let app = TestApp::new();
    launch_code(&app, json!({"expires_at": "2026-11-16T12:00:00Z"})).await;
    let session = open_session(&app, "acct-expiry-second", "pro", Some("LAUNCH")).await;
    let card = app.tokenize(&session, "4242424242424242").await;
    app.set_clock("2026-11-16T11:59:59Z").await;
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    let discounted = view.body["quote"]["total_due_today"].as_i64().unwrap();
    assert_eq!(view.body["quote"]["discount"]["code"], "LAUNCH", "{}", view.body);
    app.set_clock("2026-11-16T12:00:00Z").await;
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["quote"]["discount"], Value::Null, "an expired code is still quoted: {}", view.body);
    let full = view.body["quote"]["total_due_today"].as_i64().unwrap();
    assert!(full > discounted);
    let path = format!("/api/checkout/{session}/confirm");
    let stale = app.post(&path, None, &confirm_body(&card, "stale", discounted)).await;
    assert_error(&stale, StatusCode::CONFLICT, "quote_changed");
    assert!(app.invoices("acct-expiry-second").await.is_empty(), "charged at a price no longer quoted");
    let paid = app.post(&path, None, &confirm_body(&card, "full", full)).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    assert_eq!(paid.body["receipt"]["amount_charged"], full);
}

/// A payment the bank approved is honoured at the total the buyer was quoted, with its code,
/// even when the code was deactivated and its hold lapsed while the bank asked: nothing is
/// refused (in Stripe mode, refunded) after the bank said yes.
#[tokio::test]
async fn a_bank_approval_after_the_hold_lapsed_honours_a_code_deactivated_meanwhile() {
    let app = TestApp::new();
    let launch = launch_code(&app, json!({})).await;
    let session = open_session(&app, "acct-approved", "pro", Some("LAUNCH")).await;
    let card = app.tokenize(&session, "4000002760003184").await;
    let waiting = app.confirm(&session, &card, "k").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let code_path = format!("/v1/promotion_codes/{}", launch["id"].as_str().unwrap());
    assert_eq!(app.post(&code_path, Some(KEY), &json!({"active": false})).await.body["active"], false);
    app.set_clock("2026-11-16T00:45:00Z").await;
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let path = format!("/api/checkout/{session}/challenge");
    let done = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(done.body["receipt"]["amount_charged"], 800);
    assert_eq!(amounts(&app.invoices("acct-approved").await[0]["lines"]), vec![1000, -200]);
}

/// A payment made at the full price because its code had expired, then approved by the bank, is
/// recorded at that price: the bank's answer never brings back a code the payment was not quoted
/// with (which would make the total differ, and the money be refunded).
#[tokio::test]
async fn a_payment_quoted_without_an_expired_code_stays_without_it_through_the_banks_check() {
    let app = TestApp::new();
    launch_code(&app, json!({"expires_at": "2026-11-16T12:00:00Z"})).await;
    let session = open_session(&app, "acct-lapsed-3ds", "pro", Some("LAUNCH")).await;
    let card = app.tokenize(&session, "4000002760003184").await;
    app.set_clock("2026-11-16T12:00:00Z").await;
    let waiting = app.confirm(&session, &card, "k").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let path = format!("/api/checkout/{session}/challenge");
    let done = app.post(&path, None, &json!({"challenge_id": challenge, "outcome": "complete"})).await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(done.body["receipt"]["amount_charged"], 1000);
    assert_eq!(amounts(&app.invoices("acct-lapsed-3ds").await[0]["lines"]), vec![1000]);
}
