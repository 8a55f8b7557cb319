//! How many rows each part of the store holds, for the integration tests, which check it after
//! driving the service through its front doors. Every count reads a whole table: it is not for
//! a request's path.

use crate::catalogue::Family;
use sqlx::{PgPool, Postgres};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Census {
    pub events: i64,
    pub published: i64,
    pub unpublished: i64,
    /// Set aside by the relay because their message cannot be built.
    pub parked: i64,
    pub processed: i64,
    /// Processed or dead-lettered: no longer waiting for a worker.
    pub handled: i64,
    pub notifications: i64,
    pub notifications_published: i64,
    /// Subscriber deliveries recorded, successful or not yet.
    pub deliveries: i64,
    pub history: i64,
    pub partitions: i64,
    /// Shadow tables an online rebuild left behind.
    pub rebuild_tables: i64,
}

pub async fn take(pool: &PgPool) -> Result<Census, sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM inbox_events) AS events,
                (SELECT count(*) FROM inbox_published) AS published,
                (SELECT count(*) FROM inbox_unpublished) AS unpublished,
                (SELECT count(*) FROM inbox_unpublished WHERE parked_at IS NOT NULL) AS parked,
                (SELECT count(*) FROM inbox_processed) AS processed,
                (SELECT count(*) FROM inbox_events
                 WHERE seq IN (SELECT seq FROM inbox_processed) OR dead_lettered_at IS NOT NULL)
                    AS handled,
                (SELECT count(*) FROM notification_outbox) AS notifications,
                (SELECT count(*) FROM notification_published) AS notifications_published,
                (SELECT count(*) FROM notification_deliveries) AS deliveries,
                (SELECT count(*) FROM status_history) AS history,
                (SELECT count(*) FROM inbox_partitions) AS partitions,
                (SELECT count(*) FROM pg_tables WHERE tablename LIKE 'rebuild\\_%') AS rebuild_tables",
    )
    .fetch_one(pool)
    .await
}

/// The rows of `family`'s read-model table; 0 for a family without one.
pub async fn objects(pool: &PgPool, family: Family) -> Result<i64, sqlx::Error> {
    let Some(facts) = family.facts() else {
        return Ok(0);
    };
    sqlx::query_scalar(&format!("SELECT count(*) FROM {}", facts.table))
        .fetch_one(pool)
        .await
}

/// The status history rows of `family`.
pub async fn history_of(pool: &PgPool, family: Family) -> Result<i64, sqlx::Error> {
    count_where(
        pool,
        "SELECT count(*) FROM status_history WHERE family = $1",
        family,
    )
    .await
}

/// The notifications queued under `routing_key`.
pub async fn notifications_routed(pool: &PgPool, routing_key: &str) -> Result<i64, sqlx::Error> {
    count_where(
        pool,
        "SELECT count(*) FROM notification_outbox WHERE routing_key = $1",
        routing_key,
    )
    .await
}

/// Whether the notification is still kept, and how many deliveries of it are recorded.
pub async fn notification(
    pool: &PgPool,
    notification_id: &str,
) -> Result<(bool, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM notification_outbox WHERE notification_id = $1),
                (SELECT count(*) FROM notification_deliveries WHERE notification_id = $1)",
    )
    .bind(notification_id)
    .fetch_one(pool)
    .await
}

/// Deliveries recorded for `subscriber`.
pub async fn deliveries_to(pool: &PgPool, subscriber: &str) -> Result<i64, sqlx::Error> {
    count_where(
        pool,
        "SELECT count(*) FROM notification_deliveries WHERE subscriber = $1",
        subscriber,
    )
    .await
}

/// The newest notification written: the event it tells of, and its body.
pub async fn latest_notification(pool: &PgPool) -> Result<Option<(String, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as("SELECT event_id, body FROM notification_outbox ORDER BY seq DESC LIMIT 1")
        .fetch_optional(pool)
        .await
}

/// Every read-model row (each family's table, then the status history) as text, without the
/// times of its writing: two copies of the read model that hold the same facts give the same
/// lines, which is how a rebuild is checked against the run it replays.
pub async fn read_model_lines(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let mut lines = Vec::new();
    for facts in Family::KNOWN.iter().filter_map(|family| family.facts()) {
        let table = facts.table;
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT (to_jsonb(t) - 'updated_at')::text FROM {table} t ORDER BY object_id"
        ))
        .fetch_all(pool)
        .await?;
        lines.extend(rows.into_iter().map(|row| format!("{table}: {row}")));
    }
    let history: Vec<String> = sqlx::query_scalar(
        "SELECT family || '/' || object_id || '/' || event_id || '/' || status
         FROM status_history ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    lines.extend(history);
    Ok(lines)
}

/// Runs `statement`, a count with one parameter, `value`.
async fn count_where<'q, T>(pool: &PgPool, statement: &'q str, value: T) -> Result<i64, sqlx::Error>
where
    T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send,
{
    sqlx::query_scalar(statement)
        .bind(value)
        .fetch_one(pool)
        .await
}
