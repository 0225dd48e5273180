//! A checkout's promotion code: applied (each refusal counted; a handful, then `429`), removed,
//! quoted, held while its payment is in flight or at the bank, redeemed in the transaction that
//! records the payment, freed by a decline. Every function runs inside the caller's transaction.

use crate::error::AppError;
use crate::store::Conn;
use crate::store::{self, CheckoutSession, Coupon, PromotionCode, SubscriptionDiscount};
use billing::PlanId;
use billing::discount::Discount;
pub use billing::discount::free_forever;
use billing::proration::{self, Quote};
use time::{Duration, OffsetDateTime};

/// Refused codes a checkout session may try before it gets `429 rate_limited` (guessing).
pub const MAX_WRONG_CODES: i64 = 5;

/// The longest code the API creates.
pub const MAX_CODE_LEN: usize = 40;

/// How long a payment holds its code's redemption (a 3-D Secure check left unanswered frees it
/// after this).
pub const HOLD: Duration = Duration::minutes(30);

/// Why `code` may not apply to a checkout of `plan` by `account_id` (session `session_id`) at
/// `now`; its coupon when it may. A code of an invalid coupon is as unknown as a made-up one.
pub fn check_code(
    conn: &Conn<'_>,
    code: &PromotionCode,
    plan: PlanId,
    account_id: &str,
    session_id: &str,
    now: OffsetDateTime,
) -> Result<Coupon, AppError> {
    let coupon = store::get_coupon(conn, &code.coupon_id)?.filter(|c| c.valid && code.active);
    let coupon = coupon.ok_or(AppError::PromotionCodeNotFound)?;
    if code.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::PromotionCodeExpired);
    }
    if used_up_by_others(conn, code, session_id, now)? {
        return Err(AppError::PromotionCodeUsedUp);
    }
    if !coupon.terms.covers_plan(plan) {
        return Err(AppError::PromotionCodeWrongPlan(plan.plan().name));
    }
    if code.first_time_transaction && store::has_paid_before(conn, account_id)? {
        return Err(AppError::PromotionCodeFirstTimeOnly);
    }
    Ok(coupon)
}

/// Whether every redemption `code` allows is paid or held by sessions other than `session_id`.
fn used_up_by_others(
    conn: &Conn<'_>,
    code: &PromotionCode,
    session_id: &str,
    now: OffsetDateTime,
) -> Result<bool, AppError> {
    Ok(match code.max_redemptions {
        Some(max) => store::redemptions_taken_by_others(conn, &code.id, session_id, now)? >= max,
        None => false,
    })
}

/// The code the buyer typed, if it may apply.
pub fn find_code(
    conn: &Conn<'_>,
    typed: &str,
    plan: PlanId,
    account_id: &str,
    session_id: &str,
    now: OffsetDateTime,
) -> Result<PromotionCode, AppError> {
    let code = store::find_promotion_code(conn, typed)?.ok_or(AppError::PromotionCodeNotFound)?;
    check_code(conn, &code, plan, account_id, session_id, now)?;
    Ok(code)
}

/// At session creation: the backend's choices kept, a code given in advance checked first.
pub fn keep_at_creation(
    conn: &Conn<'_>,
    session: &CheckoutSession,
    allow_codes: bool,
    typed: Option<&str>,
) -> Result<(), AppError> {
    let code = match typed {
        Some(typed) => {
            Some(find_code(conn, typed, session.plan, &session.account_id, &session.id, session.created_at)?.id)
        }
        None => None,
    };
    if allow_codes || code.is_some() {
        store::insert_checkout_promotion(conn, &session.id, allow_codes, code.as_deref())?;
    }
    Ok(())
}

/// Applies a typed code to an open session. A refusal is counted (so it is returned as `Ok(Err)`,
/// for the caller to commit); past [`MAX_WRONG_CODES`] every try is `429`.
pub fn apply_code(
    conn: &Conn<'_>,
    session: &CheckoutSession,
    typed: &str,
    now: OffsetDateTime,
) -> Result<Result<(), AppError>, AppError> {
    let promotion = store::get_checkout_promotion(conn, &session.id)?.filter(|p| p.allow_codes);
    let promotion = promotion.ok_or(AppError::PromotionCodesNotAllowed)?;
    unless_paying(conn, session, now)?;
    // No code is longer (see the API's check): nothing longer is looked up.
    if typed.trim().len() > MAX_CODE_LEN {
        return Err(AppError::InvalidRequest(format!("A promotion code is at most {MAX_CODE_LEN} characters.")));
    }
    if promotion.wrong_codes >= MAX_WRONG_CODES {
        tracing::warn!(session = %crate::ids::redact(&session.id), "too many wrong promotion codes");
        let seconds = (session.expires_at - now).whole_seconds().max(1);
        return Err(AppError::RateLimited { retry_after_secs: u64::try_from(seconds).unwrap_or(1) });
    }
    match find_code(conn, typed, session.plan, &session.account_id, &session.id, now) {
        Ok(code) => {
            store::set_checkout_code(conn, &session.id, Some(&code.id))?;
            Ok(Ok(()))
        }
        Err(refusal) if is_refusal(&refusal) => {
            store::count_wrong_code(conn, &session.id)?;
            Ok(Err(refusal))
        }
        Err(other) => Err(other),
    }
}

fn is_refusal(error: &AppError) -> bool {
    matches!(
        error,
        AppError::PromotionCodeNotFound
            | AppError::PromotionCodeExpired
            | AppError::PromotionCodeUsedUp
            | AppError::PromotionCodeWrongPlan(_)
            | AppError::PromotionCodeFirstTimeOnly
    )
}

/// Takes the session's code off, and frees any hold it kept (no payment of it is in flight).
pub fn remove_code(conn: &Conn<'_>, session: &CheckoutSession, now: OffsetDateTime) -> Result<(), AppError> {
    unless_paying(conn, session, now)?;
    store::release_redemption(conn, &session.id)?;
    Ok(store::set_checkout_code(conn, &session.id, None)?)
}

/// A payment in flight or at the bank was quoted with the session's code, or without one: the
/// code stays as it is until that payment is recorded (a check left at the bank lets go after
/// [`HOLD`]). A hold left without either is stale: it does not count.
fn unless_paying(conn: &Conn<'_>, session: &CheckoutSession, now: OffsetDateTime) -> Result<(), AppError> {
    let paying = store::has_pending_attempt(conn, &session.account_id)?
        || store::has_open_challenge(conn, &session.id, now - HOLD)?;
    if paying { Err(AppError::PaymentInProgress) } else { Ok(()) }
}

/// Whether the session's page offers codes.
pub fn allows_codes(conn: &Conn<'_>, session_id: &str) -> Result<bool, AppError> {
    Ok(store::get_checkout_promotion(conn, session_id)?.is_some_and(|p| p.allow_codes))
}

/// On whose word a session's code is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// The buyer's, at `now`: the code counts while it may still apply (the rule a payment's
    /// check uses, so the quote and the charge agree to the second), or while a payment quoted
    /// with it holds its redemption.
    Now,
    /// The bank's, which approved a payment of the total quoted with the code: that total is
    /// honoured, even if the code was deactivated or expired meanwhile.
    ApprovedByBank,
}

/// The session's code and the discount it would start if paid at `now`, as `quoting` says.
pub fn session_discount(
    conn: &Conn<'_>,
    session: &CheckoutSession,
    now: OffsetDateTime,
    quoting: Quoting,
) -> Result<Option<(PromotionCode, Discount)>, AppError> {
    let code_id = store::get_checkout_promotion(conn, &session.id)?.and_then(|p| p.promotion_code_id);
    let Some(code) = code_id.map(|id| store::get_promotion_code(conn, &id)).transpose()?.flatten() else {
        return Ok(None);
    };
    if quoting == Quoting::Now && !applies_now(conn, &code, session, now)? {
        return Ok(None);
    }
    let coupon =
        store::get_coupon(conn, &code.coupon_id)?.ok_or_else(|| AppError::internal("a code's coupon is missing"))?;
    let discount = Discount { code: code.code.clone(), terms: coupon.terms, started_at: now };
    Ok(Some((code, discount)))
}

/// Whether the session's `code` applies to a payment at `now`: a payment quoted with it holds it,
/// or [`check_code`] lets it.
fn applies_now(
    conn: &Conn<'_>,
    code: &PromotionCode,
    session: &CheckoutSession,
    now: OffsetDateTime,
) -> Result<bool, AppError> {
    if store::held_code(conn, &session.id, now)?.as_deref() == Some(code.id.as_str()) {
        return Ok(true);
    }
    match check_code(conn, code, session.plan, &session.account_id, &session.id, now) {
        Ok(_) => Ok(true),
        Err(refusal) if is_refusal(&refusal) => Ok(false),
        Err(other) => Err(other),
    }
}

/// The session's first charge at `now`, with its code's discount as `quoting` says.
pub fn session_quote(
    conn: &Conn<'_>,
    session: &CheckoutSession,
    now: OffsetDateTime,
    quoting: Quoting,
) -> Result<Quote, AppError> {
    let quote = proration::quote_new_subscription(session.plan, now)
        .map_err(|e| AppError::internal_from("quoting a new subscription", e))?;
    Ok(match session_discount(conn, session, now, quoting)? {
        Some((_, discount)) => discount.apply(quote, now),
        None => quote,
    })
}

/// Before a payment (in the transaction that claims it, after its quote was checked): one
/// redemption held for the session's code while it applies (as the quote just found). A code that
/// no longer applies was not in the quote the payment was checked against: it comes off the
/// session, so the bank's answer and the record see the payment as it was made, without it.
pub fn hold_for_payment(conn: &Conn<'_>, session: &CheckoutSession, now: OffsetDateTime) -> Result<(), AppError> {
    let Some((code, _)) = session_discount(conn, session, now, Quoting::Now)? else {
        store::set_checkout_code(conn, &session.id, None)?;
        return Ok(());
    };
    Ok(store::hold_redemption(conn, &code.id, &session.id, &session.account_id, now + HOLD, now)?)
}

/// After the bank approved a payment: the redemption its confirm held is kept (renewed), without
/// checking the code again. The buyer was quoted and approved that total, so a code deactivated
/// or expired meanwhile doesn't undo it. Without a live hold (it lapsed), one is taken again
/// while the code has a redemption left: its limit is the one thing that still refuses.
pub fn keep_hold_after_bank(conn: &Conn<'_>, session: &CheckoutSession, now: OffsetDateTime) -> Result<(), AppError> {
    let Some((code, _)) = session_discount(conn, session, now, Quoting::ApprovedByBank)? else {
        return Ok(());
    };
    let held = store::held_code(conn, &session.id, now)?.as_deref() == Some(code.id.as_str());
    if !held && used_up_by_others(conn, &code, &session.id, now)? {
        return Err(AppError::PromotionCodeUsedUp);
    }
    Ok(store::hold_redemption(conn, &code.id, &session.id, &session.account_id, now + HOLD, now)?)
}

/// In the transaction that records the payment: the held redemption counted (checked again
/// against the code's limit) and the discount started on the subscription; none without a code.
pub fn redeem_for_payment(
    conn: &Conn<'_>,
    session: &CheckoutSession,
    now: OffsetDateTime,
) -> Result<Option<Discount>, AppError> {
    // The payment's hold is live (taken or renewed when it was claimed): its code counts.
    let Some((code, discount)) = session_discount(conn, session, now, Quoting::Now)? else {
        store::clear_subscription_discount(conn, &session.account_id)?;
        return Ok(None);
    };
    // Only paid ones count here: this session's own is still held.
    let paid = store::times_redeemed(conn, &code.id)?;
    if code.max_redemptions.is_some_and(|max| paid >= max) {
        return Err(AppError::PromotionCodeUsedUp);
    }
    if !store::redeem(conn, &session.id)? {
        store::hold_redemption(conn, &code.id, &session.id, &session.account_id, now, now)?;
        store::redeem(conn, &session.id)?;
    }
    let kept = SubscriptionDiscount {
        promotion_code_id: code.id.clone(),
        coupon_id: code.coupon_id.clone(),
        code: code.code.clone(),
        started_at: now,
    };
    store::set_subscription_discount(conn, &session.account_id, &kept)?;
    tracing::info!(session = %crate::ids::redact(&session.id), "promotion code redeemed");
    Ok(Some(discount))
}
