//! Any address the router does not know.

use crate::components::status::StatusPage;
use leptos::prelude::*;

/// The not-found page.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <StatusPage
            title="Page not found"
            message="There's nothing at this address. To upgrade or manage your plan, start from Kiro: open the account menu and choose Upgrade or Manage Plan."
        />
    }
}
