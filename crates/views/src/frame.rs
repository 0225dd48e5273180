//! The page frame (brand header with the test-mode badge, the content, the legal line) and the
//! checkout's two columns.

use billing::wire::Branding;
use i18n::CommonText;
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
    let branding = localized(&branding);
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
            {test_mode.then(TestModeBadge)}
            {back}
        </header>
        <main class="page" id="main">
            {children()}
        </main>
        <footer class="legal">
            <p>{branding.legal_line.clone()}</p>
            <LanguageMenu />
        </footer>
    }
}

/// The branding's texts in the page's language: the server's defaults (Kiro's) come from the
/// catalog; an operator's own texts are shown as given.
pub fn localized(branding: &Branding) -> Branding {
    let i18n = crate::i18n();
    let default = Branding::default();
    let mut shown = branding.clone();
    if branding.return_link_text == default.return_link_text {
        shown.return_link_text = i18n.f(CommonText::ReturnLink, &[("product", &branding.product_name)]);
    }
    if branding.legal_line == default.legal_line {
        shown.legal_line = i18n.t(CommonText::LegalLine);
    }
    shown
}

/// What a language picked in the menu does (the app: save it for the session, load the page
/// again). The menu is shown only where there is one: pages of a session (the server's first
/// paint provides a stand-in, so its menu is the one the app mounts), not the "not found" pages.
#[derive(Clone, Copy)]
pub struct LanguageChoice {
    /// Saves the language picked.
    pub choose: Callback<String>,
    /// The language the menu shows once it changes: the one picked, or the page's again if saving
    /// it failed (the page's own is shown by its option's `selected`).
    pub shown: RwSignal<String>,
}

impl LanguageChoice {
    /// A menu that does nothing: the server's first paint, which the app's replaces.
    pub fn stand_in(page_language: &str) -> LanguageChoice {
        LanguageChoice { choose: Callback::new(|_: String| {}), shown: RwSignal::new(page_language.to_string()) }
    }
}

/// The footer's language menu: every language by its own name, the page's chosen.
#[component]
pub fn LanguageMenu() -> impl IntoView {
    let i18n = crate::i18n();
    let LanguageChoice { choose, shown } = use_context::<LanguageChoice>()?;
    let current = i18n.locale.tag();
    let options = i18n
        .languages
        .iter()
        .map(|(tag, name)| {
            view! {
                // `selected` chooses the first one shown (the server's render, and the app's first
                // frame: `prop:value` below is set before the options are there); `prop:value`
                // any later change.
                <option value=tag.clone() lang=tag.clone() selected=tag == current>
                    {name.clone()}
                </option>
            }
        })
        .collect_view();
    Some(view! {
        <label class="language-menu">
            <span>{i18n.t(CommonText::LanguageMenuLabel)}</span>
            <select
                prop:value=move || shown.get()
                on:change=move |ev| {
                    let tag = event_target_value(&ev);
                    shown.set(tag.clone());
                    choose.run(tag);
                }
            >
                {options}
            </select>
        </label>
    })
}

/// Tells the user that nothing here moves real money.
#[component]
pub fn TestModeBadge() -> impl IntoView {
    let i18n = crate::i18n();
    view! { <span class="badge-test" title=i18n.t(CommonText::TestModeBadgeTitle)>{i18n.t(CommonText::TestModeBadge)}</span> }
}

/// The checkout's columns: what is bought beside the form (summary first on narrow screens).
#[component]
pub fn CheckoutColumns(summary: AnyView, children: Children) -> impl IntoView {
    view! {
        <div class="checkout">
            <div class="checkout-summary">{summary}</div>
            <div class="checkout-form card">{children()}</div>
        </div>
    }
}
