//! Update payment method: the checkout's card form (the same component), its errors and 3-D
//! Secure; the new card is charged from then on, and pays a past-due invoice if there is one.
//! In Stripe mode the card number fields are Stripe's Element, and Stripe.js saves the card.

use super::past_due::PastDueBanner;
use super::use_portal;
use crate::api::{self, ApiError};
use crate::browser;
use crate::components::alert::{AlertText, BusyButton, ErrorAlert};
#[cfg(feature = "stripe")]
use crate::components::card_form::CheckedHolder;
use crate::components::card_form::{CardErrors, CardForm, CardFormState, CheckedCard, check_card};
use crate::components::challenge_dialog::PendingChallenge;
use crate::components::frame::{PageFrame, PageHeading};
use billing::Money;
use billing::wire::{
    CardSummary, ChallengeAnswer, ChallengeId, ChallengeOutcome, PaymentMethodOutcome, PortalView, StripeElements,
    UpdatePaymentMethod,
};
use leptos::prelude::*;

/// `/portal/:session_id/payment-method`.
#[component]
pub fn PaymentMethodPage() -> impl IntoView {
    // A snapshot: the saved card's page must outlive the reload that saving triggers.
    use_portal().snapshot().map(|portal| view! { <UpdateCard portal=portal /> })
}

#[derive(Clone, Debug, PartialEq)]
enum CardStep {
    Save(CheckedCard),
    /// Stripe mode: the card in Stripe's Element, with our fields.
    #[cfg(feature = "stripe")]
    SaveWithStripe(CheckedHolder),
    Authenticate {
        challenge_id: ChallengeId,
        choice: ChallengeOutcome,
    },
}

/// Stripe mode: Stripe.js and its card Element, once mounted.
#[cfg(feature = "stripe")]
type StripeHandle = crate::components::stripe_card::StripeHandle;
/// The test-mode bundle has no Stripe.js (Stripe mode's is portal-stripe.html).
#[cfg(not(feature = "stripe"))]
type StripeHandle = ();

#[cfg(feature = "stripe")]
async fn save_with_stripe(
    session_id: &str,
    stripe: StripeHandle,
    holder: CheckedHolder,
    email: &str,
) -> Result<PaymentMethodOutcome, CardResult> {
    use crate::components::stripe_card::{Holder, SaveError, save_card};
    let holder = Holder { name: &holder.name, email, billing: &holder.billing };
    save_card(api::StripeArea::Portal, session_id, stripe, holder).await.map_err(|e| match e {
        SaveError::Refused(message) => CardResult::Declined(message),
        SaveError::Api(error) => CardResult::Failed(error),
    })
}

#[derive(Clone, Debug, PartialEq)]
enum CardResult {
    Saved { card: CardSummary, paid: Option<PaidOwed> },
    NeedsAuthentication { challenge_id: ChallengeId },
    Declined(String),
    Failed(ApiError),
}

#[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
async fn run_card_step(session_id: String, step: CardStep, stripe: StripeHandle, email: String) -> CardResult {
    let outcome = match step {
        CardStep::Save(checked) => {
            let request = UpdatePaymentMethod { card: checked.card, billing: checked.billing };
            api::update_payment_method(&session_id, &request).await
        }
        #[cfg(feature = "stripe")]
        CardStep::SaveWithStripe(holder) => match save_with_stripe(&session_id, stripe, holder, &email).await {
            Ok(outcome) => Ok(outcome),
            Err(result) => return result,
        },
        CardStep::Authenticate { challenge_id, choice } => {
            let outcome = choice;
            api::answer_card_challenge(&session_id, &ChallengeAnswer { challenge_id, outcome }).await
        }
    };
    match outcome {
        Ok(PaymentMethodOutcome::Updated { card, paid_invoice, invoices_paid }) => {
            let paid = paid_invoice.map(|amount| PaidOwed { amount, invoices: invoices_paid.unwrap_or(1) });
            CardResult::Saved { card, paid }
        }
        Ok(PaymentMethodOutcome::RequiresAction { challenge_id }) => CardResult::NeedsAuthentication { challenge_id },
        Ok(PaymentMethodOutcome::Declined { decline }) => CardResult::Declined(decline.message),
        Err(error) => CardResult::Failed(error),
    }
}

/// The card on file, the form for a new one, and what happened.
#[component]
fn UpdateCard(portal: PortalView) -> impl IntoView {
    let context = use_portal();
    #[cfg(feature = "stripe")]
    let stripe: StripeHandle = StoredValue::new_local(None);
    #[cfg(not(feature = "stripe"))]
    let stripe: StripeHandle = ();
    let email = portal.email.clone().unwrap_or_default();
    let save = Action::new_local(move |step: &CardStep| {
        let (step, email) = (step.clone(), email.clone());
        async move {
            let result = run_card_step(context.session_id(), step, stripe, email).await;
            if matches!(result, CardResult::Saved { .. }) {
                context.reload();
            }
            result
        }
    });
    let result = save.value();
    let saved = Memo::new(move |_| match result.get() {
        Some(CardResult::Saved { card, paid }) => Some((card, paid)),
        _ => None,
    });
    let challenge = Memo::new(move |_| match result.get() {
        Some(CardResult::NeedsAuthentication { challenge_id }) => Some(challenge_id),
        _ => None,
    });
    let on_answer = Callback::new(move |(challenge_id, choice)| {
        save.dispatch(CardStep::Authenticate { challenge_id, choice });
    });
    let current = portal.payment_method.clone();
    let elements = portal.stripe.clone();
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                {move || match saved.get() {
                    Some((card, paid)) => view! { <CardSaved card=card paid=paid /> }.into_any(),
                    None => {
                        view! {
                            <PageHeading text="Update payment method" />
                            <PastDueBanner />
                            <NewCardForm current=current.clone() save=save stripe=stripe elements=elements.clone() />
                        }
                            .into_any()
                    }
                }}
            </div>
            <PendingChallenge challenge=challenge amount="$0.00" busy=save.pending() on_answer=on_answer />
        </PageFrame>
    }
}

/// The check of a new card's fields, and what stands in for our card number fields: Stripe's
/// Element in Stripe mode, nothing in test mode.
#[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
fn new_card(
    card: CardFormState,
    stripe: StripeHandle,
    elements: Option<StripeElements>,
) -> (Memo<Result<CardStep, Box<CardErrors>>>, Option<ViewFn>) {
    #[cfg(feature = "stripe")]
    if let Some(elements) = elements {
        use crate::components::card_form::check_holder;
        use crate::components::stripe_card::StripeCardElement;
        let check = Memo::new(move |_| check_holder(&card.inputs()).map(CardStep::SaveWithStripe));
        // Every save is a new SetupIntent: the Element's changes need no counting here.
        let changes = RwSignal::new(0u32);
        let element = ViewFn::from(move || {
            view! { <StripeCardElement elements=elements.clone() handle=stripe changes=changes /> }.into_any()
        });
        return (check, Some(element));
    }
    let today = browser::current_year_month();
    (Memo::new(move |_| check_card(&card.inputs(), today).map(CardStep::Save)), None)
}

/// The card form, its errors and Save.
#[component]
fn NewCardForm(
    current: Option<CardSummary>,
    save: Action<CardStep, CardResult>,
    stripe: StripeHandle,
    elements: Option<StripeElements>,
) -> impl IntoView {
    let card = CardFormState::new();
    let (check, card_element) = new_card(card, stripe, elements);
    let errors = Signal::derive(move || check.get().err().map(|e| *e).unwrap_or_default());
    let pending = save.pending();
    let result = save.value();
    let alert = Signal::derive(move || match result.get() {
        Some(CardResult::Declined(text)) => Some(AlertText::new(text)),
        Some(CardResult::Failed(error)) => Some(AlertText::new(error.message())),
        _ => None,
    });
    view! {
        <form
            class="card payment-form"
            novalidate=true
            on:submit=move |ev| {
                ev.prevent_default();
                card.show_all.set(true);
                if let (Ok(step), false) = (check.get_untracked(), pending.get_untracked()) {
                    save.dispatch(step);
                }
            }
        >
            <p class="muted">{current.map(|c| format!("Now charged: {}.", c.label()))}</p>
            <CardForm state=card errors=errors disabled=pending card_element=card_element />
            <ErrorAlert text=alert />
            <div class="actions">
                <BusyButton
                    label="Save card"
                    busy_label="Saving…"
                    submit=true
                    loading=pending
                    disabled=Signal::derive(move || check.with(Result::is_err))
                />
                <a class="button secondary" href=use_portal().href("")>
                    "Back"
                </a>
            </div>
        </form>
    }
}

/// What a past-due account owed, paid with the new card in one charge.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PaidOwed {
    amount: Money,
    invoices: u32,
}

impl PaidOwed {
    fn sentence(self) -> String {
        match self.invoices {
            0 | 1 => format!("We also paid your open invoice of {}: your plan is active again.", self.amount),
            n => format!("We also paid your {n} open invoices, {} in all: your plan is active again.", self.amount),
        }
    }
}

/// The card is saved (and what a past-due account owed paid with it).
#[component]
fn CardSaved(card: CardSummary, paid: Option<PaidOwed>) -> impl IntoView {
    view! {
        <section class="card success">
            <div class="success-mark" aria-hidden="true">"✓"</div>
            <PageHeading text="Your card is updated" />
            <p class="lead">{format!("{} will be charged from now on.", card.label())}</p>
            <p>{paid.map(PaidOwed::sentence)}</p>
            <a class="button primary" href=use_portal().href("")>
                "Back to your subscription"
            </a>
        </section>
    }
}
