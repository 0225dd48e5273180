//! Stripe mode's bank check: Stripe.js runs 3-D Secure for a PaymentIntent, with the page's card
//! Element if it mounted one, or with Stripe.js loaded for it, and the server then asks Stripe how
//! it went.

use super::{Answer, PayError, Payment};
use crate::stripe_js::StripeJs;
use billing::wire::{ChallengeAnswer, ChallengeOutcome, StripeElements};
use i18n::I18n;
use leptos::prelude::*;

/// When the bank asks for a PaymentIntent, Stripe.js runs its check and the answer goes to the
/// server; any other answer is as it was.
pub(super) async fn through_bank<P: Payment>(
    payment: &P,
    bank: BankCheck,
    answer: Result<Answer<P::Done>, PayError>,
) -> Result<Answer<P::Done>, PayError> {
    if let Ok(Answer::Challenge { challenge_id, client_secret: Some(secret) }) = &answer {
        let outcome = bank.confirm(secret).await;
        let outcome = payment.answer(ChallengeAnswer { challenge_id: challenge_id.clone(), outcome }).await?;
        return Ok(P::read(outcome));
    }
    answer
}

/// Stripe.js and its card Element, once mounted (the checkout, the card update).
pub type StripeHandle = StoredValue<Option<StripeJs>, LocalStorage>;

/// Stripe.js for the bank's check: the mounted one, or one loaded from `elements`.
#[derive(Clone, Copy)]
pub struct BankCheck {
    mounted: StripeHandle,
    elements: StoredValue<Option<StripeElements>, LocalStorage>,
    /// The page's catalog, for Stripe.js's messages.
    i18n: StoredValue<I18n>,
}

impl BankCheck {
    /// Made in a component, whose page's catalog it keeps.
    pub fn new(elements: Option<StripeElements>) -> BankCheck {
        BankCheck {
            mounted: StoredValue::new_local(None),
            elements: StoredValue::new_local(elements),
            i18n: StoredValue::new(views::i18n()),
        }
    }

    /// The page's catalog.
    pub fn i18n(self) -> I18n {
        self.i18n.get_value()
    }

    /// Where the page's card Element keeps Stripe.js once it has mounted.
    pub fn handle(self) -> StripeHandle {
        self.mounted
    }

    /// Runs the bank's check for the PaymentIntent of `client_secret`: whether the user completed
    /// it (the server asks Stripe either way).
    async fn confirm(self, client_secret: &str) -> ChallengeOutcome {
        let completed = match self.stripe_js().await {
            Some(stripe) => stripe.confirm_card_payment(client_secret).await.is_ok(),
            None => false,
        };
        if completed { ChallengeOutcome::Complete } else { ChallengeOutcome::Fail }
    }

    async fn stripe_js(self) -> Option<StripeJs> {
        if let Some(stripe) = self.mounted.get_value() {
            return Some(stripe);
        }
        let elements = self.elements.get_value()?;
        StripeJs::load(&elements.js_url, &elements.publishable_key, self.i18n.get_value()).await.ok()
    }
}
