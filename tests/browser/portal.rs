//! The manage-subscription portal as a subscriber lives it: Update subscription, choose a plan,
//! Continue, see today's charge, Confirm, Return to Kiro.

use super::harness::{Browser, TestServer};
use std::sync::atomic::Ordering;

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";

/// Opens the portal, chooses `plan_name` and continues to the confirm page.
pub(super) async fn choose(browser: &Browser, portal: &str, plan_name: &str) {
    browser.goto(portal).await;
    browser.wait_for_portal_home().await;
    browser.link("Update subscription").await.click().await.unwrap();
    browser.wait_for_heading("Choose a plan").await;
    browser.audit("the plan chooser").await;
    let option = browser
        .client
        .find(fantoccini::Locator::XPath(&format!(
            "//label[.//*[normalize-space()={}]]//input[@type='radio']",
            super::harness::xpath_literal(plan_name)
        )))
        .await
        .unwrap();
    option.click().await.unwrap();
    browser.click_button("Continue").await;
    browser.wait_for_heading("Confirm your new plan").await;
}

/// The JS glue the page's module script imports, and what the page prefetches.
const BUNDLES: &str = "return [document.querySelector('script[type=module]').textContent.match(/from '([^']+)'/)[1], \
     Array.from(document.querySelectorAll('link[rel=prefetch]'), l => l.getAttribute('href'))];";

/// A portal visit starts on the home, which loads its own, smaller bundle and, once ready,
/// prefetches the portal's; the next page is the portal's, taken from the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_loads_its_own_bundle_and_the_next_page_the_prefetched_portal() {
    let server = TestServer::start().await;
    server.subscribe("acct-bundles", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-bundles").await;
    let browser = Browser::open().await;
    browser.goto(&portal).await;
    browser.wait_for_portal_home().await;
    browser.wait_until("the prefetches", "document.querySelectorAll('link[rel=prefetch]').length === 2", vec![]).await;
    let home: (String, Vec<String>) =
        serde_json::from_value(browser.client.execute(BUNDLES, vec![]).await.unwrap()).unwrap();
    assert!(home.0.starts_with("/portal_home-") && home.0.ends_with(".js"), "{home:?}");
    let [glue, wasm] = <[String; 2]>::try_from(home.1.clone()).unwrap_or_else(|_| panic!("{home:?}"));
    assert!(glue.starts_with("/portal-") && glue.ends_with(".js") && wasm.ends_with("_bg.wasm"), "{home:?}");
    // The session was asked for once, by the HTML's script while the wasm downloaded.
    let asked = "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname).filter(p => p.startsWith('/api/'))";
    let id = portal.rsplit('/').next().unwrap();
    assert_eq!(browser.client.execute(asked, vec![]).await.unwrap(), serde_json::json!([format!("/api/portal/{id}")]));
    let prefetched =
        "performance.getEntriesByType('resource').some(e => e.name.endsWith(arguments[0]) && e.responseEnd > 0)";
    browser.wait_until("the portal's bundle prefetched", prefetched, vec![wasm.clone().into()]).await;
    // Only once the home was ready: the prefetch did not share the network with the home's bundle.
    let after_ready = "return performance.getEntriesByType('resource').find(e => e.name.endsWith(arguments[0])).startTime \
                       >= performance.getEntriesByName('portal-ready')[0].startTime";
    assert_eq!(browser.client.execute(after_ready, vec![wasm.clone().into()]).await.unwrap(), serde_json::json!(true));

    browser.link("Update subscription").await.click().await.unwrap();
    browser.wait_for_heading("Choose a plan").await;
    let next: (String, Vec<String>) =
        serde_json::from_value(browser.client.execute(BUNDLES, vec![]).await.unwrap()).unwrap();
    assert_eq!(next, (glue, vec![]), "the next page loads the bundle the home prefetched");
    let from_cache = "return performance.getEntriesByType('resource').filter(e => e.name.endsWith(arguments[0])).map(e => e.transferSize)";
    let sizes = browser.client.execute(from_cache, vec![wasm.clone().into()]).await.unwrap();
    assert_eq!(sizes, serde_json::json!([0]), "{wasm} came from the cache");
    browser.audit("the plan chooser after the home").await;
    browser.close().await;
}

/// The home's links load pages. With the server away, a link says so on the home and stays there,
/// where the page load would end on the browser's error page; once the server is back, it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_on_the_home_while_the_server_is_away_says_so_and_stays() {
    let mut server = TestServer::start().await;
    server.subscribe("acct-home-away", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-home-away").await;
    let browser = Browser::open().await;
    browser.goto(&portal).await;
    browser.wait_for_portal_home().await;
    browser.wait_until("the app", "!document.getElementById('shell')", vec![]).await;

    server.stop().await;
    browser.link("Update subscription").await.click().await.unwrap();
    browser.wait_for_text("We couldn't reach the server. Check your connection and try again.").await;
    assert_eq!(browser.client.current_url().await.unwrap().as_str(), portal, "the home stays");
    browser.wait_for_portal_home().await;
    browser.audit("the home whose link could not load its page").await;

    server.restart().await;
    browser.link("Update subscription").await.click().await.unwrap();
    browser.wait_for_heading("Choose a plan").await;
    browser.close().await;
}

/// A browser that asks to save data (Save-Data) gets the home without the portal's bundle
/// prefetched: the next page downloads it when it is opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_saving_data_gets_no_prefetch() {
    let server = TestServer::start().await;
    server.subscribe("acct-save-data", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-save-data").await;
    let browser = Browser::open().await;
    let save_data = "Object.defineProperty(navigator, 'connection', { value: { saveData: true } });";
    browser.cdp("Page.addScriptToEvaluateOnNewDocument", serde_json::json!({"source": save_data})).await;
    browser.goto(&portal).await;
    browser.wait_until("the home ready", "performance.getEntriesByName('portal-ready').length > 0", vec![]).await;
    let state = "return [document.querySelectorAll('link[rel=prefetch]').length, !!document.getElementById('prefetch-next'), \
                 performance.getEntriesByType('resource').filter(e => /\\/portal-[0-9a-f]+_bg\\.wasm$/.test(e.name)).length]";
    assert_eq!(browser.client.execute(state, vec![]).await.unwrap(), serde_json::json!([0, true, 0]));
    browser.link("Update subscription").await.click().await.unwrap();
    browser.wait_for_heading("Choose a plan").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_paid_month_pro_to_pro_plus_charges_ten_dollars() {
    let server = TestServer::start().await;
    server.subscribe("acct-p1", "pro", "4242424242424242").await;
    server.set_clock("2026-11-25T10:00:00Z").await;
    let portal = server.portal_session("acct-p1").await;
    let browser = Browser::open().await;
    browser.goto(&portal).await;
    browser.wait_for_portal_home().await;
    let home = browser.text().await;
    for expected in [
        "Kiro Pro",
        "$20.00",
        "1,000 credits per month",
        "Active",
        "Next payment: $20.00 on December 1, 2026",
        "Visa ending in 4242",
    ] {
        assert!(home.contains(expected), "missing {expected:?}:\n{home}");
    }
    let back = browser.link("Return to Kiro").await.attr("href").await.unwrap().unwrap();
    assert!(back.starts_with("kiro://kiro.kiroAgent/manage-plan?session_id=ps_"), "{back}");
    browser.screenshot("portal-home").await;
    browser.audit("the portal home").await;

    choose(&browser, &portal, "Kiro Pro+").await;
    let text = browser.text().await;
    for expected in [
        "Kiro Pro+ from Nov 16 to Dec 1",
        "$20.00",
        "Already paid for Kiro Pro this month",
        "-$10.00",
        "Total due today",
        "$10.00 will be charged to Visa ending in 4242.",
        "Kiro Pro+ starts today",
        "Then $40.00 per month from December 1, 2026.",
    ] {
        assert!(text.contains(expected), "missing {expected:?}:\n{text}");
    }
    browser.screenshot("portal-confirm").await;
    browser.audit("the confirm page").await;
    browser.click_button("Confirm").await;
    browser.wait_for_heading("You're now on Kiro Pro+").await;
    assert!(browser.text().await.contains("We charged $10.00 to Visa ending in 4242."));
    let back = browser.link("Return to Kiro").await.attr("href").await.unwrap().unwrap();
    assert!(back.starts_with("kiro://kiro.kiroAgent/manage-plan?session_id=ps_"), "{back}");
    let amounts: Vec<i64> = server.invoices("acct-p1").await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(amounts, vec![1000, 1000]);
    let sub = server.subscription("acct-p1").await;
    assert_eq!((sub["plan"].as_str(), sub["credits"].as_i64()), (Some("pro_plus"), Some(2000)));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_month_upgrades_charge_the_full_difference() {
    let server = TestServer::start().await;
    server.subscribe("acct-p2", "pro", "4242424242424242").await;
    server.subscribe("acct-p3", "pro", "4242424242424242").await;
    server.set_clock("2026-12-09T10:00:00Z").await;
    let browser = Browser::open().await;
    for (account, plan, total) in [("acct-p2", "Kiro Pro+", "$20.00"), ("acct-p3", "Kiro Power", "$180.00")] {
        let portal = server.portal_session(account).await;
        choose(&browser, &portal, plan).await;
        let text = browser.text().await;
        assert!(text.contains(&format!("{plan} for December 2026")), "{text}");
        assert!(text.contains(&format!("{total} will be charged")), "{text}");
        browser.click_button("Confirm").await;
        browser.wait_for_heading(&format!("You're now on {plan}")).await;
    }
    let p2: Vec<i64> = server.invoices("acct-p2").await.into_iter().map(|(a, _)| a).collect();
    let p3: Vec<i64> = server.invoices("acct-p3").await.into_iter().map(|(a, _)| a).collect();
    assert_eq!((p2, p3), (vec![1000, 2000, 2000], vec![1000, 2000, 18000]));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downgrade_charges_nothing_shows_on_the_home_page_and_can_be_undone() {
    let server = TestServer::start().await;
    server.subscribe("acct-down", "power", "4242424242424242").await;
    let portal = server.portal_session("acct-down").await;
    let browser = Browser::open().await;
    choose(&browser, &portal, "Kiro Pro").await;
    let text = browser.text().await;
    assert!(text.contains("$0.00"), "{text}");
    assert!(
        text.contains("Kiro Pro starts on December 1, 2026. You keep Kiro Power until then. Nothing is charged today."),
        "{text}"
    );
    browser.click_button("Confirm").await;
    browser.wait_for_heading("Your plan changes on December 1, 2026").await;
    browser.goto(&portal).await;
    browser.wait_for_text("Your plan changes to Kiro Pro on December 1, 2026.").await;
    assert!(browser.text().await.contains("Next payment: $20.00 on December 1, 2026"));
    browser.screenshot("portal-scheduled-downgrade").await;
    browser.audit("a scheduled downgrade").await;
    browser.click_button("Keep Kiro Power").await;
    browser.wait_for_text("Next payment: $200.00 on December 1, 2026").await;
    assert!(!browser.text().await.contains("Your plan changes to"));
    assert_eq!(server.invoices("acct-down").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_that_fails_later_leaves_the_plan_unchanged() {
    let server = TestServer::start().await;
    server.subscribe("acct-fails", "pro", "4000000000000341").await;
    let portal = server.portal_session("acct-fails").await;
    let browser = Browser::open().await;
    choose(&browser, &portal, "Kiro Power").await;
    browser.click_button("Confirm").await;
    browser
        .wait_for_text("Your card was declined. Try another card, or contact your bank. Your plan has not changed.")
        .await;
    browser.wait_until("focus on the decline", "document.activeElement.closest('[role=alert]')", vec![]).await;
    assert_eq!(server.subscription("acct-fails").await["plan"], "pro");
    assert_eq!(server.invoices("acct-fails").await.len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_confirm_and_a_dropped_answer_charge_once() {
    let server = TestServer::start().await;
    server.subscribe("acct-dbl", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-dbl").await;
    let browser = Browser::open().await;
    choose(&browser, &portal, "Kiro Pro+").await;
    browser
        .client
        .execute("const b = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Confirm'); b.click(); b.click(); b.click();", vec![])
        .await
        .unwrap();
    browser.wait_for_heading("You're now on Kiro Pro+").await;
    assert_eq!(server.invoices("acct-dbl").await.len(), 2);

    server.subscribe("acct-drop", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-drop").await;
    choose(&browser, &portal, "Kiro Power").await;
    server.faults.drop_next_confirm.store(true, Ordering::SeqCst);
    browser.click_button("Confirm").await;
    browser.wait_for_text("We couldn't reach the server").await;
    assert_eq!(server.invoices("acct-drop").await.len(), 2, "the server charged before the answer was cut");
    browser.click_button("Retry").await;
    browser.wait_for_heading("You're now on Kiro Power").await;
    assert_eq!(server.invoices("acct-drop").await.len(), 2);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_made_stale_by_the_clock_is_refused_and_shown_again() {
    let server = TestServer::start_at(time::macros::datetime!(2026-11-30 23:30 UTC)).await;
    server.subscribe("acct-stale", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-stale").await;
    let browser = Browser::open().await;
    choose(&browser, &portal, "Kiro Power").await;
    let before = browser.text().await;
    assert!(before.contains("Kiro Power from Nov 30 to Dec 1"), "{before}");
    // The month turns while the user reads: the renewal runs and the price is a new one.
    server.set_clock("2026-12-01T00:05:00Z").await;
    browser.click_button("Confirm").await;
    browser.wait_for_text("The price changed since you looked").await;
    browser.wait_for_text("Kiro Power for December 2026").await;
    browser.wait_for_text("$180.00 will be charged").await;
    browser.click_button("Confirm").await;
    browser.wait_for_heading("You're now on Kiro Power").await;
    let amounts: Vec<i64> = server.invoices("acct-stale").await.into_iter().map(|(a, _)| a).collect();
    // Bought on the last day of November: one whole day of thirty, $0.67.
    assert_eq!(amounts, vec![67, 2000, 18000]);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_expired_portal_sessions_have_their_own_pages() {
    let server = TestServer::start().await;
    server.subscribe("acct-old", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-old").await;
    let browser = Browser::open().await;
    browser.goto(&format!("{}/portal/ps_forged000000000000000000000000", server.base)).await;
    browser.wait_for_heading("This link doesn't work").await;
    server.set_clock("2026-11-16T01:00:00Z").await;
    browser.goto(&portal).await;
    browser.wait_for_heading("This link has expired").await;
    browser.audit("an expired portal session").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_upgrade_works_by_keyboard_alone() {
    let server = TestServer::start().await;
    server.subscribe("acct-kb", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-kb").await;
    let browser = Browser::open().await;
    browser.goto(&portal).await;
    browser.wait_for_portal_home().await;
    browser.wait_until("focus on the heading", "document.activeElement.tagName === 'H1'", vec![]).await;
    browser.press(TAB).await;
    browser
        .wait_until(
            "focus on Update subscription",
            "document.activeElement.textContent.trim() === 'Update subscription'",
            vec![],
        )
        .await;
    browser.press(ENTER).await;
    browser.wait_for_heading("Choose a plan").await;
    browser.wait_until("focus on the heading", "document.activeElement.tagName === 'H1'", vec![]).await;
    browser.press(TAB).await; // the checked radio (current plan)
    browser.wait_until("focus on the plans", "document.activeElement.name === 'plan'", vec![]).await;
    browser.press("\u{E015}").await; // Down: next plan (Pro+)
    browser.press(SPACE).await;
    browser.press(TAB).await;
    browser.wait_until("focus on Continue", "document.activeElement.textContent.trim() === 'Continue'", vec![]).await;
    browser.press(ENTER).await;
    browser.wait_for_heading("Confirm your new plan").await;
    browser.wait_until("focus on the heading", "document.activeElement.tagName === 'H1'", vec![]).await;
    browser.press(TAB).await;
    browser.wait_until("focus on Confirm", "document.activeElement.textContent.trim() === 'Confirm'", vec![]).await;
    browser.press(ENTER).await;
    browser.wait_for_heading("You're now on Kiro Pro+").await;
    browser.press(TAB).await;
    browser
        .wait_until("focus on Return to Kiro", "document.activeElement.textContent.trim() === 'Return to Kiro'", vec![])
        .await;
    assert_eq!(server.invoices("acct-kb").await.len(), 2);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_on_a_3_d_secure_card_asks_the_bank_then_changes_the_plan() {
    let server = TestServer::start().await;
    server.subscribe("acct-3ds-up", "pro", "4000002760003184").await;
    let portal = server.portal_session("acct-3ds-up").await;
    let browser = Browser::open().await;
    choose(&browser, &portal, "Kiro Pro+").await;
    browser.click_button("Confirm").await;
    browser.wait_for_text("Confirm this payment with your bank").await;
    browser.audit("the bank dialog on an upgrade").await;
    browser.click_button("Fail authentication").await;
    browser
        .wait_for_text(
            "Your bank couldn't verify this payment. Try again, or use another card. Your plan has not changed.",
        )
        .await;
    assert_eq!(server.subscription("acct-3ds-up").await["plan"], "pro");
    browser.click_button("Confirm").await;
    browser.click_button("Complete authentication").await;
    browser.wait_for_heading("You're now on Kiro Pro+").await;
    assert_eq!(server.invoices("acct-3ds-up").await.len(), 2);
    browser.close().await;
}

/// The portal home's markup and place (attributes sorted, text joined), and whether the server's
/// shell is still the page.
const HOME_NOW: &str = "
    const norm = (n) => n.nodeType === 3 ? n.textContent
        : n.nodeType !== 1 ? ''
        : '<' + n.tagName + ' ' + [...n.attributes].map(a => a.name + '=' + a.value).sort().join(' ') + '>'
          + [...n.childNodes].map(norm).join('') + '</' + n.tagName + '>';
    const home = document.querySelector('.portal');
    if (!home) return null;
    const r = home.getBoundingClientRect();
    return { markup: norm(home), rect: [r.x, r.y, r.width, r.height], shell: !!document.getElementById('shell') };
";

/// Counts the moments (DOM changes) when the home's heading, once shown, is not on screen: a
/// spinner in its place while the app loads the session would be one.
const HOME_GAPS: &str = "window.__homeSeen = false; window.__homeGaps = 0;
    new MutationObserver(() => {
        const shown = [...document.querySelectorAll('.portal h1')].some(h => h.getClientRects().length > 0);
        if (shown) window.__homeSeen = true; else if (window.__homeSeen) window.__homeGaps++;
    }).observe(document, { subtree: true, childList: true, attributes: true });";

/// A portal session's home is in the first HTML (plan, next payment, card on file), and the app
/// mounts the same markup in the same place, at desktop and phone widths, with no moment between
/// without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_painted_before_the_app_is_the_one_it_mounts_in_the_same_place() {
    let server = TestServer::start().await;
    server.subscribe("acct-home-paint", "pro", "4242424242424242").await;
    let portal = server.portal_session("acct-home-paint").await;
    for width in [1280, 375] {
        let browser = Browser::open_sized(width, 900).await;
        browser.cdp("Network.enable", serde_json::json!({})).await;
        browser.cdp("Network.setBlockedURLs", serde_json::json!({"urls": ["*.wasm"]})).await;
        browser.client.goto(&portal).await.unwrap();
        let painted = browser.client.execute(HOME_NOW, vec![]).await.unwrap();
        assert_eq!(painted["shell"], true, "without the wasm, the server's shell is the page");
        let markup = painted["markup"].as_str().unwrap_or_default();
        for text in ["Kiro Pro", "Next payment: $20.00 on December 1, 2026", "Visa ending in 4242"] {
            assert!(markup.contains(text), "{text} in the first paint: {painted}");
        }
        browser.screenshot(&format!("portal-first-paint-{width}")).await;

        browser.cdp("Network.setBlockedURLs", serde_json::json!({"urls": []})).await;
        browser.cdp("Page.addScriptToEvaluateOnNewDocument", serde_json::json!({"source": HOME_GAPS})).await;
        browser.goto(&portal).await;
        browser.wait_for_portal_home().await;
        let mounted = browser.client.execute(HOME_NOW, vec![]).await.unwrap();
        assert_eq!(mounted["shell"], false, "the app removed the shell");
        let gaps = browser.client.execute("return [window.__homeSeen, window.__homeGaps]", vec![]).await.unwrap();
        assert_eq!(
            gaps,
            serde_json::json!([true, 0]),
            "at {width} px: the home stayed on screen while the app took over"
        );
        assert_eq!(painted["markup"], mounted["markup"], "at {width} px: the same home");
        assert_eq!(painted["rect"], mounted["rect"], "at {width} px: in the same place");
        browser.close().await;
    }
}
