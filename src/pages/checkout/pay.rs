//! Paying for a checkout: the card to pay with (a saved card, or a new one tokenized in test mode
//! or saved with Stripe.js in Stripe mode), then the confirm, through the one payment flow.

use crate::api::{self, ApiError};
use crate::components::card_form::NewCard;
use crate::payment::{Answer, BankCheck, PayError, Payment};
use billing::Money;
use billing::proration::Quote;
use billing::wire::{
    ChallengeAnswer, CheckoutReceipt, CheckoutView, ConfirmCheckout, ConfirmFreeCheckout, ErrorCode, PaymentMethodId,
    PaymentOutcome,
};
use leptos::prelude::*;

/// What Subscribe sends: an identical order again is a retry of the same payment.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub email: String,
    pub choice: PaymentChoice,
    /// The total the page showed: the server refuses another price.
    pub expected_total: Money,
}

/// How the user pays: a saved card or a new one, or no card at all when a promotion makes every
/// charge $0.00.
#[derive(Clone, Debug, PartialEq)]
pub enum PaymentChoice {
    Saved(PaymentMethodId),
    New(NewCard),
    NoCard,
}

/// A checkout session's payment.
#[derive(Clone)]
pub struct CheckoutPayment {
    session_id: String,
    /// The new card last saved for this session: the same card is not sent again, so a retry
    /// confirms with the same payment method.
    last_card: StoredValue<Option<(NewCard, PaymentMethodId)>>,
    /// The quote the page shows: a new price the server gave replaces it here.
    shown_quote: RwSignal<Option<Quote>>,
}

impl CheckoutPayment {
    pub fn new(session_id: String, shown_quote: RwSignal<Option<Quote>>) -> CheckoutPayment {
        CheckoutPayment { session_id, last_card: StoredValue::new(None), shown_quote }
    }

    /// The payment method for a new card: tokenized (test mode), saved with Stripe (Stripe mode).
    #[cfg_attr(not(feature = "stripe"), allow(unused_variables))]
    async fn save_card(&self, card: &NewCard, email: &str, bank: BankCheck) -> Result<PaymentMethodId, PayError> {
        let cached =
            self.last_card.with_value(|last| last.as_ref().filter(|(c, _)| c == card).map(|(_, id)| id.clone()));
        if let Some(id) = cached {
            return Ok(id);
        }
        let saved = match card {
            NewCard::Typed(checked) => api::tokenize_card(&self.session_id, &checked.card).await?,
            #[cfg(feature = "stripe")]
            NewCard::Element(holder, _) => {
                let area = api::StripeArea::Checkout;
                crate::components::stripe_card::save_card(area, &self.session_id, bank, holder, email).await?
            }
        };
        self.last_card.set_value(Some((card.clone(), saved.id.clone())));
        Ok(saved.id)
    }

    /// Another tab paid this session first: its receipt is the answer.
    async fn or_completed(&self, outcome: Result<PaymentOutcome, ApiError>) -> Result<PaymentOutcome, ApiError> {
        match outcome {
            Err(error) if error.code() == Some(ErrorCode::SessionCompleted) => {
                match api::checkout_session(self.session_id.clone()).await? {
                    CheckoutView { receipt: Some(receipt), .. } => Ok(PaymentOutcome::Succeeded { receipt }),
                    _ => Err(ApiError::Unexpected("completed without a receipt".into())),
                }
            }
            other => other,
        }
    }
}

impl Payment for CheckoutPayment {
    type Request = Order;
    type Outcome = PaymentOutcome;
    type Done = CheckoutReceipt;
    type Quote = Box<Quote>;

    async fn send(&self, order: Order, idempotency_key: String, bank: BankCheck) -> Result<PaymentOutcome, PayError> {
        let (payment_method, billing) = match order.choice {
            PaymentChoice::NoCard => {
                let request = ConfirmFreeCheckout { email: order.email, expected_total: order.expected_total };
                return Ok(self.or_completed(api::confirm_free_checkout(&self.session_id, &request).await).await?);
            }
            PaymentChoice::Saved(id) => (id, None),
            PaymentChoice::New(card) => {
                (self.save_card(&card, &order.email, bank).await?, Some(card.billing().clone()))
            }
        };
        let expected_total = order.expected_total;
        let request = ConfirmCheckout { email: order.email, payment_method, billing, expected_total, idempotency_key };
        Ok(self.or_completed(api::confirm_checkout(&self.session_id, &request).await).await?)
    }

    async fn answer(&self, answer: ChallengeAnswer) -> Result<PaymentOutcome, ApiError> {
        self.or_completed(api::answer_challenge(&self.session_id, &answer).await).await
    }

    fn read(outcome: PaymentOutcome) -> Answer<CheckoutReceipt> {
        match outcome {
            PaymentOutcome::Succeeded { receipt } => Answer::Done(receipt),
            PaymentOutcome::RequiresAction { challenge_id, client_secret } => {
                Answer::Challenge { challenge_id, client_secret }
            }
            PaymentOutcome::Declined { decline, attempts_left } => {
                Answer::Declined { decline, attempts_left: Some(attempts_left) }
            }
        }
    }

    async fn requote(&self) -> Result<Box<Quote>, ApiError> {
        match api::checkout_session(self.session_id.clone()).await? {
            CheckoutView { quote: Some(quote), .. } => {
                self.shown_quote.set(Some(quote.clone()));
                Ok(Box::new(quote))
            }
            _ => Err(ApiError::Unexpected("no quote".into())),
        }
    }
}
