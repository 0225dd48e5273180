//! Limits on guessing. Per session: cards tokenized and 3-D Secure challenges opened (card
//! testing). Per address: wrong secret keys: after [`MAX_FAILURES`] failures in
//! a [`WINDOW`], every attempt from that address gets `429 rate_limited` until the window ends,
//! the right key included, so the key cannot be guessed faster than that.

use crate::error::AppError;
use crate::store;
use rusqlite::Connection;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// What a checkout or portal session may do only so often: enough for any honest user, too few
/// for testing stolen cards.
#[derive(Debug, Clone, Copy)]
pub enum SessionLimit {
    /// Cards tokenized.
    Cards,
    /// 3-D Secure challenges opened.
    Challenges,
}

pub const MAX_PER_SESSION: u32 = 20;

/// Opens a 3-D Secure challenge in a session that expires at `expires_at`: one of at most
/// [`MAX_PER_SESSION`]; its id.
pub fn open_challenge(
    conn: &Connection,
    challenge: &crate::store::Challenge,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<billing::wire::ChallengeId, AppError> {
    check_limit(conn, SessionLimit::Challenges, &challenge.session_id, expires_at, now)?;
    crate::store::insert_challenge(conn, challenge, now)?;
    Ok(challenge.id.clone().into())
}

/// `rate_limited` (retry when the session has expired, i.e. not in it) once `limit` is reached.
pub fn check_limit(
    conn: &Connection,
    limit: SessionLimit,
    session_id: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let used = match limit {
        SessionLimit::Cards => store::cards_tokenized_in(conn, session_id)?,
        SessionLimit::Challenges => store::challenges_opened_in(conn, session_id)?,
    };
    if used < MAX_PER_SESSION {
        return Ok(());
    }
    tracing::warn!(session = %crate::ids::redact(session_id), ?limit, "session limit reached");
    let seconds = (expires_at - now).whole_seconds().max(1);
    Err(AppError::RateLimited { retry_after_secs: u64::try_from(seconds).unwrap_or(1) })
}

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at once; past this, expired windows are dropped (and, under a flood of
/// addresses, all of them: the limiter must never grow without bound).
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub struct FailedKeys {
    windows: Mutex<HashMap<IpAddr, Window>>,
}

struct Window {
    started: Instant,
    failures: u32,
}

/// Requests that did not come through a socket (tests driving the router) share one address.
fn address(client: Option<IpAddr>) -> IpAddr {
    client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

impl FailedKeys {
    /// `rate_limited` with the seconds left when `client` failed too often in its window.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), AppError> {
        let windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match windows.get(&address(client)) {
            Some(w) if w.failures >= MAX_FAILURES && w.started.elapsed() < WINDOW => {
                let left = WINDOW.saturating_sub(w.started.elapsed()).as_secs().max(1);
                Err(AppError::RateLimited { retry_after_secs: left })
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, client: Option<IpAddr>) {
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, w| w.started.elapsed() < WINDOW);
            if windows.len() >= MAX_TRACKED {
                windows.clear();
            }
        }
        let window = windows.entry(address(client)).or_insert(Window { started: Instant::now(), failures: 0 });
        if window.started.elapsed() >= WINDOW {
            *window = Window { started: Instant::now(), failures: 0 };
        }
        window.failures += 1;
        if window.failures == MAX_FAILURES {
            tracing::warn!(client = %address(client), "too many wrong secret keys; refusing this address for a minute");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_too_many_failures_and_others_are_not() {
        let limiter = FailedKeys::default();
        let attacker = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)));
        for _ in 0..MAX_FAILURES {
            assert!(limiter.check(attacker).is_ok());
            limiter.record_failure(attacker);
        }
        assert!(matches!(limiter.check(attacker), Err(AppError::RateLimited { retry_after_secs: 1..=60 })));
        assert!(limiter.check(Some(IpAddr::V4(Ipv4Addr::LOCALHOST))).is_ok());
    }
}
