//! Notifications delivered to subscribers. A batch of notifications is claimed in a
//! transaction that holds an advisory lock per (subscriber, notification id) while they are
//! POSTed, so no two workers POST the same notification at once, and a notification already
//! delivered is not POSTed again.

use sqlx::{PgPool, Postgres, Transaction};

/// Where one notification of a claimed batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Ours to POST.
    Held,
    /// The subscriber has it already.
    Delivered,
    /// Another worker is POSTing it now.
    Busy,
}

/// The locks of a claimed batch, held until [`ClaimedBatch::record`] commits or the value is
/// dropped (which rolls back and releases them).
pub struct ClaimedBatch {
    tx: Transaction<'static, Postgres>,
    subscriber: String,
}

/// Claims `ids` (distinct) for `subscriber`; one [`Claim`] per id, in order.
pub async fn claim(
    pool: &PgPool,
    subscriber: &str,
    ids: &[&str],
) -> Result<(ClaimedBatch, Vec<Claim>), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let locked: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || E'\\n' || id, 0))
         FROM UNNEST($2::text[]) WITH ORDINALITY AS claimed(id, position)
         ORDER BY position",
    )
    .bind(subscriber)
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    // A statement of its own, after the locks: its snapshot then sees every delivery that the
    // previous holder of a lock committed. Read in the locking statement, a delivery committed
    // between that statement's start and its lock would be missed and POSTed again.
    let delivered: Vec<String> = sqlx::query_scalar(
        "SELECT notification_id FROM notification_deliveries
         WHERE subscriber = $1 AND notification_id = ANY($2)",
    )
    .bind(subscriber)
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    let claims = ids
        .iter()
        .zip(locked)
        .map(
            |(id, locked)| match (locked, delivered.iter().any(|d| d == id)) {
                (_, true) => Claim::Delivered,
                (true, false) => Claim::Held,
                (false, false) => Claim::Busy,
            },
        )
        .collect();
    Ok((
        ClaimedBatch {
            tx,
            subscriber: subscriber.to_owned(),
        },
        claims,
    ))
}

impl ClaimedBatch {
    /// Records the notifications the subscriber took, and releases every lock. An event whose
    /// notification had been dead-lettered and is now taken (a replay worked) is no longer
    /// dead-lettered, once no other dead letter of it is left in the DLQ index.
    pub async fn record(mut self, delivered: &[&str]) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO notification_deliveries (subscriber, notification_id)
             SELECT $1, id FROM UNNEST($2::text[]) AS delivered(id)
             ON CONFLICT DO NOTHING",
        )
        .bind(&self.subscriber)
        .bind(delivered)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "UPDATE inbox_events AS e SET dead_lettered_at = NULL, error = NULL
             FROM notification_outbox AS n JOIN inbox_dedup AS k USING (source, event_id)
             WHERE n.notification_id = ANY($1)
               AND e.seq = k.seq
               AND e.dead_lettered_at IS NOT NULL
               AND EXISTS (SELECT 1 FROM inbox_processed AS p WHERE p.seq = e.seq)
               AND NOT EXISTS (SELECT 1 FROM dead_letter_index AS d WHERE d.event_id = e.event_id)",
        )
        .bind(delivered)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await
    }
}

/// Deletes delivery records older than `days`, a batch per statement.
pub async fn prune(pool: &PgPool, days: i32, batch: i64) -> Result<u64, sqlx::Error> {
    super::delete_in_batches(pool, batch, || {
        sqlx::query(
            "DELETE FROM notification_deliveries WHERE (subscriber, notification_id) IN (
                 SELECT subscriber, notification_id FROM notification_deliveries
                 WHERE delivered_at < now() - make_interval(days => $1)
                 ORDER BY delivered_at LIMIT $2)",
        )
        .bind(days)
        .bind(batch)
    })
    .await
}
