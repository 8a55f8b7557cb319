//! Reading the inbox back as an archive: replay and rebuild pages, the verify walk, the
//! `status` totals and the benchmark's end-to-end check.

use super::event_rows::{EventRow, StoredEvent};
use crate::catalogue::Family;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

/// Which archived events an operation covers; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct ArchiveFilter {
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    pub family: Option<Family>,
    pub event_ids: Vec<String>,
    /// Whether unprocessed events that were dead-lettered are replayed too: they failed
    /// before and, unless their cause was fixed, fail again into the DLQ.
    pub include_dead_lettered: bool,
}

/// How many archived events a filter matches, by what a replay does with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub matched: u64,
    pub processed: u64,
    /// Unprocessed and dead-lettered (or parked).
    pub dead_lettered: u64,
}

impl Selection {
    /// How many a replay leaves alone: the processed, and the dead-lettered unless included.
    pub fn skipped(&self, include_dead_lettered: bool) -> u64 {
        self.processed
            + if include_dead_lettered {
                0
            } else {
                self.dead_lettered
            }
    }
}

pub async fn count(pool: &PgPool, filter: &ArchiveFilter) -> Result<Selection, sqlx::Error> {
    let (matched, processed, dead_lettered): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(processed_at),
                count(*) FILTER (WHERE processed_at IS NULL AND dead_lettered_at IS NOT NULL)
         FROM inbox_events LEFT JOIN inbox_processed USING (seq)
         WHERE ($1::timestamptz IS NULL OR received_at >= $1)
           AND ($2::timestamptz IS NULL OR received_at < $2)
           AND ($3::text IS NULL OR family = $3)
           AND (cardinality($4::text[]) = 0 OR event_id = ANY($4))",
    )
    .bind(filter.since)
    .bind(filter.until)
    .bind(filter.family)
    .bind(&filter.event_ids)
    .fetch_one(pool)
    .await?;
    Ok(Selection {
        matched: matched as u64,
        processed: processed as u64,
        dead_lettered: dead_lettered as u64,
    })
}

/// The ids, of those given, that no archived event has.
pub async fn unknown_event_ids(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM UNNEST($1::text[]) WITH ORDINALITY AS given(id, position)
         WHERE NOT EXISTS (SELECT 1 FROM inbox_dedup WHERE event_id = id)
         ORDER BY position",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// The next page of matching unprocessed events after `after` (a `seq`), in order of receipt.
pub async fn unprocessed_page(
    pool: &PgPool,
    filter: &ArchiveFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        event_row_columns!(),
        " FROM inbox_unprocessed JOIN inbox_events USING (seq)
         WHERE ($1::timestamptz IS NULL OR received_at >= $1)
           AND ($2::timestamptz IS NULL OR received_at < $2)
           AND ($3::text IS NULL OR family = $3)
           AND (cardinality($4::text[]) = 0 OR event_id = ANY($4))
           AND ($7 OR dead_lettered_at IS NULL) AND seq > $5
         ORDER BY seq LIMIT $6"
    ))
    .bind(filter.since)
    .bind(filter.until)
    .bind(filter.family)
    .bind(&filter.event_ids)
    .bind(after)
    .bind(limit)
    .bind(filter.include_dead_lettered)
    .fetch_all(pool)
    .await
}

/// Processed events of `families`: what a rebuild re-projects and `verify` reads. Each was
/// projected, so it has its object and its time.
pub async fn count_processed(pool: &PgPool, families: &[Family]) -> Result<u64, sqlx::Error> {
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM inbox_processed JOIN inbox_events USING (seq)
         WHERE family = ANY($1) AND occurred_at IS NOT NULL AND object_id IS NOT NULL",
    )
    .bind(families)
    .fetch_one(pool)
    .await?;
    Ok(total as u64)
}

/// The next page, after `after`, of the events of `families` processed at `since` or later, in
/// order of receipt: what an online rebuild catches up with.
pub async fn processed_since(
    conn: &mut PgConnection,
    families: &[Family],
    since: DateTime<Utc>,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        stored_event_columns!(),
        " FROM inbox_processed JOIN inbox_events USING (seq)
         WHERE processed_at >= $2 AND family = ANY($1) AND occurred_at IS NOT NULL AND seq > $3
         ORDER BY seq LIMIT $4"
    ))
    .bind(families)
    .bind(since)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// A processed event with the object it belongs to, as `verify` walks them.
#[derive(sqlx::FromRow)]
pub struct ObjectEvent {
    #[sqlx(flatten)]
    pub event: StoredEvent,
    pub object_id: String,
}

/// The next page of a family's processed events ordered by object then receipt, after the
/// `(object id, seq)` the last page ended with.
pub async fn object_events_page(
    pool: &PgPool,
    family: Family,
    after: Option<(&str, i64)>,
    limit: i64,
) -> Result<Vec<ObjectEvent>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        stored_event_columns!(),
        ", object_id FROM inbox_processed JOIN inbox_events AS e USING (seq)
         WHERE e.family = $1 AND e.object_id IS NOT NULL AND (e.object_id, e.seq) > ($2, $3)
         ORDER BY e.object_id, e.seq LIMIT $4"
    ))
    // The position bounds the scan of `inbox_events_object` only when it names that table's
    // columns (`seq` alone is the join's, and the condition went to the other side), and only
    // without `$2 IS NULL OR …`, which a generic plan cannot bound: the first page starts
    // before every key instead. Unbounded, each page scanned from the family's start.
    .bind(family)
    .bind(after.map_or("", |(object, _)| object))
    .bind(after.map_or(i64::MIN, |(_, seq)| seq))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Every processed event of one object, in order of receipt: what `verify --repair` re-reads
/// under the object's lock.
pub async fn events_of_object(
    tx: &mut PgConnection,
    family: Family,
    object_id: &str,
) -> Result<Vec<ObjectEvent>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        stored_event_columns!(),
        ", object_id FROM inbox_processed JOIN inbox_events USING (seq)
         WHERE family = $1 AND object_id = $2
         ORDER BY seq"
    ))
    .bind(family)
    .bind(object_id)
    .fetch_all(tx)
    .await
}

/// The inbox by lifecycle state ([`super::inbox::EventState`], derived by the same SQL).
/// How many events are published but not processed, and the age in seconds of the oldest:
/// the workers' backlog. Dead-lettered and parked events wait for ops, not for a worker.
pub async fn processing_backlog(pool: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(received_at))::float8, 0)
         FROM inbox_unprocessed JOIN inbox_events USING (seq)
         WHERE dead_lettered_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM inbox_unpublished AS u WHERE u.seq = inbox_events.seq)",
    )
    .fetch_one(pool)
    .await
}

/// Events received, and of those processed, in the last `window_seconds`. Both read only the
/// events received in the last hour (the receipt index bounds the scan), so an event received
/// earlier and processed within the window is not counted.
#[derive(Debug, sqlx::FromRow)]
pub struct RecentCounts {
    pub received: i64,
    pub processed: i64,
}

pub async fn recent_counts(
    pool: &PgPool,
    window_seconds: f64,
) -> Result<RecentCounts, sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE received_at > now() - make_interval(secs => $1)) AS received,
                count(*) FILTER (WHERE processed_at > now() - make_interval(secs => $1)) AS processed
         FROM inbox_events LEFT JOIN inbox_processed USING (seq)
         WHERE received_at > now() - interval '1 hour'",
    )
    .bind(window_seconds)
    .fetch_one(pool)
    .await
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct InboxTotals {
    pub total: i64,
    pub unpublished: i64,
    pub unprocessed: i64,
    pub dead_lettered: i64,
    /// Events the relay set aside because their message cannot be built (counted among the
    /// dead-lettered too).
    pub parked: i64,
}

pub async fn inbox_totals(pool: &PgPool) -> Result<InboxTotals, sqlx::Error> {
    // Only the total reads the whole inbox. The unprocessed are read from their queue, the
    // dead-lettered through their partial index; each is then counted by its state.
    sqlx::query_as(concat!(
        "SELECT (SELECT count(*) FROM inbox_events) AS total,
                (SELECT count(*) FROM inbox_unpublished) AS unpublished,
                (SELECT count(*) FROM ",
        inbox_with_times!(),
        " WHERE seq IN (SELECT seq FROM inbox_unprocessed)
                   AND (",
        event_state!(),
        ") IN ('received', 'published')) AS unprocessed,
                (SELECT count(*) FROM ",
        inbox_with_times!(),
        " WHERE dead_lettered_at IS NOT NULL AND (",
        event_state!(),
        ") = 'dead_lettered') AS dead_lettered,
                (SELECT count(*) FROM inbox_unpublished WHERE parked_at IS NOT NULL) AS parked"
    ))
    .fetch_one(pool)
    .await
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct LastProcessed {
    pub event_id: String,
    pub source: String,
    pub event_type: String,
    pub processed_at: DateTime<Utc>,
}

pub async fn last_processed(pool: &PgPool) -> Result<Option<LastProcessed>, sqlx::Error> {
    sqlx::query_as(
        "SELECT event_id, source, event_type, processed_at
         FROM inbox_processed JOIN inbox_events USING (seq)
         ORDER BY processed_at DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

/// The events a benchmark run had accepted from its source, which its report asks about.
// The queries join the accepted ids instead of `= ANY($1)`: with a bound array PostgreSQL
// searches it linearly for every row, seconds per poll at tens of thousands of events, which
// loads the database being measured.
pub struct AcceptedEvents<'a> {
    pub source: &'a str,
    pub event_ids: &'a [String],
}

impl AcceptedEvents<'_> {
    /// How many are not processed yet.
    pub async fn count_unprocessed(&self, pool: &PgPool) -> Result<u64, sqlx::Error> {
        let unprocessed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM inbox_dedup
             JOIN UNNEST($1::text[]) AS accepted(accepted_id) ON event_id = accepted_id
             JOIN inbox_unprocessed USING (seq)
             WHERE source = $2",
        )
        .bind(self.event_ids)
        .bind(self.source)
        .fetch_one(pool)
        .await?;
        Ok(unprocessed as u64)
    }

    /// `(received_at, processed_at)` of each processed one.
    pub async fn processing_times(
        &self,
        pool: &PgPool,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT e.received_at, p.processed_at FROM inbox_dedup AS d
             JOIN UNNEST($1::text[]) AS accepted(accepted_id) ON d.event_id = accepted_id
             JOIN inbox_processed AS p ON p.seq = d.seq
             JOIN inbox_events AS e ON e.seq = d.seq
             WHERE d.source = $2",
        )
        .bind(self.event_ids)
        .bind(self.source)
        .fetch_all(pool)
        .await
    }

    /// How many were recorded in history or notified more than once.
    pub async fn count_applied_twice(&self, pool: &PgPool) -> Result<u64, sqlx::Error> {
        let doubled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (
                 SELECT event_id FROM status_history
                 JOIN UNNEST($1::text[]) AS accepted(accepted_id) ON event_id = accepted_id
                 WHERE source = $2 GROUP BY event_id HAVING count(*) > 1
                 UNION ALL
                 SELECT event_id FROM notification_outbox
                 JOIN UNNEST($1::text[]) AS accepted(accepted_id) ON event_id = accepted_id
                 WHERE source = $2 GROUP BY event_id HAVING count(*) > 1
             ) doubled",
        )
        .bind(self.event_ids)
        .bind(self.source)
        .fetch_one(pool)
        .await?;
        Ok(doubled as u64)
    }
}
