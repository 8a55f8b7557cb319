//! Retention and the inbox's upkeep: a new partition each day, and a day's partition dropped
//! once all its events are older than `HOOKGATE_RETENTION_DAYS`, but never while one of them is
//! not yet published or not yet processed. Deduplication holds for that window. Notifications
//! and delivery records older than it are deleted in batches.

use crate::{
    settings::RetentionSettings,
    store::{deliveries, outbox, partitions},
    supervisor::Heartbeat,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 1000;

/// Opens today's partition if it is not open yet, then deletes everything due; returns how many
/// events went.
pub async fn prune_once(pool: &PgPool, days: u32) -> Result<u64, sqlx::Error> {
    if let Some(opened) = partitions::roll_over(pool).await? {
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

/// Prunes every `every` until stopped.
pub async fn run(
    pool: PgPool,
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
        match prune_once(&pool, days).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, days, "pruned events past retention"),
            Err(error) => tracing::warn!(%error, "retention pass failed"),
        }
    }
}
