//! Messages moved to a retry tier, watched until they come back (migration 0023): RabbitMQ
//! hands an expired retry back to its work queue at most once, and drops it when that queue
//! has no leader at the moment (a broker restart, a lost node). An overdue one is taken to be
//! published again.

use sqlx::PgPool;
use std::time::Duration;

/// A retried message as it was moved: enough to publish it again.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Watched {
    pub queue: String,
    /// The `x-source` header, or empty: event ids are unique per source only.
    pub source: String,
    pub message_id: String,
    /// The AMQP properties, as JSON.
    pub properties: serde_json::Value,
    pub body: Vec<u8>,
}

/// Watches `message` until it comes back: overdue after `due_in`. A message retried again
/// replaces its earlier copy.
pub async fn watch(pool: &PgPool, message: &Watched, due_in: Duration) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO retry_watch (queue, source, message_id, due_at, properties, body)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)
         ON CONFLICT (queue, source, message_id) DO UPDATE
             SET due_at = EXCLUDED.due_at, properties = EXCLUDED.properties,
                 body = EXCLUDED.body, redriven = 0",
    )
    .bind(&message.queue)
    .bind(&message.source)
    .bind(&message.message_id)
    .bind(due_in.as_secs_f64())
    .bind(&message.properties)
    .bind(&message.body)
    .execute(pool)
    .await?;
    Ok(())
}

/// A retried message was handled (or dead-lettered): it is no longer watched.
pub async fn came_back(
    pool: &PgPool,
    queue: &str,
    source: &str,
    message_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM retry_watch WHERE queue = $1 AND source = $2 AND message_id = $3")
        .bind(queue)
        .bind(source)
        .bind(message_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Up to `limit` overdue messages of `queues`, each due again `grace` from now (so a copy
/// published again and lost too is taken again later, and two workers do not both take it).
pub async fn take_overdue(
    pool: &PgPool,
    queues: &[String],
    limit: i64,
    grace: Duration,
) -> Result<Vec<Watched>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE retry_watch AS w
         SET due_at = now() + make_interval(secs => $3), redriven = w.redriven + 1
         FROM (SELECT queue, source, message_id FROM retry_watch
               WHERE queue = ANY($1) AND due_at < now()
               ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) AS due
         WHERE (w.queue, w.source, w.message_id) = (due.queue, due.source, due.message_id)
         RETURNING w.queue, w.source, w.message_id, w.properties, w.body",
    )
    .bind(queues)
    .bind(limit)
    .bind(grace.as_secs_f64())
    .fetch_all(pool)
    .await
}

/// Forgets messages published again this many times without coming back (their queue is
/// gone, say): kept until then, they would be published for ever.
pub async fn forget_after(pool: &PgPool, redrives: i32) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM retry_watch WHERE redriven >= $1")
        .bind(redrives)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
