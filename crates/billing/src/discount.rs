//! Coupons applied to charges (issue 22): what a coupon takes off, which charges its duration
//! covers, and a quote with its discount line.
//!
//! The rounding rule, applied once per charge: a percentage is taken of the charge's plan line
//! (the prorated first month, an upgrade's re-rated line, a renewal's month) and rounded to the
//! nearest cent, halves away from zero ([`Money::mul_ratio`]); an amount off is taken whole. A
//! discount never exceeds the line it applies to, so no total goes below zero.
//!
//! Which charges are covered, as Stripe's coupons: `once` covers the first charge only;
//! `repeating` covers every charge made before `duration_in_months` calendar months after the
//! first (bought on Nov 16 for 3 months: Nov 16's, then Dec 1, Jan 1 and Feb 1's renewals);
//! `forever` covers every charge. A coupon limited to some plans covers charges for those plans
//! only.

pub use crate::coupon::{CouponDuration, CouponTerms, DiscountSummary, DiscountView, NotCovered, Off};
use crate::lines::{LineItem, LineLabel};
use crate::money::Money;
use crate::period::Period;
use crate::plans::PlanId;
use crate::proration::{self, ChangeKind, PaidHistory, Quote};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A coupon an account redeemed (by a promotion code) at `started_at`, its first charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// The customer-facing code, as the buyer sees it on their lines.
    pub code: String,
    pub terms: CouponTerms,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}

impl Discount {
    /// The first instant no charge is covered any more: just after the first charge for `once`,
    /// `duration_in_months` months after it for `repeating`, never for `forever`.
    pub fn ends_at(&self) -> Option<OffsetDateTime> {
        match self.terms.duration {
            CouponDuration::Once => Some(self.started_at + time::Duration::seconds(1)),
            CouponDuration::Repeating { duration_in_months } => Some(add_months(self.started_at, duration_in_months)),
            CouponDuration::Forever => None,
        }
    }

    pub fn view(&self) -> DiscountView {
        DiscountView {
            code: self.code.clone(),
            label: self.terms.off.label(),
            off: Some(self.terms.off),
            duration: self.terms.duration,
            plans: self.terms.plans.clone(),
            started_at: self.started_at,
            ends_at: self.ends_at(),
        }
    }

    /// Whether a charge for `plan` made at `at` is discounted.
    pub fn covers(&self, plan: PlanId, at: OffsetDateTime) -> bool {
        self.terms.covers_plan(plan) && at >= self.started_at && self.ends_at().is_none_or(|end| at < end)
    }

    /// A renewal of `plan` charged at `at`: the list price, less the discount when covered.
    pub fn renewal_amount(&self, plan: PlanId, at: OffsetDateTime) -> Money {
        let price = plan.plan().monthly_price;
        if self.covers(plan, at) { price.checked_sub(self.terms.off.amount_off(price)).unwrap_or(price) } else { price }
    }

    /// The line this discount adds to a charge whose plan line is `line`.
    pub fn line(&self, line: Money) -> LineItem {
        let off = self.terms.off.amount_off(line);
        LineItem::new(
            format!("Promotion {} ({})", self.code, self.terms.off.label()),
            Money::from_cents(-off.cents()),
            LineLabel::Promotion { code: self.code.clone(), off: self.terms.off },
        )
    }

    /// `quote` with this discount, when it covers the quote's plan at `now`: its line after the
    /// plan's line, the total again (never below zero), the next renewal's amount, and the
    /// summary the page shows. Unchanged otherwise.
    pub fn apply(&self, mut quote: Quote, now: OffsetDateTime) -> Quote {
        if let Some(at) = quote.next_renewal_at {
            quote.next_renewal_amount = self.renewal_amount(quote.to_plan, at);
        }
        if !self.covers(quote.to_plan, now) {
            // Said for a downgrade too, though it charges nothing today.
            let running = self.ends_at().is_none_or(|end| end > now);
            if running && quote.to_plan.is_paid() && !self.terms.covers_plan(quote.to_plan) {
                quote.discount_note = Some(format!(
                    "Your promotion {} ({}) doesn't cover {}: it is charged at the full price.",
                    self.code,
                    self.terms.off.label(),
                    quote.to_plan.plan().name
                ));
                quote.not_covered = Some(NotCovered { code: self.code.clone(), off: self.terms.off });
            }
            return quote;
        }
        let Some(plan_line) = quote.lines.first().map(|l| l.amount) else {
            // Nothing charged today (a downgrade, a cancel): only the renewal changes.
            return quote;
        };
        let line = self.line(plan_line);
        let amount_off_today = Money::from_cents(-line.amount.cents());
        quote.lines.insert(1, line);
        let sum = quote.lines.iter().try_fold(Money::ZERO, |sum, l| sum.checked_add(l.amount));
        quote.total_due_today = sum.unwrap_or(quote.total_due_today).at_least_zero();
        quote.discount = Some(DiscountSummary {
            code: self.code.clone(),
            label: self.terms.off.label(),
            off: Some(self.terms.off),
            amount_off_today,
            ends_at: self.ends_at(),
            discounted_renewals: self.discounted_renewals(quote.period.end),
            discounted_renewal_amount: self.renewal_amount(quote.to_plan, now),
            full_renewal_amount: quote.to_plan.plan().monthly_price,
        });
        quote
    }

    /// `quote`, a change of the subscription with `history` quoted at `now`, with this discount.
    /// An upgrade it does not cover (a `once` or ended discount, another plan) is still credited
    /// what the discount took off this period's charges: it never costs more than without the code.
    pub fn apply_to_change(&self, quote: Quote, history: &PaidHistory, now: OffsetDateTime) -> Quote {
        let mut quote = self.apply(quote, now);
        if quote.kind != ChangeKind::Upgrade || self.covers(quote.to_plan, now) {
            return quote;
        }
        let given = self.given_this_period(history, quote.period);
        if given > Money::ZERO {
            quote.lines.push(LineItem::new(
                format!(
                    "Promotion {} ({}) already given on {}",
                    self.code,
                    self.terms.off.label(),
                    history.plan.plan().name
                ),
                Money::from_cents(-given.cents()),
                LineLabel::PromotionGiven { code: self.code.clone(), off: self.terms.off, plan: history.plan },
            ));
            let sum = quote.lines.iter().try_fold(Money::ZERO, |sum, l| sum.checked_add(l.amount));
            quote.total_due_today = sum.unwrap_or(quote.total_due_today).at_least_zero();
        }
        quote
    }

    /// What this discount took off the current plan's charges this period: what was not paid of
    /// the plan's list price for it, at most what the discount takes off that price; nothing when
    /// the discount did not run when the period's charge was made.
    fn given_this_period(&self, history: &PaidHistory, period: Period) -> Money {
        let charged_at = proration::rated_from(history, period);
        let ran = charged_at >= self.started_at && self.ends_at().is_none_or(|end| charged_at < end);
        let Some(worth) = proration::current_plan_worth(history, period).filter(|_| ran) else {
            return Money::ZERO;
        };
        let unpaid = worth.checked_sub(history.paid_this_period).unwrap_or(Money::ZERO).at_least_zero();
        unpaid.min(self.terms.off.amount_off(worth))
    }

    /// Renewals on the 1st from `first_renewal` on that are still covered (`None`: all of them).
    fn discounted_renewals(&self, first_renewal: OffsetDateTime) -> Option<u32> {
        let end = self.ends_at()?;
        let mut count = 0;
        let mut at = first_renewal;
        while at < end && count < 1200 {
            count += 1;
            at = crate::period::Period::containing(at).end;
        }
        Some(count)
    }
}

/// What follows today's charge, in words: `then $16.00 per month for 3 months, then $20.00`.
pub fn what_follows(summary: &DiscountSummary) -> String {
    let (discounted, full) = (summary.discounted_renewal_amount, summary.full_renewal_amount);
    match summary.discounted_renewals {
        None => format!("then {discounted} per month"),
        Some(0) => format!("then {full} per month"),
        Some(1) => format!("then {discounted} for 1 month, then {full} per month"),
        Some(n) => format!("then {discounted} per month for {n} months, then {full}"),
    }
}

/// Whether a quote asks nothing today nor ever after (100% off forever): no card is needed.
pub fn free_forever(quote: &Quote) -> bool {
    quote.total_due_today == Money::ZERO
        && quote
            .discount
            .as_ref()
            .is_some_and(|d| d.discounted_renewals.is_none() && d.discounted_renewal_amount == Money::ZERO)
}

/// A running discount in one sentence, for the portal: `Promotion LAUNCH: 20% off your payments
/// until February 16, 2027.`
pub fn running_sentence(view: &DiscountView) -> String {
    let until = match view.ends_at {
        Some(at) => format!("until {}", crate::period::long_date(at)),
        None => "for as long as you stay subscribed".to_string(),
    };
    let plans = match &view.plans {
        Some(plans) => {
            let names: Vec<&str> = plans.iter().map(|p| p.plan().name).collect();
            format!(" ({} only)", names.join(", "))
        }
        None => String::new(),
    };
    format!("Promotion {}: {} your payments{plans} {until}.", view.code, view.label)
}

/// `at` moved `months` calendar months on, the day clamped to the month's last (Jan 31 + 1 month
/// is Feb 28 or 29).
pub fn add_months(at: OffsetDateTime, months: u32) -> OffsetDateTime {
    let month0 = i64::from(u8::from(at.month())) - 1 + i64::from(months);
    let year = i64::from(at.year()) + month0.div_euclid(12);
    let month = u8::try_from(month0.rem_euclid(12) + 1).unwrap_or(1);
    let (Ok(year), Ok(month)) = (i32::try_from(year), time::Month::try_from(month)) else {
        return at;
    };
    let day = at.day().min(time::util::days_in_month(month, year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(date) => at.replace_date(date),
        Err(_) => at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proration::{quote_change, quote_new_subscription};
    use proptest::prelude::*;
    use time::macros::datetime;

    fn cents(c: i64) -> Money {
        Money::from_cents(c)
    }

    fn discount(off: Off, duration: CouponDuration, started_at: OffsetDateTime) -> Discount {
        Discount { code: "LAUNCH".into(), terms: CouponTerms { off, duration, plans: None }, started_at }
    }

    #[test]
    fn twenty_percent_for_three_months_on_pro_bought_mid_month() {
        let now = datetime!(2026-11-16 00:00 UTC);
        let d = discount(Off::Percent(20), CouponDuration::Repeating { duration_in_months: 3 }, now);
        let q = d.apply(quote_new_subscription(PlanId::Pro, now).unwrap(), now);
        assert_eq!(
            q.lines[1],
            LineItem::new(
                "Promotion LAUNCH (20% off)".into(),
                cents(-200),
                LineLabel::Promotion { code: "LAUNCH".into(), off: Off::Percent(20) }
            )
        );
        assert_eq!(q.total_due_today, cents(800));
        assert_eq!(q.next_renewal_amount, cents(1600));
        let summary = q.discount.unwrap();
        assert_eq!(summary.ends_at, Some(datetime!(2027-02-16 00:00 UTC)));
        assert_eq!(summary.discounted_renewals, Some(3));
        assert_eq!(what_follows(&summary), "then $16.00 per month for 3 months, then $20.00");
        // Dec 1, Jan 1, Feb 1 discounted; Mar 1 at the list price.
        assert_eq!(d.renewal_amount(PlanId::Pro, datetime!(2027-02-01 00:00 UTC)), cents(1600));
        assert_eq!(d.renewal_amount(PlanId::Pro, datetime!(2027-03-01 00:00 UTC)), cents(2000));
    }

    #[test]
    fn once_covers_the_first_charge_only_and_forever_every_one() {
        let now = datetime!(2026-11-16 00:00 UTC);
        let once = discount(Off::Percent(100), CouponDuration::Once, now);
        let q = once.apply(quote_new_subscription(PlanId::Pro, now).unwrap(), now);
        assert_eq!((q.total_due_today, q.next_renewal_amount), (Money::ZERO, cents(2000)));
        assert_eq!(what_follows(q.discount.as_ref().unwrap()), "then $20.00 per month");
        let forever = discount(Off::Amount(cents(500)), CouponDuration::Forever, now);
        let q = forever.apply(quote_new_subscription(PlanId::Pro, now).unwrap(), now);
        assert_eq!((q.total_due_today, q.next_renewal_amount), (cents(500), cents(1500)));
        assert_eq!(what_follows(q.discount.as_ref().unwrap()), "then $15.00 per month");
        assert_eq!(forever.renewal_amount(PlanId::Pro, datetime!(2099-01-01 00:00 UTC)), cents(1500));
    }

    #[test]
    fn percentages_round_once_to_the_nearest_cent() {
        // 15% of $9.67 is 145.05 cents: $1.45. 50% of 1 cent is half a cent: rounded up.
        assert_eq!(Off::Percent(15).amount_off(cents(967)), cents(145));
        assert_eq!(Off::Percent(50).amount_off(cents(1)), cents(1));
        assert_eq!(Off::Amount(cents(5000)).amount_off(cents(2000)), cents(2000));
    }

    #[test]
    fn a_coupon_for_other_plans_takes_nothing_off() {
        let now = datetime!(2026-11-16 00:00 UTC);
        let mut d = discount(Off::Percent(20), CouponDuration::Forever, now);
        d.terms.plans = Some(vec![PlanId::Pro]);
        let history = PaidHistory { plan: PlanId::Pro, first_paid_at: now, paid_this_period: cents(800) };
        let upgrade = quote_change(&history, PlanId::Power, datetime!(2026-11-20 00:00 UTC)).unwrap();
        let applied = d.apply(upgrade.clone(), now);
        assert_eq!((applied.total_due_today, &applied.lines), (upgrade.total_due_today, &upgrade.lines));
        assert_eq!(
            applied.discount_note.as_deref(),
            Some("Your promotion LAUNCH (20% off) doesn't cover Kiro Power: it is charged at the full price.")
        );
    }

    #[test]
    fn a_downgrade_to_a_plan_the_coupon_does_not_cover_says_so() {
        let now = datetime!(2026-11-16 00:00 UTC);
        let mut d = discount(Off::Percent(20), CouponDuration::Forever, now);
        d.terms.plans = Some(vec![PlanId::ProPlus]);
        let history = PaidHistory { plan: PlanId::ProPlus, first_paid_at: now, paid_this_period: cents(1600) };
        let later = datetime!(2026-11-20 00:00 UTC);
        let q = d.apply_to_change(quote_change(&history, PlanId::Pro, later).unwrap(), &history, later);
        assert_eq!(
            q.discount_note.as_deref(),
            Some("Your promotion LAUNCH (20% off) doesn't cover Kiro Pro: it is charged at the full price.")
        );
        assert_eq!(q.next_renewal_amount, cents(2000));
        // Free costs nothing: nothing to say.
        let q = d.apply_to_change(quote_change(&history, PlanId::Free, later).unwrap(), &history, later);
        assert_eq!(q.discount_note, None);
    }

    #[test]
    fn an_upgrade_while_the_discount_runs_is_discounted_too() {
        let bought = datetime!(2026-11-16 00:00 UTC);
        let d = discount(Off::Percent(20), CouponDuration::Forever, bought);
        let history = PaidHistory { plan: PlanId::Pro, first_paid_at: bought, paid_this_period: cents(800) };
        let now = datetime!(2026-11-25 00:00 UTC);
        let q = d.apply(quote_change(&history, PlanId::ProPlus, now).unwrap(), now);
        // Pro+ from Nov 16 ($20.00), 20% off ($4.00), less the $8.00 paid: $8.00.
        assert_eq!(q.lines.iter().map(|l| l.amount.cents()).collect::<Vec<_>>(), vec![2000, -400, -800]);
        assert_eq!(q.total_due_today, cents(800));
        assert_eq!(q.next_renewal_amount, cents(3200));
    }

    /// What a buyer with `d` (bought on `from` at `bought`) and one without paid for the period
    /// containing `now`, and the upgrade to `to` quoted for each at `now`.
    fn upgrades_with_and_without(d: &Discount, from: PlanId, to: PlanId, now: OffsetDateTime) -> (Quote, Quote) {
        let bought = d.started_at;
        let period = crate::period::Period::containing(now);
        let (with_code, without) = if period.start <= bought {
            let first = quote_new_subscription(from, bought).unwrap();
            (d.apply(first.clone(), bought).total_due_today, first.total_due_today)
        } else {
            (d.renewal_amount(from, period.start), from.plan().monthly_price)
        };
        let history = |paid| PaidHistory { plan: from, first_paid_at: bought, paid_this_period: paid };
        let with_quote =
            d.apply_to_change(quote_change(&history(with_code), to, now).unwrap(), &history(with_code), now);
        (with_quote, quote_change(&history(without), to, now).unwrap())
    }

    #[test]
    fn an_upgrade_keeps_a_once_discount_already_given() {
        // 100% off once on Nov 16: $0.00 for Pro to Dec 1. Pro+ on Nov 17 costs what it costs
        // without the code ($20.00 less $10.00), not the whole $20.00.
        let bought = datetime!(2026-11-16 00:00 UTC);
        let d = discount(Off::Percent(100), CouponDuration::Once, bought);
        let (with_code, without) =
            upgrades_with_and_without(&d, PlanId::Pro, PlanId::ProPlus, datetime!(2026-11-17 00:00 UTC));
        assert_eq!(without.total_due_today, cents(1000));
        assert_eq!(with_code.total_due_today, cents(1000));
        assert_eq!(with_code.lines.iter().map(|l| l.amount.cents()).sum::<i64>(), 1000);
        assert_eq!(with_code.discount, None);
    }

    #[test]
    fn an_upgrade_after_a_repeating_discount_ended_keeps_what_it_gave_this_month() {
        // 20% for 1 month from Nov 16: Dec 1's renewal was $16.00; it ended Dec 16. Pro+ on Dec 20
        // costs $40.00 less $20.00, as without the code.
        let d = discount(
            Off::Percent(20),
            CouponDuration::Repeating { duration_in_months: 1 },
            datetime!(2026-11-16 00:00 UTC),
        );
        let (with_code, without) =
            upgrades_with_and_without(&d, PlanId::Pro, PlanId::ProPlus, datetime!(2026-12-20 00:00 UTC));
        assert_eq!(without.total_due_today, cents(2000));
        assert_eq!(with_code.total_due_today, cents(2000));
    }

    #[test]
    fn a_running_discount_says_what_and_until_when() {
        let d = discount(
            Off::Percent(20),
            CouponDuration::Repeating { duration_in_months: 3 },
            datetime!(2026-11-16 00:00 UTC),
        );
        assert_eq!(running_sentence(&d.view()), "Promotion LAUNCH: 20% off your payments until February 16, 2027.");
        let mut d = discount(Off::Amount(cents(500)), CouponDuration::Forever, datetime!(2026-11-16 00:00 UTC));
        d.terms.plans = Some(vec![PlanId::Pro]);
        assert_eq!(
            running_sentence(&d.view()),
            "Promotion LAUNCH: $5.00 off your payments (Kiro Pro only) for as long as you stay subscribed."
        );
    }

    #[test]
    fn months_are_added_with_the_day_clamped() {
        assert_eq!(add_months(datetime!(2027-01-31 10:00 UTC), 1), datetime!(2027-02-28 10:00 UTC));
        assert_eq!(add_months(datetime!(2026-11-16 00:00 UTC), 14), datetime!(2028-01-16 00:00 UTC));
    }

    fn any_off() -> impl Strategy<Value = Off> {
        prop_oneof![(1u8..=100).prop_map(Off::Percent), (1i64..30_000).prop_map(|c| Off::Amount(cents(c)))]
    }

    fn any_duration() -> impl Strategy<Value = CouponDuration> {
        prop_oneof![
            Just(CouponDuration::Once),
            Just(CouponDuration::Forever),
            (1u32..36).prop_map(|m| CouponDuration::Repeating { duration_in_months: m })
        ]
    }

    fn any_plan() -> impl Strategy<Value = PlanId> {
        prop::sample::select(PlanId::ALL.to_vec())
    }

    /// A paid plan and a dearer one.
    fn any_upgrade() -> impl Strategy<Value = (PlanId, PlanId)> {
        let price = |p: PlanId| p.plan().monthly_price;
        let pairs = PlanId::ALL.iter().flat_map(|&from| PlanId::ALL.iter().map(move |&to| (from, to)));
        let upgrades: Vec<_> = pairs.filter(|&(from, to)| from.is_paid() && price(to) > price(from)).collect();
        prop::sample::select(upgrades)
    }

    proptest! {
        /// An upgrade never costs a buyer with a code more than one without, whether the discount
        /// still runs, has ended (`once`, `repeating`) or does not cover the new plan: what it
        /// took off this period's charges stays taken off.
        #[test]
        fn an_upgrade_never_costs_more_than_without_the_code(
            start in 946_684_800i64..4_102_444_800i64,
            elapsed in 0i64..(3 * 366 * 86_400),
            off in any_off(),
            duration in any_duration(),
            only_the_bought_plan in any::<bool>(),
            (from, to) in any_upgrade(),
        ) {
            let bought = OffsetDateTime::from_unix_timestamp(start).unwrap();
            let mut d = discount(off, duration, bought);
            if only_the_bought_plan {
                d.terms.plans = Some(vec![from]);
            }
            let (with_code, without) = upgrades_with_and_without(&d, from, to, bought + time::Duration::seconds(elapsed));
            prop_assert!(with_code.total_due_today <= without.total_due_today);
            prop_assert!(with_code.total_due_today >= Money::ZERO);
            let sum: i64 = with_code.lines.iter().map(|l| l.amount.cents()).sum();
            prop_assert_eq!(with_code.total_due_today.cents(), sum.max(0));
        }

        /// No total below zero; the total is the lines' sum (or zero); the discount never takes
        /// more than the plan line; and the amount quoted is the amount charged: quoting again at
        /// any later moment of the same day, or at the renewal, gives the same figures.
        #[test]
        fn discounted_quotes_never_go_below_zero_and_hold_until_charged(
            start in 946_684_800i64..4_102_444_800i64,
            later in 0i64..86_400,
            paid in 0i64..40_000,
            off in any_off(),
            duration in any_duration(),
            from in any_plan(),
            to in any_plan(),
        ) {
            let now = OffsetDateTime::from_unix_timestamp(start).unwrap();
            let d = discount(off, duration, now);
            let mut quotes = Vec::new();
            if let Ok(q) = quote_new_subscription(to, now) {
                quotes.push(d.apply(q, now));
            }
            if from.is_paid() && from != to {
                let history = PaidHistory { plan: from, first_paid_at: now, paid_this_period: cents(paid) };
                quotes.push(d.apply(quote_change(&history, to, now).unwrap(), now));
            }
            for q in &quotes {
                prop_assert!(q.total_due_today >= Money::ZERO);
                let sum: i64 = q.lines.iter().map(|l| l.amount.cents()).sum();
                prop_assert_eq!(q.total_due_today.cents(), sum.max(0));
                if let Some(s) = &q.discount {
                    prop_assert!(s.amount_off_today <= q.lines[0].amount);
                    prop_assert!(s.discounted_renewal_amount >= Money::ZERO);
                }
                if let Some(at) = q.next_renewal_at {
                    prop_assert_eq!(q.next_renewal_amount, d.renewal_amount(q.to_plan, at));
                }
            }
            let same_day = now.replace_time(time::Time::MIDNIGHT) + time::Duration::seconds(later);
            if same_day >= now && to.is_paid() {
                // The charge quotes again at its own moment, with the discount starting then.
                let at_charge = discount(off, duration, same_day);
                let again = at_charge.apply(quote_new_subscription(to, same_day).unwrap(), same_day);
                let first = d.apply(quote_new_subscription(to, now).unwrap(), now);
                prop_assert_eq!(again.total_due_today, first.total_due_today);
            }
        }
    }
}
