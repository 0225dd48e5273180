//! What the routes do to the books: sessions, checkout confirmation, 3-D Secure answers and
//! renewals. Every function runs inside the caller's transaction.

use crate::AppState;
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::ids::new_id;
use crate::processor::{self, CardBehavior, ChargeKind, ChargeResult};
use crate::store::{self, Account, CheckoutSession, Invoice, PaymentMethod, Subscription};
use billing::period::Period;
use billing::proration::{self, LineItem, Quote};
use billing::validate;
use billing::wire::{
    BillingDetails, CheckoutReceipt, CheckoutStatus, CheckoutView, Decline, DeclineCode, Eligibility, PaymentOutcome,
    PlanSummary, SubscriptionStatus, SubscriptionView,
};
use billing::{Money, PlanId};
use rusqlite::Connection;
use time::OffsetDateTime;

/// Declined payments a checkout session tolerates before it locks (card-testing defence).
pub const MAX_DECLINES: u32 = 5;

/// A session that can still take a payment, with its account.
pub fn open_checkout(conn: &Connection, id: &str, now: OffsetDateTime) -> Result<(CheckoutSession, Account), AppError> {
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
pub fn eligibility(conn: &Connection, account: &Account) -> Result<Eligibility, AppError> {
    if account.aws_account_linked && account.login == billing::wire::Login::BuilderId {
        return Ok(Eligibility::AccountLinkedToAws);
    }
    let subscribed = store::get_subscription(conn, &account.id)?
        .is_some_and(|s| s.plan.is_paid() && s.status != SubscriptionStatus::Canceled);
    Ok(if subscribed { Eligibility::AlreadySubscribed } else { Eligibility::Eligible })
}

/// The account's eligibility as an error when it may not buy.
pub fn ensure_eligible(conn: &Connection, account: &Account) -> Result<(), AppError> {
    match eligibility(conn, account)? {
        Eligibility::AccountLinkedToAws => Err(AppError::AccountLinkedToAws),
        Eligibility::AlreadySubscribed => Err(AppError::AlreadySubscribed),
        Eligibility::Eligible => Ok(()),
    }
}

/// `return_url` with `session_id` appended: where Get started and Return to Kiro go.
pub fn return_url_with_session(return_url: &str, session_id: &str) -> String {
    match url::Url::parse(return_url) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("session_id", session_id);
            url.to_string()
        }
        Err(_) => return_url.to_string(),
    }
}

/// Everything the checkout page shows, at `now`.
pub fn checkout_view(
    conn: &Connection,
    state: &AppState,
    id: &str,
    now: OffsetDateTime,
) -> Result<CheckoutView, AppError> {
    let session = store::get_checkout_session(conn, id)?.ok_or(AppError::SessionNotFound)?;
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
        None => Some(
            proration::quote_new_subscription(session.plan, now).map_err(|e| AppError::Internal(format!("{e:?}")))?,
        ),
    };
    let saved_cards = store::account_payment_methods(conn, &account.id)?.into_iter().map(|pm| pm.card).collect();
    Ok(CheckoutView {
        status: if receipt.is_some() { CheckoutStatus::Complete } else { CheckoutStatus::Open },
        test_mode: state.config.test_mode,
        branding: state.config.branding.clone(),
        plan: session.plan.into(),
        email: account.email.clone(),
        eligibility: if receipt.is_some() { Eligibility::Eligible } else { eligibility(conn, &account)? },
        quote,
        saved_cards,
        receipt,
        return_url: return_url_with_session(&session.return_url, &session.id),
        expires_at: session.expires_at,
        attempts_left: MAX_DECLINES.saturating_sub(session.declines),
    })
}

fn receipt_for(
    conn: &Connection,
    session: &CheckoutSession,
    account: &Account,
    invoice_id: &str,
) -> Result<CheckoutReceipt, AppError> {
    let invoice = store::get_invoice(conn, invoice_id)?.ok_or_else(|| AppError::Internal("invoice missing".into()))?;
    let pm_id = invoice.payment_method_id.as_deref().unwrap_or_default();
    let pm =
        store::get_payment_method(conn, pm_id)?.ok_or_else(|| AppError::Internal("payment method missing".into()))?;
    Ok(CheckoutReceipt {
        plan: PlanSummary::from(session.plan),
        amount_charged: invoice.amount,
        card: pm.card,
        email: account.email.clone().unwrap_or_default(),
        invoice_number: invoice.number,
        next_renewal_at: invoice.period_end,
        next_renewal_amount: session.plan.plan().monthly_price,
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
    conn: &Connection,
    pm_id: &str,
    session: &CheckoutSession,
) -> Result<PaymentMethod, AppError> {
    let pm = store::get_payment_method(conn, pm_id)?.ok_or(AppError::InvalidPaymentMethod)?;
    let mine = pm.session_id.as_deref() == Some(session.id.as_str())
        || pm.account_id.as_deref() == Some(session.account_id.as_str());
    if mine { Ok(pm) } else { Err(AppError::InvalidPaymentMethod) }
}

fn charge_kind(pm: &PaymentMethod) -> ChargeKind {
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

/// Charges a checkout session's first payment and acts on the result.
pub fn pay_checkout(
    conn: &Connection,
    payment: &CheckoutPayment<'_>,
    pm: &PaymentMethod,
    authenticated: bool,
    now: OffsetDateTime,
) -> Result<PaymentOutcome, AppError> {
    let CheckoutPayment { session, account, email, expected_total } = *payment;
    // Checked again here, in the transaction that records the charge: another session of the same
    // account may have paid since this one was confirmed (a 3-D Secure answer comes much later).
    ensure_eligible(conn, account)?;
    let behavior = CardBehavior::parse(&pm.behavior);
    match processor::charge(behavior, charge_kind(pm), authenticated) {
        ChargeResult::Succeeded => {
            let receipt = fulfil_checkout(conn, session, account, pm, email, now)?;
            Ok(PaymentOutcome::Succeeded { receipt })
        }
        ChargeResult::RequiresAuthentication => {
            check_limit(conn, SessionLimit::Challenges, &session.id, session.expires_at, now)?;
            let challenge = store::Challenge {
                id: new_id("ch"),
                session_id: session.id.clone(),
                payment_method_id: pm.card.id.clone(),
                email: email.to_string(),
                resolved_body: None,
                plan: None,
                expected_total: Some(expected_total),
            };
            store::insert_challenge(conn, &challenge, now)?;
            Ok(PaymentOutcome::RequiresAction { challenge_id: challenge.id })
        }
        ChargeResult::Declined(code) => decline(conn, session, code),
    }
}

/// What a checkout or portal session may do only so often: enough for any honest user, too few
/// for testing stolen cards.
#[derive(Debug, Clone, Copy)]
pub enum SessionLimit {
    /// Cards tokenized.
    Cards,
    /// 3-D Secure challenges opened.
    Challenges,
}

pub const MAX_PER_SESSION: u32 = 20;

/// `rate_limited` (retry when the session has expired, i.e. not in it) once `limit` is reached.
pub fn check_limit(
    conn: &Connection,
    limit: SessionLimit,
    session_id: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let used = match limit {
        SessionLimit::Cards => store::cards_tokenized_in(conn, session_id)?,
        SessionLimit::Challenges => store::challenges_opened_in(conn, session_id)?,
    };
    if used < MAX_PER_SESSION {
        return Ok(());
    }
    tracing::warn!(session = %crate::ids::redact(session_id), ?limit, "session limit reached");
    let seconds = (expires_at - now).whole_seconds().max(1);
    Err(AppError::RateLimited { retry_after_secs: u64::try_from(seconds).unwrap_or(1) })
}

/// Counts a decline against the session (it locks at [`MAX_DECLINES`]).
pub fn decline(conn: &Connection, session: &CheckoutSession, code: DeclineCode) -> Result<PaymentOutcome, AppError> {
    let declines = store::record_decline(conn, &session.id)?;
    tracing::info!(session = %crate::ids::redact(&session.id), ?code, declines, "payment declined");
    Ok(PaymentOutcome::Declined {
        decline: Decline { code, message: code.message().into() },
        attempts_left: MAX_DECLINES.saturating_sub(declines),
    })
}

/// The subscription, the paid invoice and the completed session, written together.
fn fulfil_checkout(
    conn: &Connection,
    session: &CheckoutSession,
    account: &Account,
    pm: &PaymentMethod,
    email: &str,
    now: OffsetDateTime,
) -> Result<CheckoutReceipt, AppError> {
    let (quote, invoice) = start_subscription(conn, &account.id, session.plan, &pm.card.id, now)?;
    store::upsert_account(conn, &Account { email: Some(email.to_string()), ..account.clone() })?;
    store::complete_checkout_session(conn, &session.id, now, &invoice.id)?;
    events::subscription_event(conn, EventType::SubscriptionCreated, &account.id, now)?;
    events::invoice_event(conn, EventType::InvoicePaid, &invoice, now)?;
    tracing::info!(session = %crate::ids::redact(&session.id), plan = %session.plan, amount = quote.total_due_today.cents(), "checkout paid");
    Ok(CheckoutReceipt {
        plan: PlanSummary::from(session.plan),
        amount_charged: invoice.amount,
        card: pm.card.clone(),
        email: email.to_string(),
        invoice_number: invoice.number,
        next_renewal_at: quote.period.end,
        next_renewal_amount: session.plan.plan().monthly_price,
    })
}

/// A new paid subscription to `plan` from `now`: the first (prorated) charge's invoice, the card
/// counted as used, and the subscription itself.
fn start_subscription(
    conn: &Connection,
    account_id: &str,
    plan: PlanId,
    pm_id: &str,
    now: OffsetDateTime,
) -> Result<(Quote, Invoice), AppError> {
    let quote = proration::quote_new_subscription(plan, now).map_err(|e| AppError::Internal(format!("{e:?}")))?;
    let invoice = store::insert_invoice(conn, invoice_from_quote(account_id, &quote, pm_id, now))?;
    store::record_payment(conn, pm_id, account_id)?;
    store::insert_subscription(
        conn,
        &Subscription {
            account_id: account_id.to_string(),
            plan,
            status: SubscriptionStatus::Active,
            first_paid_at: now,
            period_start: quote.period.start,
            period_end: quote.period.end,
            paid_this_period: quote.total_due_today,
            scheduled_plan: None,
            cancel_at_period_end: false,
            overage_enabled: false,
            payment_method_id: Some(pm_id.to_string()),
        },
    )?;
    Ok((quote, invoice))
}

/// A paid invoice for what `quote` charges today.
pub fn invoice_from_quote(account_id: &str, quote: &Quote, pm_id: &str, now: OffsetDateTime) -> Invoice {
    Invoice {
        id: new_id("in"),
        number: String::new(),
        account_id: account_id.to_string(),
        created_at: now,
        period_start: quote.period.start,
        period_end: quote.period.end,
        lines: quote.lines.clone(),
        amount: quote.total_due_today,
        status: "paid".into(),
        payment_method_id: Some(pm_id.to_string()),
    }
}

/// The subscription as the IDE's backend sees it. Accounts without one are on Free.
pub fn subscription_view(conn: &Connection, account_id: &str) -> Result<SubscriptionView, AppError> {
    store::get_account(conn, account_id)?.ok_or(AppError::NotFound)?;
    let sub = store::get_subscription(conn, account_id)?;
    Ok(match sub {
        Some(s) => {
            // Past due: paid features stop and Free's credits apply until the invoice is paid.
            let effective_plan = if s.status == SubscriptionStatus::Active { s.plan } else { PlanId::Free };
            SubscriptionView {
                account_id: account_id.to_string(),
                plan: s.plan,
                plan_name: s.plan.plan().name.into(),
                status: s.status,
                credits: effective_plan.plan().monthly_credits,
                monthly_price: s.plan.plan().monthly_price,
                current_period: (s.status != SubscriptionStatus::Canceled)
                    .then_some(Period { start: s.period_start, end: s.period_end }),
                scheduled_change: s
                    .scheduled_plan
                    .map(|plan| billing::wire::ScheduledChange { plan, effective_at: s.period_end }),
                cancel_at_period_end: s.cancel_at_period_end,
                overage_enabled: s.overage_enabled,
            }
        }
        None => SubscriptionView {
            account_id: account_id.to_string(),
            plan: PlanId::Free,
            plan_name: PlanId::Free.plan().name.into(),
            status: SubscriptionStatus::Active,
            credits: PlanId::Free.plan().monthly_credits,
            monthly_price: Money::ZERO,
            current_period: None,
            scheduled_change: None,
            cancel_at_period_end: false,
            overage_enabled: false,
        },
    })
}

/// Period ends handled in one transaction when catching up, so a clock that jumped far ahead
/// never holds the writer for long: other requests run between batches.
pub const DUE_BATCH: usize = 200;

/// Whether [`run_due`] stopped at its budget with work left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Done,
    More,
}

/// Runs what fell due up to `now` (for every account, or one), at most `budget` period ends:
/// renewals on the 1st, scheduled downgrades, cancellations at period end, failed renewals ->
/// past due. Each period end is handled once, whatever the number of clock moves.
pub fn run_due(
    conn: &Connection,
    now: OffsetDateTime,
    account_id: Option<&str>,
    budget: usize,
) -> Result<Progress, AppError> {
    let mut steps = 0;
    for mut sub in store::subscriptions_due(conn, now, account_id, budget)? {
        while steps < budget && sub.period_end <= now && sub.status != SubscriptionStatus::Canceled {
            close_period(conn, &mut sub)?;
            steps += 1;
        }
    }
    Ok(if steps >= budget { Progress::More } else { Progress::Done })
}

/// Runs everything that fell due up to `now`, one bounded batch per transaction.
pub async fn catch_up(store: &crate::Store, now: OffsetDateTime) -> Result<(), AppError> {
    while store.write(move |tx| run_due(tx, now, None, DUE_BATCH)).await? == Progress::More {}
    Ok(())
}

/// Ends `sub`'s current period and starts the next: the scheduled plan applies, a cancellation or
/// a downgrade to Free ends the subscription, a paid plan renews (or goes past due). Saved, with
/// its events, dated when the period ended.
fn close_period(conn: &Connection, sub: &mut Subscription) -> Result<(), AppError> {
    let next = Period::containing(sub.period_end);
    let at = sub.period_end;
    if let Some(plan) = sub.scheduled_plan.take() {
        sub.plan = plan;
    }
    if sub.cancel_at_period_end || !sub.plan.is_paid() {
        sub.plan = PlanId::Free;
        sub.status = SubscriptionStatus::Canceled;
        sub.cancel_at_period_end = false;
        sub.paid_this_period = Money::ZERO;
        sub.period_start = next.start;
        sub.period_end = next.end;
        store::save_subscription(conn, sub)?;
        return events::subscription_event(conn, EventType::SubscriptionCanceled, &sub.account_id, at);
    }
    let price = sub.plan.plan().monthly_price;
    let pm = match &sub.payment_method_id {
        Some(id) => store::get_payment_method(conn, id)?,
        None => None,
    };
    // Renewals are off-session: a card that needs authentication fails them.
    let paid = pm.as_ref().is_some_and(|pm| {
        processor::charge(CardBehavior::parse(&pm.behavior), ChargeKind::Later, false) == ChargeResult::Succeeded
    });
    let line = LineItem {
        description: format!("{} for {}", sub.plan.plan().name, billing::period::month_and_year(next.start)),
        amount: price,
    };
    let invoice = Invoice {
        id: new_id("in"),
        number: String::new(),
        account_id: sub.account_id.clone(),
        created_at: next.start,
        period_start: next.start,
        period_end: next.end,
        lines: vec![line],
        amount: price,
        status: if paid { "paid".into() } else { "open".into() },
        payment_method_id: sub.payment_method_id.clone(),
    };
    let invoice = store::insert_invoice(conn, invoice)?;
    if let (true, Some(pm)) = (paid, &pm) {
        store::record_payment(conn, &pm.card.id, &sub.account_id)?;
    }
    sub.status = if paid { SubscriptionStatus::Active } else { SubscriptionStatus::PastDue };
    sub.paid_this_period = if paid { price } else { Money::ZERO };
    sub.period_start = next.start;
    sub.period_end = next.end;
    store::save_subscription(conn, sub)?;
    let (invoice_event, subscription_event) = if paid {
        (EventType::InvoicePaid, EventType::SubscriptionUpdated)
    } else {
        (EventType::InvoicePaymentFailed, EventType::SubscriptionPastDue)
    };
    events::invoice_event(conn, invoice_event, &invoice, at)?;
    events::subscription_event(conn, subscription_event, &sub.account_id, at)
}

/// Gives `account_id` a paid subscription to `plan` bought at `bought_at` with a Visa 4242 (demo).
pub fn seed_subscription(
    conn: &Connection,
    account: &Account,
    plan: PlanId,
    bought_at: OffsetDateTime,
) -> Result<(), AppError> {
    store::upsert_account(conn, account)?;
    if store::get_subscription(conn, &account.id)?.is_some() {
        return Ok(());
    }
    let pm = PaymentMethod {
        account_id: Some(account.id.clone()),
        session_id: None,
        card: billing::wire::CardSummary {
            id: new_id("pm"),
            brand: validate::CardBrand::Visa,
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2034,
        },
        behavior: CardBehavior::Succeeds.as_str().into(),
        payments: 0,
    };
    store::insert_payment_method(conn, &pm, bought_at)?;
    start_subscription(conn, &account.id, plan, &pm.card.id, bought_at).map(|_| ())
}
