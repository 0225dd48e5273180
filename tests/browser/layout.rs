//! Every main page at 320, 375, 768 and 1280 px: nothing scrolls sideways, nothing is cut off.
//! Screenshots of each land in `test-artifacts/`. Reduced motion stops the spinner.

use super::harness::{Browser, TestServer};
use serde_json::json;

/// Fails if the page scrolls sideways or any visible element sticks out of the viewport.
pub(super) async fn assert_fits(browser: &Browser, what: &str) {
    let overflow = browser
        .client
        .execute(
            "const w = document.documentElement.clientWidth;
             const out = [...document.querySelectorAll('body *')].filter(e => {
               const r = e.getBoundingClientRect();
               return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden' &&
                      (r.right > w + 1 || r.left < -1);
             }).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 30));
             // With the scrollbar gutter kept, a page shorter than the window is narrower than it.
             return { scroll: Math.max(0, document.documentElement.scrollWidth - w), out };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow["scroll"], 0, "{what} scrolls sideways: {overflow}");
    assert_eq!(overflow["out"], serde_json::json!([]), "{what} has elements outside the viewport: {overflow}");
}

/// Fails on any button, label, legend, badge or select whose text does not fit in it: wider than
/// its box (a word that cannot wrap), outside its parent, or a select's chosen option cut short
/// (measured against the same select sized to its content by the browser).
pub(super) async fn assert_no_clipped_text(browser: &Browser, what: &str) {
    let clipped = browser
        .client
        .execute(
        "const name = e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).trim().split(/\\s+/).join('.') : '')
                           + ' ' + JSON.stringify(tidy(e.innerText || e.value || ''));
         const tidy = t => t.replace(/\\s+/g, ' ').trim().slice(0, 60);
         const out = [];
         const all = document.body.querySelectorAll(
           'button, .button, label, legend, select, [class*=badge], .status, .card-brand, .return-link, .link, th, dt, dd');
         for (const e of all) {
           if (!e.checkVisibility({ visibilityProperty: true }) || e.closest('.sr-only')) continue;
           const box = e.getBoundingClientRect();
           if (box.width === 0 || box.height === 0) continue;
           if (e.tagName === 'SELECT') {
             const sized = e.cloneNode(true);
             sized.removeAttribute('id');
             sized.value = e.value;
             sized.style.cssText = 'field-sizing: content; width: auto; min-width: 0; max-width: none; position: absolute; visibility: hidden';
             e.parentElement.append(sized);
             const needs = sized.getBoundingClientRect().width;
             sized.remove();
             if (needs > box.width + 0.5) out.push(name(e) + ` shows ${Math.round(box.width)} of ${Math.round(needs)} px`);
             continue;
           }
           if (getComputedStyle(e).display === 'inline') {
             const outer = e.parentElement.getBoundingClientRect();
             if (box.left < outer.left - 1 || box.right > outer.right + 1) out.push(name(e) + ' sticks out of its parent');
           } else if (e.scrollWidth > e.clientWidth + 1) {
             out.push(name(e) + ` needs ${e.scrollWidth} px, has ${e.clientWidth}`);
           }
         }
         return out;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(clipped, json!([]), "{what}: text clipped or sticking out");
}

/// Fails unless the inputs of the fields side by side (expiry and security code) start at the
/// same height, whichever label wraps.
async fn assert_side_by_side_fields_line_up(browser: &Browser) {
    let tops = browser
        .client
        .execute(
            "return ['card-expiry', 'card-cvc'].map(id => document.getElementById(id).getBoundingClientRect())
                     .map(r => [Math.round(r.left), Math.round(r.top)]);",
            vec![],
        )
        .await
        .unwrap();
    let (expiry, cvc) = (&tops[0], &tops[1]);
    if expiry[0] != cvc[0] {
        assert_eq!(expiry[1], cvc[1], "the expiry's and the security code's inputs at different heights");
    }
}

async fn pages_at(width: u32) {
    let server = TestServer::start().await;
    let checkout = server.checkout_session(&format!("acct-w{width}"), "pro_plus").await;
    server.subscribe(&format!("acct-p{width}"), "pro", "4242424242424242").await;
    let portal = server.portal_session(&format!("acct-p{width}")).await;
    let browser = Browser::open_sized(width, 900).await;

    browser.goto(&checkout).await;
    browser.wait_for_heading("Subscribe to Kiro Pro+").await;
    browser.fill("Card number", "4242").await;
    browser.blur().await;
    browser.wait_for_text("Your card number is incomplete.").await;
    assert_fits(&browser, "the checkout form").await;
    assert_no_clipped_text(&browser, "the checkout form").await;
    assert_side_by_side_fields_line_up(&browser).await;
    browser.screenshot(&format!("layout-{width}-checkout")).await;

    browser.goto(&portal).await;
    browser.wait_for_heading("Your subscription").await;
    assert_fits(&browser, "the portal home").await;
    assert_no_clipped_text(&browser, "the portal home").await;
    browser.screenshot(&format!("layout-{width}-portal-home")).await;

    browser.goto(&format!("{portal}/update")).await;
    browser.wait_for_heading("Choose a plan").await;
    assert_fits(&browser, "the plan chooser").await;
    assert_no_clipped_text(&browser, "the plan chooser").await;
    browser.screenshot(&format!("layout-{width}-portal-plans")).await;

    browser.goto(&format!("{portal}/update/power")).await;
    browser.wait_for_heading("Confirm your new plan").await;
    assert_fits(&browser, "the confirm page").await;
    assert_no_clipped_text(&browser, "the confirm page").await;
    browser.screenshot(&format!("layout-{width}-portal-confirm")).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_320_px() {
    pages_at(320).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_375_px() {
    pages_at(375).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_768_px() {
    pages_at(768).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_1280_px() {
    pages_at(1280).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reduced_motion_stops_animation() {
    let server = TestServer::start().await;
    let url = server.checkout_session("acct-motion", "pro").await;
    for (motion, expected) in [("reduce", "none"), ("no-preference", "spin")] {
        let browser = Browser::open().await;
        let features = serde_json::json!({"features": [{"name": "prefers-reduced-motion", "value": motion}]});
        browser.cdp("Emulation.setEmulatedMedia", features).await;
        browser.goto(&url).await;
        browser.wait_for_heading("Subscribe to Kiro Pro").await;
        let animation = browser
            .client
            .execute(
                "const s = document.createElement('span'); s.className = 'spinner'; document.body.append(s); \
                 return getComputedStyle(s).animationName",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(animation, expected, "prefers-reduced-motion: {motion}");
        browser.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_focus_is_visible_on_every_control() {
    let server = TestServer::start().await;
    server.subscribe("acct-focus", "pro", "4242424242424242").await;
    let checkout = server.checkout_session("acct-focus-new", "pro").await;
    let portal = server.portal_session("acct-focus").await;
    let browser = Browser::open().await;
    for (url, heading, stops) in
        [(checkout.as_str(), "Subscribe to Kiro Pro", 7), (portal.as_str(), "Your subscription", 5)]
    {
        browser.goto(url).await;
        browser.wait_for_heading(heading).await;
        browser.wait_until("focus on the heading", "document.activeElement.tagName === 'H1'", vec![]).await;
        for _ in 0..stops {
            browser.press("\u{E004}").await;
            let shown = browser
                .client
                .execute(
                    "const e = document.activeElement; const s = getComputedStyle(e);
                     return { what: e.outerHTML.slice(0, 80), ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none' };",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(shown["ring"], true, "no visible focus on {}", shown["what"]);
        }
    }
    browser.close().await;
}
