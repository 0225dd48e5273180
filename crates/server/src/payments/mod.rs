//! Charging a card: the processor, called outside any database transaction, and the attempts
//! that make that safe. A charge is first recorded as the account's one pending attempt (with
//! what recording its result needs), then the processor is called, then the result is recorded
//! (and acted on) in a transaction that checks again that the account may still be charged. Every
//! charge goes this way: checkout, upgrades, card checks, past-due invoices, renewals.
//!
//! In Stripe mode money moves only on a PaymentIntent whose id is recorded first: it is created
//! unconfirmed, its id kept with the attempt, then confirmed. A PaymentIntent someone stopped
//! waiting for (a 3-D Secure answer, an orphan) is cancelled before a decline is recorded, so it
//! can never be paid later.
//!
//! A pending attempt belongs to the process holding its lease, renewed while it works. One whose
//! lease ran out is *orphaned* (the process stopped, Stripe gave no answer, or the record failed
//! after Stripe charged): [`reconcile`], on any instance, finds out from Stripe what
//! happened by the PaymentIntent's id and records it as the request would have, or refunds a
//! charge that can no longer be granted. In test mode nothing unrecorded was charged: orphans are
//! abandoned.

use crate::Store;
use crate::error::AppError;
use crate::store::Conn;
use crate::store::{self, Orphan, PaymentMethod};
use billing::Money;
use billing::wire::DeclineCode;
use std::time::Duration;
use stripe::{NewPayment, PaymentIntent, StripeClient, StripeError};
use test_cards::{CardBehavior, ChargeKind, ChargeResult, TokenizedCard};
use time::OffsetDateTime;

pub mod answers;
pub mod limits;
pub mod reconcile;
pub mod refunds;
pub mod stripe;
pub mod stripe_setup;
pub mod stripe_webhooks;
pub mod test_cards;

pub use store::{Attempt, LATE_PAYMENT};

const WAIT_STEP: Duration = Duration::from_millis(50);

/// Who moves the money: the test processor (Stripe's test cards, no network, the default) or
/// Stripe (`--processor stripe`).
#[derive(Debug, Clone)]
pub enum Processor {
    Test,
    /// Stripe mode: each charge a PaymentIntent on the card saved to the account's Customer.
    Stripe(StripeClient),
}

/// What charging needs: the store, who moves the money, and how long a charge waits for another
/// one of its account and holds its attempt.
#[derive(Clone)]
pub struct Payments {
    pub store: Store,
    pub processor: Processor,
    /// How long a charge waits while another charge of the account is in flight.
    pub charge_wait: Duration,
    /// How long a pending attempt stays this process's without a renewal.
    pub attempt_lease: Duration,
    /// Where each charge's outcome is counted.
    pub metrics: crate::metrics::Metrics,
}

impl Payments {
    /// The test processor's tokenize step for `card` at `now`; in Stripe mode card numbers never
    /// come here (the page gives them to Stripe.js), and the routes that take them are not found.
    pub fn tokenize(&self, card: &billing::wire::TokenizeCard, now: OffsetDateTime) -> Result<TokenizedCard, AppError> {
        if !matches!(self.processor, Processor::Test) {
            return Err(AppError::NotFound);
        }
        test_cards::tokenize(card, test_cards::year_month(now)).map_err(AppError::InvalidCard)
    }

    /// The Stripe client: in test mode there is no Stripe, and its routes are not found.
    pub fn stripe_client(&self) -> Result<StripeClient, AppError> {
        match &self.processor {
            Processor::Stripe(client) => Ok(client.clone()),
            Processor::Test => Err(AppError::NotFound),
        }
    }
}

/// A decline with our message for its code.
pub fn decline(code: DeclineCode) -> billing::wire::Decline {
    billing::wire::Decline { code, message: code.message().into(), plan_unchanged: false }
}

/// One charge, as the processor needs it.
#[derive(Debug, Clone)]
pub struct Charge {
    pub attempt_id: String,
    pub account_id: String,
    pub amount: Money,
    pub payment_method: PaymentMethod,
    pub kind: ChargeKind,
    /// True once the bank's check (3-D Secure) was completed.
    pub authenticated: bool,
    /// A check of a new card (nothing is charged; the bank may still ask for 3-D Secure).
    pub check_only: bool,
    /// True when the user is not paying on the page (renewals, changes with the card on file).
    pub off_session: bool,
    /// Stripe mode, a 3-D Secure answer: the PaymentIntent to check instead of a new charge.
    pub intent: Option<String>,
}

/// A PaymentIntent a charge made (Stripe mode), kept with a 3-D Secure challenge so the answer
/// is checked against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRef {
    pub id: String,
    pub client_secret: Option<String>,
}

/// What the processor answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charged {
    pub result: ChargeResult,
    pub intent: Option<IntentRef>,
}

impl From<ChargeResult> for Charged {
    fn from(result: ChargeResult) -> Charged {
        Charged { result, intent: None }
    }
}

impl Charge {
    /// Nothing to charge (an upgrade already paid for this period): nothing to ask.
    fn moves_no_money(&self) -> bool {
        self.amount == Money::ZERO && !self.check_only
    }

    /// `amount` to `pm` for `attempt`, the user on the page, no 3-D Secure done yet.
    pub fn new(attempt: &Attempt, pm: &PaymentMethod, amount: Money, kind: ChargeKind) -> Charge {
        Charge {
            attempt_id: attempt.id.clone(),
            account_id: attempt.account_id.clone(),
            amount,
            payment_method: pm.clone(),
            kind,
            authenticated: false,
            check_only: false,
            off_session: false,
            intent: None,
        }
    }
}

impl Processor {
    /// What the processor knows of the charge an orphaned attempt was making: `None` when
    /// nothing was charged (and nothing can be any more), `Unknown` while it cannot say. In
    /// Stripe mode money moves only on a PaymentIntent whose id was recorded first: without one,
    /// nothing was confirmed (attempts of the version before are looked up by our attempt id);
    /// with one, a PaymentIntent still open is cancelled first, so a confirm that lands late
    /// cannot charge it.
    pub async fn look_up(&self, charge: &Charge, orphan: &Orphan) -> Option<Charged> {
        if charge.moves_no_money() {
            return Some(ChargeResult::Succeeded.into());
        }
        let Processor::Stripe(client) = self else {
            // The test processor keeps nothing: what was not recorded was not charged.
            return None;
        };
        if let Some(intent) = &charge.intent {
            // A 3-D Secure answer: the PaymentIntent that waited for it decides.
            return Some(settle_intent(client, charge, intent).await);
        }
        let customer = charge.payment_method.stripe_customer.as_deref()?;
        let found = match (&orphan.intent_id, orphan.legacy) {
            (Some(intent), _) => client.payment_intent(intent).await.map(Some),
            // An attempt of the version that recorded no id before confirming: found by our
            // attempt id (a day's margin: the billing clock may differ from Stripe's).
            (None, true) => {
                let since = orphan.created_at.unix_timestamp() - 86_400;
                client.find_payment(customer, &charge.attempt_id, since).await
            }
            (None, false) => return None,
        };
        let found = match found {
            Ok(found) => found?,
            Err(e) => {
                tracing::warn!(error = %e, "could not look the charge up with Stripe");
                return Some(ChargeResult::Unknown.into());
            }
        };
        match found.status.as_str() {
            "succeeded" | "requires_action" | "processing" => Some(from_intent(found, charge, customer)),
            "canceled" => None,
            // Never confirmed, or declined: cancelled, so nothing can charge it later.
            _ => match cancel_or_succeeded(client, &found.id).await {
                Some(found) if found.status == "canceled" => None,
                Some(found) => Some(from_intent(found, charge, customer)),
                None => Some(ChargeResult::Unknown.into()),
            },
        }
    }
}

/// Charges `charge` (outside any transaction): the test processor at once; in Stripe mode a
/// PaymentIntent created unconfirmed, its id recorded with the attempt, then confirmed (or, for a
/// 3-D Secure answer, the PaymentIntent that waited, settled). `Err`: nothing was charged.
async fn pay(payments: &Payments, charge: &Charge) -> Result<Charged, AppError> {
    if charge.moves_no_money() {
        // Nothing to charge (an upgrade already paid for this period): nothing to ask.
        return Ok(ChargeResult::Succeeded.into());
    }
    match &payments.processor {
        Processor::Test => {
            let behavior = CardBehavior::parse(&charge.payment_method.behavior);
            Ok(test_cards::charge(behavior, charge.kind, charge.authenticated).into())
        }
        Processor::Stripe(client) => match &charge.intent {
            Some(intent) => Ok(settle_intent(client, charge, intent).await),
            None => stripe_pay(payments, client, charge).await,
        },
    }
}

/// A new charge in Stripe mode: create (no money moves), record the PaymentIntent's id, confirm.
/// Stripe's answer is believed only for the amount, currency, Customer and account it was made for.
async fn stripe_pay(payments: &Payments, client: &StripeClient, charge: &Charge) -> Result<Charged, AppError> {
    let Some(customer) = charge.payment_method.stripe_customer.as_deref() else {
        tracing::error!("a card without a Stripe Customer in Stripe mode");
        return Ok(ChargeResult::Declined(DeclineCode::ProcessingError).into());
    };
    let metadata = [("attempt", charge.attempt_id.as_str()), ("account_id", charge.account_id.as_str())];
    let payment = NewPayment {
        amount_cents: charge.amount.cents(),
        currency: CURRENCY,
        customer,
        payment_method: &charge.payment_method.card.id,
        metadata: &metadata,
    };
    let created = match client.create_payment(&payment, &format!("create-{}", charge.attempt_id)).await {
        Ok(created) => created,
        Err(e) => {
            tracing::warn!(error = %e, "Stripe did not create the PaymentIntent; nothing was charged");
            return Err(AppError::ProcessorUnavailable);
        }
    };
    let (attempt_id, intent_id) = (charge.attempt_id.clone(), created.id.clone());
    payments.store.write(move |tx| store::keep_intent(tx, &attempt_id, &intent_id)).await?;
    match client.confirm_payment(&created.id, charge.off_session, &format!("confirm-{}", charge.attempt_id)).await {
        Ok(confirmed) => Ok(from_intent(confirmed, charge, customer)),
        Err(e) => Ok(match e.decline() {
            Some(code) => Charged { result: ChargeResult::Declined(code), intent: Some(intent_ref(&created)) },
            None => {
                tracing::warn!(error = %e, "Stripe gave no usable answer to a confirm");
                ChargeResult::Unknown.into()
            }
        }),
    }
}

/// The PaymentIntent a 3-D Secure challenge waited on, settled: paid is paid; anything short of
/// that (the check not done, failed, or a page that stopped waiting) is cancelled at Stripe
/// first, so it can never be paid after we recorded a decline. A cancel Stripe refuses because
/// the bank's check finished meanwhile is the payment it now is.
async fn settle_intent(client: &StripeClient, charge: &Charge, intent: &str) -> Charged {
    let Some(customer) = charge.payment_method.stripe_customer.as_deref() else {
        return ChargeResult::Declined(DeclineCode::ProcessingError).into();
    };
    match settle_waiting(client, intent).await {
        Some(settled) => from_intent(settled, charge, customer),
        None => ChargeResult::Unknown.into(),
    }
}

/// A PaymentIntent someone waited on, brought to an end: as it is when paid, processing or
/// cancelled; otherwise cancelled now (or, when the cancel is refused because it was paid
/// meanwhile, as it is then). `None` when Stripe cannot say.
pub async fn settle_waiting(client: &StripeClient, intent: &str) -> Option<PaymentIntent> {
    match client.payment_intent(intent).await {
        Ok(found) if matches!(found.status.as_str(), "succeeded" | "processing" | "canceled") => Some(found),
        Ok(_) => cancel_or_succeeded(client, intent).await,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the PaymentIntent from Stripe");
            None
        }
    }
}

/// Cancels `intent`; when Stripe refuses (it succeeded or is processing meanwhile), the intent as
/// it is now. `None` when Stripe cannot say.
async fn cancel_or_succeeded(client: &StripeClient, intent: &str) -> Option<PaymentIntent> {
    match client.cancel_payment(intent, &format!("cancel-{intent}")).await {
        Ok(canceled) => {
            tracing::info!(%intent, status = %canceled.status, "cancelled a PaymentIntent we stopped waiting for");
            Some(canceled)
        }
        Err(StripeError::Api { status: 400..=499, .. }) => client.payment_intent(intent).await.ok(),
        Err(e) => {
            tracing::warn!(%intent, error = %e, "could not cancel a PaymentIntent");
            None
        }
    }
}

fn intent_ref(intent: &PaymentIntent) -> IntentRef {
    IntentRef { id: intent.id.clone(), client_secret: intent.client_secret.clone() }
}

/// The stored currency of every price.
const CURRENCY: &str = "usd";

fn from_intent(intent: PaymentIntent, charge: &Charge, customer: &str) -> Charged {
    let ours = intent.amount == charge.amount.cents()
        && intent.currency == CURRENCY
        && intent.customer.as_deref() == Some(customer)
        && intent.metadata.get("account_id").map(String::as_str) == Some(charge.account_id.as_str());
    if !ours {
        tracing::error!(intent = %intent.id, "a PaymentIntent that is not the one this charge made");
        return ChargeResult::Declined(DeclineCode::ProcessingError).into();
    }
    let answered = charge.intent.is_some();
    let result = match intent.status.as_str() {
        "succeeded" => ChargeResult::Succeeded,
        "requires_action" if !answered => ChargeResult::RequiresAuthentication,
        "requires_action" | "requires_payment_method" | "canceled" if answered => {
            ChargeResult::Declined(DeclineCode::AuthenticationFailed)
        }
        "requires_payment_method" | "canceled" => ChargeResult::Declined(DeclineCode::Generic),
        _ => ChargeResult::Unknown,
    };
    Charged { result, intent: Some(intent_ref(&intent)) }
}

/// Keeps with the attempt what recording its result needs, and gives it a lease of `lease`.
fn keep_pending<P: PendingCharge>(conn: &Conn<'_>, pending: &P, lease: Duration) -> Result<(), AppError> {
    let json = serde_json::to_string(pending).map_err(|e| AppError::internal_from("pending charge", e))?;
    let intent = pending.charge().intent;
    let kept = store::keep_pending_charge(conn, pending.attempt_id(), &json, intent.as_deref(), lease)?;
    if kept { Ok(()) } else { Err(AppError::PaymentRefunded) }
}

/// What the first step of a charging request found.
#[derive(Debug)]
pub enum Prepared<P: PendingCharge> {
    /// Nothing to charge: the answer (a replay, a failed 3-D Secure check, a downgrade).
    Answered(P::Outcome),
    /// Charge this, then record it.
    Charge(P),
    /// Another charge of the account is in flight.
    Busy,
}

/// A charge recorded as pending: what to charge, and how to record the result. Kept with its
/// attempt (JSON) until the result is recorded.
pub trait PendingCharge: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {
    type Outcome: Send + 'static;
    /// What the attempt is for, as recorded with it (and how [`reconcile`] reads it back).
    const PURPOSE: &'static str;
    /// Whether a charge the bank wants to check waits for the user to do it (a challenge on the
    /// page), or is given up at once because nobody is there (renewals): its PaymentIntent is
    /// then cancelled before the failure is recorded.
    const WAITS_FOR_BANK_CHECK: bool = true;
    fn attempt_id(&self) -> &str;
    fn charge(&self) -> Charge;
    /// Acts on the result in the transaction that records it; checks again that the charge may
    /// stand (eligibility, the quoted amount).
    fn record(&self, conn: &Conn<'_>, charged: &Charged, now: OffsetDateTime) -> Result<Self::Outcome, AppError>;
    /// The attempt's final status for this outcome.
    fn status(outcome: &Self::Outcome) -> &'static str;
}

/// Runs `prepare` in a write transaction until no other charge of the account is in flight, for
/// at most `config.charge_wait` (then `payment_in_progress`); then charges and records (at `now`,
/// the request's instant) in a task of its own, so a client that goes away (or a request timeout)
/// cannot leave a charge unrecorded.
pub async fn charge_once<P, F>(payments: &Payments, now: OffsetDateTime, prepare: F) -> Result<P::Outcome, AppError>
where
    P: PendingCharge + std::fmt::Debug,
    F: Fn(&Conn<'_>) -> Result<Prepared<P>, AppError> + Clone + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + payments.charge_wait;
    loop {
        let (prepare, lease) = (prepare.clone(), payments.attempt_lease);
        let prepared = payments
            .store
            .write(move |tx| {
                let prepared = prepare(tx)?;
                if let Prepared::Charge(pending) = &prepared {
                    keep_pending(tx, pending, lease)?;
                }
                Ok::<_, AppError>(prepared)
            })
            .await?;
        match prepared {
            Prepared::Answered(answer) => return Ok(answer),
            Prepared::Charge(pending) => {
                // Recorded at the request's instant: the amount checked again is the one quoted.
                let task = tokio::spawn(charge_and_record(payments.clone(), pending, now));
                return task.await.unwrap_or_else(|e| Err(AppError::internal_from("charge task", e)));
            }
            Prepared::Busy if tokio::time::Instant::now() >= deadline => return Err(AppError::PaymentInProgress),
            Prepared::Busy => tokio::time::sleep(WAIT_STEP).await,
        }
    }
}

/// The charge, outside any transaction (the attempt's lease renewed meanwhile), then its record.
async fn charge_and_record<P: PendingCharge>(
    payments: Payments,
    pending: P,
    now: OffsetDateTime,
) -> Result<P::Outcome, AppError> {
    let attempt_id = pending.attempt_id().to_string();
    let charged = match holding_lease(&payments, &attempt_id, pay(&payments, &pending.charge())).await {
        Ok(charged) => charged,
        Err(error) => {
            // Nothing was charged: the account may pay again at once.
            payments.metrics.record_payment(P::PURPOSE, "failed");
            settle_unrecorded(&payments, attempt_id, Some("failed"), now, &error).await?;
            return Err(error);
        }
    };
    // The lease is held until the result is recorded (or the money refunded).
    holding_lease(&payments, &attempt_id, record_result(&payments, pending, charged, now)).await
}

/// A charge the bank wants to check, when nobody waits to do it (renewals): its PaymentIntent is
/// cancelled before the failure is recorded (or, paid meanwhile, recorded as paid).
async fn unless_nobody_waits<P: PendingCharge>(payments: &Payments, charge: Charge, charged: Charged) -> Charged {
    match (&payments.processor, &charged.intent) {
        (Processor::Stripe(client), Some(intent))
            if !P::WAITS_FOR_BANK_CHECK && charged.result == ChargeResult::RequiresAuthentication =>
        {
            let given_up = Charge { intent: Some(intent.id.clone()), ..charge };
            settle_intent(client, &given_up, &intent.id).await
        }
        _ => charged,
    }
}

/// Runs `work` while renewing this process's lease on `attempt_id` (every third of the lease), so
/// no other instance takes a live attempt for an orphan; a process that dies stops renewing.
pub async fn holding_lease<T>(payments: &Payments, attempt_id: &str, work: impl std::future::Future<Output = T>) -> T {
    renewing(payments, attempt_id, store::renew_lease, work).await
}

/// Runs `work` while `renew` extends the lease on row `id` every third of the lease.
pub(crate) async fn renewing<T>(
    payments: &Payments,
    id: &str,
    renew: fn(&Conn<'_>, &str, Duration) -> store::DbResult<()>,
    work: impl std::future::Future<Output = T>,
) -> T {
    let lease = payments.attempt_lease;
    let period = (lease / 3).max(Duration::from_millis(10));
    let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = renewals.tick() => {
                let id = id.to_string();
                if let Err(e) = payments.store.write(move |tx| renew(tx, &id, lease)).await {
                    tracing::warn!(error = %e, "could not renew a lease");
                }
            }
        }
    }
}

/// Records a charge's result (at `now`, the request's instant) and finishes its attempt; a result
/// Stripe cannot give yet leaves the attempt to [`reconcile`]. When the record fails: money Stripe took is refunded if the checks made again refuse it, or left to
/// [`reconcile`] if the database failed; otherwise the attempt is finished as `failed`, so
/// the account is not left waiting.
pub async fn record_result<P: PendingCharge>(
    payments: &Payments,
    pending: P,
    charged: Charged,
    now: OffsetDateTime,
) -> Result<P::Outcome, AppError> {
    let charged = unless_nobody_waits::<P>(payments, pending.charge(), charged).await;
    if charged.result == ChargeResult::Unknown {
        // Not known whether it charged: nothing is recorded; the account waits until Stripe says.
        let attempt_id = pending.attempt_id().to_string();
        payments.metrics.record_payment(P::PURPOSE, "unknown");
        payments.store.write(move |tx| store::orphan_attempt(tx, &attempt_id)).await?;
        return Err(AppError::ProcessorUnavailable);
    }
    let attempt_id = pending.attempt_id().to_string();
    let account_id = pending.charge().account_id;
    let taken = charged.intent.clone().filter(|_| charged.result == ChargeResult::Succeeded);
    let recorded = payments
        .store
        .write(move |tx| {
            if !store::finish_attempt(tx, pending.attempt_id(), "recording", now)? {
                return Err(AppError::internal("this attempt was settled already"));
            }
            let paid_before = paying_intent(&charged).map(|_| store::paid_invoice_ids(tx, &account_id)).transpose()?;
            let outcome = pending.record(tx, &charged, now)?;
            let intent = charged.intent.as_ref().map(|i| i.id.as_str());
            if let (Some(before), Some(intent)) = (paid_before, paying_intent(&charged)) {
                link_paid_invoices(tx, &account_id, &before, intent)?;
            }
            store::set_attempt_outcome(tx, pending.attempt_id(), P::status(&outcome), intent)?;
            Ok(outcome)
        })
        .await;
    let error = match &recorded {
        Ok(outcome) => {
            payments.metrics.record_payment(P::PURPOSE, P::status(outcome));
            return recorded;
        }
        Err(error) => error,
    };
    let ending = match (&taken, &payments.processor) {
        // Not recorded for a reason of ours (a failure, the database away, which may even have
        // committed it): reconciliation settles it with Stripe. Only a refusal is refunded.
        (Some(_), Processor::Stripe(_)) if matches!(error, AppError::Internal(_) | AppError::DatabaseUnavailable) => {
            None
        }
        (Some(intent), Processor::Stripe(client)) => Some(refund(client, &intent.id).await),
        _ => Some("failed"),
    };
    payments.metrics.record_payment(P::PURPOSE, ending.unwrap_or("left_to_reconcile"));
    tracing::warn!(attempt = %attempt_id, error = %error, "a charge's result was not recorded");
    settle_unrecorded(payments, attempt_id, ending, now, error).await?;
    match (recorded, ending) {
        // Stripe took money the record could not grant for a reason of ours: reconciliation
        // grants or refunds it. Not "nothing was charged": the buyer is told it is not known yet.
        (Err(AppError::Internal(_) | AppError::DatabaseUnavailable), None) => Err(AppError::ProcessorUnavailable),
        (recorded, _) => recorded,
    }
}

/// The PaymentIntent a charge that succeeded was paid with (Stripe mode).
fn paying_intent(charged: &Charged) -> Option<&str> {
    charged.intent.as_ref().filter(|_| charged.result == ChargeResult::Succeeded).map(|i| i.id.as_str())
}

/// Keeps `intent` with the invoices a charge's record just paid (those paid now and not `before`),
/// so a refund of one gives back through the PaymentIntent that paid it.
fn link_paid_invoices(conn: &Conn<'_>, account_id: &str, before: &[String], intent: &str) -> Result<(), AppError> {
    for id in store::paid_invoice_ids(conn, account_id)? {
        if !before.contains(&id) {
            store::set_payment_intent(conn, &id, intent)?;
        }
    }
    Ok(())
}

/// Ends an attempt whose result was not recorded as `ending` (`None`: left to [`reconcile`] at
/// once). When the database is what failed (the record, or this write), the request is answered
/// now and the ending is written in the background, tried again until the attempt's lease would
/// run out (then [`reconcile`] settles it): the account does not wait out a lease once the
/// database is back.
async fn settle_unrecorded(
    payments: &Payments,
    attempt_id: String,
    ending: Option<&'static str>,
    now: OffsetDateTime,
    error: &AppError,
) -> Result<(), AppError> {
    let write = move |store: Store| {
        let id = attempt_id.clone();
        async move {
            match ending {
                Some(status) => store.write(move |tx| store::finish_attempt(tx, &id, status, now).map(drop)).await,
                None => store.write(move |tx| store::orphan_attempt(tx, &id)).await,
            }
        }
    };
    // The database is what failed (for the record, or now for this write): tried again meanwhile.
    if !matches!(error, AppError::DatabaseUnavailable) {
        match write(payments.store.clone()).await {
            Err(e) if e.is_unreachable() => {}
            done => return Ok(done?),
        }
    }
    let (store, lease) = (payments.store.clone(), payments.attempt_lease);
    tokio::spawn(async move {
        let until = tokio::time::Instant::now() + lease;
        while let Err(e) = write(store.clone()).await {
            if tokio::time::Instant::now() + RETRY_SETTLE >= until {
                tracing::warn!(error = %e, "an unrecorded attempt is left to reconciliation");
                return;
            }
            tokio::time::sleep(RETRY_SETTLE).await;
        }
    });
    Ok(())
}

/// How often ending an unrecorded attempt is tried again while the database is away.
const RETRY_SETTLE: Duration = Duration::from_secs(1);

/// Gives back a charge that can no longer be granted (the checks made again refused it); the
/// attempt's status says whether it was.
pub async fn refund(client: &StripeClient, intent: &str) -> &'static str {
    // One key per PaymentIntent, whoever refunds it: it is given back once.
    match client.refund(intent, &format!("refund-{intent}")).await {
        Ok(_) => "refunded",
        Err(e) => {
            tracing::error!(%intent, error = %e, "a charge that was not granted could not be refunded: refund it by hand");
            "refund_failed"
        }
    }
}
