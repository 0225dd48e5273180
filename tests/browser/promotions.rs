//! The checkout's promotion code as a buyer uses it (issue 22): Add promotion code, a refused code
//! with its plain message, Apply with the discount on its own line and what follows, Remove, and
//! paying the discounted total.

use super::harness::{Browser, TestServer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_code_is_applied_removed_and_paid_with() {
    let server = TestServer::start().await;
    let post = reqwest::Method::POST;
    let coupon = json!({"percent_off": 20, "duration": "repeating", "duration_in_months": 3});
    let (status, coupon) = server.api(post.clone(), "/v1/coupons", Some(coupon)).await;
    assert_eq!(status, 201, "{coupon}");
    let code = json!({"code": "LAUNCH", "coupon": coupon["id"]});
    assert_eq!(server.api(post.clone(), "/v1/promotion_codes", Some(code)).await.0, 201);
    let session = json!({
        "account": {"id": "acct-promo", "email": "dev@example.com", "login": "github", "aws_account_linked": false},
        "plan": "pro", "return_url": "kiro://kiro.kiroAgent/upgrade-success", "allow_promotion_codes": true
    });
    let (status, created) = server.api(post, "/v1/checkout/sessions", Some(session)).await;
    assert_eq!(status, 201, "{created}");

    let browser = Browser::open().await;
    browser.goto(created["url"].as_str().unwrap()).await;
    browser.wait_for_heading("Subscribe to Kiro Pro").await;
    browser.click_button("Add promotion code").await;
    browser.fill("Promotion code", "NOTACODE").await;
    browser.click_button("Apply").await;
    browser.wait_for_text("That code isn't valid. Check it and try again.").await;
    assert!(!browser.text().await.contains("20%"), "the coupon shows before the code is valid");

    browser.fill("Promotion code", "launch").await;
    browser.click_button("Apply").await;
    browser.wait_for_text("Promotion LAUNCH (20% off)").await;
    let text = browser.text().await;
    for expected in ["-$2.00", "$8.00", "then $16.00 per month for 3 months, then $20.00", "LAUNCH applied: 20% off."] {
        assert!(text.to_lowercase().contains(&expected.to_lowercase()), "missing {expected:?} in:\n{text}");
    }
    browser.screenshot("checkout-promotion-applied").await;

    browser.click_button("Remove").await;
    browser.wait_for_text("Add promotion code").await;
    assert!(!browser.text().await.contains("Promotion LAUNCH"));
    browser.click_button("Add promotion code").await;
    browser.fill("Promotion code", "LAUNCH").await;
    browser.click_button("Apply").await;
    browser.wait_for_text("Promotion LAUNCH (20% off)").await;

    browser.fill("Card number", "4242424242424242").await;
    browser.fill("Expiry date (MM / YY)", "1234").await;
    browser.fill("Security code", "123").await;
    browser.fill("Name on card", "Ada Lovelace").await;
    browser.fill("ZIP code", "94107").await;
    browser.click_button("Subscribe").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert!(browser.text().await.contains("$16.00 on December 1, 2026"));
    assert_eq!(server.invoices("acct-promo").await, vec![(800, "paid".to_string())]);
    browser.close().await;
}

/// The portal shows the running discount and when it ends, and says before Confirm that a plan
/// the coupon does not cover is charged at the full price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_shows_the_running_discount_and_what_it_does_not_cover() {
    let server = TestServer::start().await;
    let post = reqwest::Method::POST;
    let coupon = json!({"amount_off": 500, "duration": "forever", "applies_to": {"plans": ["pro"]}});
    let (_, coupon) = server.api(post.clone(), "/v1/coupons", Some(coupon)).await;
    let code = json!({"code": "PROFIVE", "coupon": coupon["id"]});
    assert_eq!(server.api(post.clone(), "/v1/promotion_codes", Some(code)).await.0, 201);
    let session = json!({
        "account": {"id": "acct-promo-portal", "email": "dev@example.com", "login": "github", "aws_account_linked": false},
        "plan": "pro", "return_url": "kiro://kiro.kiroAgent/upgrade-success", "promotion_code": "profive"
    });
    let (status, created) = server.api(post, "/v1/checkout/sessions", Some(session)).await;
    assert_eq!(status, 201, "{created}");
    let session = created["id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let card =
        json!({"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123", "name": "Ada Lovelace"});
    let token: serde_json::Value = http
        .post(format!("{}/api/checkout/{session}/card", server.base))
        .json(&card)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // $10.00 for the rest of November, less $5.00.
    let confirm = json!({"email": "dev@example.com", "payment_method": token["id"],
                         "billing": {"country": "US", "postal_code": "94107"}, "expected_total": 500, "idempotency_key": "k"});
    let paid: serde_json::Value = http
        .post(format!("{}/api/checkout/{session}/confirm", server.base))
        .json(&confirm)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["status"], "succeeded", "{paid}");

    let portal = server.portal_session("acct-promo-portal").await;
    let browser = Browser::open().await;
    browser.goto(&portal).await;
    browser.wait_for_heading("Your subscription").await;
    let home = browser.text().await;
    for expected in [
        "Promotion PROFIVE: $5.00 off your payments (Kiro Pro only) for as long as you stay subscribed.",
        "Next payment: $15.00 on December 1, 2026",
    ] {
        assert!(home.contains(expected), "missing {expected:?} in:\n{home}");
    }
    super::portal::choose(&browser, &portal, "Kiro Power").await;
    browser
        .wait_for_text("Your promotion PROFIVE ($5.00 off) doesn't cover Kiro Power: it is charged at the full price.")
        .await;
    browser.screenshot("portal-promotion-not-covered").await;
    browser.close().await;
}

/// 100% off forever: the page asks for no card, and Subscribe subscribes. In the portal, an
/// upgrade the discount covers needs no card either; one it doesn't asks for a card instead of
/// offering a Confirm the server would refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forever_free_code_subscribes_without_a_card() {
    let server = TestServer::start().await;
    let post = reqwest::Method::POST;
    let coupon = json!({"percent_off": 100, "duration": "forever", "applies_to": {"plans": ["pro", "pro_plus"]}});
    let (_, coupon) = server.api(post.clone(), "/v1/coupons", Some(coupon)).await;
    let code = json!({"code": "STAFF", "coupon": coupon["id"]});
    assert_eq!(server.api(post.clone(), "/v1/promotion_codes", Some(code)).await.0, 201);
    let session = json!({
        "account": {"id": "acct-staff", "email": "dev@example.com", "login": "github", "aws_account_linked": false},
        "plan": "pro", "return_url": "kiro://kiro.kiroAgent/upgrade-success", "promotion_code": "STAFF"
    });
    let (_, created) = server.api(post, "/v1/checkout/sessions", Some(session)).await;
    let browser = Browser::open().await;
    browser.goto(created["url"].as_str().unwrap()).await;
    browser.wait_for_heading("Subscribe to Kiro Pro").await;
    browser.wait_for_text("Your promotion makes every payment $0.00, so no card is needed.").await;
    assert!(!browser.text().await.contains("Card number"));
    browser.click_button("Subscribe").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(server.invoices("acct-staff").await, vec![(0, "paid".to_string())]);

    let portal = server.portal_session("acct-staff").await;
    super::portal::choose(&browser, &portal, "Kiro Power").await;
    browser
        .wait_for_text("This plan needs a card on file for its payments. Add one, then choose the plan again.")
        .await;
    let confirms = browser.client.find_all(fantoccini::Locator::XPath("//button[normalize-space()='Confirm']")).await;
    assert!(confirms.unwrap().is_empty(), "a Confirm that can't work:\n{}", browser.text().await);
    let add_card = browser.link("Update payment method").await;
    assert!(add_card.attr("href").await.unwrap().unwrap_or_default().ends_with("/payment-method"));
    browser.audit("a change that needs a card").await;
    browser.screenshot("portal-change-needs-card").await;
    super::portal::choose(&browser, &portal, "Kiro Pro+").await;
    browser.click_button("Confirm").await;
    browser.wait_for_heading("You're now on Kiro Pro+").await;
    assert_eq!(server.invoices("acct-staff").await, vec![(0, "paid".to_string()), (0, "paid".to_string())]);
    browser.close().await;
}
