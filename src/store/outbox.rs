//! The two outboxes the relays drain: events queued in `inbox_unpublished` for the events
//! exchange, and notifications queued in `notification_unpublished`. A queued row is claimed
//! under `FOR UPDATE SKIP LOCKED`; after the broker confirmed it, it leaves its queue and the
//! time is appended to `inbox_published` or `notification_published`, a batch per statement;
//! when no message can be built it is parked in its queue with the reason.

use super::event_rows::EventRow;
use super::unnest_column;
use crate::catalogue::TraceParent;
use sqlx::{PgConnection, PgPool};

/// Which outbox a statement is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxTable {
    /// The inbox: a parked event also shows as dead-lettered, with its reason.
    Events,
    Notifications,
}

impl OutboxTable {
    pub const ALL: [OutboxTable; 2] = [OutboxTable::Events, OutboxTable::Notifications];

    /// The outbox's name in `status` and its `outbox` metric label.
    pub fn name(self) -> &'static str {
        match self {
            OutboxTable::Events => "events",
            OutboxTable::Notifications => "notifications",
        }
    }
}

/// A notification outbox row as the relay publishes it.
#[derive(sqlx::FromRow)]
pub struct NotificationRow {
    pub seq: i64,
    pub notification_id: String,
    pub source: String,
    pub event_id: String,
    pub routing_key: String,
    pub body: Vec<u8>,
    /// The trace it is published and POSTed under (SPEC 7), as stored.
    pub traceparent: Option<String>,
}

/// A notification to write; its id makes writing it twice a no-op.
pub struct NewNotification<'a> {
    pub notification_id: String,
    pub source: &'a str,
    pub event_id: &'a str,
    pub routing_key: String,
    pub body: Vec<u8>,
    pub traceparent: Option<TraceParent>,
}

/// The claim of an outbox: lock up to `$1` rows of `queue` (aliased `q`) that are `pending`,
/// in order, then read `columns` from `table` of those whose `payload` bytes, summed in order,
/// start below `$2`.
macro_rules! claim_within_budget {
    (queue: $queue:literal, pending: $pending:literal, payload: $payload:literal,
     table: $table:literal, columns: $columns:expr) => {
        concat!(
            "WITH claimed AS (
                 SELECT q.seq, octet_length(",
            $payload,
            ") AS size FROM ",
            $queue,
            " WHERE ",
            $pending,
            " ORDER BY q.seq LIMIT $1 FOR UPDATE OF q SKIP LOCKED),
             within AS (
                 SELECT seq FROM (SELECT seq, size, sum(size) OVER (ORDER BY seq) AS running
                                  FROM claimed) AS sized
                 WHERE running - size < $2)
             SELECT ",
            $columns,
            " FROM ",
            $table,
            "
             WHERE seq IN (SELECT seq FROM within) ORDER BY seq"
        )
    };
}

/// How much one claim takes: at most `rows` rows, and no more rows once their payloads reach
/// `bytes` (the first row is always taken, whatever its size), so a run of large rows cannot
/// make a relay hold hundreds of megabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLimit {
    pub rows: i64,
    pub bytes: i64,
}

/// Locks and returns unpublished, unparked events within `limit`, oldest first, skipping rows
/// another relay holds. Rows locked beyond the byte budget stay locked, unread, until the
/// claim's transaction ends; the next claim takes them.
pub async fn claim_events(
    tx: &mut PgConnection,
    limit: ClaimLimit,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(claim_within_budget!(
        queue: "inbox_unpublished AS q JOIN inbox_events AS e ON e.seq = q.seq",
        pending: "q.parked_at IS NULL",
        payload: "e.resource_raw",
        table: "inbox_events",
        columns: event_row_columns!()
    ))
    .bind(limit.rows)
    .bind(limit.bytes)
    .fetch_all(tx)
    .await
}

/// As [`claim_events`], for notifications.
pub async fn claim_notifications(
    tx: &mut PgConnection,
    limit: ClaimLimit,
) -> Result<Vec<NotificationRow>, sqlx::Error> {
    sqlx::query_as(claim_within_budget!(
        queue: "notification_unpublished AS q JOIN notification_outbox AS n ON n.seq = q.seq",
        pending: "q.parked_at IS NULL",
        payload: "n.body",
        table: "notification_outbox",
        columns: "seq, notification_id, source, event_id, routing_key, body, traceparent"
    ))
    .bind(limit.rows)
    .bind(limit.bytes)
    .fetch_all(tx)
    .await
}

/// Sets rows aside with their reasons; they stay visible and can be released.
pub async fn park(
    tx: &mut PgConnection,
    table: OutboxTable,
    keys: &[i64],
    reasons: &[String],
) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = match table {
        OutboxTable::Events => {
            "WITH parked AS (
                 UPDATE inbox_unpublished AS o SET parked_at = now(), park_error = p.reason
                 FROM UNNEST($1::bigint[], $2::text[]) AS p(seq, reason) WHERE o.seq = p.seq
                 RETURNING o.seq, o.park_error)
             UPDATE inbox_events AS e SET dead_lettered_at = now(), error = parked.park_error
             FROM parked WHERE e.seq = parked.seq"
        }
        OutboxTable::Notifications => {
            "UPDATE notification_unpublished AS o SET parked_at = now(), park_error = p.reason
             FROM UNNEST($1::bigint[], $2::text[]) AS p(seq, reason) WHERE o.seq = p.seq"
        }
    };
    sqlx::query(sql)
        .bind(keys)
        .bind(reasons)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn mark_published(
    tx: &mut PgConnection,
    table: OutboxTable,
    keys: &[i64],
) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = match table {
        OutboxTable::Events => {
            "WITH done AS (DELETE FROM inbox_unpublished WHERE seq = ANY($1) RETURNING seq)
             INSERT INTO inbox_published (seq, published_at)
             SELECT seq, now() FROM done ON CONFLICT (seq) DO NOTHING"
        }
        OutboxTable::Notifications => {
            "WITH done AS (DELETE FROM notification_unpublished WHERE seq = ANY($1) RETURNING seq)
             INSERT INTO notification_published (seq, published_at)
             SELECT seq, now() FROM done ON CONFLICT (seq) DO NOTHING"
        }
    };
    sqlx::query(sql).bind(keys).execute(tx).await?;
    Ok(())
}

/// Unpublished, unparked rows and the age in seconds of the oldest.
pub async fn backlog(pool: &PgPool, table: OutboxTable) -> Result<(i64, f64), sqlx::Error> {
    let sql = match table {
        OutboxTable::Events => {
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(received_at))::float8, 0)
             FROM inbox_unpublished JOIN inbox_events USING (seq) WHERE parked_at IS NULL"
        }
        OutboxTable::Notifications => {
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0)
             FROM notification_unpublished JOIN notification_outbox USING (seq)
             WHERE parked_at IS NULL"
        }
    };
    sqlx::query_as(sql).fetch_one(pool).await
}

/// When the latest notification was published, if any was.
pub async fn last_published_notification(
    pool: &PgPool,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT max(published_at) FROM notification_published")
        .fetch_one(pool)
        .await
}

/// Writes notifications and queues them for the relay in one statement; one already written
/// is left as it is.
pub async fn insert_notifications(
    tx: &mut PgConnection,
    notifications: &[NewNotification<'_>],
) -> Result<(), sqlx::Error> {
    if notifications.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH new AS (
             INSERT INTO notification_outbox
                 (notification_id, source, event_id, routing_key, body, traceparent)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[],
                                  $6::text[])
             ON CONFLICT (notification_id) DO NOTHING
             RETURNING seq)
         INSERT INTO notification_unpublished (seq) SELECT seq FROM new",
    )
    .bind(unnest_column(notifications, |n| n.notification_id.as_str()))
    .bind(unnest_column(notifications, |n| n.source))
    .bind(unnest_column(notifications, |n| n.event_id))
    .bind(unnest_column(notifications, |n| n.routing_key.as_str()))
    .bind(unnest_column(notifications, |n| n.body.as_slice()))
    .bind(unnest_column(notifications, |n| {
        n.traceparent.as_ref().map(TraceParent::header)
    }))
    .execute(tx)
    .await?;
    Ok(())
}

/// Deletes published notifications older than `days`, with their publish times, a batch per
/// statement.
pub async fn prune_notifications(pool: &PgPool, days: i32, batch: i64) -> Result<u64, sqlx::Error> {
    super::delete_in_batches(pool, batch, || {
        sqlx::query(
            "WITH doomed AS (
                 SELECT seq FROM notification_outbox AS n
                 WHERE created_at < now() - make_interval(days => $1)
                   AND NOT EXISTS (SELECT 1 FROM notification_unpublished AS u WHERE u.seq = n.seq)
                 ORDER BY seq LIMIT $2),
             published AS (DELETE FROM notification_published WHERE seq IN (SELECT seq FROM doomed))
             DELETE FROM notification_outbox WHERE seq IN (SELECT seq FROM doomed)",
        )
        .bind(days)
        .bind(batch)
    })
    .await
}
