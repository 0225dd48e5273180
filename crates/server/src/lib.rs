//! Kiro's reference billing server: the session API the IDE's backend calls, the browser API the
//! checkout and portal pages call, a test-mode payment processor and a movable test clock. It also
//! serves the built app with an SPA fallback.

pub mod account;
pub mod account_charge;
pub mod answers;
pub mod checkout;
pub mod checkout_charge;
pub mod clock;
pub mod config;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod limits;
pub mod payments;
pub mod plan_changes;
pub mod portal_charge;
pub mod processor;
pub mod reconcile;
pub mod renewals;
pub mod routes;
pub mod serve;
pub mod session_tokens;
pub mod static_files;
pub mod store;
pub mod stripe;
pub mod subscriptions;
pub mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode, header};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use clock::Clock;
pub use config::Config;
pub use store::Store;

/// Request bodies larger than this are refused with `body_too_large`.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Store,
    pub clock: Clock,
    pub site: static_files::Site,
    pub failed_keys: limits::FailedKeys,
    /// The secret webhook events are signed with.
    pub webhook_secret: String,
    /// Who moves the money.
    pub processor: payments::Processor,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state, reading the test clock back from the store and the built app from
    /// `config.dist_dir`.
    pub fn new(config: Config, store: Store) -> Result<AppState, String> {
        let saved = store.read_blocking(store::saved_clock).map_err(|e| format!("{e:?}"))?;
        // A reading outside what the billing rules cover (saved by an older build) is dropped
        // rather than served: every request would fail on it.
        let frozen = match saved {
            Some(at) if billing::period::is_supported(at) => Some(at),
            Some(at) => {
                tracing::warn!(%at, "ignoring a saved test clock outside the supported range");
                config.initial_clock
            }
            None => config.initial_clock,
        };
        let site = static_files::Site::load(config.dist_dir.as_deref())?;
        let clock = Clock::new(frozen);
        let processor = match &config.stripe {
            Some(stripe) => {
                payments::Processor::Stripe(stripe::StripeClient::new(&stripe.api_base, &stripe.secret_key))
            }
            None => payments::Processor::Test,
        };
        // Attempts a stop left pending are not touched here: another instance on the same
        // database may own them. Their leases run out and `reconcile` settles them.
        let webhook_secret = store
            .write_blocking(|tx| {
                events::set_endpoints(tx, &config.webhook_urls)?;
                renewals::keep_retry_schedule(tx, &config.payment_retries)?;
                events::signing_secret(tx, config.webhook_secret.as_deref())
            })
            .map_err(|e| format!("{e:?}"))?;
        let failed_keys = limits::FailedKeys::default();
        Ok(AppState(Arc::new(Inner { config, store, clock, site, failed_keys, webhook_secret, processor })))
    }

    /// Starts delivering events to the configured webhook endpoints (once, inside a runtime).
    /// Deliveries left pending by an earlier run resume.
    pub fn start_webhooks(&self) -> tokio::task::JoinHandle<()> {
        let (store, secret) = (self.store.clone(), self.webhook_secret.clone());
        tokio::spawn(webhooks::run(store, secret, self.config.webhook_schedule))
    }
}

/// The whole server: APIs, the app with its SPA fallback, compression, security headers, tracing.
pub fn app(state: AppState) -> Router {
    let stripe_origins = state.config.stripe.as_ref().map(config::StripeSettings::csp_origins);
    let csp = HeaderValue::from_str(&state.site.content_security_policy(stripe_origins))
        .unwrap_or(HeaderValue::from_static("default-src 'none'"));
    let api = routes::api_router()
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let router =
        Router::new().merge(api).fallback_service(static_files::service(state.clone())).with_state(state.clone());
    guarded(router, state.config.request_timeout)
        .layer(CompressionLayer::new().br(true).gzip(true))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, csp))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            tracing::info_span!("request", method = %req.method(), path = %ids::redact_path(req.uri().path()))
        }))
}

/// What stands between any handler and the client: a panic becomes a logged JSON 500 and the
/// server goes on; a request (body included) that takes longer than `timeout` gets a 408; every
/// error leaves with the JSON error body, whichever layer produced it.
pub fn guarded(router: Router, timeout: Duration) -> Router {
    router
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(axum::middleware::from_fn(error::json_error_bodies))
}
