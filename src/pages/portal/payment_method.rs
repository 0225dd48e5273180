//! Update payment method: the checkout's card form (the same component), its errors and 3-D
//! Secure; the new card is charged from then on, and pays a past-due invoice if there is one.

use super::past_due::PastDueBanner;
use super::use_portal;
use crate::api::{self, ApiError};
use crate::browser;
use crate::components::alert::{AlertText, BusyButton, ErrorAlert};
use crate::components::card_form::{CardForm, CardFormState, CheckedCard, check_card};
use crate::components::challenge_dialog::PendingChallenge;
use crate::components::frame::{PageFrame, PageHeading};
use billing::Money;
use billing::wire::{
    CardSummary, ChallengeAnswer, ChallengeId, ChallengeOutcome, PaymentMethodOutcome, PortalView, UpdatePaymentMethod,
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
    Authenticate { challenge_id: ChallengeId, choice: ChallengeOutcome },
}

#[derive(Clone, Debug, PartialEq)]
enum CardResult {
    Saved { card: CardSummary, paid_invoice: Option<Money> },
    NeedsAuthentication { challenge_id: ChallengeId },
    Declined(String),
    Failed(ApiError),
}

async fn run_card_step(session_id: String, step: CardStep) -> CardResult {
    let outcome = match step {
        CardStep::Save(checked) => {
            let request = UpdatePaymentMethod { card: checked.card, billing: checked.billing };
            api::update_payment_method(&session_id, &request).await
        }
        CardStep::Authenticate { challenge_id, choice } => {
            let outcome = choice;
            api::answer_card_challenge(&session_id, &ChallengeAnswer { challenge_id, outcome }).await
        }
    };
    match outcome {
        Ok(PaymentMethodOutcome::Updated { card, paid_invoice }) => CardResult::Saved { card, paid_invoice },
        Ok(PaymentMethodOutcome::RequiresAction { challenge_id }) => CardResult::NeedsAuthentication { challenge_id },
        Ok(PaymentMethodOutcome::Declined { decline }) => CardResult::Declined(decline.message),
        Err(error) => CardResult::Failed(error),
    }
}

/// The card on file, the form for a new one, and what happened.
#[component]
fn UpdateCard(portal: PortalView) -> impl IntoView {
    let context = use_portal();
    let save = Action::new_local(move |step: &CardStep| {
        let step = step.clone();
        async move {
            let result = run_card_step(context.session_id(), step).await;
            if matches!(result, CardResult::Saved { .. }) {
                context.reload();
            }
            result
        }
    });
    let result = save.value();
    let saved = Memo::new(move |_| match result.get() {
        Some(CardResult::Saved { card, paid_invoice }) => Some((card, paid_invoice)),
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
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                {move || match saved.get() {
                    Some((card, paid)) => view! { <CardSaved card=card paid_invoice=paid /> }.into_any(),
                    None => {
                        view! {
                            <PageHeading text="Update payment method" />
                            <PastDueBanner />
                            <NewCardForm current=current.clone() save=save />
                        }
                            .into_any()
                    }
                }}
            </div>
            <PendingChallenge challenge=challenge amount="$0.00" busy=save.pending() on_answer=on_answer />
        </PageFrame>
    }
}

/// The card form, its errors and Save.
#[component]
fn NewCardForm(current: Option<CardSummary>, save: Action<CardStep, CardResult>) -> impl IntoView {
    let card = CardFormState::new();
    let today = browser::current_year_month();
    let check = Memo::new(move |_| check_card(&card.inputs(), today));
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
                if let (Ok(checked), false) = (check.get_untracked(), pending.get_untracked()) {
                    save.dispatch(CardStep::Save(checked));
                }
            }
        >
            <p class="muted">{current.map(|c| format!("Now charged: {}.", c.label()))}</p>
            <CardForm state=card errors=errors disabled=pending />
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

/// The card is saved (and a past-due invoice paid with it).
#[component]
fn CardSaved(card: CardSummary, paid_invoice: Option<Money>) -> impl IntoView {
    view! {
        <section class="card success">
            <div class="success-mark" aria-hidden="true">"✓"</div>
            <PageHeading text="Your card is updated" />
            <p class="lead">{format!("{} will be charged from now on.", card.label())}</p>
            <p>{paid_invoice.map(|amount| format!("We also paid your open invoice of {amount}: your plan is active again."))}</p>
            <a class="button primary" href=use_portal().href("")>
                "Back to your subscription"
            </a>
        </section>
    }
}
