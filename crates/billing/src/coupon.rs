//! What a coupon is (issue 22): what it takes off, for how long and on which plans, and how a
//! discount is shown with a quote and on a subscription. [`crate::discount`] applies them.

use crate::json::{FromJson, Json, JsonError};
use crate::money::Money;
use crate::plans::PlanId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Off {
    /// 1 to 100 percent.
    Percent(u8),
    /// Cents off each covered charge.
    Amount(Money),
}

/// How long a coupon applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "duration")]
pub enum CouponDuration {
    Once,
    Repeating { duration_in_months: u32 },
    Forever,
}

/// A coupon's terms: what it takes off, for how long, on which plans (all when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponTerms {
    pub off: Off,
    pub duration: CouponDuration,
    pub plans: Option<Vec<PlanId>>,
}

/// The discount shown with a quote: what it takes off today and what follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountSummary {
    pub code: String,
    /// `20% off` or `$5.00 off`, in English.
    pub label: String,
    /// What `label` says, as data, for a page in another language (absent from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<Off>,
    pub amount_off_today: Money,
    /// The first instant no charge is covered any more; `None` for `forever`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// Renewals after today's charge that are still discounted; `None` for `forever`.
    pub discounted_renewals: Option<u32>,
    /// A renewal's amount while the discount runs.
    pub discounted_renewal_amount: Money,
    /// A renewal's amount once it has ended (the list price).
    pub full_renewal_amount: Money,
}

/// A running promotion a quote's plan is outside of (`discount_note` in data): the plan is the
/// quote's `to_plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCovered {
    pub code: String,
    pub off: Off,
}

/// A discount running on a subscription, as the backend and the portal see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountView {
    pub code: String,
    /// `20% off` or `$5.00 off`, in English.
    pub label: String,
    /// What `label` says, as data, for a page in another language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<Off>,
    #[serde(flatten)]
    pub duration: CouponDuration,
    /// Plans it applies to (`null`: all).
    pub plans: Option<Vec<PlanId>>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The first instant no charge is covered any more (`null`: never ends).
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
}

impl Off {
    /// What comes off `line` (never more than it, never below zero), by the module's rule.
    pub fn amount_off(self, line: Money) -> Money {
        let line = line.at_least_zero();
        let off = match self {
            Off::Percent(p) => line.mul_ratio(i64::from(p.min(100)), 100).unwrap_or(line),
            Off::Amount(amount) => amount.at_least_zero(),
        };
        off.min(line)
    }

    /// `20% off`, `$5.00 off`.
    pub fn label(self) -> String {
        match self {
            Off::Percent(p) => format!("{p}% off"),
            Off::Amount(amount) => format!("{amount} off"),
        }
    }
}

impl CouponTerms {
    pub fn covers_plan(&self, plan: PlanId) -> bool {
        self.plans.as_ref().is_none_or(|plans| plans.contains(&plan))
    }
}

/// Externally tagged, as serde writes it: `{"percent": 20}` or `{"amount": 500}`.
impl FromJson for Off {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Object(entries) if entries.len() == 1 => match entries[0].0.as_str() {
                "percent" => Ok(Off::Percent(u8::from_json(&entries[0].1)?)),
                "amount" => Ok(Off::Amount(Money::from_json(&entries[0].1)?)),
                _ => Err(JsonError("expected percent or amount off".into())),
            },
            _ => Err(JsonError("expected percent or amount off".into())),
        }
    }
}

/// Read from the object it is flattened into (`"duration": "repeating", "duration_in_months": 3`).
impl FromJson for CouponDuration {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value.get("duration").as_str()? {
            "once" => Ok(CouponDuration::Once),
            "repeating" => Ok(CouponDuration::Repeating { duration_in_months: value.field("duration_in_months")? }),
            "forever" => Ok(CouponDuration::Forever),
            _ => Err(JsonError("expected a coupon duration".into())),
        }
    }
}

crate::from_json_struct!(DiscountSummary {
    code,
    label,
    off,
    amount_off_today,
    ends_at,
    discounted_renewals,
    discounted_renewal_amount,
    full_renewal_amount,
});
crate::from_json_struct!(NotCovered { code, off });

crate::from_json_struct!(DiscountView { code, label, off, plans, started_at, ends_at; flatten duration });
