//! The status history: every event projected, applied or not, one row per event. It is also
//! the projection's exactly-once guard (`status_history_once`).

use super::{read_model::Tables, unnest_column};
use crate::catalogue::Family;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use std::sync::LazyLock;

#[derive(sqlx::FromRow)]
pub struct HistoryRecord {
    pub event_id: String,
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    pub applied: bool,
    pub received_at: DateTime<Utc>,
    /// Its signed bytes were stored before under another event id.
    pub resent: bool,
}

static INSERT: LazyLock<[String; 2]> = LazyLock::new(|| {
    [Tables::Live, Tables::Shadow].map(|tables| {
        format!(
            "INSERT INTO {}
                 (family, object_id, source, event_id, status, occurred_at, applied, received_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                  $6::timestamptz[], $7::bool[], $8::timestamptz[])
             ON CONFLICT (source, event_id) DO NOTHING",
            tables.name("status_history")
        )
    })
});

/// One history row: an event as projected, applied or not.
pub struct HistoryEntry<'e> {
    pub family: Family,
    pub object_id: &'e str,
    pub source: &'e str,
    pub event_id: &'e str,
    pub status: &'e str,
    pub occurred_at: DateTime<Utc>,
    pub applied: bool,
    pub received_at: DateTime<Utc>,
}

/// Writes history rows in one statement into `tables`' history; an event already recorded
/// keeps its row.
pub async fn insert_history(
    tx: &mut PgConnection,
    entries: &[HistoryEntry<'_>],
    tables: Tables,
) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let statement = &INSERT[usize::from(tables == Tables::Shadow)];
    sqlx::query(statement)
        .bind(unnest_column(entries, |e| e.family.as_str()))
        .bind(unnest_column(entries, |e| e.object_id))
        .bind(unnest_column(entries, |e| e.source))
        .bind(unnest_column(entries, |e| e.event_id))
        .bind(unnest_column(entries, |e| e.status))
        .bind(unnest_column(entries, |e| e.occurred_at))
        .bind(unnest_column(entries, |e| e.applied))
        .bind(unnest_column(entries, |e| e.received_at))
        .execute(tx)
        .await?;
    Ok(())
}

/// An object's history in the order its events occurred.
pub async fn of_object<'c>(
    executor: impl PgExecutor<'c>,
    family: Family,
    object_id: &str,
) -> Result<Vec<HistoryRecord>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT event_id, status, occurred_at, applied, received_at, ",
        resent!("h.source", "h.event_id"),
        " AS resent FROM status_history AS h
         WHERE family = $1 AND object_id = $2 ORDER BY occurred_at, received_at, id"
    ))
    .bind(family)
    .bind(object_id)
    .fetch_all(executor)
    .await
}
