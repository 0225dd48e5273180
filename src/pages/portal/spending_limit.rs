//! The overage's monthly spending limit: an amount in dollars, or empty for none. Reached, the IDE
//! stops until the next month (`can_use` turns false). Saved, the home shows it.

use super::{use_portal, with_view};
use crate::api;
use crate::components::alert::BusyButton;
use crate::components::frame::{PageFrame, PageHeading};
use billing::Money;
use billing::wire::PortalView;
use i18n::PortalText;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// `/portal/:session_id/spending-limit`.
#[component]
pub fn SpendingLimitPage() -> impl IntoView {
    with_view(|portal| view! { <SpendingLimit portal=portal /> })
}

#[component]
fn SpendingLimit(portal: PortalView) -> impl IntoView {
    let context = use_portal();
    let i18n = views::i18n();
    let current = portal.usage.as_ref().and_then(|u| u.spending_limit);
    let typed = RwSignal::new(current.map(|l| i18n.credits(l.cents())).unwrap_or_default());
    let navigate = use_navigate();
    let catalog = i18n.clone();
    let save = Action::new_local(move |limit: &Option<Money>| {
        let (navigate, catalog, limit) = (navigate.clone(), catalog.clone(), *limit);
        async move {
            match api::set_spending_limit(&context.session_id(), limit).await {
                Ok(view) => {
                    context.set(view);
                    navigate(&context.href(""), Default::default());
                    None
                }
                Err(e) => Some(e.message(&catalog)),
            }
        }
    });
    let unreadable = RwSignal::new(false);
    let decimal = i18n.decimal_separator().to_string();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match billing::usage::parse_spending_limit(&typed.get_untracked(), &decimal) {
            Ok(limit) => {
                unreadable.set(false);
                save.dispatch(limit);
            }
            Err(_) => unreadable.set(true),
        }
    };
    let unreadable_text = i18n.t(PortalText::SpendingLimitInvalid);
    // What went wrong: the amount did not read, or the server refused it.
    let error = move || if unreadable.get() { Some(unreadable_text.clone()) } else { save.value().get().flatten() };
    let save_label = i18n.t(PortalText::SpendingLimitSave);
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text=i18n.t(PortalText::SpendingLimitTitle) />
                <section class="card">
                    <form class="spending-limit-form" novalidate on:submit=submit>
                        <div class="field">
                            <label for="spending-limit">{i18n.t(PortalText::SpendingLimitLabel)}</label>
                            <p class="muted" id="spending-limit-hint">{i18n.t(PortalText::SpendingLimitHint)}</p>
                            <input
                                id="spending-limit"
                                type="text"
                                inputmode="decimal"
                                autocomplete="off"
                                aria-describedby="spending-limit-hint spending-limit-error"
                                aria-invalid=move || if unreadable.get() { "true" } else { "false" }
                                prop:value=move || typed.get()
                                on:input=move |ev| typed.set(event_target_value(&ev))
                            />
                            <p class="field-error" id="spending-limit-error" role="alert">{error}</p>
                        </div>
                        <div class="actions">
                            <BusyButton label=save_label.clone() busy_label=save_label loading=save.pending() submit=true />
                            <a class="button secondary" href=context.href("")>{i18n.t(PortalText::BackToSubscription)}</a>
                        </div>
                    </form>
                </section>
            </div>
        </PageFrame>
    }
}
