//! Cancel plan: what the user keeps and until when, then a confirmation. The home page then shows
//! "ends on ..." and Resume until that day.

use super::{use_portal, with_view};
use crate::api;
use crate::components::alert::BusyButton;
use crate::components::frame::{PageFrame, PageHeading};
use billing::PlanId;
use billing::wire::PortalView;
use i18n::PortalText;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// `/portal/:session_id/cancel`.
#[component]
pub fn CancelPage() -> impl IntoView {
    with_view(|portal| view! { <CancelPlan portal=portal /> })
}

#[component]
fn CancelPlan(portal: PortalView) -> impl IntoView {
    let context = use_portal();
    let sub = portal.subscription.clone();
    let navigate = use_navigate();
    let i18n = views::i18n();
    let cancel = Action::new_local(move |_: &()| {
        let (navigate, i18n) = (navigate.clone(), i18n.clone());
        async move {
            match api::set_cancel(&context.session_id(), true).await {
                Ok(view) => {
                    context.set(view);
                    navigate(&context.href(""), Default::default());
                    None
                }
                Err(e) => Some(e.message(&i18n)),
            }
        }
    });
    let free = PlanId::Free.plan();
    let i18n = views::i18n();
    let keep_until = i18n.plural(
        PortalText::CancelKeepUntil,
        u64::from(sub.plan.monthly_credits),
        &[("plan", &sub.plan.name), ("date", &i18n.long_date(sub.period.end))],
    );
    let then_free = i18n.plural(PortalText::CancelThenFree, u64::from(free.monthly_credits), &[("plan", free.name)]);
    let cancel_plan = i18n.t(PortalText::CancelPlan);
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text=i18n.t(PortalText::CancelHeading) />
                <section class="card">
                    <p class="lead">{keep_until}</p>
                    <p>{then_free}</p>
                    <p class="field-error" role="alert">
                        {move || cancel.value().get().flatten()}
                    </p>
                    <div class="actions">
                        <BusyButton
                            label=cancel_plan.clone()
                            busy_label=cancel_plan
                            class="button danger"
                            loading=cancel.pending()
                            on_click=Callback::new(move |_| {
                                cancel.dispatch(());
                            })
                        />
                        <a class="button secondary" href=context.href("")>
                            {i18n.t(PortalText::KeepMyPlan)}
                        </a>
                    </div>
                </section>
            </div>
        </PageFrame>
    }
}
