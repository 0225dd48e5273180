//! Kiro's billing rules as plain, pure Rust: the plan catalog, money in integer cents, calendar-month
//! billing periods, proration quotes, payment-form validation and as-you-type formatting, and the
//! wire types that the app and the server exchange.
//!
//! Nothing here reads a clock or does I/O: "now" is always passed in, so the app (instant feedback)
//! and the server (the authority) compute the same numbers from the same inputs.

pub mod countries;
pub mod coupon;
pub mod discount;
pub mod format;
pub mod json;
pub mod lines;
pub mod money;
pub mod period;
pub mod plans;
pub mod proration;
pub mod usage;
pub mod validate;
pub mod wire;

pub use money::Money;
pub use plans::{Plan, PlanId};
