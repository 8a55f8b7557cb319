//! Notifications delivered to subscribers. A batch of notifications is claimed with a lease
//! per (subscriber, notification id) in one short transaction, POSTed with no connection held,
//! and recorded in another, which ends the leases: no two workers POST the same notification
//! at once, and a notification already delivered is not POSTed again. A lease whose holder
//! died expires, by the database's clock. A notification an operator resent is POSTed again
//! although it was delivered (SPEC 5), under a lease all the same.

use sqlx::{PgPool, Postgres, Transaction};
use std::time::{Duration, Instant};
use uuid::Uuid;

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

/// The leases of a claimed batch, ended by [`ClaimedBatch::record`], or at their expiry when
/// it is never called (the holder died).
pub struct ClaimedBatch {
    holder: Uuid,
    subscriber: String,
    /// When the leases end at the earliest, by this process's clock: taken before the claim,
    /// so never later than the database's own expiry.
    leased_until: Instant,
}

/// A notification a notifier wants to POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub id: &'a str,
    /// Resent by an operator: POSTed even where the subscriber took it before.
    pub again: bool,
}

/// Claims `wanted` (distinct ids) for `subscriber`, each leased for `lease` unless another
/// holder's lease runs; one [`Claim`] per notification, in order.
pub async fn claim(
    pool: &PgPool,
    subscriber: &str,
    wanted: &[Wanted<'_>],
    lease: Duration,
) -> Result<(ClaimedBatch, Vec<Claim>), sqlx::Error> {
    let ids: Vec<&str> = wanted.iter().map(|w| w.id).collect();
    let ids = ids.as_slice();
    let holder = Uuid::new_v4();
    let leased_until = Instant::now() + lease;
    let mut tx = pool.begin().await?;
    let leased: Vec<String> = sqlx::query_scalar(
        "INSERT INTO notification_leases AS l (subscriber, notification_id, holder, expires_at)
         SELECT $1, id, $3, clock_timestamp() + make_interval(secs => $4)
         FROM UNNEST($2::text[]) AS claimed(id)
         ON CONFLICT (subscriber, notification_id) DO UPDATE
             SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
             WHERE l.expires_at < clock_timestamp()
         RETURNING notification_id",
    )
    .bind(subscriber)
    .bind(ids)
    .bind(holder)
    .bind(lease.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    // A statement of its own, after the leases: its snapshot then sees every delivery that the
    // previous holder committed with the end of its lease.
    let delivered = delivered_of(&mut tx, subscriber, ids).await?;
    tx.commit().await?;
    let claims = wanted
        .iter()
        .map(|w| {
            let delivered = delivered.iter().any(|d| d == w.id) && !w.again;
            match (leased.iter().any(|l| l == w.id), delivered) {
                (_, true) => Claim::Delivered,
                (true, false) => Claim::Held,
                (false, false) => Claim::Busy,
            }
        })
        .collect();
    let batch = ClaimedBatch {
        holder,
        subscriber: subscriber.to_owned(),
        leased_until,
    };
    Ok((batch, claims))
}

async fn delivered_of(
    tx: &mut Transaction<'static, Postgres>,
    subscriber: &str,
    ids: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT notification_id FROM notification_deliveries
         WHERE subscriber = $1 AND notification_id = ANY($2)",
    )
    .bind(subscriber)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
}

impl ClaimedBatch {
    /// How long the leases still hold: while they do, no other worker POSTs these
    /// notifications, so a delivery recorded within that time is never POSTed again.
    pub fn lease_left(&self) -> Duration {
        self.leased_until.saturating_duration_since(Instant::now())
    }

    /// Records the notifications the subscriber took, and ends every lease; one transaction,
    /// so it can be tried again after a failure. An event whose notification had been
    /// dead-lettered and is now taken (a replay worked) is no longer dead-lettered, once no
    /// other dead letter of it is left in the DLQ index.
    pub async fn record(&self, pool: &PgPool, delivered: &[&str]) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO notification_deliveries (subscriber, notification_id)
             SELECT $1, id FROM UNNEST($2::text[]) AS delivered(id)
             ON CONFLICT DO NOTHING",
        )
        .bind(&self.subscriber)
        .bind(delivered)
        .execute(&mut *tx)
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
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM notification_leases WHERE subscriber = $1 AND holder = $2")
            .bind(&self.subscriber)
            .bind(self.holder)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}

/// Deletes leases that expired over an hour ago: their holders died, and no claim came for
/// those notifications since.
pub async fn prune_leases(pool: &PgPool, batch: i64) -> Result<u64, sqlx::Error> {
    super::delete_in_batches(pool, batch, || {
        sqlx::query(
            "DELETE FROM notification_leases WHERE (subscriber, notification_id) IN (
                 SELECT subscriber, notification_id FROM notification_leases
                 WHERE expires_at < now() - interval '1 hour'
                 ORDER BY expires_at LIMIT $1)",
        )
        .bind(batch)
    })
    .await
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
