//! Prometheus metrics, one registry per running app so that apps started side by side in tests
//! do not count each other's traffic.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub webhook_requests: IntCounterVec,
    pub verification_failures: IntCounterVec,
    pub duplicates: IntCounterVec,
    pub webhook_seconds: HistogramVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let metrics = Metrics {
            webhook_requests: IntCounterVec::new(
                Opts::new(
                    "hookgate_webhook_requests_total",
                    "Webhook requests by source and outcome",
                ),
                &["source", "outcome"],
            )
            .expect("valid metric"),
            verification_failures: IntCounterVec::new(
                Opts::new(
                    "hookgate_verification_failures_total",
                    "Webhooks refused for their signature or timestamp",
                ),
                &["source", "reason"],
            )
            .expect("valid metric"),
            duplicates: IntCounterVec::new(
                Opts::new(
                    "hookgate_duplicates_total",
                    "Webhooks recognised as duplicates",
                ),
                &["source"],
            )
            .expect("valid metric"),
            webhook_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "hookgate_webhook_duration_seconds",
                    "Time to answer a webhook, commit included",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
                &["source"],
            )
            .expect("valid metric"),
            registry,
        };
        metrics.register(Box::new(metrics.webhook_requests.clone()));
        metrics.register(Box::new(metrics.verification_failures.clone()));
        metrics.register(Box::new(metrics.duplicates.clone()));
        metrics.register(Box::new(metrics.webhook_seconds.clone()));
        metrics
    }

    /// Adds a collector owned by another part of the app.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        self.registry
            .register(collector)
            .expect("metric names are unique");
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("exposition is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
