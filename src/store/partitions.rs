//! The inbox's partitions (migration 0012): one per day of receipt, keyed by ranges of `seq`.
//! Opening the next one moves the sequence to its first value; retention drops a partition
//! whole, with its deduplication keys and its times, once every event in it is past the window
//! and none is waiting to be published or processed.

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, PgPool, Postgres, Transaction};

/// Each partition spans 2^36 values of `seq`: 68 billion events, far more than a day brings.
const SPAN_BITS: u32 = 36;

/// The advisory lock that keeps two processes from opening or dropping partitions at once.
/// Tests hold it to arrange partitions without the running service rolling over under them.
pub const MAINTENANCE_LOCK: i64 = 0x686f_6f6b_6761_7465;

/// Rows of a dropped partition's side tables deleted per statement.
const BATCH: i64 = 10_000;

/// A partition and the range of `seq` it holds.
#[derive(Debug, sqlx::FromRow)]
pub struct Partition {
    pub name: String,
    pub first_seq: i64,
    pub opened_at: DateTime<Utc>,
}

/// Begins a transaction holding the maintenance lock. A session that already holds the lock
/// (a test arranging partitions) is granted it again.
async fn locked(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // DDL on the partitioned table waits for every statement on it; give up and try on the
    // next pass rather than queue the webhooks behind a long query.
    sqlx::query("SET LOCAL lock_timeout = '5s'")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MAINTENANCE_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Opens the next partition if the newest was opened before `now`'s UTC day; returns it.
pub async fn roll_over(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<Option<Partition>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    open_next_if(&mut conn, now, |newest| {
        newest.opened_at.date_naive() < now.date_naive()
    })
    .await
}

/// Opens the next partition whatever the newest one's day, recorded as opened at `opened_at`:
/// the benchmark's preload and the tests lay out days of traffic with it.
pub async fn open_next(
    conn: &mut PgConnection,
    opened_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    open_next_if(conn, opened_at, |_| true).await.map(drop)
}

/// Opens the partition after the newest, recorded as opened at `opened_at`, if `due` says so
/// of the newest; both read and decided under the maintenance lock, so two processes never
/// open two partitions for one day.
async fn open_next_if(
    conn: &mut PgConnection,
    opened_at: DateTime<Utc>,
    due: impl FnOnce(&Partition) -> bool,
) -> Result<Option<Partition>, sqlx::Error> {
    let mut tx = locked(conn).await?;
    let newest = newest(&mut tx).await?;
    if !due(&newest) {
        return Ok(None);
    }
    let opened = create_after(&mut tx, &newest, opened_at).await?;
    tx.commit().await?;
    advance_sequence(conn).await?;
    Ok(Some(opened))
}

async fn newest(tx: &mut PgConnection) -> Result<Partition, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, first_seq, opened_at FROM inbox_partitions ORDER BY first_seq DESC LIMIT 1",
    )
    .fetch_one(tx)
    .await
}

async fn create_after(
    tx: &mut PgConnection,
    newest: &Partition,
    opened_at: DateTime<Utc>,
) -> Result<Partition, sqlx::Error> {
    let index = (newest.first_seq >> SPAN_BITS) + 1;
    let first_seq = index << SPAN_BITS;
    let name = format!("inbox_events_p{index}");
    // Identifiers and bounds cannot be bound parameters; both are built from integers here.
    sqlx::query(&format!(
        "CREATE TABLE {name} PARTITION OF inbox_events FOR VALUES FROM ({first_seq}) TO ({})",
        first_seq + (1 << SPAN_BITS)
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO inbox_partitions (name, first_seq, opened_at) VALUES ($1, $2, $3)")
        .bind(&name)
        .bind(first_seq)
        .bind(opened_at)
        .execute(&mut *tx)
        .await?;
    Ok(Partition {
        name,
        first_seq,
        opened_at,
    })
}

/// Moves the sequence up to the newest partition's first value, once that partition is
/// committed: moving it first would hand out values no partition accepts if the commit failed.
/// Never moves it back.
async fn advance_sequence(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT setval('inbox_events_seq_seq', p.first_seq, false)
         FROM (SELECT max(first_seq) AS first_seq FROM inbox_partitions) AS p,
              inbox_events_seq_seq AS s
         WHERE s.last_value < p.first_seq",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops every partition whose events were all received more than `days` ago and have all
/// been published and processed, with their deduplication keys and times; returns how many
/// events went. The newest partition is never dropped: the next events go there.
pub async fn drop_expired(pool: &PgPool, days: i32) -> Result<u64, sqlx::Error> {
    // A partition's last event arrived before the next one was opened.
    let expired: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT p.name, p.first_seq, next.first_seq
         FROM inbox_partitions AS p
         CROSS JOIN LATERAL (SELECT n.first_seq, n.opened_at FROM inbox_partitions AS n
                             WHERE n.first_seq > p.first_seq
                             ORDER BY n.first_seq LIMIT 1) AS next
         WHERE next.opened_at < now() - make_interval(days => $1)
           AND NOT EXISTS (SELECT 1 FROM inbox_unpublished AS u
                           WHERE u.seq >= p.first_seq AND u.seq < next.first_seq)
           AND NOT EXISTS (SELECT 1 FROM inbox_unprocessed AS u
                           WHERE u.seq >= p.first_seq AND u.seq < next.first_seq)
         ORDER BY p.first_seq",
    )
    .bind(days)
    .fetch_all(pool)
    .await?;
    let mut dropped = 0;
    for (name, first_seq, end_seq) in expired {
        // Every event has one deduplication key: their count is the partition's.
        let events = delete_range(pool, "inbox_dedup", first_seq, end_seq).await?;
        delete_range(pool, "inbox_published", first_seq, end_seq).await?;
        delete_range(pool, "inbox_processed", first_seq, end_seq).await?;
        let mut conn = pool.acquire().await?;
        let mut tx = locked(&mut conn).await?;
        sqlx::query(&format!("DROP TABLE {name}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM inbox_partitions WHERE name = $1")
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(partition = %name, events, "dropped an inbox partition past retention");
        dropped += events;
    }
    Ok(dropped)
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
    super::delete_in_batches(pool, BATCH, || {
        sqlx::query(&statement)
            .bind(first_seq)
            .bind(end_seq)
            .bind(BATCH)
    })
    .await
}
