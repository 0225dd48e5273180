//! The `invoices` table.

use super::{Conn, DbError, DbResult, OptionalExtension, params};
use super::{from_ts, named, ts};
use billing::Money;
use billing::wire::InvoiceStatus;
use time::OffsetDateTime;

// --- invoices ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    pub account_id: String,
    pub created_at: OffsetDateTime,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub lines: Vec<billing::proration::LineItem>,
    pub amount: Money,
    pub status: InvoiceStatus,
    pub payment_method_id: Option<String>,
    /// What happened to the money once paid: refunds, the PaymentIntent, a dispute.
    pub after_payment: AfterPayment,
}

/// An invoice's money once paid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AfterPayment {
    /// Given back by refunds that succeeded.
    pub amount_refunded: Money,
    /// Held by refunds in flight.
    pub refund_pending: Money,
    /// The PaymentIntent that paid it (Stripe mode).
    pub payment_intent: Option<String>,
    /// Stripe's dispute status, once the buyer disputed the payment.
    pub dispute: Option<String>,
}

impl Invoice {
    /// What a refund may still give back.
    pub fn refundable(&self) -> Money {
        let held = self.after_payment.amount_refunded.cents() + self.after_payment.refund_pending.cents();
        match self.status {
            InvoiceStatus::Paid => Money::from_cents((self.amount.cents() - held).max(0)),
            _ => Money::ZERO,
        }
    }
}

/// Writes an invoice with the next number (`KIRO-000001`, ...), taken in the same transaction, so
/// numbers have no gaps and no two instances give one twice.
pub fn insert_invoice(conn: &Conn<'_>, mut invoice: Invoice) -> DbResult<Invoice> {
    let number: i64 = conn.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = 'invoice_number' RETURNING value",
        (),
        |r| r.get(0),
    )?;
    invoice.number = format!("KIRO-{number:06}");
    let lines = serde_json::to_string(&invoice.lines).map_err(|e| DbError::broken(format!("invoice lines: {e}")))?;
    conn.execute(
        "INSERT INTO invoices (id, number, account_id, created_at, period_start, period_end, lines, amount, status, payment_method_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            invoice.id,
            invoice.number,
            invoice.account_id,
            ts(invoice.created_at),
            ts(invoice.period_start),
            ts(invoice.period_end),
            lines,
            invoice.amount.cents(),
            invoice.status.as_str(),
            invoice.payment_method_id
        ],
    )?;
    Ok(invoice)
}

pub fn get_invoice(conn: &Conn<'_>, id: &str) -> DbResult<Option<Invoice>> {
    let row = conn
        .query_row(
            "SELECT id, number, account_id, created_at, period_start, period_end, lines, amount, status, payment_method_id,
                    amount_refunded, refund_pending, payment_intent, dispute
             FROM invoices WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    Invoice {
                        id: r.get(0)?,
                        number: r.get(1)?,
                        account_id: r.get(2)?,
                        created_at: from_ts(r.get(3)?),
                        period_start: from_ts(r.get(4)?),
                        period_end: from_ts(r.get(5)?),
                        lines: Vec::new(),
                        amount: Money::from_cents(r.get(7)?),
                        status: named(r.get(8)?)?,
                        payment_method_id: r.get(9)?,
                        after_payment: AfterPayment {
                            amount_refunded: Money::from_cents(r.get(10)?),
                            refund_pending: Money::from_cents(r.get(11)?),
                            payment_intent: r.get(12)?,
                            dispute: r.get(13)?,
                        },
                    },
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()?;
    row.map(|(mut invoice, lines)| {
        invoice.lines = serde_json::from_str(&lines).map_err(|e| DbError::broken(format!("invoice lines: {e}")))?;
        Ok(invoice)
    })
    .transpose()
}

/// Every invoice of an account, oldest first.
pub fn account_invoices(conn: &Conn<'_>, account_id: &str) -> DbResult<Vec<Invoice>> {
    let mut stmt = conn.prepare("SELECT id FROM invoices WHERE account_id = ?1 ORDER BY created_at, number")?;
    let ids = stmt.query_map([account_id], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    ids.iter().filter_map(|id| get_invoice(conn, id).transpose()).collect()
}

/// The account's open invoices, oldest first: every one, or only those whose charge failed (not
/// those still waiting for their renewal charge).
pub fn open_invoices(conn: &Conn<'_>, account_id: &str, with_waiting: bool) -> DbResult<Vec<Invoice>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM invoices WHERE account_id = ?1 AND status = 'open' AND (?2 = 1 OR charge_pending = 0)
         ORDER BY created_at, rowid",
    )?;
    let ids = stmt.query_map(params![account_id, with_waiting], |r| r.get::<_, String>(0))?;
    let ids = ids.collect::<Result<Vec<_>, _>>()?;
    ids.iter().filter_map(|id| get_invoice(conn, id).transpose()).collect()
}

/// Marks an open invoice void: nothing is owed for it any more.
pub fn set_invoice_void(conn: &Conn<'_>, id: &str) -> DbResult<()> {
    conn.execute("UPDATE invoices SET status = 'void', charge_pending = 0 WHERE id = ?1 AND status = 'open'", [id])?;
    Ok(())
}

/// Voids the account's renewal drafts (a subscription ended in their grace hour): never charged.
pub fn void_drafts(conn: &Conn<'_>, account_id: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE invoices SET status = 'void', charge_pending = 0 WHERE account_id = ?1 AND status = 'draft'",
        [account_id],
    )?;
    Ok(())
}

/// Marks a renewal invoice as waiting for its charge (see [`crate::jobs::renewals::charge_pending`]).
pub fn set_charge_pending(conn: &Conn<'_>, id: &str, pending: bool) -> DbResult<()> {
    conn.execute("UPDATE invoices SET charge_pending = ?2 WHERE id = ?1", params![id, pending])?;
    Ok(())
}

/// The oldest renewal invoice waiting for its charge, of `account_id` or of any account with no
/// charge in flight.
pub fn next_charge_pending(conn: &Conn<'_>, account_id: Option<&str>) -> DbResult<Option<Invoice>> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM invoices WHERE charge_pending = 1 AND status = 'open'
               AND (CAST(?1 AS TEXT) IS NULL OR account_id = ?1)
               AND (CAST(?1 AS TEXT) IS NOT NULL OR account_id NOT IN (SELECT account_id FROM payment_attempts WHERE status = 'pending'))
             ORDER BY created_at, rowid LIMIT 1",
            params![account_id],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => get_invoice(conn, &id),
        None => Ok(None),
    }
}

/// Whether an invoice waits for its renewal charge.
pub fn is_charge_pending(conn: &Conn<'_>, id: &str) -> DbResult<bool> {
    let pending: Option<bool> =
        conn.query_row("SELECT charge_pending FROM invoices WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    Ok(pending.unwrap_or(false))
}

/// Marks an invoice paid by `pm_id` (none: $0.00, no card), no longer waiting for a charge.
pub fn set_invoice_paid(conn: &Conn<'_>, id: &str, pm_id: Option<&str>) -> DbResult<()> {
    conn.execute(
        "UPDATE invoices SET status = 'paid', payment_method_id = ?2, charge_pending = 0 WHERE id = ?1",
        params![id, pm_id],
    )?;
    Ok(())
}

/// Renewal invoices still in their grace hour that were created by `created_by` (their usage is
/// final now), of `account_id` or any, oldest first.
pub fn drafts_due(
    conn: &Conn<'_>,
    created_by: OffsetDateTime,
    account_id: Option<&str>,
    limit: usize,
) -> DbResult<Vec<Invoice>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM invoices WHERE status = 'draft' AND created_at <= ?1
           AND (CAST(?2 AS TEXT) IS NULL OR account_id = ?2)
         ORDER BY created_at, rowid LIMIT ?3",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids = stmt.query_map(params![ts(created_by), account_id, limit], |r| r.get::<_, String>(0))?;
    let ids = ids.collect::<Result<Vec<_>, _>>()?;
    ids.iter().filter_map(|id| get_invoice(conn, id).transpose()).collect()
}

/// Finalizes a draft with its last lines and amount: it is owed from now on.
pub fn finalize_invoice(conn: &Conn<'_>, invoice: &Invoice) -> DbResult<()> {
    let lines = serde_json::to_string(&invoice.lines).map_err(|e| DbError::broken(format!("invoice lines: {e}")))?;
    conn.execute(
        "UPDATE invoices SET status = 'open', lines = ?2, amount = ?3 WHERE id = ?1 AND status = 'draft'",
        params![invoice.id, lines, invoice.amount.cents()],
    )?;
    Ok(())
}

/// The ids of the account's paid invoices (to tell which a charge's record paid).
pub fn paid_invoice_ids(conn: &Conn<'_>, account_id: &str) -> DbResult<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM invoices WHERE account_id = ?1 AND status = 'paid' AND amount > 0")?;
    let ids = stmt.query_map([account_id], |r| r.get::<_, String>(0))?;
    ids.collect::<Result<Vec<_>, _>>()
}

/// Records the PaymentIntent that paid invoice `id` (a refund gives back through it).
pub fn set_payment_intent(conn: &Conn<'_>, id: &str, intent: &str) -> DbResult<()> {
    conn.execute("UPDATE invoices SET payment_intent = ?2 WHERE id = ?1", params![id, intent])?;
    Ok(())
}

/// The invoices a PaymentIntent paid.
pub fn invoices_paid_by(conn: &Conn<'_>, intent: &str) -> DbResult<Vec<Invoice>> {
    let mut stmt = conn.prepare("SELECT id FROM invoices WHERE payment_intent = ?1 ORDER BY created_at, rowid")?;
    let ids = stmt.query_map([intent], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    ids.iter().filter_map(|id| get_invoice(conn, id).transpose()).collect()
}

/// Records a dispute's status (Stripe's: `needs_response`, ..., `won`, `lost`) on an invoice;
/// false when it had that status already (the same event delivered again).
pub fn set_dispute(conn: &Conn<'_>, id: &str, status: &str) -> DbResult<bool> {
    let changed = conn.execute(
        "UPDATE invoices SET dispute = ?2 WHERE id = ?1 AND (dispute IS NULL OR dispute <> ?2)",
        params![id, status],
    )?;
    Ok(changed == 1)
}
