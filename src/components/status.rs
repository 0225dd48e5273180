//! Whole-page states: loading, unknown, expired, locked, unreachable, not found.

use crate::components::frame::{PageFrame, PageHeading};
use billing::wire::Branding;
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
    view! {
        <StatusPage
            title="We can't reach the server"
            message="Check your internet connection, then try again. Nothing has been charged."
        >
            <button class="button primary" on:click=move |_| on_retry.run(())>
                "Retry"
            </button>
        </StatusPage>
    }
}

/// The session id is not one we know.
#[component]
pub fn UnknownSessionPage(#[prop(into)] kind: String) -> impl IntoView {
    view! {
        <StatusPage
            title="This link doesn't work"
            message=format!(
                "We can't find this {kind}. Check that you opened the whole link, or start again from Kiro.",
            )
        />
    }
}

/// The session is past its expiry.
#[component]
pub fn ExpiredSessionPage(#[prop(into)] kind: String) -> impl IntoView {
    view! {
        <StatusPage
            title="This link has expired"
            message=format!(
                "For your security, {kind} links work for a limited time. Go back to Kiro and open it again; nothing has been charged.",
            )
        />
    }
}
