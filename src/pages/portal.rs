//! The portal home: the current plan, the next payment, the card on file, a scheduled change with
//! a way to undo it, and **Update subscription**.

use crate::api::{self, ApiError};
use crate::components::frame::{PageFrame, PageHeading};
use crate::components::status::{ExpiredSessionPage, Loading, StatusPage, UnknownSessionPage, UnreachablePage};
use crate::pages::SessionParams;
use billing::period::long_date;
use billing::plans::format_credits;
use billing::wire::{CardSummary, ErrorCode, PortalSubscription, PortalView, SubscriptionStatus};
use leptos::prelude::*;
use leptos_router::hooks::use_params;

/// The session id of a `/portal/:session_id...` route.
pub fn use_portal_session_id() -> Memo<String> {
    let params = use_params::<SessionParams>();
    Memo::new(move |_| params.get().ok().and_then(|p| p.session_id).unwrap_or_default())
}

/// The page for a portal session that could not be loaded.
#[component]
pub fn PortalErrorPage(error: ApiError, on_retry: Callback<()>) -> impl IntoView {
    match error.code() {
        Some(ErrorCode::SessionNotFound) => view! { <UnknownSessionPage kind="subscription management" /> }.into_any(),
        Some(ErrorCode::SessionExpired) => view! { <ExpiredSessionPage kind="subscription management" /> }.into_any(),
        Some(ErrorCode::NoSubscription) => view! {
            <StatusPage
                title="This link is no longer valid"
                message="There's no subscription to manage on this account any more. Open Kiro and choose Upgrade to start a new one."
            />
        }
        .into_any(),
        _ => view! { <UnreachablePage on_retry=on_retry /> }.into_any(),
    }
}

/// `/portal/:session_id`.
#[component]
pub fn PortalHomePage() -> impl IntoView {
    let session_id = use_portal_session_id();
    let portal = LocalResource::new(move || api::portal_session(session_id.get()));
    let reload = Callback::new(move |_| portal.refetch());
    view! {
        <Transition fallback=|| view! { <Loading label="Loading your subscription…" /> }>
            {move || Suspend::new(async move {
                match portal.await {
                    Ok(view) => view! { <PortalHome session_id=session_id.get_untracked() portal=view on_changed=reload /> }.into_any(),
                    Err(error) => view! { <PortalErrorPage error=error on_retry=reload /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn status_label(status: SubscriptionStatus) -> &'static str {
    match status {
        SubscriptionStatus::Active => "Active",
        SubscriptionStatus::PastDue => "Payment past due",
        SubscriptionStatus::Canceled => "Canceled",
    }
}

/// One sentence about the next payment.
pub fn next_payment_sentence(sub: &PortalSubscription) -> String {
    match sub.next_renewal_at {
        Some(at) => format!("Next payment: {} on {}", sub.next_renewal_amount, long_date(at)),
        None => format!("No further payments. Your plan ends on {}.", long_date(sub.period.end)),
    }
}

/// The portal home's content.
#[component]
fn PortalHome(session_id: String, portal: PortalView, on_changed: Callback<()>) -> impl IntoView {
    let sub = portal.subscription.clone();
    let update_href = format!("/portal/{session_id}/update");
    let keep = Action::new_local(move |_: &()| {
        let session_id = session_id.clone();
        async move {
            let result = api::keep_plan(&session_id).await;
            if result.is_ok() {
                on_changed.run(());
            }
            result.err()
        }
    });
    let keep_error = move || keep.value().get().flatten().map(|e| e.message());
    let scheduled = sub.scheduled_change.clone().map(|change| {
        let current = sub.plan.name.clone();
        let target = billing::PlanId::plan(change.plan).name;
        view! {
            <div class="notice" role="status">
                <p>
                    {format!(
                        "Your plan changes to {target} on {}. You keep {current} and its credits until then.",
                        long_date(change.effective_at),
                    )}
                </p>
                <button
                    type="button"
                    class="button secondary"
                    disabled=move || keep.pending().get()
                    on:click=move |_| {
                        keep.dispatch(());
                    }
                >
                    {format!("Keep {current}")}
                </button>
                <p class="field-error" role="alert">
                    {keep_error}
                </p>
            </div>
        }
    });
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text="Your subscription" />
                {scheduled}
                <section class="card plan-card" aria-labelledby="current-plan">
                    <p class="eyebrow">"Current plan"</p>
                    <h2 id="current-plan">{sub.plan.name.clone()}</h2>
                    <p class="price">
                        <span class="amount small">{sub.plan.monthly_price.to_string()}</span>
                        <span class="per">"per month"</span>
                        <span class=move || format!("status status-{:?}", sub.status).to_lowercase()>{status_label(sub.status)}</span>
                    </p>
                    <p>{format_credits(sub.plan.monthly_credits)} " credits per month"</p>
                    <p class="muted">{next_payment_sentence(&sub)}</p>
                    <a class="button primary" href=update_href>
                        "Update subscription"
                    </a>
                </section>
                <PaymentMethodCard card=portal.payment_method.clone() />
            </div>
        </PageFrame>
    }
}

/// The card on file.
#[component]
fn PaymentMethodCard(card: Option<CardSummary>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="payment-method">
            <h2 id="payment-method">"Payment method"</h2>
            <p>
                {match card {
                    Some(card) => {
                        format!(
                            "{} ending in {}, expires {:02}/{:02}",
                            card.brand.display_name(),
                            card.last4,
                            card.exp_month,
                            card.exp_year % 100,
                        )
                    }
                    None => "No card on file.".to_string(),
                }}
            </p>
        </section>
    }
}
