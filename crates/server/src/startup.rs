//! Building the server: the state from the configuration and the store, the whole router with
//! its layers, and the background work.

use crate::http::app_files;
use crate::http::failed_keys::FailedKeys;
use crate::http::static_files::Site;
use crate::metrics::Metrics;
use crate::payments::{Payments, Processor, stripe::StripeClient};
use crate::state::{AppState, Inner};
use crate::{Clock, Config, MAX_BODY_BYTES, Store, config, http, ids, jobs, store, subscriptions};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, header};
use secrecy::ExposeSecret;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

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
        let site = Site::load(config.dist_dir.as_deref())?;
        let clock = Clock::new(frozen);
        let processor = match &config.stripe {
            Some(stripe) => Processor::Stripe(StripeClient::new(&stripe.api_base, stripe.secret_key.clone())),
            None => Processor::Test,
        };
        // Attempts a stop left pending are not touched here: another instance on the same
        // database may own them. Their leases run out and `reconcile` settles them.
        let webhook_secret = store
            .write_blocking(|tx| {
                store::set_endpoints(tx, &config.webhook_urls)?;
                jobs::renewals::keep_retry_schedule(tx, &config.payment_retries)?;
                subscriptions::events::signing_secret(
                    tx,
                    config.webhook_secret.as_ref().map(ExposeSecret::expose_secret),
                )
            })
            .map_err(|e| format!("{e:?}"))?;
        let failed_keys = FailedKeys::default();
        let metrics = Metrics::new();
        let payments = Payments {
            metrics: metrics.clone(),
            store: store.clone(),
            processor,
            charge_wait: config.charge_wait,
            attempt_lease: config.attempt_lease,
        };
        Ok(AppState(Arc::new(Inner { config, store, clock, site, failed_keys, webhook_secret, payments, metrics })))
    }

    /// Moves this instance's test clock to the one saved in the database, when another instance
    /// moved it further.
    pub async fn catch_up_clock(&self) -> Result<(), crate::error::AppError> {
        if let Some(saved) = self.store.read(store::saved_clock).await?
            && billing::period::is_supported(saved)
        {
            self.clock.move_forward_to(saved);
        }
        Ok(())
    }

    /// Starts delivering events to the configured webhook endpoints (once, inside a runtime).
    /// Deliveries left pending by an earlier run resume.
    pub fn start_webhooks(&self) -> tokio::task::JoinHandle<()> {
        let (store, secret) = (self.store.clone(), self.webhook_secret.clone());
        tokio::spawn(jobs::webhooks::run(store, secret, self.config.webhook_schedule))
    }
}

/// The whole server: APIs, the app with its SPA fallback, compression, security headers, tracing.
pub fn app(state: AppState) -> Router {
    let stripe_origins = state.config.stripe.as_ref().map(config::StripeSettings::csp_origins);
    let csp = HeaderValue::from_str(&state.site.content_security_policy(stripe_origins))
        .unwrap_or(HeaderValue::from_static("default-src 'none'"));
    let api = http::api_router()
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    let mut router =
        Router::new().merge(api).fallback_service(app_files::service(state.clone())).with_state(state.clone());
    if state.config.test_mode && state.store.kind() == store::Kind::Postgres {
        router =
            router.layer(axum::middleware::from_fn_with_state(state.clone(), http::test_clock::follow_saved_clock));
    }
    http::guarded(router, state.config.request_timeout)
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), http::ops::count_requests))
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
