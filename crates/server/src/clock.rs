//! The server's clock: the system time, or in test mode a frozen instant that the test-clock
//! endpoint moves forwards (as Stripe's test clocks do). Kept in the database so a restart keeps it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// How far this process's wall clock is set off the system's (`--clock-skew-secs`): instances'
/// clocks never agree exactly, and the tests run one minutes ahead to show that nothing the
/// instances share (leases, deadlines, rate limits) reads it; those read the database's clock.
static SKEW_MS: AtomicI64 = AtomicI64::new(0);

/// Sets this process's clock skew (see [`SKEW_MS`]).
pub fn set_skew(skew: time::Duration) {
    SKEW_MS.store(i64::try_from(skew.whole_milliseconds()).unwrap_or(0), Ordering::Relaxed);
}

/// This process's wall clock.
fn wall_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::milliseconds(SKEW_MS.load(Ordering::Relaxed))
}

/// Clones share one reading: a move shows in every clone.
#[derive(Debug, Default, Clone)]
pub struct Clock {
    frozen_at: Arc<Mutex<Option<OffsetDateTime>>>,
}

impl Clock {
    pub fn new(frozen_at: Option<OffsetDateTime>) -> Clock {
        Clock { frozen_at: Arc::new(Mutex::new(frozen_at)) }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.frozen().unwrap_or_else(wall_clock)
    }

    pub fn frozen(&self) -> Option<OffsetDateTime> {
        *self.frozen_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Freezes the clock at `to`, or leaves it where it is when it already reads later: the
    /// caller has checked `to` against the saved reading, and racing moves land in any order.
    pub fn move_forward_to(&self, to: OffsetDateTime) {
        let mut frozen = self.frozen_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if frozen.is_none_or(|current| current < to) {
            *frozen = Some(to);
        }
    }
}

/// Wall-clock milliseconds of this process (signatures, metrics): deliveries happen in real
/// time, whatever the billing clock says.
pub fn now_millis() -> i64 {
    i64::try_from(wall_clock().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn moves_forwards_only_and_stays_put() {
        let clock = Clock::new(Some(datetime!(2030-01-01 00:00 UTC)));
        assert_eq!(clock.now(), datetime!(2030-01-01 00:00 UTC));
        clock.move_forward_to(datetime!(2030-02-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2030-02-01 00:00 UTC));
        clock.move_forward_to(datetime!(2030-01-15 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2030-02-01 00:00 UTC));
    }
}
