//! The portal home: the current plan, the next payment, the card on file, a scheduled change with
//! a way to undo it, and **Update subscription**.

use super::past_due::PastDueBanner;
use super::{use_portal, with_view};
use crate::api;
use crate::components::frame::{PageFrame, PageHeading};
use billing::period::long_date;
use billing::plans::format_credits;
use billing::wire::{CardSummary, PortalSubscription, PortalView, SubscriptionStatus};
use leptos::prelude::*;

/// `/portal/:session_id`.
#[component]
pub fn PortalHomePage() -> impl IntoView {
    with_view(|portal| view! { <PortalHome portal=portal /> })
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
fn PortalHome(portal: PortalView) -> impl IntoView {
    let context = use_portal();
    let sub = portal.subscription.clone();
    let ended = sub.status == SubscriptionStatus::Canceled;
    // Keep plan, resume and overage all answer with the new portal view.
    let act = Action::new_local(move |what: &HomeAction| {
        let (sid, what) = (context.session_id(), *what);
        async move {
            let result = match what {
                HomeAction::KeepPlan => api::keep_plan(&sid).await,
                HomeAction::Resume => api::set_cancel(&sid, false).await,
                HomeAction::Overage(on) => api::set_overage(&sid, on).await,
            };
            result.map(|view| context.set(view)).err()
        }
    });
    let act_error = move || act.value().get().flatten().map(|e| e.message());
    Effect::new(move |_| crate::browser::mark("portal-ready"));
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text="Your subscription" />
                <PastDueBanner />
                <ScheduledChangeNotice sub=sub.clone() act=act />
                <EndingNotice sub=sub.clone() act=act />
                <p class="field-error" role="alert">
                    {act_error}
                </p>
                <PlanCard sub=sub.clone() />
                {(sub.plan.id.is_paid() && !ended)
                    .then(|| view! { <OverageCard sub=sub.clone() enabled=portal.overage_enabled act=act /> })}
                <PaymentMethodCard card=portal.payment_method.clone() />
                <section class="card" aria-labelledby="history-title">
                    <h2 id="history-title">"Billing history"</h2>
                    <p>"Every invoice, ready to print."</p>
                    <a class="button secondary" href=context.href("/invoices")>
                        "View invoices"
                    </a>
                </section>
            </div>
        </PageFrame>
    }
}

type HomeActions = Action<HomeAction, Option<api::ApiError>>;

/// A downgrade waiting for the next period, and **Keep** to undo it.
#[component]
fn ScheduledChangeNotice(sub: PortalSubscription, act: HomeActions) -> impl IntoView {
    sub.scheduled_change.map(|change| {
        let current = sub.plan.name.clone();
        let target = billing::PlanId::plan(change.plan).name;
        let text = format!(
            "Your plan changes to {target} on {}. You keep {current} and its credits until then.",
            long_date(change.effective_at),
        );
        view! { <Notice text=text button=format!("Keep {current}") class="button secondary" act=act then=HomeAction::KeepPlan /> }
    })
}

/// A cancellation at the period's end, and **Resume** to take it back.
#[component]
fn EndingNotice(sub: PortalSubscription, act: HomeActions) -> impl IntoView {
    let ending = sub.cancel_at_period_end && sub.status != SubscriptionStatus::Canceled;
    ending.then(|| {
        let text = format!(
            "Your plan ends on {}. You keep {} and its credits until then, and you won't be charged again.",
            long_date(sub.period.end),
            sub.plan.name,
        );
        view! { <Notice text=text button="Resume subscription" class="button primary" act=act then=HomeAction::Resume /> }
    })
}

/// Something about to happen to the plan, and the button that undoes it.
#[component]
fn Notice(
    text: String,
    #[prop(into)] button: String,
    class: &'static str,
    act: HomeActions,
    then: HomeAction,
) -> impl IntoView {
    view! {
        <div class="notice">
            <p>{text}</p>
            <button
                type="button"
                class=class
                disabled=move || act.pending().get()
                on:click=move |_| {
                    act.dispatch(then);
                }
            >
                {button}
            </button>
        </div>
    }
}

/// The current plan, its price, status and next payment, with **Update subscription**.
#[component]
fn PlanCard(sub: PortalSubscription) -> impl IntoView {
    let context = use_portal();
    let ended = sub.status == SubscriptionStatus::Canceled;
    let plan_actions = (!ended).then(|| {
        let cancel = (!sub.cancel_at_period_end).then(|| {
            view! {
                <a class="button secondary" href=context.href("/cancel")>
                    "Cancel plan"
                </a>
            }
        });
        view! {
            <div class="actions">
                <a class="button primary" href=context.href("/update")>
                    "Update subscription"
                </a>
                {cancel}
            </div>
        }
    });
    view! {
        <section class="card plan-card" aria-labelledby="current-plan">
            <p class="eyebrow">"Current plan"</p>
            <h2 id="current-plan">{if ended { "Kiro Free".to_string() } else { sub.plan.name.clone() }}</h2>
            <p class="price">
                <span class="amount small">{sub.plan.monthly_price.to_string()}</span>
                <span class="per">"per month"</span>
                <span class=format!("status status-{:?}", sub.status).to_lowercase()>{status_label(sub.status)}</span>
            </p>
            <p>{format_credits(sub.plan.monthly_credits)} " credits per month"</p>
            {sub.discount.as_ref().map(|d| view! { <p class="discount">{billing::discount::running_sentence(d)}</p> })}
            <p class="muted">
                {if ended {
                    "Your subscription has ended. To subscribe again, choose Upgrade in Kiro.".to_string()
                } else {
                    next_payment_sentence(&sub)
                }}
            </p>
            {plan_actions}
        </section>
    }
}

/// The overage switch (paid plans only).
#[component]
fn OverageCard(
    sub: PortalSubscription,
    enabled: bool,
    act: Action<HomeAction, Option<api::ApiError>>,
) -> impl IntoView {
    let credits = format_credits(sub.plan.monthly_credits);
    view! {
        <section class="card" aria-labelledby="overage-title">
            <h2 id="overage-title">"Overage"</h2>
            <label class="switch">
                <input
                    type="checkbox"
                    role="switch"
                    prop:checked=enabled
                    disabled=move || act.pending().get()
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
fn PaymentMethodCard(card: Option<CardSummary>) -> impl IntoView {
    let context = use_portal();
    view! {
        <section class="card" aria-labelledby="payment-method">
            <h2 id="payment-method">"Payment method"</h2>
            <p>{card.as_ref().map_or_else(|| "No card on file.".to_string(), CardSummary::label_with_expiry)}</p>
            <a class="button secondary" href=context.href("/payment-method")>
                "Update payment method"
            </a>
        </section>
    }
}
