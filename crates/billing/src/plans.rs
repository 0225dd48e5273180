//! The plan catalog (SPEC section 2) as data.

use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

crate::wire_string_enum! {
    /// A plan's stable id, as on the wire.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum PlanId {
        Free = "free",
        Pro = "pro",
        ProPlus = "pro_plus",
        Power = "power",
    }
}

/// One row of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub id: PlanId,
    pub name: &'static str,
    pub monthly_price: Money,
    pub monthly_credits: u32,
}

/// Every plan, cheapest first.
pub const CATALOG: [Plan; 4] = [
    Plan { id: PlanId::Free, name: "Kiro Free", monthly_price: Money::ZERO, monthly_credits: 50 },
    Plan { id: PlanId::Pro, name: "Kiro Pro", monthly_price: Money::from_dollars(20), monthly_credits: 1_000 },
    Plan { id: PlanId::ProPlus, name: "Kiro Pro+", monthly_price: Money::from_dollars(40), monthly_credits: 2_000 },
    Plan { id: PlanId::Power, name: "Kiro Power", monthly_price: Money::from_dollars(200), monthly_credits: 10_000 },
];

/// Overage price per credit beyond the plan's credits (paid plans only, opt-in): $0.04.
pub const OVERAGE_PRICE_PER_CREDIT: Money = Money::from_cents(4);

impl PlanId {
    pub const ALL: [PlanId; 4] = [PlanId::Free, PlanId::Pro, PlanId::ProPlus, PlanId::Power];

    pub fn plan(self) -> &'static Plan {
        &CATALOG[self as usize]
    }

    /// Its name on the wire (one list, in `wire_string_enum!` above).
    pub fn as_str(self) -> &'static str {
        self.wire_name()
    }

    pub fn is_paid(self) -> bool {
        self.plan().monthly_price > Money::ZERO
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PlanId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        PlanId::ALL.into_iter().find(|p| p.as_str() == s).ok_or(())
    }
}

/// `1,000` style grouping for credit counts.
pub fn format_credits(credits: u32) -> String {
    crate::money::group_thousands(u64::from(credits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_published_figures() {
        let rows: Vec<_> =
            CATALOG.iter().map(|p| (p.id.as_str(), p.name, p.monthly_price.cents(), p.monthly_credits)).collect();
        assert_eq!(
            rows,
            vec![
                ("free", "Kiro Free", 0, 50),
                ("pro", "Kiro Pro", 2000, 1000),
                ("pro_plus", "Kiro Pro+", 4000, 2000),
                ("power", "Kiro Power", 20000, 10000),
            ]
        );
        for id in PlanId::ALL {
            assert_eq!(id.plan().id, id);
            assert_eq!(id.as_str().parse::<PlanId>(), Ok(id));
        }
        assert!(!PlanId::Free.is_paid());
        assert!(PlanId::Pro.is_paid());
        assert_eq!("enterprise".parse::<PlanId>(), Err(()));
    }

    #[test]
    fn credits_are_grouped() {
        assert_eq!(format_credits(50), "50");
        assert_eq!(format_credits(1000), "1,000");
        assert_eq!(format_credits(10_000), "10,000");
    }
}
