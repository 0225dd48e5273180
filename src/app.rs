//! The one router.

use crate::pages::{checkout::CheckoutPage, not_found::NotFoundPage, portal::PortalPage};
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The app: one route per page, anything else is "not found".
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <div class="app">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/checkout/:session_id") view=CheckoutPage />
                    <Route path=path!("/portal/:session_id") view=PortalPage />
                </Routes>
            </div>
        </Router>
    }
}
