//! Calendar-month billing periods in UTC, always from an injected "now".

use serde::{Deserialize, Serialize};
use time::macros::datetime;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The first instant the billing rules are defined for.
pub const EARLIEST_SUPPORTED: OffsetDateTime = datetime!(2000-01-01 00:00 UTC);
/// The last instant the billing rules are defined for. Every period, renewal date and RFC 3339
/// timestamp computed from an instant up to here stays far inside what `time` and the wire format
/// can represent, so nothing downstream can overflow.
pub const LATEST_SUPPORTED: OffsetDateTime = datetime!(2999-12-31 23:59:59 UTC);

/// Whether `at` lies in the range the billing rules are defined for.
pub fn is_supported(at: OffsetDateTime) -> bool {
    (EARLIEST_SUPPORTED..=LATEST_SUPPORTED).contains(&at)
}

/// A billing period: from 00:00 UTC on the 1st of a month to 00:00 UTC on the 1st of the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl Period {
    /// The calendar month (UTC) that contains `now`. A moment exactly on the 1st at 00:00 belongs
    /// to the period that starts then.
    pub fn containing(now: OffsetDateTime) -> Period {
        let now = now.to_offset(UtcOffset::UTC);
        let start = first_of_month(now.year(), now.month());
        let (next_year, next_month) = next_month(now.year(), now.month());
        Period { start, end: first_of_month(next_year, next_month) }
    }

    pub fn total_days(self) -> i64 {
        (self.end - self.start).whole_days()
    }

    /// Whole UTC days from `from` to the end of the period, the day of `from` included, clamped to
    /// the period. A price prorated by days changes only at midnight UTC, so the total a user sees
    /// holds while they fill in the form.
    pub fn days_left_from(self, from: OffsetDateTime) -> i64 {
        let from = from.clamp(self.start, self.end).to_offset(UtcOffset::UTC);
        (self.end.date() - from.date()).whole_days()
    }
}

fn next_month(year: i32, month: Month) -> (i32, Month) {
    match month {
        Month::December => (year + 1, Month::January),
        other => (year, other.next()),
    }
}

fn first_of_month(year: i32, month: Month) -> OffsetDateTime {
    // Day 1 exists in every month of every representable year.
    let date = Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN);
    PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc()
}

/// English month abbreviations and names, January first (also the pages' fallback formats).
pub const MONTH_ABBR: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
pub const MONTH_NAME: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `Nov 16`, in UTC.
pub fn short_date(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!("{} {}", MONTH_ABBR[at.month() as usize - 1], at.day())
}

/// `December 1, 2026`, in UTC.
pub fn long_date(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!("{} {}, {}", MONTH_NAME[at.month() as usize - 1], at.day(), at.year())
}

/// `November 2026`, in UTC.
pub fn month_and_year(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!("{} {}", MONTH_NAME[at.month() as usize - 1], at.year())
}

crate::from_json_struct!(Period { start, end });

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn months_of_every_length() {
        let cases = [
            (datetime!(2026-02-10 12:00 UTC), 28),
            (datetime!(2028-02-29 23:59:59 UTC), 29),
            (datetime!(2026-11-16 00:00 UTC), 30),
            (datetime!(2026-12-31 23:59:59 UTC), 31),
        ];
        for (now, days) in cases {
            let p = Period::containing(now);
            assert_eq!(p.total_days(), days, "{now}");
            assert!(p.start <= now && now < p.end);
        }
    }

    #[test]
    fn boundary_belongs_to_the_new_period() {
        let p = Period::containing(datetime!(2026-12-01 00:00 UTC));
        assert_eq!(p.start, datetime!(2026-12-01 00:00 UTC));
        assert_eq!(p.end, datetime!(2027-01-01 00:00 UTC));
        assert_eq!(Period::containing(p.end).end, datetime!(2027-02-01 00:00 UTC));
    }

    #[test]
    fn other_offsets_are_read_in_utc() {
        let p = Period::containing(datetime!(2026-12-01 01:00 +03:00));
        assert_eq!(p.start, datetime!(2026-11-01 00:00 UTC));
    }

    #[test]
    fn days_left_count_today_and_are_clamped() {
        let p = Period::containing(datetime!(2026-11-16 00:00 UTC));
        assert_eq!(p.days_left_from(datetime!(2026-11-16 00:00 UTC)), 15);
        assert_eq!(p.days_left_from(datetime!(2026-11-16 23:59:59 UTC)), 15);
        assert_eq!(p.days_left_from(datetime!(2026-11-30 23:59:59 UTC)), 1);
        assert_eq!(p.days_left_from(datetime!(2026-11-17 01:00 +03:00)), 15);
        assert_eq!(p.days_left_from(datetime!(2026-10-01 00:00 UTC)), 30);
        assert_eq!(p.days_left_from(datetime!(2027-01-01 00:00 UTC)), 0);
    }

    #[test]
    fn the_supported_range_ends_well_inside_what_time_can_hold() {
        assert!(is_supported(datetime!(2026-11-26 12:00 UTC)));
        assert!(!is_supported(datetime!(9999-12-15 00:00 UTC)));
        assert!(!is_supported(datetime!(1999-12-31 23:59:59 UTC)));
        let last = Period::containing(LATEST_SUPPORTED);
        assert_eq!(last.end, datetime!(3000-01-01 00:00 UTC));
        assert_eq!(Period::containing(last.end).end, datetime!(3000-02-01 00:00 UTC));
    }

    #[test]
    fn dates_read_plainly() {
        assert_eq!(short_date(datetime!(2026-11-16 08:00 UTC)), "Nov 16");
        assert_eq!(long_date(datetime!(2026-12-01 00:00 UTC)), "December 1, 2026");
        assert_eq!(month_and_year(datetime!(2026-12-01 00:00 UTC)), "December 2026");
    }
}
