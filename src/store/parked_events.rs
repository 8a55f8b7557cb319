//! Parked events: rows the relay set aside because no message can be built for them. They are
//! dead letters that live in PostgreSQL, listed and released beside the broker's DLQ.

use super::event_rows::EventKey;
use crate::catalogue::Family;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

#[derive(sqlx::FromRow)]
pub struct ParkedEvent {
    #[sqlx(flatten)]
    pub key: EventKey,
    pub family: Family,
    pub park_error: Option<String>,
    pub parked_at: DateTime<Utc>,
}

/// Which parked events to release: all, these ids, or this event type (any case), of one
/// source when it is given.
pub struct ParkedSelection {
    pub event_ids: Vec<String>,
    pub event_type: Option<String>,
    pub source: Option<String>,
}

impl ParkedSelection {
    pub fn all() -> ParkedSelection {
        ParkedSelection {
            event_ids: Vec::new(),
            event_type: None,
            source: None,
        }
    }
}

/// Of `event_ids`, those of parked events, each with its source.
pub async fn parked_event_sources(
    pool: &PgPool,
    event_ids: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT event_id, source FROM inbox_unpublished JOIN inbox_events USING (seq)
         WHERE parked_at IS NOT NULL AND event_id = ANY($1)",
    )
    .bind(event_ids)
    .fetch_all(pool)
    .await
}

pub async fn parked(pool: &PgPool, limit: i64) -> Result<Vec<ParkedEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT event_id, source, event_type, family, park_error, parked_at
         FROM inbox_unpublished JOIN inbox_events USING (seq)
         WHERE parked_at IS NOT NULL ORDER BY seq LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many parked events the selection matches.
pub async fn count_parked(pool: &PgPool, selection: &ParkedSelection) -> Result<u64, sqlx::Error> {
    count_selected(
        pool,
        "SELECT count(*) FROM inbox_unpublished JOIN inbox_events USING (seq)
         WHERE parked_at IS NOT NULL
           AND (cardinality($1::text[]) = 0 OR event_id = ANY($1))
           AND ($2::text IS NULL OR upper(event_type) = upper($2))
           AND ($3::text IS NULL OR source = $3)",
        selection,
    )
    .await
}

/// Hands the selected parked events back to the relay; returns how many.
pub async fn release_parked(
    pool: &PgPool,
    selection: &ParkedSelection,
) -> Result<u64, sqlx::Error> {
    count_selected(
        pool,
        "WITH released AS (
             UPDATE inbox_unpublished AS u SET parked_at = NULL, park_error = NULL
             FROM inbox_events AS e
             WHERE u.seq = e.seq AND u.parked_at IS NOT NULL
               AND (cardinality($1::text[]) = 0 OR e.event_id = ANY($1))
               AND ($2::text IS NULL OR upper(e.event_type) = upper($2))
               AND ($3::text IS NULL OR e.source = $3)
             RETURNING u.seq),
         cleared AS (
             UPDATE inbox_events SET dead_lettered_at = NULL, error = NULL
             WHERE seq IN (SELECT seq FROM released))
         SELECT count(*) FROM released",
        selection,
    )
    .await
}

/// Runs `statement`, which takes the selection as `$1` (event ids), `$2` (event type) and `$3`
/// (source) and answers one count.
async fn count_selected(
    pool: &PgPool,
    statement: &'static str,
    selection: &ParkedSelection,
) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(statement)
        .bind(&selection.event_ids)
        .bind(selection.event_type.as_deref())
        .bind(selection.source.as_deref())
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}
