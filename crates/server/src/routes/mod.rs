//! The HTTP surface: `/v1/...` for the IDE's backend (secret key), `/api/...` for the pages
//! (the session id in the path is the bearer secret), `/healthz`.

mod checkout;
mod portal;
mod server_api;

use crate::AppState;
use crate::error::AppError;
use axum::Router;
use axum::routing::{any, get, post};

pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/checkout/sessions", post(server_api::create_checkout_session))
        .route("/v1/checkout/sessions/{session_id}", get(server_api::get_checkout_session))
        .route("/v1/portal/sessions", post(server_api::create_portal_session))
        .route("/v1/portal/sessions/{session_id}", get(server_api::get_portal_session))
        .route("/v1/events", get(server_api::list_events))
        .route("/v1/accounts/{account_id}/subscription", get(server_api::get_subscription))
        .route("/v1/accounts/{account_id}/invoices", get(server_api::list_invoices))
        .route("/v1/test_helpers/clock", post(server_api::set_clock).get(server_api::get_clock))
        .route("/api/checkout/{session_id}", get(checkout::get_session))
        .route("/api/checkout/{session_id}/card", post(checkout::tokenize_card))
        .route("/api/checkout/{session_id}/confirm", post(checkout::confirm))
        .route("/api/checkout/{session_id}/challenge", post(checkout::answer_challenge))
        .route("/api/portal/{session_id}", get(portal::get_session))
        .route("/api/portal/{session_id}/preview", post(portal::preview))
        .route("/api/portal/{session_id}/change", post(portal::change))
        .route("/api/portal/{session_id}/keep-plan", post(portal::keep_plan))
        .route("/api/portal/{session_id}/challenge", post(portal::answer_challenge))
        .route("/api/portal/{session_id}/payment-method", post(portal::update_payment_method))
        .route("/api/portal/{session_id}/payment-method/challenge", post(portal::answer_card_challenge))
        .route("/api/portal/{session_id}/pay-invoice", post(portal::pay_invoice))
        .route("/api/portal/{session_id}/cancel", post(portal::cancel))
        .route("/api/portal/{session_id}/resume", post(portal::resume))
        .route("/api/portal/{session_id}/overage", post(portal::overage))
        .route("/api/portal/{session_id}/invoices", get(portal::invoices))
        .route("/api/portal/{session_id}/invoices/{invoice_id}", get(portal::invoice))
        .route("/v1/{*rest}", any(|| async { AppError::NotFound }))
        .route("/api/{*rest}", any(|| async { AppError::NotFound }))
}
