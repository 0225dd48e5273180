//! The checkout as a user lives it: every test card, every field error, double submits, reloads,
//! dropped connections, 3-D Secure, the pages for sessions that can't pay, the keyboard.

use super::harness::{Browser, TestServer, eventually};
use serde_json::json;
use std::sync::atomic::Ordering;

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Fills the card form (the email is prefilled) with a valid card of `number`.
async fn fill_card(browser: &Browser, number: &str, cvc: &str) {
    browser.fill("Card number", number).await;
    browser.fill("Expiry date (MM / YY)", "1234").await;
    browser.fill("Security code", cvc).await;
    browser.fill("Name on card", "Ada Lovelace").await;
    browser.fill("ZIP code", "94107").await;
}

async fn pay(browser: &Browser, number: &str, cvc: &str) {
    fill_card(browser, number, cvc).await;
    browser.click_button("Subscribe").await;
}

/// The id of the element that has the focus.
async fn focused_id(browser: &Browser) -> String {
    let id = browser.client.execute("return document.activeElement && document.activeElement.id", vec![]).await;
    id.unwrap().as_str().unwrap_or_default().to_string()
}

async fn open_checkout(server: &TestServer, account: &str, plan: &str) -> Browser {
    let url = server.checkout_session(account, plan).await;
    let browser = Browser::open().await;
    browser.goto(&url).await;
    browser.wait_for_heading(&format!("Subscribe to {}", plan_name(plan))).await;
    browser
}

fn plan_name(plan: &str) -> &'static str {
    match plan {
        "pro" => "Kiro Pro",
        "pro_plus" => "Kiro Pro+",
        _ => "Kiro Power",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_explains_todays_prorated_charge() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-summary", "pro").await;
    let text = browser.text().await;
    for expected in [
        "$20.00",
        "1,000 credits every month",
        "Kiro Pro from Nov 16 to Dec 1",
        "$10.00",
        "Total due today",
        "Then $20.00 per month from Dec 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(browser.value_of("Email").await, "dev@example.com");
    browser.screenshot("checkout-1280").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_successful_test_cards_subscribe_and_get_started_returns_to_kiro() {
    let server = TestServer::start().await;
    for (i, (number, cvc, brand, shown)) in [
        ("4242424242424242", "123", "Visa", "4242 4242 4242 4242"),
        ("5555555555554444", "123", "Mastercard", "5555 5555 5555 4444"),
        ("378282246310005", "1234", "American Express", "3782 822463 10005"),
    ]
    .into_iter()
    .enumerate()
    {
        let account = format!("acct-ok-{i}");
        let browser = open_checkout(&server, &account, "pro").await;
        fill_card(&browser, number, cvc).await;
        assert_eq!(browser.value_of("Card number").await, shown, "as-you-type grouping");
        assert!(browser.text().await.contains(brand), "brand shown for {number}");
        browser.click_button("Subscribe").await;
        browser.wait_for_heading("You're subscribed to Kiro Pro").await;
        let text = browser.text().await;
        assert!(text.contains("1,000 credits a month are ready to use"), "{text}");
        assert!(text.contains(&format!("$10.00 to {brand} ending in {}", &number[number.len() - 4..])), "{text}");
        assert!(text.contains("$20.00 on December 1, 2026"), "{text}");
        let href = browser.link("Get started").await.attr("href").await.unwrap().unwrap();
        assert!(href.starts_with("kiro://kiro.kiroAgent/upgrade-success?session_id=cs_"), "{href}");
        if i == 0 {
            browser.screenshot("checkout-success").await;
            browser.audit("the checkout success page").await;
        }
        // Reloading shows the success again and charges nothing more.
        browser.client.refresh().await.unwrap();
        browser.wait_for_heading("You're subscribed to Kiro Pro").await;
        assert_eq!(server.invoices(&account).await, vec![(1000, "paid".to_string())]);
        let sub = server.subscription(&account).await;
        assert_eq!((sub["plan"].as_str(), sub["credits"].as_i64()), (Some("pro"), Some(1000)));
        browser.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_say_why_keep_the_form_and_take_focus() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-declines", "pro").await;
    for (number, message) in [
        ("4000000000000002", "Your card was declined. Try another card, or contact your bank."),
        ("4000000000009995", "Your card was declined for insufficient funds."),
        ("4000000000000069", "Your card has expired."),
        ("4000000000000127", "Your card's security code is incorrect."),
    ] {
        pay(&browser, number, "123").await;
        browser.wait_for_text(message).await;
        // The decline is announced (role=alert) and focused; every field keeps its value.
        browser.wait_until("focus on the decline", "document.activeElement.closest('[role=alert]')", vec![]).await;
        assert_eq!(browser.value_of("Name on card").await, "Ada Lovelace");
        assert_eq!(browser.value_of("ZIP code").await, "94107");
        assert_eq!(browser.value_of("Email").await, "dev@example.com");
    }
    assert!(server.invoices("acct-declines").await.is_empty());
    // The fifth decline locks the session.
    pay(&browser, "4000000000000119", "123").await;
    browser.wait_for_heading("This checkout is locked").await;
    browser.audit("the locked page").await;
    browser.client.refresh().await.unwrap();
    browser.wait_for_heading("This checkout is locked").await;
    assert!(server.invoices("acct-declines").await.is_empty());
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_errors_and_non_test_cards_are_explained() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-processing", "pro").await;
    pay(&browser, "4000000000000119", "123").await;
    browser.wait_for_text("We couldn't process your card just now. Try again in a moment").await;
    pay(&browser, "6011111111111117", "123").await;
    browser.wait_for_text("this is test mode, which accepts only test cards").await;
    // A card that fails later still pays the first time.
    pay(&browser, "4000000000000341", "123").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(server.invoices("acct-processing").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_failing_luhn_is_caught_before_any_request() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-luhn", "pro").await;
    fill_card(&browser, "4242424242424241", "123").await;
    browser.wait_for_text("Your card number is invalid. Check it and try again.").await;
    let number = browser.field("Card number").await;
    assert_eq!(number.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert_eq!(number.attr("aria-describedby").await.unwrap().as_deref(), Some("card-number-error"));
    // Subscribe is never greyed out: pressed, it says what needs attention and sends nothing.
    assert!(browser.button("Subscribe").await.is_enabled().await.unwrap());
    browser.button("Subscribe").await.click().await.unwrap();
    browser.wait_for_text("1 field needs attention.").await;
    assert_eq!(focused_id(&browser).await, "card-number");
    assert!(server.invoices("acct-luhn").await.is_empty());
    browser.close().await;
}

/// Like Stripe Checkout: Subscribe on an empty form shows every field's error at once, moves the
/// focus to the first, says how many need attention, and sends nothing; so does Apply with no code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_on_an_empty_form_says_what_needs_attention_and_sends_nothing() {
    let server = TestServer::start().await;
    let account = json!({"id": "acct-empty", "login": "github", "aws_account_linked": false});
    let body = json!({"account": account, "plan": "pro", "return_url": "kiro://kiro.kiroAgent/upgrade-success",
                      "allow_promotion_codes": true});
    let (status, session) = server.api(reqwest::Method::POST, "/v1/checkout/sessions", Some(body)).await;
    assert_eq!(status, 201, "{session}");
    let url = session["url"].as_str().unwrap().to_string();
    let browser = Browser::open().await;
    browser.goto(&url).await;
    browser.wait_for_heading("Subscribe to Kiro Pro").await;
    let subscribe = browser.button("Subscribe").await;
    assert!(subscribe.is_enabled().await.unwrap(), "Subscribe is pressable before anything is typed");
    subscribe.click().await.unwrap();
    browser.wait_for_text("Enter your email address.").await;
    let invalid = browser
        .client
        .execute("return document.querySelectorAll('form.payment-form [aria-invalid=true]').length", vec![])
        .await
        .unwrap();
    let invalid = invalid.as_u64().unwrap();
    assert!(invalid >= 5, "email and the card's fields: {invalid}");
    browser.wait_for_text(&format!("{invalid} fields need attention.")).await;
    assert_eq!(focused_id(&browser).await, "email");
    browser.audit("the checkout after an empty Subscribe").await;
    browser.screenshot("checkout-needs-attention").await;
    assert!(server.invoices("acct-empty").await.is_empty());

    browser.click_button("Add promotion code").await;
    let apply = browser.button("Apply").await;
    assert!(apply.is_enabled().await.unwrap(), "Apply is pressable with nothing typed");
    apply.click().await.unwrap();
    browser.wait_for_text("Enter a promotion code.").await;
    assert_eq!(focused_id(&browser).await, "promotion-code");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_names_what_is_wrong() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-fields", "pro").await;
    let cases = [
        ("Email", "", "Enter your email address."),
        ("Email", "dev@", "This email address is not valid."),
        ("Email", "dev\u{202E}@example.com", "This email address contains invisible characters."),
        ("Card number", "4242 4242", "Your card number is incomplete."),
        ("Card number", "1234 5678 9012 3456", "We accept Visa, Mastercard"),
        ("Expiry date (MM / YY)", "12", "Your card's expiry date is incomplete."),
        ("Expiry date (MM / YY)", "1025", "Your card's expiry date is in the past."),
        ("Expiry date (MM / YY)", "1299", "Your card's expiry year is too far in the future."),
        ("Security code", "12", "Your card's security code is incomplete."),
        ("Name on card", "", "Enter the name on your card."),
        ("Name on card", "R2D2", "The name on the card can't contain digits"),
        ("Name on card", "Ada\u{200B} Lovelace", "The name on the card contains invisible characters."),
        ("ZIP code", "941", "Your ZIP code is incomplete."),
        ("ZIP code", "", "Enter your ZIP code."),
    ];
    for (label, input, message) in cases {
        browser.fill(label, input).await;
        browser.blur().await;
        browser.wait_for_text(message).await;
        let field = browser.field(label).await;
        assert_eq!(field.attr("aria-invalid").await.unwrap().as_deref(), Some("true"), "{label}");
    }
    // Amex needs four digits.
    browser.fill("Card number", "378282246310005").await;
    browser.fill("Security code", "123").await;
    browser.blur().await;
    browser.wait_for_text("Your card's security code is incomplete.").await;
    // The postal code follows the country.
    browser.field("Country or region").await.select_by_label("United Kingdom").await.unwrap();
    browser.fill("Postcode", "12345").await;
    browser.blur().await;
    browser.wait_for_text("Your postcode is invalid.").await;
    browser.field("Country or region").await.select_by_label("Hong Kong SAR").await.unwrap();
    browser.wait_until("no postal field for Hong Kong", "!document.getElementById('postal-code')", vec![]).await;
    browser.screenshot("checkout-field-errors").await;
    browser.audit("field errors").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_tell_browsers_how_to_autofill() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-autofill", "pro").await;
    for (label, autocomplete, inputmode) in [
        ("Email", "email", Some("email")),
        ("Card number", "cc-number", Some("numeric")),
        ("Expiry date (MM / YY)", "cc-exp", Some("numeric")),
        ("Security code", "cc-csc", Some("numeric")),
        ("Name on card", "cc-name", Some("text")),
        ("Country or region", "country", None),
        ("ZIP code", "postal-code", Some("numeric")),
    ] {
        let field = browser.field(label).await;
        assert_eq!(field.attr("autocomplete").await.unwrap().as_deref(), Some(autocomplete), "{label}");
        assert_eq!(field.attr("inputmode").await.unwrap().as_deref(), inputmode, "{label}");
    }
    assert_eq!(browser.field("Email").await.attr("type").await.unwrap().as_deref(), Some("email"));
    assert_eq!(browser.value_of("Country or region").await, "US", "preselected from the browser's locale");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_on_subscribe_charges_once() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-double", "pro").await;
    fill_card(&browser, "4242424242424242", "123").await;
    browser
        .client
        .execute("const b = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Subscribe'); b.click(); b.click(); b.click();", vec![])
        .await
        .unwrap();
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(server.invoices("acct-double").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_during_the_request_charges_once() {
    let server = TestServer::start().await;
    server.faults.confirm_delay_ms.store(4000, Ordering::SeqCst);
    let browser = open_checkout(&server, "acct-reload", "pro").await;
    pay(&browser, "4242424242424242", "123").await;
    browser.wait_for_text("Processing…").await;
    // The server has charged; its answer is still on the way when the user reloads.
    eventually("the charge at the server", || async { !server.invoices("acct-reload").await.is_empty() }).await;
    browser.client.refresh().await.unwrap();
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(server.invoices("acct-reload").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_confirm_then_retry_charges_once() {
    let server = TestServer::start().await;
    server.faults.drop_next_confirm.store(true, Ordering::SeqCst);
    let browser = open_checkout(&server, "acct-drop", "pro").await;
    pay(&browser, "4242424242424242", "123").await;
    browser.wait_for_text("We couldn't reach the server").await;
    assert_eq!(server.invoices("acct-drop").await.len(), 1, "the server did charge before the connection dropped");
    browser.click_button("Retry").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(server.invoices("acct-drop").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_can_fail_then_complete() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-3ds", "pro").await;
    pay(&browser, "4000002760003184", "123").await;
    browser.wait_until("the bank dialog", "document.querySelector('[role=dialog][aria-modal=true]')", vec![]).await;
    browser.wait_for_text("Confirm this payment with your bank").await;
    // Focus starts inside and Tab cannot leave the dialog.
    browser.wait_until("focus in the dialog", "document.activeElement.closest('[role=dialog]')", vec![]).await;
    for _ in 0..3 {
        browser.client.active_element().await.unwrap().send_keys(TAB).await.unwrap();
        browser
            .wait_until("focus still in the dialog", "document.activeElement.closest('[role=dialog]')", vec![])
            .await;
    }
    browser.screenshot("checkout-3ds-dialog").await;
    browser.audit("the 3-D Secure dialog").await;
    browser.click_button("Fail authentication").await;
    browser.wait_for_text("Your bank couldn't verify this payment.").await;
    assert!(server.invoices("acct-3ds").await.is_empty());

    browser.click_button("Subscribe").await;
    browser.click_button("Complete authentication").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(server.invoices("acct-3ds").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_approval_after_another_tab_paid_charges_nothing_and_says_why() {
    let server = TestServer::start().await;
    let first_tab = open_checkout(&server, "acct-two-tabs", "power").await;
    pay(&first_tab, "4000002760003184", "123").await;
    first_tab.wait_for_text("Confirm this payment with your bank").await;

    let second_tab = open_checkout(&server, "acct-two-tabs", "pro").await;
    pay(&second_tab, "4242424242424242", "123").await;
    second_tab.wait_for_heading("You're subscribed to Kiro Pro").await;
    second_tab.close().await;

    first_tab.click_button("Complete authentication").await;
    first_tab.wait_for_heading("You already have a paid plan").await;
    first_tab.wait_for_text("Return to Kiro").await;
    let invoices = server.invoices("acct-two-tabs").await;
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    first_tab.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_that_cannot_pay_have_their_own_pages() {
    let server = TestServer::start().await;
    let browser = Browser::open().await;

    let linked = server
        .checkout_session_with(json!({"id": "acct-aws", "login": "builder_id", "aws_account_linked": true}), "pro")
        .await;
    browser.goto(&linked).await;
    browser.wait_for_heading("Upgrade through your AWS account").await;
    assert!(browser.text().await.contains("linked to an AWS account"));
    browser.audit("the linked-to-AWS page").await;
    browser.link("Return to Kiro").await;

    // An account that already pays is sent to Manage Plan.
    let first = server.checkout_session("acct-paid", "pro").await;
    browser.goto(&first).await;
    browser.wait_for_heading("Subscribe to Kiro Pro").await;
    pay(&browser, "4242424242424242", "123").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    let second = server.checkout_session("acct-paid", "power").await;
    browser.goto(&second).await;
    browser.wait_for_heading("You already have a paid plan").await;
    assert!(browser.text().await.contains("Manage Plan"));
    browser.audit("the already-subscribed page").await;

    // A session that expires while the page is open.
    let url = server.checkout_session("acct-late", "pro").await;
    browser.goto(&url).await;
    browser.wait_for_heading("Subscribe to Kiro Pro").await;
    server.set_clock("2026-11-17T00:00:01Z").await;
    pay(&browser, "4242424242424242", "123").await;
    browser.wait_for_heading("This link has expired").await;
    assert!(server.invoices("acct-late").await.is_empty());
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_checkout_works_by_keyboard_alone() {
    let server = TestServer::start().await;
    let browser = open_checkout(&server, "acct-keys", "pro").await;
    browser.wait_until("focus on the heading", "document.activeElement.tagName === 'H1'", vec![]).await;
    browser.press(TAB).await; // Email (prefilled)
    browser.wait_until("focus on email", "document.activeElement.id === 'email'", vec![]).await;
    browser.press(TAB).await;
    browser.press("4242424242424242").await;
    browser.press(TAB).await;
    browser.press("1234").await;
    browser.press(TAB).await;
    browser.press("123").await;
    browser.press(TAB).await;
    browser.press("Ada Lovelace").await;
    browser.press(TAB).await; // Country (United States, preselected)
    browser.press(TAB).await;
    browser.press("94107").await;
    browser.press(TAB).await;
    browser.wait_until("focus on Subscribe", "document.activeElement.textContent.trim() === 'Subscribe'", vec![]).await;
    browser.press(ENTER).await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    browser.wait_until("focus on the new heading", "document.activeElement.tagName === 'H1'", vec![]).await;
    browser.press(TAB).await;
    browser
        .wait_until("focus on Get started", "document.activeElement.textContent.trim() === 'Get started'", vec![])
        .await;
    assert_eq!(server.invoices("acct-keys").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrow_screen_shows_the_summary_first() {
    let server = TestServer::start().await;
    let url = server.checkout_session("acct-narrow", "pro").await;
    let browser = Browser::open_sized(375, 900).await;
    browser.goto(&url).await;
    browser.wait_for_heading("Subscribe to Kiro Pro").await;
    let summary_above_form = browser
        .client
        .execute(
            "const s = document.querySelector('.summary').getBoundingClientRect(); const f = document.querySelector('form').getBoundingClientRect(); return s.bottom <= f.top && document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(summary_above_form, json!(true));
    browser.screenshot("checkout-375").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_that_changes_before_subscribe_is_shown_again_before_charging() {
    let server = TestServer::start_at(time::macros::datetime!(2026-11-30 23:50 UTC)).await;
    let browser = open_checkout(&server, "acct-midnight", "pro").await;
    assert!(browser.text().await.contains("Kiro Pro from Nov 30 to Dec 1"));
    // Midnight passes while the user types: the rest of the month is now a whole new month.
    server.set_clock("2026-12-01T00:10:00Z").await;
    pay(&browser, "4242424242424242", "123").await;
    browser.wait_for_text("The price changed since you looked").await;
    browser.wait_for_text("Kiro Pro from Dec 1 to Jan 1").await;
    assert!(server.invoices("acct-midnight").await.is_empty(), "nothing is charged at a price the user didn't see");
    assert_eq!(browser.value_of("Name on card").await, "Ada Lovelace");
    browser.click_button("Subscribe").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert!(browser.text().await.contains("$20.00 to Visa ending in 4242"));
    assert_eq!(server.invoices("acct-midnight").await, vec![(2000, "paid".to_string())]);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_account_can_pay_with_its_saved_card() {
    let server = TestServer::start().await;
    server.subscribe("acct-back", "pro", "5555555555554444").await;
    // The plan is cancelled and ends; the account comes back a month later.
    let portal = server.portal_session("acct-back").await;
    let id = portal.rsplit('/').next().unwrap();
    let (status, _) = server.api(reqwest::Method::POST, &format!("/api/portal/{id}/cancel"), Some(json!({}))).await;
    assert_eq!(status, 200);
    server.set_clock("2026-12-01T01:00:00Z").await;
    assert_eq!(server.subscription("acct-back").await["plan"], "free");

    let browser = open_checkout(&server, "acct-back", "pro_plus").await;
    browser.wait_for_text("Mastercard ending in 4444, expires 12/34").await;
    assert!(browser.text().await.contains("A new card"));
    browser.audit("the saved-card choice").await;
    browser.click_button("Subscribe").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro+").await;
    assert!(browser.text().await.contains("$40.00 to Mastercard ending in 4444"));
    let amounts: Vec<i64> = server.invoices("acct-back").await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(amounts, vec![1000, 4000]);
    browser.close().await;
}

/// The summary's and the form's place and content (their markup, attributes sorted, text joined).
const PAGE_NOW: &str = "
    const norm = (n) => n.nodeType === 3 ? n.textContent
        : n.nodeType !== 1 ? ''
        : '<' + n.tagName + ' ' + [...n.attributes].map(a => a.name + '=' + a.value).sort().join(' ') + '>'
          + [...n.childNodes].map(norm).join('') + '</' + n.tagName + '>';
    const part = (selector) => {
        const e = document.querySelector(selector);
        if (!e) return null;
        const r = e.getBoundingClientRect();
        return { markup: norm(e), rect: [r.x, r.y, r.width, r.height] };
    };
    return { summary: part('.checkout-summary'), form: part('.checkout-form'), consent: part('.consent'),
             footer: part('footer'), shell: !!document.getElementById('shell') };
";

/// What the server paints before the wasm arrives is what the app then mounts, in the same place:
/// the summary and the whole form (every field, Subscribe, the consent line) and the footer, for a
/// mid-month, a first-of-the-month and a last-day session, at desktop and phone widths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_painted_before_the_app_is_the_one_it_mounts_in_the_same_place() {
    let server = TestServer::start().await;
    for (at, plan) in
        [("2026-11-16T09:00:00Z", "pro"), ("2026-12-01T09:00:00Z", "power"), ("2026-12-31T20:00:00Z", "pro_plus")]
    {
        server.set_clock(at).await;
        let url = server.checkout_session(&format!("acct-first-paint-{plan}"), plan).await;
        for width in [1280, 375] {
            let browser = Browser::open_sized(width, 900).await;
            browser.cdp("Network.enable", json!({})).await;
            browser.cdp("Network.setBlockedURLs", json!({"urls": ["*.wasm"]})).await;
            browser.client.goto(&url).await.unwrap();
            let painted = browser.client.execute(PAGE_NOW, vec![]).await.unwrap();
            assert_eq!(painted["shell"], true, "{plan}: without the wasm, the server's shell is the page");
            let markup = |part: &str| painted[part]["markup"].as_str().unwrap_or_default().to_string();
            assert!(markup("summary").contains("Total due today"), "{plan}: {painted}");
            for text in ["Email", "Card number", "Name on card", "Country or region", "Subscribe"] {
                assert!(markup("form").contains(text), "{plan}: {text} in the first paint: {painted}");
            }
            assert!(markup("consent").contains("By subscribing, you authorize Kiro"), "{plan}: {painted}");
            browser.screenshot(&format!("checkout-first-paint-{plan}-{width}")).await;

            browser.cdp("Network.setBlockedURLs", json!({"urls": []})).await;
            browser.goto(&url).await;
            browser.wait_for_text("Card number").await;
            let mounted = browser.client.execute(PAGE_NOW, vec![]).await.unwrap();
            assert_eq!(mounted["shell"], false, "{plan}: the app removed the shell");
            for part in ["summary", "form", "consent", "footer"] {
                assert_eq!(painted[part]["markup"], mounted[part]["markup"], "{plan} at {width} px: the same {part}");
                assert_eq!(
                    painted[part]["rect"], mounted[part]["rect"],
                    "{plan} at {width} px: {part} in the same place"
                );
            }
            browser.close().await;
        }
    }
}

/// A user who types into the server's form while the wasm is still downloading keeps what they
/// typed, and the focus; the card number is formatted as soon as the app mounts; Subscribe and
/// Enter send nothing before the app can pay, and the form says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_typed_before_the_app_has_loaded_is_kept() {
    let server = TestServer::start().await;
    let url = server.checkout_session("acct-early", "pro").await;
    let browser = Browser::open_before_load().await;
    server.faults.hold_wasm.store(true, Ordering::SeqCst);
    browser.client.goto(&url).await.unwrap();
    // The page is still loading (its wasm held back): a script may run before its document does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while browser.client.execute("return !!document.querySelector('#shell #card-number')", vec![]).await.ok()
        != Some(json!(true))
    {
        assert!(std::time::Instant::now() < deadline, "the server's form never appeared");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.fill("Email", "early@example.com").await;
    browser.fill("Card number", "4242424242424242").await;
    browser.fill("Expiry date (MM / YY)", "1234").await;
    browser.fill("Security code", "123").await;
    browser.fill("ZIP code", "94107").await;
    browser.fill("Name on card", "Ada Love").await;
    browser.press(ENTER).await;
    browser.wait_for_text("The payment form is still loading: you can subscribe in a moment.").await;
    browser.client.execute("document.querySelector('#shell .subscribe').click()", vec![]).await.unwrap();
    let before_app = browser.client.execute(
        "return { shell: !!document.getElementById('shell'), url: location.href, focused: document.activeElement.id }",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(before_app, json!({"shell": true, "url": url, "focused": "card-name"}), "still the first paint");
    let sent = server.faults.received.lock().unwrap().clone();
    assert!(!sent.iter().any(|r| r.contains("/card") || r.contains("/confirm") || r.contains("4242")), "{sent:?}");

    server.faults.hold_wasm.store(false, Ordering::SeqCst);
    browser.wait_until("the app to take over", "!document.getElementById('shell')", vec![]).await;
    assert_eq!(browser.value_of("Email").await, "early@example.com");
    assert_eq!(browser.value_of("Card number").await, "4242 4242 4242 4242", "formatted on mount");
    assert_eq!(browser.value_of("Expiry date (MM / YY)").await, "12 / 34");
    assert_eq!(browser.value_of("Security code").await, "123");
    assert_eq!(browser.value_of("ZIP code").await, "94107");
    // The user goes on typing where they were.
    browser.wait_until("focus kept in the name", "document.activeElement.id === 'card-name'", vec![]).await;
    browser.press("lace").await;
    assert_eq!(browser.value_of("Name on card").await, "Ada Lovelace");
    assert!(!browser.text().await.contains("still loading"));
    browser.click_button("Subscribe").await;
    browser.wait_for_heading("You're subscribed to Kiro Pro").await;
    assert_eq!(server.invoices("acct-early").await, vec![(1000, "paid".to_string())]);
    browser.close().await;
}
