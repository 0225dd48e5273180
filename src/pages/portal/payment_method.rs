//! Update payment method: the checkout's card form (the same component), its errors and 3-D
//! Secure; the new card is charged from then on, and pays a past-due invoice if there is one.
//! In Stripe mode the card number fields are Stripe's Element, and Stripe.js saves the card.

use super::past_due::PastDueBanner;
use super::{PaymentAction, payment_action, use_portal};
use crate::api::{self, ApiError};
use crate::components::alert::{AlertText, BusyButton, ErrorAlert};
use crate::components::card_form::{CardForm, NewCard, card_form_state, card_formatters, new_card};
use crate::components::challenge_dialog::PaymentChallenge;
use crate::components::frame::{PageFrame, PageHeading};
use crate::payment::{Answer, BankCheck, PayError, PayResult, Payment, Step};
use billing::Money;
use billing::wire::{
    CardSummary, ChallengeAnswer, PaymentMethodOutcome, PortalView, StripeElements, UpdatePaymentMethod,
};
use i18n::{I18n, PortalText};
use leptos::prelude::*;
use views::portal_home::card_label;

/// `/portal/:session_id/payment-method`.
#[component]
pub fn PaymentMethodPage() -> impl IntoView {
    // A snapshot: the saved card's page must outlive the reload that saving triggers.
    use_portal().snapshot().map(|portal| view! { <UpdateCard portal=portal /> })
}

/// Making a new card the account's card (and paying what a past-due account owes with it).
#[derive(Clone)]
struct CardUpdate {
    session_id: String,
    /// Stripe mode: who Stripe keeps with the card.
    #[cfg_attr(not(feature = "stripe"), allow(dead_code))]
    email: String,
}

impl Payment for CardUpdate {
    type Request = NewCard;
    type Outcome = PaymentMethodOutcome;
    type Done = (CardSummary, Option<PaidOwed>);
    type Quote = ();

    /// Every save is a new one (the server needs no key): saving the same card again is harmless.
    #[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
    async fn send(&self, card: NewCard, _: String, bank: BankCheck) -> Result<PaymentMethodOutcome, PayError> {
        match card {
            NewCard::Typed(checked) => {
                let request = UpdatePaymentMethod { card: checked.card, billing: checked.billing };
                Ok(api::update_payment_method(&self.session_id, &request).await?)
            }
            #[cfg(feature = "stripe")]
            NewCard::Element(holder, _) => {
                let area = api::StripeArea::Portal;
                crate::components::stripe_card::save_card(area, &self.session_id, bank, &holder, &self.email).await
            }
        }
    }

    async fn answer(&self, answer: ChallengeAnswer) -> Result<PaymentMethodOutcome, ApiError> {
        api::answer_card_challenge(&self.session_id, &answer).await
    }

    fn read(outcome: PaymentMethodOutcome) -> Answer<(CardSummary, Option<PaidOwed>)> {
        match outcome {
            PaymentMethodOutcome::Updated { card, paid_invoice, invoices_paid } => {
                let paid = paid_invoice.map(|amount| PaidOwed { amount, invoices: invoices_paid.unwrap_or(1) });
                Answer::Done((card, paid))
            }
            PaymentMethodOutcome::RequiresAction { challenge_id } => {
                Answer::Challenge { challenge_id, client_secret: None }
            }
            PaymentMethodOutcome::Declined { decline } => Answer::Declined { decline, attempts_left: None },
        }
    }

    /// A card update has no price.
    async fn requote(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Saving the card, one step at a time.
type SaveAction = PaymentAction<CardUpdate>;

/// The card on file, the form for a new one, and what happened.
#[component]
fn UpdateCard(portal: PortalView) -> impl IntoView {
    let update = CardUpdate { session_id: use_portal().session_id(), email: portal.email.clone().unwrap_or_default() };
    let bank = BankCheck::new(portal.stripe.clone());
    let save = payment_action(update, bank);
    let result = save.value();
    let saved = Memo::new(move |_| match result.get() {
        Some(PayResult::Done(saved)) => Some(saved),
        _ => None,
    });
    let current = portal.payment_method.clone();
    let elements = portal.stripe.clone();
    let i18n = views::i18n();
    let heading = i18n.t(PortalText::UpdatePaymentMethod);
    let no_charge = i18n.money(0);
    view! {
        <PageFrame branding=portal.branding.clone() test_mode=portal.test_mode return_url=portal.return_url.clone()>
            <div class="portal">
                {move || match saved.get() {
                    Some((card, paid)) => view! { <CardSaved card=card paid=paid /> }.into_any(),
                    None => {
                        view! {
                            <PageHeading text=heading.clone() />
                            <PastDueBanner />
                            <NewCardForm current=current.clone() save=save bank=bank elements=elements.clone() />
                        }
                            .into_any()
                    }
                }}
            </div>
            <PaymentChallenge pay=save amount=no_charge />
        </PageFrame>
    }
}

/// The card form, its errors and Save.
#[component]
fn NewCardForm(
    current: Option<CardSummary>,
    save: SaveAction,
    bank: BankCheck,
    elements: Option<StripeElements>,
) -> impl IntoView {
    let i18n = views::i18n();
    let card = card_form_state();
    let (check, card_element) = new_card(card, elements, bank);
    let formatters = card_element.is_none().then(|| card_formatters(card));
    let errors = Signal::derive(move || check.get().err().map(|e| *e).unwrap_or_default());
    let pending = save.pending();
    let result = save.value();
    let catalog = i18n.clone();
    let alert = Signal::derive(move || match result.get()? {
        PayResult::Declined { decline, .. } => Some(AlertText::new(views::words::decline_text(&catalog, &decline))),
        PayResult::CardRefused(text) => Some(AlertText::new(text)),
        PayResult::Failed(error) => Some(AlertText::new(error.message(&catalog))),
        _ => None,
    });
    view! {
        <form
            class="card payment-form"
            novalidate=true
            on:submit=move |ev| {
                ev.prevent_default();
                card.show_all.set(true);
                match (check.get_untracked(), pending.get_untracked()) {
                    (Ok(step), false) => {
                        save.dispatch(Step::Pay(step));
                    }
                    (Err(errors), _) => {
                        if let Some(id) = errors.first_field() {
                            crate::browser::focus_field(id);
                        }
                    }
                    _ => {}
                }
            }
        >
            <p class="muted">{current.map(|c| i18n.f(PortalText::NowCharged, &[("card", &card_label(&i18n, &c))]))}</p>
            <CardForm state=card errors=errors disabled=pending card_element=card_element formatters=formatters />
            <ErrorAlert text=alert />
            <p class="form-hint" aria-live="polite">
                {move || {
                    let count = check.with(|c| c.as_ref().err().map(|e| e.count().max(1)))?;
                    card.show_all.get().then(|| views::i18n().plural(PortalText::FieldsNeedAttention, count as u64, &[]))
                }}
            </p>
            <div class="actions">
                <BusyButton
                    label=i18n.t(PortalText::SaveCard)
                    busy_label=i18n.t(PortalText::Saving)
                    submit=true
                    loading=pending
                />
                <a class="button secondary" href=use_portal().href("")>
                    {i18n.t(PortalText::Back)}
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
    fn sentence(self, i18n: &I18n) -> String {
        let amount = i18n.money(self.amount.cents());
        i18n.plural(PortalText::PaidOpenInvoices, u64::from(self.invoices.max(1)), &[("amount", &amount)])
    }
}

/// The card is saved (and what a past-due account owed paid with it).
#[component]
fn CardSaved(card: CardSummary, paid: Option<PaidOwed>) -> impl IntoView {
    let i18n = views::i18n();
    view! {
        <section class="card success">
            <div class="success-mark" aria-hidden="true">"✓"</div>
            <PageHeading text=i18n.t(PortalText::CardUpdated) />
            <p class="lead">{i18n.f(PortalText::ChargedFromNowOn, &[("card", &card_label(&i18n, &card))])}</p>
            <p>{paid.map(|paid| paid.sentence(&i18n))}</p>
            <a class="button primary" href=use_portal().href("")>
                {i18n.t(PortalText::BackToSubscription)}
            </a>
        </section>
    }
}
