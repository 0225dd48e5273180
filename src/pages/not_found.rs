//! Any address the router does not know.

use crate::components::status::StatusPage;
use i18n::CommonText;
use leptos::prelude::*;

/// The not-found page.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    let i18n = views::i18n();
    view! { <StatusPage title=i18n.t(CommonText::NotFoundTitle) message=i18n.t(CommonText::NotFoundMessage) /> }
}
