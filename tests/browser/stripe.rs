//! The checkout in Stripe mode, against localstripe (its Stripe.js renders plain inputs named by
//! their placeholders, and a modal for 3-D Secure): the card goes to Stripe's Element, never to
//! our fields or our server.

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
