//! Redemptions of promotion codes (issue 22), the code a checkout session carries, and the
//! discount running on an account's subscription.
//!
//! A redemption is `held` while its payment is in flight or waits at the bank (until
//! `held_until`, the billing clock), and `redeemed` once paid; a decline or a failed 3-D Secure
//! check deletes the hold. A code's `max_redemptions` counts both, so racing checkouts cannot all
//! take the last one; `times_redeemed` counts only the paid.

use super::{Conn, DbResult, OptionalExtension, params};
use super::{from_ts, ts};
use time::OffsetDateTime;

/// Redemptions paid with `code_id`.
pub fn times_redeemed(conn: &Conn<'_>, code_id: &str) -> DbResult<i64> {
    conn.query_row(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM redemptions WHERE promotion_code_id = ?1 AND status = 'redeemed'",
        params![code_id],
        |r| r.get(0),
    )
}

/// Redemptions of `code_id` paid or held at `now` by sessions other than `session_id`.
pub fn redemptions_taken_by_others(
    conn: &Conn<'_>,
    code_id: &str,
    session_id: &str,
    now: OffsetDateTime,
) -> DbResult<i64> {
    conn.query_row(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM redemptions WHERE promotion_code_id = ?1 AND session_id <> ?2
           AND (status = 'redeemed' OR held_until > ?3)",
        params![code_id, session_id, ts(now)],
        |r| r.get(0),
    )
}

/// Holds one redemption of `code_id` for `session_id` until `held_until` (replacing its own
/// earlier hold).
pub fn hold_redemption(
    conn: &Conn<'_>,
    code_id: &str,
    session_id: &str,
    account_id: &str,
    held_until: OffsetDateTime,
    now: OffsetDateTime,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO redemptions (session_id, promotion_code_id, account_id, status, held_until, created_at)
         VALUES (?1, ?2, ?3, 'held', ?4, ?5)
         ON CONFLICT (session_id) DO UPDATE SET promotion_code_id = excluded.promotion_code_id,
             held_until = excluded.held_until WHERE redemptions.status = 'held'",
        params![session_id, code_id, account_id, ts(held_until), ts(now)],
    )?;
    Ok(())
}

/// The code the session holds a redemption of at `now` (held, not yet paid, not yet expired).
pub fn held_code(conn: &Conn<'_>, session_id: &str, now: OffsetDateTime) -> DbResult<Option<String>> {
    conn.query_row(
        "SELECT promotion_code_id FROM redemptions WHERE session_id = ?1 AND status = 'held' AND held_until > ?2",
        params![session_id, ts(now)],
        |r| r.get(0),
    )
    .optional()
}

/// The session's held redemption, now paid: `false` when it holds none.
pub fn redeem(conn: &Conn<'_>, session_id: &str) -> DbResult<bool> {
    Ok(conn.execute(
        "UPDATE redemptions SET status = 'redeemed' WHERE session_id = ?1 AND status = 'held'",
        params![session_id],
    )? == 1)
}

/// Frees the session's held redemption (a decline, a failed bank check, a code removed).
pub fn release_redemption(conn: &Conn<'_>, session_id: &str) -> DbResult<()> {
    conn.execute("DELETE FROM redemptions WHERE session_id = ?1 AND status = 'held'", params![session_id])?;
    Ok(())
}

/// Frees the held redemptions of attempt `attempt_id`'s account, but for a session whose 3-D
/// Secure check still waits (that payment may still be made).
pub fn release_holds_of_attempt(conn: &Conn<'_>, attempt_id: &str) -> DbResult<()> {
    conn.execute(
        "DELETE FROM redemptions WHERE status = 'held'
           AND account_id = (SELECT account_id FROM payment_attempts WHERE id = ?1)
           AND NOT EXISTS (SELECT 1 FROM challenges c
                           WHERE c.session_id = redemptions.session_id AND c.resolved_body IS NULL)",
        params![attempt_id],
    )?;
    Ok(())
}

// --- checkout_promotions -------------------------------------------------------------------------

/// What a checkout session may do with codes, and the one it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutPromotion {
    pub allow_codes: bool,
    pub promotion_code_id: Option<String>,
    pub wrong_codes: i64,
}

pub fn insert_checkout_promotion(
    conn: &Conn<'_>,
    session_id: &str,
    allow_codes: bool,
    code_id: Option<&str>,
) -> DbResult<()> {
    conn.execute(
        "INSERT INTO checkout_promotions (session_id, allow_codes, promotion_code_id, wrong_codes)
         VALUES (?1, ?2, ?3, 0) ON CONFLICT (session_id) DO NOTHING",
        params![session_id, i64::from(allow_codes), code_id],
    )?;
    Ok(())
}

pub fn get_checkout_promotion(conn: &Conn<'_>, session_id: &str) -> DbResult<Option<CheckoutPromotion>> {
    conn.query_row(
        "SELECT allow_codes, promotion_code_id, wrong_codes FROM checkout_promotions WHERE session_id = ?1",
        params![session_id],
        |r| {
            Ok(CheckoutPromotion {
                allow_codes: r.get::<_, i64>(0)? != 0,
                promotion_code_id: r.get(1)?,
                wrong_codes: r.get(2)?,
            })
        },
    )
    .optional()
}

/// Sets (or, with `None`, removes) the code a session carries.
pub fn set_checkout_code(conn: &Conn<'_>, session_id: &str, code_id: Option<&str>) -> DbResult<()> {
    conn.execute(
        "UPDATE checkout_promotions SET promotion_code_id = ?2 WHERE session_id = ?1",
        params![session_id, code_id],
    )?;
    Ok(())
}

/// Counts a refused code against the session.
pub fn count_wrong_code(conn: &Conn<'_>, session_id: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE checkout_promotions SET wrong_codes = wrong_codes + 1 WHERE session_id = ?1",
        params![session_id],
    )?;
    Ok(())
}

// --- subscription_discounts ----------------------------------------------------------------------

/// The discount running on an account's subscription: which code and coupon, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionDiscount {
    pub promotion_code_id: String,
    pub coupon_id: String,
    pub code: String,
    pub started_at: OffsetDateTime,
}

pub fn set_subscription_discount(conn: &Conn<'_>, account_id: &str, discount: &SubscriptionDiscount) -> DbResult<()> {
    conn.execute(
        "INSERT INTO subscription_discounts (account_id, promotion_code_id, coupon_id, code, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account_id) DO UPDATE SET promotion_code_id = excluded.promotion_code_id,
             coupon_id = excluded.coupon_id, code = excluded.code, started_at = excluded.started_at",
        params![account_id, discount.promotion_code_id, discount.coupon_id, discount.code, ts(discount.started_at)],
    )?;
    Ok(())
}

pub fn clear_subscription_discount(conn: &Conn<'_>, account_id: &str) -> DbResult<()> {
    conn.execute("DELETE FROM subscription_discounts WHERE account_id = ?1", params![account_id])?;
    Ok(())
}

pub fn get_subscription_discount(conn: &Conn<'_>, account_id: &str) -> DbResult<Option<SubscriptionDiscount>> {
    conn.query_row(
        "SELECT promotion_code_id, coupon_id, code, started_at FROM subscription_discounts WHERE account_id = ?1",
        params![account_id],
        |r| {
            Ok(SubscriptionDiscount {
                promotion_code_id: r.get(0)?,
                coupon_id: r.get(1)?,
                code: r.get(2)?,
                started_at: from_ts(r.get(3)?),
            })
        },
    )
    .optional()
}

/// Whether the account ever paid an invoice (first-time-only codes refuse it).
pub fn has_paid_before(conn: &Conn<'_>, account_id: &str) -> DbResult<bool> {
    let paid: i64 = conn.query_row(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM invoices WHERE account_id = ?1 AND status = 'paid'",
        params![account_id],
        |r| r.get(0),
    )?;
    Ok(paid > 0)
}
