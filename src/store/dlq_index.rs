//! The DLQ index (`dead_letter_index`): one row per (consumer queue, source, message) in the
//! broker's DLQ, so listing and showing dead letters read here and never touch the queue.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{types::Json, PgConnection, PgPool};

/// A dead letter as the DLQ index keeps it: what its message says of itself (read by
/// `wire::read_dead_letter`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeadLetterFacts {
    /// The consumer queue it failed in, and goes back to on replay.
    pub queue: String,
    /// `message_id`, or the body's SHA-256 for a message without one: with `queue`, the key
    /// under which there is at most one dead letter.
    pub message_id: String,
    pub event_id: String,
    pub source: Option<String>,
    pub event_type: Option<String>,
    pub family: Option<String>,
    pub attempts: i64,
    pub error: String,
    pub failed_at: DateTime<Utc>,
    #[sqlx(json)]
    pub headers: Map<String, Value>,
    pub body: Vec<u8>,
}

/// Which dead letters: all, these event ids, or this event type (any case), of one source when
/// it is given. No ids and no type means all; callers decide what an empty id list means
/// before asking.
pub struct Selection<'a> {
    pub event_ids: &'a [String],
    pub event_type: Option<&'a str>,
    pub source: Option<&'a str>,
}

const SELECTED: &str = "(cardinality($1::text[]) = 0 OR event_id = ANY($1))
     AND ($2::text IS NULL OR upper(event_type) = upper($2))
     AND ($3::text IS NULL OR source = $3)";

/// A dead letter's key: its queue, its event's source (empty when its headers name none) and
/// its message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, sqlx::FromRow)]
pub struct LetterKey {
    pub queue: String,
    pub source: String,
    pub message_id: String,
}

impl LetterKey {
    pub fn of(facts: &DeadLetterFacts) -> LetterKey {
        LetterKey {
            queue: facts.queue.clone(),
            source: facts.source.clone().unwrap_or_default(),
            message_id: facts.message_id.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// No dead letter for this (queue, source, message) yet: the caller publishes one and
    /// commits.
    New,
    /// One is in the DLQ already; its row now carries the latest failure.
    AlreadyDeadLettered,
}

/// Writes `facts` under its key inside the caller's transaction, which holds the row until it
/// commits (after the broker confirmed the dead letter) or rolls back (it did not).
pub async fn claim(conn: &mut PgConnection, facts: &DeadLetterFacts) -> Result<Claim, sqlx::Error> {
    // `xmax` is 0 on a row the statement inserted, and its transaction's id on one it updated.
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO dead_letter_index
             (queue, message_id, event_id, source, event_type, family, attempts, error,
              failed_at, headers, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (queue, (COALESCE(source, '')), message_id) DO UPDATE
         SET attempts = EXCLUDED.attempts, error = EXCLUDED.error,
             failed_at = EXCLUDED.failed_at, headers = EXCLUDED.headers
         RETURNING xmax = 0",
    )
    .bind(&facts.queue)
    .bind(&facts.message_id)
    .bind(&facts.event_id)
    .bind(&facts.source)
    .bind(&facts.event_type)
    .bind(&facts.family)
    .bind(facts.attempts)
    .bind(&facts.error)
    .bind(facts.failed_at)
    .bind(Json(&facts.headers))
    .bind(&facts.body)
    .fetch_one(&mut *conn)
    .await?;
    Ok(if inserted {
        Claim::New
    } else {
        Claim::AlreadyDeadLettered
    })
}

/// Indexes a dead letter found in the queue without a row (dead-lettered before the index
/// existed, or by a process that died between the confirm and its commit).
pub async fn adopt(pool: &PgPool, facts: &DeadLetterFacts) -> Result<Claim, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    claim(&mut conn, facts).await
}

/// The oldest `limit` dead letters, and how many there are in all.
pub async fn list(pool: &PgPool, limit: i64) -> Result<(Vec<DeadLetterFacts>, i64), sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT * FROM dead_letter_index ORDER BY failed_at, queue, message_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM dead_letter_index")
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

/// What the console's dead-letter page filters by; each is ignored when `None`.
#[derive(Debug, Default)]
pub struct PageFilter<'a> {
    pub event_id: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub family: Option<&'a str>,
    pub queue: Option<&'a str>,
}

/// Dead letters matching `filter`, oldest failure first, `limit` from `offset`; with how many
/// match in all.
pub async fn page(
    pool: &PgPool,
    filter: &PageFilter<'_>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<DeadLetterFacts>, i64), sqlx::Error> {
    // A notification's dead letter names no type or family: the inbox row of its event does.
    const LETTERS: &str = "SELECT d.queue, d.message_id, d.event_id, d.source,
                COALESCE(d.event_type, e.event_type) AS event_type,
                COALESCE(d.family, e.family) AS family,
                d.attempts, d.error, d.failed_at, d.headers, d.body
         FROM dead_letter_index AS d
         LEFT JOIN inbox_dedup AS k ON k.source = d.source AND k.event_id = d.event_id
         LEFT JOIN inbox_events AS e ON e.seq = k.seq";
    const MATCHES: &str = "($1::text IS NULL OR event_id = $1)
         AND ($2::text IS NULL OR upper(event_type) = upper($2))
         AND ($3::text IS NULL OR family = $3)
         AND ($4::text IS NULL OR queue = $4)";
    let rows = sqlx::query_as(&format!(
        "SELECT * FROM ({LETTERS}) AS letters WHERE {MATCHES}
         ORDER BY failed_at, queue, message_id OFFSET $5 LIMIT $6"
    ))
    .bind(filter.event_id)
    .bind(filter.event_type)
    .bind(filter.family)
    .bind(filter.queue)
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM ({LETTERS}) AS letters WHERE {MATCHES}"
    ))
    .bind(filter.event_id)
    .bind(filter.event_type)
    .bind(filter.family)
    .bind(filter.queue)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// The event's most recent dead letter, whichever queue it failed in, of `source` when given.
pub async fn latest(
    pool: &PgPool,
    event_id: &str,
    source: Option<&str>,
) -> Result<Option<DeadLetterFacts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM dead_letter_index WHERE event_id = $1 AND ($2::text IS NULL OR source = $2)
         ORDER BY failed_at DESC, queue LIMIT 1",
    )
    .bind(event_id)
    .bind(source)
    .fetch_optional(pool)
    .await
}

/// The keys of the selected dead letters.
pub async fn select(
    pool: &PgPool,
    selection: &Selection<'_>,
) -> Result<Vec<LetterKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT queue, COALESCE(source, '') AS source, message_id FROM dead_letter_index
         WHERE {SELECTED}"
    ))
    .bind(selection.event_ids)
    .bind(selection.event_type)
    .bind(selection.source)
    .fetch_all(pool)
    .await
}

pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM dead_letter_index")
        .fetch_one(pool)
        .await
}

/// Of `event_ids`, each with a dead letter here and the source of each (empty when none).
pub async fn sources_of_event_ids(
    pool: &PgPool,
    event_ids: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT event_id, COALESCE(source, '') FROM dead_letter_index
         WHERE event_id = ANY($1)",
    )
    .bind(event_ids)
    .fetch_all(pool)
    .await
}

/// Forgets a dead letter taken out of the queue.
pub async fn remove(pool: &PgPool, key: &LetterKey) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM dead_letter_index
         WHERE queue = $1 AND COALESCE(source, '') = $2 AND message_id = $3",
    )
    .bind(&key.queue)
    .bind(&key.source)
    .bind(&key.message_id)
    .execute(pool)
    .await
    .map(drop)
}

/// The keys of the dead letters that failed before `before`: those past their retention.
pub async fn failed_before(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<Vec<LetterKey>, sqlx::Error> {
    sqlx::query_as(
        "SELECT queue, COALESCE(source, '') AS source, message_id FROM dead_letter_index
         WHERE failed_at < $1",
    )
    .bind(before)
    .fetch_all(pool)
    .await
}

/// Forgets every dead letter indexed up to `until`, after the queue was purged; the events of
/// those that failed in `read_model_queue` will never be processed, so they stop waiting for it
/// (and no longer hold their day from retention).
pub async fn clear(
    pool: &PgPool,
    until: DateTime<Utc>,
    read_model_queue: &str,
) -> Result<u64, sqlx::Error> {
    let cleared: i64 = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM dead_letter_index WHERE failed_at <= $1
                       RETURNING queue, source, event_id),
              closed AS (DELETE FROM inbox_unprocessed
                         WHERE seq IN (SELECT k.seq FROM gone JOIN inbox_dedup AS k
                                           USING (source, event_id)
                                       WHERE gone.queue = $2))
         SELECT count(*) FROM gone",
    )
    .bind(until)
    .bind(read_model_queue)
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(cleared).unwrap_or(0))
}
