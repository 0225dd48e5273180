//! A checkout's charge in the three steps of [`payments::charge_once`]: prepare (replay a kept
//! answer, or check the request and record the account's pending attempt), charge, record (check
//! again, act on the result, keep the answer). Used by the confirm and by the 3-D Secure answer.

use super::rules::{self as checkout, CheckoutPayment};
use crate::error::AppError;
use crate::idempotency::{self, AnswerTo, Keyed};
use crate::payments::{Attempt, Charge, Charged, PendingCharge, Prepared};
use crate::promotions::checkout::{self as promotions, Quoting};
use crate::store::Conn;
use crate::store::{self, CheckoutSession, PaymentMethod};
use billing::Money;
use billing::validate;
use billing::wire::{ChallengeAnswer, ChallengeOutcome, ConfirmCheckout, DeclineCode, PaymentOutcome};
use time::OffsetDateTime;

/// A charge recorded as pending, with what recording its result needs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingCheckout {
    attempt: Attempt,
    session_id: String,
    email: String,
    expected_total: Money,
    pm: PaymentMethod,
    authenticated: bool,
    /// Stripe mode, a 3-D Secure answer: the PaymentIntent that waited for it.
    intent: Option<String>,
    answer_to: AnswerTo,
}

/// A confirm with its idempotency key, as the page sent it.
pub struct Confirm {
    pub session_id: String,
    pub key: String,
    pub request: ConfirmCheckout,
}

impl Confirm {
    fn scope(&self) -> String {
        format!("checkout:{}", self.session_id)
    }

    /// What the confirm asks for, without its key.
    fn fingerprint(&self) -> String {
        let req = &self.request;
        let billing = req.billing.as_ref();
        idempotency::fingerprint(&[
            req.email.trim(),
            &req.payment_method,
            billing.map(|b| b.country.as_str()).unwrap_or(""),
            billing.and_then(|b| b.postal_code.as_deref()).unwrap_or(""),
            &req.expected_total.cents().to_string(),
        ])
    }
}

type Step = Prepared<PendingCheckout>;

/// Step one of a confirm: the kept answer for its key, or the checks and the pending attempt.
pub fn prepare_confirm(conn: &Conn<'_>, confirm: &Confirm, now: OffsetDateTime) -> Result<Step, AppError> {
    let (scope, fingerprint) = (confirm.scope(), confirm.fingerprint());
    let keyed = Keyed { scope: &scope, key: &confirm.key, fingerprint: &fingerprint };
    if let Some(answer) = idempotency::stored(conn, &keyed, time::OffsetDateTime::UNIX_EPOCH)? {
        return Ok(Prepared::Answered(answer));
    }
    let req = &confirm.request;
    let (session, account) = checkout::open_checkout(conn, &confirm.session_id, now)?;
    checkout::ensure_eligible(conn, &account)?;
    check_quote(conn, &session, req.expected_total, now, Quoting::Now)?;
    let email = validate::validate_email(&req.email).map_err(|e| AppError::InvalidEmail(e.message()))?;
    let pm = checkout::usable_payment_method(conn, &req.payment_method, &session)?;
    match (&req.billing, pm.account_id.is_none()) {
        (Some(billing), _) => checkout::check_billing(billing)?,
        (None, true) => return Err(AppError::InvalidBillingDetails("Enter your country or region.".into())),
        (None, false) => {}
    }
    let Some(attempt) = store::claim_attempt(conn, &account.id, PendingCheckout::PURPOSE, now)? else {
        return Ok(Prepared::Busy);
    };
    promotions::hold_for_payment(conn, &session, now)?;
    Ok(Prepared::Charge(PendingCheckout {
        attempt,
        session_id: session.id,
        email,
        expected_total: req.expected_total,
        pm,
        authenticated: false,
        intent: None,
        answer_to: AnswerTo::Key { scope, key: confirm.key.clone(), fingerprint },
    }))
}

/// Step one of a 3-D Secure answer: the kept outcome of an earlier answer, a failed check (a
/// decline, nothing to charge), or the checks and the pending attempt.
pub fn prepare_answer(
    conn: &Conn<'_>,
    session_id: &str,
    answer: &ChallengeAnswer,
    now: OffsetDateTime,
) -> Result<Step, AppError> {
    // Portal challenges belong to portal sessions: the session id already keeps them out.
    let (challenge, kept) = idempotency::challenge_and_answer(conn, &answer.challenge_id, session_id, |_| true)?;
    if let Some(outcome) = kept {
        return Ok(Prepared::Answered(outcome));
    }
    let (session, account) = checkout::open_checkout(conn, session_id, now)?;
    let pm = checkout::usable_payment_method(conn, &challenge.payment_method_id, &session)?;
    if answer.outcome == ChallengeOutcome::Fail {
        let outcome = checkout::decline(conn, &session, DeclineCode::AuthenticationFailed)?;
        AnswerTo::Challenge(challenge.id).keep(conn, &outcome, now)?;
        return Ok(Prepared::Answered(outcome));
    }
    // The bank said yes; charge only the amount the user saw when they subscribed.
    let expected_total = challenge.expected_total.unwrap_or_default();
    check_quote(conn, &session, expected_total, now, Quoting::ApprovedByBank)?;
    let Some(attempt) = store::claim_attempt(conn, &account.id, PendingCheckout::PURPOSE, now)? else {
        return Ok(Prepared::Busy);
    };
    promotions::keep_hold_after_bank(conn, &session, now)?;
    Ok(Prepared::Charge(PendingCheckout {
        attempt,
        session_id: session.id,
        email: challenge.email,
        expected_total,
        pm,
        authenticated: true,
        intent: challenge.intent_id,
        answer_to: AnswerTo::Challenge(challenge.id),
    }))
}

/// The session's first charge at `now` (with its code's discount, as `quoting` says) is the total
/// the user saw.
fn check_quote(
    conn: &Conn<'_>,
    session: &CheckoutSession,
    expected: Money,
    now: OffsetDateTime,
    quoting: Quoting,
) -> Result<(), AppError> {
    let quote = promotions::session_quote(conn, session, now, quoting)?;
    if quote.total_due_today == expected { Ok(()) } else { Err(AppError::QuoteChanged) }
}

impl PendingCharge for PendingCheckout {
    type Outcome = PaymentOutcome;
    const PURPOSE: &'static str = "checkout";

    fn attempt_id(&self) -> &str {
        &self.attempt.id
    }

    fn charge(&self) -> Charge {
        let charge = Charge::new(&self.attempt, &self.pm, self.expected_total, checkout::charge_kind(&self.pm));
        // Nothing due today (a 100% first period): the card is still checked for the renewals,
        // by the test processor here (Stripe's SetupIntent checked it when it was saved).
        let check_only = self.expected_total == Money::ZERO && self.pm.stripe_customer.is_none();
        Charge { authenticated: self.authenticated, intent: self.intent.clone(), check_only, ..charge }
    }

    fn record(&self, conn: &Conn<'_>, charged: &Charged, now: OffsetDateTime) -> Result<PaymentOutcome, AppError> {
        let (session, account) = checkout::open_checkout(conn, &self.session_id, now)?;
        let payment = CheckoutPayment {
            session: &session,
            account: &account,
            email: &self.email,
            expected_total: self.expected_total,
        };
        let outcome = checkout::record_charge(conn, &payment, &self.pm, charged, now)?;
        self.answer_to.keep(conn, &outcome, now)?;
        Ok(outcome)
    }

    fn status(outcome: &PaymentOutcome) -> &'static str {
        match outcome {
            PaymentOutcome::Succeeded { .. } => "succeeded",
            PaymentOutcome::RequiresAction { .. } => "requires_action",
            PaymentOutcome::Declined { .. } => "declined",
        }
    }
}
