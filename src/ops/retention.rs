//! Retention and the inbox's upkeep: a new partition each day, and a day's partition dropped
//! once all its events are older than `HOOKGATE_RETENTION_DAYS`, but never while one of them is
//! not yet published or not yet processed. Deduplication holds for that window. Notifications
//! and delivery records older than it are deleted in batches.

use super::{dlq, OpsError};
use crate::{
    amqp::Broker,
    heartbeat::Heartbeat,
    settings::RetentionSettings,
    store::{console, deliveries, outbox, partitions},
    telemetry::Metrics,
};
use chrono::Utc;
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 1000;

/// How long a pass waits for the broker before it leaves the DLQ's upkeep to the next one.
const BROKER_WAIT: Duration = Duration::from_secs(5);

/// Opens today's partition if it is not open yet, then deletes everything due; returns how many
/// events went.
pub async fn prune_once(pool: &PgPool, days: u32) -> Result<u64, sqlx::Error> {
    let opened = partitions::roll_over(&mut *pool.acquire().await?).await?;
    if let Some(opened) = opened {
        tracing::info!(partition = %opened.name, "opened the inbox partition for a new day");
    }
    // Clamped, never wrapped: a huge retention keeps everything.
    let days = i32::try_from(days).unwrap_or(i32::MAX);
    let deleted = partitions::drop_expired(pool, days).await?;
    outbox::prune_notifications(pool, days, BATCH).await?;
    deliveries::prune(pool, days, BATCH).await?;
    deliveries::prune_leases(pool, BATCH).await?;
    Ok(deleted)
}

/// Purges from the DLQ the dead letters that failed more than `days` ago, and audits it
/// (operator `retention`); returns how many went.
pub async fn purge_old_dead_letters(
    broker: &Broker,
    pool: &PgPool,
    days: u32,
) -> Result<u64, OpsError> {
    let before = Utc::now() - chrono::Duration::days(i64::from(days));
    let channel = broker.confirmed_channel_within(BROKER_WAIT);
    let purged = dlq::purge_failed_before(channel, &broker.topology().names, pool, before).await?;
    if purged > 0 {
        let detail = serde_json::json!({"purged": purged, "failedMoreThanDaysAgo": days});
        console::record_action(pool, ("retention", None), "dlq_purge_expired", &detail).await?;
        tracing::info!(
            purged,
            days,
            "purged dead letters past HOOKGATE_DLQ_RETENTION_DAYS"
        );
    }
    Ok(purged)
}

/// Indexes the DLQ when a day past the window waits for it (`dlq reindex`, automatically): a
/// dead letter from before the index existed holds its day until it is indexed with its body.
pub async fn adopt_dead_letters(
    broker: &Broker,
    pool: &PgPool,
    days: u32,
) -> Result<u64, OpsError> {
    let days = i32::try_from(days).unwrap_or(i32::MAX);
    if !partitions::held_by_unindexed_dead_letters(pool, days).await? {
        return Ok(0);
    }
    let channel = broker.confirmed_channel_within(BROKER_WAIT).await;
    let channel = channel.ok_or(OpsError::BrokerUnavailable)?;
    let indexed = dlq::reindex(&channel, &broker.topology().names, pool, |_, _| {}).await?;
    tracing::info!(
        indexed = indexed.indexed,
        "indexed dead letters that held days past retention"
    );
    Ok(indexed.indexed)
}

/// Prunes every `every` until stopped.
pub async fn run(
    pool: PgPool,
    (broker, metrics): (Arc<Broker>, Arc<Metrics>),
    settings: RetentionSettings,
    heartbeat: Heartbeat,
    stop: CancellationToken,
) {
    let days = settings.days;
    let mut tick = tokio::time::interval(settings.every);
    loop {
        tokio::select! {
            _ = heartbeat.beating_while(tick.tick()) => {}
            _ = stop.cancelled() => return,
        }
        if let Err(error) = adopt_dead_letters(&broker, &pool, days).await {
            metrics.upkeep.retention_failures.inc();
            tracing::warn!(%error, "indexing dead letters for retention failed");
        }
        match prune_once(&pool, days).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, days, "pruned events past retention"),
            Err(error) => {
                metrics.upkeep.retention_failures.inc();
                tracing::warn!(%error, "retention pass failed")
            }
        }
        if let Err(error) = purge_old_dead_letters(&broker, &pool, settings.dlq_days).await {
            metrics.upkeep.retention_failures.inc();
            tracing::warn!(%error, "dead-letter retention pass failed");
        }
        if let Ok((pending, oldest_ended)) = partitions::upkeep(&pool).await {
            metrics.upkeep.detach_pending.set(pending);
            metrics.upkeep.oldest_day_ended_seconds.set(oldest_ended);
        }
    }
}
