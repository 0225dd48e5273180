//! The checkout in Stripe mode against localstripe: the card goes to Stripe through a
//! SetupIntent (never to us), is charged with a PaymentIntent once, and 3-D Secure is checked with
//! Stripe, not taken from the page.

use crate::common::*;
use axum::http::StatusCode;
use headless::localstripe::LocalStripe;
use serde_json::json;

/// A checkout of `account` confirmed with a saved 3184 card: the session and the confirm's answer
/// (`requires_action`, the bank's check not done yet).
async fn waiting_for_the_bank(app: &TestApp, stripe: &LocalStripe, account: &str) -> (String, Reply) {
    let session = app.new_session(account, "pro").await;
    let card = save_card(app, stripe, &session, "4000002760003184").await.unwrap();
    let waiting = app.confirm(&session, &card, "k1").await;
    (session, waiting)
}

/// [`setup_stripe_card`] in the portal: the card becomes the account's (its outcome).
async fn replace_card(app: &TestApp, stripe: &LocalStripe, portal: &str, number: &str) -> serde_json::Value {
    let outcome = setup_stripe_card(app, stripe, "portal", portal, number).await.unwrap();
    assert_eq!(outcome.status, StatusCode::OK, "{:?}", outcome.body);
    assert_eq!(outcome.body["status"], "updated", "{:?}", outcome.body);
    assert_eq!(outcome.body["card"]["last4"], &number[12..]);
    outcome.body
}

#[tokio::test]
async fn a_card_saved_with_stripe_pays_the_checkout_once() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let session = app.new_session("acct-stripe-pay", "pro").await;
    let view = app.get(&format!("/api/checkout/{session}"), None).await;
    assert_eq!(view.body["stripe"]["publishable_key"], "pk_test_localstripe");
    // Card numbers never come to us in Stripe mode.
    let raw = json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "A B"});
    assert_error(
        &app.post(&format!("/api/checkout/{session}/card"), None, &raw).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let card = save_card(&app, &stripe, &session, "4242424242424242").await.unwrap();
    assert!(card.starts_with("pm_"), "{card}");
    let paid = app.confirm(&session, &card, "k1").await;
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    let again = app.post(&format!("/api/checkout/{session}/confirm"), None, &confirm_body(&card, "k1", 1000)).await;
    assert_eq!(again.body, paid.body, "a repeat replays the answer");
    let invoices = app.invoices("acct-stripe-pay").await;
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["amount"], 1000);
}

#[tokio::test]
async fn declines_come_from_stripe_and_a_foreign_setup_intent_is_refused() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let session = app.new_session("acct-stripe-decline", "pro").await;
    // Stripe.js refuses 0002 when saving it: nothing reaches us.
    assert_eq!(save_card(&app, &stripe, &session, "4000000000000002").await, Err(402));
    // 0341 saves, then every charge of it fails.
    let card = save_card(&app, &stripe, &session, "4000000000000341").await.unwrap();
    let declined = app.confirm(&session, &card, "k1").await;
    assert_eq!(declined.body["status"], "declined", "{:?}", declined.body);
    assert_eq!(declined.body["decline"]["code"], "generic");
    assert!(app.invoices("acct-stripe-decline").await.is_empty());

    // A SetupIntent of another session (or none) does not give a card here.
    let other = app.new_session("acct-stripe-other", "pro").await;
    let setup = app.post(&format!("/api/checkout/{other}/setup-intent"), None, &json!({})).await;
    let foreign = setup.body["client_secret"].as_str().unwrap().split("_secret_").next().unwrap().to_string();
    stripe.confirm_setup_with_card(&foreign, "4242424242424242").await;
    for setup_intent in [foreign.as_str(), "seti_unknown", "../../v1/customers", ""] {
        let stolen = app
            .post(&format!("/api/checkout/{session}/stripe-card"), None, &json!({ "setup_intent": setup_intent }))
            .await;
        assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_payment_method");
    }
}

#[tokio::test]
async fn three_d_secure_is_checked_with_stripe_not_taken_from_the_page() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    for (account, success, status) in [("acct-3ds-ok", true, "succeeded"), ("acct-3ds-fail", false, "declined")] {
        let (session, waiting) = waiting_for_the_bank(&app, &stripe, account).await;
        assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
        let secret = waiting.body["client_secret"].as_str().unwrap();
        let challenge = waiting.body["challenge_id"].as_str().unwrap();
        // The page says "complete" either way: Stripe's intent decides.
        let early = json!({"challenge_id": challenge, "outcome": "complete"});
        stripe.authenticate(secret, success).await;
        let answered = app.post(&format!("/api/checkout/{session}/challenge"), None, &early).await;
        assert_eq!(answered.body["status"], status, "{account}: {:?}", answered.body);
        assert_eq!(app.invoices(account).await.len(), usize::from(success));
    }
}

/// The page answers before the bank's check is done (a double click, a second tab, a Stripe.js
/// error): the PaymentIntent is cancelled at Stripe before the decline is recorded, so finishing
/// the check afterwards charges nothing, and paying again charges once.
#[tokio::test]
async fn an_early_answer_cancels_the_payment_so_a_late_bank_check_charges_nothing() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let session = app.new_session("acct-3ds-early", "pro").await;
    let card = save_card(&app, &stripe, &session, "4000002760003184").await.unwrap();
    for (key, early) in [("k1", "fail"), ("k2", "complete")] {
        let waiting = app.confirm(&session, &card, key).await;
        assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
        let secret = waiting.body["client_secret"].as_str().unwrap().to_string();
        let answer = json!({"challenge_id": waiting.body["challenge_id"], "outcome": early});
        let answered = app.post(&format!("/api/checkout/{session}/challenge"), None, &answer).await;
        assert_eq!(answered.body["status"], "declined", "{early}: {:?}", answered.body);
        // The user finishes the bank's check at Stripe afterwards: too late, nothing is charged.
        assert_ne!(stripe.authenticate(&secret, true).await.status(), 200, "{early}: the payment was cancelled");
        deliver_succeeded(&app, &format!("evt_late_{key}"), &secret).await;
        assert!(stripe.succeeded_payments().await.is_empty(), "{early}: nothing taken");
        assert!(app.invoices("acct-3ds-early").await.is_empty(), "{early}");
    }
    let waiting = app.confirm(&session, &card, "k3").await;
    let secret = waiting.body["client_secret"].as_str().unwrap();
    stripe.authenticate(secret, true).await;
    let answer = json!({"challenge_id": waiting.body["challenge_id"], "outcome": "complete"});
    let paid = app.post(&format!("/api/checkout/{session}/challenge"), None, &answer).await;
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    let total = paid.body["receipt"]["amount_charged"].as_i64().unwrap();
    assert_eq!(stripe.succeeded_payments().await, [total], "charged once");
}

/// The bank's check finished at Stripe, then a second tab (or a Stripe.js error) answers `fail`:
/// Stripe took the money, so the plan is granted, not declined.
#[tokio::test]
async fn a_fail_answer_after_the_bank_said_yes_grants_what_stripe_took() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let (session, waiting) = waiting_for_the_bank(&app, &stripe, "acct-3ds-other-tab").await;
    stripe.authenticate(waiting.body["client_secret"].as_str().unwrap(), true).await;
    let answer = json!({"challenge_id": waiting.body["challenge_id"], "outcome": "fail"});
    let answered = app.post(&format!("/api/checkout/{session}/challenge"), None, &answer).await;
    assert_eq!(answered.body["status"], "succeeded", "{:?}", answered.body);
    assert_eq!(app.invoices("acct-3ds-other-tab").await.len(), 1);
    assert!(stripe.refunded_payments().await.is_empty());
}

/// The bank's check finishes after the checkout session expired: Stripe took the money, the plan
/// can no longer be granted, so the money is given back, once, whoever tells us (the page coming
/// back, Stripe's webhook, again).
#[tokio::test]
async fn money_taken_after_the_session_expired_is_refunded_once() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let (session, waiting) = waiting_for_the_bank(&app, &stripe, "acct-3ds-expired").await;
    let secret = waiting.body["client_secret"].as_str().unwrap().to_string();
    assert_eq!(app.set_clock("2026-11-17T00:00:01Z").await.status, StatusCode::OK, "a day later");
    stripe.authenticate(&secret, true).await;
    let total = stripe.succeeded_payments().await;
    assert_eq!(total.len(), 1, "Stripe took the money");

    let answer = json!({"challenge_id": waiting.body["challenge_id"], "outcome": "complete"});
    let late = app.post(&format!("/api/checkout/{session}/challenge"), None, &answer).await;
    assert_error(&late, StatusCode::GONE, "session_expired");
    deliver_succeeded(&app, "evt_expired_paid", &secret).await;
    deliver_succeeded(&app, "evt_expired_paid_again", &secret).await;
    assert_eq!(stripe.refunded_payments().await, total, "given back once");
    assert!(app.invoices("acct-3ds-expired").await.is_empty());
}

/// Stripe mode serves the checkout bundle with Stripe's Element, and a CSP that admits exactly
/// Stripe.js's and the API's origins besides our own.
#[tokio::test]
async fn stripe_mode_serves_its_own_bundles_and_admits_only_stripes_origins() {
    let stripe = LocalStripe::start();
    let dist = fake_dist("stripe-mode");
    let app = TestApp::configured(fresh_store(), |cfg| {
        cfg.stripe = Some(stripe_settings(&stripe));
        cfg.dist_dir = Some(dist.clone());
    });
    let page = app.get("/checkout/cs_anything", None).await;
    assert!(page.body.as_str().unwrap().contains("checkout-stripe shell"), "{:?}", page.body);
    let csp = page.headers[axum::http::header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for expected in [
        "'wasm-unsafe-eval'".to_string(),
        format!("connect-src 'self' {}", stripe.base),
        format!("frame-src {};", stripe.base),
    ] {
        assert!(csp.contains(&expected), "{expected} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("https:"), "{csp}");
    for (path, entry) in [("/portal/ps_x", "portal-home-stripe"), ("/portal/ps_x/update", "portal-stripe")] {
        let portal = app.get(path, None).await;
        assert!(portal.body.as_str().unwrap().contains(&format!("<p>{entry} shell")), "{path}: {:?}", portal.body);
    }
    std::fs::remove_dir_all(&dist).unwrap();
}

/// The user completes the bank's check and closes the tab before the page reports it: Stripe's
/// signed `payment_intent.succeeded` grants the plan, once; forged and stale events change nothing.
#[tokio::test]
async fn a_bank_check_finished_after_the_tab_closed_grants_the_plan_through_stripes_webhook() {
    use headless::localstripe::WEBHOOK_SECRET;
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let (session, waiting) = waiting_for_the_bank(&app, &stripe, "acct-webhook").await;
    let secret = waiting.body["client_secret"].as_str().unwrap().to_string();
    stripe.authenticate(&secret, true).await;
    let intent = secret.split("_secret_").next().unwrap();
    let event = json!({"id": "evt_tab_closed", "type": "payment_intent.succeeded", "data": {"object": {"id": intent}}})
        .to_string();

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (why, signature) in [
        ("forged", stripe_signature(&event, "whsec_someone_else", now)),
        ("stale", stripe_signature(&event, WEBHOOK_SECRET, now - 600)),
        ("unsigned", String::new()),
    ] {
        let refused = send_stripe_event(&app, &event, &signature).await;
        assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(app.invoices("acct-webhook").await.is_empty(), "{why}: nothing changes");
    }
    let good = stripe_signature(&event, WEBHOOK_SECRET, now);
    assert_eq!(send_stripe_event(&app, &event, &good).await.status, StatusCode::OK);
    assert_eq!(app.invoices("acct-webhook").await.len(), 1, "the plan is granted");
    assert_eq!(send_stripe_event(&app, &event, &good).await.status, StatusCode::OK, "delivered again");
    assert_eq!(app.invoices("acct-webhook").await.len(), 1, "handled once");

    // The page coming back later gets the same outcome.
    let challenge = waiting.body["challenge_id"].as_str().unwrap();
    let late = app
        .post(
            &format!("/api/checkout/{session}/challenge"),
            None,
            &json!({"challenge_id": challenge, "outcome": "complete"}),
        )
        .await;
    assert_eq!(late.body["status"], "succeeded", "{:?}", late.body);
}

/// After a Stripe-mode checkout, the card on Stripe pays an upgrade and a renewal off-session,
/// each a PaymentIntent of the quoted amount.
#[tokio::test]
async fn the_card_saved_with_stripe_pays_an_upgrade_and_a_renewal_off_session() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let session = app.new_session("acct-stripe-later", "pro").await;
    let card = save_card(&app, &stripe, &session, "4242424242424242").await.unwrap();
    assert_eq!(app.confirm(&session, &card, "k1").await.body["status"], "succeeded");

    let portal = app.open_portal("acct-stripe-later").await;
    let quote = app.preview(&portal, "pro_plus").await;
    let amount = quote.body["total_due_today"].as_i64().unwrap();
    let upgraded = app.change(&portal, "pro_plus", amount, "up-1").await;
    assert_eq!(upgraded.body["status"], "succeeded", "{:?}", upgraded.body);

    assert_eq!(app.set_clock("2026-12-01T01:00:01Z").await.status, StatusCode::OK);
    let invoices = app.invoices("acct-stripe-later").await;
    let paid: Vec<_> =
        invoices.iter().map(|i| (i["amount"].as_i64().unwrap(), i["status"].as_str().unwrap())).collect();
    assert_eq!(paid, [(1000, "paid"), (amount, "paid"), (4000, "paid")], "{invoices:?}");
}

/// A month's overage is part of the renewal's PaymentIntent: one charge of plan and overage.
#[tokio::test]
async fn the_overage_is_charged_with_the_renewal_in_one_payment_intent() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let session = app.new_session("acct-stripe-overage", "pro").await;
    let card = save_card(&app, &stripe, &session, "4242424242424242").await.unwrap();
    assert_eq!(app.confirm(&session, &card, "k1").await.body["status"], "succeeded");
    let portal = app.open_portal("acct-stripe-overage").await;
    let on = app.post(&format!("/api/portal/{portal}/overage"), None, &json!({"enabled": true})).await;
    assert_eq!(on.body["overage_enabled"], true);
    let usage = json!({"event_name": "kiro_credits", "identifier": "so-1",
                       "payload": {"account_id": "acct-stripe-overage", "value": "1200"}});
    assert_eq!(app.post("/v1/billing/meter_events", Some(KEY), &usage).await.status, StatusCode::CREATED);

    assert_eq!(app.set_clock("2026-12-01T01:00:01Z").await.status, StatusCode::OK);
    let invoices = app.invoices("acct-stripe-overage").await;
    assert_eq!((invoices[1]["amount"].as_i64(), invoices[1]["status"].as_str()), (Some(2800), Some("paid")));
    assert_eq!(stripe.succeeded_payments().await, [1000, 2800], "plan and overage in one PaymentIntent");
}

/// In the portal, a new card goes to Stripe through a SetupIntent and becomes the one charged
/// (and the Customer's default). 0341 saves but its renewal fails: the account is past due, as in
/// test mode; a good card then clears the invoice.
#[tokio::test]
async fn a_card_replaced_with_stripe_is_charged_and_a_new_one_clears_a_failed_renewal() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let portal = stripe_subscribed(&app, &stripe, "acct-stripe-0341").await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["stripe"]["publishable_key"], "pk_test_localstripe");
    let raw = json!({"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "A B"},
        "billing": {"country": "US", "postal_code": "94107"}});
    let refused = app.post(&format!("/api/portal/{portal}/payment-method"), None, &raw).await;
    assert_error(&refused, StatusCode::NOT_FOUND, "not_found");

    let failing = replace_card(&app, &stripe, &portal, "4000000000000341").await;
    assert_eq!(failing["paid_invoice"], serde_json::Value::Null);
    let customer = stripe.customer_of("acct-stripe-0341").await;
    assert_eq!(customer["invoice_settings"]["default_payment_method"], failing["card"]["id"]);

    assert_eq!(app.set_clock("2026-12-01T01:00:01Z").await.status, StatusCode::OK);
    let portal = app.open_portal("acct-stripe-0341").await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["status"], "past_due", "{:?}", view.body);
    let owed = view.body["amount_due"]["amount"].as_i64().unwrap();

    let good = replace_card(&app, &stripe, &portal, "4242424242424242").await;
    assert_eq!(good["paid_invoice"], owed, "{good:?}");
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["status"], "active");
    assert_eq!(view.body["amount_due"], serde_json::Value::Null);
    assert_eq!(view.body["payment_method"]["last4"], "4242");
    let invoices = app.invoices("acct-stripe-0341").await;
    assert!(invoices.iter().all(|i| i["status"] == "paid"), "{invoices:?}");
    assert_eq!(stripe.succeeded_payments().await, vec![1000, owed], "one charge each, nothing twice");
}

/// The renewals of Feb 1 and Mar 1 both fail with 0341 (retries over five weeks, so the second
/// falls due before the last retry); a new card pays both with one PaymentIntent for their total.
#[tokio::test]
async fn a_new_card_pays_every_open_invoice_with_one_payment_intent() {
    let stripe = LocalStripe::start();
    let app = TestApp::configured(fresh_store(), |cfg| {
        cfg.stripe = Some(stripe_settings(&stripe));
        cfg.payment_retries = [3, 5, 7, 35].map(time::Duration::days).to_vec();
    });
    app.set_clock("2027-01-10T00:00:00Z").await;
    let portal = stripe_subscribed(&app, &stripe, "acct-stripe-two").await;
    replace_card(&app, &stripe, &portal, "4000000000000341").await;
    assert_eq!(app.set_clock("2027-03-01T01:00:01Z").await.status, StatusCode::OK);
    let portal = app.open_portal("acct-stripe-two").await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["amount_due"]["amount"], 4000, "{:?}", view.body);
    let first = stripe.succeeded_payments().await;

    let good = replace_card(&app, &stripe, &portal, "4242424242424242").await;
    assert_eq!((&good["paid_invoice"], &good["invoices_paid"]), (&json!(4000), &json!(2)), "{good:?}");
    assert_eq!(stripe.succeeded_payments().await, [first, vec![4000]].concat(), "one PaymentIntent for both");
    let invoices = app.invoices("acct-stripe-two").await;
    assert!(invoices.iter().all(|i| i["status"] == "paid"), "{invoices:?}");
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!((&view.body["subscription"]["status"], &view.body["amount_due"]), (&json!("active"), &json!(null)));
}

/// An upgrade whose card asks for 3-D Secure goes back to the page with the PaymentIntent's
/// secret; the answer is checked with Stripe: failed, nothing changes; completed, the upgrade.
#[tokio::test]
async fn an_upgrade_that_needs_3d_secure_is_completed_with_stripe_and_checked_with_it() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let portal = stripe_subscribed(&app, &stripe, "acct-stripe-3ds").await;
    replace_card(&app, &stripe, &portal, "4000002760003184").await;
    let amount = app.preview(&portal, "pro_plus").await.body["total_due_today"].as_i64().unwrap();

    let answer = |challenge: String, outcome: &'static str| {
        let body = json!({"challenge_id": challenge, "outcome": outcome});
        let path = format!("/api/portal/{portal}/challenge");
        let app = &app;
        async move { app.post(&path, None, &body).await }
    };
    let waiting = app.change(&portal, "pro_plus", amount, "up-1").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let secret = waiting.body["client_secret"].as_str().unwrap().to_string();
    // The page says "complete" but the bank's check was never done: Stripe says otherwise.
    let lied = answer(waiting.body["challenge_id"].as_str().unwrap().into(), "complete").await;
    assert_eq!(lied.body["status"], "declined", "{:?}", lied.body);
    assert_eq!(app.get(&format!("/api/portal/{portal}"), None).await.body["subscription"]["plan"]["id"], "pro");
    // Finishing the bank's check after that decline charges nothing: the payment was cancelled.
    assert_ne!(stripe.authenticate(&secret, true).await.status(), 200);
    assert_eq!(stripe.succeeded_payments().await, vec![1000]);

    let waiting = app.change(&portal, "pro_plus", amount, "up-2").await;
    let secret2 = waiting.body["client_secret"].as_str().unwrap().to_string();
    assert_ne!(secret, secret2, "a new PaymentIntent");
    stripe.authenticate(&secret2, true).await;
    let done = answer(waiting.body["challenge_id"].as_str().unwrap().into(), "complete").await;
    assert_eq!(done.body["status"], "succeeded", "{:?}", done.body);
    assert_eq!(done.body["change"]["amount_charged"], amount);
    assert_eq!(stripe.succeeded_payments().await, vec![1000, amount]);

    // The tab closed after the bank's check: Stripe's webhook makes the change.
    let to_power = app.preview(&portal, "power").await.body["total_due_today"].as_i64().unwrap();
    let waiting = app.change(&portal, "power", to_power, "up-3").await;
    let secret = waiting.body["client_secret"].as_str().unwrap();
    stripe.authenticate(secret, true).await;
    deliver_succeeded(&app, "evt_upgrade_paid", secret).await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["plan"]["id"], "power");
    assert_eq!(stripe.succeeded_payments().await, vec![1000, amount, to_power]);
}

/// A renewal of a card whose bank asks for 3-D Secure fails off-session (past due); paying the
/// invoice from the portal goes back to the page with the PaymentIntent's secret, and the answer
/// is checked with Stripe before the invoice is paid.
#[tokio::test]
async fn paying_a_past_due_invoice_can_ask_for_3d_secure_and_is_checked_with_stripe() {
    let stripe = LocalStripe::start();
    // Portal sessions that outlast a retry's date, so the user is still "at the bank" then.
    let app = TestApp::configured(fresh_store(), |cfg| {
        cfg.stripe = Some(stripe_settings(&stripe));
        cfg.portal_ttl = time::Duration::days(30);
    });
    let portal = stripe_subscribed(&app, &stripe, "acct-stripe-3ds-late").await;
    replace_card(&app, &stripe, &portal, "4000002760003184").await;
    assert_eq!(app.set_clock("2026-12-01T01:00:01Z").await.status, StatusCode::OK);
    let portal = app.open_portal("acct-stripe-3ds-late").await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["status"], "past_due", "{:?}", view.body);
    let owed = view.body["amount_due"]["amount"].as_i64().unwrap();
    // Nobody was there for the renewal's bank check: its PaymentIntent was cancelled, not left open.
    assert_eq!(stripe.payment_statuses().await.last().map(String::as_str), Some("canceled"));

    let (app, portal) = (&app, portal.as_str());
    let pay = |key: &'static str| async move {
        app.post(&format!("/api/portal/{portal}/pay-invoice"), None, &json!({"idempotency_key": key})).await
    };
    let answer = |challenge: serde_json::Value| async move {
        let body = json!({"challenge_id": challenge, "outcome": "complete"});
        app.post(&format!("/api/portal/{portal}/pay-invoice/challenge"), None, &body).await
    };
    let waiting = pay("pay-1").await;
    assert_eq!(waiting.body["status"], "requires_action", "{:?}", waiting.body);
    let lied = answer(waiting.body["challenge_id"].clone()).await;
    assert_eq!(lied.body["status"], "declined", "the bank's check was never done: {:?}", lied.body);

    let waiting = pay("pay-2").await;
    let secret = waiting.body["client_secret"].as_str().unwrap();
    // The first retry falls due while the user is at their bank: it waits, charging nothing.
    let intents = stripe.payment_statuses().await.len();
    assert_eq!(app.set_clock("2026-12-04T00:00:01Z").await.status, StatusCode::OK);
    assert_eq!(stripe.payment_statuses().await.len(), intents, "no second charge of the same invoice");
    stripe.authenticate(secret, true).await;
    // The tab closed after the bank's check: Stripe's webhook pays the invoice.
    deliver_succeeded(app, "evt_invoice_paid", secret).await;
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["subscription"]["status"], "active");
    let paid = answer(waiting.body["challenge_id"].clone()).await;
    let outcome = json!({"status": "paid", "amount": owed, "invoices": 1});
    assert_eq!(paid.body, outcome, "the page coming back gets the outcome");
    assert_eq!(stripe.succeeded_payments().await, vec![1000, owed]);
}

/// Stripe's signed `payment_intent.succeeded` for the PaymentIntent of `client_secret`.
async fn deliver_succeeded(app: &TestApp, event_id: &str, client_secret: &str) {
    let intent = client_secret.split("_secret_").next().unwrap();
    let event =
        json!({"id": event_id, "type": "payment_intent.succeeded", "data": {"object": {"id": intent}}}).to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = stripe_signature(&event, headless::localstripe::WEBHOOK_SECRET, now);
    assert_eq!(send_stripe_event(app, &event, &signature).await.status, StatusCode::OK);
}

/// The portal's Stripe routes take nothing on the page's word: a SetupIntent saved for another
/// account, for this account's checkout, unknown or malformed gives no card; a challenge of
/// another kind answers no invoice; in test mode the routes do not exist.
#[tokio::test]
async fn the_portals_stripe_routes_refuse_what_is_not_theirs() {
    let stripe = LocalStripe::start();
    let app = stripe_app(&stripe);
    let portal = stripe_subscribed(&app, &stripe, "acct-stripe-mine").await;
    let other = stripe_subscribed(&app, &stripe, "acct-stripe-theirs").await;
    let setup = app.post(&format!("/api/portal/{other}/setup-intent"), None, &json!({})).await;
    let theirs = setup.body["client_secret"].as_str().unwrap().split("_secret_").next().unwrap().to_string();
    stripe.confirm_setup_with_card(&theirs, "4242424242424242").await;
    let checkout = app.new_session("acct-stripe-mine", "pro").await;
    let setup = app.post(&format!("/api/checkout/{checkout}/setup-intent"), None, &json!({})).await;
    assert_error(&setup, StatusCode::CONFLICT, "already_subscribed");

    for setup_intent in [theirs.as_str(), "seti_unknown", "../../v1/customers", ""] {
        let stolen = app
            .post(&format!("/api/portal/{portal}/stripe-card"), None, &json!({ "setup_intent": setup_intent }))
            .await;
        assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_payment_method");
    }
    let view = app.get(&format!("/api/portal/{portal}"), None).await;
    assert_eq!(view.body["payment_method"]["last4"], "4242", "the card did not change");
    let answer = json!({"challenge_id": "ch_forged", "outcome": "complete"});
    let forged = app.post(&format!("/api/portal/{portal}/pay-invoice/challenge"), None, &answer).await;
    assert_error(&forged, StatusCode::NOT_FOUND, "challenge_not_found");

    let test_mode = TestApp::new();
    let portal = test_mode.subscribed_portal("acct-test-mode", "pro", "4242424242424242").await;
    for route in ["setup-intent", "stripe-card"] {
        let body = json!({ "setup_intent": "seti_x" });
        assert_error(
            &test_mode.post(&format!("/api/portal/{portal}/{route}"), None, &body).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
}
