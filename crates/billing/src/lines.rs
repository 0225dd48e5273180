//! The lines of a charge (a quote, an invoice), each with its English description and what it
//! is as data, so a page says it in its own language.

use crate::coupon::Off;
use crate::json::{FromJson, Json, JsonError};
use crate::money::Money;
use crate::period::{Period, short_date};
use crate::plans::{OVERAGE_PRICE_PER_CREDIT, PlanId};
use crate::usage::Credits;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One line of today's charge, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// In English, for the API, the backend's events and stored invoices.
    pub description: String,
    pub amount: Money,
    /// What the line is, as data, so a page says it in its own language; absent on invoices
    /// stored before it existed (the page then shows `description`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<LineLabel>,
}

/// The kinds of line and what each says. Externally tagged (`{"plan_period": {...}}`): cheaper
/// for the wasm to decode than an internally tagged enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineLabel {
    /// `Kiro Pro from Nov 16 to Dec 1`.
    PlanPeriod {
        plan: PlanId,
        #[serde(with = "time::serde::rfc3339")]
        from: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        to: OffsetDateTime,
    },
    /// `Kiro Pro for December 2026`: a whole month, `month` its first instant.
    PlanMonth {
        plan: PlanId,
        #[serde(with = "time::serde::rfc3339")]
        month: OffsetDateTime,
    },
    /// `Already paid for Kiro Pro this month`.
    AlreadyPaid { plan: PlanId },
    /// `Promotion LAUNCH (20% off)`.
    Promotion { code: String, off: Off },
    /// `Promotion LAUNCH (20% off) already given on Kiro Pro`.
    PromotionGiven { code: String, off: Off, plan: PlanId },
    /// `Overage, Nov 1 to Dec 1: 200.00 credits at $0.04`: a period's overage, billed in arrears.
    Overage {
        credits: Credits,
        #[serde(with = "time::serde::rfc3339")]
        from: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        to: OffsetDateTime,
    },
}

impl LineItem {
    /// A line with its English description and its label.
    pub fn new(description: String, amount: Money, label: LineLabel) -> LineItem {
        LineItem { description, amount, label: Some(label) }
    }

    /// `plan` for the whole month that starts at `month`, as renewals charge it.
    pub fn plan_month(plan: PlanId, month: OffsetDateTime, amount: Money) -> LineItem {
        let description = format!("{} for {}", plan.plan().name, crate::period::month_and_year(month));
        LineItem::new(description, amount, LineLabel::PlanMonth { plan, month })
    }
}

/// The invoice line for `overage` credits used in `period`, when it costs anything.
pub fn overage_line(overage: Credits, period: Period) -> Option<LineItem> {
    let amount = overage.overage_amount();
    (amount > Money::ZERO).then(|| {
        let description = format!(
            "Overage, {} to {}: {overage} credits at {}",
            short_date(period.start),
            short_date(period.end),
            OVERAGE_PRICE_PER_CREDIT
        );
        let label = LineLabel::Overage { credits: overage, from: period.start, to: period.end };
        LineItem::new(description, amount, label)
    })
}

/// A label of a kind this build doesn't know (a newer server) reads as none: the page then shows
/// the English `description`, as for invoices stored before labels existed.
impl FromJson for LineItem {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let object = value.object()?;
        let label = match object.get("label") {
            Json::Null => None,
            label => LineLabel::from_json(label).ok(),
        };
        Ok(LineItem { description: object.field("description")?, amount: object.field("amount")?, label })
    }
}

/// Externally tagged, as serde writes it: `{"plan_month": {"plan": "pro", "month": "..."}}`.
impl FromJson for LineLabel {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let (kind, fields) = match value {
            Json::Object(entries) if entries.len() == 1 => (entries[0].0.as_str(), entries[0].1.object()?),
            _ => return Err(JsonError("expected a line label".into())),
        };
        Ok(match kind {
            "plan_period" => LineLabel::PlanPeriod {
                plan: fields.field("plan")?,
                from: fields.field("from")?,
                to: fields.field("to")?,
            },
            "plan_month" => LineLabel::PlanMonth { plan: fields.field("plan")?, month: fields.field("month")? },
            "already_paid" => LineLabel::AlreadyPaid { plan: fields.field("plan")? },
            "promotion" => LineLabel::Promotion { code: fields.field("code")?, off: fields.field("off")? },
            "promotion_given" => LineLabel::PromotionGiven {
                code: fields.field("code")?,
                off: fields.field("off")?,
                plan: fields.field("plan")?,
            },
            "overage" => LineLabel::Overage {
                credits: fields.field("credits")?,
                from: fields.field("from")?,
                to: fields.field("to")?,
            },
            _ => return Err(JsonError("expected a line label".into())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overage_line_says_what_it_bills() {
        use time::macros::datetime;
        let november = crate::period::Period::containing(datetime!(2026-11-10 00:00 UTC));
        let line = overage_line(Credits::from_whole(200), november).unwrap();
        assert_eq!(line.description, "Overage, Nov 1 to Dec 1: 200.00 credits at $0.04");
        assert_eq!(line.amount, Money::from_cents(800));
        assert_eq!(overage_line(Credits::from_hundredths(12), november), None, "$0.00: no line");
    }
}
