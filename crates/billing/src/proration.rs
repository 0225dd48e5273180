//! Proration and plan changes (SPEC section 3) as pure functions from a subscription's history,
//! a target plan and "now" to a [`Quote`]: every line of today's charge, the total, when the
//! change takes effect and what the next renewal will be.
//!
//! One rule covers new subscriptions and every upgrade: today's charge is the target plan's price
//! for the part of this period since the user became paid (the whole period from the second paid
//! month on), minus what was already paid this period, never below zero.

pub use crate::lines::{LineItem, LineLabel};
use crate::money::Money;
use crate::period::{Period, short_date};
use crate::plans::PlanId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What the server knows about a paid subscription when a change is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidHistory {
    pub plan: PlanId,
    /// The moment the account first became paid.
    pub first_paid_at: OffsetDateTime,
    /// What has been charged for the period that contains "now".
    pub paid_this_period: Money,
}

crate::wire_string_enum! {
    /// What a quote does to the subscription.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ChangeKind {
        NewSubscription = "new_subscription",
        Upgrade = "upgrade",
        Downgrade = "downgrade",
        Cancel = "cancel",
    }
}

/// Everything the user is shown before anything is charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub kind: ChangeKind,
    pub from_plan: Option<PlanId>,
    pub to_plan: PlanId,
    pub lines: Vec<LineItem>,
    pub total_due_today: Money,
    /// When the new plan applies: now for new subscriptions and upgrades, the next period's start
    /// for downgrades and cancellations.
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
    pub takes_effect_now: bool,
    /// The next charge, if the subscription stays paid.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_renewal_at: Option<OffsetDateTime>,
    pub next_renewal_amount: Money,
    pub period: Period,
    /// A promotion's discount on this charge and what follows it (issue 22); absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<crate::coupon::DiscountSummary>,
    /// A running discount this change is not covered by, said before it is confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_note: Option<String>,
    /// What `discount_note` says, as data, for a page in another language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_covered: Option<crate::coupon::NotCovered>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteError {
    /// The target is the plan the account already has.
    SamePlan,
    /// A new subscription must be to a paid plan.
    NotAPaidPlan,
    /// Amounts out of range (cannot happen with the catalog's prices).
    Overflow,
}

impl std::fmt::Display for QuoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QuoteError::SamePlan => "the target is the plan the account already has",
            QuoteError::NotAPaidPlan => "a new subscription must be to a paid plan",
            QuoteError::Overflow => "an amount is out of range",
        })
    }
}

impl std::error::Error for QuoteError {}

/// The first charge of a new subscription bought at `now`: the plan's price for what is left of
/// this calendar month.
pub fn quote_new_subscription(plan: PlanId, now: OffsetDateTime) -> Result<Quote, QuoteError> {
    if !plan.is_paid() {
        return Err(QuoteError::NotAPaidPlan);
    }
    let period = Period::containing(now);
    let line = prorated_line(plan, now, period)?;
    let total = line.amount;
    Ok(Quote {
        kind: ChangeKind::NewSubscription,
        from_plan: None,
        to_plan: plan,
        lines: vec![line],
        total_due_today: total,
        effective_at: now,
        takes_effect_now: true,
        next_renewal_at: Some(period.end),
        next_renewal_amount: plan.plan().monthly_price,
        period,
        discount: None,
        discount_note: None,
        not_covered: None,
    })
}

/// A change from the current paid plan to `target` at `now`.
pub fn quote_change(history: &PaidHistory, target: PlanId, now: OffsetDateTime) -> Result<Quote, QuoteError> {
    let current = history.plan;
    if target == current {
        return Err(QuoteError::SamePlan);
    }
    let period = Period::containing(now);
    let current_price = current.plan().monthly_price;
    let target_price = target.plan().monthly_price;
    if target_price <= current_price {
        // Downgrades never refund: the lower plan starts with the next period.
        return Ok(Quote {
            kind: ChangeKind::Downgrade,
            from_plan: Some(current),
            to_plan: target,
            lines: Vec::new(),
            total_due_today: Money::ZERO,
            effective_at: period.end,
            takes_effect_now: false,
            next_renewal_at: target.is_paid().then_some(period.end),
            next_renewal_amount: target_price,
            period,
            discount: None,
            discount_note: None,
            not_covered: None,
        });
    }
    let rated_from = rated_from(history, period);
    let new_line = prorated_line(target, rated_from, period)?;
    let mut lines = vec![new_line.clone()];
    if history.paid_this_period > Money::ZERO {
        lines.push(LineItem::new(
            format!("Already paid for {} this month", current.plan().name),
            history.paid_this_period.checked_neg().ok_or(QuoteError::Overflow)?,
            LineLabel::AlreadyPaid { plan: current },
        ));
    }
    let total = new_line.amount.checked_sub(history.paid_this_period).ok_or(QuoteError::Overflow)?.at_least_zero();
    Ok(Quote {
        kind: ChangeKind::Upgrade,
        from_plan: Some(current),
        to_plan: target,
        lines,
        total_due_today: total,
        effective_at: now,
        takes_effect_now: true,
        next_renewal_at: Some(period.end),
        next_renewal_amount: target_price,
        period,
        discount: None,
        discount_note: None,
        not_covered: None,
    })
}

/// Cancelling keeps the plan to the end of the period and charges nothing more.
pub fn quote_cancel(history: &PaidHistory, now: OffsetDateTime) -> Quote {
    let period = Period::containing(now);
    Quote {
        kind: ChangeKind::Cancel,
        from_plan: Some(history.plan),
        to_plan: PlanId::Free,
        lines: Vec::new(),
        total_due_today: Money::ZERO,
        effective_at: period.end,
        takes_effect_now: false,
        next_renewal_at: None,
        next_renewal_amount: Money::ZERO,
        period,
        discount: None,
        discount_note: None,
        not_covered: None,
    }
}

/// Where an upgrade re-rates this period from: the moment the user became paid, or the start of
/// this period when that was in an earlier one.
pub fn rated_from(history: &PaidHistory, period: Period) -> OffsetDateTime {
    history.first_paid_at.max(period.start)
}

/// What the current plan is worth, at its list price, for the part of this period an upgrade
/// re-rates.
pub fn current_plan_worth(history: &PaidHistory, period: Period) -> Option<Money> {
    prorated_line(history.plan, rated_from(history, period), period).ok().map(|l| l.amount)
}

/// `plan`'s price for the part of `period` from `from` to its end, as a described line.
fn prorated_line(plan: PlanId, from: OffsetDateTime, period: Period) -> Result<LineItem, QuoteError> {
    let price = plan.plan().monthly_price;
    let amount = price.mul_ratio(period.days_left_from(from), period.total_days()).ok_or(QuoteError::Overflow)?;
    if from <= period.start {
        return Ok(LineItem::plan_month(plan, period.start, amount));
    }
    let description = format!("{} from {} to {}", plan.plan().name, short_date(from), short_date(period.end));
    Ok(LineItem::new(description, amount, LineLabel::PlanPeriod { plan, from, to: period.end }))
}

crate::from_json_struct!(Quote {
    kind,
    from_plan,
    to_plan,
    lines,
    total_due_today,
    effective_at,
    takes_effect_now,
    next_renewal_at,
    next_renewal_amount,
    period,
    discount,
    discount_note,
    not_covered,
});

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn cents(c: i64) -> Money {
        Money::from_cents(c)
    }

    #[test]
    fn pro_bought_with_15_of_30_days_left_is_ten_dollars() {
        let q = quote_new_subscription(PlanId::Pro, datetime!(2026-11-16 00:00 UTC)).unwrap();
        assert_eq!(q.total_due_today, cents(1000));
        assert_eq!(
            q.lines,
            vec![LineItem::new(
                "Kiro Pro from Nov 16 to Dec 1".into(),
                cents(1000),
                LineLabel::PlanPeriod {
                    plan: PlanId::Pro,
                    from: datetime!(2026-11-16 00:00 UTC),
                    to: datetime!(2026-12-01 00:00 UTC)
                }
            )]
        );
        assert_eq!(q.next_renewal_at, Some(datetime!(2026-12-01 00:00 UTC)));
        assert_eq!(q.next_renewal_amount, cents(2000));
        assert!(q.takes_effect_now);
    }

    #[test]
    fn pro_to_pro_plus_later_in_the_first_month_is_ten_dollars_net() {
        let history = PaidHistory {
            plan: PlanId::Pro,
            first_paid_at: datetime!(2026-11-16 00:00 UTC),
            paid_this_period: cents(1000),
        };
        let q = quote_change(&history, PlanId::ProPlus, datetime!(2026-11-25 15:30 UTC)).unwrap();
        assert_eq!(q.kind, ChangeKind::Upgrade);
        assert_eq!(q.total_due_today, cents(1000));
        assert_eq!(
            q.lines,
            vec![
                LineItem::new(
                    "Kiro Pro+ from Nov 16 to Dec 1".into(),
                    cents(2000),
                    LineLabel::PlanPeriod {
                        plan: PlanId::ProPlus,
                        from: datetime!(2026-11-16 00:00 UTC),
                        to: datetime!(2026-12-01 00:00 UTC)
                    }
                ),
                LineItem::new(
                    "Already paid for Kiro Pro this month".into(),
                    cents(-1000),
                    LineLabel::AlreadyPaid { plan: PlanId::Pro }
                ),
            ]
        );
        assert_eq!(q.next_renewal_amount, cents(4000));
    }

    #[test]
    fn from_the_second_month_upgrades_cost_the_full_difference() {
        let history = PaidHistory {
            plan: PlanId::Pro,
            first_paid_at: datetime!(2026-11-16 00:00 UTC),
            paid_this_period: cents(2000),
        };
        for now in [datetime!(2026-12-01 00:00 UTC), datetime!(2026-12-02 09:00 UTC), datetime!(2026-12-31 23:59 UTC)] {
            let plus = quote_change(&history, PlanId::ProPlus, now).unwrap();
            assert_eq!(plus.total_due_today, cents(2000), "{now}");
            assert_eq!(plus.lines[0].description, "Kiro Pro+ for December 2026");
            let power = quote_change(&history, PlanId::Power, now).unwrap();
            assert_eq!(power.total_due_today, cents(18000), "{now}");
        }
    }

    #[test]
    fn downgrade_charges_nothing_and_waits_for_the_first() {
        let history = PaidHistory {
            plan: PlanId::Power,
            first_paid_at: datetime!(2026-10-03 00:00 UTC),
            paid_this_period: cents(20000),
        };
        let q = quote_change(&history, PlanId::Pro, datetime!(2026-11-20 10:00 UTC)).unwrap();
        assert_eq!(q.kind, ChangeKind::Downgrade);
        assert_eq!(q.total_due_today, Money::ZERO);
        assert!(q.lines.is_empty());
        assert_eq!(q.effective_at, datetime!(2026-12-01 00:00 UTC));
        assert!(!q.takes_effect_now);
        assert_eq!(q.next_renewal_amount, cents(2000));

        let to_free = quote_change(&history, PlanId::Free, datetime!(2026-11-20 10:00 UTC)).unwrap();
        assert_eq!(to_free.kind, ChangeKind::Downgrade);
        assert_eq!(to_free.next_renewal_at, None);
        assert_eq!(to_free.next_renewal_amount, Money::ZERO);
    }

    #[test]
    fn cancel_keeps_the_plan_to_the_end_of_the_period() {
        let history = PaidHistory {
            plan: PlanId::Pro,
            first_paid_at: datetime!(2026-10-03 00:00 UTC),
            paid_this_period: cents(2000),
        };
        let q = quote_cancel(&history, datetime!(2026-11-20 10:00 UTC));
        assert_eq!(q.total_due_today, Money::ZERO);
        assert_eq!(q.effective_at, datetime!(2026-12-01 00:00 UTC));
        assert_eq!(q.next_renewal_at, None);
    }

    #[test]
    fn same_plan_and_free_checkout_are_refused() {
        let history = PaidHistory {
            plan: PlanId::Pro,
            first_paid_at: datetime!(2026-10-03 00:00 UTC),
            paid_this_period: cents(2000),
        };
        assert_eq!(quote_change(&history, PlanId::Pro, datetime!(2026-11-20 10:00 UTC)), Err(QuoteError::SamePlan));
        assert_eq!(
            quote_new_subscription(PlanId::Free, datetime!(2026-11-20 10:00 UTC)),
            Err(QuoteError::NotAPaidPlan)
        );
    }

    #[test]
    fn months_of_28_29_30_and_31_days() {
        // Whole days left, today included: 14/28 and 15/30 are half the price; 15/29 and 15/31
        // are rounded to the nearest cent.
        for (now, expected) in [
            (datetime!(2026-02-15 00:00 UTC), 1000),
            (datetime!(2026-11-16 12:00 UTC), 1000),
            (datetime!(2028-02-15 12:00 UTC), 1034),
            (datetime!(2026-12-17 18:00 UTC), 968),
        ] {
            assert_eq!(quote_new_subscription(PlanId::Pro, now).unwrap().total_due_today, cents(expected), "{now}");
        }
        // One day left: 1/28, 1/29, 1/30, 1/31 of $20, rounded.
        assert_eq!(
            quote_new_subscription(PlanId::Pro, datetime!(2026-02-28 00:00 UTC)).unwrap().total_due_today,
            cents(71)
        );
        assert_eq!(
            quote_new_subscription(PlanId::Pro, datetime!(2028-02-29 00:00 UTC)).unwrap().total_due_today,
            cents(69)
        );
        assert_eq!(
            quote_new_subscription(PlanId::Pro, datetime!(2026-11-30 00:00 UTC)).unwrap().total_due_today,
            cents(67)
        );
        assert_eq!(
            quote_new_subscription(PlanId::Pro, datetime!(2026-12-31 00:00 UTC)).unwrap().total_due_today,
            cents(65)
        );
    }

    #[test]
    fn at_the_period_boundary_the_whole_month_is_charged() {
        let q = quote_new_subscription(PlanId::ProPlus, datetime!(2026-12-01 00:00 UTC)).unwrap();
        assert_eq!(q.total_due_today, cents(4000));
        assert_eq!(q.lines[0].description, "Kiro Pro+ for December 2026");
        assert_eq!(q.next_renewal_at, Some(datetime!(2027-01-01 00:00 UTC)));
        // The last day of the month is a whole day: 1/30 of Kiro Power's $200.00.
        let q = quote_new_subscription(PlanId::Power, datetime!(2026-11-30 23:59:59 UTC)).unwrap();
        assert_eq!(q.total_due_today, cents(667));
    }

    #[test]
    fn the_price_holds_all_day_and_changes_at_midnight_utc() {
        let morning = quote_new_subscription(PlanId::Power, datetime!(2026-11-26 00:00 UTC)).unwrap();
        for later in
            [datetime!(2026-11-26 00:02 UTC), datetime!(2026-11-26 13:37 UTC), datetime!(2026-11-26 23:59:59 UTC)]
        {
            assert_eq!(quote_new_subscription(PlanId::Power, later).unwrap().total_due_today, morning.total_due_today);
        }
        // 5 of 30 days left (26th to 30th): $200.00 x 5/30 = $33.33.
        assert_eq!(morning.total_due_today, cents(3333));
        let next_day = quote_new_subscription(PlanId::Power, datetime!(2026-11-27 00:00 UTC)).unwrap();
        assert_eq!(next_day.total_due_today, cents(2667));
    }

    #[test]
    fn every_supported_instant_quotes_without_panicking() {
        for now in [crate::period::EARLIEST_SUPPORTED, crate::period::LATEST_SUPPORTED] {
            for plan in PlanId::ALL.into_iter().filter(|p| p.is_paid()) {
                let q = quote_new_subscription(plan, now).unwrap();
                assert!(q.total_due_today <= plan.plan().monthly_price);
            }
        }
    }

    fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
        // 2000-01-01 .. 2100-01-01
        (946_684_800i64..4_102_444_800i64).prop_map(|s| OffsetDateTime::from_unix_timestamp(s).unwrap())
    }

    /// Any instant the server's clock accepts.
    fn any_supported_instant() -> impl Strategy<Value = OffsetDateTime> {
        let (low, high) = (crate::period::EARLIEST_SUPPORTED, crate::period::LATEST_SUPPORTED);
        (low.unix_timestamp()..=high.unix_timestamp()).prop_map(|s| OffsetDateTime::from_unix_timestamp(s).unwrap())
    }

    fn any_plan() -> impl Strategy<Value = PlanId> {
        prop::sample::select(PlanId::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn periods_and_quotes_are_total_over_the_supported_range(
            now in any_supported_instant(),
            first_paid_back in 0i64..40 * 86_400,
            paid in 0i64..20_000,
            from in any_plan(),
            to in any_plan(),
        ) {
            let period = Period::containing(now);
            prop_assert!(period.start <= now && now < period.end);
            prop_assert!((28..=31).contains(&period.total_days()));
            let days_left = period.days_left_from(now);
            prop_assert!((1..=period.total_days()).contains(&days_left));
            let first_paid_at = (now - time::Duration::seconds(first_paid_back)).max(crate::period::EARLIEST_SUPPORTED);
            if to.is_paid() {
                prop_assert!(quote_new_subscription(to, now).is_ok());
            }
            if from.is_paid() && from != to {
                let history = PaidHistory { plan: from, first_paid_at, paid_this_period: cents(paid) };
                let q = quote_change(&history, to, now);
                prop_assert!(q.is_ok());
            }
            let next = Period::containing(period.end);
            prop_assert!(next.start == period.end && next.end > next.start);
        }

        #[test]
        fn no_quote_is_ever_negative(first_paid in any_instant(), later in 0i64..80_000_000, paid in 0i64..100_000, from in any_plan(), to in any_plan()) {
            let now = first_paid + time::Duration::seconds(later);
            if from.is_paid() {
                let history = PaidHistory { plan: from, first_paid_at: first_paid, paid_this_period: cents(paid) };
                if let Ok(q) = quote_change(&history, to, now) {
                    prop_assert!(q.total_due_today >= Money::ZERO);
                }
            }
            if let Ok(q) = quote_new_subscription(to, now) {
                prop_assert!(q.total_due_today >= Money::ZERO);
                prop_assert!(q.total_due_today <= to.plan().monthly_price);
            }
        }

        #[test]
        fn upgrades_in_the_first_month_add_up_to_the_last_plan_prorated(
            first_paid in any_instant(),
            steps in prop::collection::vec(0u32..1_000_000, 1..4),
        ) {
            let period = Period::containing(first_paid);
            let mut plan = PlanId::Pro;
            let mut paid = quote_new_subscription(plan, first_paid).unwrap().total_due_today;
            let mut now = first_paid;
            let mut step_count = 0i64;
            for (i, advance) in steps.iter().enumerate() {
                let target = match plan { PlanId::Pro => PlanId::ProPlus, _ => PlanId::Power };
                if plan == PlanId::Power || i > 1 { break; }
                let next = now + time::Duration::seconds(i64::from(*advance));
                if next >= period.end { break; }
                now = next;
                let history = PaidHistory { plan, first_paid_at: first_paid, paid_this_period: paid };
                let q = quote_change(&history, target, now).unwrap();
                paid = paid.checked_add(q.total_due_today).unwrap();
                plan = target;
                step_count += 1;
            }
            let expected = plan.plan().monthly_price.mul_ratio(period.days_left_from(first_paid), period.total_days()).unwrap();
            prop_assert!((paid.cents() - expected.cents()).abs() <= step_count + 1);
        }
    }
}
