//! The checkout: the session the IDE's backend opens, the page's API, the rules of a first paid
//! subscription and its charge.

pub mod charge;
pub mod handlers;
pub mod promotion_routes;
pub mod rules;
pub mod sessions;
pub mod stripe_card;
pub mod stripe_routes;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

/// `/api/checkout/{session_id}/...`
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{session_id}", get(handlers::get_session))
        .route("/{session_id}/card", post(handlers::tokenize_card))
        .route("/{session_id}/confirm", post(handlers::confirm))
        .route("/{session_id}/challenge", post(handlers::answer_challenge))
        .route("/{session_id}/promotion-code", post(promotion_routes::apply_code).delete(promotion_routes::remove_code))
        .route("/{session_id}/confirm-free", post(promotion_routes::confirm_free))
        .route("/{session_id}/setup-intent", post(stripe_routes::setup_intent))
        .route("/{session_id}/stripe-card", post(stripe_routes::stripe_card))
        .route("/{session_id}/locale", post(crate::http::languages::choose_for_checkout))
}
