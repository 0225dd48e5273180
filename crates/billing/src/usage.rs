//! Credits and overage (SPEC §12): credits metered to 0.01, a period's totals as usage is
//! reported, the overage a period bills, and whether the IDE may go on.
//!
//! Credits are integer hundredths ([`Credits`]), as money is integer cents. Overage accrues as
//! usage arrives, only while overage is on and only up to the spending limit: usage beyond the
//! plan with overage off is recorded but never billed, and turning overage off later does not
//! forgive what was used while it was on. An upgrade re-rates the whole period against the new
//! plan's credits ([`PeriodUsage::rerated`]).

use crate::json::{FromJson, Json, JsonError};
use crate::money::Money;
use crate::plans::{OVERAGE_PRICE_PER_CREDIT, PlanId};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};

/// The one meter: what the IDE's backend names its events.
pub const METER_EVENT_NAME: &str = "kiro_credits";

/// A period's usage is final this long after the period ends; only then is its invoice
/// finalized and charged (Stripe's grace period).
pub const GRACE: Duration = Duration::hours(1);

/// How old an event's timestamp may be.
pub const OLDEST_EVENT: Duration = Duration::days(35);

/// How far ahead of the server's clock an event's timestamp may be.
pub const LATEST_EVENT: Duration = Duration::minutes(5);

/// The most one event may report: 100,000 credits.
pub const MAX_EVENT_VALUE: Credits = Credits::from_whole(100_000);

/// How many events one batch takes.
pub const MAX_BATCH: usize = 100;

/// An amount of credits in hundredths (`1.25` credits is `Credits(125)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Credits(i64);

/// Why a reported value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditsError {
    /// Not a decimal with at most two places (`"abc"`, `"1.234"`, `"1e3"`, `" 1"`).
    NotADecimal,
    /// Zero or negative.
    NotPositive,
    /// Above [`MAX_EVENT_VALUE`].
    TooLarge,
}

impl Credits {
    pub const ZERO: Credits = Credits(0);

    pub const fn from_hundredths(hundredths: i64) -> Credits {
        Credits(hundredths)
    }

    pub const fn from_whole(credits: i64) -> Credits {
        Credits(credits * 100)
    }

    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// A reported value: a positive decimal string with at most two places, at most 100,000.
    pub fn parse_reported(text: &str) -> Result<Credits, CreditsError> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let negative = whole.starts_with('-') && whole.len() > 1 && digits(&whole[1..]);
        if negative && digits(fraction) && fraction.len() <= 2 {
            return Err(CreditsError::NotPositive);
        }
        let well_formed = !whole.is_empty()
            && digits(whole)
            && digits(fraction)
            && fraction.len() <= 2
            && (text.len() == whole.len() || !fraction.is_empty());
        if !well_formed {
            return Err(CreditsError::NotADecimal);
        }
        // Leading zeros are fine; a whole part longer than the maximum's is too large anyway.
        let whole = whole.trim_start_matches('0');
        if whole.len() > 7 {
            return Err(CreditsError::TooLarge);
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| CreditsError::NotADecimal)? };
        let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| CreditsError::NotADecimal)?;
        let value = Credits(whole * 100 + fraction);
        if value == Credits::ZERO {
            Err(CreditsError::NotPositive)
        } else if value > MAX_EVENT_VALUE {
            Err(CreditsError::TooLarge)
        } else {
            Ok(value)
        }
    }

    pub fn saturating_add(self, other: Credits) -> Credits {
        Credits(self.0.saturating_add(other.0))
    }

    /// `self - other`, never below zero.
    pub fn beyond(self, other: Credits) -> Credits {
        Credits((self.0 - other.0).max(0))
    }

    /// What these credits cost as overage: $0.04 each, rounded once to the cent (halves away
    /// from zero).
    pub fn overage_amount(self) -> Money {
        let per_credit = OVERAGE_PRICE_PER_CREDIT.cents();
        let scaled = self.0.saturating_mul(per_credit);
        let cents = if scaled >= 0 { (scaled + 50) / 100 } else { (scaled - 50) / 100 };
        Money::from_cents(cents)
    }

    /// The most overage credits that cost no more than `limit`.
    pub fn within_spending(limit: Money) -> Credits {
        let per_credit = OVERAGE_PRICE_PER_CREDIT.cents();
        Credits(limit.cents().max(0).saturating_mul(100) / per_credit)
    }

    /// The whole credits, and the hundredths.
    pub fn parts(self) -> (u64, u8) {
        let abs = self.0.unsigned_abs();
        (abs / 100, u8::try_from(abs % 100).unwrap_or(0))
    }
}

/// `812.45`: as the API writes credits (always two places, no grouping).
impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, hundredths) = self.parts();
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{whole}.{hundredths:02}")
    }
}

impl fmt::Display for CreditsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CreditsError::NotADecimal => "must be a decimal string with at most two decimal places, such as \"1.25\"",
            CreditsError::NotPositive => "must be more than 0",
            CreditsError::TooLarge => "must be at most 100000 credits per event",
        })
    }
}

/// The credits a plan includes a month.
pub fn included(plan: PlanId) -> Credits {
    Credits::from_whole(i64::from(plan.plan().monthly_credits))
}

/// What the account's terms are while usage is recorded: the credits included, whether overage
/// is on, and the monthly spending limit on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageTerms {
    pub included: Credits,
    pub overage_enabled: bool,
    pub spending_limit: Option<Money>,
}

/// A period's running totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodUsage {
    /// Everything reported for the period.
    pub used: Credits,
    /// The part of it billed as overage.
    pub overage: Credits,
}

/// The thresholds a period's usage crosses, each told once per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// 80% of the plan's credits.
    Most,
    /// All of them.
    All,
    /// The overage reached the spending limit.
    SpendingLimit,
}

impl Threshold {
    pub const ALL: [Threshold; 3] = [Threshold::Most, Threshold::All, Threshold::SpendingLimit];

    /// Its bit in a period's record of what was told.
    pub fn bit(self) -> i64 {
        match self {
            Threshold::Most => 1,
            Threshold::All => 2,
            Threshold::SpendingLimit => 4,
        }
    }

    /// The share of the plan's credits it stands for (none for the spending limit).
    pub fn percent(self) -> Option<u8> {
        match self {
            Threshold::Most => Some(80),
            Threshold::All => Some(100),
            Threshold::SpendingLimit => None,
        }
    }

    fn reached(self, usage: PeriodUsage, terms: &UsageTerms) -> bool {
        match self {
            Threshold::Most => usage.used.0.saturating_mul(5) >= terms.included.0.saturating_mul(4),
            Threshold::All => usage.used >= terms.included,
            Threshold::SpendingLimit => terms
                .spending_limit
                .is_some_and(|limit| terms.overage_enabled && usage.overage >= Credits::within_spending(limit)),
        }
    }
}

impl PeriodUsage {
    /// The totals once `value` more is used: the part beyond the plan's credits is overage while
    /// overage is on, up to the spending limit.
    pub fn record(self, value: Credits, terms: &UsageTerms) -> PeriodUsage {
        let used = self.used.saturating_add(value);
        let mut overage = self.overage;
        if terms.overage_enabled {
            let newly_beyond = used.beyond(terms.included).beyond(self.used.beyond(terms.included));
            overage = overage.saturating_add(newly_beyond);
            if let Some(limit) = terms.spending_limit {
                overage = overage.min(Credits::within_spending(limit).max(self.overage));
            }
        }
        PeriodUsage { used, overage }
    }

    /// The totals re-rated against another plan's credits (an upgrade): the overage is at most
    /// what the whole period's usage exceeds them by, never more than already accrued.
    pub fn rerated(self, included: Credits) -> PeriodUsage {
        PeriodUsage { used: self.used, overage: self.overage.min(self.used.beyond(included)) }
    }

    /// The thresholds crossed going from `before` to `self`, not told yet (`told`: their bits).
    pub fn newly_crossed(self, before: PeriodUsage, terms: &UsageTerms, told: i64) -> Vec<Threshold> {
        Threshold::ALL
            .into_iter()
            .filter(|t| told & t.bit() == 0 && t.reached(self, terms) && !t.reached(before, terms))
            .collect()
    }

    /// Credits left of the plan's.
    pub fn remaining(self, terms: &UsageTerms) -> Credits {
        terms.included.beyond(self.used)
    }

    /// Whether the IDE may go on: credits remain, or overage is on and under its limit.
    pub fn can_use(self, terms: &UsageTerms) -> bool {
        self.remaining(terms) > Credits::ZERO
            || (terms.overage_enabled && !Threshold::SpendingLimit.reached(self, terms))
    }
}

/// The most a monthly spending limit may be: $100,000.00.
pub const MAX_SPENDING_LIMIT: Money = Money::from_dollars(100_000);

/// A spending limit that is not an amount of dollars a limit can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadableLimit;

/// A spending limit as typed in dollars: `None` when empty (no limit). Else more than $0.00
/// and at most [`MAX_SPENDING_LIMIT`], read so that no typing reads ten or a hundred times larger
/// than meant: the last `.` or `,` followed by one or two digits is the decimal point whatever
/// the locale (`25.50` and `25,50` are $25.50 everywhere); followed by three, it is the locale's
/// (`decimal`) decimal point (three places: refused) or a thousands separator; groups before it
/// are of three digits. A leading `$` is allowed.
pub fn parse_spending_limit(text: &str, decimal: &str) -> Result<Option<Money>, UnreadableLimit> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let cleaned: String = text.trim().trim_start_matches('$').chars().filter(|c| !c.is_whitespace()).collect();
    let is_separator = |c: char| c == '.' || c == ',';
    let (whole, cents) = match cleaned.rfind(is_separator) {
        Some(at) => {
            let after = &cleaned[at + 1..];
            let is_locale_decimal = cleaned[at..].starts_with(decimal);
            if after.len() <= 2 || is_locale_decimal { (&cleaned[..at], after) } else { (cleaned.as_str(), "") }
        }
        None => (cleaned.as_str(), ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.split(is_separator);
    let first = groups.next().unwrap_or_default();
    let grouped = groups.clone().count() > 0;
    let well_grouped = groups.all(|g| g.len() == 3 && digits(g)) && (!grouped || (1..=3).contains(&first.len()));
    if !digits(first) || !well_grouped || cents.len() > 2 || !(cents.is_empty() || digits(cents)) {
        return Err(UnreadableLimit);
    }
    let whole: String = whole.chars().filter(char::is_ascii_digit).collect();
    if whole.len() > 7 {
        return Err(UnreadableLimit);
    }
    let whole: i64 = whole.parse().map_err(|_| UnreadableLimit)?;
    let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| UnreadableLimit)?;
    let limit = Money::from_cents(whole * 100 + cents);
    if limit <= Money::ZERO || limit > MAX_SPENDING_LIMIT { Err(UnreadableLimit) } else { Ok(Some(limit)) }
}

/// Whether usage at `at` may still be recorded at `now`: its period's grace hour has not passed.
pub fn period_open(period_end: OffsetDateTime, now: OffsetDateTime) -> bool {
    now < period_end + GRACE
}

impl FromJson for Credits {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        value.as_int().map(Credits::from_hundredths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> Credits {
        Credits::parse_reported(text).unwrap()
    }

    #[test]
    fn reported_values_are_positive_decimals_with_two_places_at_most() {
        assert_eq!(c("1.25"), Credits(125));
        assert_eq!(c("1.2"), Credits(120));
        assert_eq!(c("7"), Credits(700));
        assert_eq!(c("0.01"), Credits(1));
        assert_eq!(c("007.50"), Credits(750));
        assert_eq!(c("100000"), MAX_EVENT_VALUE);
        assert_eq!(Credits::parse_reported("-1"), Err(CreditsError::NotPositive));
        assert_eq!(Credits::parse_reported("-0.5"), Err(CreditsError::NotPositive));
        assert_eq!(Credits::parse_reported("0"), Err(CreditsError::NotPositive));
        assert_eq!(Credits::parse_reported("0.00"), Err(CreditsError::NotPositive));
        assert_eq!(Credits::parse_reported("100000.01"), Err(CreditsError::TooLarge));
        assert_eq!(Credits::parse_reported("99999999999999999999"), Err(CreditsError::TooLarge));
        for bad in ["1.234", "abc", "", ".5", "1.", "1e3", " 1", "1 ", "+1", "1,5", "١", "1\u{200b}", "--1", "0x10"] {
            assert_eq!(Credits::parse_reported(bad), Err(CreditsError::NotADecimal), "{bad:?}");
        }
    }

    #[test]
    fn credits_print_with_two_places() {
        assert_eq!(Credits(81245).to_string(), "812.45");
        assert_eq!(Credits(0).to_string(), "0.00");
        assert_eq!(Credits(5).to_string(), "0.05");
    }

    #[test]
    fn overage_costs_four_cents_a_credit_rounded_once_halves_away_from_zero() {
        assert_eq!(Credits::from_whole(200).overage_amount(), Money::from_cents(800));
        assert_eq!(Credits(1).overage_amount(), Money::ZERO, "0.04 cents");
        assert_eq!(Credits(13).overage_amount(), Money::from_cents(1), "0.52 cents");
        assert_eq!(Credits(12).overage_amount(), Money::ZERO, "0.48 cents");
        assert_eq!(Credits(1_234_567).overage_amount(), Money::from_cents(49_383), "493.8268 dollars");
        assert_eq!(Credits::within_spending(Money::from_cents(1000)), Credits::from_whole(250));
        assert_eq!(Credits::within_spending(Money::from_cents(1001)).overage_amount(), Money::from_cents(1001));
    }

    const PRO_ON: UsageTerms =
        UsageTerms { included: Credits::from_whole(1000), overage_enabled: true, spending_limit: None };

    #[test]
    fn overage_accrues_only_while_on_and_up_to_the_limit() {
        let off = UsageTerms { overage_enabled: false, ..PRO_ON };
        let usage = PeriodUsage::default().record(Credits::from_whole(1100), &off);
        assert_eq!(usage, PeriodUsage { used: Credits::from_whole(1100), overage: Credits::ZERO });
        assert!(!usage.can_use(&off));
        let usage = usage.record(Credits::from_whole(50), &PRO_ON);
        assert_eq!(usage.overage, Credits::from_whole(50), "what was used while off is never billed");
        assert!(usage.can_use(&PRO_ON));
        let limited = UsageTerms { spending_limit: Some(Money::from_cents(300)), ..PRO_ON };
        let usage = usage.record(Credits::from_whole(100), &limited);
        assert_eq!(usage.overage, Credits::from_whole(75), "$3.00 buys 75 credits");
        assert_eq!(usage.used, Credits::from_whole(1250));
        assert!(!usage.can_use(&limited));
        assert_eq!(usage.overage.overage_amount(), Money::from_cents(300));
    }

    #[test]
    fn an_upgrade_rerates_the_whole_period() {
        let usage = PeriodUsage::default().record(Credits::from_whole(1500), &PRO_ON);
        assert_eq!(usage.overage, Credits::from_whole(500));
        assert_eq!(usage.rerated(included(PlanId::ProPlus)).overage, Credits::ZERO);
        let more = PeriodUsage::default().record(Credits::from_whole(2500), &PRO_ON);
        assert_eq!(more.rerated(included(PlanId::ProPlus)).overage, Credits::from_whole(500));
    }

    #[test]
    fn spending_limits_read_as_typed_in_either_decimal() {
        let read = |text: &str, decimal: &str| parse_spending_limit(text, decimal).map(|l| l.map(Money::cents));
        assert_eq!(read("", "."), Ok(None));
        assert_eq!(read("  ", ","), Ok(None));
        for (text, decimal, cents) in [
            ("25", ".", 2500),
            ("$25.5", ".", 2550),
            ("1,000.50", ".", 100_050),
            ("1,000", ".", 100_000),
            ("1.000,50", ",", 100_050),
            ("1.000", ",", 100_000),
            ("25,5", ",", 2550),
            // Two digits after the last separator: cents in every locale, never a larger amount.
            ("25.50", ",", 2550),
            ("25.5", ",", 2550),
            ("1,5", ".", 150),
            ("100 000", ".", 10_000_000),
        ] {
            assert_eq!(read(text, decimal), Ok(Some(cents)), "{text:?} with {decimal:?}");
        }
        for (bad, decimal) in [
            ("0", "."),
            ("0.00", "."),
            ("-5", "."),
            ("abc", "."),
            ("1.234", "."),
            ("1,234", ","),
            ("100000.01", "."),
            ("25.5.5", "."),
            ("1e3", "."),
            ("1,00,000", "."),
            ("12345,000", "."),
            ("$", "."),
            (".5", "."),
        ] {
            assert_eq!(read(bad, decimal), Err(UnreadableLimit), "{bad:?} with {decimal:?}");
        }
    }

    #[test]
    fn thresholds_are_crossed_once() {
        let before = PeriodUsage::default().record(Credits::from_whole(700), &PRO_ON);
        let after = before.record(Credits::from_whole(300), &PRO_ON);
        assert_eq!(after.newly_crossed(before, &PRO_ON, 0), [Threshold::Most, Threshold::All]);
        assert_eq!(after.newly_crossed(before, &PRO_ON, Threshold::Most.bit()), [Threshold::All]);
        let later = after.record(Credits::from_whole(1), &PRO_ON);
        assert!(later.newly_crossed(after, &PRO_ON, 0).is_empty(), "already past both");
        let limited = UsageTerms { spending_limit: Some(Money::from_cents(100)), ..PRO_ON };
        let capped = after.record(Credits::from_whole(30), &limited);
        assert_eq!(capped.newly_crossed(after, &limited, 3), [Threshold::SpendingLimit]);
    }
}
