//! Choose a plan: every plan with its price and credits, the current one marked, and what a change
//! to each would do; **Continue** once a different plan is selected.

use super::past_due::PastDueBanner;
use super::{use_portal, with_view};
use crate::components::frame::{PageFrame, PageHeading};
use billing::PlanId;
use billing::wire::PortalView;
use i18n::{I18n, PortalText};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use views::portal_home::plan_credits;

/// `/portal/:session_id/update`.
#[component]
pub fn ChoosePlanPage() -> impl IntoView {
    with_view(|portal| view! { <ChoosePlan portal=portal /> })
}

/// What choosing `plan` would do, in a few words.
fn change_note(i18n: &I18n, current: PlanId, plan: PlanId, portal: &PortalView) -> String {
    let current_price = current.plan().monthly_price;
    let price = plan.plan().monthly_price;
    if plan == current {
        i18n.t(PortalText::NoteCurrentPlan)
    } else if price > current_price {
        i18n.t(PortalText::NoteUpgrade)
    } else {
        i18n.f(PortalText::NoteDowngrade, &[("date", &i18n.long_date(portal.subscription.period.end))])
    }
}

/// The plan list and Continue.
#[component]
fn ChoosePlan(portal: PortalView) -> impl IntoView {
    let i18n = views::i18n();
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
            let note = change_note(&i18n, current, id, &portal);
            let price = i18n.f(PortalText::PricePerMonth, &[("price", &i18n.money(plan.monthly_price.cents()))]);
            let badge = (id == current).then(|| i18n.t(PortalText::CurrentPlan));
            let credits = plan_credits(&i18n, plan.monthly_credits);
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
                            {badge.map(|badge| view! { <span class="badge-current">{badge}</span> })}
                        </span>
                        <span class="plan-option-price">{price}</span>
                        <span class="plan-option-credits">{credits}</span>
                        <span class="plan-option-note">{note}</span>
                    </span>
                </label>
            }
        })
        .collect_view();
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text=i18n.t(PortalText::ChoosePlanHeading) />
                <PastDueBanner />
                <form
                    class="card"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        continue_to();
                    }
                >
                    <fieldset class="plans">
                        <legend class="section-title">{i18n.t(PortalText::PlansLegend)}</legend>
                        {options}
                    </fieldset>
                    <div class="actions">
                        <button type="submit" class="button primary" disabled=move || selected.get() == current>
                            {i18n.t(PortalText::Continue)}
                        </button>
                        <a class="button secondary" href=context.href("")>
                            {i18n.t(PortalText::Back)}
                        </a>
                    </div>
                </form>
            </div>
        </PageFrame>
    }
}
