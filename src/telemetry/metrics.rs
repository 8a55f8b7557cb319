//! Prometheus metrics, one registry per running app so that apps started side by side in tests
//! do not count each other's traffic.

use super::upkeep::Upkeep;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The label values a process knows when it starts: see [`Metrics::start_at_zero`].
pub struct KnownLabels<'a> {
    pub sources: &'a [&'a str],
    pub receive_outcomes: &'a [&'a str],
    pub verification_reasons: &'a [&'a str],
    pub outboxes: &'a [&'a str],
    pub work_queues: &'a [&'a str],
    pub subscribers: &'a [&'a str],
    pub worker_outcomes: &'a [&'a str],
    pub tasks: &'a [&'a str],
    pub close_reasons: &'a [&'a str],
}

pub struct Metrics {
    registry: Registry,
    pub webhook_requests: IntCounterVec,
    pub verification_failures: IntCounterVec,
    pub duplicates: IntCounterVec,
    pub envelope_time_clamped: IntCounterVec,
    pub resent_resources: IntCounterVec,
    pub webhook_seconds: HistogramVec,
    pub connections_closed: IntCounterVec,
    pub sign_ins_rate_limited: IntCounter,
    /// Reads, scrapes and the inbox's upkeep.
    pub upkeep: Upkeep,
    pub outbox_backlog: IntGaugeVec,
    pub outbox_oldest_seconds: GaugeVec,
    /// Label-less vectors, so that the series can be absent while the database is not
    /// answering, as the outbox gauges are.
    pub processing_backlog: IntGaugeVec,
    pub processing_oldest_seconds: GaugeVec,
    pub publish_seconds: HistogramVec,
    pub publish_confirms: IntCounterVec,
    pub publish_nacks: IntCounterVec,
    pub publish_returns: IntCounterVec,
    pub publish_unrouted: IntCounterVec,
    pub broker_reconnects: IntCounter,
    pub broker_up: IntGauge,
    pub queue_messages: IntGaugeVec,
    pub queue_consumers: IntGaugeVec,
    pub worker_messages: IntCounterVec,
    /// No event-type label: the type of an event outside the catalogue comes from outside, so
    /// as a label it would make series without bound. The worker logs it instead.
    pub unknown_events: IntCounter,
    pub redeliveries: IntCounterVec,
    pub parked: IntCounterVec,
    pub task_restarts: IntCounterVec,
    pub task_up: IntGaugeVec,
    pub consumer_step_failures: IntCounterVec,
    pub delivery_record_failures: IntCounterVec,
    pub retries_redriven: IntCounterVec,
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

impl Metrics {
    /// Long, not complex: one declaration per metric, each with its help text, in the order
    /// `/metrics` lists them.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let metrics = Metrics {
            webhook_requests: counter(
                "hookgate_webhook_requests_total",
                "Webhook requests by source and outcome",
                &["source", "outcome"],
            ),
            verification_failures: counter(
                "hookgate_verification_failures_total",
                "Webhooks refused for their signature or timestamp",
                &["source", "reason"],
            ),
            duplicates: counter(
                "hookgate_duplicates_total",
                "Webhooks recognised as duplicates",
                &["source"],
            ),
            envelope_time_clamped: counter(
                "hookgate_envelope_time_clamped_total",
                "Events whose envelope createTime lay more than 5 minutes past their receipt, stored as the receipt time",
                &["source"],
            ),
            resent_resources: counter(
                "hookgate_resent_resource_total",
                "Events of an envelope-ordered family whose signed bytes were stored before under another event id",
                &["source", "family"],
            ),
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
            connections_closed: counter(
                "hookgate_http_connections_closed_total",
                "Connections the server closed: header_timeout (408 to headers not complete in 10 s), idle (a keep-alive connection unused for 10 s), headers_too_large (431)",
                &["reason"],
            ),
            sign_ins_rate_limited: IntCounter::new(
                "hookgate_console_sign_ins_rate_limited_total",
                "Console sign-ins refused with 429: the client address had 10 failures in 5 minutes",
            )
            .expect("valid metric"),
            upkeep: Upkeep::new(),
            outbox_backlog: IntGaugeVec::new(
                Opts::new("hookgate_outbox_backlog", "Rows waiting to be published"),
                &["outbox"],
            )
            .expect("valid metric"),
            outbox_oldest_seconds: GaugeVec::new(
                Opts::new(
                    "hookgate_outbox_oldest_age_seconds",
                    "Age of the oldest row waiting to be published",
                ),
                &["outbox"],
            )
            .expect("valid metric"),
            processing_backlog: IntGaugeVec::new(
                Opts::new(
                    "hookgate_processing_backlog",
                    "Events published but not processed yet (dead-lettered ones excluded)",
                ),
                &[],
            )
            .expect("valid metric"),
            processing_oldest_seconds: GaugeVec::new(
                Opts::new(
                    "hookgate_processing_oldest_age_seconds",
                    "Age of the oldest event published but not processed yet",
                ),
                &[],
            )
            .expect("valid metric"),
            publish_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "hookgate_publish_duration_seconds",
                    "From publish to the broker's confirm",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
                ]),
                &["outbox"],
            )
            .expect("valid metric"),
            publish_confirms: counter(
                "hookgate_publish_confirms_total",
                "Messages the broker confirmed",
                &["outbox"],
            ),
            publish_nacks: counter(
                "hookgate_publish_nacks_total",
                "Messages the broker refused",
                &["outbox"],
            ),
            publish_returns: counter(
                "hookgate_publish_returns_total",
                "Mandatory messages the broker could not route, where a queue must be bound",
                &["outbox"],
            ),
            publish_unrouted: counter(
                "hookgate_publish_unrouted_total",
                "Messages confirmed with no queue bound, where that is normal: notifications no subscriber takes",
                &["outbox"],
            ),
            broker_reconnects: IntCounter::new(
                "hookgate_broker_reconnects_total",
                "Broker connections re-established after a loss",
            )
            .expect("valid metric"),
            broker_up: IntGauge::new(
                "hookgate_broker_up",
                "1 while this process holds a broker connection",
            )
            .expect("valid metric"),
            queue_messages: IntGaugeVec::new(
                Opts::new(
                    "hookgate_queue_messages",
                    "Messages in each queue hookgate declares, dead-letter queue included",
                ),
                &["queue"],
            )
            .expect("valid metric"),
            queue_consumers: IntGaugeVec::new(
                Opts::new("hookgate_queue_consumers", "Consumers of each queue"),
                &["queue"],
            )
            .expect("valid metric"),
            worker_messages: counter(
                "hookgate_worker_messages_total",
                "Messages handled by workers, by queue and outcome (done, retried, dead_lettered, requeued)",
                &["queue", "outcome"],
            ),
            unknown_events: IntCounter::new(
                "hookgate_unknown_events_total",
                "Events outside the catalogue (a new platform event type; its name is in the log)",
            )
            .expect("valid metric"),
            redeliveries: counter(
                "hookgate_already_processed_total",
                "Deliveries of events already processed (redeliveries and replays): no effect",
                &["queue"],
            ),
            parked: counter(
                "hookgate_parked_total",
                "Outbox rows set aside because their message cannot be built within AMQP limits",
                &["outbox"],
            ),
            task_restarts: counter(
                "hookgate_task_restarts_total",
                "Background tasks that panicked or stopped and were started again",
                &["task"],
            ),
            consumer_step_failures: counter(
                "hookgate_consumer_step_failures_total",
                "Consumer steps that failed outside their handler; their messages are redelivered",
                &["queue"],
            ),
            delivery_record_failures: counter(
                "hookgate_delivery_record_failures_total",
                "Attempts to record subscribers' deliveries that failed (tried again while the leases hold)",
                &["subscriber"],
            ),
            retries_redriven: counter(
                "hookgate_retries_redriven_total",
                "Retried messages that did not come back from their tier in time and were published again",
                &["queue"],
            ),
            task_up: IntGaugeVec::new(
                Opts::new("hookgate_task_up", "1 while a background task runs"),
                &["task"],
            )
            .expect("valid metric"),
            registry,
        };
        for collector in [
            Box::new(metrics.webhook_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(metrics.verification_failures.clone()),
            Box::new(metrics.duplicates.clone()),
            Box::new(metrics.envelope_time_clamped.clone()),
            Box::new(metrics.resent_resources.clone()),
            Box::new(metrics.webhook_seconds.clone()),
            Box::new(metrics.connections_closed.clone()),
            Box::new(metrics.sign_ins_rate_limited.clone()),
            Box::new(metrics.outbox_backlog.clone()),
            Box::new(metrics.outbox_oldest_seconds.clone()),
            Box::new(metrics.processing_backlog.clone()),
            Box::new(metrics.processing_oldest_seconds.clone()),
            Box::new(metrics.publish_seconds.clone()),
            Box::new(metrics.publish_confirms.clone()),
            Box::new(metrics.publish_nacks.clone()),
            Box::new(metrics.publish_returns.clone()),
            Box::new(metrics.publish_unrouted.clone()),
            Box::new(metrics.broker_reconnects.clone()),
            Box::new(metrics.broker_up.clone()),
            Box::new(metrics.queue_messages.clone()),
            Box::new(metrics.queue_consumers.clone()),
            Box::new(metrics.worker_messages.clone()),
            Box::new(metrics.unknown_events.clone()),
            Box::new(metrics.redeliveries.clone()),
            Box::new(metrics.parked.clone()),
            Box::new(metrics.task_restarts.clone()),
            Box::new(metrics.task_up.clone()),
            Box::new(metrics.consumer_step_failures.clone()),
            Box::new(metrics.delivery_record_failures.clone()),
            Box::new(metrics.retries_redriven.clone()),
        ]
        .into_iter()
        .chain(metrics.upkeep.collectors())
        {
            metrics.register(collector);
        }
        let build = IntGaugeVec::new(
            Opts::new(
                "hookgate_build_info",
                "1, labelled with the running version",
            ),
            &["version"],
        )
        .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        metrics.register(Box::new(build));
        // process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, …
        metrics.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        metrics
    }

    /// Creates every series whose labels are known at start-up, at zero, so that a rate over
    /// them is 0 rather than absent and alerts can tell "none" from "not exported".
    pub fn start_at_zero(&self, known: &KnownLabels<'_>) {
        for reason in known.close_reasons {
            self.connections_closed.with_label_values(&[reason]);
        }
        for source in known.sources {
            self.duplicates.with_label_values(&[source]);
            self.envelope_time_clamped.with_label_values(&[source]);
            for family in crate::catalogue::Family::KNOWN {
                if !family.orders_by_signed_time() {
                    self.resent_resources
                        .with_label_values(&[source, family.as_str()]);
                }
            }
            self.webhook_seconds.with_label_values(&[source]);
            for outcome in known.receive_outcomes {
                self.webhook_requests.with_label_values(&[source, outcome]);
            }
            for reason in known.verification_reasons {
                self.verification_failures
                    .with_label_values(&[source, reason]);
            }
        }
        for outbox in known.outboxes {
            self.publish_seconds.with_label_values(&[outbox]);
            for counter in [
                &self.publish_confirms,
                &self.publish_nacks,
                &self.publish_returns,
                &self.publish_unrouted,
                &self.parked,
            ] {
                counter.with_label_values(&[outbox]);
            }
        }
        for queue in known.work_queues {
            self.redeliveries.with_label_values(&[queue]);
            self.consumer_step_failures.with_label_values(&[queue]);
            self.retries_redriven.with_label_values(&[queue]);
            for outcome in known.worker_outcomes {
                self.worker_messages.with_label_values(&[queue, outcome]);
            }
        }
        for subscriber in known.subscribers {
            self.delivery_record_failures
                .with_label_values(&[subscriber]);
        }
        for task in known.tasks {
            self.task_restarts.with_label_values(&[task]);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_and_the_process_are_exported() {
        let text = Metrics::new().render();
        let version = format!(
            "hookgate_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&version), "{text}");
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(text.contains(&format!("\n{name} ")), "{name} in {text}");
        }
    }
}
