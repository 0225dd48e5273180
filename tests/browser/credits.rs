//! Credits on the portal home (issue 33): used against the plan's as a meter, the overage so far
//! and when it is billed, the chart of credits by day with its words, and the spending limit.

use super::harness::{Browser, TestServer};
use serde_json::{Value, json};

/// Reports `value` credits for `account` at `timestamp` (Unix seconds).
async fn report(server: &TestServer, identifier: &str, account: &str, value: &str, timestamp: i64) {
    let event = json!({"event_name": "kiro_credits", "identifier": identifier, "timestamp": timestamp,
                       "payload": {"account_id": account, "value": value}});
    let (status, body) = server.api(reqwest::Method::POST, "/v1/billing/meter_events", Some(event)).await;
    assert_eq!(status, 201, "{body}");
}

async fn credits(server: &TestServer, account: &str) -> Value {
    server.api(reqwest::Method::GET, &format!("/v1/accounts/{account}/credits"), None).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_shows_credits_a_chart_and_takes_a_spending_limit() {
    let server = TestServer::start().await;
    server.subscribe("acct-credits", "pro", "4242424242424242").await;
    // Nov 16 (the clock's start) and Nov 17.
    server.set_clock("2026-11-17T12:00:00Z").await;
    report(&server, "c1", "acct-credits", "700.50", 1_794_787_200 + 3_600).await;
    report(&server, "c2", "acct-credits", "511.95", 1_794_873_600 + 3_600).await;
    let portal = server.portal_session("acct-credits").await;
    let browser = Browser::open().await;
    browser.goto(&portal).await;
    browser.wait_for_portal_home().await;
    browser.wait_for_text("1,212.45 of 1,000.00 credits used").await;
    let meter = "const m = document.querySelector('meter'); return [m.getAttribute('value'), m.getAttribute('max'), \
                 m.labels.length || document.getElementById(m.getAttribute('aria-labelledby')).textContent]";
    let read = browser.client.execute(meter, vec![]).await.unwrap();
    assert_eq!(read, json!(["1212", "1000", "1,212.45 of 1,000.00 credits used"]));
    // The chart: one bar a day used, and its words.
    browser.wait_for_text("Credits used each day, Nov 1 to Nov 17. The most in one day: 700.50.").await;
    let bars = browser.client.execute("return document.querySelectorAll('.usage-chart rect').length", vec![]).await;
    assert_eq!(bars.unwrap(), json!(2));
    let svg = "const s = document.querySelector('.usage-chart svg'); return [s.getAttribute('role'), \
               document.getElementById(s.getAttribute('aria-labelledby')).tagName]";
    assert_eq!(browser.client.execute(svg, vec![]).await.unwrap(), json!(["img", "FIGCAPTION"]));
    browser.audit("the home with credits").await;

    // Overage on: what it has cost so far and when it is billed, and the way to a limit.
    let switch = browser.client.find(fantoccini::Locator::Css("input[role=switch]")).await.unwrap();
    switch.click().await.unwrap();
    browser.wait_for_text("No spending limit: overage is billed whatever it comes to.").await;
    report(&server, "c3", "acct-credits", "100", 1_794_873_600 + 7_200).await;
    browser.client.refresh().await.unwrap();
    browser.wait_for_text("Overage so far: 100.00 credits, $4.00, billed on December 1, 2026.").await;
    // The text is in the server's first paint too: the app takes it over (and replaces its link)
    // before the link is clicked.
    browser.wait_until("the home ready", "performance.getEntriesByName('portal-ready').length > 0", vec![]).await;
    browser.link("Set a spending limit").await.click().await.unwrap();
    browser.wait_for_heading("Spending limit on overage").await;
    let label = "Monthly spending limit on overage, in US dollars (optional)";
    browser.fill(label, "2.5.0").await;
    browser.click_button("Save limit").await;
    browser.wait_for_text("Enter an amount in dollars, such as 25 or 25.50, or leave it empty for no limit.").await;
    let invalid = "return document.getElementById('spending-limit').getAttribute('aria-invalid')";
    assert_eq!(browser.client.execute(invalid, vec![]).await.unwrap(), json!("true"));
    browser.audit("the spending limit's page with an error").await;
    browser.fill(label, "4").await;
    browser.click_button("Save limit").await;
    browser.wait_for_portal_home().await;
    browser.wait_for_text("Spending limit: $4.00 a month.").await;
    assert_eq!(credits(&server, "acct-credits").await["spending_limit"], 400);
    assert_eq!(credits(&server, "acct-credits").await["can_use"], false, "$4.00 of overage reached it");
    browser.audit("the home with a spending limit").await;
    browser.screenshot("portal-credits-1280").await;
    browser.close().await;

    let narrow = Browser::open_sized(375, 812).await;
    narrow.goto(&portal).await;
    narrow.wait_for_text("1,312.45 of 1,000.00 credits used").await;
    narrow.screenshot("portal-credits-375").await;
    narrow.link("Change the limit").await.click().await.unwrap();
    narrow.wait_for_heading("Spending limit on overage").await;
    assert_eq!(narrow.value_of(label).await, "4.00");
    // Emptied: no limit.
    narrow.fill(label, "").await;
    narrow.click_button("Save limit").await;
    narrow.wait_for_text("No spending limit: overage is billed whatever it comes to.").await;
    assert_eq!(credits(&server, "acct-credits").await["can_use"], true);
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    assert_eq!(narrow.client.execute(fits, vec![]).await.unwrap(), json!(true));
    narrow.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_german_credits_and_the_invoices_overage_line_use_the_locales_numbers() {
    let server = TestServer::start().await;
    server.subscribe("acct-credits-de", "pro", "4242424242424242").await;
    let portal = portal_in_german(&server).await;
    let id = portal.rsplit('/').next().unwrap().to_string();
    let on =
        reqwest::Client::new().post(format!("{}/api/portal/{id}/overage", server.base)).json(&json!({"enabled": true}));
    assert!(on.send().await.unwrap().status().is_success());
    report(&server, "g1", "acct-credits-de", "1012.45", 1_794_787_200).await;
    let browser = Browser::open().await;
    browser.goto(&portal).await;
    browser.wait_for_text("1.012,45 von 1.000,00 Credits verbraucht").await;
    browser.audit("the German home with credits").await;

    // The renewal, final after the grace hour, bills the overage: its line in German.
    server.set_clock("2026-12-01T01:00:00Z").await;
    let (_, invoices) = server.api(reqwest::Method::GET, "/v1/accounts/acct-credits-de/invoices", None).await;
    let renewal = invoices["invoices"][1]["id"].as_str().unwrap().to_string();
    let portal = portal_in_german(&server).await;
    browser.goto(&format!("{portal}/invoices/{renewal}")).await;
    browser.wait_for_text("12,45 Credits zu je 0,04").await;
    let text = browser.text().await;
    assert!(text.contains("Mehrverbrauch, "), "{text}");
    browser.audit("the German invoice with its overage line").await;
    browser.close().await;
}

/// A portal session for the German account, in German; its URL.
async fn portal_in_german(server: &TestServer) -> String {
    let request =
        json!({"account_id": "acct-credits-de", "return_url": "kiro://kiro.kiroAgent/manage-plan", "locale": "de"});
    let (status, body) = server.api(reqwest::Method::POST, "/v1/portal/sessions", Some(request)).await;
    assert_eq!(status, 201, "{body}");
    body["url"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrades_confirm_page_says_the_months_usage_is_rerated() {
    let server = TestServer::start().await;
    server.subscribe("acct-rerate", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-rerate").await;
    let id = portal.rsplit('/').next().unwrap();
    let on =
        reqwest::Client::new().post(format!("{}/api/portal/{id}/overage", server.base)).json(&json!({"enabled": true}));
    assert!(on.send().await.unwrap().status().is_success());
    report(&server, "r1", "acct-rerate", "1500", 1_794_787_200).await;
    let browser = Browser::open().await;
    super::portal::choose(&browser, &portal, "Kiro Pro+").await;
    browser
        .wait_for_text(
            "The 1,500.00 credits you've used this month count against Kiro Pro+'s 2,000.00 credits from today. \
             Overage this month: $0.00 instead of $20.00.",
        )
        .await;
    browser.audit("the confirm page with usage re-rated").await;
    browser.click_button("Confirm").await;
    browser.wait_for_heading("You're now on Kiro Pro+").await;
    assert_eq!(credits(&server, "acct-rerate").await["overage_credits"], "0.00");
    browser.close().await;
}
