//! Whole-page states: loading, unknown, expired, locked, unreachable, not found.

use crate::components::frame::{PageFrame, PageHeading};
use billing::wire::Branding;
use i18n::CommonText;
use leptos::prelude::*;
pub use views::Loading;

/// A full page that explains one state and what to do next.
#[component]
pub fn StatusPage(
    #[prop(into)] title: String,
    #[prop(into)] message: String,
    #[prop(optional)] test_mode: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <PageFrame branding=Branding::default() test_mode=test_mode>
            <section class="card status-card">
                <PageHeading text=title />
                <p class="lead">{message}</p>
                {children.map(|c| c())}
            </section>
        </PageFrame>
    }
}

/// The server could not be reached; Retry calls `on_retry`.
#[component]
pub fn UnreachablePage(on_retry: Callback<()>) -> impl IntoView {
    let i18n = views::i18n();
    view! {
        <StatusPage title=i18n.t(CommonText::UnreachableTitle) message=i18n.t(CommonText::UnreachableMessage)>
            <button class="button primary" on:click=move |_| on_retry.run(())>
                {i18n.t(CommonText::RetryButton)}
            </button>
        </StatusPage>
    }
}

/// Which kind of session a link opens: its pages say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Checkout,
    /// The portal.
    SubscriptionManagement,
}

/// The session id is not one we know.
#[component]
pub fn UnknownSessionPage(kind: SessionKind) -> impl IntoView {
    let i18n = views::i18n();
    let message = match kind {
        SessionKind::Checkout => CommonText::UnknownCheckoutMessage,
        SessionKind::SubscriptionManagement => CommonText::UnknownPortalMessage,
    };
    view! { <StatusPage title=i18n.t(CommonText::UnknownLinkTitle) message=i18n.t(message) /> }
}

/// The session is past its expiry.
#[component]
pub fn ExpiredSessionPage(kind: SessionKind) -> impl IntoView {
    let i18n = views::i18n();
    let message = match kind {
        SessionKind::Checkout => CommonText::ExpiredCheckoutMessage,
        SessionKind::SubscriptionManagement => CommonText::ExpiredPortalMessage,
    };
    view! { <StatusPage title=i18n.t(CommonText::ExpiredLinkTitle) message=i18n.t(message) /> }
}
