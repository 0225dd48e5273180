//! The portal home: the current plan, the next payment, the card on file, a scheduled change with
//! a way to undo it, and **Update subscription**.

use crate::api::{self, ApiError};
use crate::components::frame::{PageFrame, PageHeading};
use crate::components::past_due::PastDueBanner;
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

/// Loads the portal session of the current route and renders `render(session_id, portal, reload)`
/// with it, or the page for the session's state (unknown, expired, no longer valid, unreachable).
#[component]
pub fn WithPortal<F, V>(#[prop(into)] loading: String, render: F) -> impl IntoView
where
    F: Fn(String, PortalView, Callback<()>) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let session_id = use_portal_session_id();
    let portal = LocalResource::new(move || api::portal_session(session_id.get()));
    let reload = Callback::new(move |_| portal.refetch());
    view! {
        <Transition fallback=move || view! { <Loading label=loading.clone() /> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match portal.await {
                        Ok(view) => render(session_id.get_untracked(), view, reload).into_any(),
                        Err(error) => view! { <PortalErrorPage error=error on_retry=reload /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// `/portal/:session_id`.
#[component]
pub fn PortalHomePage() -> impl IntoView {
    view! {
        <WithPortal
            loading="Loading your subscription…"
            render=|session_id, portal, reload| view! { <PortalHome session_id=session_id portal=portal on_changed=reload /> }
        />
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
    let ended = sub.status == SubscriptionStatus::Canceled;
    let update_href = format!("/portal/{session_id}/update");
    let sid = session_id.clone();
    // Keep plan, resume and overage all answer with the new portal state.
    let act = Action::new_local(move |what: &HomeAction| {
        let (sid, what) = (sid.clone(), *what);
        async move {
            let result = match what {
                HomeAction::KeepPlan => api::keep_plan(&sid).await,
                HomeAction::Resume => api::set_cancel(&sid, false).await,
                HomeAction::Overage(on) => api::set_overage(&sid, on).await,
            };
            if result.is_ok() {
                on_changed.run(());
            }
            result.err()
        }
    });
    let busy = act.pending();
    let act_error = move || act.value().get().flatten().map(|e| e.message());
    let scheduled = sub.scheduled_change.clone().map(|change| {
        let current = sub.plan.name.clone();
        let target = billing::PlanId::plan(change.plan).name;
        view! {
            <div class="notice">
                <p>
                    {format!(
                        "Your plan changes to {target} on {}. You keep {current} and its credits until then.",
                        long_date(change.effective_at),
                    )}
                </p>
                <button
                    type="button"
                    class="button secondary"
                    disabled=move || busy.get()
                    on:click=move |_| {
                        act.dispatch(HomeAction::KeepPlan);
                    }
                >
                    {format!("Keep {current}")}
                </button>
            </div>
        }
    });
    let ending = (sub.cancel_at_period_end && !ended).then(|| {
        view! {
            <div class="notice">
                <p>
                    {format!(
                        "Your plan ends on {}. You keep {} and its credits until then, and you won't be charged again.",
                        long_date(sub.period.end),
                        sub.plan.name,
                    )}
                </p>
                <button
                    type="button"
                    class="button primary"
                    disabled=move || busy.get()
                    on:click=move |_| {
                        act.dispatch(HomeAction::Resume);
                    }
                >
                    "Resume subscription"
                </button>
            </div>
        }
    });
    let plan_actions = (!ended).then(|| {
        let cancel = (!sub.cancel_at_period_end).then(|| {
            view! {
                <a class="button secondary" href=format!("/portal/{session_id}/cancel")>
                    "Cancel plan"
                </a>
            }
        });
        view! {
            <div class="actions">
                <a class="button primary" href=update_href.clone()>
                    "Update subscription"
                </a>
                {cancel}
            </div>
        }
    });
    let overage_on = portal.overage_enabled;
    Effect::new(move |_| crate::browser::mark("portal-ready"));
    let credits = format_credits(sub.plan.monthly_credits);
    let overage = (sub.plan.id.is_paid() && !ended).then(|| {
        view! {
            <section class="card" aria-labelledby="overage-title">
                <h2 id="overage-title">"Overage"</h2>
                <label class="switch">
                    <input
                        type="checkbox"
                        role="switch"
                        prop:checked=overage_on
                        disabled=move || busy.get()
                        on:change=move |ev| {
                            act.dispatch(HomeAction::Overage(event_target_checked(&ev)));
                        }
                    />
                    <span>"Keep working past my plan's credits"</span>
                </label>
                <p class="muted">
                    {format!(
                        "When you use all {credits} credits of a month, extra credits cost {} each and are billed with your next payment. Off: Kiro stops at your plan's credits.",
                        billing::plans::OVERAGE_PRICE_PER_CREDIT,
                    )}
                </p>
            </section>
        }
    });
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text="Your subscription" />
                <PastDueBanner session_id=session_id.clone() portal=portal.clone() on_paid=on_changed />
                {scheduled}
                {ending}
                <p class="field-error" role="alert">
                    {act_error}
                </p>
                <section class="card plan-card" aria-labelledby="current-plan">
                    <p class="eyebrow">"Current plan"</p>
                    <h2 id="current-plan">{if ended { "Kiro Free".to_string() } else { sub.plan.name.clone() }}</h2>
                    <p class="price">
                        <span class="amount small">{sub.plan.monthly_price.to_string()}</span>
                        <span class="per">"per month"</span>
                        <span class=format!("status status-{:?}", sub.status).to_lowercase()>{status_label(sub.status)}</span>
                    </p>
                    <p>{credits.clone()} " credits per month"</p>
                    <p class="muted">
                        {if ended {
                            "Your subscription has ended. To subscribe again, choose Upgrade in Kiro.".to_string()
                        } else {
                            next_payment_sentence(&sub)
                        }}
                    </p>
                    {plan_actions}
                </section>
                {overage}
                <PaymentMethodCard session_id=session_id.clone() card=portal.payment_method.clone() />
                <section class="card" aria-labelledby="history-title">
                    <h2 id="history-title">"Billing history"</h2>
                    <p>"Every invoice, ready to print."</p>
                    <a class="button secondary" href=format!("/portal/{session_id}/invoices")>
                        "View invoices"
                    </a>
                </section>
            </div>
        </PageFrame>
    }
}

/// What the home page's buttons do.
#[derive(Clone, Copy, Debug, PartialEq)]
enum HomeAction {
    KeepPlan,
    Resume,
    Overage(bool),
}

/// The card on file.
#[component]
fn PaymentMethodCard(session_id: String, card: Option<CardSummary>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="payment-method">
            <h2 id="payment-method">"Payment method"</h2>
            <p>
                {match card {
                    Some(card) => {
                        card.label_with_expiry()
                    }
                    None => "No card on file.".to_string(),
                }}
            </p>
            <a class="button secondary" href=format!("/portal/{session_id}/payment-method")>
                "Update payment method"
            </a>
        </section>
    }
}
