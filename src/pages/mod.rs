//! One routed page per file.

pub mod checkout;
pub mod not_found;
pub mod portal;
pub mod portal_cancel;
pub mod portal_change;
pub mod portal_invoices;
pub mod portal_payment_method;
pub mod portal_plans;

use leptos::Params;
use leptos_router::params::Params;

/// `/:kind/:session_id` routes.
#[derive(Params, PartialEq, Clone, Debug)]
pub struct SessionParams {
    pub session_id: Option<String>,
}

/// `/portal/:session_id/update/:plan`.
#[derive(Params, PartialEq, Clone, Debug)]
pub struct PlanChangeParams {
    pub session_id: Option<String>,
    pub plan: Option<String>,
}
