//! The metrics of reads, scrapes and the inbox's upkeep: what tells an operator that the work
//! around the pipeline (a locked table, a retention pass) is not keeping up.

use prometheus::{core::Collector, Gauge, IntCounter, IntGauge, IntGaugeVec, Opts};

pub struct Upkeep {
    pub read_timeouts: IntCounter,
    pub scrape_age_seconds: Gauge,
    pub retention_failures: IntCounter,
    pub detach_pending: IntGauge,
    pub oldest_day_ended_seconds: Gauge,
    pub operations_failed: IntGauge,
    pub objects_stuck: IntGaugeVec,
}

impl Upkeep {
    pub(super) fn new() -> Upkeep {
        Upkeep {
            read_timeouts: IntCounter::new(
                "hookgate_read_timeouts_total",
                "API and console reads answered 503 after HOOKGATE_READ_TIMEOUT_MS",
            )
            .expect("valid metric"),
            scrape_age_seconds: Gauge::new(
                "hookgate_scrape_age_seconds",
                "Age of the backlog and queue figures in this scrape: they come from the last refresh, of which at most one runs at a time",
            )
            .expect("valid metric"),
            retention_failures: IntCounter::new(
                "hookgate_retention_failures_total",
                "Retention passes (partition upkeep, drops, pruning, dead-letter retention) that failed; each is tried again on the next pass",
            )
            .expect("valid metric"),
            detach_pending: IntGauge::new(
                "hookgate_inbox_detach_pending",
                "Inbox partitions whose DETACH CONCURRENTLY was left pending; the next pass finishes it",
            )
            .expect("valid metric"),
            oldest_day_ended_seconds: Gauge::new(
                "hookgate_inbox_oldest_day_ended_seconds",
                "How long ago the oldest inbox day still kept ended; above the retention window, something holds it",
            )
            .expect("valid metric"),
            operations_failed: IntGauge::new(
                "hookgate_operations_failed",
                "Long operations (verify, rebuild) whose last run failed or died, from any process; cleared by the next run of the kind",
            )
            .expect("valid metric"),
            objects_stuck: IntGaugeVec::new(
                Opts::new(
                    "hookgate_objects_stuck",
                    "Objects in a waiting status whose last event is older than their family's stuck_after (SPEC 5)",
                ),
                &["family"],
            )
            .expect("valid metric"),
        }
    }

    pub(super) fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.read_timeouts.clone()),
            Box::new(self.scrape_age_seconds.clone()),
            Box::new(self.retention_failures.clone()),
            Box::new(self.detach_pending.clone()),
            Box::new(self.oldest_day_ended_seconds.clone()),
            Box::new(self.operations_failed.clone()),
            Box::new(self.objects_stuck.clone()),
        ]
    }
}
