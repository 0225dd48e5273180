//! The portal's side of the books: what a portal session shows, plan-change quotes at the
//! server's clock, and changes that charge the card on file (upgrades) or wait for the next
//! period (downgrades).

use crate::Config;
use crate::error::AppError;
use crate::http::session_tokens::SessionToken;
use crate::jobs::renewals::run_due;
use crate::payments::Charged;
use crate::payments::test_cards::ChargeResult;
use crate::store::Conn;
use crate::store::{self, PaymentMethod, PortalSession, Subscription};
use crate::subscriptions::events::{self, EventType};
use crate::subscriptions::invoice_from_quote;
use billing::period::Period;
use billing::proration::{self, ChangeKind, PaidHistory, Quote, QuoteError};
use billing::wire::{
    ChangeOutcome, ChangeReceipt, Decline, DeclineCode, PlanSummary, PortalSubscription, PortalView, ScheduledChange,
    SubscriptionStatus,
};
use billing::{Money, PlanId};
use time::OffsetDateTime;

/// A live portal session and its account's subscription, with anything that fell due applied.
pub fn open_portal(conn: &Conn<'_>, id: &str, now: OffsetDateTime) -> Result<(PortalSession, Subscription), AppError> {
    let session = store::get_portal_session(conn, id)?.ok_or(AppError::SessionNotFound)?;
    if now >= session.expires_at {
        return Err(AppError::SessionExpired);
    }
    // This account's own periods only: the request stays small whoever else is due.
    run_due(conn, now, Some(&session.account_id), usize::MAX)?;
    let sub = store::get_subscription(conn, &session.account_id)?.ok_or(AppError::NoSubscription)?;
    Ok((session, sub))
}

/// The next charge and its date, given what is scheduled.
fn next_renewal(sub: &Subscription) -> (Option<OffsetDateTime>, Money) {
    let next_plan = if sub.cancel_at_period_end { PlanId::Free } else { sub.scheduled_plan.unwrap_or(sub.plan) };
    let price = next_plan.plan().monthly_price;
    if price > Money::ZERO && sub.status != SubscriptionStatus::Canceled {
        (Some(sub.period_end), price)
    } else {
        (None, Money::ZERO)
    }
}

/// Whose page a portal view is for: the settings, the session's token as its address carries
/// it, and the page's language (the words the server writes into the view).
pub struct PortalPage<'a> {
    pub config: &'a Config,
    pub token: &'a SessionToken,
    pub i18n: &'a i18n::I18n,
}

/// What the portal page of `page.token` (the session `session`) shows.
pub fn portal_view(
    conn: &Conn<'_>,
    page: &PortalPage<'_>,
    session: &PortalSession,
    sub: &Subscription,
    now: OffsetDateTime,
) -> Result<PortalView, AppError> {
    let PortalPage { config, token, i18n } = *page;
    let account = store::get_account(conn, &session.account_id)?.ok_or(AppError::NoSubscription)?;
    let payment_method = match &sub.payment_method_id {
        Some(id) => store::get_payment_method(conn, id)?.map(|pm| pm.card),
        None => None,
    };
    let (next_renewal_at, mut next_renewal_amount) = next_renewal(sub);
    let running = crate::promotions::running_discount(conn, &sub.account_id)?;
    let running = running.filter(|d| d.ends_at().is_none_or(|end| end > sub.period_end));
    if let (Some(discount), Some(at)) = (&running, next_renewal_at) {
        let next_plan = sub.scheduled_plan.unwrap_or(sub.plan);
        next_renewal_amount = discount.renewal_amount(next_plan, at);
    }
    let usage = match sub.status {
        SubscriptionStatus::Canceled => None,
        _ => Some(crate::usage::portal_usage(conn, &sub.account_id, now)?),
    };
    Ok(PortalView {
        test_mode: config.test_mode,
        branding: config.branding.clone(),
        return_url: crate::config::return_url_with_session(&session.return_url, token.whole()),
        email: account.email,
        subscription: PortalSubscription {
            plan: sub.plan.into(),
            status: sub.status,
            period: Period { start: sub.period_start, end: sub.period_end },
            next_renewal_at,
            next_renewal_amount,
            scheduled_change: sub.scheduled_plan.map(|plan| ScheduledChange { plan, effective_at: sub.period_end }),
            cancel_at_period_end: sub.cancel_at_period_end,
            discount: running.map(|d| d.view()),
        },
        payment_method,
        plans: PlanId::ALL.into_iter().map(PlanSummary::from).collect(),
        overage_enabled: sub.overage_enabled,
        usage: usage.as_ref().map(|(totals, _)| totals.clone()),
        credits_card: usage.map(|(_, facts)| {
            let limit_link = sub.overage_enabled.then(|| format!("/portal/{}/spending-limit", token.whole()));
            views::usage_card::credits_markup(i18n, &facts, limit_link.as_deref())
        }),
        amount_due: super::account::amount_due(conn, sub)?,
        stripe: crate::checkout::rules::stripe_elements(config),
    })
}

/// Today's charge for moving `sub` to `target` at `now`.
pub fn quote(conn: &Conn<'_>, sub: &Subscription, target: PlanId, now: OffsetDateTime) -> Result<Quote, AppError> {
    if sub.status == SubscriptionStatus::Canceled {
        return Err(AppError::NoSubscription);
    }
    let history =
        PaidHistory { plan: sub.plan, first_paid_at: sub.first_paid_at, paid_this_period: sub.paid_this_period };
    let quote = proration::quote_change(&history, target, now).map_err(|e| match e {
        QuoteError::SamePlan => AppError::InvalidRequest("That is already your plan. Choose a different one.".into()),
        other => AppError::internal_from("quoting a change", other),
    })?;
    // A discount still running takes its share of the upgrade; one that stopped keeps what it gave.
    Ok(match crate::promotions::running_discount(conn, &sub.account_id)? {
        Some(discount) => discount.apply_to_change(quote, &history, now),
        None => quote,
    })
}

/// What a confirmed change needs next.
#[derive(Debug)]
pub enum ChangeStep {
    /// Done without a charge (a downgrade, scheduled for the next period).
    Done(ChangeOutcome),
    /// An upgrade: charge the card on file this amount, then [`record_upgrade`].
    Charge { pm: PaymentMethod, amount: Money },
}

/// Starts a confirmed change at the price the user saw. Downgrades are scheduled for the next
/// period and charge nothing; upgrades are charged to the card on file (outside this
/// transaction).
pub fn begin_change(
    conn: &Conn<'_>,
    session: &PortalSession,
    mut sub: Subscription,
    target: PlanId,
    expected_total: Money,
    now: OffsetDateTime,
) -> Result<ChangeStep, AppError> {
    let quote = quote(conn, &sub, target, now)?;
    if quote.total_due_today != expected_total {
        return Err(AppError::QuoteChanged);
    }
    if quote.kind == ChangeKind::Downgrade {
        let from = sub.plan;
        sub.scheduled_plan = Some(target);
        sub.cancel_at_period_end = false;
        store::save_subscription(conn, &sub)?;
        events::subscription_event(conn, EventType::SubscriptionUpdated, &sub.account_id, now)?;
        tracing::info!(session = %crate::ids::redact(&session.id), %from, %target, "downgrade scheduled");
        return Ok(ChangeStep::Done(ChangeOutcome::Succeeded { change: receipt(&quote, from, None, None) }));
    }
    let Some(pm_id) = sub.payment_method_id.clone() else {
        // Free for good, so no card: an upgrade the discount covers in full, today and at every
        // renewal, has nothing to charge and happens here; anything more needs a card first
        // (a renewal with no card would fail).
        if quote.total_due_today != Money::ZERO || quote.next_renewal_amount != Money::ZERO {
            return Err(AppError::InvalidPaymentMethod);
        }
        let from = sub.plan;
        let invoice = apply_upgrade(conn, &mut sub, &quote, None, now)?;
        tracing::info!(session = %crate::ids::redact(&session.id), %from, %target, "upgrade at no charge, no card");
        return Ok(ChangeStep::Done(ChangeOutcome::Succeeded { change: receipt(&quote, from, None, Some(invoice)) }));
    };
    let pm = store::get_payment_method(conn, &pm_id)?.ok_or(AppError::InvalidPaymentMethod)?;
    Ok(ChangeStep::Charge { pm, amount: quote.total_due_today })
}

/// Moves `sub` to the quote's plan now, with the paid invoice for what it cost (on `pm_id`, the
/// card charged, if any) and the events; the invoice's number.
fn apply_upgrade(
    conn: &Conn<'_>,
    sub: &mut Subscription,
    quote: &Quote,
    pm_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<String, AppError> {
    let mut invoice = invoice_from_quote(&sub.account_id, quote, pm_id.unwrap_or_default(), now);
    invoice.payment_method_id = pm_id.map(str::to_string);
    let invoice = store::insert_invoice(conn, invoice)?;
    if let Some(pm_id) = pm_id {
        store::record_payment(conn, pm_id, &sub.account_id)?;
    }
    sub.plan = quote.to_plan;
    // The whole period's usage counts against the new plan's credits from now on.
    let period = Period { start: sub.period_start, end: sub.period_end };
    crate::usage::rerate(conn, &sub.account_id, period, quote.to_plan)?;
    sub.paid_this_period =
        sub.paid_this_period.checked_add(quote.total_due_today).ok_or_else(|| AppError::internal("overflow"))?;
    sub.scheduled_plan = None;
    sub.cancel_at_period_end = false;
    store::save_subscription(conn, sub)?;
    events::invoice_event(conn, EventType::InvoicePaid, &invoice, now)?;
    events::subscription_event(conn, EventType::SubscriptionUpdated, &sub.account_id, now)?;
    Ok(invoice.number)
}

/// An upgrade's charge as the processor answered it: in which session, to which plan at which
/// total (as quoted on the page), on which card.
#[derive(Clone, Copy)]
pub struct ChargedUpgrade<'a> {
    pub session: &'a PortalSession,
    pub target: PlanId,
    pub expected_total: Money,
    pub pm: &'a PaymentMethod,
    pub charged: &'a Charged,
}

/// Acts on an upgrade's charge: the new plan (a decline leaves the plan as it was), or a 3-D
/// Secure challenge. The quote is made again: the charge stands only at the price it was for.
#[allow(clippy::too_many_arguments)]
pub fn record_upgrade(
    conn: &Conn<'_>,
    mut sub: Subscription,
    upgrade: &ChargedUpgrade<'_>,
    now: OffsetDateTime,
) -> Result<ChangeOutcome, AppError> {
    let ChargedUpgrade { session, target, expected_total, pm, charged } = *upgrade;
    let quote = quote(conn, &sub, target, now)?;
    if quote.total_due_today != expected_total || quote.kind == ChangeKind::Downgrade {
        return Err(AppError::QuoteChanged);
    }
    let from = sub.plan;
    match charged.result {
        ChargeResult::Succeeded => {
            let invoice = apply_upgrade(conn, &mut sub, &quote, Some(&pm.card.id), now)?;
            tracing::info!(session = %crate::ids::redact(&session.id), %from, %target, amount = quote.total_due_today.cents(), "upgrade paid");
            Ok(ChangeOutcome::Succeeded { change: receipt(&quote, from, Some(pm.card.clone()), Some(invoice)) })
        }
        ChargeResult::RequiresAuthentication => {
            let challenge = store::Challenge {
                plan: Some(target),
                expected_total: Some(expected_total),
                intent_id: charged.intent.as_ref().map(|i| i.id.clone()),
                ..store::Challenge::new(&session.id, &pm.card.id)
            };
            let challenge_id = crate::payments::limits::open_challenge(conn, &challenge, session.expires_at, now)?;
            let client_secret = charged.intent.as_ref().and_then(|i| i.client_secret.clone());
            Ok(ChangeOutcome::RequiresAction { challenge_id, client_secret })
        }
        ChargeResult::Unknown => Err(AppError::ProcessorUnavailable),
        ChargeResult::Declined(code) => {
            tracing::info!(session = %crate::ids::redact(&session.id), ?code, "upgrade declined");
            Ok(declined(code))
        }
    }
}

/// A declined upgrade: the reason, and that the plan has not changed.
pub fn declined(code: DeclineCode) -> ChangeOutcome {
    ChangeOutcome::Declined {
        decline: Decline {
            code,
            message: format!("{} Your plan has not changed.", code.message()),
            plan_unchanged: true,
        },
    }
}

fn receipt(
    quote: &Quote,
    from: PlanId,
    card: Option<billing::wire::CardSummary>,
    invoice_number: Option<String>,
) -> ChangeReceipt {
    ChangeReceipt {
        kind: quote.kind,
        from_plan: from.into(),
        to_plan: quote.to_plan.into(),
        amount_charged: quote.total_due_today,
        card,
        effective_at: quote.effective_at,
        invoice_number,
        next_renewal_at: quote.next_renewal_at,
        next_renewal_amount: quote.next_renewal_amount,
    }
}

/// Undoes a scheduled downgrade: the current plan simply renews.
pub fn keep_current_plan(conn: &Conn<'_>, sub: &mut Subscription, now: OffsetDateTime) -> Result<(), AppError> {
    sub.scheduled_plan = None;
    store::save_subscription(conn, sub)?;
    events::subscription_event(conn, EventType::SubscriptionUpdated, &sub.account_id, now)
}
