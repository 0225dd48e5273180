//! The portal home: the current plan, the next payment, the card on file, a scheduled change or
//! an ending with a way to undo it, overage, billing history. The app mounts it with its actions;
//! the server renders it into the first HTML of a portal session.

use crate::frame::PageFrame;
use billing::period::long_date;
use billing::plans::format_credits;
use billing::wire::{CardSummary, PortalSubscription, PortalView, SubscriptionStatus};
use leptos::prelude::*;

/// What the home page's buttons do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HomeAction {
    KeepPlan,
    Resume,
    Overage(bool),
}

/// What the app adds to the home page: its actions, whether one is on its way, what went wrong,
/// the past-due banner and the heading (which takes focus). The first paint has none of them.
#[derive(Default)]
pub struct HomeBehaviour {
    pub on_action: Option<Callback<HomeAction>>,
    pub pending: Signal<bool>,
    pub error: Signal<Option<String>>,
    pub banner: Option<ViewFn>,
    pub heading: Option<ViewFn>,
}

/// The portal home of `portal`; its links start with `base` (`/portal/{session}`).
#[component]
pub fn PortalHomeView(portal: PortalView, base: String, behaviour: HomeBehaviour) -> impl IntoView {
    let HomeBehaviour { on_action, pending, error, banner, heading } = behaviour;
    let sub = portal.subscription.clone();
    let ended = sub.status == SubscriptionStatus::Canceled;
    let act = Act { on_action, pending };
    let heading = heading.map_or_else(
        || view! { <h1 tabindex="-1">{crate::portal_heading(&crate::i18n())}</h1> }.into_any(),
        |h| h.run(),
    );
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                {heading}
                {banner.map(|b| b.run())}
                <ScheduledChangeNotice sub=sub.clone() act=act />
                <EndingNotice sub=sub.clone() act=act />
                <p class="field-error" role="alert">
                    {move || error.get()}
                </p>
                <PlanCard sub=sub.clone() base=base.clone() />
                {(sub.plan.id.is_paid() && !ended)
                    .then(|| view! { <OverageCard sub=sub.clone() enabled=portal.overage_enabled act=act /> })}
                <PaymentMethodCard card=portal.payment_method.clone() base=base.clone() />
                <section class="card" aria-labelledby="history-title">
                    <h2 id="history-title">"Billing history"</h2>
                    <p>"Every invoice, ready to print."</p>
                    <a class="button secondary" href=format!("{base}/invoices")>
                        "View invoices"
                    </a>
                </section>
            </div>
        </PageFrame>
    }
}

/// The home page's actions and whether one is on its way.
#[derive(Clone, Copy)]
struct Act {
    on_action: Option<Callback<HomeAction>>,
    pending: Signal<bool>,
}

impl Act {
    fn run(&self, action: HomeAction) {
        if let Some(on_action) = self.on_action {
            on_action.run(action);
        }
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

/// A downgrade waiting for the next period, and **Keep** to undo it.
#[component]
fn ScheduledChangeNotice(sub: PortalSubscription, act: Act) -> impl IntoView {
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
fn EndingNotice(sub: PortalSubscription, act: Act) -> impl IntoView {
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
    act: Act,
    then: HomeAction,
) -> impl IntoView {
    view! {
        <div class="notice">
            <p>{text}</p>
            <button type="button" class=class disabled=move || act.pending.get() on:click=move |_| act.run(then)>
                {button}
            </button>
        </div>
    }
}

/// The current plan, its price, status and next payment, with **Update subscription**.
#[component]
fn PlanCard(sub: PortalSubscription, base: String) -> impl IntoView {
    let ended = sub.status == SubscriptionStatus::Canceled;
    let plan_actions = (!ended).then(|| {
        let cancel = (!sub.cancel_at_period_end).then(|| {
            view! {
                <a class="button secondary" href=format!("{base}/cancel")>
                    "Cancel plan"
                </a>
            }
        });
        view! {
            <div class="actions">
                <a class="button primary" href=format!("{base}/update")>
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
            {sub.discount.as_ref().map(|d| view! { <p class="discount">{crate::words::running_sentence(&crate::i18n(), d)}</p> })}
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
fn OverageCard(sub: PortalSubscription, enabled: bool, act: Act) -> impl IntoView {
    let credits = format_credits(sub.plan.monthly_credits);
    view! {
        <section class="card" aria-labelledby="overage-title">
            <h2 id="overage-title">"Overage"</h2>
            <label class="switch">
                <input
                    type="checkbox"
                    role="switch"
                    checked=enabled
                    prop:checked=enabled
                    disabled=move || act.pending.get()
                    on:change=move |ev| act.run(HomeAction::Overage(event_target_checked(&ev)))
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

/// The card on file.
#[component]
fn PaymentMethodCard(card: Option<CardSummary>, base: String) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="payment-method">
            <h2 id="payment-method">"Payment method"</h2>
            <p>{card.as_ref().map_or_else(|| "No card on file.".to_string(), CardSummary::label_with_expiry)}</p>
            <a class="button secondary" href=format!("{base}/payment-method")>
                "Update payment method"
            </a>
        </section>
    }
}
