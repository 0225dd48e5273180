//! The checkout and the portal in another language (issue 23): paying in German, changing plan in
//! Japanese, the pseudo-locale showing every text that escaped the catalogs, a decline and a 3-D
//! Secure failure in German, and the footer's language menu. Texts not yet known in a language
//! are found by what a person or assistive technology sees other than words: roles, autofill
//! hints, the order of buttons.

use super::harness::{Browser, TestServer, eventually, xpath_literal};
use super::layout::{assert_fits, assert_no_clipped_text};
use fantoccini::Locator;
use serde_json::{Value, json};

/// The English texts of the card errors the German page must not show.
const DECLINED_EN: &str = "Your card was declined. Try another card, or contact your bank.";
const BANK_FAILED_EN: &str = "Your bank couldn't verify this payment.";

/// A checkout session for `account` buying `plan`, in `locale` (`None`: the browser's); its id
/// and URL.
async fn checkout_in(server: &TestServer, account: &str, plan: &str, locale: Option<&str>) -> (String, String) {
    let mut request = json!({
        "account": {"id": account, "email": "dev@example.com", "login": "github", "aws_account_linked": false},
        "plan": plan,
        "return_url": "kiro://kiro.kiroAgent/upgrade-success",
    });
    if let Some(locale) = locale {
        request["locale"] = json!(locale);
    }
    let (status, body) = server.api(reqwest::Method::POST, "/v1/checkout/sessions", Some(request)).await;
    assert_eq!(status, 201, "{body}");
    (body["id"].as_str().unwrap().to_string(), body["url"].as_str().unwrap().to_string())
}

/// A portal session for `account` in `locale`; its URL.
async fn portal_in(server: &TestServer, account: &str, locale: &str) -> String {
    let request = json!({"account_id": account, "return_url": "kiro://kiro.kiroAgent/manage-plan", "locale": locale});
    let (status, body) = server.api(reqwest::Method::POST, "/v1/portal/sessions", Some(request)).await;
    assert_eq!(status, 201, "{body}");
    body["url"].as_str().unwrap().to_string()
}

async fn script(browser: &Browser, js: &str) -> Value {
    browser.client.execute(js, vec![]).await.unwrap()
}

/// The checkout's app has taken over the server's first paint, and shows its form.
const APP_READY: &str = "!document.getElementById('shell') && document.querySelector('form.payment-form')";

/// Waits until the page says it is in `lang` (`<html lang>`).
async fn wait_for_lang(browser: &Browser, lang: &str) {
    browser
        .wait_until(
            &format!("<html lang={lang:?}>"),
            "document.documentElement.lang === arguments[0]",
            vec![json!(lang)],
        )
        .await;
}

/// Every text a person or a screen reader meets on the page, one entry per text node (spaces
/// collapsed), then the accessible names given as attributes, then the document's title. Options
/// of a closed select count only when chosen.
async fn visible_texts(browser: &Browser) -> Vec<String> {
    let texts = script(
        browser,
        "const tidy = t => t.replace(/[\\s\\u00a0\\u202f]+/g, ' ').trim();
         const shown = e => e.checkVisibility({ visibilityProperty: true, opacityProperty: true });
         const out = [];
         const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
         while (walker.nextNode()) {
           const node = walker.currentNode, parent = node.parentElement, text = tidy(node.textContent);
           if (!text || !parent || parent.closest('script, style, noscript, template')) continue;
           const option = parent.closest('option');
           if (option ? !(option.selected && shown(option.parentElement)) : !shown(parent)) continue;
           out.push(text);
         }
         for (const e of document.body.querySelectorAll('[aria-label], [title]')) {
           if (!shown(e)) continue;
           for (const name of ['aria-label', 'title']) {
             const text = tidy(e.getAttribute(name) || '');
             if (text) out.push(text);
           }
         }
         out.push(tidy(document.title));
         return out;",
    )
    .await;
    texts.as_array().unwrap().iter().map(|t| t.as_str().unwrap_or_default().to_string()).collect()
}

/// What every page in every language must be: it fits the viewport, cuts no text, and passes axe.
async fn assert_sound(browser: &Browser, what: &str) {
    assert_fits(browser, what).await;
    assert_no_clipped_text(browser, what).await;
    browser.audit(what).await;
}

/// The form control that browsers autofill with `hint` (`cc-number`, ...).
async fn autofill_field(browser: &Browser, hint: &str) -> fantoccini::elements::Element {
    let xpath = format!("//*[@autocomplete={}]", xpath_literal(hint));
    match browser.client.wait().at_most(std::time::Duration::from_secs(20)).for_element(Locator::XPath(&xpath)).await {
        Ok(field) => field,
        Err(_) => panic!("no field with autocomplete={hint:?}; the page shows:\n{}", browser.text().await),
    }
}

/// Fills the card form by its autofill hints (whatever the labels say) and presses the form's
/// Subscribe button.
async fn pay(browser: &Browser, number: &str) {
    for (hint, text) in [
        ("cc-number", number),
        ("cc-exp", "1234"),
        ("cc-csc", "123"),
        ("cc-name", "Ada Lovelace"),
        ("postal-code", "94107"),
    ] {
        let field = autofill_field(browser, hint).await;
        field.click().await.unwrap();
        field.send_keys("\u{E009}a\u{E000}\u{E003}").await.unwrap();
        field.send_keys(text).await.unwrap();
    }
    browser.client.find(Locator::Css("form.payment-form button[type=submit]")).await.unwrap().click().await.unwrap();
}

/// The `<h1>`'s text once the page shows one matching `pattern` (a JS regular expression).
async fn heading_matching(browser: &Browser, pattern: &str) -> String {
    let found = "(document.querySelector('h1') || {}).textContent";
    browser
        .wait_until(
            &format!("a heading matching /{pattern}/"),
            &format!("new RegExp(arguments[0]).test({found} || '')"),
            vec![json!(pattern)],
        )
        .await;
    script(browser, &format!("return {found}.trim()")).await.as_str().unwrap_or_default().to_string()
}

/// Waits for the checkout's success page (its receipt).
async fn wait_for_success(browser: &Browser) {
    browser.wait_until("the success page", "document.querySelector('.success .receipt')", vec![]).await;
}

/// The English sentences (over three words) of `english` that `translated` shows unchanged,
/// leaving out the merchant's own texts (branding from the server's config, not translated).
fn untranslated(english: &[String], translated: &[String]) -> Vec<String> {
    let branding = billing::wire::Branding::default();
    let data = [branding.legal_line, branding.return_link_text, branding.product_name];
    english
        .iter()
        .filter(|text| text.split_whitespace().count() > 3 && !data.contains(*text))
        .filter(|text| translated.contains(*text))
        .cloned()
        .collect()
}

/// A German checkout beside an English one at `width`: the form and the success page show none
/// of the English sentences, German amounts, and both pages fit without clipped text or axe
/// violations.
async fn german_checkout_at(width: u32) {
    let server = TestServer::start().await;
    let (_, english_url) = checkout_in(&server, &format!("acct-en-{width}"), "pro", None).await;
    let (_, german_url) = checkout_in(&server, &format!("acct-de-{width}"), "pro", Some("de")).await;
    let english = Browser::open_sized(width, 900).await;
    english.goto(&english_url).await;
    english.wait_for_heading("Subscribe to Kiro Pro").await;
    let english_form = visible_texts(&english).await;

    let german = Browser::open_sized(width, 900).await;
    german.goto(&german_url).await;
    wait_for_lang(&german, "de").await;
    let german_form = visible_texts(&german).await;
    let shown = german_form.join("\n");
    assert!(shown.contains(",00 $"), "no German amount (20,00 $) on the German checkout:\n{shown}");
    assert!(!shown.contains("$20.00"), "an English amount on the German checkout:\n{shown}");
    german.screenshot(&format!("locales-de-{width}-checkout")).await;
    assert_sound(&german, "the German checkout").await;
    // Every English sentence left on either page, listed together at the end.
    let mut english_left: Vec<String> =
        untranslated(&english_form, &german_form).into_iter().map(|t| format!("checkout: {t}")).collect();

    pay(&english, "4242424242424242").await;
    wait_for_success(&english).await;
    let english_success = visible_texts(&english).await;
    english.close().await;
    pay(&german, "4242424242424242").await;
    wait_for_success(&german).await;
    wait_for_lang(&german, "de").await;
    german.screenshot(&format!("locales-de-{width}-success")).await;
    assert_sound(&german, "the German success page").await;
    let german_success = visible_texts(&german).await;
    english_left.extend(untranslated(&english_success, &german_success).into_iter().map(|t| format!("success: {t}")));
    assert_eq!(server.invoices(&format!("acct-de-{width}")).await, vec![(1000, "paid".to_string())]);
    assert_eq!(english_left, Vec::<String>::new(), "English sentences on the German pages");
    german.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_checkout_pays_and_shows_no_english_at_320_px() {
    german_checkout_at(320).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_checkout_pays_and_shows_no_english_at_1280_px() {
    german_checkout_at(1280).await;
}

/// Pro to Pro+ in the Japanese portal at `width`: Japanese dates on the home, the confirm page and
/// the done page, each fitting without clipped text or axe violations.
/// On the plan chooser, in any language: Kiro Pro+ and the form's submit, then the confirm page
/// (whose first button confirms), found by where things are, not by their words.
async fn continue_with_pro_plus(browser: &Browser) {
    let pro_plus = "//label[.//*[normalize-space()='Kiro Pro+']]//input[@type='radio']";
    browser.client.find(Locator::XPath(pro_plus)).await.unwrap().click().await.unwrap();
    browser.client.find(Locator::Css("form button[type=submit]")).await.unwrap().click().await.unwrap();
    browser
        .wait_until(
            "the confirm page",
            "location.pathname.endsWith('/update/pro_plus') && document.querySelector('.actions button')",
            vec![],
        )
        .await;
}

async fn japanese_upgrade_at(width: u32) {
    let server = TestServer::start().await;
    let account = format!("acct-ja-{width}");
    server.subscribe(&account, "pro", "4242424242424242").await;
    let portal = portal_in(&server, &account, "ja").await;
    let browser = Browser::open_sized(width, 900).await;
    browser.goto(&portal).await;
    wait_for_lang(&browser, "ja").await;
    browser.wait_until("the current plan", "document.querySelector('.plan-card')", vec![]).await;
    let home = browser.text().await;
    assert!(home.contains("2026年12月1日"), "no Japanese date (2026年12月1日) for the next payment:\n{home}");
    assert!(!home.contains("December 1, 2026"), "an English date on the Japanese portal:\n{home}");
    browser.screenshot(&format!("locales-ja-{width}-portal-home")).await;
    assert_sound(&browser, "the Japanese portal home").await;

    // Update subscription, by where it leads.
    browser.client.find(Locator::Css("a.button[href$='/update']")).await.unwrap().click().await.unwrap();
    browser.wait_until("the plan chooser", "document.querySelector('input[type=radio]')", vec![]).await;
    wait_for_lang(&browser, "ja").await;
    assert_sound(&browser, "the Japanese plan chooser").await;
    continue_with_pro_plus(&browser).await;
    let confirm_page = browser.text().await;
    assert!(confirm_page.contains("2026年12月1日"), "no Japanese date on the confirm page:\n{confirm_page}");
    browser.screenshot(&format!("locales-ja-{width}-portal-confirm")).await;
    assert_sound(&browser, "the Japanese confirm page").await;
    browser.client.find(Locator::Css(".actions button")).await.unwrap().click().await.unwrap();

    browser.wait_until("the done page", "document.querySelector('.success h1')", vec![]).await;
    let heading = heading_matching(&browser, "Kiro Pro\\+").await;
    assert_ne!(heading, "You're now on Kiro Pro+", "the done page's heading in English");
    wait_for_lang(&browser, "ja").await;
    let done = browser.text().await;
    assert!(done.contains("2026年12月1日"), "no Japanese date on the done page:\n{done}");
    assert_sound(&browser, "the Japanese done page").await;
    let sub = server.subscription(&account).await;
    assert_eq!(sub["plan"], "pro_plus");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_japanese_portal_changes_plan_at_320_px() {
    japanese_upgrade_at(320).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_japanese_portal_changes_plan_at_1280_px() {
    japanese_upgrade_at(1280).await;
}

/// Data shown as it is in every language (Latin words of it; the rest of a text must be
/// pseudo-translated): plan and product names, card brands, country names (month names: see
/// [`is_data_word`]).
const DATA_WORDS: &[&str] =
    &["Kiro", "KIRO", "Pro", "Power", "Free", "Visa", "Mastercard", "American", "Express", "United", "States", "Sept"];

/// A data word: [`DATA_WORDS`] or an English month's name or abbreviation (dates' month words).
fn is_data_word(word: &str) -> bool {
    use billing::period::{MONTH_ABBR, MONTH_NAME};
    DATA_WORDS.contains(&word) || MONTH_NAME.contains(&word) || MONTH_ABBR.contains(&word)
}

/// The texts of `texts` that are neither pseudo-translated (inside `[`..`]`) nor data: plan and
/// product names, the email, amounts, dates, card brands and digits, country and language names
/// (each language's menu entry is in its own language), the merchant's branding.
fn escaped_english(texts: &[String]) -> Vec<String> {
    let branding = billing::wire::Branding::default();
    let data_texts = [
        branding.legal_line.as_str(),
        branding.return_link_text.as_str(),
        "dev@example.com",
        "English",
        "Deutsch",
        "Français",
        "Español",
        "Português (Brasil)",
    ];
    texts
        .iter()
        .filter(|text| {
            let rest = data_texts.iter().fold(text.to_string(), |rest, data| rest.replace(data, ""));
            outside_brackets(&rest)
                .split(|c: char| !c.is_ascii_alphabetic())
                .any(|word| word.len() >= 2 && !is_data_word(word))
        })
        .cloned()
        .collect()
}

/// `text` without its bracketed parts (a `]` before any `[` closes one opened in an earlier
/// text node, a `[` left open is closed in a later one).
fn outside_brackets(text: &str) -> String {
    let closes_first = match (text.find(']'), text.find('[')) {
        (Some(close), Some(open)) => close < open,
        (Some(_), None) => true,
        _ => false,
    };
    let mut depth = usize::from(closes_first);
    let mut out = String::new();
    for ch in text.chars() {
        match ch {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pseudo_locale_shows_every_text_that_escaped_the_catalogs() {
    let server = TestServer::start().await;
    let (_, checkout) = checkout_in(&server, "acct-xa-new", "pro_plus", Some("en-XA")).await;
    server.subscribe("acct-xa", "pro", "4242424242424242").await;
    let portal = portal_in(&server, "acct-xa", "en-XA").await;
    let mut escaped_on_pages = Vec::new();
    for width in [320, 1280] {
        let browser = Browser::open_sized(width, 900).await;
        for (url, page, ready) in [
            (checkout.as_str(), "checkout", "document.querySelector('form.payment-form')"),
            (portal.as_str(), "portal-home", "document.querySelector('.plan-card')"),
        ] {
            browser.goto(url).await;
            wait_for_lang(&browser, "en-XA").await;
            browser.wait_until(&format!("the {page}"), ready, vec![]).await;
            browser.screenshot(&format!("locales-en-XA-{width}-{page}")).await;
            let escaped = escaped_english(&visible_texts(&browser).await);
            escaped_on_pages.extend(escaped.into_iter().map(|t| format!("{page} at {width} px: {t}")));
            assert_sound(&browser, &format!("the pseudo-locale {page} at {width} px")).await;
        }
        browser.close().await;
    }
    assert_eq!(escaped_on_pages, Vec::<String>::new(), "English that escaped the catalogs");
}

/// The escaped English on the page now shown, each named by `page`.
async fn escaped_on(browser: &Browser, page: &str) -> Vec<String> {
    wait_for_lang(browser, "en-XA").await;
    escaped_english(&visible_texts(browser).await).into_iter().map(|t| format!("{page}: {t}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pseudo_locale_pays_and_changes_plan_with_every_text_from_the_catalogs() {
    let server = TestServer::start().await;
    let (_, checkout) = checkout_in(&server, "acct-xa-pay", "pro", Some("en-XA")).await;
    let browser = Browser::open_sized(1280, 900).await;
    browser.goto(&checkout).await;
    wait_for_lang(&browser, "en-XA").await;
    browser.wait_until("the checkout", "document.querySelector('form.payment-form')", vec![]).await;
    pay(&browser, "4242424242424242").await;
    wait_for_success(&browser).await;
    let mut escaped = escaped_on(&browser, "success page").await;
    assert_sound(&browser, "the pseudo-locale success page").await;

    let portal = portal_in(&server, "acct-xa-pay", "en-XA").await;
    browser.goto(&portal).await;
    browser.wait_until("the current plan", "document.querySelector('.plan-card')", vec![]).await;
    browser.client.find(Locator::Css("a.button[href$='/update']")).await.unwrap().click().await.unwrap();
    browser.wait_until("the plan chooser", "document.querySelector('input[type=radio]')", vec![]).await;
    escaped.extend(escaped_on(&browser, "plan chooser").await);
    continue_with_pro_plus(&browser).await;
    escaped.extend(escaped_on(&browser, "confirm page").await);
    assert_sound(&browser, "the pseudo-locale confirm page").await;
    browser.client.find(Locator::Css(".actions button")).await.unwrap().click().await.unwrap();
    browser.wait_until("the done page", "document.querySelector('.success h1')", vec![]).await;
    escaped.extend(escaped_on(&browser, "done page").await);
    assert_eq!(server.subscription("acct-xa-pay").await["plan"], "pro_plus");
    browser.close().await;
    assert_eq!(escaped, Vec::<String>::new(), "English that escaped the catalogs");
}

#[test]
fn the_pseudo_check_tells_escaped_english_from_pseudo_text_and_data() {
    let texts: Vec<String> = [
        "[Šûƀšçŕîƀé ţö ",
        "Kiro Pro",
        " ·········]",
        "[Ñéẋţ þàýɱéñţ: $20.00 öñ December 1, 2026 ···]",
        "dev@example.com",
        "Dec 1",
        "$10.00",
        "4242",
        "Total due today",
        "[Ţöţàļ ···] per month",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(escaped_english(&texts), vec!["Total due today".to_string(), "[Ţöţàļ ···] per month".to_string()]);
}

/// The alert's text once it shows one.
async fn alert_text(browser: &Browser) -> String {
    browser.wait_until("an alert", "(document.querySelector('[role=alert] .alert') || {}).innerText", vec![]).await;
    script(browser, "return document.querySelector('[role=alert] .alert').innerText.trim()")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_and_a_failed_bank_check_read_in_german() {
    let server = TestServer::start().await;
    let (_, url) = checkout_in(&server, "acct-de-declines", "pro", Some("de")).await;
    let browser = Browser::open().await;
    browser.goto(&url).await;
    wait_for_lang(&browser, "de").await;

    pay(&browser, "4000000000000002").await;
    let declined = alert_text(&browser).await;
    assert!(!declined.contains(DECLINED_EN), "the decline in English: {declined}");
    browser.screenshot("locales-de-declined").await;

    // The bank's dialog, failed with its second button (Fail authentication).
    pay(&browser, "4000002760003184").await;
    browser.wait_until("the bank dialog", "document.querySelector('[role=dialog][aria-modal=true]')", vec![]).await;
    browser.audit("the German 3-D Secure dialog").await;
    browser
        .client
        .find(Locator::Css("[role=dialog] .dialog-actions button:nth-child(2)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_until("the dialog to close", "!document.querySelector('[role=dialog]')", vec![]).await;
    let failed = alert_text(&browser).await;
    assert!(!failed.contains(BANK_FAILED_EN), "the failed bank check in English: {failed}");
    assert_ne!(failed, declined, "the failed bank check shows the decline's text");
    wait_for_lang(&browser, "de").await;
    assert!(server.invoices("acct-de-declines").await.is_empty());
    browser.close().await;
}

/// The footer's select named "Language" (by its label, around it or pointing at it, or by ARIA).
async fn language_menu(browser: &Browser) -> fantoccini::elements::Element {
    let menu = "//footer//select[ancestor::label[.//text()[normalize-space()='Language']] \
                or @id=//label[normalize-space()='Language']/@for or @aria-label='Language' \
                or @aria-labelledby=//*[normalize-space()='Language']/@id]";
    match browser.client.find(Locator::XPath(menu)).await {
        Ok(select) => select,
        Err(_) => panic!("no select named \"Language\" in the footer; the page shows:\n{}", browser.text().await),
    }
}

/// A language change reloads the checkout: what was typed comes back in the new language, all but
/// the card's number, expiry and code, which are never stored (the buyer types the card again), and
/// the tab's storage holds nothing of it afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_change_keeps_what_was_typed_but_the_card() {
    let server = TestServer::start().await;
    let (_, url) = checkout_in(&server, "acct-kept", "pro", None).await;
    let browser = Browser::open().await;
    browser.goto(&url).await;
    browser.wait_until("the app", APP_READY, vec![]).await;
    browser.fill("Email", "ada@example.com").await;
    browser.fill("Card number", "4242424242424242").await;
    browser.fill("Expiry date (MM / YY)", "1234").await;
    browser.fill("Name on card", "Ada Lovelace").await;
    browser.field("Country or region").await.select_by_value("CA").await.unwrap();
    browser.fill("Postal code", "K1A 0B1").await;

    language_menu(&browser).await.select_by_label("Deutsch").await.unwrap();
    wait_for_lang(&browser, "de").await;
    browser.wait_until("the German page to be ready", APP_READY, vec![]).await;
    let fields = "return ['email', 'card-name', 'country', 'postal-code', 'card-number', 'card-expiry'] \
                  .map(id => document.getElementById(id).value)";
    assert_eq!(script(&browser, fields).await, json!(["ada@example.com", "Ada Lovelace", "CA", "K1A 0B1", "", ""]));
    assert_eq!(script(&browser, "return Object.keys(sessionStorage)").await, json!([]), "nothing left in storage");
    browser.close().await;
}

/// A returning buyer's first paint shows the saved card, without the new card's fields: what they
/// had typed there before a language change comes back when they choose a new card again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_change_keeps_a_returning_buyers_new_card_fields() {
    let server = TestServer::start().await;
    server.subscribe("acct-kept-back", "pro", "5555555555554444").await;
    let portal = server.portal_session("acct-kept-back").await;
    let id = portal.rsplit('/').next().unwrap();
    let (status, _) = server.api(reqwest::Method::POST, &format!("/api/portal/{id}/cancel"), Some(json!({}))).await;
    assert_eq!(status, 200);
    server.set_clock("2026-12-01T01:00:00Z").await;
    let (_, url) = checkout_in(&server, "acct-kept-back", "pro_plus", None).await;
    let browser = Browser::open().await;
    browser.goto(&url).await;
    browser.wait_until("the app", APP_READY, vec![]).await;
    let new_card = "document.querySelector('fieldset.methods label:last-of-type input').click()";
    script(&browser, new_card).await;
    browser.fill("Name on card", "Ada Lovelace").await;
    browser.field("Country or region").await.select_by_value("CA").await.unwrap();
    browser.fill("Postal code", "K1A 0B1").await;

    language_menu(&browser).await.select_by_label("Deutsch").await.unwrap();
    wait_for_lang(&browser, "de").await;
    browser.wait_until("the German page to be ready", APP_READY, vec![]).await;
    assert_eq!(
        script(&browser, "return document.getElementById('card-name')").await,
        Value::Null,
        "the saved card first"
    );
    script(&browser, new_card).await;
    browser.wait_until("the new card's fields", "document.getElementById('card-name')", vec![]).await;
    let fields = "return ['card-name', 'country', 'postal-code'].map(id => document.getElementById(id).value)";
    assert_eq!(script(&browser, fields).await, json!(["Ada Lovelace", "CA", "K1A 0B1"]));
    assert_eq!(script(&browser, "return Object.keys(sessionStorage)").await, json!([]), "nothing left in storage");
    browser.close().await;
}

/// A language that could not be saved (the server went away) is not shown as chosen: the menu
/// shows the page's language again, and the page stays as it was (the portal home's own bundle).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_that_could_not_be_saved_is_not_shown_as_chosen() {
    let mut server = TestServer::start().await;
    server.subscribe("acct-menu-down", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-menu-down").await;
    let browser = Browser::open().await;
    browser.goto(&portal).await;
    browser.wait_for_heading("Your subscription").await;
    browser.wait_until("the app", "!document.getElementById('shell')", vec![]).await;
    server.stop().await;
    let menu = language_menu(&browser).await;
    menu.select_by_label("Deutsch").await.unwrap();
    browser.wait_until("the menu on English again", "arguments[0].value === 'en'", vec![json!(menu)]).await;
    wait_for_lang(&browser, "en").await;
    browser.wait_for_heading("Your subscription").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_menu_switches_the_checkout_to_german_for_good() {
    let server = TestServer::start().await;
    let (id, url) = checkout_in(&server, "acct-menu", "pro", None).await;
    let browser = Browser::open().await;
    browser.goto(&url).await;
    browser.wait_for_heading("Subscribe to Kiro Pro").await;
    wait_for_lang(&browser, "en").await;

    language_menu(&browser).await.select_by_label("Deutsch").await.unwrap();
    wait_for_lang(&browser, "de").await;
    browser
        .wait_until(
            "the German page to be ready",
            "!document.getElementById('shell') && document.querySelector('form.payment-form')",
            vec![],
        )
        .await;
    browser.client.refresh().await.unwrap();
    wait_for_lang(&browser, "de").await;
    browser.wait_until("the German page to be ready", "document.querySelector('form.payment-form')", vec![]).await;
    let shown = browser.text().await;
    assert!(!shown.contains("Total due today"), "English after choosing Deutsch:\n{shown}");
    eventually("the session to keep German", || async {
        let (_, session) = server.api(reqwest::Method::GET, &format!("/v1/checkout/sessions/{id}"), None).await;
        session["locale"] == "de"
    })
    .await;
    browser.close().await;
}

/// Issue 37: every language's longest texts fit a 320 px screen. In `tag`: the checkout after an
/// empty Subscribe (every field's error shown), the portal's home, plans, confirm page and billing
/// history; nothing scrolls sideways or is cut off, and axe finds nothing.
async fn every_page_fits_320_px_in(tag: &str) {
    let server = TestServer::start().await;
    let (_, checkout) = checkout_in(&server, &format!("acct-fit-{tag}"), "pro_plus", Some(tag)).await;
    let account = format!("acct-fit-portal-{tag}");
    server.subscribe(&account, "pro", "4242424242424242").await;
    let portal = portal_in(&server, &account, tag).await;
    let browser = Browser::open_sized(320, 800).await;

    browser.goto(&checkout).await;
    wait_for_lang(&browser, tag).await;
    browser.wait_until("the checkout's app", APP_READY, vec![]).await;
    script(&browser, "document.querySelector('form.payment-form button[type=submit]').click()").await;
    browser
        .wait_until("the attention summary", "document.querySelector('.form-hint').textContent.trim()", vec![])
        .await;
    assert_sound(&browser, &format!("the checkout in {tag}, every error shown")).await;
    browser.screenshot(&format!("fit-320-{tag}-checkout")).await;

    let pages = [
        ("", "the portal home", "document.querySelector('.portal .card')"),
        ("/update", "the plan chooser", "document.querySelector('.plan-option')"),
        ("/update/power", "the confirm page", "document.querySelector('.change-title')"),
        ("/invoices", "the billing history", "document.querySelector('table.invoices tbody tr')"),
    ];
    for (path, what, ready) in pages {
        browser.goto(&format!("{portal}{path}")).await;
        wait_for_lang(&browser, tag).await;
        browser.wait_until(what, ready, vec![]).await;
        assert_sound(&browser, &format!("{what} in {tag}")).await;
    }
    browser.screenshot(&format!("fit-320-{tag}-history")).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_320_px_in_english() {
    every_page_fits_320_px_in("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_320_px_in_german() {
    every_page_fits_320_px_in("de").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_320_px_in_french() {
    every_page_fits_320_px_in("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_320_px_in_spanish() {
    every_page_fits_320_px_in("es").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_320_px_in_brazilian_portuguese() {
    every_page_fits_320_px_in("pt-BR").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_320_px_in_japanese() {
    every_page_fits_320_px_in("ja").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_320_px_in_simplified_chinese() {
    every_page_fits_320_px_in("zh-CN").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_320_px_in_korean() {
    every_page_fits_320_px_in("ko").await;
}
