//! The portal home: the current plan, the next payment, the card on file, a scheduled change or
//! an ending with a way to undo it, overage, billing history. The app mounts it with its actions;
//! the server renders it into the first HTML of a portal session.

use crate::frame::PageFrame;
use billing::wire::{AmountDue, CardSummary, PortalSubscription, PortalView, SubscriptionStatus};
use i18n::{I18n, PortalText};
use leptos::prelude::*;

/// The home's alert: what went wrong with its last action or link.
pub const HOME_ALERT_ID: &str = "home-alert";

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
    let i18n = crate::i18n();
    let sub = portal.subscription.clone();
    let ended = sub.status == SubscriptionStatus::Canceled;
    let act = Act { on_action, pending };
    let heading =
        heading.map_or_else(|| view! { <h1 tabindex="-1">{crate::portal_heading(&i18n)}</h1> }.into_any(), |h| h.run());
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                {heading}
                {banner.map(|b| b.run())}
                <ScheduledChangeNotice sub=sub.clone() act=act />
                <EndingNotice sub=sub.clone() act=act />
                <p class="field-error" role="alert" id=HOME_ALERT_ID>
                    {move || error.get()}
                </p>
                <PlanCard sub=sub.clone() base=base.clone() due=portal.amount_due.clone() />
                {portal.credits_card.clone().map(|markup| view! { <crate::usage_card::CreditsCard markup=markup /> })}
                {(sub.plan.id.is_paid() && !ended)
                    .then(|| view! { <OverageCard sub=sub.clone() enabled=portal.overage_enabled act=act /> })}
                <PaymentMethodCard card=portal.payment_method.clone() base=base.clone() />
                <section class="card" aria-labelledby="history-title">
                    <h2 id="history-title">{i18n.t(PortalText::BillingHistory)}</h2>
                    <p>{i18n.t(PortalText::HistoryText)}</p>
                    <a class="button secondary" href=format!("{base}/invoices")>
                        {i18n.t(PortalText::ViewInvoices)}
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

fn status_label(i18n: &I18n, status: SubscriptionStatus) -> String {
    i18n.t(match status {
        SubscriptionStatus::Active => PortalText::StatusActive,
        SubscriptionStatus::PastDue => PortalText::StatusPastDue,
        SubscriptionStatus::Canceled => PortalText::StatusCanceled,
    })
}

/// What a past-due account owes now, and for which months: said in place of the next payment,
/// which waits until this is paid.
pub fn due_now_sentence(i18n: &I18n, due: &AmountDue) -> String {
    let months: Vec<String> = due.invoices.iter().map(|invoice| i18n.month_year(invoice.created_at)).collect();
    i18n.f(PortalText::DueNow, &[("amount", &i18n.money(due.amount.cents())), ("months", &months.join(", "))])
}

/// One sentence about the next payment.
pub fn next_payment_sentence(i18n: &I18n, sub: &PortalSubscription) -> String {
    match sub.next_renewal_at {
        Some(at) => i18n.f(
            PortalText::NextPayment,
            &[("amount", &i18n.money(sub.next_renewal_amount.cents())), ("date", &i18n.long_date(at))],
        ),
        None => i18n.f(PortalText::NoFurtherPaymentsPlanEnds, &[("date", &i18n.long_date(sub.period.end))]),
    }
}

pub use crate::card_form::{card_label, card_label_with_expiry};

/// A plan's monthly credits: `1,000 credits per month`.
pub fn plan_credits(i18n: &I18n, credits: u32) -> String {
    i18n.plural(PortalText::PlanCredits, u64::from(credits), &[])
}

/// A downgrade waiting for the next period, and **Keep** to undo it.
#[component]
fn ScheduledChangeNotice(sub: PortalSubscription, act: Act) -> impl IntoView {
    let i18n = crate::i18n();
    sub.scheduled_change.map(|change| {
        let current = sub.plan.name.clone();
        let target = billing::PlanId::plan(change.plan).name;
        let text = i18n.f(
            PortalText::ScheduledChange,
            &[("plan", target), ("date", &i18n.long_date(change.effective_at)), ("current", &current)],
        );
        let button = i18n.f(PortalText::KeepPlan, &[("plan", &current)]);
        view! { <Notice text=text button=button class="button secondary" act=act then=HomeAction::KeepPlan /> }
    })
}

/// A cancellation at the period's end, and **Resume** to take it back.
#[component]
fn EndingNotice(sub: PortalSubscription, act: Act) -> impl IntoView {
    let ending = sub.cancel_at_period_end && sub.status != SubscriptionStatus::Canceled;
    let i18n = crate::i18n();
    ending.then(|| {
        let text =
            i18n.f(PortalText::PlanEnding, &[("date", &i18n.long_date(sub.period.end)), ("plan", &sub.plan.name)]);
        let button = i18n.t(PortalText::ResumeSubscription);
        view! { <Notice text=text button=button class="button primary" act=act then=HomeAction::Resume /> }
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

/// The current plan, its price, status and next payment (or what is due now), with **Update
/// subscription**.
#[component]
fn PlanCard(sub: PortalSubscription, base: String, due: Option<AmountDue>) -> impl IntoView {
    let i18n = crate::i18n();
    let ended = sub.status == SubscriptionStatus::Canceled;
    let plan_actions = (!ended).then(|| {
        let cancel = (!sub.cancel_at_period_end).then(|| {
            view! {
                <a class="button secondary" href=format!("{base}/cancel")>
                    {i18n.t(PortalText::CancelPlan)}
                </a>
            }
        });
        view! {
            <div class="actions">
                <a class="button primary" href=format!("{base}/update")>
                    {i18n.t(PortalText::UpdateSubscription)}
                </a>
                {cancel}
            </div>
        }
    });
    view! {
        <section class="card plan-card" aria-labelledby="current-plan">
            <p class="eyebrow">{i18n.t(PortalText::CurrentPlan)}</p>
            <h2 id="current-plan">{if ended { billing::PlanId::Free.plan().name.to_string() } else { sub.plan.name.clone() }}</h2>
            <p class="price">
                <span class="amount small">{i18n.money(sub.plan.monthly_price.cents())}</span>
                <span class="per">{i18n.t(PortalText::PerMonth)}</span>
                <span class=format!("status status-{}", sub.status.wire_name().replace('_', ""))>
                    {status_label(&i18n, sub.status)}
                </span>
            </p>
            <p>{plan_credits(&i18n, sub.plan.monthly_credits)}</p>
            {sub.discount.as_ref().map(|d| view! { <p class="discount">{crate::words::running_sentence(&crate::i18n(), d)}</p> })}
            <p class="muted">
                {match (&due, ended) {
                    (_, true) => i18n.t(PortalText::SubscriptionEnded),
                    (Some(due), false) => due_now_sentence(&i18n, due),
                    (None, false) => next_payment_sentence(&i18n, &sub),
                }}
            </p>
            {plan_actions}
        </section>
    }
}

/// The overage switch (paid plans only).
#[component]
fn OverageCard(sub: PortalSubscription, enabled: bool, act: Act) -> impl IntoView {
    let i18n = crate::i18n();
    let price = i18n.money(billing::plans::OVERAGE_PRICE_PER_CREDIT.cents());
    let explained =
        i18n.plural(PortalText::OverageExplained, u64::from(sub.plan.monthly_credits), &[("price", &price)]);
    view! {
        <section class="card" aria-labelledby="overage-title">
            <h2 id="overage-title">{i18n.t(PortalText::OverageTitle)}</h2>
            <label class="switch">
                <input
                    type="checkbox"
                    role="switch"
                    checked=enabled
                    prop:checked=enabled
                    disabled=move || act.pending.get()
                    on:change=move |ev| act.run(HomeAction::Overage(event_target_checked(&ev)))
                />
                <span>{i18n.t(PortalText::OverageSwitch)}</span>
            </label>
            <p class="muted">{explained}</p>
        </section>
    }
}

/// The card on file.
#[component]
fn PaymentMethodCard(card: Option<CardSummary>, base: String) -> impl IntoView {
    let i18n = crate::i18n();
    let card = card.map_or_else(|| i18n.t(PortalText::NoCardOnFile), |card| card_label_with_expiry(&i18n, &card));
    view! {
        <section class="card" aria-labelledby="payment-method">
            <h2 id="payment-method">{i18n.t(PortalText::PaymentMethodTitle)}</h2>
            <p>{card}</p>
            <a class="button secondary" href=format!("{base}/payment-method")>
                {i18n.t(PortalText::UpdatePaymentMethod)}
            </a>
        </section>
    }
}
