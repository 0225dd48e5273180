//! One routed page per file; the portal's pages live in portal/, under the parent route that
//! loads the portal once for all of them.

pub mod checkout;
pub mod not_found;
pub mod portal;

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
    pub plan: Option<String>,
}
