//! The figures `/metrics` reads from PostgreSQL and the broker (backlogs, queue depths, stuck
//! objects). A
//! scrape never queues behind another: at most one refresh runs at a time, on a connection of
//! its own; the scrape that starts it waits for it a moment, any scrape meanwhile serves the
//! last figures at once, and `hookgate_scrape_age_seconds` says how old they are.

use crate::{
    amqp::Broker,
    ops::{jobs, status::queue_depths, stuck},
    settings::StuckAfter,
    store::{
        archive::processing_backlog,
        outbox::{backlog, OutboxTable},
    },
    telemetry::Metrics,
};
use prometheus::{GaugeVec, IntGaugeVec};
use sqlx::PgPool;
use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How long the scrape that starts a refresh waits for it; a slower refresh goes on alone.
const WAIT_FOR_REFRESH: Duration = Duration::from_secs(2);

/// The longest one source of figures may take; a refresh past it gives up on that source (its
/// series are absent until it answers again), so one silent connection cannot stop refreshes.
const SOURCE_DEADLINE: Duration = Duration::from_secs(5);

pub struct Scrape {
    /// One connection, used by nothing else.
    pool: PgPool,
    stuck_after: StuckAfter,
    running: Arc<tokio::sync::Mutex<()>>,
    refreshed_at: Mutex<Option<Instant>>,
}

impl Scrape {
    pub fn new(pool: PgPool, stuck_after: StuckAfter) -> Scrape {
        Scrape {
            pool,
            stuck_after,
            running: Arc::default(),
            refreshed_at: Mutex::new(None),
        }
    }

    /// Brings the figures up to date if no refresh is running, waiting for it at most
    /// [`WAIT_FOR_REFRESH`], then sets their age.
    pub async fn refresh(self: &Arc<Self>, metrics: &Arc<Metrics>, broker: &Arc<Broker>) {
        if let Ok(running) = self.running.clone().try_lock_owned() {
            let (scrape, metrics) = (self.clone(), metrics.clone());
            let broker_up = broker.describe() == "up";
            let broker = broker.clone();
            let refresh = tokio::spawn(async move {
                scrape.read_figures(&metrics, broker_up, &broker).await;
                *scrape
                    .refreshed_at
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                drop(running);
            });
            let _ = tokio::time::timeout(WAIT_FOR_REFRESH, refresh).await;
        }
        let refreshed_at = *self.refreshed_at.lock().unwrap_or_else(|p| p.into_inner());
        match refreshed_at {
            Some(at) => metrics
                .upkeep
                .scrape_age_seconds
                .set(at.elapsed().as_secs_f64()),
            None => metrics.upkeep.scrape_age_seconds.set(f64::NAN),
        }
    }

    async fn read_figures(&self, metrics: &Metrics, broker_up: bool, broker: &Broker) {
        metrics.broker_up.set(i64::from(broker_up));
        let depths = async {
            match broker_up {
                true => within_deadline(queue_depths(broker)).await,
                false => None,
            }
        };
        let (events, notifications, processing, depths, runs) = tokio::join!(
            within_deadline(backlog(&self.pool, OutboxTable::Events)),
            within_deadline(backlog(&self.pool, OutboxTable::Notifications)),
            within_deadline(processing_backlog(&self.pool)),
            depths,
            within_deadline(jobs::runs(&self.pool)),
        );
        let stuck = stuck::counts(&self.pool, &self.stuck_after, chrono::Utc::now());
        metrics.upkeep.objects_stuck.reset();
        for (family, count) in within_deadline(stuck).await.into_iter().flatten() {
            let family = [family.as_str()];
            metrics
                .upkeep
                .objects_stuck
                .with_label_values(&family)
                .set(count);
        }
        if let Some(runs) = runs {
            let failed = runs.iter().filter(|r| r.failed_at.is_some() || !r.running);
            metrics.upkeep.operations_failed.set(failed.count() as i64);
        }
        for (table, found) in OutboxTable::ALL.into_iter().zip([events, notifications]) {
            show_backlog(
                &metrics.outbox_backlog,
                &metrics.outbox_oldest_seconds,
                &[table.name()],
                found,
            );
        }
        show_backlog(
            &metrics.processing_backlog,
            &metrics.processing_oldest_seconds,
            &[],
            processing,
        );
        metrics.queue_messages.reset();
        metrics.queue_consumers.reset();
        for depth in depths.into_iter().flatten() {
            let queue = [depth.queue.as_str()];
            metrics
                .queue_messages
                .with_label_values(&queue)
                .set(i64::from(depth.messages));
            metrics
                .queue_consumers
                .with_label_values(&queue)
                .set(i64::from(depth.consumers));
        }
    }
}

/// Sets a backlog's size and oldest age, or removes both when the database did not answer.
fn show_backlog(
    count: &IntGaugeVec,
    oldest: &GaugeVec,
    labels: &[&str],
    found: Option<(i64, f64)>,
) {
    match found {
        Some((waiting, age)) => {
            count.with_label_values(labels).set(waiting);
            oldest.with_label_values(labels).set(age);
        }
        None => {
            let _ = count.remove_label_values(labels);
            let _ = oldest.remove_label_values(labels);
        }
    }
}

async fn within_deadline<T, E>(query: impl Future<Output = Result<T, E>>) -> Option<T> {
    tokio::time::timeout(SOURCE_DEADLINE, query)
        .await
        .ok()?
        .ok()
}
