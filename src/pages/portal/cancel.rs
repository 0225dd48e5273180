//! Cancel plan: what the user keeps and until when, then a confirmation. The home page then shows
//! "ends on ..." and Resume until that day.

use super::{use_portal, with_view};
use crate::api;
use crate::components::alert::BusyButton;
use crate::components::frame::{PageFrame, PageHeading};
use billing::PlanId;
use billing::period::long_date;
use billing::plans::format_credits;
use billing::wire::PortalView;
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
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text="Cancel your plan?" />
                <section class="card">
                    <p class="lead">
                        {format!(
                            "You keep {} and its {} credits a month until {}.",
                            sub.plan.name,
                            format_credits(sub.plan.monthly_credits),
                            long_date(sub.period.end),
                        )}
                    </p>
                    <p>
                        {format!(
                            "After that your account moves to {} ({} credits a month) and you won't be charged again. You can resume any time before then.",
                            free.name,
                            free.monthly_credits,
                        )}
                    </p>
                    <p class="field-error" role="alert">
                        {move || cancel.value().get().flatten()}
                    </p>
                    <div class="actions">
                        <BusyButton
                            label="Cancel plan"
                            busy_label="Cancel plan"
                            class="button danger"
                            loading=cancel.pending()
                            on_click=Callback::new(move |_| {
                                cancel.dispatch(());
                            })
                        />
                        <a class="button secondary" href=context.href("")>
                            "Keep my plan"
                        </a>
                    </div>
                </section>
            </div>
        </PageFrame>
    }
}
