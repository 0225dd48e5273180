//! Paid subscriptions: starting one with its first invoice, how the IDE's backend sees one, and
//! the events every change records.

pub mod events;
pub mod handlers;

use crate::error::AppError;
use crate::ids::new_id;
use crate::payments::test_cards::CardBehavior;
use crate::store::Conn;
use crate::store::{self, Account, Invoice, PaymentMethod, Subscription};
use billing::discount::Discount;
use billing::period::Period;
use billing::proration::{self, Quote};
use billing::validate;
use billing::wire::{InvoiceStatus, SubscriptionStatus, SubscriptionView};
use billing::{Money, PlanId};
use time::OffsetDateTime;

/// A new paid subscription to `plan` from `now`: the first (prorated) charge's invoice, the card
/// counted as used, and the subscription itself.
pub fn start_subscription(
    conn: &Conn<'_>,
    account_id: &str,
    plan: PlanId,
    pm_id: Option<&str>,
    discount: Option<&Discount>,
    now: OffsetDateTime,
) -> Result<(Quote, Invoice), AppError> {
    let quote = proration::quote_new_subscription(plan, now)
        .map_err(|e| AppError::internal_from("quoting a new subscription", e))?;
    let quote = match discount {
        Some(discount) => discount.apply(quote, now),
        None => quote,
    };
    let mut invoice = invoice_from_quote(account_id, &quote, pm_id.unwrap_or_default(), now);
    invoice.payment_method_id = pm_id.map(str::to_string);
    let invoice = store::insert_invoice(conn, invoice)?;
    if let Some(pm_id) = pm_id {
        store::record_payment(conn, pm_id, account_id)?;
    }
    let started = store::insert_subscription(
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
            payment_method_id: pm_id.map(str::to_string),
        },
    )?;
    if !started {
        return Err(AppError::AlreadySubscribed);
    }
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
        status: InvoiceStatus::Paid,
        payment_method_id: Some(pm_id.to_string()),
        after_payment: Default::default(),
    }
}

/// The subscription as the IDE's backend sees it. Accounts without one are on Free.
pub fn subscription_view(conn: &Conn<'_>, account_id: &str) -> Result<SubscriptionView, AppError> {
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
                spending_limit: store::spending_limit(conn, account_id)?,
                cancellation_reason: match s.status {
                    SubscriptionStatus::Canceled => store::cancellation_reason(conn, account_id)?,
                    _ => None,
                },
                discount: match s.status {
                    SubscriptionStatus::Canceled => None,
                    _ => still_running(conn, account_id, s.period_end)?,
                },
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
            spending_limit: None,
            cancellation_reason: None,
            discount: None,
        },
    })
}

/// The account's discount while it covers a charge from `next_charge_at` on.
fn still_running(
    conn: &Conn<'_>,
    account_id: &str,
    next_charge_at: OffsetDateTime,
) -> Result<Option<billing::discount::DiscountView>, AppError> {
    let running = crate::promotions::running_discount(conn, account_id)?;
    Ok(running.filter(|d| d.ends_at().is_none_or(|end| end > next_charge_at)).map(|d| d.view()))
}

/// Gives `account_id` a paid subscription to `plan` bought at `bought_at` with a Visa 4242 (demo).
pub fn seed_subscription(
    conn: &Conn<'_>,
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
            id: new_id("pm").into(),
            brand: validate::CardBrand::Visa,
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2034,
        },
        behavior: CardBehavior::Succeeds.as_str().into(),
        payments: 0,
        stripe_customer: None,
    };
    store::insert_payment_method(conn, &pm, bought_at)?;
    start_subscription(conn, &account.id, plan, Some(&pm.card.id), None, bought_at).map(|_| ())
}
