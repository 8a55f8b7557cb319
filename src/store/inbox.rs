//! The inbox table: every accepted event, stored once and found by `(source, event_id)`
//! through its deduplication key.

use super::{classify, unnest_column, ErrorKind};
use crate::{
    catalogue::{bounded_error, EventId, EventType, Family, Ids, Reading, RoutingKey, TraceParent},
    store::event_rows::{EventKey, EventRow},
};
use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use std::collections::HashMap;

/// An event ready to be stored: the envelope's values, the catalogue's reading of the
/// resource, and the resource as received.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub source: String,
    pub event_id: EventId,
    pub event_type: EventType,
    pub envelope_time: Option<DateTime<Utc>>,
    pub reading: Reading,
    pub routing_key: RoutingKey,
    pub resource_raw: Vec<u8>,
    pub content_hash: Vec<u8>,
    /// The trace it was received under (SPEC 7).
    pub traceparent: Option<TraceParent>,
}

impl NewEvent {
    /// The reading's nullable columns: what an event that cannot be projected lacks stays NULL.
    fn ids(&self) -> (Option<&str>, Option<&str>) {
        match &self.reading {
            Reading::Valid(valid) => (Some(&valid.object_id), valid.account_id.as_deref()),
            Reading::Unfit { ids, .. } | Reading::Unknown { ids } => {
                (ids.object_id.as_deref(), ids.account_id.as_deref())
            }
        }
    }

    /// The event as it is stored when the database refused its row: the signed bytes and the
    /// refusal, without the values derived from the resource (one of which was refused). The
    /// worker re-reads the bytes and dead-letters the event with its reason.
    pub fn as_refused(&self, refusal: &sqlx::Error) -> NewEvent {
        let family = self.reading.family();
        let routing_key = match family {
            Family::Unknown => self.routing_key.clone(),
            family => RoutingKey::invalid(family),
        };
        NewEvent {
            reading: Reading::Unfit {
                family,
                reason: bounded_error(format!("the database refused the event: {refusal}")),
                ids: Ids::default(),
            },
            routing_key,
            envelope_time: None,
            ..self.clone()
        }
    }

    fn status(&self) -> Option<&str> {
        self.reading.valid().map(|valid| valid.status.as_str())
    }

    /// An unknown event is ordered by its envelope's time.
    fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match &self.reading {
            Reading::Valid(valid) => Some(valid.occurred_at),
            Reading::Unfit { .. } => None,
            Reading::Unknown { .. } => self.envelope_time,
        }
    }

    /// Whether the event is ordered by its envelope's time: the times a far-future envelope
    /// would move, and which are stored as the receipt time instead (SPEC 2.1).
    fn ordered_by_envelope(&self) -> bool {
        match &self.reading {
            Reading::Valid(valid) => !valid.family.orders_by_signed_time(),
            Reading::Unfit { .. } => false,
            Reading::Unknown { .. } => true,
        }
    }

    /// The deduplication key of its content (SPEC 2.4): the family its type's prefix names,
    /// and `''` where identical signed bytes are one event, else its own id.
    fn content_key(&self) -> (&'static str, &str) {
        let family = Family::named_by(&self.event_type);
        let copy_key = if family.orders_by_signed_time() {
            ""
        } else {
            self.event_id.as_str()
        };
        (family.as_str(), copy_key)
    }

    fn parse_error(&self) -> Option<&str> {
        match &self.reading {
            Reading::Unfit { reason, .. } => Some(reason),
            Reading::Valid(_) | Reading::Unknown { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Committed as a new row; `seq` is its position in order of receipt.
    New {
        seq: i64,
        /// Its envelope time was more than five minutes past its receipt, so it was stored
        /// as the receipt time.
        clamped: bool,
        /// The same signed bytes were stored before under another envelope id, in a family
        /// where that is a new event (a genuine repeat, or a captured request re-sent).
        resent: bool,
    },
    Duplicate,
}

/// Where an event is in its life, derived only by `event_state!` (in `store/mod.rs`): the
/// latest of processed and dead-lettered (a notification dead-lettered after processing
/// counts), else published, else received. A parked event is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EventState {
    Received,
    Published,
    Processed,
    DeadLettered,
}

/// An inbox row as the event API shows it.
#[derive(sqlx::FromRow)]
pub struct EventRecord {
    #[sqlx(flatten)]
    pub key: EventKey,
    pub routing_key: String,
    pub received_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
    pub dead_lettered_at: Option<DateTime<Utc>>,
    pub state: EventState,
    pub error: Option<String>,
}

/// Marks an event as dead-lettered with its reason.
pub async fn record_dead_letter(
    pool: &PgPool,
    source: &str,
    event_id: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE inbox_events SET dead_lettered_at = now(), error = $3
         WHERE seq = (SELECT seq FROM inbox_dedup WHERE source = $1 AND event_id = $2)",
    )
    .bind(source)
    .bind(event_id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Closes a dead-lettered event that will never be processed (its dead letter was purged): it
/// stops waiting for a worker, and no longer holds its day from retention.
pub async fn close_unprocessed(
    pool: &PgPool,
    source: &str,
    event_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM inbox_unprocessed
         WHERE seq = (SELECT seq FROM inbox_dedup WHERE source = $1 AND event_id = $2)",
    )
    .bind(source)
    .bind(event_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// `state`, and what follows it in a statement that reads the event `($1, $2)`, the source and
/// the event id, with its times.
macro_rules! the_event_with_its_state {
    () => {
        concat!(
            event_state!(),
            " AS state FROM ",
            inbox_with_times!(),
            " WHERE seq = (SELECT seq FROM inbox_dedup WHERE source = $1 AND event_id = $2)"
        )
    };
}

pub async fn find_event<'c>(
    executor: impl PgExecutor<'c>,
    source: &str,
    event_id: &str,
) -> Result<Option<EventRecord>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT event_id, source, event_type, routing_key, received_at, published_at,
                processed_at, dead_lettered_at, COALESCE(error, parse_error) AS error, ",
        the_event_with_its_state!()
    ))
    .bind(source)
    .bind(event_id)
    .fetch_optional(executor)
    .await
}

/// An event with everything the console's detail page shows: its record, and the columns its
/// message is built from, the resource's bytes among them.
#[derive(sqlx::FromRow)]
pub struct EventDetail {
    #[sqlx(flatten)]
    pub record: EventRecord,
    #[sqlx(flatten)]
    pub row: EventRow,
    /// What deduplication compares: the SHA-256 of the resource's bytes.
    pub content_hash: Vec<u8>,
    /// Why the catalogue could not read the event, kept apart from a worker's error.
    pub parse_error: Option<String>,
}

pub async fn event_detail(
    pool: &PgPool,
    source: &str,
    event_id: &str,
) -> Result<Option<EventDetail>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        event_row_columns!(),
        ", content_hash, parse_error, published_at, processed_at, dead_lettered_at,
           COALESCE(error, parse_error) AS error, ",
        the_event_with_its_state!()
    ))
    .bind(source)
    .bind(event_id)
    .fetch_optional(pool)
    .await
}

/// Inserts the events; a batch that lost a deadlock or a serialisation conflict to another is
/// tried again, since nothing of it was written.
pub async fn insert_events(
    pool: &PgPool,
    events: &[&NewEvent],
) -> Result<Vec<Stored>, sqlx::Error> {
    let mut tries = 1;
    loop {
        match insert_rows(pool, events).await {
            Err(error) if tries < CONFLICT_TRIES && classify(&error) == ErrorKind::Conflict => {
                tracing::info!(%error, tries, "inbox batch lost a conflict; trying again");
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Attempts at a batch that keeps losing deadlocks before its requests get 503.
const CONFLICT_TRIES: u32 = 3;

/// One multi-row insert that binds each of the columns as an array; the same
/// statement queues each new event for the relay and the workers.
async fn insert_rows(pool: &PgPool, events: &[&NewEvent]) -> Result<Vec<Stored>, sqlx::Error> {
    // Every batch inserts in one global order (by content hash, then id), so that concurrent
    // batches holding copies of one event take their unique-index locks in the same order.
    let mut ordered = events.to_vec();
    ordered.sort_by(|a, b| {
        (&a.content_hash, a.event_id.as_str()).cmp(&(&b.content_hash, b.event_id.as_str()))
    });
    let rows = ordered.as_slice();
    // Each row takes its `seq` first, in batch order; the keys are claimed in `inbox_dedup`,
    // and only rows whose keys were free are stored and queued. Duplicates leave gaps in
    // `seq`, as rolled-back inserts always have.
    // An envelope time more than five minutes past the receipt is stored, published and
    // ordered as the receipt time (SPEC 2.1), both by the database's clock.
    // `OFFSET 0` keeps the earlier-copy check (`resent`) a probe of the content key's index
    // for each row: without it PostgreSQL may plan the EXISTS as one hash of the whole of
    // `inbox_dedup` per batch, and a plan cached while the table was small kept doing so as
    // it grew (540 µs of PostgreSQL CPU per accepted event on a new deployment, see
    // docs/performance.md).
    let inserted: Vec<(i64, String, String, bool, bool)> = sqlx::query_as(
        r#"
        WITH batch AS MATERIALIZED (
            SELECT *, (envelope_time > received_at + interval '5 minutes') IS TRUE AS clamped
            FROM (SELECT nextval('inbox_events_seq_seq') AS seq, clock_timestamp() AS received_at, *
                  FROM (SELECT *
                        FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                    $6::text[], $7::text[], $8::text[], $9::timestamptz[],
                                    $10::bytea[], $11::bytea[], $12::text[], $13::timestamptz[],
                                    $14::bool[], $15::text[], $16::text[], $17::text[])
                             WITH ORDINALITY AS batch(source, event_id, event_type, family,
                                                      status, object_id, account_id, routing_key,
                                                      occurred_at, resource_raw, content_hash,
                                                      parse_error, envelope_time, by_envelope,
                                                      content_family, copy_key, traceparent,
                                                      position)
                        ORDER BY position) AS ordered) AS numbered),
        claimed AS (
            INSERT INTO inbox_dedup (source, event_id, type_key, content_hash, seq,
                                     content_family, copy_key)
            SELECT source, event_id, upper(event_type), content_hash, seq, content_family,
                   copy_key
            FROM batch ORDER BY seq
            ON CONFLICT DO NOTHING
            RETURNING seq),
        new AS (
            INSERT INTO inbox_events (seq, source, event_id, event_type, family, status,
                                      object_id, account_id, routing_key, occurred_at,
                                      resource_raw, content_hash, parse_error, envelope_time,
                                      received_at, traceparent)
            SELECT seq, source, event_id, event_type, family, status, object_id, account_id,
                   routing_key,
                   CASE WHEN clamped AND by_envelope THEN received_at ELSE occurred_at END,
                   resource_raw, content_hash, parse_error,
                   CASE WHEN clamped THEN received_at ELSE envelope_time END, received_at,
                   traceparent
            FROM batch WHERE seq IN (SELECT seq FROM claimed)
            RETURNING seq, source, event_id),
        to_publish AS (INSERT INTO inbox_unpublished (seq) SELECT seq FROM new),
        to_process AS (INSERT INTO inbox_unprocessed (seq) SELECT seq FROM new)
        SELECT new.seq, new.source, new.event_id, batch.clamped,
               batch.copy_key <> '' AND batch.content_family <> 'unknown' AND EXISTS (
                   SELECT 1 FROM inbox_dedup AS d
                   WHERE d.source = batch.source AND d.content_family = batch.content_family
                     AND d.content_hash = batch.content_hash OFFSET 0) AS resent
        FROM new JOIN batch USING (seq)
        "#,
    )
    .bind(unnest_column(rows, |e| e.source.as_str()))
    .bind(unnest_column(rows, |e| e.event_id.as_str()))
    .bind(unnest_column(rows, |e| e.event_type.as_str()))
    .bind(unnest_column(rows, |e| e.reading.family().as_str()))
    .bind(unnest_column(rows, |e| e.status()))
    .bind(unnest_column(rows, |e| e.ids().0))
    .bind(unnest_column(rows, |e| e.ids().1))
    .bind(unnest_column(rows, |e| e.routing_key.as_str()))
    .bind(unnest_column(rows, |e| e.occurred_at()))
    .bind(unnest_column(rows, |e| e.resource_raw.as_slice()))
    .bind(unnest_column(rows, |e| e.content_hash.as_slice()))
    .bind(unnest_column(rows, |e| e.parse_error()))
    .bind(unnest_column(rows, |e| e.envelope_time))
    .bind(unnest_column(rows, |e| e.ordered_by_envelope()))
    .bind(unnest_column(rows, |e| e.content_key().0))
    .bind(unnest_column(rows, |e| e.content_key().1))
    .bind(unnest_column(rows, |e| {
        e.traceparent.as_ref().map(TraceParent::header)
    }))
    .fetch_all(pool)
    .await?;
    let mut new: HashMap<(String, String), Stored> = inserted
        .into_iter()
        .map(|(seq, source, event_id, clamped, resent)| {
            let stored = Stored::New {
                seq,
                clamped,
                resent,
            };
            ((source, event_id), stored)
        })
        .collect();
    // A copy of an event in the same batch finds its key already taken by the first one.
    Ok(events
        .iter()
        .map(|e| {
            new.remove(&(e.source.clone(), e.event_id.to_string()))
                .unwrap_or(Stored::Duplicate)
        })
        .collect())
}
