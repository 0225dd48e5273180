//! Delivering the outbox's events to the IDE's backend: signed like Stripe's
//! (`Kiro-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`), after commit, at least once, in
//! order per account and endpoint, retried on a non-2xx answer or a timeout with exponential
//! backoff and jitter for up to 3 days. It runs on tasks of its own (one per endpoint) with its own
//! HTTP client: a slow or failing endpoint never holds a request, a transaction, a payment or
//! another endpoint's deliveries.

use crate::Store;
pub use crate::config::Schedule;
use crate::error::AppError;
use crate::store::{self, DeliveryAttempt, Due};
use std::time::Duration;

/// `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    format!("t={timestamp},v1={}", crate::signing::sign(secret, timestamp, body.as_bytes()))
}

/// A `--webhook-url`: https anywhere, or http to this machine (development).
pub fn check_endpoint(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("--webhook-url {raw}: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if loopback => Ok(url.to_string()),
        _ => Err(format!("--webhook-url {raw}: use https, or http to localhost / 127.0.0.1 for development")),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Delivers due events until the process ends (or the returned task is aborted). Call once,
/// after start. Each endpoint has its own loop, so one that is slow or hangs until the timeout
/// holds back only its own deliveries.
pub async fn run(store: Store, secret: String, schedule: Schedule) {
    let client = match reqwest::Client::builder().timeout(schedule.timeout).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no HTTP client; events are kept for GET /v1/events");
            return;
        }
    };
    let endpoints = match store.read(store::webhook_endpoints).await {
        Ok(endpoints) => endpoints,
        Err(e) => {
            tracing::error!(?e, "webhooks: reading the endpoints failed; events are kept for GET /v1/events");
            return;
        }
    };
    // Dropped with this task, which aborts every endpoint's loop.
    let mut loops = tokio::task::JoinSet::new();
    for endpoint in endpoints {
        loops.spawn(deliver_to(endpoint, client.clone(), store.clone(), secret.clone(), schedule));
    }
    while let Some(ended) = loops.join_next().await {
        if let Err(e) = ended {
            tracing::error!(error = %e, "webhooks: an endpoint's delivery loop ended; its events wait for a restart");
        }
    }
}

/// Delivers `endpoint`'s due events, a batch at a time, for as long as the task lives.
async fn deliver_to(endpoint: String, client: reqwest::Client, store: Store, secret: String, schedule: Schedule) {
    loop {
        match next_due(&store, &endpoint, &schedule).await {
            Ok(due) if !due.is_empty() => {
                let attempts = due.into_iter().map(|d| deliver(&client, &store, &secret, &schedule, d));
                futures_util::future::join_all(attempts).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(?e, "webhooks: reading the outbox failed"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The oldest undelivered event of each account for `endpoint`, where its next attempt is due,
/// taken for this instance for as long as an attempt can last (and a margin). Later events of the
/// same account wait behind it, which keeps each account's events in order, across instances.
async fn next_due(store: &Store, endpoint: &str, schedule: &Schedule) -> Result<Vec<Due>, AppError> {
    let lease = millis(schedule.timeout + LEASE_MARGIN);
    let endpoint = endpoint.to_string();
    // A read first: an idle outbox costs no write.
    let looked = endpoint.clone();
    if store.read(move |conn| store::due_deliveries(conn, &looked)).await?.is_empty() {
        return Ok(Vec::new());
    }
    Ok(store.write(move |tx| store::claim_due_deliveries(tx, &endpoint, lease)).await?)
}

/// Beyond the request timeout, how long a delivery stays its instance's: time to record the result.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// One attempt, and its outcome written down.
async fn deliver(client: &reqwest::Client, store: &Store, secret: &str, schedule: &Schedule, due: Due) {
    let timestamp = crate::clock::now_millis() / 1000;
    let answer = client
        .post(&due.endpoint)
        .header("Content-Type", "application/json")
        .header("Kiro-Signature", signature(secret, timestamp, &due.body))
        .body(due.body.clone())
        .send()
        .await;
    let failure = match answer {
        Ok(response) if response.status().is_success() => None,
        Ok(response) => Some(format!("answered {}", response.status())),
        Err(e) if e.is_timeout() => Some("timed out".to_string()),
        Err(e) => Some(format!("unreachable: {e}")),
    };
    let attempts = due.attempts + 1;
    let wait = schedule.wait_after(attempts);
    let (seq, endpoint, lease, enqueued_at) = (due.event_seq, due.endpoint.clone(), due.lease_until, due.enqueued_at);
    let give_up_after = millis(schedule.give_up_after);
    let outcome = failure.clone();
    let written = store
        .write(move |tx| {
            let attempt = DeliveryAttempt {
                lease_until: lease,
                attempts,
                error: outcome.as_deref(),
                enqueued_at,
                give_up_after,
                wait: millis(wait),
            };
            store::record_delivery(tx, seq, &endpoint, &attempt)
        })
        .await;
    match (failure, written) {
        (_, Err(e)) => tracing::error!(?e, "webhooks: recording a delivery failed"),
        (None, Ok(_)) => tracing::debug!(attempts, "webhook delivered"),
        (Some(why), Ok(true)) => tracing::warn!(attempts, %why, "webhook given up after 3 days"),
        (Some(why), Ok(false)) => tracing::info!(attempts, %why, wait_ms = millis(wait), "webhook failed; will retry"),
    }
}
