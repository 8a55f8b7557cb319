//! Retention: events older than `HOOKGATE_RETENTION_DAYS` are deleted in batches, but never
//! one that is not yet published or not yet processed. Deduplication holds for that window.

use crate::supervisor::Heartbeat;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 1000;

/// Deletes everything due, a batch per statement; returns how many inbox rows went.
pub async fn prune_once(pool: &PgPool, days: u32) -> Result<u64, sqlx::Error> {
    let deleted = delete_in_batches(
        pool,
        "inbox_events",
        "received_at < now() - make_interval(days => $1) AND published_at IS NOT NULL AND processed_at IS NOT NULL",
        days,
    )
    .await?;
    delete_in_batches(
        pool,
        "notification_outbox",
        "created_at < now() - make_interval(days => $1) AND published_at IS NOT NULL",
        days,
    )
    .await?;
    Ok(deleted)
}

/// Deletes the rows of `table` matching `due` (which takes the days as `$1`), oldest first, a
/// batch per statement so no statement holds many locks for long.
async fn delete_in_batches(
    pool: &PgPool,
    table: &str,
    due: &str,
    days: u32,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} WHERE {due} ORDER BY seq LIMIT $2)"
    );
    let mut deleted = 0;
    loop {
        let batch = sqlx::query(&sql)
            // Clamped, never wrapped: a huge retention keeps everything.
            .bind(i32::try_from(days).unwrap_or(i32::MAX))
            .bind(BATCH)
            .execute(pool)
            .await?
            .rows_affected();
        deleted += batch;
        if batch < BATCH as u64 {
            return Ok(deleted);
        }
    }
}

/// Prunes every `every` until stopped.
pub async fn run(
    pool: PgPool,
    days: u32,
    every: Duration,
    heartbeat: Heartbeat,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
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
