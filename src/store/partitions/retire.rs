//! Retiring the inbox's days: dropping those past retention (detached concurrently, then
//! dropped, then their keys removed), and the figures the alerts watch.

use super::{gave_up_waiting, LOCK_TIMEOUT, MAINTENANCE_LOCK, TRIES};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;

/// Every partition (`p`) with the one after it (`next`): a partition's day ended when the next
/// one's began, and its events are the `seq`s below the next one's first. The newest has none.
macro_rules! partitions_with_next {
    () => {
        "inbox_partitions AS p
         CROSS JOIN LATERAL (SELECT n.first_seq, n.opened_at FROM inbox_partitions AS n
                             WHERE n.first_seq > p.first_seq
                             ORDER BY n.first_seq LIMIT 1) AS next"
    };
}

/// Rows of a dropped partition's side tables deleted per statement.
const BATCH: i64 = 10_000;

/// Drops every partition whose events were all received more than `days` ago and have all
/// been published, and processed or dead-lettered, with their deduplication keys and times;
/// returns how many events went. A dead-lettered event holds its day only until its dead letter
/// is in the DLQ index, which keeps its message with the resource (so it stays replayable, see
/// `ops::dlq`); a parked event holds its day until it is replayed. The current partition is
/// never dropped: the next events go there. A pass that finds another process at it does
/// nothing.
pub async fn drop_expired(pool: &PgPool, days: i32) -> Result<u64, sqlx::Error> {
    // A partition's last event arrived before the next one began.
    let expired: Vec<(String, i64, i64)> = sqlx::query_as(concat!(
        "SELECT p.name, p.first_seq, next.first_seq FROM ",
        partitions_with_next!(),
        " WHERE next.opened_at < now() - make_interval(days => $1)
           AND NOT EXISTS (SELECT 1 FROM inbox_unpublished AS u
                           WHERE u.seq >= p.first_seq AND u.seq < next.first_seq)
           AND NOT EXISTS (SELECT 1 FROM inbox_unprocessed AS u JOIN inbox_events AS e USING (seq)
                           WHERE u.seq >= p.first_seq AND u.seq < next.first_seq
                             AND e.seq >= p.first_seq AND e.seq < next.first_seq
                             AND NOT (e.dead_lettered_at IS NOT NULL
                                      AND EXISTS (SELECT 1 FROM dead_letter_index AS d
                                                  WHERE d.source = e.source
                                                    AND d.event_id = e.event_id)))
         ORDER BY p.first_seq"
    ))
    .bind(days)
    .fetch_all(pool)
    .await?;
    if expired.is_empty() {
        return Ok(0);
    }
    // DETACH … CONCURRENTLY cannot run in a transaction, so the lock is the session's, taken
    // on a connection of this pass's own and given back whatever happens.
    let mut conn = pool.acquire().await?;
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(MAINTENANCE_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !held {
        return Ok(0);
    }
    let dropped = drop_each(&mut conn, pool, &expired).await;
    let released = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MAINTENANCE_LOCK)
        .execute(&mut *conn)
        .await;
    if released.is_err() {
        // The session's lock ends with the connection.
        conn.close_on_drop();
    }
    dropped
}

async fn drop_each(
    conn: &mut PgConnection,
    pool: &PgPool,
    expired: &[(String, i64, i64)],
) -> Result<u64, sqlx::Error> {
    let mut dropped = 0;
    for (name, first_seq, end_seq) in expired {
        with_retries!(detach(conn, name))?;
        // Every event has one deduplication key: their count is the partition's. Removed only
        // now that its events are out of the inbox.
        let events = delete_range(pool, "inbox_dedup", *first_seq, *end_seq).await?;
        for side in ["inbox_published", "inbox_processed", "inbox_unprocessed"] {
            delete_range(pool, side, *first_seq, *end_seq).await?;
        }
        sqlx::query("DELETE FROM inbox_partitions WHERE name = $1")
            .bind(name)
            .execute(&mut *conn)
            .await?;
        tracing::info!(partition = %name, events, "dropped an inbox partition past retention");
        dropped += events;
    }
    Ok(dropped)
}

/// Takes `name` out of the inbox and drops it: `DETACH … CONCURRENTLY`, or `FINALIZE` for a
/// detach an earlier pass left pending, then `DROP TABLE` of what is then a table of its own.
/// Each step waits for locks at most [`LOCK_TIMEOUT`]; a detach that gives up stays pending
/// and is finished on a later pass.
async fn detach(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'"))
        .execute(&mut *conn)
        .await?;
    let pending: Option<bool> = sqlx::query_scalar(
        "SELECT inhdetachpending FROM pg_inherits
         WHERE inhrelid = to_regclass($1) AND inhparent = 'inbox_events'::regclass",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    // The name is built from an integer by this module.
    let detached = match pending {
        Some(false) => {
            sqlx::query(&format!(
                "ALTER TABLE inbox_events DETACH PARTITION {name} CONCURRENTLY"
            ))
            .execute(&mut *conn)
            .await
        }
        Some(true) => {
            sqlx::query(&format!(
                "ALTER TABLE inbox_events DETACH PARTITION {name} FINALIZE"
            ))
            .execute(&mut *conn)
            .await
        }
        None => Ok(Default::default()),
    };
    let dropped = match detached {
        Ok(_) => sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut *conn)
            .await
            .map(drop),
        Err(error) => Err(error),
    };
    sqlx::query("RESET lock_timeout")
        .execute(&mut *conn)
        .await?;
    dropped
}

/// Whether a day past the window is held by a dead-lettered event whose dead letter is not in
/// the DLQ index yet (dead-lettered before the index existed, or by a process that died before
/// its commit): the DLQ has to be indexed before the day can go.
pub async fn held_by_unindexed_dead_letters(pool: &PgPool, days: i32) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM ",
        partitions_with_next!(),
        " JOIN inbox_unprocessed AS u ON u.seq >= p.first_seq AND u.seq < next.first_seq
             JOIN inbox_events AS e ON e.seq = u.seq
             WHERE next.opened_at < now() - make_interval(days => $1)
               AND e.dead_lettered_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM dead_letter_index AS d
                               WHERE d.source = e.source AND d.event_id = e.event_id))"
    ))
    .bind(days)
    .fetch_one(pool)
    .await
}

/// What the alerts watch of the partitions: detaches left pending, and how long ago the oldest
/// day still kept ended (0 when only the day under way is kept).
pub async fn upkeep(pool: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT (SELECT count(*) FROM pg_inherits
                 WHERE inhparent = 'inbox_events'::regclass AND inhdetachpending),
                COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(next.opened_at))::float8 FROM ",
        partitions_with_next!(),
        " WHERE next.opened_at <= now()), 0)"
    ))
    .fetch_one(pool)
    .await
}

/// Deletes a range of `seq` from one of the inbox's side tables, a batch per statement;
/// returns how many rows went.
async fn delete_range(
    pool: &PgPool,
    table: &'static str,
    first_seq: i64,
    end_seq: i64,
) -> Result<u64, sqlx::Error> {
    let statement = format!(
        "DELETE FROM {table} WHERE seq IN
             (SELECT seq FROM {table} WHERE seq >= $1 AND seq < $2 LIMIT $3)"
    );
    crate::store::delete_in_batches(pool, BATCH, || {
        sqlx::query(&statement)
            .bind(first_seq)
            .bind(end_seq)
            .bind(BATCH)
    })
    .await
}
