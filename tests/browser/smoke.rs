//! The states every page needs: a session that loads, an unknown one, an expired one, and a
//! server that goes away under a loaded page.

use super::harness::{Browser, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_checkout_shows_its_plan_and_price() {
    let server = TestServer::start().await;
    let url = server.checkout_session("acct-smoke", "pro_plus").await;
    let browser = Browser::open().await;
    browser.goto(&url).await;
    browser.wait_for_heading("Subscribe to Kiro Pro+").await;
    let text = browser.text().await;
    assert!(text.contains("$40.00"), "{text}");
    assert!(text.contains("per month"), "{text}");
    assert!(text.contains("2,000 credits every month"), "{text}");
    assert!(text.contains("Test mode") || text.contains("TEST MODE"), "{text}");
    assert!(
        text.contains("Payments are processed by Stripe. Amazon Web Services, Inc. is your contracting party."),
        "{text}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_has_its_own_page() {
    let server = TestServer::start().await;
    let browser = Browser::open().await;
    browser.goto(&format!("{}/checkout/cs_doesnotexist0000000000000000000", server.base)).await;
    browser.wait_for_heading("This link doesn't work").await;
    assert!(browser.text().await.contains("start again from Kiro"));
    browser.goto(&format!("{}/somewhere/else", server.base)).await;
    browser.wait_for_heading("Page not found").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_has_its_own_page() {
    let server = TestServer::start().await;
    let url = server.checkout_session("acct-expired", "pro").await;
    server.set_clock("2026-11-17T00:00:01Z").await;
    let browser = Browser::open().await;
    browser.goto(&url).await;
    browser.wait_for_heading("This link has expired").await;
    assert!(browser.text().await.contains("nothing has been charged"));
    browser.audit("the expired page").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_shows_unreachable_and_retry_recovers() {
    let server = TestServer::start().await;
    let url = server.checkout_session("acct-away", "power").await;
    let browser = Browser::open().await;
    // The page loads but its API does not answer (as when the connection drops after the HTML).
    browser.cdp("Network.enable", serde_json::json!({})).await;
    browser.cdp("Network.setBlockedURLs", serde_json::json!({"urls": ["*/api/checkout/*"]})).await;
    browser.goto(&url).await;
    browser.wait_for_heading("We can't reach the server").await;
    browser.audit("the unreachable page").await;

    browser.cdp("Network.setBlockedURLs", serde_json::json!({"urls": []})).await;
    browser.click_button("Retry").await;
    browser.wait_for_heading("Subscribe to Kiro Power").await;
    assert!(browser.text().await.contains("$200.00"));
    browser.close().await;
}

/// The portal moves between pages without reloading (past its home, which has its own bundle):
/// when the server goes away meanwhile, the next page says so and Retry recovers once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_whose_server_goes_away_shows_unreachable_and_retry_recovers() {
    let mut server = TestServer::start().await;
    server.subscribe("acct-away-a", "pro", "4242424242424242").await;
    server.subscribe("acct-away-b", "power", "4242424242424242").await;
    let first = server.portal_session("acct-away-a").await;
    let second = server.portal_session("acct-away-b").await;
    let browser = Browser::open().await;
    browser.goto(&format!("{first}/update")).await;
    browser.wait_for_heading("Choose a plan").await;
    assert!(browser.text().await.contains("Kiro Pro"));

    server.stop().await;
    let path = second.trim_start_matches(&server.base).to_string();
    browser
        .client
        .execute(
            "history.pushState({}, '', arguments[0]); dispatchEvent(new PopStateEvent('popstate'));",
            vec![path.into()],
        )
        .await
        .unwrap();
    browser.wait_for_heading("We can't reach the server").await;
    browser.audit("the portal's unreachable page").await;

    server.restart().await;
    browser.click_button("Retry").await;
    browser.wait_for_heading("Your subscription").await;
    assert!(browser.text().await.contains("Kiro Power"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accessibility_audit_catches_violations() {
    use futures_util::FutureExt;
    let browser = Browser::open().await;
    browser.goto("data:text/html,<html><body><img src='x.png'><input type='text'><p style='color:%23ccc'>faint</p></body></html>").await;
    let audit = std::panic::AssertUnwindSafe(browser.audit("a page built to fail")).catch_unwind().await;
    let message = audit.expect_err("the audit passed a page without alt text, labels or contrast");
    let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
    for rule in ["image-alt", "label", "html-has-lang"] {
        assert!(message.contains(rule), "{rule} not reported:\n{message}");
    }
    browser.close().await;
}
