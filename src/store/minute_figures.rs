//! The pipeline's figures a minute at a time (`minute_figures`), for the console's charts of
//! the last hour. A minute is written once, by whichever process samples it first.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One minute's figures: events accepted and processed during it, and at its end the
/// backlog (events waiting to be processed), the oldest one's age, the dead letters and the
/// stuck objects.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MinuteFigures {
    pub minute: DateTime<Utc>,
    pub accepted: i64,
    pub processed: i64,
    pub backlog: i64,
    pub backlog_age_seconds: f64,
    pub dead_letters: i64,
    pub stuck: i64,
}

/// Whether `minute` has its figures already: spares a sampler the counting.
pub async fn recorded(pool: &PgPool, minute: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM minute_figures WHERE minute = $1)")
        .bind(minute)
        .fetch_one(pool)
        .await
}

/// What is read at a minute's end, besides what the minute's events say.
#[derive(Debug, Clone, PartialEq)]
pub struct AtMinuteEnd {
    pub backlog: i64,
    pub backlog_age_seconds: f64,
    pub dead_letters: i64,
    pub stuck: i64,
}

/// Counts the events accepted and processed during the minute starting at `minute` (through
/// the receipt and processing indexes) and writes them with `at_end`; a minute another
/// process wrote first is left as it is.
pub async fn record(
    pool: &PgPool,
    minute: DateTime<Utc>,
    at_end: &AtMinuteEnd,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO minute_figures
             (minute, accepted, processed, backlog, backlog_age_seconds, dead_letters, stuck)
         SELECT $1,
                (SELECT count(*) FROM inbox_events
                 WHERE received_at >= $1 AND received_at < $1 + interval '1 minute'),
                (SELECT count(*) FROM inbox_processed
                 WHERE processed_at >= $1 AND processed_at < $1 + interval '1 minute'),
                $2, $3, $4, $5
         ON CONFLICT (minute) DO NOTHING",
    )
    .bind(minute)
    .bind(at_end.backlog)
    .bind(at_end.backlog_age_seconds)
    .bind(at_end.dead_letters)
    .bind(at_end.stuck)
    .execute(pool)
    .await?;
    Ok(())
}

/// The minutes recorded from `since` on, oldest first.
pub async fn since(pool: &PgPool, since: DateTime<Utc>) -> Result<Vec<MinuteFigures>, sqlx::Error> {
    sqlx::query_as(
        "SELECT minute, accepted, processed, backlog, backlog_age_seconds, dead_letters, stuck
         FROM minute_figures WHERE minute >= $1 ORDER BY minute",
    )
    .bind(since)
    .fetch_all(pool)
    .await
}

/// Deletes the minutes before `before`.
pub async fn prune(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM minute_figures WHERE minute < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
