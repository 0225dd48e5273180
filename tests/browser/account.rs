//! Living with a subscription over months (the test clock): renewals and the billing history,
//! past due and paying it, replacing the card, cancel and resume, overage, scheduled downgrades.

use super::harness::{Browser, TestServer, eventually};
use serde_json::json;

async fn open_home(browser: &Browser, server: &TestServer, account: &str) {
    browser.goto(&server.portal_session(account).await).await;
    browser.wait_for_portal_home().await;
}

/// The billing history's rows, each as its text with spaces collapsed.
async fn table_rows(browser: &Browser) -> serde_json::Value {
    let script = "return [...document.querySelectorAll('tbody tr')].map(r => r.innerText.replace(/\\s+/g, ' ').trim())";
    browser.client.execute(script, vec![]).await.unwrap()
}

async fn fill_new_card(browser: &Browser, number: &str) {
    browser.fill("Card number", number).await;
    browser.fill("Expiry date (MM / YY)", "1235").await;
    browser.fill("Security code", "123").await;
    browser.fill("Name on card", "Ada Lovelace").await;
    browser.fill("ZIP code", "10001").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_renewals_make_three_invoices_that_print_without_chrome() {
    let server = TestServer::start().await;
    server.subscribe("acct-renew", "pro", "4242424242424242").await;
    for now in [
        "2026-12-01T00:00:00Z",
        "2026-12-20T00:00:00Z",
        "2027-01-01T00:00:00Z",
        "2027-02-01T00:00:00Z",
        "2027-02-02T00:00:00Z",
    ] {
        server.set_clock(now).await;
    }
    let amounts: Vec<i64> = server.invoices("acct-renew").await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(amounts, vec![1000, 2000, 2000, 2000]);
    let browser = Browser::open().await;
    open_home(&browser, &server, "acct-renew").await;
    browser.link("View invoices").await.click().await.unwrap();
    browser.wait_for_heading("Billing history").await;
    browser.wait_for_text("KIRO-000004").await;
    let rows = table_rows(&browser).await;
    assert_eq!(
        rows,
        json!([
            "February 1, 2027 KIRO-000004 $20.00 Paid",
            "January 1, 2027 KIRO-000003 $20.00 Paid",
            "December 1, 2026 KIRO-000002 $20.00 Paid",
            "November 16, 2026 KIRO-000001 $10.00 Paid"
        ])
    );
    browser.audit("the billing history").await;
    browser.link("KIRO-000004").await.click().await.unwrap();
    browser.wait_for_heading("Invoice KIRO-000004").await;
    let text = browser.text().await;
    for expected in ["Kiro Pro for February 2027", "$20.00", "Visa ending in 4242", "dev@example.com", "Paid"] {
        assert!(text.contains(expected), "missing {expected:?}:\n{text}");
    }
    browser.audit("an invoice").await;
    browser.cdp("Emulation.setEmulatedMedia", json!({"media": "print"})).await;
    let chrome_hidden = browser
        .client
        .execute(
            "return ['.topbar', '.legal', '.no-print'].every(s => getComputedStyle(document.querySelector(s)).display === 'none')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chrome_hidden, json!(true), "the header, footer and buttons print");
    browser.screenshot("invoice-print").await;
    browser.close().await;
}

/// Support refunds $4.00 of the first invoice: the billing history and the printable invoice say
/// so, with the credit note, and the plan stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_refunded_invoice_shows_its_refund_and_credit_note() {
    let server = TestServer::start().await;
    server.subscribe("acct-refunded", "pro", "4242424242424242").await;
    let (_, invoices) = server.api(reqwest::Method::GET, "/v1/accounts/acct-refunded/invoices", None).await;
    let invoice = invoices["invoices"][0]["id"].clone();
    let (status, refund) =
        server.api(reqwest::Method::POST, "/v1/refunds", Some(json!({"invoice": invoice, "amount": 400}))).await;
    assert_eq!(status, 201, "{refund}");
    let browser = Browser::open().await;
    open_home(&browser, &server, "acct-refunded").await;
    browser.link("View invoices").await.click().await.unwrap();
    browser.wait_for_heading("Billing history").await;
    browser.wait_for_text("credit note CN-000001").await;
    let rows = table_rows(&browser).await;
    assert_eq!(
        rows,
        json!([
            "November 16, 2026 KIRO-000001 $10.00 Partially refunded Refunded $4.00 on Nov 16 · credit note CN-000001"
        ])
    );
    browser.audit("a partly refunded invoice in the billing history").await;
    browser.link("KIRO-000001").await.click().await.unwrap();
    browser.wait_for_heading("Invoice KIRO-000001").await;
    browser.wait_for_text("Refunded $4.00 on Nov 16 · credit note CN-000001").await;
    assert!(browser.text().await.contains("Partially refunded"));
    browser.audit("a partly refunded invoice").await;
    browser.screenshot("invoice-refunded").await;
    browser.close().await;
    assert_eq!(server.subscription("acct-refunded").await["plan"], "pro", "a refund leaves the plan");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_shows_past_due_and_a_new_card_clears_it() {
    let server = TestServer::start().await;
    server.subscribe("acct-late", "pro", "4000000000000341").await;
    server.set_clock("2026-12-01T01:00:00Z").await;
    assert_eq!(server.subscription("acct-late").await["status"], "past_due");
    let browser = Browser::open().await;
    open_home(&browser, &server, "acct-late").await;
    browser.wait_for_text("Your payment failed.").await;
    let text = browser.text().await;
    assert!(text.contains("We couldn't charge $20.00 for your plan on December 1, 2026"));
    // What is owed now, not the next renewal, until it is paid.
    assert!(text.contains("Due now: $20.00 (December 2026)."), "{text}");
    assert!(!text.contains("Next payment"), "{text}");
    browser.screenshot("portal-past-due").await;
    browser.audit("the past-due banner").await;
    // The card on file fails again.
    browser.click_button("Pay $20.00 with Visa ending in 0341").await;
    browser.wait_for_text("Your card was declined.").await;
    browser.link("Use another card").await.click().await.unwrap();
    browser.wait_for_heading("Update payment method").await;
    browser.wait_for_text("Your payment failed.").await;
    fill_new_card(&browser, "5555555555554444").await;
    browser.click_button("Save card").await;
    browser.wait_for_heading("Your card is updated").await;
    assert!(browser.text().await.contains("We also paid your open invoice of $20.00"));
    browser.link("Back to your subscription").await.click().await.unwrap();
    browser.wait_for_portal_home().await;
    browser.wait_for_text("Mastercard ending in 4444").await;
    assert!(!browser.text().await.contains("Your payment failed."));
    // Paid: the next renewal again, and nothing due.
    browser.wait_for_text("Next payment: $20.00 on January 1, 2027").await;
    assert!(!browser.text().await.contains("Due now"));
    assert_eq!(server.subscription("acct-late").await["status"], "active");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_on_file_can_be_replaced_with_a_3_d_secure_card() {
    let server = TestServer::start().await;
    server.subscribe("acct-3ds-card", "pro", "4242424242424242").await;
    let browser = Browser::open().await;
    open_home(&browser, &server, "acct-3ds-card").await;
    browser.link("Update payment method").await.click().await.unwrap();
    browser.wait_for_heading("Update payment method").await;
    browser.audit("the payment method form").await;
    fill_new_card(&browser, "4000002760003184").await;
    browser.click_button("Save card").await;
    browser.click_button("Complete authentication").await;
    browser.wait_for_heading("Your card is updated").await;
    assert!(browser.text().await.contains("Visa ending in 3184 will be charged from now on."));
    open_home(&browser, &server, "acct-3ds-card").await;
    assert!(browser.text().await.contains("Visa ending in 3184"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_resume_then_cancel_until_the_period_ends() {
    let server = TestServer::start().await;
    server.subscribe("acct-cancel", "pro", "4242424242424242").await;
    let browser = Browser::open().await;
    open_home(&browser, &server, "acct-cancel").await;
    browser.link("Cancel plan").await.click().await.unwrap();
    browser.wait_for_heading("Cancel your plan?").await;
    assert!(browser.text().await.contains("You keep Kiro Pro and its 1,000 credits a month until December 1, 2026."));
    browser.audit("the cancel page").await;
    browser.click_button("Cancel plan").await;
    browser.wait_for_portal_home().await;
    browser.wait_for_text("Your plan ends on December 1, 2026.").await;
    browser.click_button("Resume subscription").await;
    browser.wait_for_text("Next payment: $20.00 on December 1, 2026").await;
    assert_eq!(server.subscription("acct-cancel").await["cancel_at_period_end"], false);

    browser.link("Cancel plan").await.click().await.unwrap();
    browser.click_button("Cancel plan").await;
    browser.wait_for_text("Your plan ends on December 1, 2026.").await;
    server.set_clock("2026-12-01T01:00:00Z").await;
    open_home(&browser, &server, "acct-cancel").await;
    browser.wait_for_text("Your subscription has ended.").await;
    let sub = server.subscription("acct-cancel").await;
    assert_eq!((sub["plan"].as_str(), sub["credits"].as_i64()), (Some("free"), Some(50)));
    assert_eq!(server.invoices("acct-cancel").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overage_turns_on_and_off() {
    let server = TestServer::start().await;
    server.subscribe("acct-over", "pro", "4242424242424242").await;
    let browser = Browser::open().await;
    open_home(&browser, &server, "acct-over").await;
    assert!(browser.text().await.contains("extra credits cost $0.04 each"));
    let switch = "document.querySelector('[role=switch]')";
    browser.client.execute(&format!("{switch}.click()"), vec![]).await.unwrap();
    browser.wait_until("overage on", &format!("{switch}.checked && !{switch}.disabled"), vec![]).await;
    eventually("overage on at the server", || async {
        server.subscription("acct-over").await["overage_enabled"] == true
    })
    .await;
    browser.client.execute(&format!("{switch}.click()"), vec![]).await.unwrap();
    browser.wait_until("overage off", &format!("!{switch}.checked && !{switch}.disabled"), vec![]).await;
    eventually("overage off at the server", || async {
        server.subscription("acct-over").await["overage_enabled"] == false
    })
    .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_downgrade_applies_at_renewal_with_the_lower_amount() {
    let server = TestServer::start().await;
    server.subscribe("acct-step-down", "power", "4242424242424242").await;
    let browser = Browser::open().await;
    open_home(&browser, &server, "acct-step-down").await;
    browser.link("Update subscription").await.click().await.unwrap();
    browser.wait_for_heading("Choose a plan").await;
    browser.client.execute("document.querySelector('input[value=pro]').click()", vec![]).await.unwrap();
    browser.click_button("Continue").await;
    browser.wait_for_heading("Confirm your new plan").await;
    browser.click_button("Confirm").await;
    browser.wait_for_heading("Your plan changes on December 1, 2026").await;
    server.set_clock("2026-12-01T01:00:00Z").await;
    open_home(&browser, &server, "acct-step-down").await;
    let text = browser.text().await;
    assert!(text.contains("Kiro Pro") && text.contains("Next payment: $20.00 on January 1, 2027"), "{text}");
    let amounts: Vec<i64> = server.invoices("acct-step-down").await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(amounts, vec![10000, 2000]);
    browser.close().await;
}
