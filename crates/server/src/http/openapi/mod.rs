//! The server API (`/v1/...`) described by an OpenAPI 3.1 document generated from the code: each
//! handler's `#[utoipa::path]` says its method, path, body and answers, and the routers are built
//! from the same annotations (`utoipa_axum::routes!`), so a route cannot exist without its entry.
//! Served at `GET /v1/openapi.json`; `cargo xtask build` writes it to `docs/openapi.json`, and a
//! test fails when that copy differs from what the code generates.

pub mod schemas;

use axum::Json;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kiro billing server API",
        description = "What the IDE's backend calls with the secret key (`Authorization: Bearer sk_...`): \
            checkout and portal sessions, subscriptions, invoices, events, usage, promotions, refunds and \
            cancellations. Shapes follow Stripe's where Stripe has one. Money is integer cents (USD). Every \
            failure is `{\"error\": {\"code\", \"message\"}}` with a 4xx or 5xx status. POSTs that create \
            take an optional `Idempotency-Key` header (24 hours).",
        license(name = "Proprietary")
    ),
    components(schemas(schemas::ErrorBody)),
    modifiers(&SecretKeyScheme),
    tags(
        (name = "sessions", description = "Checkout and portal sessions: where the IDE sends the user."),
        (name = "accounts", description = "Subscriptions, invoices and events."),
        (name = "usage", description = "Credits: meter events and what is left."),
        (name = "promotions", description = "Coupons and their promotion codes."),
        (name = "support", description = "Refunds (credit notes) and ending a subscription now."),
        (name = "test", description = "Test mode's clock."),
        (name = "stripe", description = "Stripe's webhooks (Stripe mode)."),
    )
)]
struct Base;

/// The secret key, as a bearer token.
struct SecretKeyScheme;

impl Modify for SecretKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("The secret key.")).build();
        components.add_security_scheme("secret_key", SecurityScheme::Http(bearer));
    }
}

/// The document's skeleton (info, security, tags) the routers add their paths to.
pub fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

/// The whole document, generated once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| super::versioned_api().into_openapi())
}

/// The document as pretty JSON (what `docs/openapi.json` holds), ending in a newline.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// The document itself, readable without a key.
#[utoipa::path(get, path = "/openapi.json", tag = "accounts",
    responses((status = 200, description = "This document.", content_type = "application/json")))]
pub async fn serve() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(document())
}

/// What every operation may fail with: the JSON error body, 4xx for the request, 5xx for us.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Failures {
    /// The request was refused: `error.code` says why.
    #[response(status = "4XX")]
    Refused(#[to_schema] schemas::ErrorBody),
    /// Ours, or the database or processor away (`503`, `502`): retry with the same key.
    #[response(status = "5XX")]
    Failed(#[to_schema] schemas::ErrorBody),
}
