//! Choose a plan: every plan with its price and credits, the current one marked, and what a change
//! to each would do; **Continue** once a different plan is selected.

use super::past_due::PastDueBanner;
use super::{use_portal, with_view};
use crate::components::frame::{PageFrame, PageHeading};
use billing::PlanId;
use billing::period::long_date;
use billing::plans::format_credits;
use billing::wire::PortalView;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// `/portal/:session_id/update`.
#[component]
pub fn ChoosePlanPage() -> impl IntoView {
    with_view(|portal| view! { <ChoosePlan portal=portal /> })
}

/// What choosing `plan` would do, in a few words.
fn change_note(current: PlanId, plan: PlanId, portal: &PortalView) -> String {
    let current_price = current.plan().monthly_price;
    let price = plan.plan().monthly_price;
    if plan == current {
        "Your current plan".into()
    } else if price > current_price {
        "Upgrade: starts today with its full credits".into()
    } else {
        format!("Downgrade: starts on {}", long_date(portal.subscription.period.end))
    }
}

/// The plan list and Continue.
#[component]
fn ChoosePlan(portal: PortalView) -> impl IntoView {
    let context = use_portal();
    let current = portal.subscription.plan.id;
    let selected = RwSignal::new(current);
    let navigate = use_navigate();
    let continue_to = move || {
        let plan = selected.get_untracked();
        if plan != current {
            navigate(&context.href(&format!("/update/{}", plan.as_str())), Default::default());
        }
    };
    let options = portal
        .plans
        .iter()
        .map(|plan| {
            let id = plan.id;
            let note = change_note(current, id, &portal);
            view! {
                <label class="plan-option" class:current=id == current>
                    <input
                        type="radio"
                        name="plan"
                        value=id.as_str()
                        prop:checked=move || selected.get() == id
                        on:change=move |_| selected.set(id)
                    />
                    <span class="plan-option-body">
                        <span class="plan-option-name">
                            {plan.name.clone()}
                            {(id == current).then(|| view! { <span class="badge-current">"Current plan"</span> })}
                        </span>
                        <span class="plan-option-price">{format!("{} per month", plan.monthly_price)}</span>
                        <span class="plan-option-credits">{format!("{} credits per month", format_credits(plan.monthly_credits))}</span>
                        <span class="plan-option-note">{note}</span>
                    </span>
                </label>
            }
        })
        .collect_view();
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text="Choose a plan" />
                <PastDueBanner />
                <form
                    class="card"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        continue_to();
                    }
                >
                    <fieldset class="plans">
                        <legend class="section-title">"Plans"</legend>
                        {options}
                    </fieldset>
                    <div class="actions">
                        <button type="submit" class="button primary" disabled=move || selected.get() == current>
                            "Continue"
                        </button>
                        <a class="button secondary" href=context.href("")>
                            "Back"
                        </a>
                    </div>
                </form>
            </div>
        </PageFrame>
    }
}
