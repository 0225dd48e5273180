//! Confirm details: each line of today's charge, the total, the card, when the new plan starts and
//! the next renewal; **Confirm** and a way back. Then the done page with **Return to Kiro**.

use super::past_due::PastDueBanner;
use super::{PaymentAction, PortalErrorPage, payment_action, use_portal};
use crate::api::{self, ApiError};
use crate::components::alert::{BusyButton, ErrorAlert, payment_alert};
use crate::components::challenge_dialog::PaymentChallenge;
use crate::components::frame::{PageFrame, PageHeading};
use crate::components::status::{ExpiredSessionPage, Loading, StatusPage};
use crate::pages::PlanChangeParams;
use crate::payment::{Answer, BankCheck, PayError, PayResult, Payment, Step};
use billing::Money;
use billing::PlanId;
use billing::period::long_date;
use billing::plans::format_credits;
use billing::proration::{ChangeKind, Quote};
use billing::wire::{
    CardSummary, ChallengeAnswer, ChangeOutcome, ChangeReceipt, ConfirmChange, ErrorCode, PlanSummary, PortalView,
};
use leptos::prelude::*;
use leptos_router::hooks::use_params;
use views::order_summary::LineItems;

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
    view! {
        <Transition fallback=|| view! { <Loading label="Working out today's charge…" /> }>
            {move || Suspend::new(async move {
                match (quote.await, snapshot.get_value()) {
                    (Ok(Some(quote)), Some(portal)) => view! { <ChangeFlow portal=portal quote=quote /> }.into_any(),
                    (Ok(_), _) => {
                        view! {
                            <StatusPage
                                title="That plan doesn't exist"
                                message="Go back and choose one of the plans on the list."
                            />
                        }
                            .into_any()
                    }
                    (Err(error), _) => view! { <PortalErrorPage error=error on_retry=reload /> }.into_any(),
                }
            })}
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
        Some(Err(())) => view! { <ExpiredSessionPage kind="subscription management" /> }.into_any(),
        None => view! {
            <ConfirmDetails portal=portal.get_value() initial=quote.get_value() change=change />
        }
        .into_any(),
    }
}

/// What the change does and what it costs: each line, the total, the card, when it starts.
#[component]
fn ChangeSummary(from: PlanSummary, quote: Quote, card: Option<CardSummary>) -> impl IntoView {
    let to = PlanSummary::from(quote.to_plan);
    let effect_text = match quote.kind {
        ChangeKind::Upgrade => {
            format!(
                "{} starts today, with {} credits a month available at once.",
                to.name,
                format_credits(to.monthly_credits)
            )
        }
        _ => format!(
            "{} starts on {}. You keep {} until then. Nothing is charged today.",
            to.name,
            long_date(quote.effective_at),
            from.name
        ),
    };
    let card_text = match (card, quote.total_due_today > Money::ZERO) {
        (Some(card), true) => Some(format!("{} will be charged to {}.", quote.total_due_today, card.label())),
        _ => None,
    };
    // A running discount the new plan is outside of is said before Confirm.
    let discount_note = match &quote.not_covered {
        Some(note) => Some(views::words::not_covered_note(&views::i18n(), note, quote.to_plan)),
        None => quote.discount_note.clone(),
    };
    let discount_note = discount_note.map(|note| view! { <p class="notice-text">{note}</p> });
    let renewal_text = match (quote.next_renewal_at, &quote.discount) {
        (Some(at), Some(discount)) => {
            format!("From {}: {}.", long_date(at), views::words::discount_schedule(&views::i18n(), discount))
        }
        (Some(at), None) => format!("Then {} per month from {}.", quote.next_renewal_amount, long_date(at)),
        (None, _) => format!("No further payments after {}.", long_date(quote.period.end)),
    };
    view! {
        <h2 id="change-title" class="change-title">
            {from.name.clone()}
            <span aria-hidden="true">" → "</span>
            <span class="sr-only">" to "</span>
            {to.name.clone()}
        </h2>
        <p>{format!("{} per month, {} credits per month.", to.monthly_price, format_credits(to.monthly_credits))}</p>
        <h3 class="lines-title">"Today's charge"</h3>
        <LineItems quote=quote />
        {discount_note}
        <p>{card_text}</p>
        <p>{effect_text}</p>
        <p class="muted">{renewal_text}</p>
    }
}

/// The server could not be reached: the change may have gone through.
const UNREACHABLE: &str = "We couldn't reach the server, so we don't know yet whether the change went through. Retry: you won't be charged twice.";

/// The confirm page: the change, Confirm and Back, and the answers to Confirm.
#[component]
fn ConfirmDetails(portal: PortalView, initial: Quote, change: ChangeAction) -> impl IntoView {
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
    let i18n = views::i18n();
    let alert = Signal::derive(move || result.with(|r| r.as_ref().and_then(|r| payment_alert(&i18n, r, UNREACHABLE))));
    let amount = Signal::derive(move || quote.with(|q| q.total_due_today.to_string()));
    let from = portal.subscription.plan.clone();
    let card = portal.payment_method.clone();
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                <PageHeading text="Confirm your new plan" />
                <PastDueBanner />
                <section class="card" aria-labelledby="change-title">
                    {move || view! { <ChangeSummary from=from.clone() quote=quote.get() card=card.clone() /> }}
                    <ErrorAlert text=alert on_retry=confirm />
                    <div class="actions">
                        <BusyButton label="Confirm" busy_label="Processing…" loading=pending on_click=confirm />
                        <a class="button secondary" href=use_portal().href("/update")>
                            "Back"
                        </a>
                    </div>
                </section>
            </div>
            <PaymentChallenge pay=change amount=amount />
        </PageFrame>
    }
}

/// What changed, and the way back to the IDE.
#[component]
fn DonePage(portal: PortalView, receipt: ChangeReceipt) -> impl IntoView {
    let (title, detail) = match receipt.kind {
        ChangeKind::Upgrade => (
            format!("You're now on {}", receipt.to_plan.name),
            match &receipt.card {
                Some(card) => format!(
                    "We charged {} to {}. Your {} credits a month are ready to use.",
                    receipt.amount_charged,
                    card.label(),
                    format_credits(receipt.to_plan.monthly_credits)
                ),
                None => format!(
                    "Your {} credits a month are ready to use.",
                    format_credits(receipt.to_plan.monthly_credits)
                ),
            },
        ),
        _ => (
            format!("Your plan changes on {}", long_date(receipt.effective_at)),
            format!(
                "You keep {} until then; {} starts on {}. Nothing was charged today.",
                receipt.from_plan.name,
                receipt.to_plan.name,
                long_date(receipt.effective_at)
            ),
        ),
    };
    let next = receipt
        .next_renewal_at
        .map(|at| format!("Next payment: {} on {}.", receipt.next_renewal_amount, long_date(at)));
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode>
            <section class="card success">
                <div class="success-mark" aria-hidden="true">"✓"</div>
                <PageHeading text=title />
                <p class="lead">{detail}</p>
                <p class="muted">{next}</p>
                <a class="button primary" href=portal.return_url.clone()>
                    {portal.branding.return_link_text.clone()}
                </a>
            </section>
        </PageFrame>
    }
}
