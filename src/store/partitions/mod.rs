//! The inbox's partitions (migration 0012): one per day of receipt, keyed by ranges of `seq`.
//!
//! Maintenance never stalls receiving. The next day's partition is prepared ahead: created as a
//! standalone table, then attached, which takes only SHARE UPDATE EXCLUSIVE on `inbox_events`
//! (inserts and readers go on). When the day begins, by the database's clock, the sequence
//! moves to it and `opened_at` records when: no DDL at the turn of the day. Retention detaches
//! a partition `CONCURRENTLY` (PostgreSQL 14+), finishes a detach left pending with `FINALIZE`,
//! drops the detached table, and only then removes its deduplication keys and times. Every lock
//! wait is bounded well under the inbox's commit timeout, and what gives up is tried again on
//! the next pass. Dropping is in `retire`.

use super::gave_up_waiting;
use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, Postgres, Transaction};
use std::time::Duration;

/// Each partition spans 2^36 values of `seq`: 68 billion events, far more than a day brings.
const SPAN_BITS: u32 = 36;

/// The advisory lock that keeps two processes from preparing, beginning or dropping partitions
/// at once. Tests hold it to arrange partitions without the running service rolling over under
/// them.
pub const MAINTENANCE_LOCK: i64 = 0x686f_6f6b_6761_7465;

/// How long a maintenance statement waits for a lock: well under the inbox's commit timeout
/// (3 s), so that even a lock that would queue the webhooks behind it is given up quickly.
const LOCK_TIMEOUT: &str = "500ms";

/// Tries of one DDL step within a pass, a second apart.
const TRIES: u32 = 3;

/// A partition and the range of `seq` it holds. `opened_at` is when its day began; for a
/// partition prepared ahead, when its day will begin.
#[derive(Debug, sqlx::FromRow)]
pub struct Partition {
    pub name: String,
    pub first_seq: i64,
    pub opened_at: DateTime<Utc>,
}

impl Partition {
    fn end_seq(&self) -> i64 {
        self.first_seq + (1 << SPAN_BITS)
    }
}

/// Begins a transaction holding the maintenance lock, with bounded lock waits. A session that
/// already holds the lock (a test arranging partitions) is granted it again.
async fn locked(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    super::lock_for_transaction(&mut tx, MAINTENANCE_LOCK, LOCK_TIMEOUT).await?;
    Ok(tx)
}

/// Awaits the step `$step` builds, again up to [`TRIES`] times while it fails for a lock it
/// could not get in time. A macro, so that each try borrows the connection afresh.
macro_rules! with_retries {
    ($step:expr) => {{
        let mut tried = 1;
        loop {
            match $step.await {
                Err(error) if gave_up_waiting(&error) && tried < TRIES => {
                    tried += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                outcome => break outcome,
            }
        }
    }};
}

/// Keeps a partition prepared ahead, and begins it once the current day is over by the
/// database's clock; returns the partition begun, if one was.
pub async fn roll_over(conn: &mut PgConnection) -> Result<Option<Partition>, sqlx::Error> {
    with_retries!(prepare_ahead(conn))?;
    let begun = begin_next_if(conn, None).await?;
    if begun.is_some() {
        with_retries!(prepare_ahead(conn))?;
    }
    Ok(begun)
}

/// Begins the next partition whatever the current one's day, recorded as opened at
/// `opened_at`, and prepares the one after: the benchmark's preload and the tests lay out days
/// of traffic with it.
pub async fn open_next(
    conn: &mut PgConnection,
    opened_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    with_retries!(prepare_ahead(conn))?;
    begin_next_if(conn, Some(opened_at)).await?;
    with_retries!(prepare_ahead(conn))
}

/// The partition the sequence is in, and the first one prepared after it, if any.
async fn current_and_next(
    tx: &mut PgConnection,
) -> Result<(Partition, Option<Partition>), sqlx::Error> {
    let position: i64 = sqlx::query_scalar("SELECT last_value FROM inbox_events_seq_seq")
        .fetch_one(&mut *tx)
        .await?;
    let current = sqlx::query_as(
        "SELECT name, first_seq, opened_at FROM inbox_partitions WHERE first_seq <= $1
         ORDER BY first_seq DESC LIMIT 1",
    )
    .bind(position)
    .fetch_one(&mut *tx)
    .await?;
    let next = sqlx::query_as(
        "SELECT name, first_seq, opened_at FROM inbox_partitions WHERE first_seq > $1
         ORDER BY first_seq LIMIT 1",
    )
    .bind(position)
    .fetch_optional(&mut *tx)
    .await?;
    Ok((current, next))
}

/// Makes sure a partition is prepared after the current one: created standalone (its row
/// records the midnight its day begins), then attached. A partition created but not attached
/// (a process died in between) is attached.
async fn prepare_ahead(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let mut tx = locked(conn).await?;
    let (current, next) = current_and_next(&mut tx).await?;
    let next = match next {
        Some(next) => next,
        None => {
            let index = (current.first_seq >> SPAN_BITS) + 1;
            let name = format!("inbox_events_p{index}");
            // Identifiers cannot be bound parameters; this one is built from an integer.
            sqlx::query(&format!(
                "CREATE TABLE IF NOT EXISTS {name} (LIKE inbox_events INCLUDING DEFAULTS)"
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query_as(
                "INSERT INTO inbox_partitions (name, first_seq, opened_at)
                 VALUES ($1, $2, date_trunc('day', now(), 'UTC') + interval '1 day')
                 RETURNING name, first_seq, opened_at",
            )
            .bind(&name)
            .bind(index << SPAN_BITS)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let attached: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_inherits
                        WHERE inhrelid = to_regclass($1) AND inhparent = 'inbox_events'::regclass)",
    )
    .bind(&next.name)
    .fetch_one(&mut *tx)
    .await?;
    if !attached {
        // SHARE UPDATE EXCLUSIVE on the parent: inserts and readers are not held up. Bounds
        // are built from integers.
        sqlx::query(&format!(
            "ALTER TABLE inbox_events ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})",
            next.name,
            next.first_seq,
            next.end_seq()
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Begins the partition prepared after the current one, if it is attached and either
/// `opened_at` is given or the current one's UTC day is over by the database's clock: records
/// when it began, then moves the sequence into it. No DDL.
async fn begin_next_if(
    conn: &mut PgConnection,
    opened_at: Option<DateTime<Utc>>,
) -> Result<Option<Partition>, sqlx::Error> {
    let mut tx = locked(conn).await?;
    let begun = begin_next_within(&mut tx, opened_at).await?;
    // Committed whether or not a day began: a transaction dropped instead is rolled back only
    // when its connection is next used, and until then it keeps the maintenance lock, so a
    // retention pass right after found the lock taken and dropped nothing.
    tx.commit().await?;
    Ok(begun)
}

async fn begin_next_within(
    tx: &mut PgConnection,
    opened_at: Option<DateTime<Utc>>,
) -> Result<Option<Partition>, sqlx::Error> {
    let (current, Some(next)) = current_and_next(tx).await? else {
        return Ok(None);
    };
    let begun: Option<Partition> = sqlx::query_as(
        "UPDATE inbox_partitions SET opened_at = COALESCE($2, now())
         WHERE name = $1
           AND ($2 IS NOT NULL OR date_trunc('day', $3::timestamptz, 'UTC')
                                  < date_trunc('day', now(), 'UTC'))
           AND EXISTS (SELECT 1 FROM pg_inherits
                       WHERE inhrelid = to_regclass($1) AND inhparent = 'inbox_events'::regclass)
         RETURNING name, first_seq, opened_at",
    )
    .bind(&next.name)
    .bind(opened_at)
    .bind(current.opened_at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(begun) = begun else {
        return Ok(None);
    };
    // In the same transaction: a sequence moved into a partition whose row says it has not
    // begun would leave the two disagreeing. Never moved back.
    sqlx::query(
        "SELECT setval('inbox_events_seq_seq', $1, false) FROM inbox_events_seq_seq
         WHERE last_value < $1",
    )
    .bind(begun.first_seq)
    .execute(&mut *tx)
    .await?;
    Ok(Some(begun))
}

mod retire;

pub use retire::{drop_expired, held_by_unindexed_dead_letters, upkeep};
