//! The one router.

use crate::pages::checkout::CheckoutPage;
use crate::pages::not_found::NotFoundPage;
use crate::pages::portal::PortalHomePage;
use crate::pages::portal_cancel::CancelPage;
use crate::pages::portal_change::ConfirmChangePage;
use crate::pages::portal_invoices::{BillingHistoryPage, InvoicePage};
use crate::pages::portal_payment_method::PaymentMethodPage;
use crate::pages::portal_plans::ChoosePlanPage;
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
                    <Route path=path!("/portal/:session_id") view=PortalHomePage />
                    <Route path=path!("/portal/:session_id/update") view=ChoosePlanPage />
                    <Route path=path!("/portal/:session_id/update/:plan") view=ConfirmChangePage />
                    <Route path=path!("/portal/:session_id/payment-method") view=PaymentMethodPage />
                    <Route path=path!("/portal/:session_id/invoices") view=BillingHistoryPage />
                    <Route path=path!("/portal/:session_id/invoices/:invoice_id") view=InvoicePage />
                    <Route path=path!("/portal/:session_id/cancel") view=CancelPage />
                </Routes>
            </div>
        </Router>
    }
}
