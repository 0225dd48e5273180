//! What an operator scrapes at `/metrics` (Prometheus's text format): requests by route and
//! status, payments by purpose and outcome, and, computed from the database when scraped, the
//! webhook backlog, the oldest pending delivery's age, orphaned payment attempts and the pool's
//! connections. Each server state has its own registry (no process-wide recorder), so every
//! instance, and every test's app, counts only its own work.

use crate::Store;
use crate::error::AppError;
use crate::store;
use prometheus::{Encoder, Gauge, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use std::sync::Arc;

/// The counters and gauges of one server; clones share them.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: IntCounterVec,
    payments: IntCounterVec,
    meter_events: prometheus::IntCounter,
    database_up: IntGauge,
    webhook_backlog: IntGauge,
    oldest_pending_delivery: Gauge,
    orphaned_attempts: IntGauge,
    connections: IntGaugeVec,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let inner = Inner {
            requests: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new("kiro_http_requests_total", "HTTP requests answered, by matched route and status."),
                    &["route", "status"],
                ),
            ),
            payments: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "kiro_payments_total",
                        "Charges whose result was recorded, by purpose and outcome (succeeded, declined, \
                         requires_action, failed, unknown, refunded, refund_failed, left_to_reconcile).",
                    ),
                    &["purpose", "outcome"],
                ),
            ),
            meter_events: registered(
                &registry,
                prometheus::IntCounter::new(
                    "kiro_meter_events_total",
                    "Meter events recorded (duplicates of events recorded before not counted).",
                ),
            ),
            database_up: registered(
                &registry,
                IntGauge::new("kiro_database_up", "1 when the database answered this scrape, else 0."),
            ),
            webhook_backlog: registered(
                &registry,
                IntGauge::new("kiro_webhook_backlog", "Webhook deliveries not yet delivered or given up."),
            ),
            oldest_pending_delivery: registered(
                &registry,
                Gauge::new(
                    "kiro_webhook_oldest_pending_age_seconds",
                    "Age of the oldest webhook delivery not yet delivered (0 when there is none).",
                ),
            ),
            orphaned_attempts: registered(
                &registry,
                IntGauge::new(
                    "kiro_orphaned_payment_attempts",
                    "Pending payment attempts whose lease ran out, waiting for reconciliation.",
                ),
            ),
            connections: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new("kiro_database_connections", "This instance's pooled database connections, by state."),
                    &["state"],
                ),
            ),
            registry,
        };
        Metrics(Arc::new(inner))
    }

    /// One answered request: `route` is the matched route's pattern, never the raw path (which
    /// holds session ids).
    pub fn record_request(&self, route: &str, status: u16) {
        self.0.requests.with_label_values(&[route, &status.to_string()]).inc();
    }

    /// One charge's recorded outcome.
    pub fn record_payment(&self, purpose: &str, outcome: &str) {
        self.0.payments.with_label_values(&[purpose, outcome]).inc();
    }

    /// Meter events newly recorded.
    pub fn meter_events(&self, recorded: usize) {
        self.0.meter_events.inc_by(u64::try_from(recorded).unwrap_or(u64::MAX));
    }

    /// Everything, in Prometheus's text format, with the database's gauges read now. A database
    /// that does not answer is `kiro_database_up 0` (its gauges keep their last reading), so the
    /// scrape itself still succeeds.
    pub async fn render(&self, store: &Store) -> Result<String, AppError> {
        match store.read(store::ops_gauges).await {
            Ok(gauges) => {
                let inner = &self.0;
                inner.database_up.set(1);
                inner.webhook_backlog.set(gauges.webhook_backlog);
                let age_ms = gauges.oldest_pending_enqueued_at.map_or(0, |at| gauges.now_ms.saturating_sub(at).max(0));
                inner.oldest_pending_delivery.set(age_ms as f64 / 1000.0);
                inner.orphaned_attempts.set(gauges.orphaned_attempts);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: the database did not answer");
                self.0.database_up.set(0);
            }
        }
        let (in_use, idle) = store.pool_state();
        self.0.connections.with_label_values(&["in_use"]).set(i64::from(in_use));
        self.0.connections.with_label_values(&["idle"]).set(i64::from(idle));
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.0.registry.gather(), &mut text)
            .map_err(|e| AppError::internal_from("encoding the metrics", e))?;
        String::from_utf8(text).map_err(|e| AppError::internal_from("encoding the metrics", e))
    }
}

/// `metric`, registered with `registry`. Names are constants and each is registered once, so
/// neither step can fail at run time.
fn registered<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<M>,
) -> M {
    let metric = metric.expect("a metric's name and help are constants");
    registry.register(Box::new(metric.clone())).expect("each metric is registered once");
    metric
}

/// The content type of [`Metrics::render`]'s text.
pub fn content_type() -> String {
    TextEncoder::new().format_type().to_string()
}
