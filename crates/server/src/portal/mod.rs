//! The manage-subscription portal: the session the IDE's backend opens, the page's API, plan
//! changes and their charges, the card on file, paying what a past-due account owes, cancel and
//! resume, overage, and the billing history.

pub mod account;
pub mod account_charge;
pub mod change_charge;
pub mod handlers;
pub mod plan_changes;
pub mod sessions;
pub mod stripe_card;
pub mod stripe_routes;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

/// `/api/portal/{session_id}/...`
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{session_id}", get(handlers::get_session))
        .route("/{session_id}/preview", post(handlers::preview))
        .route("/{session_id}/change", post(handlers::change))
        .route("/{session_id}/keep-plan", post(handlers::keep_plan))
        .route("/{session_id}/challenge", post(handlers::answer_challenge))
        .route("/{session_id}/payment-method", post(handlers::update_payment_method))
        .route("/{session_id}/payment-method/challenge", post(handlers::answer_card_challenge))
        .route("/{session_id}/setup-intent", post(stripe_routes::setup_intent))
        .route("/{session_id}/stripe-card", post(stripe_routes::stripe_card))
        .route("/{session_id}/pay-invoice", post(handlers::pay_invoice))
        .route("/{session_id}/pay-invoice/challenge", post(handlers::answer_invoice_challenge))
        .route("/{session_id}/cancel", post(handlers::cancel))
        .route("/{session_id}/resume", post(handlers::resume))
        .route("/{session_id}/overage", post(handlers::overage))
        .route("/{session_id}/spending-limit", post(handlers::spending_limit))
        .route("/{session_id}/invoices", get(handlers::invoices))
        .route("/{session_id}/invoices/{invoice_id}", get(handlers::invoice))
        .route("/{session_id}/locale", post(crate::http::languages::choose_for_portal))
}
