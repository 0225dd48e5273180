//! Confirm details: each line of today's charge, the total, the card, when the new plan starts and
//! the next renewal; **Confirm** and a way back. Then the done page with **Return to Kiro**.

use super::past_due::PastDueBanner;
use super::{PaymentAction, PortalErrorPage, payment_action, use_portal};
use crate::api::{self, ApiError};
use crate::components::alert::{BusyButton, ErrorAlert, payment_alert};
use crate::components::challenge_dialog::PaymentChallenge;
use crate::components::frame::{PageFrame, PageHeading};
use crate::components::status::{ExpiredSessionPage, Loading, SessionKind, StatusPage};
use crate::pages::PlanChangeParams;
use crate::payment::{Answer, BankCheck, PayError, PayResult, Payment, Step};
use billing::Money;
use billing::PlanId;
use billing::proration::{ChangeKind, Quote};
use billing::wire::{
    CardSummary, ChallengeAnswer, ChangeOutcome, ChangeReceipt, ConfirmChange, ErrorCode, PlanSummary, PortalView,
};
use i18n::{I18n, PortalText};
use leptos::prelude::*;
use leptos_router::hooks::use_params;
use views::order_summary::LineItems;
use views::portal_home::card_label;

/// `/portal/:session_id/update/:plan`.
#[component]
pub fn ConfirmChangePage() -> impl IntoView {
    let context = use_portal();
    let params = use_params::<PlanChangeParams>();
    let plan = Memo::new(move |_| params.get().ok().and_then(|p| p.plan).and_then(|p| p.parse::<PlanId>().ok()));
    let quote = LocalResource::new(move || {
        let plan = plan.get();
        async move {
            match plan {
                Some(plan) => api::preview_change(&context.session_id(), plan).await.map(Some),
                None => Ok(None),
            }
        }
    });
    let reload = Callback::new(move |_| quote.refetch());
    // A snapshot, taken once: the done page must outlive the reload a paid change triggers.
    let snapshot = StoredValue::new(context.snapshot());
    let i18n = views::i18n();
    let loading = i18n.t(PortalText::LoadingChange);
    view! {
        <Transition fallback=move || view! { <Loading label=loading.clone() /> }>
            {move || {
                let i18n = i18n.clone();
                Suspend::new(async move {
                    match (quote.await, snapshot.get_value()) {
                        (Ok(Some(quote)), Some(portal)) => {
                            view! { <ChangeFlow portal=portal quote=quote /> }.into_any()
                        }
                        (Ok(_), _) => {
                            view! {
                                <StatusPage
                                    title=i18n.t(PortalText::UnknownPlanTitle)
                                    message=i18n.t(PortalText::UnknownPlanMessage)
                                />
                            }
                                .into_any()
                        }
                        (Err(error), _) => view! { <PortalErrorPage error=error on_retry=reload /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// A portal session's change to `plan`, at the total the page showed.
#[derive(Clone)]
struct PlanChange {
    session_id: String,
    plan: PlanId,
}

impl Payment for PlanChange {
    /// The total the page showed: the same total again is a retry of the same change.
    type Request = Money;
    type Outcome = ChangeOutcome;
    type Done = Box<ChangeReceipt>;
    type Quote = Box<Quote>;

    async fn send(
        &self,
        expected_total: Money,
        idempotency_key: String,
        _: BankCheck,
    ) -> Result<ChangeOutcome, PayError> {
        let request = ConfirmChange { plan: self.plan, expected_total, idempotency_key };
        Ok(api::confirm_change(&self.session_id, &request).await?)
    }

    async fn answer(&self, answer: ChallengeAnswer) -> Result<ChangeOutcome, ApiError> {
        api::answer_portal_challenge(&self.session_id, &answer).await
    }

    fn read(outcome: ChangeOutcome) -> Answer<Box<ChangeReceipt>> {
        match outcome {
            ChangeOutcome::Succeeded { change } => Answer::Done(Box::new(change)),
            ChangeOutcome::RequiresAction { challenge_id, client_secret } => {
                Answer::Challenge { challenge_id, client_secret }
            }
            ChangeOutcome::Declined { decline } => Answer::Declined { decline, attempts_left: None },
        }
    }

    async fn requote(&self) -> Result<Box<Quote>, ApiError> {
        api::preview_change(&self.session_id, self.plan).await.map(Box::new)
    }
}

/// Confirming the change, one step at a time.
type ChangeAction = PaymentAction<PlanChange>;

/// The confirm page, then the done page.
#[component]
fn ChangeFlow(portal: PortalView, quote: Quote) -> impl IntoView {
    let change = PlanChange { session_id: use_portal().session_id(), plan: quote.to_plan };
    let change = payment_action(change, BankCheck::new(portal.stripe.clone()));
    let result = change.value();
    // Only a change of page re-renders; declines, failures and new prices stay on the confirm page.
    let page = Memo::new(move |_| match result.get() {
        Some(PayResult::Done(receipt)) => Some(Ok(receipt)),
        Some(PayResult::Failed(error)) if error.code() == Some(ErrorCode::SessionExpired) => Some(Err(())),
        _ => None,
    });
    let portal = StoredValue::new(portal);
    let quote = StoredValue::new(quote);
    move || match page.get() {
        Some(Ok(receipt)) => view! { <DonePage portal=portal.get_value() receipt=*receipt /> }.into_any(),
        Some(Err(())) => view! { <ExpiredSessionPage kind=SessionKind::SubscriptionManagement /> }.into_any(),
        None => view! {
            <ConfirmDetails portal=portal.get_value() initial=quote.get_value() change=change />
        }
        .into_any(),
    }
}

/// What the change does and what it costs: each line, the total, the card, when it starts.
#[component]
fn ChangeSummary(from: PlanSummary, quote: Quote, card: Option<CardSummary>) -> impl IntoView {
    let i18n = views::i18n();
    let to = PlanSummary::from(quote.to_plan);
    let effect_text = match quote.kind {
        ChangeKind::Upgrade => {
            i18n.plural(PortalText::UpgradeStartsToday, u64::from(to.monthly_credits), &[("plan", &to.name)])
        }
        _ => i18n.f(
            PortalText::DowngradeStarts,
            &[("plan", &to.name), ("date", &i18n.long_date(quote.effective_at)), ("current", &from.name)],
        ),
    };
    let card_text = match (card, quote.total_due_today > Money::ZERO) {
        (Some(card), true) => Some(i18n.f(
            PortalText::ChargedToCard,
            &[("amount", &i18n.money(quote.total_due_today.cents())), ("card", &card_label(&i18n, &card))],
        )),
        (Some(_), false) => None,
        // No card on file: a change with anything to pay, now or at a renewal, needs one.
        (None, _) if needs_card(&quote) => Some(i18n.t(PortalText::CardNeededToPay)),
        (None, _) => None,
    };
    // A running discount the new plan is outside of is said before Confirm.
    let discount_note = match &quote.not_covered {
        Some(note) => Some(views::words::not_covered_note(&i18n, note, quote.to_plan)),
        None => quote.discount_note.clone(),
    };
    let discount_note = discount_note.map(|note| view! { <p class="notice-text">{note}</p> });
    let renewal_text = renewal_text(&i18n, &quote);
    let names = [("from", from.name.as_str()), ("to", to.name.as_str())];
    let price = i18n.money(to.monthly_price.cents());
    let terms = i18n.plural(PortalText::ChangePlanTerms, u64::from(to.monthly_credits), &[("price", &price)]);
    view! {
        <h2 id="change-title" class="change-title">
            <span aria-hidden="true">{i18n.f(PortalText::ChangeTitleSeen, &names)}</span>
            <span class="sr-only">{i18n.f(PortalText::ChangeTitleSpoken, &names)}</span>
        </h2>
        <p>{terms}</p>
        <h3 class="lines-title">{i18n.t(PortalText::TodaysCharge)}</h3>
        <LineItems quote=quote />
        {discount_note}
        <p>{card_text}</p>
        <p>{effect_text}</p>
        <p class="muted">{renewal_text}</p>
    }
}

/// The plan a change moves to, when it is an upgrade (usage is re-rated only then).
fn upgrade_target(portal: &PortalView, quote: &Quote) -> Option<PlanId> {
    (quote.kind == ChangeKind::Upgrade && portal.subscription.plan.id != quote.to_plan).then_some(quote.to_plan)
}

/// Before an upgrade: this period's usage counts against the new plan's credits, and what that
/// does to the overage so far.
fn usage_rerated(
    i18n: &I18n,
    usage: Option<&billing::wire::UsageTotals>,
    upgrade_to: Option<PlanId>,
) -> Option<String> {
    let (usage, plan) = (usage?, upgrade_to?);
    if usage.used == billing::usage::Credits::ZERO {
        return None;
    }
    let included = billing::usage::included(plan);
    let counts = i18n.f(
        PortalText::ChangeUsageRerated,
        &[
            ("used", &i18n.credits(usage.used.hundredths())),
            ("plan", plan.plan().name),
            ("included", &i18n.credits(included.hundredths())),
        ],
    );
    if usage.overage == billing::usage::Credits::ZERO {
        return Some(counts);
    }
    let totals = billing::usage::PeriodUsage { used: usage.used, overage: usage.overage };
    let after = totals.rerated(included).overage.overage_amount();
    let overage = i18n.f(
        PortalText::ChangeOverageAfter,
        &[("after", &i18n.money(after.cents())), ("before", &i18n.money(usage.overage.overage_amount().cents()))],
    );
    Some(i18n.f(PortalText::TwoSentences, &[("first", &counts), ("second", &overage)]))
}

/// Whether the change has anything to pay, today or at its renewals (a card is needed then).
fn needs_card(quote: &Quote) -> bool {
    quote.total_due_today > Money::ZERO || quote.next_renewal_amount > Money::ZERO
}

/// What is paid after the change: from the next renewal on, or nothing more.
fn renewal_text(i18n: &I18n, quote: &Quote) -> String {
    match (quote.next_renewal_at, &quote.discount) {
        (Some(at), Some(discount)) => {
            let terms = views::words::discount_schedule(i18n, discount);
            i18n.f(PortalText::RenewalWithPromotion, &[("date", &i18n.long_date(at)), ("terms", &terms)])
        }
        (Some(at), None) => i18n.f(
            PortalText::RenewalThen,
            &[("amount", &i18n.money(quote.next_renewal_amount.cents())), ("date", &i18n.long_date(at))],
        ),
        (None, _) => i18n.f(PortalText::NoPaymentsAfter, &[("date", &i18n.long_date(quote.period.end))]),
    }
}

/// The confirm page: the change, Confirm and Back, and the answers to Confirm.
#[component]
fn ConfirmDetails(portal: PortalView, initial: Quote, change: ChangeAction) -> impl IntoView {
    let i18n = views::i18n();
    let pending = change.pending();
    let result = change.value();
    // The quote shown: the first one, or the new one the server gave when the price changed.
    let quote = Memo::new(move |previous: Option<&Quote>| match result.get() {
        Some(PayResult::Repriced { quote, .. }) => *quote,
        _ => previous.cloned().unwrap_or_else(|| initial.clone()),
    });
    let confirm = Callback::new(move |_| {
        if !pending.get_untracked() {
            change.dispatch(Step::Pay(quote.with_untracked(|q| q.total_due_today)));
        }
    });
    let unreachable = i18n.t(PortalText::ChangeUnreachable);
    let catalog = i18n.clone();
    let alert = Signal::derive(move || result.with(|r| payment_alert(&catalog, r.as_ref()?, &unreachable)));
    let money = i18n.clone();
    let amount = Signal::derive(move || quote.with(|q| money.money(q.total_due_today.cents())));
    let from = portal.subscription.plan.clone();
    let card = portal.payment_method.clone();
    // No card on file (a subscription free for good) and something to pay: the way on is adding
    // one, not a Confirm the server must refuse.
    let no_card = card.is_none();
    let needs_card = Memo::new(move |_| no_card && quote.with(needs_card));
    let (confirm_label, processing_label) = (i18n.t(PortalText::Confirm), i18n.t(PortalText::Processing));
    let (add_card_href, add_card_label) =
        (use_portal().href("/payment-method"), i18n.t(PortalText::UpdatePaymentMethod));
    let add_card = move || view! { <a class="button primary" href=add_card_href.clone()>{add_card_label.clone()}</a> };
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text=i18n.t(PortalText::ConfirmHeading) />
                <PastDueBanner />
                <section class="card" aria-labelledby="change-title">
                    {move || view! { <ChangeSummary from=from.clone() quote=quote.get() card=card.clone() /> }}
                    {usage_rerated(&i18n, portal.usage.as_ref(), upgrade_target(&portal, &quote.get_untracked()))
                        .map(|text| view! { <p class="notice-text">{text}</p> })}
                    <ErrorAlert text=alert on_retry=confirm />
                    <div class="actions">
                        <Show when=move || !needs_card.get() fallback=add_card>
                            <BusyButton
                                label=confirm_label.clone()
                                busy_label=processing_label.clone()
                                loading=pending
                                on_click=confirm
                            />
                        </Show>
                        <a class="button secondary" href=use_portal().href("/update")>
                            {i18n.t(PortalText::Back)}
                        </a>
                    </div>
                </section>
            </div>
            <PaymentChallenge pay=change amount=amount />
        </PageFrame>
    }
}

/// The done page's heading and what the change did.
fn done_texts(i18n: &I18n, receipt: &ChangeReceipt) -> (String, String) {
    let to = &receipt.to_plan;
    let credits = u64::from(to.monthly_credits);
    let effective = i18n.long_date(receipt.effective_at);
    match receipt.kind {
        ChangeKind::Upgrade => (
            i18n.f(PortalText::NowOnPlan, &[("plan", &to.name)]),
            match &receipt.card {
                Some(card) => {
                    let amount = i18n.money(receipt.amount_charged.cents());
                    let args = [("amount", amount.as_str()), ("card", &card_label(i18n, card))];
                    i18n.plural(PortalText::UpgradeCharged, credits, &args)
                }
                None => i18n.plural(PortalText::UpgradeCreditsReady, credits, &[]),
            },
        ),
        _ => (
            i18n.f(PortalText::PlanChangesOn, &[("date", &effective)]),
            i18n.f(
                PortalText::DowngradeDone,
                &[("current", &receipt.from_plan.name), ("plan", &to.name), ("date", &effective)],
            ),
        ),
    }
}

/// What changed, and the way back to the IDE.
#[component]
fn DonePage(portal: PortalView, receipt: ChangeReceipt) -> impl IntoView {
    let i18n = views::i18n();
    let (title, detail) = done_texts(&i18n, &receipt);
    let next = receipt.next_renewal_at.map(|at| {
        let amount = i18n.money(receipt.next_renewal_amount.cents());
        i18n.f(PortalText::NextPaymentSentence, &[("amount", &amount), ("date", &i18n.long_date(at))])
    });
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode>
            <section class="card success">
                <div class="success-mark" aria-hidden="true">"✓"</div>
                <PageHeading text=title />
                <p class="lead">{detail}</p>
                <p class="muted">{next}</p>
                <a class="button primary" href=portal.return_url.clone()>
                    {views::frame::localized(&portal.branding).return_link_text}
                </a>
            </section>
        </PageFrame>
    }
}
