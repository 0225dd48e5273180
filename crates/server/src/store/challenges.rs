//! The `challenges` table (3-D Secure), what a session used of its limits, and Stripe's events
//! already handled.

use super::{Conn, DbResult, OptionalExtension, params};
use super::{plan_from, ts};
use billing::{Money, PlanId};
use time::OffsetDateTime;

// --- limits --------------------------------------------------------------------------------------

/// Cards tokenized in a checkout or portal session.
pub fn cards_tokenized_in(conn: &Conn<'_>, session_id: &str) -> DbResult<u32> {
    conn.query_row("SELECT COUNT(*) FROM payment_methods WHERE session_id = ?1", [session_id], |r| r.get(0))
}

/// 3-D Secure challenges opened in a checkout or portal session.
pub fn challenges_opened_in(conn: &Conn<'_>, session_id: &str) -> DbResult<u32> {
    conn.query_row("SELECT COUNT(*) FROM challenges WHERE session_id = ?1", [session_id], |r| r.get(0))
}

/// Whether `session_id` has a 3-D Secure challenge opened after `since` and not answered yet.
pub fn has_open_challenge(conn: &Conn<'_>, session_id: &str, since: OffsetDateTime) -> DbResult<bool> {
    let open: i64 = conn.query_row(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM challenges
         WHERE session_id = ?1 AND resolved_body IS NULL AND created_at > ?2",
        params![session_id, ts(since)],
        |r| r.get(0),
    )?;
    Ok(open > 0)
}

// --- 3-D Secure challenges -----------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: String,
    pub session_id: String,
    pub payment_method_id: String,
    pub email: String,
    pub resolved_body: Option<String>,
    /// For portal changes: the target plan and the total the user confirmed.
    pub plan: Option<PlanId>,
    pub expected_total: Option<Money>,
    /// Stripe mode: the PaymentIntent waiting for 3-D Secure, retrieved to check the answer.
    pub intent_id: Option<String>,
    /// For paying a past-due account's invoices: their ids, oldest first, comma-separated.
    pub invoice_id: Option<String>,
}

impl Challenge {
    /// A new challenge of `session_id` for the card `payment_method_id`; the rest is what the
    /// answer needs, set by the caller.
    pub fn new(session_id: &str, payment_method_id: &str) -> Challenge {
        Challenge {
            id: crate::ids::new_id("ch"),
            session_id: session_id.to_string(),
            payment_method_id: payment_method_id.to_string(),
            email: String::new(),
            resolved_body: None,
            plan: None,
            expected_total: None,
            intent_id: None,
            invoice_id: None,
        }
    }
}

pub fn insert_challenge(conn: &Conn<'_>, c: &Challenge, now: OffsetDateTime) -> DbResult<()> {
    conn.execute(
        "INSERT INTO challenges (id, session_id, payment_method_id, email, created_at, plan, expected_total, intent_id, invoice_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            c.id,
            c.session_id,
            c.payment_method_id,
            c.email,
            ts(now),
            c.plan.map(PlanId::as_str),
            c.expected_total.map(Money::cents),
            c.intent_id,
            c.invoice_id
        ],
    )?;
    Ok(())
}

pub fn get_challenge(conn: &Conn<'_>, id: &str, session_id: &str) -> DbResult<Option<Challenge>> {
    conn.query_row(
        "SELECT id, session_id, payment_method_id, email, resolved_body, plan, expected_total, intent_id, invoice_id
             FROM challenges WHERE id = ?1 AND session_id = ?2",
        [id, session_id],
        |r| {
            Ok(Challenge {
                id: r.get(0)?,
                session_id: r.get(1)?,
                payment_method_id: r.get(2)?,
                email: r.get(3)?,
                resolved_body: r.get(4)?,
                plan: r.get::<_, Option<String>>(5)?.map(plan_from).transpose()?,
                expected_total: r.get::<_, Option<i64>>(6)?.map(Money::from_cents),
                intent_id: r.get(7)?,
                invoice_id: r.get(8)?,
            })
        },
    )
    .optional()
}

/// The unanswered challenge (id, session) waiting on a Stripe PaymentIntent, if any.
pub fn challenge_for_intent(conn: &Conn<'_>, intent_id: &str) -> DbResult<Option<(String, String)>> {
    conn.query_row(
        "SELECT id, session_id FROM challenges WHERE intent_id = ?1 AND resolved_body IS NULL",
        [intent_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Whether Stripe's event `id` was handled already.
pub fn stripe_event_seen(conn: &Conn<'_>, id: &str) -> DbResult<bool> {
    let seen: Option<i64> =
        conn.query_row("SELECT 1 FROM stripe_events WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    Ok(seen.is_some())
}

pub fn remember_stripe_event(conn: &Conn<'_>, id: &str, kind: &str, now: OffsetDateTime) -> DbResult<()> {
    conn.execute(
        "INSERT INTO stripe_events (id, type, received_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![id, kind, ts(now)],
    )?;
    Ok(())
}

pub fn resolve_challenge(conn: &Conn<'_>, id: &str, body: &str) -> DbResult<()> {
    conn.execute("UPDATE challenges SET resolved_body = ?2 WHERE id = ?1", [id, body])?;
    Ok(())
}
