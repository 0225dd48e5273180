//! What the HTTP layer hands every handler: the configuration, the store, the clock, the built
//! app, the wrong-key limiter, the webhook secret, what charging needs and the metrics.

use crate::http::failed_keys::FailedKeys;
use crate::http::static_files::Site;
use crate::metrics::Metrics;
use crate::payments::Payments;
use crate::{Clock, Config, Store};
use std::sync::Arc;

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Store,
    pub clock: Clock,
    pub site: Site,
    pub failed_keys: FailedKeys,
    /// The secret webhook events are signed with.
    pub webhook_secret: String,
    /// Who moves the money, and how charges wait and hold their attempts.
    pub payments: Payments,
    /// What `/metrics` shows (requests here, payments in `payments`, which shares it).
    pub metrics: Metrics,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
