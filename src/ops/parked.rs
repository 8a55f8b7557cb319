//! Inbox rows the relay parked because their message cannot be built within AMQP's limits.
//! The DLQ tools show them beside the dead letters, and `dlq replay` releases them to the relay
//! once whatever made them unpublishable is fixed.

use super::dlq::{DeadLetter, Selector};
use crate::catalogue::format_time;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The `queue` a parked event is listed under.
pub const PARKED_QUEUE: &str = "relay (parked)";

#[derive(sqlx::FromRow)]
struct ParkedRow {
    event_id: String,
    source: String,
    event_type: String,
    family: String,
    park_error: Option<String>,
    parked_at: DateTime<Utc>,
}

pub async fn list(pool: &PgPool, limit: usize) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows: Vec<ParkedRow> = sqlx::query_as(
        "SELECT event_id, source, event_type, family, park_error, parked_at FROM inbox_events
         WHERE parked_at IS NOT NULL ORDER BY seq LIMIT $1",
    )
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DeadLetter {
            event_id: row.event_id,
            source: Some(row.source),
            event_type: Some(row.event_type),
            family: Some(row.family),
            queue: Some(PARKED_QUEUE.to_owned()),
            attempts: 1,
            error: row.park_error,
            failed_at: Some(format_time(&row.parked_at)),
        })
        .collect())
}

/// Hands the selected parked events back to the relay; returns how many (with `dry_run`, how
/// many it would).
pub async fn release(
    pool: &PgPool,
    selector: &Selector,
    dry_run: bool,
) -> Result<u64, sqlx::Error> {
    let (ids, event_type): (Vec<String>, Option<String>) = match selector {
        Selector::All => (Vec::new(), None),
        Selector::EventIds(ids) => (ids.clone(), None),
        Selector::EventType(wanted) => (Vec::new(), Some(wanted.to_ascii_uppercase())),
    };
    let matching = "parked_at IS NOT NULL
        AND (cardinality($1::text[]) = 0 OR event_id = ANY($1))
        AND ($2::text IS NULL OR upper(event_type) = $2)";
    let wanted_ids = matches!(selector, Selector::EventIds(_));
    if wanted_ids && ids.is_empty() {
        return Ok(0);
    }
    let sql = if dry_run {
        format!("SELECT count(*) FROM inbox_events WHERE {matching}")
    } else {
        format!(
            "WITH released AS (
                 UPDATE inbox_events
                 SET parked_at = NULL, park_error = NULL, dead_lettered_at = NULL, error = NULL
                 WHERE {matching} RETURNING 1)
             SELECT count(*) FROM released"
        )
    };
    let count: i64 = sqlx::query_scalar(&sql)
        .bind(&ids)
        .bind(event_type)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}
