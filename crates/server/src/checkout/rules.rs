//! What a checkout does to the books: whether the session can pay, what its page shows, the first
//! charge (and its 3-D Secure answer), declines. Every function runs inside the caller's
//! transaction.

use crate::Config;
use crate::error::AppError;
use crate::http::session_tokens::SessionToken;
use crate::payments::Charged;
use crate::payments::test_cards::{ChargeKind, ChargeResult};
use crate::promotions::checkout::Quoting;
use crate::store::Conn;
use crate::store::{self, Account, CheckoutSession, PaymentMethod};
use crate::subscriptions::events::{self, EventType};
use billing::Money;
use billing::validate;
use billing::wire::{
    BillingDetails, CheckoutReceipt, CheckoutStatus, CheckoutView, DeclineCode, Eligibility, PaymentOutcome,
    PlanSummary, StripeElements, SubscriptionStatus,
};
use time::OffsetDateTime;

/// Declined payments a checkout session tolerates before it locks (card-testing defence).
pub const MAX_DECLINES: u32 = 5;

/// A session that can still take a payment, with its account.
pub fn open_checkout(conn: &Conn<'_>, id: &str, now: OffsetDateTime) -> Result<(CheckoutSession, Account), AppError> {
    let session = store::get_checkout_session(conn, id)?.ok_or(AppError::SessionNotFound)?;
    if session.completed_at.is_some() {
        return Err(AppError::SessionCompleted);
    }
    if now >= session.expires_at {
        return Err(AppError::SessionExpired);
    }
    if session.declines >= MAX_DECLINES {
        return Err(AppError::SessionLocked);
    }
    let account = store::get_account(conn, &session.account_id)?.ok_or(AppError::SessionNotFound)?;
    Ok((session, account))
}

/// Whether the account may buy here at all.
pub fn eligibility(conn: &Conn<'_>, account: &Account) -> Result<Eligibility, AppError> {
    if account.aws_account_linked && account.login == billing::wire::Login::BuilderId {
        return Ok(Eligibility::AccountLinkedToAws);
    }
    let subscribed = store::get_subscription(conn, &account.id)?
        .is_some_and(|s| s.plan.is_paid() && s.status != SubscriptionStatus::Canceled);
    Ok(if subscribed { Eligibility::AlreadySubscribed } else { Eligibility::Eligible })
}

/// The account's eligibility as an error when it may not buy.
pub fn ensure_eligible(conn: &Conn<'_>, account: &Account) -> Result<(), AppError> {
    match eligibility(conn, account)? {
        Eligibility::AccountLinkedToAws => Err(AppError::AccountLinkedToAws),
        Eligibility::AlreadySubscribed => Err(AppError::AlreadySubscribed),
        Eligibility::Eligible => Ok(()),
    }
}

/// Everything the checkout page of `token` shows, at `now`.
pub fn checkout_view(
    conn: &Conn<'_>,
    config: &Config,
    token: &SessionToken,
    now: OffsetDateTime,
) -> Result<CheckoutView, AppError> {
    let session = store::get_checkout_session(conn, token.id())?.ok_or(AppError::SessionNotFound)?;
    let account = store::get_account(conn, &session.account_id)?.ok_or(AppError::SessionNotFound)?;
    let receipt = match &session.invoice_id {
        Some(invoice_id) if session.completed_at.is_some() => Some(receipt_for(conn, &session, &account, invoice_id)?),
        _ => None,
    };
    if receipt.is_none() {
        if now >= session.expires_at {
            return Err(AppError::SessionExpired);
        }
        if session.declines >= MAX_DECLINES {
            return Err(AppError::SessionLocked);
        }
    }
    let quote = match receipt {
        Some(_) => None,
        None => Some(crate::promotions::checkout::session_quote(conn, &session, now, Quoting::Now)?),
    };
    let saved_cards = store::account_payment_methods(conn, &account.id)?.into_iter().map(|pm| pm.card).collect();
    Ok(CheckoutView {
        status: if receipt.is_some() { CheckoutStatus::Complete } else { CheckoutStatus::Open },
        test_mode: config.test_mode,
        branding: config.branding.clone(),
        plan: session.plan.into(),
        email: account.email.clone(),
        eligibility: if receipt.is_some() { Eligibility::Eligible } else { eligibility(conn, &account)? },
        quote,
        saved_cards,
        receipt,
        return_url: crate::config::return_url_with_session(&session.return_url, token.whole()),
        expires_at: session.expires_at,
        attempts_left: MAX_DECLINES.saturating_sub(session.declines),
        stripe: stripe_elements(config),
        promotion_codes: crate::promotions::checkout::allows_codes(conn, &session.id)?,
    })
}

/// What the page needs to mount Stripe's Element, in Stripe mode.
pub fn stripe_elements(config: &Config) -> Option<StripeElements> {
    config
        .stripe
        .as_ref()
        .map(|stripe| StripeElements { publishable_key: stripe.publishable_key.clone(), js_url: stripe.js_url.clone() })
}

fn receipt_for(
    conn: &Conn<'_>,
    session: &CheckoutSession,
    account: &Account,
    invoice_id: &str,
) -> Result<CheckoutReceipt, AppError> {
    let invoice = store::get_invoice(conn, invoice_id)?.ok_or_else(|| AppError::internal("invoice missing"))?;
    // No card: a subscription free forever (issue 22).
    let card = match invoice.payment_method_id.as_deref() {
        Some(pm_id) => Some(
            store::get_payment_method(conn, pm_id)?.ok_or_else(|| AppError::internal("payment method missing"))?.card,
        ),
        None => None,
    };
    let next_renewal_amount = match crate::promotions::running_discount(conn, &account.id)? {
        Some(discount) => discount.renewal_amount(session.plan, invoice.period_end),
        None => session.plan.plan().monthly_price,
    };
    Ok(CheckoutReceipt {
        plan: PlanSummary::from(session.plan),
        amount_charged: invoice.amount,
        card,
        email: account.email.clone().unwrap_or_default(),
        invoice_number: invoice.number,
        next_renewal_at: invoice.period_end,
        next_renewal_amount,
    })
}

/// The billing details, checked with the page's own rules.
pub fn check_billing(billing: &BillingDetails) -> Result<(), AppError> {
    let country = validate::validate_country(&billing.country)
        .map_err(|e| AppError::InvalidBillingDetails(e.message().into()))?;
    validate::validate_postal_code(billing.postal_code.as_deref().unwrap_or(""), country)
        .map_err(|e| AppError::InvalidBillingDetails(e.message(country)))?;
    Ok(())
}

/// Whether a payment method may pay for this session: tokenized in it, or saved on its account.
pub fn usable_payment_method(
    conn: &Conn<'_>,
    pm_id: &str,
    session: &CheckoutSession,
) -> Result<PaymentMethod, AppError> {
    let pm = store::get_payment_method(conn, pm_id)?.ok_or(AppError::InvalidPaymentMethod)?;
    let mine = pm.session_id.as_deref() == Some(session.id.as_str())
        || pm.account_id.as_deref() == Some(session.account_id.as_str());
    if mine { Ok(pm) } else { Err(AppError::InvalidPaymentMethod) }
}

/// Whether a charge is the card's first payment or a later one (which 0341 fails).
pub fn charge_kind(pm: &PaymentMethod) -> ChargeKind {
    if pm.payments == 0 { ChargeKind::First } else { ChargeKind::Later }
}

/// What a checkout payment is for: the session, who pays, the receipt email and the total the
/// user saw.
pub struct CheckoutPayment<'a> {
    pub session: &'a CheckoutSession,
    pub account: &'a Account,
    pub email: &'a str,
    pub expected_total: Money,
}

/// Acts on a checkout's charge result: the subscription, a 3-D Secure challenge, or a decline.
pub fn record_charge(
    conn: &Conn<'_>,
    payment: &CheckoutPayment<'_>,
    pm: &PaymentMethod,
    charged: &Charged,
    now: OffsetDateTime,
) -> Result<PaymentOutcome, AppError> {
    let CheckoutPayment { session, account, email, expected_total } = *payment;
    // Checked again here, in the transaction that records the charge: another session of the same
    // account may have paid since this one was confirmed (a 3-D Secure answer comes much later).
    ensure_eligible(conn, account)?;
    match charged.result {
        ChargeResult::Succeeded => {
            let receipt = fulfil_checkout(conn, session, account, Some(pm), expected_total, email, now)?;
            Ok(PaymentOutcome::Succeeded { receipt })
        }
        ChargeResult::RequiresAuthentication => {
            let challenge = store::Challenge {
                email: email.to_string(),
                expected_total: Some(expected_total),
                intent_id: charged.intent.as_ref().map(|i| i.id.clone()),
                ..store::Challenge::new(&session.id, &pm.card.id)
            };
            let challenge_id = crate::payments::limits::open_challenge(conn, &challenge, session.expires_at, now)?;
            let client_secret = charged.intent.as_ref().and_then(|i| i.client_secret.clone());
            Ok(PaymentOutcome::RequiresAction { challenge_id, client_secret })
        }
        ChargeResult::Declined(code) => decline(conn, session, code),
        ChargeResult::Unknown => Err(AppError::ProcessorUnavailable),
    }
}

/// Counts a decline against the session (it locks at [`MAX_DECLINES`]).
pub fn decline(conn: &Conn<'_>, session: &CheckoutSession, code: DeclineCode) -> Result<PaymentOutcome, AppError> {
    let declines = store::record_decline(conn, &session.id)?;
    // A declined payment (or a failed bank check) frees the redemption its code held.
    store::release_redemption(conn, &session.id)?;
    tracing::info!(session = %crate::ids::redact(&session.id), ?code, declines, "payment declined");
    Ok(PaymentOutcome::Declined {
        decline: crate::payments::decline(code),
        attempts_left: MAX_DECLINES.saturating_sub(declines),
    })
}

/// The subscription, the paid invoice (of exactly what was `charged`, else `quote_changed`) and
/// the completed session, written together. Without a card only for a subscription free forever
/// (issue 22).
pub fn fulfil_checkout(
    conn: &Conn<'_>,
    session: &CheckoutSession,
    account: &Account,
    pm: Option<&PaymentMethod>,
    charged: Money,
    email: &str,
    now: OffsetDateTime,
) -> Result<CheckoutReceipt, AppError> {
    let discount = crate::promotions::checkout::redeem_for_payment(conn, session, now)?;
    let pm_id = pm.map(|pm| pm.card.id.to_string());
    let (quote, invoice) = crate::subscriptions::start_subscription(
        conn,
        &account.id,
        session.plan,
        pm_id.as_deref(),
        discount.as_ref(),
        now,
    )?;
    if invoice.amount != charged {
        // The quote moved under the payment (a code changed meanwhile): nothing is granted.
        return Err(AppError::QuoteChanged);
    }
    store::upsert_account(conn, &Account { email: Some(email.to_string()), ..account.clone() })?;
    store::complete_checkout_session(conn, &session.id, now, &invoice.id)?;
    events::subscription_event(conn, EventType::SubscriptionCreated, &account.id, now)?;
    events::invoice_event(conn, EventType::InvoicePaid, &invoice, now)?;
    tracing::info!(session = %crate::ids::redact(&session.id), plan = %session.plan, amount = quote.total_due_today.cents(), "checkout paid");
    Ok(CheckoutReceipt {
        plan: PlanSummary::from(session.plan),
        amount_charged: invoice.amount,
        card: pm.map(|pm| pm.card.clone()),
        email: email.to_string(),
        invoice_number: invoice.number,
        next_renewal_at: quote.period.end,
        next_renewal_amount: quote.next_renewal_amount,
    })
}
