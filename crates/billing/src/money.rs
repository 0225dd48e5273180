//! Money as integer cents (USD only). No floats anywhere.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of US dollars in whole cents. Serialized as the integer number of cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    pub const fn from_dollars(dollars: i64) -> Self {
        Money(dollars * 100)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_neg(self) -> Option<Money> {
        self.0.checked_neg().map(Money)
    }

    /// The larger of this and zero: charges are never negative.
    pub fn at_least_zero(self) -> Money {
        Money(self.0.max(0))
    }

    /// `self x numerator / denominator`, rounded to the nearest cent, halves away from zero.
    /// Returns `None` for a zero denominator or a result that does not fit.
    pub fn mul_ratio(self, numerator: i64, denominator: i64) -> Option<Money> {
        if denominator == 0 {
            return None;
        }
        let product = i128::from(self.0) * i128::from(numerator);
        let rounded = div_round_half_away(product, i128::from(denominator));
        i64::try_from(rounded).ok().map(Money)
    }
}

/// Integer division rounding to nearest, halves away from zero. `d` must not be zero.
fn div_round_half_away(n: i128, d: i128) -> i128 {
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

/// `1234567` as `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    grouped
}

impl fmt::Display for Money {
    /// `$1,234.56`, and `-$5.00` for negative amounts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", group_thousands(abs / 100), abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_thousands_separators() {
        assert_eq!(Money::from_cents(0).to_string(), "$0.00");
        assert_eq!(Money::from_cents(5).to_string(), "$0.05");
        assert_eq!(Money::from_cents(2000).to_string(), "$20.00");
        assert_eq!(Money::from_cents(123_456).to_string(), "$1,234.56");
        assert_eq!(Money::from_cents(100_000_000).to_string(), "$1,000,000.00");
        assert_eq!(Money::from_cents(-500).to_string(), "-$5.00");
        assert_eq!(Money::from_cents(i64::MIN).to_string(), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn rounds_halves_away_from_zero() {
        assert_eq!(Money::from_cents(1).mul_ratio(1, 2), Some(Money::from_cents(1)));
        assert_eq!(Money::from_cents(-1).mul_ratio(1, 2), Some(Money::from_cents(-1)));
        assert_eq!(Money::from_cents(3).mul_ratio(1, 2), Some(Money::from_cents(2)));
        assert_eq!(Money::from_cents(10).mul_ratio(1, 3), Some(Money::from_cents(3)));
        assert_eq!(Money::from_cents(20).mul_ratio(1, 3), Some(Money::from_cents(7)));
        assert_eq!(Money::from_cents(2000).mul_ratio(15, 30), Some(Money::from_cents(1000)));
        assert_eq!(Money::from_cents(5).mul_ratio(-1, 2), Some(Money::from_cents(-3)));
        assert_eq!(Money::from_cents(5).mul_ratio(1, -2), Some(Money::from_cents(-3)));
    }

    #[test]
    fn refuses_division_by_zero_and_overflow() {
        assert_eq!(Money::from_cents(5).mul_ratio(1, 0), None);
        assert_eq!(Money::from_cents(i64::MAX).mul_ratio(2, 1), None);
        assert_eq!(Money::from_cents(i64::MAX).checked_add(Money::from_cents(1)), None);
    }

    #[test]
    fn serializes_as_cents() {
        assert_eq!(serde_json::to_string(&Money::from_cents(2000)).unwrap(), "2000");
        assert_eq!(serde_json::from_str::<Money>("1000").unwrap(), Money::from_cents(1000));
    }
}
