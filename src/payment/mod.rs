//! The one payment flow. Every page that charges or saves a card (the checkout, the plan change,
//! the card update, the past-due payment) sends its request through [`PaymentFlow`], which
//! - reuses the idempotency key of the last request on an identical retry, so the server answers
//!   it once, and starts a new attempt after a decline or a new price;
//! - runs the bank's 3-D Secure check: the page's dialog answers it in test mode
//!   ([`Step::Authenticate`]), Stripe.js in Stripe mode ([`BankCheck`]);
//! - asks for the new price when the server refused the one the page showed (`quote_changed`).
//!
//! What a page pays for, and where it sends it, is its own [`Payment`].

#[cfg(feature = "stripe")]
mod stripe;
#[cfg(not(feature = "stripe"))]
mod test_mode;

use crate::api::ApiError;
use crate::browser;
use billing::wire::{ChallengeAnswer, ChallengeId, ChallengeOutcome, Decline, ErrorCode};
use leptos::prelude::*;
#[cfg(feature = "stripe")]
pub use stripe::{BankCheck, StripeHandle};
#[cfg(not(feature = "stripe"))]
pub use test_mode::BankCheck;

/// One kind of payment: what it sends, where, and what the server's answers say.
#[allow(async_fn_in_trait, reason = "the app is single-threaded wasm: its futures never need Send")]
pub trait Payment: Clone + Send + Sync + 'static {
    /// What one attempt sends, without its idempotency key: an identical one is a retry.
    type Request: Clone + PartialEq + Send + Sync + 'static;
    /// The server's answer to the request and to the bank's check.
    type Outcome;
    /// What a payment that went through gives the page.
    type Done;
    /// The new price, after the server refused the one the page showed.
    type Quote;

    /// Sends `request` with `idempotency_key` (a request the server needs none for ignores it);
    /// `bank` holds Stripe.js where the page mounted its card Element (Stripe mode).
    async fn send(
        &self,
        request: Self::Request,
        idempotency_key: String,
        bank: BankCheck,
    ) -> Result<Self::Outcome, PayError>;
    /// Sends the bank's 3-D Secure answer.
    async fn answer(&self, answer: ChallengeAnswer) -> Result<Self::Outcome, ApiError>;
    /// What `outcome` says, in the terms every payment page acts on.
    fn read(outcome: Self::Outcome) -> Answer<Self::Done>;
    /// The price now, after `quote_changed`.
    async fn requote(&self) -> Result<Self::Quote, ApiError>;
}

/// What an outcome says.
pub enum Answer<D> {
    Done(D),
    /// The bank asks for 3-D Secure; in Stripe mode with the PaymentIntent's secret for Stripe.js.
    Challenge {
        challenge_id: ChallengeId,
        client_secret: Option<String>,
    },
    /// `attempts_left` where the session locks after too many declines (the checkout).
    Declined {
        decline: Decline,
        attempts_left: Option<u32>,
    },
}

/// Why a request got no outcome.
#[derive(Clone, Debug, PartialEq)]
pub enum PayError {
    Api(ApiError),
    /// Stripe mode: Stripe.js did not save the card (its message says why); nothing was charged.
    CardRefused(String),
}

impl From<ApiError> for PayError {
    fn from(error: ApiError) -> PayError {
        PayError::Api(error)
    }
}

/// One step of paying, as a page dispatches it.
#[derive(Clone, Debug, PartialEq)]
pub enum Step<R> {
    Pay(R),
    /// The user's answer in the test-mode bank dialog.
    Authenticate {
        challenge_id: ChallengeId,
        choice: ChallengeOutcome,
    },
}

/// Where paying stands after a step.
#[derive(Clone, Debug, PartialEq)]
pub enum PayResult<D, Q> {
    Done(D),
    /// The bank asks for 3-D Secure: the page's dialog answers it with [`Step::Authenticate`].
    NeedsAuthentication {
        challenge_id: ChallengeId,
    },
    Declined {
        decline: Decline,
        attempts_left: Option<u32>,
    },
    /// The price changed (a new month began, an invoice was paid): here is the new one, nothing
    /// was charged.
    Repriced {
        quote: Q,
    },
    /// Stripe mode: Stripe.js did not save the card (its message says why); nothing was charged.
    CardRefused(String),
    Failed(ApiError),
}

impl<D, Q> PayResult<D, Q> {
    /// The bank dialog's challenge while this result waits for it.
    pub fn challenge(&self) -> Option<ChallengeId> {
        match self {
            PayResult::NeedsAuthentication { challenge_id } => Some(challenge_id.clone()),
            _ => None,
        }
    }
}

/// A page's payment with the memory of its attempts. Copy, so closures and actions share it.
pub struct PaymentFlow<P: Payment> {
    payment: StoredValue<P>,
    /// The request last sent, with its key.
    last: StoredValue<Option<(P::Request, String)>>,
    bank: BankCheck,
}

impl<P: Payment> Clone for PaymentFlow<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Payment> Copy for PaymentFlow<P> {}

impl<P: Payment> PaymentFlow<P> {
    pub fn new(payment: P, bank: BankCheck) -> Self {
        PaymentFlow { payment: StoredValue::new(payment), last: StoredValue::new(None), bank }
    }

    /// Runs one step: sends it, lets Stripe.js run the bank's check if the bank asks (Stripe
    /// mode), and asks for the new price if the server refused the old one.
    pub async fn run(self, step: Step<P::Request>) -> PayResult<P::Done, P::Quote> {
        let payment = self.payment.get_value();
        let sent = match step {
            Step::Pay(request) => {
                let key = self.key_for(&request);
                payment.send(request, key, self.bank).await
            }
            Step::Authenticate { challenge_id, choice } => {
                payment.answer(ChallengeAnswer { challenge_id, outcome: choice }).await.map_err(PayError::Api)
            }
        };
        let answer = sent.map(P::read);
        // Stripe mode: Stripe.js runs the bank's check before the answer is read.
        #[cfg(feature = "stripe")]
        let answer = stripe::through_bank(&payment, self.bank, answer).await;
        match answer {
            Ok(Answer::Done(done)) => PayResult::Done(done),
            Ok(Answer::Challenge { challenge_id, .. }) => PayResult::NeedsAuthentication { challenge_id },
            Ok(Answer::Declined { decline, attempts_left }) => {
                // A decline is final for this attempt: trying again is a new request.
                self.new_attempt();
                PayResult::Declined { decline, attempts_left }
            }
            Err(PayError::Api(ApiError::Api { code: ErrorCode::QuoteChanged, .. })) => {
                self.new_attempt();
                match payment.requote().await {
                    Ok(quote) => PayResult::Repriced { quote },
                    Err(error) => PayResult::Failed(error),
                }
            }
            Err(PayError::Api(error)) => PayResult::Failed(error),
            Err(PayError::CardRefused(message)) => PayResult::CardRefused(message),
        }
    }

    /// The request last sent.
    pub fn last_request(self) -> Option<P::Request> {
        self.last.with_value(|last| last.as_ref().map(|(request, _)| request.clone()))
    }

    /// The next request is a new payment, with a new key, even if it is the same.
    pub fn new_attempt(self) {
        self.last.update_value(|last| {
            if let Some((_, key)) = last {
                *key = browser::new_idempotency_key();
            }
        });
    }

    /// The last request's key for an identical retry (the server then answers it once), a new
    /// key for any other request.
    fn key_for(self, request: &P::Request) -> String {
        let reused =
            self.last.with_value(|last| last.as_ref().filter(|(sent, _)| sent == request).map(|(_, key)| key.clone()));
        let key = reused.unwrap_or_else(browser::new_idempotency_key);
        self.last.set_value(Some((request.clone(), key.clone())));
        key
    }
}

/// Paying, one step at a time: the latest step's result and whether one is on its way. The same
/// reads as an `Action`'s, in plain async: an `Action` would cost the checkout's bundle 11 KB,
/// which the portal's already carries.
pub struct Payer<P: Payment> {
    flow: PaymentFlow<P>,
    result: RwSignal<Option<PayResult<P::Done, P::Quote>>>,
    pending: RwSignal<bool>,
}

impl<P: Payment> Clone for Payer<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Payment> Copy for Payer<P> {}

impl<P: Payment> Payer<P>
where
    P::Done: Send + Sync,
    P::Quote: Send + Sync,
{
    pub fn new(flow: PaymentFlow<P>) -> Self {
        Payer { flow, result: RwSignal::new(None), pending: RwSignal::new(false) }
    }

    pub fn value(self) -> RwSignal<Option<PayResult<P::Done, P::Quote>>> {
        self.result
    }

    pub fn pending(self) -> RwSignal<bool> {
        self.pending
    }

    /// Sends the last request again (Retry after the server could not be reached): the same key,
    /// so the server answers it once.
    pub fn retry(self) {
        if let Some(request) = self.flow.last_request() {
            self.dispatch(Step::Pay(request));
        }
    }

    /// Runs `step` unless one is already on its way.
    pub fn dispatch(self, step: Step<P::Request>) {
        if self.pending.get_untracked() {
            return;
        }
        self.pending.set(true);
        leptos::task::spawn_local(async move {
            let result = self.flow.run(step).await;
            self.result.set(Some(result));
            self.pending.set(false);
        });
    }
}
