//! Work that runs as time passes, apart from requests: period ends and their renewal charges,
//! webhook delivery, and the settling of orphaned payment attempts.

pub mod renewals;
pub mod webhooks;

use crate::error::AppError;
use crate::payments::{Payments, reconcile, refunds};
use crate::{Clock, store};

/// Settles charges and refunds whose lease ran out (a stop, Stripe's silence, a failed record) as
/// often as a lease lasts, from the start.
pub fn start_reconciling(payments: Payments) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every_lease = tokio::time::interval(payments.attempt_lease);
        loop {
            every_lease.tick().await;
            if let Err(e) = reconcile::reconcile(&payments).await {
                tracing::error!(?e, "settling orphaned payments failed");
            }
            if let Err(e) = refunds::reconcile_refunds(&payments).await {
                tracing::error!(?e, "finishing orphaned refunds failed");
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
            // Another instance may have moved the shared test clock.
            if let Ok(Some(saved)) = payments.store.read(store::saved_clock).await
                && billing::period::is_supported(saved)
            {
                clock.move_forward_to(saved);
            }
            if let Err(e) = payments.store.write_in_background(store::forget_whole_allowances).await {
                tracing::error!(?e, "forgetting wrong-key counts failed");
            }
            if let Err(e) = renewals::catch_up(&payments, clock.now()).await {
                tracing::error!(?e, "renewals failed");
            }
            prune_usage(&payments.store, clock.now()).await;
        }
    })
}

/// Forgets meter events older than 35 days (their totals stay), in short transactions.
async fn prune_usage(store: &store::Store, now: time::OffsetDateTime) {
    const PRUNE_BATCH: usize = 5_000;
    loop {
        match store.write_in_background(move |tx| crate::usage::prune(tx, now, PRUNE_BATCH)).await {
            Ok(pruned) if pruned == PRUNE_BATCH => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::error!(?e, "pruning meter events failed");
                return;
            }
        }
    }
}

/// Moves the test clock forwards to `to` and runs what fell due on the way. The new reading is
/// saved in the transaction that runs the first batch of due work (checked against the saved
/// reading, so racing moves can never leave it behind); the rest runs in further short
/// transactions. `clock_backwards` when `to` is earlier than the clock reads.
pub async fn move_test_clock(payments: &Payments, clock: &Clock, to: time::OffsetDateTime) -> Result<(), AppError> {
    let current_clock = clock.clone();
    payments
        .store
        .write(move |tx| {
            let saved = store::saved_clock(tx)?;
            let current = saved.map_or(current_clock.now(), |saved| saved.max(current_clock.now()));
            if to < current {
                return Err(AppError::ClockBackwards);
            }
            store::save_clock(tx, to)?;
            renewals::run_due(tx, to, None, renewals::DUE_BATCH)
        })
        .await?;
    clock.move_forward_to(to);
    // The rest of the catching up (far jumps) and the renewals' charges go on in short
    // transactions; the answer waits for them a little, and the ticker finishes whatever a
    // dropped request left.
    let payments = payments.clone();
    let rest = tokio::spawn(async move { renewals::catch_up(&payments, to).await });
    match tokio::time::timeout(std::time::Duration::from_secs(10), rest).await {
        Ok(Ok(result)) => result?,
        Ok(Err(e)) => return Err(AppError::internal_from("catching up", e)),
        Err(_) => tracing::warn!("the test clock moved far; due work goes on in the background"),
    }
    Ok(())
}
