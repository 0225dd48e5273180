//! Charging a card: the processor, called outside any database transaction, and the attempts
//! that make that safe. A charge is first recorded as the account's one pending attempt (with
//! what recording its result needs), then the processor is called, then the result is recorded
//! (and acted on) in a transaction that checks again that the account may still be charged. Every
//! charge goes this way: checkout, upgrades, card checks, past-due invoices, renewals.
//!
//! An attempt no request owns any more is *orphaned*: the server stopped in the middle, Stripe
//! gave no answer, or the record failed after Stripe charged. In test mode a stop's attempts are
//! settled at start (nothing was charged); in Stripe mode [`crate::reconcile`] finds out from
//! Stripe what happened and records it as the request would have, or refunds a charge that can
//! no longer be granted.

use crate::AppState;
use crate::error::AppError;
use crate::ids::new_id;
use crate::processor::{self, CardBehavior, ChargeKind, ChargeResult};
use crate::store::{self, PaymentMethod};
use crate::stripe::{NewPayment, PaymentIntent, StripeClient};
use billing::Money;
use billing::wire::DeclineCode;
use rusqlite::{Connection, ErrorCode, params};
use std::time::Duration;
use time::OffsetDateTime;

const WAIT_STEP: Duration = Duration::from_millis(50);

/// Who moves the money: the test processor (Stripe's test cards, no network, the default) or
/// Stripe (`--processor stripe`).
#[derive(Debug, Clone)]
pub enum Processor {
    Test,
    /// Stripe mode: each charge a PaymentIntent on the card saved to the account's Customer.
    Stripe(StripeClient),
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
    /// What the processor knows of the charge an orphaned attempt was making (its PaymentIntent
    /// found by our attempt id): `None` when nothing was charged, `Unknown` while it cannot say.
    pub async fn look_up(&self, charge: &Charge, since: OffsetDateTime) -> Option<Charged> {
        if charge.moves_no_money() {
            return Some(ChargeResult::Succeeded.into());
        }
        let Processor::Stripe(client) = self else {
            // The test processor keeps nothing: what was not recorded was not charged.
            return None;
        };
        if charge.intent.is_some() {
            // A 3-D Secure answer only reads the PaymentIntent: read it again.
            return Some(stripe_charge(client, charge).await);
        }
        let customer = charge.payment_method.stripe_customer.as_deref()?;
        // A day's margin: the billing clock (a test clock) may differ from Stripe's.
        let since = since.unix_timestamp() - 86_400;
        match client.find_payment(customer, &charge.attempt_id, since).await {
            Ok(Some(intent)) => Some(from_intent(intent, charge, customer)),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not look the charge up with Stripe");
                Some(ChargeResult::Unknown.into())
            }
        }
    }

    pub async fn charge(&self, charge: &Charge) -> Charged {
        if charge.moves_no_money() {
            // Nothing to charge (an upgrade already paid for this period): nothing to ask.
            return ChargeResult::Succeeded.into();
        }
        match self {
            Processor::Test => {
                let behavior = CardBehavior::parse(&charge.payment_method.behavior);
                processor::charge(behavior, charge.kind, charge.authenticated).into()
            }
            Processor::Stripe(client) => stripe_charge(client, charge).await,
        }
    }
}

/// A charge as a PaymentIntent created and confirmed with our attempt id as its idempotency key,
/// or (a 3-D Secure answer) the check of the one waiting. Stripe's answer is believed only for the
/// amount, currency, Customer and attempt it was made for.
async fn stripe_charge(client: &StripeClient, charge: &Charge) -> Charged {
    let pm = &charge.payment_method;
    let Some(customer) = pm.stripe_customer.as_deref() else {
        tracing::error!("a card without a Stripe Customer in Stripe mode");
        return ChargeResult::Declined(DeclineCode::ProcessingError).into();
    };
    let answer = match &charge.intent {
        Some(intent) => client.payment_intent(intent).await,
        None => {
            let metadata = [("attempt", charge.attempt_id.as_str()), ("account_id", charge.account_id.as_str())];
            let payment = NewPayment {
                amount_cents: charge.amount.cents(),
                currency: CURRENCY,
                customer,
                payment_method: &pm.card.id,
                off_session: charge.off_session,
                metadata: &metadata,
            };
            client.create_payment(&payment, &charge.attempt_id).await
        }
    };
    match answer {
        Ok(intent) => from_intent(intent, charge, customer),
        Err(e) => match e.decline() {
            Some(code) => ChargeResult::Declined(code).into(),
            None => {
                tracing::warn!(error = %e, "Stripe gave no usable answer");
                ChargeResult::Unknown.into()
            }
        },
    }
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
        "requires_action" | "requires_payment_method" if answered => {
            ChargeResult::Declined(DeclineCode::AuthenticationFailed)
        }
        "requires_payment_method" | "canceled" => ChargeResult::Declined(DeclineCode::Generic),
        _ => ChargeResult::Unknown,
    };
    Charged { result, intent: Some(IntentRef { id: intent.id, client_secret: intent.client_secret }) }
}

/// A charge in flight: the account's only one until it is finished.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attempt {
    pub id: String,
    pub account_id: String,
}

/// Records a pending attempt for `account_id`, or `None` while another one is in flight.
pub fn claim(
    conn: &Connection,
    account_id: &str,
    purpose: &str,
    now: OffsetDateTime,
) -> Result<Option<Attempt>, AppError> {
    let id = new_id("att");
    let inserted = conn.execute(
        "INSERT INTO payment_attempts (id, account_id, purpose, status, created_at) VALUES (?1, ?2, ?3, 'pending', ?4)",
        params![id, account_id, purpose, store::ts(now)],
    );
    match inserted {
        Ok(_) => Ok(Some(Attempt { id, account_id: account_id.to_string() })),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Records how an attempt ended (`succeeded`, `requires_action`, `declined`, `failed`,
/// `refunded`, `abandoned`); false when it had ended already.
pub fn finish(conn: &Connection, attempt_id: &str, result: &str, now: OffsetDateTime) -> Result<bool, AppError> {
    let finished = conn.execute(
        "UPDATE payment_attempts SET status = ?2, finished_at = ?3 WHERE id = ?1 AND status = 'pending'",
        params![attempt_id, result, store::ts(now)],
    )?;
    Ok(finished == 1)
}

/// Keeps with the attempt what recording its result needs.
fn keep_pending<P: PendingCharge>(conn: &Connection, pending: &P) -> Result<(), AppError> {
    let json = serde_json::to_string(pending).map_err(|e| AppError::Internal(format!("pending charge: {e}")))?;
    conn.execute("UPDATE payment_attempts SET pending = ?2 WHERE id = ?1", params![pending.attempt_id(), json])?;
    Ok(())
}

/// Leaves a pending attempt to [`crate::reconcile`]: no request waits for it any more.
pub fn orphan(conn: &Connection, attempt_id: &str) -> Result<(), AppError> {
    conn.execute("UPDATE payment_attempts SET orphaned = 1 WHERE id = ?1 AND status = 'pending'", [attempt_id])?;
    Ok(())
}

/// At start in Stripe mode: every attempt a stop left pending is orphaned.
pub fn orphan_all_pending(conn: &Connection) -> Result<usize, AppError> {
    let orphaned = conn.execute("UPDATE payment_attempts SET orphaned = 1 WHERE status = 'pending'", [])?;
    if orphaned > 0 {
        tracing::warn!(orphaned, "payment attempts left pending by a stop, to be settled with Stripe");
    }
    Ok(orphaned)
}

/// An orphaned attempt, as [`crate::reconcile`] settles it.
#[derive(Debug, Clone)]
pub struct Orphan {
    pub id: String,
    pub purpose: String,
    pub pending: Option<String>,
    /// The instant of the request that made it: its result is recorded as of then.
    pub created_at: OffsetDateTime,
}

pub fn orphans(conn: &Connection) -> Result<Vec<Orphan>, AppError> {
    let mut stmt = conn.prepare(
        "SELECT id, purpose, pending, created_at FROM payment_attempts WHERE status = 'pending' AND orphaned = 1
         ORDER BY created_at, rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Orphan { id: r.get(0)?, purpose: r.get(1)?, pending: r.get(2)?, created_at: store::from_ts(r.get(3)?) })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// At start: attempts a stopped server left pending. The test processor keeps no state, so
/// nothing was charged that is not recorded: they end as `abandoned` and free their accounts.
pub fn settle_abandoned(conn: &Connection, now: OffsetDateTime) -> Result<usize, AppError> {
    let settled = conn.execute(
        "UPDATE payment_attempts SET status = 'abandoned', finished_at = ?1 WHERE status = 'pending'",
        params![store::ts(now)],
    )?;
    if settled > 0 {
        tracing::warn!(settled, "settled payment attempts left pending by a stop");
    }
    Ok(settled)
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
    /// What the attempt is for, as recorded with it (and how [`crate::reconcile`] reads it back).
    const PURPOSE: &'static str;
    fn attempt_id(&self) -> &str;
    fn charge(&self) -> Charge;
    /// Acts on the result in the transaction that records it; checks again that the charge may
    /// stand (eligibility, the quoted amount).
    fn record(&self, conn: &Connection, charged: &Charged, now: OffsetDateTime) -> Result<Self::Outcome, AppError>;
    /// The attempt's final status for this outcome.
    fn status(outcome: &Self::Outcome) -> &'static str;
}

/// Runs `prepare` in a write transaction until no other charge of the account is in flight, for
/// at most `config.charge_wait` (then `payment_in_progress`); then charges and records (at `now`,
/// the request's instant) in a task of its own, so a client that goes away (or a request timeout)
/// cannot leave a charge unrecorded.
pub async fn charge_once<P, F>(state: &AppState, now: OffsetDateTime, prepare: F) -> Result<P::Outcome, AppError>
where
    P: PendingCharge + std::fmt::Debug,
    F: Fn(&Connection) -> Result<Prepared<P>, AppError> + Clone + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + state.config.charge_wait;
    loop {
        let prepare = prepare.clone();
        let prepared = state
            .store
            .write(move |tx| {
                let prepared = prepare(tx)?;
                if let Prepared::Charge(pending) = &prepared {
                    keep_pending(tx, pending)?;
                }
                Ok(prepared)
            })
            .await?;
        match prepared {
            Prepared::Answered(answer) => return Ok(answer),
            Prepared::Charge(pending) => {
                // Recorded at the request's instant: the amount checked again is the one quoted.
                let task = tokio::spawn(charge_and_record(state.clone(), pending, now));
                return task.await.unwrap_or_else(|e| Err(AppError::Internal(format!("charge task: {e}"))));
            }
            Prepared::Busy if tokio::time::Instant::now() >= deadline => return Err(AppError::PaymentInProgress),
            Prepared::Busy => tokio::time::sleep(WAIT_STEP).await,
        }
    }
}

/// The charge, outside any transaction, then its record.
async fn charge_and_record<P: PendingCharge>(
    state: AppState,
    pending: P,
    now: OffsetDateTime,
) -> Result<P::Outcome, AppError> {
    let charged = state.processor.charge(&pending.charge()).await;
    if charged.result == ChargeResult::Unknown {
        // Not known whether it charged: nothing is recorded; the account waits until Stripe says.
        let attempt_id = pending.attempt_id().to_string();
        state.store.write(move |tx| orphan(tx, &attempt_id)).await?;
        return Err(AppError::ProcessorUnavailable);
    }
    record_result(&state, pending, charged, now).await
}

/// Records a charge's result (at `now`, the request's instant) and finishes its attempt. When the
/// record fails: money Stripe took is refunded if the checks made again refuse it, or left to
/// [`crate::reconcile`] if the database failed; otherwise the attempt is finished as `failed`, so
/// the account is not left waiting.
pub async fn record_result<P: PendingCharge>(
    state: &AppState,
    pending: P,
    charged: Charged,
    now: OffsetDateTime,
) -> Result<P::Outcome, AppError> {
    let attempt_id = pending.attempt_id().to_string();
    let taken = charged.intent.clone().filter(|_| charged.result == ChargeResult::Succeeded);
    let recorded = state
        .store
        .write(move |tx| {
            if !finish(tx, pending.attempt_id(), "recording", now)? {
                return Err(AppError::Internal("this attempt was settled already".into()));
            }
            let outcome = pending.record(tx, &charged, now)?;
            let intent = charged.intent.as_ref().map(|i| i.id.as_str());
            tx.execute(
                "UPDATE payment_attempts SET status = ?2, intent_id = ?3 WHERE id = ?1",
                params![pending.attempt_id(), P::status(&outcome), intent],
            )?;
            Ok(outcome)
        })
        .await;
    let Err(error) = &recorded else {
        return recorded;
    };
    let ending = match (&taken, &state.processor) {
        (Some(_), Processor::Stripe(_)) if matches!(error, AppError::Internal(_)) => None,
        (Some(intent), Processor::Stripe(client)) => Some(refund(client, &intent.id, &attempt_id).await),
        _ => Some("failed"),
    };
    let id = attempt_id.clone();
    match ending {
        Some(status) => state.store.write(move |tx| finish(tx, &id, status, now).map(|_| ())).await?,
        None => state.store.write(move |tx| orphan(tx, &id)).await?,
    }
    tracing::warn!(attempt = %attempt_id, error = %error, "a charge's result was not recorded");
    recorded
}

/// Gives back a charge that can no longer be granted (the checks made again refused it); the
/// attempt's status says whether it was.
async fn refund(client: &StripeClient, intent: &str, attempt_id: &str) -> &'static str {
    match client.refund(intent, &format!("refund-{attempt_id}")).await {
        Ok(_) => "refunded",
        Err(e) => {
            tracing::error!(%intent, error = %e, "a charge that was not granted could not be refunded: refund it by hand");
            "refund_failed"
        }
    }
}
