//! Work that runs as time passes, apart from requests: period ends and their renewal charges,
//! webhook delivery, and the settling of orphaned payment attempts.

pub mod renewals;
pub mod webhooks;

use crate::Clock;
use crate::payments::{Payments, reconcile};

/// Settles charges whose lease ran out (a stop, Stripe's silence, a failed record) as often as a
/// lease lasts, from the start.
pub fn start_reconciling(payments: Payments) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every_lease = tokio::time::interval(payments.attempt_lease);
        loop {
            every_lease.tick().await;
            if let Err(e) = reconcile::reconcile(&payments).await {
                tracing::error!(?e, "settling orphaned payments failed");
            }
        }
    })
}

/// Renewals fall due as time passes (and a far test-clock move may leave work for later): every
/// minute, what is due by `clock` is done.
pub fn start_renewals(payments: Payments, clock: Clock) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            if let Err(e) = renewals::catch_up(&payments, clock.now()).await {
                tracing::error!(?e, "renewals failed");
            }
        }
    })
}
