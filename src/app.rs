//! The one router.

use crate::pages::checkout::CheckoutPage;
use crate::pages::not_found::NotFoundPage;
use crate::pages::portal::PortalLayout;
use crate::pages::portal::cancel::CancelPage;
use crate::pages::portal::change::ConfirmChangePage;
use crate::pages::portal::home::PortalHomePage;
use crate::pages::portal::invoices::{BillingHistoryPage, InvoicePage};
use crate::pages::portal::payment_method::PaymentMethodPage;
use crate::pages::portal::plans::ChoosePlanPage;
use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The app: one route per page (the portal's under one parent that loads the portal once),
/// anything else is "not found".
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <div class="app">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/checkout/:session_id") view=CheckoutPage />
                    <ParentRoute path=path!("/portal/:session_id") view=PortalLayout>
                        <Route path=path!("") view=PortalHomePage />
                        <Route path=path!("update") view=ChoosePlanPage />
                        <Route path=path!("update/:plan") view=ConfirmChangePage />
                        <Route path=path!("payment-method") view=PaymentMethodPage />
                        <Route path=path!("invoices") view=BillingHistoryPage />
                        <Route path=path!("invoices/:invoice_id") view=InvoicePage />
                        <Route path=path!("cancel") view=CancelPage />
                    </ParentRoute>
                </Routes>
            </div>
        </Router>
    }
}
