//! Amounts, numbers and dates from a locale's templates. The server makes the templates from
//! CLDR (ICU4X) once per locale; the server's first paint and the app apply them with this same
//! code, so both show the same text to the character.

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

/// A locale's number and date templates. `{n}` stands for a formatted number, `{d}` for the day,
/// `{y}` for the year; date lists have one template per month, January first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Formats {
    /// An amount of US dollars: `[positive, negative]`, e.g. `["{n} $", "-{n} $"]`.
    pub money: [String; 2],
    pub group: String,
    pub decimal: String,
    /// How many digits an integer part needs before it is grouped: 1 (`1,000`) or 2 (`1000`
    /// but `10.000`).
    pub min_grouping: u8,
    pub long_date: Vec<String>,
    pub short_date: Vec<String>,
    pub month_year: Vec<String>,
}

impl Default for Formats {
    /// English's, for a page whose server sent no catalog.
    fn default() -> Formats {
        use billing::period::{MONTH_ABBR, MONTH_NAME};
        Formats {
            money: ["${n}".into(), "-${n}".into()],
            group: ",".into(),
            decimal: ".".into(),
            min_grouping: 1,
            long_date: MONTH_NAME.iter().map(|m| format!("{m} {{d}}, {{y}}")).collect(),
            short_date: MONTH_ABBR.iter().map(|m| format!("{m} {{d}}")).collect(),
            month_year: MONTH_NAME.iter().map(|m| format!("{m} {{y}}")).collect(),
        }
    }
}

billing::from_json_struct!(Formats { money, group, decimal, min_grouping, long_date, short_date, month_year });

impl Formats {
    pub fn money(&self, cents: i64) -> String {
        let abs = cents.unsigned_abs();
        let number = format!("{}{}{:02}", self.number(abs / 100), self.decimal, abs % 100);
        self.money[usize::from(cents < 0)].replace("{n}", &number)
    }

    /// Credits in hundredths, always with two places (`1,812.45`, `1.812,45`).
    pub fn credits(&self, hundredths: i64) -> String {
        let abs = hundredths.unsigned_abs();
        let sign = if hundredths < 0 { "-" } else { "" };
        format!("{sign}{}{}{:02}", self.number(abs / 100), self.decimal, abs % 100)
    }

    pub fn number(&self, n: u64) -> String {
        let digits = n.to_string();
        // Grouped in threes (as in every locale here) once there are 3 + min_grouping digits.
        if digits.len() < 3 + usize::from(self.min_grouping) {
            return digits;
        }
        let mut out = String::with_capacity(digits.len() + 8);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(&self.group);
            }
            out.push(ch);
        }
        out
    }

    pub fn long_date(&self, at: OffsetDateTime) -> String {
        date(&self.long_date, at)
    }

    pub fn short_date(&self, at: OffsetDateTime) -> String {
        date(&self.short_date, at)
    }

    pub fn month_year(&self, at: OffsetDateTime) -> String {
        date(&self.month_year, at)
    }
}

/// The month's template with its day and year, in UTC.
fn date(templates: &[String], at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    let template = templates.get(usize::from(u8::from(at.month())) - 1).map_or("{y}-{m}-{d}", String::as_str);
    template.replace("{y}", &at.year().to_string()).replace("{d}", &at.day().to_string())
}

#[cfg(test)]
mod tests {
    use super::Formats;
    use time::macros::datetime;

    #[test]
    fn english_without_a_catalog() {
        let f = Formats::default();
        assert_eq!(f.money(2000), "$20.00");
        assert_eq!(f.money(-123_456_789), "-$1,234,567.89");
        assert_eq!(f.money(5), "$0.05");
        assert_eq!(f.number(1000), "1,000");
        assert_eq!(f.number(999), "999");
        assert_eq!(f.long_date(datetime!(2026-12-01 00:00 UTC)), "December 1, 2026");
        assert_eq!(f.short_date(datetime!(2026-11-16 00:00 UTC)), "Nov 16");
        assert_eq!(f.month_year(datetime!(2026-11-16 00:00 UTC)), "November 2026");
    }

    #[test]
    fn minimum_grouping_of_two() {
        let f = Formats { min_grouping: 2, group: ".".into(), ..Formats::default() };
        assert_eq!(f.number(1000), "1000");
        assert_eq!(f.number(10_000), "10.000");
        assert_eq!(f.number(1_234_567), "1.234.567");
    }
}
