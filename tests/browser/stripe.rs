//! The checkout and the portal in Stripe mode, against localstripe (its Stripe.js renders plain
//! inputs named by their placeholders, and a modal for 3-D Secure): the card goes to Stripe's
//! Element, never to our fields or our server.

use super::harness::{Browser, TestServer};
use headless::localstripe::LocalStripe;

/// Types a card into localstripe's Element.
async fn fill_element(browser: &Browser, number: &str) {
    for (placeholder, value) in [("number", number), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123")] {
        let selector = format!(".stripe-card input[placeholder='{placeholder}']");
        let input = browser.client.wait().for_element(fantoccini::Locator::Css(&selector)).await.unwrap();
        input.send_keys(value).await.unwrap();
    }
}

async fn open_stripe_checkout(server: &TestServer, account: &str) -> Browser {
    let url = server.checkout_session(account, "pro").await;
    let browser = Browser::open().await;
    browser.goto(&url).await;
    browser.wait_for_heading("Subscribe to Kiro Pro").await;
    browser
}

async fn subscribe_with(browser: &Browser, number: &str) {
    fill_element(browser, number).await;
    browser.fill("Name on card", "Ada Lovelace").await;
    browser.fill("ZIP code", "94107").await;
    browser.click_button("Subscribe").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_in_stripes_element_subscribes() {
    let stripe = LocalStripe::start();
    let server = TestServer::start_stripe(&stripe).await;
    let browser = open_stripe_checkout(&server, "acct-stripe-4242").await;
    assert!(browser.client.find(fantoccini::Locator::Id("card-number")).await.is_err(), "no card fields of ours");
    browser.screenshot("stripe-checkout").await;
    subscribe_with(&browser, "4242424242424242").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert!(browser.text().await.contains("$10.00"));
    browser.audit("the Stripe-mode success page").await;
    assert_eq!(server.invoices("acct-stripe-4242").await.len(), 1);
    let received = server.faults.received.lock().unwrap().clone();
    assert!(received.iter().any(|r| r.contains("/stripe-card")), "the page saved the card through Stripe");
    for request in &received {
        assert!(
            !request.contains("4242424242424242") && !request.contains("\"cvc\""),
            "card data reached us: {request}"
        );
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_stripe_declines_says_so_and_charges_nothing() {
    let stripe = LocalStripe::start();
    let server = TestServer::start_stripe(&stripe).await;
    for (account, number) in [("acct-stripe-0002", "4000000000000002"), ("acct-stripe-9995", "4000000000009995")] {
        let browser = open_stripe_checkout(&server, account).await;
        subscribe_with(&browser, number).await;
        browser.wait_for_text("Your card was declined.").await;
        assert!(server.invoices(account).await.is_empty());
        browser.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_runs_in_stripe_js_and_can_fail_then_complete() {
    let stripe = LocalStripe::start();
    let server = TestServer::start_stripe(&stripe).await;
    let browser = open_stripe_checkout(&server, "acct-stripe-3184").await;
    subscribe_with(&browser, "4000002760003184").await;
    // Saving the card asks the bank, then so does the payment: fail the payment's check first.
    browser.click_button("Complete authentication").await;
    browser.click_button("Fail authentication").await;
    browser.wait_for_text("Your bank couldn't verify this payment.").await;
    assert!(server.invoices("acct-stripe-3184").await.is_empty());
    browser.click_button("Subscribe").await;
    browser.click_button("Complete authentication").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(server.invoices("acct-stripe-3184").await.len(), 1);
    browser.close().await;
}

/// A card saved earlier whose bank asks for 3-D Secure pays a new checkout: no card Element is
/// mounted, so Stripe.js is loaded for the bank's check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_card_whose_bank_asks_pays_a_new_checkout_after_the_check() {
    let (stripe, server) = subscribed_with_stripe("acct-stripe-saved-3ds", "4000002760003184").await;
    // Cancelled, then its period over: Free again, the card kept.
    let portal = server.portal_session("acct-stripe-saved-3ds").await;
    let portal_id = portal.rsplit('/').next().unwrap();
    let cancel = format!("{}/api/portal/{portal_id}/cancel", server.base);
    assert!(server.http.post(cancel).send().await.unwrap().status().is_success());
    server.set_clock("2026-12-01T01:00:00Z").await;
    let browser = open_stripe_checkout(&server, "acct-stripe-saved-3ds").await;
    browser.wait_for_text("Visa ending in 3184").await;
    browser.click_button("Subscribe").await;
    browser.click_button("Complete authentication").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(stripe.succeeded_payments().await.len(), 2, "the first checkout, then this one");
    browser.close().await;
}

/// localstripe, and a Stripe-mode server on which `account` has paid a Pro checkout with `card`.
async fn subscribed_with_stripe(account: &str, card: &str) -> (LocalStripe, TestServer) {
    let stripe = LocalStripe::start();
    let server = TestServer::start_stripe(&stripe).await;
    server.subscribe_with_stripe(&stripe, account, card).await;
    (stripe, server)
}

/// No request the pages made to our server carried card data.
fn assert_no_card_data(server: &TestServer, numbers: &[&str]) {
    let received = server.faults.received.lock().unwrap().clone();
    for request in &received {
        let leaked = numbers.iter().any(|n| request.contains(n)) || request.contains("\"cvc\"");
        assert!(!leaked, "card data reached us: {request}");
    }
}

/// The card saved with Stripe at checkout pays an upgrade off-session: no card form, one charge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_upgrade_is_charged_to_the_card_on_file_through_stripe() {
    let (stripe, server) = subscribed_with_stripe("acct-stripe-up-4242", "4242424242424242").await;
    let portal = server.portal_session("acct-stripe-up-4242").await;
    let browser = Browser::open().await;
    super::portal::choose(&browser, &portal, "Kiro Pro+").await;
    assert!(browser.text().await.contains("$10.00 will be charged to Visa ending in 4242."));
    browser.click_button("Confirm").await;
    browser.wait_for_heading("You're now on Kiro Pro+").await;
    assert!(browser.text().await.contains("We charged $10.00 to Visa ending in 4242."));
    assert_eq!(stripe.succeeded_payments().await, [1000, 1000], "the checkout, then the upgrade");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_upgrade_on_a_3_d_secure_card_runs_the_check_in_stripe_js() {
    let (stripe, server) = subscribed_with_stripe("acct-stripe-up", "4000002760003184").await;
    let portal = server.portal_session("acct-stripe-up").await;
    let browser = Browser::open().await;
    super::portal::choose(&browser, &portal, "Kiro Pro+").await;
    browser.click_button("Confirm").await;
    // Stripe.js's own modal, not our test-mode dialog.
    browser.click_button("Fail authentication").await;
    browser.wait_for_text("Your bank couldn't verify this payment.").await;
    assert_eq!(server.subscription("acct-stripe-up").await["plan"], "pro");
    browser.click_button("Confirm").await;
    browser.click_button("Complete authentication").await;
    browser.wait_for_heading("You're now on Kiro Pro+").await;
    assert!(browser.text().await.contains("Visa ending in 3184"));
    assert_eq!(server.invoices("acct-stripe-up").await.len(), 2);
    assert_eq!(stripe.succeeded_payments().await.len(), 2, "charged once for each");
    browser.close().await;
}

/// 0341 saves in Stripe's Element but its renewal fails: past due, as in test mode; a new card in
/// the Element pays the open invoice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_is_cleared_with_a_new_card_in_stripes_element() {
    let (_stripe, server) = subscribed_with_stripe("acct-stripe-late", "4242424242424242").await;
    // A phone's width: Stripe's Element and our fields in one column.
    let browser = Browser::open_sized(375, 812).await;
    let save_card = |number: &'static str| {
        let browser = &browser;
        async move {
            browser.link("Update payment method").await.click().await.unwrap();
            browser.wait_for_heading("Update payment method").await;
            assert!(
                browser.client.find(fantoccini::Locator::Id("card-number")).await.is_err(),
                "no card fields of ours"
            );
            fill_element(browser, number).await;
            browser.fill("Name on card", "Ada Lovelace").await;
            browser.fill("ZIP code", "10001").await;
            browser.screenshot("stripe-portal-card").await;
            browser.click_button("Save card").await;
            browser.wait_for_heading("Your card is updated").await;
        }
    };
    browser.goto(&server.portal_session("acct-stripe-late").await).await;
    browser.wait_for_heading("Your subscription").await;
    save_card("4000000000000341").await;
    assert!(browser.text().await.contains("Visa ending in 0341 will be charged from now on."));

    server.set_clock("2026-12-01T01:00:00Z").await;
    assert_eq!(server.subscription("acct-stripe-late").await["status"], "past_due");
    browser.goto(&server.portal_session("acct-stripe-late").await).await;
    browser.wait_for_text("Your payment failed.").await;
    save_card("4242424242424242").await;
    assert!(browser.text().await.contains("We also paid your open invoice of $20.00"));
    assert_eq!(server.subscription("acct-stripe-late").await["status"], "active");
    assert!(server.invoices("acct-stripe-late").await.iter().all(|(_, status)| status == "paid"));
    assert_no_card_data(&server, &["4242424242424242", "4000000000000341"]);
    browser.close().await;
}

/// A card whose bank asks for 3-D Secure cannot renew off-session: past due; **Pay** in the
/// banner runs the bank's check in Stripe.js and the plan is active again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_due_invoice_is_paid_after_the_banks_check_in_stripe_js() {
    let (_stripe, server) = subscribed_with_stripe("acct-stripe-3ds-late", "4000002760003184").await;
    server.set_clock("2026-12-01T01:00:00Z").await;
    assert_eq!(server.subscription("acct-stripe-3ds-late").await["status"], "past_due");
    let browser = Browser::open().await;
    browser.goto(&server.portal_session("acct-stripe-3ds-late").await).await;
    browser.wait_for_text("Your payment failed.").await;
    browser.click_button("Pay $20.00 with Visa ending in 3184").await;
    browser.click_button("Complete authentication").await;
    super::harness::eventually("the plan is active again", || async {
        server.subscription("acct-stripe-3ds-late").await["status"] == "active"
    })
    .await;
    browser.wait_until("the banner goes", "!document.body.innerText.includes('Your payment failed.')", vec![]).await;
    assert!(server.invoices("acct-stripe-3ds-late").await.iter().all(|(_, status)| status == "paid"));
    browser.close().await;
}
