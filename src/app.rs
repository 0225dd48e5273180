//! The apps, one per bundle, each only mounting its pages: the checkout (one page, no router, so
//! its bundle carries no portal code), the portal (its routes under one parent that loads the
//! portal once) and the portal home alone (the page every portal visit starts on, without the
//! router and the other pages). Each provides the page's catalog (`i18n`), which the server put in the HTML.

use crate::components::frame::{AppRoot, PageShown};
use crate::pages::checkout::CheckoutPage;
use crate::pages::not_found::NotFoundPage;
use crate::pages::portal::cancel::CancelPage;
use crate::pages::portal::change::ConfirmChangePage;
use crate::pages::portal::home::PortalHomePage;
use crate::pages::portal::invoices::{BillingHistoryPage, InvoicePage};
use crate::pages::portal::payment_method::PaymentMethodPage;
use crate::pages::portal::plans::ChoosePlanPage;
use crate::pages::portal::spending_limit::SpendingLimitPage;
use crate::pages::portal::{PortalHomeOnly, PortalLayout};
use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The page's catalog (from its HTML), and, on a session's page, what its language menu does:
/// save the choice for the session, then load the page again in that language, with what was typed
/// in the checkout's form but its card (if saving fails, the menu shows the page's language again).
fn provide_language() {
    let catalog = i18n::I18n::new(i18n::Catalog::from_page());
    let current = catalog.locale.tag();
    provide_context(catalog);
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    let Some((area, session_id)) = views::page_session(&path) else {
        return;
    };
    let shown = RwSignal::new(current.to_string());
    let choose = Callback::new(move |tag: String| {
        let session_id = session_id.clone();
        leptos::task::spawn_local(async move {
            if crate::api::choose_locale(area, &session_id, &tag).await.is_ok() {
                crate::browser::keep_typed_for_reload();
                let _ = web_sys::window().map(|w| w.location().reload());
            } else {
                shown.set(current.to_string());
            }
        });
    });
    provide_context(views::frame::LanguageChoice { choose, shown });
}

/// `/checkout/{session_id}`; any other address the server sends here is "not found".
#[component]
pub fn CheckoutApp() -> impl IntoView {
    provide_language();
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    match views::checkout_session_id(&path) {
        Some(session_id) => view! { <CheckoutPage session_id=session_id /> }.into_any(),
        None => view! { <AppRoot><NotFoundPage /></AppRoot> }.into_any(),
    }
}

/// The portal: every page under `/portal/:session_id`, anything else is "not found". The server's
/// first paint (the home's, for a portal session) stays until the page has its session.
#[component]
pub fn PortalApp() -> impl IntoView {
    let shown = provide_portal_page();
    view! {
        <Router>
            <AppRoot ready=shown>
                <Routes fallback=portal_not_found>
                    <ParentRoute path=path!("/portal/:session_id") view=PortalLayout>
                        <Route path=path!("") view=PortalHomePage />
                        <Route path=path!("update") view=ChoosePlanPage />
                        <Route path=path!("update/:plan") view=ConfirmChangePage />
                        <Route path=path!("payment-method") view=PaymentMethodPage />
                        <Route path=path!("invoices") view=BillingHistoryPage />
                        <Route path=path!("invoices/:invoice_id") view=InvoicePage />
                        <Route path=path!("cancel") view=CancelPage />
                        <Route path=path!("spending-limit") view=SpendingLimitPage />
                    </ParentRoute>
                </Routes>
            </AppRoot>
        </Router>
    }
}

/// The portal home's own bundle, which the server sends for `/portal/{session_id}`: the home
/// page alone, so the first visit carries none of the other pages' code. Anything else is "not
/// found" (the server sends the full portal there).
#[component]
pub fn PortalHomeApp() -> impl IntoView {
    let shown = provide_portal_page();
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    let page = match views::portal_home_session_id(&path) {
        Some(session_id) => view! { <PortalHomeOnly session_id=session_id /> }.into_any(),
        None => portal_not_found().into_any(),
    };
    view! { <AppRoot ready=shown>{page}</AppRoot> }
}

/// What both portal apps provide: the page's language, and whether the page shows what it is for
/// (the server's first paint stays until then): the signal [`AppRoot`] waits for.
fn provide_portal_page() -> RwSignal<bool> {
    provide_language();
    let shown = RwSignal::new(false);
    provide_context(PageShown(shown));
    shown
}

/// "Not found" in a portal app, shown at once.
fn portal_not_found() -> impl IntoView {
    PageShown::mark();
    view! { <NotFoundPage /> }
}
