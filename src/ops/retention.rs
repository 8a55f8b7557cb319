//! Retention: events older than `HOOKGATE_RETENTION_DAYS` are deleted in batches, but never
//! one that is not yet published or not yet processed. Deduplication holds for that window.

use crate::{
    settings::RetentionSettings,
    store::{archive, deliveries, outbox},
    supervisor::Heartbeat,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 1000;

/// Deletes everything due, a batch per statement; returns how many inbox rows went.
pub async fn prune_once(pool: &PgPool, days: u32) -> Result<u64, sqlx::Error> {
    // Clamped, never wrapped: a huge retention keeps everything.
    let days = i32::try_from(days).unwrap_or(i32::MAX);
    let deleted = archive::prune_events(pool, days, BATCH).await?;
    outbox::prune_notifications(pool, days, BATCH).await?;
    deliveries::prune(pool, days, BATCH).await?;
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
