//! Update payment method: the checkout's card form (the same component), its errors and 3-D
//! Secure; the new card is charged from then on, and pays a past-due invoice if there is one.

use super::past_due::PastDueBanner;
use super::use_portal;
use crate::api::{self, ApiError};
use crate::browser;
use crate::components::card_form::{CardForm, CardFormState, CheckedCard, check_card};
use crate::components::challenge_dialog::ChallengeDialog;
use crate::components::frame::{PageFrame, PageHeading, focus_when};
use billing::Money;
use billing::wire::{
    CardSummary, ChallengeAnswer, ChallengeId, ChallengeOutcome, PaymentMethodOutcome, PortalView, UpdatePaymentMethod,
};
use leptos::html;
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
    let card = CardFormState::new();
    let today = browser::current_year_month();
    let check = Memo::new(move |_| check_card(&card.inputs(), today));
    let errors = Signal::derive(move || check.get().err().map(|e| *e).unwrap_or_default());
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
    let pending = save.pending();
    let result = save.value();
    let saved = Memo::new(move |_| match result.get() {
        Some(CardResult::Saved { card, paid_invoice }) => Some((card, paid_invoice)),
        _ => None,
    });
    let challenge = Memo::new(move |_| match result.get() {
        Some(CardResult::NeedsAuthentication { challenge_id }) => Some(challenge_id),
        _ => None,
    });
    let on_choice = Callback::new(move |choice: ChallengeOutcome| {
        if let Some(challenge_id) = challenge.get_untracked()
            && !pending.get_untracked()
        {
            save.dispatch(CardStep::Authenticate { challenge_id, choice });
        }
    });
    let alert = NodeRef::<html::Div>::new();
    focus_when(move || matches!(result.get(), Some(CardResult::Declined(_) | CardResult::Failed(_))), alert);
    let message = move || match result.get() {
        Some(CardResult::Declined(text)) => Some(text),
        Some(CardResult::Failed(error)) => Some(error.message()),
        _ => None,
    };
    let current = portal.payment_method.clone().map(|c| format!("Now charged: {}.", c.label()));
    let (home, home_done) = (context.href(""), context.href(""));
    let form = move || {
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
                <p class="muted">{current.clone()}</p>
                <CardForm state=card errors=errors disabled=pending />
                <div class="alert-slot" role="alert">
                    {move || message().map(|text| view! { <div class="alert error" tabindex="-1" node_ref=alert><p>{text}</p></div> })}
                </div>
                <div class="actions">
                    <button type="submit" class="button primary" disabled=move || pending.get() || check.get().is_err()>
                        {move || if pending.get() { "Saving…" } else { "Save card" }}
                    </button>
                    <a class="button secondary" href=home.clone()>
                        "Back"
                    </a>
                </div>
            </form>
        }
    };
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                {move || match saved.get() {
                    Some((card, paid)) => {
                        view! {
                            <section class="card success">
                                <div class="success-mark" aria-hidden="true">"✓"</div>
                                <PageHeading text="Your card is updated" />
                                <p class="lead">
                                    {format!("{} will be charged from now on.", card.label())}
                                </p>
                                <p>{paid.map(|amount| format!("We also paid your open invoice of {amount}: your plan is active again."))}</p>
                                <a class="button primary" href=home_done.clone()>
                                    "Back to your subscription"
                                </a>
                            </section>
                        }
                            .into_any()
                    }
                    None => {
                        view! {
                            <PageHeading text="Update payment method" />
                            <PastDueBanner />
                            {form()}
                        }
                            .into_any()
                    }
                }}
            </div>
            {move || challenge.get().map(|_| view! { <ChallengeDialog amount="$0.00" on_choice=on_choice busy=pending /> })}
        </PageFrame>
    }
}
