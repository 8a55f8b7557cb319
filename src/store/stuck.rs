//! Stuck objects (SPEC 5): objects in a waiting status whose last event occurred before a
//! time, oldest first, a page at a time. Each family's statement is served by its partial
//! index `<table>_stuck` on (occurred_at, object_id) over the waiting statuses only, so the
//! concluded objects, however many, are never read. The index is defined here, from the same
//! predicate the statements use, and built online (`store::online_indexes`).

use super::online_indexes::OnlineIndex;
use crate::catalogue::{Family, Waiting};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StuckObject {
    pub object_id: String,
    pub status: String,
    pub account_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub last_event_id: String,
}

/// Where a page starts: after the object at this place in the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub occurred_at: DateTime<Utc>,
    pub object_id: String,
}

/// The statement of a page of `family`'s stuck objects: `$1` the time before which their
/// last event occurred, `$2`/`$3` the place to start after (NULL for the first page), `$4` the
/// page size. `None` for a family that is never stuck.
pub fn page_statement(family: Family) -> Option<String> {
    let (table, waiting) = table_and_waiting(family)?;
    Some(format!(
        "SELECT object_id, status, account_id, occurred_at, last_event_id FROM {table}
         WHERE {waiting} AND occurred_at < $1
           AND ($2::timestamptz IS NULL OR (occurred_at, object_id) > ($2, $3))
         ORDER BY occurred_at, object_id LIMIT $4"
    ))
}

pub async fn stuck_page(
    pool: &PgPool,
    family: Family,
    before: DateTime<Utc>,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<StuckObject>, sqlx::Error> {
    let Some(statement) = page_statement(family) else {
        return Ok(Vec::new());
    };
    sqlx::query_as(&statement)
        .bind(before)
        .bind(after.map(|a| a.occurred_at))
        .bind(after.map(|a| a.object_id.as_str()))
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// How many of `family`'s objects are stuck: for the gauge `hookgate_objects_stuck`.
pub async fn count_stuck(
    pool: &PgPool,
    family: Family,
    before: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let Some((table, waiting)) = table_and_waiting(family) else {
        return Ok(0);
    };
    let statement = format!("SELECT count(*) FROM {table} WHERE {waiting} AND occurred_at < $1");
    sqlx::query_scalar(&statement)
        .bind(before)
        .fetch_one(pool)
        .await
}

/// Each waiting family's `<table>_stuck` index, from the same predicate the statements use.
pub(super) fn indexes() -> Vec<OnlineIndex> {
    Family::that_wait()
        .filter_map(table_and_waiting)
        .map(|(table, waiting)| OnlineIndex {
            name: format!("{table}_stuck"),
            definition: format!("ON {table} (occurred_at, object_id) WHERE {waiting}"),
        })
        .collect()
}

/// The family's table and its waiting predicate, with the catalogue's statuses as literals:
/// the planner matches a partial index only against a predicate it can read.
fn table_and_waiting(family: Family) -> Option<(&'static str, String)> {
    let table = family.facts()?.table;
    let literals = |statuses: &[&str]| {
        let quoted: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
        quoted.join(", ")
    };
    let waiting = match family.waiting()? {
        Waiting::AnyBut(concluded) => format!("status NOT IN ({})", literals(concluded)),
        Waiting::OneOf(waiting) => format!("status IN ({})", literals(waiting)),
    };
    Some((table, waiting))
}
