//! The page frame: brand header with the test-mode badge, the content, the legal line.

use billing::wire::Branding;
use leptos::html;
use leptos::prelude::*;

/// Header, main content and footer around every page. `return_url` puts the way back to the
/// IDE at the top.
#[component]
pub fn PageFrame(
    branding: Branding,
    test_mode: bool,
    #[prop(optional, into)] return_url: Option<String>,
    children: Children,
) -> impl IntoView {
    let back = return_url.map(|href| {
        view! {
            <a class="return-link" href=href>
                {branding.return_link_text.clone()}
            </a>
        }
    });
    view! {
        <header class="topbar">
            <span class="brand-mark" aria-hidden="true">"K"</span>
            <span class="brand-name">{branding.product_name.clone()}</span>
            <Show when=move || test_mode>
                <TestModeBadge />
            </Show>
            {back}
        </header>
        <main class="page" id="main">
            {children()}
        </main>
        <footer class="legal">
            <p>{branding.legal_line.clone()}</p>
        </footer>
    }
}

/// Tells the user that nothing here moves real money.
#[component]
pub fn TestModeBadge() -> impl IntoView {
    view! { <span class="badge-test" title="No real payments are made in test mode">"Test mode"</span> }
}

/// The page's `<h1>`, focused when it appears so screen readers announce the new page.
#[component]
pub fn PageHeading(#[prop(into)] text: String) -> impl IntoView {
    let heading = NodeRef::<html::H1>::new();
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&format!("{text} · Kiro"));
    }
    Effect::new(move |_| {
        if let Some(el) = heading.get() {
            // On the next frame the page is in the document, where focus can land.
            request_animation_frame(move || {
                let _ = el.focus();
            });
        }
    });
    view! { <h1 tabindex="-1" node_ref=heading>{text}</h1> }
}

/// Moves focus to `target` each time `when` becomes true (a decline, a failure), so screen readers
/// read it out and keyboard users continue from there.
pub fn focus_when(when: impl Fn() -> bool + Send + Sync + 'static, target: NodeRef<html::Div>) {
    Effect::new(move |_| {
        if when()
            && let Some(el) = target.get()
        {
            let _ = el.focus();
        }
    });
}
