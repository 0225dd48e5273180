//! The past-due banner every portal page shows while renewals are unpaid: what is owed (every
//! invoice whose charge failed, paid together in one charge of their total), when the card is tried
//! again and when the subscription is canceled if it is not paid, and the ways to pay (the card on
//! file, or another card). In Stripe mode the bank may ask to confirm the payment: Stripe.js runs
//! that check, then the server asks Stripe how it went.

use super::use_portal;
use crate::api::{self, ApiError};
use crate::components::alert::BusyButton;
use crate::payment::{Answer, BankCheck, PayError, PayResult, Payment, PaymentFlow, Step};
use billing::Money;
use billing::wire::{AmountDue, ChallengeAnswer, InvoicePaymentOutcome, PortalView};
use i18n::{I18n, PortalText};
use leptos::prelude::*;
use views::portal_home::card_label;

/// Shown while the subscription owes anything; once it is paid the portal loads again and the
/// banner goes. A notice (the amount owed changed) outlives the banner it came from.
#[component]
pub fn PastDueBanner() -> impl IntoView {
    let context = use_portal();
    let notice = RwSignal::new(None::<String>);
    move || context.view().map(|portal| view! { <Banner portal=portal notice=notice /> })
}

/// What failed and what is owed, in a sentence or two.
fn owed_text(i18n: &I18n, due: &AmountDue) -> String {
    let amount = i18n.money(due.amount.cents());
    let what = match due.invoices.as_slice() {
        [only] => {
            i18n.f(PortalText::OwedOneInvoice, &[("amount", &amount), ("date", &i18n.long_date(only.created_at))])
        }
        [first, ..] => i18n.plural(
            PortalText::OwedInvoices,
            due.invoices.len() as u64,
            &[("date", &i18n.long_date(first.created_at)), ("amount", &amount)],
        ),
        [] => i18n.f(PortalText::OwedAmount, &[("amount", &amount)]),
    };
    let then = match (due.next_retry_at, due.cancels_at) {
        (Some(retry), Some(cancel)) if retry < cancel => i18n
            .f(PortalText::RetryThenCancel, &[("retry", &i18n.long_date(retry)), ("cancel", &i18n.long_date(cancel))]),
        (_, Some(cancel)) => i18n.f(PortalText::CancelIfUnpaid, &[("cancel", &i18n.long_date(cancel))]),
        _ => return what,
    };
    i18n.f(PortalText::TwoSentences, &[("first", &what), ("second", &then)])
}

/// Paying every open invoice with the card on file, at the total the banner showed.
#[derive(Clone)]
struct InvoicePayment {
    session_id: String,
}

impl Payment for InvoicePayment {
    /// The total owed the banner showed.
    type Request = Money;
    type Outcome = InvoicePaymentOutcome;
    type Done = ();
    /// The new total comes with the portal, which the banner loads again.
    type Quote = ();

    async fn send(
        &self,
        total: Money,
        idempotency_key: String,
        _: BankCheck,
    ) -> Result<InvoicePaymentOutcome, PayError> {
        Ok(api::pay_invoice(&self.session_id, idempotency_key, total).await?)
    }

    async fn answer(&self, answer: ChallengeAnswer) -> Result<InvoicePaymentOutcome, ApiError> {
        api::answer_invoice_challenge(&self.session_id, &answer).await
    }

    fn read(outcome: InvoicePaymentOutcome) -> Answer<()> {
        match outcome {
            InvoicePaymentOutcome::Paid { .. } => Answer::Done(()),
            InvoicePaymentOutcome::RequiresAction { challenge_id, client_secret } => {
                Answer::Challenge { challenge_id, client_secret }
            }
            InvoicePaymentOutcome::Declined { decline } => Answer::Declined { decline, attempts_left: None },
        }
    }

    async fn requote(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Pays what is owed; the answer is the message for the banner, if any.
fn pay_action(portal: &PortalView, notice: RwSignal<Option<String>>) -> Action<Money, Option<String>> {
    let context = use_portal();
    let payment = InvoicePayment { session_id: context.session_id() };
    let flow = PaymentFlow::new(payment, BankCheck::new(portal.stripe.clone()));
    let i18n = views::i18n();
    Action::new_local(move |total: &Money| {
        let total = *total;
        let i18n = i18n.clone();
        async move {
            notice.set(None);
            match flow.run(Step::Pay(total)).await {
                PayResult::Done(()) => {
                    context.reload();
                    None
                }
                PayResult::NeedsAuthentication { .. } => {
                    // The banner has no bank dialog: trying again is a new payment.
                    flow.new_attempt();
                    Some(i18n.t(PortalText::BankNeedsConfirmation))
                }
                PayResult::Declined { decline, .. } => Some(views::words::decline_text(&i18n, &decline)),
                PayResult::Repriced { .. } => {
                    // Nothing was charged: show what is owed now.
                    notice.set(Some(i18n.t(PortalText::OwedChanged)));
                    context.reload();
                    None
                }
                PayResult::CardRefused(message) => Some(message),
                PayResult::Failed(error) => Some(error.message(&i18n)),
            }
        }
    })
}

#[component]
fn Banner(portal: PortalView, notice: RwSignal<Option<String>>) -> impl IntoView {
    let Some(due) = portal.amount_due.clone() else {
        return ().into_any();
    };
    let context = use_portal();
    let i18n = views::i18n();
    let card = portal.payment_method.clone();
    let total = due.amount;
    let pay = pay_action(&portal, notice);
    let error = move || pay.value().get().flatten().or_else(|| notice.get());
    let amount = i18n.money(due.amount.cents());
    let pay_label = match &card {
        Some(card) => i18n.f(PortalText::PayWithCard, &[("amount", &amount), ("card", &card_label(&i18n, card))]),
        None => i18n.f(PortalText::PayAmount, &[("amount", &amount)]),
    };
    view! {
        <div class="banner-danger" role="alert">
            <p>
                <strong>{i18n.t(PortalText::PaymentFailed)}</strong>
                " "
                {owed_text(&i18n, &due)}
            </p>
            <div class="actions">
                <BusyButton
                    label=pay_label
                    busy_label=i18n.t(PortalText::Processing)
                    loading=pay.pending()
                    on_click=Callback::new(move |_| {
                        pay.dispatch(total);
                    })
                />
                <a class="button secondary" href=context.href("/payment-method")>
                    {i18n.t(PortalText::UseAnotherCard)}
                </a>
            </div>
            <p class="banner-error">{error}</p>
        </div>
    }
    .into_any()
}
