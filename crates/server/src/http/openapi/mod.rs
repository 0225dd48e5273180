//! The server API (`/v1/...`) described by an OpenAPI 3.1 document generated from the code: each
//! handler's `#[utoipa::path]` says its method, path, body and answers, and the routers are built
//! from the same annotations (`utoipa_axum::routes!`), so a route cannot exist without its entry.
//! Here: the document's skeleton, the failures every operation shares, and the objects' schemas;
//! [`super::document`] assembles it (served at `GET /v1/openapi.json`; `cargo xtask build` writes
//! it to `docs/openapi.json`, and a test fails when that copy differs from what the code makes).

pub mod schemas;

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
