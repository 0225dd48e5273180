//! Limits on guessing the secret key, per address (counted by each instance, and in the database
//! when several share one): [`MAX_FAILURES`] wrong keys at once, then one
//! per [`WINDOW`]; past that a wrong key gets `429 rate_limited`, so the key cannot be guessed
//! faster. The right key is never refused, so nobody sharing the backend's address can lock the
//! backend out.

use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Wrong keys an address may present at once.
pub const MAX_FAILURES: u32 = 10;
/// After [`MAX_FAILURES`], one more wrong key per window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked before the first sweep. A sweep drops only addresses whose allowance has
/// been whole again for a window (so never a locked one), and the next waits until the map has
/// doubled: memory follows the addresses that failed recently, at amortized constant cost.
const FIRST_SWEEP_AT: usize = 10_000;

/// Wrong secret keys per client address (IPv6: per /64).
pub struct FailedKeys<C: Clock = DefaultClock> {
    limiter: RateLimiter<IpAddr, DashMapStateStore<IpAddr>, C, StateInformationMiddleware>,
    sweep_at: AtomicUsize,
}

impl Default for FailedKeys {
    fn default() -> FailedKeys {
        FailedKeys::with_clock(DefaultClock::default())
    }
}

/// The address a client's failures count against. Requests that did not come through a socket
/// (tests driving the router) share one. An IPv6 host is commonly given a whole /64 and could
/// use a new address for every guess, so IPv6 counts by /64 (IPv4-mapped ones as IPv4).
fn address(client: Option<IpAddr>) -> IpAddr {
    match client.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V6(v6)) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        Some(v4) => v4,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

impl<C: Clock> FailedKeys<C> {
    pub fn with_clock(clock: C) -> FailedKeys<C> {
        let one_per_window = Quota::with_period(WINDOW).expect("the window is not zero");
        let quota = one_per_window.allow_burst(NonZeroU32::new(MAX_FAILURES).expect("at least one failure"));
        let limiter = RateLimiter::dashmap_with_clock(quota, clock).with_middleware::<StateInformationMiddleware>();
        FailedKeys { limiter, sweep_at: AtomicUsize::new(FIRST_SWEEP_AT) }
    }

    /// Counts a wrong key from `client`: `rate_limited`, with the seconds until it may try
    /// again, when it has none left. Call it only for a wrong key: the right one always passes.
    pub fn record_failure(&self, client: Option<IpAddr>) -> Result<(), AppError> {
        let address = address(client);
        let counted = self.limiter.check_key(&address);
        self.sweep_when_grown();
        match counted {
            Ok(left) if left.remaining_burst_capacity() == 0 => {
                tracing::warn!(client = %address, "wrong secret keys used up; this address's next ones get 429");
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                let retry_after_secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
                Err(AppError::RateLimited { retry_after_secs })
            }
        }
    }

    /// [`FailedKeys::record_failure`], and with several instances on one database
    /// (PostgreSQL) counted there too, so the limit holds for the addresses' guesses at all of
    /// them together: ten instances do not mean ten times the guesses.
    pub async fn record_shared_failure(&self, client: Option<IpAddr>, store: &crate::Store) -> Result<(), AppError> {
        self.record_failure(client)?;
        if store.kind() != crate::store::Kind::Postgres {
            return Ok(());
        }
        let address = address(client).to_string();
        let allowance = crate::store::KeyAllowance {
            burst: MAX_FAILURES,
            interval_ms: i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX),
        };
        let wait = store.write(move |tx| crate::store::count_failed_key(tx, &address, allowance)).await?;
        match wait {
            None => Ok(()),
            Some(ms) => {
                Err(AppError::RateLimited { retry_after_secs: u64::try_from(ms).unwrap_or(1).div_ceil(1000).max(1) })
            }
        }
    }

    /// Forgets the addresses whose allowance is whole again, once the map has doubled.
    fn sweep_when_grown(&self) {
        if self.limiter.len() < self.sweep_at.load(Ordering::Relaxed) {
            return;
        }
        self.sweep();
    }

    fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.sweep_at.store(FIRST_SWEEP_AT.max(2 * self.limiter.len()), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn v4(n: u32) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + n)))
    }

    fn v6(text: &str) -> Option<IpAddr> {
        Some(IpAddr::V6(text.parse().unwrap()))
    }

    fn use_up(limiter: &FailedKeys<impl Clock>, client: Option<IpAddr>) {
        for _ in 0..MAX_FAILURES {
            assert!(limiter.record_failure(client).is_ok());
        }
    }

    #[test]
    fn an_address_is_refused_after_too_many_failures_and_others_are_not() {
        let limiter = FailedKeys::default();
        let attacker = v4(9);
        use_up(&limiter, attacker);
        assert!(matches!(limiter.record_failure(attacker), Err(AppError::RateLimited { retry_after_secs: 1..=60 })));
        assert!(limiter.record_failure(Some(IpAddr::V4(Ipv4Addr::LOCALHOST))).is_ok());
    }

    #[test]
    fn a_locked_address_stays_locked_while_20000_others_fail_and_are_swept() {
        let clock = FakeRelativeClock::default();
        let limiter = FailedKeys::with_clock(clock.clone());
        use_up(&limiter, v4(0));
        for n in 1..=20_000 {
            assert!(limiter.record_failure(v4(n)).is_ok());
        }
        assert!(limiter.record_failure(v4(0)).is_err(), "the locked address was forgotten");
        // governor forgets an address one window after its allowance is whole again.
        clock.advance(2 * WINDOW);
        limiter.sweep();
        assert_eq!(limiter.limiter.len(), 1, "the addresses that failed once are forgotten, the locked one is not");
        assert!(limiter.record_failure(v4(0)).is_ok(), "one more wrong key per window");
        assert!(limiter.record_failure(v4(0)).is_ok(), "one more wrong key per window");
        assert!(limiter.record_failure(v4(0)).is_err(), "and then locked again");
    }

    #[test]
    fn the_first_sweep_forgets_the_addresses_whose_allowance_is_whole() {
        let clock = FakeRelativeClock::default();
        let limiter = FailedKeys::with_clock(clock.clone());
        for n in 0..FIRST_SWEEP_AT as u32 - 1 {
            assert!(limiter.record_failure(v4(n)).is_ok());
        }
        clock.advance(2 * WINDOW);
        assert!(limiter.record_failure(v4(1_000_000)).is_ok());
        assert_eq!(limiter.limiter.len(), 1, "only the address that failed since the window is kept");
    }

    #[test]
    fn an_ipv6_host_counts_by_its_64_and_ipv4_mapped_addresses_as_ipv4() {
        let limiter = FailedKeys::default();
        for n in 0..MAX_FAILURES {
            assert!(limiter.record_failure(v6(&format!("2001:db8:1:2::{n:x}"))).is_ok());
        }
        assert!(
            limiter.record_failure(v6("2001:db8:1:2:ffff:ffff:ffff:ffff")).is_err(),
            "a new address in the same /64"
        );
        assert!(limiter.record_failure(v6("2001:db8:1:3::1")).is_ok(), "another /64");
        use_up(&limiter, v4(7));
        assert!(limiter.record_failure(v6(&format!("::ffff:{}", v4(7).unwrap()))).is_err());
    }
}
