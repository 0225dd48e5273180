//! The manage-subscription portal. Its flows arrive with their own issue; until then the route
//! answers honestly instead of showing a blank page.

use crate::components::status::StatusPage;
use leptos::prelude::*;

/// The portal route.
#[component]
pub fn PortalPage() -> impl IntoView {
    view! {
        <StatusPage
            title="Manage your plan in Kiro"
            message="Managing a subscription in the browser isn't available yet. In Kiro, open the account menu and choose Manage Plan."
        />
    }
}
