//! Kiro's reference billing server: the session API the IDE's backend calls, the browser API the
//! checkout and portal pages call, a test-mode payment processor and a movable test clock. It also
//! serves the built app with an SPA fallback.
//!
//! One folder per area: `http` (routers, extractors, error bodies, serving, the app's files),
//! `checkout`, `portal`, `promotions` (coupons, codes, discounts), `subscriptions`, `usage` (credits: meter events, overage), `support` (refunds, credit notes, ending a subscription now, disputes), `payments` (the processors, the three-step charge, 3-D
//! Secure answers, reconciliation, Stripe's webhooks), `jobs` (work that runs as time passes),
//! `metrics` (what `/metrics` shows) and `store` (all the SQL). `state` and `startup` build what
//! the HTTP layer hands its handlers.

pub mod checkout;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod payments;
pub mod portal;
pub mod promotions;
pub mod signing;
pub mod startup;
pub mod state;
pub mod store;
pub mod subscriptions;
pub mod support;
pub mod usage;

pub use clock::Clock;
pub use config::Config;
pub use http::guarded;
pub use startup::app;
pub use state::AppState;
pub use store::Store;

/// Request bodies larger than this are refused with `body_too_large`.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
