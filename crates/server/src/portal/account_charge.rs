//! The portal's other charges, in the three steps of [`payments::charge_once`]: checking a new
//! card (and its 3-D Secure answer), and paying what a past-due account owes, every open invoice
//! in one charge of their total (with the card on file, or with a new card once it is saved; and,
//! in Stripe mode, its 3-D Secure answer).

use super::account::{self, ChargedInvoices};
use super::plan_changes::open_portal;
use crate::error::AppError;
use crate::idempotency::{self, AnswerTo, Keyed};
use crate::jobs::renewals::Owed;
use crate::payments::test_cards::{self, ChargeKind, TokenizedCard};
use crate::payments::{self, Attempt, Charge, Charged, Payments, PendingCharge, Prepared};
use crate::store::Conn;
use crate::store::{self, PaymentMethod};
use billing::Money;
use billing::wire::{
    ChallengeAnswer, ChallengeOutcome, DeclineCode, InvoicePaymentOutcome, PaymentMethodOutcome, SubscriptionStatus,
};
use time::OffsetDateTime;

/// A new card's check recorded as pending.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingCard {
    attempt: Attempt,
    session_id: String,
    pm: PaymentMethod,
    authenticated: bool,
    answer_to: Option<AnswerTo>,
}

/// Step one of saving a card: the account's pending attempt, then the card (so a wait for
/// another charge stores nothing).
pub fn prepare_card(
    conn: &Conn<'_>,
    session_id: &str,
    token: &TokenizedCard,
    now: OffsetDateTime,
) -> Result<Prepared<PendingCard>, AppError> {
    let (session, sub) = open_portal(conn, session_id, now)?;
    let Some(attempt) = store::claim_attempt(conn, &sub.account_id, PendingCard::PURPOSE, now)? else {
        return Ok(Prepared::Busy);
    };
    let pm = test_cards::keep_card(conn, &session.id, session.expires_at, token, now)?;
    Ok(Prepared::Charge(PendingCard { attempt, session_id: session.id, pm, authenticated: false, answer_to: None }))
}

/// Step one of a new card's 3-D Secure answer: the kept outcome of an earlier answer, a failed
/// check, or the pending attempt.
pub fn prepare_card_answer(
    conn: &Conn<'_>,
    session_id: &str,
    answer: &ChallengeAnswer,
    now: OffsetDateTime,
) -> Result<Prepared<PendingCard>, AppError> {
    let (challenge, kept) = idempotency::challenge_and_answer(conn, &answer.challenge_id, session_id, |c| {
        c.plan.is_none() && c.invoice_id.is_none()
    })?;
    if let Some(outcome) = kept {
        return Ok(Prepared::Answered(outcome));
    }
    let (_, sub) = open_portal(conn, session_id, now)?;
    let pm = store::get_payment_method(conn, &challenge.payment_method_id)?.ok_or(AppError::InvalidPaymentMethod)?;
    let answer_to = AnswerTo::Challenge(challenge.id);
    if answer.outcome == ChallengeOutcome::Fail {
        let code = DeclineCode::AuthenticationFailed;
        let outcome = PaymentMethodOutcome::Declined { decline: payments::decline(code) };
        answer_to.keep(conn, &outcome, now)?;
        return Ok(Prepared::Answered(outcome));
    }
    let Some(attempt) = store::claim_attempt(conn, &sub.account_id, PendingCard::PURPOSE, now)? else {
        return Ok(Prepared::Busy);
    };
    let session_id = session_id.to_string();
    Ok(Prepared::Charge(PendingCard { attempt, session_id, pm, authenticated: true, answer_to: Some(answer_to) }))
}

impl PendingCharge for PendingCard {
    type Outcome = PaymentMethodOutcome;
    const PURPOSE: &'static str = "card";

    fn attempt_id(&self) -> &str {
        &self.attempt.id
    }

    fn charge(&self) -> Charge {
        let charge = Charge::new(&self.attempt, &self.pm, Money::ZERO, ChargeKind::First);
        Charge { authenticated: self.authenticated, check_only: true, ..charge }
    }

    fn record(
        &self,
        conn: &Conn<'_>,
        charged: &Charged,
        now: OffsetDateTime,
    ) -> Result<PaymentMethodOutcome, AppError> {
        let (session, mut sub) = open_portal(conn, &self.session_id, now)?;
        let outcome = account::record_card_check(conn, &session, &mut sub, &self.pm, charged.result, now)?;
        if let Some(answer_to) = &self.answer_to {
            answer_to.keep(conn, &outcome, now)?;
        }
        Ok(outcome)
    }

    fn status(outcome: &PaymentMethodOutcome) -> &'static str {
        match outcome {
            PaymentMethodOutcome::Updated { .. } => "succeeded",
            PaymentMethodOutcome::RequiresAction { .. } => "requires_action",
            PaymentMethodOutcome::Declined { .. } => "declined",
        }
    }
}

/// The charge of a past-due account's open invoices recorded as pending.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingInvoice {
    attempt: Attempt,
    session_id: String,
    #[serde(flatten)]
    owed: Owed,
    pm: PaymentMethod,
    /// Stripe mode, a 3-D Secure answer: the PaymentIntent that waited for it.
    intent: Option<String>,
    answer_to: Option<AnswerTo>,
}

/// Step one of paying every open invoice with the card on file, once per idempotency key: at the
/// total the page showed (`expected_total`), else `quote_changed` before anything is charged.
pub fn prepare_invoice(
    conn: &Conn<'_>,
    session_id: &str,
    key: &str,
    expected_total: Option<Money>,
    now: OffsetDateTime,
) -> Result<Prepared<PendingInvoice>, AppError> {
    let scope = format!("portal-invoice:{session_id}");
    let fingerprint = match expected_total {
        Some(total) => format!("pay open invoices: {}", total.cents()),
        None => "pay open invoice".to_string(),
    };
    let keyed = Keyed { scope: &scope, key, fingerprint: &fingerprint };
    if let Some(answer) = idempotency::stored(conn, &keyed, OffsetDateTime::UNIX_EPOCH)? {
        return Ok(Prepared::Answered(answer));
    }
    let (_, sub) = open_portal(conn, session_id, now)?;
    let pm_id = sub.payment_method_id.clone().ok_or(AppError::InvalidPaymentMethod)?;
    let pm = store::get_payment_method(conn, &pm_id)?.ok_or(AppError::InvalidPaymentMethod)?;
    let answer_to = AnswerTo::Key { scope: scope.clone(), key: key.to_string(), fingerprint: keyed.fingerprint.into() };
    let payer = InvoicePayer { session_id, account_id: &sub.account_id, pm, answer_to: Some(answer_to) };
    pending_invoice(conn, payer, None, expected_total, now)
}

/// Step one of the 3-D Secure answer for paying a past-due account's invoices (Stripe mode): the
/// kept outcome of an earlier answer, a failed check, or the pending attempt that checks the
/// PaymentIntent with Stripe (for the same invoices, at the same total).
pub fn prepare_invoice_answer(
    conn: &Conn<'_>,
    session_id: &str,
    answer: &ChallengeAnswer,
    now: OffsetDateTime,
) -> Result<Prepared<PendingInvoice>, AppError> {
    let (challenge, kept) =
        idempotency::challenge_and_answer(conn, &answer.challenge_id, session_id, |c| c.invoice_id.is_some())?;
    if let Some(outcome) = kept {
        return Ok(Prepared::Answered(outcome));
    }
    let (_, sub) = open_portal(conn, session_id, now)?;
    let answer_to = AnswerTo::Challenge(challenge.id.clone());
    if answer.outcome == ChallengeOutcome::Fail {
        let code = DeclineCode::AuthenticationFailed;
        let outcome = InvoicePaymentOutcome::Declined { decline: payments::decline(code) };
        answer_to.keep(conn, &outcome, now)?;
        return Ok(Prepared::Answered(outcome));
    }
    let pm = store::get_payment_method(conn, &challenge.payment_method_id)?.ok_or(AppError::InvalidPaymentMethod)?;
    let payer = InvoicePayer { session_id, account_id: &sub.account_id, pm, answer_to: Some(answer_to) };
    let prepared = pending_invoice(conn, payer, challenge.intent_id, challenge.expected_total, now)?;
    match &prepared {
        Prepared::Charge(pending) if Some(pending.owed.invoice_ids.join(",")) != challenge.invoice_id => {
            Err(AppError::ChallengeNotFound)
        }
        _ => Ok(prepared),
    }
}

/// Who pays the open invoices, with which card, and where the answer is kept.
struct InvoicePayer<'a> {
    session_id: &'a str,
    account_id: &'a str,
    pm: PaymentMethod,
    answer_to: Option<AnswerTo>,
}

/// Every invoice whose charge failed, oldest first, as one charge of their total (at
/// `expected_total`, when the page sent the total it showed).
fn pending_invoice(
    conn: &Conn<'_>,
    payer: InvoicePayer<'_>,
    intent: Option<String>,
    expected_total: Option<Money>,
    now: OffsetDateTime,
) -> Result<Prepared<PendingInvoice>, AppError> {
    let open = store::open_invoices(conn, payer.account_id, false)?;
    if open.is_empty() {
        return Err(AppError::InvalidRequest("There is no unpaid invoice.".into()));
    }
    let owed = Owed::of(&open)?;
    if expected_total.is_some_and(|total| total != owed.amount) {
        return Err(AppError::QuoteChanged);
    }
    let Some(attempt) = store::claim_attempt(conn, payer.account_id, PendingInvoice::PURPOSE, now)? else {
        return Ok(Prepared::Busy);
    };
    let session_id = payer.session_id.to_string();
    Ok(Prepared::Charge(PendingInvoice { attempt, session_id, owed, pm: payer.pm, intent, answer_to: payer.answer_to }))
}

impl PendingCharge for PendingInvoice {
    type Outcome = InvoicePaymentOutcome;
    const PURPOSE: &'static str = "invoice";

    fn attempt_id(&self) -> &str {
        &self.attempt.id
    }

    fn charge(&self) -> Charge {
        // The user is on the page (the bank may ask them: Stripe mode), and the card was
        // verified when it was saved (the test processor asks no more).
        let charge = Charge::new(&self.attempt, &self.pm, self.owed.amount, ChargeKind::Later);
        Charge { authenticated: true, intent: self.intent.clone(), ..charge }
    }

    fn record(
        &self,
        conn: &Conn<'_>,
        charged: &Charged,
        now: OffsetDateTime,
    ) -> Result<InvoicePaymentOutcome, AppError> {
        let (session, mut sub) = open_portal(conn, &self.session_id, now)?;
        let payment = ChargedInvoices { session: &session, owed: &self.owed, pm: &self.pm, charged };
        let outcome = account::record_invoice_payment(conn, &mut sub, &payment, now)?;
        if let Some(answer_to) = &self.answer_to {
            answer_to.keep(conn, &outcome, now)?;
        }
        Ok(outcome)
    }

    fn status(outcome: &InvoicePaymentOutcome) -> &'static str {
        match outcome {
            InvoicePaymentOutcome::Paid { .. } => "succeeded",
            InvoicePaymentOutcome::RequiresAction { .. } => "requires_action",
            InvoicePaymentOutcome::Declined { .. } => "declined",
        }
    }
}

/// After a new card is saved: what a past-due account owes (every open invoice) is paid with it,
/// as a charge of its own; `paid_invoice` says whether it was, and `invoices_paid` how many.
pub async fn then_pay_past_due(
    payments: &Payments,
    session_id: String,
    outcome: PaymentMethodOutcome,
    now: OffsetDateTime,
) -> PaymentMethodOutcome {
    let PaymentMethodOutcome::Updated { card, .. } = outcome else {
        return outcome;
    };
    let card_id = card.id.to_string();
    let paid = payments::charge_once(payments, now, move |tx| {
        let (_, sub) = open_portal(tx, &session_id, now)?;
        if sub.status != SubscriptionStatus::PastDue {
            return Err(AppError::InvalidRequest("There is no unpaid invoice.".into()));
        }
        let pm = store::get_payment_method(tx, &card_id)?.ok_or(AppError::InvalidPaymentMethod)?;
        let payer = InvoicePayer { session_id: &session_id, account_id: &sub.account_id, pm, answer_to: None };
        pending_invoice(tx, payer, None, None, now)
    })
    .await;
    // Not paid (declined, or the bank asks: the banner's Pay now runs the check): still due.
    let (paid_invoice, invoices_paid) = match paid {
        Ok(InvoicePaymentOutcome::Paid { amount, invoices }) => (Some(amount), invoices),
        Ok(InvoicePaymentOutcome::RequiresAction { .. } | InvoicePaymentOutcome::Declined { .. }) | Err(_) => {
            (None, None)
        }
    };
    PaymentMethodOutcome::Updated { card, paid_invoice, invoices_paid }
}
