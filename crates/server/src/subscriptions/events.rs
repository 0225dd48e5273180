//! Events for the IDE's backend (SPEC section 8): an outbox. Each change writes its event, and a
//! delivery row per webhook endpoint, in the transaction that makes the change, so a change
//! without its event (or an event without its change) cannot happen. [`crate::jobs::webhooks`] delivers
//! them after commit; `GET /v1/events` lists them.

use crate::error::AppError;
use crate::ids::new_id;
use crate::store::Conn;
use crate::store::{self, Invoice};
use billing::Money;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    SubscriptionCreated,
    /// A plan change now or scheduled, cancel or resume, overage, a renewal.
    SubscriptionUpdated,
    SubscriptionPastDue,
    SubscriptionCanceled,
    InvoicePaid,
    InvoicePaymentFailed,
    /// A canceled subscription's unpaid invoice: nothing is owed for it any more.
    InvoiceVoided,
    /// Money given back on a paid invoice (its credit note in `refund`).
    InvoiceRefunded,
    /// The buyer disputed the payment with their bank (Stripe mode).
    InvoiceDisputed,
    /// The bank decided the dispute (`won` or `lost`).
    InvoiceDisputeClosed,
    /// 80% or 100% of a period's credits used (once each per period).
    CreditsThresholdReached,
    /// A period's overage reached the user's spending limit.
    CreditsSpendingLimitReached,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SubscriptionCreated => "subscription.created",
            EventType::SubscriptionUpdated => "subscription.updated",
            EventType::SubscriptionPastDue => "subscription.past_due",
            EventType::SubscriptionCanceled => "subscription.canceled",
            EventType::InvoicePaid => "invoice.paid",
            EventType::InvoicePaymentFailed => "invoice.payment_failed",
            EventType::InvoiceVoided => "invoice.voided",
            EventType::InvoiceRefunded => "invoice.refunded",
            EventType::InvoiceDisputed => "invoice.disputed",
            EventType::InvoiceDisputeClosed => "invoice.dispute_closed",
            EventType::CreditsThresholdReached => "credits.threshold_reached",
            EventType::CreditsSpendingLimitReached => "credits.spending_limit_reached",
        }
    }
}

/// The invoice as the server API returns it (`GET /v1/accounts/{id}/invoices`, `invoice.*` events).
pub fn invoice_object(invoice: &Invoice) -> Value {
    json!({
        "id": invoice.id,
        "number": invoice.number,
        "account_id": invoice.account_id,
        "amount": invoice.amount,
        "currency": "usd",
        "status": invoice.status.as_str(),
        "amount_refunded": invoice.after_payment.amount_refunded,
        "refund_status": refund_status(invoice),
        "dispute": invoice.after_payment.dispute,
        "payment_intent": invoice.after_payment.payment_intent,
        "created": invoice.created_at.unix_timestamp(),
        "period": {"start": invoice.period_start.unix_timestamp(), "end": invoice.period_end.unix_timestamp()},
        "lines": invoice.lines,
    })
}

/// `partially_refunded` or `refunded` once money was given back; `null` before.
fn refund_status(invoice: &Invoice) -> Option<&'static str> {
    match invoice.after_payment.amount_refunded {
        refunded if refunded == Money::ZERO => None,
        refunded if refunded >= invoice.amount => Some("refunded"),
        _ => Some("partially_refunded"),
    }
}

/// Records `subscription.*` with the account's subscription as it now is.
pub fn subscription_event(
    conn: &Conn<'_>,
    kind: EventType,
    account_id: &str,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let view = crate::subscriptions::subscription_view(conn, account_id)?;
    let data = serde_json::to_value(view).map_err(|e| AppError::internal_from("an event body", e))?;
    record_event(conn, kind, account_id, data, now)
}

/// Records `invoice.*` with the invoice as it now is.
pub fn invoice_event(conn: &Conn<'_>, kind: EventType, invoice: &Invoice, now: OffsetDateTime) -> Result<(), AppError> {
    record_event(conn, kind, &invoice.account_id, invoice_object(invoice), now)
}

/// Writes the event and one pending delivery per configured endpoint.
pub fn record_event(
    conn: &Conn<'_>,
    kind: EventType,
    account_id: &str,
    data: Value,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let id = new_id("evt");
    let body = json!({"id": id, "type": kind.as_str(), "created": now.unix_timestamp(), "data": data}).to_string();
    store::insert_event(conn, &id, kind.as_str(), account_id, now.unix_timestamp(), &body)?;
    tracing::info!(event = %crate::ids::redact(&id), kind = kind.as_str(), "event recorded");
    Ok(())
}

/// Up to `limit` events after the one with id `after` (from the first without it), oldest first,
/// and whether more follow.
pub fn list(conn: &Conn<'_>, after: Option<&str>, limit: usize) -> Result<(Vec<Value>, bool), AppError> {
    let mut bodies = store::event_bodies_after(conn, after, limit + 1)?
        .ok_or_else(|| AppError::InvalidRequest("`after` is not the id of an event.".into()))?;
    let has_more = bodies.len() > limit;
    bodies.truncate(limit);
    let events = bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<Value>, _>>();
    Ok((events.map_err(|e| AppError::internal_from("an event body", e))?, has_more))
}

/// The meta key of the generated webhook signing secret.
pub const SECRET_KEY: &str = "webhook_secret";

/// The signing secret: the configured one, or the one generated once and kept. It is kept as it
/// is, not hashed: events are signed with it (HMAC). The database file being readable by the
/// server's user only (0600, see [`crate::store::Store::open`]) is what protects it.
pub fn signing_secret(conn: &Conn<'_>, configured: Option<&str>) -> Result<String, AppError> {
    if let Some(secret) = configured {
        return Ok(secret.to_string());
    }
    Ok(store::meta_or_insert(conn, SECRET_KEY, || new_id("whsec"))?)
}
